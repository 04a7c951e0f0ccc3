"""Diversity measures users of this field expect beside mean cosine, for a set of answers (one voice's,
or two voices' pooled). Each comes with a one-line meaning (:data:`MEANINGS`) the reports print.

- **Vendi score** (Friedman & Dieng, 2023): exp of the Shannon entropy of the eigenvalues of K/n, K the
  cosine-similarity matrix of the n answers' embeddings — the effective number of distinct answers
  (1 when all are identical, n when all are orthogonal).
- **distinct-n** (Li et al., 2016): distinct word n-grams / all word n-grams, over the pooled answers.
- **self-BLEU** (Zhu et al., 2018): mean BLEU-4 of each answer against the others as references
  (uniform weights, brevity penalty, add-one smoothing of n > 1 precisions as in Lin & Och, 2004).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["MEANINGS", "Diversity", "averaged", "distinct_n", "diversity", "self_bleu", "vendi_score"]

_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")

MEANINGS = {
    "mean_cos": "mean cosine between the answers (1 = the same meaning every time)",
    "vendi": "Vendi score: the effective number of distinct answers (1 = all alike, n = all different)",
    "distinct_1": "distinct-1: share of words that are new across the answers (higher = more varied wording)",
    "distinct_2": "distinct-2: share of word pairs that are new across the answers (higher = more varied)",
    "self_bleu": "self-BLEU: how much each answer's wording reappears in the others (0 = none, 1 = copies)",
}


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


Grams = Counter[tuple[str, ...]]


@functools.lru_cache(maxsize=4096)
def _counted(text: str) -> tuple[int, tuple[Grams, ...]]:
    """A text's word count and its 1- to 4-gram counts, made once per text: a council's pooled pairs
    (4,950 for 100 voices) ask each answer again and again. Callers must not change the counters."""
    words = _words(text)
    return len(words), tuple(Counter(_ngrams(words, n)) for n in range(1, 5))


def vendi_score(vectors: NDArray[np.floating]) -> float:
    """Effective number of distinct items of unit-norm ``vectors`` (NaN when empty)."""
    x = np.asarray(vectors, dtype=np.float64)
    n = len(x)
    if n == 0:
        return math.nan
    eig = np.linalg.eigvalsh((x @ x.T) / n)
    eig = eig[eig > 1e-12]
    return float(math.exp(-float(np.sum(eig * np.log(eig)))))


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams / total n-grams over all ``texts`` (NaN when they hold no n-gram)."""
    if not 1 <= n <= 4:
        grams = [g for t in texts for g in _ngrams(_words(t), n)]
        return len(set(grams)) / len(grams) if grams else math.nan
    counts = [_counted(t)[1][n - 1] for t in texts]
    total = sum(c.total() for c in counts)
    return len(set().union(*counts)) / total if total else math.nan


def _bleu(hyp: tuple[int, tuple[Grams, ...]], refs: Sequence[tuple[int, tuple[Grams, ...]]],
          max_n: int = 4) -> float:
    """BLEU-``max_n`` of a hypothesis against references, each given as ``_counted``'s (length, counts)."""
    hyp_len, hyp_counts = hyp
    if not hyp_len or not refs:
        return 0.0
    logs = []
    for n in range(1, max_n + 1):
        h = hyp_counts[n - 1]
        total = h.total()
        if len(refs) == 1:
            best = refs[0][1][n - 1]
        else:
            best = Counter()
            for _, ref_counts in refs:
                best |= ref_counts[n - 1]  # the most times any one reference has each n-gram
        match = sum((h & best).values())  # clipped counts
        if n > 1:  # add-one smoothing (Lin & Och 2004): a short answer with no 4-gram match is not 0
            match, total = match + 1, total + 1
        if total == 0 or match == 0:
            return 0.0
        logs.append(math.log(match / total))
    closest = min((abs(r_len - hyp_len), r_len) for r_len, _ in refs)[1]
    bp = 1.0 if hyp_len > closest else math.exp(1 - closest / hyp_len)
    return bp * math.exp(sum(logs) / max_n)


def self_bleu(texts: Sequence[str]) -> float:
    """Mean BLEU-4 of each text against all the others (NaN with fewer than two texts)."""
    counted = [_counted(t) for t in texts]
    if len(counted) < 2:
        return math.nan
    return float(np.mean([_bleu(counted[i], counted[:i] + counted[i + 1:]) for i in range(len(counted))]))


@dataclass(frozen=True)
class Diversity:
    """Diversity of one set of answers: ``label`` is a voice, or ``"a · b"`` for two voices pooled."""

    label: str
    n: int
    mean_cos: float
    vendi: float
    distinct_1: float
    distinct_2: float
    self_bleu: float

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 4)
        return {"label": self.label, "n": self.n, "mean_cos": num(self.mean_cos), "vendi": num(self.vendi),
                "distinct_1": num(self.distinct_1), "distinct_2": num(self.distinct_2),
                "self_bleu": num(self.self_bleu)}


def _mean_cos(x: NDArray[np.floating]) -> float:
    n = len(x)
    if n < 2:
        return math.nan
    s = np.asarray(x, dtype=np.float64) @ np.asarray(x, dtype=np.float64).T
    return float(np.mean(s[np.triu_indices(n, 1)]))


def diversity(label: str, texts: Sequence[str], vectors: NDArray[np.floating]) -> Diversity:
    """Every measure for one set of answers (``vectors``: their unit-norm embeddings, same order)."""
    return Diversity(label, len(texts), _mean_cos(vectors), vendi_score(vectors), distinct_n(texts, 1),
                     distinct_n(texts, 2), self_bleu(texts))


def averaged(label: str, parts: Sequence[Diversity]) -> Diversity:
    """The mean of each measure over several sets (a study: one set per prompt), NaNs left out."""
    def mean(xs: list[float]) -> float:
        vals = [x for x in xs if not math.isnan(x)]
        return float(np.mean(vals)) if vals else math.nan
    return Diversity(label, sum(p.n for p in parts), mean([p.mean_cos for p in parts]), mean([p.vendi for p in parts]),
                     mean([p.distinct_1 for p in parts]), mean([p.distinct_2 for p in parts]),
                     mean([p.self_bleu for p in parts]))

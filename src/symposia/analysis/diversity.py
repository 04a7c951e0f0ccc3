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

__all__ = ["MEANINGS", "Diversity", "averaged", "distinct_n", "diversities", "diversity", "prepare", "self_bleu",
           "vendi_score"]

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


def prepare(text: str) -> None:
    """Count ``text``'s n-grams ahead of the measures that will ask for them (the analysis warm-up calls
    this while a council runs); changes no result."""
    _counted(text)


def vendi_score(vectors: NDArray[np.floating]) -> float:
    """Effective number of distinct items of unit-norm ``vectors`` (NaN when empty)."""
    x = np.asarray(vectors, dtype=np.float64)
    n = len(x)
    if n == 0:
        return math.nan
    return _vendi(np.linalg.eigvalsh((x @ x.T) / n))


def _vendi(eigenvalues: NDArray[np.floating]) -> float:
    """exp of the Shannon entropy of the eigenvalues of K/n (those above rounding noise)."""
    eig = eigenvalues[eigenvalues > 1e-12]
    return float(math.exp(-float(np.sum(eig * np.log(eig)))))


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams / total n-grams over all ``texts`` (NaN when they hold no n-gram)."""
    if not 1 <= n <= 4:
        grams = [g for t in texts for g in _ngrams(_words(t), n)]
        return len(set(grams)) / len(grams) if grams else math.nan
    counts = [_counted(t)[1][n - 1] for t in texts]
    total = sum(c.total() for c in counts)
    return len(set().union(*counts)) / total if total else math.nan


Counted = tuple[int, tuple[Grams, ...]]


def _bleus_against_the_others(counted: Sequence[Counted], max_n: int = 4) -> list[float]:
    """BLEU-``max_n`` of each text against all the others as references, each text given as
    ``_counted``'s (length, counts).

    A clipped count needs, for each n-gram of the hypothesis, the most times any *other* text has it.
    That is the n-gram's highest count in the whole set, unless the hypothesis itself holds it; then
    it is the second highest. So each n-gram's two highest counts, gathered in one pass over the set,
    answer every hypothesis: linear in the set's n-grams, where merging the references anew for each
    hypothesis was quadratic (a pooled pair of voices asks this for every answer of both)."""
    if len(counted) == 2:
        return _bleus_of_two(counted[0], counted[1], max_n)
    # per n: n-gram -> (highest count, the text that has it, second highest count)
    tops: list[dict[tuple[str, ...], tuple[int, int, int]]] = []
    for n in range(max_n):
        top: dict[tuple[str, ...], tuple[int, int, int]] = {}
        for i, (_, grams) in enumerate(counted):
            for g, c in grams[n].items():
                t = top.get(g)
                if t is None:
                    top[g] = (c, i, 0)
                elif c > t[0]:
                    top[g] = (c, i, t[0])
                elif c > t[2]:
                    top[g] = (t[0], t[1], c)
        tops.append(top)
    lengths = [length for length, _ in counted]
    out: list[float] = []
    for i, (hyp_len, hyp_counts) in enumerate(counted):
        matches = []
        for n in range(max_n):
            match, top = 0, tops[n]
            for g, c in hyp_counts[n].items():
                best, holder, second = top[g]
                match += min(c, second if holder == i else best)  # clipped by the most any other text has
            matches.append(match)
        closest = min((abs(r_len - hyp_len), r_len) for k, r_len in enumerate(lengths) if k != i)[1]
        out.append(_score(hyp_len, hyp_counts, matches, closest, max_n))
    return out


def _bleus_of_two(a: Counted, b: Counted, max_n: int) -> list[float]:
    """The same for two texts (a pair of voices with one answer each: 4,950 of them for 100 voices): each
    is the other's only reference, and a clipped count, the n-grams both have, is the same both ways."""
    common = []
    for n in range(max_n):
        small, large = sorted((a[1][n], b[1][n]), key=len)
        common.append(sum(min(c, large.get(g, 0)) for g, c in small.items()))
    return [_score(a[0], a[1], common, b[0], max_n), _score(b[0], b[1], common, a[0], max_n)]


def _score(hyp_len: int, hyp_counts: tuple[Grams, ...], matches: Sequence[int], ref_len: int, max_n: int) -> float:
    """BLEU from a hypothesis's clipped n-gram ``matches`` and the length of its closest reference."""
    if not hyp_len:
        return 0.0
    logs = []
    for n in range(max_n):
        match, total = matches[n], hyp_counts[n].total()
        if n > 0:  # add-one smoothing (Lin & Och 2004): a short answer with no 4-gram match is not 0
            match, total = match + 1, total + 1
        if total == 0 or match == 0:
            return 0.0
        logs.append(math.log(match / total))
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return bp * math.exp(sum(logs) / max_n)


def self_bleu(texts: Sequence[str]) -> float:
    """Mean BLEU-4 of each text against all the others (NaN with fewer than two texts)."""
    counted = [_counted(t) for t in texts]
    if len(counted) < 2:
        return math.nan
    return float(np.mean(_bleus_against_the_others(counted)))


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


def diversities(sets: Sequence[tuple[str, Sequence[int]]], texts: Sequence[str],
                vectors: NDArray[np.floating]) -> list[Diversity]:
    """:func:`diversity` of many sets of answers at once (a council's voices, and every pair of them pooled):
    ``sets`` are (label, indices into ``texts`` and ``vectors``). The cosines of all the answers are one
    matrix product, and each set's mean cosine and Vendi score come from its block of it, sets of one
    size batched together; 4,950 pairs cost one product instead of 4,950 small ones."""
    x = np.asarray(vectors, dtype=np.float64)
    gram = x @ x.T if len(x) else np.zeros((0, 0))
    mean_cos = [math.nan] * len(sets)
    vendi = [math.nan] * len(sets)
    by_size: dict[int, list[int]] = {}
    for k, (_, idx) in enumerate(sets):
        by_size.setdefault(len(idx), []).append(k)
    for n, members in by_size.items():
        if n == 0:
            continue
        rows = np.array([sets[k][1] for k in members], dtype=np.intp)  # (sets, n)
        blocks = gram[rows[:, :, None], rows[:, None, :]]  # (sets, n, n): each set's cosines
        if n >= 2:
            iu = np.triu_indices(n, 1)
            for k, m in zip(members, blocks[:, iu[0], iu[1]].mean(axis=1), strict=True):
                mean_cos[k] = float(m)
        for k, eig in zip(members, np.linalg.eigvalsh(blocks / n), strict=True):
            vendi[k] = _vendi(eig)
    out = []
    for k, (label, idx) in enumerate(sets):
        ts = [texts[i] for i in idx]
        out.append(Diversity(label, len(ts), mean_cos[k], vendi[k], distinct_n(ts, 1), distinct_n(ts, 2),
                             self_bleu(ts)))
    return out


def averaged(label: str, parts: Sequence[Diversity]) -> Diversity:
    """The mean of each measure over several sets (a study: one set per prompt), NaNs left out."""
    def mean(xs: list[float]) -> float:
        vals = [x for x in xs if not math.isnan(x)]
        return float(np.mean(vals)) if vals else math.nan
    return Diversity(label, sum(p.n for p in parts), mean([p.mean_cos for p in parts]), mean([p.vendi for p in parts]),
                     mean([p.distinct_1 for p in parts]), mean([p.distinct_2 for p in parts]),
                     mean([p.self_bleu for p in parts]))

"""The statistics convergence claims need: Poisson-binomial tails, Benjamini–Hochberg, permutation
tests and bootstrap confidence intervals. Pure numpy, deterministic given a seed."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PermutationResult",
    "benjamini_hochberg",
    "bootstrap_ci",
    "label_permutation_test",
    "poisson_binomial_pmf",
    "poisson_binomial_tail",
    "prompt_permutation_test",
]

FloatArray = NDArray[np.float64]


def poisson_binomial_pmf(ps: Sequence[float]) -> list[float]:
    """P(X = k) for k = 0..M, X the number of successes of independent trials with probabilities ``ps``.

    Exact dynamic programme (no normal approximation): adding trial i convolves with (1 - p_i, p_i).
    """
    pmf = [1.0]
    for p in ps:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a probability must lie in [0, 1] (not {p!r})")
        nxt = [0.0] * (len(pmf) + 1)
        for k, mass in enumerate(pmf):
            nxt[k] += mass * (1.0 - p)
            nxt[k + 1] += mass * p
        pmf = nxt
    return pmf


def poisson_binomial_tail(ps: Sequence[float], k: int) -> float:
    """P(X >= k): how likely k or more of M independent voices use an image by their own base rates."""
    if k <= 0:
        return 1.0
    pmf = poisson_binomial_pmf(ps)
    if k >= len(pmf):
        return 0.0
    return float(min(1.0, math.fsum(pmf[k:])))


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """BH-adjusted p-values (q-values), in the input order: reject where q <= alpha to control the FDR."""
    m = len(pvalues)
    if m == 0:
        return []
    order = sorted(range(m), key=lambda i: pvalues[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):  # step-up: from the largest p-value down, keep the minimum
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        q[i] = min(1.0, running)
    return q


@dataclass(frozen=True)
class PermutationResult:
    statistic: float
    p_value: float
    permutations: int
    exact: bool


def prompt_permutation_test(cross: FloatArray, *, n_perm: int = 5000, seed: int = 0,
                            exact_up_to: int = 8) -> PermutationResult:
    """Do two voices agree more on the *same* prompt than on different prompts?

    ``cross[p, q]`` is the mean similarity of voice A's answers to prompt p with voice B's answers to
    prompt q. The statistic is the mean of the diagonal; the null pairs A's prompts with B's prompts
    at random (every permutation, when there are at most ``exact_up_to`` prompts). One-sided.
    """
    n = cross.shape[0]
    if cross.shape != (n, n) or n < 2:
        return PermutationResult(float(np.mean(np.diag(cross))) if n else math.nan, 1.0, 0, True)
    observed = float(np.mean(np.diag(cross)))
    tol = 1e-12
    if n <= exact_up_to:
        rows = np.arange(n)
        ge = total = 0
        for perm in itertools.permutations(range(n)):
            total += 1
            if float(np.mean(cross[rows, list(perm)])) >= observed - tol:
                ge += 1
        return PermutationResult(observed, ge / total, total, True)
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    ge = 0
    for _ in range(n_perm):
        if float(np.mean(cross[rows, rng.permutation(n)])) >= observed - tol:
            ge += 1
    return PermutationResult(observed, (ge + 1) / (n_perm + 1), n_perm, False)


def _within_minus_cross(sim: FloatArray, groups: Sequence[tuple[Sequence[int], Sequence[int]]]) -> float:
    vals = []
    for a, b in groups:
        if len(a) < 1 or len(b) < 1:
            continue
        within = [sim[i, j] for idx in (a, b) for i, j in itertools.combinations(idx, 2)]
        cross = sim[np.ix_(list(a), list(b))]
        if not within:
            continue
        vals.append(float(np.mean(within)) - float(np.mean(cross)))
    return float(np.mean(vals)) if vals else math.nan


def label_permutation_test(sim: FloatArray, groups: Sequence[tuple[Sequence[int], Sequence[int]]], *,
                           n_perm: int = 2000, seed: int = 0) -> PermutationResult:
    """Can voice A's answers be told from voice B's? Voice labels are shuffled within each prompt.

    ``sim`` is the answers' similarity matrix; ``groups`` gives, per prompt, the indices of A's and of
    B's samples. The statistic is (mean same-voice similarity) − (mean cross-voice similarity),
    averaged over prompts: near 0 when the two voices are exchangeable (as alike to each other as to
    themselves), large when each keeps to its own answers. One-sided; a small p means distinguishable.
    """
    observed = _within_minus_cross(sim, groups)
    if math.isnan(observed):
        return PermutationResult(observed, 1.0, 0, True)
    rng = np.random.default_rng(seed)
    ge = 0
    for _ in range(n_perm):
        shuffled = []
        for a, b in groups:
            pool = np.array([*a, *b])
            rng.shuffle(pool)
            shuffled.append((pool[:len(a)].tolist(), pool[len(a):].tolist()))
        if _within_minus_cross(sim, shuffled) >= observed - 1e-12:
            ge += 1
    return PermutationResult(observed, (ge + 1) / (n_perm + 1), n_perm, False)


def bootstrap_ci(stat: Callable[[NDArray[np.int64]], float], n: int, *, n_boot: int = 2000, alpha: float = 0.05,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of ``stat(indices)`` resampling ``n`` units (prompts) with replacement."""
    if n < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        v = stat(rng.integers(0, n, size=n))
        if not math.isnan(v):
            vals.append(v)
    if not vals:
        return (math.nan, math.nan)
    lo, hi = np.quantile(np.array(vals), [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))

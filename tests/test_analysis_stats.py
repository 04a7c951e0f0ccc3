"""The statistics behind convergence claims, checked against brute force and hand-computed examples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from symposia.analysis.floor import floor_between
from symposia.analysis.lemmas import content_terms, lemma
from symposia.analysis.similarity import lift, unit_rows
from symposia.analysis.stats import (
    benjamini_hochberg,
    bootstrap_ci,
    label_permutation_test,
    poisson_binomial_pmf,
    poisson_binomial_tail,
    prompt_permutation_test,
)


def brute_force_tail(ps: list[float], k: int) -> float:
    total = 0.0
    for outcome in itertools.product((0, 1), repeat=len(ps)):
        if sum(outcome) >= k:
            total += math.prod(p if o else 1 - p for p, o in zip(ps, outcome, strict=True))
    return total


@pytest.mark.parametrize("ps", [[0.1], [0.5, 0.5], [0.05, 0.3, 0.9], [0.2, 0.01, 0.7, 0.4, 0.33, 0.99],
                                [0.0, 1.0, 0.5], [0.12] * 7])
def test_poisson_binomial_tail_equals_enumeration(ps: list[float]) -> None:
    for k in range(len(ps) + 2):
        assert poisson_binomial_tail(ps, k) == pytest.approx(brute_force_tail(ps, k), abs=1e-12)
    assert sum(poisson_binomial_pmf(ps)) == pytest.approx(1.0)


def test_poisson_binomial_known_values_and_bad_input() -> None:
    assert poisson_binomial_tail([0.5, 0.5], 2) == pytest.approx(0.25)
    assert poisson_binomial_tail([0.5, 0.5, 0.5], 2) == pytest.approx(0.5)
    assert poisson_binomial_tail([0.1, 0.2], 0) == 1.0
    assert poisson_binomial_tail([0.1, 0.2], 3) == 0.0
    with pytest.raises(ValueError, match="probability"):
        poisson_binomial_pmf([1.5])


def test_benjamini_hochberg_against_a_hand_computed_example() -> None:
    # Sorted p: 0.01, 0.02, 0.03, 0.04, 0.20 (m = 5); p*m/rank: 0.05, 0.05, 0.05, 0.05, 0.20,
    # then the running minimum from the top keeps them. Input order is preserved.
    p = [0.04, 0.01, 0.20, 0.03, 0.02]
    assert benjamini_hochberg(p) == pytest.approx([0.05, 0.05, 0.20, 0.05, 0.05])
    # Step-up monotonicity: 0.01*3/1=0.03, 0.04*3/2=0.06, 0.045*3/3=0.045 -> q2 = min(0.06, 0.045)
    assert benjamini_hochberg([0.01, 0.04, 0.045]) == pytest.approx([0.03, 0.045, 0.045])
    assert benjamini_hochberg([]) == []
    assert benjamini_hochberg([0.9, 0.8]) == pytest.approx([0.9, 0.9])


def test_prompt_permutation_test_exact_p_values() -> None:
    # A perfect diagonal: only the identity permutation reaches it -> p = 1/4! exactly.
    cross = np.full((4, 4), 0.1)
    np.fill_diagonal(cross, 0.9)
    r = prompt_permutation_test(cross)
    assert r.exact and r.permutations == 24 and r.p_value == pytest.approx(1 / 24)
    # No prompt effect at all: every permutation ties -> p = 1.
    assert prompt_permutation_test(np.full((4, 4), 0.5)).p_value == pytest.approx(1.0)
    # Monte Carlo above the exact limit still finds a strong diagonal.
    big = np.full((10, 10), 0.1)
    np.fill_diagonal(big, 0.9)
    mc = prompt_permutation_test(big, n_perm=999)
    assert not mc.exact and mc.p_value == pytest.approx(1 / 1000)


def test_label_permutation_test_separates_distinct_groups_only() -> None:
    rng = np.random.default_rng(1)
    # Two well separated clusters (voice A near e1, voice B near e2), 4 samples each, 5 prompts.
    blocks, groups, off = [], [], 0
    for _ in range(5):
        a = unit_rows(np.array([1.0, 0.0, 0.0]) + 0.05 * rng.standard_normal((4, 3)))
        b = unit_rows(np.array([0.0, 1.0, 0.0]) + 0.05 * rng.standard_normal((4, 3)))
        blocks += [a, b]
        groups.append((list(range(off, off + 4)), list(range(off + 4, off + 8))))
        off += 8
    x = np.concatenate(blocks)
    distinct = label_permutation_test((x @ x.T).astype(float), groups, n_perm=500)
    assert distinct.statistic > 0.5 and distinct.p_value < 0.01
    # Exchangeable voices (both drawn from one cluster): p is not small.
    same = unit_rows(np.array([1.0, 0.0, 0.0]) + 0.3 * rng.standard_normal((40, 3)))
    exch = label_permutation_test((same @ same.T).astype(float), groups, n_perm=500)
    assert exch.p_value > 0.05


def test_bootstrap_ci_covers_the_mean_and_shrinks_with_data() -> None:
    vals = np.random.default_rng(0).normal(0.5, 0.1, size=200)
    lo, hi = bootstrap_ci(lambda idx: float(np.mean(vals[idx])), len(vals), n_boot=500)
    assert lo < float(np.mean(vals)) < hi and hi - lo < 0.05
    assert all(math.isnan(x) for x in bootstrap_ci(lambda idx: 0.0, 1))


def test_floor_and_lift() -> None:
    e = np.eye(3, dtype=np.float32)
    assert floor_between([e[0:1], e[1:2], e[2:3]]) == pytest.approx(0.0)
    assert math.isnan(floor_between([e]))
    assert lift(0.6, 0.2) == pytest.approx(0.5)
    assert lift(0.2, 0.2) == 0.0 and math.isnan(lift(0.5, math.nan))


def test_lemmatiser_matches_inflections_not_different_words() -> None:
    for forms in (("echo", "echoes", "echoed", "echoing"), ("burn", "burns", "burning", "burned"),
                  ("offering", "offerings"), ("flame", "flames"), ("altar", "altars"), ("body", "bodies"),
                  ("run", "running")):
        assert len({lemma(f) for f in forms}) == 1, forms
    assert lemma("altar") != lemma("alter")
    assert lemma("thing") == "thing" and lemma("analysis") == "analysis" and lemma("chorus") == "chorus"
    terms = content_terms("The gap is the altar; the offerings burn in a data ocean.")
    assert {"gap", "altar", lemma("offerings"), "burn", "data ocean"} <= set(terms)
    assert "the" not in terms and "is" not in terms

"""The declared floor (uniform random pairs, frozen texts, reliability), diversity measures, and images
judged against the shipped general-language frequency table instead of the user's archive."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.analysis.diversity import distinct_n, diversity, self_bleu, vendi_score
from symposia.analysis.floor import (
    MIN_FLOOR_TEXTS,
    Floor,
    floor_between,
    floor_from_texts,
    parse_floor_query,
    reliability,
)
from symposia.analysis.motifs import Answer, general_frequency, name_keys, shared_motifs
from symposia.analysis.similarity import unit_rows
from symposia.errors import SymposiaError


def _groups(sizes: list[int], dim: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [unit_rows(rng.normal(size=(n, dim)) + rng.normal(size=dim) * 2) for n in sizes]


def _exact(groups: list[np.ndarray]) -> float:
    vals = [float(x @ y) for a, b in itertools.combinations(groups, 2) for x in a for y in b]
    return float(np.mean(vals))


@settings(deadline=None, max_examples=25)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=6), st.integers(0, 10_000))
def test_floor_is_the_mean_over_every_cross_group_pair_when_few(sizes: list[int], seed: int) -> None:
    groups = _groups(sizes, 8, seed)
    mean, used = floor_between(groups, count=True)
    assert used == sum(a * b for a, b in itertools.combinations(sizes, 2))
    assert mean == pytest.approx(_exact(groups), abs=1e-6)


def test_floor_samples_pairs_uniformly_not_the_first_in_combination_order() -> None:
    # the first groups are alike (cos ~ 1), the rest orthogonal: the old "first 20,000 pairs" floor was
    # dominated by the first groups; uniform pairs give the true mean within sampling error
    rng = np.random.default_rng(1)
    base = unit_rows(rng.normal(size=(1, 64)))
    alike = [unit_rows(base + 0.01 * rng.normal(size=(40, 64))) for _ in range(3)]
    other = [unit_rows(rng.normal(size=(40, 64))) for _ in range(12)]
    groups = alike + other
    exact, total = floor_between(groups, max_pairs=10**9, count=True)
    sampled, used = floor_between(groups, max_pairs=2000, seed=3, count=True)
    first = float(np.mean(np.concatenate([(a @ b.T).ravel() for a, b in itertools.combinations(groups, 2)])[:2000]))
    assert used == 2000 and total > 2000
    assert abs(sampled - exact) < 0.03 < abs(first - exact)
    assert floor_between(groups, max_pairs=2000, seed=3) == sampled  # the seed fixes the draw


def test_floor_texts_are_drawn_at_random_with_a_recorded_seed_and_round_trip() -> None:
    texts = [f"Answer number {i} about a different unrelated topic entirely." for i in range(300)]
    a = floor_from_texts(texts, source="answers file c.txt", seed=5, n=120)
    b = floor_from_texts(texts, source="answers file c.txt", seed=5, n=120)
    c = floor_from_texts(texts, source="answers file c.txt", seed=6, n=120)
    assert a.ids == b.ids and a.ids != c.ids and len(a.ids) == 120 and a.candidates == 300
    assert a.ids != floor_from_texts(texts, source="x", n=300).ids[:120]  # not simply the first 120
    back = Floor.from_dict(a.to_dict())
    assert back.ids == a.ids and back.seed == 5 and [t.text for t in back.texts] == [t.text for t in a.texts]
    assert "seed 5" in a.label and "from 300" in a.label


def test_a_small_or_short_floor_is_unreliable() -> None:
    short = ["Paris."] * 60
    long_answers = [" ".join(["word"] * 80)] * 3
    assert "only 8 floor texts" in (reliability(short[:8], long_answers) or "")
    assert "shorter" in (reliability(short, long_answers) or "")
    assert reliability([" ".join(["w"] * 30)] * MIN_FLOOR_TEXTS, long_answers) is None


def test_floor_query_is_parsed_and_bad_keys_say_what_is_allowed() -> None:
    assert parse_floor_query("kind=study voice=qwen") == [("kind", "study"), ("voice", "qwen")]
    with pytest.raises(SymposiaError, match="kind, model, session, status, voice"):
        parse_floor_query("colour=blue")


def test_vendi_score_counts_effective_distinct_answers() -> None:
    e = np.eye(4, dtype=np.float32)
    assert vendi_score(e) == pytest.approx(4.0)
    assert vendi_score(np.repeat(e[:1], 5, axis=0)) == pytest.approx(1.0)
    assert vendi_score(np.concatenate([e[:1], e[:1], e[1:2], e[1:2]])) == pytest.approx(2.0)


def test_distinct_n_and_self_bleu() -> None:
    same = ["the cat sat on the mat today"] * 3
    varied = ["the cat sat on the mat", "a dog ran in the park", "birds sing at dawn quietly"]
    assert distinct_n(same, 2) == pytest.approx(6 / 18)
    assert distinct_n(varied, 1) > distinct_n(same, 1)
    assert self_bleu(same) == pytest.approx(1.0)
    assert self_bleu(varied) < 0.2
    assert math.isnan(self_bleu(["alone"]))
    d = diversity("v", same, np.repeat(np.eye(3, dtype=np.float32)[:1], 3, axis=0))
    assert d.vendi == pytest.approx(1.0) and d.mean_cos == pytest.approx(1.0) and d.n == 3


def test_images_leave_out_names_and_ordinary_words_and_carry_general_frequency() -> None:
    answers = [Answer("qwen", "Qwen thinks the resonance of a human threshold is possible.", shown="A question?"),
               Answer("grok", "As Grok I think resonance and the threshold are possible for humans.",
                      shown="A question?")]
    motifs = shared_motifs(answers, exclude=name_keys(["qwen", "Grok 4", "x-ai/grok-4", "Qwen3 235B"]))
    labels = {m.label for m in motifs if not m.phrase}
    assert {"resonance", "threshold"} <= labels
    assert not labels & {"qwen", "grok", "think", "possible", "human", "humans"}
    m = next(m for m in motifs if m.label == "resonance")
    assert m.zipf == pytest.approx(general_frequency("resonance")) and 2.5 < m.zipf < 4.5
    assert m.unprompted_voices == ("qwen", "grok")


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 12), st.integers(2, 16), st.integers(0, 10_000))
def test_vendi_score_lies_between_one_and_the_number_of_answers(n: int, dim: int, seed: int) -> None:
    x = unit_rows(np.random.default_rng(seed).normal(size=(n, dim)))
    v = vendi_score(x)
    assert 1.0 - 1e-6 <= v <= n + 1e-6
    assert vendi_score(np.concatenate([x, x])) == pytest.approx(v, rel=1e-5)  # duplicates add no distinct answer

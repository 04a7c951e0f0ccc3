"""self-BLEU and distinct-n from per-text cached counts equal the textbook computation, on any texts.

The cached version (each answer's n-gram counts made once, clipped counts by Counter intersection) is
what keeps a 100-voice council's 4,950 pooled pairs affordable; this reference recounts everything
for every pair, as the definitions read.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.analysis.diversity import _WORD, distinct_n, self_bleu


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def ngrams(ws: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]


def bleu(hyp: list[str], refs: list[list[str]]) -> float:
    if not hyp or not refs:
        return 0.0
    logs = []
    for n in range(1, 5):
        h = Counter(ngrams(hyp, n))
        total = sum(h.values())
        best: Counter[tuple[str, ...]] = Counter()
        for r in refs:
            for g, c in Counter(ngrams(r, n)).items():
                best[g] = max(best[g], c)
        match = sum(min(c, best[g]) for g, c in h.items())
        if n > 1:
            match, total = match + 1, total + 1
        if total == 0 or match == 0:
            return 0.0
        logs.append(math.log(match / total))
    closest = min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
    bp = 1.0 if len(hyp) > closest else math.exp(1 - closest / len(hyp))
    return bp * math.exp(sum(logs) / 4)


def reference_self_bleu(texts: list[str]) -> float:
    toks = [words(t) for t in texts]
    if len(toks) < 2:
        return math.nan
    return sum(bleu(toks[i], toks[:i] + toks[i + 1:]) for i in range(len(toks))) / len(toks)


def reference_distinct(texts: list[str], n: int) -> float:
    grams = [g for t in texts for g in ngrams(words(t), n)]
    return len(set(grams)) / len(grams) if grams else math.nan


vocab = st.sampled_from(["the", "river", "gap", "altar", "is", "the", "Gap", "don’t", "flame", "—", "x"])
texts = st.lists(st.lists(vocab, max_size=30).map(" ".join), max_size=6)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


@settings(max_examples=300)
@given(texts=texts, n=st.integers(1, 5))
def test_cached_counts_give_the_textbook_numbers(texts: list[str], n: int) -> None:
    assert same(self_bleu(texts), reference_self_bleu(texts))
    assert same(self_bleu(texts), self_bleu(texts))  # asked again: from the cache, unchanged
    assert same(distinct_n(texts, n), reference_distinct(texts, n))


# Sets where texts repeat (a voice saying the same thing twice; two voices agreeing word for word): the
# most any *other* text has of an n-gram is then a tie for the highest count, the case the two-highest
# bookkeeping of self_bleu must get right.
pool = st.lists(st.lists(vocab, min_size=1, max_size=12).map(" ".join), min_size=1, max_size=3)


@settings(max_examples=300)
@given(data=st.data(), base=pool)
def test_self_bleu_with_repeated_texts_is_the_textbook_number(data: st.DataObject, base: list[str]) -> None:
    texts = data.draw(st.lists(st.sampled_from(base), min_size=2, max_size=7))
    assert same(self_bleu(texts), reference_self_bleu(texts))


@settings(max_examples=150)
@given(data=st.data(), n_texts=st.integers(0, 8), dim=st.integers(2, 6))
def test_the_batched_measures_are_each_sets_own(data: st.DataObject, n_texts: int, dim: int) -> None:
    """diversities() (one Gram matrix, sets of one size batched) gives each set what diversity() gives it
    alone: sets of any size, overlapping, empty, or with a zero vector."""
    import numpy as np

    from symposia.analysis.diversity import diversities, diversity
    from symposia.analysis.similarity import unit_rows

    text_list = data.draw(st.lists(st.lists(vocab, max_size=12).map(" ".join), min_size=n_texts, max_size=n_texts))
    raw = data.draw(st.lists(st.lists(st.integers(-3, 3), min_size=dim, max_size=dim),
                             min_size=n_texts, max_size=n_texts))
    vectors = unit_rows(np.array(raw, dtype=np.float32).reshape(n_texts, dim))
    sets = data.draw(st.lists(st.tuples(st.text("abc", min_size=1, max_size=3),
                                        st.lists(st.integers(0, max(n_texts - 1, 0)), max_size=5)
                                        if n_texts else st.just([])), max_size=8))
    batched = diversities(sets, text_list, vectors)
    for (label, idx), got in zip(sets, batched, strict=True):
        alone = diversity(label, [text_list[i] for i in idx], vectors[idx] if idx else vectors[:0])
        assert got.label == alone.label and got.n == alone.n
        for field in ("mean_cos", "vendi", "distinct_1", "distinct_2", "self_bleu"):
            a, b = getattr(got, field), getattr(alone, field)
            assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), \
                (field, a, b)

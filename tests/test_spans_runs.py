"""The verbatim runs of shared_spans, found from each text's shingles straight to the texts that share them,
are the runs (same words, places, order and echo flags) of the plain definition that visits every pair of
texts: kept here as the reference."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.analysis.spans import SharedSpan, Source, _norm_words, _reported, _verbatim_runs


def reference_runs(sources: Sequence[Source], *, min_words: int, limit: int) -> list[SharedSpan]:
    """Every pair of texts of different voices, every two places in them: where ``min_words`` words agree
    and the words before them do not, a maximal run starts."""
    prepared = [_norm_words(s.text) for s in sources]
    found: dict[tuple[str, ...], set[tuple[int, int, int]]] = {}
    for si, sj in ((x, y) for x in range(len(sources)) for y in range(x + 1, len(sources))):
        if sources[si].voice == sources[sj].voice:
            continue
        a, b = prepared[si][0], prepared[sj][0]
        inside: set[tuple[int, int]] = set()
        for i in range(len(a) - min_words + 1):
            for j in range(len(b) - min_words + 1):
                if a[i:i + min_words] != b[j:j + min_words] or (i, j) in inside:
                    continue
                if i and j and a[i - 1] == b[j - 1]:
                    continue
                n = min_words
                while i + n < len(a) and j + n < len(b) and a[i + n] == b[j + n]:
                    n += 1
                inside.update((i + d, j + d) for d in range(n - min_words + 1))
                found.setdefault(tuple(a[i:i + n]), set()).update({(si, i, i + n), (sj, j, j + n)})
    # found in the order of the pairs of texts; longest first (a stable sort keeps that order within a length)
    return _reported(sorted(found, key=len, reverse=True), found, sources, limit=limit)


words = st.sampled_from(["the", "river", "keeps", "its", "course", "and", "pattern", "persists", "not", "memory"])
texts = st.lists(words, min_size=0, max_size=18).map(" ".join)
sources = st.lists(st.builds(Source, voice=st.sampled_from(["a", "b", "c", "d"]), text=texts,
                             shown=st.one_of(st.just(""), texts)), max_size=7)


@settings(max_examples=400)
@given(srcs=sources, min_words=st.integers(2, 5), limit=st.integers(1, 50))
def test_runs_are_the_reference_runs(srcs: list[Source], min_words: int, limit: int) -> None:
    assert _verbatim_runs(srcs, min_words=min_words, limit=limit) == \
        reference_runs(srcs, min_words=min_words, limit=limit)

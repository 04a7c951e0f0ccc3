"""block_means: every pair of groups' mean cosine from one product is each pair's cross_mean."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.analysis.similarity import block_means, cross_mean, unit_rows


@settings(max_examples=200)
@given(data=st.data(), n=st.integers(0, 9), dim=st.integers(1, 5))
def test_block_means_are_the_cross_means_of_every_two_groups(data: st.DataObject, n: int, dim: int) -> None:
    raw = data.draw(st.lists(st.lists(st.integers(-4, 4), min_size=dim, max_size=dim), min_size=n, max_size=n))
    vectors = unit_rows(np.array(raw, dtype=np.float32).reshape(n, dim))
    rows = st.lists(st.integers(0, n - 1), unique=True, max_size=n) if n else st.just([])
    groups = data.draw(st.lists(rows, min_size=1, max_size=6))
    out = block_means(vectors, groups)
    assert out.shape == (len(groups), len(groups))
    for i, a in enumerate(groups):
        for j, b in enumerate(groups):
            want = cross_mean(vectors[a], vectors[b])
            got = float(out[i, j])
            assert (math.isnan(want) and math.isnan(got)) or math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6), \
                (a, b, got, want)

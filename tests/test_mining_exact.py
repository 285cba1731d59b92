"""negsamp.hard_negatives is exact: equal to a NumPy stable-argsort reference id
for id (ties: lower id first), in float32 and float64, against the baseline,
for any shape (hypothesis), with bounded memory.

Exact tests use embeddings whose dot products are exact in float32 (small
dyadic values), so every tiling of the products gives the same scores."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import negsamp
from negsamp.baselines import hard_negatives_numpy, topk_numpy
from _mining_cases import assert_same, dyadic, mask_of, random_exclusion, ref_select, unit_dyadic


# --------------------------------------------------------------------------
# exactness

@pytest.mark.parametrize("metric", ["dot", "cosine"])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("with_exclude", [False, True])
@pytest.mark.parametrize("skip", [0, 3])
def test_exact_against_argsort(metric, largest, with_exclude, skip):
    rng = np.random.default_rng([1, skip, with_exclude, largest])
    B, N, d, k = 37, 501, 8, 7
    if metric == "dot":
        Q, C = dyadic(rng, (B, d)), dyadic(rng, (N, d))
        S = Q @ C.T
    else:
        Q, C = unit_dyadic(rng, B, d), unit_dyadic(rng, N, d)
        S = (Q / np.linalg.norm(Q, axis=1)[:, None]) @ (C / np.linalg.norm(C, axis=1)[:, None]).T
    exclude = random_exclusion(rng, B, N) if with_exclude else None
    eligible = None if exclude is None else mask_of(exclude, B, N)
    want = ref_select(S, k, largest=largest, eligible=eligible, skip=skip)
    for block_size in (None, 1, 64, 100, N):
        got = negsamp.hard_negatives(Q, C, k, exclude=exclude, metric=metric,
                                     largest=largest, skip_top=skip, block_size=block_size)
        assert got[0].dtype == np.int64 and got[1].dtype == np.float32
        assert_same(got, want)


def test_ties_lower_id_first():
    rng = np.random.default_rng(2)
    Q = rng.integers(-1, 2, size=(20, 3)).astype(np.float32)
    C = rng.integers(-1, 2, size=(400, 3)).astype(np.float32)
    S = Q @ C.T
    for largest in (True, False):
        ids, scores = negsamp.hard_negatives(Q, C, 25, largest=largest, block_size=33)
        assert_same((ids, scores), ref_select(S, 25, largest=largest))
        # explicit form of the rule
        for r in range(20):
            for a, b, sa, sb in zip(ids[r], ids[r, 1:], scores[r], scores[r, 1:]):
                assert (sa > sb if largest else sa < sb) or (sa == sb and a < b)


def test_float64_path_and_int_inputs():
    rng = np.random.default_rng(3)
    Q64 = dyadic(rng, (10, 5)).astype(np.float64)
    C64 = dyadic(rng, (300, 5)).astype(np.float64)
    ids, scores = negsamp.hard_negatives(Q64, C64, 6, block_size=50)
    assert scores.dtype == np.float64
    assert_same((ids, scores), ref_select(Q64 @ C64.T, 6))
    # one float64 and one float32 array: computed in float32
    _, s32 = negsamp.hard_negatives(Q64, C64.astype(np.float32), 6)
    assert s32.dtype == np.float32
    # integer embeddings are read as float32
    Qi = rng.integers(-3, 4, size=(10, 5))
    Ci = rng.integers(-3, 4, size=(300, 5))
    ids, scores = negsamp.hard_negatives(Qi, Ci, 6)
    assert_same((ids, scores), ref_select((Qi @ Ci.T).astype(np.float32), 6))


def test_gaussian_cosine_close_to_float64():
    rng = np.random.default_rng(4)
    Q = rng.standard_normal((30, 24)).astype(np.float32)
    C = rng.standard_normal((2000, 24)).astype(np.float32)
    ids, scores = negsamp.hard_negatives(Q, C, 10, metric="cosine")
    Qn = Q.astype(np.float64) / np.linalg.norm(Q.astype(np.float64), axis=1)[:, None]
    Cn = C.astype(np.float64) / np.linalg.norm(C.astype(np.float64), axis=1)[:, None]
    S = Qn @ Cn.T
    want_scores = -np.sort(-S, axis=1)[:, :10]
    np.testing.assert_allclose(scores, want_scores, atol=2e-6)
    np.testing.assert_allclose(np.take_along_axis(S, ids, 1), scores, atol=2e-6)
    assert np.all(np.abs(scores) <= 1 + 1e-6)


def test_baseline_agrees():
    rng = np.random.default_rng(5)
    Q = rng.standard_normal((40, 16))
    C = rng.standard_normal((3000, 16))
    exclude = random_exclusion(rng, 40, 3000, 20)
    for largest in (True, False):
        kw = dict(exclude=exclude, largest=largest, max_score=3.0, min_score=-3.0,
                  skip_top=2)
        a = negsamp.hard_negatives(Q, C, 8, **kw)
        b = hard_negatives_numpy(Q, C, 8, **kw)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
    # margins and rows that run short (padding)
    pos = rng.uniform(-3, 3, 40)
    short = [np.arange(2995) if r % 5 == 0 else exclude[r] for r in range(40)]
    kw = dict(exclude=short, positive_scores=pos, relative_margin=0.2, absolute_margin=0.1)
    a = negsamp.hard_negatives(Q, C, 8, **kw)
    b = hard_negatives_numpy(Q, C, 8, **kw)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
    assert np.all(a[0][::5, 5:] == -1)
    S = rng.standard_normal((40, 700))
    short = [r[r < 700] if i % 4 else np.arange(695) for i, r in enumerate(exclude)]
    for largest in (True, False):
        for ex in (None, short):
            assert_same(negsamp.topk(S, 9, exclude=ex, largest=largest),
                        topk_numpy(S, 9, exclude=ex, largest=largest))


# --------------------------------------------------------------------------
# memory

def test_memory_bounded():
    rng = np.random.default_rng(16)
    B, N, d = 256, 200_000, 8
    Q = rng.standard_normal((B, d)).astype(np.float32)
    C = rng.standard_normal((N, d)).astype(np.float32)
    tracemalloc.start()
    try:
        negsamp.hard_negatives(Q, C, 16, metric="cosine", block_size=4096)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full_matrix = B * N * 4  # 205 MB
    assert peak < full_matrix / 20, f"peak {peak / 1e6:.1f} MB"


# --------------------------------------------------------------------------
# hypothesis

@settings(max_examples=60, deadline=None)
@given(
    B=st.integers(1, 12), N=st.integers(1, 80), d=st.integers(1, 5),
    data=st.data(),
)
def test_hypothesis_shapes(B, N, d, data):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    k = data.draw(st.integers(1, N))
    skip = data.draw(st.integers(0, 5))
    largest = data.draw(st.booleans())
    block_size = data.draw(st.one_of(st.none(), st.integers(1, N + 3)))
    metric = data.draw(st.sampled_from(["dot", "cosine"]))
    Q = dyadic(rng, (B, d), scale=4, span=2)
    C = dyadic(rng, (N, d), scale=4, span=2)
    if metric == "cosine":
        Q, C = unit_dyadic(rng, B, max(d, 4)), unit_dyadic(rng, N, max(d, 4))
        S = (Q / np.linalg.norm(Q, axis=1)[:, None]) @ (C / np.linalg.norm(C, axis=1)[:, None]).T
    else:
        S = Q @ C.T
    exclude = [rng.choice(N, rng.integers(0, N + 1), replace=False) for _ in range(B)]
    want = ref_select(S, k, largest=largest, eligible=mask_of(exclude, B, N), skip=skip)
    got = negsamp.hard_negatives(Q, C, k, exclude=exclude, largest=largest, skip_top=skip,
                                 block_size=block_size, metric=metric)
    assert_same(got, want)
    if skip == 0:
        assert_same(negsamp.topk(S, k, exclude=exclude, largest=largest), want)

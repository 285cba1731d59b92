"""negsamp.topk on a precomputed score matrix: packed and general heaps, the
baseline-ISA scan, against argsort; padding and errors."""
from __future__ import annotations

import numpy as np
import pytest

import negsamp
from negsamp._exclusion import as_exclusion_lists
from _mining_cases import assert_same, mask_of, random_exclusion, ref_select


# --------------------------------------------------------------------------
# topk on a precomputed matrix

@pytest.mark.parametrize("largest", [True, False])
def test_packed_heaps_match_general_heaps(largest):
    # float32 exact top-k keeps one uint64 per heap entry (score bits above
    # the complemented id); the general heaps must give the same selection.
    rng = np.random.default_rng(31)
    S = rng.integers(-4, 5, size=(40, 500)).astype(np.float32) * 0.5  # many ties
    S[0] = 0.0
    S[0, ::7] = -0.0  # -0.0 and +0.0 are equal scores: lower id first
    S[0, 30] = 1.0
    S[1, :50] = np.float32(3.4e38)
    S[2, 100:] = -np.float32(3.4e38)
    S[3, 5] = np.float32(1e-45)  # subnormals keep their order
    S[3, 6] = -np.float32(1e-45)
    exclude = random_exclusion(rng, 40, 500, 20)
    for ex in (None, exclude):
        eligible = None if ex is None else mask_of(ex, 40, 500)
        for k in (1, 7, 64):
            packed = negsamp.topk(S, k, exclude=ex, largest=largest)
            general = negsamp.topk(S.astype(np.float64), k, exclude=ex, largest=largest)
            np.testing.assert_array_equal(packed[0], general[0])
            np.testing.assert_array_equal(packed[1], general[1].astype(np.float32))
            assert_same(packed, ref_select(S, k, largest=largest, eligible=eligible))


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("largest", [True, False])
def test_baseline_isa_scan_matches(packed, largest):
    # The float32 scan has an AVX2 chunk test picked at run time; the SSE2 /
    # scalar one must select the same entries (and report the same errors).
    from negsamp._topk import TopkState

    rng = np.random.default_rng(34)
    S = (rng.integers(-8, 9, size=(30, 1000)) * 0.25).astype(np.float32)
    S[4, 500:] = np.inf
    S[5, 200:300] = -np.inf
    exclude = random_exclusion(rng, 30, 1000, 25)
    lists = as_exclusion_lists(exclude, 1000, name="exclude", n_rows=30)
    indptr, indices = lists.indptr, lists.indices  # sorted CSR, as the state wants
    results = []
    for simd in (True, False):
        state = TopkState(30, 12, largest, excl_indptr=indptr, excl_indices=indices,
                          packed=packed, allow_simd=simd)
        for c0 in range(0, 1000, 333):  # tiles of 333: chunk tails too
            state.merge(S[:, c0 : c0 + 333], 0, c0, 1)
        results.append(state.finish(0, 12, np.float32, 1))
    assert_same(results[0], results[1])
    eligible = mask_of(exclude, 30, 1000)
    assert_same(results[1], ref_select(S, 12, largest=largest, eligible=eligible))
    for simd in (True, False):  # finite_only: an infinite score is an error
        state = TopkState(30, 12, largest, finite_only=True, packed=packed, allow_simd=simd)
        with pytest.raises(ValueError, match="NaN or infinity"):
            state.merge(S, 0, 0, 1)


def test_packed_state_refuses_what_it_cannot_hold():
    from negsamp._topk import TopkState

    with pytest.raises(ValueError, match="temperature"):
        TopkState(2, 3, True, temperature=1.0, packed=True)
    state = TopkState(2, 3, True, packed=True)
    with pytest.raises(TypeError, match="float32"):
        state.merge(np.zeros((2, 4)), 0, 0, 1)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        state.merge(np.zeros((2, 4), dtype=np.float32), 0, 2**32 - 2, 1)
    with pytest.raises(TypeError, match="float32"):
        state.finish(0, 3, np.float64, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_against_argsort(dtype, largest):
    rng = np.random.default_rng(19)
    S = rng.integers(-5, 6, size=(50, 300)).astype(dtype)  # many ties
    S[3, :10] = -np.inf
    S[4, 5:40] = np.inf
    exclude = random_exclusion(rng, 50, 300, 30)
    for ex in (None, exclude):
        eligible = None if ex is None else mask_of(ex, 50, 300)
        got = negsamp.topk(S, 12, exclude=ex, largest=largest)
        assert got[1].dtype == dtype
        assert_same(got, ref_select(S, 12, largest=largest, eligible=eligible))
    # non-contiguous rows (a column slice) and a Fortran array
    assert_same(negsamp.topk(S[:, 10:200], 5, largest=largest),
                ref_select(S[:, 10:200], 5, largest=largest))
    assert_same(negsamp.topk(np.asfortranarray(S), 5, largest=largest),
                ref_select(S, 5, largest=largest))
    # integers are converted to float64
    Sf = S[5:]  # finite rows
    got = negsamp.topk(Sf.astype(np.int32), 4, largest=largest)
    assert got[1].dtype == np.float64
    assert_same(got, ref_select(Sf.astype(np.float64), 4, largest=largest))


def test_topk_padding_and_errors():
    S = np.arange(12, dtype=np.float32).reshape(3, 4)
    ids, scores = negsamp.topk(S, 3, exclude=[[0, 1], [], [0, 1, 2, 3]])
    np.testing.assert_array_equal(ids, [[3, 2, -1], [3, 2, 1], [-1, -1, -1]])
    assert np.isnan(scores[0, 2]) and np.isnan(scores[2]).all()
    with pytest.raises(ValueError, match="k must be <="):
        negsamp.topk(S, 5)
    with pytest.raises(ValueError, match="k must be >= 1"):
        negsamp.topk(S, 0)
    with pytest.raises(ValueError, match="2-D"):
        negsamp.topk(S[0], 1)
    with pytest.raises(TypeError, match="scores"):
        negsamp.topk(S.astype(object), 1)
    Sn = S.copy()
    Sn[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        negsamp.topk(Sn, 2)
    s0 = Sn.copy()
    with pytest.raises(ValueError, match="NaN"):
        negsamp.topk(Sn, 1, largest=False)
    np.testing.assert_array_equal(Sn, s0)

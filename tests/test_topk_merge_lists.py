"""negsamp._topk.merge_lists (csrc/ns_topk.c, ns_topk_merge_lists_*): the
merge of the per-thread top lists of hard_negatives, against a NumPy
reference (a stable sort by score, then id, padding last)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negsamp import _topk


def reference(ids, scores, skip, k, largest):
    """The lexsort merge hard_negatives used before it moved to C."""
    p, n, cap = ids.shape
    ids = np.concatenate(list(ids), axis=1)
    scores = np.concatenate(list(scores), axis=1)
    key = (-scores if largest else scores).astype(np.float64)
    key[ids < 0] = np.inf
    key += 0.0  # -0.0 -> 0.0
    order = np.lexsort((np.where(ids < 0, np.iinfo(np.int64).max, ids), key),
                       axis=1)[:, skip: skip + k]
    out_ids = np.take_along_axis(ids, order, axis=1)
    out_scores = np.take_along_axis(scores, order, axis=1)
    short = k - out_ids.shape[1]
    if short > 0:
        out_ids = np.pad(out_ids, ((0, 0), (0, short)), constant_values=-1)
        out_scores = np.pad(out_scores, ((0, 0), (0, short)), constant_values=np.nan)
    out_ids = out_ids.copy()
    out_scores = out_scores.astype(scores.dtype)
    out_scores[out_ids < 0] = np.nan
    return out_ids, out_scores


def make_parts(rng, n_parts, n_rows, cap, largest, dtype, n_ids=40, fill=None):
    """Per-part sorted lists over disjoint ids (id % n_parts == part), with
    many equal scores (a few values, and -0.0 next to 0.0) and padding."""
    ids = np.full((n_parts, n_rows, cap), -1, dtype=np.int64)
    scores = np.full((n_parts, n_rows, cap), np.nan, dtype=dtype)
    values = np.array([-1.5, -0.0, 0.0, 0.25, 2.0, 3.0], dtype=dtype)
    for p in range(n_parts):
        pool = np.arange(p, n_ids * n_parts, n_parts)
        for r in range(n_rows):
            m = int(rng.integers(0, cap + 1)) if fill is None else min(fill, cap)
            chosen = rng.choice(pool, size=min(m, pool.size), replace=False)
            s = values[rng.integers(0, values.size, size=chosen.size)]
            key = (-s if largest else s).astype(np.float64) + 0.0
            order = np.lexsort((chosen, key))
            ids[p, r, :chosen.size] = chosen[order]
            scores[p, r, :chosen.size] = s[order]
    return ids, scores


def check_same(got, want):
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])  # NaN == NaN here


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_parts=st.integers(1, 5), n_rows=st.integers(0, 6),
       cap=st.integers(1, 9), skip=st.integers(0, 6), k=st.integers(1, 12),
       largest=st.booleans(), f64=st.booleans())
def test_merge_equals_the_sorted_union(seed, n_parts, n_rows, cap, skip, k, largest, f64):
    dtype = np.float64 if f64 else np.float32
    ids, scores = make_parts(np.random.default_rng(seed), n_parts, n_rows, cap, largest, dtype)
    got = _topk.merge_lists(ids, scores, skip, k, largest)
    assert got[0].shape == (n_rows, k) and got[1].dtype == dtype
    check_same(got, reference(ids, scores, skip, k, largest))


def test_ties_go_to_the_lower_id_across_parts():
    # every score equal: ids in increasing order whatever part holds them
    ids = np.array([[[1, 3, 5]], [[0, 2, 4]]], dtype=np.int64)
    scores = np.zeros((2, 1, 3), dtype=np.float32)
    scores[1] = -0.0
    got = _topk.merge_lists(ids, scores, 1, 4, True)
    assert got[0].tolist() == [[1, 2, 3, 4]]
    # a better score wins over a lower id
    scores[0, 0, 0] = 1.0
    assert _topk.merge_lists(ids, scores, 0, 2, True)[0].tolist() == [[1, 0]]
    assert _topk.merge_lists(ids, scores, 0, 2, False)[0].tolist() == [[0, 2]]


def test_out_buffers_are_written_in_place_and_checked():
    ids, scores = make_parts(np.random.default_rng(3), 2, 4, 5, True, np.float32, fill=5)
    out = (np.zeros((4, 3), np.int64), np.zeros((4, 3), np.float32))
    got = _topk.merge_lists(ids, scores, 1, 3, True, out=out)
    assert got[0] is out[0] and got[1] is out[1]
    check_same(got, reference(ids, scores, 1, 3, True))
    with pytest.raises(ValueError, match=r"C-contiguous writable \(4, 3\) arrays"):
        _topk.merge_lists(ids, scores, 1, 3, True,
                          out=(np.zeros((4, 3), np.int64), np.zeros((4, 3), np.float64)))
    with pytest.raises(ValueError, match="one shape"):
        _topk.merge_lists(ids, scores[:, :2], 1, 3, True)
    with pytest.raises(ValueError, match="need skip >= 0 and k >= 1"):
        _topk.merge_lists(ids, scores, 0, 0, True)


def test_finish_writes_into_out():
    rng = np.random.default_rng(5)
    tile = rng.standard_normal((3, 50)).astype(np.float32)
    states = [_topk.TopkState(3, 4, True) for _ in range(2)]
    for s in states:
        s.merge(tile, 0, 0, 1)
    want = states[0].finish(1, 3, np.float32, 1)
    out = (np.full((3, 3), 7, np.int64), np.full((3, 3), 7, np.float32))
    got = states[1].finish(1, 3, np.float32, 1, out=out)
    assert got[0] is out[0] and got[1] is out[1]
    check_same(got, want)
    with pytest.raises(ValueError, match="out buffers must be C-contiguous"):
        _topk.TopkState(3, 4, True).finish(0, 3, np.float32, 1,
                                           out=(np.zeros((3, 2), np.int64), out[1]))


def test_any_number_of_parts():
    # one part per thread: a machine with more than 256 cores merges more
    # than 256 lists (the first version had a fixed cap of 256 parts)
    ids, scores = make_parts(np.random.default_rng(9), 300, 3, 2, True, np.float32, n_ids=3)
    check_same(_topk.merge_lists(ids, scores, 2, 7, True), reference(ids, scores, 2, 7, True))

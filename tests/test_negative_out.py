"""NegativeSampler.sample(out=...): the draws written in place into the
caller's buffers (NumPy's out= convention, checked by _validation.as_out)."""
from __future__ import annotations

import numpy as np
import pytest

from negsamp.negative import NegativeSampler

from _helpers import assert_untouched


def _sampler(weighted=False):
    gen = np.random.default_rng(0)
    n = 3000
    pos = [gen.choice(n, int(gen.integers(0, 50)), replace=False) for _ in range(200)]
    pos[3] = np.arange(n - 30)  # a complement-table row
    return NegativeSampler(n, weights=1.0 / np.arange(1, n + 1) if weighted else None,
                           positives=pos)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("keyed", [False, True])
def test_out_equals_the_allocated_call(weighted, replace, keyed):
    s = _sampler(weighted)
    rows = np.random.default_rng(1).integers(0, 200, 700)
    keys = np.arange(700) * 3 if keyed else None
    want = s.sample(rows, 9, rng=5, replace=replace, keys=keys)
    buf = np.full((700, 9), -7, dtype=np.int64)
    got = s.sample(rows, 9, rng=5, replace=replace, keys=keys, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, want)
    want_ids, want_lq = s.sample(rows, 9, rng=5, replace=replace, keys=keys,
                                 return_log_q=True)
    ids_buf, lq_buf = np.empty((700, 9), np.int64), np.empty((700, 9))
    got_ids, got_lq = s.sample(rows, 9, rng=5, replace=replace, keys=keys,
                               return_log_q=True, out=(ids_buf, lq_buf))
    assert got_ids is ids_buf and got_lq is lq_buf
    np.testing.assert_array_equal(ids_buf, want_ids)
    np.testing.assert_array_equal(lq_buf, want_lq)


def test_tuple_forms_and_threads():
    s = _sampler(True)
    rows = np.random.default_rng(2).integers(0, 200, 1000)
    want_ids, want_lq = s.sample(rows, 4, rng=3, return_log_q=True, n_threads=1)
    one = np.empty((1000, 4), np.int64)
    assert s.sample(rows, 4, rng=3, out=(one,), n_threads=2) is one
    np.testing.assert_array_equal(one, want_ids)
    lq = np.empty((1000, 4))
    ids, got_lq = s.sample(rows, 4, rng=3, return_log_q=True, out=(None, lq), n_threads=2)
    assert got_lq is lq
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(lq, want_lq)
    ids_buf = np.empty((1000, 4), np.int64)
    got_ids, got_lq = s.sample(rows, 4, rng=3, return_log_q=True, out=(ids_buf, None))
    assert got_ids is ids_buf
    np.testing.assert_array_equal(got_lq, want_lq)
    # an empty call returns the (empty) buffer
    empty = np.empty((0, 4), np.int64)
    assert s.sample([], 4, rng=0, out=empty) is empty


def _bad_outs():
    base = np.zeros(40, dtype=np.int64)
    read_only = np.zeros((5, 3), dtype=np.int64)
    read_only.flags.writeable = False
    return [
        (dict(out=[[0] * 3] * 5), TypeError, "out must be a numpy.ndarray of shape \\(5, 3\\)"),
        (dict(out=np.zeros((5, 3), np.int32)), TypeError, "out must have dtype int64, got int32"),
        (dict(out=np.zeros((5, 4), np.int64)), ValueError,
         "out must have shape \\(5, 3\\), got \\(5, 4\\)"),
        (dict(out=np.zeros((3, 5), np.int64).T), ValueError, "out must be C-contiguous"),
        (dict(out=read_only), ValueError, "out is read-only"),
        (dict(out=(np.zeros((5, 3), np.int64), np.zeros((5, 3)))), ValueError,
         "out must be a tuple of 1 .* with return_log_q=False, got 2 entries"),
        (dict(out=np.zeros((5, 3), np.int64), return_log_q=True), TypeError,
         "out must be a tuple \\(negatives, log_q\\) with return_log_q=True, got ndarray"),
        (dict(out=(np.zeros((5, 3), np.int64), np.zeros((5, 3), np.float32)),
              return_log_q=True), TypeError, "out\\[1\\] must have dtype float64, got float32"),
        (dict(out=(base[:15].reshape(5, 3), base[10:25].reshape(5, 3).view(np.float64)),
              return_log_q=True), ValueError, "out\\[1\\] shares memory with an input array"),
        (dict(out=base[:15].reshape(5, 3), rows=base[10:15]), ValueError,
         "out shares memory with an input array"),
        (dict(out=np.zeros((5, 3), np.int64), k=-1), ValueError, "k must be >= 0"),
        (dict(out=np.zeros((5, 3), np.int64), rows=[0, 1, 2, 3, 999]), ValueError,
         "rows must be in \\[0, 200\\), got 999"),
        (dict(out=np.zeros((5, 3), np.int64), rows=[0, 1, 2, 3, 3], replace=False, k=3),
         None, None),
        (dict(out=np.zeros((5, 40), np.int64), rows=[0, 1, 2, 3, 3], replace=False, k=40),
         ValueError, "row 3 has fewer than k=40 eligible items"),
    ]


@pytest.mark.parametrize("change, err, match", _bad_outs())
def test_bad_out_is_named_and_left_untouched(change, err, match):
    s = _sampler()
    args = dict(rows=np.array([0, 1, 2, 3, 4]), k=3)
    args.update(change)
    if err is None:  # the control case: the same buffer is accepted
        s.sample(args.pop("rows"), args.pop("k"), rng=0, **args)
        return
    rest = {key: value for key, value in args.items() if key not in ("rows", "k")}
    with assert_untouched(args):
        with pytest.raises(err, match=match):
            s.sample(args["rows"], args["k"], rng=0, **rest)


def test_out_shares_no_memory_with_the_positives():
    """The sampler's own arrays (read-only, but a caller can flip the flag
    of the array it is handed) are inputs of the kernel too."""
    s = NegativeSampler(20, positives=(np.array([0, 5, 10]), np.arange(10)))
    inner = s.positives.indices
    with pytest.raises(ValueError, match="out is read-only"):
        s.sample([0, 1], 5, rng=0, out=inner.reshape(2, 5))
    inner.flags.writeable = True
    with pytest.raises(ValueError, match="out shares memory with an input array"):
        s.sample([0, 1], 5, rng=0, out=inner.reshape(2, 5))
    np.testing.assert_array_equal(inner, np.arange(10))

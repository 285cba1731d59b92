"""out= on the reservoir methods that return sampled arrays (get_sample, and
get_keys of WeightedReservoir): NumPy's convention, checked by
negsamp._validation.as_out; the result equals the allocated call, is written
in place and returned; every rejection names `out` and changes nothing."""
from __future__ import annotations

import numpy as np
import pytest

from negsamp import Reservoir, WeightedReservoir

POINT = np.dtype([("x", "<f4"), ("tag", "S3")])


def _items(dtype, n):
    if dtype is object:
        return np.array([("item", i) for i in range(n)] + [None], dtype=object)[:-1]
    if dtype == POINT:
        out = np.zeros(n, dtype=POINT)
        out["x"] = np.arange(n)
        return out
    return np.arange(n).astype(dtype)


def _filled(cls, dtype=np.int64, n=50, k=7):
    res = cls(k, rng=3)
    items = _items(dtype, n)
    if cls is WeightedReservoir:
        res.update(items, np.linspace(0.5, 2.0, n))
    else:
        res.update(items)
    return res


def _calls(res):
    yield "get_sample", res.dtype if res.dtype is not None else np.float64
    if isinstance(res, WeightedReservoir):
        yield "get_keys", np.float64


@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
@pytest.mark.parametrize("dtype", [np.int64, np.float32, POINT, object])
@pytest.mark.parametrize("n", [0, 3, 50])
def test_out_equals_the_allocated_result_and_is_returned(cls, dtype, n):
    res = _filled(cls, dtype, n) if n else cls(7, rng=3)
    for name, out_dtype in _calls(res):
        want = getattr(res, name)()
        out = np.empty(len(res), dtype=out_dtype)
        got = getattr(res, name)(out=out)
        assert got is out
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tolist() == want.tolist()
    # the properties are the allocated calls
    assert res.sample.tolist() == res.get_sample().tolist()
    if cls is WeightedReservoir:
        assert res.keys.tolist() == res.get_keys().tolist()


def test_out_is_written_in_place_over_old_values():
    res = _filled(WeightedReservoir)
    base = np.full(20, -7.0)
    view = base[5:12]  # a C-contiguous view of 7 = len(res) values
    res.get_keys(out=view)
    assert base[:5].tolist() == [-7.0] * 5 and base[12:].tolist() == [-7.0] * 8
    assert view.tolist() == res.keys.tolist()
    ints = np.full(7, -1, dtype=np.int64)
    res.get_sample(out=ints)
    assert sorted(ints.tolist()) == sorted(res.sample.tolist())


def _rejections(res, out_dtype, n):
    good = np.empty(n, dtype=out_dtype)
    other = np.float32 if np.dtype(out_dtype) != np.float32 else np.float64
    read_only = np.empty(n, dtype=out_dtype)
    read_only.flags.writeable = False
    return [
        ([0] * n, TypeError, r"out must be a numpy.ndarray of shape \(%d,\)" % n),
        (np.empty(n, dtype=other), TypeError, "out must have dtype"),
        (np.empty(n + 1, dtype=out_dtype), ValueError, r"out must have shape \(%d,\), got" % n),
        (np.empty((n, 1), dtype=out_dtype), ValueError, "out must have shape"),
        (np.empty(2 * n, dtype=out_dtype)[::2], ValueError, "out must be C-contiguous"),
        (read_only, ValueError, "out is read-only"),
    ], good


@pytest.mark.parametrize("cls", [Reservoir, WeightedReservoir])
def test_bad_out_is_rejected_naming_out_and_changes_nothing(cls):
    res = _filled(cls)
    before = res.to_state_tuple()
    for name, out_dtype in _calls(res):
        cases, _ = _rejections(res, out_dtype, len(res))
        for out, exc, match in cases:
            snapshot = np.array(out, copy=True) if isinstance(out, np.ndarray) else list(out)
            with pytest.raises(exc, match=match):
                getattr(res, name)(out=out)
            assert res.to_state_tuple() == before
            if isinstance(out, np.ndarray):
                assert out.tobytes() == snapshot.tobytes()
            else:
                assert out == snapshot


def test_out_sharing_the_reservoirs_own_buffer_is_rejected():
    res = _filled(WeightedReservoir)
    before = res.to_state_tuple()
    with pytest.raises(ValueError, match="out shares memory with an input array"):
        res.get_sample(out=res._items[: len(res)])
    with pytest.raises(ValueError, match="out shares memory with an input array"):
        res.get_keys(out=res._heap_keys[: len(res)])
    assert res.to_state_tuple() == before


def test_out_of_an_empty_reservoir():
    for cls in (Reservoir, WeightedReservoir):
        res = cls(4, rng=0)
        out = np.empty(0)
        assert res.get_sample(out=out) is out
        with pytest.raises(ValueError, match=r"out must have shape \(0,\)"):
            res.get_sample(out=np.empty(1))

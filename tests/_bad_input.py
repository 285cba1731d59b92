"""Shared helpers of the bad-input matrix (tests/test_bad_input*.py)."""
from __future__ import annotations

import contextlib
import copy
from typing import Any, Iterator, List

import numpy as np


def _arrays(obj: Any, out: List[np.ndarray], seen: set) -> None:
    """Every NumPy array reachable from ``obj`` (containers, CSR-like objects)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _arrays(x, out, seen)
    elif isinstance(obj, dict):
        for x in obj.values():
            _arrays(x, out, seen)
    else:
        for attr in ("data", "indices", "indptr"):  # scipy.sparse
            val = getattr(obj, attr, None)
            if isinstance(val, np.ndarray):
                _arrays(val, out, seen)


def _snapshot(a: np.ndarray) -> tuple:
    return (a.tobytes(), a.dtype.str, a.shape, a.strides, a.flags.writeable,
            a.flags.c_contiguous, a.flags.f_contiguous, a.flags.aligned)


def _plain(obj: Any) -> Any:
    """A deep copy of the Python containers in ``obj`` (arrays by identity)."""
    if isinstance(obj, list):
        return [_plain(x) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return ("array", id(obj))
    if isinstance(obj, (int, float, str, bytes, type(None))):
        return copy.copy(obj)
    return ("object", id(obj))


@contextlib.contextmanager
def assert_untouched(*objs: Any) -> Iterator[None]:
    """Asserts that the arrays (bytes, dtype, shape, strides and flags), the
    Python containers and the reservoir states reachable from ``objs`` are
    the same after the block.  Put ``pytest.raises`` inside the block so
    that a call that raised is checked too."""
    arrays: List[np.ndarray] = []
    _arrays(objs, arrays, set())
    before = [_snapshot(a) for a in arrays]
    plain = _plain(objs)
    states = [(o, o.to_state_tuple()) for o in objs if hasattr(o, "to_state_tuple")]
    yield
    for a, snap in zip(arrays, before):
        assert _snapshot(a) == snap, "an input array was modified"
    assert _plain(objs) == plain, "an input list or tuple was modified"
    for o, st in states:
        assert o.to_state_tuple() == st, f"{type(o).__name__} state changed"


def assert_same(a: Any, b: Any) -> None:
    """Results equal: arrays by value (NaN == NaN), tuples item by item."""
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
        return
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.asarray(a).shape == np.asarray(b).shape


LAYOUTS = ("list", "strided", "negative_stride", "big_endian", "read_only", "memmap",
           "fortran", "misaligned")


def layout(arr: np.ndarray, kind: str, tmp_path: Any) -> Any:
    """The same values as ``arr`` in another memory layout or container."""
    if kind == "list":
        return arr.tolist()
    if kind == "strided":
        view = np.repeat(arr, 2, axis=0)[::2]
        if arr.ndim == 2:
            view = np.repeat(view, 3, axis=1)[:, ::3]
        assert not view.flags.c_contiguous or arr.size <= 1
        return view
    if kind == "negative_stride":
        view = np.ascontiguousarray(arr[::-1])[::-1]
        if arr.ndim == 2:
            view = np.ascontiguousarray(view[:, ::-1])[:, ::-1]
        return view
    if kind == "big_endian":
        return arr.astype(arr.dtype.newbyteorder(">"))
    if kind == "read_only":
        out = arr.copy()
        out.flags.writeable = False
        return out
    if kind == "memmap":
        path = tmp_path / "values.bin"
        arr.tofile(path)
        return np.memmap(path, dtype=arr.dtype, mode="r", shape=arr.shape)
    if kind == "fortran":
        return np.asfortranarray(arr)
    if kind == "misaligned":  # C-contiguous at an odd address (a packed buffer)
        raw = np.zeros(arr.nbytes + 1, dtype=np.uint8)
        view = raw[1:].view(arr.dtype).reshape(arr.shape) if arr.size else arr.copy()
        view[...] = arr
        assert view.flags.c_contiguous and (not view.flags.aligned or arr.itemsize == 1
                                            or arr.size == 0)
        return view
    raise AssertionError(kind)

"""Shared helpers of the bad-input matrix (tests/test_bad_input*.py)."""
from __future__ import annotations

from typing import Any

import numpy as np


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

"""Input checks shared by every public entry point.

Each check raises before any work starts, names the argument and the bad
value, and never modifies the caller's array (conversions copy when needed).
"""
from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from typing import Any, Iterable, Optional, Tuple

import numpy as np

from negsamp._torch import as_numpy, is_tensor

__all__ = [
    "as_array",
    "as_bool",
    "as_weights",
    "as_size",
    "as_int",
    "c_array",
    "as_index_array",
    "as_keys",
    "as_iterable_array",
    "as_out",
    "check_output_size",
    "describe",
    "element_count",
    "memory_limit",
    "state_field",
    "uninitialised_repr",
    "numeric_array",
    "require_kind",
]


def c_array(arr: Any, dtype: Any = None) -> np.ndarray:
    """``np.ascontiguousarray(arr, dtype)``, also aligned: a buffer at an odd
    address (``np.frombuffer(..., offset=1)``, a packed record field) is
    copied, since the C kernels load its elements as aligned values."""
    out = np.ascontiguousarray(as_numpy(arr)[0], dtype=dtype)
    return out if out.flags.aligned else out.copy()

#: Requests below this many bytes skip the memory check (it costs two
#: system calls).
_CHECK_ABOVE = 1 << 30


def describe(value: Any) -> str:
    """Short repr of a bad value for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_bool(value: Any, name: str) -> bool:
    """``value`` (a bool or a NumPy bool) as a bool, else TypeError."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {describe(value)}")


def as_int(value: Any, name: str, *, minimum: int | None = None,
           maximum: int | None = None, maximum_is: str = "") -> int:
    """``value`` as a Python int (rejecting bools, floats and strings): the
    one check of counts and sizes (k, n_items, ...).  ``maximum_is`` says
    what the maximum is in the message ("the number of columns")."""
    if is_tensor(value) or isinstance(value, np.ndarray):
        value = _zero_d_int(value, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    result = int(value)
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {result}")
    if maximum is not None and result > maximum:
        bound = f"{maximum_is} {maximum}" if maximum_is else str(maximum)
        raise ValueError(f"{name} must be <= {bound}, got {result}")
    return result


def _zero_d_int(value: Any, name: str) -> Any:
    """The number in a 0-d integer array or tensor (``edge_index.max() + 1``),
    else TypeError naming ``name``."""
    arr = np.asarray(as_numpy(value)[0])
    if arr.ndim != 0 or arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an int, got an array of shape {arr.shape} "
                        f"and dtype {arr.dtype}")
    return arr.item()


def as_array(values: Any, name: str, what: str) -> np.ndarray:
    """``np.asarray(values)`` (not copied), or TypeError naming ``name`` for
    strings and bytes and for what NumPy cannot convert (ragged lists and
    the like); ``what`` describes the expected value in the message."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be {what}, got {describe(values)}")
    values, _ = as_numpy(values)  # a torch tensor: shared on the CPU, else copied
    try:
        return np.asarray(values)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be {what}: {exc}") from None


def require_kind(arr: np.ndarray, name: str, integer: bool) -> None:
    """TypeError naming ``name`` unless ``arr`` has an integer dtype (or,
    when not ``integer``, an integer or a float32/float64 dtype); bool is
    neither."""
    if integer:
        if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must have an integer dtype, got dtype {arr.dtype}")
        return
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must have an integer or floating dtype, got dtype {arr.dtype}"
        )
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(f"{name} dtype {arr.dtype} is not supported (use float32 or float64)")


def numeric_array(values: Any, name: str, what: str = "an array of numbers") -> np.ndarray:
    """``values`` as a NumPy array of an integer or floating dtype (not
    copied), else TypeError naming ``name``; ``what`` describes the expected
    value in the message."""
    arr = as_array(values, name, what)
    require_kind(arr, name, integer=False)
    return arr


def as_weights(weights: Any, name: str = "weights") -> np.ndarray:
    """Validated non-negative finite 1-D weights with a positive sum, as a
    C-contiguous float64 array (a copy unless already float64 and
    contiguous; never modified)."""
    arr = numeric_array(weights, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: need at least one weight")
    if arr.dtype.kind in "iu":
        # Integer counts above 2**53 lose precision in float64, as in numpy.
        if arr.dtype.kind == "i" and arr.min() < 0:
            i = int(np.argmin(arr))
            raise ValueError(f"{name} must be non-negative, got {arr[i]} at index {i}")
    out = c_array(arr, np.float64)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(out)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} must be finite, got {out[i]} at index {i}")
        neg = out < 0
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise ValueError(f"{name} must be non-negative, got {out[i]} at index {i}")
    if not (out.max() > 0):
        raise ValueError(f"{name} must have a positive sum, got all zeros")
    return out


def as_size(size: Any, name: str = "size") -> Tuple[int, ...]:
    """``size`` (an int or a tuple of ints, each >= 0) as a shape tuple."""
    if isinstance(size, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int or a tuple of ints, got {size!r}")
    if isinstance(size, numbers.Integral):
        shape: Tuple[int, ...] = (int(size),)
    elif isinstance(size, (tuple, list)):
        for s in size:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
                raise TypeError(
                    f"{name} must be an int or a tuple of ints, got {describe(size)}"
                )
        shape = tuple(int(s) for s in size)
    else:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {describe(size)}")
    for s in shape:
        if s < 0:
            raise ValueError(f"{name} must be non-negative, got {describe(size)}")
    return shape


def element_count(dims: Iterable[int], what: str, itemsize: int = 8) -> int:
    """The exact number of elements of an array of shape ``dims`` (a Python
    int: nothing wraps), or ValueError naming ``what`` (the argument and its
    value) when no array of ``itemsize``-byte items can hold that many, or
    MemoryError (check_output_size) when it cannot fit in memory."""
    dims = tuple(int(d) for d in dims)
    total = math.prod(dims)
    limit = np.iinfo(np.intp).max // itemsize
    if total > limit:
        raise ValueError(
            f"{what} has {total} elements, more than {limit}, the most an array of "
            f"{itemsize}-byte items can hold"
        )
    check_output_size(dims, itemsize, what)
    return total


def state_field(state: Any, key: str, kind: type, lo: Any = None, hi: Any = None, *,
                what: str = "state") -> Any:
    """``state[key]`` of a pickled state dict, as an int in [lo, hi] (by
    default [0, 2**63 - 1]: it must fit the int64 fields it is stored in) or
    a float in [lo, hi] (never NaN), or as it is for any other ``kind``;
    else ValueError naming ``what``, the field and the value."""
    if not isinstance(state, dict):
        raise ValueError(f"{what} must be a dict, got {type(state).__name__}")
    if key not in state:
        raise ValueError(f"{what} is missing {key!r}")
    value = state[key]
    if kind is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{what} {key!r} must be an int, got {describe(value)}")
        value = int(value)
        lo = 0 if lo is None else lo
        hi = 2**63 - 1 if hi is None else hi
    elif kind is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(f"{what} {key!r} must be a float, got {describe(value)}")
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"{what} {key!r} must not be NaN")
    else:
        return value
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{what} {key!r} must be in [{lo}, {hi}], got {value}")
    return value


def uninitialised_repr(obj: Any, attr: str) -> Any:
    """``"<Name (uninitialised)>"`` when ``obj`` lacks ``attr`` (made by
    ``cls.__new__(cls)`` and never given a state), else None."""
    if hasattr(obj, attr):
        return None
    return f"<{type(obj).__name__} (uninitialised)>"


def as_index_array(ids: Any, n: int, name: str) -> np.ndarray:
    """Integer ids in [0, n) as an int64 array (any shape)."""
    arr = as_array(ids, name, "integer ids")
    if arr.size == 0 and arr.dtype.kind == "f":
        arr = arr.astype(np.int64)  # [] and other empty float arrays
    require_kind(arr, name, integer=True)
    if arr.size:
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            i = int(np.flatnonzero(arr.ravel() == bad)[0])
            raise ValueError(
                f"{name} must be in [0, {n}), got {int(bad)} at flat index {i}"
            )
    return arr.astype(np.int64, copy=False)


def as_keys(keys: Any, n: int, row: str, name: str = "keys") -> Optional[np.ndarray]:
    """Per-row stream keys (see ``NegativeSampler.sample``): None, or a 1-D
    integer array of ``n`` entries, each in ``[0, 2**63)``, as a contiguous
    int64 copy.  ``row`` names one row (``"row"``, ``"triple"``...).
    TypeError for a non-integer dtype (bool and float included), ValueError
    for a wrong shape or a negative or too large key, each naming ``name``."""
    if keys is None:
        return None
    arr = as_array(keys, name, "a 1-D array of integers")
    if arr.size == 0 and arr.dtype.kind == "f" and arr.ndim == 1:
        arr = arr.astype(np.int64)  # []
    require_kind(arr, name, integer=True)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one key per {row}), got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have one key per {row}: expected {n} keys, "
                         f"got {arr.shape[0]}")
    if arr.size:
        if arr.dtype.kind == "i" and arr.min() < 0:
            i = int(np.argmin(arr))
            raise ValueError(f"{name} must be >= 0, got {int(arr[i])} at index {i}")
        if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
            i = int(np.argmax(arr))
            raise ValueError(f"{name} must be < 2**63 (int64), got {int(arr[i])} at index {i}")
    return c_array(arr, np.int64)


def as_iterable_array(values: Any, name: str, what: str) -> np.ndarray:
    """``values`` (an array, a sequence, or any other iterable such as a set,
    a generator or dict keys) as a NumPy array, not copied when it already is
    one; TypeError naming ``name`` for strings, None, scalars and objects
    that are not iterable.  ``what`` describes the expected value."""
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, (str, bytes, bytearray)) or values is None or np.isscalar(values):
        raise TypeError(f"{name} must be {what}, got {describe(values)}")
    if not hasattr(values, "__array__") and not isinstance(values, Sequence):
        # Sets, generators, dict views...: np.asarray would make a 0-d
        # object array of them.
        try:
            values = list(values)
        except TypeError:
            raise TypeError(f"{name} must be {what}, got {describe(values)}") from None
    try:
        return np.asarray(values)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be converted to an array: {exc}") from None


def memory_limit() -> Optional[int]:
    """Bytes of memory this process can use at most: the physical memory,
    or the address-space limit (``ulimit -v``) when lower; None if unknown."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        pass
    else:
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            limits.append(int(soft))
    positive = [x for x in limits if x > 0]
    return min(positive) if positive else None


def _human(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} EiB"  # pragma: no cover - unreachable


def check_output_size(shape: Tuple[int, ...], itemsize: int, what: str) -> None:
    """MemoryError before anything is allocated when an array of ``shape``
    with ``itemsize`` bytes an element (a result, with its intermediates)
    cannot fit in memory.  ``what`` names the argument and its value, e.g.
    ``"k=10**12 (for 3 rows)"``.  The size is computed with Python ints, so
    products beyond int64 are caught too."""
    nbytes = math.prod(int(s) for s in shape) * int(itemsize)
    if nbytes < _CHECK_ABOVE:
        return
    limit = memory_limit()
    if nbytes > np.iinfo(np.intp).max or (limit is not None and nbytes > limit):
        have = "" if limit is None else f", more than the {_human(limit)} of memory available"
        raise MemoryError(
            f"{what} needs at least {nbytes} bytes ({_human(nbytes)}) for a result of "
            f"shape {tuple(int(s) for s in shape)}{have}"
        )


def as_out(out: Any, shape: Tuple[int, ...], dtype: Any, *inputs: Any,
           name: str = "out") -> Optional[np.ndarray]:
    """The caller's output buffer, checked the way NumPy checks ``out=``:
    None (the sampler allocates), else a writeable C-contiguous, aligned
    ``numpy.ndarray`` of exactly ``shape`` and ``dtype`` that shares no
    memory with any of ``inputs`` (TypeError for a non-array or a wrong
    dtype, ValueError otherwise, naming ``name`` and what it got).  The
    sampler writes every element of it in place and returns it."""
    if out is None:
        return None
    want = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of shape {shape} and dtype "
                        f"{want}, got {type(out).__name__}")
    if out.dtype != want:
        raise TypeError(f"{name} must have dtype {want}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {out.shape}")
    if not out.flags.c_contiguous or not out.flags.aligned:
        raise ValueError(f"{name} must be C-contiguous and aligned")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    for arr in inputs:
        if isinstance(arr, np.ndarray) and np.may_share_memory(out, arr):
            raise ValueError(f"{name} shares memory with an input array")
    return out


def as_power(power: Any) -> float:
    """The exponent of ``weights ** power`` (AliasTable.from_counts,
    NegativeSampler): a finite real >= 0, not a bool."""
    try:
        value = float(power)
    except (TypeError, ValueError):
        raise TypeError(f"power must be a real number, got {describe(power)}") from None
    if isinstance(power, (bool, np.bool_)) or not np.isfinite(value) or value < 0:
        raise ValueError(f"power must be finite and >= 0, got {describe(power)}")
    return value

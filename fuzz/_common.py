"""Shared pieces of the atheris harnesses in fuzz/ (issue 11).

A harness fails (atheris reports it and fuzz/run exits non-zero) on a
crash, a hang (libFuzzer -timeout), any exception other than the accepted
API errors, an accepted error with an empty message, or a failed check on
an object that loaded / was built without error.
"""
from __future__ import annotations

import os
import pickle
from typing import Any, Callable, Optional, Sequence

import numpy as np

ACCEPTED = (ValueError, TypeError, MemoryError, OverflowError)

# Misaligned buffers (a float64/int64 array whose data pointer is not a
# multiple of its itemsize) are among the generated layouts: the library
# realigns them before its C kernels load them (found by the sanitizer
# stage, issue 11).  FUZZ_MISALIGNED=0 leaves them out.
MISALIGNED = os.environ.get("FUZZ_MISALIGNED", "1") not in ("", "0")


class Finding(AssertionError):
    """A check of the harness failed (not an API error)."""


def check(cond: Any, what: str) -> None:
    if not cond:
        raise Finding(what)


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Optional[Any]:
    """``fn(*args, **kwargs)``; None when it raises an accepted API error
    with a non-empty message.  Other exceptions propagate (a finding)."""
    try:
        return fn(*args, **kwargs)
    except ACCEPTED as exc:
        if not str(exc).strip():
            raise Finding(f"{type(exc).__name__} with an empty message from "
                          f"{getattr(fn, '__qualname__', fn)!r}") from exc
        return None


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """True when ``fn(*args, **kwargs)`` returned, False when it raised an
    accepted API error (checked as in :func:`call`)."""
    try:
        fn(*args, **kwargs)
        return True
    except ACCEPTED as exc:
        if not str(exc).strip():
            raise Finding(f"{type(exc).__name__} with an empty message from "
                          f"{getattr(fn, '__qualname__', fn)!r}") from exc
        return False


class Rejected(Exception):
    """Raised by :func:`expect` to stop an input after an API error."""


def expect(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Like :func:`call` but raises Rejected instead of returning None, so
    a harness can chain calls; harnesses catch Rejected at the top."""
    try:
        return fn(*args, **kwargs)
    except ACCEPTED as exc:
        if not str(exc).strip():
            raise Finding(f"{type(exc).__name__} with an empty message from "
                          f"{getattr(fn, '__qualname__', fn)!r}") from exc
        raise Rejected() from None


def entry(body: Callable[[Any], None]) -> Callable[[bytes], None]:
    """The atheris TestOneInput for ``body(fdp)``."""
    import atheris

    def test_one_input(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        try:
            body(fdp)
        except Rejected:
            pass

    return test_one_input


def run(body: Callable[[Any], None]) -> None:
    import sys

    import atheris

    atheris.Setup(sys.argv, entry(body))
    atheris.Fuzz()


# -- fuzzed values -----------------------------------------------------------
INT_EDGES = [0, 1, 2, 3, -1, -2, 7, 2**31 - 1, 2**31, 2**32, 2**53 + 1,
             2**62, 2**63 - 1, -(2**63), 2**63, 2**64 - 1]
FLOAT_EDGES = [0.0, -0.0, 1.0, 0.5, -1.0, 1e-300, 5e-324, 1e300, 1.7976931348623157e308,
               float("inf"), float("-inf"), float("nan"), 2.0**63, -1e-12]


def small_int(fdp: Any, lo: int = 0, hi: int = 8) -> int:
    """Mostly a small int in [lo, hi], sometimes an edge value."""
    if fdp.ConsumeIntInRange(0, 7) == 0:
        return int(fdp.PickValueInList(INT_EDGES))
    return int(fdp.ConsumeIntInRange(lo, hi))


def count_arg(fdp: Any, lo: int = 0, hi: int = 8) -> int:
    """An output count (k, num_samples, ...): small, or so large (>= 2**45)
    that the output cannot be allocated and must fail cleanly.  Counts in
    between would make the library really allocate gigabytes, legitimately."""
    v = small_int(fdp, lo, hi)
    return v if v < 4096 or v >= 2**45 else v % (hi + 1)


def real(fdp: Any, lo: float = -2.0, hi: float = 2.0) -> float:
    if fdp.ConsumeIntInRange(0, 5) == 0:
        return float(fdp.PickValueInList(FLOAT_EDGES))
    return float(fdp.ConsumeFloatInRange(lo, hi))


def layout(fdp: Any, arr: np.ndarray) -> np.ndarray:
    """The same values in a fuzzed memory layout: contiguous, strided,
    Fortran, read-only, or (FUZZ_MISALIGNED=1) misaligned."""
    choice = fdp.ConsumeIntInRange(0, 5)
    if choice == 1 and arr.ndim >= 1:
        big = np.empty((arr.shape[0] * 2,) + arr.shape[1:], dtype=arr.dtype)
        big[::2] = arr
        return big[::2]
    if choice == 2:
        return np.asfortranarray(arr)
    if choice == 3:
        out = arr.copy()
        out.flags.writeable = False
        return out
    if choice == 4 and MISALIGNED and arr.dtype.itemsize > 1 and not arr.dtype.hasobject:
        buf = np.zeros(arr.nbytes + 1, dtype=np.uint8)
        out = np.frombuffer(buf.data, dtype=arr.dtype, count=arr.size, offset=1)
        out = out.reshape(arr.shape)
        out[...] = arr
        return out
    return arr


INT_DTYPES = [np.int64, np.int32, np.uint64, np.uint8, np.int8, np.int16, np.uint32]
ALL_DTYPES = INT_DTYPES + [np.float64, np.float32, np.float16, np.bool_, np.complex128]


def int_array(fdp: Any, n: int, lo: int, hi: int, *, dtypes: Sequence[Any] = INT_DTYPES) -> np.ndarray:
    """n ints mostly in [lo, hi] (sometimes an edge value), cast to a fuzzed
    dtype (wrapping as numpy does) and layout."""
    vals = [small_int(fdp, lo, hi) for _ in range(n)]
    dt = np.dtype(fdp.PickValueInList(list(dtypes)))
    with np.errstate(all="ignore"):
        # wraps modulo 2**64 then casts (unsafe), as C would
        arr = np.array([v % 2**64 for v in vals], dtype=np.uint64).astype(dt)
    return layout(fdp, arr)


def float_array(fdp: Any, n: int, lo: float = 0.0, hi: float = 4.0) -> np.ndarray:
    vals = [real(fdp, lo, hi) for _ in range(n)]
    dt = np.dtype(fdp.PickValueInList([np.float64, np.float64, np.float32, np.int64, np.float16]))
    with np.errstate(all="ignore"):
        arr = np.array(vals, dtype=np.float64).astype(dt)
    return layout(fdp, arr)


def any_array(fdp: Any, max_len: int = 8) -> Any:
    """Something array-like of fuzzed dtype, shape and layout, or a non-array."""
    kind = fdp.ConsumeIntInRange(0, 9)
    if kind == 0:
        return fdp.PickValueInList([None, "abc", b"x", 3, 2.5, [], [[1, 2], [3]], {1: 2}, object()])
    n = fdp.ConsumeIntInRange(0, max_len)
    if kind <= 5:
        return int_array(fdp, n, 0, 8, dtypes=ALL_DTYPES)
    if kind <= 8:
        arr = float_array(fdp, n, -1.0, 4.0)
        if kind == 8 and n >= 2 and n % 2 == 0:
            arr = arr.reshape(2, n // 2)
        return arr
    return [small_int(fdp) for _ in range(n)]


def rng_arg(fdp: Any) -> Any:
    choice = fdp.ConsumeIntInRange(0, 3)
    if choice == 0:
        return None if fdp.ConsumeBool() else small_int(fdp, 0, 2**20)
    if choice == 1:
        return np.random.default_rng(fdp.ConsumeIntInRange(0, 2**32))
    if choice == 2:
        return np.random.SeedSequence(fdp.ConsumeIntInRange(0, 2**32))
    return fdp.ConsumeIntInRange(0, 2**63)


def threads_arg(fdp: Any) -> Any:
    return fdp.PickValueInList([None, None, 1, 2, -1, 3])


def roundtrip_pickle(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))



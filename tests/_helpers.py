"""Helpers shared by the test files: several Python threads sharing one
object (run_in_threads, assert_threads_match_serial) and the "caller's
inputs are untouched" check (assert_untouched)."""
from __future__ import annotations

import contextlib
import copy
import threading
from typing import Any, Callable, Iterator, List, Sequence

import numpy as np


def run_in_threads(work: Callable[[int], Any], n_threads: int, *,
                   timeout: float = 120.0) -> List[Any]:
    """Runs ``work(i)`` for i in range(n_threads), each in its own Python
    thread, released together by a barrier so that the calls overlap.
    Returns the results in thread order; re-raises the first exception a
    thread raised (assertions included) and fails if a thread is still
    running after ``timeout`` seconds."""
    barrier = threading.Barrier(n_threads, timeout=timeout)
    results: List[Any] = [None] * n_threads
    errors: List[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # reported in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), f"threads still running after {timeout} s"
    if errors:
        raise errors[0]
    return results


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(_equal, a, b))
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind == "f")


def assert_threads_match_serial(call: Callable[[int], Any], n_threads: int, *,
                                repeat: int = 1, serial: Sequence[Any] | None = None) -> None:
    """``call(i)`` run ``repeat`` times in each of ``n_threads`` concurrent
    threads gives exactly what it gives alone (``serial[i]``, computed
    first when not given)."""
    want = [call(i) for i in range(n_threads)] if serial is None else list(serial)
    got = run_in_threads(lambda i: [call(i) for _ in range(repeat)], n_threads)
    for i, runs in enumerate(got):
        for out in runs:
            assert _equal(out, want[i]), f"thread {i}: concurrent result differs from serial"


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

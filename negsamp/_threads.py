"""The one place where ``n_threads=`` arguments are resolved.

``None`` means the default thread count: the value given to
:func:`negsamp.set_num_threads` (or by threadpoolctl's ``threadpool_limits``),
else the environment variable ``NEGSAMP_NUM_THREADS``, else
``OMP_NUM_THREADS`` (read for compatibility, although negsamp does not use
OpenMP; both are read once, when negsamp is imported), else every core the
process may run on.  A positive int means that
many; -1 means all cores, -2 all but one, and so on (scikit-learn's
convention); 0 or below -cores is an error.  Every count is capped at the
cores: negsamp never starts more threads than it can run at once.

The threads themselves are negsamp's own pool (negsamp._negsamp_runtime,
csrc/ns_pool.c): they sleep between calls, are restarted in fork children,
and small calls never wake them.
"""
from __future__ import annotations

import operator
import os
import threading
import warnings
from typing import Any, Optional, Set, Tuple

import numpy as np

from negsamp import _negsamp_runtime as _runtime

__all__ = ["resolve_n_threads", "default_n_threads", "default_source", "set_num_threads",
           "get_num_threads", "cores"]

_ENV_VARS = ("NEGSAMP_NUM_THREADS", "OMP_NUM_THREADS")
_override: Optional[int] = None
_lock = threading.Lock()
_warned: Set[Tuple[str, str]] = set()


def cores() -> int:
    """Cores the process may run on (its CPU affinity), seen at import."""
    return int(_runtime.CORES)


def _from_env() -> Optional[int]:
    for var in _ENV_VARS:
        raw = os.environ.get(var)
        if raw is None or raw.strip() == "":
            continue
        # OMP_NUM_THREADS may be a list ("4,2"): its first level counts.
        text = raw.split(",")[0].strip()
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value >= 1:
            return value
        if (var, raw) not in _warned:
            _warned.add((var, raw))
            warnings.warn(f"negsamp: ignoring {var}={raw!r} (not a positive integer)",
                          RuntimeWarning, stacklevel=3)
    return None


#: The environment's default (NEGSAMP_NUM_THREADS, else OMP_NUM_THREADS),
#: read once when negsamp is imported, as BLAS libraries read theirs: the
#: per-call cost of n_threads=None is then a lookup, not a parse.
_ENV_DEFAULT: Optional[int] = None


def default_n_threads() -> int:
    """Threads used for ``n_threads=None`` (capped at the cores)."""
    value = _override if _override is not None else _ENV_DEFAULT
    if value is None:
        return cores()
    return max(1, min(value, cores()))


def _as_count(n_threads: Any) -> int:
    if isinstance(n_threads, (bool, np.bool_)) or not hasattr(type(n_threads), "__index__"):
        raise TypeError(f"n_threads must be None or an int, got {n_threads!r}")
    try:
        return operator.index(n_threads)
    except TypeError:
        raise TypeError(f"n_threads must be None or an int, got {n_threads!r}") from None


def resolve_n_threads(n_threads: Optional[int]) -> int:
    """Validated thread count in [1, cores] for ``n_threads``."""
    if n_threads is None:
        return default_n_threads()
    value = _as_count(n_threads)
    n_cores = cores()
    if value > 0:
        return min(value, n_cores)
    if value == 0 or value < -n_cores:
        raise ValueError(
            f"n_threads must be a positive int, None, or in [-{n_cores}, -1] "
            f"(-1 = all cores), got {value}"
        )
    return n_cores + 1 + value


def set_num_threads(n_threads: Optional[int]) -> None:
    """Sets the process-wide default of ``n_threads=None`` (None: back to
    the environment / all cores).  Same values as ``n_threads``."""
    global _override
    with _lock:
        _override = None if n_threads is None else resolve_n_threads(n_threads)


def get_num_threads() -> int:
    """The current default thread count (what ``n_threads=None`` uses)."""
    return default_n_threads()


def default_source() -> str:
    """Where the default thread count comes from (negsamp.show_config):
    set_num_threads or threadpoolctl, the environment variable that set
    it, or all cores."""
    if _override is not None:
        return "negsamp.set_num_threads / threadpoolctl"
    if _ENV_DEFAULT is not None:
        return next(v for v in _ENV_VARS if os.environ.get(v, "").strip())
    return "all cores"


def _register_threadpoolctl() -> None:
    """Makes negsamp's pool visible to threadpoolctl (>= 3.5), as
    ``user_api="negsamp"``: ``threadpool_limits(1)`` then limits negsamp's
    default thread count like BLAS's and OpenMP's, and ``threadpool_info()``
    lists it.  The pool's extension module is found by its file name
    (_negsamp_runtime.*), unique to negsamp."""
    try:
        import threadpoolctl  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - a dependency
        return
    if not hasattr(threadpoolctl, "register") or not hasattr(threadpoolctl, "LibController"):
        return  # pragma: no cover - threadpoolctl < 3.5

    class NegsampController(threadpoolctl.LibController):  # type: ignore[misc, unused-ignore]
        user_api = "negsamp"
        internal_api = "negsamp"
        filename_prefixes = ("_negsamp_runtime",)

        def get_num_threads(self) -> int:
            return get_num_threads()

        def set_num_threads(self, num_threads: int) -> None:
            set_num_threads(num_threads)

        def get_version(self) -> str:
            from negsamp._version import __version__

            return __version__

    threadpoolctl.register(NegsampController)


_ENV_DEFAULT = _from_env()
_register_threadpoolctl()


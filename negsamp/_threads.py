"""The one place where ``n_threads=`` arguments are resolved.

None means every core OpenMP would use by default (it respects
OMP_NUM_THREADS); a positive int means that many; -1 means all cores, -2 all
but one, and so on (scikit-learn's convention); 0 or below -cores is an error.
Without OpenMP every kernel runs single-threaded whatever is asked.
"""
from __future__ import annotations

import numbers
from typing import Optional

from negsamp import _common

__all__ = ["resolve_n_threads", "default_n_threads"]


def default_n_threads() -> int:
    """Threads used for ``n_threads=None``."""
    return max(1, _common.max_threads())


def resolve_n_threads(n_threads: Optional[int]) -> int:
    """Validated thread count (>= 1) for ``n_threads``."""
    if n_threads is None:
        return default_n_threads()
    if isinstance(n_threads, (bool,)) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be None or an int, got {n_threads!r}")
    n_threads = int(n_threads)
    cores = max(1, _common.num_procs(), _common.max_threads())
    if n_threads > 0:
        return n_threads
    if n_threads == 0 or n_threads < -cores:
        raise ValueError(
            f"n_threads must be a positive int, None, or in [-{cores}, -1] "
            f"(-1 = all cores), got {n_threads}"
        )
    return cores + 1 + n_threads

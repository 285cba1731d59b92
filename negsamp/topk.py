"""Exact top-k of every row of a precomputed score matrix.

The k best entries per row come from the bounded heaps of csrc/ns_topk.c
(the same code that :func:`negsamp.hard_negatives` folds its score tiles
into), run over the rows by negsamp's threads with the GIL released.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

from negsamp._exclusion import as_exclusion_lists
from negsamp._threads import resolve_n_threads
from negsamp._validation import as_bool, as_int, c_array, numeric_array

__all__ = ["topk", "packable"]


def packable(dtype: np.dtype, temperature: Optional[float], n_items: int) -> bool:
    """Whether the merge can keep its heaps packed (one uint64 an entry:
    float32 scores, exact top-k, ids below 2**32): same result, faster."""
    return dtype == np.float32 and temperature is None and n_items <= 2**32


def topk(
    scores: Any,
    k: int,
    *,
    exclude: Any = None,
    largest: bool = True,
    n_threads: Optional[int] = None,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]]]:
    """The k best entries of every row of a precomputed (B, N) score matrix.

    Same selection and tie rule as :func:`hard_negatives` (the same C heap
    code, negsamp's threads over rows): ``ids`` int64 (B, k) best first, lower id first
    on equal scores, and ``scores`` (B, k) in the matrix's dtype (float32 or
    float64; integer matrices are converted to float64, a copy).  Ids in
    ``exclude`` (per-row lists, formats as in ``hard_negatives``) are never
    returned; rows with fewer than k eligible entries are padded with id -1
    and score NaN.  NaN scores raise ValueError; -inf / inf are ordinary
    values.  Rows must have unit stride (otherwise the matrix is copied).

    Complexity: one pass over the matrix (O(B N) comparisons, most of them
    branch-free) plus O(log k) per entry that enters a heap.  Extra memory
    O(B k).
    """
    s = numeric_array(scores, "scores", "a 2-D array of numbers")
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (rows x candidates), got shape {s.shape}")
    if s.dtype.kind in "iu" or s.dtype.itemsize not in (4, 8):
        s = s.astype(np.float64)
    elif not s.dtype.isnative:  # big-endian float32 stays float32
        s = s.astype(s.dtype.newbyteorder("="))
    n_rows, n_items = s.shape
    k = as_int(k, "k", minimum=1, maximum=n_items, maximum_is="the number of columns")
    largest = as_bool(largest, "largest")
    n_threads = resolve_n_threads(n_threads)
    excl = None
    if exclude is not None:
        excl = as_exclusion_lists(exclude, n_items, name="exclude", n_rows=n_rows)
    if (s.strides[1] != s.itemsize or (n_rows > 1 and s.strides[0] < s.itemsize * n_items)
            or not s.flags.aligned):
        s = c_array(s)
    from negsamp._topk import TopkState

    state = TopkState(n_rows, k, bool(largest),
                      excl_indptr=None if excl is None else excl.indptr,
                      excl_indices=None if excl is None else excl.indices,
                      packed=packable(s.dtype, None, n_items))
    if n_rows:
        state.merge(s, 0, 0, n_threads)
    return state.finish(0, k, s.dtype, n_threads)

"""Per-row exclusion lists (positives, known ids), normalised once to CSR.

Shared by NegativeSampler (``positives=``), corrupt_triples, negative_edges
and hard_negatives (``exclude=``).  Accepted forms:

- a scipy.sparse matrix or array (converted with ``.tocsr()``: the column
  indices of row r are its ids), or any object with CSR ``indptr`` and
  ``indices`` attributes;
- an ``(indptr, indices)`` tuple (a tuple of two is always read this way);
- a list of 1-D integer arrays, one per row (or an object array of them).

Ids may be unsorted and duplicated; the result has, for every row, sorted
unique int64 ids, as ``csrc/ns_csr.h`` expects.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from negsamp._torch import as_numpy, is_tensor
from negsamp._validation import c_array

__all__ = ["ExclusionLists", "as_exclusion_lists", "dense_ids", "from_pairs", "sort_with_order",
           "sorted_unique"]


class ExclusionLists(NamedTuple):
    """Row r's ids are ``indices[indptr[r]:indptr[r + 1]]``, sorted, unique."""

    indptr: np.ndarray  # int64, (n_rows + 1,)
    indices: np.ndarray  # int64, (nnz,)

    @property
    def n_rows(self) -> int:
        return int(self.indptr.shape[0] - 1)

    def row(self, r: int) -> np.ndarray:
        return self.indices[self.indptr[r] : self.indptr[r + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)


def _as_int_1d(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(as_numpy(values)[0])
    if arr.ndim == 0 and arr.dtype.kind in "iu":
        arr = arr.reshape(1)  # a row of one id
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must hold integer ids, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what} has ids above the int64 range")
    return arr.astype(np.int64, copy=False)


def as_exclusion_lists(
    lists: Any,
    n_items: int,
    *,
    name: str = "positives",
    n_rows: Optional[int] = None,
) -> ExclusionLists:
    """Validates ``lists`` and returns sorted unique CSR exclusion lists.

    Ids must be in ``[0, n_items)``; a bad id raises ValueError naming the
    row.  When ``n_rows`` is given, the number of rows must match it.  The
    caller's arrays are never modified (sorting works on copies).
    """
    if lists is None:
        raise TypeError(f"{name} must not be None here")
    lists = _from_tensor(lists)
    if hasattr(lists, "tocsr") and callable(lists.tocsr):
        lists = lists.tocsr()
    if hasattr(lists, "indptr") and hasattr(lists, "indices"):
        indptr = _as_int_1d(lists.indptr, f"{name}.indptr")
        indices = _as_int_1d(lists.indices, f"{name}.indices")
    elif isinstance(lists, tuple) and len(lists) == 2:
        indptr = _as_int_1d(lists[0], f"{name} indptr")
        indices = _as_int_1d(lists[1], f"{name} indices")
    elif isinstance(lists, np.ndarray) and lists.dtype.kind in "iu" and lists.ndim in (1, 2):
        # One row per entry: (B,) one id each, (B, P) P ids each (e.g. the
        # (B, 1) positives of a retrieval batch).
        table = lists.reshape(lists.shape[0], -1)
        indptr = np.arange(table.shape[0] + 1, dtype=np.int64) * table.shape[1]
        indices = _as_int_1d(table.reshape(-1), f"{name} ids")
    elif isinstance(lists, list) or (
        isinstance(lists, np.ndarray) and lists.dtype == object
    ):
        rows = [_as_int_1d(r, f"{name}[{i}]") for i, r in enumerate(lists)]
        lengths = np.array([r.shape[0] for r in rows], dtype=np.int64)
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    else:
        raise TypeError(
            f"{name} must be a scipy.sparse matrix, an object with CSR indptr/indices, "
            f"an (indptr, indices) tuple, a list of integer arrays (or ids) or an "
            f"integer array of one row per entry, got {type(lists).__name__}"
        )

    if indptr.shape[0] == 0:
        raise ValueError(f"{name} indptr must have at least one entry")
    if indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
        raise ValueError(
            f"{name} indptr must start at 0, be non-decreasing and end at "
            f"len(indices)={indices.shape[0]}"
        )
    rows_count = indptr.shape[0] - 1
    if n_rows is not None and rows_count != n_rows:
        raise ValueError(f"{name} has {rows_count} rows, expected {n_rows}")

    if indices.size:
        bad = (indices < 0) | (indices >= n_items)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            row = int(np.searchsorted(indptr, pos, side="right") - 1)
            raise ValueError(
                f"{name} row {row} holds id {int(indices[pos])}, outside [0, {n_items})"
            )
    return _sorted_unique(indptr, indices, n_items)


def _from_tensor(lists: Any) -> Any:
    """A torch tensor as what this module reads: a sparse CSR or COO
    tensor as an (indptr, indices) tuple, a dense one as a NumPy array
    (copied to the host when it lives on another device)."""
    if not is_tensor(lists):
        return lists
    layout = str(lists.layout)
    if layout == "torch.sparse_csr":
        return (as_numpy(lists.crow_indices())[0], as_numpy(lists.col_indices())[0])
    if layout == "torch.sparse_coo":
        coo = lists.coalesce()
        rows, cols = as_numpy(coo.indices())[0]
        indptr = np.zeros(int(coo.shape[0]) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=int(coo.shape[0])), out=indptr[1:])
        return (indptr, cols)
    return as_numpy(lists)[0]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique of a 1-D array by sorting (numpy 2's np.unique is much
    slower on int64)."""
    values = np.sort(values)
    if values.shape[0] > 1:
        values = values[np.concatenate(([True], values[1:] != values[:-1]))]
    return values


def sort_with_order(keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(sorted keys, order) with ``keys[order]`` sorted, for non-negative
    int64 keys.  When a key and its position fit together in 63 bits, sorts
    ``key << bits | position`` instead of calling argsort: numpy's vectorised
    sort is many times faster than its argsort, and the sorted keys come
    without a gather."""
    count = keys.shape[0]
    if count == 0:
        return keys.copy(), np.zeros(0, dtype=np.int64)
    bits = max(1, int(count - 1).bit_length())
    if keys.min() >= 0 and int(keys.max()) < (1 << (62 - bits)):
        packed = np.sort((keys << bits) | np.arange(count, dtype=np.int64))
        return packed >> bits, packed & ((1 << bits) - 1)
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def dense_ids(keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(sorted unique keys, position of each key among them), for int64
    keys (the rows of exclusion lists keyed by sources, anchors or
    relations).  One sort (np.searchsorted of unsorted queries is several
    times slower)."""
    ordered, order = sort_with_order(keys)
    head = np.ones(ordered.shape[0], dtype=bool)
    head[1:] = ordered[1:] != ordered[:-1]
    ids = np.empty(keys.shape[0], dtype=np.int64)
    ids[order] = np.cumsum(head) - 1
    return ordered[head], ids


def from_pairs(rows: np.ndarray, ids: np.ndarray, n_rows: int, n_items: int) -> ExclusionLists:
    """Sorted unique CSR rows from (row, id) pairs in any order, duplicates
    allowed: row r holds every id paired with r.  ``rows`` in [0, n_rows),
    ``ids`` in [0, n_items) (not checked here)."""
    rows = np.asarray(rows, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    n = np.int64(max(n_items, 1))
    if n_rows * int(n) < 2**62:
        keys = sorted_unique(rows * n + ids)  # one sort of row-offset keys
        key_rows = keys // n
        new_indices = c_array(keys - key_rows * n)
    else:  # keys would overflow int64
        order = np.lexsort((ids, rows))
        r_sorted, i_sorted = rows[order], ids[order]
        keep = np.ones(i_sorted.shape[0], dtype=bool)
        keep[1:] = (i_sorted[1:] != i_sorted[:-1]) | (r_sorted[1:] != r_sorted[:-1])
        key_rows, new_indices = r_sorted[keep], c_array(i_sorted[keep])
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(key_rows, minlength=n_rows), out=indptr[1:])
    return ExclusionLists(indptr, new_indices)


def _sorted_unique(indptr: np.ndarray, indices: np.ndarray, n_items: int) -> ExclusionLists:
    n_rows = indptr.shape[0] - 1
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
    return from_pairs(row_of, indices, n_rows, n_items)

"""Pure-NumPy hard-negative mining and top-k: the full score matrix, -inf
for the excluded / out-of-window entries, argpartition, then a sort of the
selected entries.  What a careful NumPy user writes; it allocates B x N
scores plus argpartition's B x N int64 indices.

Ties at the k-th position are broken arbitrarily by argpartition (the k
entries kept are then sorted by score, lower id first on equal scores), so on
data with ties at the boundary the ids can differ from negsamp's, whose rule
is "lower id first" everywhere.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

__all__ = ["hard_negatives_numpy", "topk_numpy"]


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1)
    norms[norms == 0] = 1
    unit: np.ndarray = x / norms[:, None]
    return unit


def _exclusion_coords(exclude: Any, n_rows: int) -> Tuple[np.ndarray, np.ndarray]:
    if hasattr(exclude, "tocsr"):
        exclude = exclude.tocsr()
    if hasattr(exclude, "indptr"):
        indptr, indices = np.asarray(exclude.indptr), np.asarray(exclude.indices)
    elif isinstance(exclude, tuple):
        indptr, indices = np.asarray(exclude[0]), np.asarray(exclude[1])
    else:
        rows = [np.asarray(r, dtype=np.int64).ravel() for r in exclude]
        indptr = np.concatenate([[0], np.cumsum([r.shape[0] for r in rows])])
        indices = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    row_of = np.repeat(np.arange(n_rows), np.diff(indptr))
    return row_of, indices.astype(np.int64)


def _select(scores: np.ndarray, k: int, largest: bool, skip: int = 0
            ) -> Tuple[np.ndarray, np.ndarray]:
    """argpartition of the k + skip best per row (no negated copy: the
    largest are the last ones of the partition), then a sort of those by
    score, lower id first on ties."""
    n_rows, n_items = scores.shape
    m = min(k + skip, n_items)
    if m < n_items:
        kth = n_items - m if largest else m - 1
        part = np.argpartition(scores, kth, axis=1)
        part = part[:, n_items - m :] if largest else part[:, :m]
    else:
        part = np.broadcast_to(np.arange(n_items), (n_rows, n_items)).copy()
    part_scores = np.take_along_axis(scores, part, axis=1)
    key = -part_scores if largest else part_scores
    order = np.lexsort((part, key), axis=1)  # key asc, then id asc
    ids = np.take_along_axis(part, order, axis=1)[:, skip : skip + k].astype(np.int64)
    out = np.take_along_axis(scores, ids, axis=1)
    if ids.shape[1] < k:  # fewer than skip + k columns
        pad = k - ids.shape[1]
        ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        out = np.pad(out, ((0, 0), (0, pad)), constant_values=np.nan)
    return ids, out


def _pad(ids: np.ndarray, out: np.ndarray, short: np.ndarray) -> None:
    ids[short] = -1
    out[short] = np.nan


def hard_negatives_numpy(
    queries: np.ndarray,
    candidates: np.ndarray,
    k: int,
    *,
    exclude: Any = None,
    metric: str = "dot",
    largest: bool = True,
    positive_scores: Optional[np.ndarray] = None,
    max_score: Optional[float] = None,
    min_score: Optional[float] = None,
    absolute_margin: Optional[float] = None,
    relative_margin: Optional[float] = None,
    skip_top: int = 0,
) -> Tuple[np.ndarray, np.ndarray]:
    """Reference of ``negsamp.hard_negatives`` (no temperature, no
    ``positives=``): S = Q @ C.T in float32 (float64 if both inputs are),
    ineligible entries set to -inf (+inf when ``largest=False``),
    argpartition of the k + skip_top best, sort of those.  Rows with fewer
    eligible entries are padded with -1 / NaN."""
    dtype = np.float64 if (queries.dtype == np.float64 and candidates.dtype == np.float64) \
        else np.float32
    q: np.ndarray = np.asarray(queries, dtype=dtype)
    c: np.ndarray = np.asarray(candidates, dtype=dtype)
    if metric == "cosine":
        q, c = _normalise_rows(q), _normalise_rows(c)
    scores = q @ c.T
    n_rows = scores.shape[0]
    bad_value = -np.inf if largest else np.inf
    upper = None
    if max_score is not None:
        upper = np.full(n_rows, float(max_score))
    if positive_scores is not None:
        if upper is None:
            upper = np.full(n_rows, np.inf)
        pos = np.asarray(positive_scores, dtype=np.float64)
        if absolute_margin is not None:
            upper = np.minimum(upper, pos - absolute_margin)
        if relative_margin is not None:
            upper = np.minimum(upper, pos - np.abs(pos) * relative_margin)
    if upper is not None or min_score is not None:
        # Compared in float64, like negsamp (the cast is done chunk-wise by
        # the ufunc, no float64 copy of the matrix).
        bad = np.zeros(scores.shape, dtype=bool)
        if upper is not None:
            np.greater(scores, upper[:, None], out=bad)  # float64 loop
        if min_score is not None:
            bad |= np.less(scores, np.float64(min_score))
        scores[bad] = bad_value
        del bad
    if exclude is not None:
        rows, ids = _exclusion_coords(exclude, n_rows)
        scores[rows, ids] = bad_value
    ids, out = _select(scores, k, largest, skip_top)
    # Scores are finite, so a selected bad value marks a row that ran short.
    _pad(ids, out, out == bad_value)
    return ids, out


def topk_numpy(scores: np.ndarray, k: int, exclude: Any = None,
               largest: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Reference of ``negsamp.topk``: excluded entries set to -inf (+inf)
    on a copy, argpartition, sort of the k kept."""
    s = np.asarray(scores)
    n_rows, n_items = s.shape
    n_eligible = np.full(n_rows, n_items)
    if exclude is not None:
        s = s.copy()  # never modify the caller's matrix
        rows, ids = _exclusion_coords(exclude, n_rows)
        s[rows, ids] = -np.inf if largest else np.inf
        n_eligible = n_items - np.bincount(rows, minlength=n_rows)  # ids assumed unique
    ids, out = _select(s, k, largest)
    _pad(ids, out, np.arange(k)[None, :] >= n_eligible[:, None])
    return ids, out

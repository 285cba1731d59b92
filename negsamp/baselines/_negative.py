"""Baselines of NegativeSampler.sample: negatives that avoid each row's
positives, written as a careful NumPy user would."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from negsamp._rng import RNGLike, as_generator


def positive_keys(indptr: Any, indices: Any, n_items: int) -> np.ndarray:
    """Sorted int64 keys ``row * n_items + item`` of CSR positive lists (build
    once, reuse for every call of :func:`negatives_rejection`)."""
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    row_of = np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))
    return np.unique(row_of * np.int64(n_items) + indices)


def negatives_rejection(
    keys: np.ndarray,
    rows: Any,
    k: int,
    n_items: int,
    *,
    p: Optional[np.ndarray] = None,
    rng: RNGLike = None,
    max_rounds: int = 1000,
) -> np.ndarray:
    """k negatives per row by vectorised rejection.

    Draws all ``len(rows) * k`` candidates at once (``rng.integers`` for the
    uniform law, ``rng.choice(n_items, p=p)`` for weights), tests membership
    of ``row * n_items + item`` in the sorted ``keys`` (from
    :func:`positive_keys`) with ``np.searchsorted``, and redraws the rejected
    until none remain.  Exact for the renormalised law; the number of rounds
    grows like ``log(m) / log(1 / P)`` for a row whose positives hold mass P,
    so dense rows are slow (``max_rounds`` guards against rows with no
    eligible item).  O(M log nnz) per round for M pending draws, plus O(n)
    per round for ``choice(p=)``.
    """
    gen = as_generator(rng)
    rows = np.asarray(rows, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.int64)
    row_of = np.repeat(rows, k)
    out = np.empty(row_of.shape[0], dtype=np.int64)
    pending = np.arange(row_of.shape[0])
    for _ in range(max_rounds):
        if pending.size == 0:
            return out.reshape(rows.shape[0], k)
        if p is None:
            cand = gen.integers(0, n_items, pending.size)
        else:
            cand = gen.choice(n_items, pending.size, p=p)
        key = row_of[pending] * np.int64(n_items) + cand
        pos = np.searchsorted(keys, key)
        hit = keys[np.minimum(pos, keys.size - 1)] == key if keys.size else np.zeros(key.shape, bool)
        out[pending[~hit]] = cand[~hit]
        pending = pending[hit]
    raise ValueError(f"rejection did not finish in {max_rounds} rounds: some rows "
                     "have (almost) no eligible item")


def negatives_without_replacement(
    indptr: Any,
    indices: Any,
    rows: Any,
    k: int,
    n_items: int,
    *,
    p: Optional[np.ndarray] = None,
    rng: RNGLike = None,
) -> np.ndarray:
    """k distinct negatives per row: one ``rng.choice(n_items, k,
    replace=False, p=q_row)`` per row with ``q_row`` the base law zeroed on
    the row's positives and renormalised.  O(n) per row: small n only."""
    gen = as_generator(rng)
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    base = np.full(n_items, 1.0 / n_items) if p is None else np.asarray(p, dtype=np.float64)
    out = np.empty((rows.shape[0], k), dtype=np.int64)
    for i, r in enumerate(rows):
        q = base.copy()
        q[indices[indptr[r]:indptr[r + 1]]] = 0.0
        out[i] = gen.choice(n_items, k, replace=False, p=q / q.sum())
    return out

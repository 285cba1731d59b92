"""Negatives drawn from the exclusion-aware law, for every sampler of
negsamp: NegativeSampler, corrupt_triples and negative_edges.

A law is one negsamp._law.SamplingLaw: a base law (uniform over
``n_items``, or an AliasTable) restricted to the items outside each row's
exclusion list.  :func:`build_law` makes one (NegativeSampler keeps its own,
with complement tables and Bloom filters); :func:`draw` checks the rows and
``k``, names the rows with too few eligible items, takes one key from the
caller's generator and draws; :func:`sample_excluding` does both for a law
used once.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np

from negsamp._exclusion import ExclusionLists
from negsamp._law import SamplingLaw
from negsamp._rng import RNGLike, draw_key
from negsamp._threads import resolve_n_threads
from negsamp._validation import as_int, c_array, element_count
from negsamp.alias import AliasTable, table_entries

__all__ = ["build_law", "draw", "sample_excluding"]

Drawn = Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]


def build_law(base: Union[int, AliasTable], exclusions: ExclusionLists, *, n_threads: int,
              row_tables: bool = False) -> SamplingLaw:
    """The law of ``base`` (``n_items``, validated here, or an AliasTable)
    restricted to the rows of ``exclusions`` (sorted unique CSR lists, from
    as_exclusion_lists).  ``row_tables``: also the complement tables and the
    Bloom filters of the rows that gain from them (built once, O(nnz) memory;
    worth it for a law drawn from many times).  A weighted law costs O(n)
    for its cumulative sums and O(nnz) for its row statistics."""
    indptr = c_array(exclusions.indptr, dtype=np.int64)
    indices = c_array(exclusions.indices, dtype=np.int64)
    if isinstance(base, AliasTable):
        return SamplingLaw(len(base), indptr, indices, table_entries(base),
                           c_array(base.probabilities, dtype=np.float64),
                           n_threads=n_threads, complements=row_tables, filters=row_tables)
    n_items = as_int(base, "n_items", minimum=1)
    return SamplingLaw(n_items, indptr, indices, n_threads=n_threads,
                       complements=row_tables, filters=row_tables)


def sample_excluding(
    base: Union[int, AliasTable],
    exclusions: ExclusionLists,
    rows: Any,
    k: int,
    rng: RNGLike,
    **options: Any,
) -> Drawn:
    """k negatives for each exclusion row id in ``rows``, from a law built
    for this call (see :func:`build_law`, without row tables: a weighted
    base costs O(n + nnz) per call).  ``options`` and the result are those
    of :func:`draw`; ``base`` is ``n_items`` (uniform law) or an AliasTable
    and ``exclusions`` sorted unique CSR lists (from as_exclusion_lists).
    The rows and ``k`` are checked before the law is built."""
    if not isinstance(base, AliasTable):
        base = as_int(base, "n_items", minimum=1)
    k = as_int(k, "k", minimum=0)
    _checked_rows(rows, k, exclusions.n_rows, options.get("row_label", "rows"),
                  options.get("return_log_q", False), options.get("tmpl"))
    threads = resolve_n_threads(options.pop("n_threads", None))
    law = build_law(base, exclusions, n_threads=threads)
    return draw(law, rows, k, rng, n_threads=threads, **options)


def draw(
    law: SamplingLaw,
    rows: Any,
    k: int,
    rng: RNGLike,
    *,
    replace: bool = True,
    n_threads: Optional[int] = None,
    return_log_q: bool = False,
    row_label: str = "rows",
    keys: Optional[np.ndarray] = None,
    tmpl: Optional[np.ndarray] = None,
    col: int = 0,
    out: Optional[np.ndarray] = None,
    log_q_out: Optional[np.ndarray] = None,
) -> Drawn:
    """k negatives for each row id of ``rows`` (int64 1-D, ids into the
    law's exclusion rows) under ``law``.

    Returns int64 ``(len(rows), k)`` (and the float64 log q of the same
    shape when ``return_log_q``).  Raises ValueError naming the rows
    (``row_label``) that have no eligible item, or fewer than ``k`` when
    ``replace`` is False, before any draw.  ``tmpl`` (an (len(rows), w)
    C-contiguous int64 array) makes it return (len(rows), k, w) tuples
    instead: ``tmpl[i]`` repeated k times with column ``col`` holding the
    negatives, the same draws written in place (no log q).  ``keys``
    (validated by as_keys, one per row, or None) gives output row i its own
    keyed stream (ns_rng_seed_keyed with keys[i]) instead of the row-block
    streams.  ``out`` / ``log_q_out`` (checked by the caller with
    ``as_out``; None: allocated) receive the result in place.
    """
    k = as_int(k, "k", minimum=0)
    threads = resolve_n_threads(n_threads)
    ids = _checked_rows(rows, k, law.n_rows, row_label, return_log_q, tmpl)
    return _draw(law, ids, k, rng, replace, threads, return_log_q, row_label, keys, tmpl, col,
                 out, log_q_out)


def _checked_rows(rows: Any, k: int, n_rows: int, row_label: str, return_log_q: bool,
                  tmpl: Optional[np.ndarray]) -> np.ndarray:
    """``rows`` as int64 1-D row ids in [0, n_rows), once the output of k
    negatives a row is known to fit in memory."""
    ids = c_array(rows, dtype=np.int64)
    if ids.ndim != 1:
        raise ValueError(f"{row_label} must be 1-D, got shape {ids.shape}")
    dims = (ids.shape[0], k) if tmpl is None else (ids.shape[0], k, tmpl.shape[1])
    element_count(dims, f"k={k} negatives for each of {ids.shape[0]} {row_label}",
                  16 if return_log_q else 8)
    if ids.size and (ids.min() < 0 or ids.max() >= n_rows):
        bad = ids[(ids < 0) | (ids >= n_rows)][0]
        raise ValueError(f"{row_label} must be in [0, {n_rows}), got {int(bad)}")
    return ids


def _draw(law: SamplingLaw, rows: np.ndarray, k: int, rng: RNGLike, replace: bool,
          threads: int, return_log_q: bool, row_label: str, keys: Optional[np.ndarray],
          tmpl: Optional[np.ndarray], col: int, out: Optional[np.ndarray] = None,
          log_q_out: Optional[np.ndarray] = None) -> Drawn:
    if tmpl is not None and return_log_q:
        raise ValueError("tmpl and return_log_q cannot be combined")
    if k > 0 and rows.size:
        eligible = law.eligible(rows)
        need = 1 if replace else k
        short = eligible < need
        if short.any():
            bad_rows = np.unique(rows[short])
            shown = ", ".join(str(int(r)) for r in bad_rows[:10])
            more = f" and {bad_rows.size - 10} more" if bad_rows.size > 10 else ""
            if replace:
                what = "have no eligible item (every item of positive weight is excluded)"
            else:
                what = (f"have fewer than k={k} eligible items, as replace=False needs "
                        f"(eligible counts: {', '.join(str(int(c)) for c in np.unique(eligible[short])[:10])})")
            label = row_label if bad_rows.size > 1 else _singular(row_label)
            if bad_rows.size == 1:
                what = what.replace("have ", "has ", 1)
            raise ValueError(f"{label} {shown}{more} {what}")

    k0, k1 = draw_key(rng)
    if tmpl is not None:
        return law.sample_tuples(rows, k, bool(replace), k0, k1, threads, tmpl, col, keys,
                                 out)
    ids, log_q = law.sample(rows, k, bool(replace), k0, k1, threads, bool(return_log_q), keys,
                            out, log_q_out)
    if return_log_q:
        assert log_q is not None
        return ids, log_q
    return ids


def _singular(label: str) -> str:
    return label[:-1] if label.endswith("s") else label

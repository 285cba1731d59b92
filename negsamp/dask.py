"""Reservoir samples, negatives and hard-negative mining on Dask
collections (optional extra).

Install with ``pip install 'negsamp[dask]'`` (dask and distributed).  Dask is
imported only when a function of this module is called.

Example
-------
>>> import dask.array as da                                  # doctest: +SKIP
>>> from negsamp.dask import reservoir_sample                # doctest: +SKIP
>>> x = da.arange(10**8, chunks=10**6)                       # doctest: +SKIP
>>> res = reservoir_sample(x, 1000, rng=0).compute()         # doctest: +SKIP
>>> res.sample.shape, res.count                              # doctest: +SKIP
((1000,), 100000000)
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from negsamp import mining
from negsamp._exclusion import ExclusionLists, as_exclusion_lists
from negsamp._rng import RNGLike, spawn
from negsamp._validation import as_array, as_int, check_output_size, describe, numeric_array
from negsamp.reservoir import Reservoir, WeightedReservoir
from negsamp.topk import topk

__all__ = ["hard_negatives", "reservoir_sample", "sample_negatives"]

_INSTALL_HINT = "negsamp.dask needs dask and distributed: pip install 'negsamp[dask]'"


def _import_dask() -> Any:
    try:
        import dask  # noqa: F401  # type: ignore[import-not-found, import-untyped, unused-ignore]
        import dask.delayed  # noqa: F401  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError as exc:  # pragma: no cover - exercised without dask
        raise ImportError(_INSTALL_HINT) from exc
    return dask


def _kind(collection: Any) -> str:
    """'array', 'series', 'dataframe', 'bag' or '' (by duck type, without
    importing the optional dask submodules that are not installed)."""
    mod = type(collection).__module__ or ""
    name = type(collection).__name__
    if not mod.startswith(("dask", "dask_expr")):
        return ""
    if name == "Array":
        return "array"
    if name == "Series":
        return "series"
    if name == "DataFrame":
        return "dataframe"
    if name == "Bag":
        return "bag"
    return ""


def _partitions(collection: Any, kind: str) -> List[Any]:
    if kind == "array":
        if collection.ndim != 1:
            raise ValueError(
                f"collection must be a 1-D dask array, got {collection.ndim} dimensions"
            )
        return list(collection.to_delayed().ravel())
    return list(collection.to_delayed())


def _as_partition_items(part: Any, kind: str) -> np.ndarray:
    if kind == "bag":
        # Bag items are arbitrary Python objects (tuples would otherwise
        # become rows of a 2-D array): keep them as objects.
        values = list(part)
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = v
        return out
    if kind == "series":
        return np.asarray(part.to_numpy())
    return np.asarray(part)


def _partition_reservoir(part: Any, wpart: Any, kind: str, k: int, rng: Any,
                         weighted: bool, weight_fn: Optional[Callable[[Any], float]]) -> Any:
    items = _as_partition_items(part, kind)
    if not weighted:
        res = Reservoir(k, rng=rng)
        if items.shape[0]:
            res.update(items)
        return res
    wres = WeightedReservoir(k, rng=rng)
    if weight_fn is not None:
        w = np.fromiter((weight_fn(x) for x in items), dtype=np.float64, count=items.shape[0])
    elif kind == "series":
        w = np.asarray(wpart.to_numpy(), dtype=np.float64)
    elif kind == "bag":
        w = np.asarray(list(wpart), dtype=np.float64)
    else:
        w = np.asarray(wpart)
    if items.shape[0] or np.asarray(w).shape[0]:
        wres.update(items, w)
    return wres


def _merge_all(*reservoirs: Any) -> Any:
    out = reservoirs[0]
    for r in reservoirs[1:]:
        out = out.merge(r)
    return out


def reservoir_sample(collection: Any, k: int, *, weights: Any = None, rng: RNGLike = None,
                     split_every: int = 8) -> Any:
    """A reservoir sample of a Dask collection, exact and reproducible.

    Parameters
    ----------
    collection : dask.array.Array (1-D), dask.dataframe.Series or dask.bag.Bag
        The stream.  Series values are taken with ``to_numpy()``; bag items
        are kept as Python objects (object dtype).
    k : int >= 1
        Sample size.
    weights : optional
        None for a uniform sample (:class:`negsamp.Reservoir`).  Otherwise a
        weighted sample without replacement (:class:`negsamp.WeightedReservoir`)
        with weights given as: a dask array (rechunked like ``collection``)
        or NumPy array of the same length, for an array; a Series with the
        same partitions, for a Series; a callable ``item -> weight`` or a bag
        with the same partitions, for a bag.  Weights must be finite and
        >= 0 (checked on the workers).
    rng : None, int, SeedSequence or Generator
        Partition i gets its own stream, the i-th child of ``rng``
        (:func:`negsamp.spawn`); merges are deterministic functions of
        their inputs.  So an int seed and a fixed partitioning give the
        same sample on every run and cluster.
    split_every : int >= 2
        Fan-in of the tree of merges.

    Returns
    -------
    dask.delayed.Delayed
        Computes to the merged :class:`negsamp.Reservoir` or
        :class:`negsamp.WeightedReservoir` (``.sample``, ``.count``; it can
        keep being updated).

    Notes
    -----
    Law: exactly that of one reservoir fed the whole collection in
    partition order -- a uniform ``min(k, n)``-subset, or k successive
    weighted draws without replacement -- because every merge is exact
    (hypergeometric split for the uniform case, top-k keys for the
    weighted one).  Work: one pass per partition on the workers, O(k) per
    merge, ceil(log_split_every(partitions)) levels.
    """
    dask = _import_dask()
    k = as_int(k, "k", minimum=1)
    split_every = as_int(split_every, "split_every", minimum=2)
    kind = _kind(collection)
    if kind == "dataframe":
        raise TypeError("collection must be a dask Series, not a DataFrame: pass one column, "
                        "e.g. df['item']")
    if not kind:
        raise TypeError(
            "collection must be a dask.array.Array, dask.dataframe.Series or dask.bag.Bag, "
            f"got {type(collection).__name__}"
        )
    parts = _partitions(collection, kind)
    weighted = weights is not None
    weight_fn: Optional[Callable[[Any], float]] = None
    wparts: List[Any] = [None] * len(parts)
    if weighted:
        if kind == "bag" and callable(weights) and _kind(weights) != "bag":
            weight_fn = weights
        else:
            wparts = _weight_partitions(weights, collection, kind, len(parts))
    children = spawn(rng, len(parts))
    task = dask.delayed(_partition_reservoir, pure=False)
    level = [task(p, wp, kind, k, child, weighted, weight_fn)
             for p, wp, child in zip(parts, wparts, children)]
    if not level:
        empty = WeightedReservoir(k, rng=children[0] if children else rng) if weighted \
            else Reservoir(k, rng=rng)
        return dask.delayed(empty)
    merge = dask.delayed(_merge_all, pure=True)
    while len(level) > 1:
        level = [merge(*level[i : i + split_every]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), split_every)]
    return level[0]


def _weight_partitions(weights: Any, collection: Any, kind: str, n_parts: int) -> List[Any]:
    wkind = _kind(weights)
    if kind == "array":
        import dask.array as da  # type: ignore[import-not-found, import-untyped, unused-ignore]

        if wkind == "":
            weights = numeric_array(weights, "weights")
        elif wkind != "array":
            raise TypeError(f"weights of a dask array must be an array, got {type(weights).__name__}")
        if weights.ndim != 1 or weights.shape[0] != collection.shape[0]:
            raise ValueError(
                f"weights has shape {weights.shape} but collection has shape {collection.shape}"
            )
        if wkind == "":
            weights = da.from_array(  # type: ignore[no-untyped-call, unused-ignore]
                weights, chunks=collection.chunks)
        return list(weights.rechunk(collection.chunks).to_delayed().ravel())
    if kind == "series":
        if wkind != "series":
            raise TypeError(f"weights of a dask Series must be a dask Series, got "
                            f"{type(weights).__name__}")
    elif kind == "bag" and wkind != "bag":
        raise TypeError(f"weights of a bag must be a callable or a bag, got {describe(weights)}")
    if weights.npartitions != n_parts:
        raise ValueError(
            f"weights has {weights.npartitions} partitions but collection has {n_parts}"
        )
    return list(weights.to_delayed())


# -- negatives for every row of a DataFrame ---------------------------------
def _partition_rows(series: Any, row_column: str) -> np.ndarray:
    """The row ids of one partition as a NumPy integer array; ValueError
    naming ``row_column`` for a missing value (nullable integer columns)."""
    missing = np.asarray(series.isna())
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ValueError(f"row_column {row_column!r} holds a missing value (NA) at "
                         f"index {series.index[i]!r}: every row needs a row id")
    numpy_dtype = getattr(series.dtype, "numpy_dtype", None)  # pandas nullable
    return np.asarray(series.to_numpy(dtype=numpy_dtype))


def _partition_keys(frame: Any, key_column: str) -> np.ndarray:
    """The keys of one partition (a column, or the index for "index")."""
    if key_column == "index":
        index = frame.index
        if index.hasnans:
            raise ValueError("key_column 'index': the index holds a missing value (NA)")
        numpy_dtype = getattr(index.dtype, "numpy_dtype", None)
        return np.asarray(index.to_numpy(dtype=numpy_dtype))
    return _partition_rows(frame[key_column], key_column)


def _partition_negatives(frame: Any, sampler: Any, row_column: str, k: int, rng: Any,
                         columns: List[str], key_column: Optional[str] = None) -> Any:
    rows = _partition_rows(frame[row_column], row_column)
    out = frame.copy()
    if rows.shape[0] == 0:
        for c in columns:
            out[c] = np.empty(0, dtype=np.int64)
        return out
    if key_column is not None:
        keys = _partition_keys(frame, key_column)
        try:
            negatives = np.asarray(sampler.sample(rows, k, rng=rng, keys=keys))
        except (ValueError, TypeError) as exc:  # name both columns
            raise type(exc)(f"row_column {row_column!r}, key_column {key_column!r}: "
                            f"{exc}") from exc
    else:
        try:
            negatives = np.asarray(sampler.sample(rows, k, rng=rng))
        except ValueError as exc:  # bad row ids: name the column they come from
            raise ValueError(f"row_column {row_column!r}: {exc}") from exc
        except TypeError as exc:
            raise TypeError(f"row_column {row_column!r}: {exc}") from exc
    if negatives.shape != (rows.shape[0], k):
        raise ValueError(
            f"sampler.sample returned shape {negatives.shape}, expected {(rows.shape[0], k)}"
        )
    negatives = negatives.astype(np.int64, copy=False)
    for j, c in enumerate(columns):
        out[c] = negatives[:, j]
    return out


def sample_negatives(df: Any, sampler: Any, *, row_column: str, k: int, rng: RNGLike = None,
                     prefix: str = "neg_", key_column: Optional[str] = None) -> Any:
    """Adds ``k`` negatives per row to a dask DataFrame, partition by partition.

    Parameters
    ----------
    df : dask.dataframe.DataFrame
        One row per positive; ``df[row_column]`` holds the row (user, query,
        head entity...) whose negatives are drawn.
    sampler : object with ``sample(rows, k, rng=...) -> int64 (len(rows), k)``
        Typically a :class:`negsamp.NegativeSampler`.  It is put in the task
        graph once (``dask.delayed``) and shipped to each worker once, so it
        should pickle compactly.
    row_column : str
        Column of ``df`` passed as ``rows``.
    k : int >= 1
        Negatives per row.
    rng : None, int, SeedSequence or Generator
        Partition i draws with the i-th child of ``rng`` (:func:`negsamp.spawn`):
        the same seed and partitioning give the same negatives.  With
        ``key_column``, every partition draws with the same seed (one
        child of ``rng``) and per-row keys instead.
    prefix : str
        Output columns are ``f"{prefix}{j}"`` for j in 0..k-1, int64 (one
        column per negative: plain int64 columns store and filter well in
        pandas and Parquet; ``df[[...]].to_numpy()`` gives the (n, k) block).
    key_column : str, optional
        Reproducible by row: a column of non-negative integer keys, or
        ``"index"`` for the (integer) index, passed as
        ``sampler.sample(rows, k, rng=seed, keys=...)``.  Each row's
        negatives then depend only on ``rng``, its row id and its key: the
        same whatever the partitioning (rows with equal keys and row ids get
        equal negatives).  The sampler must accept ``keys=``.

    Returns
    -------
    dask.dataframe.DataFrame
        ``df`` with the k negative columns appended; same divisions.
    """
    dask = _import_dask()
    import dask.dataframe as dd  # type: ignore[import-not-found, import-untyped, unused-ignore]
    import pandas as pd  # type: ignore[import-not-found, import-untyped, unused-ignore]

    k = as_int(k, "k", minimum=1)
    if _kind(df) != "dataframe":
        raise TypeError(f"df must be a dask DataFrame, got {type(df).__name__}")
    if not isinstance(row_column, str) or row_column not in df.columns:
        raise ValueError(f"row_column {row_column!r} is not a column of df "
                         f"(columns: {list(df.columns)})")
    row_dtype = df[row_column].dtype
    if pd.api.types.is_bool_dtype(row_dtype) or not pd.api.types.is_integer_dtype(row_dtype):
        raise TypeError(f"row_column {row_column!r} must hold integer row ids, got "
                        f"dtype {row_dtype}")
    if not callable(getattr(sampler, "sample", None)):
        raise TypeError(f"sampler must have a .sample(rows, k, rng=...) method, got "
                        f"{type(sampler).__name__}")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {describe(prefix)}")
    # k int64 columns, and their names (about 64 bytes each).
    check_output_size((k,), 72, f"k={k}")
    columns = [f"{prefix}{j}" for j in range(k)]
    clash = [c for c in columns if c in df.columns]
    if clash:
        raise ValueError(f"df already has columns {clash[:3]}; choose another prefix")
    meta = df._meta.copy()
    for c in columns:
        meta[c] = pd.Series(dtype=np.int64, index=meta.index)
    if key_column is not None:
        if not isinstance(key_column, str):
            raise TypeError(f"key_column must be a column name or 'index', got "
                            f"{describe(key_column)}")
        if key_column == "index":
            key_dtype = df.index.dtype
        elif key_column in df.columns:
            key_dtype = df[key_column].dtype
        else:
            raise ValueError(f"key_column {key_column!r} is not a column of df "
                             f"(columns: {list(df.columns)}) nor 'index'")
        if pd.api.types.is_bool_dtype(key_dtype) or not pd.api.types.is_integer_dtype(key_dtype):
            raise TypeError(f"key_column {key_column!r} must hold integer keys, got "
                            f"dtype {key_dtype}")
    parts = df.to_delayed()
    if key_column is None:
        children: List[Any] = spawn(rng, len(parts))
    else:
        # One seed for every partition: an int, so that each task makes the
        # same call key whatever scheduler runs it.
        seed = int(spawn(rng, 1)[0].integers(0, 2**63))
        children = [seed] * len(parts)
    shipped = dask.delayed(sampler, pure=False, traverse=False)
    task = dask.delayed(_partition_negatives, pure=False)
    out = [task(p, shipped, row_column, k, child, columns, key_column)
           for p, child in zip(parts, children)]
    return dd.from_delayed(out, meta=meta, divisions=df.divisions)



# -- hard negatives over a corpus chunked by rows ---------------------------
def _chunk_exclusion(sorted_ids: np.ndarray, sorted_rows: np.ndarray, lo: int, hi: int,
                     n_rows: int) -> Tuple[np.ndarray, np.ndarray]:
    """The (indptr, indices) lists of candidates lo..hi-1, as ids of the
    chunk, from every query's excluded ids sorted by id (``sorted_rows``
    says whose each one is)."""
    a, b = np.searchsorted(sorted_ids, [lo, hi])
    rows = sorted_rows[a:b]
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr, sorted_ids[a:b][order] - lo


def _chunk_top(chunk: Any, queries: np.ndarray, lo: int, excluded: Any,
               pos: Optional[np.ndarray], width: int, options: Dict[str, Any]
               ) -> Tuple[np.ndarray, np.ndarray]:
    """The top ``width`` lists of one chunk (candidates lo..), global ids."""
    chunk = np.asarray(chunk)
    exclude = None if excluded is None else _chunk_exclusion(
        excluded[0], excluded[1], lo, lo + chunk.shape[0], queries.shape[0])
    try:
        ids, scores = mining.hard_negatives(queries, chunk, width, exclude=exclude,
                                            positive_scores=pos, **options)
    except ValueError as exc:
        # Name the candidate by its global row, as one local call would.
        bad = ~np.isfinite(chunk)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(f"candidates must be finite, got {chunk[r, c]} at row "
                             f"{lo + int(r)}, column {int(c)}") from None
        raise ValueError(f"chunk of candidates {lo}..{lo + chunk.shape[0] - 1} (rows "
                         f"below counted from its start): {exc}") from None
    ids[ids >= 0] += lo
    return ids, scores


def _merge_tops(width: int, largest: bool, n_threads: Optional[int],
                *parts: Tuple[np.ndarray, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """The top ``width`` of lists of consecutive chunks given in row order.

    Within a list equal scores rank the lower id first, and every id of a
    list is below those of the next: so in the concatenated lists the lower
    position is the lower id among equal scores, which is topk's tie rule.
    Padding (-1) is excluded and comes back as padding."""
    ids = np.concatenate([p[0] for p in parts], axis=1)
    scores = np.concatenate([p[1] for p in parts], axis=1)
    pad = ids < 0
    indptr = np.zeros(ids.shape[0] + 1, dtype=np.int64)
    np.cumsum(pad.sum(axis=1), out=indptr[1:])
    at, best = topk(np.where(pad, 0, scores), width, exclude=(indptr, np.nonzero(pad)[1]),
                    largest=largest, n_threads=n_threads)
    found = at >= 0
    merged = np.where(found, np.take_along_axis(ids, np.where(found, at, 0), axis=1), -1)
    return merged, best


def _window(skip: int, k: int, merged: Tuple[np.ndarray, np.ndarray]
            ) -> Tuple[np.ndarray, np.ndarray]:
    ids, scores = merged
    ids = np.ascontiguousarray(ids[:, skip : skip + k])
    scores = np.ascontiguousarray(scores[:, skip : skip + k])
    short = k - ids.shape[1]  # a rank window past every candidate
    if short > 0:
        ids = np.pad(ids, ((0, 0), (0, short)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, short)), constant_values=np.nan)
    return ids, scores


def _sorted_by_id(lists: List[ExclusionLists], n_rows: int) -> Tuple[np.ndarray, np.ndarray]:
    """Every (id, query) pair of ``lists``, sorted by id."""
    ids = np.concatenate([x.indices for x in lists])
    rows = np.concatenate([np.repeat(np.arange(n_rows, dtype=np.int64), x.lengths())
                           for x in lists])
    order = np.argsort(ids, kind="stable")
    return ids[order], rows[order]


def _gathered_positive_scores(queries: np.ndarray, rows: np.ndarray,
                              positives: Tuple[np.ndarray, np.ndarray],
                              metric: str) -> np.ndarray:
    return mining.positive_scores_of(queries, np.asarray(rows), positives, metric=metric)


def _tile_aligned(candidates: Any, block: int) -> Any:
    """``candidates`` with one chunk along d and every chunk border at a
    multiple of ``block`` rows (rechunked only when needed)."""
    if candidates.numblocks[1] > 1:
        candidates = candidates.rechunk({1: -1})
    borders = np.cumsum(candidates.chunks[0])[:-1]
    if (borders % block).any():
        mean = sum(candidates.chunks[0]) / len(candidates.chunks[0])
        candidates = candidates.rechunk({0: block * max(1, round(mean / block))})
    return candidates


def hard_negatives(queries: Any, candidates: Any, k: int, *, exclude: Any = None,
                   positives: Any = None, positive_scores: Any = None, metric: str = "dot",
                   largest: bool = True, max_score: Optional[float] = None,
                   min_score: Optional[float] = None, absolute_margin: Optional[float] = None,
                   relative_margin: Optional[float] = None, skip_top: int = 0,
                   temperature: Optional[float] = None, n_threads: Optional[int] = None,
                   block_size: Optional[int] = None, split_every: int = 8) -> Any:
    """:func:`negsamp.hard_negatives` over a dask.array corpus chunked by rows.

    Each chunk of rows is ranked by one local ``negsamp.hard_negatives``
    call on a worker (its ids shifted by the chunk's first row, the
    exclusion lists cut to the chunk), and the per-chunk top lists are
    merged in a tree.  The result is exactly that of one local call on the
    whole corpus -- same ids, same scores, ties to the lower global id --
    for any chunking, because every option kept here is exact per chunk:

    - the top ``k + skip_top`` of the corpus are among the union of each
      chunk's top ``k + skip_top``, so chunks keep that many and the rank
      window ``skip_top`` is applied to the merged list;
    - exclusions, score windows (``max_score``, ``min_score``) and margins
      are per score;
    - with ``positives`` and margins, the positive scores are computed once
      from the positives' rows (:func:`negsamp.mining.positive_scores_of`),
      as the local call computes them, and given to every chunk;
    - the scores themselves: BLAS may round a dot product differently in
      products of other shapes, so the corpus is re-cut (``rechunk``), when
      needed, at multiples of the tile size (``block_size``, by default
      :func:`negsamp.mining.default_block_size`, the local call's), and each
      chunk is scanned in those tiles: every score comes from the same
      product as in the local call.

    ``temperature`` is refused (ValueError): each query's Gumbel variates
    follow its candidates in one stream over the whole corpus, which chunks
    ranked apart cannot reproduce.

    Parameters
    ----------
    queries : array (B, d)
        In memory (a NumPy array or tensor; a dask array is computed).
        Shipped to the workers once.
    candidates : dask.array.Array (N, d)
        The corpus, chunked by rows (chunks along d are merged first, and
        rows re-cut at multiples of the tile size unless every border
        already is one); its chunk sizes must be known
        (``candidates.compute_chunk_sizes()``).
        Any dtype :func:`negsamp.hard_negatives` takes, float16 and
        bfloat16 included (converted tile by tile on the workers).
    k, exclude, positives, positive_scores, metric, largest, max_score, \
min_score, absolute_margin, relative_margin, skip_top, n_threads, block_size
        As in :func:`negsamp.hard_negatives` (ids are global rows);
        ``n_threads`` and ``block_size`` apply to each chunk's call
        (``block_size`` also sets the chunk borders, see above).
    split_every : int >= 2
        Fan-in of the tree of merges.

    Returns
    -------
    dask.delayed.Delayed
        Computes to ``(ids, scores)``, as :func:`negsamp.hard_negatives`
        returns them.

    Notes
    -----
    Every argument is checked here, before any task runs (the local checks
    run on the queries and a one-row stand-in of the corpus, so the errors
    are the local ones); a non-finite candidate is found by its chunk's task
    and named by its global row when the result is computed.  Work: the
    local call's per chunk; each chunk returns B x min(k + skip_top, N)
    ids and scores, and each merge is one :func:`negsamp.topk` over
    ``split_every`` of those.  With margins and ``positives``, the rows of
    the positives are gathered (``candidates[ids]``) by one more task.
    """
    dask = _import_dask()
    if _kind(candidates) != "array":
        raise TypeError(f"candidates must be a dask.array.Array chunked by rows, got "
                        f"{type(candidates).__name__} (call negsamp.hard_negatives for "
                        f"an array in memory)")
    if candidates.ndim != 2:
        raise ValueError(f"candidates must be 2-D (rows x dimensions), got "
                         f"{candidates.ndim} dimensions")
    if any(math.isnan(c) for c in candidates.chunks[0]):
        raise ValueError("candidates has unknown chunk sizes: call "
                         "candidates.compute_chunk_sizes() first")
    if temperature is not None:
        raise ValueError("temperature cannot be used with a chunked corpus: each query's "
                         "Gumbel variates follow its candidates in one stream over the "
                         "whole corpus; call negsamp.hard_negatives on one array instead")
    if _kind(queries) == "array":
        queries = queries.compute()
    k = as_int(k, "k", minimum=1)
    skip_top = as_int(skip_top, "skip_top", minimum=0)
    split_every = as_int(split_every, "split_every", minimum=2)
    n_items = int(sum(candidates.chunks[0]))
    options: Dict[str, Any] = dict(
        metric=metric, largest=largest, max_score=max_score, min_score=min_score,
        absolute_margin=absolute_margin, relative_margin=relative_margin,
        n_threads=n_threads, block_size=block_size)
    # Every other check, with the local messages: the local call on the
    # queries and one zero row of the corpus's dtype (no exclusion lists,
    # whose ids are checked below against the real N).  It is tiny.
    q_arr = as_array(queries, "queries", "a 2-D array of numbers")
    n_rows = q_arr.shape[0] if q_arr.ndim == 2 else 0
    no_lists = (np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))
    stand_in = np.zeros((1, candidates.shape[1]), dtype=candidates.dtype)
    if n_items == 0:
        stand_in = stand_in[:0]
    probe = mining.hard_negatives(q_arr, stand_in, k, skip_top=skip_top,
                                  positive_scores=positive_scores,
                                  positives=None if positives is None else no_lists, **options)
    if n_rows == 0:
        return dask.delayed(probe)
    lists: List[ExclusionLists] = []
    if exclude is not None:
        lists.append(as_exclusion_lists(exclude, n_items, name="exclude", n_rows=n_rows))
    pos_lists = None
    if positives is not None:
        pos_lists = as_exclusion_lists(positives, n_items, name="positives", n_rows=n_rows)
        lists.append(pos_lists)
    margins = absolute_margin is not None or relative_margin is not None

    # The local call's tiles, and chunk borders on them (see above).
    block = mining.default_block_size(n_rows, candidates.shape[1], probe[1].dtype) \
        if block_size is None else int(block_size)
    options["block_size"] = block
    candidates = _tile_aligned(candidates, block)
    offsets = np.concatenate([[0], np.cumsum(candidates.chunks[0])]).astype(np.int64)
    width = min(k + skip_top, n_items)  # as the local heaps: never more than N
    skip = min(skip_top, width)

    shipped_queries = dask.delayed(q_arr, pure=True)
    excluded = dask.delayed(_sorted_by_id(lists, n_rows), pure=True) if lists else None
    pos: Any = None
    if margins and positive_scores is not None:
        pos = dask.delayed(numeric_array(positive_scores, "positive_scores")
                           .astype(np.float64), pure=True)
    elif margins and pos_lists is not None:
        # The positives' rows, gathered in id order, and the positives as
        # positions among them: positive_scores_of then sees the same rows
        # in the same order as the local call does (inf: no positive).
        unique, where = np.unique(pos_lists.indices, return_inverse=True)
        rows = candidates[unique] if unique.size else candidates[:0]
        pos = dask.delayed(_gathered_positive_scores, pure=True)(
            shipped_queries, rows, (pos_lists.indptr, where.astype(np.int64)), metric)
    else:
        # No margin to apply (the checks of positive_scores ran above).
        options.pop("absolute_margin")
        options.pop("relative_margin")

    task = dask.delayed(_chunk_top, pure=True)
    level = [task(block_data, shipped_queries, int(offsets[i]), excluded, pos, width, options)
             for i, block_data in enumerate(candidates.to_delayed()[:, 0])]
    merge = dask.delayed(_merge_tops, pure=True)
    while len(level) > 1:
        level = [merge(width, bool(largest), n_threads, *level[i : i + split_every])
                 if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), split_every)]
    return dask.delayed(_window, pure=True)(skip, k, level[0])

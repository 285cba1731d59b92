"""Reservoir samples and negatives on Dask collections (optional extra).

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

from typing import Any, Callable, List, Optional

import numpy as np

from negsamp._rng import RNGLike, spawn
from negsamp._validation import as_int, check_output_size, describe, numeric_array
from negsamp.reservoir import Reservoir, WeightedReservoir

__all__ = ["reservoir_sample", "sample_negatives"]

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


"""Hard-negative mining: exact top-k per query over a corpus, in bounded
memory, with per-query exclusions, score windows and temperature sampling.

How it works: the corpus is cut into tiles of ``block_size`` candidates.
For each tile, numpy's BLAS computes the (query block x tile) score product
into a preallocated buffer (``np.matmul(..., out=buf)``, GIL released), then
the C merge (csrc/ns_topk.c, GIL released) folds the whole tile into one
bounded heap per query.  The Python loop runs once per tile, never per item.

Threads: with ``n_threads > 1`` (the default: all cores) the tiles are
handed out one at a time to the calling thread and ``n_threads - 1`` helper
threads, each with its own heaps and its own score buffer, while BLAS is held
to one thread (threadpoolctl) for the duration of the call; the per-thread
top lists are then merged.  This is how faiss runs exact search on a CPU
(single-threaded BLAS per block, blocks in parallel): no core waits for
another between a product and its merge, and no BLAS worker busy-waits while
the merge runs.  Tiles are claimed dynamically, so on a machine whose cores
are busy with other work the calling thread takes the tiles of a helper that
is not being scheduled.  Each heap keeps the best entries by (score, lower
id) whatever order its tiles arrive in, so the merged result is exactly the
one-thread result.  When BLAS cannot be limited (threadpoolctl finds no BLAS
it knows), and for ``temperature`` (whose Gumbel variates follow each
query's candidates in order), the corpus is scanned in one pass with BLAS's
own threads, and heavy merges (``temperature``, or heaps of more than 256
entries) use negsamp's thread pool, whose idle threads sleep instead of
spinning into the next BLAS call.  Ctrl-C stops a call after the tiles in
flight (KeyboardInterrupt).

Memory: the B x N score matrix is never allocated.  Extra memory is one
score buffer per thread (``TILE_BYTES``, 8 MB by default, whatever N is),
one converted / normalised candidate tile per thread (also held to about
``TILE_BYTES`` by default), the queries' converted copy (B x d) and the
heaps (B x min(k + skip_top, N) x 24 bytes per thread, 8 for exact float32
selection).  So a float16 / bfloat16 corpus, or one in an ``np.memmap``
file, is read and converted tile by tile, never whole.
"""
from __future__ import annotations

import math
import numbers
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

from negsamp import _prefilter
from negsamp._embeddings import first_nonfinite, normalise_rows
from negsamp._exclusion import ExclusionLists, as_exclusion_lists, from_pairs
from negsamp._rng import RNGLike, draw_key
from negsamp._threads import resolve_n_threads
from negsamp._validation import (
    as_array, as_bool, as_int, as_keys, as_out, c_array, check_output_size, describe,
    element_count, numeric_array, require_kind,
)
from negsamp.topk import packable, topk

# topk() lives in negsamp/topk.py; negsamp.mining.topk is kept for
# compatibility.
__all__ = ["default_block_size", "hard_negatives", "positive_scores_of", "topk"]

#: Bytes of the score buffer of one tile when block_size is None.  Small
#: enough to stay in the last-level cache between the GEMM that writes it
#: and the scan that reads it.
TILE_BYTES = 8 << 20
#: Queries per GEMM call at most (bounds the buffer when B is huge).
QUERY_BLOCK = 2048

_METRICS = ("dot", "cosine")


#: Floating dtypes NumPy does not know, read by name so that ml_dtypes is
#: never imported here (it provides their casts to float32).
_EXTENSION_FLOATS = ("bfloat16",)


def _is_extension_float(dtype: np.dtype) -> bool:
    return dtype.kind == "V" and dtype.itemsize == 2 and dtype.name in _EXTENSION_FLOATS


def _embeddings(values: Any, name: str) -> np.ndarray:
    """A 2-D numeric array (not copied; integer, float16/32/64 or
    ml_dtypes.bfloat16), or TypeError/ValueError naming ``name``."""
    arr = as_array(values, name, "a 2-D array of numbers")
    if not _is_extension_float(arr.dtype):
        arr = numeric_array(arr, name, "a 2-D array of numbers")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows x dimensions), got shape {arr.shape}")
    return arr


def _real(value: Any, name: str, *, minimum: Optional[float] = None,
          positive: bool = False) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number or None, got {describe(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    return v


def _union(a: ExclusionLists, b: ExclusionLists, n_items: int, n_rows: int) -> ExclusionLists:
    rows = np.concatenate([np.repeat(np.arange(n_rows, dtype=np.int64), a.lengths()),
                           np.repeat(np.arange(n_rows, dtype=np.int64), b.lengths())])
    ids = np.concatenate([a.indices, b.indices])
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return as_exclusion_lists((indptr, ids[order]), n_items, name="exclude", n_rows=n_rows)


def _as_groups(groups: Any, n_items: int) -> np.ndarray:
    """``groups`` as int64 (n_items,): one integer group id per candidate."""
    arr = as_array(groups, "groups", "an integer array with one group id per candidate")
    require_kind(arr, "groups", integer=True)
    if arr.shape != (n_items,):
        raise ValueError(f"groups must have shape ({n_items},) (one id per candidate), "
                         f"got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError("groups holds ids above the int64 range")
    return c_array(arr, dtype=np.int64)


def _with_groups(excl: ExclusionLists, groups: np.ndarray, n_items: int,
                 n_rows: int) -> ExclusionLists:
    """``excl`` plus, for each query, every candidate whose group holds one
    of that query's excluded ids (its positives and ``exclude``): exact
    duplicates of a positive's text, the other chunks of its document.
    Vectorised: one sort of the groups, one of the (query, group) pairs,
    then the members of each pair's group gathered at once."""
    dense, gid = np.unique(groups, return_inverse=True)
    order = np.argsort(gid, kind="stable")  # candidates by group
    size = np.bincount(gid, minlength=dense.shape[0])
    start = np.zeros(dense.shape[0] + 1, dtype=np.int64)
    np.cumsum(size, out=start[1:])
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), excl.lengths())
    pairs = np.unique(rows * np.int64(dense.shape[0]) + gid[excl.indices])
    pair_row, pair_group = np.divmod(pairs, np.int64(dense.shape[0]))
    count = size[pair_group]
    total = int(count.sum())
    element_count((total,), "the candidates sharing a group with a positive")
    first = np.repeat(start[pair_group] - np.concatenate(([0], np.cumsum(count)[:-1])), count)
    members = order[first + np.arange(total, dtype=np.int64)]
    extra = from_pairs(np.repeat(pair_row, count), members, n_rows, n_items)
    return _union(excl, extra, n_items, n_rows)


def _compute_dtype(q: np.ndarray, c: np.ndarray) -> np.dtype:
    # By kind and size: a big-endian float64 array is float64 too.
    if all(a.dtype.kind == "f" and a.dtype.itemsize == 8 for a in (q, c)):
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def _progress_bar(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped, import-not-found, unused-ignore]  # optional
    except ImportError:
        return None
    return tqdm(total=total, unit="cand", desc="hard_negatives")


def hard_negatives(
    queries: Any,
    candidates: Any,
    k: int,
    *,
    exclude: Any = None,
    metric: str = "dot",
    largest: bool = True,
    positive_scores: Any = None,
    positives: Any = None,
    max_score: Optional[float] = None,
    min_score: Optional[float] = None,
    absolute_margin: Optional[float] = None,
    relative_margin: Optional[float] = None,
    skip_top: int = 0,
    temperature: Optional[float] = None,
    rng: RNGLike = None,
    n_threads: Optional[int] = None,
    block_size: Optional[int] = None,
    progress: bool = False,
    keys: Any = None,
    out: Any = None,
    precision: str = "auto",
    groups: Any = None,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]]]:
    """Hard negatives: the k best-scoring eligible candidates of every query.

    Parameters
    ----------
    queries : array (B, d)
        Query embeddings: float32 or float64, or float16 or
        ``ml_dtypes.bfloat16`` (read as float32; integer arrays too).
        Never modified.
    candidates : array (N, d)
        Corpus embeddings, same d, same dtypes as ``queries``; an
        ``np.memmap`` (or any array) is read in place.  Scores are computed
        in float64 when both arrays are float64, else in float32.  Never
        modified and never copied whole: each tile is converted to the
        compute dtype / normalised on its own, so a float16 or bfloat16
        corpus costs its own size plus a few tiles, not a float32 copy
        (``block_size`` candidates a tile, by default at most about
        ``TILE_BYTES`` of converted values).  float16 and bfloat16 values
        are exactly float32 values, so the result is exactly the one of
        the corpus converted to float32 up front.
    k : int
        Negatives per query, k >= 1.  Above what a query has eligible
        (including k > N, as sentence-transformers allows), its row is
        padded at the end with -1 ids and NaN scores.
    exclude : per-query id lists, optional
        Ids never returned for that query (its positives, near-duplicates):
        a scipy.sparse matrix, an (indptr, indices) tuple, a CSR-like object
        or a list of B integer arrays, as ``NegativeSampler`` accepts.
    metric : {"dot", "cosine"}
        Score = dot product, or cosine similarity (rows normalised to unit
        norm in the compute precision; all-zero rows score 0).
    largest : bool
        True: highest scores first (hard negatives).  False: lowest scores
        first (far negatives).  Windows are on the scores either way: with
        ``largest=False``, ``max_score`` and the margins remove the *most*
        similar candidates, which rarely matters, and ``min_score`` bounds how
        dissimilar a returned candidate may be.
    positive_scores : array (B,), optional
        The score of each query's positive, for the margins; ``inf`` for a
        query without a positive (no margin bound), as
        :func:`positive_scores_of` gives it.  NaN and ``-inf`` are refused.
    positives : per-query id lists, optional
        Each query's positive ids (same formats as ``exclude``).  They are
        excluded too, and, when a margin is given and ``positive_scores`` is
        not, the positive score of a query is the minimum score of its
        positives (only those dot products are computed, in the compute
        precision, by ``einsum``: they can differ from the tile products in
        the last bit).  A query without positives gets no margin bound.
    max_score, min_score : float, optional
        Keep only candidates with ``min_score <= s <= max_score``.
    absolute_margin : float >= 0, optional
        Keep only ``s <= pos - absolute_margin`` (false-negative guard).
    relative_margin : float >= 0, optional
        Keep only ``s <= pos - |pos| * relative_margin``, which is below the
        positive's score also when ``pos`` is negative.
        Window bounds are compared in float64 to the scores.
    skip_top : int >= 0
        Drop the first ``skip_top`` eligible candidates in rank order and
        return the next k (a rank window).  Not allowed with ``temperature``.
        Any size is accepted: heaps hold at most ``min(k + skip_top, N)``
        entries, and a window past the last candidate is all padding.
    temperature : float > 0, optional
        Instead of the top k, draw k distinct eligible candidates without
        replacement, successively, with probability proportional to
        ``exp(score / t)`` (``exp(-score / t)`` when ``largest=False``),
        by Gumbel top-k: the k largest keys ``score / t + G`` with G
        standard Gumbel, in the same pass.  Returned in key order (the first
        is a draw from the softmax); returned scores are the raw scores.
        The Gumbel variate of (query q, candidate j) is the j-th draw of a
        stream seeded from the call's key and q, so the result depends on
        ``rng`` only, never on ``n_threads`` or ``block_size``.  Cost: one
        random draw and one exp per score (the two logarithms of G only for
        the candidates that may enter the heap), several times the exact
        scan; the merge then uses ``n_threads`` threads.
    rng : None, int, SeedSequence or Generator
        Randomness for ``temperature`` (one key drawn per call, also when
        not sampling, so that a Generator always advances the same way).
    keys : array_like of int, 1-D, optional
        With ``temperature`` only (ValueError otherwise): one non-negative
        key per query, reproducible by row (see ``NegativeSampler.sample``).
        Query ``q``'s Gumbel variates then come from a stream seeded from
        the key taken from ``rng`` and ``keys[q]`` instead of its position,
        so its result depends on its own row (scores, exclusions, window)
        and key only, not on the other queries or their order.  Equal keys
        and rows give equal results.  Same law.
    n_threads : int, optional
        Threads (None = the default, see :func:`negsamp.set_num_threads`;
        -1 all cores, -2 all but one; capped at the cores).  Above 1, the
        calling thread and helper threads claim tiles of the corpus one at a
        time and scan them with single-threaded BLAS products (BLAS is held to one thread through
        threadpoolctl during the call, and restored after it; other Python
        threads calling BLAS meanwhile also get one thread).  With
        ``temperature``, or when BLAS cannot be limited, the corpus is
        scanned in one pass with BLAS's own threads and only heavy merges
        use ``n_threads``.  Right after a multi-threaded BLAS call elsewhere,
        OpenBLAS's idle workers busy-wait for a while and slow the first
        call.  The result does not depend on it.
    block_size : int, optional
        Candidates per tile.  Default: the score buffer of a tile is about
        8 MB (``TILE_BYTES``), and so is the tile's candidates in the
        compute dtype (at least 256 candidates); memory does not grow with
        N.  The tiling depends on B, d and the compute dtype only.
    progress : bool
        Show a tqdm progress bar over the corpus when tqdm is installed;
        silently nothing otherwise.
    out : (ids, scores), optional
        Buffers for the result, as NumPy's ``out=``: a C-contiguous,
        writeable int64 (B, k) array and one of the scores' dtype (see
        Returns), sharing no memory with each other or with the inputs.
        The heaps' sorted lists are written straight into them once the
        scan has succeeded (left untouched when it raises), and they are
        returned.
    groups : array (N,) of int, optional
        One group id per candidate (any integers): a candidate that shares
        a group with any of a query's ``positives`` or ``exclude`` ids is
        excluded for that query too (exact duplicates of the positive's
        text, the other chunks of the positive's document).  Applied before
        the scan, as more exclusions: every option keeps its meaning.
    precision : {"auto", "exact32", "int8"}
        How the scores are computed (negsamp/_prefilter.py).  "exact32":
        float32 BLAS tile products, as described above.  "int8": an int8
        prefilter (per-vector scales, int8 tile products with a proven
        error bound, AVX-512 VNNI / AVX2 / scalar kernels picked at run
        time) skips the pairs that cannot enter a top list and rescores the
        others in float64: the ids are the exact top k of the inner
        products of the float32 vectors (ties to the lower id) and the
        scores are those products rounded once to float32, so they can
        differ from "exact32"'s in the last bits (and the ids on near-ties).
        Supports every option except ``temperature``, and float32 compute
        only (ValueError otherwise).  Memory: about 1 MB of int8 codes per
        tile (plus, per thread, the int32 products of at most 64 queries
        with one tile), never the whole corpus.  Measured (2-core Xeon,
        AVX-512 VNNI and AMX, B = 1024, k = 32, N = 1e6, one quiet run of
        ``python -m negsamp.bench --full --only int8``): with the AMX tile
        kernel (Linux on Sapphire Rapids or later; "auto" picks it there)
        2.0x faster than "exact32" at d = 128 and 3.3x at d = 768, the VNNI
        kernel 1.05x and 1.40x slower than AMX; the AVX2 kernel (CPUs
        without VNNI) is slower than "exact32" there.
        "auto": "int8" when it supports the arguments and is expected to be
        faster (the AVX-512 VNNI or AMX kernel, at least 256 queries, 100000
        candidates and 128 dimensions), else "exact32".

    Returns
    -------
    ids : int64 array (B, k)
        Best first.  Ties (equal scores) rank the lower id first, so the
        result equals a stable argsort of the scores.  Rows with fewer than
        ``skip_top + k`` eligible candidates are padded at the end with -1.
    scores : array (B, k)
        The scores of ``ids`` in the compute dtype (float32 unless both
        inputs are float64); NaN where the id is -1.

    Complexity: O(B N d) for the products (BLAS), O(B N) comparisons for the
    scan, and O(log(k + skip_top)) heap work per candidate that enters a
    heap (O(k log(N)) expected per query on random order); exclusion lists
    and windows are checked only for those.  Memory: O(B (k + skip_top) +
    block_size (B' + d)) with B' = min(B, 2048), never B x N.

    Raises
    ------
    TypeError
        Non-numeric arrays, bad types of scalars, ``out`` buffers of the
        wrong type or dtype.
    ValueError
        Shapes (1-D, mismatched d), non-finite embeddings (naming the array,
        row and column), scores that overflow the compute dtype, k outside
        [1, N], bad metric, margins without a positive score, negative
        margins, bad ids in ``exclude``/``positives``, ``out`` buffers of
        the wrong shape, read-only or overlapping.  A non-finite candidate
        is found by the merge (its scores are not finite), so the error comes
        when its tile is reached.
    """
    q_arr, c_arr = _embedding_pair(queries, candidates)
    n_rows, dim = q_arr.shape
    n_items = c_arr.shape[0]
    k = as_int(k, "k", minimum=1)  # above the number of candidates: padding
    # ids and scores of the result, and a heap entry (24 bytes) per slot.
    check_output_size((n_rows, k), 40, f"k={k} (for {n_rows} queries)")
    if not isinstance(metric, str) or metric not in _METRICS:
        raise ValueError(f"metric must be 'dot' or 'cosine', got {describe(metric)}")
    largest = as_bool(largest, "largest")
    skip_top = as_int(skip_top, "skip_top", minimum=0)
    t = _real(temperature, "temperature", positive=True)
    if t is not None and skip_top:
        raise ValueError("skip_top cannot be combined with temperature (the rank "
                         "window of a random draw is not defined); use one of them")
    if t is not None and not math.isfinite(1.0 / t):
        raise ValueError(f"temperature is too small, got {t}")
    if keys is not None and t is None:
        raise ValueError("keys (one per query) need temperature: without it the "
                         "result is not random")
    query_keys = as_keys(keys, n_rows, "query")
    max_s = _real(max_score, "max_score")
    min_s = _real(min_score, "min_score")
    abs_m = _real(absolute_margin, "absolute_margin", minimum=0.0)
    rel_m = _real(relative_margin, "relative_margin", minimum=0.0)
    n_threads = resolve_n_threads(n_threads)
    if block_size is not None:
        block_size = as_int(block_size, "block_size", minimum=1)
    progress = as_bool(progress, "progress")
    if positive_scores is not None and positives is not None:
        raise ValueError("give positive_scores or positives, not both")
    margins = abs_m is not None or rel_m is not None
    if margins and positive_scores is None and positives is None:
        raise ValueError("absolute_margin and relative_margin need positive_scores "
                         "or positives")

    excl = None
    if exclude is not None:
        excl = as_exclusion_lists(exclude, n_items, name="exclude", n_rows=n_rows)
    pos_lists = None
    if positives is not None:
        pos_lists = as_exclusion_lists(positives, n_items, name="positives",
                                       n_rows=n_rows)
        excl = pos_lists if excl is None else _union(excl, pos_lists, n_items, n_rows)
    if groups is not None:
        group_ids = _as_groups(groups, n_items)
        if excl is not None:
            excl = _with_groups(excl, group_ids, n_items, n_rows)

    pos = None
    if positive_scores is not None:
        pos = numeric_array(positive_scores, "positive_scores")
        if pos.shape != (n_rows,):
            raise ValueError(f"positive_scores must have shape ({n_rows},), got {pos.shape}")
        pos = pos.astype(np.float64)
        if not (pos > -np.inf).all():  # NaN or -inf; inf: no positive
            i = int(np.flatnonzero(~(pos > -np.inf))[0])
            raise ValueError(f"positive_scores must be finite or inf (no positive), got "
                             f"{pos[i]} at index {i}")

    dtype = _compute_dtype(q_arr, c_arr)
    out_pair = _as_out_pair(out, (n_rows, k), dtype, q_arr, c_arr)
    q = _converted_queries(q_arr, dtype, metric)

    if margins and pos is None and pos_lists is not None:
        pos = _positive_scores(q, c_arr, pos_lists, dtype, metric)

    upper = None
    if max_s is not None or margins:
        upper = np.full(n_rows, np.inf if max_s is None else max_s, dtype=np.float64)
        if margins:
            assert pos is not None  # checked above: margins need a positive score
            has = np.isfinite(pos)
            p = np.where(has, pos, 0.0)
            if abs_m is not None:
                upper = np.where(has, np.minimum(upper, p - abs_m), upper)
            if rel_m is not None:
                upper = np.where(has, np.minimum(upper, p - np.abs(p) * rel_m), upper)
    lower = -np.inf if min_s is None else min_s

    # A heap never needs more entries than there are candidates: a rank
    # window beyond them only pads.  Python ints, so nothing wraps.
    capacity = min(k + skip_top, n_items)
    skip = min(skip_top, capacity)
    k0, k1 = draw_key(rng)
    precision = _prefilter.check_precision(precision)
    if n_rows > 0 and _prefilter.choose(precision, dtype, n_rows, n_items, dim, t):
        bar = _progress_bar(bool(progress), n_items)
        try:
            return _prefilter.search(
                q, c_arr, k, capacity, skip, largest=bool(largest), metric=metric,
                excl=excl, upper=upper, lower=lower, n_threads=n_threads,
                block_size=block_size, bar=bar, out=out_pair)
        finally:
            if bar is not None:
                bar.close()
    from negsamp._topk import TopkState, merge_lists

    def new_state() -> TopkState:
        return TopkState(
            n_rows, capacity, bool(largest),
            excl_indptr=None if excl is None else excl.indptr,
            excl_indices=None if excl is None else excl.indices,
            upper=upper, lower=lower, temperature=0.0 if t is None else t, k0=k0, k1=k1,
            keys=query_keys,
            # Queries are finite (checked), so a candidate with a NaN or an
            # infinity gives non-finite scores in every query's row: the
            # merge's scan catches it at no extra cost, instead of a pass over
            # the candidates before each tile product.
            finite_only=True,
            packed=packable(dtype, t, n_items),
        )

    if n_rows == 0:
        return new_state().finish(skip, k, dtype, n_threads, out=out_pair)

    q_block = min(n_rows, QUERY_BLOCK)
    if block_size is None:
        block_size = default_block_size(n_rows, dim, dtype)
    block_size = min(block_size, n_items)
    n_tiles = -(-n_items // block_size)
    bar = _progress_bar(bool(progress), n_items)
    scan = _Scan(q, c_arr, dtype, metric, q_block, block_size, bar)
    limiter = _blas_one_thread() if t is None and n_threads > 1 and n_tiles > 1 else None
    try:
        if limiter is not None:
            # Tiles are claimed one at a time by the calling thread and
            # n_threads - 1 helpers, each with single-threaded BLAS products
            # and its own heaps, so no core waits for another between a
            # product and its merge, and a helper the OS has not scheduled
            # (a busy machine) leaves its tiles to the others.  Each heap
            # keeps the best (score, lower id) entries whatever order its
            # tiles came in, so the merged lists are the one-thread result.
            n_parts = min(n_threads, n_tiles)
            queue = _TileQueue(n_tiles)
            states = [new_state() for _ in range(n_parts)]
            with limiter, ThreadPoolExecutor(max_workers=n_parts - 1) as helpers:
                futures = [helpers.submit(scan.run_queue, st, queue) for st in states[1:]]
                try:
                    scan.run_queue(states[0], queue)
                except BaseException:
                    # Ctrl-C (or any error) on the caller's thread: helpers
                    # stop after their current tile.
                    queue.stop()
                    raise
                for f in futures:
                    f.result()
            queue.raise_first_error()
            # Each heap's sorted list goes into one (parts, B, capacity)
            # buffer, merged in C into the caller's buffers (or new ones).
            part_ids = np.empty((n_parts, n_rows, capacity), dtype=np.int64)
            part_scores = np.empty((n_parts, n_rows, capacity), dtype=dtype)
            for i, st in enumerate(states):
                st.finish(0, capacity, dtype, 1, out=(part_ids[i], part_scores[i]))
            return merge_lists(part_ids, part_scores, skip, k, bool(largest), out=out_pair)
        state = new_state()
        # The exact scan costs ~0.1 ns per score, a fraction of the tile
        # product: handing it to other threads costs more than it saves.
        # Gumbel keys (a draw and an exp per score) and big heaps are worth
        # the pool's threads (which sleep while BLAS runs).
        heavy = t is not None or capacity > _HEAVY_CAPACITY
        merge_threads = n_threads if heavy else 1
        scan.run(state, 0, n_items,
                 lambda tile, r0, c0, _: state.merge(tile, r0, c0, merge_threads))
        # Sorting B heaps of k + skip_top entries is tiny: one thread.
        return state.finish(skip, k, dtype, 1, out=out_pair)
    finally:
        if bar is not None:
            bar.close()


def _embedding_pair(queries: Any, candidates: Any) -> Tuple[np.ndarray, np.ndarray]:
    """(queries, candidates) as 2-D numeric arrays (not copied) of the same
    dimension, with at least one candidate; else TypeError/ValueError."""
    q_arr = _embeddings(queries, "queries")
    c_arr = _embeddings(candidates, "candidates")
    if q_arr.shape[1] != c_arr.shape[1]:
        raise ValueError(
            f"queries and candidates must have the same dimension, got "
            f"queries.shape={q_arr.shape} and candidates.shape={c_arr.shape}"
        )
    if q_arr.shape[1] == 0:
        raise ValueError("queries and candidates must have at least one dimension")
    if c_arr.shape[0] == 0:
        raise ValueError("candidates is empty (shape (0, d)): there is nothing to rank")
    return q_arr, c_arr


def _converted_queries(q_arr: np.ndarray, dtype: np.dtype, metric: str) -> np.ndarray:
    """Queries are small (B x d): converted to the compute dtype and checked
    whole, on a copy; normalised for cosine."""
    q = np.array(q_arr, dtype=dtype, order="C", copy=True)
    first_nonfinite(q, "queries")
    return normalise_rows(q) if metric == "cosine" else q


def _as_out_pair(out: Any, shape: Tuple[int, int], dtype: np.dtype,
                 *inputs: Any) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The caller's (ids, scores) buffers, checked (as_out), or None."""
    if out is None:
        return None
    if not isinstance(out, (tuple, list)) or len(out) != 2 or any(o is None for o in out):
        raise TypeError("out must be a tuple (ids, scores) of two numpy arrays, got "
                        f"{describe(out)}")
    ids = as_out(out[0], shape, np.int64, *inputs, name="out[0] (ids)")
    scores = as_out(out[1], shape, dtype, *inputs, ids, name="out[1] (scores)")
    assert ids is not None and scores is not None  # neither is None (checked)
    return ids, scores


def default_block_size(n_queries: int, dim: int, dtype: Any = np.float32) -> int:
    """Candidates per tile of :func:`hard_negatives` when ``block_size`` is
    None, for ``n_queries`` queries of ``dim`` dimensions scored in
    ``dtype`` (float32, or float64 when both inputs are float64).

    About ``TILE_BYTES`` of scores a tile (for a block of at most
    ``QUERY_BLOCK`` queries), and at most ``TILE_BYTES`` of its candidates
    in the compute dtype: with few queries a tile would otherwise span
    millions of candidates, and a converted (float16, bfloat16...) or
    normalised tile is a copy.  At least 256.  It does not depend on the
    corpus dtype, so a float16 corpus is tiled, and its products rounded,
    exactly as its float32 conversion is.  (BLAS may round a dot product
    differently in products of other shapes: the tiling fixes the last bits
    of the scores.)
    """
    n_queries = as_int(n_queries, "n_queries", minimum=0)
    dim = as_int(dim, "dim", minimum=1)
    itemsize = int(np.dtype(dtype).itemsize)
    q_block = max(1, min(n_queries, QUERY_BLOCK))
    rows_bound = TILE_BYTES // (q_block * itemsize)
    return max(256, min(rows_bound, TILE_BYTES // (dim * itemsize)))


def positive_scores_of(queries: Any, candidates: Any, positives: Any, *,
                       metric: str = "dot") -> npt.NDArray[np.float64]:
    """The positive score of every query, as :func:`hard_negatives` computes
    it for its margins when given ``positives``.

    Parameters
    ----------
    queries, candidates, metric
        As in :func:`hard_negatives` (same dtypes and compute precision).
    positives : per-query id lists
        Same formats as ``exclude`` of :func:`hard_negatives`.

    Returns
    -------
    float64 array (B,)
        The minimum over the query's positives of their scores, computed in
        the compute precision by ``einsum`` (only those dot products, so it
        can differ from a tile product in the last bit); ``inf`` for a query
        without positives.  Passed as ``positive_scores=`` (with the
        positives in ``exclude=``), it gives the margins ``positives=``
        would give.
        Only the positives' rows of ``candidates`` are read.

    Complexity: O(P d) for P positives in all.
    """
    q_arr, c_arr = _embedding_pair(queries, candidates)
    if not isinstance(metric, str) or metric not in _METRICS:
        raise ValueError(f"metric must be 'dot' or 'cosine', got {describe(metric)}")
    pos_lists = as_exclusion_lists(positives, c_arr.shape[0], name="positives",
                                   n_rows=q_arr.shape[0])
    dtype = _compute_dtype(q_arr, c_arr)
    q = _converted_queries(q_arr, dtype, metric)
    return _positive_scores(q, c_arr, pos_lists, dtype, metric)


class _Scan:
    """Tile products and merges over a range of candidates (one thread)."""

    def __init__(self, q: np.ndarray, c_arr: np.ndarray, dtype: np.dtype, metric: str,
                 q_block: int, block_size: int, bar: Any) -> None:
        self.q, self.c_arr, self.dtype, self.metric = q, c_arr, dtype, metric
        self.q_block, self.block_size, self.bar = q_block, block_size, bar
        self.lock = threading.Lock()

    def run(self, state: Any, lo: int, hi: int, merge: Any) -> None:
        """Merges candidates lo..hi-1, tile by tile in increasing order, into
        ``state`` with ``merge(out, r0, c0, 1)``."""
        buf = self.buffer()
        for c0 in range(lo, hi, self.block_size):
            self.run_tile(state, c0, min(c0 + self.block_size, hi), merge, buf)

    def run_queue(self, state: Any, queue: "_TileQueue") -> None:
        """Merges the tiles claimed from ``queue`` into ``state`` until none
        is left (or the queue is stopped)."""
        buf = self.buffer()
        n_items = self.c_arr.shape[0]
        while True:
            tile = queue.claim()
            if tile is None:
                return
            c0 = tile * self.block_size
            try:
                self.run_tile(state, c0, min(c0 + self.block_size, n_items), state.merge, buf)
            except ValueError as exc:
                queue.fail(tile, exc)

    def buffer(self) -> np.ndarray:
        return np.empty(self.q_block * min(self.block_size, self.c_arr.shape[0]),
                        dtype=self.dtype)

    def run_tile(self, state: Any, c0: int, c1: int, merge: Any, buf: np.ndarray) -> None:
        """Products of every query block with candidates c0..c1-1, merged."""
        q, dtype, n_rows = self.q, self.dtype, self.q.shape[0]
        # Overflowing or non-finite products are reported by the merge as a
        # ValueError, not as numpy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            raw = np.asarray(self.c_arr[c0:c1], dtype=dtype)
            tile = normalise_rows(raw) if self.metric == "cosine" else raw
            width = tile.shape[0]
            for r0 in range(0, n_rows, self.q_block):
                qb = q[r0 : r0 + self.q_block]
                out = buf[: qb.shape[0] * width].reshape(qb.shape[0], width)
                np.matmul(qb, tile.T, out=out)  # BLAS, GIL released
                try:
                    merge(out, r0, c0, 1)
                except ValueError:  # the only one the merge raises: a score
                    # that is NaN or infinite.  Name the candidate if it is
                    # not finite itself; otherwise a product overflowed.
                    first_nonfinite(raw, "candidates", c0)
                    raise ValueError(
                        "scores contain NaN or infinity: the products of queries and "
                        f"candidates overflow the {dtype} range (candidates "
                        f"{c0}..{c0 + width - 1})"
                    ) from None
        if self.bar is not None:
            with self.lock:
                self.bar.update(width)


class _TileQueue:
    """Tile numbers handed out one at a time to the threads of one call.

    Tiles come from one increasing counter, so each thread merges its tiles
    in increasing candidate order, which the heaps rely on to rank the
    lower id first on equal scores (csrc/ns_topk.h).  A failing tile stops
    the hand-out of later tiles only, so the tiles before it all run and the
    error raised is always the one of the first bad tile, whatever the
    threads did."""

    def __init__(self, n_tiles: int) -> None:
        self.lock = threading.Lock()
        self.next = 0
        self.limit = n_tiles
        self.errors: Dict[int, BaseException] = {}

    def claim(self) -> Optional[int]:
        with self.lock:
            if self.next >= self.limit:
                return None
            self.next += 1
            return self.next - 1

    def fail(self, tile: int, exc: BaseException) -> None:
        with self.lock:
            self.errors[tile] = exc
            self.limit = min(self.limit, tile)

    def stop(self) -> None:
        with self.lock:
            self.limit = 0

    def raise_first_error(self) -> None:
        if self.errors:
            raise self.errors[min(self.errors)]


class _OneThreadBlas:
    """Context manager: BLAS single-threaded while any call is inside it.

    threadpoolctl saves and restores the thread count around one limit; two
    overlapping calls from different Python threads would restore in the
    wrong order and leave BLAS on one thread.  So the first call to enter
    sets the limit and the last to leave restores it."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller
        self.lock = threading.Lock()
        self.inside = 0
        self.limiter: Any = None

    def __enter__(self) -> None:
        with self.lock:
            if self.inside == 0:
                self.limiter = self.controller.limit(limits=1, user_api="blas")
            self.inside += 1

    def __exit__(self, *exc: Any) -> None:
        with self.lock:
            self.inside -= 1
            if self.inside == 0:
                self.limiter.restore_original_limits()
                self.limiter = None


_ONE_THREAD_BLAS: Any = None
_ONE_THREAD_BLAS_LOCK = threading.Lock()


def _blas_one_thread() -> Any:
    """The shared _OneThreadBlas, or None when threadpoolctl finds no BLAS
    it can control: then shards would oversubscribe the cores and the
    sequential path runs instead."""
    global _ONE_THREAD_BLAS
    with _ONE_THREAD_BLAS_LOCK:
        if _ONE_THREAD_BLAS is None:
            try:
                from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped, unused-ignore]
            except ImportError:  # pragma: no cover - a dependency
                _ONE_THREAD_BLAS = False
            else:
                blas = ThreadpoolController().select(user_api="blas")
                _ONE_THREAD_BLAS = _OneThreadBlas(blas) if blas.lib_controllers else False
        return _ONE_THREAD_BLAS or None


#: Heaps larger than this make the exact merge worth several threads.
_HEAVY_CAPACITY = 256


def _positive_scores(q: np.ndarray, c_arr: np.ndarray, pos_lists: ExclusionLists,
                     dtype: np.dtype, metric: str) -> np.ndarray:
    """Minimum score of each query's positives (float64 copy of the
    compute-precision scores); inf for queries without positives."""
    n_rows = q.shape[0]
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), pos_lists.lengths())
    cand = np.asarray(c_arr[pos_lists.indices], dtype=dtype)
    first_nonfinite(cand, "candidates (positives)")
    if metric == "cosine":
        cand = normalise_rows(cand)
    s = np.einsum("ij,ij->i", q[rows], cand).astype(np.float64)
    pos = np.full(n_rows, np.inf)
    np.minimum.at(pos, rows, s)
    return pos

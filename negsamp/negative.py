"""Negatives that exclude each row's positives: exactly k per row, from the
exact renormalised law.

Example
-------
>>> import numpy as np, negsamp
>>> sampler = negsamp.NegativeSampler(10, positives=[[0, 1, 2], [9]])
>>> neg = sampler.sample(np.array([0, 1, 0]), 4, rng=0)
>>> neg.shape
(3, 4)
>>> bool(np.isin(neg[[0, 2]], [0, 1, 2]).any() or (neg[1] == 9).any())
False
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from negsamp import _law
from negsamp._excluding import build_law, draw
from negsamp._exclusion import ExclusionLists, as_exclusion_lists
from negsamp._law import SamplingLaw
from negsamp._rng import RNGLike, as_generator, draw_key
from negsamp._threads import resolve_n_threads
from negsamp._validation import (
    c_array,
    as_array, as_bool, as_index_array, as_int, as_keys, as_out, as_power, as_weights,
    describe, element_count, state_field, uninitialised_repr,
)
from negsamp.alias import AliasTable

__all__ = ["NegativeSampler"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a




class NegativeSampler:
    """k negatives per row, never among the row's positives.

    Parameters
    ----------
    n_items : int, optional
        Number of items; the base law is uniform over ``range(n_items)``
        unless ``weights`` is given.
    weights : array_like, 1-D, optional
        Non-negative finite weights (counts, popularity): the base law is
        ``weights ** power`` normalised (as :meth:`AliasTable.from_counts`;
        items of weight 0 are never drawn, for every power).  When both
        ``n_items`` and ``weights`` are given they must agree.
    power : float, default 1.0
        Finite, >= 0; 0.75 gives word2vec's noise law.  Ignored for the
        uniform law.
    positives : optional
        Row r's exclusion list: a scipy.sparse matrix or any object with CSR
        ``indptr``/``indices``, an ``(indptr, indices)`` tuple, or a list of
        integer arrays.  Unsorted and duplicated ids are accepted (normalised
        once, here); ids outside ``[0, n_items)`` raise ValueError naming the
        row.  None: no exclusion; :meth:`sample` then accepts any
        non-negative row ids (they only set the number of output rows).

    Notes
    -----
    The law of ``sample(rows, k)[r, j]`` is the base law restricted to the
    items not in ``positives[rows[r]]`` and renormalised:
    ``q(i | row) = p(i) / (1 - P_row)`` with ``p`` the base law (for weights,
    the exact law of the alias table, :attr:`AliasTable.probabilities`) and
    ``P_row`` the base mass of the row's positives.  Methods, all exact (see
    csrc/ns_negative.h), chosen per row:

    * rows excluding at least half the items, and weighted rows whose
      positives hold >= 60% of the mass (while their complements total at
      most ``n_items`` ids), get a complement table at construction: the
      eligible ids (and an alias table of their masses): O(1) per draw, so a
      row whose positives hold 99.9% of the items or of the mass costs no
      more than a sparse row;
    * short rows (<= 128 positives) get a 64-byte Bloom filter when the
      filters take no more memory than the positives: rejection then costs
      about one random number per draw;
    * uniform base otherwise: inversion over the complement, one binary
      search over the row's positives per draw;
    * weighted base otherwise: rejection against the sorted positives,
      O(log m / (1 - P_row)) expected per draw.

    ``replace=False`` draws successively, each draw from the law restricted
    to the positives and the items already chosen (rejection while that
    keeps most of the mass, then inversion skipping the chosen items):
    O(k) extra per draw.

    Precision: uniform draws are exact integers.  Weighted draws follow the
    table's law exactly by rejection and complement tables; the inversion
    fallback resolves masses to ~1e-16 of the total (as ``numpy``'s
    ``choice(p=)``) and switches to an exact O(n) scan when the mass left is
    below 2**-24 of the total.

    Construction: O(n) for the alias table and cumulative law, O(nnz log nnz)
    to normalise the positives, O(n - m) per complement table.  Memory: 32
    bytes per item (weighted: alias table, law, cumulative law), 16 bytes per
    positive, 64 bytes per short
    row, 8-24 bytes per complement id.  A sampler is immutable: share it
    between threads, pickle it (the alias table and CSR arrays are stored;
    the rest is rebuilt on load).
    """

    __slots__ = ("_law", "_table", "_power", "_exclusions", "__weakref__")

    def __init__(
        self,
        n_items: Optional[int] = None,
        *,
        weights: Any = None,
        power: float = 1.0,
        positives: Any = None,
    ) -> None:
        power = as_power(power)
        if n_items is not None:
            n_items = as_int(n_items, "n_items", minimum=1)
        table: Optional[AliasTable] = None
        if weights is not None:
            w = as_weights(weights, "weights")
            if n_items is not None and n_items != w.shape[0]:
                raise ValueError(
                    f"n_items={n_items} does not match len(weights)={w.shape[0]}")
            n_items = int(w.shape[0])
            table = AliasTable.from_counts(w, power)
        elif n_items is None:
            raise TypeError("NegativeSampler needs n_items or weights, got neither")
        exclusions = None
        if positives is not None:
            exclusions = as_exclusion_lists(positives, n_items, name="positives")
        self._setup(n_items, table, power, exclusions)

    def _setup(self, n_items: int, table: Optional[AliasTable], power: float,
               exclusions: Optional[ExclusionLists]) -> None:
        if exclusions is None:
            exclusions = ExclusionLists(np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64))
            self._exclusions: Optional[ExclusionLists] = None
            csr = exclusions
        else:
            csr = ExclusionLists(_readonly(c_array(exclusions.indptr)),
                                 _readonly(c_array(exclusions.indices)))
            self._exclusions = csr
        self._table = table
        self._power = power
        # Built once (complement tables and Bloom filters included) and
        # never changed: threads share it, draws only read it.
        self._law = build_law(table if table is not None else n_items, csr,
                              n_threads=resolve_n_threads(None), row_tables=True)

    # -- properties -------------------------------------------------------
    @property
    def n_items(self) -> int:
        """Number of items (ids are ``0 .. n_items - 1``)."""
        return self._law.n_items

    @property
    def n_rows(self) -> Optional[int]:
        """Number of positive lists, or None when built without positives."""
        return None if self._exclusions is None else self._exclusions.n_rows

    @property
    def table(self) -> Optional[AliasTable]:
        """The alias table of the base law, or None for the uniform law."""
        return self._table

    @property
    def positives(self) -> Optional[ExclusionLists]:
        """The normalised positives (sorted unique CSR, read-only), or None."""
        return self._exclusions

    def row_probabilities(self, row: int = 0) -> np.ndarray:
        """The exact law ``q(. | row)`` that :meth:`sample` draws from for
        ``row`` (float64, n_items, zero on the positives)."""
        row = as_int(row, "row", minimum=0)
        if self._exclusions is None:
            ids = np.zeros(0, dtype=np.int64)
        else:
            if row >= self._exclusions.n_rows:
                raise ValueError(f"row must be in [0, {self._exclusions.n_rows}), got {row}")
            ids = self._exclusions.row(row)
        if self._table is None:
            p = np.full(self.n_items, 1.0 / self.n_items)
        else:
            p = self._table.probabilities.copy()
        p[ids] = 0.0
        total = p.sum()
        if not total > 0:
            raise ValueError(f"row {row} has no eligible item")
        out: np.ndarray = p / total
        return out

    # -- sampling ---------------------------------------------------------
    def sample(
        self,
        rows: Any,
        k: int,
        rng: RNGLike = None,
        *,
        replace: bool = True,
        n_threads: Optional[int] = None,
        return_log_q: bool = False,
        keys: Any = None,
        out: Any = None,
    ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
        """Exactly ``k`` negatives for each row of ``rows``.

        Parameters
        ----------
        rows : array_like of int, 1-D
            Row ids into ``positives`` (repeats allowed), in ``[0, n_rows)``.
            Without positives, any non-negative ints (only their count
            matters).
        k : int
            Negatives per row (>= 0).
        rng : None, int, SeedSequence or Generator
            One 128-bit key is taken per call (SPEC 7): the same state gives
            the same output for every ``n_threads``.
        replace : bool, default True
            False: ``k`` distinct negatives per row, with the law of
            successive draws without replacement from the row's law (that of
            ``rng.choice(items, k, replace=False, p=q)``), in draw order.
        n_threads : int, optional
            None: the default (:func:`negsamp.set_num_threads`, NEGSAMP_NUM_THREADS, all cores); -1 all cores; capped at the cores.
        return_log_q : bool, default False
            Also return ``log q(item | row)``, the log-probability of each
            negative under its row's renormalised single-draw law (the same
            value with ``replace=False``: the law of the first draw).  The
            row's eligible mass is computed in float64: when the positives
            hold nearly all of the mass and the row has no complement table,
            the absolute error of log q is about 1e-16 divided by the
            eligible share of the mass (e.g. 1e-10 for a share of 1e-6).
        keys : array_like of int, 1-D, optional
            One non-negative key (int64-representable) per row of ``rows``:
            reproducible by row.  Output row ``i`` is then drawn from its
            own stream, seeded from the key taken from ``rng`` and
            ``keys[i]``, so it depends only on those, ``rows[i]``, ``k`` and
            ``replace``: not on the other rows, their order, the number of
            rows, ``n_threads`` or how the rows are split into calls.  Equal
            keys in one call (with the same row id) give equal rows.  Same
            law as without keys.  None (default): the row-block streams.
        out : ndarray, or tuple of ndarray or None, optional
            Where to write the result (NumPy's ``out=`` convention): an
            int64 array of shape ``(len(rows), k)``, C-contiguous, aligned
            and writeable, sharing no memory with the inputs (or a 1-tuple
            of one); with ``return_log_q`` a pair ``(negatives, log_q)``,
            the second float64, either of them None to allocate it.  The
            kernel writes the draws in place (the same values as without
            ``out``) and the buffers are returned.  A buffer is left
            untouched when the call raises before drawing (every error of
            the arguments).

        Returns
        -------
        negatives : int64 array of shape (len(rows), k)
        log_q : float64 array of shape (len(rows), k), if ``return_log_q``

        Raises
        ------
        ValueError
            Rows with no eligible item (fewer than ``k`` when
            ``replace=False``) are named; bad ``rows``/``k``/``keys``; an
            ``out`` buffer of the wrong shape, not C-contiguous, read-only
            or overlapping an input.
        TypeError
            ``keys`` of a non-integer dtype (bool, float); ``out`` that is
            not an array (or not a pair with ``return_log_q``) or has the
            wrong dtype.

        Notes
        -----
        Output rows are cut into blocks of a fixed number of rows, each with
        its own random stream (with ``keys``, each row its own keyed
        stream); threads run blocks with the GIL released.
        Cost per draw: see the class notes; ``replace=False`` adds O(k) per
        draw for the chosen list.
        """
        replace = as_bool(replace, "replace")
        return_log_q = as_bool(return_log_q, "return_log_q")
        k = as_int(k, "k", minimum=0)
        if self._exclusions is None:
            ids = _as_row_ids(rows, None)
            ids = np.zeros(ids.shape[0], dtype=np.int64)
        else:
            ids = _as_row_ids(rows, self._exclusions.n_rows)
        row_keys = as_keys(keys, ids.shape[0], "row")
        ids_out = log_q_out = None
        if out is not None:
            inputs = (rows, ids, keys, row_keys) + self._own_arrays()
            ids_out, log_q_out = _out_buffers(out, (ids.shape[0], k), return_log_q, inputs)
        return draw(self._law, ids, k, rng, replace=replace, n_threads=n_threads,
                    return_log_q=return_log_q, row_label="rows", keys=row_keys,
                    out=ids_out, log_q_out=log_q_out)

    def sample_scored(
        self,
        rows: Any,
        k: int,
        *,
        pool: int,
        query_vectors: Any,
        item_vectors: Any,
        select: str = "top",
        temperature: float = 1.0,
        replace: bool = True,
        rng: RNGLike = None,
        n_threads: Optional[int] = None,
        return_log_q: bool = False,
    ) -> Union[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``k`` hard negatives per row, chosen by score from a pool of
        ``pool`` candidates drawn from the row's law (dynamic negative
        sampling: Zhang et al. 2013, "Optimizing top-n collaborative
        filtering via dynamically sampling").

        For output row ``i`` (row ``rows[i]``): ``pool`` candidates are drawn
        exactly as ``sample(rows, pool, replace=replace)`` draws them (the
        same law, and the same ids for the same ``rng`` state); each
        distinct candidate ``c`` is scored by ``query_vectors[i] .
        item_vectors[c]``; then ``k`` of them are kept:

        * ``select="top"``: the ``k`` highest scores, best first, equal
          scores to the lower id;
        * ``select="softmax"``: ``k`` drawn without replacement, each with
          probability proportional to ``exp(score / temperature)`` among
          the candidates not yet drawn (Plackett-Luce; Gumbel top-k: the
          ``k`` largest ``score / temperature + G``, ``G`` standard Gumbel
          variates), in draw order.

        Parameters
        ----------
        rows : array_like of int, 1-D
            Row ids into ``positives`` (as :meth:`sample`).
        k : int
            Negatives kept per row, ``0 <= k <= pool``.
        pool : int
            Candidates drawn per row (>= 1 and >= ``k``).
        query_vectors : array_like, (len(rows), d), float32 or float64
            One query vector per requested row (the user, the anchor...).
            Converted to ``item_vectors``' dtype if it differs.
        item_vectors : array_like, (n_items, d), float32 or float64
            One vector per item; not copied when its rows are contiguous
            (a C-contiguous array or a column slice of one).  Only the
            vectors of the drawn candidates are read.
        select : {"top", "softmax"}, default "top"
        temperature : float, default 1.0
            Finite, > 0: the temperature of ``select="softmax"`` (checked,
            and unused, with ``"top"``).
        replace : bool, default True
            How the pool is drawn: with replacement (as ``sample``), or
            ``pool`` distinct candidates (``replace=False``: each row needs
            ``pool`` eligible items).
        rng : None, int, SeedSequence or Generator
            The pool takes one 128-bit key (the one ``sample`` would take);
            ``select="softmax"`` takes a second one for the noise, from the
            same generator.  Same state and arguments: the same output for
            every ``n_threads``.
        n_threads : int, optional
            As :meth:`sample`.
        return_log_q : bool, default False
            Also return ``log q(id | row)`` for each returned id: the log
            probability of one draw of the proposal, the row's law that the
            pool is drawn from (the values ``sample`` returns; not the
            probability of being selected).

        Returns
        -------
        ids : int64 array (len(rows), k)
        scores : array (len(rows), k) of ``item_vectors``' dtype
            The dot products of the ids returned.
        log_q : float64 array (len(rows), k), if ``return_log_q``

        Notes
        -----
        Duplicates: a pool drawn with replacement may hold an id several
        times; it is one candidate (scored once, with one weight
        ``exp(score / temperature)``), never returned twice.  A row whose
        pool holds ``d < k`` distinct ids returns those ``d`` in order in
        its first ``d`` slots and repeats them (slot ``j`` holds slot
        ``j mod d``): every id returned is a drawn, eligible candidate, and
        an output row has a repeated id only in that case (only possible
        with ``replace=True``: a row with one eligible item returns it
        ``k`` times).

        Scores: dot products accumulated in float64 (for float32 vectors
        too, whose products are exact in float64), rounded to the vectors'
        dtype; the rounded score is compared and returned.  A candidate
        whose vector is not finite raises ValueError naming its row of
        ``item_vectors`` (only the drawn candidates are checked: the table
        is never scanned whole).

        The noise of ``"softmax"`` is a function of the noise key, the
        output row's position and the candidate's id (not of ``k``): with
        the same rng state, the first ``j`` ids returned for ``k`` are those
        returned for ``j <= k``, in both modes.

        Cost: the pool draw of :meth:`sample`, then per candidate one
        gathered vector (prefetched ahead) and a dot product of length d
        (AVX-512 or AVX2 + FMA when the CPU has them: the same bits as
        without), and O(k) (k <= 16: a sorted array) or O(log k) (a heap)
        for the few that enter a row's k best.  Memory
        beyond the inputs and outputs: the (len(rows), pool) candidate ids
        (and their log q), O(k + d) per thread.  No (rows, pool, d) array.

        Raises
        ------
        TypeError
            Vectors not of a float dtype (float32/float64); non-int ``k`` or
            ``pool``; a ``temperature`` that is not a real number.
        ValueError
            Shapes (``query_vectors`` not (len(rows), d), ``item_vectors``
            not (n_items, d)); non-finite vectors (naming the argument, row
            and column); ``pool < 1``, ``pool < k``; ``select`` not "top"
            or "softmax"; ``temperature`` not finite and > 0; rows without
            eligible items (fewer than ``pool`` when ``replace=False``).
        """
        replace = as_bool(replace, "replace")
        return_log_q = as_bool(return_log_q, "return_log_q")
        k = as_int(k, "k", minimum=0)
        pool = as_int(pool, "pool", minimum=1)
        if pool < k:
            raise ValueError(f"pool must be >= k={k}, got pool={pool}")
        if not isinstance(select, str) or select not in ("top", "softmax"):
            raise ValueError(f"select must be 'top' or 'softmax', got {describe(select)}")
        temperature = _as_temperature(temperature)
        threads = resolve_n_threads(n_threads)
        if self._exclusions is None:
            ids = _as_row_ids(rows, None)
            ids = np.zeros(ids.shape[0], dtype=np.int64)
        else:
            ids = _as_row_ids(rows, self._exclusions.n_rows)
        items = _vectors(item_vectors, "item_vectors")
        if items.shape[0] != self.n_items:
            raise ValueError(f"item_vectors must have one row per item: expected "
                             f"{self.n_items} rows, got shape {items.shape}")
        if items.shape[1] < 1:
            raise ValueError(f"item_vectors must have at least one column, got shape "
                             f"{items.shape}")
        queries = _vectors(query_vectors, "query_vectors")
        if queries.shape != (ids.shape[0], items.shape[1]):
            raise ValueError(f"query_vectors must have shape (len(rows), d) = "
                             f"({ids.shape[0]}, {items.shape[1]}), got {queries.shape}")
        _check_finite(queries, "query_vectors")
        queries = _rows_contiguous(queries, items.dtype)
        items = _rows_contiguous(items, items.dtype)
        element_count((ids.shape[0], pool),
                      f"pool={pool} candidates for each of {ids.shape[0]} rows",
                      16 if return_log_q else 8)
        if not replace and k > 0:
            _check_distinct_pool(self._law, ids, pool)
        if k == 0 or ids.shape[0] == 0:
            empty = (np.empty((ids.shape[0], k), dtype=np.int64),
                     np.empty((ids.shape[0], k), dtype=items.dtype))
            if return_log_q:
                return empty + (np.empty((ids.shape[0], k), dtype=np.float64),)
            return empty
        gen = as_generator(rng)
        drawn = draw(self._law, ids, pool, gen, replace=replace, n_threads=threads,
                     return_log_q=return_log_q, row_label="rows")
        candidates: np.ndarray
        pool_log_q: Optional[np.ndarray] = None
        if isinstance(drawn, tuple):
            candidates, pool_log_q = drawn
        else:
            candidates = drawn
        k0, k1 = draw_key(gen) if select == "softmax" else (0, 0)
        inv_temperature = 1.0 / temperature if select == "softmax" else 0.0
        try:
            out_ids, scores, log_q = _law.scored_select(
                candidates, pool_log_q, queries, items, k, inv_temperature, not replace,
                k0, k1, threads)
        except ValueError:  # the kernel's only one: a score NaN or infinite
            raise _nonfinite_error(candidates, items) from None
        if return_log_q:
            assert log_q is not None
            return out_ids, scores, log_q
        return out_ids, scores

    def _own_arrays(self) -> Tuple[np.ndarray, ...]:
        """The arrays the kernels read (an ``out=`` must not overlap them)."""
        if self._exclusions is None:
            return ()
        return (self._exclusions.indptr, self._exclusions.indices)

    # -- protocol ---------------------------------------------------------
    def __repr__(self) -> str:
        blank = uninitialised_repr(self, "_law")
        if blank:
            return str(blank)
        law = "uniform" if self._table is None else f"weights**{self._power:g}"
        if self._exclusions is None:
            pos = "positives=None"
        else:
            pos = f"n_rows={self._exclusions.n_rows}, positives={self._exclusions.indices.shape[0]}"
        return f"NegativeSampler(n_items={self.n_items}, law={law}, {pos})"

    def __getstate__(self) -> Dict[str, Any]:
        state: Dict[str, Any] = {"version": 1, "n_items": self.n_items, "power": self._power,
                       "table": None if self._table is None else self._table.__getstate__()}
        if self._exclusions is not None:
            state["indptr"] = self._exclusions.indptr
            state["indices"] = self._exclusions.indices
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        what = "NegativeSampler state"
        state_field(state, "version", int, 1, 1, what=what)
        n_items = state_field(state, "n_items", int, 1, what=what)
        power = as_power(state_field(state, "power", object, what=what))
        table = None
        table_state = state_field(state, "table", object, what=what)
        if table_state is not None:
            table = AliasTable.__new__(AliasTable)
            table.__setstate__(table_state)
            if len(table) != n_items:
                raise ValueError(f"{what} 'table' has {len(table)} items but 'n_items' is "
                                 f"{n_items}")
        exclusions = None
        if "indptr" in state or "indices" in state:
            # Re-validated (and re-sorted) so that corrupted state cannot
            # make the kernel read out of range.
            exclusions = as_exclusion_lists(
                (state_field(state, "indptr", object, what=what),
                 state_field(state, "indices", object, what=what)),
                n_items, name="positives")
        self._setup(n_items, table, power, exclusions)


def _as_row_ids(rows: Any, n_rows: Optional[int]) -> np.ndarray:
    if isinstance(rows, (bool, np.bool_)):
        raise TypeError(f"rows must be a 1-D array of integer ids, got {describe(rows)}")
    if isinstance(rows, numbers.Integral) and not isinstance(rows, np.ndarray):
        raise TypeError(
            f"rows must be a 1-D array of integer row ids, got the int {describe(rows)} "
            "(use [row] for one row)")
    if n_rows is None:
        arr = as_index_array(rows, np.iinfo(np.int64).max, "rows")
    else:
        arr = as_index_array(rows, n_rows, "rows")
    if arr.ndim != 1:
        raise ValueError(f"rows must be 1-D, got shape {arr.shape}")
    return c_array(arr, dtype=np.int64)


def _out_buffers(out: Any, shape: Tuple[int, int], return_log_q: bool,
                 inputs: Tuple[Any, ...]) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """The ``out=`` of :meth:`NegativeSampler.sample` as (negatives buffer,
    log q buffer), each None to allocate; NumPy's convention: one array, or
    a tuple with one entry per output (None entries allocate)."""
    if isinstance(out, tuple):
        want = 2 if return_log_q else 1
        if len(out) != want:
            what = "(negatives, log_q)" if return_log_q else "(negatives,)"
            raise ValueError(f"out must be a tuple of {want} (an entry per output: {what}) "
                             f"with return_log_q={return_log_q}, got {len(out)} entries")
        ids_out = as_out(out[0], shape, np.int64, *inputs, name="out[0]")
        if not return_log_q:
            return ids_out, None
        log_q_out = as_out(out[1], shape, np.float64, *inputs, ids_out, name="out[1]")
        return ids_out, log_q_out
    if return_log_q:
        raise TypeError("out must be a tuple (negatives, log_q) with return_log_q=True, "
                        f"got {type(out).__name__}")
    return as_out(out, shape, np.int64, *inputs, name="out"), None


def _as_temperature(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"temperature must be a real number, got {describe(value)}")
    t = float(value)
    if not (math.isfinite(t) and t > 0 and math.isfinite(1.0 / t)):
        raise ValueError(f"temperature must be finite and > 0, got {describe(value)}")
    return t


def _vectors(values: Any, name: str) -> np.ndarray:
    """A 2-D float32 or float64 array (not copied unless its byte order is
    not native; float16 is read as float32), else TypeError or ValueError
    naming ``name``."""
    arr = as_array(values, name, "a 2-D array of float32 or float64")
    if arr.dtype.kind == "f" and arr.dtype.itemsize == 2:
        arr = arr.astype(np.float32)
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise TypeError(f"{name} must have dtype float32 or float64, got dtype {arr.dtype}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows x dimensions), got shape {arr.shape}")
    return arr


def _check_finite(arr: np.ndarray, name: str, rows: Optional[np.ndarray] = None) -> None:
    """ValueError naming ``name``, the row and the column of the first value
    of ``arr`` that is not finite (``rows``: the row ids of arr's rows)."""
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        row = int(r) if rows is None else int(rows[r])
        raise ValueError(f"{name} must be finite, got {arr[r, c]} at row {row}, "
                         f"column {int(c)}")


def _rows_contiguous(arr: np.ndarray, dtype: Any) -> np.ndarray:
    """``arr`` in ``dtype`` with contiguous, aligned rows at a non-negative
    stride (what the kernel gathers from): not copied when it already is
    (a C-contiguous array, or a slice of its columns)."""
    arr = arr.astype(dtype, copy=False)
    size = arr.itemsize
    if (arr.flags.aligned and (arr.shape[1] <= 1 or arr.strides[1] == size)
            and arr.strides[0] >= 0 and arr.strides[0] % size == 0):
        return arr
    return c_array(arr)


def _check_distinct_pool(law: SamplingLaw, ids: np.ndarray, pool: int) -> None:
    """ValueError naming the rows with fewer than ``pool`` eligible items
    (a pool drawn without replacement needs that many)."""
    eligible = law.eligible(ids)
    short = eligible < pool
    if short.any():
        bad = np.unique(ids[short])
        shown = ", ".join(str(int(r)) for r in bad[:10])
        more = f" and {bad.size - 10} more" if bad.size > 10 else ""
        counts = ", ".join(str(int(c)) for c in np.unique(eligible[short])[:10])
        label, verb = ("rows", "have") if bad.size > 1 else ("row", "has")
        raise ValueError(f"{label} {shown}{more} {verb} fewer than pool={pool} eligible items, "
                         f"as replace=False needs (eligible counts: {counts})")


def _nonfinite_error(candidates: np.ndarray, items: np.ndarray) -> ValueError:
    """The error of a score that is NaN or infinite (found by the kernel):
    naming the drawn candidate of lowest id whose vector is not finite, else
    saying that a product overflowed."""
    drawn = np.unique(candidates)
    try:
        _check_finite(items[drawn], "item_vectors", rows=drawn)
    except ValueError as exc:
        return exc
    return ValueError(
        "scores contain NaN or infinity: the dot products of query_vectors and "
        f"item_vectors overflow the {items.dtype} range")

# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of negative sampling: the exclusion-aware law as one object,
SamplingLaw, which owns every array the kernels of csrc/ns_negative.c read
and the ns_negative_law struct pointing into them.  Its draws release the
GIL and call the kernels; scored_select scores drawn candidate pools
(csrc/ns_scored.h).  Users call negsamp.NegativeSampler (or
corrupt_triples, negative_edges) instead."""
import math

import numpy as np

cimport cython
from libc.stdint cimport int64_t, uint64_t
from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from negsamp._c_alias cimport ns_alias_entry
from negsamp._c_negative cimport (
    ns_negative_law, ns_negative_row_stats, ns_negative_sample,
    ns_negative_sample_tuples,
    ns_negative_complement_build, ns_negative_cumulative,
    ns_negative_bloom_build, NS_NEGATIVE_BLOOM_WORDS,
    ns_scored_args, ns_scored_select_f32, ns_scored_select_f64, NS_SCORED_BLOCK_ROWS,
    ns_scored_kernel_available, ns_scored_best_kernel, NS_SCORED_KERNEL_AUTO,
)
from negsamp._common import raise_for_status
from negsamp._alias import TABLE_DTYPE

#: Weighted rows whose positives hold at least this share of the mass get a
#: complement table while the complements total at most n_items ids.
DENSE_MASS = 0.6

cdef double _EMPTY_D[1]
cdef int64_t _EMPTY_I[1]


cdef object _readonly(object a):
    a.flags.writeable = False
    return a


cdef int _check_csr(const int64_t[::1] indptr, const int64_t[::1] indices) except -1:
    if indptr.shape[0] < 1:
        raise ValueError("indptr must have at least one entry")
    if indptr[0] != 0 or indptr[indptr.shape[0] - 1] != indices.shape[0]:
        raise ValueError("indptr must start at 0 and end at len(indices)")
    return 0


cdef int _check_table(object table, int64_t n, str name) except -1:
    if not isinstance(table, np.ndarray) or table.dtype != TABLE_DTYPE \
            or table.ndim != 1 or not table.flags.c_contiguous \
            or table.shape[0] != n:
        raise TypeError(f"{name} must be a C-contiguous TABLE_DTYPE array of {n} entries")
    return 0


cdef object _buffer(object given, int64_t m, int64_t k, object dtype, str name):
    """`given` when it is an (m, k) C-contiguous writeable array of `dtype`
    (already checked by as_out; checked again here, since the kernel writes
    through it), else a new array when None."""
    if given is None:
        return np.empty((m, k), dtype=dtype)
    if not isinstance(given, np.ndarray) or given.dtype != dtype \
            or given.shape != (m, k) or not given.flags.c_contiguous \
            or not given.flags.aligned or not given.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous {np.dtype(dtype)} "
                         f"array of shape {(m, k)}")
    return given


cdef const ns_alias_entry *_entries(object table):
    cdef const unsigned char[::1] raw = table.view(np.uint8)
    return <const ns_alias_entry *> &raw[0]


@cython.auto_pickle(False)
cdef class SamplingLaw:
    """The law of k negatives per exclusion row: a base law over n_items
    (uniform, or the alias table `table` with its exact law `prob`) restricted
    to the items not in the row's list and renormalised (see ns_negative.h).

    SamplingLaw(n_items, indptr, indices, table=None, prob=None, *,
    n_threads=1, complements=False, filters=False)

    `indptr`/`indices`: sorted unique CSR exclusion lists (int64,
    C-contiguous, ids in [0, n_items), already validated); `table` a
    TABLE_DTYPE array of n_items entries and `prob` its exact law (float64,
    AliasTable.probabilities), or both None for the uniform law.  Built
    once: the cumulative law and the per-row statistics of a weighted law,
    then with `complements` the complement tables of the rows a search would
    make slow, with `filters` the per-row Bloom filters when they are cheap.
    The arrays given are kept (not copied) and must not change while the
    law lives.  Immutable afterwards: threads may share one law."""
    cdef ns_negative_law law
    cdef object _indptr, _indices, _table, _prob, _cum
    cdef object _row_mass, _row_nonzero, _prefix, _row_eligible
    cdef object _comp_ptr, _comp_ids, _comp_table, _bloom
    cdef readonly int64_t n_items, n_rows
    #: Items of positive probability (n_items for the uniform law).
    cdef readonly int64_t n_nonzero
    #: Sum of the base law, correctly rounded (1.0 for the uniform law).
    cdef readonly double total

    def __cinit__(self, int64_t n_items, object indptr, object indices,
                  object table=None, object prob=None, *, int n_threads=1,
                  bint complements=False, bint filters=False):
        cdef const int64_t[::1] indptr_v = indptr
        cdef const int64_t[::1] indices_v = indices
        if n_items <= 0:
            raise ValueError(f"n_items must be >= 1, got {n_items}")
        _check_csr(indptr_v, indices_v)
        self.n_items = n_items
        self.n_rows = indptr_v.shape[0] - 1
        self._indptr = indptr
        self._indices = indices
        self.n_nonzero = n_items
        self.total = 1.0
        if (table is None) != (prob is None):
            raise ValueError("table and prob must be given together")
        if table is not None:
            _check_table(table, n_items, "table")
            self._set_weighted(table, prob, n_threads)
        if complements:
            self._build_complements(n_threads)
        if filters:
            self._build_filters(n_threads)
        self._point()

    # -- construction -----------------------------------------------------
    cdef _set_weighted(self, object table, object prob, int n_threads):
        """The base law's cumulative sums, and the row statistics."""
        cdef const double[::1] prob_v = prob
        cdef ns_par par
        cdef int status
        if prob_v.shape[0] != self.n_items:
            raise ValueError("prob must have n_items entries")
        self._table = table
        self._prob = prob
        cum = np.empty(self.n_items + 1, dtype=np.float64)
        cdef double[::1] cum_v = cum
        with nogil:
            ns_negative_cumulative(&prob_v[0], self.n_items, &cum_v[0])
        self._cum = _readonly(cum)
        self.n_nonzero = np.count_nonzero(prob)
        self.total = math.fsum(prob)

        cdef const int64_t[::1] indptr_v = self._indptr
        cdef const int64_t[::1] indices_v = self._indices
        cdef int64_t nnz = indices_v.shape[0]
        row_mass = np.empty(self.n_rows, dtype=np.float64)
        row_nonzero = np.empty(self.n_rows, dtype=np.int64)
        prefix = np.empty(nnz, dtype=np.float64)
        cdef double[::1] rm = row_mass
        cdef int64_t[::1] rn = row_nonzero
        cdef double[::1] pf = prefix
        cdef const int64_t *ind_ptr = &indices_v[0] if nnz else _EMPTY_I
        cdef double *pf_ptr = &pf[0] if nnz else _EMPTY_D
        cdef double *rm_ptr = &rm[0] if self.n_rows else _EMPTY_D
        cdef int64_t *rn_ptr = &rn[0] if self.n_rows else _EMPTY_I
        make_par(&par, n_threads)
        with nogil:
            status = ns_negative_row_stats(&prob_v[0], self.n_items, &indptr_v[0], ind_ptr,
                                           self.n_rows, rm_ptr, rn_ptr, pf_ptr, &par)
        check_interrupt(status)
        raise_for_status(status, "negative row statistics")
        self._row_mass = _readonly(row_mass)
        self._row_nonzero = _readonly(row_nonzero)
        self._prefix = _readonly(prefix)
        # Eligible mass for log q: total - P_r, relative error ~ 1e-16 / (1 - P_r);
        # rows with complement tables get the direct sum instead.
        self._row_eligible = _readonly(np.maximum(self.total - row_mass, 0.0))

    cdef _build_complements(self, int n_threads):
        """Complement tables (eligible ids, and an alias table of their
        masses for a weighted law) for the rows where searching the
        positives would be slow: rows excluding at least half the items (the
        complement is then no larger than the row, so memory stays O(nnz)),
        and weighted rows whose positives hold >= DENSE_MASS of the mass,
        most excluded mass first, while their complements total at most
        n_items entries."""
        n = self.n_items
        lengths = np.diff(self._indptr)
        size = n - lengths
        if self._table is None:
            use = (size <= lengths) & (size > 0)
        else:
            has = (self.n_nonzero - self._row_nonzero) > 0
            use = (size <= lengths) & has
            share = self._row_mass / self._cum[self.n_items]
            extra = np.flatnonzero((share >= DENSE_MASS) & ~use & has)
            if extra.size:
                extra = extra[np.argsort(-share[extra], kind="stable")]
                fits = np.cumsum(size[extra]) <= n
                use[extra[fits]] = True
        if not use.any():
            return
        comp_ptr = np.zeros(self.n_rows + 1, dtype=np.int64)
        np.cumsum(np.where(use, size, 0), out=comp_ptr[1:])
        eligible = None if self._row_eligible is None else self._row_eligible.copy()

        cdef const int64_t[::1] indptr_v = self._indptr
        cdef const int64_t[::1] indices_v = self._indices
        cdef const int64_t[::1] cptr_v = comp_ptr
        cdef int64_t total = cptr_v[self.n_rows]
        comp_ids = np.empty(max(total, 1), dtype=np.int64)
        cdef int64_t[::1] ids_v = comp_ids
        cdef const double[::1] prob_v
        cdef const double *prob_ptr = NULL
        cdef unsigned char[::1] raw
        cdef ns_alias_entry *table_ptr = NULL
        cdef double[::1] elig_v
        cdef double *elig_ptr = NULL
        cdef ns_par par
        cdef int status
        if eligible is not None:
            elig_v = eligible
            if self.n_rows:
                elig_ptr = &elig_v[0]
        comp_table = None
        if self._prob is not None:
            prob_v = self._prob
            prob_ptr = &prob_v[0]
            comp_table = np.zeros(max(total, 1), dtype=TABLE_DTYPE)
            raw = comp_table.view(np.uint8)
            table_ptr = <ns_alias_entry *> &raw[0]
        make_par(&par, n_threads)
        with nogil:
            status = ns_negative_complement_build(
                self.n_items, prob_ptr, &indptr_v[0],
                &indices_v[0] if indices_v.shape[0] else _EMPTY_I, self.n_rows,
                &cptr_v[0], &ids_v[0], table_ptr, elig_ptr, &par)
        check_interrupt(status)
        raise_for_status(status, "negative complement build")
        self._comp_ptr = _readonly(comp_ptr)
        self._comp_ids = _readonly(comp_ids[:total])
        if comp_table is not None:
            self._comp_table = _readonly(comp_table[:total])
        if eligible is not None:
            self._row_eligible = _readonly(eligible)

    cdef _build_filters(self, int n_threads):
        """Per-row 64-byte Bloom filters (they let most candidates skip the
        binary search) when they cost no more memory than the positives
        themselves, or at most 1 MiB."""
        cdef const int64_t[::1] indptr_v = self._indptr
        cdef const int64_t[::1] indices_v = self._indices
        cdef ns_par par
        cdef int status
        if self.n_rows == 0 or 64 * self.n_rows > max(8 * indices_v.shape[0], 2**20):
            return
        bloom = np.zeros((self.n_rows, NS_NEGATIVE_BLOOM_WORDS), dtype=np.uint64)
        cdef uint64_t[:, ::1] v = bloom
        make_par(&par, n_threads)
        with nogil:
            status = ns_negative_bloom_build(
                &indptr_v[0], &indices_v[0] if indices_v.shape[0] else _EMPTY_I,
                self.n_rows, &v[0, 0], &par)
        check_interrupt(status)
        raise_for_status(status, "negative Bloom filters")
        self._bloom = _readonly(bloom)

    cdef _point(self):
        """Points the C struct into the arrays held."""
        cdef const int64_t[::1] indptr_v = self._indptr
        cdef const int64_t[::1] indices_v = self._indices
        cdef const double[::1] prob_v, cum_v, mass_v, prefix_v, elig_v
        cdef const int64_t[::1] cptr_v, cids_v
        cdef const uint64_t[:, ::1] bloom_v
        cdef int64_t nnz = indices_v.shape[0]
        self.law.n_items = self.n_items
        self.law.indptr = &indptr_v[0]
        self.law.indices = &indices_v[0] if nnz else _EMPTY_I
        self.law.n_rows = self.n_rows
        self.law.table = NULL
        self.law.prob = NULL
        self.law.cum = NULL
        self.law.row_mass = NULL
        self.law.prefix = NULL
        self.law.comp_ptr = NULL
        self.law.comp_ids = NULL
        self.law.comp_table = NULL
        self.law.row_eligible = NULL
        self.law.bloom = NULL
        if self._table is not None:
            prob_v = self._prob
            cum_v = self._cum
            mass_v = self._row_mass
            prefix_v = self._prefix
            elig_v = self._row_eligible
            self.law.table = _entries(self._table)
            self.law.prob = &prob_v[0]
            self.law.cum = &cum_v[0]
            self.law.row_mass = &mass_v[0] if self.n_rows else _EMPTY_D
            self.law.prefix = &prefix_v[0] if nnz else _EMPTY_D
            if self.n_rows:
                self.law.row_eligible = &elig_v[0]
        if self._bloom is not None:
            bloom_v = self._bloom
            self.law.bloom = &bloom_v[0, 0]
        if self._comp_ptr is not None:
            cptr_v = self._comp_ptr
            cids_v = self._comp_ids
            self.law.comp_ptr = &cptr_v[0]
            self.law.comp_ids = &cids_v[0] if cids_v.shape[0] else _EMPTY_I
            if self._table is not None:
                if cids_v.shape[0]:
                    self.law.comp_table = _entries(self._comp_table)
                else:
                    self.law.comp_table = self.law.table

    # -- what the Python layer reads --------------------------------------
    @property
    def weighted(self):
        """False for the uniform base law."""
        return self._table is not None

    @property
    def comp_ptr(self):
        """Offsets of the complement tables (int64, n_rows + 1, read-only),
        or None when no row has one."""
        return self._comp_ptr

    def eligible(self, rows):
        """Eligible items of each row id of `rows` (int64 array): the items
        outside the row's list, of positive probability."""
        if self._table is None:
            return self.n_items - (self._indptr[rows + 1] - self._indptr[rows])
        return self.n_nonzero - self._row_nonzero[rows]

    # -- draws ------------------------------------------------------------
    cdef int _check_rows(self, const int64_t[::1] rows, object keys,
                         const int64_t **keys_ptr) except -1:
        cdef const int64_t[::1] keys_v
        cdef int64_t m = rows.shape[0]
        cdef int64_t i
        cdef bint bad = False
        with nogil:
            for i in range(m):
                if rows[i] < 0 or rows[i] >= self.n_rows:
                    bad = True
                    break
        if bad:
            raise ValueError(f"rows must be in [0, {self.n_rows}), got {rows[i]}")
        keys_ptr[0] = NULL
        if keys is not None:
            keys_v = keys
            if keys_v.shape[0] != m:
                raise ValueError(f"keys must have len(rows)={m} entries, got {keys_v.shape[0]}")
            if m:
                keys_ptr[0] = &keys_v[0]
        return 0

    def sample(self, const int64_t[::1] rows, int64_t k, bint replace, uint64_t k0,
               uint64_t k1, int n_threads, bint return_log_q=False, object keys=None,
               object out=None, object log_q_out=None):
        """(out, log_q): k negatives for each row id of `rows`, int64 (m, k),
        and their float64 log q (None unless `return_log_q`).  With `keys`
        (int64, one non-negative key per row, already validated), output row
        i uses keyed stream keys[i].  `out` / `log_q_out` (None: allocated):
        C-contiguous writeable int64 / float64 (m, k) arrays (checked by
        negsamp._validation.as_out) that the kernel writes in place and that
        are returned.  The rows must have enough eligible items (see
        eligible); the kernel fails with NS_ERR_EXHAUSTED otherwise."""
        cdef ns_par par
        cdef const int64_t *keys_ptr = NULL
        cdef int64_t m = rows.shape[0]
        cdef int status
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        self._check_rows(rows, keys, &keys_ptr)
        out = _buffer(out, m, k, np.int64, "out")
        log_q = _buffer(log_q_out, m, k, np.float64, "log_q_out") if return_log_q else None
        if m == 0 or k == 0:
            return out, log_q
        cdef int64_t[:, ::1] out_v = out
        cdef double[:, ::1] lq_v
        cdef double *lq_ptr = NULL
        if return_log_q:
            lq_v = log_q
            lq_ptr = &lq_v[0, 0]
        make_par(&par, n_threads)
        with nogil:
            status = ns_negative_sample(&self.law, &rows[0], m, k, replace, k0, k1,
                                        keys_ptr, &par, &out_v[0, 0], lq_ptr)
        check_interrupt(status)
        raise_for_status(status, "negative sample")
        return out, log_q

    def sample_tuples(self, const int64_t[::1] rows, int64_t k, bint replace,
                      uint64_t k0, uint64_t k1, int n_threads,
                      const int64_t[:, ::1] tmpl, int64_t col, object keys=None,
                      object out=None):
        """The draws of sample() written into tuples: int64 (m, k, w) with
        out[i, j] = tmpl[i] except column `col`, which holds the negative
        (ns_negative_sample_tuples; no log q).  `tmpl` is (m, w) int64;
        `out` (None: allocated) a C-contiguous int64 (m, k, w) buffer."""
        cdef ns_par par
        cdef const int64_t *keys_ptr = NULL
        cdef int64_t m = rows.shape[0]
        cdef int64_t width = tmpl.shape[1]
        cdef int status
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        if tmpl.shape[0] != m or width < 1 or not 0 <= col < width:
            raise ValueError(f"tmpl must be (len(rows), w) with 0 <= col={col} < w")
        self._check_rows(rows, keys, &keys_ptr)
        if out is None:
            out = np.empty((m, k, width), dtype=np.int64)
        cdef int64_t[:, :, ::1] tup_v = out
        if tup_v.shape[0] != m or tup_v.shape[1] != k or tup_v.shape[2] != width:
            raise ValueError(f"out must have shape ({m}, {k}, {width})")
        if m == 0 or k == 0:
            return out
        make_par(&par, n_threads)
        with nogil:
            status = ns_negative_sample_tuples(&self.law, &rows[0], m, k, replace, k0, k1,
                                               keys_ptr, &par, &tmpl[0, 0], width, col,
                                               &tup_v[0, 0, 0])
        check_interrupt(status)
        raise_for_status(status, "negative sample")
        return out



#: Output rows per noise block of scored_select (csrc/ns_scored.h).
SCORED_BLOCK_ROWS = NS_SCORED_BLOCK_ROWS

#: The dot-product kernels of scored_select (csrc/ns_scored.h), by name.
SCORED_KERNELS = {"scalar": 1, "avx2": 2, "avx512": 3}


def scored_kernel_available(str name):
    """True when scored_select's kernel `name` (a key of SCORED_KERNELS)
    runs on this CPU and build."""
    if name not in SCORED_KERNELS:
        raise ValueError(f"unknown kernel {name!r}")
    return bool(ns_scored_kernel_available(SCORED_KERNELS[name]))


def scored_best_kernel():
    """The name of the kernel scored_select uses by default."""
    cdef int best = ns_scored_best_kernel()
    return next(name for name, v in SCORED_KERNELS.items() if v == best)


cdef int64_t _row_stride(object arr, str name) except -1:
    """The row stride (>= 0) of a 2-D array, in elements, when each row is
    contiguous and the array aligned, else ValueError."""
    cdef int64_t size = arr.itemsize
    if arr.ndim != 2 or not arr.flags.aligned \
            or (arr.shape[1] > 1 and arr.strides[1] != size) \
            or arr.strides[0] % size != 0 or arr.strides[0] < 0:
        raise ValueError(f"{name} must be a 2-D aligned array with contiguous rows")
    return arr.strides[0] // size


def scored_select(const int64_t[:, ::1] pool, object pool_log_q, object queries,
                  object items, int64_t k, double inv_temperature, bint distinct,
                  uint64_t k0, uint64_t k1, int n_threads, object kernel=None):
    """(ids, scores, log_q): k of each row's pool candidates
    (ns_scored_select_f32 / _f64): the top k by the dot product
    queries[r] . items[c] (inv_temperature 0), or k drawn by Gumbel top-k
    (inv_temperature > 0, noise stream key (k0, k1)).  `pool` (B, m) ids in
    [0, len(items)); `pool_log_q` None or their float64 (B, m) log q;
    `queries` (B, d) and `items` (n, d), both float32 or both float64,
    rows contiguous (checked, with finite queries, by the caller);
    `distinct`: the pools have no duplicate ids.  ids (B, k) int64, scores
    (B, k) in the vectors' dtype, log_q (B, k) float64 or None.  `kernel`:
    None (the best available) or a name of SCORED_KERNELS that is
    available (a test hook: every kernel returns the same bits).
    ValueError when a score is NaN or infinite."""
    cdef ns_par par
    cdef ns_scored_args args
    cdef int64_t n_rows = pool.shape[0], m = pool.shape[1]
    cdef int status
    cdef const float[:, :] q32, v32
    cdef const double[:, :] q64, v64
    cdef float[:, ::1] s32
    cdef double[:, ::1] s64
    cdef int64_t[:, ::1] ids_v
    cdef const double[:, ::1] plq_v
    cdef double[:, ::1] lq_v
    cdef bint f32
    if queries.dtype != items.dtype or queries.dtype not in (np.float32, np.float64):
        raise TypeError("queries and items must be both float32 or both float64")
    f32 = queries.dtype == np.float32
    if queries.ndim != 2 or items.ndim != 2 or queries.shape[0] != n_rows \
            or queries.shape[1] != items.shape[1] or items.shape[1] < 1 or items.shape[0] < 1:
        raise ValueError("queries must be (len(pool), d) and items (n, d), d >= 1")
    if not 0 <= k <= m:
        raise ValueError(f"k must be in [0, {m}], got {k}")
    if not (inv_temperature >= 0) or not math.isfinite(inv_temperature):
        raise ValueError(f"inv_temperature must be finite and >= 0, got {inv_temperature}")
    if kernel is None:
        args.kernel = NS_SCORED_KERNEL_AUTO
    elif not scored_kernel_available(kernel):
        raise ValueError(f"kernel {kernel!r} is not available on this CPU")
    else:
        args.kernel = SCORED_KERNELS[kernel]
    args.query_ld = _row_stride(queries, "queries")
    args.item_ld = _row_stride(items, "items")
    ids = np.empty((n_rows, k), dtype=np.int64)
    scores = np.empty((n_rows, k), dtype=queries.dtype)
    log_q = None
    args.pool_log_q = NULL
    args.out_log_q = NULL
    if pool_log_q is not None:
        plq_v = pool_log_q
        if plq_v.shape[0] != n_rows or plq_v.shape[1] != m:
            raise ValueError("pool_log_q must have the shape of pool")
        log_q = np.empty((n_rows, k), dtype=np.float64)
    if n_rows == 0 or k == 0:
        return ids, scores, log_q
    if pool_log_q is not None:
        lq_v = log_q
        args.pool_log_q = &plq_v[0, 0]
        args.out_log_q = &lq_v[0, 0]
    ids_v = ids
    args.pool = &pool[0, 0]
    args.n_rows = n_rows
    args.pool_size = m
    args.k = k
    args.n_items = items.shape[0]
    args.dim = items.shape[1]
    args.distinct = 1 if distinct else 0
    args.inv_temperature = inv_temperature
    args.k0 = k0
    args.k1 = k1
    args.out_ids = &ids_v[0, 0]
    make_par(&par, n_threads)
    if f32:
        q32 = queries
        v32 = items
        s32 = scores
        with nogil:
            status = ns_scored_select_f32(&args, &q32[0, 0], &v32[0, 0], &s32[0, 0], &par)
    else:
        q64 = queries
        v64 = items
        s64 = scores
        with nogil:
            status = ns_scored_select_f64(&args, &q64[0, 0], &v64[0, 0], &s64[0, 0], &par)
    check_interrupt(status)
    raise_for_status(status, "scored select")
    return ids, scores, log_q

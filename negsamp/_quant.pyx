# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of the int8 prefilter of exact top-k search
(csrc/ns_quant.c): a QuantSearch owns the quantised queries, the heaps and
the work memory of one tile, and merges float32 tiles with the GIL
released.  Users call negsamp.hard_negatives(precision="int8")."""
import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, INT64_MAX
from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from negsamp._c_quant cimport (
    NS_QUANT_KERNEL_SCALAR, NS_QUANT_KERNEL_AVX2, NS_QUANT_KERNEL_VNNI, NS_QUANT_KERNEL_AMX,
    NS_QUANT_MAX_DIM, NS_QUANT_COL_PAD,
    ns_quant_best_kernel, ns_quant_kernel_available, ns_quant_dim_pad,
    ns_quant_tile_bytes, ns_quant_query_bytes,
    ns_quant_search_t, ns_quant_tile_t, ns_quant_search_init, ns_quant_search_tile,
    ns_quant_search_finish, ns_quant_rows, ns_quant_products, ns_quant_dot_exact,
    ns_quant_dot_exact_rows,
)
from negsamp._common import raise_for_status

#: Kernel names ("amx": AMX int8 tiles, on Linux, built by GCC >= 11 or
#: clang >= 12).
KERNELS = {"scalar": NS_QUANT_KERNEL_SCALAR, "avx2": NS_QUANT_KERNEL_AVX2,
           "vnni": NS_QUANT_KERNEL_VNNI, "amx": NS_QUANT_KERNEL_AMX}
MAX_DIM = NS_QUANT_MAX_DIM


def available_kernels():
    """Names of the kernels this CPU (and operating system) runs, in the
    order of KERNELS.  Asking about "amx" requests the kernel's permission
    to use the tile registers (Linux arch_prctl, for the whole process)."""
    return [name for name, k in KERNELS.items() if ns_quant_kernel_available(k)]


def best_kernel():
    """Name of the fastest kernel this CPU runs."""
    best = ns_quant_best_kernel()
    return next(name for name, k in KERNELS.items() if k == best)


cdef int _kernel_code(str kernel) except -1:
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {sorted(KERNELS)}, got {kernel!r}")
    code = KERNELS[kernel]
    if not ns_quant_kernel_available(code):
        raise ValueError(f"kernel {kernel!r} is not available on this CPU "
                         f"(available: {available_kernels()})")
    return code


cdef class QuantSearch:
    """Quantised queries and the heaps of `capacity` entries of one search.

    Not shareable between threads: one call of hard_negatives owns one.
    Tiles must be merged with increasing, disjoint column ranges."""
    cdef ns_quant_search_t st
    cdef ns_quant_tile_t work
    cdef object _queries, _q_packed, _q_terms, _keys, _ids, _sizes, _rescored
    cdef object _indptr, _indices, _lower, _upper, _work
    cdef readonly int64_t n_rows, dim, capacity
    cdef readonly str kernel
    cdef bint _finished

    def __cinit__(self, queries, int64_t capacity, str kernel="auto", *,
                  excl_indptr=None, excl_indices=None, lower=None, upper=None):
        cdef const float[:, ::1] q_v
        cdef double[:, ::1] terms_v
        cdef double[::1] keys_v, upper_v, lower_v
        cdef int64_t[::1] ids_v, sizes_v, resc_v, indptr_v, indices_v
        cdef uint8_t[::1] packed_v
        cdef int status
        self._queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self._queries.ndim != 2:
            raise ValueError(f"queries must be 2-D, got shape {self._queries.shape}")
        q_v = self._queries
        self.n_rows, self.dim = self._queries.shape
        if not 1 <= self.dim <= NS_QUANT_MAX_DIM:
            raise ValueError(f"dim must be in [1, {NS_QUANT_MAX_DIM}], got {self.dim}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if self.n_rows > 0 and capacity > (INT64_MAX - 1) // self.n_rows:
            raise ValueError(f"{self.n_rows} heaps of capacity={capacity} have more than "
                             "2**63 entries")
        self.kernel = best_kernel() if kernel == "auto" else kernel
        self.st.kernel = _kernel_code(self.kernel)
        self.capacity = capacity
        self._finished = False
        self._q_packed = np.zeros(ns_quant_query_bytes(self.st.kernel, self.n_rows, self.dim) + 64,
                                  dtype=np.uint8)
        self._q_terms = np.zeros((4, self.n_rows + 1), dtype=np.float64)
        self._keys = np.empty(self.n_rows * capacity + 1, dtype=np.float64)
        self._ids = np.empty(self.n_rows * capacity + 1, dtype=np.int64)
        self._sizes = np.zeros(self.n_rows + 1, dtype=np.int64)
        self._rescored = np.zeros(self.n_rows + 1, dtype=np.int64)
        packed_v = self._q_packed
        terms_v = self._q_terms
        keys_v = self._keys
        ids_v = self._ids
        sizes_v = self._sizes
        resc_v = self._rescored
        self.st.n_rows = self.n_rows
        self.st.dim = self.dim
        self.st.capacity = capacity
        self.st.queries = &q_v[0, 0] if self.n_rows > 0 else NULL
        self.st.q_packed = &packed_v[0]
        self.st.q_scale = &terms_v[0, 0]
        self.st.q_norm = &terms_v[1, 0]
        self.st.q_err = &terms_v[2, 0]
        self.st.q_qnorm = &terms_v[3, 0]
        self.st.keys = &keys_v[0]
        self.st.ids = &ids_v[0]
        self.st.sizes = &sizes_v[0]
        self.st.rescored = &resc_v[0]
        self.st.excl_indptr = NULL
        self.st.excl_indices = NULL
        self.st.upper = NULL
        self.st.lower = NULL
        if (excl_indptr is None) != (excl_indices is None):
            raise ValueError("give excl_indptr and excl_indices together")
        if excl_indptr is not None:
            self._indptr = np.ascontiguousarray(excl_indptr, dtype=np.int64)
            self._indices = np.ascontiguousarray(excl_indices, dtype=np.int64)
            if self._indptr.shape != (self.n_rows + 1,):
                raise ValueError(f"excl_indptr must have shape ({self.n_rows + 1},), "
                                 f"got {self._indptr.shape}")
            if self._indices.size == 0:
                self._indices = np.zeros(1, dtype=np.int64)
            if self._indptr[0] != 0 or np.any(np.diff(self._indptr) < 0) or \
                    self._indptr[self.n_rows] > self._indices.size:
                raise ValueError("excl_indptr must be non-decreasing from 0 to at most "
                                 "len(excl_indices)")
            indptr_v = self._indptr
            indices_v = self._indices
            self.st.excl_indptr = &indptr_v[0]
            self.st.excl_indices = &indices_v[0]
        if upper is not None:
            self._upper = np.ascontiguousarray(upper, dtype=np.float64)
            if self._upper.shape != (self.n_rows,):
                raise ValueError(f"upper must have shape ({self.n_rows},), got {self._upper.shape}")
            if self.n_rows > 0:
                upper_v = self._upper
                self.st.upper = &upper_v[0]
        if lower is not None:
            self._lower = np.ascontiguousarray(lower, dtype=np.float64)
            if self._lower.shape != (self.n_rows,):
                raise ValueError(f"lower must have shape ({self.n_rows},), got {self._lower.shape}")
            if self.n_rows > 0:
                lower_v = self._lower
                self.st.lower = &lower_v[0]
        self._work = None
        self.work.n_pad = 0
        with nogil:
            status = ns_quant_search_init(&self.st)
        if status != 0:
            raise ValueError("queries must be finite")

    cdef int _reserve(self, int64_t n_tile) except -1:
        cdef int64_t n_pad = (n_tile + NS_QUANT_COL_PAD - 1) // NS_QUANT_COL_PAD * NS_QUANT_COL_PAD
        cdef uint8_t[::1] packed_v
        cdef int32_t[::1] csum_v
        cdef double[:, ::1] meta_v
        if n_pad <= self.work.n_pad:
            return 0
        packed = np.zeros(ns_quant_tile_bytes(self.st.kernel, n_pad, self.dim) + 64, dtype=np.uint8)
        csum = np.zeros(n_pad, dtype=np.int32)
        meta = np.zeros((4, n_pad), dtype=np.float64)
        packed_v = packed
        csum_v = csum
        meta_v = meta
        self._work = (packed, csum, meta)
        self.work.n_pad = n_pad
        self.work.packed = &packed_v[0]
        self.work.csum = &csum_v[0]
        self.work.scale = &meta_v[0, 0]
        self.work.norm = &meta_v[1, 0]
        self.work.err = &meta_v[2, 0]
        self.work.qnorm = &meta_v[3, 0]
        return 0

    def scan(self, tile, int64_t col0, int n_threads=1):
        """Merges the candidates of `tile` (float32, C order, rows col0,
        col0 + 1, ...) into the heaps.  ValueError when a candidate is not
        finite or a score overflows float32."""
        cdef const float[:, ::1] t_v
        cdef ns_par par
        cdef int status
        cdef int64_t n_tile
        if self._finished:
            raise ValueError("this QuantSearch is finished")
        t_v = tile
        n_tile = t_v.shape[0]
        if n_tile == 0:
            return
        if t_v.shape[1] != self.dim:
            raise ValueError(f"tile must have {self.dim} columns, got {t_v.shape[1]}")
        if col0 < 0:
            raise ValueError(f"col0 must be >= 0, got {col0}")
        self._reserve(n_tile)
        make_par(&par, n_threads)
        with nogil:
            status = ns_quant_search_tile(&self.st, &t_v[0, 0], n_tile, col0, &self.work, &par)
        check_interrupt(status)
        raise_for_status(status, "QuantSearch.scan")

    def finish(self, int64_t skip, int64_t k, bint negate=False, object out=None):
        """(ids int64 (n_rows, k), scores float32 (n_rows, k)): entries
        skip .. skip + k - 1 of each row, best first; -1 / NaN padding.
        out: None, or (ids, scores) C-contiguous writable arrays of those
        shapes and dtypes, written in place and returned."""
        cdef int64_t[:, ::1] ids_v
        cdef float[:, ::1] scores_v
        cdef int status
        if self._finished:
            raise ValueError("this QuantSearch is finished")
        if skip < 0 or k < 1:
            raise ValueError(f"skip must be >= 0 and k >= 1, got skip={skip}, k={k}")
        if out is None:
            ids = np.empty((self.n_rows, k), dtype=np.int64)
            scores = np.empty((self.n_rows, k), dtype=np.float32)
        else:
            ids, scores = out
            if (ids.shape != (self.n_rows, k) or scores.shape != (self.n_rows, k)
                    or ids.dtype != np.int64 or scores.dtype != np.float32):
                raise ValueError(f"out buffers must be ({self.n_rows}, {k}) arrays of "
                                 "int64 and float32")
        if self.n_rows == 0:
            return ids, scores
        ids_v = ids  # C-contiguous and writable, or ValueError
        scores_v = scores
        self._finished = True
        with nogil:
            status = ns_quant_search_finish(&self.st, skip, k, 1 if negate else 0,
                                            &ids_v[0, 0], &scores_v[0, 0])
        raise_for_status(status, "QuantSearch.finish")
        return ids, scores

    @property
    def rescored(self):
        """Pairs rescored exactly, per query (a copy)."""
        return np.array(self._rescored[: self.n_rows])


def _quant_rows_py(x, str kernel="scalar"):
    """Test hook: (codes int8, scale, norm, err, qnorm) of the rows of x, by
    the quantisation copy of `kernel`."""
    cdef int code = _kernel_code(kernel)
    cdef const float[:, ::1] x_v = np.ascontiguousarray(x, dtype=np.float32)
    cdef int64_t n = x_v.shape[0], d = x_v.shape[1]
    codes = np.zeros((n, d), dtype=np.int8)
    terms = np.zeros((4, n + 1), dtype=np.float64)
    cdef int8_t[:, ::1] c_v = codes
    cdef double[:, ::1] t_v = terms
    cdef int status = 0
    if n > 0 and d > 0:
        with nogil:
            status = ns_quant_rows(code, &x_v[0, 0], n, d, &c_v[0, 0], &t_v[0, 0], &t_v[1, 0],
                                   &t_v[2, 0], &t_v[3, 0])
    raise_for_status(status, "_quant_rows_py")
    return codes, terms[0, :n], terms[1, :n], terms[2, :n], terms[3, :n]


def _products_py(str kernel, q_codes, c_codes):
    """Test hook: int32 products q_codes @ c_codes.T with `kernel`."""
    cdef int code = _kernel_code(kernel)
    cdef const int8_t[:, ::1] q_v = np.ascontiguousarray(q_codes, dtype=np.int8)
    cdef const int8_t[:, ::1] c_v = np.ascontiguousarray(c_codes, dtype=np.int8)
    if q_v.shape[1] != c_v.shape[1]:
        raise ValueError("q_codes and c_codes must have the same number of columns")
    cdef int64_t n_q = q_v.shape[0], n_c = c_v.shape[0], d = q_v.shape[1]
    out = np.zeros((n_q, n_c), dtype=np.int32)
    if n_q == 0 or n_c == 0:
        return out
    cdef int32_t[:, ::1] o_v = out
    cdef int status
    with nogil:
        status = ns_quant_products(code, &q_v[0, 0], n_q, &c_v[0, 0], n_c, d, &o_v[0, 0])
    raise_for_status(status, "_products_py")
    return out


def _dot_exact_py(x, y, str kernel="scalar"):
    """Test hook: the compensated float64 dot product of two float32 vectors."""
    cdef int code = _kernel_code(kernel)
    cdef const float[::1] x_v = np.ascontiguousarray(x, dtype=np.float32)
    cdef const float[::1] y_v = np.ascontiguousarray(y, dtype=np.float32)
    if x_v.shape[0] != y_v.shape[0]:
        raise ValueError("x and y must have the same length")
    if x_v.shape[0] == 0:
        return 0.0
    return ns_quant_dot_exact(code, &x_v[0], &y_v[0], x_v.shape[0])


def _dot_exact_rows_py(x, rows, cols, str kernel="scalar"):
    """Test hook: the compensated dot products of x with rows[cols], by the
    batched copies of `kernel` (4 rows at a time)."""
    cdef int code = _kernel_code(kernel)
    cdef const float[::1] x_v = np.ascontiguousarray(x, dtype=np.float32)
    cdef const float[:, ::1] r_v = np.ascontiguousarray(rows, dtype=np.float32)
    cdef const int64_t[::1] c_v = np.ascontiguousarray(cols, dtype=np.int64)
    if r_v.shape[1] != x_v.shape[0] or x_v.shape[0] == 0:
        raise ValueError("rows must have len(x) > 0 columns")
    if c_v.shape[0] > 0 and (np.min(cols) < 0 or np.max(cols) >= r_v.shape[0]):
        raise ValueError("cols must index rows")
    out = np.zeros(c_v.shape[0], dtype=np.float64)
    cdef double[::1] o_v = out
    if c_v.shape[0] > 0:
        ns_quant_dot_exact_rows(code, &x_v[0], &r_v[0, 0], &c_v[0], c_v.shape[0], x_v.shape[0],
                                &o_v[0])
    return out

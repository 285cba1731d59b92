# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of top-k mining: per-query heaps living in numpy arrays,
merged tile by tile by csrc/ns_topk.c with the GIL released.  Users call
negsamp.hard_negatives / negsamp.topk instead."""
import numpy as np

from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from libc.math cimport INFINITY
from libc.stdint cimport int64_t, uint64_t, INT64_MAX
from negsamp._c_common cimport ns_rng_t
from negsamp._c_topk cimport (
    ns_topk_t, ns_topk_reset, ns_topk_merge_f32, ns_topk_merge_f64,
    ns_topk_finish_f32, ns_topk_finish_f64, ns_topk_merge_lists_f32,
    ns_topk_merge_lists_f64,
)
from negsamp._common import raise_for_status


cdef class TopkState:
    """Heaps of `capacity` entries for `n_rows` rows.

    Not shareable between threads: one call of hard_negatives owns one."""
    cdef ns_topk_t st
    cdef object _keys, _scores, _ids, _sizes, _rngs, _packed
    cdef object _indptr, _indices, _upper
    cdef readonly int64_t n_rows, capacity
    cdef bint _finished

    def __cinit__(self, int64_t n_rows, int64_t capacity, bint largest, *,
                  excl_indptr=None, excl_indices=None, upper=None,
                  double lower=-INFINITY, double temperature=0.0,
                  uint64_t k0=0, uint64_t k1=0, bint finite_only=False,
                  bint packed=False, bint allow_simd=True, object keys=None):
        cdef double[::1] keys_v, scores_v, upper_v
        cdef int64_t[::1] ids_v, sizes_v, indptr_v, indices_v
        cdef uint64_t[:, ::1] rngs_v
        cdef uint64_t[::1] packed_v
        cdef const int64_t[::1] keys_arr
        cdef const int64_t *keys_ptr = NULL
        if n_rows < 0:
            raise ValueError(f"n_rows must be >= 0, got {n_rows}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if not (temperature >= 0.0):
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if n_rows > 0 and capacity > (INT64_MAX - 1) // n_rows:
            raise ValueError(f"a top-k state of n_rows={n_rows} heaps of capacity={capacity} "
                             "entries has more than 2**63 entries")
        self.n_rows = n_rows
        self.capacity = capacity
        self._finished = False
        if packed and temperature > 0.0:
            raise ValueError("packed heaps cannot sample with a temperature")
        # One extra entry so that the pointers are valid even for n_rows = 0.
        # Packed heaps (float32 tiles, no temperature, ids < 2**32: one uint64
        # an entry) never touch keys / scores / ids: those stay one entry.
        cdef int64_t entries = n_rows * capacity + 1
        cdef int64_t general = 1 if packed else entries
        self._keys = np.empty(general, dtype=np.float64)
        self._scores = np.empty(general, dtype=np.float64)
        self._ids = np.empty(general, dtype=np.int64)
        self._sizes = np.zeros(n_rows + 1, dtype=np.int64)
        keys_v = self._keys
        scores_v = self._scores
        ids_v = self._ids
        sizes_v = self._sizes
        self.st.n_rows = n_rows
        self.st.capacity = capacity
        self.st.keys = &keys_v[0]
        self.st.scores = &scores_v[0]
        self.st.ids = &ids_v[0]
        self.st.sizes = &sizes_v[0]
        self.st.excl_indptr = NULL
        self.st.excl_indices = NULL
        self.st.upper = NULL
        self.st.lower = lower
        self.st.largest = 1 if largest else 0
        self.st.finite_only = 1 if finite_only else 0
        self.st.inv_temperature = 0.0
        self.st.rngs = NULL
        self.st.packed = NULL
        self.st.allow_simd = 1 if allow_simd else 0
        if packed:
            self._packed = np.empty(entries, dtype=np.uint64)
            packed_v = self._packed
            self.st.packed = &packed_v[0]
        if excl_indptr is not None:
            self._indptr = np.ascontiguousarray(excl_indptr, dtype=np.int64)
            self._indices = np.ascontiguousarray(excl_indices, dtype=np.int64)
            if self._indptr.shape[0] != n_rows + 1:
                raise ValueError("excl_indptr must have n_rows + 1 entries")
            if self._indptr[0] != 0 or self._indptr[n_rows] != self._indices.shape[0]:
                raise ValueError("excl_indptr must start at 0 and end at len(excl_indices)")
            if self._indices.shape[0] == 0:  # keep a valid pointer
                self._indices = np.zeros(1, dtype=np.int64)
            indptr_v = self._indptr
            indices_v = self._indices
            self.st.excl_indptr = &indptr_v[0]
            self.st.excl_indices = &indices_v[0]
        if upper is not None:
            self._upper = np.ascontiguousarray(upper, dtype=np.float64)
            if self._upper.shape != (n_rows,):
                raise ValueError("upper must have one bound per row")
            if n_rows > 0:
                upper_v = self._upper
                self.st.upper = &upper_v[0]
        if temperature > 0.0:
            self._rngs = np.zeros((n_rows + 1, 4), dtype=np.uint64)
            rngs_v = self._rngs
            self.st.rngs = <ns_rng_t *> &rngs_v[0, 0]
            self.st.inv_temperature = 1.0 / temperature
            if not (self.st.inv_temperature > 0.0 and
                    self.st.inv_temperature < INFINITY):
                raise ValueError(f"1 / temperature must be finite, got temperature={temperature}")
        if keys is not None:
            keys_arr = keys
            if keys_arr.shape[0] != n_rows:
                raise ValueError(f"keys must have n_rows={n_rows} entries, got {keys_arr.shape[0]}")
            if n_rows > 0:
                keys_ptr = &keys_arr[0]
        raise_for_status(ns_topk_reset(&self.st, k0, k1, keys_ptr), "top-k reset")

    def merge(self, tile, int64_t row0, int64_t col0, int n_threads):
        """Merges `tile` (2-D float32 or float64, rows row0.., columns =
        candidates col0..) into the heaps.  Raises ValueError on NaN (or
        on an infinite score, with finite_only)."""
        cdef ns_par par
        cdef const float[:, :] t32
        cdef const double[:, :] t64
        cdef int status = 0
        cdef int64_t n_r, n_c, ld
        if self._finished:
            raise RuntimeError("top-k state already finished")
        if tile.ndim != 2:
            raise ValueError("tile must be 2-D")
        n_r = tile.shape[0]
        n_c = tile.shape[1]
        if row0 < 0 or row0 + n_r > self.n_rows or col0 < 0:
            raise ValueError("tile rows or columns out of range")
        if n_r == 0 or n_c == 0:
            return
        if self.st.packed != NULL and col0 + n_c > (<int64_t> 1 << 32):
            raise ValueError("a packed top-k state holds candidate ids below 2**32")
        if tile.dtype == np.float32:
            t32 = tile
            if t32.strides[1] != sizeof(float) or t32.strides[0] % sizeof(float) \
                    or (n_r > 1 and t32.strides[0] < n_c * <int64_t> sizeof(float)):
                raise ValueError("tile rows must be contiguous")
            ld = t32.strides[0] // sizeof(float)
            make_par(&par, n_threads)
            with nogil:
                status = ns_topk_merge_f32(&self.st, &t32[0, 0], n_r, n_c, ld,
                                           row0, col0, &par)
            check_interrupt(status)
        elif tile.dtype == np.float64:
            if self.st.packed != NULL:
                raise TypeError("a packed top-k state merges float32 tiles only")
            t64 = tile
            if t64.strides[1] != sizeof(double) or t64.strides[0] % sizeof(double) \
                    or (n_r > 1 and t64.strides[0] < n_c * <int64_t> sizeof(double)):
                raise ValueError("tile rows must be contiguous")
            ld = t64.strides[0] // sizeof(double)
            make_par(&par, n_threads)
            with nogil:
                status = ns_topk_merge_f64(&self.st, &t64[0, 0], n_r, n_c, ld,
                                           row0, col0, &par)
            check_interrupt(status)
        else:
            raise TypeError(f"tile dtype must be float32 or float64, got {tile.dtype}")
        if status != 0:
            raise ValueError("scores contain NaN or infinity" if self.st.finite_only
                             else "scores contain NaN")

    def finish(self, int64_t skip, int64_t k, object dtype, int n_threads, object out=None):
        """(ids int64 (n_rows, k), scores `dtype` (n_rows, k)), best first,
        after dropping the first `skip` entries; -1 / NaN padding (also
        where skip + k exceeds the capacity).  out: None, or (ids, scores)
        C-contiguous writable arrays of those shapes and dtypes, written in
        place and returned."""
        cdef ns_par par
        cdef int64_t[:, ::1] ids_v
        cdef float[:, ::1] s32
        cdef double[:, ::1] s64
        cdef int status = 0
        if self._finished:
            raise RuntimeError("top-k state already finished")
        if skip < 0 or k < 1 or skip > self.capacity:
            raise ValueError("need skip >= 0, k >= 1 and skip <= capacity")
        dtype = np.dtype(dtype)
        if self.st.packed != NULL and dtype != np.float32:
            raise TypeError("a packed top-k state returns float32 scores only")
        ids, scores = _out_pair(out, self.n_rows, k, dtype)
        self._finished = True
        if self.n_rows == 0:
            return ids, scores
        ids_v = ids
        if dtype == np.float32:
            s32 = scores
            make_par(&par, n_threads)
            with nogil:
                status = ns_topk_finish_f32(&self.st, skip, k, &ids_v[0, 0],
                                            &s32[0, 0], &par)
            check_interrupt(status)
        elif dtype == np.float64:
            s64 = scores
            make_par(&par, n_threads)
            with nogil:
                status = ns_topk_finish_f64(&self.st, skip, k, &ids_v[0, 0],
                                            &s64[0, 0], &par)
            check_interrupt(status)
        else:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        raise_for_status(status, "top-k finish")
        return ids, scores


def _out_pair(out, int64_t n_rows, int64_t k, dtype):
    """New (ids, scores) arrays, or the caller's, checked: shapes (n_rows,
    k), dtypes int64 and `dtype`, C-contiguous and writable (the Python
    layer has checked them already; this guards the C writes)."""
    if out is None:
        return (np.empty((n_rows, k), dtype=np.int64),
                np.empty((n_rows, k), dtype=dtype))
    ids, scores = out
    for a, want in ((ids, np.dtype(np.int64)), (scores, dtype)):
        if (not isinstance(a, np.ndarray) or a.shape != (n_rows, k) or a.dtype != want
                or not a.flags.c_contiguous or not a.flags.writeable):
            raise ValueError(f"out buffers must be C-contiguous writable ({n_rows}, {k}) "
                             f"arrays of int64 and {dtype}")
    return ids, scores


def merge_lists(ids, scores, int64_t skip, int64_t k, bint largest, object out=None):
    """Entries skip .. skip + k - 1 of the merge of finished lists: ids
    (P, n_rows, cap) int64 and scores (P, n_rows, cap) float32/float64, each
    part's rows best first with -1 / NaN padding, disjoint ids
    (ns_topk_merge_lists).  Returns (ids, scores) (n_rows, k), into `out`
    when given."""
    cdef const int64_t[:, :, ::1] ids_v = ids
    cdef const float[:, :, ::1] s32
    cdef const double[:, :, ::1] s64
    cdef int64_t[:, ::1] out_ids_v
    cdef float[:, ::1] o32
    cdef double[:, ::1] o64
    cdef int status
    cdef int64_t n_parts = ids_v.shape[0], n_rows = ids_v.shape[1], cap = ids_v.shape[2]
    if skip < 0 or k < 1:
        raise ValueError(f"need skip >= 0 and k >= 1, got skip={skip}, k={k}")
    if scores.shape != ids.shape:
        raise ValueError(f"ids and scores must have one shape, got {ids.shape} "
                         f"and {scores.shape}")
    dtype = scores.dtype
    if dtype != np.float32 and dtype != np.float64:
        raise TypeError(f"scores must be float32 or float64, got {dtype}")
    out_ids, out_scores = _out_pair(out, n_rows, k, dtype)
    if n_rows == 0:
        return out_ids, out_scores
    out_ids_v = out_ids
    if dtype == np.float32:
        s32 = scores
        o32 = out_scores
        with nogil:
            status = ns_topk_merge_lists_f32(&ids_v[0, 0, 0], &s32[0, 0, 0], n_parts, n_rows,
                                             cap, largest, skip, k, &out_ids_v[0, 0],
                                             &o32[0, 0])
    else:
        s64 = scores
        o64 = out_scores
        with nogil:
            status = ns_topk_merge_lists_f64(&ids_v[0, 0, 0], &s64[0, 0, 0], n_parts, n_rows,
                                             cap, largest, skip, k, &out_ids_v[0, 0],
                                             &o64[0, 0])
    raise_for_status(status, "top-k list merge")
    return out_ids, out_scores

# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of alias tables: checks buffers, releases the GIL, calls
csrc/ns_alias.c.  Users call negsamp.AliasTable instead."""
import numpy as np

from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from negsamp._c_alias cimport (
    ns_alias_entry, ns_alias_hot, ns_alias_build, ns_alias_make_hot,
    ns_alias_sample_i64, ns_alias_sample_i32, ns_alias_probabilities,
    ns_alias_check, NS_ALIAS_BLOCK, NS_ALIAS_HOT_MAX, ns_alias_settle_tie,
    ns_alias_sample_rows_i64, ns_alias_sample_rows_i32,
)
from negsamp._c_common cimport ns_rng_t, ns_rng_seed
from negsamp._common import raise_for_status

#: numpy dtype with the memory layout of ns_alias_entry.
TABLE_DTYPE = np.dtype([("threshold", "<u8"), ("alias", "<i8")], align=True)
assert TABLE_DTYPE.itemsize == sizeof(ns_alias_entry)

#: numpy dtype with the memory layout of ns_alias_hot (the compact copy).
HOT_DTYPE = np.dtype([("t_hi", "<u4"), ("alias", "<u4")], align=True)
assert HOT_DTYPE.itemsize == sizeof(ns_alias_hot)

#: Tables up to this many entries get a compact copy for drawing.
HOT_MAX = NS_ALIAS_HOT_MAX

#: Draws per RNG block (fixed: output does not depend on the thread count).
BLOCK = NS_ALIAS_BLOCK


cdef inline const ns_alias_entry *_entries(object table) except NULL:
    if not isinstance(table, np.ndarray) or table.dtype != TABLE_DTYPE \
            or table.ndim != 1 or not table.flags.c_contiguous:
        raise TypeError("table must be a C-contiguous 1-D array of TABLE_DTYPE")
    if table.shape[0] == 0:
        raise ValueError("table is empty")
    cdef const unsigned char[::1] raw = table.view(np.uint8)
    return <const ns_alias_entry *> &raw[0]


def build(const double[::1] weights):
    """Vose build of `weights` (float64, finite, >= 0, positive sum).

    Returns (table, max_weight, total_scaled) where total_scaled is
    sum(weights) / max(weights)."""
    cdef int64_t n = weights.shape[0]
    if n == 0:
        raise ValueError("weights is empty")
    table = np.empty(n, dtype=TABLE_DTYPE)
    work = np.empty(n, dtype=np.int64)
    cdef unsigned char[::1] raw = table.view(np.uint8)
    cdef int64_t[::1] work_view = work
    cdef double wmax = 0.0, total = 0.0
    cdef int status
    with nogil:
        status = ns_alias_build(&weights[0], n, <ns_alias_entry *> &raw[0],
                                &work_view[0], &wmax, &total)
    raise_for_status(status, "alias table build")
    return table, wmax, total


def make_hot(object table):
    """The compact copy that draws read (HOT_DTYPE), or None for tables of
    more than HOT_MAX entries.  `table` must have passed check()."""
    cdef const ns_alias_entry *entries = _entries(table)
    cdef int64_t n = table.shape[0]
    if n > NS_ALIAS_HOT_MAX:
        return None
    hot = np.empty(n, dtype=HOT_DTYPE)
    cdef unsigned char[::1] raw = hot.view(np.uint8)
    cdef int status
    with nogil:
        status = ns_alias_make_hot(entries, n, <ns_alias_hot *> &raw[0])
    raise_for_status(status, "alias compact copy")
    hot.flags.writeable = False
    return hot


def sample(object table, object hot, int64_t count, uint64_t k0, uint64_t k1,
           int n_threads, object dtype, bint allow_simd=True):
    """`count` draws from `table` into a new 1-D array of `dtype` (int64 or
    int32), using RNG key (k0, k1).  `hot` is None or make_hot(table): the
    draws are the same either way, faster with it.  allow_simd=False (a
    test hook) runs the baseline-ISA loops, which give the same draws."""
    cdef ns_par par
    cdef const ns_alias_entry *entries = _entries(table)
    cdef int64_t n = table.shape[0]
    cdef const ns_alias_hot *hot_entries = NULL
    cdef const unsigned char[::1] hot_raw
    if hot is not None:
        if not isinstance(hot, np.ndarray) or hot.dtype != HOT_DTYPE \
                or hot.ndim != 1 or hot.shape[0] != n or not hot.flags.c_contiguous:
            raise TypeError("hot must be None or a C-contiguous HOT_DTYPE array of n entries")
        hot_raw = hot.view(np.uint8)
        hot_entries = <const ns_alias_hot *> &hot_raw[0]
    cdef int status = 0
    cdef int64_t[::1] out64
    cdef int32_t[::1] out32
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    dtype = np.dtype(dtype)
    out = np.empty(count, dtype=dtype)
    if count == 0:
        return out
    if dtype == np.int64:
        out64 = out
        make_par(&par, n_threads)
        with nogil:
            status = ns_alias_sample_i64(entries, hot_entries, n, k0, k1,
                                         &out64[0], count, &par,
                                         allow_simd)
        check_interrupt(status)
    elif dtype == np.int32:
        if n > 2147483647:
            raise ValueError("int32 output needs n <= 2**31 - 1")
        out32 = out
        make_par(&par, n_threads)
        with nogil:
            status = ns_alias_sample_i32(entries, hot_entries, n, k0, k1,
                                         &out32[0], count, &par,
                                         allow_simd)
        check_interrupt(status)
    else:
        raise TypeError(f"dtype must be int64 or int32, got {dtype}")
    raise_for_status(status, "alias sample")
    return out


def sample_rows(object table, const int64_t[::1] keys, int64_t row_len,
                uint64_t k0, uint64_t k1, int n_threads, object dtype):
    """(len(keys), row_len) draws of `dtype` (int64 or int32): row i from
    keyed stream keys[i] under (k0, k1) (keys already validated)."""
    cdef ns_par par
    cdef const ns_alias_entry *entries = _entries(table)
    cdef int64_t n = table.shape[0]
    cdef int64_t n_rows = keys.shape[0]
    cdef int status = 0
    cdef int64_t[:, ::1] out64
    cdef int32_t[:, ::1] out32
    if row_len < 0:
        raise ValueError(f"row_len must be >= 0, got {row_len}")
    dtype = np.dtype(dtype)
    if dtype != np.int64 and dtype != np.int32:
        raise TypeError(f"dtype must be int64 or int32, got {dtype}")
    if dtype == np.int32 and n > 2147483647:
        raise ValueError("int32 output needs n <= 2**31 - 1")
    out = np.empty((n_rows, row_len), dtype=dtype)
    if n_rows == 0 or row_len == 0:
        return out
    make_par(&par, n_threads)
    if dtype == np.int64:
        out64 = out
        with nogil:
            status = ns_alias_sample_rows_i64(entries, n, k0, k1, &keys[0], n_rows,
                                              row_len, &out64[0, 0], &par)
    else:
        out32 = out
        with nogil:
            status = ns_alias_sample_rows_i32(entries, n, k0, k1, &keys[0], n_rows,
                                              row_len, &out32[0, 0], &par)
    check_interrupt(status)
    raise_for_status(status, "alias sample")
    return out


def probabilities(object table):
    """The exact law drawn by `table`, as float64 (sums to 1 up to
    rounding)."""
    cdef const ns_alias_entry *entries = _entries(table)
    cdef int64_t n = table.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] out_view = out
    cdef int status
    with nogil:
        status = ns_alias_probabilities(entries, n, &out_view[0])
    raise_for_status(status, "alias probabilities")
    return out


def check(object table):
    """Raises ValueError unless every threshold is in [0, 2**53] and every alias in
    [0, n): a table that passes can never index out of range."""
    cdef const ns_alias_entry *entries = _entries(table)
    cdef int64_t n = table.shape[0]
    cdef int status
    with nogil:
        status = ns_alias_check(entries, n)
    if status != 0:
        raise ValueError("alias table is corrupted: a threshold is above 2**53 "
                         "or an alias outside [0, n)")


def _settle_tie_py(uint64_t threshold, uint32_t coin_hi, uint64_t k0, uint64_t k1,
                   uint64_t stream):
    """Test hook: ns_alias_settle_tie(threshold, coin_hi, rng) with rng the
    stream (k0, k1, stream): 1 keeps the column, 0 takes the alias."""
    cdef ns_rng_t rng
    ns_rng_seed(&rng, k0, k1, stream)
    return ns_alias_settle_tie(threshold, coin_hi, &rng)

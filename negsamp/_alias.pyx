# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of alias tables: checks buffers, releases the GIL, calls
csrc/ns_alias.c.  Users call negsamp.AliasTable instead.

A table is held either in the full layout (`table`, TABLE_DTYPE, any n) or in
the compact one (`hot`, HOT_DTYPE, and `low`, uint32; n <= COMPACT_MAX), see
csrc/ns_alias.h; the functions that read a table take `table`, `hot` and
`low`, and read the compact layout when `hot` is not None."""
import numpy as np

from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from negsamp._c_alias cimport (
    ns_alias_entry, ns_alias_hot, ns_alias_build, ns_alias_build_compact,
    ns_alias_make_compact, ns_alias_expand, ns_alias_sample_i64,
    ns_alias_sample_i32, ns_alias_probabilities, ns_alias_probabilities_compact,
    ns_alias_check, NS_ALIAS_BLOCK, NS_ALIAS_COMPACT_MAX, ns_alias_settle_tie,
    ns_alias_sample_rows_i64, ns_alias_sample_rows_i32,
)
from negsamp._c_common cimport ns_rng_t, ns_rng_seed
from negsamp._common import raise_for_status

#: numpy dtype with the memory layout of ns_alias_entry.
TABLE_DTYPE = np.dtype([("threshold", "<u8"), ("alias", "<i8")], align=True)
assert TABLE_DTYPE.itemsize == sizeof(ns_alias_entry)

#: numpy dtype with the memory layout of ns_alias_hot (the compact entry).
HOT_DTYPE = np.dtype([("t_hi", "<u4"), ("alias", "<u4")], align=True)
assert HOT_DTYPE.itemsize == sizeof(ns_alias_hot)

#: Largest number of items of a compact table.
COMPACT_MAX = NS_ALIAS_COMPACT_MAX

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


cdef inline const ns_alias_hot *_hot(object hot) except NULL:
    if not isinstance(hot, np.ndarray) or hot.dtype != HOT_DTYPE \
            or hot.ndim != 1 or not hot.flags.c_contiguous:
        raise TypeError("hot must be a C-contiguous 1-D array of HOT_DTYPE")
    if hot.shape[0] == 0 or hot.shape[0] > NS_ALIAS_COMPACT_MAX:
        raise ValueError(f"hot must have 1 to {NS_ALIAS_COMPACT_MAX} entries")
    cdef const unsigned char[::1] raw = hot.view(np.uint8)
    return <const ns_alias_hot *> &raw[0]


cdef inline const uint32_t *_low(object low, int64_t n) except NULL:
    if not isinstance(low, np.ndarray) or low.dtype != np.uint32 \
            or low.ndim != 1 or not low.flags.c_contiguous or low.shape[0] != n:
        raise TypeError("low must be a C-contiguous uint32 array of n entries")
    cdef const uint32_t[::1] view = low
    return &view[0]


cdef int64_t _layout(object table, object hot, object low,
                     const ns_alias_entry **entries, const ns_alias_hot **hot_entries,
                     const uint32_t **low_words) except -1:
    """Points at the layout to read (the compact one when hot is not None);
    returns n."""
    if hot is not None:
        hot_entries[0] = _hot(hot)
        low_words[0] = _low(low, hot.shape[0])
        entries[0] = NULL
        return hot.shape[0]
    entries[0] = _entries(table)
    hot_entries[0] = NULL
    low_words[0] = NULL
    return table.shape[0]


def build(const double[::1] weights):
    """Vose build of `weights` (float64, finite, >= 0, positive sum) in the
    full layout.

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


def build_compact(const double[::1] weights, bint allow_simd=True):
    """Vose build of `weights` in the compact layout (len(weights) <=
    COMPACT_MAX).  Returns (hot, low, max_weight, total_scaled), or raises
    ValueError (status NS_ERR_VALUE / NS_ERR_EMPTY) for invalid weights,
    before writing anything.  allow_simd=False (a test hook) runs the
    baseline-ISA loops, which build the same table."""
    cdef int64_t n = weights.shape[0]
    if n == 0:
        raise ValueError("weights is empty")
    if n > NS_ALIAS_COMPACT_MAX:
        raise ValueError(f"a compact table has at most {NS_ALIAS_COMPACT_MAX} items")
    hot = np.empty(n, dtype=HOT_DTYPE)
    low = np.empty(n, dtype=np.uint32)
    work = np.empty(n, dtype=np.uint8)
    cdef unsigned char[::1] hot_raw = hot.view(np.uint8)
    cdef uint32_t[::1] low_view = low
    cdef uint8_t[::1] work_view = work
    cdef double wmax = 0.0, total = 0.0
    cdef int status
    with nogil:
        status = ns_alias_build_compact(&weights[0], n, <ns_alias_hot *> &hot_raw[0],
                                        &low_view[0], &work_view[0], &wmax, &total,
                                        allow_simd)
    raise_for_status(status, "alias table build")
    return hot, low, wmax, total


def make_compact(object table):
    """(hot, low): the compact layout of `table`, which must have passed
    check() and have at most COMPACT_MAX entries."""
    cdef const ns_alias_entry *entries = _entries(table)
    cdef int64_t n = table.shape[0]
    if n > NS_ALIAS_COMPACT_MAX:
        raise ValueError(f"a compact table has at most {NS_ALIAS_COMPACT_MAX} items")
    hot = np.empty(n, dtype=HOT_DTYPE)
    low = np.empty(n, dtype=np.uint32)
    cdef unsigned char[::1] hot_raw = hot.view(np.uint8)
    cdef uint32_t[::1] low_view = low
    cdef int status
    with nogil:
        status = ns_alias_make_compact(entries, n, <ns_alias_hot *> &hot_raw[0],
                                       &low_view[0])
    raise_for_status(status, "alias compact layout")
    return hot, low


def expand(object hot, object low):
    """The full layout (TABLE_DTYPE) of a compact table."""
    cdef const ns_alias_hot *hot_entries = _hot(hot)
    cdef int64_t n = hot.shape[0]
    cdef const uint32_t *low_words = _low(low, n)
    table = np.empty(n, dtype=TABLE_DTYPE)
    cdef unsigned char[::1] raw = table.view(np.uint8)
    cdef int status
    with nogil:
        status = ns_alias_expand(hot_entries, low_words, n,
                                 <ns_alias_entry *> &raw[0])
    raise_for_status(status, "alias full layout")
    return table


cdef object _output(object out, int64_t count, object dtype):
    """A new 1-D array of `count` items of dtype, or the caller's `out`
    (already checked by negsamp._validation.as_out) seen as 1-D, no copy."""
    if out is None:
        return np.empty(count, dtype=dtype)
    if not isinstance(out, np.ndarray) or out.dtype != dtype or out.size != count \
            or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be a writeable C-contiguous array of the "
                         "result's dtype and size")
    return out.reshape(-1)  # a view: out is C-contiguous


def sample(object table, object hot, object low, int64_t count, uint64_t k0,
           uint64_t k1, int n_threads, object dtype, object out=None,
           bint allow_simd=True):
    """`count` draws of `dtype` (int64 or int32) from the table, using RNG
    key (k0, k1), written into `out` (flattened, in place) or a new 1-D
    array; returns that array.  The compact layout is read when `hot` is
    not None (draws are the same as from the full one).  allow_simd=False
    (a test hook) runs the baseline-ISA loops, which give the same draws."""
    cdef ns_par par
    cdef const ns_alias_entry *entries
    cdef const ns_alias_hot *hot_entries
    cdef const uint32_t *low_words
    cdef int64_t n = _layout(table, hot, low, &entries, &hot_entries, &low_words)
    cdef int status = 0
    cdef int64_t[::1] out64
    cdef int32_t[::1] out32
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    dtype = np.dtype(dtype)
    if dtype != np.int64 and dtype != np.int32:
        raise TypeError(f"dtype must be int64 or int32, got {dtype}")
    if dtype == np.int32 and n > 2147483647:
        raise ValueError("int32 output needs n <= 2**31 - 1")
    flat = _output(out, count, dtype)
    if count == 0:
        return flat
    make_par(&par, n_threads)
    if dtype == np.int64:
        out64 = flat
        with nogil:
            status = ns_alias_sample_i64(entries, hot_entries, low_words, n, k0, k1,
                                         &out64[0], count, &par, allow_simd)
    else:
        out32 = flat
        with nogil:
            status = ns_alias_sample_i32(entries, hot_entries, low_words, n, k0, k1,
                                         &out32[0], count, &par, allow_simd)
    check_interrupt(status)
    raise_for_status(status, "alias sample")
    return flat


def sample_rows(object table, object hot, object low, const int64_t[::1] keys,
                int64_t row_len, uint64_t k0, uint64_t k1, int n_threads,
                object dtype, object out=None):
    """(len(keys), row_len) draws of `dtype` (int64 or int32): row i from
    keyed stream keys[i] under (k0, k1) (keys already validated), written
    into `out` (in place) or a new array; returns that array (2-D)."""
    cdef ns_par par
    cdef const ns_alias_entry *entries
    cdef const ns_alias_hot *hot_entries
    cdef const uint32_t *low_words
    cdef int64_t n = _layout(table, hot, low, &entries, &hot_entries, &low_words)
    cdef int64_t n_rows = keys.shape[0]
    cdef int status = 0
    cdef int64_t[::1] out64
    cdef int32_t[::1] out32
    if row_len < 0:
        raise ValueError(f"row_len must be >= 0, got {row_len}")
    dtype = np.dtype(dtype)
    if dtype != np.int64 and dtype != np.int32:
        raise TypeError(f"dtype must be int64 or int32, got {dtype}")
    if dtype == np.int32 and n > 2147483647:
        raise ValueError("int32 output needs n <= 2**31 - 1")
    flat = _output(out, n_rows * row_len, dtype)
    result = flat.reshape(n_rows, row_len) if out is None else out
    if n_rows == 0 or row_len == 0:
        return result
    make_par(&par, n_threads)
    if dtype == np.int64:
        out64 = flat
        with nogil:
            status = ns_alias_sample_rows_i64(entries, hot_entries, low_words, n,
                                              k0, k1, &keys[0], n_rows, row_len,
                                              &out64[0], &par)
    else:
        out32 = flat
        with nogil:
            status = ns_alias_sample_rows_i32(entries, hot_entries, low_words, n,
                                              k0, k1, &keys[0], n_rows, row_len,
                                              &out32[0], &par)
    check_interrupt(status)
    raise_for_status(status, "alias sample")
    return result


def probabilities(object table, object hot=None, object low=None):
    """The exact law drawn by the table, as float64 (sums to 1 up to
    rounding); from the compact layout when `hot` is not None."""
    cdef const ns_alias_entry *entries
    cdef const ns_alias_hot *hot_entries
    cdef const uint32_t *low_words
    cdef int64_t n = _layout(table, hot, low, &entries, &hot_entries, &low_words)
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] out_view = out
    cdef int status
    with nogil:
        if hot_entries != NULL:
            status = ns_alias_probabilities_compact(hot_entries, low_words, n,
                                                    &out_view[0])
        else:
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

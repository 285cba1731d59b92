# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of negative sampling: checks buffers, releases the GIL,
calls csrc/ns_negative.c.  Users call negsamp.NegativeSampler instead."""
import numpy as np

from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from libc.stdint cimport int64_t, uint64_t
from negsamp._c_alias cimport ns_alias_entry
from negsamp._c_negative cimport (
    ns_negative_law, ns_negative_row_stats, ns_negative_sample,
    ns_negative_sample_tuples, ns_keyed_uniform,
    ns_negative_complement_build, ns_negative_cumulative,
    ns_negative_bloom_build, NS_NEGATIVE_BLOOM_WORDS,
)
from negsamp._common import raise_for_status
from negsamp._alias import TABLE_DTYPE

cdef double _EMPTY_D[1]
cdef int64_t _EMPTY_I[1]


cdef inline void _check_csr(const int64_t[::1] indptr, const int64_t[::1] indices,
                            int64_t n_items) except *:
    if indptr.shape[0] < 1:
        raise ValueError("indptr must have at least one entry")
    if indptr[0] != 0 or indptr[indptr.shape[0] - 1] != indices.shape[0]:
        raise ValueError("indptr must start at 0 and end at len(indices)")


def row_stats(const double[::1] prob, const int64_t[::1] indptr,
              const int64_t[::1] indices, int n_threads):
    """(row_mass, row_nonzero, prefix) of sorted CSR rows under `prob`."""
    cdef ns_par par
    cdef int64_t n = prob.shape[0]
    cdef int64_t n_rows = indptr.shape[0] - 1
    _check_csr(indptr, indices, n)
    row_mass = np.empty(n_rows, dtype=np.float64)
    row_nonzero = np.empty(n_rows, dtype=np.int64)
    prefix = np.empty(indices.shape[0], dtype=np.float64)
    cdef double[::1] rm = row_mass
    cdef int64_t[::1] rn = row_nonzero
    cdef double[::1] pf = prefix
    cdef int status
    cdef const int64_t *ind_ptr = &indices[0] if indices.shape[0] else _EMPTY_I
    cdef double *pf_ptr = &pf[0] if indices.shape[0] else _EMPTY_D
    cdef double *rm_ptr = &rm[0] if n_rows else _EMPTY_D
    cdef int64_t *rn_ptr = &rn[0] if n_rows else _EMPTY_I
    make_par(&par, n_threads)
    with nogil:
        status = ns_negative_row_stats(&prob[0], n, &indptr[0], ind_ptr, n_rows,
                                       rm_ptr, rn_ptr, pf_ptr, &par)
    check_interrupt(status)
    raise_for_status(status, "negative row statistics")
    return row_mass, row_nonzero, prefix


def bloom_build(const int64_t[::1] indptr, const int64_t[::1] indices, int n_threads):
    """Per-row 512-bit Bloom filters of CSR rows: uint64 (n_rows, 8)."""
    cdef ns_par par
    cdef int64_t n_rows = indptr.shape[0] - 1
    _check_csr(indptr, indices, 0)
    out = np.zeros((n_rows, NS_NEGATIVE_BLOOM_WORDS), dtype=np.uint64)
    cdef uint64_t[:, ::1] v = out
    if n_rows == 0:
        return out
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_negative_bloom_build(&indptr[0], &indices[0] if indices.shape[0] else _EMPTY_I,
                                n_rows, &v[0, 0], &par)
    check_interrupt(status)
    raise_for_status(status, "negative Bloom filters")
    return out


def cumulative(const double[::1] prob):
    """n + 1 compensated cumulative sums of `prob` (cum[0] = 0)."""
    cdef int64_t n = prob.shape[0]
    if n == 0:
        raise ValueError("prob is empty")
    cum = np.empty(n + 1, dtype=np.float64)
    cdef double[::1] cum_v = cum
    with nogil:
        ns_negative_cumulative(&prob[0], n, &cum_v[0])
    return cum


def complement_build(int64_t n_items, object prob, const int64_t[::1] indptr,
                     const int64_t[::1] indices, const int64_t[::1] comp_ptr,
                     int n_threads, object row_eligible=None):
    """Complement tables of the rows r with comp_ptr[r + 1] > comp_ptr[r]:
    (comp_ids, comp_table or None for the uniform law `prob=None`); also
    overwrites row_eligible[r] (float64, n_rows) for those rows when given."""
    cdef ns_par par
    cdef int64_t n_rows = indptr.shape[0] - 1
    _check_csr(indptr, indices, n_items)
    if comp_ptr.shape[0] != n_rows + 1 or comp_ptr[0] != 0:
        raise ValueError("comp_ptr must have n_rows + 1 entries starting at 0")
    cdef int64_t total = comp_ptr[n_rows]
    comp_ids = np.empty(max(total, 1), dtype=np.int64)
    cdef int64_t[::1] ids_v = comp_ids
    cdef const double[::1] prob_v
    cdef const double *prob_ptr = NULL
    cdef unsigned char[::1] raw
    cdef ns_alias_entry *table_ptr = NULL
    cdef double[::1] elig_v
    cdef double *elig_ptr = NULL
    if row_eligible is not None:
        elig_v = row_eligible
        if elig_v.shape[0] != n_rows:
            raise ValueError("row_eligible must have n_rows entries")
        if n_rows:
            elig_ptr = &elig_v[0]
    comp_table = None
    if prob is not None:
        prob_v = prob
        if prob_v.shape[0] != n_items:
            raise ValueError("prob must have n_items entries")
        prob_ptr = &prob_v[0]
        comp_table = np.zeros(max(total, 1), dtype=TABLE_DTYPE)
        raw = comp_table.view(np.uint8)
        table_ptr = <ns_alias_entry *> &raw[0]
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_negative_complement_build(
            n_items, prob_ptr, &indptr[0],
            &indices[0] if indices.shape[0] else _EMPTY_I, n_rows, &comp_ptr[0],
            &ids_v[0], table_ptr, elig_ptr, &par)
    check_interrupt(status)
    raise_for_status(status, "negative complement build")
    return comp_ids[:total], (None if comp_table is None else comp_table[:total])


def sample(int64_t n_items, object table, object prob, object cum,
           const int64_t[::1] indptr, const int64_t[::1] indices,
           object row_mass, object prefix, const int64_t[::1] rows,
           int64_t k, bint replace, uint64_t k0, uint64_t k1, int n_threads,
           bint return_log_q, object comp_ptr=None, object comp_ids=None,
           object comp_table=None, object row_eligible=None, object bloom=None,
           object tmpl=None, int64_t col=0, object keys=None):
    """k negatives for each row id of `rows` (already validated).  `table`
    is None for the uniform law, else a TABLE_DTYPE array with its exact law
    `prob`, cumulative sums `cum` (n + 1) and the row statistics.  Optional
    complement tables from complement_build.  With `tmpl` (an (m, w) int64
    array), returns (out, None) with out (m, k, w): tmpl[i] repeated k
    times, column `col` holding the negatives (ns_negative_sample_tuples;
    no log q).  With `keys` (int64, one non-negative key per row of `rows`,
    already validated), output row i uses keyed stream keys[i]."""
    cdef ns_par par
    cdef const int64_t[::1] keys_v
    cdef const int64_t *keys_ptr = NULL
    cdef ns_negative_law law
    cdef const unsigned char[::1] raw
    cdef const unsigned char[::1] comp_raw
    cdef const int64_t[::1] cptr_v, cids_v
    cdef const double[::1] elig_v
    cdef const uint64_t[:, ::1] bloom_v
    cdef const double[::1] prob_v, cum_v, mass_v, prefix_v
    cdef int64_t m = rows.shape[0]
    cdef int status
    if n_items <= 0:
        raise ValueError(f"n_items must be >= 1, got {n_items}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    _check_csr(indptr, indices, n_items)
    if keys is not None:
        keys_v = keys
        if keys_v.shape[0] != m:
            raise ValueError(f"keys must have len(rows)={m} entries, got {keys_v.shape[0]}")
        if m:
            keys_ptr = &keys_v[0]
    law.n_items = n_items
    law.indptr = &indptr[0]
    law.indices = &indices[0] if indices.shape[0] else _EMPTY_I
    law.n_rows = indptr.shape[0] - 1
    law.table = NULL
    law.prob = NULL
    law.cum = NULL
    law.row_mass = NULL
    law.prefix = NULL
    if table is not None:
        if not isinstance(table, np.ndarray) or table.dtype != TABLE_DTYPE \
                or table.ndim != 1 or not table.flags.c_contiguous \
                or table.shape[0] != n_items:
            raise TypeError("table must be a C-contiguous TABLE_DTYPE array of n_items entries")
        raw = table.view(np.uint8)
        prob_v = prob
        cum_v = cum
        mass_v = row_mass
        prefix_v = prefix
        if prob_v.shape[0] != n_items or cum_v.shape[0] != n_items + 1:
            raise ValueError("prob / cum have the wrong length")
        if mass_v.shape[0] != law.n_rows or prefix_v.shape[0] != indices.shape[0]:
            raise ValueError("row statistics do not match the exclusion lists")
        law.table = <const ns_alias_entry *> &raw[0]
        law.prob = &prob_v[0]
        law.cum = &cum_v[0]
        law.row_mass = &mass_v[0] if law.n_rows else _EMPTY_D
        law.prefix = &prefix_v[0] if indices.shape[0] else _EMPTY_D
    law.comp_ptr = NULL
    law.comp_ids = NULL
    law.comp_table = NULL
    law.row_eligible = NULL
    law.bloom = NULL
    if bloom is not None:
        bloom_v = bloom
        if bloom_v.shape[0] != law.n_rows or bloom_v.shape[1] != NS_NEGATIVE_BLOOM_WORDS:
            raise ValueError("bloom must have shape (n_rows, 8)")
        if law.n_rows:
            law.bloom = &bloom_v[0, 0]
    if row_eligible is not None and table is not None:
        elig_v = row_eligible
        if elig_v.shape[0] != law.n_rows:
            raise ValueError("row_eligible must have n_rows entries")
        if law.n_rows:
            law.row_eligible = &elig_v[0]
    if comp_ptr is not None:
        cptr_v = comp_ptr
        cids_v = comp_ids
        if cptr_v.shape[0] != law.n_rows + 1 or cptr_v[0] != 0 \
                or cptr_v[law.n_rows] != cids_v.shape[0]:
            raise ValueError("complement tables do not match the exclusion lists")
        law.comp_ptr = &cptr_v[0]
        law.comp_ids = &cids_v[0] if cids_v.shape[0] else _EMPTY_I
        if table is not None:
            if not isinstance(comp_table, np.ndarray) or comp_table.dtype != TABLE_DTYPE \
                    or comp_table.shape[0] != cids_v.shape[0] \
                    or not comp_table.flags.c_contiguous:
                raise TypeError("comp_table must match comp_ids")
            if cids_v.shape[0]:
                comp_raw = comp_table.view(np.uint8)
                law.comp_table = <const ns_alias_entry *> &comp_raw[0]
            else:
                law.comp_table = law.table
    cdef const int64_t[:, ::1] tmpl_v
    cdef int64_t[:, :, ::1] tup_v
    cdef int64_t width
    if tmpl is not None:
        tmpl_v = tmpl
        width = tmpl_v.shape[1]
        if tmpl_v.shape[0] != m or width < 1 or not 0 <= col < width:
            raise ValueError(f"tmpl must be (len(rows), w) with 0 <= col={col} < w")
        if return_log_q:
            raise ValueError("tmpl and return_log_q cannot be combined")
        out = np.empty((m, k, width), dtype=np.int64)
        if m == 0 or k == 0:
            return out, None
        tup_v = out
        make_par(&par, n_threads)
        with nogil:
            status = ns_negative_sample_tuples(&law, &rows[0], m, k, replace, k0, k1,
                                               keys_ptr, &par, &tmpl_v[0, 0], width, col,
                                               &tup_v[0, 0, 0])
        check_interrupt(status)
        raise_for_status(status, "negative sample")
        return out, None
    out = np.empty((m, k), dtype=np.int64)
    log_q = np.empty((m, k), dtype=np.float64) if return_log_q else None
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
        status = ns_negative_sample(&law, &rows[0], m, k, replace, k0, k1,
                                    keys_ptr, &par, &out_v[0, 0], lq_ptr)
    check_interrupt(status)
    raise_for_status(status, "negative sample")
    return out, log_q


def keyed_uniform(const int64_t[::1] keys, int64_t k, uint64_t k0, uint64_t k1,
                  int n_threads):
    """float64 (len(keys), k): row i holds the first k uniforms in [0, 1)
    of keyed stream keys[i] under (k0, k1) (keys already validated)."""
    cdef ns_par par
    cdef int64_t m = keys.shape[0]
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    out = np.empty((m, k), dtype=np.float64)
    if m == 0 or k == 0:
        return out
    cdef double[:, ::1] out_v = out
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_keyed_uniform(k0, k1, &keys[0], m, k, &par, &out_v[0, 0])
    check_interrupt(status)
    raise_for_status(status, "keyed uniforms")
    return out

# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of csrc/ns_kg.c: exclusion rows from (anchor, entity) keys,
keyed head-or-tail coins, and the fill of corrupted triples.  Users call
negsamp.corrupt_triples instead."""
import numpy as np

from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from libc.stdint cimport int64_t, uint64_t, uint8_t
from negsamp._c_kg cimport ns_kg_corrupt_fill, ns_kg_key_rows, ns_kg_keyed_uniform
from negsamp._common import raise_for_status


cdef const int64_t *_repl_ptr(object repl, int64_t m, int64_t k) except? NULL:
    if repl is None:
        return NULL
    cdef const int64_t[:, ::1] view = repl
    if view.shape[0] != m or view.shape[1] != k:
        raise ValueError(f"replacements must have shape ({m}, {k})")
    if m == 0 or k == 0:
        return NULL
    return &view[0, 0]


def corrupt_fill(const int64_t[:, ::1] triples, object head_repl, object tail_repl,
                 object is_head, int64_t k, int n_threads):
    """(m, k, 3) corrupted triples (see ns_kg_corrupt_fill)."""
    cdef ns_par par
    cdef int64_t m = triples.shape[0]
    if triples.shape[1] != 3:
        raise ValueError("triples must be (m, 3)")
    out = np.empty((m, k, 3), dtype=np.int64)
    if m == 0 or k == 0:
        return out
    cdef const int64_t *hp = _repl_ptr(head_repl, m, k)
    cdef const int64_t *tp = _repl_ptr(tail_repl, m, k)
    cdef int64_t[:, :, ::1] o = out
    cdef const uint8_t[:, ::1] heads
    cdef const uint8_t *sp = NULL
    if is_head is not None:
        heads = is_head
        if heads.shape[0] != m or heads.shape[1] != k:
            raise ValueError(f"is_head must have shape ({m}, {k})")
        sp = &heads[0, 0]
    if hp == NULL and tp == NULL:
        raise ValueError("corrupt_fill needs head or tail replacements")
    if sp != NULL and (hp == NULL or tp == NULL):
        raise ValueError("is_head needs both head and tail replacements")
    if sp == NULL and hp != NULL and tp != NULL:
        raise ValueError("head and tail replacements need is_head")
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_kg_corrupt_fill(&triples[0, 0], m, k, hp, tp, sp,
                                    &o[0, 0, 0], &par)
    check_interrupt(status)
    raise_for_status(status, "corrupt fill")
    return out


def key_rows(int64_t n, const int64_t[::1] known_keys, const int64_t[::1] keys):
    """(base_indptr, base_indices, row_of, present) of sorted (anchor * n +
    entity) keys (see ns_kg_key_rows): base_indptr has n_base + 2
    entries, the last row empty; present is a bool array."""
    cdef int64_t n_known = known_keys.shape[0], count = keys.shape[0]
    indptr = np.empty(n_known + 2, dtype=np.int64)
    indices = np.empty(n_known, dtype=np.int64)
    row_of = np.empty(count, dtype=np.int64)
    present = np.empty(count, dtype=np.bool_)
    cdef int64_t[::1] ip = indptr
    cdef int64_t[::1] ix = indices
    cdef int64_t[::1] ro = row_of
    cdef uint8_t[::1] pr = present.view(np.uint8)
    cdef int64_t dummy = 0
    cdef int64_t n_base = 0
    cdef int status
    with nogil:
        status = ns_kg_key_rows(
            n, &known_keys[0] if n_known else &dummy, n_known,
            &keys[0] if count else &dummy, count, &ip[0],
            &ix[0] if n_known else &dummy, &n_base,
            &ro[0] if count else &dummy, &pr[0] if count else <uint8_t *> &dummy)
    raise_for_status(status, "kg key_rows")
    return indptr[:n_base + 2], indices, row_of, present


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
        status = ns_kg_keyed_uniform(k0, k1, &keys[0], m, k, &par, &out_v[0, 0])
    check_interrupt(status)
    raise_for_status(status, "keyed uniforms")
    return out

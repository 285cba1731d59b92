# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of csrc/ns_kg.c and csrc/ns_kg_sampler.c: exclusion rows
from (anchor, entity) keys, keyed head-or-tail coins, the fill of corrupted
triples, and the prepared sides of KGSampler.  Users call
negsamp.corrupt_triples and negsamp.KGSampler instead."""
import numpy as np

from negsamp._c_pool cimport ns_par
from negsamp._negsamp_runtime cimport make_par, check_interrupt
from libc.stdint cimport int64_t, uint64_t, uint8_t
from negsamp._c_kg cimport (
    ns_kg_corrupt_fill, ns_kg_index_build, ns_kg_key_rows, ns_kg_keyed_uniform, ns_kg_sample,
    ns_kg_side,
)
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
                 object is_head, int64_t k, int n_threads, object out=None):
    """(m, k, 3) corrupted triples (see ns_kg_corrupt_fill), into `out`
    when given (C-contiguous int64 of that shape)."""
    cdef ns_par par
    cdef int64_t m = triples.shape[0]
    if triples.shape[1] != 3:
        raise ValueError("triples must be (m, 3)")
    if out is None:
        out = np.empty((m, k, 3), dtype=np.int64)
    cdef int64_t[:, :, ::1] o = out
    if o.shape[0] != m or o.shape[1] != k or o.shape[2] != 3:
        raise ValueError(f"out must have shape ({m}, {k}, 3)")
    if m == 0 or k == 0:
        return out
    cdef const int64_t *hp = _repl_ptr(head_repl, m, k)
    cdef const int64_t *tp = _repl_ptr(tail_repl, m, k)
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


cdef class Side:
    """One corruptible side of KGSampler (see ns_kg_side): the sorted
    distinct anchors with their rows (indptr, items), indexed once here,
    and optional per-relation pools (pool_ptr, pool_ids, or None)."""
    cdef ns_kg_side side
    cdef const int64_t[::1] slots, indptr, items, pool_ptr, pool_ids
    cdef int64_t _empty

    def __init__(self, int column, int first, int second, int64_t n_items,
                 const int64_t[::1] anchors, const int64_t[::1] indptr,
                 const int64_t[::1] items, object pool_ptr, object pool_ids):
        cdef int64_t n_groups = anchors.shape[0]
        if indptr.shape[0] != n_groups + 1 or indptr[0] != 0 \
                or indptr[n_groups] != items.shape[0]:
            raise ValueError("indptr must have len(anchors) + 1 entries, from 0 to len(items)")
        if not (0 <= column <= 2 and 0 <= first <= 2 and 0 <= second <= 2) or n_items < 1:
            raise ValueError("bad side columns or n_items")
        cdef int bits = 1
        while (<int64_t> 1 << bits) < 2 * n_groups:
            bits += 1
        cdef int64_t cap = <int64_t> 1 << bits
        slots = np.empty(2 * cap, dtype=np.int64)
        cdef int64_t[::1] sv = slots
        cdef int status
        with nogil:
            status = ns_kg_index_build(&anchors[0] if n_groups else NULL, n_groups, &sv[0],
                                       cap - 1, 64 - bits)
        raise_for_status(status, "kg index")
        self.slots, self.indptr, self.items = slots, indptr, items
        cdef int64_t g, max_len = 0
        for g in range(n_groups):
            max_len = max(max_len, indptr[g + 1] - indptr[g])
        self.side.column, self.side.first, self.side.second = column, first, second
        self.side.n_items = n_items
        self.side.slots, self.side.mask, self.side.shift = &self.slots[0], cap - 1, 64 - bits
        self.side.indptr = &self.indptr[0]
        self.side.items = &self.items[0] if items.shape[0] else &self._empty
        self.side.n_groups, self.side.max_len = n_groups, max_len
        self.side.pool_ptr, self.side.pool_ids, self.side.n_pools = NULL, NULL, 0
        if pool_ptr is not None:
            self.pool_ptr, self.pool_ids = pool_ptr, pool_ids
            if self.pool_ptr.shape[0] < 1 or self.pool_ptr[0] != 0 \
                    or self.pool_ptr[self.pool_ptr.shape[0] - 1] != self.pool_ids.shape[0]:
                raise ValueError("pool_ptr must run from 0 to len(pool_ids)")
            self.side.pool_ptr = &self.pool_ptr[0]
            self.side.pool_ids = &self.pool_ids[0] if self.pool_ids.shape[0] else &self._empty
            self.side.n_pools = self.pool_ptr.shape[0] - 1


def sample(tuple sides, int64_t n_entities, const int64_t[:, ::1] triples, int64_t k,
           object p_head, uint64_t k0, uint64_t k1, object keys, int n_threads,
           int64_t[:, :, ::1] out):
    """Fills out (m, k, 3) with the corruptions of triples (see ns_kg_sample;
    ids already checked).  Returns -1, or the index of the first triple
    with no valid replacement on any side (out then untouched)."""
    cdef ns_kg_side c_sides[3]
    cdef int n_sides = len(sides)
    cdef int64_t m = triples.shape[0]
    if not 1 <= n_sides <= 3:
        raise ValueError("1 to 3 sides")
    if triples.shape[1] != 3 or out.shape[0] != m or out.shape[1] != k or out.shape[2] != 3:
        raise ValueError(f"triples must be (m, 3) and out (m, {k}, 3)")
    cdef Side side
    for j in range(n_sides):
        side = sides[j]
        c_sides[j] = side.side
    cdef const double[::1] ph
    cdef const double *php = NULL
    cdef int64_t i
    if p_head is not None:
        ph = p_head
        php = &ph[0]
        for i in range(m):  # p_head[relation] is read in C
            if not 0 <= triples[i, 1] < ph.shape[0]:
                raise ValueError(f"triples[{i}] has a relation outside [0, {ph.shape[0]})")
    cdef const int64_t[::1] kv
    cdef const int64_t *kp = NULL
    if keys is not None:
        kv = keys
        if kv.shape[0] != m:
            raise ValueError(f"keys must have {m} entries")
        kp = &kv[0] if m else NULL
    if m == 0:
        return -1
    cdef ns_par par
    cdef int64_t bad = -1
    cdef int status
    make_par(&par, n_threads)
    with nogil:
        status = ns_kg_sample(c_sides, n_sides, n_entities, &triples[0, 0], m, k, php,
                              k0, k1, kp, &par, &out[0, 0, 0] if k else NULL, &bad)
    check_interrupt(status)
    if bad >= 0:
        return bad
    raise_for_status(status, "kg sample")
    return -1

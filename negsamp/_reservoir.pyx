# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of reservoirs: checks buffers, releases the GIL, calls
csrc/ns_reservoir.c.  Users call negsamp.Reservoir / WeightedReservoir.

The xoshiro256++ state of a reservoir lives in a numpy uint64 array of 4
words owned by the Python object (so it pickles); each call copies it into a
local ns_rng_t and writes it back only when the kernel succeeded."""
import numpy as np
cimport numpy as cnp
from cpython.ref cimport Py_INCREF

from negsamp._c_common cimport NS_OK, NS_ERR_INTERRUPTED
from negsamp._c_pool cimport ns_par, ns_clock_ms, NS_POOL_POLL_MS
from negsamp._negsamp_runtime cimport (
    make_par, check_interrupt, cached_empty, cached_empty_pair,
)
from libc.stdint cimport int64_t, uint32_t, uint64_t, INT64_MAX
from negsamp._c_common cimport ns_rng_t, ns_rng_seed, ns_rng_exponential, ns_splitmix64
from libc.stdlib cimport malloc, calloc, free
from negsamp._c_reservoir cimport (
    ns_reservoir_update, ns_wreservoir_update, ns_wreservoir_undo,
    ns_wreservoir_saved, ns_wreservoir_undo_restore, NS_WRESERVOIR_BLOCK,
    ns_reservoir_merge, ns_reservoir_shuffle, ns_reservoir_gather, ns_reservoir_prefetch,
    ns_reservoir_resume,
    ns_wreservoir_merge, ns_wreservoir_merge_scratch, ns_wreservoir_heapify,
)

cnp.import_array()
cdef cnp.dtype _FLOAT64 = np.dtype(np.float64)
from negsamp._common import raise_for_status


cdef inline void _load(uint64_t[::1] state, ns_rng_t *rng) noexcept nogil:
    rng.s[0] = state[0]
    rng.s[1] = state[1]
    rng.s[2] = state[2]
    rng.s[3] = state[3]


cdef inline void _store(ns_rng_t *rng, uint64_t[::1] state) noexcept nogil:
    state[0] = rng.s[0]
    state[1] = rng.s[1]
    state[2] = rng.s[2]
    state[3] = rng.s[3]


cdef inline void _check_state(uint64_t[::1] state) except *:
    if state.shape[0] != 4:
        raise ValueError(f"rng state must have 4 words, got {state.shape[0]}")
    if (state[0] | state[1] | state[2] | state[3]) == 0:
        raise ValueError("rng state is all zeros (xoshiro256++'s fixed point)")


#: Streams of one merge key (k0, k1): block 2 seeds the merged reservoir,
#: block 3 draws its threshold or jump, and a uniform merge picks its items
#: from the 16 streams 16..31 (NS_RESERVOIR_MERGE_STREAM; blocks 0 and 1
#: picked and shuffled them before negsamp 0.2.0).
MERGE_STATE, MERGE_RESUME = 2, 3


cdef inline const uint64_t *_state_words(object state) except NULL:
    """The 4 words of a reservoir's rng state array, checked as _check_state
    does (without a memoryview: merges call this twice)."""
    if (not cnp.PyArray_Check(state) or cnp.PyArray_TYPE(<cnp.ndarray>state) != cnp.NPY_UINT64
            or cnp.PyArray_NDIM(<cnp.ndarray>state) != 1
            or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>state)):
        raise ValueError("rng state must be a contiguous uint64 array")
    if cnp.PyArray_DIM(<cnp.ndarray>state, 0) != 4:
        raise ValueError(f"rng state must have 4 words, got {cnp.PyArray_DIM(<cnp.ndarray>state, 0)}")
    cdef const uint64_t *w = <const uint64_t *>cnp.PyArray_DATA(<cnp.ndarray>state)
    if (w[0] | w[1] | w[2] | w[3]) == 0:
        raise ValueError("rng state is all zeros (xoshiro256++'s fixed point)")
    return w


cdef int _derive(object state_a, object state_b, int64_t count_a, int64_t count_b,
                 int64_t k, uint64_t *k0, uint64_t *k1) except -1:
    """derive_key into k0, k1."""
    cdef uint64_t h0 = <uint64_t>0x243F6A8885A308D3, h1 = <uint64_t>0x13198A2E03707344
    cdef uint64_t words[11]
    cdef int i
    cdef const uint64_t *a = _state_words(state_a)
    cdef const uint64_t *b = _state_words(state_b)
    for i in range(4):
        words[i] = a[i]
        words[4 + i] = b[i]
    words[8] = <uint64_t>count_a
    words[9] = <uint64_t>count_b
    words[10] = <uint64_t>k
    for i in range(11):
        h0 ^= words[i]
        h0 = ns_splitmix64(&h0)
        h1 += words[i]
        h1 = ns_splitmix64(&h1) ^ h0
    k0[0] = h0
    k1[0] = h1
    return 0


def derive_key(object state_a, object state_b, int64_t count_a, int64_t count_b,
               int64_t k):
    """A merge key that is a deterministic function of both reservoirs'
    states and counts (SplitMix64 absorbing each word in turn)."""
    cdef uint64_t h0, h1
    _derive(state_a, state_b, count_a, count_b, k, &h0, &h1)
    return int(h0), int(h1)


cdef int _merge_key(object key, object state_a, object state_b, int64_t count_a,
                    int64_t count_b, int64_t k, uint64_t *k0, uint64_t *k1) except -1:
    """The key of a merge: `key` = (k0, k1) when given (drawn from the
    caller's rng), else derive_key of both reservoirs."""
    if key is None:
        return _derive(state_a, state_b, count_a, count_b, k, k0, k1)
    k0[0] = key[0]
    k1[0] = key[1]
    return 0


def seed_state(uint64_t k0, uint64_t k1, uint64_t block=0):
    """The 4-word xoshiro256++ state of stream (k0, k1, block)."""
    cdef ns_rng_t rng
    ns_rng_seed(&rng, k0, k1, block)
    out = np.empty(4, dtype=np.uint64)
    cdef uint64_t[::1] view = out
    _store(&rng, view)
    return out


def uniform_update(uint64_t[::1] state, int64_t k, int64_t count, double w,
                   int64_t next_pos, int64_t length, int64_t[::1] slot_pos,
                   int64_t[::1] touched):
    """Algorithm L over `length` more items.  Returns (count, w, next,
    n_touched); `state` is advanced in place; slot_pos[touched[:n_touched]]
    are the chunk positions of the items that landed in those slots."""
    cdef ns_rng_t rng
    cdef int64_t n_touched = 0, room
    cdef int status
    _check_state(state)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if length < 0 or count < 0:
        raise ValueError("length and count must be >= 0")
    room = min(k, count + length) if count <= (1 << 62) else k
    if slot_pos.shape[0] < room or touched.shape[0] < room:
        raise ValueError("slot_pos/touched buffers are too small")
    _load(state, &rng)
    with nogil:
        status = ns_reservoir_update(&rng, k, &count, &w, &next_pos, length,
                                     &slot_pos[0] if slot_pos.shape[0] else NULL,
                                     &touched[0] if touched.shape[0] else NULL,
                                     &n_touched)
    raise_for_status(status, "reservoir update")
    _store(&rng, state)
    return count, w, next_pos, n_touched


#: Items per segment of a long weighted chunk: between segments the caller's
#: thread checks for Ctrl-C (at most every NS_POOL_POLL_MS).  A multiple of
#: 8, as the scans' blocks are.
cdef int64_t _SEGMENT = 1 << 22
SEGMENT = _SEGMENT
#: Items per block of a weighted update (checked, then scanned from cache).
BLOCK = NS_WRESERVOIR_BLOCK


cdef inline bint _interrupted(ns_par *par, int64_t *last) noexcept nogil:
    cdef int64_t now
    if par.poll == NULL:
        return False
    now = ns_clock_ms()
    if now - last[0] < NS_POOL_POLL_MS:
        return False
    last[0] = now
    return par.poll(par.poll_ctx) != 0


def weighted_update(uint64_t[::1] state, int64_t k, const double[::1] weights,
                    double[::1] heap_keys, int64_t[::1] heap_slots, int64_t size,
                    double remaining, int64_t[::1] slot_pos, int64_t[::1] touched):
    """A-ExpJ over `weights`, checked on the way.  Returns (size, remaining,
    n_touched, total, bad).  bad >= 0 is the index of the first NaN,
    infinite or negative weight: then `state`, the heap and slot_pos are as
    they were (and the other values are those passed in).  Otherwise state
    and heap are updated in place."""
    cdef ns_rng_t rng
    cdef int64_t n_touched = 0, length = weights.shape[0], room
    cdef int64_t new_size = size, bad = -1, j
    cdef double new_remaining = remaining, total = 0.0, part = 0.0
    cdef int status = NS_OK
    _check_state(state)
    if k < 1 or size < 0 or size > k:
        raise ValueError("bad reservoir size")
    if length == 0:
        return size, remaining, 0, 0.0, -1
    room = min(k, size + length)
    if (heap_keys.shape[0] < room or heap_slots.shape[0] < room
            or slot_pos.shape[0] < room or touched.shape[0] < room):
        raise ValueError("heap/slot buffers are too small")
    # A chunk longer than one block is read once (checked and scanned block
    # by block) with an undo log of the heap entries it overwrites, so that
    # a bad weight found late -- or Ctrl-C, checked between segments of a
    # long chunk -- leaves the reservoir as it was.  A shorter chunk is
    # checked whole first: it stays in cache for the scan.
    cdef ns_wreservoir_undo undo
    cdef ns_wreservoir_undo *undo_ptr = NULL
    undo.limit = size
    undo.n = 0
    undo.entries = NULL
    undo.saved = NULL
    if length > NS_WRESERVOIR_BLOCK:
        if size:
            undo.entries = <ns_wreservoir_saved *>malloc(size * sizeof(ns_wreservoir_saved))
            undo.saved = <unsigned char *>calloc(size, 1)
            if undo.entries == NULL or undo.saved == NULL:
                free(undo.entries)
                free(undo.saved)
                raise MemoryError("no memory for the undo log of a weighted update")
        undo_ptr = &undo
    cdef int64_t off = 0, seg, nt = 0, last
    cdef ns_par par
    make_par(&par, 1)
    last = ns_clock_ms()
    _load(state, &rng)
    with nogil:
        while off < length:
            seg = min(_SEGMENT, length - off)
            status = ns_wreservoir_update(&rng, k, &weights[off], seg,
                                          &heap_keys[0], &heap_slots[0], &new_size,
                                          &new_remaining, &slot_pos[0],
                                          &touched[n_touched], &nt, off, undo_ptr,
                                          &part, &bad)
            n_touched += nt
            if status != NS_OK:
                break
            total += part
            off += seg
            if off < length and _interrupted(&par, &last):
                status = NS_ERR_INTERRUPTED
                break
        if status != NS_OK:
            if undo_ptr != NULL:
                ns_wreservoir_undo_restore(undo_ptr, &heap_keys[0], &heap_slots[0])
            for j in range(n_touched):
                slot_pos[touched[j]] = -1
        free(undo.entries)
        free(undo.saved)
    if status != NS_OK:
        check_interrupt(status)
        if bad >= 0:
            return size, remaining, 0, 0.0, bad + off
        raise_for_status(status, "weighted reservoir update")
    _store(&rng, state)
    return new_size, new_remaining, n_touched, total, -1


cdef inline char *_data(object arr, int typenum, int64_t n,
                        int64_t itemsize) except? NULL:
    """The buffer of one of a reservoir's arrays: C-contiguous, of `typenum`
    (or, typenum < 0, of items of `itemsize` bytes), holding at least n
    entries; NULL when n = 0.  The arrays are the reservoir's own: these
    checks guard the kernels against a corrupted object, cheaply."""
    if n == 0:
        return NULL
    if not cnp.PyArray_Check(arr):
        raise ValueError("reservoir buffers must be numpy arrays")
    cdef cnp.ndarray a = <cnp.ndarray>arr
    if (cnp.PyArray_NDIM(a) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(a)
            or cnp.PyArray_DIM(a, 0) < n
            or (typenum >= 0 and cnp.PyArray_TYPE(a) != typenum)
            or (typenum < 0 and cnp.PyArray_ITEMSIZE(a) != itemsize)):
        raise ValueError("reservoir buffers must be C-contiguous arrays of the right dtype")
    return <char *>cnp.PyArray_DATA(a)


cdef inline cnp.ndarray _empty(int64_t n, int typenum):
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    return cnp.PyArray_EMPTY(1, dims, typenum, 0)


cdef extern from "numpy/arrayobject.h":
    enum: NPY_ITEM_REFCOUNT
    # steals a reference to the dtype
    object PyArray_Empty(int nd, cnp.npy_intp *dims, cnp.dtype descr, int fortran)


cdef object _gather(cnp.dtype dtype, object items1, int64_t m1, object items2,
                    int64_t m2, const int64_t *src, int64_t m):
    """A new array of the m items src names (ns_reservoir_gather)."""
    cdef cnp.npy_intp dims[1]
    dims[0] = m
    Py_INCREF(dtype)
    out = PyArray_Empty(1, dims, dtype, 0)
    if m == 0:
        return out
    cdef int64_t itemsize = cnp.PyDataType_ELSIZE(dtype), j
    if cnp.PyDataType_FLAGS(dtype) & NPY_ITEM_REFCOUNT:
        # References must be counted: numpy copies them.
        index = _empty(m, cnp.NPY_INT64)
        for j in range(m):
            (<int64_t *>cnp.PyArray_DATA(index))[j] = src[j]
        both = np.concatenate([items1[:m1], items2[:m2]]) if m1 and m2 else \
            (items1[:m1] if m1 else items2[:m2])
        return both[index]
    cdef char *a = _data(items1, -1, m1, itemsize)
    cdef char *b = _data(items2, -1, m2, itemsize)
    cdef char *o = <char *>cnp.PyArray_DATA(<cnp.ndarray>out)
    with nogil:
        ns_reservoir_gather(o, a, m1, b, src, m, itemsize)
    return out


cdef object _merged_state(uint64_t k0, uint64_t k1):
    cdef ns_rng_t rng
    state = _empty(4, cnp.NPY_UINT64)
    ns_rng_seed(&rng, k0, k1, MERGE_STATE)
    cdef uint64_t *words = <uint64_t *>cnp.PyArray_DATA(<cnp.ndarray>state)
    for i in range(4):
        words[i] = rng.s[i]
    return state


#: int64 entries of a uniform merge's work space kept on the stack (24 KiB):
#: k up to 1023 with both sides short of k, 1535 otherwise.
cdef enum:
    _MERGE_STACK = 3072


def uniform_shuffle(uint64_t[::1] state, int64_t k):
    """A uniformly random permutation of 0..k-1 (ns_reservoir_shuffle),
    `state` advanced in place."""
    cdef ns_rng_t rng
    _check_state(state)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    perm = _empty(k, cnp.NPY_INT64)
    cdef int64_t *p = <int64_t *>cnp.PyArray_DATA(<cnp.ndarray>perm)
    _load(state, &rng)
    with nogil:
        ns_reservoir_shuffle(&rng, p, k)
    _store(&rng, state)
    return perm


def uniform_merge(object key, object state1, object state2, int64_t k, int64_t n1,
                  int64_t n2, cnp.dtype dtype, object items1, object items2,
                  bint fresh=False):
    """The merged uniform reservoir of two that saw n1 and n2 items and hold
    min(k, n1) and min(k, n2) of them (items1, items2: C-contiguous arrays of
    `dtype`, or None when empty): (rng state, items, W, next).  The merge
    key (k0, k1) is `key`, or when None derive_key(state1, state2, n1, n2,
    k) (the states are only read for that).  The state is
    stream (k0, k1, MERGE_STATE); items a new array of the min(k, n1 + n2)
    items of a uniform subset of the union (ns_reservoir_merge, streams
    (k0, k1, 16..31); fresh: both sides shuffled as they are picked from); W ~ Beta(k, n - k + 1) and the next acceptance come
    from stream (k0, k1, MERGE_RESUME) when n1 + n2 >= k (else W = 1,
    next = NEVER)."""
    cdef int64_t m1 = min(k, n1), m2 = min(k, n2), x = 0, m
    cdef int status
    cdef double w = 1.0
    cdef int64_t nxt = INT64_MAX
    cdef ns_rng_t rng
    cdef uint64_t k0, k1
    if k < 1 or n1 < 0 or n2 < 0 or n1 > INT64_MAX - n2:
        raise ValueError("a merge needs k >= 1 and counts >= 0 that add up in int64")
    _merge_key(key, state1, state2, n1, n2, k, &k0, &k1)
    m = min(k, n1 + n2)
    # Items without references are copied as bytes in the same nogil call
    # as the picks and the resumed threshold; others through numpy.
    cdef bint refs = (cnp.PyDataType_FLAGS(dtype) & NPY_ITEM_REFCOUNT) != 0
    cdef int64_t itemsize = cnp.PyDataType_ELSIZE(dtype)
    cdef cnp.npy_intp dims[1]
    cdef char *a = NULL
    cdef char *b = NULL
    cdef char *o = NULL
    cdef int resumed = NS_OK
    cdef uint64_t resume_block = MERGE_RESUME
    # (on a cached block: a tree of merges reuses the memory of its
    # freed outputs)
    items = cached_empty(m, dtype)
    if not refs and m:
        a = _data(items1, -1, m1, itemsize)
        b = _data(items2, -1, m2, itemsize)
        o = <char *>cnp.PyArray_DATA(<cnp.ndarray>items)
    # the picks (m) and the shuffles of sides short of k (m1 + m2): on the
    # stack for the usual k
    cdef int64_t stack_work[_MERGE_STACK]
    cdef int64_t *work = stack_work
    if m + m1 + m2 + 1 > _MERGE_STACK:
        work = <int64_t *>malloc((m + m1 + m2 + 1) * sizeof(int64_t))
        if work == NULL:
            raise MemoryError("no memory for a reservoir merge")
    # (no prefetch: a side's picks are mostly its first items, read in
    # order)
    with nogil:
        status = ns_reservoir_merge(k0, k1, k, n1, m1, n2, m2, fresh, work, work + m, &x,
                                    o, a, b, itemsize)
        if status == NS_OK and n1 + n2 >= k:
            ns_rng_seed(&rng, k0, k1, resume_block)
            resumed = ns_reservoir_resume(&rng, k, n1 + n2, &w, &nxt)
    try:
        # (a Python call only on failure: merges are short calls)
        if status != NS_OK:
            raise_for_status(status, "reservoir merge")
        if refs and m:
            items = _gather(dtype, items1, m1, items2, m2, work, m)
    finally:
        if work != stack_work:
            free(work)
    if resumed != NS_OK:
        raise_for_status(resumed, "reservoir resume")
    return _merged_state(k0, k1), items, w, nxt


# uint32 words of the stack scratch of weighted_merge: 48 KiB
cdef enum:
    _STACK_SCRATCH = 12288


def weighted_merge(object key, object state1, object state2, int64_t count1,
                   int64_t count2, int64_t k, cnp.dtype dtype,
                   object keys1, object slots1, int64_t size1, object items1,
                   object keys2, object slots2, int64_t size2, object items2):
    """The merged weighted reservoir of two A-ExpJ heaps (the first size1
    and size2 entries of float64 keys and int64 slots, size <= k; items:
    the arrays the slots index, None when a side holds nothing) that saw
    count1 and count2 items: (rng state, keys, items, remaining, m).  The
    merge key is `key`, or when None derive_key(state1, state2, count1,
    count2, k).  The sides need not be heaps (any order); slots None: the
    side's position i holds slot i (a merged reservoir's, not read).  keys are the
    union's m = min(k, n) largest in no particular order
    (ns_wreservoir_merge; weighted_heapify makes them a heap) and items
    aligned with them (new arrays): the merged reservoir's slots are
    0..m-1.  remaining is the
    Exp(1) jump of stream (k0, k1, MERGE_RESUME) when the heap is full,
    else 0."""
    cdef int64_t n, m = 0
    cdef int status = NS_OK
    cdef double remaining = 0.0
    cdef ns_rng_t rng
    cdef uint64_t k0, k1
    if k < 1 or size1 < 0 or size2 < 0 or size1 > k or size2 > k:
        raise ValueError("a weighted merge needs heaps of at most k keys")
    _merge_key(key, state1, state2, count1, count2, k, &k0, &k1)
    cdef const double *key1 = <const double *>_data(keys1, cnp.NPY_FLOAT64, size1, 8)
    cdef const int64_t *slot1 = NULL
    cdef const int64_t *slot2 = NULL
    if slots1 is not None:
        slot1 = <const int64_t *>_data(slots1, cnp.NPY_INT64, size1, 8)
    cdef const double *key2 = <const double *>_data(keys2, cnp.NPY_FLOAT64, size2, 8)
    if slots2 is not None:
        slot2 = <const int64_t *>_data(slots2, cnp.NPY_INT64, size2, 8)
    n = size1 + size2
    m = min(n, k)
    # the outputs on one cached block: a tree of merges reuses the memory
    # of its freed outputs
    out_keys, items = cached_empty_pair(m, _FLOAT64, dtype)
    cdef double *ok = <double *>cnp.PyArray_DATA(<cnp.ndarray>out_keys)
    cdef int64_t itemsize = cnp.PyDataType_ELSIZE(dtype)
    cdef bint refs = (cnp.PyDataType_FLAGS(dtype) & NPY_ITEM_REFCOUNT) != 0
    cdef const char *it1 = NULL
    cdef const char *it2 = NULL
    cdef char *out_items = NULL
    if not refs and m:
        # the items are copied as bytes by the kernel
        it1 = _data(items1, -1, size1, itemsize)
        it2 = _data(items2, -1, size2, itemsize)
        out_items = <char *>cnp.PyArray_DATA(<cnp.ndarray>items)
    cdef int64_t *src = NULL
    cdef void *scratch = NULL
    cdef void *heap_scratch = NULL
    # scratch of merges of up to about 2 x 1200 keys on the stack (no
    # malloc and free per merge of a tree)
    cdef uint32_t stack_scratch[_STACK_SCRATCH]
    if n:
        if ns_wreservoir_merge_scratch(n) <= sizeof(stack_scratch):
            scratch = <void *>stack_scratch
        else:
            heap_scratch = malloc(ns_wreservoir_merge_scratch(n))
            scratch = heap_scratch
        if refs:
            src = <int64_t *>malloc(m * sizeof(int64_t))
        if scratch == NULL or (refs and src == NULL):
            free(src)
            free(heap_scratch)
            raise MemoryError("no memory for a reservoir merge")
        ns_reservoir_prefetch(it1, size1 * itemsize)
        ns_reservoir_prefetch(it2, size2 * itemsize)
        with nogil:
            status = ns_wreservoir_merge(key1, slot1, size1, key2, slot2, size2,
                                         k, ok, src, &m, it1, it2, itemsize,
                                         out_items, scratch)
            free(heap_scratch)
    try:
        if status != NS_OK:
            raise_for_status(status, "weighted reservoir merge")
        if refs:
            items = _gather(dtype, items1, size1, items2, size2, src, m)
    finally:
        free(src)
    if m == k:
        # The exposure to the next acceptance is Exp(1) whatever the
        # threshold (memorylessness).
        ns_rng_seed(&rng, k0, k1, MERGE_RESUME)
        remaining = ns_rng_exponential(&rng)
    return _merged_state(k0, k1), out_keys, items, remaining, m


def weighted_heapify(double[::1] keys, int64_t[::1] slots, int64_t n):
    """Makes keys[:n] a min-heap in place, each slot moved with its key
    (ns_wreservoir_heapify: deterministic, O(n))."""
    if n < 0 or keys.shape[0] < n or slots.shape[0] < n:
        raise ValueError("weighted_heapify needs keys and slots of at least n entries")
    if n < 2:
        return
    with nogil:
        ns_wreservoir_heapify(&keys[0], &slots[0], n)


def resume(uint64_t k0, uint64_t k1, int64_t k, int64_t n):
    """(W, next) of a merged uniform reservoir of size k over n >= k items,
    from stream (k0, k1, MERGE_RESUME): W ~ Beta(k, n - k + 1)."""
    cdef ns_rng_t rng
    cdef double w = 1.0
    cdef int64_t nxt = 0
    cdef int status
    if k < 1 or n < k:
        raise ValueError(f"resume needs 1 <= k <= n, got k={k}, n={n}")
    ns_rng_seed(&rng, k0, k1, MERGE_RESUME)
    status = ns_reservoir_resume(&rng, k, n, &w, &nxt)
    raise_for_status(status, "reservoir resume")
    return w, nxt



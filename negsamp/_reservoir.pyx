# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython layer of reservoirs: checks buffers, releases the GIL, calls
csrc/ns_reservoir.c.  Users call negsamp.Reservoir / WeightedReservoir.

The xoshiro256++ state of a reservoir lives in a numpy uint64 array of 4
words owned by the Python object (so it pickles); each call copies it into a
local ns_rng_t and writes it back only when the kernel succeeded."""
import numpy as np

from libc.stdint cimport int64_t, uint64_t
from negsamp._c_common cimport ns_rng_t, ns_rng_seed
from negsamp._c_reservoir cimport (
    ns_reservoir_update, ns_reservoir_check_weights, ns_wreservoir_update,
    ns_reservoir_merge_plan, ns_reservoir_shuffle,
)
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


def seed_state(uint64_t k0, uint64_t k1):
    """The 4-word xoshiro256++ state of stream (k0, k1, block 0)."""
    cdef ns_rng_t rng
    ns_rng_seed(&rng, k0, k1, 0)
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


def check_weights(const double[::1] weights):
    """(index of the first NaN/inf/negative weight or -1, sum of weights)."""
    cdef double total = 0.0
    cdef int64_t bad
    if weights.shape[0] == 0:
        return -1, 0.0
    with nogil:
        bad = ns_reservoir_check_weights(&weights[0], weights.shape[0], &total)
    return bad, total


def weighted_update(uint64_t[::1] state, int64_t k, const double[::1] weights,
                    double[::1] heap_keys, int64_t[::1] heap_slots, int64_t size,
                    double remaining, int64_t[::1] slot_pos, int64_t[::1] touched):
    """A-ExpJ over `weights` (already checked).  Returns (size, remaining,
    n_touched); state and heap are updated in place."""
    cdef ns_rng_t rng
    cdef int64_t n_touched = 0, length = weights.shape[0], room
    cdef int status
    _check_state(state)
    if k < 1 or size < 0 or size > k:
        raise ValueError("bad reservoir size")
    if length == 0:
        return size, remaining, 0
    room = min(k, size + length)
    if (heap_keys.shape[0] < room or heap_slots.shape[0] < room
            or slot_pos.shape[0] < room or touched.shape[0] < room):
        raise ValueError("heap/slot buffers are too small")
    _load(state, &rng)
    with nogil:
        status = ns_wreservoir_update(&rng, k, &weights[0], length,
                                      &heap_keys[0], &heap_slots[0], &size,
                                      &remaining, &slot_pos[0], &touched[0],
                                      &n_touched)
    raise_for_status(status, "weighted reservoir update")
    _store(&rng, state)
    return size, remaining, n_touched


def merge_plan(uint64_t k0, uint64_t k1, int64_t k, int64_t n1, int64_t n2):
    """Indices (pick1, pick2) into two uniform reservoirs' samples whose
    union is a uniform min(k, n1 + n2)-subset of the two streams, in random
    order; uses stream (k0, k1, block 0)."""
    cdef ns_rng_t rng
    cdef int64_t m1 = min(k, n1), m2 = min(k, n2), x = 0
    cdef int status
    if k < 1 or n1 < 0 or n2 < 0:
        raise ValueError("merge_plan needs k >= 1 and counts >= 0")
    pick1 = np.empty(max(m1, 1), dtype=np.int64)
    pick2 = np.empty(max(m2, 1), dtype=np.int64)
    cdef int64_t[::1] p1 = pick1, p2 = pick2
    ns_rng_seed(&rng, k0, k1, 0)
    with nogil:
        status = ns_reservoir_merge_plan(&rng, k, n1, m1, n2, m2, &p1[0],
                                         &p2[0], &x)
    raise_for_status(status, "reservoir merge")
    m = min(k, n1 + n2)
    return pick1[:x].copy(), pick2[:m - x].copy()


def shuffle_index(uint64_t k0, uint64_t k1, int64_t n):
    """A uniformly random permutation of range(n) from stream (k0, k1, 1)."""
    cdef ns_rng_t rng
    out = np.arange(max(n, 0), dtype=np.int64)
    cdef int64_t[::1] view = out
    if n > 1:
        ns_rng_seed(&rng, k0, k1, 1)
        with nogil:
            ns_reservoir_shuffle(&rng, &view[0], n)
    return out

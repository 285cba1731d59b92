# Declarations of csrc/ns_common.h and csrc/ns_rng.h (extern blocks only).
from libc.stdint cimport int64_t, uint64_t

cdef extern from "ns_common.h" nogil:
    int NS_OK
    int NS_ERR_ALLOC
    int NS_ERR_VALUE
    int NS_ERR_EMPTY
    int NS_ERR_CORRUPT
    int NS_ERR_EXHAUSTED
    int NS_ERR_INTERRUPTED

cdef extern from "ns_rng.h" nogil:
    ctypedef struct ns_rng_t:
        uint64_t s[4]
    uint64_t ns_splitmix64(uint64_t *state)
    void ns_rng_seed(ns_rng_t *rng, uint64_t k0, uint64_t k1, uint64_t block)
    uint64_t ns_rng_next(ns_rng_t *rng)
    double ns_rng_double(ns_rng_t *rng)
    double ns_rng_exponential(ns_rng_t *rng)
    uint64_t ns_rng_bounded(ns_rng_t *rng, uint64_t n)

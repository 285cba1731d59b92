# Declarations of csrc/ns_reservoir.h (extern blocks only).
from libc.stdint cimport int64_t, uint64_t
from negsamp._c_common cimport ns_rng_t

cdef extern from "ns_reservoir.h" nogil:
    int ns_reservoir_update(ns_rng_t *rng, int64_t k, int64_t *count, double *w,
                            int64_t *next, int64_t length, int64_t *slot_pos,
                            int64_t *touched, int64_t *n_touched)
    enum: NS_WRESERVOIR_BLOCK
    ctypedef struct ns_wreservoir_saved:
        int64_t pos
        double key
        int64_t slot
    ctypedef struct ns_wreservoir_undo:
        int64_t limit
        int64_t n
        ns_wreservoir_saved *entries
        unsigned char *saved
    int ns_wreservoir_update(ns_rng_t *rng, int64_t k, const double *weights,
                             int64_t length, double *heap_keys,
                             int64_t *heap_slots, int64_t *size,
                             double *remaining, int64_t *slot_pos,
                             int64_t *touched, int64_t *n_touched,
                             int64_t pos_offset, ns_wreservoir_undo *undo,
                             double *total, int64_t *bad)
    void ns_wreservoir_undo_restore(ns_wreservoir_undo *undo, double *heap_keys,
                                    int64_t *heap_slots)
    int ns_reservoir_merge(uint64_t k0, uint64_t k1, int64_t k, int64_t n1,
                           int64_t m1, int64_t n2, int64_t m2, int fresh,
                           int64_t *src, int64_t *scratch, int64_t *x1,
                           void *out, const void *items1, const void *items2,
                           int64_t itemsize)
    int ns_reservoir_shuffle(ns_rng_t *rng, int64_t *perm, int64_t k)
    void ns_reservoir_prefetch(const void *data, int64_t bytes)
    void ns_reservoir_gather(void *out, const void *items1, int64_t m1,
                             const void *items2, const int64_t *src, int64_t m,
                             int64_t itemsize)
    size_t ns_wreservoir_merge_scratch(int64_t n)
    int ns_wreservoir_merge(const double *keys1, const int64_t *slots1,
                            int64_t size1, const double *keys2,
                            const int64_t *slots2, int64_t size2, int64_t k,
                            double *out_keys, int64_t *src, int64_t *m_out,
                            const void *items1, const void *items2,
                            int64_t itemsize, void *out_items, void *scratch)
    void ns_wreservoir_heapify(double *keys, int64_t *slots, int64_t n)
    int ns_reservoir_resume(ns_rng_t *rng, int64_t k, int64_t n, double *w,
                            int64_t *next)

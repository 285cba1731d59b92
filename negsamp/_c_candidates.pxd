# Declarations of csrc/ns_candidates.h (extern blocks only).
from negsamp._c_pool cimport ns_par
from libc.stdint cimport int32_t, int64_t, uint64_t, uint8_t

cdef extern from "ns_candidates.h" nogil:
    int NS_CANDIDATES_UNIFORM
    int NS_CANDIDATES_LOG_UNIFORM
    int NS_CANDIDATES_BLOCK
    int ns_candidates_draw(int law, int64_t n, const int64_t *excluded,
                           int64_t n_excluded, uint64_t k0, uint64_t k1,
                           int64_t *out, int64_t count, const ns_par *par)
    int ns_candidates_unique(const int64_t *values, int64_t count, int64_t *slots,
                             int bits, int64_t *out, int64_t *n_unique)
    int ns_candidates_hits_mask(const int64_t *indptr, const int64_t *indices,
                                const int64_t *rows, int64_t n_batch,
                                const int64_t *candidates, int64_t n_candidates,
                                int64_t stride, const int64_t *sorted_values,
                                const int64_t *sorted_positions, uint8_t *mask,
                                int64_t *counts, const ns_par *par)
    int ns_candidates_hits_pairs(const uint8_t *mask, int64_t n_batch,
                                 int64_t n_candidates, const int64_t *offsets,
                                 int32_t *out_rows, int64_t *out_cols,
                                 const ns_par *par)

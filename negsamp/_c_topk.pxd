# Declarations of csrc/ns_topk.h (extern blocks only).
from negsamp._c_pool cimport ns_par
from libc.stdint cimport int64_t, uint64_t
from negsamp._c_common cimport ns_rng_t

cdef extern from "ns_topk.h" nogil:
    ctypedef struct ns_topk_t:
        int64_t n_rows
        int64_t capacity
        double *keys
        double *scores
        int64_t *ids
        int64_t *sizes
        const int64_t *excl_indptr
        const int64_t *excl_indices
        const double *upper
        double lower
        int largest
        int finite_only
        double inv_temperature
        ns_rng_t *rngs
        uint64_t *packed
        int allow_simd
    int ns_topk_reset(ns_topk_t *st, uint64_t k0, uint64_t k1, const int64_t *keys)
    int ns_topk_merge_f32(ns_topk_t *st, const float *tile, int64_t n_rows,
                          int64_t n_cols, int64_t ld, int64_t row0,
                          int64_t col0, const ns_par *par)
    int ns_topk_merge_f64(ns_topk_t *st, const double *tile, int64_t n_rows,
                          int64_t n_cols, int64_t ld, int64_t row0,
                          int64_t col0, const ns_par *par)
    int ns_topk_finish_f32(ns_topk_t *st, int64_t skip, int64_t k,
                           int64_t *out_ids, float *out_scores, const ns_par *par)
    int ns_topk_finish_f64(ns_topk_t *st, int64_t skip, int64_t k,
                           int64_t *out_ids, double *out_scores, const ns_par *par)
    int ns_topk_merge_lists_f32(const int64_t *ids, const float *scores, int64_t n_parts,
                                int64_t n_rows, int64_t cap, int largest, int64_t skip,
                                int64_t k, int64_t *out_ids, float *out_scores)
    int ns_topk_merge_lists_f64(const int64_t *ids, const double *scores, int64_t n_parts,
                                int64_t n_rows, int64_t cap, int largest, int64_t skip,
                                int64_t k, int64_t *out_ids, double *out_scores)

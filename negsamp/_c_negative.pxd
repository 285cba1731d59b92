# Declarations of csrc/ns_negative.h and csrc/ns_scored.h (extern blocks only).
from negsamp._c_pool cimport ns_par
from libc.stdint cimport int64_t, uint64_t
from negsamp._c_alias cimport ns_alias_entry

cdef extern from "ns_negative.h" nogil:
    int NS_NEGATIVE_BLOCK_ROWS
    ctypedef struct ns_negative_law:
        int64_t n_items
        const ns_alias_entry *table
        const double *prob
        const double *cum
        const int64_t *indptr
        const int64_t *indices
        int64_t n_rows
        const double *row_mass
        const double *prefix
        const int64_t *comp_ptr
        const int64_t *comp_ids
        const ns_alias_entry *comp_table
        const double *row_eligible
        const uint64_t *bloom
    int NS_NEGATIVE_BLOOM_WORDS
    int ns_negative_bloom_build(const int64_t *indptr, const int64_t *indices,
                                int64_t n_rows, uint64_t *bloom, const ns_par *par)
    int ns_negative_cumulative(const double *prob, int64_t n, double *cum)
    int ns_negative_row_stats(const double *prob, int64_t n_items,
                              const int64_t *indptr, const int64_t *indices,
                              int64_t n_rows, double *row_mass,
                              int64_t *row_nonzero, double *prefix,
                              const ns_par *par)
    int ns_negative_complement_build(int64_t n_items, const double *prob,
                                     const int64_t *indptr,
                                     const int64_t *indices, int64_t n_rows,
                                     const int64_t *comp_ptr, int64_t *comp_ids,
                                     ns_alias_entry *comp_table,
                                     double *row_eligible, const ns_par *par)
    int ns_negative_sample(const ns_negative_law *law, const int64_t *rows,
                           int64_t n_out, int64_t k, int replace, uint64_t k0,
                           uint64_t k1, const int64_t *keys, const ns_par *par,
                           int64_t *out, double *log_q)
    int ns_negative_sample_tuples(const ns_negative_law *law, const int64_t *rows,
                                  int64_t n_out, int64_t k, int replace,
                                  uint64_t k0, uint64_t k1, const int64_t *keys,
                                  const ns_par *par, const int64_t *tmpl,
                                  int64_t width, int64_t col, int64_t *out)

cdef extern from "ns_scored.h" nogil:
    int NS_SCORED_BLOCK_ROWS
    int NS_SCORED_KERNEL_AUTO
    int NS_SCORED_KERNEL_SCALAR
    int NS_SCORED_KERNEL_AVX2
    int NS_SCORED_KERNEL_AVX512
    ctypedef struct ns_scored_args:
        const int64_t *pool
        const double *pool_log_q
        int64_t n_rows
        int64_t pool_size
        int64_t k
        int64_t n_items
        int64_t dim
        int64_t query_ld
        int64_t item_ld
        int distinct
        double inv_temperature
        uint64_t k0
        uint64_t k1
        int kernel
        int64_t *out_ids
        double *out_log_q
    int ns_scored_kernel_available(int kernel)
    int ns_scored_best_kernel()
    int ns_scored_select_f32(const ns_scored_args *args, const float *queries,
                             const float *items, float *out_scores, const ns_par *par)
    int ns_scored_select_f64(const ns_scored_args *args, const double *queries,
                             const double *items, double *out_scores, const ns_par *par)

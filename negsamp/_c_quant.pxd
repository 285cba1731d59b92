# Declarations of csrc/ns_quant.h (extern blocks only).
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t
from negsamp._c_pool cimport ns_par

cdef extern from "ns_quant.h" nogil:
    int NS_QUANT_KERNEL_SCALAR
    int NS_QUANT_KERNEL_AVX2
    int NS_QUANT_KERNEL_VNNI
    int NS_QUANT_KERNEL_AMX
    int NS_QUANT_MAX_DIM
    int NS_QUANT_COL_PAD
    int ns_quant_best_kernel()
    int ns_quant_kernel_available(int kernel)
    int64_t ns_quant_dim_pad(int64_t dim)
    int64_t ns_quant_tile_bytes(int kernel, int64_t n_pad, int64_t dim)
    int64_t ns_quant_query_bytes(int kernel, int64_t n_rows, int64_t dim)
    ctypedef struct ns_quant_search_t:
        int64_t n_rows, dim, capacity
        int kernel
        const float *queries
        uint8_t *q_packed
        double *q_scale
        double *q_norm
        double *q_err
        double *q_qnorm
        double *keys
        int64_t *ids
        int64_t *sizes
        int64_t *rescored
        const int64_t *excl_indptr
        const int64_t *excl_indices
        const double *lower
        const double *upper
    ctypedef struct ns_quant_tile_t:
        int64_t n_pad
        uint8_t *packed
        int32_t *csum
        double *scale
        double *norm
        double *err
        double *qnorm
    int ns_quant_search_init(ns_quant_search_t *st)
    int ns_quant_search_tile(ns_quant_search_t *st, const float *tile, int64_t n_tile,
                             int64_t col0, ns_quant_tile_t *work, const ns_par *par)
    int ns_quant_search_finish(ns_quant_search_t *st, int64_t skip, int64_t k, int negate,
                               int64_t *out_ids, float *out_scores)
    int ns_quant_rows(int kernel, const float *x, int64_t n, int64_t dim, int8_t *codes,
                      double *scale, double *norm, double *err, double *qnorm)
    int ns_quant_products(int kernel, const int8_t *q_codes, int64_t n_q,
                          const int8_t *c_codes, int64_t n_c, int64_t dim, int32_t *out)
    double ns_quant_dot_exact(int kernel, const float *x, const float *y, int64_t dim)
    int ns_quant_dot_exact_rows(int kernel, const float *x, const float *rows,
                                const int64_t *cols, int64_t n, int64_t dim, double *out)

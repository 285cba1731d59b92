# Declarations of csrc/ns_alias.h (extern blocks only).
from negsamp._c_pool cimport ns_par
from negsamp._c_common cimport ns_rng_t
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

cdef extern from "ns_alias.h" nogil:
    int ns_alias_settle_tie(uint64_t threshold, uint32_t coin_hi, ns_rng_t *rng)
    ctypedef struct ns_alias_entry:
        uint64_t threshold
        int64_t alias
    ctypedef struct ns_alias_hot:
        uint32_t t_hi
        uint32_t alias
    int NS_ALIAS_BLOCK
    int64_t NS_ALIAS_COMPACT_MAX
    int ns_alias_build(const double *weights, int64_t n, ns_alias_entry *table,
                       int64_t *work, double *max_weight, double *total_scaled)
    int ns_alias_build_compact(const double *weights, int64_t n, ns_alias_hot *hot,
                               uint32_t *low, uint8_t *work, double *max_weight,
                               double *total_scaled, int allow_simd)
    int ns_alias_make_compact(const ns_alias_entry *table, int64_t n,
                              ns_alias_hot *hot, uint32_t *low)
    int ns_alias_expand(const ns_alias_hot *hot, const uint32_t *low, int64_t n,
                        ns_alias_entry *table)
    int ns_alias_sample_i64(const ns_alias_entry *table, const ns_alias_hot *hot,
                            const uint32_t *low, int64_t n, uint64_t k0,
                            uint64_t k1, int64_t *out, int64_t count,
                            const ns_par *par, int allow_simd)
    int ns_alias_sample_i32(const ns_alias_entry *table, const ns_alias_hot *hot,
                            const uint32_t *low, int64_t n, uint64_t k0,
                            uint64_t k1, int32_t *out, int64_t count,
                            const ns_par *par, int allow_simd)
    int ns_alias_sample_rows_i64(const ns_alias_entry *table,
                                 const ns_alias_hot *hot, const uint32_t *low,
                                 int64_t n, uint64_t k0, uint64_t k1,
                                 const int64_t *keys, int64_t n_rows,
                                 int64_t row_len, int64_t *out, const ns_par *par)
    int ns_alias_sample_rows_i32(const ns_alias_entry *table,
                                 const ns_alias_hot *hot, const uint32_t *low,
                                 int64_t n, uint64_t k0, uint64_t k1,
                                 const int64_t *keys, int64_t n_rows,
                                 int64_t row_len, int32_t *out, const ns_par *par)
    int ns_alias_probabilities(const ns_alias_entry *table, int64_t n,
                               double *out)
    int ns_alias_probabilities_compact(const ns_alias_hot *hot,
                                       const uint32_t *low, int64_t n,
                                       double *out)
    int ns_alias_check(const ns_alias_entry *table, int64_t n)

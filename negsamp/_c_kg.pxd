# Declarations of csrc/ns_kg.h (extern blocks only).
from negsamp._c_pool cimport ns_par
from libc.stdint cimport int64_t, uint64_t, uint8_t

cdef extern from "ns_kg.h" nogil:
    int ns_kg_key_rows(int64_t n, const int64_t *known_keys, int64_t n_known,
                       const int64_t *keys, int64_t count, int64_t *base_indptr,
                       int64_t *base_indices, int64_t *n_base, int64_t *row_of,
                       uint8_t *present)
    int ns_kg_keyed_uniform(uint64_t k0, uint64_t k1, const int64_t *keys,
                            int64_t n_rows, int64_t k, const ns_par *par,
                            double *out)
    int ns_kg_corrupt_fill(const int64_t *triples, int64_t m, int64_t k,
                           const int64_t *head_repl, const int64_t *tail_repl,
                           const uint8_t *is_head, int64_t *out,
                           const ns_par *par)

    ctypedef struct ns_kg_side:
        int column, first, second
        int64_t n_items
        const int64_t *slots
        int64_t mask
        int shift
        const int64_t *indptr
        const int64_t *items
        int64_t n_groups, max_len
        const int64_t *pool_ptr
        const int64_t *pool_ids
        int64_t n_pools

    int ns_kg_index_build(const int64_t *anchors, int64_t n_groups,
                          int64_t *slots, int64_t mask, int shift)
    int ns_kg_sample(const ns_kg_side *sides, int n_sides, int64_t n_entities,
                     const int64_t *triples, int64_t m, int64_t k,
                     const double *p_head, uint64_t k0, uint64_t k1,
                     const int64_t *keys, const ns_par *par, int64_t *out,
                     int64_t *bad)

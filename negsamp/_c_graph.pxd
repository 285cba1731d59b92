# Declarations of csrc/ns_graph.h (extern blocks only).
from negsamp._c_pool cimport ns_par
from libc.stdint cimport int64_t, uint64_t, uint8_t

cdef extern from "ns_graph.h" nogil:
    int NS_GRAPH_BLOCK
    int ns_graph_pair_space(int64_t n, int undirected, int no_self_loops,
                            int64_t *size)
    int ns_graph_encode(int64_t n, int undirected, int no_self_loops,
                        const int64_t *u, const int64_t *v, int64_t *codes,
                        int64_t count, const ns_par *par)
    int ns_graph_decode(int64_t n, int undirected, int no_self_loops,
                        const int64_t *codes, int64_t *u, int64_t *v,
                        int64_t count, const ns_par *par)
    int ns_graph_rank_to_code(const int64_t *gaps, int64_t n_edges,
                              const int64_t *bucket_start, int shift,
                              const int64_t *ranks, int64_t *out,
                              int64_t count, const ns_par *par)
    int ns_graph_sample_free(const int64_t *gaps, int64_t n_edges,
                             const int64_t *bucket_start, int shift,
                             int64_t n_free, uint64_t k0, uint64_t k1,
                             uint64_t first_block, int64_t *out,
                             int64_t count, const ns_par *par)
    int ns_graph_corrupt_fill(const int64_t *triples, int64_t m, int64_t k,
                              const int64_t *head_repl,
                              const int64_t *tail_repl,
                              const uint8_t *is_head, int64_t *out,
                              const ns_par *par)
    int ns_graph_key_rows(int64_t n, const int64_t *known_keys, int64_t n_known,
                          const int64_t *keys, int64_t count,
                          int64_t *base_indptr, int64_t *base_indices,
                          int64_t *n_base, int64_t *row_of, uint8_t *present)

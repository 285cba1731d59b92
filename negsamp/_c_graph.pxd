# Declarations of csrc/ns_graph.h (extern blocks only).
from negsamp._c_pool cimport ns_par
from libc.stdint cimport int64_t, uint64_t

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

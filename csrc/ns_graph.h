/*
 * ns_graph.h -- uniform non-edges of a graph ("global" negative edges).
 *
 * The candidate node pairs of a graph on n nodes are numbered by a "code" in
 * [0, P) (see ns_graph_pair_space).  The edges, as sorted unique codes
 * e_0 < e_1 < ... < e_{E-1}, are turned once into gaps d_i = e_i - i (a
 * non-decreasing sequence).  The j-th free code (j in [0, P - E)) is then
 *     f_j = j + #{i : d_i <= j},
 * one binary search: a uniform j gives a uniform non-edge whatever the
 * density, with no rejection loop that could run long on dense graphs.
 * Knowledge-graph corruption is in ns_kg.h.
 */
#ifndef NS_GRAPH_H
#define NS_GRAPH_H

#include <stdint.h>

#include "ns_pool.h"

/* Draws per RNG block (fixed: output does not depend on the thread count). */
#define NS_GRAPH_BLOCK 8192

/* Pair spaces.  DIRECTED: ordered (u, v); UNDIRECTED: u <= v.  With
 * no_self_loops the pairs u == v are left out of the space. */
#define NS_GRAPH_DIRECTED 0
#define NS_GRAPH_UNDIRECTED 1

/* Size P of the pair space of n nodes, or NS_ERR_VALUE when it does not fit
 * in int64. */
int ns_graph_pair_space(int64_t n, int undirected, int no_self_loops,
                        int64_t *size);

/* Code of each pair (u[i], v[i]) (undirected: of (min, max)); pairs outside
 * the space (self loops when no_self_loops) get -1.  Ids must be in [0, n). */
int ns_graph_encode(int64_t n, int undirected, int no_self_loops,
                    const int64_t *u, const int64_t *v, int64_t *codes,
                    int64_t count, const ns_par *par);

/* Pairs of codes[0..count) into u[0..count), v[0..count) (undirected: u < v,
 * or u <= v with self loops).  NS_ERR_VALUE for a code outside [0, P). */
int ns_graph_decode(int64_t n, int undirected, int no_self_loops,
                    const int64_t *codes, int64_t *u, int64_t *v,
                    int64_t count, const ns_par *par);

/* out[i] = the ranks[i]-th free code, given the gaps d[0..n_edges) of the
 * sorted edge codes (d_i = e_i - i) and their bucket index.  Ranks must be
 * in [0, n_free).  The bucket index makes a rank one short search instead
 * of log2(E) cache misses: bucket_start[b] = #{i : gaps[i] < b << shift}
 * for b in [0, ((n_free - 1) >> shift) + 1] (negsamp/_graph.pyx's
 * free_index builds it). */
int ns_graph_rank_to_code(const int64_t *gaps, int64_t n_edges,
                          const int64_t *bucket_start, int shift,
                          const int64_t *ranks, int64_t *out, int64_t count,
                          const ns_par *par);

/* out[0..count): independent uniform free codes (uniform ranks in
 * [0, n_free) mapped by ns_graph_rank_to_code).  Draw i uses the stream of
 * block first_block + i / NS_GRAPH_BLOCK under key (k0, k1).  NS_ERR_EMPTY
 * when n_free <= 0. */
int ns_graph_sample_free(const int64_t *gaps, int64_t n_edges,
                         const int64_t *bucket_start, int shift,
                         int64_t n_free, uint64_t k0, uint64_t k1,
                         uint64_t first_block, int64_t *out, int64_t count,
                         const ns_par *par);

#endif /* NS_GRAPH_H */

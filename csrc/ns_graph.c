/*
 * ns_graph.c -- pair codes and uniform non-edges by rank (see ns_graph.h).
 * The knowledge-graph kernels live in ns_kg.c.
 */
#include "ns_graph.h"

#include <math.h>

#include "ns_common.h"
#include "ns_pool.h"
#include "ns_rng.h"
#include "ns_search.h"

/* Items per chunk of the element-wise loops below, and chunks per thread
 * below which a loop stays on the caller's thread (a chunk of 65536 simple
 * items is tens of microseconds). */
#define NS_GRAPH_CHUNK 65536
#define NS_GRAPH_MIN_CHUNKS 16

/* First index of row u of an undirected pair space whose rows hold
 * m, m - 1, m - 2, ... pairs (m = n with self loops, n - 1 without). */
static inline int64_t row_start(int64_t u, int64_t m) {
    return u * m - (u * (u - 1)) / 2;
}

int ns_graph_pair_space(int64_t n, int undirected, int no_self_loops,
                        int64_t *size) {
    if (n < 0) return NS_ERR_VALUE;
    /* n * n must fit: the encoders form u * n. */
    if (n > 3037000499LL) return NS_ERR_VALUE;
    if (!undirected) {
        *size = no_self_loops ? n * (n - (n > 0)) : n * n;
    } else {
        *size = no_self_loops ? (n * (n - (n > 0))) / 2 : (n * (n + 1)) / 2;
    }
    return NS_OK;
}

NS_INLINE int64_t encode_one(int64_t n, int undirected, int no_self_loops,
                             int64_t u, int64_t v) {
    if (no_self_loops && u == v) return -1;
    if (!undirected) {
        if (!no_self_loops) return u * n + v;
        return u * (n - 1) + v - (v > u);
    }
    if (u > v) {
        int64_t t = u;
        u = v;
        v = t;
    }
    if (!no_self_loops) return row_start(u, n) + (v - u);
    return row_start(u, n - 1) + (v - u - 1);
}

/* One encode or decode call.  The chunk loops of encode, decode and
 * rank_to_code mark a bad input with -1 and keep going, folding the status
 * with ns_status_worst (ns_common.h) and returning it at the end. */
typedef struct {
    int64_t n, count;
    int undirected, no_self_loops;
    int64_t size; /* P, the size of the pair space (decode checks codes) */
    const int64_t *u, *v, *codes_in;
    int64_t *codes, *u_out, *v_out;
} code_job;

static int encode_chunk(void *vjob, int64_t c0, int64_t c1) {
    const code_job *job = (const code_job *)vjob;
    const int64_t n = job->n;
    const int64_t *u = job->u, *v = job->v;
    int status = NS_OK;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_GRAPH_CHUNK, job->count, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            if (u[i] < 0 || u[i] >= n || v[i] < 0 || v[i] >= n) {
                status = ns_status_worst(status, NS_ERR_VALUE);
                job->codes[i] = -1;
            } else {
                job->codes[i] = encode_one(n, job->undirected,
                                           job->no_self_loops, u[i], v[i]);
            }
        }
    }
    return status;
}

/* Completes `job` (its arrays set by the caller) with the pair space,
 * checked, and runs `chunk` over its count items. */
static int run_code_job(code_job *job, int64_t n, int undirected,
                        int no_self_loops, int64_t count, const ns_par *par,
                        ns_chunk_fn chunk) {
    if (ns_graph_pair_space(n, undirected, no_self_loops, &job->size) != NS_OK)
        return NS_ERR_VALUE;
    job->n = n;
    job->count = count;
    job->undirected = undirected;
    job->no_self_loops = no_self_loops;
    return ns_par_for(par, ns_chunk_count(count, NS_GRAPH_CHUNK),
                      NS_GRAPH_MIN_CHUNKS, chunk, job);
}

int ns_graph_encode(int64_t n, int undirected, int no_self_loops,
                    const int64_t *u, const int64_t *v, int64_t *codes,
                    int64_t count, const ns_par *par) {
    code_job job = {.u = u, .v = v, .codes = codes};
    return run_code_job(&job, n, undirected, no_self_loops, count, par,
                        encode_chunk);
}

NS_INLINE void decode_one(int64_t n, int undirected, int no_self_loops,
                          int64_t code, int64_t *u, int64_t *v) {
    if (!undirected) {
        if (!no_self_loops) {
            *u = code / n;
            *v = code % n;
        } else {
            const int64_t a = code / (n - 1), b = code % (n - 1);
            *u = a;
            *v = b + (b >= a);
        }
        return;
    }
    const int64_t m = no_self_loops ? n - 1 : n; /* pairs in row 0 */
    const int64_t rows = m;                      /* number of rows */
    /* Largest r with row_start(r) <= code: the root of the quadratic, then an
     * exact integer correction of the floating-point estimate. */
    const double b = 2.0 * (double)m + 1.0;
    double disc = b * b - 8.0 * (double)code;
    if (disc < 0) disc = 0;
    int64_t r = (int64_t)((b - sqrt(disc)) / 2.0);
    if (r < 0) r = 0;
    if (r > rows - 1) r = rows - 1;
    while (r > 0 && row_start(r, m) > code) r--;
    while (r + 1 < rows && row_start(r + 1, m) <= code) r++;
    *u = r;
    *v = r + (code - row_start(r, m)) + (no_self_loops ? 1 : 0);
}

static int decode_chunk(void *vjob, int64_t c0, int64_t c1) {
    const code_job *job = (const code_job *)vjob;
    const int64_t *codes = job->codes_in;
    int64_t *u = job->u_out, *v = job->v_out;
    int status = NS_OK;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_GRAPH_CHUNK, job->count, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            if (codes[i] < 0 || codes[i] >= job->size) {
                status = ns_status_worst(status, NS_ERR_VALUE);
                u[i] = v[i] = -1;
            } else {
                decode_one(job->n, job->undirected, job->no_self_loops,
                           codes[i], &u[i], &v[i]);
            }
        }
    }
    return status;
}

int ns_graph_decode(int64_t n, int undirected, int no_self_loops,
                    const int64_t *codes, int64_t *u, int64_t *v,
                    int64_t count, const ns_par *par) {
    code_job job = {.codes_in = codes, .u_out = u, .v_out = v};
    return run_code_job(&job, n, undirected, no_self_loops, count, par,
                        decode_chunk);
}

/* #{i : gaps[i] <= j} using the bucket index: every gap below
 * (j >> shift) << shift is <= j, every gap at or above the next bucket's
 * start is > j, so only one bucket's gaps are searched.  The gaps are
 * stored (the bucket index is built over them), so this is
 * ns_search_count_le rather than ns_search_free_id over the edge codes. */
NS_INLINE int64_t count_le_indexed(const int64_t *gaps,
                                   const int64_t *bucket_start, int shift,
                                   int64_t j) {
    const int64_t b = j >> shift;
    const int64_t lo = bucket_start[b];
    return lo + ns_search_count_le(gaps + lo, bucket_start[b + 1] - lo, j);
}

typedef struct {
    const int64_t *gaps, *bucket_start, *ranks;
    int shift;
    int64_t n_free, count;
    uint64_t k0, k1, first_block;
    int64_t *out;
} rank_job;

static int rank_chunk(void *vjob, int64_t c0, int64_t c1) {
    const rank_job *job = (const rank_job *)vjob;
    const int64_t *ranks = job->ranks;
    int status = NS_OK;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_GRAPH_CHUNK, job->count, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            if (ranks[i] < 0) {
                status = ns_status_worst(status, NS_ERR_VALUE);
                job->out[i] = -1;
            } else {
                job->out[i] = ranks[i] + count_le_indexed(job->gaps,
                    job->bucket_start, job->shift, ranks[i]);
            }
        }
    }
    return status;
}

int ns_graph_rank_to_code(const int64_t *gaps, int64_t n_edges,
                          const int64_t *bucket_start, int shift,
                          const int64_t *ranks, int64_t *out, int64_t count,
                          const ns_par *par) {
    (void)n_edges;
    rank_job job = {
        .gaps = gaps,
        .bucket_start = bucket_start,
        .ranks = ranks,
        .shift = shift,
        .count = count,
        .out = out,
    };
    return ns_par_for(par, ns_chunk_count(count, NS_GRAPH_CHUNK),
                      NS_GRAPH_MIN_CHUNKS, rank_chunk, &job);
}

/* One RNG block of NS_GRAPH_BLOCK draws per chunk. */
static int free_chunk(void *vjob, int64_t b0, int64_t b1) {
    const rank_job *job = (const rank_job *)vjob;
    for (int64_t b = b0; b < b1; b++) {
        ns_rng_t rng;
        ns_rng_seed(&rng, job->k0, job->k1, job->first_block + (uint64_t)b);
        int64_t lo, hi;
        ns_chunk_bounds(b, NS_GRAPH_BLOCK, job->count, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            const int64_t j =
                (int64_t)ns_rng_bounded(&rng, (uint64_t)job->n_free);
            job->out[i] = j + count_le_indexed(job->gaps, job->bucket_start,
                                               job->shift, j);
        }
    }
    return NS_OK;
}

int ns_graph_sample_free(const int64_t *gaps, int64_t n_edges,
                         const int64_t *bucket_start, int shift,
                         int64_t n_free, uint64_t k0, uint64_t k1,
                         uint64_t first_block, int64_t *out, int64_t count,
                         const ns_par *par) {
    if (count < 0 || n_edges < 0) return NS_ERR_VALUE;
    if (count == 0) return NS_OK;
    if (n_free <= 0) return NS_ERR_EMPTY;
    rank_job job = {
        .gaps = gaps,
        .bucket_start = bucket_start,
        .shift = shift,
        .n_free = n_free,
        .count = count,
        .k0 = k0,
        .k1 = k1,
        .first_block = first_block,
        .out = out,
    };
    /* 32 blocks (262144 draws, each a short search) per thread at least. */
    return ns_par_for(par, ns_chunk_count(count, NS_GRAPH_BLOCK), 32,
                      free_chunk, &job);
}

/*
 * ns_graph.c -- uniform non-edges by rank (see ns_graph.h).
 */
#include "ns_graph.h"

#include <math.h>
#include <stddef.h>

#include "ns_common.h"
#include "ns_pool.h"
#include "ns_rng.h"

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

typedef struct {
    int64_t n, count;
    int undirected, no_self_loops;
    const int64_t *u, *v, *codes_in;
    int64_t *codes, *u_out, *v_out;
} code_job;

static int encode_chunk(void *vjob, int64_t c0, int64_t c1) {
    const code_job *job = (const code_job *)vjob;
    const int64_t n = job->n;
    const int64_t *u = job->u, *v = job->v;
    int bad = 0;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_GRAPH_CHUNK, job->count, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            if (u[i] < 0 || u[i] >= n || v[i] < 0 || v[i] >= n) {
                bad = 1;
                job->codes[i] = -1;
            } else {
                job->codes[i] = encode_one(n, job->undirected,
                                           job->no_self_loops, u[i], v[i]);
            }
        }
    }
    return bad ? NS_ERR_VALUE : NS_OK;
}

int ns_graph_encode(int64_t n, int undirected, int no_self_loops,
                    const int64_t *u, const int64_t *v, int64_t *codes,
                    int64_t count, const ns_par *par) {
    int64_t size;
    if (ns_graph_pair_space(n, undirected, no_self_loops, &size) != NS_OK)
        return NS_ERR_VALUE;
    code_job job = {n, count, undirected, no_self_loops, u, v, NULL,
                    codes, NULL, NULL};
    return ns_par_for(par, ns_chunk_count(count, NS_GRAPH_CHUNK),
                      NS_GRAPH_MIN_CHUNKS, encode_chunk, &job);
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

typedef struct {
    code_job base;
    int64_t size;
} decode_job;

static int decode_chunk(void *vjob, int64_t c0, int64_t c1) {
    const decode_job *dj = (const decode_job *)vjob;
    const code_job *job = &dj->base;
    const int64_t *codes = job->codes_in;
    int64_t *u = job->u_out, *v = job->v_out;
    int bad = 0;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_GRAPH_CHUNK, job->count, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            if (codes[i] < 0 || codes[i] >= dj->size) {
                bad = 1;
                u[i] = v[i] = -1;
            } else {
                decode_one(job->n, job->undirected, job->no_self_loops,
                           codes[i], &u[i], &v[i]);
            }
        }
    }
    return bad ? NS_ERR_VALUE : NS_OK;
}

int ns_graph_decode(int64_t n, int undirected, int no_self_loops,
                    const int64_t *codes, int64_t *u, int64_t *v,
                    int64_t count, const ns_par *par) {
    decode_job job;
    if (ns_graph_pair_space(n, undirected, no_self_loops, &job.size) != NS_OK)
        return NS_ERR_VALUE;
    code_job base = {n, count, undirected, no_self_loops, NULL, NULL, codes,
                     NULL, u, v};
    job.base = base;
    return ns_par_for(par, ns_chunk_count(count, NS_GRAPH_CHUNK),
                      NS_GRAPH_MIN_CHUNKS, decode_chunk, &job);
}

/* #{i : gaps[i] <= j} over the non-decreasing gaps[0..len): branch-free
 * binary search (loop count depends only on len). */
NS_INLINE int64_t count_le(const int64_t *gaps, int64_t len, int64_t j) {
    if (len <= 0) return 0;
    const int64_t *base = gaps;
    int64_t n = len;
    while (n > 1) {
        const int64_t half = n >> 1;
        base = (base[half - 1] <= j) ? base + half : base;
        n -= half;
    }
    return (base - gaps) + (*base <= j);
}

/* #{i : gaps[i] <= j} using the bucket index: every gap below
 * (j >> shift) << shift is <= j, every gap at or above the next bucket's
 * start is > j, so only one bucket's gaps are searched. */
NS_INLINE int64_t count_le_indexed(const int64_t *gaps,
                                   const int64_t *bucket_start, int shift,
                                   int64_t j) {
    const int64_t b = j >> shift;
    const int64_t lo = bucket_start[b];
    return lo + count_le(gaps + lo, bucket_start[b + 1] - lo, j);
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
    int bad = 0;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_GRAPH_CHUNK, job->count, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            if (ranks[i] < 0) {
                bad = 1;
                job->out[i] = -1;
            } else {
                job->out[i] = ranks[i] + count_le_indexed(job->gaps,
                    job->bucket_start, job->shift, ranks[i]);
            }
        }
    }
    return bad ? NS_ERR_VALUE : NS_OK;
}

int ns_graph_rank_to_code(const int64_t *gaps, int64_t n_edges,
                          const int64_t *bucket_start, int shift,
                          const int64_t *ranks, int64_t *out, int64_t count,
                          const ns_par *par) {
    (void)n_edges;
    rank_job job = {gaps, bucket_start, ranks, shift, 0, count, 0, 0, 0, out};
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
    rank_job job = {gaps, bucket_start, NULL, shift, n_free, count,
                    k0, k1, first_block, out};
    /* 32 blocks (262144 draws, each a short search) per thread at least. */
    return ns_par_for(par, ns_chunk_count(count, NS_GRAPH_BLOCK), 32,
                      free_chunk, &job);
}

typedef struct {
    const int64_t *triples, *head_repl, *tail_repl;
    const uint8_t *is_head;
    int64_t m, k;
    int64_t *out;
} corrupt_job;

/* Chunks of NS_GRAPH_CHUNK / k triples (at least one). */
static int64_t corrupt_rows_per_chunk(int64_t k) {
    return k >= NS_GRAPH_CHUNK ? 1 : NS_GRAPH_CHUNK / (k > 0 ? k : 1);
}

static int corrupt_chunk(void *vjob, int64_t c0, int64_t c1) {
    const corrupt_job *job = (const corrupt_job *)vjob;
    const int64_t k = job->k;
    const int64_t *head_repl = job->head_repl, *tail_repl = job->tail_repl;
    const uint8_t *is_head = job->is_head;
    const int64_t rows = corrupt_rows_per_chunk(k);
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, rows, job->m, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            const int64_t h = job->triples[3 * i], r = job->triples[3 * i + 1],
                          t = job->triples[3 * i + 2];
            for (int64_t s = 0; s < k; s++) {
                const int64_t pos = i * k + s;
                const int head = is_head ? (is_head[pos] != 0)
                                         : (tail_repl == NULL);
                int64_t *o = job->out + 3 * pos;
                o[0] = head ? head_repl[pos] : h;
                o[1] = r;
                o[2] = head ? t : tail_repl[pos];
            }
        }
    }
    return NS_OK;
}

int ns_graph_corrupt_fill(const int64_t *triples, int64_t m, int64_t k,
                          const int64_t *head_repl, const int64_t *tail_repl,
                          const uint8_t *is_head, int64_t *out,
                          const ns_par *par) {
    if (m < 0 || k < 0) return NS_ERR_VALUE;
    if ((head_repl == NULL && tail_repl == NULL) ||
        (is_head == NULL && head_repl != NULL && tail_repl != NULL) ||
        (is_head != NULL && (head_repl == NULL || tail_repl == NULL)))
        return NS_ERR_VALUE;
    if (k == 0) return NS_OK;
    corrupt_job job = {triples, head_repl, tail_repl, is_head, m, k, out};
    return ns_par_for(par, ns_chunk_count(m, corrupt_rows_per_chunk(k)),
                      NS_GRAPH_MIN_CHUNKS, corrupt_chunk, &job);
}

/* key - key % n for key >= 0: a multiplication by 1/n with an exact
 * correction (a 64-bit division costs tens of cycles) while the double
 * quotient is within one of the true one (key < 2^52), else a division. */
NS_INLINE int64_t anchor_start(int64_t key, int64_t n, double inv_n) {
    if (key >= ((int64_t)1 << 52)) return key - key % n;
    int64_t q = (int64_t)((double)key * inv_n);
    int64_t r = key - q * n;
    while (r < 0) {
        q--;
        r += n;
    }
    while (r >= n) {
        q++;
        r -= n;
    }
    return key - r;
}

int ns_graph_key_rows(int64_t n, const int64_t *known_keys, int64_t n_known,
                      const int64_t *keys, int64_t count,
                      int64_t *base_indptr, int64_t *base_indices,
                      int64_t *n_base, int64_t *row_of, uint8_t *present) {
    if (n < 1 || n_known < 0 || count < 0) return NS_ERR_VALUE;
    const double inv_n = 1.0 / (double)n;
    /* Rows: a new one wherever the anchor start key - key % n changes
     * (sorted keys: computed only when a key leaves the current anchor). */
    int64_t rows = 0, start = -1, prev_key = -1;
    for (int64_t i = 0; i < n_known; i++) {
        const int64_t key = known_keys[i];
        if (key <= prev_key) return NS_ERR_VALUE;
        if (start < 0 || key - start >= n) {
            start = anchor_start(key, n, inv_n);
            base_indptr[rows++] = i;
        }
        base_indices[i] = key - start;
        prev_key = key;
    }
    base_indptr[rows] = n_known;
    base_indptr[rows + 1] = n_known;
    *n_base = rows;
    /* Merge the sorted queries: b walks the rows, j the known keys. */
    int64_t b = 0, j = 0;
    prev_key = -1;
    start = -1;
    for (int64_t i = 0; i < count; i++) {
        const int64_t key = keys[i];
        if (key < prev_key || key < 0) return NS_ERR_VALUE;
        prev_key = key;
        if (start < 0 || key - start >= n) start = anchor_start(key, n, inv_n);
        while (b < rows && known_keys[base_indptr[b]] -
                               base_indices[base_indptr[b]] < start) {
            b++;
        }
        while (j < n_known && known_keys[j] < key) j++;
        row_of[i] = (b < rows && known_keys[base_indptr[b]] -
                                     base_indices[base_indptr[b]] == start)
                        ? b : rows;
        present[i] = (uint8_t)(j < n_known && known_keys[j] == key);
    }
    return NS_OK;
}

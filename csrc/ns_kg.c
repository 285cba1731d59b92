/*
 * ns_kg.c -- key rows, keyed side coins and corrupted-triple fill of
 * knowledge-graph corruption (see ns_kg.h).
 */
#include "ns_kg.h"

#include <stddef.h>

#include "ns_common.h"
#include "ns_pool.h"
#include "ns_rng.h"

/* Items per chunk of the element-wise loops, and chunks per thread below
 * which a loop stays on the caller's thread (a chunk of 65536 simple items
 * is tens of microseconds). */
#define NS_KG_CHUNK 65536
#define NS_KG_MIN_CHUNKS 16

/* Rows per chunk of the keyed uniforms (each row re-seeds a stream). */
#define NS_KG_ROWS_CHUNK 1024

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

int ns_kg_key_rows(int64_t n, const int64_t *known_keys, int64_t n_known,
                   const int64_t *keys, int64_t count, int64_t *base_indptr,
                   int64_t *base_indices, int64_t *n_base, int64_t *row_of,
                   uint8_t *present) {
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
    /* Merge the sorted queries: b walks the rows, j the known keys; the
     * anchor start of row b is its first key minus that key's entity. */
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

typedef struct {
    uint64_t k0, k1;
    const int64_t *keys;
    int64_t n_rows, k;
    double *out;
} uniform_job;

static int keyed_uniform_chunk(void *vjob, int64_t c0, int64_t c1) {
    const uniform_job *job = (const uniform_job *)vjob;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_KG_ROWS_CHUNK, job->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            ns_rng_t rng;
            ns_rng_seed_keyed(&rng, job->k0, job->k1, job->keys[r]);
            double *dst = job->out + r * job->k;
            for (int64_t t = 0; t < job->k; t++) dst[t] = ns_rng_double(&rng);
        }
    }
    return NS_OK;
}

int ns_kg_keyed_uniform(uint64_t k0, uint64_t k1, const int64_t *keys,
                        int64_t n_rows, int64_t k, const ns_par *par,
                        double *out) {
    if (n_rows < 0 || k < 0) return NS_ERR_VALUE;
    if (n_rows == 0 || k == 0) return NS_OK;
    uniform_job job = {
        .k0 = k0,
        .k1 = k1,
        .keys = keys,
        .n_rows = n_rows,
        .k = k,
        .out = out,
    };
    return ns_par_for(par, ns_chunk_count(n_rows, NS_KG_ROWS_CHUNK), 8,
                      keyed_uniform_chunk, &job);
}

typedef struct {
    const int64_t *triples, *head_repl, *tail_repl;
    const uint8_t *is_head;
    int64_t m, k;
    int64_t *out;
} corrupt_job;

/* Chunks of NS_KG_CHUNK / k triples (at least one). */
static int64_t corrupt_rows_per_chunk(int64_t k) {
    return k >= NS_KG_CHUNK ? 1 : NS_KG_CHUNK / (k > 0 ? k : 1);
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

int ns_kg_corrupt_fill(const int64_t *triples, int64_t m, int64_t k,
                       const int64_t *head_repl, const int64_t *tail_repl,
                       const uint8_t *is_head, int64_t *out,
                       const ns_par *par) {
    if (m < 0 || k < 0) return NS_ERR_VALUE;
    /* Exactly one of: head only, tail only, both with is_head. */
    if ((head_repl == NULL && tail_repl == NULL) ||
        (is_head == NULL && head_repl != NULL && tail_repl != NULL) ||
        (is_head != NULL && (head_repl == NULL || tail_repl == NULL)))
        return NS_ERR_VALUE;
    if (k == 0) return NS_OK;
    corrupt_job job = {
        .triples = triples,
        .head_repl = head_repl,
        .tail_repl = tail_repl,
        .is_head = is_head,
        .m = m,
        .k = k,
        .out = out,
    };
    return ns_par_for(par, ns_chunk_count(m, corrupt_rows_per_chunk(k)),
                      NS_KG_MIN_CHUNKS, corrupt_chunk, &job);
}

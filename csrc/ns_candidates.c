/*
 * ns_candidates.c -- closed-form candidate draws, deduplication of tries
 * and accidental hits (see ns_candidates.h).
 */
#include "ns_candidates.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ns_common.h"
#include "ns_pool.h"
#include "ns_rng.h"
#include "ns_search.h"

/* Chunks per thread below which a loop stays on the caller's thread: a
 * block of 4096 draws or a chunk of hits is tens of microseconds, about
 * what waking a worker costs. */
#define NS_CANDIDATES_MIN_CHUNKS 4

/* Mask cells (row * candidate pairs) per chunk of the hit loops. */
#define NS_CANDIDATES_HITS_CELLS 65536

/* ---- draws ------------------------------------------------------------ */

typedef struct {
    int law;
    int64_t n;
    double log1p_n; /* log(n + 1) */
    const int64_t *excluded;
    int64_t n_excluded;
    uint64_t k0, k1;
    int64_t *out;
    int64_t count;
} draw_job;

/* One draw from the base law (no exclusion). */
NS_INLINE int64_t draw_base(const draw_job *job, ns_rng_t *rng) {
    if (job->law == NS_CANDIDATES_UNIFORM)
        return (int64_t)ns_rng_bounded(rng, (uint64_t)job->n);
    /* Inverse CDF of the log-uniform law (header comment): x = exp(u log(n
     * + 1)) >= 1, so the conversion truncates to floor(x).  exp, not expm1:
     * they differ only for x < 2, which is item 0 either way.  The clamp
     * guards the rounding of exp at the top end (x < n + 1 in exact
     * arithmetic). */
    const int64_t i = (int64_t)exp(ns_rng_double(rng) * job->log1p_n) - 1;
    return i < job->n ? (i > 0 ? i : 0) : job->n - 1;
}

static int draw_chunk(void *vjob, int64_t c0, int64_t c1) {
    const draw_job *job = (const draw_job *)vjob;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_CANDIDATES_BLOCK, job->count, &lo, &hi);
        ns_rng_t rng;
        ns_rng_seed(&rng, job->k0, job->k1, (uint64_t)c);
        if (job->n_excluded == 0) {
            for (int64_t t = lo; t < hi; t++) job->out[t] = draw_base(job, &rng);
            continue;
        }
        for (int64_t t = lo; t < hi; t++) {
            int64_t id;
            do {
                id = draw_base(job, &rng);
            } while (ns_search_contains(job->excluded, job->n_excluded, id));
            job->out[t] = id;
        }
    }
    return NS_OK;
}

int ns_candidates_draw(int law, int64_t n, const int64_t *excluded,
                       int64_t n_excluded, uint64_t k0, uint64_t k1,
                       int64_t *out, int64_t count, const ns_par *par) {
    if ((law != NS_CANDIDATES_UNIFORM && law != NS_CANDIDATES_LOG_UNIFORM) ||
        n < 1 || count < 0 || n_excluded < 0 ||
        (n_excluded > 0 && excluded == NULL))
        return NS_ERR_VALUE;
    if (n_excluded >= n) return NS_ERR_EMPTY; /* sorted unique in [0, n) */
    if (count == 0) return NS_OK;
    draw_job job = {
        .law = law,
        .n = n,
        .log1p_n = log1p((double)n),
        .excluded = excluded,
        .n_excluded = n_excluded,
        .k0 = k0,
        .k1 = k1,
        .out = out,
        .count = count,
    };
    return ns_par_for(par, ns_chunk_count(count, NS_CANDIDATES_BLOCK),
                      NS_CANDIDATES_MIN_CHUNKS, draw_chunk, &job);
}

/* ---- deduplication ---------------------------------------------------- */

int ns_candidates_unique(const int64_t *values, int64_t count, int64_t *slots,
                         int bits, int64_t *out, int64_t *n_unique) {
    if (count < 0 || bits < 1 || bits > 62 || ((int64_t)1 << bits) <= count)
        return NS_ERR_VALUE;
    const uint64_t mask = ((uint64_t)1 << bits) - 1;
    for (uint64_t s = 0; s <= mask; s++) slots[s] = -1; /* -1: empty */
    int64_t m = 0;
    for (int64_t t = 0; t < count; t++) {
        const int64_t v = values[t];
        if (v < 0) return NS_ERR_VALUE;
        /* Fibonacci hashing: the high bits of v * 2^64 / phi spread
         * consecutive ids (the head of a Zipfian law) over the table. */
        uint64_t s = ((uint64_t)v * 0x9E3779B97F4A7C15ULL) >> (64 - bits);
        /* Linear probing ends: more slots than values, so one is empty. */
        while (slots[s] >= 0 && slots[s] != v) s = (s + 1) & mask;
        if (slots[s] < 0) {
            slots[s] = v;
            out[m++] = v;
        }
    }
    *n_unique = m;
    return NS_OK;
}

/* ---- accidental hits -------------------------------------------------- */

/* ceil(log2(x + 1)) for x >= 0: the steps of a binary search over x. */
static int64_t search_steps(int64_t x) {
    int64_t steps = 0;
    while (x > 0) {
        steps++;
        x >>= 1;
    }
    return steps;
}

typedef struct {
    const int64_t *indptr, *indices, *rows;
    int64_t n_batch;
    const int64_t *candidates;
    int64_t n_candidates, stride;
    const int64_t *sorted_values, *sorted_positions;
    uint8_t *mask;
    int64_t *counts;
    int64_t rows_per_chunk;
} hits_job;

/* Each candidate searched in the row's positives ids[0..len). */
static int64_t hits_by_candidate(const int64_t *ids, int64_t len,
                                 const int64_t *cand, int64_t n_cand,
                                 uint8_t *mask) {
    int64_t hits = 0, j = 0;
    int found[NS_SEARCH_GROUP];
    for (; j + NS_SEARCH_GROUP <= n_cand; j += NS_SEARCH_GROUP) {
        ns_search_contains_group(ids, len, cand + j, found);
        for (int t = 0; t < NS_SEARCH_GROUP; t++) {
            mask[j + t] = (uint8_t)found[t];
            hits += found[t];
        }
    }
    for (; j < n_cand; j++) {
        const int f = ns_search_contains(ids, len, cand[j]);
        mask[j] = (uint8_t)f;
        hits += f;
    }
    return hits;
}

/* Each positive searched in the sorted shared candidates: every column
 * holding it is marked (positives are unique, so a column is marked once). */
static int64_t hits_by_positive(const int64_t *ids, int64_t len,
                                const int64_t *sorted_values,
                                const int64_t *sorted_positions,
                                int64_t n_cand, uint8_t *mask) {
    memset(mask, 0, (size_t)n_cand);
    int64_t hits = 0;
    for (int64_t p = 0; p < len; p++) {
        int64_t at = ns_search_count_lt(sorted_values, n_cand, ids[p]);
        for (; at < n_cand && sorted_values[at] == ids[p]; at++) {
            mask[sorted_positions[at]] = 1;
            hits++;
        }
    }
    return hits;
}

static int hits_chunk(void *vjob, int64_t c0, int64_t c1) {
    const hits_job *job = (const hits_job *)vjob;
    const int64_t n_cand = job->n_candidates;
    const int64_t cand_steps = search_steps(n_cand);
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, job->rows_per_chunk, job->n_batch, &lo, &hi);
        for (int64_t b = lo; b < hi; b++) {
            const int64_t r = job->rows[b];
            const int64_t *ids = job->indices + job->indptr[r];
            const int64_t len = job->indptr[r + 1] - job->indptr[r];
            uint8_t *mask = job->mask + b * n_cand;
            /* The cheaper search for this row (see ns_candidates.h); the
             * memset of the positive-wise search costs about C / 8. */
            const int by_positive =
                job->sorted_values != NULL &&
                len * (cand_steps + 1) + n_cand / 8 <
                    n_cand * (search_steps(len) + 1);
            job->counts[b] =
                by_positive
                    ? hits_by_positive(ids, len, job->sorted_values,
                                       job->sorted_positions, n_cand, mask)
                    : hits_by_candidate(ids, len,
                                        job->candidates + b * job->stride,
                                        n_cand, mask);
        }
    }
    return NS_OK;
}

static int64_t rows_per_chunk(int64_t n_candidates) {
    return n_candidates >= NS_CANDIDATES_HITS_CELLS
               ? 1
               : NS_CANDIDATES_HITS_CELLS / (n_candidates > 0 ? n_candidates : 1);
}

int ns_candidates_hits_mask(const int64_t *indptr, const int64_t *indices,
                            const int64_t *rows, int64_t n_batch,
                            const int64_t *candidates, int64_t n_candidates,
                            int64_t stride, const int64_t *sorted_values,
                            const int64_t *sorted_positions, uint8_t *mask,
                            int64_t *counts, const ns_par *par) {
    if (n_batch < 0 || n_candidates < 0 ||
        (stride != 0 && stride != n_candidates) ||
        (sorted_values != NULL && (stride != 0 || sorted_positions == NULL)))
        return NS_ERR_VALUE;
    if (n_batch == 0) return NS_OK;
    if (n_candidates == 0) {
        for (int64_t b = 0; b < n_batch; b++) counts[b] = 0;
        return NS_OK;
    }
    hits_job job = {
        .indptr = indptr,
        .indices = indices,
        .rows = rows,
        .n_batch = n_batch,
        .candidates = candidates,
        .n_candidates = n_candidates,
        .stride = stride,
        .sorted_values = sorted_values,
        .sorted_positions = sorted_positions,
        .mask = mask,
        .counts = counts,
        .rows_per_chunk = rows_per_chunk(n_candidates),
    };
    return ns_par_for(par, ns_chunk_count(n_batch, job.rows_per_chunk),
                      NS_CANDIDATES_MIN_CHUNKS, hits_chunk, &job);
}

typedef struct {
    const uint8_t *mask;
    int64_t n_batch, n_candidates;
    const int64_t *offsets;
    int32_t *out_rows;
    int64_t *out_cols;
    int64_t rows_per_chunk;
} pairs_job;

static int pairs_chunk(void *vjob, int64_t c0, int64_t c1) {
    const pairs_job *job = (const pairs_job *)vjob;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, job->rows_per_chunk, job->n_batch, &lo, &hi);
        for (int64_t b = lo; b < hi; b++) {
            int64_t at = job->offsets[b];
            const int64_t end = job->offsets[b + 1];
            const uint8_t *mask = job->mask + b * job->n_candidates;
            /* The scan stops at the row's last hit, and skips 8 zero bytes
             * at a time (hits are rare). */
            int64_t j = 0;
            while (at < end && j < job->n_candidates) {
                uint64_t word;
                if (j + 8 <= job->n_candidates) {
                    memcpy(&word, mask + j, sizeof word);
                    if (word == 0) {
                        j += 8;
                        continue;
                    }
                }
                if (mask[j]) {
                    job->out_rows[at] = (int32_t)b;
                    job->out_cols[at] = j;
                    at++;
                }
                j++;
            }
            if (at != end) return NS_ERR_VALUE; /* fewer hits than counted */
        }
    }
    return NS_OK;
}

int ns_candidates_hits_pairs(const uint8_t *mask, int64_t n_batch,
                             int64_t n_candidates, const int64_t *offsets,
                             int32_t *out_rows, int64_t *out_cols,
                             const ns_par *par) {
    if (n_batch < 0 || n_candidates < 0 || n_batch > INT32_MAX)
        return NS_ERR_VALUE;
    if (n_batch == 0 || n_candidates == 0) return NS_OK;
    pairs_job job = {
        .mask = mask,
        .n_batch = n_batch,
        .n_candidates = n_candidates,
        .offsets = offsets,
        .out_rows = out_rows,
        .out_cols = out_cols,
        .rows_per_chunk = rows_per_chunk(n_candidates),
    };
    return ns_par_for(par, ns_chunk_count(n_batch, job.rows_per_chunk),
                      NS_CANDIDATES_MIN_CHUNKS, pairs_chunk, &job);
}

/*
 * ns_scored.c -- ns_scored_select_f32 / _f64 (see ns_scored.h).  Per block
 * of rows, per row, two passes over the pool:
 *   1. scores: each candidate's vector is gathered (prefetched a few
 *      candidates ahead, across rows, so that many misses are in flight)
 *      and dotted with the row's query; no branch waits for a dot product,
 *      so those of successive candidates overlap;
 *   2. selection: each score (plus its Gumbel noise when sampling) is
 *      offered to a k-entry heap (ns_heap.h) whose root is the worst entry
 *      kept, so that most candidates cost one comparison.
 */
#include <math.h>
#include <stdlib.h>

#include "ns_rng.h"
#include "ns_scored.h"

/* Candidates ahead of the current one whose vectors are prefetched, with
 * locality hint NS_SCORED_HINT (1: PREFETCHT2 on x86).  Measured on the
 * benchmark case (1e6 x 64 float32 vectors, 2 MB pages, one thread):
 * distances 10-32 with hints 1-2 within noise of each other, 20-30% faster
 * than hints 0 (NTA) or 3 (T0), which keep fewer misses in flight. */
#ifndef NS_SCORED_AHEAD
#define NS_SCORED_AHEAD 16
#endif
#ifndef NS_SCORED_HINT
#define NS_SCORED_HINT 1
#endif

/* Pools with duplicates and k up to this look for a duplicate among the
 * heap's entries (only for candidates that enter it); larger k keep a hash
 * set of the ids seen in the row. */
#define NS_SCORED_SCAN_MAX 16

/* No Gumbel variate drawn here exceeds this: the uniform is at most
 * 1 - 2^-54 (see id_gumbel), so G <= -log(-log(1 - 2^-54)) ~ 37.43. */
#define NS_SCORED_GUMBEL_MAX 37.5

/* Blocks per thread at least: a block of 128 rows of 64 candidates costs
 * 0.1-0.4 ms (mostly cache misses), so calls under ~1 ms stay on the
 * caller's thread. */
#define NS_SCORED_MIN_BLOCKS_PER_THREAD 4

/* One candidate: its key (score, or score / t + G), its rounded score, its
 * id and its position in the pool (for its log q). */
typedef struct {
    double key, score;
    int64_t id, pos;
} scored_entry;

typedef scored_entry *scored_heap;

static inline scored_entry scored_heap_get(scored_heap h, int64_t i) {
    return h[i];
}

static inline void scored_heap_set(scored_heap h, int64_t i, scored_entry e) {
    h[i] = e;
}

/* a is worse than b: smaller key, or equal key and larger id. */
static inline int scored_heap_before(scored_entry a, scored_entry b) {
    return a.key < b.key || (a.key == b.key && a.id > b.id);
}

#define NS_HEAP_PREFIX scored_heap
#define NS_HEAP_T scored_heap
#define NS_HEAP_ENTRY scored_entry
#include "ns_heap.h"

/* Ids seen in the current row: open addressing, a slot is used when its
 * tag is the current row's (so the set is never cleared). */
typedef struct {
    int64_t *ids;
    int64_t *tags;
    uint64_t mask;
    int shift;
    int64_t tag;
} seen_set;

/* 1 if id was already seen in this row, else records it and returns 0. */
NS_INLINE int seen_before(seen_set *s, int64_t id) {
    uint64_t h = ((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> s->shift;
    for (;;) {
        if (s->tags[h] != s->tag) {
            s->tags[h] = s->tag;
            s->ids[h] = id;
            return 0;
        }
        if (s->ids[h] == id) return 1;
        h = (h + 1) & s->mask;
    }
}

/* The Gumbel variate of candidate `id` in the row of noise seed `seed`:
 * the SplitMix64 output of index id (Steele, Lea & Flood 2014), a
 * counter-based draw, so equal ids get equal noise. */
NS_INLINE double id_gumbel(uint64_t seed, int64_t id) {
    uint64_t state = seed + (uint64_t)id * 0x9E3779B97F4A7C15ULL;
    const uint64_t bits = ns_splitmix64(&state);
    const double u = ((double)(bits >> 11) + 0.5) * NS_INV_TWO53; /* (0, 1) */
    return -log(-log(u));
}

/* Dot products: eight partial sums in a fixed order (eight independent
 * chains: two AVX2 registers), the d % 8 last products summed apart, all
 * combined pairwise: the baseline and the AVX2 copies compute the same
 * sums. */
NS_INLINE double sum_partials(const double *s, double tail) {
    return (((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))) + tail;
}

NS_INLINE double dot_f32(const double *q, const float *v, int64_t d) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        for (int l = 0; l < 8; l++) s[l] += q[j + l] * (double)v[j + l];
    }
    double tail = 0.0;
    for (; j < d; j++) tail += q[j] * (double)v[j];
    return sum_partials(s, tail);
}

NS_INLINE double dot_f64(const double *q, const double *v, int64_t d) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        for (int l = 0; l < 8; l++) s[l] += q[j + l] * v[j + l];
    }
    double tail = 0.0;
    for (; j < d; j++) tail += q[j] * v[j];
    return sum_partials(s, tail);
}

/* One call, shared by its blocks. */
typedef struct {
    const ns_scored_args *a;
    const void *queries, *items;
    void *out_scores;
    int f32;
    int use_set; /* duplicates merged by the hash set (else by a heap scan) */
} select_job;

/* A participant's scratch. */
typedef struct {
    scored_entry *heap; /* k */
    double *query;      /* dim: the row's query in float64 */
    double *scores;     /* pool_size: the row's scores */
    seen_set seen;
} select_scratch;

static int scratch_alloc(select_scratch *s, const select_job *job) {
    const ns_scored_args *a = job->a;
    *s = (select_scratch){.heap = NULL};
    s->heap = (scored_entry *)malloc((size_t)a->k * sizeof *s->heap);
    s->query = (double *)malloc((size_t)a->dim * sizeof *s->query);
    s->scores = (double *)malloc((size_t)a->pool_size * sizeof *s->scores);
    if (!s->heap || !s->query || !s->scores) return NS_ERR_ALLOC;
    if (job->use_set) {
        /* A power of two >= 2 pool_size slots: probes stay short. */
        int bits = 1;
        while (((int64_t)1 << bits) < 2 * a->pool_size) bits++;
        const size_t slots = (size_t)1 << bits;
        s->seen.ids = (int64_t *)malloc(slots * sizeof *s->seen.ids);
        s->seen.tags = (int64_t *)malloc(slots * sizeof *s->seen.tags);
        if (!s->seen.ids || !s->seen.tags) return NS_ERR_ALLOC;
        for (size_t i = 0; i < slots; i++) s->seen.tags[i] = -1;
        s->seen.mask = (uint64_t)slots - 1;
        s->seen.shift = 64 - bits;
    }
    return NS_OK;
}

static void scratch_free(select_scratch *s) {
    free(s->heap);
    free(s->query);
    free(s->scores);
    free(s->seen.ids);
    free(s->seen.tags);
}

/* 1 when the heap's first `size` entries hold id. */
NS_INLINE int heap_holds(const scored_entry *heap, int64_t size, int64_t id) {
    for (int64_t i = 0; i < size; i++) {
        if (heap[i].id == id) return 1;
    }
    return 0;
}

NS_INLINE void prefetch_vector(const select_job *job, int64_t id) {
    const ns_scored_args *a = job->a;
    if (id < 0 || id >= a->n_items) return;
    const size_t bytes = (size_t)a->dim * (job->f32 ? 4 : 8);
    const char *p = job->f32
                        ? (const char *)((const float *)job->items + id * a->item_ld)
                        : (const char *)((const double *)job->items + id * a->item_ld);
    for (size_t off = 0; off < bytes; off += 64) NS_PREFETCH(p + off, NS_SCORED_HINT);
    NS_PREFETCH(p + bytes - 1, NS_SCORED_HINT);
}

/* Rows [start, stop) of block b, with noise stream (k0, k1, b): candidate
 * e of the block (row start + e / pool_size) prefetches the vector of
 * candidate e + NS_SCORED_AHEAD. */
NS_INLINE int select_block(const select_job *job, select_scratch *s,
                           int64_t b) {
    const ns_scored_args *a = job->a;
    const int64_t m = a->pool_size, k = a->k, dim = a->dim;
    const int sampling = a->inv_temperature > 0.0;
    const int scan = !a->distinct && !job->use_set;
    int64_t start, stop;
    ns_chunk_bounds(b, NS_SCORED_BLOCK_ROWS, a->n_rows, &start, &stop);
    const int64_t *pool = a->pool + start * m;
    const int64_t n_entries = (stop - start) * m;
    ns_rng_t rng;
    ns_rng_seed(&rng, a->k0, a->k1, (uint64_t)b);
    for (int64_t e = 0; e < NS_SCORED_AHEAD && e < n_entries; e++) {
        prefetch_vector(job, pool[e]);
    }
    scored_entry *heap = s->heap;
    for (int64_t o = start; o < stop; o++) {
        const int64_t *row = a->pool + o * m;
        const int64_t e0 = (o - start) * m;
        if (job->f32) {
            const float *q = (const float *)job->queries + o * a->query_ld;
            for (int64_t j = 0; j < dim; j++) s->query[j] = (double)q[j];
        } else {
            const double *q = (const double *)job->queries + o * a->query_ld;
            for (int64_t j = 0; j < dim; j++) s->query[j] = q[j];
        }
        const uint64_t seed = sampling ? ns_rng_next(&rng) : 0;
        s->seen.tag = o;
        /* Pass 1, the scores: no branch depends on a dot product, so the
         * dot products of successive candidates overlap.  A duplicate
         * (hash set) is marked NaN: real NaNs have been reported. */
        double *score = s->scores;
        int finite = 1;
        for (int64_t j = 0; j < m; j++) {
            if (e0 + j + NS_SCORED_AHEAD < n_entries) {
                prefetch_vector(job, pool[e0 + j + NS_SCORED_AHEAD]);
            }
            const int64_t id = row[j];
            if (id < 0 || id >= a->n_items) return NS_ERR_VALUE;
            if (job->use_set && seen_before(&s->seen, id)) {
                score[j] = NAN;
                continue;
            }
            double x;
            if (job->f32) {
                const float *v = (const float *)job->items + id * a->item_ld;
                x = (double)(float)dot_f32(s->query, v, dim);
            } else {
                const double *v = (const double *)job->items + id * a->item_ld;
                x = dot_f64(s->query, v, dim);
            }
            finite &= isfinite(x) != 0;
            score[j] = x;
        }
        if (!finite) return NS_ERR_VALUE;
        /* Pass 2, the heap: the root is the worst entry kept. */
        int64_t size = 0;
        for (int64_t j = 0; j < m; j++) {
            const double x = score[j];
            if (job->use_set && isnan(x)) continue;
            const int64_t id = row[j];
            scored_entry c = {.key = x, .score = x, .id = id, .pos = j};
            if (sampling) {
                const double base = x * a->inv_temperature;
                /* Cannot beat the root whatever its noise: skip the logs. */
                if (size == k && base + NS_SCORED_GUMBEL_MAX < heap[0].key) continue;
                c.key = base + id_gumbel(seed, id);
            }
            if (size < k) {
                if (scan && heap_holds(heap, size, id)) continue;
                scored_heap_push(heap, size, c);
                size++;
            } else if (scored_heap_before(heap[0], c)) {
                /* A duplicate has its twin's key: it beats the root only
                 * while the twin is in the heap. */
                if (scan && heap_holds(heap, size, id)) continue;
                scored_heap_replace_top(heap, size, c);
            }
        }
        /* size >= 1 (k >= 1, m >= 1): best first, then again from the
         * first when the pool had fewer than k distinct ids. */
        scored_heap_sort(heap, size);
        int64_t *ids = a->out_ids + o * k;
        double *lq = a->out_log_q ? a->out_log_q + o * k : NULL;
        for (int64_t t = 0; t < k; t++) {
            const scored_entry *x = &heap[t < size ? t : t % size];
            ids[t] = x->id;
            if (job->f32) ((float *)job->out_scores)[o * k + t] = (float)x->score;
            else ((double *)job->out_scores)[o * k + t] = x->score;
            if (lq) lq[t] = a->pool_log_q[o * m + x->pos];
        }
    }
    return NS_OK;
}

static int select_chunk_base(void *vjob, int64_t b0, int64_t b1) {
    const select_job *job = (const select_job *)vjob;
    select_scratch s;
    int status = scratch_alloc(&s, job);
    for (int64_t b = b0; b < b1 && status == NS_OK; b++) {
        status = select_block(job, &s, b);
    }
    scratch_free(&s);
    return status;
}

#if NS_AVX2_CLONES
/* The same loop compiled for AVX2 (4 doubles a vector): same sums. */
NS_TARGET_AVX2 static int select_chunk_avx2(void *vjob, int64_t b0,
                                            int64_t b1) {
    const select_job *job = (const select_job *)vjob;
    select_scratch s;
    int status = scratch_alloc(&s, job);
    for (int64_t b = b0; b < b1 && status == NS_OK; b++) {
        status = select_block(job, &s, b);
    }
    scratch_free(&s);
    return status;
}
#else
#define select_chunk_avx2 select_chunk_base
#endif

static int select_impl(const ns_scored_args *a, const void *queries,
                       const void *items, void *out_scores, int f32,
                       const ns_par *par) {
    if (!a || a->n_rows < 0 || a->pool_size < 1 || a->k < 0 ||
        a->k > a->pool_size || a->n_items < 1 || a->dim < 1 ||
        a->query_ld < 0 || a->item_ld < 0 ||
        !(a->inv_temperature >= 0.0) || isinf(a->inv_temperature))
        return NS_ERR_VALUE;
    if (a->n_rows == 0 || a->k == 0) return NS_OK;
    if (!a->pool || !queries || !items || !out_scores || !a->out_ids ||
        (a->pool_log_q && !a->out_log_q))
        return NS_ERR_VALUE;
    select_job job = {
        .a = a,
        .queries = queries,
        .items = items,
        .out_scores = out_scores,
        .f32 = f32,
        .use_set = !a->distinct && a->k > NS_SCORED_SCAN_MAX,
    };
    const int64_t n_blocks = ns_chunk_count(a->n_rows, NS_SCORED_BLOCK_ROWS);
    return ns_par_for(par, n_blocks, NS_SCORED_MIN_BLOCKS_PER_THREAD,
                      ns_cpu_has_avx2() ? select_chunk_avx2 : select_chunk_base,
                      &job);
}

int ns_scored_select_f32(const ns_scored_args *args, const float *queries,
                         const float *items, float *out_scores,
                         const ns_par *par) {
    return select_impl(args, queries, items, out_scores, 1, par);
}

int ns_scored_select_f64(const ns_scored_args *args, const double *queries,
                         const double *items, double *out_scores,
                         const ns_par *par) {
    return select_impl(args, queries, items, out_scores, 0, par);
}

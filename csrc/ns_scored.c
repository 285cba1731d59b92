/*
 * ns_scored.c -- ns_scored_select_f32 / _f64 (see ns_scored.h).  Per block
 * of rows, per group of rows (a few thousand candidates), two passes:
 *   1. scores: each candidate's vector is gathered (prefetched a few
 *      candidates ahead, across rows and groups, so that many misses are in
 *      flight) and dotted with its row's query; no branch waits for a dot
 *      product, so those of successive candidates overlap, and this loop
 *      holds nothing else (no heap), so that the misses stay in flight;
 *   2. selection, row by row: each score (plus its Gumbel noise when
 *      sampling) is offered to the k best kept, a sorted array for
 *      k <= 16 (select_row_small), else a k-entry heap (ns_heap.h) whose
 *      root is the worst entry kept, so that most candidates cost one
 *      comparison.
 * The dot products have a scalar, an AVX2 + FMA and an AVX-512 kernel,
 * chosen at run time (ns_scored_kernel_available), with the same sums.
 * The AVX-512 kernel's top k <= 8 (no noise) runs select_block_top8_avx512
 * instead: a branch-free selection of row o - 1 interleaved with the
 * gather of row o (the selection's mispredicted branches were a fifth of
 * the time, and nothing was gathered while they ran).
 */
#include <math.h>
#include <stdlib.h>

#include "ns_rng.h"
#include "ns_scored.h"

#if NS_AVX2_CLONES
#include <immintrin.h>
#define NS_TARGET_SCORED_AVX2 __attribute__((target("avx2,fma")))
#define NS_TARGET_SCORED_AVX512 __attribute__((target("avx2,fma,avx512f")))
#endif

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

/* Candidates per group (pass 1 over a group's rows, then pass 2): at least
 * one row, at most a block.  Its buffers are written and read in order,
 * so the size does not have to fit a cache: on the benchmark case (pools
 * of 64, one thread) groups of 64, 2048 and 8192 candidates were within
 * 2% of each other. */
#ifndef NS_SCORED_GROUP_ENTRIES
#define NS_SCORED_GROUP_ENTRIES 2048
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

/* Dot products: eight partial sums in a fixed order (lane l sums the
 * products of the coordinates j = l mod 8 of the first d - d % 8, in order
 * of j), the d % 8 last products summed apart (the tail), all combined
 * pairwise:
 *   score = (((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7))) + tail,
 * computed as t_l = s_l + s_(l+4) (pass 1) then ((t0 + t2) + (t1 + t3)) +
 * tail (sum_group*).  Every kernel computes these same sums: the products
 * of float32 inputs are exact in float64, so that a fused multiply-add
 * rounds s + q v once as the scalar code does; float64 products are
 * rounded before they are added (no FMA), in every kernel. */
int ns_scored_kernel_available(int kernel) {
    switch (kernel) {
    case NS_SCORED_KERNEL_SCALAR:
        return 1;
#if NS_AVX2_CLONES
    case NS_SCORED_KERNEL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NS_SCORED_KERNEL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

int ns_scored_best_kernel(void) {
    if (ns_scored_kernel_available(NS_SCORED_KERNEL_AVX512)) return NS_SCORED_KERNEL_AVX512;
    if (ns_scored_kernel_available(NS_SCORED_KERNEL_AVX2)) return NS_SCORED_KERNEL_AVX2;
    return NS_SCORED_KERNEL_SCALAR;
}

/* One call, shared by its blocks. */
typedef struct {
    const ns_scored_args *a;
    const void *queries, *items;
    void *out_scores;
    int f32;
    int use_set;          /* duplicates merged by the hash set (else by a heap scan) */
    int64_t group_rows;   /* rows per group, in [1, NS_SCORED_BLOCK_ROWS] */
    int top8;             /* top k (no noise), k <= 8: select_block_top8_* */
    size_t vector_bytes;  /* dim * element size */
    size_t row_bytes;     /* item_ld * element size */
} select_job;

/* A participant's scratch. */
typedef struct {
    scored_entry *heap; /* k */
    double *query;      /* dim: the row's query in float64 */
    double *scores;     /* max(group_rows, 2) * pool_size: the group's scores */
    double *part;       /* 4 (group_rows * pool_size + 1): their lane sums */
    double *tail;       /* group_rows * pool_size + 1: their tail sums */
    unsigned char *dup; /* group_rows * pool_size, with the hash set: duplicates */
    seen_set seen;
} select_scratch;

static int scratch_alloc(select_scratch *s, const select_job *job) {
    const ns_scored_args *a = job->a;
    *s = (select_scratch){.heap = NULL};
    s->heap = (scored_entry *)malloc((size_t)a->k * sizeof *s->heap);
    s->query = (double *)malloc((size_t)a->dim * sizeof *s->query);
    const size_t n = (size_t)(job->group_rows * a->pool_size);
    /* at least two rows (select_block_top8_*) */
    s->scores = (double *)malloc((n > 2 * (size_t)a->pool_size ? n : 2 * (size_t)a->pool_size) *
                                 sizeof *s->scores);
    /* one spare slot: the second of an odd row's last pair */
    s->part = (double *)malloc(4 * (n + 1) * sizeof *s->part);
    s->tail = (double *)malloc((n + 1) * sizeof *s->tail);
    if (!s->heap || !s->query || !s->scores || !s->part || !s->tail) return NS_ERR_ALLOC;
    if (job->use_set) {
        s->dup = (unsigned char *)malloc(n);
        if (!s->dup) return NS_ERR_ALLOC;
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
    free(s->part);
    free(s->tail);
    free(s->dup);
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

/* Every cache line of item `id`'s vector (none for an id out of range). */
NS_INLINE void prefetch_vector(const select_job *job, int64_t id) {
    if (id < 0 || id >= job->a->n_items) return;
    const char *p = (const char *)job->items + (size_t)id * job->row_bytes;
    const size_t bytes = job->vector_bytes;
    for (size_t off = 0; off < bytes; off += 64) NS_PREFETCH(p + off, NS_SCORED_HINT);
    NS_PREFETCH(p + bytes - 1, NS_SCORED_HINT);
}

/* Pass 1 over rows [g0, g1) (g0 - start rows into the block, whose pool
 * entries start at `pool`, n_entries of them), in two steps:
 *   a. the gather: for candidate e of the group, the four sums
 *      part[4 e + l] = s[l] + s[l + 4] of its eight lanes and its tail sum
 *      (dot_*_partials), prefetching the vector of the block's candidate
 *      e + NS_SCORED_AHEAD; no horizontal sum, rounding or test waits in
 *      this loop, so that it holds few instructions per candidate and the
 *      misses of many candidates are in flight;
 *   b. the sums: score[e] = ((t0 + t2) + (t1 + t3)) + tail (sum_partials's
 *      order), rounded to the vectors' type, four candidates at a time in
 *      the x86 kernels; NaN for a duplicate found by the hash set.
 * `kernel` is a constant where this is inlined, so that each copy calls
 * one dot product. */
NS_INLINE void dot_f32_partials(const double *q, const float *v, int64_t d, double *t,
                                double *tail) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        for (int l = 0; l < 8; l++) s[l] += q[j + l] * (double)v[j + l];
    }
    double r = 0.0;
    for (; j < d; j++) r += q[j] * (double)v[j];
    for (int l = 0; l < 4; l++) t[l] = s[l] + s[l + 4];
    *tail = r;
}

NS_INLINE void dot_f64_partials(const double *q, const double *v, int64_t d, double *t,
                                double *tail) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        for (int l = 0; l < 8; l++) s[l] += q[j + l] * v[j + l];
    }
    double r = 0.0;
    for (; j < d; j++) r += q[j] * v[j];
    for (int l = 0; l < 4; l++) t[l] = s[l] + s[l + 4];
    *tail = r;
}

#if NS_AVX2_CLONES
/* Two candidates at once (the query's loads shared, two independent
 * chains): the sums of dot_*_partials for v0 into t[0..4), tail[0] and
 * for v1 into t[4..8), tail[1]. */
NS_TARGET_SCORED_AVX2 static inline void dot2_f32_partials_avx2(const double *q, const float *v0,
                                                                const float *v1, int64_t d,
                                                                double *t, double *tail) {
    __m256d lo0 = _mm256_setzero_pd(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        const __m256d qlo = _mm256_loadu_pd(q + j), qhi = _mm256_loadu_pd(q + j + 4);
        const __m256 x0 = _mm256_loadu_ps(v0 + j), x1 = _mm256_loadu_ps(v1 + j);
        lo0 = _mm256_fmadd_pd(qlo, _mm256_cvtps_pd(_mm256_castps256_ps128(x0)), lo0);
        hi0 = _mm256_fmadd_pd(qhi, _mm256_cvtps_pd(_mm256_extractf128_ps(x0, 1)), hi0);
        lo1 = _mm256_fmadd_pd(qlo, _mm256_cvtps_pd(_mm256_castps256_ps128(x1)), lo1);
        hi1 = _mm256_fmadd_pd(qhi, _mm256_cvtps_pd(_mm256_extractf128_ps(x1, 1)), hi1);
    }
    double r0 = 0.0, r1 = 0.0;
    for (; j < d; j++) {
        r0 += q[j] * (double)v0[j];
        r1 += q[j] * (double)v1[j];
    }
    _mm256_storeu_pd(t, _mm256_add_pd(lo0, hi0));
    _mm256_storeu_pd(t + 4, _mm256_add_pd(lo1, hi1));
    tail[0] = r0;
    tail[1] = r1;
}

NS_TARGET_SCORED_AVX2 static inline void dot2_f64_partials_avx2(const double *q, const double *v0,
                                                                const double *v1, int64_t d,
                                                                double *t, double *tail) {
    __m256d lo0 = _mm256_setzero_pd(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        const __m256d qlo = _mm256_loadu_pd(q + j), qhi = _mm256_loadu_pd(q + j + 4);
        lo0 = _mm256_add_pd(lo0, _mm256_mul_pd(qlo, _mm256_loadu_pd(v0 + j)));
        hi0 = _mm256_add_pd(hi0, _mm256_mul_pd(qhi, _mm256_loadu_pd(v0 + j + 4)));
        lo1 = _mm256_add_pd(lo1, _mm256_mul_pd(qlo, _mm256_loadu_pd(v1 + j)));
        hi1 = _mm256_add_pd(hi1, _mm256_mul_pd(qhi, _mm256_loadu_pd(v1 + j + 4)));
    }
    double r0 = 0.0, r1 = 0.0;
    for (; j < d; j++) {
        r0 += q[j] * v0[j];
        r1 += q[j] * v1[j];
    }
    _mm256_storeu_pd(t, _mm256_add_pd(lo0, hi0));
    _mm256_storeu_pd(t + 4, _mm256_add_pd(lo1, hi1));
    tail[0] = r0;
    tail[1] = r1;
}

NS_TARGET_SCORED_AVX512 static inline void dot2_f32_partials_avx512(const double *q,
                                                                    const float *v0,
                                                                    const float *v1, int64_t d,
                                                                    double *t, double *tail) {
    __m512d s0 = _mm512_setzero_pd(), s1 = s0;
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        const __m512d qv = _mm512_loadu_pd(q + j);
        s0 = _mm512_fmadd_pd(qv, _mm512_cvtps_pd(_mm256_loadu_ps(v0 + j)), s0);
        s1 = _mm512_fmadd_pd(qv, _mm512_cvtps_pd(_mm256_loadu_ps(v1 + j)), s1);
    }
    double r0 = 0.0, r1 = 0.0;
    for (; j < d; j++) {
        r0 += q[j] * (double)v0[j];
        r1 += q[j] * (double)v1[j];
    }
    _mm256_storeu_pd(t, _mm256_add_pd(_mm512_castpd512_pd256(s0), _mm512_extractf64x4_pd(s0, 1)));
    _mm256_storeu_pd(t + 4,
                     _mm256_add_pd(_mm512_castpd512_pd256(s1), _mm512_extractf64x4_pd(s1, 1)));
    tail[0] = r0;
    tail[1] = r1;
}

NS_TARGET_SCORED_AVX512 static inline void dot2_f64_partials_avx512(const double *q,
                                                                    const double *v0,
                                                                    const double *v1, int64_t d,
                                                                    double *t, double *tail) {
    __m512d s0 = _mm512_setzero_pd(), s1 = s0;
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
        const __m512d qv = _mm512_loadu_pd(q + j);
        s0 = _mm512_add_pd(s0, _mm512_mul_pd(qv, _mm512_loadu_pd(v0 + j)));
        s1 = _mm512_add_pd(s1, _mm512_mul_pd(qv, _mm512_loadu_pd(v1 + j)));
    }
    double r0 = 0.0, r1 = 0.0;
    for (; j < d; j++) {
        r0 += q[j] * v0[j];
        r1 += q[j] * v1[j];
    }
    _mm256_storeu_pd(t, _mm256_add_pd(_mm512_castpd512_pd256(s0), _mm512_extractf64x4_pd(s0, 1)));
    _mm256_storeu_pd(t + 4,
                     _mm256_add_pd(_mm512_castpd512_pd256(s1), _mm512_extractf64x4_pd(s1, 1)));
    tail[0] = r0;
    tail[1] = r1;
}

/* score[e] for e < n, four at a time: ((t0 + t2) + (t1 + t3)) + tail,
 * rounded to float32 when f32; returns 0 when one is not finite. */
NS_TARGET_SCORED_AVX2 static inline int sum_group_avx2(const double *part, const double *tails,
                                                       double *score, int64_t n, int f32) {
    __m256d bad = _mm256_setzero_pd();
    int64_t e = 0;
    for (; e + 4 <= n; e += 4) {
        const __m256d ta = _mm256_loadu_pd(part + 4 * e), tb = _mm256_loadu_pd(part + 4 * e + 4);
        const __m256d tc = _mm256_loadu_pd(part + 4 * e + 8), td = _mm256_loadu_pd(part + 4 * e + 12);
        /* (a0 + a2, a1 + a3, b0 + b2, b1 + b3) */
        const __m256d y = _mm256_add_pd(_mm256_permute2f128_pd(ta, tb, 0x20),
                                        _mm256_permute2f128_pd(ta, tb, 0x31));
        const __m256d z = _mm256_add_pd(_mm256_permute2f128_pd(tc, td, 0x20),
                                        _mm256_permute2f128_pd(tc, td, 0x31));
        /* (a, c, b, d) -> (a, b, c, d), plus the tails */
        __m256d x = _mm256_permute4x64_pd(_mm256_hadd_pd(y, z), 0xD8);
        x = _mm256_add_pd(x, _mm256_loadu_pd(tails + e));
        if (f32) x = _mm256_cvtps_pd(_mm256_cvtpd_ps(x));
        /* x - x is 0 exactly when x is finite */
        bad = _mm256_or_pd(bad, _mm256_cmp_pd(_mm256_sub_pd(x, x), _mm256_setzero_pd(),
                                              _CMP_NEQ_UQ));
        _mm256_storeu_pd(score + e, x);
    }
    int finite = _mm256_movemask_pd(bad) == 0;
    for (; e < n; e++) {
        const double *t = part + 4 * e;
        double x = ((t[0] + t[2]) + (t[1] + t[3])) + tails[e];
        if (f32) x = (double)(float)x;
        finite &= isfinite(x) != 0;
        score[e] = x;
    }
    return finite;
}
#endif

NS_INLINE int sum_group(const double *part, const double *tails, double *score, int64_t n,
                        int f32) {
    int finite = 1;
    for (int64_t e = 0; e < n; e++) {
        const double *t = part + 4 * e;
        double x = ((t[0] + t[2]) + (t[1] + t[3])) + tails[e];
        if (f32) x = (double)(float)x;
        finite &= isfinite(x) != 0;
        score[e] = x;
    }
    return finite;
}

NS_INLINE int score_group(const select_job *job, select_scratch *s, const int64_t *pool,
                          int64_t n_entries, int64_t start, int64_t g0, int64_t g1,
                          int kernel) {
    const ns_scored_args *a = job->a;
    const int64_t m = a->pool_size, dim = a->dim, n_items = a->n_items;
    for (int64_t o = g0; o < g1; o++) {
        const int64_t *row = a->pool + o * m;
        const int64_t e0 = (o - start) * m;
        if (job->f32) {
            const float *q = (const float *)job->queries + o * a->query_ld;
            for (int64_t j = 0; j < dim; j++) s->query[j] = (double)q[j];
        } else {
            const double *q = (const double *)job->queries + o * a->query_ld;
            for (int64_t j = 0; j < dim; j++) s->query[j] = q[j];
        }
        s->seen.tag = o;
        double *part = s->part + 4 * (o - g0) * m, *tail = s->tail + (o - g0) * m;
        /* Candidates j and j + 1 together; for an odd m the last pair
         * repeats candidate m - 1, whose second copy is written to slot m,
         * the next row's first (overwritten when that row is scored) or
         * the buffers' spare slot. */
        for (int64_t j = 0; j < m; j += 2) {
            const int64_t j1 = j + 1 < m ? j + 1 : j;
            if (e0 + j + NS_SCORED_AHEAD < n_entries) {
                prefetch_vector(job, pool[e0 + j + NS_SCORED_AHEAD]);
            }
            if (e0 + j + 1 + NS_SCORED_AHEAD < n_entries) {
                prefetch_vector(job, pool[e0 + j + 1 + NS_SCORED_AHEAD]);
            }
            const int64_t id0 = row[j], id1 = row[j1];
            if (id0 < 0 || id0 >= n_items || id1 < 0 || id1 >= n_items) return NS_ERR_VALUE;
            if (job->use_set) {
                /* A duplicate is scored (as its twin), then marked NaN. */
                unsigned char *dup = s->dup + (o - g0) * m;
                dup[j] = (unsigned char)seen_before(&s->seen, id0);
                if (j1 != j) dup[j1] = (unsigned char)seen_before(&s->seen, id1);
            }
            double *t = part + 4 * j, *r = tail + j;
            if (job->f32) {
                const float *v0 = (const float *)job->items + id0 * a->item_ld;
                const float *v1 = (const float *)job->items + id1 * a->item_ld;
#if NS_AVX2_CLONES
                if (kernel == NS_SCORED_KERNEL_AVX512)
                    dot2_f32_partials_avx512(s->query, v0, v1, dim, t, r);
                else if (kernel == NS_SCORED_KERNEL_AVX2)
                    dot2_f32_partials_avx2(s->query, v0, v1, dim, t, r);
                else
#endif
                {
                    dot_f32_partials(s->query, v0, dim, t, r);
                    dot_f32_partials(s->query, v1, dim, t + 4, r + 1);
                }
            } else {
                const double *v0 = (const double *)job->items + id0 * a->item_ld;
                const double *v1 = (const double *)job->items + id1 * a->item_ld;
#if NS_AVX2_CLONES
                if (kernel == NS_SCORED_KERNEL_AVX512)
                    dot2_f64_partials_avx512(s->query, v0, v1, dim, t, r);
                else if (kernel == NS_SCORED_KERNEL_AVX2)
                    dot2_f64_partials_avx2(s->query, v0, v1, dim, t, r);
                else
#endif
                {
                    dot_f64_partials(s->query, v0, dim, t, r);
                    dot_f64_partials(s->query, v1, dim, t + 4, r + 1);
                }
            }
        }
    }
    const int64_t n = (g1 - g0) * m;
    int finite;
#if NS_AVX2_CLONES
    if (kernel != NS_SCORED_KERNEL_SCALAR)
        finite = sum_group_avx2(s->part, s->tail, s->scores, n, job->f32);
    else
#endif
        finite = sum_group(s->part, s->tail, s->scores, n, job->f32);
    (void)kernel;
    if (!finite) return NS_ERR_VALUE;
    if (job->use_set) {
        for (int64_t e = 0; e < n; e++) {
            if (s->dup[e]) s->scores[e] = NAN;
        }
    }
    return NS_OK;
}

/* Pass 2 for row o when k <= NS_SCORED_SCAN_MAX (then duplicates are
 * looked for among the entries kept, or not at all for distinct pools):
 * the k best kept in an array sorted best first (a candidate that beats
 * the last one is inserted; no heap), so that the common case, a
 * candidate worse than the last one, costs one comparison.  Keeps the
 * entries select_row's heap keeps, in the same order. */
NS_INLINE void select_row_small(const select_job *job, select_scratch *s, int64_t o,
                                const double *score, uint64_t seed) {
    const ns_scored_args *a = job->a;
    const int64_t m = a->pool_size, k = a->k;
    const int sampling = a->inv_temperature > 0.0;
    const int scan = !a->distinct;
    const int64_t *row = a->pool + o * m;
    double key[NS_SCORED_SCAN_MAX], val[NS_SCORED_SCAN_MAX];
    int64_t id_of[NS_SCORED_SCAN_MAX], pos[NS_SCORED_SCAN_MAX];
    /* Sentinels: every candidate (a finite key) beats them. */
    for (int64_t t = 0; t < k; t++) {
        key[t] = -INFINITY;
        id_of[t] = INT64_MAX;
    }
    int64_t size = 0;
    for (int64_t j = 0; j < m; j++) {
        const double x = score[j];
        const int64_t id = row[j];
        double c = x;
        if (sampling) {
            const double base = x * a->inv_temperature;
            /* Cannot beat the last whatever its noise: skip the logs. */
            if (size == k && base + NS_SCORED_GUMBEL_MAX < key[k - 1]) continue;
            c = base + id_gumbel(seed, id);
        }
        /* Not better than the last one kept (ids are < INT64_MAX). */
        if (c < key[k - 1] || (c == key[k - 1] && id > id_of[k - 1])) continue;
        if (scan) {
            /* A duplicate has its twin's key: it gets here only while the
             * twin is kept. */
            int dup = 0;
            for (int64_t t = 0; t < size; t++) dup |= id_of[t] == id;
            if (dup) continue;
        }
        int64_t t = k - 1;
        while (t > 0 && (c > key[t - 1] || (c == key[t - 1] && id < id_of[t - 1]))) {
            key[t] = key[t - 1];
            val[t] = val[t - 1];
            id_of[t] = id_of[t - 1];
            pos[t] = pos[t - 1];
            t--;
        }
        key[t] = c;
        val[t] = x;
        id_of[t] = id;
        pos[t] = j;
        if (size < k) size++;
    }
    (void)s;
    /* size >= 1 (k >= 1, m >= 1); again from the first when the pool had
     * fewer than k distinct ids. */
    int64_t *ids = a->out_ids + o * k;
    double *lq = a->out_log_q ? a->out_log_q + o * k : NULL;
    for (int64_t t = 0; t < k; t++) {
        const int64_t u = t < size ? t : t % size;
        ids[t] = id_of[u];
        if (job->f32) ((float *)job->out_scores)[o * k + t] = (float)val[u];
        else ((double *)job->out_scores)[o * k + t] = val[u];
        if (lq) lq[t] = a->pool_log_q[o * m + pos[u]];
    }
}

#if NS_AVX2_CLONES
/* The top k (no noise) for k <= 8 without a branch per candidate, in the
 * AVX-512 kernel: the k best (key, id, position) sorted best first in the
 * lanes of three vectors; a candidate beats a suffix of the lanes (mask
 * `better`), takes its first lane and shifts the others one lane on.
 * Keeps what select_row_small keeps, in the same order. */
typedef struct {
    __m512d key;
    __m512i ids, pos;
} top8_state;

NS_TARGET_SCORED_AVX512 static inline void top8_init(top8_state *t) {
    t->key = _mm512_set1_pd(-INFINITY); /* every finite score beats it */
    t->ids = _mm512_set1_epi64(INT64_MAX);
    t->pos = _mm512_setzero_si512();
}

/* Candidate j (score x, id) offered; `lanes` the first k. */
NS_TARGET_SCORED_AVX512 static inline void top8_offer(top8_state *t, double x, int64_t id,
                                                      int64_t j, __mmask8 lanes, int scan) {
    const __m512i up = _mm512_set_epi64(6, 5, 4, 3, 2, 1, 0, 0); /* lane l <- l - 1 */
    const __m512d xv = _mm512_set1_pd(x);
    const __m512i iv = _mm512_set1_epi64(id);
    /* x beats a lane: a larger key, or the same key and a lower id */
    __mmask8 better = _mm512_cmp_pd_mask(xv, t->key, _CMP_GT_OQ) |
                      (_mm512_cmp_pd_mask(xv, t->key, _CMP_EQ_OQ) &
                       _mm512_cmplt_epi64_mask(iv, t->ids));
    /* a duplicate of a kept id (its twin's key) is not kept again; ids are
     * < INT64_MAX, the empty lanes' id */
    if (scan) better &= (__mmask8) - (_mm512_cmpeq_epi64_mask(iv, t->ids) == 0);
    better &= lanes;
    const __mmask8 shifted = (__mmask8)(better << 1) & better;
    t->key = _mm512_mask_blend_pd(
        better, t->key, _mm512_mask_blend_pd(shifted, xv, _mm512_permutexvar_pd(up, t->key)));
    t->ids = _mm512_mask_blend_epi64(
        better, t->ids,
        _mm512_mask_blend_epi64(shifted, iv, _mm512_permutexvar_epi64(up, t->ids)));
    t->pos = _mm512_mask_blend_epi64(
        better, t->pos,
        _mm512_mask_blend_epi64(shifted, _mm512_set1_epi64(j),
                                _mm512_permutexvar_epi64(up, t->pos)));
}

/* Row o's outputs from its state (as select_row_small writes them). */
NS_TARGET_SCORED_AVX512 static inline void top8_write(const select_job *job, const top8_state *t,
                                                      int64_t o) {
    const ns_scored_args *a = job->a;
    const int64_t m = a->pool_size, k = a->k;
    double kv[8];
    int64_t iv[8], pv[8];
    _mm512_storeu_pd(kv, t->key);
    _mm512_storeu_si512((void *)iv, t->ids);
    _mm512_storeu_si512((void *)pv, t->pos);
    int64_t size = 0;
    while (size < k && iv[size] != INT64_MAX) size++;
    /* size >= 1 (k >= 1, m >= 1); again from the first when the pool had
     * fewer than k distinct ids. */
    int64_t *out = a->out_ids + o * k;
    double *lq = a->out_log_q ? a->out_log_q + o * k : NULL;
    for (int64_t u = 0; u < k; u++) {
        const int64_t w = u < size ? u : u % size;
        out[u] = iv[w];
        if (job->f32) ((float *)job->out_scores)[o * k + u] = (float)kv[w];
        else ((double *)job->out_scores)[o * k + u] = kv[w];
        if (lq) lq[u] = a->pool_log_q[o * m + pv[w]];
    }
}

/* Block b in the AVX-512 kernel for the top k <= 8 of pools of float32 or
 * float64 vectors, software-pipelined by rows: while the candidates of row
 * o are gathered and dotted (as score_group does), those of row o - 1,
 * summed, are offered to its top8_state, so that the selection's work
 * overlaps the gather's misses. */
NS_TARGET_SCORED_AVX512 static int select_block_top8_avx512(const select_job *job,
                                                            select_scratch *s, int64_t b) {
    const ns_scored_args *a = job->a;
    const int64_t m = a->pool_size, dim = a->dim, n_items = a->n_items;
    const int scan = !a->distinct;
    const __mmask8 lanes = (__mmask8)((1u << a->k) - 1u);
    int64_t start, stop;
    ns_chunk_bounds(b, NS_SCORED_BLOCK_ROWS, a->n_rows, &start, &stop);
    const int64_t *pool = a->pool + start * m;
    const int64_t n_entries = (stop - start) * m;
    for (int64_t e = 0; e < NS_SCORED_AHEAD && e < n_entries; e++) {
        prefetch_vector(job, pool[e]);
    }
    /* prev: the scores of row o - 1 (ids prev_row), offered during row o */
    double *prev = s->scores, *cur = s->scores + m;
    const int64_t *prev_row = NULL;
    top8_state t;
    top8_init(&t);
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
        for (int64_t j = 0; j < m; j += 2) {
            const int64_t j1 = j + 1 < m ? j + 1 : j;
            if (e0 + j + NS_SCORED_AHEAD < n_entries) {
                prefetch_vector(job, pool[e0 + j + NS_SCORED_AHEAD]);
            }
            if (e0 + j + 1 + NS_SCORED_AHEAD < n_entries) {
                prefetch_vector(job, pool[e0 + j + 1 + NS_SCORED_AHEAD]);
            }
            const int64_t id0 = row[j], id1 = row[j1];
            if (id0 < 0 || id0 >= n_items || id1 < 0 || id1 >= n_items) return NS_ERR_VALUE;
            /* the second of an odd row's last pair goes to the spare slot */
            double *pt = s->part + 4 * j, *r = s->tail + j;
            if (job->f32) {
                dot2_f32_partials_avx512(s->query, (const float *)job->items + id0 * a->item_ld,
                                         (const float *)job->items + id1 * a->item_ld, dim,
                                         pt, r);
            } else {
                dot2_f64_partials_avx512(s->query, (const double *)job->items + id0 * a->item_ld,
                                         (const double *)job->items + id1 * a->item_ld, dim,
                                         pt, r);
            }
            if (prev_row) {
                top8_offer(&t, prev[j], prev_row[j], j, lanes, scan);
                if (j1 != j) top8_offer(&t, prev[j1], prev_row[j1], j1, lanes, scan);
            }
        }
        if (!sum_group_avx2(s->part, s->tail, cur, m, job->f32)) return NS_ERR_VALUE;
        if (prev_row) top8_write(job, &t, o - 1);
        top8_init(&t);
        double *swap = prev;
        prev = cur;
        cur = swap;
        prev_row = row;
    }
    if (prev_row) {
        for (int64_t j = 0; j < m; j++) top8_offer(&t, prev[j], prev_row[j], j, lanes, scan);
        top8_write(job, &t, stop - 1);
    }
    return NS_OK;
}
#endif

/* Pass 2 for row o, whose scores are score[0 .. m): the k kept, written
 * to the outputs. */
NS_INLINE void select_row(const select_job *job, select_scratch *s, int64_t o,
                          const double *score, uint64_t seed) {
    const ns_scored_args *a = job->a;
    const int64_t m = a->pool_size, k = a->k;
    const int sampling = a->inv_temperature > 0.0;
    const int scan = !a->distinct && !job->use_set;
    const int64_t *row = a->pool + o * m;
    scored_entry *heap = s->heap;
    /* The root is the worst entry kept. */
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

/* Rows [start, stop) of block b, with noise stream (k0, k1, b) (one seed
 * per row, in row order), in groups of job->group_rows rows. */
NS_INLINE int select_block(const select_job *job, select_scratch *s, int64_t b,
                           int kernel) {
    const ns_scored_args *a = job->a;
    const int64_t m = a->pool_size;
    const int sampling = a->inv_temperature > 0.0;
    const int small = a->k <= NS_SCORED_SCAN_MAX && !job->use_set;
    int64_t start, stop;
    ns_chunk_bounds(b, NS_SCORED_BLOCK_ROWS, a->n_rows, &start, &stop);
    const int64_t *pool = a->pool + start * m;
    const int64_t n_entries = (stop - start) * m;
    ns_rng_t rng;
    ns_rng_seed(&rng, a->k0, a->k1, (uint64_t)b);
    for (int64_t e = 0; e < NS_SCORED_AHEAD && e < n_entries; e++) {
        prefetch_vector(job, pool[e]);
    }
    for (int64_t g0 = start; g0 < stop; g0 += job->group_rows) {
        const int64_t g1 = stop - g0 > job->group_rows ? g0 + job->group_rows : stop;
        const int status = score_group(job, s, pool, n_entries, start, g0, g1, kernel);
        if (status != NS_OK) return status;
        for (int64_t o = g0; o < g1; o++) {
            const uint64_t seed = sampling ? ns_rng_next(&rng) : 0;
            if (small) select_row_small(job, s, o, s->scores + (o - g0) * m, seed);
            else select_row(job, s, o, s->scores + (o - g0) * m, seed);
        }
    }
    return NS_OK;
}

/* The blocks [b0, b1) with one scratch; `kernel` constant (inlined). */
NS_INLINE int select_chunk(void *vjob, int64_t b0, int64_t b1, int kernel) {
    const select_job *job = (const select_job *)vjob;
    select_scratch s;
    int status = scratch_alloc(&s, job);
    for (int64_t b = b0; b < b1 && status == NS_OK; b++) {
#if NS_AVX2_CLONES
        if (kernel == NS_SCORED_KERNEL_AVX512 && job->top8)
            status = select_block_top8_avx512(job, &s, b);
        else
#endif
            status = select_block(job, &s, b, kernel);
    }
    scratch_free(&s);
    return status;
}

static int select_chunk_scalar(void *vjob, int64_t b0, int64_t b1) {
    return select_chunk(vjob, b0, b1, NS_SCORED_KERNEL_SCALAR);
}

#if NS_AVX2_CLONES
NS_TARGET_SCORED_AVX2 static int select_chunk_avx2(void *vjob, int64_t b0, int64_t b1) {
    return select_chunk(vjob, b0, b1, NS_SCORED_KERNEL_AVX2);
}

NS_TARGET_SCORED_AVX512 static int select_chunk_avx512(void *vjob, int64_t b0, int64_t b1) {
    return select_chunk(vjob, b0, b1, NS_SCORED_KERNEL_AVX512);
}
#endif

static int select_impl(const ns_scored_args *a, const void *queries,
                       const void *items, void *out_scores, int f32,
                       const ns_par *par) {
    if (!a || a->n_rows < 0 || a->pool_size < 1 || a->k < 0 ||
        a->k > a->pool_size || a->n_items < 1 || a->dim < 1 ||
        a->query_ld < 0 || a->item_ld < 0 ||
        !(a->inv_temperature >= 0.0) || isinf(a->inv_temperature))
        return NS_ERR_VALUE;
    int kernel = a->kernel;
    if (kernel == NS_SCORED_KERNEL_AUTO) kernel = ns_scored_best_kernel();
    if (!ns_scored_kernel_available(kernel)) return NS_ERR_VALUE;
    if (a->n_rows == 0 || a->k == 0) return NS_OK;
    if (!a->pool || !queries || !items || !out_scores || !a->out_ids ||
        (a->pool_log_q && !a->out_log_q))
        return NS_ERR_VALUE;
    const size_t elem = f32 ? sizeof(float) : sizeof(double);
    int64_t group_rows = NS_SCORED_GROUP_ENTRIES / a->pool_size;
    if (group_rows < 1) group_rows = 1;
    if (group_rows > NS_SCORED_BLOCK_ROWS) group_rows = NS_SCORED_BLOCK_ROWS;
    select_job job = {
        .a = a,
        .queries = queries,
        .items = items,
        .out_scores = out_scores,
        .f32 = f32,
        .use_set = !a->distinct && a->k > NS_SCORED_SCAN_MAX,
        .group_rows = group_rows,
        .top8 = a->inv_temperature == 0.0 && a->k <= 8,
        .vector_bytes = (size_t)a->dim * elem,
        .row_bytes = (size_t)a->item_ld * elem,
    };
    ns_chunk_fn fn = select_chunk_scalar;
#if NS_AVX2_CLONES
    if (kernel == NS_SCORED_KERNEL_AVX512) fn = select_chunk_avx512;
    else if (kernel == NS_SCORED_KERNEL_AVX2) fn = select_chunk_avx2;
#endif
    const int64_t n_blocks = ns_chunk_count(a->n_rows, NS_SCORED_BLOCK_ROWS);
    return ns_par_for(par, n_blocks, NS_SCORED_MIN_BLOCKS_PER_THREAD, fn, &job);
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

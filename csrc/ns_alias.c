#include "ns_alias.h"

#include <math.h>
#include <string.h>

#include "ns_sum.h"

/* While building, the threshold field holds the scaled column q_i = n p_i
 * as the bits of a double (memcpy is the well-defined way to pun). */
static inline double get_q(const ns_alias_entry *e) {
    double q;
    memcpy(&q, &e->threshold, sizeof q);
    return q;
}
static inline void set_q(ns_alias_entry *e, double q) {
    memcpy(&e->threshold, &q, sizeof q);
}

/* Threshold of probability q in [0, 1]: ceil(q * 2^53), exact since scaling
 * by a power of two is exact.  "53-bit uniform k < ceil(q 2^53)" is the same
 * event as "k / 2^53 < q". */
static inline uint64_t threshold_of(double q) {
    if (!(q > 0.0)) return 0;
    if (q >= 1.0) return NS_ALIAS_ONE;
    return (uint64_t)ceil(q * NS_TWO53);
}

int ns_alias_build(const double *weights, int64_t n, ns_alias_entry *table,
                   int64_t *work, double *max_weight, double *total_scaled) {
    if (n <= 0) return NS_ERR_EMPTY;

    double wmax = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double w = weights[i];
        if (!(w >= 0.0) || !isfinite(w)) return NS_ERR_VALUE; /* NaN too */
        if (w > wmax) wmax = w;
    }
    if (!(wmax > 0.0)) return NS_ERR_EMPTY;

    /* Neumaier-compensated sum of w / wmax: every term is in [0, 1], so the
     * sum is in [1, n] whatever the magnitude of the weights. */
    ns_sum acc = NS_SUM_ZERO;
    for (int64_t i = 0; i < n; i++) ns_sum_add(&acc, weights[i] / wmax);
    const double sum = ns_sum_value(&acc);
    if (max_weight) *max_weight = wmax;
    if (total_scaled) *total_scaled = sum;

    /* Scaled columns q_i = n * p_i, kept in the threshold fields while building. */
    const double scale = (double)n / sum;
    int64_t n_small = 0, n_large = 0; /* small grows up from work[0], large
                                         down from work[n - 1] */
    for (int64_t i = 0; i < n; i++) {
        const double q = (weights[i] / wmax) * scale;
        set_q(&table[i], q);
        table[i].alias = i;
        if (q >= 1.0) work[n - 1 - n_large++] = i;
        else if (q > 0.0) work[n_small++] = i;
    }
    /* Zero-weight columns are pushed last so they are paired first: they
     * must never be left over for the residual guard below. */
    for (int64_t i = 0; i < n; i++) {
        if (get_q(&table[i]) == 0.0) work[n_small++] = i;
    }

    int64_t last_large = work[n - 1]; /* wmax > 0 so some q >= 1 exists */
    while (n_small > 0 && n_large > 0) {
        const int64_t s = work[--n_small];
        const int64_t l = work[n - n_large];
        last_large = l;
        table[s].alias = l;
        /* q_s is final: keep s with probability q_s. */
        const double q_l = (get_q(&table[l]) + get_q(&table[s])) - 1.0;
        set_q(&table[l], q_l);
        if (q_l < 1.0) {
            n_large--;
            work[n_small++] = l;
        }
    }
    /* Residual guard: whatever is left is 1 up to rounding. */
    while (n_large > 0) {
        const int64_t l = work[n - n_large--];
        set_q(&table[l], 1.0);
        table[l].alias = l;
    }
    while (n_small > 0) {
        const int64_t s = work[--n_small];
        if (weights[s] > 0.0) {
            set_q(&table[s], 1.0);
            table[s].alias = s;
        } else { /* unreachable unless rounding error reached 1 */
            set_q(&table[s], 0.0);
            table[s].alias = last_large;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        table[i].threshold = threshold_of(get_q(&table[i]));
    }
    return NS_OK;
}

int ns_alias_make_hot(const ns_alias_entry *table, int64_t n,
                      ns_alias_hot *hot) {
    if (n <= 0 || n > (int64_t)0xFFFFFFFF) return NS_ERR_VALUE;
    for (int64_t i = 0; i < n; i++) {
        const uint64_t t_hi = table[i].threshold >> 21;
        hot[i].t_hi = t_hi > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)t_hi;
        hot[i].alias = (uint32_t)table[i].alias;
    }
    return NS_OK;
}

/* The window loops (ns_alias_window.inc) are plain C that compilers
 * vectorise; they are also compiled for AVX2 (ns_common.h), and that copy
 * is picked at run time when the CPU has it.  Both copies compute the same
 * integers, so the output does not depend on the CPU. */
/* Windows of tables with at least this many entries prefetch their entries
 * first: smaller tables sit in L2, where out-of-order execution already
 * overlaps the loads of a window. */
#define NS_ALIAS_WINDOW_PREFETCH_MIN ((int64_t)1 << 21)

/* The threshold a 32-bit coin is compared with: t_hi of a compact entry,
 * threshold >> 21 of a full one. */
NS_INLINE uint32_t hot_hi(ns_alias_hot e) { return e.t_hi; }
NS_INLINE uint64_t full_hi(ns_alias_entry e) { return e.threshold >> 21; }

#define NS_WINDOW_NAME window_hot
#define NS_WINDOW_ATTR
#define NS_WINDOW_ENTRY ns_alias_hot
#define NS_WINDOW_HI_T uint32_t
#define NS_WINDOW_HI hot_hi
#include "ns_alias_window.inc"

#define NS_WINDOW_NAME window_full
#define NS_WINDOW_ATTR
#define NS_WINDOW_ENTRY ns_alias_entry
#define NS_WINDOW_HI_T uint64_t
#define NS_WINDOW_HI full_hi
#include "ns_alias_window.inc"

#if NS_AVX2_CLONES
#define NS_WINDOW_NAME window_hot_avx2
#define NS_WINDOW_ATTR NS_TARGET_AVX2
#define NS_WINDOW_ENTRY ns_alias_hot
#define NS_WINDOW_HI_T uint32_t
#define NS_WINDOW_HI hot_hi
#include "ns_alias_window.inc"

#define NS_WINDOW_NAME window_full_avx2
#define NS_WINDOW_ATTR NS_TARGET_AVX2
#define NS_WINDOW_ENTRY ns_alias_entry
#define NS_WINDOW_HI_T uint64_t
#define NS_WINDOW_HI full_hi
#include "ns_alias_window.inc"
#else
#define window_hot_avx2 window_hot
#define window_full_avx2 window_full
#endif

/* Draws are made as int64; an int32 output receives each window or batch
 * from a small buffer (in L1), narrowed in one pass, so that every loop
 * exists once. */
static inline void store_i32(const int64_t *src, int32_t *dst, int m) {
    for (int t = 0; t < m; t++) dst[t] = (int32_t)src[t];
}

/* Tables of 2^32 entries or more draw one at a time (64-bit Lemire column,
 * a second word for the coin), NS_ALIAS_BATCH columns at a time with their
 * entries prefetched so that many cache misses are in flight at once. */
#define NS_ALIAS_BATCH 32

/* Parallel runs hand each participant a contiguous segment of blocks
 * (ns_pool.h): the first touch of a fresh output array faults its pages in,
 * and two threads that interleave 16384-draw blocks fault inside the same
 * huge page and wait for each other; contiguous runs keep them apart
 * (2 threads: 1.6x -> 1.8x at M = 1e7 here).  Which thread runs a block
 * never changes its draws. */
typedef struct {
    const ns_alias_entry *table;
    const ns_alias_hot *hot;
    int64_t n, count;
    uint64_t k0, k1;
    int64_t *out64; /* the output: exactly one of out64 and out32 is set */
    int32_t *out32;
    int windowed, avx2, prefetch;
} alias_job;

static int alias_blocks(void *vjob, int64_t b0, int64_t b1) {
    const alias_job *job = (const alias_job *)vjob;
    const ns_alias_entry *table = job->table;
    const ns_alias_hot *hot = job->hot;
    const int64_t n = job->n, count = job->count;
    const uint64_t k0 = job->k0, k1 = job->k1;
    const int windowed = job->windowed, avx2 = job->avx2;
    const int prefetch = job->prefetch;
    int64_t buf[NS_ALIAS_WINDOW]; /* int32 output only */
    for (int64_t b = b0; b < b1; b++) {
        const uint64_t first = (uint64_t)b * NS_ALIAS_STREAMS;
        const int64_t start = b * NS_ALIAS_BLOCK;
        const int64_t stop =
            (start + NS_ALIAS_BLOCK < count) ? start + NS_ALIAS_BLOCK : count;
        if (windowed) {
            ns_rng_lanes_t lanes;
            ns_rng_t redraw, tie;
            ns_rng_lanes_seed(&lanes, k0, k1, first);
            ns_rng_seed(&redraw, k0, k1, first + NS_RNG_LANES);
            ns_rng_seed(&tie, k0, k1, first + NS_RNG_LANES + 1);
            for (int64_t j0 = start; j0 < stop; j0 += NS_ALIAS_WINDOW) {
                const int m =
                    (int)((stop - j0 < NS_ALIAS_WINDOW) ? stop - j0
                                                        : NS_ALIAS_WINDOW);
                int64_t *dst = job->out32 ? buf : job->out64 + j0;
                if (hot && avx2)
                    window_hot_avx2(&lanes, &redraw, &tie, table, hot,
                                    (uint32_t)n, prefetch, dst, m);
                else if (hot)
                    window_hot(&lanes, &redraw, &tie, table, hot, (uint32_t)n,
                               prefetch, dst, m);
                else if (avx2)
                    window_full_avx2(&lanes, &redraw, &tie, table, table,
                                     (uint32_t)n, prefetch, dst, m);
                else
                    window_full(&lanes, &redraw, &tie, table, table,
                                (uint32_t)n, prefetch, dst, m);
                if (job->out32) store_i32(buf, job->out32 + j0, m);
            }
            continue;
        }
        ns_rng_t rng;
        ns_rng_seed(&rng, k0, k1, first);
        uint64_t cols[NS_ALIAS_BATCH];
        uint32_t coins[NS_ALIAS_BATCH];
        for (int64_t j0 = start; j0 < stop; j0 += NS_ALIAS_BATCH) {
            const int m = (int)((stop - j0 < NS_ALIAS_BATCH) ? stop - j0
                                                             : NS_ALIAS_BATCH);
            for (int t = 0; t < m; t++) {
                cols[t] = ns_alias_column((uint64_t)n, &rng, &coins[t]);
                NS_PREFETCH(&table[cols[t]], 0);
            }
            int64_t *dst = job->out32 ? buf : job->out64 + j0;
            for (int t = 0; t < m; t++)
                dst[t] = ns_alias_resolve(table, cols[t], coins[t], &rng);
            if (job->out32) store_i32(buf, job->out32 + j0, m);
        }
    }
    return NS_OK;
}

/* Blocks per thread below which a call stays on the caller's thread: 32
 * blocks (524288 draws) are 0.8 ms of draws or more.  Waking a worker costs
 * tens of microseconds, but on a machine whose cores are busy a worker can
 * be descheduled in the middle of its block and the caller then waits for
 * it: per-thread work must dwarf that risk. */
#define NS_ALIAS_MIN_BLOCKS_PER_THREAD 32

static int alias_sample(const ns_alias_entry *table, const ns_alias_hot *hot,
                        int64_t n, uint64_t k0, uint64_t k1, int64_t *out64,
                        int32_t *out32, int64_t count, const ns_par *par,
                        int allow_simd) {
    if (n <= 0) return NS_ERR_EMPTY;
    if (count <= 0) return NS_OK;
    const int windowed = n <= (int64_t)0xFFFFFFFF;
    alias_job job = {
        .table = table,
        .hot = hot,
        .n = n,
        .count = count,
        .k0 = k0,
        .k1 = k1,
        .out64 = out64,
        .out32 = out32,
        .windowed = windowed,
        .avx2 = windowed && allow_simd && ns_cpu_has_avx2(),
        .prefetch = n >= NS_ALIAS_WINDOW_PREFETCH_MIN,
    };
    const int64_t n_blocks = (count + NS_ALIAS_BLOCK - 1) / NS_ALIAS_BLOCK;
    return ns_par_for(par, n_blocks, NS_ALIAS_MIN_BLOCKS_PER_THREAD,
                      alias_blocks, &job);
}

int ns_alias_sample_i64(const ns_alias_entry *table, const ns_alias_hot *hot,
                        int64_t n, uint64_t k0, uint64_t k1, int64_t *out,
                        int64_t count, const ns_par *par, int allow_simd) {
    return alias_sample(table, hot, n, k0, k1, out, NULL, count, par,
                        allow_simd);
}

int ns_alias_sample_i32(const ns_alias_entry *table, const ns_alias_hot *hot,
                        int64_t n, uint64_t k0, uint64_t k1, int32_t *out,
                        int64_t count, const ns_par *par, int allow_simd) {
    return alias_sample(table, hot, n, k0, k1, NULL, out, count, par,
                        allow_simd);
}

/* Keyed rows: row r of row_len draws from keyed stream keys[r]
 * (ns_rng_seed_keyed), NS_ALIAS_BATCH columns at a time (column and coin
 * by ns_alias_column, entries prefetched), then resolved in order
 * (ns_alias_resolve; a coin tie takes its 21 low bits from the same stream
 * at that point). */
typedef struct {
    const ns_alias_entry *table;
    int64_t n, n_rows, row_len, rows_per_chunk;
    uint64_t k0, k1;
    const int64_t *keys;
    int64_t *out64; /* exactly one of out64 and out32 is set */
    int32_t *out32;
} alias_rows_job;

static int alias_rows(void *vjob, int64_t c0, int64_t c1) {
    const alias_rows_job *job = (const alias_rows_job *)vjob;
    const ns_alias_entry *table = job->table;
    const int64_t row_len = job->row_len;
    uint64_t cols[NS_ALIAS_BATCH];
    uint32_t coins[NS_ALIAS_BATCH];
    int64_t buf[NS_ALIAS_BATCH]; /* int32 output only */
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, job->rows_per_chunk, job->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            ns_rng_t rng;
            ns_rng_seed_keyed(&rng, job->k0, job->k1, job->keys[r]);
            for (int64_t j0 = 0; j0 < row_len; j0 += NS_ALIAS_BATCH) {
                const int m =
                    (int)((row_len - j0 < NS_ALIAS_BATCH) ? row_len - j0
                                                          : NS_ALIAS_BATCH);
                for (int t = 0; t < m; t++) {
                    cols[t] =
                        ns_alias_column((uint64_t)job->n, &rng, &coins[t]);
                    NS_PREFETCH(&table[cols[t]], 0);
                }
                const int64_t at = r * row_len + j0;
                int64_t *dst = job->out32 ? buf : job->out64 + at;
                for (int t = 0; t < m; t++)
                    dst[t] = ns_alias_resolve(table, cols[t], coins[t], &rng);
                if (job->out32) store_i32(buf, job->out32 + at, m);
            }
        }
    }
    return NS_OK;
}

static int alias_sample_rows(const ns_alias_entry *table, int64_t n,
                             uint64_t k0, uint64_t k1, const int64_t *keys,
                             int64_t n_rows, int64_t row_len, int64_t *out64,
                             int32_t *out32, const ns_par *par) {
    if (n <= 0) return NS_ERR_EMPTY;
    if (n_rows < 0 || row_len < 0) return NS_ERR_VALUE;
    if (n_rows == 0 || row_len == 0) return NS_OK;
    alias_rows_job job = {
        .table = table,
        .n = n,
        .n_rows = n_rows,
        .row_len = row_len,
        /* About NS_ALIAS_BLOCK draws per chunk (the chunking never changes
         * the output: each row has its own stream). */
        .rows_per_chunk =
            row_len >= NS_ALIAS_BLOCK ? 1 : NS_ALIAS_BLOCK / row_len,
        .k0 = k0,
        .k1 = k1,
        .keys = keys,
        .out64 = out64,
        .out32 = out32,
    };
    return ns_par_for(par, ns_chunk_count(n_rows, job.rows_per_chunk),
                      NS_ALIAS_MIN_BLOCKS_PER_THREAD, alias_rows, &job);
}

int ns_alias_sample_rows_i64(const ns_alias_entry *table, int64_t n,
                             uint64_t k0, uint64_t k1, const int64_t *keys,
                             int64_t n_rows, int64_t row_len, int64_t *out,
                             const ns_par *par) {
    return alias_sample_rows(table, n, k0, k1, keys, n_rows, row_len, out, NULL,
                             par);
}

int ns_alias_sample_rows_i32(const ns_alias_entry *table, int64_t n,
                             uint64_t k0, uint64_t k1, const int64_t *keys,
                             int64_t n_rows, int64_t row_len, int32_t *out,
                             const ns_par *par) {
    return alias_sample_rows(table, n, k0, k1, keys, n_rows, row_len, NULL, out,
                             par);
}

int ns_alias_probabilities(const ns_alias_entry *table, int64_t n,
                           double *out) {
    if (n <= 0) return NS_ERR_EMPTY;
    /* threshold / 2^53 and 1 - threshold / 2^53 are exact in float64. */
    const double unit = NS_INV_TWO53;
    for (int64_t i = 0; i < n; i++) out[i] = (double)table[i].threshold * unit;
    for (int64_t i = 0; i < n; i++) {
        const uint64_t t = table[i].threshold;
        if (t < NS_ALIAS_ONE)
            out[table[i].alias] += (double)(NS_ALIAS_ONE - t) * unit;
    }
    const double inv_n = 1.0 / (double)n;
    for (int64_t i = 0; i < n; i++) out[i] *= inv_n;
    return NS_OK;
}

int ns_alias_check(const ns_alias_entry *table, int64_t n) {
    if (n <= 0) return NS_ERR_CORRUPT;
    for (int64_t i = 0; i < n; i++) {
        const int64_t a = table[i].alias;
        if (table[i].threshold > NS_ALIAS_ONE) return NS_ERR_CORRUPT;
        if (a < 0 || a >= n) return NS_ERR_CORRUPT;
    }
    return NS_OK;
}

#include "ns_alias.h"

#include <math.h>
#include <string.h>

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
    return (uint64_t)ceil(q * 9007199254740992.0);
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
    double sum = 0.0, comp = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double x = weights[i] / wmax;
        const double t = sum + x;
        if (fabs(sum) >= fabs(x)) comp += (sum - t) + x;
        else comp += (x - t) + sum;
        sum = t;
    }
    sum += comp;
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

/* Tables larger than this many entries (256 KiB, about half an L2 cache) are sampled in batches:
 * first the columns of NS_ALIAS_BATCH draws, with their entries prefetched,
 * then the resolution, so that many cache misses are in flight at once. */
#define NS_ALIAS_PREFETCH_MIN ((int64_t)1 << 14)
#define NS_ALIAS_BATCH 32

#if defined(__GNUC__) || defined(__clang__)
#define NS_PREFETCH(p) __builtin_prefetch((p), 0, 0)
#else
#define NS_PREFETCH(p) ((void)0)
#endif

#define NS_ALIAS_SAMPLE_BODY(OUT_T)                                          \
    if (n <= 0) return NS_ERR_EMPTY;                                         \
    if (count <= 0) return NS_OK;                                            \
    const int64_t n_blocks = (count + NS_ALIAS_BLOCK - 1) / NS_ALIAS_BLOCK; \
    if (n_threads < 1) n_threads = 1;                                        \
    if ((int64_t)n_threads > n_blocks) n_threads = (int)n_blocks;            \
    const int batched = n >= NS_ALIAS_PREFETCH_MIN;                          \
    int64_t b;                                                               \
    _Pragma("omp parallel for num_threads(n_threads) schedule(dynamic, 1)")  \
    for (b = 0; b < n_blocks; b++) {                                         \
        ns_rng_t rng;                                                        \
        ns_rng_seed(&rng, k0, k1, (uint64_t)b);                              \
        const int64_t start = b * NS_ALIAS_BLOCK;                            \
        const int64_t stop = (start + NS_ALIAS_BLOCK < count)                \
                                 ? start + NS_ALIAS_BLOCK : count;           \
        /* restrict: stores to out cannot alias the RNG state, so the state \
         * stays in registers. */                                            \
        OUT_T *restrict dst = out;                                           \
        if (!batched) {                                                      \
            for (int64_t j = start; j < stop; j++) {                         \
                dst[j] = (OUT_T)ns_alias_draw(table, (uint64_t)n, &rng);     \
            }                                                                \
            continue;                                                        \
        }                                                                    \
        uint64_t cols[NS_ALIAS_BATCH];                                       \
        uint32_t coins[NS_ALIAS_BATCH];                                      \
        for (int64_t j0 = start; j0 < stop; j0 += NS_ALIAS_BATCH) {          \
            const int m = (int)((stop - j0 < NS_ALIAS_BATCH)                 \
                                    ? stop - j0 : NS_ALIAS_BATCH);           \
            for (int t = 0; t < m; t++) {                                    \
                cols[t] = ns_alias_column((uint64_t)n, &rng, &coins[t]);     \
                NS_PREFETCH(&table[cols[t]]);                                \
            }                                                                \
            for (int t = 0; t < m; t++) {                                    \
                dst[j0 + t] =                                                \
                    (OUT_T)ns_alias_resolve(table, cols[t], coins[t], &rng); \
            }                                                                \
        }                                                                    \
    }                                                                        \
    return NS_OK;

int ns_alias_sample_i64(const ns_alias_entry *table, int64_t n, uint64_t k0,
                        uint64_t k1, int64_t *out, int64_t count,
                        int n_threads) {
    NS_ALIAS_SAMPLE_BODY(int64_t)
}

int ns_alias_sample_i32(const ns_alias_entry *table, int64_t n, uint64_t k0,
                        uint64_t k1, int32_t *out, int64_t count,
                        int n_threads) {
    NS_ALIAS_SAMPLE_BODY(int32_t)
}

int ns_alias_probabilities(const ns_alias_entry *table, int64_t n,
                           double *out) {
    if (n <= 0) return NS_ERR_EMPTY;
    /* threshold / 2^53 and 1 - threshold / 2^53 are exact in float64. */
    const double unit = 1.0 / 9007199254740992.0;
    for (int64_t i = 0; i < n; i++) out[i] = (double)table[i].threshold * unit;
    for (int64_t i = 0; i < n; i++) {
        const uint64_t t = table[i].threshold;
        if (t < NS_ALIAS_ONE) out[table[i].alias] += (double)(NS_ALIAS_ONE - t) * unit;
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

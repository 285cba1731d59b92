/*
 * ns_alias.h -- Walker/Vose alias tables: O(n) build, O(1) weighted draws.
 *
 * Walker 1977, "An efficient method for generating discrete random variables
 * with general distributions"; the stable build is Vose 1991, "A linear
 * algorithm for generating random numbers with a given distribution".
 *
 * A table of n entries draws item i with probability
 *     P(i) = (t_i + sum_{j : alias[j] = i} (2^53 - t_j)) / (n 2^53)
 * where t_j in [0, 2^53] is column j's threshold.  Draws are exact: the
 * column is an unbiased bounded integer and the coin has 53 bits, so the
 * law drawn is exactly ns_alias_probabilities().
 *
 * Two layouts hold the same table:
 *   - full: one 16-byte ns_alias_entry per column (any n; the serialised
 *     form, and what the negative-sampling kernels read);
 *   - compact, for n < 2^32: an 8-byte ns_alias_hot per column (the 32 high
 *     bits of the threshold and the alias), which is all a draw reads but
 *     for a coin tie, and a uint32 `low` per column with the threshold's
 *     remaining bits, read on a tie only (probability 2^-32 a draw).
 *     Together they hold every threshold exactly (ns_alias_hot below), so a
 *     draw from either layout is the same, bit for bit.
 */
#ifndef NS_ALIAS_H
#define NS_ALIAS_H

#include <stdint.h>
#include "ns_common.h"
#include "ns_pool.h"
#include "ns_rng.h"

typedef struct {
    /* Keep column i when a 53-bit uniform integer is below `threshold`
     * (in [0, 2^53]): the column's probability is threshold / 2^53, which
     * is the float64 probability of Vose's build, rounded up to 2^-53. */
    uint64_t threshold;
    int64_t alias; /* the item drawn otherwise, in [0, n) */
} ns_alias_entry;

#define NS_ALIAS_ONE ((uint64_t)1 << 53) /* threshold of probability 1 */

/* Compact entry (n < 2^32).  t_hi = min(threshold >> 21, 2^32 - 1) is
 * compared with the 32-bit coin of a draw; the column's `low` word is
 * threshold - (t_hi << 21), in [0, 2^21] (2^21 only for threshold 2^53,
 * whose t_hi is clipped), so threshold = (t_hi << 21) + low exactly and a
 * coin equal to t_hi is settled as the full entry settles it
 * (ns_alias_settle_tie). */
typedef struct {
    uint32_t t_hi;
    uint32_t alias;
} ns_alias_hot;

/* Largest n of a compact table (its aliases are uint32, and draws split
 * one 64-bit word into a 32-bit column and a 32-bit coin). */
#define NS_ALIAS_COMPACT_MAX ((int64_t)0xFFFFFFFF)

/* Draws per RNG block (see ns_rng.h): fixed so that output does not depend
 * on the thread count. */
#define NS_ALIAS_BLOCK 16384

/* Builds the table of `weights[0..n)`.  Weights must be finite, >= 0, with
 * a positive sum (NS_ERR_VALUE / NS_ERR_EMPTY otherwise, before anything is
 * written).  Weights are divided by their maximum before summing, so any
 * magnitude from the smallest subnormal to DBL_MAX neither overflows nor
 * underflows.  Items of weight 0 get threshold 0 and are never an alias:
 * they are never drawn.  Columns left over by rounding get probability 1
 * (the usual residual guard).  The table is bit for bit that of the
 * textbook worklist loop (tests/_reference.py alias_build).
 * If not NULL, *max_weight receives max(weights) and *total_scaled
 * sum(weights) / max(weights).
 *
 * ns_alias_build writes the full layout, table[0..n); `work` is scratch of
 * n int64.  ns_alias_build_compact writes the compact one, hot[0..n) and
 * low[0..n) (n <= NS_ALIAS_COMPACT_MAX, else NS_ERR_VALUE), with `work`
 * scratch of n bytes.  (Both use only its first n / 16 + 16 bytes, for n
 * >= 256: pages of it never touched are never faulted in.) allow_simd = 0 runs
 * the baseline-ISA copies of its loops (a test hook: the table is the
 * same).  Neither allocates. */
int ns_alias_build(const double *weights, int64_t n, ns_alias_entry *table,
                   int64_t *work, double *max_weight, double *total_scaled);
int ns_alias_build_compact(const double *weights, int64_t n, ns_alias_hot *hot,
                           uint32_t *low, uint8_t *work, double *max_weight,
                           double *total_scaled, int allow_simd);

/* The coin decision "53-bit uniform < threshold" from its 32 high bits
 * coin_hi, called when they equal the entry's 32-bit threshold (threshold
 * >> 21, or the clipped t_hi of a compact entry of threshold 2^53): the 21
 * low coin bits are drawn from rng only when coin_hi == threshold >> 21. */
NS_INLINE int ns_alias_settle_tie(uint64_t threshold, uint32_t coin_hi,
                                  ns_rng_t *rng) {
    if ((uint64_t)coin_hi != threshold >> 21)
        return (uint64_t)coin_hi < (threshold >> 21);
    return (ns_rng_next(rng) >> 43) < (threshold & 0x1FFFFF);
}

/* The threshold of compact column i. */
NS_INLINE uint64_t ns_alias_compact_threshold(const ns_alias_hot *hot,
                                              const uint32_t *low,
                                              uint64_t i) {
    return ((uint64_t)hot[i].t_hi << 21) + low[i];
}

/* Resolves column i with 53 coin bits split as the 32 bits `coin_hi` and,
 * only on a tie of those (probability 2^-32), 21 more bits from rng: the
 * decision is exactly "53-bit uniform < threshold". */
NS_INLINE int64_t ns_alias_resolve(const ns_alias_entry *table, uint64_t i,
                                   uint32_t coin_hi, ns_rng_t *rng) {
    const ns_alias_entry e = table[i];
    const uint64_t t_hi = e.threshold >> 21;
    int64_t keep = -(int64_t)((uint64_t)coin_hi < t_hi);
    if ((uint64_t)coin_hi == t_hi) /* rare: compare the low 21 bits */
        keep = -(int64_t)ns_alias_settle_tie(e.threshold, coin_hi, rng);
    /* Branch-free select: the coin is unpredictable, a branch would be
     * mispredicted about half the time. */
    return ((int64_t)i & keep) | (e.alias & ~keep);
}

/* ns_alias_resolve on a compact table: the same decision, the same words
 * read from rng. */
NS_INLINE int64_t ns_alias_resolve_compact(const ns_alias_hot *hot,
                                           const uint32_t *low, uint64_t i,
                                           uint32_t coin_hi, ns_rng_t *rng) {
    const ns_alias_hot e = hot[i];
    int64_t keep = -(int64_t)(coin_hi < e.t_hi);
    if (coin_hi == e.t_hi) /* rare */
        keep = -(int64_t)ns_alias_settle_tie(
            ns_alias_compact_threshold(hot, low, i), coin_hi, rng);
    return ((int64_t)i & keep) | ((int64_t)e.alias & ~keep);
}

/* Column and 32 coin bits of one draw.  For n < 2^32 a single 64-bit word
 * gives both: its high half picks the column by Lemire's 32-bit method
 * (rejection keeps it unbiased), its low half is the coin, independent of
 * the high half.  Larger tables use a 64-bit Lemire draw and a second word
 * for the coin. */
NS_INLINE uint64_t ns_alias_column(uint64_t n, ns_rng_t *rng,
                                   uint32_t *coin_hi) {
    if (n <= 0xFFFFFFFFULL) {
        for (;;) {
            const uint64_t x = ns_rng_next(rng);
            const uint64_t m = (x >> 32) * n;
            const uint32_t lo = (uint32_t)m;
            if (lo >= (uint32_t)n ||
                lo >= (uint32_t)(-(uint32_t)n) % (uint32_t)n) {
                *coin_hi = (uint32_t)x;
                return m >> 32;
            }
        }
    }
    const uint64_t i = ns_rng_bounded(rng, n);
    *coin_hi = (uint32_t)(ns_rng_next(rng) >> 32);
    return i;
}

/* One draw from the table. */
NS_INLINE int64_t ns_alias_draw(const ns_alias_entry *table, uint64_t n,
                                ns_rng_t *rng) {
    uint32_t coin_hi;
    const uint64_t i = ns_alias_column(n, rng, &coin_hi);
    return ns_alias_resolve(table, i, coin_hi, rng);
}

/* Compact layout of a full table (n <= NS_ALIAS_COMPACT_MAX, entries
 * already checked by ns_alias_check), and back. */
int ns_alias_make_compact(const ns_alias_entry *table, int64_t n,
                          ns_alias_hot *hot, uint32_t *low);
int ns_alias_expand(const ns_alias_hot *hot, const uint32_t *low, int64_t n,
                    ns_alias_entry *table);

/* Fills out[0..count) with independent draws from the table given by
 * either `table` (full layout; hot and low NULL) or `hot` and `low`
 * (compact layout; table NULL or not): the output is the same for both.
 * Runs on par's threads (NULL: the caller's only); returns
 * NS_ERR_INTERRUPTED when par->poll asked to stop.  allow_simd = 0 forces
 * the baseline-ISA copy of the window loops (a test hook: every copy gives
 * the same output).
 *
 * Streams: block b of NS_ALIAS_BLOCK draws uses streams
 * (k0, k1, b * NS_ALIAS_STREAMS + s).  For n < 2^32, draw t of a block
 * takes word t / NS_RNG_LANES of stream s = t % NS_RNG_LANES (column from
 * its high half by Lemire's method, coin from its low half); a rejected
 * column is redrawn from stream NS_RNG_LANES and coin ties are settled
 * from stream NS_RNG_LANES + 1, both in draw order, so a shorter call
 * returns a prefix of a longer one.  Larger tables draw scalar from stream
 * s = 0.  (Tables of 2^21 entries or more are drawn 32 at a time with the
 * entries of the next chunks prefetched, smaller ones 1024 at a time; that
 * never changes the draws.) */
#define NS_ALIAS_STREAMS (NS_RNG_LANES + 2)
int ns_alias_sample_i64(const ns_alias_entry *table, const ns_alias_hot *hot,
                        const uint32_t *low, int64_t n, uint64_t k0,
                        uint64_t k1, int64_t *out, int64_t count,
                        const ns_par *par, int allow_simd);
int ns_alias_sample_i32(const ns_alias_entry *table, const ns_alias_hot *hot,
                        const uint32_t *low, int64_t n, uint64_t k0,
                        uint64_t k1, int32_t *out, int64_t count,
                        const ns_par *par, int allow_simd);

/* Keyed rows: out[r * row_len + j] for r < n_rows, row r drawn from its
 * own keyed stream ns_rng_seed_keyed(k0, k1, keys[r]) (keys non-negative),
 * so row r depends only on (k0, k1, keys[r]) and row_len: never on the
 * other rows or the thread count.  Per row, draws go NS_ALIAS_BATCH at
 * a time: first the batch's columns and coins (ns_alias_column), then each
 * resolved in order (ns_alias_resolve, whose rare tie reads the stream).
 * The table is given as for ns_alias_sample_i64. */
int ns_alias_sample_rows_i64(const ns_alias_entry *table,
                             const ns_alias_hot *hot, const uint32_t *low,
                             int64_t n, uint64_t k0, uint64_t k1,
                             const int64_t *keys, int64_t n_rows,
                             int64_t row_len, int64_t *out, const ns_par *par);
int ns_alias_sample_rows_i32(const ns_alias_entry *table,
                             const ns_alias_hot *hot, const uint32_t *low,
                             int64_t n, uint64_t k0, uint64_t k1,
                             const int64_t *keys, int64_t n_rows,
                             int64_t row_len, int32_t *out, const ns_par *par);

/* The exact law of the table: out[i] = P(i) as above (n doubles), from the
 * full layout or the compact one. */
int ns_alias_probabilities(const ns_alias_entry *table, int64_t n, double *out);
int ns_alias_probabilities_compact(const ns_alias_hot *hot, const uint32_t *low,
                                   int64_t n, double *out);

/* Checks a table read from untrusted bytes: every threshold in [0, 2^53]
 * and every alias in [0, n), so that no later draw can index out of range.
 * Returns NS_OK or NS_ERR_CORRUPT. */
int ns_alias_check(const ns_alias_entry *table, int64_t n);

#endif /* NS_ALIAS_H */

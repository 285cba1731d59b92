#include "ns_alias.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "ns_sum.h"

/* ------------------------------------------------------------------ build
 *
 * Vose's build, in two or three passes over the weights and one write of
 * each entry:
 *   1. check every weight and find the largest (and the smallest), keep
 *      the extremes of each block of 256 weights in `work`, and, when the
 *      largest is a power of two, sum them (scan_body);
 *   2. unless pass 1 could sum the terms (scan_body), the Neumaier sum of
 *      w / wmax (ns_sum.h), in index order;
 *   3. pair the columns: cursors classify them (q = 0, small, large) a
 *      group of 64 at a time, skipping the blocks whose extremes rule the
 *      class out, and the lists read the weights of the columns popped.
 * The textbook loop keeps two worklists: smalls (0 < q < 1) pushed in index
 * order, then the columns of q = 0 on top (so that they are paired first);
 * larges pushed in index order.  Both are popped from the top, so each is
 * popped in descending index order, except that a large column whose
 * remainder drops below 1 is pushed on the small list and popped at once.
 * So the lists need not be stored: cursors that classify the columns
 * downwards replay them (class_cursor, vose_list), the one large column
 * being filled keeps its q in a register, and each entry is written once,
 * when its column is final.  Every operation on doubles is the textbook
 * loop's, in the same order, so the table is bit for bit the one it builds
 * (tests/_reference.py alias_build is that loop). */

/* q = n p of weight w: (w / wmax) * scale.  When wmax is a power of two
 * 2^e (-1022 <= e <= 1022), w * 2^-e is the same double as w / wmax (both
 * are the correctly rounded value of the same real), and a product is
 * cheaper. */
typedef struct {
    double wmax, inv, scale;
    int use_inv;
} column_scale;

NS_INLINE double column_q(const column_scale *cs, double w) {
    return (cs->use_inv ? w * cs->inv : w / cs->wmax) * cs->scale;
}

NS_INLINE uint64_t bits_of(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

NS_INLINE double double_of(uint64_t b) {
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* Threshold of a column of probability q in [0, 1): ceil(q * 2^53), exact
 * since scaling by a power of two is exact and q 2^53 < 2^53 converts to an
 * integer exactly; "53-bit uniform k < ceil(q 2^53)" is the same event as
 * "k / 2^53 < q".  (q >= 1 has threshold NS_ALIAS_ONE.) */
NS_INLINE uint64_t threshold_below_one(double q) {
    const double x = q * NS_TWO53;
    const uint64_t t = (uint64_t)(int64_t)x; /* x >= 0 (or -0.0) */
    return t + ((double)(int64_t)t < x);
}

/* Bit patterns: a finite double >= +0 is ordered as its pattern read as a
 * signed integer, and -0.0 (valid, weight 0) reads as INT64_MIN, below all
 * of them.  Invalid: +inf and NaN (patterns >= 0x7FF0...), negatives other
 * than -0.0. */
#define NS_BITS_INF 0x7FF0000000000000ULL
#define NS_BITS_NEG_ZERO 0x8000000000000000ULL

/* Pass 1: what the build needs to know of the weights, as two reductions
 * of an integer key of each (so that compilers vectorise the loop): the
 * bit pattern of a double >= +0, and for a negative one the pattern with
 * its magnitude bits flipped, read as a signed integer.  Keys are ordered
 * as the doubles are (-0.0 is -1, just below +0.0 which is 0), so
 *   max_key is the largest weight, and >= NS_BITS_INF iff a weight is
 *     +inf or NaN;
 *   min_key is the smallest, < -1 iff a weight is negative (other than
 *     -0.0), and <= 0 iff a weight is 0. */
typedef struct {
    int64_t max_key, min_key;
} weight_scan;

static void scan_init(weight_scan *scan) {
    scan->max_key = INT64_MIN;
    scan->min_key = INT64_MAX;
}

NS_INLINE int scan_bad(const weight_scan *scan) {
    return scan->max_key >= (int64_t)NS_BITS_INF || scan->min_key < -1;
}

NS_INLINE void scan_block(const double *weights, int m, weight_scan *scan) {
    int64_t hi = INT64_MIN, lo = INT64_MAX;
    for (int t = 0; t < m; t++) {
        uint64_t u;
        memcpy(&u, &weights[t], sizeof u);
        u ^= (0 - (u >> 63)) & 0x7FFFFFFFFFFFFFFFULL;
        int64_t key;
        memcpy(&key, &u, sizeof key);
        hi = key > hi ? key : hi;
        lo = key < lo ? key : lo;
    }
    scan->max_key = hi;
    scan->min_key = lo;
}

NS_INLINE void scan_merge(weight_scan *into, const weight_scan *block) {
    if (block->max_key > into->max_key) into->max_key = block->max_key;
    if (block->min_key < into->min_key) into->min_key = block->min_key;
}

/* The bit pattern of the smallest positive weight (valid weights), read
 * only when the build needs it. */
static int64_t min_positive_bits(const double *weights, int64_t n) {
    int64_t lo = INT64_MAX;
    for (int64_t i = 0; i < n; i++) {
        int64_t b;
        memcpy(&b, &weights[i], sizeof b);
        lo = (b > 0) & (b < lo) ? b : lo;
    }
    return lo;
}

/* Pass 1, and with `sum` the Neumaier sum of the weights themselves, a
 * block at a time (the block's scan is vectorised, its additions are in
 * index order).  When the largest weight is a power of two 2^e, each term
 * w / 2^e of pass 2 is w scaled exactly if it is a normal double (or 0),
 * and the additions of Neumaier's loop on exactly scaled operands give
 * exactly scaled results (a rounded sum scales with its operands; one that
 * falls below the normal range is exact, and so is its twin).  So if no
 * term loses bits and nothing overflows, this sum times 2^-e is the sum of
 * the terms, bit for bit, and pass 2 is not needed.
 * With divisor > 0 (a weight that is not a power of two), `sum` receives
 * instead the Neumaier sum of the terms w / divisor: when divisor is the
 * largest weight these are pass 2's terms, added in its order, and pass 2
 * is not needed either.  The first block holding a larger weight ends
 * that sum (NaN is left in *sum), so that a wrong guess costs at most the
 * divisions before it.
 * With `summary`, the extremes of block b (weights 256 b .. 256 b + 255)
 * are also stored there as summary[b] (see block_summary). */
/* A block is summed at once: NS_ALIAS_SCAN_BLOCK <= NS_SUM_BLOCK. */
#define NS_ALIAS_SCAN_BLOCK 256
typedef char
    ns_alias_scan_block_fits[NS_ALIAS_SCAN_BLOCK <= NS_SUM_BLOCK ? 1 : -1];
typedef struct {
    unsigned char bytes[16]; /* max_key, min_key: two int64, unaligned */
} block_summary;

NS_INLINE void summary_put(block_summary *s, const weight_scan *scan) {
    memcpy(s->bytes, &scan->max_key, 8);
    memcpy(s->bytes + 8, &scan->min_key, 8);
}

NS_INLINE void summary_get(const block_summary *s, weight_scan *scan) {
    memcpy(&scan->max_key, s->bytes, 8);
    memcpy(&scan->min_key, s->bytes + 8, 8);
}

#define NS_ALIAS_SCAN_AHEAD (4 * NS_ALIAS_SCAN_BLOCK) /* weights */
NS_INLINE void scan_body(const double *weights, int64_t n, weight_scan *scan,
                         ns_sum *sum, block_summary *summary, double divisor) {
    ns_sum_blocks acc;
    ns_sum_blocks_init(&acc);
    int64_t divisor_key;
    memcpy(&divisor_key, &divisor, sizeof divisor_key);
    for (int64_t j0 = 0; j0 < n; j0 += NS_ALIAS_SCAN_BLOCK) {
        const int m = (int)(n - j0 < NS_ALIAS_SCAN_BLOCK ? n - j0
                                                         : NS_ALIAS_SCAN_BLOCK);
        /* The lines of a block a few blocks ahead are requested now: the
         * additions of this block then overlap their loads. */
        if (j0 + NS_ALIAS_SCAN_AHEAD + NS_ALIAS_SCAN_BLOCK <= n)
            for (int t = 0; t < NS_ALIAS_SCAN_BLOCK; t += 8)
                NS_PREFETCH(&weights[j0 + NS_ALIAS_SCAN_AHEAD + t], 3);
        weight_scan block;
        scan_block(weights + j0, m, &block);
        scan_merge(scan, &block);
        if (summary) summary_put(&summary[j0 / NS_ALIAS_SCAN_BLOCK], &block);
        if (!sum) continue;
        if (divisor > 0.0) {
            if (block.max_key > divisor_key) { /* not the largest weight */
                sum->sum = sum->comp = NAN;
                sum = NULL;
                continue;
            }
            double terms[NS_ALIAS_SCAN_BLOCK];
            for (int t = 0; t < m; t++) terms[t] = weights[j0 + t] / divisor;
            ns_sum_blocks_add(&acc, terms, m);
        } else {
            ns_sum_blocks_add(&acc, weights + j0, m);
        }
    }
    if (sum) *sum = ns_sum_blocks_finish(&acc);
}

/* Weights looked at to guess whether the largest one is a power of two
 * (then pass 1 sums as well, see scan_body; a wrong guess costs time, never
 * a different table). */
#define NS_ALIAS_PROBE 256

/* Class byte of each column, 0 (q = 0), 1 (small) or 2 (large), from the
 * smallest weights with q > 0 and q >= 1 (as bit patterns); run by the
 * cursors on one group of 64 columns at a time. */
NS_INLINE void classify_body(const double *weights, int64_t n, int64_t bits0,
                             int64_t bits1, uint8_t *cls) {
    for (int64_t i = 0; i < n; i++) {
        int64_t b;
        memcpy(&b, &weights[i], sizeof b);
        cls[i] = (uint8_t)((b >= bits0) + (b >= bits1));
    }
}

static void scan_base(const double *w, int64_t n, weight_scan *scan,
                      ns_sum *sum, block_summary *summary, double divisor) {
    scan_body(w, n, scan, sum, summary, divisor);
}
static void classify_base(const double *w, int64_t n, int64_t b0, int64_t b1,
                          uint8_t *cls) {
    classify_body(w, n, b0, b1, cls);
}
#if NS_AVX2_CLONES
static NS_TARGET_AVX2 void scan_avx2(const double *w, int64_t n,
                                     weight_scan *scan, ns_sum *sum,
                                     block_summary *summary, double divisor) {
    scan_body(w, n, scan, sum, summary, divisor);
}
static NS_TARGET_AVX2 void classify_avx2(const double *w, int64_t n,
                                         int64_t b0, int64_t b1,
                                         uint8_t *cls) {
    classify_body(w, n, b0, b1, cls);
}
#else
#define scan_avx2 scan_base
#define classify_avx2 classify_base
#endif

/* The smallest weight w in [0, wmax] whose q is >= bound (bound > 0), or
 * INFINITY when q(wmax) < bound.  q is non-decreasing in w (a correctly
 * rounded division or product by a positive constant is), so
 * {w : q(w) >= bound} is [result, wmax]; doubles >= 0 are ordered as their
 * bit patterns, and a bisection over those finds the end exactly.  A
 * weight's class then follows from comparing it with two such bounds: the
 * same answer as computing its q. */
static double weight_at_least(const column_scale *cs, double bound) {
    uint64_t lo = 0, hi = bits_of(cs->wmax); /* q(lo) < bound <= q(hi) */
    if (!(column_q(cs, cs->wmax) >= bound)) return INFINITY;
    while (hi - lo > 1) {
        const uint64_t mid = lo + (hi - lo) / 2;
        if (column_q(cs, double_of(mid)) >= bound) hi = mid;
        else lo = mid;
    }
    return double_of(hi);
}

/* The columns of one class, in descending index order, 64 at a time:
 * `bits` holds those of group g (columns 64 g .. 64 g + 63) not taken yet,
 * column 64 g + 63 - k as bit k, so that the lowest set bit is the next
 * column.  A group's classes are computed from its weights when the cursor
 * reaches it (classify_body on 64 weights, in L1 afterwards for the list's
 * gather), and with `summary` (pass 1's extremes of each block of
 * NS_ALIAS_SCAN_BLOCK weights) the blocks that cannot hold the class are
 * skipped unread: on weights sorted by size, each list reads only its own
 * part of the array. */
typedef struct {
    const double *weights;
    const block_summary *summary; /* or NULL */
    int64_t n, g, bits0, bits1;
    uint64_t bits;
    int which; /* 0, 1 or 2 */
    int avx2;
} class_cursor;

static void cursor_init(class_cursor *c, const double *weights,
                        const block_summary *summary, int64_t n, int64_t bits0,
                        int64_t bits1, int which, int empty, int avx2) {
    c->weights = weights;
    c->summary = summary;
    c->n = n;
    c->g = empty ? 0 : (n + 63) / 64;
    c->bits0 = bits0;
    c->bits1 = bits1;
    c->bits = 0;
    c->which = which;
    c->avx2 = avx2;
}

/* Whether a block of these extremes (keys, see weight_scan) can hold a
 * column of class `which`. */
NS_INLINE int block_may_hold(const block_summary *s, int64_t bits0,
                             int64_t bits1, int which) {
    weight_scan e;
    summary_get(s, &e);
    if (which == 0) return e.min_key < bits0;
    if (which == 2) return e.max_key >= bits1;
    return e.max_key >= bits0 && e.min_key < bits1;
}

/* The bits of a group of 64 full columns at p.  Class bytes are 0, 1 or 2:
 * bit 0 of a byte says 1, bit 1 says 2.  Eight bytes of 0 or 1 (byte i of
 * x) become eight bits by one multiplication: byte i times 2^(63 - 9 i')
 * (the constant) lands on bit 63 - i when i' = i, above bit 63 when
 * i' < i, and on distinct bits below 56 when i' > i, so that the top byte
 * holds byte i on its bit 7 - i with nothing carried into it. */
NS_INLINE uint64_t group_bits(const uint8_t *p, int which) {
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t bits = 0;
    for (int j = 0; j < 8; j++) {
        uint64_t x;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&x, p + 8 * j, sizeof x); /* byte i of x is p[8 j + i] */
#else
        x = 0;
        for (int i = 0; i < 8; i++) x |= (uint64_t)p[8 * j + i] << (8 * i);
#endif
        const uint64_t sel = which == 1   ? x & ones
                             : which == 2 ? (x >> 1) & ones
                                          : ~(x | (x >> 1)) & ones;
        bits |= ((sel * 0x8040201008040201ULL) >> 56) << (8 * (7 - j));
    }
    return bits;
}

/* Index of the lowest set bit of a nonzero word. */
NS_INLINE int lowest_bit(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int b = 0;
    while (!(x & 1)) {
        x >>= 1;
        b++;
    }
    return b;
#endif
}

/* Takes up to `max` next columns into idx (state kept in locals: the loop
 * carries only `bits`, one operation per column); returns how many. */
static int cursor_take(class_cursor *c, int64_t *idx, int max) {
    const double *weights = c->weights;
    const int64_t n = c->n;
    const int which = c->which;
    enum { GROUPS_PER_BLOCK = NS_ALIAS_SCAN_BLOCK / 64 };
    int64_t g = c->g;
    uint64_t bits = c->bits;
    int m = 0;
    while (m < max) {
        if (bits == 0) {
            if (g == 0) break;
            g--;
            if (c->summary && g % GROUPS_PER_BLOCK == GROUPS_PER_BLOCK - 1) {
                /* entering a block from its top: skip the blocks (all
                 * their groups) that hold no column of the class */
                int64_t blk = g / GROUPS_PER_BLOCK;
                while (!block_may_hold(&c->summary[blk], c->bits0, c->bits1,
                                       which)) {
                    if (blk == 0) {
                        g = 0;
                        goto done;
                    }
                    blk--;
                }
                g = blk * GROUPS_PER_BLOCK + GROUPS_PER_BLOCK - 1;
            }
            const int64_t base = g * 64;
            const int k_end = (int)(n - base < 64 ? n - base : 64);
            uint8_t cls[64];
            if (c->avx2) classify_avx2(weights + base, k_end, c->bits0,
                                       c->bits1, cls);
            else classify_base(weights + base, k_end, c->bits0, c->bits1, cls);
            if (k_end == 64) {
                bits = group_bits(cls, which);
            } else {
                for (int k = 0; k < k_end; k++)
                    bits |= (uint64_t)(cls[k] == which) << (63 - k);
            }
            continue;
        }
        if (bits == ~(uint64_t)0 && max - m >= 64) { /* a whole group */
            for (int k = 0; k < 64; k++) idx[m + k] = g * 64 + 63 - k;
            m += 64;
            bits = 0;
            continue;
        }
        idx[m++] = g * 64 + 63 - lowest_bit(bits);
        bits &= bits - 1;
    }
done:
    c->g = g;
    c->bits = bits;
    return m;
}

/* Thresholds of small columns (q in [0, 1)) split as the compact layout
 * stores them: t_hi = t >> 21 (below 2^32, so never clipped) and
 * t_lo = t mod 2^21, with t = ceil(q 2^53) (threshold_below_one) computed
 * on q's bits, in integer operations that compilers vectorise: q = m 2^-53
 * 2^-k for its 53-bit significand m (with the implicit bit; for a
 * subnormal q, or k >= 54, any m > 0 gives t = 1) and k = 1022 - exponent,
 * so t = ceil(m / 2^k) = ((m - 1) >> k) + 1 for m > 0, and 0 for q = +-0. */
#define NS_ALIAS_LIST_BATCH 256
NS_INLINE void split_body(const double *q, uint32_t *t_hi, uint32_t *t_lo,
                          int m) {
    uint64_t bits[NS_ALIAS_LIST_BATCH];
    memcpy(bits, q, (size_t)m * sizeof bits[0]);
    for (int t = 0; t < m; t++) {
        const uint64_t b = bits[t];
        const uint64_t e = (b >> 52) & 0x7FF; /* <= 1022: q < 1 */
        const uint64_t sig =
            (b & 0xFFFFFFFFFFFFFULL) | ((uint64_t)(e != 0) << 52);
        const uint64_t k0 = 1022 - e;
        const uint64_t k = k0 < 63 ? k0 : 63;
        const uint64_t threshold =
            (((sig - 1) >> k) + 1) & (0 - (uint64_t)(sig != 0));
        t_hi[t] = (uint32_t)(threshold >> 21);
        t_lo[t] = (uint32_t)(threshold & 0x1FFFFF);
    }
}

static void split_base(const double *q, uint32_t *t_hi, uint32_t *t_lo,
                       int m) {
    split_body(q, t_hi, t_lo, m);
}
#if NS_AVX2_CLONES
static NS_TARGET_AVX2 void split_avx2(const double *q, uint32_t *t_hi,
                                      uint32_t *t_lo, int m) {
    split_body(q, t_hi, t_lo, m);
}
#else
#define split_avx2 split_base
#endif

/* One of Vose's worklists, replayed: the columns of `first`, then those of
 * `second`, NS_ALIAS_LIST_BATCH at a time with their q (and, for the small
 * list, whose q are final, their thresholds), so that the pairing loop
 * reads them from L1. */
typedef struct {
    class_cursor first, second;
    int pos, len, small, avx2;
    int64_t idx[NS_ALIAS_LIST_BATCH];
    double q[NS_ALIAS_LIST_BATCH];
    uint32_t t_hi[NS_ALIAS_LIST_BATCH], t_lo[NS_ALIAS_LIST_BATCH];
} vose_list;

static void list_init(vose_list *list, int small, int avx2) {
    list->pos = list->len = 0;
    list->small = small;
    list->avx2 = avx2;
    for (int t = 0; t < NS_ALIAS_LIST_BATCH; t++) {
        list->idx[t] = 0;
        list->q[t] = 0.0;
        list->t_hi[t] = list->t_lo[t] = 0;
    }
}

static void list_refill(vose_list *list, const double *weights,
                        const column_scale *cs) {
    int m = cursor_take(&list->first, list->idx, NS_ALIAS_LIST_BATCH);
    m += cursor_take(&list->second, list->idx + m, NS_ALIAS_LIST_BATCH - m);
    /* The weights of the next batch (the groups below the cursor) are
     * requested now, so that the next refill's gather finds them in cache
     * (prefetching the entries that the pairing loop writes did not
     * help: the hardware follows those descending runs). */
    const class_cursor *c = list->first.g > 0 || list->first.bits
                                ? &list->first
                                : &list->second;
    for (int64_t k = c->g * 64 - 1; k >= 0 && k >= (c->g - 4) * 64; k -= 8)
        NS_PREFETCH(&weights[k], 3);
    double w[NS_ALIAS_LIST_BATCH];
    for (int t = 0; t < m; t++) w[t] = weights[list->idx[t]];
    if (cs->use_inv) {
        for (int t = 0; t < m; t++) list->q[t] = (w[t] * cs->inv) * cs->scale;
    } else {
        for (int t = 0; t < m; t++) list->q[t] = (w[t] / cs->wmax) * cs->scale;
    }
    if (list->small && list->avx2) split_avx2(list->q, list->t_hi, list->t_lo, m);
    else if (list->small) split_base(list->q, list->t_hi, list->t_lo, m);
    list->pos = 0;
    list->len = m;
}

/* The next column of the list, or -1 at its end. */
static int64_t list_pop(vose_list *list, const double *weights,
                        const column_scale *cs) {
    if (list->pos == list->len) list_refill(list, weights, cs);
    if (list->pos == list->len) return -1;
    return list->idx[list->pos++];
}

/* Where the build writes: the full layout (table) or the compact one. */
typedef struct {
    ns_alias_entry *table;
    ns_alias_hot *hot;
    uint32_t *low;
} table_out;

NS_INLINE void put_entry(table_out out, int64_t i, uint64_t threshold,
                         int64_t alias) {
    if (out.table) {
        out.table[i].threshold = threshold;
        out.table[i].alias = alias;
        return;
    }
    const uint64_t t_hi = threshold >> 21;
    const uint32_t hi = t_hi > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)t_hi;
    out.hot[i].t_hi = hi;
    out.hot[i].alias = (uint32_t)alias;
    out.low[i] = (uint32_t)(threshold - ((uint64_t)hi << 21));
}

/* put_entry for a small column, its threshold (below 2^53) given split:
 * t_hi needs no clipping. */
NS_INLINE void put_small(table_out out, int64_t i, uint32_t t_hi,
                         uint32_t t_lo, int64_t alias) {
    if (out.table) {
        out.table[i].threshold = ((uint64_t)t_hi << 21) | t_lo;
        out.table[i].alias = alias;
        return;
    }
    out.hot[i].t_hi = t_hi;
    out.hot[i].alias = (uint32_t)alias;
    out.low[i] = t_lo;
}

/* put_small of the column of q = y, which has just turned small. */
NS_INLINE void put_turned(table_out out, int64_t i, double y, int64_t alias) {
    const uint64_t threshold = threshold_below_one(y);
    put_small(out, i, (uint32_t)(threshold >> 21),
              (uint32_t)(threshold & 0x1FFFFF), alias);
}

/* Terms of the sum, a block at a time: divided (or multiplied) in a loop
 * that compilers vectorise, then added in index order. */
#define NS_ALIAS_SUM_BLOCK NS_SUM_BLOCK

/* Inlined into its two callers, so that each writes one layout without
 * testing which. */
NS_INLINE int alias_build(const double *weights, int64_t n, table_out out,
                          uint8_t *work, double *max_weight,
                          double *total_scaled, int allow_simd) {
    if (n <= 0) return NS_ERR_EMPTY;
    const int avx2 = allow_simd && ns_cpu_has_avx2();

    /* 1. Check, and find the extremes. */
    double probe = 0.0;
    for (int64_t i = 0; i < n && i < NS_ALIAS_PROBE; i++)
        probe = weights[i] > probe ? weights[i] : probe;
    const int fused = probe > 0.0 && (bits_of(probe) & 0xFFFFFFFFFFFFFULL) == 0;
    /* Otherwise pass 1 sums the terms w / probe, pass 2's terms if probe is
     * the largest weight (see scan_body). */
    const int divided = probe > 0.0 && !fused && probe <= DBL_MAX;
    weight_scan scan;
    scan_init(&scan);
    ns_sum acc = NS_SUM_ZERO;
    /* The blocks' extremes go to `work` (n / 16 + 16 bytes: room enough
     * from n = 256 on; smaller tables do without). */
    block_summary *summary =
        n >= NS_ALIAS_SCAN_BLOCK ? (block_summary *)(void *)work : NULL;
    ns_sum *const acc1 = fused || divided ? &acc : NULL;
    const double divisor = divided ? probe : 0.0;
    if (avx2) scan_avx2(weights, n, &scan, acc1, summary, divisor);
    else scan_base(weights, n, &scan, acc1, summary, divisor);
    if (scan_bad(&scan)) return NS_ERR_VALUE;
    const double wmax = double_of((uint64_t)scan.max_key); /* NaN if < 0 */
    if (!(wmax > 0.0)) return NS_ERR_EMPTY;

    column_scale cs = {.wmax = wmax, .inv = 0.0, .scale = 1.0, .use_inv = 0};
    const uint64_t exponent = (bits_of(wmax) >> 52) & 0x7FF; /* e + 1023 */
    if ((bits_of(wmax) & 0xFFFFFFFFFFFFFULL) == 0 && exponent >= 1 &&
        exponent <= 2045) { /* then 2^-e is a normal double */
        cs.inv = double_of((2046 - exponent) << 52);
        cs.use_inv = 1;
    }

    /* 2. Neumaier-compensated sum of w / wmax in index order: every term is
     * in [0, 1], so the sum is in [1, n] whatever the magnitude of the
     * weights.  (Or the sum of pass 1, scaled: see scan_body.) */
    if (divided && bits_of(wmax) == bits_of(probe) && isfinite(acc.sum) &&
        isfinite(acc.comp)) {
        /* pass 1 summed w / wmax: pass 2's terms, in its order */
    } else if (fused && cs.use_inv && isfinite(acc.sum) && isfinite(acc.comp) &&
        (exponent <= 1023 || /* e <= 0: w 2^-e <= 1 never loses bits */
         min_positive_bits(weights, n) >= /* w >= 2^(e - 1022) */
             (int64_t)((exponent - 1022) << 52))) {
        acc.sum *= cs.inv; /* exact: the scaled loop's values */
        acc.comp *= cs.inv;
    } else {
        ns_sum_blocks blocks;
        ns_sum_blocks_init(&blocks);
        double terms[NS_ALIAS_SUM_BLOCK];
        for (int64_t j0 = 0; j0 < n; j0 += NS_ALIAS_SUM_BLOCK) {
            const int m = (int)(n - j0 < NS_ALIAS_SUM_BLOCK
                                    ? n - j0
                                    : NS_ALIAS_SUM_BLOCK);
            const double *w = weights + j0;
            if (cs.use_inv) {
                for (int t = 0; t < m; t++) terms[t] = w[t] * cs.inv;
            } else {
                for (int t = 0; t < m; t++) terms[t] = w[t] / wmax;
            }
            ns_sum_blocks_add(&blocks, terms, m);
        }
        acc = ns_sum_blocks_finish(&blocks);
    }
    const double sum = ns_sum_value(&acc);
    if (max_weight) *max_weight = wmax;
    if (total_scaled) *total_scaled = sum;
    cs.scale = (double)n / sum;

    /* 3. Classes: q = 0 below w0, 0 < q < 1 below w1, q >= 1 from w1 on
     * (computed by the cursors, a group at a time). */
    const double w0 = weight_at_least(&cs, 4.9406564584124654e-324);
    const double w1 = weight_at_least(&cs, 1.0);
    const int64_t b0 = (int64_t)bits_of(w0), b1 = (int64_t)bits_of(w1);
    const int no_zeros = scan.min_key >= b0;

    vose_list small, large;
    list_init(&small, 1, avx2);
    list_init(&large, 0, avx2);
    /* zeros popped first */
    cursor_init(&small.first, weights, summary, n, b0, b1, 0, no_zeros, avx2);
    cursor_init(&small.second, weights, summary, n, b0, b1, 1, 0, avx2);
    cursor_init(&large.first, weights, summary, n, b0, b1, 2, 0, avx2);
    cursor_init(&large.second, weights, summary, n, b0, b1, 2, 1, avx2);
    list_refill(&small, weights, &cs);
    list_refill(&large, weights, &cs);

    if (large.len == 0) {
        /* No large column (unreachable: scale >= 1 makes the largest weight
         * large).  Every column is left to the residual guard below, and
         * the textbook loop's last_large is the top of its small list. */
        vose_list copy = small;
        const int64_t top = list_pop(&copy, weights, &cs);
        for (int64_t s; (s = list_pop(&small, weights, &cs)) >= 0;) {
            if (weights[s] > 0.0) put_entry(out, s, NS_ALIAS_ONE, s);
            else put_entry(out, s, 0, top);
        }
        return NS_OK;
    }

    /* The worklist loop.  Each step pops a small column s (the zeros
     * first), pairs it with the top large column l (q_s is then final) and
     * leaves y = (q_l + q_s) - 1, the remainder of l.  When y < 1, l has
     * turned small: it is the next column popped (its q is y), paired with
     * the next large column l', whose remainder is (q_l' + y) - 1, the
     * same double as (y + q_l') - 1 (IEEE addition commutes). */
    int64_t l = large.idx[0];
    double y = large.q[0]; /* >= 1: the first step pops a small column */
    large.pos = 1;
    for (;;) {
        /* Both batches have an entry: no list can end in this step.  (The
         * positions are kept in locals: the lists' fields live in memory.) */
        int sp = small.pos, lp = large.pos;
        const int s_len = small.len, l_len = large.len;
        while (sp < s_len && lp < l_len) {
            if (y < 1.0) {
                const int64_t next_l = large.idx[lp];
                put_turned(out, l, y, next_l);
                y = (y + large.q[lp]) - 1.0;
                l = next_l;
                lp++;
            } else {
                put_small(out, small.idx[sp], small.t_hi[sp], small.t_lo[sp], l);
                y = (y + small.q[sp]) - 1.0;
                sp++;
            }
        }
        small.pos = sp;
        large.pos = lp;
        /* A batch is used up: refill it, and stop if the list this step
         * pops from is empty. */
        if (small.pos == small.len) list_refill(&small, weights, &cs);
        if (large.pos == large.len) list_refill(&large, weights, &cs);
        if (y < 1.0 ? large.pos == large.len : small.pos == small.len) break;
        if (y < 1.0) {
            const int64_t next_l = large.idx[large.pos];
            put_turned(out, l, y, next_l);
            y = (y + large.q[large.pos]) - 1.0;
            l = next_l;
            large.pos++;
        } else {
            put_small(out, small.idx[small.pos], small.t_hi[small.pos],
                      small.t_lo[small.pos], l);
            y = (y + small.q[small.pos]) - 1.0;
            small.pos++;
        }
    }

    /* Residual guard: whatever is left is 1 up to rounding. */
    if (!(y < 1.0)) { /* no small column left: l, and the larges after it */
        do put_entry(out, l, NS_ALIAS_ONE, l);
        while ((l = list_pop(&large, weights, &cs)) >= 0);
        return NS_OK;
    }
    /* No large column left: l has just turned small (the top of the small
     * list) and was the last large column paired. */
    const int64_t last_large = l;
    for (int64_t s = l; s >= 0; s = list_pop(&small, weights, &cs)) {
        if (weights[s] > 0.0) put_entry(out, s, NS_ALIAS_ONE, s);
        else /* unreachable unless rounding error reached 1 */
            put_entry(out, s, 0, last_large);
    }
    return NS_OK;
}

int ns_alias_build(const double *weights, int64_t n, ns_alias_entry *table,
                   int64_t *work, double *max_weight, double *total_scaled) {
    const table_out out = {.table = table, .hot = NULL, .low = NULL};
    return alias_build(weights, n, out, (uint8_t *)(void *)work, max_weight,
                       total_scaled, 1);
}

int ns_alias_build_compact(const double *weights, int64_t n, ns_alias_hot *hot,
                           uint32_t *low, uint8_t *work, double *max_weight,
                           double *total_scaled, int allow_simd) {
    if (n > NS_ALIAS_COMPACT_MAX) return NS_ERR_VALUE;
    const table_out out = {.table = NULL, .hot = hot, .low = low};
    return alias_build(weights, n, out, work, max_weight, total_scaled,
                       allow_simd);
}

int ns_alias_make_compact(const ns_alias_entry *table, int64_t n,
                          ns_alias_hot *hot, uint32_t *low) {
    if (n <= 0 || n > NS_ALIAS_COMPACT_MAX) return NS_ERR_VALUE;
    const table_out out = {.table = NULL, .hot = hot, .low = low};
    for (int64_t i = 0; i < n; i++)
        put_entry(out, i, table[i].threshold, table[i].alias);
    return NS_OK;
}

int ns_alias_expand(const ns_alias_hot *hot, const uint32_t *low, int64_t n,
                    ns_alias_entry *table) {
    if (n <= 0) return NS_ERR_VALUE;
    for (int64_t i = 0; i < n; i++) {
        table[i].threshold = ns_alias_compact_threshold(hot, low, (uint64_t)i);
        table[i].alias = (int64_t)hot[i].alias;
    }
    return NS_OK;
}

/* ------------------------------------------------------------------ draws */

/* Draws are made as int64; an int32 output receives each chunk or batch
 * from a small buffer (in L1), narrowed in one pass, so that every loop
 * exists once. */
static inline void store_i32(const int64_t *src, int32_t *dst, int m) {
    for (int t = 0; t < m; t++) dst[t] = (int32_t)src[t];
}

/* The window loops (ns_alias_window.inc) are plain C that compilers
 * vectorise; they are also compiled for AVX2 (ns_common.h), and that copy
 * is picked at run time when the CPU has it.  Both copies compute the same
 * integers, so the output does not depend on the CPU. */

/* Tables with at least this many entries prefetch theirs: smaller ones sit
 * in L2, where out-of-order execution already overlaps the loads. */
#define NS_ALIAS_PREFETCH_MIN ((int64_t)1 << 21)

/* Prefetch into L2 (locality 1), not "non-temporal" (0): with dozens of
 * lines requested ahead, non-temporal lines were evicted before use and
 * fetched twice (2.2x slower draws at n = 1e7). */
#define NS_ALIAS_PREFETCH_LOCALITY 1

/* Draws per chunk, and chunks generated ahead of the one resolved.  With
 * prefetching: 64 entries requested ahead keep the CPU's line-fill buffers
 * busy (about a dozen misses in flight, the limit of both Intel and AMD
 * cores) without evicting lines before they are used.  Without: chunks of
 * 1024, generated then resolved (fewer loop overheads). */
#define NS_ALIAS_CHUNK 32
#define NS_ALIAS_AHEAD 2
#define NS_ALIAS_WINDOW 1024

/* The threshold a 32-bit coin is compared with: t_hi of a compact entry,
 * threshold >> 21 of a full one; and the full threshold, read on a tie. */
NS_INLINE uint32_t hot_hi(ns_alias_hot e) { return e.t_hi; }
NS_INLINE uint64_t full_hi(ns_alias_entry e) { return e.threshold >> 21; }
#define HOT_THRESHOLD(entries, low, i) \
    ns_alias_compact_threshold((entries), (low), (i))
#define FULL_THRESHOLD(entries, low, i) ((void)(low), (entries)[i].threshold)

/* Eight copies: {compact, full} entries x {prefetching chunks, windows} x
 * {baseline ISA, AVX2}. */
#define NS_WINDOW_NAME chunks_hot
#define NS_WINDOW_ATTR 
#define NS_WINDOW_ENTRY ns_alias_hot
#define NS_WINDOW_HI_T uint32_t
#define NS_WINDOW_HI hot_hi
#define NS_WINDOW_THRESHOLD HOT_THRESHOLD
#define NS_WINDOW_CHUNK NS_ALIAS_CHUNK
#define NS_WINDOW_AHEAD NS_ALIAS_AHEAD
#include "ns_alias_window.inc"

#define NS_WINDOW_NAME window_hot
#define NS_WINDOW_ATTR 
#define NS_WINDOW_ENTRY ns_alias_hot
#define NS_WINDOW_HI_T uint32_t
#define NS_WINDOW_HI hot_hi
#define NS_WINDOW_THRESHOLD HOT_THRESHOLD
#define NS_WINDOW_CHUNK NS_ALIAS_WINDOW
#define NS_WINDOW_AHEAD 0
#include "ns_alias_window.inc"

#define NS_WINDOW_NAME chunks_full
#define NS_WINDOW_ATTR 
#define NS_WINDOW_ENTRY ns_alias_entry
#define NS_WINDOW_HI_T uint64_t
#define NS_WINDOW_HI full_hi
#define NS_WINDOW_THRESHOLD FULL_THRESHOLD
#define NS_WINDOW_CHUNK NS_ALIAS_CHUNK
#define NS_WINDOW_AHEAD NS_ALIAS_AHEAD
#include "ns_alias_window.inc"

#define NS_WINDOW_NAME window_full
#define NS_WINDOW_ATTR 
#define NS_WINDOW_ENTRY ns_alias_entry
#define NS_WINDOW_HI_T uint64_t
#define NS_WINDOW_HI full_hi
#define NS_WINDOW_THRESHOLD FULL_THRESHOLD
#define NS_WINDOW_CHUNK NS_ALIAS_WINDOW
#define NS_WINDOW_AHEAD 0
#include "ns_alias_window.inc"

#if NS_AVX2_CLONES
#define NS_WINDOW_NAME chunks_hot_avx2
#define NS_WINDOW_ATTR NS_TARGET_AVX2
#define NS_WINDOW_ENTRY ns_alias_hot
#define NS_WINDOW_HI_T uint32_t
#define NS_WINDOW_HI hot_hi
#define NS_WINDOW_THRESHOLD HOT_THRESHOLD
#define NS_WINDOW_CHUNK NS_ALIAS_CHUNK
#define NS_WINDOW_AHEAD NS_ALIAS_AHEAD
#include "ns_alias_window.inc"

#define NS_WINDOW_NAME window_hot_avx2
#define NS_WINDOW_ATTR NS_TARGET_AVX2
#define NS_WINDOW_ENTRY ns_alias_hot
#define NS_WINDOW_HI_T uint32_t
#define NS_WINDOW_HI hot_hi
#define NS_WINDOW_THRESHOLD HOT_THRESHOLD
#define NS_WINDOW_CHUNK NS_ALIAS_WINDOW
#define NS_WINDOW_AHEAD 0
#include "ns_alias_window.inc"

#define NS_WINDOW_NAME chunks_full_avx2
#define NS_WINDOW_ATTR NS_TARGET_AVX2
#define NS_WINDOW_ENTRY ns_alias_entry
#define NS_WINDOW_HI_T uint64_t
#define NS_WINDOW_HI full_hi
#define NS_WINDOW_THRESHOLD FULL_THRESHOLD
#define NS_WINDOW_CHUNK NS_ALIAS_CHUNK
#define NS_WINDOW_AHEAD NS_ALIAS_AHEAD
#include "ns_alias_window.inc"

#define NS_WINDOW_NAME window_full_avx2
#define NS_WINDOW_ATTR NS_TARGET_AVX2
#define NS_WINDOW_ENTRY ns_alias_entry
#define NS_WINDOW_HI_T uint64_t
#define NS_WINDOW_HI full_hi
#define NS_WINDOW_THRESHOLD FULL_THRESHOLD
#define NS_WINDOW_CHUNK NS_ALIAS_WINDOW
#define NS_WINDOW_AHEAD 0
#include "ns_alias_window.inc"

#else
#define chunks_hot_avx2 chunks_hot
#define window_hot_avx2 window_hot
#define chunks_full_avx2 chunks_full
#define window_full_avx2 window_full
#endif

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
    const ns_alias_entry *table; /* full layout, or NULL */
    const ns_alias_hot *hot;     /* compact layout, or NULL */
    const uint32_t *low;
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
    int64_t buf[NS_ALIAS_BATCH]; /* int32 output only */
    for (int64_t b = b0; b < b1; b++) {
        const uint64_t first = (uint64_t)b * NS_ALIAS_STREAMS;
        const int64_t start = b * NS_ALIAS_BLOCK;
        const int64_t stop =
            (start + NS_ALIAS_BLOCK < count) ? start + NS_ALIAS_BLOCK : count;
        if (job->windowed) {
            ns_rng_lanes_t lanes;
            ns_rng_t redraw, tie;
            ns_rng_lanes_seed(&lanes, k0, k1, first);
            ns_rng_seed(&redraw, k0, k1, first + NS_RNG_LANES);
            ns_rng_seed(&tie, k0, k1, first + NS_RNG_LANES + 1);
            int64_t *d64 = job->out64 ? job->out64 + start : NULL;
            int32_t *d32 = job->out32 ? job->out32 + start : NULL;
            const uint32_t n32 = (uint32_t)n;
            const int64_t m = stop - start;
            if (hot) {
                if (job->prefetch && job->avx2)
                    chunks_hot_avx2(&lanes, &redraw, &tie, hot, job->low, n32,
                                    1, d64, d32, m);
                else if (job->prefetch)
                    chunks_hot(&lanes, &redraw, &tie, hot, job->low, n32, 1,
                               d64, d32, m);
                else if (job->avx2)
                    window_hot_avx2(&lanes, &redraw, &tie, hot, job->low, n32,
                                    0, d64, d32, m);
                else
                    window_hot(&lanes, &redraw, &tie, hot, job->low, n32, 0,
                               d64, d32, m);
            } else {
                if (job->prefetch && job->avx2)
                    chunks_full_avx2(&lanes, &redraw, &tie, table, NULL, n32,
                                     1, d64, d32, m);
                else if (job->prefetch)
                    chunks_full(&lanes, &redraw, &tie, table, NULL, n32, 1,
                                d64, d32, m);
                else if (job->avx2)
                    window_full_avx2(&lanes, &redraw, &tie, table, NULL, n32,
                                     0, d64, d32, m);
                else
                    window_full(&lanes, &redraw, &tie, table, NULL, n32, 0,
                                d64, d32, m);
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
                NS_PREFETCH(&table[cols[t]], NS_ALIAS_PREFETCH_LOCALITY);
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
                        const uint32_t *low, int64_t n, uint64_t k0,
                        uint64_t k1, int64_t *out64, int32_t *out32,
                        int64_t count, const ns_par *par, int allow_simd) {
    if (n <= 0) return NS_ERR_EMPTY;
    if (hot && (!low || n > NS_ALIAS_COMPACT_MAX)) return NS_ERR_VALUE;
    if (!hot && !table) return NS_ERR_VALUE;
    if (count <= 0) return NS_OK;
    const int windowed = n <= NS_ALIAS_COMPACT_MAX;
    alias_job job = {
        .table = hot ? NULL : table,
        .hot = hot,
        .low = low,
        .n = n,
        .count = count,
        .k0 = k0,
        .k1 = k1,
        .out64 = out64,
        .out32 = out32,
        .windowed = windowed,
        .avx2 = windowed && allow_simd && ns_cpu_has_avx2(),
        .prefetch = n >= NS_ALIAS_PREFETCH_MIN,
    };
    const int64_t n_blocks = (count + NS_ALIAS_BLOCK - 1) / NS_ALIAS_BLOCK;
    return ns_par_for(par, n_blocks, NS_ALIAS_MIN_BLOCKS_PER_THREAD,
                      alias_blocks, &job);
}

int ns_alias_sample_i64(const ns_alias_entry *table, const ns_alias_hot *hot,
                        const uint32_t *low, int64_t n, uint64_t k0,
                        uint64_t k1, int64_t *out, int64_t count,
                        const ns_par *par, int allow_simd) {
    return alias_sample(table, hot, low, n, k0, k1, out, NULL, count, par,
                        allow_simd);
}

int ns_alias_sample_i32(const ns_alias_entry *table, const ns_alias_hot *hot,
                        const uint32_t *low, int64_t n, uint64_t k0,
                        uint64_t k1, int32_t *out, int64_t count,
                        const ns_par *par, int allow_simd) {
    return alias_sample(table, hot, low, n, k0, k1, NULL, out, count, par,
                        allow_simd);
}

/* Keyed rows: row r of row_len draws from keyed stream keys[r]
 * (ns_rng_seed_keyed), NS_ALIAS_BATCH columns at a time (column and coin
 * by ns_alias_column, entries prefetched), then resolved in order
 * (ns_alias_resolve or its compact twin; a coin tie takes its 21 low bits
 * from the same stream at that point). */
typedef struct {
    const ns_alias_entry *table; /* full layout, or NULL */
    const ns_alias_hot *hot;     /* compact layout, or NULL */
    const uint32_t *low;
    int64_t n, n_rows, row_len, rows_per_chunk;
    uint64_t k0, k1;
    const int64_t *keys;
    int64_t *out64; /* exactly one of out64 and out32 is set */
    int32_t *out32;
} alias_rows_job;

static int alias_rows(void *vjob, int64_t c0, int64_t c1) {
    const alias_rows_job *job = (const alias_rows_job *)vjob;
    const ns_alias_entry *table = job->table;
    const ns_alias_hot *hot = job->hot;
    const uint32_t *low = job->low;
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
                    if (hot)
                        NS_PREFETCH(&hot[cols[t]], NS_ALIAS_PREFETCH_LOCALITY);
                    else
                        NS_PREFETCH(&table[cols[t]],
                                    NS_ALIAS_PREFETCH_LOCALITY);
                }
                const int64_t at = r * row_len + j0;
                int64_t *dst = job->out32 ? buf : job->out64 + at;
                if (hot) {
                    for (int t = 0; t < m; t++)
                        dst[t] = ns_alias_resolve_compact(hot, low, cols[t],
                                                          coins[t], &rng);
                } else {
                    for (int t = 0; t < m; t++)
                        dst[t] =
                            ns_alias_resolve(table, cols[t], coins[t], &rng);
                }
                if (job->out32) store_i32(buf, job->out32 + at, m);
            }
        }
    }
    return NS_OK;
}

static int alias_sample_rows(const ns_alias_entry *table,
                             const ns_alias_hot *hot, const uint32_t *low,
                             int64_t n, uint64_t k0, uint64_t k1,
                             const int64_t *keys, int64_t n_rows,
                             int64_t row_len, int64_t *out64, int32_t *out32,
                             const ns_par *par) {
    if (n <= 0) return NS_ERR_EMPTY;
    if (n_rows < 0 || row_len < 0) return NS_ERR_VALUE;
    if (hot && (!low || n > NS_ALIAS_COMPACT_MAX)) return NS_ERR_VALUE;
    if (!hot && !table) return NS_ERR_VALUE;
    if (n_rows == 0 || row_len == 0) return NS_OK;
    alias_rows_job job = {
        .table = hot ? NULL : table,
        .hot = hot,
        .low = low,
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

int ns_alias_sample_rows_i64(const ns_alias_entry *table,
                             const ns_alias_hot *hot, const uint32_t *low,
                             int64_t n, uint64_t k0, uint64_t k1,
                             const int64_t *keys, int64_t n_rows,
                             int64_t row_len, int64_t *out, const ns_par *par) {
    return alias_sample_rows(table, hot, low, n, k0, k1, keys, n_rows, row_len,
                             out, NULL, par);
}

int ns_alias_sample_rows_i32(const ns_alias_entry *table,
                             const ns_alias_hot *hot, const uint32_t *low,
                             int64_t n, uint64_t k0, uint64_t k1,
                             const int64_t *keys, int64_t n_rows,
                             int64_t row_len, int32_t *out, const ns_par *par) {
    return alias_sample_rows(table, hot, low, n, k0, k1, keys, n_rows, row_len,
                             NULL, out, par);
}

/* ---------------------------------------------------------------- the law */

/* P(i) as in ns_alias.h: t / 2^53 and (2^53 - t) / 2^53 are exact in
 * float64. */
int ns_alias_probabilities(const ns_alias_entry *table, int64_t n,
                           double *out) {
    if (n <= 0) return NS_ERR_EMPTY;
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

int ns_alias_probabilities_compact(const ns_alias_hot *hot, const uint32_t *low,
                                   int64_t n, double *out) {
    if (n <= 0) return NS_ERR_EMPTY;
    const double unit = NS_INV_TWO53;
    for (int64_t i = 0; i < n; i++)
        out[i] = (double)ns_alias_compact_threshold(hot, low, (uint64_t)i) * unit;
    for (int64_t i = 0; i < n; i++) {
        const uint64_t t = ns_alias_compact_threshold(hot, low, (uint64_t)i);
        if (t < NS_ALIAS_ONE)
            out[hot[i].alias] += (double)(NS_ALIAS_ONE - t) * unit;
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

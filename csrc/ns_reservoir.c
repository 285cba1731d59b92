/*
 * ns_reservoir.c -- Algorithm L (Li 1994) and A-ExpJ (Efraimidis & Spirakis
 * 2006) over a stream fed in chunks; see ns_reservoir.h.
 */
#include "ns_reservoir.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NS_NEVER INT64_MAX

/* Records that the item at chunk position `pos` went to `slot`. */
static inline void record(int64_t *slot_pos, int64_t *touched, int64_t *nt,
                          int64_t slot, int64_t pos) {
    if (slot_pos[slot] < 0) touched[(*nt)++] = slot;
    slot_pos[slot] = pos;
}

/* Stream position of the next accepted item after position `pos`: the gap
 * is geometric with success probability w (number of failures
 * floor(log U / log(1 - w)), U in (0, 1]); log1p keeps it exact for the
 * tiny w of long streams. */
static int64_t next_after(ns_rng_t *rng, int64_t pos, double w) {
    const double lu = log(ns_rng_double_open0(rng));
    const double denom = log1p(-w);
    /* w underflowed to 0: no item will ever be kept */
    if (!(denom < 0.0)) return NS_NEVER;
    const double gap = floor(lu / denom); /* >= 0; +inf only if denom is -0 */
    if (!(gap < (double)(NS_NEVER - 1 - pos))) return NS_NEVER;
    return pos + 1 + (int64_t)gap;
}

/* W of k fresh keys, or W shrunk after an acceptance: W * U^(1/k) (the
 * largest of k uniforms on (0, W)). */
static inline double shrink(ns_rng_t *rng, double w, int64_t k) {
    return w * exp(log(ns_rng_double_open0(rng)) / (double)k);
}

int ns_reservoir_update(ns_rng_t *rng, int64_t k, int64_t *count, double *w,
                        int64_t *next, int64_t length, int64_t *slot_pos,
                        int64_t *touched, int64_t *n_touched) {
    const int64_t start = *count;
    int64_t nt = 0;
    *n_touched = 0;
    if (k < 1 || length < 0 || start < 0 || start > INT64_MAX - 1 - length)
        return NS_ERR_VALUE;
    const int64_t end = start + length;
    /* Fill phase: the first k items go to slots 0..k-1 in order. */
    for (int64_t pos = start; pos < end && pos < k; pos++) {
        record(slot_pos, touched, &nt, pos, pos - start);
        if (pos == k - 1) {
            *w = shrink(rng, 1.0, k);
            *next = next_after(rng, pos, *w);
        }
    }
    /* Skip phase: only accepted items cost anything. */
    if (end > k) {
        while (*next < end) {
            const int64_t slot = (int64_t)ns_rng_bounded(rng, (uint64_t)k);
            record(slot_pos, touched, &nt, slot, *next - start);
            *w = shrink(rng, *w, k);
            *next = next_after(rng, *next, *w);
        }
    }
    *count = end;
    *n_touched = nt;
    return NS_OK;
}

/* A weight is valid when it is finite and >= 0 (NaN fails both tests). */
#define NS_VALID_WEIGHT(x) ((x) >= 0.0 && (x) <= 1.7976931348623157e308)

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define NS_RESERVOIR_SSE2 1
#endif

/* Checks weights[0..length) and adds them to the eight partial sums part[]
 * (part[j] takes the items at offsets 8g + j; the length % 8 items of a
 * last partial group go to part[0]).  Returns 1 when some weight is
 * invalid, without locating it.  Branch-free, one pass: the smallest
 * weight tells a negative one (or -inf), the largest +inf, and a NaN makes
 * its lane's sum NaN (the sums entering are finite or +inf: an earlier
 * block with a bad weight ended the scan).  The sums are the lane-wise IEEE
 * additions of the scalar loop, in SSE2 registers where there are some. */
static inline int check_and_sum(const double *weights, int64_t length,
                                double part[8]) {
    int64_t i = 0;
    int bad;
#ifdef NS_RESERVOIR_SSE2
    __m128d p0 = _mm_loadu_pd(part), p1 = _mm_loadu_pd(part + 2),
            p2 = _mm_loadu_pd(part + 4), p3 = _mm_loadu_pd(part + 6);
    __m128d lo = _mm_setzero_pd(), hi = _mm_setzero_pd();
    for (; i + 8 <= length; i += 8) {
        const __m128d x0 = _mm_loadu_pd(weights + i),
                      x1 = _mm_loadu_pd(weights + i + 2),
                      x2 = _mm_loadu_pd(weights + i + 4),
                      x3 = _mm_loadu_pd(weights + i + 6);
        p0 = _mm_add_pd(p0, x0);
        p1 = _mm_add_pd(p1, x1);
        p2 = _mm_add_pd(p2, x2);
        p3 = _mm_add_pd(p3, x3);
        lo = _mm_min_pd(_mm_min_pd(x0, x1), _mm_min_pd(_mm_min_pd(x2, x3), lo));
        hi = _mm_max_pd(_mm_max_pd(x0, x1), _mm_max_pd(_mm_max_pd(x2, x3), hi));
    }
    _mm_storeu_pd(part, p0);
    _mm_storeu_pd(part + 2, p1);
    _mm_storeu_pd(part + 4, p2);
    _mm_storeu_pd(part + 6, p3);
    double lo2[2], hi2[2];
    _mm_storeu_pd(lo2, lo);
    _mm_storeu_pd(hi2, hi);
    double low = lo2[0] < lo2[1] ? lo2[0] : lo2[1];
    double high = hi2[0] > hi2[1] ? hi2[0] : hi2[1];
#else
    double low = 0.0, high = 0.0;
    for (; i + 8 <= length; i += 8) {
        for (int j = 0; j < 8; j++) {
            const double x = weights[i + j];
            part[j] += x;
            low = x < low ? x : low;
            high = x > high ? x : high;
        }
    }
#endif
    for (; i < length; i++) {
        const double x = weights[i];
        part[0] += x;
        low = x < low ? x : low;
        high = x > high ? x : high;
    }
    bad = low < 0.0 || high > 1.7976931348623157e308;
    for (int j = 0; j < 8; j++) bad |= part[j] != part[j];
    return bad;
}

static int64_t first_invalid(const double *weights, int64_t length) {
    for (int64_t i = 0; i < length; i++)
        if (!NS_VALID_WEIGHT(weights[i])) return i;
    return -1;
}

/* The A-ExpJ heap (ns_heap.h): a min-heap of log keys, the slot of each
 * carried along; its root is the threshold key T.  `undo`, when not NULL,
 * records the entry of every position below undo->limit the first time the
 * position is overwritten (ns_reservoir.h). */
typedef struct {
    double *keys;
    int64_t *slots;
    ns_wreservoir_undo *undo;
} wheap;

typedef struct {
    double key;
    int64_t slot;
} wheap_entry;

static inline wheap_entry wheap_get(wheap h, int64_t i) {
    return (wheap_entry){.key = h.keys[i], .slot = h.slots[i]};
}

static inline void wheap_set(wheap h, int64_t i, wheap_entry e) {
    ns_wreservoir_undo *u = h.undo;
    if (u != NULL && i < u->limit && !u->saved[i]) {
        u->saved[i] = 1;
        u->entries[u->n++] =
            (ns_wreservoir_saved){.pos = i, .key = h.keys[i], .slot = h.slots[i]};
    }
    h.keys[i] = e.key;
    h.slots[i] = e.slot;
}

/* Smaller key first; equal keys are not reordered. */
static inline int wheap_before(wheap_entry a, wheap_entry b) {
    return a.key < b.key;
}

#define NS_HEAP_PREFIX wheap
#define NS_HEAP_T wheap
#define NS_HEAP_ENTRY wheap_entry
#include "ns_heap.h"

void ns_wreservoir_undo_restore(ns_wreservoir_undo *undo, double *heap_keys,
                                int64_t *heap_slots) {
    for (int64_t j = 0; j < undo->n; j++) {
        const ns_wreservoir_saved e = undo->entries[j];
        heap_keys[e.pos] = e.key;
        heap_slots[e.pos] = e.slot;
        undo->saved[e.pos] = 0;
    }
    undo->n = 0;
}

/* The key of an item of weight w > 0 and variate E: log(w) - log(E), i.e.
 * -log(-log(u) / w) for u = exp(-E).  Finite for every positive finite
 * double w (within [-748, 748]), where -E / w overflows for w < ~1e-308. */
static inline double wkey(double w, double e_log) { return log(w) - e_log; }

/* The rate of the threshold key t, exp(-t) = E_T / w_T, as pre * rate with
 * rate in [e^-700, e^700]: the exposure of an item of weight w is
 * (w * pre) * rate, exact also for subnormal w (a power-of-two scaling). */
static inline void threshold_rate(double t, double *pre, double *rate) {
    const double shift = 1000.0 * 0.69314718055994530942; /* log(2^1000) */
    if (-t > 700.0) {
        *pre = 0x1p1000;
        *rate = exp(-t - shift);
    } else if (-t < -700.0) {
        *pre = 0x1p-1000;
        *rate = exp(-t + shift);
    } else {
        *pre = 1.0;
        *rate = exp(-t);
    }
}

/* The A-ExpJ scan of one call, resumable: scan_to(s, stop) processes items
 * up to at least `stop` (the item loop of a jump that runs out may go
 * further, up to the acceptance).  Stopping and resuming at any point gives
 * bit for bit the scan of one uninterrupted pass: the state between items is
 * (i, n, rem) and the heap, and pre * rate is a function of the root. */
typedef struct {
    ns_rng_t *rng;
    const double *weights;
    int64_t length, k, pos_offset;
    wheap heap;
    int64_t i, n, nt;
    double rem, pre, rate;
    int64_t *slot_pos, *touched;
} wscan;

static void scan_to(wscan *s, int64_t stop) {
    const double *weights = s->weights;
    const int64_t length = s->length, k = s->k;
    const wheap heap = s->heap;
    int64_t i = s->i, n = s->n, nt = s->nt;
    double rem = s->rem, pre = s->pre, rate = s->rate;
    /* Fill phase: every item of positive weight enters with its key. */
    for (; i < stop && n < k; i++) {
        const double wi = weights[i];
        if (wi > 0.0) {
            const double key = wkey(wi, log(ns_rng_exponential_open(s->rng)));
            record(s->slot_pos, s->touched, &nt, n, i + s->pos_offset);
            wheap_push(heap, n, (wheap_entry){.key = key, .slot = n});
            n++;
            if (n == k) {
                rem = ns_rng_exponential_open(s->rng);
                threshold_rate(heap.keys[0], &pre, &rate);
            }
        }
    }
    /* Jump phase.  An item of weight w beats the threshold key T when its
     * E < w * exp(-T) (its exposure); the first item to do so comes when
     * the running sum of exposures passes an Exp(1) variate, rem.
     * Subtract exposures until rem is used up; the item where it runs out
     * (it has positive weight) is accepted with E drawn conditionally on
     * E < its exposure. */
    while (n == k && i < stop) {
        /* Whole groups of 8 whose mass does not use up the jump are
         * skipped with one comparison (a short dependency chain); the
         * group where it runs out is scanned item by item.  Groups start
         * after the last acceptance and end before `length`, wherever the
         * scan stops. */
        int paused = 0;
        while (i + 8 <= length) {
            if (i >= stop) {
                paused = 1;
                break;
            }
            const double *b = weights + i;
            /* The next block is on its way while this one is scanned (the
             * hardware prefetcher does not see a scan that hits in cache). */
            if (i + NS_WRESERVOIR_BLOCK < length)
                NS_PREFETCH(b + NS_WRESERVOIR_BLOCK, 3);
            const double sum = ((b[0] + b[1]) + (b[2] + b[3])) +
                               ((b[4] + b[5]) + (b[6] + b[7]));
            const double x = (sum * pre) * rate;
            if (rem - x > 0.0) {
                rem -= x;
                i += 8;
                continue;
            }
            break;
        }
        if (paused) break;
        for (; i < length; i++) {
            rem -= (weights[i] * pre) * rate;
            if (rem <= 0.0 && weights[i] > 0.0) break;
        }
        if (i == length) break;
        const double wi = weights[i];
        const double p = (wi * pre) * rate; /* > 0: rem was > 0 before it */
        /* E on (0, p): E = -log(1 - c v) with c = 1 - e^-p, v in (0, 1);
         * log E = log(c) + log(v) (to first order) where c v is tiny. */
        const double c = -expm1(-p);
        const double v = ns_rng_double_open(s->rng);
        const double cv = c * v;
        const double e_log = cv > 0x1p-900 ? log(-log1p(-cv)) : log(c) + log(v);
        double key = wkey(wi, e_log);
        /* rounding guard: the new key is above T */
        if (!(key >= heap.keys[0])) key = heap.keys[0];
        const int64_t slot = heap.slots[0];
        wheap_replace_top(heap, n, (wheap_entry){.key = key, .slot = slot});
        record(s->slot_pos, s->touched, &nt, slot, i + s->pos_offset);
        threshold_rate(heap.keys[0], &pre, &rate);
        rem = ns_rng_exponential_open(s->rng);
        i++;
    }
    s->i = i;
    s->n = n;
    s->nt = nt;
    s->rem = rem;
    s->pre = pre;
    s->rate = rate;
}

int ns_wreservoir_update(ns_rng_t *rng, int64_t k, const double *weights,
                         int64_t length, double *heap_keys, int64_t *heap_slots,
                         int64_t *size, double *remaining, int64_t *slot_pos,
                         int64_t *touched, int64_t *n_touched,
                         int64_t pos_offset, ns_wreservoir_undo *undo,
                         double *total, int64_t *bad) {
    double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    *n_touched = 0;
    *bad = -1;
    if (k < 1 || length < 0 || *size < 0 || *size > k) return NS_ERR_VALUE;
    if (undo != NULL && (undo->limit < 0 || undo->limit > *size))
        return NS_ERR_VALUE;
    wscan s = {.rng = rng, .weights = weights, .length = length, .k = k,
               .pos_offset = pos_offset,
               .heap = {.keys = heap_keys, .slots = heap_slots, .undo = undo},
               .i = 0, .n = *size, .nt = 0, .rem = *remaining,
               .pre = 1.0, .rate = 1.0, .slot_pos = slot_pos,
               .touched = touched};
    if (s.n == k) threshold_rate(heap_keys[0], &s.pre, &s.rate);
    if (undo == NULL) {
        /* Nothing to roll back with: every weight is checked first. */
        if (check_and_sum(weights, length, part)) {
            *bad = first_invalid(weights, length);
            return NS_ERR_VALUE;
        }
        scan_to(&s, length);
    } else {
        /* One read from memory: each block is checked, then scanned while
         * it is in cache; the heap entries the scan overwrites are saved in
         * undo, so that a bad weight in a later block can be rolled back. */
        for (int64_t start = 0; start < length; start += NS_WRESERVOIR_BLOCK) {
            const int64_t end = length - start > NS_WRESERVOIR_BLOCK
                                    ? start + NS_WRESERVOIR_BLOCK
                                    : length;
            if (check_and_sum(weights + start, end - start, part)) {
                *bad = start + first_invalid(weights + start, end - start);
                *n_touched = s.nt;
                return NS_ERR_VALUE;
            }
            if (s.i < end) scan_to(&s, end);
        }
    }
    *total = ((part[0] + part[1]) + (part[2] + part[3])) +
             ((part[4] + part[5]) + (part[6] + part[7]));
    *size = s.n;
    *remaining = s.rem;
    *n_touched = s.nt;
    return NS_OK;
}

/* Random words of NS_RNG_LANES streams stepped together (ns_rng.h), taken
 * one at a time: 64-bit word t is lane t % NS_RNG_LANES, step
 * t / NS_RNG_LANES; a 32-bit draw takes the low half of a word, the next
 * one its high half.  The lanes are stepped with AVX2 where the CPU has it
 * (the same words). */
#define NS_WORDS_STEPS 8
typedef struct {
    ns_rng_lanes_t lanes;
    uint64_t buf[NS_WORDS_STEPS * NS_RNG_LANES];
    int pos, avx2, has_half;
    uint32_t half;
} words_t;

static void words_seed(words_t *w, uint64_t k0, uint64_t k1, uint64_t first) {
    ns_rng_lanes_seed(&w->lanes, k0, k1, first);
    w->pos = NS_WORDS_STEPS * NS_RNG_LANES;
    w->avx2 = ns_cpu_has_avx2();
    w->has_half = 0;
    w->half = 0;
}

static void words_refill_plain(words_t *w) {
    ns_rng_lanes_fill(&w->lanes, w->buf, NS_WORDS_STEPS);
}

#if NS_AVX2_CLONES
NS_TARGET_AVX2 static void words_refill_avx2(words_t *w) {
    ns_rng_lanes_fill(&w->lanes, w->buf, NS_WORDS_STEPS);
}
#else
#define words_refill_avx2 words_refill_plain
#endif

static void words_refill(words_t *w) {
    if (w->avx2)
        words_refill_avx2(w);
    else
        words_refill_plain(w);
    w->pos = 0;
}

static inline uint64_t words_next(words_t *w) {
    if (w->pos == NS_WORDS_STEPS * NS_RNG_LANES) words_refill(w);
    return w->buf[w->pos++];
}

static inline uint32_t words_next32(words_t *w) {
    if (w->has_half) {
        w->has_half = 0;
        return w->half;
    }
    const uint64_t word = words_next(w);
    w->half = (uint32_t)(word >> 32);
    w->has_half = 1;
    return (uint32_t)word;
}

/* ns_rng_bounded (Lemire 2019) on these words: unbiased in [0, n), n >= 1;
 * from a 32-bit draw when n <= 2^32. */
static inline uint64_t words_bounded(words_t *w, uint64_t n) {
    if (n <= ((uint64_t)1 << 32)) {
        uint64_t m = (uint64_t)words_next32(w) * n;
        if ((uint32_t)m < n) {
            const uint32_t threshold = (uint32_t)(((uint64_t)1 << 32) % n);
            while ((uint32_t)m < threshold) m = (uint64_t)words_next32(w) * n;
        }
        return m >> 32;
    }
    uint64_t lo;
    uint64_t hi = ns_mul128(words_next(w), n, &lo);
    if (lo < n) {
        const uint64_t threshold = (0 - n) % n;
        while (lo < threshold) hi = ns_mul128(words_next(w), n, &lo);
    }
    return hi;
}

/* Slot-by-slot draws of the merged sample: Lemire's bounded integer in
 * [0, n), from a 32-bit half when n <= 2^32. */
static inline uint64_t words_below(words_t *w, uint64_t n, int small) {
    if (small) {
        uint64_t m = (uint64_t)words_next32(w) * n;
        if ((uint32_t)m < n) {
            const uint32_t threshold = (uint32_t)(((uint64_t)1 << 32) % n);
            while ((uint32_t)m < threshold) m = (uint64_t)words_next32(w) * n;
        }
        return m >> 32;
    }
    return words_bounded(w, n);
}

/* The next pick of a side that holds all its m < k items in stream order:
 * one step of a Fisher-Yates shuffle of idx[0..m) (the picks so far are
 * idx[0..taken)), so that the picks are a uniform subset in uniformly
 * random order. */
static inline int64_t pick_ordered(words_t *w, int64_t *idx, int64_t m,
                                   int64_t taken, int small) {
    const int64_t r = taken + (int64_t)words_below(w, (uint64_t)(m - taken), small);
    const int64_t chosen = idx[r];
    idx[r] = idx[taken];
    idx[taken] = chosen;
    return chosen;
}

/* The slot-by-slot split of a merge of two sides that saw >= k items each,
 * n1 + n2 <= 2^32: the draws of words_below(w, n, 1) (the 32-bit halves of
 * w's words, low half first, from a fresh w), taken from a buffer of
 * halves with its cursor in a register, so that the loop's only chain is
 * x. */
static int64_t split_prefixes(words_t *w, int64_t k, uint64_t total, int64_t n1,
                              int64_t m1, int64_t *src) {
    enum { HALVES = 2 * NS_WORDS_STEPS * NS_RNG_LANES };
    uint32_t half[HALVES];
    int p = HALVES;
    int64_t x = 0;
#define NS_NEXT_HALF(U)                                                      \
    do {                                                                     \
        if (p == HALVES) {                                                   \
            words_refill(w);                                                 \
            for (int i = 0; i < HALVES / 2; i++) {                           \
                half[2 * i] = (uint32_t)w->buf[i];                           \
                half[2 * i + 1] = (uint32_t)(w->buf[i] >> 32);               \
            }                                                                \
            p = 0;                                                           \
        }                                                                    \
        (U) = half[p++];                                                     \
    } while (0)
    for (int64_t j = 0; j < k; j++) {
        const uint64_t n = total - (uint64_t)j;
        uint32_t u;
        NS_NEXT_HALF(u);
        uint64_t m = (uint64_t)u * n;
        if ((uint32_t)m < n) {
            const uint32_t threshold = (uint32_t)(((uint64_t)1 << 32) % n);
            while ((uint32_t)m < threshold) {
                NS_NEXT_HALF(u);
                m = (uint64_t)u * n;
            }
        }
        const int64_t one = (int64_t)((m >> 32) < (uint64_t)(n1 - x));
        /* x when from side 1, else m1 + j - x, without a branch */
        const int64_t second = m1 + j - x;
        src[j] = second ^ ((second ^ x) & (0 - one));
        x += one;
    }
#undef NS_NEXT_HALF
    return x;
}

int ns_reservoir_merge(uint64_t k0, uint64_t k1, int64_t k, int64_t n1,
                       int64_t m1, int64_t n2, int64_t m2, int fresh,
                       int64_t *src, int64_t *scratch, int64_t *x1,
                       void *out, const void *items1, const void *items2,
                       int64_t itemsize) {
    if (k < 1 || n1 < 0 || n2 < 0 || m1 != (n1 < k ? n1 : k) ||
        m2 != (n2 < k ? n2 : k) || n1 > INT64_MAX - n2)
        return NS_ERR_VALUE;
    const uint64_t total = (uint64_t)n1 + (uint64_t)n2;
    if (total < (uint64_t)k) {
        /* Both sides hold all their items, fewer than k: all of them, in
         * stream order (a reservoir short of k items keeps that order). */
        for (int64_t i = 0; i < m1 + m2; i++) src[i] = i;
        *x1 = m1;
        if (out != NULL)
            ns_reservoir_gather(out, items1, m1, items2, src, m1 + m2, itemsize);
        return NS_OK;
    }
    words_t w;
    words_seed(&w, k0, k1, NS_RESERVOIR_MERGE_STREAM);
    const int small = total <= ((uint64_t)1 << 32);
    /* Output slot j comes from side 1 with probability (n1 - x) / (total -
     * j), x of the j slots before it being from side 1: the sides of a
     * uniform k-subset of the union drawn slot by slot (x ends
     * hypergeometric), in an exchangeable order.  A side of n >= k items
     * holds k in uniformly random order, so its first picks are a uniform
     * subset in random order; a side short of k (or every side, when
     * fresh) is shuffled as it is picked from. */
    int64_t x = 0;
    if (!fresh && n1 >= k && n2 >= k && small) {
        x = split_prefixes(&w, k, total, n1, m1, src);
    } else if (!fresh && n1 >= k && n2 >= k) {
        for (int64_t j = 0; j < k; j++) {
            const int64_t one =
                words_below(&w, total - (uint64_t)j, small) < (uint64_t)(n1 - x);
            const int64_t second = m1 + j - x;
            src[j] = second ^ ((second ^ x) & (0 - one));
            x += one;
        }
    } else {
        int64_t *idx1 = fresh || n1 < k ? scratch : NULL;
        int64_t *idx2 = fresh || n2 < k ? scratch + m1 : NULL;
        if (idx1 != NULL)
            for (int64_t i = 0; i < m1; i++) idx1[i] = i;
        if (idx2 != NULL)
            for (int64_t i = 0; i < m2; i++) idx2[i] = m1 + i;
        for (int64_t j = 0; j < k; j++) {
            if (words_below(&w, total - (uint64_t)j, small) < (uint64_t)(n1 - x)) {
                src[j] = idx1 != NULL ? pick_ordered(&w, idx1, m1, x, small) : x;
                x++;
            } else {
                const int64_t t = j - x;
                src[j] = idx2 != NULL ? pick_ordered(&w, idx2, m2, t, small) : m1 + t;
            }
        }
    }
    *x1 = x;
    /* The copy comes after the draws: within them, a load whose address
     * depends on x stalls the chain of x when the items are not in cache
     * (2.4x slower over 1000 merges of distinct reservoirs). */
    if (out != NULL) ns_reservoir_gather(out, items1, m1, items2, src, k, itemsize);
    return NS_OK;
}

int ns_reservoir_shuffle(ns_rng_t *rng, int64_t *perm, int64_t k) {
    if (k < 0) return NS_ERR_VALUE;
    for (int64_t i = 0; i < k; i++) perm[i] = i;
    for (int64_t i = k - 1; i > 0; i--) {
        const int64_t j = (int64_t)ns_rng_bounded(rng, (uint64_t)(i + 1));
        const int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    return NS_OK;
}

void ns_reservoir_prefetch(const void *data, int64_t bytes) {
    const char *p = (const char *)data;
    if (p == NULL) return;
    for (int64_t at = 0; at < bytes; at += 64) NS_PREFETCH(p + at, 3);
}

/* out[j] = the item src[j] names, for an index array of type INDEX_T. */
#define NS_GATHER_BODY(INDEX_T)                                              \
    unsigned char *o = (unsigned char *)out;                                 \
    const unsigned char *a = (const unsigned char *)items1;                  \
    const unsigned char *b = (const unsigned char *)items2;                  \
    const unsigned char *const bases[2] = {a, b};                            \
    const size_t size = (size_t)itemsize;                                    \
    /* memcpy of a constant size compiles to one load and one store */      \
    switch (itemsize) {                                                      \
    case 1: NS_GATHER(INDEX_T, 1); break;                                    \
    case 2: NS_GATHER(INDEX_T, 2); break;                                    \
    case 4: NS_GATHER(INDEX_T, 4); break;                                    \
    case 8: NS_GATHER(INDEX_T, 8); break;                                    \
    case 16: NS_GATHER(INDEX_T, 16); break;                                  \
    default: NS_GATHER(INDEX_T, size); break;                                \
    }
/* which side an entry is on is a coin flip in a weighted merge: its base
 * address is a load from bases[], its offset arithmetic, no branch */
#define NS_GATHER(INDEX_T, SIZE)                                             \
    for (int64_t j = 0; j < m; j++) {                                        \
        const int64_t s = (int64_t)src[j];                                   \
        const int64_t second = s >= m1;                                      \
        const unsigned char *from =                                          \
            bases[second] + (size_t)(s - (m1 & (0 - second))) * (SIZE);      \
        memcpy(o + (size_t)j * (SIZE), from, (SIZE));                        \
    }

void ns_reservoir_gather(void *out, const void *items1, int64_t m1,
                         const void *items2, const int64_t *src, int64_t m,
                         int64_t itemsize) {
    NS_GATHER_BODY(int64_t)
}

#undef NS_GATHER
#undef NS_GATHER_BODY

/* -- weighted merge: the top k keys of two reservoirs ---------------------- */

/* The boundary bucket's entries (indices i of both sides: position i of
 * side 1 when i < size1, else i - size1 of side 2), heapsorted ascending by
 * key in place when many (equal keys in no particular order, but always
 * the same for the same input): the merge stays O(n log n) at worst. */
typedef struct {
    uint32_t *idx;
    const double *keys1, *keys2;
    uint32_t size1;
} kheap;
typedef struct {
    double key;
    uint32_t i;
} keyed_entry;
static inline double entry_key(const double *keys1, const double *keys2,
                               uint32_t size1, uint32_t i) {
    return i < size1 ? keys1[i] : keys2[i - size1];
}
static inline keyed_entry kheap_get(kheap h, int64_t p) {
    const uint32_t i = h.idx[p];
    return (keyed_entry){.key = entry_key(h.keys1, h.keys2, h.size1, i), .i = i};
}
static inline void kheap_set(kheap h, int64_t p, keyed_entry e) { h.idx[p] = e.i; }
/* larger key first: the heapsort then ends in ascending order */
static inline int kheap_before(keyed_entry a, keyed_entry b) { return a.key > b.key; }
#define NS_HEAP_PREFIX kheap
#define NS_HEAP_T kheap
#define NS_HEAP_ENTRY keyed_entry
#include "ns_heap.h"


/* Defined to 1 (-DNS_RESERVOIR_SCALAR_MERGE=1), the merge never takes its
 * AVX2 path: the C tests compare the two. */
#ifndef NS_RESERVOIR_SCALAR_MERGE
#define NS_RESERVOIR_SCALAR_MERGE 0
#endif

/* Binary orders of magnitude of the bucket map (see ns_wreservoir_merge). */
#define NS_MERGE_LEVELS 8
/* Entries beyond which the boundary bucket is heapsorted. */
#define NS_MERGE_SMALL 32
/* Interleaved counts of the bucket histogram (a power of 2). */
#define NS_MERGE_LANES 4

/* The bits of a double >= 0: increasing with it. */
static inline uint64_t double_bits(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double bits_double(uint64_t u) {
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

size_t ns_wreservoir_merge_scratch(int64_t n) {
    /* a bucket, an output index (and one more: the branch-free
     * compaction writes one place past its end) and an index of the
     * boundary bucket an entry; at most max(n / 2, NS_MERGE_LEVELS)
     * buckets (see the merge), NS_MERGE_LANES counts each */
    const int64_t nb = n / 2 + NS_MERGE_LEVELS;
    return (size_t)(NS_MERGE_LANES * (nb + 1) + 3 * n + 1) * sizeof(uint32_t);
}

/* *lo and *hi receive the smallest and largest of x[0..n) (DBL_MAX and
 * -DBL_MAX when n = 0), in independent lanes. */
static void min_max(const double *x, int64_t n, double *lo, double *hi) {
    const double big = 1.7976931348623157e308;
    int64_t i = 0;
#ifdef NS_RESERVOIR_SSE2
    __m128d a0 = _mm_set1_pd(big), a1 = a0, b0 = _mm_set1_pd(-big), b1 = b0;
    for (; i + 4 <= n; i += 4) {
        const __m128d p = _mm_loadu_pd(x + i), q = _mm_loadu_pd(x + i + 2);
        a0 = _mm_min_pd(p, a0);
        a1 = _mm_min_pd(q, a1);
        b0 = _mm_max_pd(p, b0);
        b1 = _mm_max_pd(q, b1);
    }
    double a[2], b[2];
    _mm_storeu_pd(a, _mm_min_pd(a0, a1));
    _mm_storeu_pd(b, _mm_max_pd(b0, b1));
    double s = a[0] < a[1] ? a[0] : a[1], l = b[0] > b[1] ? b[0] : b[1];
#else
    double s = big, l = -big;
#endif
    for (; i < n; i++) {
        s = x[i] < s ? x[i] : s;
        l = x[i] > l ? x[i] : l;
    }
    *lo = s;
    *hi = l;
}

/* The monotone map of a key onto buckets 0 .. nb - 1: the top bits of the
 * double d = key / 2 - low / 2, floored at the smallest d of bucket 0 (a
 * negative d, a key below low, lands in bucket 0).  Each step is monotone,
 * so buckets are ordered intervals of keys. */
typedef struct {
    double half_low, floor;
    uint64_t base;
    int shift;
} bucket_map;

static void map_buckets(const bucket_map *map, const double *keys, int64_t n,
                        uint32_t *bucket) {
    const double half_low = map->half_low, floor = map->floor;
    const uint64_t base = map->base;
    const int shift = map->shift;
    int64_t i = 0;
#ifdef NS_RESERVOIR_SSE2
    const __m128d hl = _mm_set1_pd(half_low), fl = _mm_set1_pd(floor),
                  half = _mm_set1_pd(0.5);
    const __m128i bs = _mm_set1_epi64x((long long)base),
                  sh = _mm_cvtsi32_si128(shift);
    for (; i + 2 <= n; i += 2) {
        const __m128d d = _mm_max_pd(
            _mm_sub_pd(_mm_mul_pd(_mm_loadu_pd(keys + i), half), hl), fl);
        const __m128i b = _mm_sub_epi64(_mm_srl_epi64(_mm_castpd_si128(d), sh), bs);
        _mm_storel_epi64((__m128i *)(void *)(bucket + i),
                         _mm_shuffle_epi32(b, _MM_SHUFFLE(2, 0, 2, 0)));
    }
#endif
    for (; i < n; i++) {
        double d = keys[i] * 0.5 - half_low;
        d = d > floor ? d : floor;
        bucket[i] = (uint32_t)((double_bits(d) >> shift) - base);
    }
}

/* lanes[l * (nb + 1) + b] += the entries of bucket b among bucket[i] with
 * i % NS_MERGE_LANES == l (interleaved histograms: consecutive entries of
 * one bucket, as the many below the threshold often are, do not wait for
 * each other's stores). */
static void count_buckets(const uint32_t *bucket, int64_t n, int64_t nb,
                          uint32_t *lanes) {
    const int64_t stride = nb + 1;
    int64_t i = 0;
    for (; i + NS_MERGE_LANES <= n; i += NS_MERGE_LANES)
        for (int l = 0; l < NS_MERGE_LANES; l++) lanes[l * stride + bucket[i + l]]++;
    for (; i < n; i++) lanes[bucket[i]]++;
}

/* The entries i < n of a bucket above `first` to idx[0 .. c) (returned),
 * those of bucket `first` to in_first[*f ..] (named i + offset), in
 * order.  Branch-free for the first (which it is is a coin flip per
 * entry), a branch for the second (rarely taken, or nearly always when
 * keys tie). */
static int64_t compact(const uint32_t *bucket, int64_t n, uint32_t first,
                       uint32_t *idx, uint32_t offset, uint32_t *in_first,
                       int64_t *f) {
    int64_t c = 0, g = *f;
    for (int64_t i = 0; i < n; i++) {
        const uint32_t b = bucket[i];
        idx[c] = (uint32_t)i;
        c += b > first;
        if (b == first) in_first[g++] = (uint32_t)i + offset;
    }
    *f = g;
    return c;
}

/* out_keys[j], out_slots[j] (its slot + offset) and out_items[j] (the
 * item of its slot) of entry idx[j] of one side, j < c (out_slots or
 * out_items NULL: not written; slots NULL: entry i in slot i). */
#define NS_EMIT(SLOT, SIZE)                                                  \
    for (int64_t j = 0; j < c; j++) {                                        \
        const uint32_t i = idx[j];                                           \
        const int64_t slot = (SLOT);                                         \
        out_keys[j] = keys[i];                                               \
        memcpy(o + (size_t)j * (SIZE), items + (size_t)slot * (SIZE), (SIZE)); \
    }
#define NS_EMIT_SIZES(SLOT)                                                  \
    switch (itemsize) {                                                      \
    case 1: NS_EMIT(SLOT, 1); break;                                         \
    case 2: NS_EMIT(SLOT, 2); break;                                         \
    case 4: NS_EMIT(SLOT, 4); break;                                         \
    case 8: NS_EMIT(SLOT, 8); break;                                         \
    case 16: NS_EMIT(SLOT, 16); break;                                       \
    default: NS_EMIT(SLOT, size); break;                                     \
    }
static void emit(const double *keys, const int64_t *slots, const uint32_t *idx,
                 int64_t c, const void *items_, int64_t itemsize, double *out_keys,
                 int64_t *out_slots, int64_t offset, void *out_items) {
    if (out_slots != NULL) {
        if (slots != NULL)
            for (int64_t j = 0; j < c; j++) out_slots[j] = slots[idx[j]] + offset;
        else
            for (int64_t j = 0; j < c; j++) out_slots[j] = (int64_t)idx[j] + offset;
    }
    if (out_items == NULL) {
        for (int64_t j = 0; j < c; j++) out_keys[j] = keys[idx[j]];
        return;
    }
    unsigned char *o = (unsigned char *)out_items;
    const unsigned char *items = (const unsigned char *)items_;
    const size_t size = (size_t)itemsize;
    if (slots != NULL) {
        NS_EMIT_SIZES(slots[i])
    } else {
        NS_EMIT_SIZES((int64_t)i)
    }
}
#undef NS_EMIT_SIZES
#undef NS_EMIT

#if NS_AVX2_CLONES
#include <immintrin.h>

/* The AVX2 copies of min_max, map_buckets and compact (run when
 * ns_cpu_has_avx2()): the same results, bit for bit (the same IEEE
 * operations on each key, the same entries in the same order). */
NS_TARGET_AVX2 static void min_max_avx2(const double *x, int64_t n, double *lo,
                                        double *hi) {
    const double big = 1.7976931348623157e308;
    __m256d a0 = _mm256_set1_pd(big), a1 = a0, b0 = _mm256_set1_pd(-big), b1 = b0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256d p = _mm256_loadu_pd(x + i), q = _mm256_loadu_pd(x + i + 4);
        a0 = _mm256_min_pd(p, a0);
        a1 = _mm256_min_pd(q, a1);
        b0 = _mm256_max_pd(p, b0);
        b1 = _mm256_max_pd(q, b1);
    }
    double a[4], b[4];
    _mm256_storeu_pd(a, _mm256_min_pd(a0, a1));
    _mm256_storeu_pd(b, _mm256_max_pd(b0, b1));
    double s = a[0], l = b[0];
    for (int j = 1; j < 4; j++) {
        s = a[j] < s ? a[j] : s;
        l = b[j] > l ? b[j] : l;
    }
    for (; i < n; i++) {
        s = x[i] < s ? x[i] : s;
        l = x[i] > l ? x[i] : l;
    }
    *lo = s;
    *hi = l;
}

NS_TARGET_AVX2 static void map_buckets_avx2(const bucket_map *map, const double *keys,
                                            int64_t n, uint32_t *bucket) {
    const __m256d hl = _mm256_set1_pd(map->half_low), fl = _mm256_set1_pd(map->floor),
                  half = _mm256_set1_pd(0.5);
    const __m256i bs = _mm256_set1_epi64x((long long)map->base),
                  low32 = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    const __m128i sh = _mm_cvtsi32_si128(map->shift);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d d = _mm256_max_pd(
            _mm256_sub_pd(_mm256_mul_pd(_mm256_loadu_pd(keys + i), half), hl), fl);
        const __m256i b =
            _mm256_sub_epi64(_mm256_srl_epi64(_mm256_castpd_si256(d), sh), bs);
        _mm_storeu_si128((__m128i *)(void *)(bucket + i),
                         _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(b, low32)));
    }
    for (; i < n; i++) {
        double d = keys[i] * 0.5 - map->half_low;
        d = d > map->floor ? d : map->floor;
        bucket[i] = (uint32_t)((double_bits(d) >> map->shift) - map->base);
    }
}

/* Byte j of entry m: the place of the j-th set bit of m (a compress of 8
 * lanes by a mask). */
static const uint64_t compress_lanes[256] = {
    0x0u, 0x0u, 0x1u, 0x100u,
    0x2u, 0x200u, 0x201u, 0x20100u,
    0x3u, 0x300u, 0x301u, 0x30100u,
    0x302u, 0x30200u, 0x30201u, 0x3020100u,
    0x4u, 0x400u, 0x401u, 0x40100u,
    0x402u, 0x40200u, 0x40201u, 0x4020100u,
    0x403u, 0x40300u, 0x40301u, 0x4030100u,
    0x40302u, 0x4030200u, 0x4030201u, 0x403020100ull,
    0x5u, 0x500u, 0x501u, 0x50100u,
    0x502u, 0x50200u, 0x50201u, 0x5020100u,
    0x503u, 0x50300u, 0x50301u, 0x5030100u,
    0x50302u, 0x5030200u, 0x5030201u, 0x503020100ull,
    0x504u, 0x50400u, 0x50401u, 0x5040100u,
    0x50402u, 0x5040200u, 0x5040201u, 0x504020100ull,
    0x50403u, 0x5040300u, 0x5040301u, 0x504030100ull,
    0x5040302u, 0x504030200ull, 0x504030201ull, 0x50403020100ull,
    0x6u, 0x600u, 0x601u, 0x60100u,
    0x602u, 0x60200u, 0x60201u, 0x6020100u,
    0x603u, 0x60300u, 0x60301u, 0x6030100u,
    0x60302u, 0x6030200u, 0x6030201u, 0x603020100ull,
    0x604u, 0x60400u, 0x60401u, 0x6040100u,
    0x60402u, 0x6040200u, 0x6040201u, 0x604020100ull,
    0x60403u, 0x6040300u, 0x6040301u, 0x604030100ull,
    0x6040302u, 0x604030200ull, 0x604030201ull, 0x60403020100ull,
    0x605u, 0x60500u, 0x60501u, 0x6050100u,
    0x60502u, 0x6050200u, 0x6050201u, 0x605020100ull,
    0x60503u, 0x6050300u, 0x6050301u, 0x605030100ull,
    0x6050302u, 0x605030200ull, 0x605030201ull, 0x60503020100ull,
    0x60504u, 0x6050400u, 0x6050401u, 0x605040100ull,
    0x6050402u, 0x605040200ull, 0x605040201ull, 0x60504020100ull,
    0x6050403u, 0x605040300ull, 0x605040301ull, 0x60504030100ull,
    0x605040302ull, 0x60504030200ull, 0x60504030201ull, 0x6050403020100ull,
    0x7u, 0x700u, 0x701u, 0x70100u,
    0x702u, 0x70200u, 0x70201u, 0x7020100u,
    0x703u, 0x70300u, 0x70301u, 0x7030100u,
    0x70302u, 0x7030200u, 0x7030201u, 0x703020100ull,
    0x704u, 0x70400u, 0x70401u, 0x7040100u,
    0x70402u, 0x7040200u, 0x7040201u, 0x704020100ull,
    0x70403u, 0x7040300u, 0x7040301u, 0x704030100ull,
    0x7040302u, 0x704030200ull, 0x704030201ull, 0x70403020100ull,
    0x705u, 0x70500u, 0x70501u, 0x7050100u,
    0x70502u, 0x7050200u, 0x7050201u, 0x705020100ull,
    0x70503u, 0x7050300u, 0x7050301u, 0x705030100ull,
    0x7050302u, 0x705030200ull, 0x705030201ull, 0x70503020100ull,
    0x70504u, 0x7050400u, 0x7050401u, 0x705040100ull,
    0x7050402u, 0x705040200ull, 0x705040201ull, 0x70504020100ull,
    0x7050403u, 0x705040300ull, 0x705040301ull, 0x70504030100ull,
    0x705040302ull, 0x70504030200ull, 0x70504030201ull, 0x7050403020100ull,
    0x706u, 0x70600u, 0x70601u, 0x7060100u,
    0x70602u, 0x7060200u, 0x7060201u, 0x706020100ull,
    0x70603u, 0x7060300u, 0x7060301u, 0x706030100ull,
    0x7060302u, 0x706030200ull, 0x706030201ull, 0x70603020100ull,
    0x70604u, 0x7060400u, 0x7060401u, 0x706040100ull,
    0x7060402u, 0x706040200ull, 0x706040201ull, 0x70604020100ull,
    0x7060403u, 0x706040300ull, 0x706040301ull, 0x70604030100ull,
    0x706040302ull, 0x70604030200ull, 0x70604030201ull, 0x7060403020100ull,
    0x70605u, 0x7060500u, 0x7060501u, 0x706050100ull,
    0x7060502u, 0x706050200ull, 0x706050201ull, 0x70605020100ull,
    0x7060503u, 0x706050300ull, 0x706050301ull, 0x70605030100ull,
    0x706050302ull, 0x70605030200ull, 0x70605030201ull, 0x7060503020100ull,
    0x7060504u, 0x706050400ull, 0x706050401ull, 0x70605040100ull,
    0x706050402ull, 0x70605040200ull, 0x70605040201ull, 0x7060504020100ull,
    0x706050403ull, 0x70605040300ull, 0x70605040301ull, 0x7060504030100ull,
    0x70605040302ull, 0x7060504030200ull, 0x7060504030201ull, 0x706050403020100ull,
};

NS_TARGET_AVX2 static int64_t compact_avx2(const uint32_t *bucket, int64_t n,
                                           uint32_t first, uint32_t *idx,
                                           uint32_t offset, uint32_t *in_first,
                                           int64_t *f) {
    int64_t c = 0, g = *f, i = 0;
    /* buckets are below 2^31: a signed comparison is the unsigned one */
    const __m256i fv = _mm256_set1_epi32((int)first);
    for (; i + 8 <= n; i += 8) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(bucket + i));
        const unsigned keep = (unsigned)_mm256_movemask_ps(
            _mm256_castsi256_ps(_mm256_cmpgt_epi32(b, fv)));
        const unsigned at = (unsigned)_mm256_movemask_ps(
            _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, fv)));
        const __m256i lanes = _mm256_cvtepu8_epi32(
            _mm_cvtsi64_si128((long long)compress_lanes[keep]));
        _mm256_storeu_si256((__m256i *)(void *)(idx + c),
                            _mm256_add_epi32(lanes, _mm256_set1_epi32((int)i)));
        c += __builtin_popcount(keep);
        if (at)
            for (int j = 0; j < 8; j++)
                if (at >> j & 1) in_first[g++] = (uint32_t)(i + j) + offset;
    }
    for (; i < n; i++) {
        const uint32_t b = bucket[i];
        idx[c] = (uint32_t)i;
        c += b > first;
        if (b == first) in_first[g++] = (uint32_t)i + offset;
    }
    *f = g;
    return c;
}
#endif

/* Sorts h.idx[0..n) ascending by key: insertion sort (stable) when
 * small, else heapsort (deterministic). */
static void sort_entries(kheap h, int64_t n) {
    if (n > NS_MERGE_SMALL) {
        kheap_heapify(h, n);
        kheap_sort(h, n);
        return;
    }
    for (int64_t p = 1; p < n; p++) {
        const keyed_entry x = kheap_get(h, p);
        int64_t q = p;
        for (; q > 0; q--) {
            const keyed_entry y = kheap_get(h, q - 1);
            if (!(y.key > x.key)) break;
            kheap_set(h, q, y);
        }
        kheap_set(h, q, x);
    }
}

int ns_wreservoir_merge(const double *keys1, const int64_t *slots1,
                        int64_t size1, const double *keys2,
                        const int64_t *slots2, int64_t size2, int64_t k,
                        double *out_keys, int64_t *src, int64_t *m_out,
                        const void *items1, const void *items2,
                        int64_t itemsize, void *out_items, void *scratch) {
    *m_out = 0;
    if (k < 1 || size1 < 0 || size2 < 0 || size1 > k || size2 > k ||
        size1 + size2 >= (int64_t)UINT32_MAX)
        return NS_ERR_VALUE;
    const int64_t n = size1 + size2, m = n < k ? n : k;
    *m_out = m;
    if (m == 0) return NS_OK;
    /* A key below lo cannot be kept: the k keys of a full side are all at
     * or above its smallest.  (The sides need not be heaps: the smallest
     * is found in the pass that finds the largest.) */
    const double big = 1.7976931348623157e308;
#if NS_AVX2_CLONES
    const int avx2 = ns_cpu_has_avx2() && !NS_RESERVOIR_SCALAR_MERGE;
#define NS_PICK(f) (avx2 ? f##_avx2 : f)
#else
#define NS_PICK(f) f
#endif
    double low1, hi1, low2, hi2;
    NS_PICK(min_max)(keys1, size1, &low1, &hi1);
    NS_PICK(min_max)(keys2, size2, &low2, &hi2);
    const double hi = hi2 > hi1 ? hi2 : hi1;
    double lo = -big;
    if (size1 == k && low1 > lo) lo = low1;
    if (size2 == k && low2 > lo) lo = low2;
    const double low = lo != -big ? lo : low1 < low2 ? low1 : low2;
    /* Buckets: `bits` bits of mantissa over NS_MERGE_LEVELS binary orders of
     * magnitude below the largest d (the d of hi), smaller d in bucket 0;
     * about one bucket for two entries.  This spreads the keys, crowded just
     * above the threshold, over the buckets.  (Halves: hi - low may
     * overflow, hi / 2 - low / 2 does not.) */
    int bits = 0; /* the most with nb = NS_MERGE_LEVELS << bits <= n / 2 */
    while (bits < 16 && ((int64_t)NS_MERGE_LEVELS << (bits + 2)) <= n) bits++;
    bucket_map map;
    map.shift = 52 - bits;
    map.half_low = low * 0.5;
    const int64_t nb = (int64_t)NS_MERGE_LEVELS << bits, stride = nb + 1;
    const uint64_t highest = double_bits(hi * 0.5 - map.half_low) >> map.shift;
    map.base = highest >= (uint64_t)(nb - 1) ? highest - (uint64_t)(nb - 1) : 0;
    map.floor = bits_double(map.base << map.shift);
    uint32_t *lanes = (uint32_t *)scratch;                       /* LANES (nb + 1) */
    uint32_t *bucket = lanes + NS_MERGE_LANES * stride;          /* n */
    uint32_t *idx = bucket + n;                                  /* n + 1 */
    uint32_t *in_first = idx + n + 1;                            /* n */
    /* Entry i: position i of side 1 when i < size1, else position i -
     * size1 of side 2.  One pass per side maps its keys to buckets (no
     * copy of the keys), one counts them. */
    NS_PICK(map_buckets)(&map, keys1, size1, bucket);
    NS_PICK(map_buckets)(&map, keys2, size2, bucket + size1);
    memset(lanes, 0, (size_t)(NS_MERGE_LANES * stride) * sizeof(uint32_t));
    count_buckets(bucket, n, nb, lanes);
    /* The top m start in bucket `first`: `above` entries are in the
     * buckets above it, and its m - above largest are kept. */
    int64_t first = nb - 1, above = 0;
    for (;;) {
        uint32_t cnt = 0;
        for (int l = 0; l < NS_MERGE_LANES; l++) cnt += lanes[l * stride + first];
        if (above + cnt >= m) break;
        above += cnt;
        first--;
    }
    /* One compaction pass per side: its entries above `first` to idx1 /
     * idx2, those of `first` to in_first[] (entry i of both sides); the
     * latter sorted by key and their m - above largest kept.  The output
     * is side 1's entries above `first`, then side 2's, then those. */
    uint32_t *idx1 = idx, *idx2;
    int64_t n_first = 0;
    const int64_t c1 = NS_PICK(compact)(bucket, size1, (uint32_t)first, idx1, 0,
                                        in_first, &n_first);
    idx2 = idx1 + c1;
    const int64_t c2 = NS_PICK(compact)(bucket + size1, size2, (uint32_t)first, idx2,
                                        (uint32_t)size1, in_first, &n_first);
#undef NS_PICK
    /* c1 + c2 == above */
    const kheap sorting = {.idx = in_first, .keys1 = keys1, .keys2 = keys2,
                           .size1 = (uint32_t)size1};
    sort_entries(sorting, n_first);
    unsigned char *o = (unsigned char *)out_items;
    emit(keys1, slots1, idx1, c1, items1, itemsize, out_keys, src, 0, o);
    emit(keys2, slots2, idx2, c2, items2, itemsize, out_keys + c1,
         src == NULL ? NULL : src + c1, size1,
         o == NULL ? NULL : o + (size_t)c1 * (size_t)itemsize);
    for (int64_t j = above; j < m; j++) {
        const uint32_t i = in_first[n_first - m + j];
        const int64_t second = i >= (uint32_t)size1;
        const int64_t at = (int64_t)i - (size1 & (0 - second));
        const int64_t *slots = second ? slots2 : slots1;
        const int64_t slot = slots != NULL ? slots[at] : at;
        out_keys[j] = second ? keys2[at] : keys1[at];
        if (src != NULL) src[j] = slot + (size1 & (0 - second));
        if (o != NULL)
            memcpy(o + (size_t)j * (size_t)itemsize,
                   (const unsigned char *)(second ? items2 : items1) +
                       (size_t)slot * (size_t)itemsize,
                   (size_t)itemsize);
    }
    return NS_OK;
}

/* Restores the min-heap order (by key; equal keys as the sifts leave them)
 * of keys[0..n), slots moved with their keys: bottom-up sift-downs. */
void ns_wreservoir_heapify(double *keys, int64_t *slots, int64_t n) {
    if (n < 2) return;
    const wheap h = {.keys = keys, .slots = slots, .undo = NULL};
    wheap_heapify(h, n);
}

int ns_reservoir_resume(ns_rng_t *rng, int64_t k, int64_t n, double *w,
                        int64_t *next) {
    if (k < 1 || n < k) return NS_ERR_VALUE;
    /* Beta(k, n - k + 1) as X / (X + Y), X ~ Gamma(k), Y ~ Gamma(n - k + 1) */
    const double x = ns_rng_gamma(rng, (double)k);
    const double y = ns_rng_gamma(rng, (double)(n - k) + 1.0);
    *w = x / (x + y);
    if (!(*w > 0.0)) *w = 0x1p-1074; /* underflow guard: W stays positive */
    *next = next_after(rng, n - 1, *w);
    return NS_OK;
}

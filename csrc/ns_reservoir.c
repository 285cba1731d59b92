/*
 * ns_reservoir.c -- Algorithm L (Li 1994) and A-ExpJ (Efraimidis & Spirakis
 * 2006) over a stream fed in chunks; see ns_reservoir.h.
 */
#include "ns_reservoir.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

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

void ns_wreservoir_heapify(double *heap_keys, int64_t *heap_slots, int64_t n) {
    wheap_heapify((wheap){.keys = heap_keys, .slots = heap_slots, .undo = NULL}, n);
}

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

void ns_reservoir_shuffle(ns_rng_t *rng, int64_t *idx, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t j = (int64_t)ns_rng_bounded(rng, (uint64_t)(i + 1));
        const int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* First `take` entries of idx[0..n) become a uniform ordered sample without
 * replacement (partial Fisher-Yates). */
static void partial_shuffle(ns_rng_t *rng, int64_t *idx, int64_t n,
                            int64_t take) {
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t i = 0; i < take; i++) {
        const int64_t j = i + (int64_t)ns_rng_bounded(rng, (uint64_t)(n - i));
        const int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

int ns_reservoir_merge_plan(ns_rng_t *rng, int64_t k, int64_t n1, int64_t m1,
                            int64_t n2, int64_t m2, int64_t *pick1,
                            int64_t *pick2, int64_t *x1) {
    if (k < 1 || n1 < 0 || n2 < 0 || m1 != (n1 < k ? n1 : k) ||
        m2 != (n2 < k ? n2 : k) || n1 > INT64_MAX - n2)
        return NS_ERR_VALUE;
    const uint64_t total = (uint64_t)n1 + (uint64_t)n2;
    const int64_t m = total < (uint64_t)k ? (int64_t)total : k;
    /* Hypergeometric: draw the m slots of a uniform subset one by one; the
     * j-th comes from side 1 with probability (n1 - x) / (total - j). */
    int64_t x = 0;
    for (int64_t j = 0; j < m; j++) {
        if (ns_rng_bounded(rng, total - (uint64_t)j) < (uint64_t)(n1 - x)) x++;
    }
    /* x <= m1 and m - x <= m2 always hold: a side that saw fewer than k
     * items holds all of them. */
    partial_shuffle(rng, pick1, m1, x);
    partial_shuffle(rng, pick2, m2, m - x);
    *x1 = x;
    return NS_OK;
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

/*
 * ns_reservoir.c -- Algorithm L (Li 1994) and A-ExpJ (Efraimidis & Spirakis
 * 2006) over a stream fed in chunks; see ns_reservoir.h.
 */
#include "ns_reservoir.h"

#include <math.h>
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

int64_t ns_reservoir_check_weights(const double *weights, int64_t length,
                                   double *total) {
    /* Eight independent partial sums and a branch-free validity flag: the
     * loop vectorises and has no long dependency chain.  The culprit is
     * located only on failure. */
    double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    int bad = 0;
    for (; i + 8 <= length; i += 8) {
        for (int j = 0; j < 8; j++) {
            const double x = weights[i + j];
            bad |= !(x >= 0.0 && x <= 1.7976931348623157e308);
            part[j] += x;
        }
    }
    for (; i < length; i++) {
        const double x = weights[i];
        bad |= !(x >= 0.0 && x <= 1.7976931348623157e308);
        part[0] += x;
    }
    *total = ((part[0] + part[1]) + (part[2] + part[3])) +
             ((part[4] + part[5]) + (part[6] + part[7]));
    if (!bad) return -1;
    for (i = 0; i < length; i++) {
        const double x = weights[i];
        if (!(x >= 0.0 && x <= 1.7976931348623157e308)) return i;
    }
    return -1; /* not reached */
}

/* The A-ExpJ heap (ns_heap.h): a min-heap of log keys, the slot of each
 * carried along; its root is the threshold key T. */
typedef struct {
    double *keys;
    int64_t *slots;
} wheap;

typedef struct {
    double key;
    int64_t slot;
} wheap_entry;

static inline wheap_entry wheap_get(wheap h, int64_t i) {
    return (wheap_entry){.key = h.keys[i], .slot = h.slots[i]};
}

static inline void wheap_set(wheap h, int64_t i, wheap_entry e) {
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
    wheap_heapify((wheap){.keys = heap_keys, .slots = heap_slots}, n);
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

int ns_wreservoir_update(ns_rng_t *rng, int64_t k, const double *weights,
                         int64_t length, double *heap_keys, int64_t *heap_slots,
                         int64_t *size, double *remaining, int64_t *slot_pos,
                         int64_t *touched, int64_t *n_touched,
                         int64_t pos_offset) {
    const wheap heap = {.keys = heap_keys, .slots = heap_slots};
    int64_t i = 0, nt = 0, n = *size;
    double rem = *remaining;
    *n_touched = 0;
    if (k < 1 || length < 0 || n < 0 || n > k) return NS_ERR_VALUE;
    /* Fill phase: every item of positive weight enters with its key. */
    for (; i < length && n < k; i++) {
        const double wi = weights[i];
        if (wi > 0.0) {
            const double key = wkey(wi, log(ns_rng_exponential_open(rng)));
            record(slot_pos, touched, &nt, n, i + pos_offset);
            wheap_push(heap, n, (wheap_entry){.key = key, .slot = n});
            n++;
            if (n == k) rem = ns_rng_exponential_open(rng);
        }
    }
    /* Jump phase.  An item of weight w beats the threshold key T when its
     * E < w * exp(-T) (its exposure); the first item to do so comes when
     * the running sum of exposures passes an Exp(1) variate, rem.
     * Subtract exposures until rem is used up; the item where it runs out
     * (it has positive weight) is accepted with E drawn conditionally on
     * E < its exposure. */
    double pre = 1.0, rate = 1.0;
    if (n == k) threshold_rate(heap_keys[0], &pre, &rate);
    while (i < length) {
        /* Whole blocks of 8 whose mass does not use up the jump are
         * skipped with one comparison (a short dependency chain); the
         * block where it runs out is scanned item by item. */
        while (i + 8 <= length) {
            const double *b = weights + i;
            const double s = ((b[0] + b[1]) + (b[2] + b[3])) +
                             ((b[4] + b[5]) + (b[6] + b[7]));
            const double x = (s * pre) * rate;
            if (rem - x > 0.0) {
                rem -= x;
                i += 8;
                continue;
            }
            break;
        }
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
        const double v = ns_rng_double_open(rng);
        const double cv = c * v;
        const double e_log = cv > 0x1p-900 ? log(-log1p(-cv)) : log(c) + log(v);
        double key = wkey(wi, e_log);
        /* rounding guard: the new key is above T */
        if (!(key >= heap_keys[0])) key = heap_keys[0];
        const int64_t slot = heap_slots[0];
        wheap_replace_top(heap, n, (wheap_entry){.key = key, .slot = slot});
        record(slot_pos, touched, &nt, slot, i + pos_offset);
        threshold_rate(heap_keys[0], &pre, &rate);
        rem = ns_rng_exponential_open(rng);
        i++;
    }
    *size = n;
    *remaining = rem;
    *n_touched = nt;
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

/*
 * ns_sum.h -- compensated (Neumaier) summation, written once for every
 * kernel that adds many doubles of different sizes: alias-table masses, the
 * cumulative law, per-row positive masses, the O(n) exact fallback scan.
 *
 * Neumaier 1974 ("Rundungsfehleranalyse einiger Verfahren zur Summation
 * endlicher Summen"), the improved Kahan-Babuska form: the rounding error of
 * each addition is kept in `comp` whichever operand is larger, so the result
 * is within about 2 ulp of the exact sum independently of n (plain left to
 * right summation drifts by up to n ulp).
 *
 * The order of the operations is part of negsamp's output: cumulative laws
 * and alias thresholds computed with it are bit-identical across releases,
 * so change nothing here without regenerating tests/data/.
 */
#ifndef NS_SUM_H
#define NS_SUM_H

#include <math.h>

#include "ns_common.h"

typedef struct {
    double sum;  /* running sum of the terms, rounded */
    double comp; /* accumulated rounding error of those additions */
} ns_sum;

#define NS_SUM_ZERO ((ns_sum){.sum = 0.0, .comp = 0.0})

/* Adds x to the accumulator. */
NS_INLINE void ns_sum_add(ns_sum *acc, double x) {
    const double t = acc->sum + x;
    acc->comp += (fabs(acc->sum) >= fabs(x)) ? (acc->sum - t) + x
                                             : (x - t) + acc->sum;
    acc->sum = t;
}

/* ns_sum_add of many terms in index order, with the same result bit for
 * bit, faster: a block of up to NS_SUM_BLOCK terms at a time, as
 *   1. the running sums t_k = fl(t_{k-1} + x_k), in order (one addition a
 *      term: the only chain that Neumaier's loop must run in order);
 *   2. the rounding errors e_k = t_{k-1} + x_k - t_k, by Knuth's
 *      branch-free TwoSum from t_{k-1}, x_k and t_k (vectorised);
 *   3. comp += e_k in order; this chain is run alongside step 1 of the
 *      next block (ns_sum_blocks_add keeps the errors of the last block
 *      pending until then, ns_sum_blocks_finish adds them).
 * Neumaier's loop adds the same e_k (Fast2Sum with |s| >= |x|, and TwoSum
 * always, give the exact error of a finite sum) to comp in the same
 * order; a zero error of either sign leaves comp unchanged (comp starts at
 * +0 and a round-to-nearest sum is -0 only when both operands are), and a
 * sum that overflows leaves sum or comp non-finite under both. */
#define NS_SUM_BLOCK 256
typedef struct {
    ns_sum acc;
    int pending; /* errors err[0..pending) not yet added to acc.comp */
    double err[NS_SUM_BLOCK];
} ns_sum_blocks;

NS_INLINE void ns_sum_blocks_init(ns_sum_blocks *b) {
    b->acc = NS_SUM_ZERO;
    b->pending = 0;
}

/* Adds x[0..m), m <= NS_SUM_BLOCK. */
NS_INLINE void ns_sum_blocks_add(ns_sum_blocks *b, const double *x, int m) {
    double ts[NS_SUM_BLOCK];
    const double s0 = b->acc.sum;
    double s = s0, comp = b->acc.comp;
    const int both = m < b->pending ? m : b->pending;
    int k = 0;
    for (; k < both; k++) { /* two independent chains */
        s += x[k];
        ts[k] = s;
        comp += b->err[k];
    }
    for (; k < m; k++) {
        s += x[k];
        ts[k] = s;
    }
    for (int j = both; j < b->pending; j++) comp += b->err[j];
    if (m > 0) {
        const double z = ts[0] - s0;
        b->err[0] = (s0 - (ts[0] - z)) + (x[0] - z);
    }
    for (k = 1; k < m; k++) {
        const double prev = ts[k - 1], t = ts[k];
        const double z = t - prev;
        b->err[k] = (prev - (t - z)) + (x[k] - z);
    }
    b->pending = m;
    b->acc.sum = s;
    b->acc.comp = comp;
}

/* The accumulator, every error added. */
NS_INLINE ns_sum ns_sum_blocks_finish(ns_sum_blocks *b) {
    double comp = b->acc.comp;
    for (int j = 0; j < b->pending; j++) comp += b->err[j];
    b->pending = 0;
    b->acc.comp = comp;
    return b->acc;
}

/* The compensated total so far. */
NS_INLINE double ns_sum_value(const ns_sum *acc) {
    return acc->sum + acc->comp;
}

#endif /* NS_SUM_H */

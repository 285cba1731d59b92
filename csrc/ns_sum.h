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

/* ns_sum_add of x[0], ..., x[m-1] in that order, with the same result bit
 * for bit, faster: the error of each addition is computed by Knuth's
 * branch-free TwoSum instead of Neumaier's test of which operand is larger.
 * Both give the exact rounding error s + x - fl(s + x) of a finite sum
 * (Fast2Sum is exact when |s| >= |x|, TwoSum always), so comp receives the
 * same values in the same order; a zero error of either sign leaves comp
 * unchanged (comp starts at +0 and a round-to-nearest sum is never -0
 * unless both operands are), and a sum that overflows leaves sum or comp
 * non-finite under both.  The running values stay in registers. */
NS_INLINE void ns_sum_add_block(ns_sum *acc, const double *x, int m) {
    double s = acc->sum, comp = acc->comp;
    for (int k = 0; k < m; k++) {
        const double t = s + x[k];
        const double z = t - s;
        comp += (s - (t - z)) + (x[k] - z);
        s = t;
    }
    acc->sum = s;
    acc->comp = comp;
}

/* The compensated total so far. */
NS_INLINE double ns_sum_value(const ns_sum *acc) {
    return acc->sum + acc->comp;
}

#endif /* NS_SUM_H */

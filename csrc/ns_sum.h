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

/* The compensated total so far. */
NS_INLINE double ns_sum_value(const ns_sum *acc) {
    return acc->sum + acc->comp;
}

#endif /* NS_SUM_H */

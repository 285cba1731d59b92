/*
 * ns_scored.h -- scored candidate pools ("dynamic negative sampling",
 * Zhang, Chen, Wang & Yu 2013, "Optimizing top-n collaborative filtering
 * via dynamically sampling"): each row brings a pool of candidate ids
 * (drawn by ns_negative_sample from the row's exclusion-aware law) and a
 * query vector; every candidate c is scored by the dot product
 * query . items[c], gathered row by row (no rows x pool x dim array), and
 * k candidates are kept:
 *   - top k (inv_temperature == 0): the k best scores, ties to the lower id;
 *   - Gumbel top-k (inv_temperature > 0): key = score * inv_temperature + G
 *     with G a standard Gumbel variate, the k largest keys kept: k draws
 *     without replacement with P proportional to exp(score / t) among the
 *     pool's candidates (Vieira 2014; Kool, van Hoof & Welling 2019,
 *     "Stochastic beams and where to find them").
 *
 * Candidates are distinct ids: an id drawn several times into a pool (pools
 * drawn with replacement) is one candidate, scored once, with one weight
 * exp(score / t), never kept twice.  A row whose pool holds d < k distinct
 * ids fills its k slots with those d in order, then again from the first
 * (slot j holds slot j mod d).  Output rows are best first (top k) or in
 * the order of the successive draws (Gumbel top-k: decreasing key).
 *
 * Dot products are accumulated in float64 (eight partial sums in a fixed
 * order, products of float32 inputs exact in float64) and then rounded to
 * the vectors' type; that rounded score is what is compared and returned.
 * The order of the partial sums never depends on the CPU or the thread
 * count: the AVX2 + FMA and AVX-512 kernels compute the same sums (the
 * products of float32 inputs are exact in float64, so that a fused
 * multiply-add rounds once, as the scalar sum does; float64 products are
 * rounded before they are added, in every kernel).
 *
 * Gumbel noise: output rows are cut into blocks of NS_SCORED_BLOCK_ROWS,
 * block b draws from stream (k0, k1, b) (ns_rng.h) one 64-bit seed per row,
 * and the noise of candidate c in that row is a function of (seed, c) (the
 * SplitMix64 output of index c): a duplicate drawn again gets the same key
 * and the noise of a candidate does not depend on k, on the order of the
 * pool or on the thread count.  The caller passes a key of its own for the
 * noise, so that it is independent of the pool's draws.
 */
#ifndef NS_SCORED_H
#define NS_SCORED_H

#include <stdint.h>

#include "ns_common.h"
#include "ns_pool.h"

/* Output rows per noise block: fixed, so the output does not depend on the
 * thread count. */
#define NS_SCORED_BLOCK_ROWS 128

/* Dot-product kernels (ns_scored_args.kernel): all compute the same sums
 * (see above), so the output never depends on the kernel. */
#define NS_SCORED_KERNEL_AUTO 0   /* the best available */
#define NS_SCORED_KERNEL_SCALAR 1 /* C99, every CPU */
#define NS_SCORED_KERNEL_AVX2 2   /* x86 AVX2 + FMA */
#define NS_SCORED_KERNEL_AVX512 3 /* x86 AVX-512F (+ AVX2, FMA) */

typedef struct {
    /* pool[r * pool_size + j]: candidate j of row r, in [0, n_items). */
    const int64_t *pool;
    /* NULL, or the log q of each pool entry (same layout), copied to
     * out_log_q for the entries kept. */
    const double *pool_log_q;
    int64_t n_rows, pool_size;
    /* Kept per row: 0 <= k <= pool_size. */
    int64_t k;
    int64_t n_items, dim; /* dim >= 1 */
    /* Row strides (>= 0), in elements, of the queries (n_rows rows) and of
     * the item vectors (n_items rows); each row's dim elements are
     * contiguous (rows may overlap: they are only read). */
    int64_t query_ld, item_ld;
    /* 1: every pool holds distinct ids (drawn without replacement), so no
     * duplicate is looked for; 0: duplicates are merged. */
    int distinct;
    /* 0: top k; > 0 (finite): Gumbel top-k with this 1 / temperature. */
    double inv_temperature;
    uint64_t k0, k1; /* the noise key (inv_temperature > 0) */
    /* NS_SCORED_KERNEL_*: AUTO, or one for which
     * ns_scored_kernel_available is 1 (else NS_ERR_VALUE). */
    int kernel;
    int64_t *out_ids;  /* n_rows * k */
    double *out_log_q; /* n_rows * k, written when pool_log_q is not NULL */
} ns_scored_args;

/* 1 when `kernel` (NS_SCORED_KERNEL_SCALAR, _AVX2, _AVX512) runs on this
 * CPU and build, else 0 (AUTO included). */
int ns_scored_kernel_available(int kernel);

/* The kernel AUTO stands for: the widest available. */
int ns_scored_best_kernel(void);

/* Scores the pools of args->n_rows rows with float32 vectors (queries:
 * n_rows rows, items: n_items rows, each of dim values) and writes k ids
 * per row into args->out_ids and their scores into out_scores (n_rows * k,
 * row-major), and the log q of the pool entries kept into args->out_log_q
 * when args->pool_log_q is not NULL.  Blocks of rows run on par's threads;
 * each participant allocates k heap entries, dim doubles, about 6 g + 2
 * pool_size doubles for a group of g candidates (g = max(pool_size, 2048)
 * at most) and, for pools with duplicates and k > 16, g bytes and a hash
 * set of at most 8 pool_size int64.  Returns NS_OK, NS_ERR_ALLOC, or
 * NS_ERR_VALUE for bad sizes, a kernel not available, an id out of range
 * or a score that is NaN or infinite (a vector that is not finite, or a
 * product beyond the type's range); outputs are then unspecified. */
int ns_scored_select_f32(const ns_scored_args *args, const float *queries,
                         const float *items, float *out_scores,
                         const ns_par *par);

/* The same with float64 vectors and scores. */
int ns_scored_select_f64(const ns_scored_args *args, const double *queries,
                         const double *items, double *out_scores,
                         const ns_par *par);

#endif /* NS_SCORED_H */

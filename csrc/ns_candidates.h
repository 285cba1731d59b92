/*
 * ns_candidates.h -- the kernels of sampled-softmax candidate sampling
 * (negsamp/candidates.py): closed-form draws (uniform, log-uniform),
 * deduplication of the tries, and accidental hits against per-row
 * positives.
 *
 * Log-uniform (Zipfian) law over [0, n), the base law of TensorFlow's
 * log_uniform_candidate_sampler:
 *     p(i) = log((i + 2) / (i + 1)) / log(n + 1).
 * Its CDF is F(i) = log(i + 2) / log(n + 1), so i = floor(exp(u log(n + 1)))
 * - 1 for u uniform in [0, 1) (inverse CDF), as TensorFlow draws it.  u
 * has 53 bits, so each boundary F(i) is resolved to 2^-53, and exp and
 * log1p add an ulp or two (relative to x = exp(u log(n + 1)), i.e. a
 * shift of about 2^-52 / log(n + 1) in u): every p(i) is drawn within a
 * few units of 2^-53 (absolute).
 */
#ifndef NS_CANDIDATES_H
#define NS_CANDIDATES_H

#include <stdint.h>

#include "ns_common.h"
#include "ns_pool.h"

/* Laws of ns_candidates_draw. */
#define NS_CANDIDATES_UNIFORM 0
#define NS_CANDIDATES_LOG_UNIFORM 1

/* Draws per RNG block: block b uses stream (k0, k1, b) (ns_rng.h), so the
 * output never depends on the thread count. */
#define NS_CANDIDATES_BLOCK 4096

/* out[0..count) = independent draws from `law` over [0, n) (n >= 1)
 * restricted to the ids not in excluded[0..n_excluded) (sorted, unique, in
 * [0, n); NULL when n_excluded == 0): an excluded draw is redrawn from the
 * same stream (rejection), which gives exactly the law restricted to the
 * other ids, renormalised.  The expected cost is 1 / (1 - excluded mass)
 * draws per output: callers keep that mass small (candidates.py switches
 * to an alias table of the complement above 15/16).  NS_ERR_VALUE for a bad
 * law or size, NS_ERR_EMPTY when every id is excluded. */
int ns_candidates_draw(int law, int64_t n, const int64_t *excluded,
                       int64_t n_excluded, uint64_t k0, uint64_t k1,
                       int64_t *out, int64_t count, const ns_par *par);

/* The distinct values of values[0..count) (each >= 0) in order of first
 * appearance, into out[0..*n_unique).  slots: caller scratch of 2^bits
 * int64 with 2^bits > count (open addressing, linear probing; filled here).
 * O(count) expected.  NS_ERR_VALUE for a negative value or too few slots. */
int ns_candidates_unique(const int64_t *values, int64_t count, int64_t *slots,
                         int bits, int64_t *out, int64_t *n_unique);

/* Accidental hits.  Batch row b's positives are the sorted unique
 * indices[indptr[rows[b]] .. indptr[rows[b] + 1]); its candidates are
 * candidates[b * stride .. b * stride + n_candidates) with stride 0 (one
 * shared row) or n_candidates (one row each).  Writes mask[b * n_candidates
 * + j] = 1 when candidate j of row b is a positive of row b, else 0, and
 * counts[b] = the number of ones of row b.
 *
 * Per row, the cheaper of two searches (ns_search.h, branch-free):
 *   - each candidate in the row's P positives: O(C log P);
 *   - with shared candidates and sorted_values / sorted_positions given
 *     (the candidates sorted, and the column of each), each positive in the
 *     sorted candidates, marking every column that holds it: O(P log C + C).
 * Rows are cut into chunks run on par's threads.  Ids are not checked here
 * (rows in range, positives sorted: the caller's job). */
int ns_candidates_hits_mask(const int64_t *indptr, const int64_t *indices,
                            const int64_t *rows, int64_t n_batch,
                            const int64_t *candidates, int64_t n_candidates,
                            int64_t stride, const int64_t *sorted_values,
                            const int64_t *sorted_positions, uint8_t *mask,
                            int64_t *counts, const ns_par *par);

/* The hits of mask (n_batch, n_candidates) as (row, column) pairs in row
 * then column order: row b's hits go to out_rows / out_cols [offsets[b] ..
 * offsets[b + 1]) (offsets: the running sum of the counts of
 * ns_candidates_hits_mask, n_batch + 1 entries; rows must fit int32).
 * NS_ERR_VALUE when a row holds fewer hits than its offsets say. */
int ns_candidates_hits_pairs(const uint8_t *mask, int64_t n_batch,
                             int64_t n_candidates, const int64_t *offsets,
                             int32_t *out_rows, int64_t *out_cols,
                             const ns_par *par);

#endif /* NS_CANDIDATES_H */

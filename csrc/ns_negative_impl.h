/*
 * ns_negative_impl.h -- internal to the ns_negative*.c files (not an API:
 * it is shipped with the other headers only because setup.py copies them
 * all).  One output row's view of the law, the tuning constants the row
 * kernels share, and the row kernels that ns_negative_sample.c calls:
 *   ns_negative_uniform.c   uniform base law;
 *   ns_negative_weighted.c  alias-table base law, with and without
 *                           replacement.
 */
#ifndef NS_NEGATIVE_IMPL_H
#define NS_NEGATIVE_IMPL_H

#include <stdint.h>

#include "ns_alias.h"
#include "ns_bloom.h"
#include "ns_negative.h"
#include "ns_rng.h"
#include "ns_search.h"

/* Rejections in a row of one draw before it switches to inversion (only
 * reached when the positives hold nearly all the mass, or the chosen items
 * do without replacement). */
#define NS_NEG_MAX_REJECT 32

/* Candidates drawn ahead (software pipelining): the alias columns of up to
 * this many draws, over several rows, are drawn and prefetched before the
 * first of those rows is resolved, so that table misses overlap. */
#define NS_NEG_PIPE 256

/* One exclusion row as the row kernels see it. */
typedef struct {
    const int64_t *ids; /* the row's positives, sorted and unique */
    int64_t m;          /* how many */
    /* The row's complement table (NULL: none): comp holds the n_items - m
     * eligible ids, and for a weighted law comp_table their alias table. */
    const int64_t *comp;
    const ns_alias_entry *comp_table;
    /* Precomputed Bloom filter of ids (NULL: none or m too large). */
    const uint64_t *filter;
    /* Weighted only: pre[j] = mass of ids[0..j), mass = mass of all m. */
    const double *pre;
    double mass;
} ns_neg_row;

/* Uniform base law: k draws of one row into dst[0..k), and when lq is not
 * NULL their log q.  Without replacement scratch holds k int64.
 * NS_ERR_EXHAUSTED when the row has too few eligible items. */
int ns_neg_row_uniform(const ns_negative_law *law, const ns_neg_row *row,
                       int64_t k, int replace, ns_rng_t *rng, int64_t *dst,
                       double *lq, int64_t *scratch);

/* Weighted base law, with replacement: k draws of one row into dst[0..k).
 * pipe_cols/pipe_coins (NULL: none) are the k alias columns and coins drawn
 * ahead by the caller when the row uses rejection from the base table
 * (ns_neg_uses_base_rejection).  A draw of -1 means "no eligible mass". */
void ns_neg_row_weighted_replace(const ns_negative_law *law,
                                 const ns_neg_row *row, int64_t k,
                                 const uint64_t *pipe_cols,
                                 const uint32_t *pipe_coins, ns_rng_t *rng,
                                 int64_t *dst);

/* Weighted base law, without replacement: k distinct draws into dst[0..k)
 * in draw order.  chosen, hole_at, hole_len: k slots each of scratch. */
void ns_neg_row_weighted_distinct(const ns_negative_law *law,
                                  const ns_neg_row *row, int64_t k,
                                  ns_rng_t *rng, int64_t *dst,
                                  int64_t *chosen, double *hole_at,
                                  double *hole_len);

/* 1 when a weighted row with replacement is drawn by rejection from the
 * base table (see ns_neg_row_weighted_replace). */
NS_INLINE int ns_neg_uses_base_rejection(const ns_negative_law *law,
                                         int64_t r) {
    if (law->comp_ptr && law->comp_ptr[r + 1] > law->comp_ptr[r]) return 0;
    const double total = law->cum[law->n_items];
    return total - law->row_mass[r] >= NS_NEGATIVE_REJECT_MIN * total;
}

#endif /* NS_NEGATIVE_IMPL_H */

/*
 * ns_negative.h -- k negatives per row from a base law (uniform or an alias
 * table) restricted to the items NOT in the row's exclusion list (sorted CSR
 * positives, see ns_csr.h) and renormalised.
 *
 * Methods, per output row r with positives ids[0..m) and eligible mass E_r
 * (each exact for the renormalised law; the choice depends only on the row,
 * never on the values drawn):
 *   - complement table (optional, built by ns_negative_complement_build for
 *     rows excluding most items or most mass): the eligible ids, and for a
 *     weighted law an alias table of their masses: O(1) per draw.
 *   - uniform base, short row with a precomputed Bloom filter (Bloom 1970,
 *     one cache line per row): rejection, the filter answering "not a
 *     positive" for about 97% of candidates without a search.
 *   - uniform base otherwise: inversion over the complement.  The j-th
 *     non-positive item is j + #{i : ids[i] - i <= j} (ids[i] - i is
 *     non-decreasing): one branch-free binary search, for every density.
 *   - weighted base, positives holding < 60% of the mass: rejection from
 *     the alias table against the sorted positives (filter first), expected
 *     1 / (1 - P_r) candidates.  The alias columns of the next rows' draws
 *     are drawn and prefetched before the current row is resolved, so table
 *     misses overlap.
 *   - weighted base, positives holding most of the mass and no complement
 *     table: inversion of the cumulative law over the complement,
 *     O(log m + log n) per draw.  With S_j the mass of ids[0..j), the
 *     eligible mass before ids[j] is cum[ids[j]] - S_j (non-decreasing in
 *     j): a search over the positives finds the gap, one over cum[] the item.
 *   - without replacement: successive draws, each from the law restricted to
 *     the positives and the items already chosen: rejection while the mass
 *     left is large, else inversion after mapping a uniform point of the
 *     mass left past the chosen items ("skipping the holes"), so the cost
 *     stays bounded whatever mass the chosen items hold.
 * Rounding guards: an inversion that lands on an excluded or zero-mass item
 * (float64 edge cases) is redrawn; after NS_NEGATIVE_MAX_RETRY such events,
 * or when the mass left is below 2^-24 of the total (cum[] cannot resolve
 * it), the draw is an O(n) exact scan, so no row can loop for long or fail.
 */
#ifndef NS_NEGATIVE_H
#define NS_NEGATIVE_H

#include <stdint.h>

#include "ns_alias.h"
#include "ns_bloom.h"
#include "ns_common.h"
#include "ns_pool.h"

/* Output rows per RNG block (see ns_rng.h): fixed, so the output does not
 * depend on the thread count. */
#define NS_NEGATIVE_BLOCK_ROWS 128

/* Weighted rows use rejection while the eligible share of the mass is at
 * least this; inversion below it (rejection then needs > 2.5 draws each). */
#define NS_NEGATIVE_REJECT_MIN 0.4

/* Rounding-edge redraws of one draw before the O(n) exact fallback. */
#define NS_NEGATIVE_MAX_RETRY 64

typedef struct {
    int64_t n_items;
    /* Weighted base law (all NULL for the uniform law over n_items):
     * table: the alias table; prob: its exact law (ns_alias_probabilities);
     * cum: n_items + 1 cumulative sums of prob (cum[0] = 0). */
    const ns_alias_entry *table;
    const double *prob;
    const double *cum;
    /* Exclusion lists: row r is indices[indptr[r] .. indptr[r + 1]),
     * sorted, unique, in [0, n_items). */
    const int64_t *indptr;
    const int64_t *indices;
    int64_t n_rows;
    /* Weighted only (from ns_negative_row_stats): row_mass[r] = P_r, the
     * mass of row r's ids; prefix[j] = mass of the ids of j's row before
     * entry j (per CSR entry). */
    const double *row_mass;
    const double *prefix;
    /* Optional complement tables (NULL: none), for rows where a search over
     * the positives would be slow (most items or most mass excluded): row r
     * has one when comp_ptr[r + 1] > comp_ptr[r]; its eligible items are
     * comp_ids[comp_ptr[r] .. comp_ptr[r + 1]) (all n_items - m of them,
     * sorted), and for a weighted law comp_table holds an alias table of
     * their masses at the same offsets: O(1) draws. */
    const int64_t *comp_ptr;
    const int64_t *comp_ids;
    const ns_alias_entry *comp_table;
    /* Weighted, optional: the eligible mass of each row as precisely as
     * known (for log q); NULL: cum[n_items] - row_mass[r]. */
    const double *row_eligible;
    /* Optional (NULL: none): per row, a 512-bit Bloom filter of its ids
     * (NS_NEGATIVE_BLOOM_WORDS words, from ns_negative_bloom_build), used
     * for rows of at most NS_NEGATIVE_BLOOM_MAX ids. */
    const uint64_t *bloom;
} ns_negative_law;

/* The filters of ns_bloom.h: one cache line each, used for rows of at most
 * NS_NEGATIVE_BLOOM_MAX ids. */
#define NS_NEGATIVE_BLOOM_WORDS NS_BLOOM_WORDS
#define NS_NEGATIVE_BLOOM_MAX NS_BLOOM_MAX_IDS

/* Fills bloom[n_rows * NS_NEGATIVE_BLOOM_WORDS] with the filters of the
 * rows (every row; the kernel ignores those of rows longer than
 * NS_NEGATIVE_BLOOM_MAX). */
int ns_negative_bloom_build(const int64_t *indptr, const int64_t *indices,
                            int64_t n_rows, uint64_t *bloom, const ns_par *par);

/* cum[0] = 0, cum[i + 1] = prob[0] + ... + prob[i], each the rounding of a
 * compensated (Neumaier) running sum, so that cum[n] is the sum to within
 * one rounding. */
int ns_negative_cumulative(const double *prob, int64_t n, double *cum);

/* Per-row statistics of exclusion lists under the law prob[0..n):
 * row_mass[r] (compensated sum), row_nonzero[r] (ids with prob > 0) and
 * prefix[j] (see ns_negative_law).  Rows run on par's threads. */
int ns_negative_row_stats(const double *prob, int64_t n_items,
                          const int64_t *indptr, const int64_t *indices,
                          int64_t n_rows, double *row_mass,
                          int64_t *row_nonzero, double *prefix,
                          const ns_par *par);

/* Fills the complement tables of every row r with comp_ptr[r + 1] >
 * comp_ptr[r] (that size must be n_items - m_r, else NS_ERR_VALUE):
 * comp_ids, and when prob is not NULL comp_table (alias tables of
 * prob[comp_ids]; NS_ERR_EMPTY when a row's complement has no mass) and
 * row_eligible[r] (compensated sum of prob[comp_ids], when not NULL).
 * Allocates 16 bytes per complement item of scratch per row being built.
 * Rows run on par's threads. */
int ns_negative_complement_build(int64_t n_items, const double *prob,
                                 const int64_t *indptr,
                                 const int64_t *indices, int64_t n_rows,
                                 const int64_t *comp_ptr, int64_t *comp_ids,
                                 ns_alias_entry *comp_table,
                                 double *row_eligible, const ns_par *par);

/* Draws k negatives for each of rows[0..n_out) (ids into the exclusion
 * lists) into out[n_out * k] (row-major), and when log_q is not NULL the
 * log-probability of each under its row's renormalised law.  replace = 0
 * gives k distinct items per row in draw order.  Output rows are cut into
 * blocks of NS_NEGATIVE_BLOCK_ROWS; with keys NULL block b uses stream
 * (k0, k1, b); with keys (n_out non-negative int64) output row o uses its
 * own keyed stream (ns_rng_seed_keyed(k0, k1, keys[o])), so that row o
 * depends only on (k0, k1, keys[o]) and its exclusion row, never on the
 * other rows, their order, n_out or the thread count.
 * The caller must have checked that every row has an eligible item (k of
 * them when replace = 0); a row without returns NS_ERR_EXHAUSTED.  Without
 * replacement the kernel allocates 3 k int64/double of scratch per block,
 * and with keys, a weighted law, replacement and k <= 256 it allocates 256
 * RNG states per block (NS_ERR_ALLOC if either fails). */
int ns_negative_sample(const ns_negative_law *law, const int64_t *rows,
                       int64_t n_out, int64_t k, int replace, uint64_t k0,
                       uint64_t k1, const int64_t *keys, const ns_par *par,
                       int64_t *out, double *log_q);

/* ns_negative_sample writing tuples: output row o is a (k, width) block of
 * out (out + o * k * width), each of its k tuples a copy of tmpl[o * width
 * .. (o + 1) * width) whose column `col` holds the negative drawn.  The
 * draws (same per-row code, same RNG blocks) equal those of
 * ns_negative_sample; writing them in place saves the (n_out, k) array and
 * a second pass over the output (corrupted knowledge-graph triples).  No
 * log q.  Allocates k int64 of scratch per block.  Triples outputs of
 * 16 MB or more are written with streaming stores on x86-64 (fenced before
 * return). */
int ns_negative_sample_tuples(const ns_negative_law *law, const int64_t *rows,
                              int64_t n_out, int64_t k, int replace,
                              uint64_t k0, uint64_t k1, const int64_t *keys,
                              const ns_par *par, const int64_t *tmpl,
                              int64_t width, int64_t col, int64_t *out);

#endif /* NS_NEGATIVE_H */

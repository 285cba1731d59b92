/*
 * ns_topk.h -- exact per-row top-k selection merged tile by tile, with
 * per-row exclusion lists, score windows and Gumbel top-k sampling.
 *
 * The caller computes a score tile (rows = queries, columns = consecutive
 * candidate ids) and merges it into one bounded heap per row; tiles of one
 * row must come in increasing candidate order.  This is how faiss keeps an
 * exact k-NN search over a GEMM in bounded memory (faiss/utils/distances.cpp,
 * ResultHandler.h): the heap root is the current k-th best, so most
 * candidates cost one comparison, and exclusion lists and windows are tested
 * only for candidates that beat the root.
 *
 * Order ("better"): a larger key first; on equal keys the lower id first.
 * The key is the score (largest != 0), minus the score (largest == 0), or,
 * when sampling, sign * score / t + G with G a standard Gumbel variate:
 * the k largest perturbed keys are k draws without replacement with
 * P proportional to exp(sign * score / t) (Gumbel top-k; Vieira 2014,
 * Kool, van Hoof & Welling 2019, "Stochastic beams and where to find them").
 *
 * Ties: candidates arrive in increasing id order, so a candidate whose key
 * equals the root's is worse than it and is rejected by the single strict
 * comparison; the result equals a stable sort by (key desc, id asc).
 *
 * Cost: once a heap is full, 16 scores at a time are tested against the
 * root (and, with finite_only, the valid range) with SSE2 or AVX2 compares,
 * about 0.08 ns per score from the last-level cache; only the positions
 * whose bit is set are visited.  Exact float32 heaps of ids below 2^32 are
 * packed, one uint64 an entry (st->packed), so a heap step is one integer
 * comparison.  When
 * sampling, each score costs one draw and usually a bound test or one exp
 * (the two logarithms of G are taken only for candidates that may enter).
 */
#ifndef NS_TOPK_H
#define NS_TOPK_H

#include <stdint.h>
#include "ns_common.h"
#include "ns_pool.h"
#include "ns_rng.h"

typedef struct {
    int64_t n_rows;   /* B */
    int64_t capacity; /* heap size per row: k + skip_top (>= 1) */
    double *keys;     /* n_rows * capacity heap keys (root = worst kept) */
    double *scores;   /* n_rows * capacity raw scores of the kept ids */
    int64_t *ids;     /* n_rows * capacity */
    int64_t *sizes;   /* n_rows: entries in each heap */
    /* Optional (NULL = none): sorted unique excluded ids of row r are
     * excl_indices[excl_indptr[r] .. excl_indptr[r + 1]). */
    const int64_t *excl_indptr;
    const int64_t *excl_indices;
    const double *upper; /* n_rows upper bounds (s <= upper[r]) or NULL */
    double lower;        /* s >= lower (-inf = none) */
    int largest;         /* 1: largest scores first; 0: smallest first */
    /* 0: only a NaN score is an error (NS_ERR_VALUE).  1: an infinite
     * score is one too: scores of finite embeddings are finite unless a
     * candidate is not finite or a product overflowed, so the caller need
     * not check the candidates itself. */
    int finite_only;
    /* 0: exact top-k.  > 0: Gumbel top-k with key sign * s * inv_t + G; the
     * Gumbel variate of (row r, candidate j) is the j-th draw of stream
     * rngs[r] (seeded from (key, r)), so it depends on neither the tiling
     * nor the thread count.  Candidates with key -inf (probability 0) are
     * never kept. */
    double inv_temperature;
    ns_rng_t *rngs; /* n_rows streams, needed when inv_temperature > 0 */
    /* NULL, or n_rows * capacity packed heap entries used instead of
     * keys / scores / ids: float32 tiles only (merge_f32, finish_f32), no
     * temperature, candidate ids below 2^32.  Same results, faster heaps. */
    uint64_t *packed;
    /* 0: the float32 scan uses its baseline-ISA (SSE2) chunk test even when
     * the CPU has AVX2 (a test hook: both give the same result). */
    int allow_simd;
} ns_topk_t;

/* Empties every heap and, when st->rngs is set, seeds rngs[r] with stream
 * (k0, k1, r), or with keys (n_rows non-negative int64) with the keyed
 * stream ns_rng_seed_keyed(k0, k1, keys[r]). */
int ns_topk_reset(ns_topk_t *st, uint64_t k0, uint64_t k1, const int64_t *keys);

/* Merges the tile rows row0 .. row0 + n_rows - 1 (row i at tile + i * ld,
 * n_cols scores of candidates col0 .. col0 + n_cols - 1) into the heaps.
 * Rows run on par's threads.  Returns NS_ERR_VALUE if a score is NaN (or infinite,
 * with finite_only; the heaps are then unspecified), NS_ERR_VALUE for bad
 * sizes. */
int ns_topk_merge_f32(ns_topk_t *st, const float *tile, int64_t n_rows,
                      int64_t n_cols, int64_t ld, int64_t row0, int64_t col0,
                      const ns_par *par);
int ns_topk_merge_f64(ns_topk_t *st, const double *tile, int64_t n_rows,
                      int64_t n_cols, int64_t ld, int64_t row0, int64_t col0,
                      const ns_par *par);

/* Sorts every heap best first (destroying it), drops the first `skip`
 * entries and writes the next k ids and raw scores per row into
 * out_ids / out_scores (n_rows * k, row-major); missing entries are id -1
 * and score NaN. */
int ns_topk_finish_f32(ns_topk_t *st, int64_t skip, int64_t k, int64_t *out_ids,
                       float *out_scores, const ns_par *par);
int ns_topk_finish_f64(ns_topk_t *st, int64_t skip, int64_t k, int64_t *out_ids,
                       double *out_scores, const ns_par *par);

/* Merges n_parts lists per row, each sorted best first as finish writes
 * them (part p's row r is ids[(p * n_rows + r) * cap ...], cap entries,
 * padded with id -1 and a NaN score), into one: entries skip .. skip + k - 1
 * of the merged order, which is by score (the larger first when largest,
 * else the smaller), then by id (the lower first; -0.0 equals 0.0), padding
 * last, written to out_ids / out_scores (n_rows * k, row-major; missing
 * entries -1 / NaN).  The parts must hold disjoint ids (the tiles of one
 * call split among heaps).  NS_ERR_VALUE for bad sizes. */
int ns_topk_merge_lists_f32(const int64_t *ids, const float *scores, int64_t n_parts,
                            int64_t n_rows, int64_t cap, int largest, int64_t skip,
                            int64_t k, int64_t *out_ids, float *out_scores);
int ns_topk_merge_lists_f64(const int64_t *ids, const double *scores, int64_t n_parts,
                            int64_t n_rows, int64_t cap, int largest, int64_t skip,
                            int64_t k, int64_t *out_ids, double *out_scores);

#endif /* NS_TOPK_H */

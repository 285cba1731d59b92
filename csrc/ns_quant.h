/*
 * ns_quant.h -- exact top-k by inner product through an int8 prefilter
 * (issue 17): queries and candidates are quantised to symmetric int8 with
 * one scale per vector, a tile of int8 products (int32 accumulation) gives
 * every pair an approximate score and a rigorous error bound, and only the
 * pairs whose upper bound can still enter a query's top list are rescored
 * exactly (a compensated float64 dot product of the given float32 vectors).
 *
 * The bound (per pair q, c; s = max|x| / 127, x~ = round(x / s),
 * e = x - s x~ exactly):
 *     q.c - (s_q q~).(s_c c~) = e_q.c + (s_q q~).e_c            (expand c = s_c c~ + e_c)
 *     |q.c - s_q s_c (q~.c~)| <= ||e_q|| ||c|| + ||s_q q~|| ||e_c||   (Cauchy-Schwarz)
 * q~.c~ is an exact integer (int32 accumulation, no overflow for d <=
 * NS_QUANT_MAX_DIM).  Everything else is computed in float64, and the
 * slack ns_quant.c adds (relative to ||q|| ||c|| + |approx| + bound)
 * covers the rounding of those terms and of the rescored scores: see
 * ns_quant.c, "Error budget".
 *
 * Ranking: by the rescored float64 score (the compensated dot product,
 * within 2 ulps of the true inner product unless it cancels by more than
 * 2**50, see ns_quant_dot_exact), ties to the lower id; the
 * heaps keep the `capacity` best (score, id) pairs of each row whatever
 * order the tiles come in.
 *
 * Per tile and query: a pass collects the pairs that pass the tile test
 * (in the VNNI and AMX kernels' epilogue: a bit mask per 32 candidates), then they
 * are rescored by descending upper bound, 4 at a time, until the bound
 * falls below the heap's root.
 *
 * Kernels (chosen at run time, never -march=native): AMX (TDPBSSD tile
 * products, s8 x s8, 32 queries x 32 candidates per step), AVX-512 VNNI
 * (vpdpbusd, queries as u8 = q~ + 128 and a per-candidate correction
 * 128 sum(c~)), AVX2 (vpmaddwd on int16 codes: no saturation), and a
 * portable scalar one.  All give the same int32 products, hence the same
 * results.
 */
#ifndef NS_QUANT_H
#define NS_QUANT_H

#include <stdint.h>

#include "ns_common.h"
#include "ns_pool.h"

#define NS_QUANT_KERNEL_SCALAR 0
#define NS_QUANT_KERNEL_AVX2 1
#define NS_QUANT_KERNEL_VNNI 2
#define NS_QUANT_KERNEL_AMX 3

/* Largest dimension: |sum (q~ + 128) c~| <= d 255 127 must stay below
 * 2**31. */
#define NS_QUANT_MAX_DIM 65536

/* Queries of one row block (the tile products are computed 8 rows at a
 * time, 32 with AMX; query arrays are padded to a multiple of this, of 32
 * with AMX). */
#define NS_QUANT_ROW_BLOCK 8

/* Candidates per packed panel (every kernel's panels are 16 wide; tiles
 * are padded to a multiple of 32). */
#define NS_QUANT_PANEL 16
#define NS_QUANT_COL_PAD 32

/* Best kernel this CPU runs (NS_QUANT_KERNEL_*), and whether it runs one. */
int ns_quant_best_kernel(void);
int ns_quant_kernel_available(int kernel);

/* Dimension padded for the packed layouts (a multiple of 4; the AMX
 * kernel's layouts pad it to a multiple of 64, one tile row of codes). */
static inline int64_t ns_quant_dim_pad(int64_t dim) { return (dim + 3) & ~(int64_t)3; }

/* Bytes of a packed tile of n_pad (multiple of NS_QUANT_COL_PAD)
 * candidates for `kernel`. */
int64_t ns_quant_tile_bytes(int kernel, int64_t n_pad, int64_t dim);

/* One search: the queries (quantised by ns_quant_search_init), the heaps,
 * the exclusions and the window.  Every array is the caller's. */
typedef struct {
    int64_t n_rows, dim, capacity;
    int kernel;
    const float *queries;      /* n_rows x dim, C order */
    /* Filled by ns_quant_search_init: */
    uint8_t *q_packed;         /* rows_pad x dim_pad (u8 for VNNI, int16 for
                                  AVX2, int8 for scalar and AMX),
                                  caller-allocated: ns_quant_query_bytes()
                                  bytes */
    double *q_scale;           /* s_q */
    double *q_norm;            /* ||q|| */
    double *q_err;             /* ||e_q|| */
    double *q_qnorm;           /* ||s_q q~|| */
    /* Heaps: row r holds sizes[r] entries at keys/ids[r * capacity ...],
     * a min-heap whose root is the worst kept entry. */
    double *keys;
    int64_t *ids;
    int64_t *sizes;
    int64_t *rescored;         /* per row: pairs rescored exactly */
    const int64_t *excl_indptr; /* NULL: no exclusions */
    const int64_t *excl_indices;
    /* Window on the float32-rounded score, per row (NULL: unbounded):
     * only candidates with lower[r] <= score <= upper[r] are kept. */
    const double *lower;
    const double *upper;
} ns_quant_search_t;

/* Bytes of st->q_packed for n_rows queries of `dim` with `kernel`. */
int64_t ns_quant_query_bytes(int kernel, int64_t n_rows, int64_t dim);

/* Quantises the queries into st->q_* and empties the heaps.  NS_ERR_VALUE
 * for a non-finite query, a bad kernel or dim outside [1, MAX_DIM]. */
int ns_quant_search_init(ns_quant_search_t *st);

/* Work memory of one tile, the caller's: packed codes
 * (ns_quant_tile_bytes) and five per-candidate arrays of n_pad entries. */
typedef struct {
    int64_t n_pad;
    uint8_t *packed;
    int32_t *csum;        /* 128 sum(c~) (VNNI correction) */
    double *scale, *norm, *err, *qnorm;
} ns_quant_tile_t;

/* Merges candidates col0 .. col0 + n_tile - 1 (rows of `tile`, n_tile x
 * dim, C order) into every query's heap.  Quantises and packs the tile
 * into `work` (work->n_pad >= n_tile rounded up to NS_QUANT_COL_PAD), then
 * runs query blocks in parallel.  Allocates one int32 buffer of
 * NS_QUANT_ROW_BLOCK x n_pad per work chunk (up to 64 x n_pad; 32 x n_pad
 * for AMX, whose chunks are 32 rows; freed before returning).
 * Returns NS_OK, NS_ERR_VALUE when a candidate is not finite or a rescored
 * score overflows float32, NS_ERR_ALLOC, NS_ERR_INTERRUPTED. */
int ns_quant_search_tile(ns_quant_search_t *st, const float *tile,
                         int64_t n_tile, int64_t col0, ns_quant_tile_t *work,
                         const ns_par *par);

/* Sorts each heap best first, then writes entries skip .. skip + k - 1 of
 * each row to out_ids / out_scores (n_rows x k, the scores rounded to
 * float32, negated when `negate`), padding with -1 / NaN. */
int ns_quant_search_finish(ns_quant_search_t *st, int64_t skip, int64_t k,
                           int negate, int64_t *out_ids, float *out_scores);

/* Test hooks: the quantisation of n rows (codes n x dim) with their scale,
 * norm, residual norm and quantised norm, by the copy of `kernel` (every
 * copy gives the same bits; an unavailable kernel runs the scalar one);
 * the int32 products of the quantised rows with `kernel` (out n_q x n_c). */
int ns_quant_rows(int kernel, const float *x, int64_t n, int64_t dim, int8_t *codes,
                  double *scale, double *norm, double *err, double *qnorm);
int ns_quant_products(int kernel, const int8_t *q_codes, int64_t n_q,
                      const int8_t *c_codes, int64_t n_c, int64_t dim,
                      int32_t *out);

/* The compensated dot product of two float32 vectors (Ogita, Rump and
 * Oishi 2005, Dot2 with exact float64 products): within 2 ulps of the true
 * value (plus d**2 2**-106 sum |x_i y_i|).  Every kernel's copy gives the
 * same bits (an unavailable kernel runs the scalar copy). */
double ns_quant_dot_exact(int kernel, const float *x, const float *y, int64_t dim);

/* Test hook: out[i] = ns_quant_dot_exact(kernel, x, rows + cols[i] dim)
 * through the batched copies the search uses (4 pairs at a time). */
int ns_quant_dot_exact_rows(int kernel, const float *x, const float *rows, const int64_t *cols,
                            int64_t n, int64_t dim, double *out);

#endif /* NS_QUANT_H */

#include "ns_topk.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ns_csr.h"

/* The general heap of a row (ns_heap.h): keys, raw scores and ids in three
 * arrays, a min-heap on "worse" whose root is the worst kept entry. */
typedef struct {
    double *keys;
    double *scores;
    int64_t *ids;
} topk_heap;

typedef struct {
    double key, score;
    int64_t id;
} topk_entry;

static inline topk_entry topk_heap_get(topk_heap h, int64_t i) {
    return (topk_entry){.key = h.keys[i], .score = h.scores[i], .id = h.ids[i]};
}

static inline void topk_heap_set(topk_heap h, int64_t i, topk_entry e) {
    h.keys[i] = e.key;
    h.scores[i] = e.score;
    h.ids[i] = e.id;
}

/* a is worse than b: smaller key, or equal key and larger id. */
static inline int topk_heap_before(topk_entry a, topk_entry b) {
    return a.key < b.key || (a.key == b.key && a.id > b.id);
}

#define NS_HEAP_PREFIX topk_heap
#define NS_HEAP_T topk_heap
#define NS_HEAP_ENTRY topk_entry
#include "ns_heap.h"

static inline topk_heap row_heap(const ns_topk_t *st, int64_t r) {
    const int64_t at = r * st->capacity;
    return (topk_heap){
        .keys = st->keys + at, .scores = st->scores + at, .ids = st->ids + at};
}

int ns_topk_reset(ns_topk_t *st, uint64_t k0, uint64_t k1,
                  const int64_t *keys) {
    if (st->n_rows < 0 || st->capacity < 1) return NS_ERR_VALUE;
    /* n_rows * capacity entries must not wrap (the caller allocated them). */
    if (st->n_rows > 0 && st->capacity > (INT64_MAX - 1) / st->n_rows)
        return NS_ERR_VALUE;
    for (int64_t r = 0; r < st->n_rows; r++) {
        st->sizes[r] = 0;
        if (st->rngs && keys) ns_rng_seed_keyed(&st->rngs[r], k0, k1, keys[r]);
        else if (st->rngs) ns_rng_seed(&st->rngs[r], k0, k1, (uint64_t)r);
    }
    return NS_OK;
}

/* Row context: the exclusion list is cut to the ids of this tile once, so
 * each lookup is a short binary search. */
typedef struct {
    const int64_t *ex;
    int64_t ex_len;
    double upper, lower;
} row_filter;

NS_INLINE row_filter row_filter_of(const ns_topk_t *st, int64_t r, int64_t col0,
                                   int64_t n_cols) {
    row_filter f = {
        .ex = NULL, .ex_len = 0, .upper = INFINITY, .lower = st->lower};
    if (st->upper) f.upper = st->upper[r];
    if (st->excl_indptr) {
        const int64_t *ex = st->excl_indices + st->excl_indptr[r];
        const int64_t len = st->excl_indptr[r + 1] - st->excl_indptr[r];
        const int64_t a = ns_csr_lower_bound(ex, len, col0);
        const int64_t b = ns_csr_lower_bound(ex, len, col0 + n_cols);
        f.ex = ex + a;
        f.ex_len = b - a;
    }
    return f;
}

NS_INLINE int eligible(const row_filter *f, double s, int64_t id) {
    return s <= f->upper && s >= f->lower &&
           !(f->ex_len && ns_csr_contains(f->ex, f->ex_len, id));
}

/* Chunk of the fast scan: one branch-free "does any score beat the
 * threshold, or fall outside the valid range?" test per 16 scores; almost
 * always false once the heap holds good candidates, so the loop streams
 * through the tile.  SSE2 (part of x86-64) when available, and an AVX2 twin
 * picked at run time: compilers do not vectorise this test by themselves.
 * "Not less-or-equal" / "not greater-or-equal" are also true for NaN. */
#define NS_TOPK_CHUNK 16

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define NS_TOPK_SSE2 1
#endif

/* Bit i set if row[i] (i < 16) is NaN, or (largest) > thr or < bound, or
 * (smallest) < thr or > bound.  bound is -big (largest) or big (smallest),
 * big = the largest valid magnitude (infinity unless st->finite_only).  The
 * merge visits only the set bits. */
NS_INLINE unsigned chunk_mask_f32(const float *row, float thr, float bound,
                                  int largest) {
#ifdef NS_TOPK_SSE2
    const __m128 t = _mm_set1_ps(thr), lim = _mm_set1_ps(bound);
    unsigned mask = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i += 4) {
        const __m128 x = _mm_loadu_ps(row + i);
        const __m128 m =
            largest ? _mm_or_ps(_mm_cmpnle_ps(x, t), _mm_cmpnge_ps(x, lim))
                    : _mm_or_ps(_mm_cmpnge_ps(x, t), _mm_cmpnle_ps(x, lim));
        mask |= (unsigned)_mm_movemask_ps(m) << i;
    }
    return mask;
#else
    unsigned mask = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i++)
        mask |= (unsigned)(largest ? !(row[i] <= thr) | !(row[i] >= bound)
                                   : !(row[i] >= thr) | !(row[i] <= bound))
                << i;
    return mask;
#endif
}

NS_INLINE unsigned chunk_mask_f64(const double *row, double thr, double bound,
                                  int largest) {
#ifdef NS_TOPK_SSE2
    const __m128d t = _mm_set1_pd(thr), lim = _mm_set1_pd(bound);
    unsigned mask = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i += 2) {
        const __m128d x = _mm_loadu_pd(row + i);
        const __m128d m =
            largest ? _mm_or_pd(_mm_cmpnle_pd(x, t), _mm_cmpnge_pd(x, lim))
                    : _mm_or_pd(_mm_cmpnge_pd(x, t), _mm_cmpnle_pd(x, lim));
        mask |= (unsigned)_mm_movemask_pd(m) << i;
    }
    return mask;
#else
    unsigned mask = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i++)
        mask |= (unsigned)(largest ? !(row[i] <= thr) | !(row[i] >= bound)
                                   : !(row[i] >= thr) | !(row[i] <= bound))
                << i;
    return mask;
#endif
}

#if NS_AVX2_CLONES
#include <immintrin.h>
/* chunk_mask_f32 with 8-float compares; NLE/NGE_UQ are true for NaN, as
 * the SSE2 compares are. */
NS_TARGET_AVX2 static inline unsigned
chunk_mask_f32_avx2(const float *row, float thr, float bound, int largest) {
    const __m256 t = _mm256_set1_ps(thr), lim = _mm256_set1_ps(bound);
    const __m256 a = _mm256_loadu_ps(row), b = _mm256_loadu_ps(row + 8);
    __m256 ma, mb;
    if (largest) {
        ma = _mm256_or_ps(_mm256_cmp_ps(a, t, _CMP_NLE_UQ),
                          _mm256_cmp_ps(a, lim, _CMP_NGE_UQ));
        mb = _mm256_or_ps(_mm256_cmp_ps(b, t, _CMP_NLE_UQ),
                          _mm256_cmp_ps(b, lim, _CMP_NGE_UQ));
    } else {
        ma = _mm256_or_ps(_mm256_cmp_ps(a, t, _CMP_NGE_UQ),
                          _mm256_cmp_ps(a, lim, _CMP_NLE_UQ));
        mb = _mm256_or_ps(_mm256_cmp_ps(b, t, _CMP_NGE_UQ),
                          _mm256_cmp_ps(b, lim, _CMP_NLE_UQ));
    }
    return (unsigned)_mm256_movemask_ps(ma) |
           ((unsigned)_mm256_movemask_ps(mb) << 8);
}
#endif

/* Index of the lowest set bit of x != 0. */
NS_INLINE int lowest_bit(unsigned x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(x);
#elif defined(_MSC_VER)
    unsigned long i;
    _BitScanForward(&i, x);
    return (int)i;
#else
    int i = 0;
    while (!(x & 1u)) {
        x >>= 1;
        i++;
    }
    return i;
#endif
}

/* The positions to visit of a short last chunk (len < NS_TOPK_CHUNK): all;
 * a full chunk visits the set bits of its chunk test. */
NS_INLINE unsigned tail_mask(int64_t len) {
    return 0xFFFFu >> (NS_TOPK_CHUNK - len);
}

/* A score the merge refuses: NaN, or beyond +-big. */
#define NS_TOPK_INVALID(v, big) (!((v) >= -(big) && (v) <= (big)))

#define NS_MERGE_NAME merge_row_f32
#define NS_MERGE_ATTR
#define NS_MERGE_T float
#define NS_MERGE_TMAX FLT_MAX
#define NS_MERGE_MASK chunk_mask_f32
#include "ns_topk_merge.inc"

#define NS_MERGE_NAME merge_row_f64
#define NS_MERGE_ATTR
#define NS_MERGE_T double
#define NS_MERGE_TMAX DBL_MAX
#define NS_MERGE_MASK chunk_mask_f64
#include "ns_topk_merge.inc"

#if NS_AVX2_CLONES
#define NS_MERGE_NAME merge_row_f32_avx2
#define NS_MERGE_ATTR NS_TARGET_AVX2
#define NS_MERGE_T float
#define NS_MERGE_TMAX FLT_MAX
#define NS_MERGE_MASK chunk_mask_f32_avx2
#include "ns_topk_merge.inc"
#else
#define merge_row_f32_avx2 merge_row_f32
#endif

/* Sorts row r's general heap best first (destroying it) and writes entries
 * skip .. skip + k - 1: ids to out_ids, scores to out32 (float32 output) or
 * else out64. */
static void finish_row(ns_topk_t *st, int64_t r, int64_t skip, int64_t k,
                       int64_t *out_ids, float *out32, double *out64) {
    const topk_heap heap = row_heap(st, r);
    const int64_t size = st->sizes[r];
    topk_heap_sort(heap, size);
    st->sizes[r] = 0;
    for (int64_t i = 0; i < k; i++) {
        const int64_t src = skip + i;
        out_ids[i] = src < size ? heap.ids[src] : -1;
        const double score = src < size ? heap.scores[src] : NAN;
        if (out32) out32[i] = (float)score;
        else out64[i] = score;
    }
}

/* Packed heaps (st->packed): exact top-k of float32 scores with ids below
 * 2^32.  An entry is one uint64 whose order is the "better" order: the
 * score's bits made monotone (sign flipped, or all bits for negatives;
 * complemented for smallest-first) above the complemented id (lower id =
 * better on equal scores).  A heap step is then one integer comparison and
 * one move, where the general heap compares a double, breaks ties on ids and
 * moves three arrays.  -0.0 is stored as +0.0: they are equal scores. */
NS_INLINE uint64_t packed_key(float v, int64_t id, int largest) {
    uint32_t b;
    v += 0.0f; /* -0.0 -> +0.0 */
    memcpy(&b, &v, sizeof b);
    uint32_t ord = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    if (!largest) ord = ~ord;
    const uint32_t id_rank = ~(uint32_t)id; /* lower id = larger rank */
    return ((uint64_t)ord << 32) | id_rank;
}

NS_INLINE float packed_score(uint64_t key, int largest) {
    uint32_t ord = (uint32_t)(key >> 32);
    if (!largest) ord = ~ord;
    const uint32_t b = (ord & 0x80000000u) ? (ord & 0x7FFFFFFFu) : ~ord;
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

NS_INLINE int64_t packed_id(uint64_t key) {
    const uint32_t id = ~(uint32_t)key;
    return (int64_t)id;
}

/* The packed heap of a row (ns_heap.h): a min-heap of packed keys, whose
 * root is the worst kept entry.  Keys are distinct (ids are). */
static inline uint64_t packed_heap_get(uint64_t *h, int64_t i) { return h[i]; }
static inline void packed_heap_set(uint64_t *h, int64_t i, uint64_t e) {
    h[i] = e;
}
static inline int packed_heap_before(uint64_t a, uint64_t b) { return a < b; }

#define NS_HEAP_PREFIX packed_heap
#define NS_HEAP_T uint64_t *
#define NS_HEAP_ENTRY uint64_t
#include "ns_heap.h"

#define NS_MERGE_NAME merge_row_packed
#define NS_MERGE_ATTR
#define NS_MERGE_MASK chunk_mask_f32
#include "ns_topk_merge_packed.inc"

#if NS_AVX2_CLONES
#define NS_MERGE_NAME merge_row_packed_avx2
#define NS_MERGE_ATTR NS_TARGET_AVX2
#define NS_MERGE_MASK chunk_mask_f32_avx2
#include "ns_topk_merge_packed.inc"
#else
#define merge_row_packed_avx2 merge_row_packed
#endif

static void finish_row_packed(ns_topk_t *st, int64_t r, int64_t skip, int64_t k,
                              int64_t *out_ids, float *out_scores) {
    uint64_t *heap = st->packed + r * st->capacity;
    const int64_t size = st->sizes[r];
    packed_heap_sort(heap, size); /* best first */
    st->sizes[r] = 0;
    for (int64_t i = 0; i < k; i++) {
        const int64_t src = skip + i;
        if (src < size) {
            out_ids[i] = packed_id(heap[src]);
            out_scores[i] = packed_score(heap[src], st->largest);
        } else {
            out_ids[i] = -1;
            out_scores[i] = NAN;
        }
    }
}

static int check_merge(const ns_topk_t *st, int64_t n_rows, int64_t n_cols,
                       int64_t ld, int64_t row0, int64_t col0) {
    if (n_rows < 0 || n_cols < 0 || row0 < 0 || row0 + n_rows > st->n_rows ||
        col0 < 0 || (n_rows > 1 && ld < n_cols))
        return NS_ERR_VALUE;
    if (st->inv_temperature > 0 && !st->rngs) return NS_ERR_VALUE;
    if (st->packed &&
        (st->inv_temperature > 0 || col0 + n_cols > ((int64_t)1 << 32)))
        return NS_ERR_VALUE;
    return NS_OK;
}

/* Work per chunk of a pool loop: about 65536 scores of a tile, or 16384
 * heap entries to sort; 32 chunks per thread at least (2 million scores, a
 * few hundred microseconds; smaller calls stay on the caller's thread). */
#define NS_TOPK_CHUNK_SCORES 65536
#define NS_TOPK_CHUNK_ENTRIES 16384
#define NS_TOPK_MIN_CHUNKS 32

typedef struct {
    ns_topk_t *st;
    const void *tile;
    int64_t n_rows, n_cols, ld, row0, col0, rows_per_chunk;
    int avx2;
    int64_t skip, k;
    int64_t *out_ids;
    float *out_scores32; /* finish: exactly one of these is set */
    double *out_scores64;
} topk_job;

static int64_t rows_per_chunk(int64_t per_row, int64_t budget) {
    return per_row >= budget ? 1 : budget / (per_row > 0 ? per_row : 1);
}

/* Rows are independent, so the thread count and schedule cannot change the
 * result.  This runs after the caller's BLAS call has returned: BLAS threads
 * and these threads never run at the same time. */
static int merge_f32_chunk(void *vjob, int64_t c0, int64_t c1) {
    const topk_job *job = (const topk_job *)vjob;
    ns_topk_t *st = job->st;
    const float *tile = (const float *)job->tile;
    int status = NS_OK;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, job->rows_per_chunk, job->n_rows, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            const float *row = tile + i * job->ld;
            const int64_t r = job->row0 + i;
            const int64_t n_cols = job->n_cols, col0 = job->col0;
            int s;
            if (st->packed && job->avx2)
                s = merge_row_packed_avx2(st, r, row, n_cols, col0);
            else if (st->packed) s = merge_row_packed(st, r, row, n_cols, col0);
            else if (job->avx2)
                s = merge_row_f32_avx2(st, r, row, n_cols, col0);
            else s = merge_row_f32(st, r, row, n_cols, col0);
            status = ns_status_worst(status, s);
        }
    }
    return status;
}

static int merge_f64_chunk(void *vjob, int64_t c0, int64_t c1) {
    const topk_job *job = (const topk_job *)vjob;
    const double *tile = (const double *)job->tile;
    int status = NS_OK;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, job->rows_per_chunk, job->n_rows, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) {
            const int s =
                merge_row_f64(job->st, job->row0 + i, tile + i * job->ld,
                              job->n_cols, job->col0);
            status = ns_status_worst(status, s);
        }
    }
    return status;
}

static int merge_tile(ns_topk_t *st, const void *tile, int64_t n_rows,
                      int64_t n_cols, int64_t ld, int64_t row0, int64_t col0,
                      const ns_par *par, ns_chunk_fn fn) {
    int status = check_merge(st, n_rows, n_cols, ld, row0, col0);
    if (status != NS_OK) return status;
    topk_job job = {
        .st = st,
        .tile = tile,
        .n_rows = n_rows,
        .n_cols = n_cols,
        .ld = ld,
        .row0 = row0,
        .col0 = col0,
        /* the AVX2 scan gives the same result, faster */
        .avx2 = st->allow_simd && ns_cpu_has_avx2(),
    };
    /* Sampling costs a draw per score: more work per row. */
    const int64_t per_row = st->inv_temperature > 0 ? 8 * n_cols : n_cols;
    job.rows_per_chunk = rows_per_chunk(per_row, NS_TOPK_CHUNK_SCORES);
    return ns_par_for(par, ns_chunk_count(n_rows, job.rows_per_chunk),
                      NS_TOPK_MIN_CHUNKS, fn, &job);
}

int ns_topk_merge_f32(ns_topk_t *st, const float *tile, int64_t n_rows,
                      int64_t n_cols, int64_t ld, int64_t row0, int64_t col0,
                      const ns_par *par) {
    return merge_tile(st, tile, n_rows, n_cols, ld, row0, col0, par,
                      merge_f32_chunk);
}

int ns_topk_merge_f64(ns_topk_t *st, const double *tile, int64_t n_rows,
                      int64_t n_cols, int64_t ld, int64_t row0, int64_t col0,
                      const ns_par *par) {
    if (st->packed) return NS_ERR_VALUE; /* packed heaps hold float32 */
    return merge_tile(st, tile, n_rows, n_cols, ld, row0, col0, par,
                      merge_f64_chunk);
}

static int finish_chunk(void *vjob, int64_t c0, int64_t c1) {
    const topk_job *job = (const topk_job *)vjob;
    ns_topk_t *st = job->st;
    const int64_t k = job->k;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, job->rows_per_chunk, st->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            int64_t *ids = job->out_ids + r * k;
            float *scores32 = job->out_scores32;
            double *scores64 = job->out_scores64;
            if (scores32) scores32 += r * k;
            else scores64 += r * k;
            if (st->packed)
                finish_row_packed(st, r, job->skip, k, ids, scores32);
            else finish_row(st, r, job->skip, k, ids, scores32, scores64);
        }
    }
    return NS_OK;
}

static int finish_rows(ns_topk_t *st, int64_t skip, int64_t k, int64_t *out_ids,
                       float *out_scores32, double *out_scores64,
                       const ns_par *par) {
    if (skip < 0 || k < 0) return NS_ERR_VALUE;
    topk_job job = {
        .st = st,
        .skip = skip,
        .k = k,
        .out_ids = out_ids,
        .out_scores32 = out_scores32,
        .out_scores64 = out_scores64,
        .rows_per_chunk = rows_per_chunk(st->capacity, NS_TOPK_CHUNK_ENTRIES),
    };
    return ns_par_for(par, ns_chunk_count(st->n_rows, job.rows_per_chunk),
                      NS_TOPK_MIN_CHUNKS, finish_chunk, &job);
}

int ns_topk_finish_f32(ns_topk_t *st, int64_t skip, int64_t k, int64_t *out_ids,
                       float *out_scores, const ns_par *par) {
    return finish_rows(st, skip, k, out_ids, out_scores, NULL, par);
}

int ns_topk_finish_f64(ns_topk_t *st, int64_t skip, int64_t k, int64_t *out_ids,
                       double *out_scores, const ns_par *par) {
    if (st->packed) return NS_ERR_VALUE;
    return finish_rows(st, skip, k, out_ids, NULL, out_scores, par);
}

/* ---- merging finished lists (one per heap of a call) -------------------- */

/* T is float or double.  Each part's row is best first, so the merged row
 * takes, skip + k times, the best head among the parts: a head is better
 * than another if it is not padding and the other is, or its score is
 * better, or the scores are equal and its id is lower. */
#define NS_TOPK_MERGE_LISTS(NAME, T)                                              \
    int NAME(const int64_t *ids, const T *scores, int64_t n_parts, int64_t n_rows, \
             int64_t cap, int largest, int64_t skip, int64_t k, int64_t *out_ids, \
             T *out_scores) {                                                    \
        if (n_parts < 1 || n_rows < 0 || cap < 0 || skip < 0 || k < 0 ||         \
            skip > INT64_MAX - k || (uint64_t)n_parts > SIZE_MAX / sizeof(int64_t)) \
            return NS_ERR_VALUE;                                                 \
        /* one cursor per part (one part per thread: any core count) */         \
        int64_t *at = (int64_t *)malloc((size_t)n_parts * sizeof(int64_t));      \
        if (at == NULL) return NS_ERR_ALLOC;                                     \
        for (int64_t r = 0; r < n_rows; r++) {                                   \
            for (int64_t p = 0; p < n_parts; p++) at[p] = 0;                     \
            for (int64_t i = 0; i < skip + k; i++) {                             \
                int64_t best = -1, best_id = -1;                                 \
                T best_s = 0;                                                    \
                for (int64_t p = 0; p < n_parts; p++) {                          \
                    if (at[p] >= cap) continue;                                  \
                    const int64_t e = (p * n_rows + r) * cap + at[p];            \
                    const int64_t id = ids[e];                                   \
                    if (id < 0) continue; /* padding: this part is done */      \
                    const T s = scores[e];                                       \
                    const int better =                                           \
                        best < 0 ||                                              \
                        (largest ? s > best_s : s < best_s) ||                   \
                        (s == best_s && id < best_id);                           \
                    if (better) {                                                \
                        best = p;                                                \
                        best_id = id;                                            \
                        best_s = s;                                              \
                    }                                                            \
                }                                                                \
                if (best < 0) { /* every part is exhausted: pad */              \
                    for (; i < skip + k; i++) {                                  \
                        if (i >= skip) {                                         \
                            out_ids[r * k + i - skip] = -1;                      \
                            out_scores[r * k + i - skip] = (T)NAN;               \
                        }                                                        \
                    }                                                            \
                    break;                                                       \
                }                                                                \
                at[best]++;                                                      \
                if (i >= skip) {                                                 \
                    out_ids[r * k + i - skip] = best_id;                         \
                    out_scores[r * k + i - skip] = best_s;                       \
                }                                                                \
            }                                                                    \
        }                                                                        \
        free(at);                                                                \
        return NS_OK;                                                            \
    }

NS_TOPK_MERGE_LISTS(ns_topk_merge_lists_f32, float)
NS_TOPK_MERGE_LISTS(ns_topk_merge_lists_f64, double)
#undef NS_TOPK_MERGE_LISTS

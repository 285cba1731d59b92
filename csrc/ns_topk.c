#include "ns_topk.h"

#include <float.h>
#include <math.h>
#include "ns_csr.h"

/* a is worse than b: smaller key, or equal key and larger id. */
#define NS_TOPK_WORSE(ka, ia, kb, ib) ((ka) < (kb) || ((ka) == (kb) && (ia) > (ib)))

/* Min-heap on "worse" (root = worst kept entry). */
static void heap_sift_down(double *keys, double *scores, int64_t *ids,
                           int64_t size, int64_t pos) {
    const double key = keys[pos], score = scores[pos];
    const int64_t id = ids[pos];
    for (;;) {
        int64_t child = 2 * pos + 1;
        if (child >= size) break;
        if (child + 1 < size &&
            NS_TOPK_WORSE(keys[child + 1], ids[child + 1], keys[child], ids[child]))
            child++;
        if (!NS_TOPK_WORSE(keys[child], ids[child], key, id)) break;
        keys[pos] = keys[child];
        scores[pos] = scores[child];
        ids[pos] = ids[child];
        pos = child;
    }
    keys[pos] = key;
    scores[pos] = score;
    ids[pos] = id;
}

static void heap_push(double *keys, double *scores, int64_t *ids, int64_t size,
                      double key, double score, int64_t id) {
    int64_t pos = size;
    while (pos > 0) {
        const int64_t parent = (pos - 1) >> 1;
        if (!NS_TOPK_WORSE(key, id, keys[parent], ids[parent])) break;
        keys[pos] = keys[parent];
        scores[pos] = scores[parent];
        ids[pos] = ids[parent];
        pos = parent;
    }
    keys[pos] = key;
    scores[pos] = score;
    ids[pos] = id;
}

static inline void heap_replace_root(double *keys, double *scores, int64_t *ids,
                                     int64_t size, double key, double score,
                                     int64_t id) {
    keys[0] = key;
    scores[0] = score;
    ids[0] = id;
    heap_sift_down(keys, scores, ids, size, 0);
}

int ns_topk_reset(ns_topk_t *st, uint64_t k0, uint64_t k1) {
    if (st->n_rows < 0 || st->capacity < 1) return NS_ERR_VALUE;
    for (int64_t r = 0; r < st->n_rows; r++) {
        st->sizes[r] = 0;
        if (st->rngs) ns_rng_seed(&st->rngs[r], k0, k1, (uint64_t)r);
    }
    return NS_OK;
}

/* Uniform in the open interval (0, 1): both logs of the Gumbel variate are
 * finite. */
NS_INLINE double open_uniform(ns_rng_t *rng) {
    return ((double)(ns_rng_next(rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Row context: the exclusion list is cut to the ids of this tile once, so
 * each lookup is a short binary search. */
typedef struct {
    const int64_t *ex;
    int64_t ex_len;
    double upper, lower;
} row_filter;

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

/* 1 if some row[0..16) is NaN, or (largest) > thr or < bound, or
 * (smallest) < thr or > bound.  bound is -big (largest) or big (smallest),
 * big = the largest valid magnitude (infinity unless st->finite_only). */
NS_INLINE int chunk_any_f32(const float *row, float thr, float bound, int largest) {
#ifdef NS_TOPK_SSE2
    const __m128 t = _mm_set1_ps(thr), lim = _mm_set1_ps(bound);
    __m128 m = _mm_setzero_ps();
    for (int i = 0; i < NS_TOPK_CHUNK; i += 4) {
        const __m128 x = _mm_loadu_ps(row + i);
        m = _mm_or_ps(m, largest ? _mm_or_ps(_mm_cmpnle_ps(x, t), _mm_cmpnge_ps(x, lim))
                                 : _mm_or_ps(_mm_cmpnge_ps(x, t), _mm_cmpnle_ps(x, lim)));
    }
    return _mm_movemask_ps(m) != 0;
#else
    int any = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i++)
        any |= largest ? !(row[i] <= thr) | !(row[i] >= bound)
                       : !(row[i] >= thr) | !(row[i] <= bound);
    return any;
#endif
}

NS_INLINE int chunk_any_f64(const double *row, double thr, double bound, int largest) {
#ifdef NS_TOPK_SSE2
    const __m128d t = _mm_set1_pd(thr), lim = _mm_set1_pd(bound);
    __m128d m = _mm_setzero_pd();
    for (int i = 0; i < NS_TOPK_CHUNK; i += 2) {
        const __m128d x = _mm_loadu_pd(row + i);
        m = _mm_or_pd(m, largest ? _mm_or_pd(_mm_cmpnle_pd(x, t), _mm_cmpnge_pd(x, lim))
                                 : _mm_or_pd(_mm_cmpnge_pd(x, t), _mm_cmpnle_pd(x, lim)));
    }
    return _mm_movemask_pd(m) != 0;
#else
    int any = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i++)
        any |= largest ? !(row[i] <= thr) | !(row[i] >= bound)
                       : !(row[i] >= thr) | !(row[i] <= bound);
    return any;
#endif
}

#if NS_AVX2_CLONES
#include <immintrin.h>
/* chunk_any_f32 with 8-float compares; NLE/NGE_UQ are true for NaN, as the
 * SSE2 compares are. */
NS_TARGET_AVX2 static inline int chunk_any_f32_avx2(const float *row, float thr,
                                                    float bound, int largest) {
    const __m256 t = _mm256_set1_ps(thr), lim = _mm256_set1_ps(bound);
    const __m256 a = _mm256_loadu_ps(row), b = _mm256_loadu_ps(row + 8);
    const __m256 m =
        largest ? _mm256_or_ps(_mm256_or_ps(_mm256_cmp_ps(a, t, _CMP_NLE_UQ),
                                            _mm256_cmp_ps(b, t, _CMP_NLE_UQ)),
                               _mm256_or_ps(_mm256_cmp_ps(a, lim, _CMP_NGE_UQ),
                                            _mm256_cmp_ps(b, lim, _CMP_NGE_UQ)))
                : _mm256_or_ps(_mm256_or_ps(_mm256_cmp_ps(a, t, _CMP_NGE_UQ),
                                            _mm256_cmp_ps(b, t, _CMP_NGE_UQ)),
                               _mm256_or_ps(_mm256_cmp_ps(a, lim, _CMP_NLE_UQ),
                                            _mm256_cmp_ps(b, lim, _CMP_NLE_UQ)));
    return _mm256_movemask_ps(m) != 0;
}
#endif

/* A score the merge refuses: NaN, or beyond +-big. */
#define NS_TOPK_INVALID(v, big) (!((v) >= -(big) && (v) <= (big)))

/* merge_row: NAME, function attributes ATTR, score type T of largest
 * finite value TMAX, chunk test CHUNK (chunk_any_f32, its AVX2 twin, or
 * chunk_any_f64). */
#define NS_TOPK_DEFINE_MERGE(NAME, ATTR, T, TMAX, CHUNK)                           \
static ATTR int NAME(ns_topk_t *st, int64_t r, const T *row,                   \
                     int64_t n_cols, int64_t col0) {                           \
    const int64_t cap = st->capacity;                                          \
    double *keys = st->keys + r * cap;                                         \
    double *scores = st->scores + r * cap;                                     \
    int64_t *ids = st->ids + r * cap;                                          \
    int64_t size = st->sizes[r];                                               \
    row_filter f = {0, 0, INFINITY, st->lower};                                \
    if (st->upper) f.upper = st->upper[r];                                     \
    if (st->excl_indptr) {                                                     \
        const int64_t *ex = st->excl_indices + st->excl_indptr[r];             \
        const int64_t len = st->excl_indptr[r + 1] - st->excl_indptr[r];       \
        const int64_t a = ns_csr_lower_bound(ex, len, col0);                   \
        const int64_t b = ns_csr_lower_bound(ex, len, col0 + n_cols);          \
        f.ex = ex + a;                                                         \
        f.ex_len = b - a;                                                      \
    }                                                                          \
    const double sign = st->largest ? 1.0 : -1.0;                              \
    const T big = st->finite_only ? (T)TMAX : (T)INFINITY;                     \
    int64_t j = 0;                                                             \
    if (st->inv_temperature > 0) {                                             \
        ns_rng_t rng = st->rngs[r];                                            \
        const double scale = sign * st->inv_temperature;                       \
        int bad = 0;                                                           \
        for (; j < n_cols; j++) {                                              \
            /* One draw per candidate, taken even when it is rejected, so   */ \
            /* candidate j always gets the j-th variate of the row stream. */ \
            const double u = open_uniform(&rng);                               \
            const double s = (double)row[j];                                   \
            if (NS_TOPK_INVALID(row[j], big)) { bad = 1; break; }             \
            if (size == cap) {                                                 \
                /* key = s*scale + G, G = -log(E), E = -log(u) >= 1 - u.    */ \
                /* key > root needs E < exp(s*scale - root), so          */    \
                /* 1 - u >= exp(s*scale - root + margin) rejects without */    \
                /* a logarithm; the margin covers every rounding, so the */    \
                /* outcome is the one of the exact comparison below.     */    \
                const double c = s * scale - keys[0];                          \
                const double margin =                                          \
                    1e-9 * (1.0 + fabs(s * scale) + fabs(keys[0]));            \
                /* 1 - u >= 2^-54 > exp(-38): no exp (nor its slow       */    \
                /* underflow path) for candidates far below the root.    */    \
                if (c + margin < -38.0) continue;                              \
                if (1.0 - u >= exp(c + margin)) continue;                      \
            }                                                                  \
            const double key = s * scale - log(-log(u));                       \
            if (size == cap && !(key > keys[0])) continue;                     \
            if (key == -INFINITY) continue;                                    \
            const int64_t id = col0 + j;                                       \
            if (!eligible(&f, s, id)) continue;                                \
            if (size < cap) heap_push(keys, scores, ids, size++, key, s, id);  \
            else heap_replace_root(keys, scores, ids, size, key, s, id);       \
        }                                                                      \
        st->rngs[r] = rng;                                                     \
        st->sizes[r] = size;                                                   \
        return bad ? NS_ERR_VALUE : NS_OK;                                     \
    }                                                                          \
    /* Fill phase: the heap is not full yet, keep every eligible score. */     \
    for (; j < n_cols && size < cap; j++) {                                    \
        const double s = (double)row[j];                                       \
        if (NS_TOPK_INVALID(row[j], big)) return NS_ERR_VALUE;                \
        const int64_t id = col0 + j;                                           \
        if (!eligible(&f, s, id)) continue;                                    \
        heap_push(keys, scores, ids, size++, sign * s, s, id);                 \
    }                                                                          \
    st->sizes[r] = size;                                                       \
    if (j == n_cols) return NS_OK;                                             \
    /* Full heap: a score enters only if strictly better than the root     */  \
    /* (equal scores lose: their id is larger).  In the score type T the   */  \
    /* root's score is exact, so one comparison in T decides.              */  \
    if (st->largest) {                                                         \
        T thr = (T)scores[0];                                                  \
        for (; j < n_cols; j += NS_TOPK_CHUNK) {                               \
            const int64_t end = j + NS_TOPK_CHUNK < n_cols ? j + NS_TOPK_CHUNK \
                                                           : n_cols;           \
            if (end - j == NS_TOPK_CHUNK &&                                    \
                !CHUNK(row + j, thr, -big, 1))                              \
                continue;                                                      \
            for (int64_t i = j; i < end; i++) {                                \
                const T v = row[i];                                            \
                if (NS_TOPK_INVALID(v, big)) return NS_ERR_VALUE;              \
                if (v <= thr) continue;                                        \
                const double s = (double)v;                                    \
                if (!eligible(&f, s, col0 + i)) continue;                      \
                heap_replace_root(keys, scores, ids, cap, s, s, col0 + i);     \
                thr = (T)scores[0];                                            \
            }                                                                  \
        }                                                                      \
    } else {                                                                   \
        T thr = (T)scores[0];                                                  \
        for (; j < n_cols; j += NS_TOPK_CHUNK) {                               \
            const int64_t end = j + NS_TOPK_CHUNK < n_cols ? j + NS_TOPK_CHUNK \
                                                           : n_cols;           \
            if (end - j == NS_TOPK_CHUNK &&                                    \
                !CHUNK(row + j, thr, big, 0))                              \
                continue;                                                      \
            for (int64_t i = j; i < end; i++) {                                \
                const T v = row[i];                                            \
                if (NS_TOPK_INVALID(v, big)) return NS_ERR_VALUE;              \
                if (v >= thr) continue;                                        \
                const double s = (double)v;                                    \
                if (!eligible(&f, s, col0 + i)) continue;                      \
                heap_replace_root(keys, scores, ids, cap, -s, s, col0 + i);    \
                thr = (T)scores[0];                                            \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    return NS_OK;                                                              \
}

#define NS_TOPK_DEFINE_FINISH(SUFFIX, T)                                       \
static void finish_row_##SUFFIX(ns_topk_t *st, int64_t r, int64_t skip,       \
                                int64_t k, int64_t *out_ids, T *out_scores) {  \
    const int64_t cap = st->capacity;                                          \
    double *keys = st->keys + r * cap;                                         \
    double *scores = st->scores + r * cap;                                     \
    int64_t *ids = st->ids + r * cap;                                          \
    const int64_t size = st->sizes[r];                                         \
    /* Heapsort: moving the worst to the end leaves the best first. */         \
    for (int64_t end = size - 1; end > 0; end--) {                             \
        const double tk = keys[0], ts = scores[0];                             \
        const int64_t ti = ids[0];                                             \
        keys[0] = keys[end]; scores[0] = scores[end]; ids[0] = ids[end];       \
        keys[end] = tk; scores[end] = ts; ids[end] = ti;                       \
        heap_sift_down(keys, scores, ids, end, 0);                             \
    }                                                                          \
    st->sizes[r] = 0;                                                          \
    for (int64_t i = 0; i < k; i++) {                                          \
        const int64_t src = skip + i;                                          \
        if (src < size) {                                                      \
            out_ids[i] = ids[src];                                             \
            out_scores[i] = (T)scores[src];                                    \
        } else {                                                               \
            out_ids[i] = -1;                                                   \
            out_scores[i] = (T)NAN;                                            \
        }                                                                      \
    }                                                                          \
}

NS_TOPK_DEFINE_MERGE(merge_row_f32, , float, FLT_MAX, chunk_any_f32)
NS_TOPK_DEFINE_MERGE(merge_row_f64, , double, DBL_MAX, chunk_any_f64)
#if NS_AVX2_CLONES
NS_TOPK_DEFINE_MERGE(merge_row_f32_avx2, NS_TARGET_AVX2, float, FLT_MAX, chunk_any_f32_avx2)
#else
#define merge_row_f32_avx2 merge_row_f32
#endif
NS_TOPK_DEFINE_FINISH(f32, float)
NS_TOPK_DEFINE_FINISH(f64, double)

static int check_merge(const ns_topk_t *st, int64_t n_rows, int64_t n_cols,
                       int64_t ld, int64_t row0, int64_t col0, int n_threads) {
    if (n_rows < 0 || n_cols < 0 || row0 < 0 || row0 + n_rows > st->n_rows ||
        col0 < 0 || (n_rows > 1 && ld < n_cols) || n_threads < 1)
        return NS_ERR_VALUE;
    if (st->inv_temperature > 0 && !st->rngs) return NS_ERR_VALUE;
    return NS_OK;
}

/* Rows are independent, so the thread count and schedule cannot change the
 * result.  This runs after the caller's BLAS call has returned: BLAS threads
 * and these threads never run at the same time. */
int ns_topk_merge_f32(ns_topk_t *st, const float *tile, int64_t n_rows,
                      int64_t n_cols, int64_t ld, int64_t row0, int64_t col0,
                      int n_threads) {
    int status = check_merge(st, n_rows, n_cols, ld, row0, col0, n_threads);
    if (status != NS_OK) return status;
    const int avx2 = ns_cpu_has_avx2(); /* same result, faster scan */
    #pragma omp parallel for num_threads(n_threads) schedule(dynamic, 4) reduction(min: status)
    for (int64_t i = 0; i < n_rows; i++) {
        const int s = avx2 ? merge_row_f32_avx2(st, row0 + i, tile + i * ld, n_cols, col0)
                           : merge_row_f32(st, row0 + i, tile + i * ld, n_cols, col0);
        if (s < status) status = s;
    }
    return status;
}

int ns_topk_merge_f64(ns_topk_t *st, const double *tile, int64_t n_rows,
                      int64_t n_cols, int64_t ld, int64_t row0, int64_t col0,
                      int n_threads) {
    int status = check_merge(st, n_rows, n_cols, ld, row0, col0, n_threads);
    if (status != NS_OK) return status;
    #pragma omp parallel for num_threads(n_threads) schedule(dynamic, 4) reduction(min: status)
    for (int64_t i = 0; i < n_rows; i++) {
        const int s = merge_row_f64(st, row0 + i, tile + i * ld, n_cols, col0);
        if (s < status) status = s;
    }
    return status;
}

int ns_topk_finish_f32(ns_topk_t *st, int64_t skip, int64_t k,
                       int64_t *out_ids, float *out_scores, int n_threads) {
    if (skip < 0 || k < 0 || n_threads < 1) return NS_ERR_VALUE;
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t r = 0; r < st->n_rows; r++)
        finish_row_f32(st, r, skip, k, out_ids + r * k, out_scores + r * k);
    return NS_OK;
}

int ns_topk_finish_f64(ns_topk_t *st, int64_t skip, int64_t k,
                       int64_t *out_ids, double *out_scores, int n_threads) {
    if (skip < 0 || k < 0 || n_threads < 1) return NS_ERR_VALUE;
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t r = 0; r < st->n_rows; r++)
        finish_row_f64(st, r, skip, k, out_ids + r * k, out_scores + r * k);
    return NS_OK;
}

#include "ns_topk.h"

#include <float.h>
#include <math.h>
#include <string.h>
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

int ns_topk_reset(ns_topk_t *st, uint64_t k0, uint64_t k1,
                  const int64_t *keys) {
    if (st->n_rows < 0 || st->capacity < 1) return NS_ERR_VALUE;
    /* n_rows * capacity entries must not wrap (the caller allocated them). */
    if (st->n_rows > 0 && st->capacity > (INT64_MAX - 1) / st->n_rows) return NS_ERR_VALUE;
    for (int64_t r = 0; r < st->n_rows; r++) {
        st->sizes[r] = 0;
        if (st->rngs && keys) ns_rng_seed_keyed(&st->rngs[r], k0, k1, keys[r]);
        else if (st->rngs) ns_rng_seed(&st->rngs[r], k0, k1, (uint64_t)r);
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

NS_INLINE row_filter row_filter_of(const ns_topk_t *st, int64_t r, int64_t col0,
                                  int64_t n_cols) {
    row_filter f = {0, 0, INFINITY, st->lower};
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
NS_INLINE unsigned chunk_mask_f32(const float *row, float thr, float bound, int largest) {
#ifdef NS_TOPK_SSE2
    const __m128 t = _mm_set1_ps(thr), lim = _mm_set1_ps(bound);
    unsigned mask = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i += 4) {
        const __m128 x = _mm_loadu_ps(row + i);
        const __m128 m = largest ? _mm_or_ps(_mm_cmpnle_ps(x, t), _mm_cmpnge_ps(x, lim))
                                 : _mm_or_ps(_mm_cmpnge_ps(x, t), _mm_cmpnle_ps(x, lim));
        mask |= (unsigned)_mm_movemask_ps(m) << i;
    }
    return mask;
#else
    unsigned mask = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i++)
        mask |= (unsigned)(largest ? !(row[i] <= thr) | !(row[i] >= bound)
                                   : !(row[i] >= thr) | !(row[i] <= bound)) << i;
    return mask;
#endif
}

NS_INLINE unsigned chunk_mask_f64(const double *row, double thr, double bound, int largest) {
#ifdef NS_TOPK_SSE2
    const __m128d t = _mm_set1_pd(thr), lim = _mm_set1_pd(bound);
    unsigned mask = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i += 2) {
        const __m128d x = _mm_loadu_pd(row + i);
        const __m128d m = largest ? _mm_or_pd(_mm_cmpnle_pd(x, t), _mm_cmpnge_pd(x, lim))
                                  : _mm_or_pd(_mm_cmpnge_pd(x, t), _mm_cmpnle_pd(x, lim));
        mask |= (unsigned)_mm_movemask_pd(m) << i;
    }
    return mask;
#else
    unsigned mask = 0;
    for (int i = 0; i < NS_TOPK_CHUNK; i++)
        mask |= (unsigned)(largest ? !(row[i] <= thr) | !(row[i] >= bound)
                                   : !(row[i] >= thr) | !(row[i] <= bound)) << i;
    return mask;
#endif
}

#if NS_AVX2_CLONES
#include <immintrin.h>
/* chunk_mask_f32 with 8-float compares; NLE/NGE_UQ are true for NaN, as
 * the SSE2 compares are. */
NS_TARGET_AVX2 static inline unsigned chunk_mask_f32_avx2(const float *row, float thr,
                                                          float bound, int largest) {
    const __m256 t = _mm256_set1_ps(thr), lim = _mm256_set1_ps(bound);
    const __m256 a = _mm256_loadu_ps(row), b = _mm256_loadu_ps(row + 8);
    __m256 ma, mb;
    if (largest) {
        ma = _mm256_or_ps(_mm256_cmp_ps(a, t, _CMP_NLE_UQ), _mm256_cmp_ps(a, lim, _CMP_NGE_UQ));
        mb = _mm256_or_ps(_mm256_cmp_ps(b, t, _CMP_NLE_UQ), _mm256_cmp_ps(b, lim, _CMP_NGE_UQ));
    } else {
        ma = _mm256_or_ps(_mm256_cmp_ps(a, t, _CMP_NGE_UQ), _mm256_cmp_ps(a, lim, _CMP_NLE_UQ));
        mb = _mm256_or_ps(_mm256_cmp_ps(b, t, _CMP_NGE_UQ), _mm256_cmp_ps(b, lim, _CMP_NLE_UQ));
    }
    return (unsigned)_mm256_movemask_ps(ma) | ((unsigned)_mm256_movemask_ps(mb) << 8);
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
    while (!(x & 1u)) { x >>= 1; i++; }
    return i;
#endif
}

/* Positions of the chunk at j to visit: the set bits of the chunk test for
 * a full chunk, every position of a short last chunk. */
#define NS_TOPK_VISIT(CHUNK, row, j, end, thr, bound, largest)                 \
    ((end) - (j) == NS_TOPK_CHUNK ? CHUNK((row) + (j), thr, bound, largest)    \
                                  : (0xFFFFu >> (NS_TOPK_CHUNK - ((end) - (j)))))

/* A score the merge refuses: NaN, or beyond +-big. */
#define NS_TOPK_INVALID(v, big) (!((v) >= -(big) && (v) <= (big)))

/* merge_row: NAME, function attributes ATTR, score type T of largest
 * finite value TMAX, chunk test CHUNK (chunk_any_f32, its AVX2 twin, or
 * chunk_mask_f64). */
#define NS_TOPK_DEFINE_MERGE(NAME, ATTR, T, TMAX, CHUNK)                           \
static ATTR int NAME(ns_topk_t *st, int64_t r, const T *row,                   \
                     int64_t n_cols, int64_t col0) {                           \
    const int64_t cap = st->capacity;                                          \
    double *keys = st->keys + r * cap;                                         \
    double *scores = st->scores + r * cap;                                     \
    int64_t *ids = st->ids + r * cap;                                          \
    int64_t size = st->sizes[r];                                               \
    const row_filter f = row_filter_of(st, r, col0, n_cols);                   \
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
            unsigned mask = NS_TOPK_VISIT(CHUNK, row, j, end, thr, -big, 1);   \
            while (mask) {                                                     \
                const int64_t i = j + lowest_bit(mask);                        \
                mask &= mask - 1;                                              \
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
            unsigned mask = NS_TOPK_VISIT(CHUNK, row, j, end, thr, big, 0);    \
            while (mask) {                                                     \
                const int64_t i = j + lowest_bit(mask);                        \
                mask &= mask - 1;                                              \
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
    return ((uint64_t)ord << 32) | (uint64_t)(uint32_t)~(uint32_t)id;
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
    return (int64_t)(uint32_t)~(uint32_t)key;
}

/* Min-heap of packed keys: the root is the worst kept entry.  Keys are
 * distinct (ids are). */
static void packed_sift_down(uint64_t *heap, int64_t size, int64_t pos) {
    const uint64_t key = heap[pos];
    for (;;) {
        int64_t child = 2 * pos + 1;
        if (child >= size) break;
        if (child + 1 < size) child += heap[child + 1] < heap[child];
        if (heap[child] > key) break;
        heap[pos] = heap[child];
        pos = child;
    }
    heap[pos] = key;
}

static void packed_push(uint64_t *heap, int64_t size, uint64_t key) {
    int64_t pos = size;
    while (pos > 0) {
        const int64_t parent = (pos - 1) >> 1;
        if (heap[parent] < key) break;
        heap[pos] = heap[parent];
        pos = parent;
    }
    heap[pos] = key;
}

#define NS_TOPK_DEFINE_MERGE_PACKED(NAME, ATTR, CHUNK)                         \
static ATTR int NAME(ns_topk_t *st, int64_t r, const float *row,               \
                     int64_t n_cols, int64_t col0) {                           \
    const int64_t cap = st->capacity;                                          \
    uint64_t *heap = st->packed + r * cap;                                     \
    int64_t size = st->sizes[r];                                               \
    const row_filter f = row_filter_of(st, r, col0, n_cols);                   \
    const int largest = st->largest;                                           \
    const float big = st->finite_only ? FLT_MAX : (float)INFINITY;             \
    int64_t j = 0;                                                             \
    for (; j < n_cols && size < cap; j++) {                                    \
        const float v = row[j];                                                \
        if (NS_TOPK_INVALID(v, big)) return NS_ERR_VALUE;                      \
        if (!eligible(&f, v, col0 + j)) continue;                              \
        packed_push(heap, size++, packed_key(v, col0 + j, largest));           \
    }                                                                          \
    st->sizes[r] = size;                                                       \
    const float bound = largest ? -big : big;                                  \
    float thr = size ? packed_score(heap[0], largest) : 0.0f;                  \
    for (; j < n_cols; j += NS_TOPK_CHUNK) {                                   \
        const int64_t end = j + NS_TOPK_CHUNK < n_cols ? j + NS_TOPK_CHUNK     \
                                                       : n_cols;               \
        unsigned mask = NS_TOPK_VISIT(CHUNK, row, j, end, thr, bound, largest);\
        while (mask) {                                                         \
            const int64_t i = j + lowest_bit(mask);                            \
            mask &= mask - 1;                                                  \
            const float v = row[i];                                            \
            if (NS_TOPK_INVALID(v, big)) return NS_ERR_VALUE;                  \
            if (largest ? !(v > thr) : !(v < thr)) continue;                   \
            if (!eligible(&f, v, col0 + i)) continue;                          \
            heap[0] = packed_key(v, col0 + i, largest);                        \
            packed_sift_down(heap, cap, 0);                                    \
            thr = packed_score(heap[0], largest);                              \
        }                                                                      \
    }                                                                          \
    return NS_OK;                                                              \
}

NS_TOPK_DEFINE_MERGE_PACKED(merge_row_packed, , chunk_mask_f32)
#if NS_AVX2_CLONES
NS_TOPK_DEFINE_MERGE_PACKED(merge_row_packed_avx2, NS_TARGET_AVX2, chunk_mask_f32_avx2)
#else
#define merge_row_packed_avx2 merge_row_packed
#endif

static void finish_row_packed(ns_topk_t *st, int64_t r, int64_t skip,
                              int64_t k, int64_t *out_ids, float *out_scores) {
    uint64_t *heap = st->packed + r * st->capacity;
    const int64_t size = st->sizes[r];
    /* Heapsort: moving the worst to the end leaves the best first. */
    for (int64_t end = size - 1; end > 0; end--) {
        const uint64_t worst = heap[0];
        heap[0] = heap[end];
        heap[end] = worst;
        packed_sift_down(heap, end, 0);
    }
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

NS_TOPK_DEFINE_MERGE(merge_row_f32, , float, FLT_MAX, chunk_mask_f32)
NS_TOPK_DEFINE_MERGE(merge_row_f64, , double, DBL_MAX, chunk_mask_f64)
#if NS_AVX2_CLONES
NS_TOPK_DEFINE_MERGE(merge_row_f32_avx2, NS_TARGET_AVX2, float, FLT_MAX, chunk_mask_f32_avx2)
#else
#define merge_row_f32_avx2 merge_row_f32
#endif
NS_TOPK_DEFINE_FINISH(f32, float)
NS_TOPK_DEFINE_FINISH(f64, double)

static int check_merge(const ns_topk_t *st, int64_t n_rows, int64_t n_cols,
                       int64_t ld, int64_t row0, int64_t col0) {
    if (n_rows < 0 || n_cols < 0 || row0 < 0 || row0 + n_rows > st->n_rows ||
        col0 < 0 || (n_rows > 1 && ld < n_cols))
        return NS_ERR_VALUE;
    if (st->inv_temperature > 0 && !st->rngs) return NS_ERR_VALUE;
    if (st->packed && (st->inv_temperature > 0 || col0 + n_cols > ((int64_t)1 << 32)))
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
    void *out_scores;
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
            int s;
            if (st->packed)
                s = job->avx2 ? merge_row_packed_avx2(st, r, row, job->n_cols, job->col0)
                              : merge_row_packed(st, r, row, job->n_cols, job->col0);
            else
                s = job->avx2 ? merge_row_f32_avx2(st, r, row, job->n_cols, job->col0)
                              : merge_row_f32(st, r, row, job->n_cols, job->col0);
            if (s < status) status = s;
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
            const int s = merge_row_f64(job->st, job->row0 + i, tile + i * job->ld,
                                        job->n_cols, job->col0);
            if (s < status) status = s;
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
        .avx2 = st->allow_simd && ns_cpu_has_avx2(), /* same result, faster scan */
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

static int finish_f32_chunk(void *vjob, int64_t c0, int64_t c1) {
    const topk_job *job = (const topk_job *)vjob;
    float *scores = (float *)job->out_scores;
    const int64_t k = job->k;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, job->rows_per_chunk, job->st->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            if (job->st->packed)
                finish_row_packed(job->st, r, job->skip, k, job->out_ids + r * k,
                                  scores + r * k);
            else
                finish_row_f32(job->st, r, job->skip, k, job->out_ids + r * k,
                               scores + r * k);
        }
    }
    return NS_OK;
}

static int finish_f64_chunk(void *vjob, int64_t c0, int64_t c1) {
    const topk_job *job = (const topk_job *)vjob;
    double *scores = (double *)job->out_scores;
    const int64_t k = job->k;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, job->rows_per_chunk, job->st->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++)
            finish_row_f64(job->st, r, job->skip, k, job->out_ids + r * k,
                           scores + r * k);
    }
    return NS_OK;
}

static int finish_rows(ns_topk_t *st, int64_t skip, int64_t k,
                       int64_t *out_ids, void *out_scores, const ns_par *par,
                       ns_chunk_fn fn) {
    if (skip < 0 || k < 0) return NS_ERR_VALUE;
    topk_job job = {
        .st = st,
        .skip = skip,
        .k = k,
        .out_ids = out_ids,
        .out_scores = out_scores,
        .rows_per_chunk = rows_per_chunk(st->capacity, NS_TOPK_CHUNK_ENTRIES),
    };
    return ns_par_for(par, ns_chunk_count(st->n_rows, job.rows_per_chunk),
                      NS_TOPK_MIN_CHUNKS, fn, &job);
}

int ns_topk_finish_f32(ns_topk_t *st, int64_t skip, int64_t k,
                       int64_t *out_ids, float *out_scores, const ns_par *par) {
    return finish_rows(st, skip, k, out_ids, out_scores, par, finish_f32_chunk);
}

int ns_topk_finish_f64(ns_topk_t *st, int64_t skip, int64_t k,
                       int64_t *out_ids, double *out_scores, const ns_par *par) {
    if (st->packed) return NS_ERR_VALUE;
    return finish_rows(st, skip, k, out_ids, out_scores, par, finish_f64_chunk);
}

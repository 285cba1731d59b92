/*
 * ns_quant.c -- the int8 prefilter of exact top-k search (ns_quant.h).
 *
 * Error budget.  u = 2**-53.  For a pair (q, c) the code computes in
 * float64, from the per-vector terms (s, ||x||, ||e||, ||s x~||):
 *   A = (s_q s_c) I          I = q~.c~, exact int32
 *   B = ||e_q|| ||c|| + ||s_q q~|| ||e_c||
 *   P = ||q|| ||c||,  Q = P + |A| + B,  slack = rel Q,  rel = (2d + 64) u.
 * The residual e = x - s x~ is exact: s is rounded to 24 significant bits
 * (quant_scale), so s x~ (31 bits) and x - s x~ are exact in float64.
 * Then, to first order in u:
 *   - |A - (s_q s_c) I| <= 2.1 u |A|  (two roundings; I exact);
 *   - each norm is sqrt of a float64 sum of d exact-or-rounded squares:
 *     relative error <= (d / 2 + 2) u, so B is within (d + 6) u B of the
 *     bound of the header's proof;
 *   - the rescored key (Dot2, ns_quant_dot_exact) is within
 *     u |q.c| + d**2 u**2 P <= 2 u P of q.c (sum |q_i c_i| <= P by
 *     Cauchy-Schwarz);
 *   - forming A + B + slack rounds by <= 3 u Q.
 * So key <= A + B + (d + 12) u Q <= UB = A + B + slack, and key >= LB =
 * A - B - slack, with a factor two to spare.  Values never underflow or
 * overflow in float64: the inputs are float32 (|x| in [2**-149, 2**128)).
 * The tile test (scan_*) uses the tile's largest norms instead of each
 * candidate's, so it passes every pair that the exact test would; see
 * row_threshold for its rounding.
 */
#include "ns_quant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ns_csr.h"

#if NS_AVX2_CLONES
#include <immintrin.h>
#define NS_TARGET_VNNI \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define NS_TARGET_AVX2_ONLY __attribute__((target("avx2")))
#endif

/* The AMX kernel: GCC >= 11 and clang >= 12 have its intrinsics; the
 * permission it needs is requested through Linux's arch_prctl
 * (ns_cpu_has_amx_int8).  Its epilogue (the tile test) and the other
 * copies it runs (quantisation, rescoring) are the AVX-512 ones. */
#if NS_AVX2_CLONES && defined(__x86_64__) && defined(__linux__) &&          \
    ((defined(__clang__) && __clang_major__ >= 12) ||                       \
     (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define NS_AMX_CLONES 1
#define NS_TARGET_AMX \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,amx-tile,amx-int8")))
#else
#define NS_AMX_CLONES 0
#endif
/* Query rows of one AMX step (two 16-row tiles) and code bytes of a tile
 * row (the AMX layouts pad the dimension to a multiple of this). */
#define AMX_ROWS 32
#define AMX_K 64

#define U53 (1.0 / 9007199254740992.0)
/* The products whose float32 rounding may overflow are always rescored
 * (so that an overflow is reported as by the exact path). */
#define OVERFLOW_GUARD 0x1p127
/* Marks a product already handled (a seed): no int32 product reaches it,
 * |q~.c~| <= d 127**2 < 2**31. */
#define DONE INT32_MIN
/* Query panels (search_chunk): products of about this many bytes, and at
 * most this many 8-row blocks (a candidate panel pair is reused from L1 by
 * each block). */
#define QUERY_PANEL_BYTES (512 << 10)
#define MAX_PANEL_BLOCKS 8

int ns_quant_kernel_available(int kernel) {
    switch (kernel) {
    case NS_QUANT_KERNEL_SCALAR:
        return 1;
    case NS_QUANT_KERNEL_AVX2:
        return ns_cpu_has_avx2();
    case NS_QUANT_KERNEL_VNNI:
#if NS_AVX2_CLONES
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
        return 0;
#endif
    case NS_QUANT_KERNEL_AMX:
#if NS_AMX_CLONES
        return ns_quant_kernel_available(NS_QUANT_KERNEL_VNNI) && ns_cpu_has_amx_int8();
#else
        return 0;
#endif
    default:
        return 0;
    }
}

int ns_quant_best_kernel(void) {
    if (ns_quant_kernel_available(NS_QUANT_KERNEL_AMX)) return NS_QUANT_KERNEL_AMX;
    if (ns_quant_kernel_available(NS_QUANT_KERNEL_VNNI)) return NS_QUANT_KERNEL_VNNI;
    if (ns_quant_kernel_available(NS_QUANT_KERNEL_AVX2)) return NS_QUANT_KERNEL_AVX2;
    return NS_QUANT_KERNEL_SCALAR;
}

static int code_bytes(int kernel) { return kernel == NS_QUANT_KERNEL_AVX2 ? 2 : 1; }

/* Whether `kernel` runs the AVX-512 copies (quantisation, tile test,
 * rescoring). */
static int uses_avx512(int kernel) {
    return kernel == NS_QUANT_KERNEL_VNNI || kernel == NS_QUANT_KERNEL_AMX;
}

/* The dimension of `kernel`'s packed layouts (codes from dim on are 0). */
static int64_t kernel_dim_pad(int kernel, int64_t dim) {
    if (kernel == NS_QUANT_KERNEL_AMX) return (dim + AMX_K - 1) / AMX_K * AMX_K;
    return ns_quant_dim_pad(dim);
}

int64_t ns_quant_tile_bytes(int kernel, int64_t n_pad, int64_t dim) {
    return n_pad * kernel_dim_pad(kernel, dim) * code_bytes(kernel);
}

static int64_t rows_pad(int64_t n_rows) {
    return (n_rows + NS_QUANT_ROW_BLOCK - 1) / NS_QUANT_ROW_BLOCK * NS_QUANT_ROW_BLOCK;
}

/* Rows of `kernel`'s packed queries: the AMX kernel reads 32 rows at a
 * time from a multiple of 32 (the rows past n_rows are zero codes). */
static int64_t kernel_rows_pad(int kernel, int64_t n_rows) {
    if (kernel == NS_QUANT_KERNEL_AMX) return (n_rows + AMX_ROWS - 1) / AMX_ROWS * AMX_ROWS;
    return rows_pad(n_rows);
}

int64_t ns_quant_query_bytes(int kernel, int64_t n_rows, int64_t dim) {
    return kernel_rows_pad(kernel, n_rows) * kernel_dim_pad(kernel, dim) * code_bytes(kernel);
}

/* ---- quantisation ------------------------------------------------------ */

/* m / 127 rounded down to 24 significant bits (so that s x~ is exact). */
static double quant_scale(float m) {
    double s = (double)m / 127.0;
    uint64_t bits;
    memcpy(&bits, &s, sizeof bits);
    bits &= ~(((uint64_t)1 << 29) - 1);
    memcpy(&s, &bits, sizeof bits);
    return s;
}

/* The per-row terms of the quantisation. */
typedef struct {
    double scale, norm, err, qnorm;
    int32_t csum; /* 128 sum(c~) */
} qterms;

/* The float64 sums of squares run in 8 lanes (element i in lane i % 8,
 * combined in a fixed order), so that the SIMD copies below perform the
 * same IEEE operations in the same order as this scalar reference: every
 * copy gives the same codes and the same bits of every term.  (Any
 * summation order meets the error budget: d - 1 roundings at most.) */
#define QUANT_LANES 8

/* The lane step of element i: code, residual and square sums. */
NS_INLINE int quant_elem(double v, double s, double inv, double *se, double *sx) {
    const double t = v * inv;
    /* Any integer code is correct (e is computed from it exactly); round
     * half away from zero and clamp to [-127, 127]. */
    int c = (int)(t + (t >= 0.0 ? 0.5 : -0.5));
    c = c > 127 ? 127 : (c < -127 ? -127 : c);
    const double e = v - s * (double)c; /* exact */
    *se += e * e;
    *sx += v * v;
    return c;
}

static void quant_finish(const double *se, const double *sx, double s, int64_t sq,
                         int64_t sum, qterms *t) {
    double a = se[0], b = sx[0];
    for (int l = 1; l < QUANT_LANES; l++) {
        a += se[l];
        b += sx[l];
    }
    t->scale = s;
    t->norm = sqrt(b);
    t->err = sqrt(a);
    t->qnorm = s * sqrt((double)sq);
    t->csum = (int32_t)(128 * sum);
}

/* Elements i0 .. dim - 1 in their lanes (the SIMD copies' tails). */
static void quant_tail(const float *x, int64_t i0, int64_t dim, double s, double inv,
                       int8_t *codes, double *se, double *sx, int64_t *sq, int64_t *sum) {
    for (int64_t i = i0; i < dim; i++) {
        const int l = (int)(i % QUANT_LANES);
        const int c = quant_elem((double)x[i], s, inv, se + l, sx + l);
        codes[i] = (int8_t)c;
        *sq += (int64_t)c * c;
        *sum += c;
    }
}

/* A zero row: zero codes and terms. */
static void quant_zero(int8_t *codes, int64_t dim, qterms *t) {
    memset(codes, 0, (size_t)dim);
    t->scale = t->norm = t->err = t->qnorm = 0.0;
    t->csum = 0;
}

/* codes[0..dim) of row x, and its terms; NS_ERR_VALUE if not finite. */
static int quant_row_scalar(const float *x, int64_t dim, int8_t *codes, qterms *t) {
    float m = 0.0f;
    for (int64_t i = 0; i < dim; i++) {
        const float a = fabsf(x[i]);
        if (!(a <= FLT_MAX)) return NS_ERR_VALUE;
        m = a > m ? a : m;
    }
    if (m == 0.0f) {
        quant_zero(codes, dim, t);
        return NS_OK;
    }
    const double s = quant_scale(m), inv = 1.0 / s;
    double se[QUANT_LANES] = {0}, sx[QUANT_LANES] = {0};
    int64_t sq = 0, sum = 0;
    quant_tail(x, 0, dim, s, inv, codes, se, sx, &sq, &sum);
    quant_finish(se, sx, s, sq, sum, t);
    return NS_OK;
}

#if NS_AVX2_CLONES
NS_TARGET_AVX2_ONLY
static int quant_row_avx2(const float *x, int64_t dim, int8_t *codes, qterms *t) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 fmax = _mm256_set1_ps(FLT_MAX);
    __m256 mv = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= dim; i += 8) {
        const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + i), absmask);
        if (_mm256_movemask_ps(_mm256_cmp_ps(a, fmax, _CMP_LE_OQ)) != 0xff) return NS_ERR_VALUE;
        mv = _mm256_max_ps(mv, a);
    }
    float lanes[8], m = 0.0f;
    _mm256_storeu_ps(lanes, mv);
    for (int l = 0; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;
    for (int64_t r = i; r < dim; r++) {
        const float a = fabsf(x[r]);
        if (!(a <= FLT_MAX)) return NS_ERR_VALUE;
        m = a > m ? a : m;
    }
    if (m == 0.0f) {
        quant_zero(codes, dim, t);
        return NS_OK;
    }
    const double s = quant_scale(m), inv = 1.0 / s;
    const __m256d sv = _mm256_set1_pd(s), iv = _mm256_set1_pd(inv), zero = _mm256_setzero_pd();
    const __m256d hp = _mm256_set1_pd(0.5), hm = _mm256_set1_pd(-0.5);
    const __m128i lo = _mm_set1_epi32(-127), hi = _mm_set1_epi32(127);
    __m256d se0 = zero, se1 = zero, sx0 = zero, sx1 = zero;
    __m128i sq4 = _mm_setzero_si128(), sum4 = sq4;
    for (i = 0; i + 8 <= dim; i += 8) {
        const __m256 xv = _mm256_loadu_ps(x + i);
        const __m256d v0 = _mm256_cvtps_pd(_mm256_castps256_ps128(xv));
        const __m256d v1 = _mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1));
        const __m256d t0 = _mm256_mul_pd(v0, iv), t1 = _mm256_mul_pd(v1, iv);
        const __m256d u0 = _mm256_add_pd(t0, _mm256_blendv_pd(hm, hp, _mm256_cmp_pd(t0, zero, _CMP_GE_OQ)));
        const __m256d u1 = _mm256_add_pd(t1, _mm256_blendv_pd(hm, hp, _mm256_cmp_pd(t1, zero, _CMP_GE_OQ)));
        const __m128i c0 = _mm_min_epi32(_mm_max_epi32(_mm256_cvttpd_epi32(u0), lo), hi);
        const __m128i c1 = _mm_min_epi32(_mm_max_epi32(_mm256_cvttpd_epi32(u1), lo), hi);
        const __m256d e0 = _mm256_sub_pd(v0, _mm256_mul_pd(sv, _mm256_cvtepi32_pd(c0)));
        const __m256d e1 = _mm256_sub_pd(v1, _mm256_mul_pd(sv, _mm256_cvtepi32_pd(c1)));
        se0 = _mm256_add_pd(se0, _mm256_mul_pd(e0, e0));
        se1 = _mm256_add_pd(se1, _mm256_mul_pd(e1, e1));
        sx0 = _mm256_add_pd(sx0, _mm256_mul_pd(v0, v0));
        sx1 = _mm256_add_pd(sx1, _mm256_mul_pd(v1, v1));
        /* |c| <= 127: the int32 lane sums stay below d 127**2 / 4 < 2**31 */
        sq4 = _mm_add_epi32(sq4, _mm_add_epi32(_mm_mullo_epi32(c0, c0), _mm_mullo_epi32(c1, c1)));
        sum4 = _mm_add_epi32(sum4, _mm_add_epi32(c0, c1));
        const __m128i b = _mm_packs_epi16(_mm_packs_epi32(c0, c1), _mm_setzero_si128());
        _mm_storel_epi64((__m128i *)(codes + i), b);
    }
    double se[QUANT_LANES], sx[QUANT_LANES];
    _mm256_storeu_pd(se, se0);
    _mm256_storeu_pd(se + 4, se1);
    _mm256_storeu_pd(sx, sx0);
    _mm256_storeu_pd(sx + 4, sx1);
    int32_t q4[4], s4[4];
    _mm_storeu_si128((__m128i *)q4, sq4);
    _mm_storeu_si128((__m128i *)s4, sum4);
    int64_t sq = (int64_t)q4[0] + q4[1] + q4[2] + q4[3];
    int64_t sum = (int64_t)s4[0] + s4[1] + s4[2] + s4[3];
    quant_tail(x, i, dim, s, inv, codes, se, sx, &sq, &sum);
    quant_finish(se, sx, s, sq, sum, t);
    return NS_OK;
}

NS_TARGET_VNNI
static int quant_row_avx512(const float *x, int64_t dim, int8_t *codes, qterms *t) {
    const __m512 fmax = _mm512_set1_ps(FLT_MAX);
    __m512 mv = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        const __m512 a = _mm512_abs_ps(_mm512_loadu_ps(x + i));
        if (_mm512_cmp_ps_mask(a, fmax, _CMP_LE_OQ) != 0xffff) return NS_ERR_VALUE;
        mv = _mm512_max_ps(mv, a);
    }
    float m = _mm512_reduce_max_ps(mv);
    for (int64_t r = i; r < dim; r++) {
        const float a = fabsf(x[r]);
        if (!(a <= FLT_MAX)) return NS_ERR_VALUE;
        m = a > m ? a : m;
    }
    if (m == 0.0f) {
        quant_zero(codes, dim, t);
        return NS_OK;
    }
    const double s = quant_scale(m), inv = 1.0 / s;
    const __m512d sv = _mm512_set1_pd(s), iv = _mm512_set1_pd(inv), zero = _mm512_setzero_pd();
    const __m512d hp = _mm512_set1_pd(0.5), hm = _mm512_set1_pd(-0.5);
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    __m512d se8 = zero, sx8 = zero;
    __m256i sq8 = _mm256_setzero_si256(), sum8 = sq8;
    for (i = 0; i + 8 <= dim; i += 8) {
        const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        const __m512d tt = _mm512_mul_pd(v, iv);
        const __m512d u =
            _mm512_add_pd(tt, _mm512_mask_blend_pd(_mm512_cmp_pd_mask(tt, zero, _CMP_GE_OQ), hm, hp));
        const __m256i c = _mm256_min_epi32(_mm256_max_epi32(_mm512_cvttpd_epi32(u), lo), hi);
        const __m512d e = _mm512_sub_pd(v, _mm512_mul_pd(sv, _mm512_cvtepi32_pd(c)));
        se8 = _mm512_add_pd(se8, _mm512_mul_pd(e, e));
        sx8 = _mm512_add_pd(sx8, _mm512_mul_pd(v, v));
        sq8 = _mm256_add_epi32(sq8, _mm256_mullo_epi32(c, c));
        sum8 = _mm256_add_epi32(sum8, c);
        _mm_storel_epi64((__m128i *)(codes + i), _mm256_cvtepi32_epi8(c));
    }
    double se[QUANT_LANES], sx[QUANT_LANES];
    _mm512_storeu_pd(se, se8);
    _mm512_storeu_pd(sx, sx8);
    int64_t sq = _mm512_reduce_add_epi64(_mm512_cvtepi32_epi64(sq8));
    int64_t sum = _mm512_reduce_add_epi64(_mm512_cvtepi32_epi64(sum8));
    quant_tail(x, i, dim, s, inv, codes, se, sx, &sq, &sum);
    quant_finish(se, sx, s, sq, sum, t);
    return NS_OK;
}
#endif

/* The quantisation with the copy of `kernel` (same bits from each). */
static int quant_row(int kernel, const float *x, int64_t dim, int8_t *codes, qterms *t) {
#if NS_AVX2_CLONES
    if (uses_avx512(kernel)) return quant_row_avx512(x, dim, codes, t);
    if (kernel == NS_QUANT_KERNEL_AVX2) return quant_row_avx2(x, dim, codes, t);
#endif
    (void)kernel;
    return quant_row_scalar(x, dim, codes, t);
}

int ns_quant_rows(int kernel, const float *x, int64_t n, int64_t dim, int8_t *codes,
                  double *scale, double *norm, double *err, double *qnorm) {
    if (!ns_quant_kernel_available(kernel)) kernel = NS_QUANT_KERNEL_SCALAR;
    for (int64_t r = 0; r < n; r++) {
        qterms t;
        const int status = quant_row(kernel, x + r * dim, dim, codes + r * dim, &t);
        if (status != NS_OK) return status;
        scale[r] = t.scale;
        norm[r] = t.norm;
        err[r] = t.err;
        qnorm[r] = t.qnorm;
    }
    return NS_OK;
}

/* ---- packed layouts ---------------------------------------------------- *
 * Candidates come in panels of 16.  VNNI: per group of 4 dimensions, the
 * 16 candidates' 4 bytes (one zmm).  AMX: the same, with dim_pad a
 * multiple of 64, so that 16 consecutive groups are the "VNNI layout" of a
 * B tile (16 rows of 64 bytes: row g holds dimensions 4g .. 4g + 3 of the
 * 16 candidates).  AVX2: per pair of dimensions, the 16 candidates' 2
 * int16 (two ymm).  Scalar: plain rows of dim_pad int8.
 * Queries: rows of dim_pad, u8 = q~ + 128 (VNNI), int16 (AVX2), int8
 * (AMX, scalar).  dim_pad is kernel_dim_pad; `codes` holds dim_pad codes
 * (zero from dim on). */

static void pack_candidate(int kernel, uint8_t *packed, int64_t dim_pad, int64_t j,
                           const int8_t *codes) {
    const int64_t p = j / NS_QUANT_PANEL, l = j % NS_QUANT_PANEL;
    if (kernel == NS_QUANT_KERNEL_VNNI || kernel == NS_QUANT_KERNEL_AMX) {
        uint8_t *base = packed + p * dim_pad * NS_QUANT_PANEL + l * 4;
        for (int64_t g = 0; g < dim_pad / 4; g++) memcpy(base + g * 64, codes + 4 * g, 4);
    } else if (kernel == NS_QUANT_KERNEL_AVX2) {
        int16_t *base = (int16_t *)packed + p * dim_pad * NS_QUANT_PANEL + l * 2;
        for (int64_t g = 0; g < dim_pad / 2; g++) {
            base[g * 32] = codes[2 * g];
            base[g * 32 + 1] = codes[2 * g + 1];
        }
    } else {
        memcpy(packed + j * dim_pad, codes, (size_t)dim_pad);
    }
}

static void pack_query(int kernel, uint8_t *packed, int64_t dim_pad, int64_t r,
                       const int8_t *codes) {
    for (int64_t i = 0; i < dim_pad; i++) {
        const int c = codes[i];
        if (kernel == NS_QUANT_KERNEL_VNNI)
            packed[r * dim_pad + i] = (uint8_t)(c + 128);
        else if (kernel == NS_QUANT_KERNEL_AVX2)
            ((int16_t *)packed)[r * dim_pad + i] = (int16_t)c;
        else
            ((int8_t *)packed)[r * dim_pad + i] = (int8_t)c;
    }
}

/* ---- tile products: out[r][j] = q~_r . c~_j for 8 rows, n_pad columns -- */

static void gemm_scalar(const uint8_t *q, int64_t dim_pad, const uint8_t *packed,
                        int64_t n_pad, int32_t *out) {
    const int8_t *qs = (const int8_t *)q, *cs = (const int8_t *)packed;
    for (int64_t j = 0; j < n_pad; j++) {
        const int8_t *c = cs + j * dim_pad;
        for (int r = 0; r < NS_QUANT_ROW_BLOCK; r++) {
            const int8_t *a = qs + r * dim_pad;
            int32_t acc = 0;
            for (int64_t i = 0; i < dim_pad; i++) acc += (int32_t)a[i] * c[i];
            out[r * n_pad + j] = acc;
        }
    }
}

#if NS_AVX2_CLONES
static inline int32_t load32(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* 4 rows x 16 candidates per step: 8 ymm accumulators of vpmaddwd sums
 * (int16 x int16 pairs, exact in int32: no saturation). */
NS_TARGET_AVX2_ONLY
static void gemm_avx2(const uint8_t *q, int64_t dim_pad, int64_t n_rows,
                      const uint8_t *packed, int64_t n_pad, int32_t *out) {
    const int16_t *qs = (const int16_t *)q;
    const int64_t d2 = dim_pad / 2;
    for (int64_t p = 0; p < n_pad / NS_QUANT_PANEL; p++) {
        const int16_t *b = (const int16_t *)packed + p * dim_pad * NS_QUANT_PANEL;
        for (int64_t half = 0; half < n_rows / 4; half++) { /* the panel stays in L1 */
            const int16_t *a = qs + half * 4 * dim_pad;
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00,
                    c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int64_t g = 0; g < d2; g++) {
                const __m256i w0 = _mm256_loadu_si256((const __m256i *)(b + g * 32));
                const __m256i w1 = _mm256_loadu_si256((const __m256i *)(b + g * 32 + 16));
                __m256i x = _mm256_set1_epi32(load32(a + 2 * g));
                c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, w0));
                c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, w1));
                x = _mm256_set1_epi32(load32(a + dim_pad + 2 * g));
                c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, w0));
                c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, w1));
                x = _mm256_set1_epi32(load32(a + 2 * dim_pad + 2 * g));
                c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, w0));
                c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, w1));
                x = _mm256_set1_epi32(load32(a + 3 * dim_pad + 2 * g));
                c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, w0));
                c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, w1));
            }
            int32_t *o = out + half * 4 * n_pad + p * NS_QUANT_PANEL;
            _mm256_storeu_si256((__m256i *)o, c00);
            _mm256_storeu_si256((__m256i *)(o + 8), c01);
            _mm256_storeu_si256((__m256i *)(o + n_pad), c10);
            _mm256_storeu_si256((__m256i *)(o + n_pad + 8), c11);
            _mm256_storeu_si256((__m256i *)(o + 2 * n_pad), c20);
            _mm256_storeu_si256((__m256i *)(o + 2 * n_pad + 8), c21);
            _mm256_storeu_si256((__m256i *)(o + 3 * n_pad), c30);
            _mm256_storeu_si256((__m256i *)(o + 3 * n_pad + 8), c31);
        }
    }
}

/* 8 rows x 32 candidates per step: 16 zmm accumulators of vpdpbusd
 * (u8 query x s8 candidate, 4 products a lane), minus 128 sum(c~).  Named
 * accumulators: an array of __m512i makes GCC copy registers around every
 * vpdpbusd.  `pf` (or NULL): the next pair of panels, prefetched into L1
 * while this one is multiplied (two lines per step). */
#define VNNI_ROW(r)                                                          \
    {                                                                        \
        const __m512i x = _mm512_set1_epi32(load32(q + (r) * dim_pad + 4 * g)); \
        a##r##0 = _mm512_dpbusd_epi32(a##r##0, x, w0);                       \
        a##r##1 = _mm512_dpbusd_epi32(a##r##1, x, w1);                       \
    }
#define VNNI_STORE(r)                                                        \
    {                                                                        \
        const __m512i v0 = _mm512_sub_epi32(a##r##0, k0), v1 = _mm512_sub_epi32(a##r##1, k1); \
        _mm512_storeu_si512((void *)(out + (r) * n_pad), v0);                \
        _mm512_storeu_si512((void *)(out + (r) * n_pad + 16), v1);           \
        const __m512d t = _mm512_set1_pd(thr[r]);                            \
        const __m512d p0 = _mm512_mul_pd(sc0, _mm512_cvtepi32_pd(_mm512_castsi512_si256(v0))); \
        const __m512d p1 = _mm512_mul_pd(sc1, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v0, 1))); \
        const __m512d p2 = _mm512_mul_pd(sc2, _mm512_cvtepi32_pd(_mm512_castsi512_si256(v1))); \
        const __m512d p3 = _mm512_mul_pd(sc3, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v1, 1))); \
        mask[(r) * n_pairs] = (uint32_t)_mm512_cmp_pd_mask(p0, t, _CMP_GE_OQ) |          \
                              ((uint32_t)_mm512_cmp_pd_mask(p1, t, _CMP_GE_OQ) << 8) |   \
                              ((uint32_t)_mm512_cmp_pd_mask(p2, t, _CMP_GE_OQ) << 16) |  \
                              ((uint32_t)_mm512_cmp_pd_mask(p3, t, _CMP_GE_OQ) << 24);   \
    }
NS_TARGET_VNNI
static inline void vnni_8x32(const uint8_t *q, int64_t dim_pad, const uint8_t *b0,
                             const uint8_t *pf, const int32_t *csum, int64_t n_pad,
                             int32_t *out, const double *scale, const double *thr,
                             uint32_t *mask, int64_t n_pairs) {
    const int64_t d4 = dim_pad / 4;
    const uint8_t *b1 = b0 + dim_pad * NS_QUANT_PANEL;
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a10 = a00, a11 = a00, a20 = a00,
            a21 = a00, a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00,
            a60 = a00, a61 = a00, a70 = a00, a71 = a00;
    if (pf) {
        for (int64_t g = 0; g < d4; g++) {
            _mm_prefetch((const char *)(pf + g * 128), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + g * 128 + 64), _MM_HINT_T0);
            const __m512i w0 = _mm512_loadu_si512((const void *)(b0 + g * 64));
            const __m512i w1 = _mm512_loadu_si512((const void *)(b1 + g * 64));
            VNNI_ROW(0) VNNI_ROW(1) VNNI_ROW(2) VNNI_ROW(3)
            VNNI_ROW(4) VNNI_ROW(5) VNNI_ROW(6) VNNI_ROW(7)
        }
    } else {
        for (int64_t g = 0; g < d4; g++) {
            const __m512i w0 = _mm512_loadu_si512((const void *)(b0 + g * 64));
            const __m512i w1 = _mm512_loadu_si512((const void *)(b1 + g * 64));
            VNNI_ROW(0) VNNI_ROW(1) VNNI_ROW(2) VNNI_ROW(3)
            VNNI_ROW(4) VNNI_ROW(5) VNNI_ROW(6) VNNI_ROW(7)
        }
    }
    const __m512i k0 = _mm512_loadu_si512((const void *)csum);
    const __m512i k1 = _mm512_loadu_si512((const void *)(csum + 16));
    const __m512d sc0 = _mm512_loadu_pd(scale), sc1 = _mm512_loadu_pd(scale + 8);
    const __m512d sc2 = _mm512_loadu_pd(scale + 16), sc3 = _mm512_loadu_pd(scale + 24);
    VNNI_STORE(0) VNNI_STORE(1) VNNI_STORE(2) VNNI_STORE(3)
    VNNI_STORE(4) VNNI_STORE(5) VNNI_STORE(6) VNNI_STORE(7)
}
#undef VNNI_ROW
#undef VNNI_STORE

/* n_rows (a multiple of 8) queries x n_pad candidates (and mask[r][p]:
 * bit b set when the tile test scale[j] out[r][j] >= thr[r] passes, j =
 * 32 p + b, computed as scan_avx512 does): each pair of panels
 * (32 candidates, 16 dim_pad bytes: 24 KB at d = 768) is loaded into L1
 * once and multiplied by every 8-row block of the query panel (n_rows x
 * dim_pad bytes, kept in L2 by the caller's choice of n_rows), instead of
 * streaming the whole tile from L2 for every 8 rows. */
NS_TARGET_VNNI
static void gemm_vnni(const uint8_t *q, int64_t dim_pad, int64_t n_rows, const uint8_t *packed,
                      const int32_t *csum, int64_t n_pad, int32_t *out, const double *scale,
                      const double *thr, uint32_t *mask) {
    const int64_t pair = 2 * dim_pad * NS_QUANT_PANEL, n_pairs = n_pad / (2 * NS_QUANT_PANEL);
    for (int64_t j = 0; j < n_pad; j += 2 * NS_QUANT_PANEL) {
        const uint8_t *b0 = packed + (j / (2 * NS_QUANT_PANEL)) * pair;
        const uint8_t *pf = j + 2 * NS_QUANT_PANEL < n_pad ? b0 + pair : NULL;
        for (int64_t r = 0; r < n_rows; r += NS_QUANT_ROW_BLOCK)
            vnni_8x32(q + r * dim_pad, dim_pad, b0, r == 0 ? pf : NULL, csum + j, n_pad,
                      out + r * n_pad + j, scale + j, thr + r,
                      mask + r * n_pairs + j / (2 * NS_QUANT_PANEL),
                      n_pairs);
    }
}
#endif

#if NS_AMX_CLONES
/* The palette-1 tile configuration (LDTILECFG's 64-byte operand): tmm0-3
 * the 16 x 16 int32 accumulators (16 rows of 64 bytes), tmm4-5 16 query
 * rows x 64 code bytes, tmm6-7 16 groups of 4 dimensions x 16 candidates
 * (64 bytes a row: the VNNI layout of the packed panels). */
typedef struct {
    uint8_t palette_id, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tilecfg;
typedef char amx_tilecfg_is_64_bytes[sizeof(amx_tilecfg) == 64 ? 1 : -1];

/* Compiler barrier: GCC's tile intrinsics are asm statements that do not
 * name the memory they read or write. */
#define AMX_BARRIER(p) __asm__ volatile("" : : "r"(p) : "memory")

/* Configures the tiles of the calling thread; amx_end releases them (the
 * thread's AMX state returns to its initial, unsaved state).  Called at
 * the start and end of every work chunk, on whichever thread runs it. */
NS_TARGET_AMX
static void amx_begin(void) {
    amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette_id = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    AMX_BARRIER(&cfg);
    _tile_loadconfig(&cfg);
}

NS_TARGET_AMX
static void amx_end(void) { _tile_release(); }

/* The tile test of rows 0 .. nr - 1 of out (32 columns each), as
 * VNNI_STORE computes it. */
NS_TARGET_AMX
static inline void amx_epilogue(const int32_t *out, int64_t n_pad, int64_t nr,
                                const double *scale, const double *thr, uint32_t *mask,
                                int64_t n_pairs) {
    const __m512d sc0 = _mm512_loadu_pd(scale), sc1 = _mm512_loadu_pd(scale + 8);
    const __m512d sc2 = _mm512_loadu_pd(scale + 16), sc3 = _mm512_loadu_pd(scale + 24);
    for (int64_t r = 0; r < nr; r++) {
        const __m512i v0 = _mm512_loadu_si512((const void *)(out + r * n_pad));
        const __m512i v1 = _mm512_loadu_si512((const void *)(out + r * n_pad + 16));
        const __m512d t = _mm512_set1_pd(thr[r]);
        const __m512d p0 = _mm512_mul_pd(sc0, _mm512_cvtepi32_pd(_mm512_castsi512_si256(v0)));
        const __m512d p1 = _mm512_mul_pd(sc1, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v0, 1)));
        const __m512d p2 = _mm512_mul_pd(sc2, _mm512_cvtepi32_pd(_mm512_castsi512_si256(v1)));
        const __m512d p3 = _mm512_mul_pd(sc3, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v1, 1)));
        mask[r * n_pairs] = (uint32_t)_mm512_cmp_pd_mask(p0, t, _CMP_GE_OQ) |
                            ((uint32_t)_mm512_cmp_pd_mask(p1, t, _CMP_GE_OQ) << 8) |
                            ((uint32_t)_mm512_cmp_pd_mask(p2, t, _CMP_GE_OQ) << 16) |
                            ((uint32_t)_mm512_cmp_pd_mask(p3, t, _CMP_GE_OQ) << 24);
    }
}

/* Stores accumulators tmm(c0), tmm(c1) (16 rows x 32 columns) to out
 * (row stride n_pad), the first nr <= 16 rows only. */
#define AMX_STORE_PAIR(c0, c1, dst, nr)                                       \
    {                                                                         \
        if ((nr) == 16) {                                                     \
            _tile_stored(c0, (dst), n_pad * 4);                               \
            _tile_stored(c1, (dst) + 16, n_pad * 4);                          \
            AMX_BARRIER(dst);                                                 \
        } else {                                                              \
            _tile_stored(c0, buf, 128);                                       \
            _tile_stored(c1, buf + 16, 128);                                  \
            AMX_BARRIER(buf);                                                 \
            for (int64_t i = 0; i < (nr); i++)                                \
                memcpy((dst) + i * n_pad, buf + 32 * i, 32 * sizeof(int32_t)); \
        }                                                                     \
    }

/* Rows 0 .. nr - 1 (nr <= 32, a multiple of 8) of q (32 readable rows of
 * dim_pad codes) times the 32 candidates of panels b0, b1, into tmm0-3:
 * 2 x 2 blocks of 16 x 16 TDPBSSD (s8 x s8, exact int32 sums of 4
 * products), one accumulator pair (tmm0-1) when nr <= 16. */
NS_TARGET_AMX
static inline void amx_products(const uint8_t *q, int64_t dim_pad, int64_t nr,
                                const uint8_t *b0, const uint8_t *b1) {
    const int64_t n_k = dim_pad / AMX_K;
    const uint8_t *q1 = q + 16 * dim_pad;
    AMX_BARRIER(q);
    _tile_zero(0);
    _tile_zero(1);
    if (nr > 16) {
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t kc = 0; kc < n_k; kc++) {
            _tile_loadd(4, q + kc * AMX_K, dim_pad);
            _tile_loadd(6, b0 + kc * 16 * 64, 64);
            _tile_loadd(7, b1 + kc * 16 * 64, 64);
            _tile_loadd(5, q1 + kc * AMX_K, dim_pad);
            _tile_dpbssd(0, 4, 6);
            _tile_dpbssd(1, 4, 7);
            _tile_dpbssd(2, 5, 6);
            _tile_dpbssd(3, 5, 7);
        }
    } else {
        for (int64_t kc = 0; kc < n_k; kc++) {
            _tile_loadd(4, q + kc * AMX_K, dim_pad);
            _tile_loadd(6, b0 + kc * 16 * 64, 64);
            _tile_loadd(7, b1 + kc * 16 * 64, 64);
            _tile_dpbssd(0, 4, 6);
            _tile_dpbssd(1, 4, 7);
        }
    }
}

/* Stores the nr rows of amx_products' accumulators to out (32 columns,
 * row stride n_pad). */
NS_TARGET_AMX
static inline void amx_store(int64_t nr, int64_t n_pad, int32_t *out) {
    int32_t buf[16 * 32];
    if (nr > 16) {
        AMX_STORE_PAIR(0, 1, out, 16)
        AMX_STORE_PAIR(2, 3, out + 16 * n_pad, nr - 16)
    } else {
        AMX_STORE_PAIR(0, 1, out, nr)
    }
}

/* As gemm_vnni (same products, same masks): each pair of panels (32
 * candidates) is multiplied by every 32-row step of the query panel.  The
 * tile test of a step runs while the next step's products are computed
 * (it reads the stored products only then: a load right after a tile
 * store waits for it).  The caller has configured the tiles (amx_begin). */
NS_TARGET_AMX
static void gemm_amx(const uint8_t *q, int64_t dim_pad, int64_t n_rows, const uint8_t *packed,
                     int64_t n_pad, int32_t *out, const double *scale, const double *thr,
                     uint32_t *mask) {
    const int64_t panel = dim_pad * NS_QUANT_PANEL, n_pairs = n_pad / (2 * NS_QUANT_PANEL);
    int64_t prev_j = -1, prev_r = 0, prev_nr = 0;
    for (int64_t j = 0; j < n_pad; j += 2 * NS_QUANT_PANEL) {
        const uint8_t *b0 = packed + (j / NS_QUANT_PANEL) * panel;
        for (int64_t r = 0; r < n_rows; r += AMX_ROWS) {
            const int64_t nr = n_rows - r < AMX_ROWS ? n_rows - r : AMX_ROWS;
            amx_products(q + r * dim_pad, dim_pad, nr, b0, b0 + panel);
            if (r == 0 && j + 2 * NS_QUANT_PANEL < n_pad) /* the next pair, into L1 */
                for (int64_t i = 0; i < 2 * panel; i += 64)
                    _mm_prefetch((const char *)(b0 + 2 * panel + i), _MM_HINT_T0);
            if (prev_j >= 0)
                amx_epilogue(out + prev_r * n_pad + prev_j, n_pad, prev_nr, scale + prev_j,
                             thr + prev_r, mask + prev_r * n_pairs + prev_j / (2 * NS_QUANT_PANEL),
                             n_pairs);
            amx_store(nr, n_pad, out + r * n_pad + j);
            prev_j = j;
            prev_r = r;
            prev_nr = nr;
        }
    }
    if (prev_j >= 0)
        amx_epilogue(out + prev_r * n_pad + prev_j, n_pad, prev_nr, scale + prev_j, thr + prev_r,
                     mask + prev_r * n_pairs + prev_j / (2 * NS_QUANT_PANEL), n_pairs);
}
#undef AMX_STORE_PAIR
#endif

/* Products of n_rows (a multiple of NS_QUANT_ROW_BLOCK) packed queries
 * with the n_pad packed candidates: out[r][j] = q~_r . c~_j; the VNNI and
 * AMX kernels also fill mask[r][n_pad / 32], the tile test against thr[r]
 * (the others leave scale, thr and mask alone).  AMX: between amx_begin
 * and amx_end on this thread. */

static void gemm(int kernel, const uint8_t *q, int64_t dim_pad, int64_t n_rows,
                 const uint8_t *packed, const int32_t *csum, int64_t n_pad, int32_t *out,
                 const double *scale, const double *thr, uint32_t *mask) {
#if NS_AMX_CLONES
    if (kernel == NS_QUANT_KERNEL_AMX) {
        gemm_amx(q, dim_pad, n_rows, packed, n_pad, out, scale, thr, mask);
        return;
    }
#endif
#if NS_AVX2_CLONES
    if (kernel == NS_QUANT_KERNEL_VNNI) {
        gemm_vnni(q, dim_pad, n_rows, packed, csum, n_pad, out, scale, thr, mask);
        return;
    }
    if (kernel == NS_QUANT_KERNEL_AVX2) {
        gemm_avx2(q, dim_pad, n_rows, packed, n_pad, out);
        return;
    }
#endif
    (void)csum;
    for (int64_t r = 0; r < n_rows; r += NS_QUANT_ROW_BLOCK)
        gemm_scalar(q + r * dim_pad, dim_pad, packed, n_pad, out + r * n_pad);
}

int ns_quant_products(int kernel, const int8_t *q_codes, int64_t n_q,
                      const int8_t *c_codes, int64_t n_c, int64_t dim, int32_t *out) {
    if (!ns_quant_kernel_available(kernel) || dim < 1 || dim > NS_QUANT_MAX_DIM || n_q < 0 ||
        n_c < 0)
        return NS_ERR_VALUE;
    if (n_q == 0 || n_c == 0) return NS_OK;
    /* All rows in one call (a query panel of the search), so that every
     * kernel's row tails run. */
    const int64_t dim_pad = kernel_dim_pad(kernel, dim);
    const int64_t n_pad = (n_c + NS_QUANT_COL_PAD - 1) / NS_QUANT_COL_PAD * NS_QUANT_COL_PAD;
    const int64_t n_rows = rows_pad(n_q);
    uint8_t *qp = calloc((size_t)ns_quant_query_bytes(kernel, n_q, dim), 1);
    uint8_t *cp = calloc((size_t)ns_quant_tile_bytes(kernel, n_pad, dim), 1);
    int32_t *csum = calloc((size_t)n_pad, sizeof *csum);
    int32_t *buf = malloc((size_t)n_pad * n_rows * sizeof *buf);
    uint32_t *mask = malloc((size_t)n_pad / 32 * n_rows * sizeof *mask);
    double *thr = calloc((size_t)n_rows, sizeof *thr);
    double *scale = calloc((size_t)n_pad, sizeof *scale);
    int8_t *row = calloc((size_t)dim_pad, 1);
    int status = NS_OK;
    if (!qp || !cp || !csum || !buf || !mask || !thr || !scale || !row) {
        status = NS_ERR_ALLOC;
        goto done;
    }
    for (int64_t r = 0; r < n_q; r++) {
        memcpy(row, q_codes + r * dim, (size_t)dim);
        pack_query(kernel, qp, dim_pad, r, row);
    }
    for (int64_t j = 0; j < n_c; j++) {
        int64_t sum = 0;
        for (int64_t i = 0; i < dim; i++) sum += c_codes[j * dim + i];
        csum[j] = (int32_t)(128 * sum);
        memcpy(row, c_codes + j * dim, (size_t)dim);
        pack_candidate(kernel, cp, dim_pad, j, row);
    }
#if NS_AMX_CLONES
    if (kernel == NS_QUANT_KERNEL_AMX) amx_begin();
#endif
    gemm(kernel, qp, dim_pad, n_rows, cp, csum, n_pad, buf, scale, thr, mask);
#if NS_AMX_CLONES
    if (kernel == NS_QUANT_KERNEL_AMX) amx_end();
#endif
    for (int64_t r = 0; r < n_q; r++)
        memcpy(out + r * n_c, buf + r * n_pad, (size_t)n_c * sizeof *out);
done:
    free(qp);
    free(cp);
    free(csum);
    free(buf);
    free(mask);
    free(thr);
    free(scale);
    free(row);
    return status;
}

/* ---- exact rescoring ---------------------------------------------------- */

/* a + b = *s + err exactly (Knuth's TwoSum); *s = fl(a + b). */
NS_INLINE double two_sum(double a, double b, double *s) {
    const double t = a + b, z = t - a;
    *s = t;
    return (a - (t - z)) + (b - z);
}

/* Dot2 in 8 lanes: element i goes to lane i % 8 (float32 x float32 is
 * exact in float64), each lane a TwoSum chain; the lanes are then combined
 * in a fixed order.  The SIMD copies perform the same IEEE operations in
 * the same order (no FMA), so every copy gives the same bits, on every CPU
 * and thread. */
#define DOT_LANES 8
static double dot_combine(const double *s, const double *c) {
    double sum = s[0], comp = 0.0;
    for (int l = 0; l < DOT_LANES; l++) comp += c[l];
    for (int l = 1; l < DOT_LANES; l++) comp += two_sum(sum, s[l], &sum);
    return sum + comp;
}

static double dot_exact_scalar(const float *x, const float *y, int64_t dim) {
    double s[DOT_LANES] = {0}, c[DOT_LANES] = {0};
    for (int64_t i = 0; i < dim; i++) {
        const int l = (int)(i % DOT_LANES);
        c[l] += two_sum(s[l], (double)x[i] * y[i], &s[l]);
    }
    return dot_combine(s, c);
}

#if NS_AVX2_CLONES
NS_TARGET_AVX2_ONLY
static double dot_exact_avx2(const float *x, const float *y, int64_t dim) {
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, c0 = s0, c1 = s0;
    int64_t i = 0;
    for (; i + 8 <= dim; i += 8) {
        const __m256 xv = _mm256_loadu_ps(x + i), yv = _mm256_loadu_ps(y + i);
        const __m256d p0 = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)),
                                         _mm256_cvtps_pd(_mm256_castps256_ps128(yv)));
        const __m256d p1 = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)),
                                         _mm256_cvtps_pd(_mm256_extractf128_ps(yv, 1)));
        __m256d t = _mm256_add_pd(s0, p0), z = _mm256_sub_pd(t, s0);
        c0 = _mm256_add_pd(c0, _mm256_add_pd(_mm256_sub_pd(s0, _mm256_sub_pd(t, z)),
                                             _mm256_sub_pd(p0, z)));
        s0 = t;
        t = _mm256_add_pd(s1, p1);
        z = _mm256_sub_pd(t, s1);
        c1 = _mm256_add_pd(c1, _mm256_add_pd(_mm256_sub_pd(s1, _mm256_sub_pd(t, z)),
                                             _mm256_sub_pd(p1, z)));
        s1 = t;
    }
    double s[DOT_LANES], c[DOT_LANES];
    _mm256_storeu_pd(s, s0);
    _mm256_storeu_pd(s + 4, s1);
    _mm256_storeu_pd(c, c0);
    _mm256_storeu_pd(c + 4, c1);
    for (; i < dim; i++) {
        const int l = (int)(i % DOT_LANES);
        c[l] += two_sum(s[l], (double)x[i] * y[i], &s[l]);
    }
    return dot_combine(s, c);
}

NS_TARGET_VNNI
static double dot_exact_avx512(const float *x, const float *y, int64_t dim) {
    __m512d s0 = _mm512_setzero_pd(), c0 = s0;
    int64_t i = 0;
    for (; i + 8 <= dim; i += 8) {
        const __m512d p = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)),
                                        _mm512_cvtps_pd(_mm256_loadu_ps(y + i)));
        const __m512d t = _mm512_add_pd(s0, p), z = _mm512_sub_pd(t, s0);
        c0 = _mm512_add_pd(c0, _mm512_add_pd(_mm512_sub_pd(s0, _mm512_sub_pd(t, z)),
                                             _mm512_sub_pd(p, z)));
        s0 = t;
    }
    double s[DOT_LANES], c[DOT_LANES];
    _mm512_storeu_pd(s, s0);
    _mm512_storeu_pd(c, c0);
    for (; i < dim; i++) {
        const int l = (int)(i % DOT_LANES);
        c[l] += two_sum(s[l], (double)x[i] * y[i], &s[l]);
    }
    return dot_combine(s, c);
}
#endif

static double dot_exact(int kernel, const float *x, const float *y, int64_t dim) {
#if NS_AVX2_CLONES
    if (uses_avx512(kernel)) return dot_exact_avx512(x, y, dim);
    if (kernel == NS_QUANT_KERNEL_AVX2) return dot_exact_avx2(x, y, dim);
#endif
    (void)kernel;
    return dot_exact_scalar(x, y, dim);
}

#define DOT_BATCH 4

#if NS_AVX2_CLONES
/* Four of dot_exact_avx512 interleaved (the same operations on each
 * pair, so the same bits): four independent dependency chains. */
NS_TARGET_VNNI
static void dot_exact_avx512_x4(const float *x, const float *y0, const float *y1,
                                const float *y2, const float *y3, int64_t dim, double *out) {
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    __m512d c0 = s0, c1 = s0, c2 = s0, c3 = s0;
    int64_t i = 0;
#define DOT_STEP(y, sv, cv)                                                        \
    {                                                                              \
        const __m512d p = _mm512_mul_pd(xv, _mm512_cvtps_pd(_mm256_loadu_ps((y) + i))); \
        const __m512d t = _mm512_add_pd(sv, p), z = _mm512_sub_pd(t, sv);          \
        cv = _mm512_add_pd(cv, _mm512_add_pd(_mm512_sub_pd(sv, _mm512_sub_pd(t, z)), \
                                             _mm512_sub_pd(p, z)));                \
        sv = t;                                                                    \
    }
    for (; i + 8 <= dim; i += 8) {
        const __m512d xv = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        DOT_STEP(y0, s0, c0)
        DOT_STEP(y1, s1, c1)
        DOT_STEP(y2, s2, c2)
        DOT_STEP(y3, s3, c3)
    }
#undef DOT_STEP
    const float *ys[4] = {y0, y1, y2, y3};
    const __m512d sv[4] = {s0, s1, s2, s3}, cv[4] = {c0, c1, c2, c3};
    for (int b = 0; b < 4; b++) {
        double s[DOT_LANES], c[DOT_LANES];
        _mm512_storeu_pd(s, sv[b]);
        _mm512_storeu_pd(c, cv[b]);
        for (int64_t k = i; k < dim; k++) {
            const int l = (int)(k % DOT_LANES);
            c[l] += two_sum(s[l], (double)x[k] * ys[b][k], &s[l]);
        }
        out[b] = dot_combine(s, c);
    }
}
#endif

/* out[b] = dot_exact(x, rows[cols[b]]) for b < n <= DOT_BATCH. */
static void dot_exact_batch(int kernel, const float *x, const float *rows, const int64_t *cols,
                            int n, int64_t dim, double *out) {
#if NS_AVX2_CLONES
    if (uses_avx512(kernel) && n >= 2) { /* short batches repeat a row */
        double o[4];
        dot_exact_avx512_x4(x, rows + cols[0] * dim, rows + cols[1] * dim,
                            rows + cols[n > 2 ? 2 : 0] * dim, rows + cols[n > 3 ? 3 : 0] * dim,
                            dim, o);
        for (int b = 0; b < n; b++) out[b] = o[b];
        return;
    }
#endif
    for (int b = 0; b < n; b++) out[b] = dot_exact(kernel, x, rows + cols[b] * dim, dim);
}

int ns_quant_dot_exact_rows(int kernel, const float *x, const float *rows, const int64_t *cols,
                            int64_t n, int64_t dim, double *out) {
    if (!ns_quant_kernel_available(kernel)) kernel = NS_QUANT_KERNEL_SCALAR;
    for (int64_t i = 0; i < n; i += DOT_BATCH) {
        const int nb = n - i < DOT_BATCH ? (int)(n - i) : DOT_BATCH;
        dot_exact_batch(kernel, x, rows, cols + i, nb, dim, out + i);
    }
    return NS_OK;
}

double ns_quant_dot_exact(int kernel, const float *x, const float *y, int64_t dim) {
    return dot_exact(ns_quant_kernel_available(kernel) ? kernel : NS_QUANT_KERNEL_SCALAR, x, y,
                     dim);
}

/* ---- heaps: (key, id), root = worst (lower key, or equal key and higher
 * id) ------------------------------------------------------------------- */

typedef struct {
    double key;
    int64_t id;
} qentry;
typedef struct {
    double *keys;
    int64_t *ids;
} qheap;

static inline qentry qheap_get(qheap h, int64_t i) {
    qentry e = {h.keys[i], h.ids[i]};
    return e;
}
static inline void qheap_set(qheap h, int64_t i, qentry e) {
    h.keys[i] = e.key;
    h.ids[i] = e.id;
}
static inline int qheap_before(qentry a, qentry b) {
    return a.key < b.key || (a.key == b.key && a.id > b.id);
}
#define NS_HEAP_PREFIX qheap
#define NS_HEAP_T qheap
#define NS_HEAP_ENTRY qentry
#include "ns_heap.h"

/* The seed heap (approximate score, column): root = lowest score. */
typedef struct {
    double a;
    int64_t j;
} sentry;
static inline sentry seedheap_get(sentry *h, int64_t i) { return h[i]; }
static inline void seedheap_set(sentry *h, int64_t i, sentry e) { h[i] = e; }
static inline int seedheap_before(sentry a, sentry b) {
    return a.a < b.a || (a.a == b.a && a.j > b.j);
}
#define NS_HEAP_PREFIX seedheap
#define NS_HEAP_T sentry *
#define NS_HEAP_ENTRY sentry
#include "ns_heap.h"

/* ---- search ------------------------------------------------------------ */

int ns_quant_search_init(ns_quant_search_t *st) {
    if (st->dim < 1 || st->dim > NS_QUANT_MAX_DIM || st->capacity < 1 ||
        !ns_quant_kernel_available(st->kernel))
        return NS_ERR_VALUE;
    const int64_t dim = st->dim, dim_pad = kernel_dim_pad(st->kernel, dim);
    int8_t *codes = calloc((size_t)dim_pad, 1);
    if (!codes) return NS_ERR_ALLOC;
    int status = NS_OK;
    for (int64_t r = kernel_rows_pad(st->kernel, st->n_rows) - 1; r >= st->n_rows; r--)
        pack_query(st->kernel, st->q_packed, dim_pad, r, codes);
    for (int64_t r = 0; r < st->n_rows && status == NS_OK; r++) {
        qterms t;
        status = quant_row(st->kernel, st->queries + r * dim, dim, codes, &t);
        st->q_scale[r] = t.scale;
        st->q_norm[r] = t.norm;
        st->q_err[r] = t.err;
        st->q_qnorm[r] = t.qnorm;
        pack_query(st->kernel, st->q_packed, dim_pad, r, codes);
        st->sizes[r] = 0;
        st->rescored[r] = 0;
    }
    free(codes);
    return status;
}

typedef struct {
    ns_quant_search_t *st;
    const float *tile;
    int64_t n_tile, col0;
    ns_quant_tile_t *work;
    double max_norm, max_err, max_qnorm; /* over the tile */
    int64_t panel_blocks;                /* row blocks of a query panel */
    int64_t chunk_blocks, n_blocks;      /* row blocks of a work chunk, in all */
} tile_ctx;

static int quant_chunk(void *ctx_, int64_t begin, int64_t end) {
    tile_ctx *ctx = ctx_;
    const ns_quant_search_t *st = ctx->st;
    ns_quant_tile_t *w = ctx->work;
    const int64_t dim = st->dim, dim_pad = kernel_dim_pad(st->kernel, dim);
    int8_t *codes = calloc((size_t)dim_pad, 1); /* codes dim .. dim_pad stay 0 */
    if (!codes) return NS_ERR_ALLOC;
    int status = NS_OK;
    const int64_t lo = begin * 64, hi = end * 64 < w->n_pad ? end * 64 : w->n_pad;
    for (int64_t j = lo; j < hi && status == NS_OK; j++) {
        qterms t;
        if (j < ctx->n_tile) {
            status = quant_row(st->kernel, ctx->tile + j * dim, dim, codes, &t);
        } else { /* padding: zero codes, never reported */
            quant_zero(codes, dim, &t);
        }
        w->scale[j] = t.scale;
        w->norm[j] = t.norm;
        w->err[j] = t.err;
        w->qnorm[j] = t.qnorm;
        w->csum[j] = t.csum;
        pack_candidate(st->kernel, w->packed, dim_pad, j, codes);
    }
    free(codes);
    return status;
}

/* Whether candidate j of row r (product I) must be rescored: its upper
 * bound can enter the heap and the window (or its score may overflow),
 * and it is not excluded. */
static int must_rescore(const tile_ctx *ctx, int64_t r, int64_t j, int32_t prod) {
    const ns_quant_search_t *st = ctx->st;
    const ns_quant_tile_t *w = ctx->work;
    const double rel = (2.0 * (double)st->dim + 64.0) * U53;
    const double a = (st->q_scale[r] * w->scale[j]) * (double)prod;
    const double b = st->q_err[r] * w->norm[j] + st->q_qnorm[r] * w->err[j];
    const double slack = rel * (st->q_norm[r] * w->norm[j] + fabs(a) + b);
    const double ub = a + b + slack, lb = a - b - slack;
    const double upper = st->upper ? st->upper[r] : INFINITY;
    const double lower = st->lower ? st->lower[r] : -INFINITY;
    const int may_overflow = fabs(a) + b + slack >= OVERFLOW_GUARD;
    if (!may_overflow) {
        if (st->sizes[r] == st->capacity && ub < st->keys[r * st->capacity]) return 0;
        /* float32 rounding is monotone: key in [lb, ub] gives a score in
         * [(float)lb, (float)ub]. */
        if ((double)(float)ub < lower || (double)(float)lb > upper) return 0;
    }
    if (st->excl_indptr) {
        const int64_t p0 = st->excl_indptr[r];
        if (ns_csr_contains(st->excl_indices + p0, st->excl_indptr[r + 1] - p0, ctx->col0 + j))
            return 0;
    }
    return 1;
}

/* Merges candidate j of row r with its rescored key.  NS_ERR_VALUE when
 * its float32 score overflows. */
static int merge_key(const tile_ctx *ctx, int64_t r, int64_t j, double key) {
    ns_quant_search_t *st = ctx->st;
    st->rescored[r]++;
    const float score = (float)key;
    if (isinf(score)) return NS_ERR_VALUE;
    const double upper = st->upper ? st->upper[r] : INFINITY;
    const double lower = st->lower ? st->lower[r] : -INFINITY;
    if ((double)score < lower || (double)score > upper) return NS_OK;
    const qentry e = {key, ctx->col0 + j};
    const int64_t size = st->sizes[r];
    qheap h = {st->keys + r * st->capacity, st->ids + r * st->capacity};
    if (size < st->capacity) {
        qheap_push(h, size, e);
        st->sizes[r] = size + 1;
    } else if (qheap_before(qheap_get(h, 0), e)) {
        qheap_replace_top(h, size, e);
    }
    return NS_OK;
}

/* The tile test for row r: candidate j may enter only if
 * fl(s_c,j I_j) >= threshold.  With T the heap's worst key and Bt >= every
 * pair's B + slack in this tile, a pair can enter only if
 * s_q s_c I >= T - Bt, i.e. s_c I >= tau = (T - Bt) / s_q.  The computed
 * tau is within 2.1 u |tau| of it, fl(s_c I) within u |s_c I|, so lowering
 * tau by 8 u |tau| (and 2**-600 for the underflow of tau) keeps every such
 * pair.  -inf (test everything) while the heap is not full, or when a
 * score of this tile may overflow float32. */
static double row_threshold(const tile_ctx *ctx, int64_t r) {
    const ns_quant_search_t *st = ctx->st;
    if (st->sizes[r] < st->capacity) return -INFINITY;
    const double rel = (2.0 * (double)st->dim + 64.0) * U53;
    const double p = st->q_norm[r] * ctx->max_norm;
    if (p * (1.0 + 0x1p-30) >= OVERFLOW_GUARD) return -INFINITY;
    const double b = st->q_err[r] * ctx->max_norm + st->q_qnorm[r] * ctx->max_err;
    const double amax = st->q_qnorm[r] * ctx->max_qnorm;
    const double bt = (b + rel * (p + amax * (1.0 + 0x1p-40) + b)) * (1.0 + 0x1p-40);
    const double t = st->keys[r * st->capacity] - bt;
    if (st->q_scale[r] == 0.0) return t <= 0.0 ? -INFINITY : INFINITY;
    const double tau = t / st->q_scale[r];
    return tau - (8.0 * U53 * fabs(tau) + 0x1p-600);
}

/* Rescores and merges the candidates seeds[0 .. m) of row r in order.
 * Up to DOT_BATCH of them that must be rescored under the current root are
 * rescored together (independent chains: more throughput), then merged in
 * order; a pair of a batch may have been skipped had the root risen before
 * it, but the merge gives the same heap.  `sorted_by_bound`: seeds[i].a
 * are upper bounds in descending order, so the first below the root ends
 * the row. */
static int rescore_sorted(const tile_ctx *ctx, int64_t r, const int32_t *prod,
                          const sentry *seeds, int64_t m, int sorted_by_bound) {
    ns_quant_search_t *st = ctx->st;
    const float *qrow = st->queries + r * st->dim;
    for (int64_t i = 0; i < m;) {
        int64_t batch[DOT_BATCH];
        int nb = 0;
        const int full = st->sizes[r] == st->capacity;
        const double root_now = full ? st->keys[r * st->capacity] : -INFINITY;
        for (; i < m && nb < DOT_BATCH; i++) {
            if (sorted_by_bound && full && seeds[i].a < root_now) { /* and every later one */
                i = m;
                break;
            }
            if (must_rescore(ctx, r, seeds[i].j, prod[seeds[i].j])) batch[nb++] = seeds[i].j;
        }
        double keys[DOT_BATCH];
        dot_exact_batch(st->kernel, qrow, ctx->tile, batch, nb, st->dim, keys);
        for (int b = 0; b < nb; b++) {
            const int status = merge_key(ctx, r, batch[b], keys[b]);
            if (status != NS_OK) return status;
        }
    }
    return NS_OK;
}

/* Seeds a row whose heap is not full: the best candidates of the tile by
 * approximate score (among those the window allows) are considered first,
 * best first, so that the heap's threshold is a good one for the rest. */
static int seed_row(const tile_ctx *ctx, int64_t r, int32_t *prod, sentry *seeds) {
    const ns_quant_search_t *st = ctx->st;
    const ns_quant_tile_t *w = ctx->work;
    int64_t want = 2 * (st->capacity - st->sizes[r]) + 8;
    if (st->excl_indptr) {
        const int64_t p0 = st->excl_indptr[r], len = st->excl_indptr[r + 1] - p0;
        const int64_t *ids = st->excl_indices + p0;
        want += ns_csr_lower_bound(ids, len, ctx->col0 + ctx->n_tile) -
                ns_csr_lower_bound(ids, len, ctx->col0);
    }
    if (want > ctx->n_tile) want = ctx->n_tile;
    const double rel = (2.0 * (double)st->dim + 64.0) * U53;
    const double upper = st->upper ? st->upper[r] : INFINITY;
    const double lower = st->lower ? st->lower[r] : -INFINITY;
    int64_t n = 0;
    for (int64_t j = 0; j < ctx->n_tile; j++) {
        const double a = (st->q_scale[r] * w->scale[j]) * (double)prod[j];
        if (st->upper || st->lower) {
            const double b = st->q_err[r] * w->norm[j] + st->q_qnorm[r] * w->err[j];
            const double slack = rel * (st->q_norm[r] * w->norm[j] + fabs(a) + b);
            if ((double)(float)(a + b + slack) < lower ||
                (double)(float)(a - b - slack) > upper)
                continue;
        }
        const sentry e = {a, j};
        if (n < want) {
            seedheap_push(seeds, n++, e);
        } else if (want > 0 && seedheap_before(seeds[0], e)) {
            seedheap_replace_top(seeds, n, e);
        }
    }
    seedheap_sort(seeds, n);
    const int status = rescore_sorted(ctx, r, prod, seeds, n, 0);
    for (int64_t i = 0; i < n; i++) prod[seeds[i].j] = DONE;
    return status;
}

/* Pass 1 of a row: the columns that pass the tile test (threshold fixed:
 * nothing is rescored in this pass), appended to cols[]; returns their
 * count. */
static int64_t scan_scalar(const tile_ctx *ctx, int64_t r, const int32_t *prod, int64_t *cols) {
    const double *sc = ctx->work->scale;
    const double t = row_threshold(ctx, r);
    int64_t n = 0;
    for (int64_t j = 0; j < ctx->n_tile; j++)
        if (sc[j] * (double)prod[j] >= t && prod[j] != DONE) cols[n++] = j;
    return n;
}

/* Pass 1 from the GEMM's masks (VNNI, AMX): the tile test was computed in the
 * kernel's epilogue, with the row's threshold of this tile. */
static int64_t scan_masks(const tile_ctx *ctx, const uint32_t *mask, int64_t *cols) {
    const int64_t n_pairs = ctx->work->n_pad / (2 * NS_QUANT_PANEL);
    int64_t n = 0;
    for (int64_t p = 0; p < n_pairs; p++) {
        uint32_t m = mask[p];
        while (m) {
            const int64_t j = 32 * p + __builtin_ctz(m);
            m &= m - 1;
            if (j < ctx->n_tile) cols[n++] = j;
        }
    }
    return n;
}

#if NS_AVX2_CLONES
NS_TARGET_AVX2_ONLY
static int64_t scan_avx2(const tile_ctx *ctx, int64_t r, const int32_t *prod, int64_t *cols) {
    const double *sc = ctx->work->scale;
    const __m256d tv = _mm256_set1_pd(row_threshold(ctx, r));
    int64_t n = 0;
    /* the tile is padded to a multiple of 32 columns: reading past n_tile
     * stays inside, and those columns are masked out */
    for (int64_t j = 0; j < ctx->n_tile; j += 4) {
        const __m256d v = _mm256_mul_pd(
            _mm256_loadu_pd(sc + j), _mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)(prod + j))));
        int mask = _mm256_movemask_pd(_mm256_cmp_pd(v, tv, _CMP_GE_OQ));
        while (mask) {
            const int64_t jj = j + __builtin_ctz((unsigned)mask);
            mask &= mask - 1;
            if (jj < ctx->n_tile && prod[jj] != DONE) cols[n++] = jj;
        }
    }
    return n;
}

NS_TARGET_VNNI
static int64_t scan_avx512(const tile_ctx *ctx, int64_t r, const int32_t *prod, int64_t *cols) {
    const double *sc = ctx->work->scale;
    const __m512d tv = _mm512_set1_pd(row_threshold(ctx, r));
    int64_t n = 0;
    for (int64_t j = 0; j < ctx->n_tile; j += 16) {
        const __m512i p = _mm512_loadu_si512((const void *)(prod + j));
        const __m512d v0 = _mm512_mul_pd(_mm512_loadu_pd(sc + j),
                                         _mm512_cvtepi32_pd(_mm512_castsi512_si256(p)));
        const __m512d v1 = _mm512_mul_pd(_mm512_loadu_pd(sc + j + 8),
                                         _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(p, 1)));
        unsigned mask = (unsigned)_mm512_cmp_pd_mask(v0, tv, _CMP_GE_OQ) |
                        ((unsigned)_mm512_cmp_pd_mask(v1, tv, _CMP_GE_OQ) << 8);
        while (mask) {
            const int64_t jj = j + __builtin_ctz(mask);
            mask &= mask - 1;
            if (jj < ctx->n_tile && prod[jj] != DONE) cols[n++] = jj;
        }
    }
    return n;
}
#endif

/* Pass 2 of a row: the pairs that passed the tile test, by descending
 * upper bound (those that may overflow first), each `consider`ed while
 * its upper bound can still reach the heap's root.  The root only rises,
 * so the first pair that cannot enter ends the row; considering the best
 * bounds first raises the root early (fewer pairs rescored than in column
 * order).  The result does not depend on the order: `consider` skips only
 * pairs that provably cannot enter. */
static int scan_row(const tile_ctx *ctx, int64_t r, const int32_t *prod, const uint32_t *mask,
                    int64_t *cols, sentry *seeds) {
    ns_quant_search_t *st = ctx->st;
    const ns_quant_tile_t *w = ctx->work;
    int64_t n;
    if (mask)
        n = scan_masks(ctx, mask, cols);
    else
#if NS_AVX2_CLONES
    if (uses_avx512(st->kernel))
        n = scan_avx512(ctx, r, prod, cols);
    else if (st->kernel == NS_QUANT_KERNEL_AVX2)
        n = scan_avx2(ctx, r, prod, cols);
    else
#endif
        n = scan_scalar(ctx, r, prod, cols);
    if (n == 0) return NS_OK;
    const double rel = (2.0 * (double)st->dim + 64.0) * U53;
    const double upper = st->upper ? st->upper[r] : INFINITY;
    const double lower = st->lower ? st->lower[r] : -INFINITY;
    const double root = st->sizes[r] == st->capacity ? st->keys[r * st->capacity] : -INFINITY;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t j = cols[i];
        const double a = (st->q_scale[r] * w->scale[j]) * (double)prod[j];
        const double b = st->q_err[r] * w->norm[j] + st->q_qnorm[r] * w->err[j];
        const double slack = rel * (st->q_norm[r] * w->norm[j] + fabs(a) + b);
        const double ub = a + b + slack, lb = a - b - slack;
        if (fabs(a) + b + slack >= OVERFLOW_GUARD) {
            const sentry e = {INFINITY, j};
            seeds[m++] = e;
            continue;
        }
        if (ub < root || (double)(float)ub < lower || (double)(float)lb > upper) continue;
        const sentry e = {ub, j};
        seeds[m++] = e;
    }
    seedheap_heapify(seeds, m);
    seedheap_sort(seeds, m); /* best (highest bound) first */
    return rescore_sorted(ctx, r, prod, seeds, m, 1);
}

/* Work chunks begin .. end - 1: row blocks begin * chunk_blocks ..
 * end * chunk_blocks - 1, in query panels of up to panel_blocks blocks
 * (ctx->panel_blocks: the panel's codes, and its products with the tile,
 * stay in L2).  The AMX kernel configures the tiles of this thread for
 * the chunk and releases them at its end. */
static int search_chunk(void *ctx_, int64_t begin, int64_t end) {
    tile_ctx *ctx = ctx_;
    ns_quant_search_t *st = ctx->st;
    const ns_quant_tile_t *w = ctx->work;
    const int64_t dim_pad = kernel_dim_pad(st->kernel, st->dim), pb = ctx->panel_blocks;
    const int64_t n_rows_max = NS_QUANT_ROW_BLOCK * pb, n_pairs = w->n_pad / (2 * NS_QUANT_PANEL);
    begin *= ctx->chunk_blocks;
    end = end * ctx->chunk_blocks < ctx->n_blocks ? end * ctx->chunk_blocks : ctx->n_blocks;
    int32_t *prod = malloc((size_t)w->n_pad * n_rows_max * sizeof *prod);
    sentry *seeds = malloc((size_t)w->n_pad * sizeof *seeds);
    int64_t *cols = malloc((size_t)w->n_pad * sizeof *cols);
    uint32_t *mask = malloc((size_t)n_pairs * n_rows_max * sizeof *mask);
    double *thr = malloc((size_t)n_rows_max * sizeof *thr);
    int status = (prod && seeds && cols && mask && thr) ? NS_OK : NS_ERR_ALLOC;
    const int use_masks = st->kernel == NS_QUANT_KERNEL_VNNI || st->kernel == NS_QUANT_KERNEL_AMX;
#if NS_AMX_CLONES
    const int amx = st->kernel == NS_QUANT_KERNEL_AMX && status == NS_OK;
    if (amx) amx_begin();
#endif
    for (int64_t blk = begin; blk < end && status == NS_OK; blk += pb) {
        const int64_t nb = end - blk < pb ? end - blk : pb;
        const int64_t r0 = blk * NS_QUANT_ROW_BLOCK, r1 = r0 + nb * NS_QUANT_ROW_BLOCK;
        for (int64_t r = r0; r < r1; r++)
            thr[r - r0] = r < st->n_rows ? row_threshold(ctx, r) : INFINITY;
        gemm(st->kernel, st->q_packed + r0 * dim_pad * code_bytes(st->kernel), dim_pad,
             nb * NS_QUANT_ROW_BLOCK, w->packed, w->csum, w->n_pad, prod, w->scale, thr, mask);
        for (int64_t r = r0; r < r1 && r < st->n_rows; r++) {
            int32_t *row = prod + (r - r0) * w->n_pad;
            /* a row seeded here scans every column (its heap was not full:
             * its mask passed every column anyway) */
            const int seeded = st->sizes[r] < st->capacity;
            if (seeded) status = seed_row(ctx, r, row, seeds);
            if (status == NS_OK)
                status = scan_row(ctx, r, row,
                                  use_masks && !seeded ? mask + (r - r0) * n_pairs : NULL, cols,
                                  seeds);
            if (status != NS_OK) break;
        }
    }
#if NS_AMX_CLONES
    if (amx) amx_end();
#endif
    free(mask);
    free(thr);
    free(prod);
    free(seeds);
    free(cols);
    return status;
}

int ns_quant_search_tile(ns_quant_search_t *st, const float *tile, int64_t n_tile,
                         int64_t col0, ns_quant_tile_t *work, const ns_par *par) {
    if (n_tile < 0 || work->n_pad < n_tile || work->n_pad % NS_QUANT_COL_PAD != 0)
        return NS_ERR_VALUE;
    if (n_tile == 0 || st->n_rows == 0) return NS_OK;
    tile_ctx ctx = {st, tile, n_tile, col0, work, 0.0, 0.0, 0.0, 1, 1, 0};
    int status = ns_par_for(par, work->n_pad / 64 + (work->n_pad % 64 != 0), 4, quant_chunk, &ctx);
    if (status != NS_OK) return status;
    for (int64_t j = 0; j < n_tile; j++) {
        ctx.max_norm = work->norm[j] > ctx.max_norm ? work->norm[j] : ctx.max_norm;
        ctx.max_err = work->err[j] > ctx.max_err ? work->err[j] : ctx.max_err;
        ctx.max_qnorm = work->qnorm[j] > ctx.max_qnorm ? work->qnorm[j] : ctx.max_qnorm;

    }
    const int64_t blocks = rows_pad(st->n_rows) / NS_QUANT_ROW_BLOCK;
    /* A query panel: about QUERY_PANEL_BYTES of products (read back by the
     * scan while still in L2), at most MAX_PANEL_BLOCKS blocks.  (The pool
     * runs one chunk per call: with chunks of one block, the others'
     * panels are that block.)  AMX: chunks and panels of 32 rows, its
     * step (the 32 x n_pad products: 1 MB at n_pad = 8192). */
    ctx.panel_blocks = QUERY_PANEL_BYTES / (work->n_pad * NS_QUANT_ROW_BLOCK * (int64_t)sizeof(int32_t));
    if (ctx.panel_blocks > MAX_PANEL_BLOCKS) ctx.panel_blocks = MAX_PANEL_BLOCKS;
    if (ctx.panel_blocks < 1) ctx.panel_blocks = 1;
    ctx.n_blocks = blocks;
    if (st->kernel == NS_QUANT_KERNEL_AMX) ctx.chunk_blocks = ctx.panel_blocks = AMX_ROWS / NS_QUANT_ROW_BLOCK;
    const int64_t chunks = (blocks + ctx.chunk_blocks - 1) / ctx.chunk_blocks;
    return ns_par_for(par, chunks, 1, search_chunk, &ctx);
}

int ns_quant_search_finish(ns_quant_search_t *st, int64_t skip, int64_t k, int negate,
                           int64_t *out_ids, float *out_scores) {
    if (skip < 0 || k < 0) return NS_ERR_VALUE;
    for (int64_t r = 0; r < st->n_rows; r++) {
        qheap h = {st->keys + r * st->capacity, st->ids + r * st->capacity};
        const int64_t size = st->sizes[r];
        qheap_sort(h, size); /* best first */
        for (int64_t i = 0; i < k; i++) {
            const int64_t pos = skip + i;
            if (pos < size) {
                out_ids[r * k + i] = h.ids[pos];
                out_scores[r * k + i] = (float)(negate ? -h.keys[pos] : h.keys[pos]);
            } else {
                out_ids[r * k + i] = -1;
                out_scores[r * k + i] = NAN;
            }
        }
        st->sizes[r] = 0; /* the sorted rows are no heaps any more */
    }
    return NS_OK;
}

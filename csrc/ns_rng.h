/*
 * ns_rng.h -- the random numbers every negsamp kernel uses.
 *
 * Scheme (the same for every sampler, so that output never depends on the
 * number of threads):
 *   1. Python takes ONE 128-bit key (k0, k1) from the caller's numpy
 *      Generator per call, so a passed Generator advances and two calls differ.
 *   2. The work of a call is cut into fixed-size blocks (a block of draws, of
 *      rows, of candidates...).  Block b gets its own xoshiro256++ stream,
 *      seeded by SplitMix64 from (k0, k1, b): ns_rng_seed().
 *   3. Threads take whole blocks; a block's output depends only on (key, b),
 *      never on which thread ran it or in what order.
 *   4. With caller keys (keys= in Python, "reproducible by row"), output
 *      row i instead gets its own stream ns_rng_seed_keyed(k0, k1, keys[i])
 *      (below), so it depends only on (key, keys[i]).
 *
 * Generators: xoshiro256++ (Blackman & Vigna 2019, "Scrambled linear
 * pseudorandom number generators"), seeded with SplitMix64 (Steele, Lea &
 * Flood 2014) as its authors recommend.  Bounded integers: Lemire 2019,
 * "Fast random integer generation in an interval" (unbiased, one
 * multiplication in the common case).  Doubles: the top 53 bits.  Every
 * continuous variate a kernel draws (uniform, exponential, normal, gamma)
 * is defined here once.
 *
 * Header-only (static inline) so that the inner loops inline it.  No globals:
 * all state lives in an ns_rng_t owned by the caller.
 */
#ifndef NS_RNG_H
#define NS_RNG_H

#include <math.h>
#include <stdint.h>

#include "ns_common.h" /* NS_INLINE, NS_INV_TWO53 */

typedef struct {
    uint64_t s[4];
} ns_rng_t;

NS_INLINE uint64_t ns_rotl64(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* SplitMix64 step: advances *state by the golden gamma and returns a
 * well-mixed output. */
NS_INLINE uint64_t ns_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Stream of block `block` under key (k0, k1).  Distinct (key, block) pairs
 * give unrelated seeds; xoshiro's 2^256 period makes overlaps of the short
 * per-block runs negligible. */
NS_INLINE void ns_rng_seed(ns_rng_t *rng, uint64_t k0, uint64_t k1,
                           uint64_t block) {
    uint64_t mix = k1 ^ (block * 0xD1342543DE82EF95ULL);
    uint64_t z = k0 ^ ns_splitmix64(&mix);
    rng->s[0] = ns_splitmix64(&z);
    rng->s[1] = ns_splitmix64(&z);
    rng->s[2] = ns_splitmix64(&z);
    rng->s[3] = ns_splitmix64(&z);
    /* SplitMix64 outputs are never all zero in practice; guard anyway since
     * the all-zero state is xoshiro's only fixed point. */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0) {
        rng->s[0] = 0x9E3779B97F4A7C15ULL;
    }
}

/* Keyed row streams ("reproducible by row", see CHANGELOG.md): the output
 * row whose caller key is `key` (a non-negative int64) draws from stream
 * (k0, k1 ^ NS_RNG_KEYED_DOMAIN, key), whatever its position, its call or
 * the thread that runs it.  The constant separates them from the block
 * streams (k0, k1, b) of the same call key: keyed stream `key` and block
 * stream b are seeded alike only when key * M ^ b * M == NS_RNG_KEYED_DOMAIN
 * (M = 0xD1342543DE82EF95, the block multiplier), a 64-bit coincidence.
 * Part of the stream-stability policy (README): changed only in a minor
 * version, named in CHANGELOG.md. */
#define NS_RNG_KEYED_DOMAIN 0x6E73726F776B6579ULL /* "nsrowkey" */

NS_INLINE void ns_rng_seed_keyed(ns_rng_t *rng, uint64_t k0, uint64_t k1,
                                 int64_t key) {
    ns_rng_seed(rng, k0, k1 ^ NS_RNG_KEYED_DOMAIN, (uint64_t)key);
}

/* xoshiro256++ */
NS_INLINE uint64_t ns_rng_next(ns_rng_t *rng) {
    uint64_t *s = rng->s;
    const uint64_t result = ns_rotl64(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ns_rotl64(s[3], 45);
    return result;
}

/* NS_RNG_LANES independent xoshiro256++ streams stepped together, stored
 * lane-major so that the loop below is plain SIMD (two lanes per SSE2
 * register, four per AVX2 register): the bulk samplers take their words
 * from it at a fraction of the cost of one scalar stream.  Lane l of a
 * block is an ordinary ns_rng_seed() stream; word t of the output comes
 * from lane t % NS_RNG_LANES, step t / NS_RNG_LANES. */
#define NS_RNG_LANES 16

typedef struct {
    uint64_t s0[NS_RNG_LANES], s1[NS_RNG_LANES], s2[NS_RNG_LANES],
        s3[NS_RNG_LANES];
} ns_rng_lanes_t;

/* Lane l gets stream (k0, k1, first_stream + l). */
NS_INLINE void ns_rng_lanes_seed(ns_rng_lanes_t *lanes, uint64_t k0,
                                 uint64_t k1, uint64_t first_stream) {
    for (int l = 0; l < NS_RNG_LANES; l++) {
        ns_rng_t r;
        ns_rng_seed(&r, k0, k1, first_stream + (uint64_t)l);
        lanes->s0[l] = r.s[0];
        lanes->s1[l] = r.s[1];
        lanes->s2[l] = r.s[2];
        lanes->s3[l] = r.s[3];
    }
}

/* Writes steps * NS_RNG_LANES words.  Written for the auto-vectoriser: the
 * state is copied into locals so that it stays in registers. */
NS_INLINE void ns_rng_lanes_fill(ns_rng_lanes_t *restrict lanes,
                                 uint64_t *restrict out, int64_t steps) {
    uint64_t a[NS_RNG_LANES], b[NS_RNG_LANES], c[NS_RNG_LANES], d[NS_RNG_LANES];
    for (int l = 0; l < NS_RNG_LANES; l++) {
        a[l] = lanes->s0[l];
        b[l] = lanes->s1[l];
        c[l] = lanes->s2[l];
        d[l] = lanes->s3[l];
    }
    for (int64_t step = 0; step < steps; step++) {
        uint64_t *restrict row = out + step * NS_RNG_LANES;
        for (int l = 0; l < NS_RNG_LANES; l++) {
            const uint64_t sum = a[l] + d[l];
            row[l] = ((sum << 23) | (sum >> 41)) + a[l];
            const uint64_t t = b[l] << 17;
            c[l] ^= a[l];
            d[l] ^= b[l];
            b[l] ^= c[l];
            a[l] ^= d[l];
            c[l] ^= t;
            d[l] = (d[l] << 45) | (d[l] >> 19);
        }
    }
    for (int l = 0; l < NS_RNG_LANES; l++) {
        lanes->s0[l] = a[l];
        lanes->s1[l] = b[l];
        lanes->s2[l] = c[l];
        lanes->s3[l] = d[l];
    }
}

/* Uniform double in [0, 1) with 53 random bits. */
NS_INLINE double ns_rng_double(ns_rng_t *rng) {
    return (double)(ns_rng_next(rng) >> 11) * NS_INV_TWO53;
}

/* Uniform double in (0, 1]: safe to take the log of. */
NS_INLINE double ns_rng_double_open0(ns_rng_t *rng) {
    return ((double)(ns_rng_next(rng) >> 11) + 1.0) * NS_INV_TWO53;
}

/* Standard exponential variate, -log(U) with U in (0, 1]. */
NS_INLINE double ns_rng_exponential(ns_rng_t *rng) {
    return -log(ns_rng_double_open0(rng));
}

/* Uniform double in the open interval (0, 1), (k + 1/2) / 2^53 for a 53-bit
 * k: log(u) and log(-log(u)) are both finite (Gumbel variates, the
 * exponentials below). */
NS_INLINE double ns_rng_double_open(ns_rng_t *rng) {
    return ((double)(ns_rng_next(rng) >> 11) + 0.5) * NS_INV_TWO53;
}

/* Standard exponential variate -log(U) with U in the open interval (0, 1):
 * in [5.5e-17, 37.5], so its log is finite as well. */
NS_INLINE double ns_rng_exponential_open(ns_rng_t *rng) {
    return -log(ns_rng_double_open(rng));
}

/* Standard normal variate by Marsaglia's polar method (Marsaglia & Bray
 * 1964): pairs of uniforms on (-1, 1) until one falls inside the unit disc.
 * The second normal of the pair is dropped, so the generator keeps no
 * state besides the stream. */
NS_INLINE double ns_rng_normal(ns_rng_t *rng) {
    double x, y, r;
    do {
        x = 2.0 * ns_rng_double(rng) - 1.0;
        y = 2.0 * ns_rng_double(rng) - 1.0;
        r = x * x + y * y;
    } while (r >= 1.0 || r == 0.0);
    return x * sqrt(-2.0 * log(r) / r);
}

/* Gamma(a, 1) variate for shape a >= 1 (Marsaglia & Tsang 2000, "A simple
 * method for generating gamma variables"); a < 1 is not supported. */
NS_INLINE double ns_rng_gamma(ns_rng_t *rng, double a) {
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        const double x = ns_rng_normal(rng);
        double v = 1.0 + c * x;
        if (v <= 0.0) continue;
        v = v * v * v;
        const double u = ns_rng_double_open0(rng);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

/* 64x64 -> 128 multiplication: returns the high word, stores the low word. */
NS_INLINE uint64_t ns_mul128(uint64_t a, uint64_t b, uint64_t *lo) {
#if defined(__SIZEOF_INT128__)
    __uint128_t m = (__uint128_t)a * (__uint128_t)b;
    *lo = (uint64_t)m;
    return (uint64_t)(m >> 64);
#elif defined(_MSC_VER) && defined(_M_X64)
    uint64_t hi;
    *lo = _umul128(a, b, &hi);
    return hi;
#else
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32;
    uint64_t b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo,
             p3 = a_hi * b_hi;
    uint64_t mid = (p0 >> 32) + (uint32_t)p1 + (uint32_t)p2;
    *lo = (mid << 32) | (uint32_t)p0;
    return p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
#endif
}

/* Unbiased uniform integer in [0, n), n >= 1 (Lemire's method: the
 * rejection branch runs with probability < n / 2^64). */
NS_INLINE uint64_t ns_rng_bounded(ns_rng_t *rng, uint64_t n) {
    uint64_t lo;
    uint64_t hi = ns_mul128(ns_rng_next(rng), n, &lo);
    if (lo < n) {
        const uint64_t threshold = (0 - n) % n;
        while (lo < threshold) {
            hi = ns_mul128(ns_rng_next(rng), n, &lo);
        }
    }
    return hi;
}

#endif /* NS_RNG_H */

/*
 * ns_bloom.h -- a one-cache-line Bloom filter of a short sorted id list
 * (Bloom 1970): 512 bits, two positions per id from one multiplicative hash.
 * A candidate with a clear bit is certainly not in the list, which skips
 * the binary search for most candidates; a "maybe" is settled by the search.
 *
 * Negative sampling keeps one per short exclusion row, precomputed
 * (ns_negative_bloom_build) or built on the stack for one output row.
 */
#ifndef NS_BLOOM_H
#define NS_BLOOM_H

#include <stdint.h>

#include "ns_common.h"
#include "ns_search.h"

/* 512 bits: one 64-byte cache line. */
#define NS_BLOOM_WORDS 8

/* Longer lists fill the filter (nearly every bit set): it would answer
 * "maybe" for most candidates. */
#define NS_BLOOM_MAX_IDS 128

/* Two 9-bit positions from one multiplicative hash (Knuth): 50 ids give a
 * false-positive rate of about (1 - e^(-100/512))^2 = 3%. */
NS_INLINE uint64_t ns_bloom_hash(int64_t x) {
    return (uint64_t)x * 0x9E3779B97F4A7C15ULL;
}

/* f[0..NS_BLOOM_WORDS) = the filter of ids[0..m). */
NS_INLINE void ns_bloom_build(uint64_t *f, const int64_t *ids, int64_t m) {
    for (int w = 0; w < NS_BLOOM_WORDS; w++) f[w] = 0;
    for (int64_t i = 0; i < m; i++) {
        const uint64_t h = ns_bloom_hash(ids[i]);
        const uint64_t b1 = h >> 55, b2 = (h >> 46) & 511;
        f[b1 >> 6] |= (uint64_t)1 << (b1 & 63);
        f[b2 >> 6] |= (uint64_t)1 << (b2 & 63);
    }
}

/* 0 when x is certainly not in the filter's list, 1 when it may be. */
NS_INLINE int ns_bloom_maybe(const uint64_t *f, int64_t x) {
    const uint64_t h = ns_bloom_hash(x);
    const uint64_t b1 = h >> 55, b2 = (h >> 46) & 511;
    return (int)((f[b1 >> 6] >> (b1 & 63)) & (f[b2 >> 6] >> (b2 & 63)) & 1);
}

/* 1 when x is in the sorted ids[0..m), asking the filter `f` first when it
 * is not NULL. */
NS_INLINE int ns_bloom_contains(const uint64_t *f, const int64_t *ids,
                                int64_t m, int64_t x) {
    if (f && !ns_bloom_maybe(f, x)) return 0;
    return ns_search_contains(ids, m, x);
}

/* A filter of m ids built for k draws pays when it is built once for many
 * draws of a short list. */
NS_INLINE int ns_bloom_pays(int64_t m, int64_t k) {
    return m > 0 && m <= NS_BLOOM_MAX_IDS && m <= 8 * k;
}

#endif /* NS_BLOOM_H */

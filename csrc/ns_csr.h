/*
 * ns_csr.h -- per-row exclusion lists in CSR form (sorted, unique ids per
 * row), shared by negative sampling and top-k mining.
 *
 * Row r's ids are indices[indptr[r] .. indptr[r + 1]), sorted ascending and
 * without duplicates (negsamp/_exclusion.py normalises them once).
 */
#ifndef NS_CSR_H
#define NS_CSR_H

#include <stdint.h>
#include "ns_rng.h" /* NS_INLINE */

/* 1 when `item` is in the sorted list ids[0..len), else 0.  Branch-free
 * binary search (the loop count depends only on len), so the cost is
 * log2(len) predictable steps. */
NS_INLINE int ns_csr_contains(const int64_t *ids, int64_t len, int64_t item) {
    if (len <= 0) return 0;
    const int64_t *base = ids;
    while (len > 1) {
        const int64_t half = len >> 1;
        base = (base[half - 1] < item) ? base + half : base;
        len -= half;
    }
    return *base == item;
}

/* Position of the first id >= item in the sorted list ids[0..len). */
NS_INLINE int64_t ns_csr_lower_bound(const int64_t *ids, int64_t len,
                                     int64_t item) {
    int64_t lo = 0, hi = len;
    while (lo < hi) {
        const int64_t mid = lo + ((hi - lo) >> 1);
        if (ids[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

#endif /* NS_CSR_H */

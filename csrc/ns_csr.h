/*
 * ns_csr.h -- per-row exclusion lists in CSR form (sorted, unique ids per
 * row), shared by negative sampling and top-k mining.
 *
 * Row r's ids are indices[indptr[r] .. indptr[r + 1]), sorted ascending and
 * without duplicates (negsamp/_exclusion.py normalises them once).  The
 * searches over a row are those of ns_search.h, under the names the
 * kernels use for a CSR row.
 */
#ifndef NS_CSR_H
#define NS_CSR_H

#include <stdint.h>

#include "ns_search.h"

/* 1 when `item` is in the sorted list ids[0..len), else 0 (0 for len <= 0). */
NS_INLINE int ns_csr_contains(const int64_t *ids, int64_t len, int64_t item) {
    return ns_search_contains(ids, len, item);
}

/* Position of the first id >= item in the sorted list ids[0..len) (0 for
 * len <= 0). */
NS_INLINE int64_t ns_csr_lower_bound(const int64_t *ids, int64_t len,
                                     int64_t item) {
    return ns_search_count_lt(ids, len, item);
}

#endif /* NS_CSR_H */

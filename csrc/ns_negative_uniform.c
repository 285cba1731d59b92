/*
 * ns_negative_uniform.c -- one output row under the uniform base law (see
 * ns_negative.h): rejection for short rows (a 4-slot scan or a Bloom
 * filter first), inversion over the complement otherwise, and successive
 * inversions without replacement.
 */
#include <math.h>
#include <string.h>

#include "ns_negative_impl.h"

/* Rows of at most this many ids are tested by a branch-free scan (the
 * scan in uniform_reject compares 4 slots). */
#define NS_NEG_SCAN_MAX 4

/* With replacement, rows with a complement table: one bounded integer. */
static void uniform_complement(const int64_t *comp, int64_t eligible,
                               int64_t k, ns_rng_t *rng, int64_t *dst) {
    for (int64_t t = 0; t < k; t++) {
        dst[t] = comp[ns_rng_bounded(rng, (uint64_t)eligible)];
    }
}

/* With replacement, a short row holding at most a quarter of the items:
 * draw from all n items until the item is not a positive (expected <= 4/3
 * draws).  The positive test is a scan of the slots p[0..4) (the row's ids,
 * the last repeated) when scan4 is not NULL, else the filter f and the
 * search.  Inlined into both callers, so each keeps only its test. */
NS_INLINE void uniform_reject(const int64_t *ids, int64_t m,
                              const int64_t *scan4, const uint64_t *f,
                              uint64_t n, int64_t eligible, int64_t k,
                              ns_rng_t *rng, int64_t *dst) {
    for (int64_t t = 0; t < k; t++) {
        int64_t x = (int64_t)ns_rng_bounded(rng, n);
        int rejected = 0;
        while (scan4 ? ((x == scan4[0]) | (x == scan4[1]) | (x == scan4[2]) |
                        (x == scan4[3]))
                     : ns_bloom_contains(f, ids, m, x)) {
            if (++rejected >= NS_NEG_MAX_REJECT) { /* (1/4)^32: never */
                const int64_t j =
                    (int64_t)ns_rng_bounded(rng, (uint64_t)eligible);
                x = ns_search_free_id(ids, m, j);
                break;
            }
            x = (int64_t)ns_rng_bounded(rng, n);
        }
        dst[t] = x;
    }
}

/* With replacement, very short rows (most (head, relation) groups of a
 * knowledge graph): the same rejection, tested by a scan of the ids instead
 * of a filter (same draws, same output). */
static void uniform_reject_scan(const int64_t *ids, int64_t m, uint64_t n,
                                int64_t eligible, int64_t k, ns_rng_t *rng,
                                int64_t *dst) {
    int64_t p[NS_NEG_SCAN_MAX];
    for (int i = 0; i < NS_NEG_SCAN_MAX; i++) p[i] = ids[i < m ? i : m - 1];
    uniform_reject(ids, m, p, NULL, n, eligible, k, rng, dst);
}

/* With replacement, short rows: rejection with a filter, about one bounded
 * integer per draw.  Without a precomputed filter one is built on the
 * stack. */
static void uniform_reject_filter(const int64_t *ids, int64_t m,
                                  const uint64_t *filter, uint64_t n,
                                  int64_t eligible, int64_t k, ns_rng_t *rng,
                                  int64_t *dst) {
    uint64_t local_filter[NS_BLOOM_WORDS];
    if (!filter) {
        ns_bloom_build(local_filter, ids, m);
        filter = local_filter;
    }
    uniform_reject(ids, m, NULL, filter, n, eligible, k, rng, dst);
}

/* With replacement, any row: the j-th non-positive item for uniform j, one
 * branch-free search each, NS_SEARCH_GROUP searches in lockstep. */
static void uniform_invert(const int64_t *ids, int64_t m, int64_t eligible,
                           int64_t k, ns_rng_t *rng, int64_t *dst) {
    int64_t j[NS_SEARCH_GROUP] = {0};
    for (int64_t t0 = 0; t0 < k; t0 += NS_SEARCH_GROUP) {
        const int g =
            (int)((k - t0 < NS_SEARCH_GROUP) ? k - t0 : NS_SEARCH_GROUP);
        for (int t = 0; t < g; t++) {
            j[t] = (int64_t)ns_rng_bounded(rng, (uint64_t)eligible);
        }
        ns_search_free_id_group(ids, m, j, dst + t0, g);
    }
}

/* Without replacement: draw t is a uniform rank among the eligible - t
 * ranks not chosen.  chosen[0..t) holds the complement ranks already
 * chosen, sorted, so the j-th rank not chosen is a free id of chosen. */
static void uniform_distinct(const int64_t *ids, int64_t m,
                             const int64_t *comp, int64_t eligible, int64_t k,
                             ns_rng_t *rng, int64_t *dst, int64_t *chosen) {
    for (int64_t t = 0; t < k; t++) {
        const int64_t j =
            (int64_t)ns_rng_bounded(rng, (uint64_t)(eligible - t));
        const int64_t rank = ns_search_free_id(chosen, t, j);
        const int64_t pos = ns_search_count_lt(chosen, t, rank);
        memmove(chosen + pos + 1, chosen + pos,
                (size_t)(t - pos) * sizeof *chosen);
        chosen[pos] = rank;
        dst[t] = comp ? comp[rank] : ns_search_free_id(ids, m, rank);
    }
}

int ns_neg_row_uniform(const ns_negative_law *law, const ns_neg_row *row,
                       int64_t k, int replace, ns_rng_t *rng, int64_t *dst,
                       double *lq, int64_t *scratch) {
    const int64_t *ids = row->ids;
    const int64_t m = row->m;
    const int64_t eligible = law->n_items - m;
    const uint64_t n = (uint64_t)law->n_items;
    if (eligible < (replace ? 1 : k)) return NS_ERR_EXHAUSTED;
    if (!replace) {
        uniform_distinct(ids, m, row->comp, eligible, k, rng, dst, scratch);
    } else if (row->comp) {
        uniform_complement(row->comp, eligible, k, rng, dst);
    } else if (m > 0 && m <= NS_NEG_SCAN_MAX && 4 * m <= law->n_items) {
        uniform_reject_scan(ids, m, n, eligible, k, rng, dst);
    } else if (4 * m <= law->n_items &&
               (row->filter || (m > 0 && m <= NS_BLOOM_MAX_IDS && m <= 2 * k))) {
        /* Without a precomputed filter, building one pays for m <= 2 k
         * (measured). */
        uniform_reject_filter(ids, m, row->filter, n, eligible, k, rng, dst);
    } else {
        uniform_invert(ids, m, eligible, k, rng, dst);
    }
    if (lq) {
        const double v = -log((double)eligible);
        for (int64_t t = 0; t < k; t++) lq[t] = v;
    }
    return NS_OK;
}

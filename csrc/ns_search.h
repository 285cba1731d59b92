/*
 * ns_search.h -- branch-free binary searches over sorted int64 ids and
 * non-decreasing doubles, written once for every kernel (exclusion lists,
 * free-id ranks, chosen items, cumulative laws).
 *
 * Every search below is the same loop: a window [pos, pos + len) that halves
 * each step, the select compiling to arithmetic (never to a jump that the
 * unpredictable outcome would mispredict), so the loop count depends only
 * on len: log2(len) predictable steps.
 *
 * The int64 searches compare a key against a bound, key(i) = v[i] - shift *
 * i with shift 0 or 1 (a compile-time constant at every call, so the product
 * folds away):
 *   shift 0: key(i) = v[i], v sorted (non-decreasing);
 *   shift 1: key(i) = v[i] - i, v sorted and unique, so v[i] - i is
 *            non-decreasing: the gaps d_i of the "j-th free id" rank,
 *            computed on the fly instead of stored (see ns_search_free_id).
 */
#ifndef NS_SEARCH_H
#define NS_SEARCH_H

#include <stdint.h>

#include "ns_common.h" /* NS_INLINE */

/* Searches run in lockstep for up to this many queries at once (see
 * ns_search_probe_group). */
#define NS_SEARCH_GROUP 8

/* The probe position of the search for the first i with key(i) >= bound,
 * for len >= 1: the count c = #{i : key(i) < bound} is pos +
 * (key(pos) < bound), and when c < len, pos == c (so a present value sits
 * at v[pos]). */
NS_INLINE int64_t ns_search_probe(const int64_t *v, int64_t len,
                                  int64_t bound, int64_t shift) {
    int64_t pos = 0;
    while (len > 1) {
        const int64_t half = len >> 1;
        const int64_t i = pos + half - 1;
        pos += half & -(int64_t)(v[i] - shift * i < bound);
        len -= half;
    }
    return pos;
}

/* ns_search_probe for bound[0..g) (g <= NS_SEARCH_GROUP) at once: the
 * searches run in lockstep, so their load latencies overlap instead of
 * chaining.  pos[t] is the probe position of bound[t]. */
NS_INLINE void ns_search_probe_group(const int64_t *v, int64_t len,
                                     const int64_t *bound, int g,
                                     int64_t shift, int64_t *pos) {
    for (int t = 0; t < g; t++) pos[t] = 0;
    while (len > 1) {
        const int64_t half = len >> 1;
        for (int t = 0; t < g; t++) {
            const int64_t i = pos[t] + half - 1;
            pos[t] += half & -(int64_t)(v[i] - shift * i < bound[t]);
        }
        len -= half;
    }
}

/* #{i : ids[i] < item} in the sorted ids[0..len): the position of the first
 * id >= item (lower bound). */
NS_INLINE int64_t ns_search_count_lt(const int64_t *ids, int64_t len,
                                     int64_t item) {
    if (len <= 0) return 0;
    const int64_t pos = ns_search_probe(ids, len, item, 0);
    return pos + (ids[pos] < item);
}

/* 1 when `item` is in the sorted ids[0..len), else 0. */
NS_INLINE int ns_search_contains(const int64_t *ids, int64_t len,
                                 int64_t item) {
    if (len <= 0) return 0;
    return ids[ns_search_probe(ids, len, item, 0)] == item;
}

/* ns_search_contains of item[0..NS_SEARCH_GROUP) into found[] (lockstep). */
NS_INLINE void ns_search_contains_group(const int64_t *ids, int64_t len,
                                        const int64_t *item, int *found) {
    if (len <= 0) {
        for (int t = 0; t < NS_SEARCH_GROUP; t++) found[t] = 0;
        return;
    }
    int64_t pos[NS_SEARCH_GROUP];
    ns_search_probe_group(ids, len, item, NS_SEARCH_GROUP, 0, pos);
    for (int t = 0; t < NS_SEARCH_GROUP; t++) found[t] = ids[pos[t]] == item[t];
}

/* #{i : gaps[i] <= j} over the non-decreasing gaps[0..len), for
 * j < INT64_MAX: with stored gaps d_i = e_i - i of sorted unique ids e,
 * j + this count is the j-th integer not among the e_i (ns_graph.c). */
NS_INLINE int64_t ns_search_count_le(const int64_t *gaps, int64_t len,
                                     int64_t j) {
    if (len <= 0) return 0;
    const int64_t pos = ns_search_probe(gaps, len, j + 1, 0);
    return pos + (gaps[pos] <= j);
}

/* #{i : ids[i] - i <= j} over the sorted unique ids[0..len), for
 * 0 <= j < INT64_MAX: ns_search_count_le of the gaps ids[i] - i, computed
 * on the fly. */
NS_INLINE int64_t ns_search_count_free_le(const int64_t *ids, int64_t len,
                                          int64_t j) {
    if (len <= 0) return 0;
    const int64_t pos = ns_search_probe(ids, len, j + 1, 1);
    return pos + (ids[pos] - pos <= j);
}

/* The j-th (from 0) non-negative integer not in the sorted unique
 * ids[0..len): j + #{i : ids[i] - i <= j}. */
NS_INLINE int64_t ns_search_free_id(const int64_t *ids, int64_t len,
                                    int64_t j) {
    return j + ns_search_count_free_le(ids, len, j);
}

/* ns_search_free_id of j[0..g) (g <= NS_SEARCH_GROUP) into id[] (lockstep). */
NS_INLINE void ns_search_free_id_group(const int64_t *ids, int64_t len,
                                       const int64_t *j, int64_t *id, int g) {
    if (len <= 0) {
        for (int t = 0; t < g; t++) id[t] = j[t];
        return;
    }
    int64_t bound[NS_SEARCH_GROUP], pos[NS_SEARCH_GROUP];
    for (int t = 0; t < g; t++) bound[t] = j[t] + 1;
    ns_search_probe_group(ids, len, bound, g, 1, pos);
    for (int t = 0; t < g; t++) {
        id[t] = j[t] + pos[t] + (ids[pos[t]] - pos[t] <= j[t]);
    }
}

/* #{i : v[i] <= x} over the non-decreasing doubles v[0..len). */
NS_INLINE int64_t ns_search_count_le_f64(const double *v, int64_t len,
                                         double x) {
    if (len <= 0) return 0;
    int64_t pos = 0;
    while (len > 1) {
        const int64_t half = len >> 1;
        pos += half & -(int64_t)(v[pos + half - 1] <= x);
        len -= half;
    }
    return pos + (v[pos] <= x);
}

#endif /* NS_SEARCH_H */

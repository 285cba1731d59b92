/*
 * ns_negative_weighted.c -- one output row under a weighted (alias table)
 * base law (see ns_negative.h): rejection from the base or complement
 * table, inversion of the cumulative law over the complement of the
 * positives (and of the items already chosen, without replacement), and
 * the O(n) exact scan that backs both up on rounding edges.
 */
#include <string.h>

#include "ns_negative_impl.h"
#include "ns_sum.h"

/* Candidates resolved per batch in rejection mode: their alias entries are
 * prefetched first so that the cache misses overlap. */
#define NS_NEG_BATCH 32

/* Smallest share of the total mass that inversion over cum[] handles (the
 * law's relative error there is ~1e-16 / 2^-24 per gap); below, a scan. */
#define NS_NEG_MIN_SPAN (1.0 / 16777216.0)

/* #{j in [0, m) : cum[ids[j]] - prefix[j] <= u}: the eligible mass before
 * positive j is non-decreasing in j (up to rounding).  The loop of
 * ns_search.h, over a key computed from two arrays (none of its searches
 * reads one). */
NS_INLINE int64_t count_gap_le(const double *cum, const int64_t *ids,
                               const double *prefix, int64_t len, double u) {
    if (len <= 0) return 0;
    int64_t pos = 0;
    while (len > 1) {
        const int64_t half = len >> 1;
        const int64_t i = pos + half - 1;
        pos += half & -(int64_t)(cum[ids[i]] - prefix[i] <= u);
        len -= half;
    }
    return pos + (cum[ids[pos]] - prefix[pos] <= u);
}

/* The eligible item at coordinate u in [0, E) of a weighted row (u counts
 * the mass of non-positive items before it), or -1 on a rounding edge. */
static int64_t invert_weighted(const ns_negative_law *law,
                               const ns_neg_row *row, double u) {
    const double *cum = law->cum, *pre = row->pre;
    const int64_t *ids = row->ids;
    const int64_t m = row->m, n = law->n_items;
    const int64_t J = count_gap_le(cum, ids, pre, m, u);
    /* The item lies strictly between positives J - 1 and J. */
    const double before = (J < m) ? pre[J] : row->mass;
    const int64_t lo = (J > 0) ? ids[J - 1] + 1 : 0;
    const int64_t hi = (J < m) ? ids[J] : n;
    if (lo >= hi) return -1;
    const int64_t c = ns_search_count_le_f64(cum + lo, hi - lo, u + before);
    const int64_t x = lo + (c > 0 ? c - 1 : 0);
    if (!(law->prob[x] > 0.0)) return -1;
    return x;
}

/* 1 when x is in neither sorted list; a and b walk ids and chosen along
 * with increasing x. */
NS_INLINE int scan_eligible(const int64_t *ids, int64_t m, int64_t *a,
                            const int64_t *chosen, int64_t nc, int64_t *b,
                            int64_t x) {
    while (*a < m && ids[*a] < x) ++*a;
    while (*b < nc && chosen[*b] < x) ++*b;
    return !((*a < m && ids[*a] == x) || (*b < nc && chosen[*b] == x));
}

/* Exact O(n + m) fallback: item drawn from the law restricted to items that
 * are in neither ids[0..m) nor chosen[0..nc) (both sorted), by two passes.
 * Returns -1 only when no such item has positive mass. */
static int64_t scan_weighted(const ns_negative_law *law, const int64_t *ids,
                             int64_t m, const int64_t *chosen, int64_t nc,
                             ns_rng_t *rng) {
    const int64_t n = law->n_items;
    const double *prob = law->prob;
    ns_sum total = NS_SUM_ZERO;
    int64_t a = 0, b = 0, last = -1;
    for (int64_t x = 0; x < n; x++) {
        if (!scan_eligible(ids, m, &a, chosen, nc, &b, x)) continue;
        if (!(prob[x] > 0.0)) continue;
        ns_sum_add(&total, prob[x]);
        last = x;
    }
    if (last < 0) return -1;
    const double u = ns_rng_double(rng) * ns_sum_value(&total);
    /* A plain running sum: its rounding moves a boundary by an ulp, and a
     * u past the last boundary falls to `last`. */
    double acc = 0.0;
    a = 0;
    b = 0;
    for (int64_t x = 0; x < last; x++) {
        if (!scan_eligible(ids, m, &a, chosen, nc, &b, x)) continue;
        acc += prob[x];
        if (prob[x] > 0.0 && u < acc) return x;
    }
    return last;
}

/* One inversion draw over the complement of a weighted row's positives and
 * its chosen items (holes at coordinates hole_at[0..nc) of lengths
 * hole_len, sorted; nc = 0 with replacement).  hole_total = sum hole_len,
 * eligible = the row's eligible mass. */
static int64_t draw_inversion(const ns_negative_law *law,
                              const ns_neg_row *row, double eligible,
                              const int64_t *chosen, const double *hole_at,
                              const double *hole_len, int64_t nc,
                              double hole_total, ns_rng_t *rng) {
    const double span = eligible - hole_total;
    /* cum[] resolves masses only to ~1e-16 of the total: when the mass left
     * is below NS_NEG_MIN_SPAN of it, the O(n) scan (which sums the masses
     * themselves) keeps the law exact. */
    if (span > NS_NEG_MIN_SPAN * law->cum[law->n_items]) {
        for (int retry = 0; retry < NS_NEGATIVE_MAX_RETRY; retry++) {
            double u = ns_rng_double(rng) * span;
            /* Skip the holes: map u past every chosen interval before it. */
            for (int64_t i = 0; i < nc; i++) {
                if (hole_at[i] <= u) u += hole_len[i];
                else break;
            }
            const int64_t x = invert_weighted(law, row, u);
            if (x >= 0 && !ns_search_contains(chosen, nc, x)) return x;
        }
    }
    return scan_weighted(law, row->ids, row->m, chosen, nc, rng);
}

/* The nb (<= NS_NEG_BATCH) candidates of one rejection batch, drawn from
 * the base table: every alias column is drawn (or taken from the caller's
 * pipeline) and prefetched before any entry is read. */
static void batch_candidates(const ns_alias_entry *table, uint64_t n, int nb,
                             const uint64_t *pipe_cols,
                             const uint32_t *pipe_coins, ns_rng_t *rng,
                             int64_t *cand) {
    uint64_t cols[NS_NEG_BATCH];
    uint32_t coins[NS_NEG_BATCH];
    const uint64_t *c = pipe_cols ? pipe_cols : cols;
    const uint32_t *h = pipe_cols ? pipe_coins : coins;
    if (!pipe_cols) {
        for (int b = 0; b < nb; b++) {
            cols[b] = ns_alias_column(n, rng, &coins[b]);
            NS_PREFETCH(&table[cols[b]], 1);
        }
    }
    for (int b = 0; b < nb; b++) cand[b] = ns_alias_resolve(table, c[b], h[b], rng);
}

/* With replacement, rejection from the base table against the positives:
 * batches of candidates, each tested by the filter or by NS_SEARCH_GROUP
 * lockstep searches; a positive is redrawn, and after NS_NEG_MAX_REJECT
 * rejections replaced by an inversion draw. */
static void weighted_reject(const ns_negative_law *law, const ns_neg_row *row,
                            double eligible, int64_t k,
                            const uint64_t *pipe_cols,
                            const uint32_t *pipe_coins, ns_rng_t *rng,
                            int64_t *dst) {
    const uint64_t n = (uint64_t)law->n_items;
    const ns_alias_entry *table = law->table;
    const int64_t *ids = row->ids;
    const int64_t m = row->m;
    uint64_t bloom[NS_BLOOM_WORDS];
    const uint64_t *filter = row->filter;
    if (!filter && ns_bloom_pays(m, k)) {
        ns_bloom_build(bloom, ids, m);
        filter = bloom;
    }
    int64_t cand[NS_NEG_BATCH];
    int found[NS_NEG_BATCH];
    for (int64_t t0 = 0; t0 < k; t0 += NS_NEG_BATCH) {
        const int nb = (int)((k - t0 < NS_NEG_BATCH) ? k - t0 : NS_NEG_BATCH);
        batch_candidates(table, n, nb, pipe_cols ? pipe_cols + t0 : NULL,
                         pipe_coins ? pipe_coins + t0 : NULL, rng, cand);
        if (filter) {
            for (int b = 0; b < nb; b++) {
                found[b] = ns_bloom_contains(filter, ids, m, cand[b]);
            }
        } else {
            for (int b = nb; b < NS_NEG_BATCH; b++) cand[b] = -1;
            for (int b = 0; b < nb; b += NS_SEARCH_GROUP) {
                ns_search_contains_group(ids, m, cand + b, found + b);
            }
        }
        for (int b = 0; b < nb; b++) {
            int64_t x = cand[b];
            if (found[b]) {
                /* Rejection: redraw until the item is not a positive. */
                int rejected = 1;
                do {
                    if (rejected++ >= NS_NEG_MAX_REJECT) {
                        x = draw_inversion(law, row, eligible, NULL, NULL,
                                           NULL, 0, 0.0, rng);
                        break;
                    }
                    x = ns_alias_draw(table, n, rng);
                } while (ns_bloom_contains(filter, ids, m, x));
            }
            dst[t0 + b] = x;
        }
    }
}

void ns_neg_row_weighted_replace(const ns_negative_law *law,
                                 const ns_neg_row *row, int64_t k,
                                 const uint64_t *pipe_cols,
                                 const uint32_t *pipe_coins, ns_rng_t *rng,
                                 int64_t *dst) {
    const double total = law->cum[law->n_items];
    const double eligible = total - row->mass;
    if (row->comp) {
        const uint64_t c = (uint64_t)law->n_items - (uint64_t)row->m;
        for (int64_t t = 0; t < k; t++) {
            dst[t] = row->comp[ns_alias_draw(row->comp_table, c, rng)];
        }
    } else if (eligible >= NS_NEGATIVE_REJECT_MIN * total) {
        weighted_reject(law, row, eligible, k, pipe_cols, pipe_coins, rng, dst);
    } else {
        for (int64_t t = 0; t < k; t++) {
            dst[t] = draw_inversion(law, row, eligible, NULL, NULL, NULL, 0,
                                    0.0, rng);
        }
    }
}

/* Without replacement, one rejection attempt series for draw t: from the
 * complement table (mass `eligible`) when the row has one, else from the
 * base table (mass `total`), while the mass left is a large enough share of
 * that proposal; -1 when it is not, or after NS_NEG_MAX_REJECT rejections. */
static int64_t distinct_reject(const ns_negative_law *law,
                               const ns_neg_row *row, const uint64_t *filter,
                               double eligible, double chosen_mass,
                               const int64_t *chosen, int64_t t,
                               ns_rng_t *rng) {
    const uint64_t n = (uint64_t)law->n_items;
    const int64_t *comp = row->comp;
    const double proposal = comp ? eligible : law->cum[law->n_items];
    if (!(eligible - chosen_mass >= NS_NEGATIVE_REJECT_MIN * proposal)) return -1;
    for (int rejected = 0; rejected < NS_NEG_MAX_REJECT; rejected++) {
        const int64_t y =
            comp ? comp[ns_alias_draw(row->comp_table, n - (uint64_t)row->m, rng)]
                 : ns_alias_draw(law->table, n, rng);
        if ((comp || !ns_bloom_contains(filter, row->ids, row->m, y)) &&
            !ns_search_contains(chosen, t, y)) {
            return y;
        }
    }
    return -1;
}

void ns_neg_row_weighted_distinct(const ns_negative_law *law,
                                  const ns_neg_row *row, int64_t k,
                                  ns_rng_t *rng, int64_t *dst,
                                  int64_t *chosen, double *hole_at,
                                  double *hole_len) {
    const double *cum = law->cum;
    const int64_t *ids = row->ids;
    const int64_t m = row->m;
    const double eligible = cum[law->n_items] - row->mass;
    uint64_t bloom[NS_BLOOM_WORDS];
    const uint64_t *filter = row->filter;
    if (!row->comp && !filter && ns_bloom_pays(m, k)) {
        ns_bloom_build(bloom, ids, m);
        filter = bloom;
    }
    /* chosen, hole_at, hole_len stay sorted by item id, which is also the
     * order of the complement coordinate. */
    double hole_total = 0.0, chosen_mass = 0.0;
    for (int64_t t = 0; t < k; t++) {
        int64_t x = distinct_reject(law, row, filter, eligible, chosen_mass,
                                    chosen, t, rng);
        if (x < 0) {
            x = draw_inversion(law, row, eligible, chosen, hole_at, hole_len,
                               t, hole_total, rng);
        }
        dst[t] = x;
        const int64_t pos = ns_search_count_lt(chosen, t, x);
        const size_t tail = (size_t)(t - pos);
        memmove(chosen + pos + 1, chosen + pos, tail * sizeof *chosen);
        memmove(hole_at + pos + 1, hole_at + pos, tail * sizeof *hole_at);
        memmove(hole_len + pos + 1, hole_len + pos, tail * sizeof *hole_len);
        const int64_t J = ns_search_count_lt(ids, m, x);
        const double before = (J < m) ? row->pre[J] : row->mass;
        chosen[pos] = x;
        hole_at[pos] = cum[x] - before;
        hole_len[pos] = cum[x + 1] - cum[x];
        hole_total += hole_len[pos];
        chosen_mass += law->prob[x];
    }
}

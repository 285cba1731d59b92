/*
 * ns_kg_sampler.c -- the prepared knowledge-graph sampler (see ns_kg.h):
 * an anchor index per side, then one call per batch that finds every
 * triple's known items on each side, checks that each triple has a valid
 * replacement somewhere, and draws its k corruptions.
 *
 * The law of one draw on a side: with R the sorted known items of the
 * triple's anchor and o its own item, the replacement is uniform over the
 * allowed items outside R and other than o.  Without a pool the allowed
 * items are [0, n_items): the j-th item not in R is ns_search_free_id(R,
 * j), and skipping o (which is not in R when it must be skipped) is taking
 * the (j + 1)-th once the j-th reaches o.  With a pool P the same rank runs
 * over positions in P: the positions of R's items that lie in P are sorted
 * (R and P are), the j-th free position is again ns_search_free_id, and o's
 * position is skipped the same way.  One bounded integer per draw, no
 * rejection: the cost and the random stream do not depend on how full a
 * row is.
 */
#include <stdlib.h>

#include "ns_common.h"
#include "ns_kg.h"
#include "ns_pool.h"
#include "ns_rng.h"
#include "ns_search.h"

/* Triples looked up together in the first pass: their index slots, then
 * their row offsets, then their rows are prefetched a stage apart, so the
 * misses of a batch overlap instead of chaining. */
#define NS_KG_LOOK 32

/* Blocks per thread below which a call stays on the caller's thread. */
#define NS_KG_MIN_BLOCKS 4

/* Per triple and side, what the first pass found (int64 fields). */
enum { INFO_START, INFO_LEN, INFO_OWN, INFO_ELIGIBLE, INFO_FIELDS };

NS_INLINE int64_t slot_of(int64_t anchor, int shift) {
    return (int64_t)(((uint64_t)anchor * 0x9E3779B97F4A7C15ULL) >> shift);
}

NS_INLINE int64_t anchor_of(const ns_kg_side *sd, const int64_t *t,
                            int64_t n_entities) {
    return t[sd->first] * n_entities + t[sd->second];
}

int ns_kg_index_build(const int64_t *anchors, int64_t n_groups,
                      int64_t *slots, int64_t mask, int shift) {
    const int64_t cap = mask + 1;
    if (n_groups < 0 || mask < 1 || (cap & mask) != 0 || cap < 2 * n_groups ||
        shift < 1 || shift > 63 || ((uint64_t)1 << (64 - shift)) != (uint64_t)cap)
        return NS_ERR_VALUE;
    for (int64_t s = 0; s < 2 * cap; s++) slots[s] = -1;
    for (int64_t g = 0; g < n_groups; g++) {
        const int64_t a = anchors[g];
        if (a < 0 || (g > 0 && a <= anchors[g - 1])) return NS_ERR_VALUE;
        int64_t s = slot_of(a, shift);
        while (slots[2 * s] >= 0) s = (s + 1) & mask;
        slots[2 * s] = a;
        slots[2 * s + 1] = g;
    }
    return NS_OK;
}

/* The group of `anchor`, or -1.  Terminates: at most half the slots are
 * used. */
NS_INLINE int64_t find_group(const ns_kg_side *sd, int64_t anchor) {
    int64_t s = slot_of(anchor, sd->shift);
    for (;;) {
        const int64_t a = sd->slots[2 * s];
        if (a == anchor) return sd->slots[2 * s + 1];
        if (a < 0) return -1;
        s = (s + 1) & sd->mask;
    }
}

/* The pool of relation r (empty when r has no pool entry). */
NS_INLINE void pool_of(const ns_kg_side *sd, int64_t r, const int64_t **ids,
                       int64_t *len) {
    if (r < sd->n_pools) {
        *ids = sd->pool_ids + sd->pool_ptr[r];
        *len = sd->pool_ptr[r + 1] - sd->pool_ptr[r];
    } else {
        *ids = sd->pool_ids;
        *len = 0;
    }
}

typedef struct {
    const ns_kg_side *sides;
    int n_sides;
    int64_t n_entities, m, k;
    const int64_t *triples;
    const double *p_head;
    uint64_t k0, k1;
    const int64_t *keys;
    int64_t *info; /* m * n_sides * INFO_FIELDS */
    int64_t *out;
    int64_t scratch_len; /* sum of max_len + 1 over the pooled sides */
} kg_job;

/* Fills the info of one triple's side from its row (start, len). */
NS_INLINE void side_info(const ns_kg_side *sd, const int64_t *t, int64_t start,
                         int64_t len, int64_t *info) {
    const int64_t *row = sd->items + start;
    const int64_t own = t[sd->column];
    const int own_known = ns_search_contains(row, len, own);
    info[INFO_START] = start;
    info[INFO_LEN] = len;
    if (!sd->pool_ptr) {
        info[INFO_OWN] = !own_known;
        info[INFO_ELIGIBLE] = sd->n_items - len - !own_known;
        return;
    }
    const int64_t *pool;
    int64_t n_pool;
    pool_of(sd, t[1], &pool, &n_pool);
    int64_t in_pool = 0;
    for (int64_t i = 0; i < len; i++) in_pool += ns_search_contains(pool, n_pool, row[i]);
    const int own_free = !own_known && ns_search_contains(pool, n_pool, own);
    info[INFO_OWN] = own_free;
    info[INFO_ELIGIBLE] = n_pool - in_pool - own_free;
}

/* First pass over blocks [c0, c1): rows and eligible counts. */
static int locate_blocks(void *vjob, int64_t c0, int64_t c1) {
    const kg_job *job = (const kg_job *)vjob;
    const int ns = job->n_sides;
    const int64_t lo = c0 * NS_KG_BLOCK;
    const int64_t hi = c1 * NS_KG_BLOCK < job->m ? c1 * NS_KG_BLOCK : job->m;
    int64_t anchor[NS_KG_LOOK * 3], group[NS_KG_LOOK * 3];
    for (int64_t i0 = lo; i0 < hi; i0 += NS_KG_LOOK) {
        const int64_t n = hi - i0 < NS_KG_LOOK ? hi - i0 : NS_KG_LOOK;
        for (int64_t i = 0; i < n; i++) {
            const int64_t *t = job->triples + 3 * (i0 + i);
            for (int s = 0; s < ns; s++) {
                const ns_kg_side *sd = &job->sides[s];
                anchor[i * ns + s] = anchor_of(sd, t, job->n_entities);
                NS_PREFETCH(&sd->slots[2 * slot_of(anchor[i * ns + s], sd->shift)], 1);
            }
        }
        for (int64_t i = 0; i < n * ns; i++) {
            const ns_kg_side *sd = &job->sides[i % ns];
            group[i] = find_group(sd, anchor[i]);
            if (group[i] >= 0) NS_PREFETCH(&sd->indptr[group[i]], 1);
        }
        for (int64_t i = 0; i < n * ns; i++) {
            const ns_kg_side *sd = &job->sides[i % ns];
            int64_t *info = job->info + (i0 * ns + i) * INFO_FIELDS;
            const int64_t g = group[i];
            info[INFO_START] = g >= 0 ? sd->indptr[g] : 0;
            info[INFO_LEN] = g >= 0 ? sd->indptr[g + 1] - sd->indptr[g] : 0;
            NS_PREFETCH(&sd->items[info[INFO_START]], 1);
        }
        for (int64_t i = 0; i < n * ns; i++) {
            int64_t *info = job->info + (i0 * ns + i) * INFO_FIELDS;
            side_info(&job->sides[i % ns], job->triples + 3 * (i0 + i / ns),
                      info[INFO_START], info[INFO_LEN], info);
        }
    }
    return NS_OK;
}

/* The weight of side s of a triple of relation r (before eligibility). */
NS_INLINE double side_weight(const kg_job *job, int s, int64_t r) {
    if (!job->p_head) return 1.0;
    return s == 0 ? job->p_head[r] : 1.0 - job->p_head[r];
}

/* One side of one triple, ready to draw from. */
typedef struct {
    const int64_t *free_of; /* sorted ids (no pool) or positions (pool) */
    int64_t n_free_of;      /* their count */
    const int64_t *pool;    /* NULL: no pool */
    int64_t skip;           /* the id or position to skip, or -1 */
    int64_t eligible;
} side_draw;

/* Prepares side s of triple t (info: its first-pass fields); a pooled side
 * writes the positions of its row's items in the pool into scratch. */
static side_draw prepare(const ns_kg_side *sd, const int64_t *t,
                         const int64_t *info, int64_t *scratch) {
    const int64_t *row = sd->items + info[INFO_START];
    const int64_t len = info[INFO_LEN], own = t[sd->column];
    side_draw d = {.free_of = row, .n_free_of = len, .pool = NULL,
                   .skip = info[INFO_OWN] ? own : -1,
                   .eligible = info[INFO_ELIGIBLE]};
    if (!sd->pool_ptr) return d;
    int64_t n_pool;
    pool_of(sd, t[1], &d.pool, &n_pool);
    int64_t c = 0;
    for (int64_t i = 0; i < len; i++) {
        const int64_t p = ns_search_count_lt(d.pool, n_pool, row[i]);
        if (p < n_pool && d.pool[p] == row[i]) scratch[c++] = p;
    }
    d.free_of = scratch;
    d.n_free_of = c;
    d.skip = info[INFO_OWN] ? ns_search_count_lt(d.pool, n_pool, own) : -1;
    return d;
}

/* One replacement from a prepared side. */
NS_INLINE int64_t draw_one(const side_draw *d, ns_rng_t *rng) {
    const int64_t j = (int64_t)ns_rng_bounded(rng, (uint64_t)d->eligible);
    int64_t y = ns_search_free_id(d->free_of, d->n_free_of, j);
    if (d->skip >= 0 && y >= d->skip) y = ns_search_free_id(d->free_of, d->n_free_of, j + 1);
    return d->pool ? d->pool[y] : y;
}

/* The k corruptions of triple i. */
static void corrupt_one(const kg_job *job, int64_t i, ns_rng_t *rng,
                        int64_t *scratch) {
    const int ns = job->n_sides;
    const int64_t *t = job->triples + 3 * i;
    const int64_t *info = job->info + i * ns * INFO_FIELDS;
    double cum[3];
    double total = 0.0;
    int last = -1, n_pos = 0;
    for (int s = 0; s < ns; s++) {
        const double w = info[s * INFO_FIELDS + INFO_ELIGIBLE] > 0
                             ? side_weight(job, s, t[1]) : 0.0;
        if (w > 0) {
            last = s;
            n_pos++;
        }
        total += w;
        cum[s] = total;
    }
    side_draw d[3];
    int ready[3] = {0, 0, 0};
    int64_t *o = job->out + 3 * job->k * i;
    int64_t *scr = scratch;
    for (int64_t slot = 0; slot < job->k; slot++, o += 3) {
        /* The first side whose cumulative weight exceeds u: never a side
         * of weight 0 (its cumulative weight equals the previous one). */
        int s = last;
        if (n_pos > 1) {
            const double u = ns_rng_double(rng) * total;
            s = 0;
            while (s < last && !(u < cum[s])) s++;
        }
        const ns_kg_side *sd = &job->sides[s];
        if (!ready[s]) {
            d[s] = prepare(sd, t, info + s * INFO_FIELDS, scr);
            if (sd->pool_ptr) scr += sd->max_len + 1;
            ready[s] = 1;
        }
        o[0] = t[0];
        o[1] = t[1];
        o[2] = t[2];
        o[sd->column] = draw_one(&d[s], rng);
    }
}

/* Second pass over blocks [c0, c1): the draws. */
static int draw_blocks(void *vjob, int64_t c0, int64_t c1) {
    const kg_job *job = (const kg_job *)vjob;
    int64_t *scratch = NULL;
    if (job->scratch_len > 0) {
        scratch = (int64_t *)malloc((size_t)job->scratch_len * sizeof *scratch);
        if (!scratch) return NS_ERR_ALLOC;
    }
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_KG_BLOCK, job->m, &lo, &hi);
        ns_rng_t rng; /* block c's stream (with keys, each triple's own) */
        ns_rng_seed(&rng, job->k0, job->k1, (uint64_t)c);
        for (int64_t i = lo; i < hi; i++) {
            if (job->keys) ns_rng_seed_keyed(&rng, job->k0, job->k1, job->keys[i]);
            corrupt_one(job, i, &rng, scratch);
        }
    }
    free(scratch);
    return NS_OK;
}

int ns_kg_sample(const ns_kg_side *sides, int n_sides, int64_t n_entities,
                 const int64_t *triples, int64_t m, int64_t k,
                 const double *p_head, uint64_t k0, uint64_t k1,
                 const int64_t *keys, const ns_par *par, int64_t *out,
                 int64_t *bad) {
    *bad = -1;
    if (n_sides < 1 || n_sides > 3 || m < 0 || k < 0 || n_entities < 1) return NS_ERR_VALUE;
    if (p_head && (n_sides != 2 || sides[0].column != 0 || sides[1].column != 2))
        return NS_ERR_VALUE;
    if (m == 0) return NS_OK;
    int64_t scratch_len = 0;
    for (int s = 0; s < n_sides; s++) {
        if (sides[s].pool_ptr) scratch_len += sides[s].max_len + 1;
    }
    kg_job job = {
        .sides = sides,
        .n_sides = n_sides,
        .n_entities = n_entities,
        .m = m,
        .k = k,
        .triples = triples,
        .p_head = p_head,
        .k0 = k0,
        .k1 = k1,
        .keys = keys,
        .out = out,
        .scratch_len = scratch_len,
    };
    job.info = (int64_t *)malloc((size_t)m * (size_t)n_sides * INFO_FIELDS * sizeof *job.info);
    if (!job.info) return NS_ERR_ALLOC;
    const int64_t n_blocks = ns_chunk_count(m, NS_KG_BLOCK);
    int status = ns_par_for(par, n_blocks, NS_KG_MIN_BLOCKS, locate_blocks, &job);
    for (int64_t i = 0; status == NS_OK && i < m; i++) {
        double total = 0.0;
        for (int s = 0; s < n_sides; s++) {
            if (job.info[(i * n_sides + s) * INFO_FIELDS + INFO_ELIGIBLE] > 0)
                total += side_weight(&job, s, triples[3 * i + 1]);
        }
        if (!(total > 0)) {
            *bad = i;
            status = NS_ERR_EXHAUSTED;
        }
    }
    if (status == NS_OK && k > 0)
        status = ns_par_for(par, n_blocks, NS_KG_MIN_BLOCKS, draw_blocks, &job);
    free(job.info);
    return status;
}

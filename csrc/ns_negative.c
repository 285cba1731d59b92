#include "ns_negative.h"
#include "ns_csr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define NS_NEG_PREFETCH(p) __builtin_prefetch((p), 0, 1)
#else
#define NS_NEG_PREFETCH(p) ((void)0)
#endif

/* Large tuple outputs (far beyond the caches) are written once and not
 * read back by the kernel: streaming stores skip the read of each output
 * line (x86-64; plain stores elsewhere).  Measured on the corrupt_triples
 * case (384 MB): about 10% at 1 thread, 15% at 2. */
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define NS_NEG_STREAM(p, v) _mm_stream_si64((long long *)(p), (long long)(v))
#define NS_NEG_STREAM_FENCE() _mm_sfence()
#else
#define NS_NEG_STREAM(p, v) (*(p) = (v))
#define NS_NEG_STREAM_FENCE() ((void)0)
#endif
#define NS_NEG_STREAM_MIN_BYTES ((int64_t)1 << 24)

/* Candidates resolved per batch in rejection mode: their alias entries are
 * prefetched first so that the cache misses overlap. */
#define NS_NEG_BATCH 32

/* Rejections in a row of one draw before it switches to inversion (only
 * reached when the positives hold nearly all the mass, or the chosen items
 * do without replacement). */
#define NS_NEG_MAX_REJECT 32

/* Smallest share of the total mass that inversion over cum[] handles (the
 * law's relative error there is ~1e-16 / 2^-24 per gap); below, a scan. */
#define NS_NEG_MIN_SPAN (1.0 / 16777216.0)

/* #{i in [0, len) : ids[i] - i <= j}.  ids is sorted and unique, so
 * ids[i] - i is non-decreasing; the answer is the rank-j complement item
 * minus j.  Branch-free (loop count depends on len only). */
NS_INLINE int64_t count_shift_le(const int64_t *ids, int64_t len, int64_t j) {
    if (len <= 0) return 0;
    int64_t pos = 0;
    while (len > 1) {
        const int64_t half = len >> 1;
        const int64_t i = pos + half - 1;
        pos += half & -(int64_t)(ids[i] - i <= j);
        len -= half;
    }
    return pos + (ids[pos] - pos <= j);
}

/* count_shift_le for NS_NEG_GROUP values j[0..G) at once: the searches run
 * in lockstep, so their load latencies overlap instead of chaining. */
#define NS_NEG_GROUP 8
NS_INLINE void count_shift_le_group(const int64_t *ids, int64_t len,
                                    const int64_t *j, int64_t *count, int g) {
    int64_t pos[NS_NEG_GROUP] = {0};
    if (len <= 0) {
        for (int t = 0; t < g; t++) count[t] = 0;
        return;
    }
    while (len > 1) {
        const int64_t half = len >> 1;
        for (int t = 0; t < g; t++) {
            const int64_t i = pos[t] + half - 1;
            pos[t] += half & -(int64_t)(ids[i] - i <= j[t]);
        }
        len -= half;
    }
    for (int t = 0; t < g; t++) count[t] = pos[t] + (ids[pos[t]] - pos[t] <= j[t]);
}

/* ns_csr_contains for NS_NEG_GROUP items at once (lockstep, as above). */
NS_INLINE void contains_group(const int64_t *ids, int64_t len,
                              const int64_t *item, int *found) {
    int64_t pos[NS_NEG_GROUP] = {0};
    if (len <= 0) {
        for (int t = 0; t < NS_NEG_GROUP; t++) found[t] = 0;
        return;
    }
    while (len > 1) {
        const int64_t half = len >> 1;
        for (int t = 0; t < NS_NEG_GROUP; t++) {
            pos[t] += half & -(int64_t)(ids[pos[t] + half - 1] < item[t]);
        }
        len -= half;
    }
    for (int t = 0; t < NS_NEG_GROUP; t++) found[t] = ids[pos[t]] == item[t];
}

/* A one-cache-line Bloom filter of a short row (Bloom 1970; precomputed per
 * row by ns_negative_bloom_build, or built on the stack per output row): a
 * candidate with a clear bit is certainly not a positive, which skips the
 * binary search for most candidates. */
#define NS_NEG_BLOOM_WORDS NS_NEGATIVE_BLOOM_WORDS
#define NS_NEG_BLOOM_MAX NS_NEGATIVE_BLOOM_MAX /* longer rows fill it */

/* Two 9-bit positions from one multiplicative hash (Knuth): 50 ids give a
 * false-positive rate of about (1 - e^(-100/512))^2 = 3%. */
NS_INLINE uint64_t bloom_hash(int64_t x) {
    return (uint64_t)x * 0x9E3779B97F4A7C15ULL;
}

NS_INLINE void bloom_build(uint64_t *f, const int64_t *ids, int64_t m) {
    for (int w = 0; w < NS_NEG_BLOOM_WORDS; w++) f[w] = 0;
    for (int64_t i = 0; i < m; i++) {
        const uint64_t h = bloom_hash(ids[i]);
        const uint64_t b1 = h >> 55, b2 = (h >> 46) & 511;
        f[b1 >> 6] |= (uint64_t)1 << (b1 & 63);
        f[b2 >> 6] |= (uint64_t)1 << (b2 & 63);
    }
}

/* Branch-free binary search (the select compiles to arithmetic, never to
 * a mispredicted jump). */
NS_INLINE int contains_bf(const int64_t *ids, int64_t len, int64_t item) {
    if (len <= 0) return 0;
    int64_t pos = 0;
    while (len > 1) {
        const int64_t half = len >> 1;
        pos += half & -(int64_t)(ids[pos + half - 1] < item);
        len -= half;
    }
    return ids[pos] == item;
}

/* #{i : ids[i] < item} in the sorted ids[0..len), branch-free (the
 * insertion point of a chosen item is unpredictable). */
NS_INLINE int64_t lower_bound_bf(const int64_t *ids, int64_t len, int64_t item) {
    if (len <= 0) return 0;
    int64_t pos = 0;
    while (len > 1) {
        const int64_t half = len >> 1;
        pos += half & -(int64_t)(ids[pos + half - 1] < item);
        len -= half;
    }
    return pos + (ids[pos] < item);
}

/* 1 when x is in ids[0..m), using the filter first when `f` is not NULL. */
NS_INLINE int is_positive(const uint64_t *f, const int64_t *ids, int64_t m,
                          int64_t x) {
    if (f) {
        const uint64_t h = bloom_hash(x);
        const uint64_t b1 = h >> 55, b2 = (h >> 46) & 511;
        if (!((f[b1 >> 6] >> (b1 & 63)) & (f[b2 >> 6] >> (b2 & 63)) & 1)) return 0;
    }
    return contains_bf(ids, m, x);
}

/* Rows of a CSR pass per chunk (each row costs about its length). */
#define NS_NEG_ROWS_CHUNK 1024

typedef struct {
    const double *prob;
    int64_t n_items;
    const int64_t *indptr, *indices;
    int64_t n_rows;
    uint64_t *bloom;
    double *row_mass, *prefix, *row_eligible;
    int64_t *row_nonzero;
    const int64_t *comp_ptr;
    int64_t *comp_ids;
    ns_alias_entry *comp_table;
    const int64_t *dense; /* rows that have a complement */
} rows_job;

static int bloom_chunk(void *vjob, int64_t c0, int64_t c1) {
    const rows_job *job = (const rows_job *)vjob;
    const int64_t *indptr = job->indptr;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_NEG_ROWS_CHUNK, job->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            bloom_build(job->bloom + r * NS_NEG_BLOOM_WORDS,
                        job->indices + indptr[r], indptr[r + 1] - indptr[r]);
        }
    }
    return NS_OK;
}

int ns_negative_bloom_build(const int64_t *indptr, const int64_t *indices,
                            int64_t n_rows, uint64_t *bloom,
                            const ns_par *par) {
    if (n_rows < 0) return NS_ERR_VALUE;
    rows_job job = {
        .indptr = indptr,
        .indices = indices,
        .n_rows = n_rows,
        .bloom = bloom,
    };
    return ns_par_for(par, ns_chunk_count(n_rows, NS_NEG_ROWS_CHUNK), 8,
                      bloom_chunk, &job);
}

/* The filter pays when it is built once for many draws of a short row. */
NS_INLINE int bloom_pays(int64_t m, int64_t k) {
    return m > 0 && m <= NS_NEG_BLOOM_MAX && m <= 8 * k;
}

/* #{j in [0, m) : cum[ids[j]] - prefix[j] <= u}: the eligible mass before
 * positive j is non-decreasing in j (up to rounding). */
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

/* #{x in [lo, hi) : cum[x] <= v} (cum is non-decreasing). */
NS_INLINE int64_t count_cum_le(const double *cum, int64_t lo, int64_t hi,
                               double v) {
    int64_t len = hi - lo;
    if (len <= 0) return 0;
    const double *base = cum + lo;
    int64_t pos = 0;
    while (len > 1) {
        const int64_t half = len >> 1;
        pos += half & -(int64_t)(base[pos + half - 1] <= v);
        len -= half;
    }
    return pos + (base[pos] <= v);
}

/* The eligible item at coordinate u in [0, E) of a weighted row (u counts
 * the mass of non-positive items before it), or -1 on a rounding edge. */
static int64_t invert_weighted(const ns_negative_law *law, const int64_t *ids,
                               const double *pre, int64_t m, double mass,
                               double u) {
    const double *cum = law->cum;
    const int64_t n = law->n_items;
    const int64_t J = count_gap_le(cum, ids, pre, m, u);
    /* The item lies strictly between positives J - 1 and J. */
    const double before = (J < m) ? pre[J] : mass;
    const int64_t lo = (J > 0) ? ids[J - 1] + 1 : 0;
    const int64_t hi = (J < m) ? ids[J] : n;
    if (lo >= hi) return -1;
    const int64_t c = count_cum_le(cum, lo, hi, u + before);
    const int64_t x = lo + (c > 0 ? c - 1 : 0);
    if (!(law->prob[x] > 0.0)) return -1;
    return x;
}

/* Exact O(n + m) fallback: item drawn from the law restricted to items that
 * are in neither ids[0..m) nor chosen[0..nc) (both sorted), by two passes.
 * Returns -1 only when no such item has positive mass. */
static int64_t scan_weighted(const ns_negative_law *law, const int64_t *ids,
                             int64_t m, const int64_t *chosen, int64_t nc,
                             ns_rng_t *rng) {
    const int64_t n = law->n_items;
    const double *prob = law->prob;
    double total = 0.0, comp = 0.0;
    int64_t a = 0, b = 0, last = -1;
    for (int64_t x = 0; x < n; x++) {
        while (a < m && ids[a] < x) a++;
        while (b < nc && chosen[b] < x) b++;
        if ((a < m && ids[a] == x) || (b < nc && chosen[b] == x)) continue;
        const double p = prob[x];
        if (!(p > 0.0)) continue;
        const double t = total + p;
        comp += (fabs(total) >= p) ? (total - t) + p : (p - t) + total;
        total = t;
        last = x;
    }
    if (last < 0) return -1;
    total += comp;
    const double u = ns_rng_double(rng) * total;
    double acc = 0.0;
    a = 0;
    b = 0;
    for (int64_t x = 0; x < last; x++) {
        while (a < m && ids[a] < x) a++;
        while (b < nc && chosen[b] < x) b++;
        if ((a < m && ids[a] == x) || (b < nc && chosen[b] == x)) continue;
        acc += prob[x];
        if (prob[x] > 0.0 && u < acc) return x;
    }
    return last;
}

/* One inversion draw over the complement of a weighted row's positives and
 * its chosen items (holes at coordinates hole_at[0..nc) of lengths
 * hole_len, sorted; nc = 0 with replacement).  hole_total = sum hole_len. */
static int64_t draw_inversion(const ns_negative_law *law, const int64_t *ids,
                              const double *pre, int64_t m, double mass,
                              double eligible, const int64_t *chosen,
                              const double *hole_at, const double *hole_len,
                              int64_t nc, double hole_total, ns_rng_t *rng) {
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
            const int64_t x = invert_weighted(law, ids, pre, m, mass, u);
            if (x >= 0 && !contains_bf(chosen, nc, x)) return x;
        }
    }
    return scan_weighted(law, ids, m, chosen, nc, rng);
}

int ns_negative_cumulative(const double *prob, int64_t n, double *cum) {
    if (n <= 0) return NS_ERR_VALUE;
    double sum = 0.0, comp = 0.0;
    cum[0] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double p = prob[i];
        const double t = sum + p;
        comp += (fabs(sum) >= fabs(p)) ? (sum - t) + p : (p - t) + sum;
        sum = t;
        cum[i + 1] = sum + comp;
    }
    return NS_OK;
}

static int row_stats_chunk(void *vjob, int64_t c0, int64_t c1) {
    const rows_job *job = (const rows_job *)vjob;
    const int64_t *indptr = job->indptr, *indices = job->indices;
    const double *prob = job->prob;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_NEG_ROWS_CHUNK, job->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            double sum = 0.0, comp = 0.0;
            int64_t nonzero = 0;
            for (int64_t j = indptr[r]; j < indptr[r + 1]; j++) {
                job->prefix[j] = sum + comp;
                const double p = prob[indices[j]];
                nonzero += p > 0.0;
                const double t = sum + p;
                comp += (fabs(sum) >= p) ? (sum - t) + p : (p - t) + sum;
                sum = t;
            }
            job->row_mass[r] = sum + comp;
            job->row_nonzero[r] = nonzero;
        }
    }
    return NS_OK;
}

int ns_negative_row_stats(const double *prob, int64_t n_items,
                          const int64_t *indptr, const int64_t *indices,
                          int64_t n_rows, double *row_mass,
                          int64_t *row_nonzero, double *prefix,
                          const ns_par *par) {
    if (n_items <= 0 || n_rows < 0) return NS_ERR_VALUE;
    rows_job job = {
        .prob = prob,
        .n_items = n_items,
        .indptr = indptr,
        .indices = indices,
        .n_rows = n_rows,
        .row_mass = row_mass,
        .row_nonzero = row_nonzero,
        .prefix = prefix,
    };
    return ns_par_for(par, ns_chunk_count(n_rows, NS_NEG_ROWS_CHUNK), 8,
                      row_stats_chunk, &job);
}

/* The complement of row r (and its alias table when weighted). */
static int complement_row(const rows_job *job, int64_t r) {
    const int64_t n_items = job->n_items;
    const int64_t off = job->comp_ptr[r], c = job->comp_ptr[r + 1] - off;
    if (c <= 0) return NS_OK;
    const int64_t lo = job->indptr[r], m = job->indptr[r + 1] - lo;
    const int64_t *ids = job->indices + lo;
    if (c != n_items - m) return NS_ERR_VALUE;
    int64_t *dst = job->comp_ids + off;
    int64_t a = 0, t = 0;
    for (int64_t x = 0; x < n_items; x++) {
        if (a < m && ids[a] == x) a++;
        else dst[t++] = x;
    }
    if (!job->prob) return NS_OK;
    int status = NS_OK;
    double *w = (double *)malloc((size_t)c * sizeof *w);
    int64_t *work = (int64_t *)malloc((size_t)c * sizeof *work);
    if (!w || !work) {
        status = NS_ERR_ALLOC;
    } else {
        double sum = 0.0, comp = 0.0;
        for (t = 0; t < c; t++) {
            const double p = job->prob[dst[t]];
            const double u = sum + p;
            comp += (fabs(sum) >= p) ? (sum - u) + p : (p - u) + sum;
            sum = u;
            w[t] = p;
        }
        if (job->row_eligible) job->row_eligible[r] = sum + comp;
        status = ns_alias_build(w, c, job->comp_table + off, work, NULL, NULL);
    }
    free(w);
    free(work);
    return status;
}

/* One dense row per chunk (job->dense lists them): each costs O(n_items). */
static int complement_chunk(void *vjob, int64_t c0, int64_t c1) {
    const rows_job *job = (const rows_job *)vjob;
    for (int64_t c = c0; c < c1; c++) {
        const int status = complement_row(job, job->dense[c]);
        if (status != NS_OK) return status;
    }
    return NS_OK;
}

int ns_negative_complement_build(int64_t n_items, const double *prob,
                                 const int64_t *indptr,
                                 const int64_t *indices, int64_t n_rows,
                                 const int64_t *comp_ptr, int64_t *comp_ids,
                                 ns_alias_entry *comp_table,
                                 double *row_eligible, const ns_par *par) {
    if (n_items <= 0 || n_rows < 0) return NS_ERR_VALUE;
    rows_job job = {
        .prob = prob,
        .n_items = n_items,
        .indptr = indptr,
        .indices = indices,
        .n_rows = n_rows,
        .comp_ptr = comp_ptr,
        .comp_ids = comp_ids,
        .comp_table = comp_table,
        .row_eligible = row_eligible,
    };
    int64_t n_dense = 0;
    for (int64_t r = 0; r < n_rows; r++) n_dense += comp_ptr[r + 1] > comp_ptr[r];
    if (n_dense == 0) return NS_OK;
    int64_t *dense = (int64_t *)malloc((size_t)n_dense * sizeof *dense);
    if (!dense) return NS_ERR_ALLOC;
    for (int64_t r = 0, d = 0; r < n_rows; r++) {
        if (comp_ptr[r + 1] > comp_ptr[r]) dense[d++] = r;
    }
    job.dense = dense;
    const int status = ns_par_for(par, n_dense, 1, complement_chunk, &job);
    free(dense);
    return status;
}

/* Inserts v at its sorted place in a[0..len) (len + 1 slots). */
NS_INLINE int64_t insert_sorted(int64_t *a, int64_t len, int64_t v) {
    const int64_t pos = lower_bound_bf(a, len, v);
    memmove(a + pos + 1, a + pos, (size_t)(len - pos) * sizeof *a);
    a[pos] = v;
    return pos;
}

/* Rows of at most this many ids are tested by a branch-free scan (the
 * scan below compares 4 slots). */
#define NS_NEG_SCAN_MAX 4

/* Uniform base law, one output row. */
static int row_uniform(const ns_negative_law *law, const int64_t *ids,
                       int64_t m, const int64_t *comp, const uint64_t *filter,
                       int64_t k, int replace, ns_rng_t *rng, int64_t *dst,
                       double *lq, int64_t *scratch) {
    const int64_t eligible = law->n_items - m;
    if (eligible < (replace ? 1 : k)) return NS_ERR_EXHAUSTED;
    if (replace && comp) {
        for (int64_t t = 0; t < k; t++) {
            dst[t] = comp[ns_rng_bounded(rng, (uint64_t)eligible)];
        }
    } else if (replace && m > 0 && m <= NS_NEG_SCAN_MAX && 4 * m <= law->n_items) {
        /* Very short row (most (head, relation) groups of a knowledge
         * graph): the same rejection as below, tested by a scan of the ids
         * instead of a filter (same draws, same output). */
        const uint64_t n = (uint64_t)law->n_items;
        int64_t p[NS_NEG_SCAN_MAX];
        for (int i = 0; i < NS_NEG_SCAN_MAX; i++) p[i] = ids[i < m ? i : m - 1];
        for (int64_t t = 0; t < k; t++) {
            int64_t x = (int64_t)ns_rng_bounded(rng, n);
            int rejected = 0;
            while ((x == p[0]) | (x == p[1]) | (x == p[2]) | (x == p[3])) {
                if (++rejected >= NS_NEG_MAX_REJECT) { /* (1/4)^32: never */
                    const int64_t j = (int64_t)ns_rng_bounded(rng, (uint64_t)eligible);
                    x = j + count_shift_le(ids, m, j);
                    break;
                }
                x = (int64_t)ns_rng_bounded(rng, n);
            }
            dst[t] = x;
        }
    } else if (replace && 4 * m <= law->n_items &&
               (filter || (m > 0 && m <= NS_NEG_BLOOM_MAX && m <= 2 * k))) {
        /* Short row, at most a quarter of the items: with a filter,
         * rejection costs about one bounded integer per draw.  Without a
         * precomputed one, building it pays for m <= 2 k (measured). */
        uint64_t local_filter[NS_NEG_BLOOM_WORDS];
        const uint64_t *f = filter;
        if (!f) {
            bloom_build(local_filter, ids, m);
            f = local_filter;
        }
        const uint64_t n = (uint64_t)law->n_items;
        for (int64_t t = 0; t < k; t++) {
            int64_t x = (int64_t)ns_rng_bounded(rng, n);
            int rejected = 0;
            while (is_positive(f, ids, m, x)) {
                if (++rejected >= NS_NEG_MAX_REJECT) { /* (1/4)^32: never */
                    const int64_t j = (int64_t)ns_rng_bounded(rng, (uint64_t)eligible);
                    x = j + count_shift_le(ids, m, j);
                    break;
                }
                x = (int64_t)ns_rng_bounded(rng, n);
            }
            dst[t] = x;
        }
    } else if (replace) {
        int64_t j[NS_NEG_GROUP] = {0}, c[NS_NEG_GROUP];
        for (int64_t t0 = 0; t0 < k; t0 += NS_NEG_GROUP) {
            const int g = (int)((k - t0 < NS_NEG_GROUP) ? k - t0 : NS_NEG_GROUP);
            for (int t = 0; t < g; t++) {
                j[t] = (int64_t)ns_rng_bounded(rng, (uint64_t)eligible);
            }
            count_shift_le_group(ids, m, j, c, g);
            for (int t = 0; t < g; t++) dst[t0 + t] = j[t] + c[t];
        }
    } else {
        /* scratch holds the complement ranks already chosen, sorted: the
         * j-th rank not chosen is j + #{i : rank[i] - i <= j}. */
        for (int64_t t = 0; t < k; t++) {
            const int64_t j =
                (int64_t)ns_rng_bounded(rng, (uint64_t)(eligible - t));
            const int64_t rank = j + count_shift_le(scratch, t, j);
            insert_sorted(scratch, t, rank);
            dst[t] = comp ? comp[rank] : rank + count_shift_le(ids, m, rank);
        }
    }
    if (lq) {
        const double v = -log((double)eligible);
        for (int64_t t = 0; t < k; t++) lq[t] = v;
    }
    return NS_OK;
}

/* Weighted base law, with replacement, one output row. */
static void row_weighted_replace(const ns_negative_law *law,
                                 const int64_t *ids, const double *pre,
                                 int64_t m, double mass, const int64_t *comp,
                                 const ns_alias_entry *comp_table,
                                 const uint64_t *pre_filter, int64_t k,
                                 const uint64_t *pipe_cols,
                                 const uint32_t *pipe_coins, ns_rng_t *rng,
                                 int64_t *dst) {
    const uint64_t n = (uint64_t)law->n_items;
    const ns_alias_entry *table = law->table;
    const double total = law->cum[law->n_items];
    const double eligible = total - mass;
    if (comp) {
        const uint64_t c = n - (uint64_t)m;
        for (int64_t t = 0; t < k; t++) dst[t] = comp[ns_alias_draw(comp_table, c, rng)];
        return;
    }
    if (eligible >= NS_NEGATIVE_REJECT_MIN * total) {
        uint64_t cols[NS_NEG_BATCH];
        uint32_t coins[NS_NEG_BATCH];
        int64_t cand[NS_NEG_BATCH];
        int found[NS_NEG_BATCH];
        uint64_t bloom[NS_NEG_BLOOM_WORDS];
        const uint64_t *filter = pre_filter;
        if (!filter && bloom_pays(m, k)) {
            bloom_build(bloom, ids, m);
            filter = bloom;
        }
        for (int64_t t0 = 0; t0 < k; t0 += NS_NEG_BATCH) {
            const int nb = (int)((k - t0 < NS_NEG_BATCH) ? k - t0 : NS_NEG_BATCH);
            const uint64_t *c = cols;
            const uint32_t *h = coins;
            if (pipe_cols) { /* drawn and prefetched by the caller */
                c = pipe_cols + t0;
                h = pipe_coins + t0;
                for (int b = 0; b < nb; b++) {
                    cand[b] = ns_alias_resolve(table, c[b], h[b], rng);
                }
            } else {
                for (int b = 0; b < nb; b++) {
                    cols[b] = ns_alias_column(n, rng, &coins[b]);
                    NS_NEG_PREFETCH(&table[cols[b]]);
                }
                for (int b = 0; b < nb; b++) {
                    cand[b] = ns_alias_resolve(table, c[b], h[b], rng);
                }
            }
            if (filter) {
                for (int b = 0; b < nb; b++) found[b] = is_positive(filter, ids, m, cand[b]);
            } else {
                for (int b = nb; b < NS_NEG_BATCH; b++) cand[b] = -1;
                for (int b = 0; b < nb; b += NS_NEG_GROUP) {
                    contains_group(ids, m, cand + b, found + b);
                }
            }
            for (int b = 0; b < nb; b++) {
                int64_t x = cand[b];
                if (found[b]) {
                    /* Rejection: redraw until the item is not a positive. */
                    int rejected = 1;
                    do {
                        if (rejected++ >= NS_NEG_MAX_REJECT) {
                            x = draw_inversion(law, ids, pre, m, mass, eligible,
                                               NULL, NULL, NULL, 0, 0.0, rng);
                            break;
                        }
                        x = ns_alias_draw(table, n, rng);
                    } while (is_positive(filter, ids, m, x));
                }
                dst[t0 + b] = x;
            }
        }
    } else {
        for (int64_t t = 0; t < k; t++) {
            dst[t] = draw_inversion(law, ids, pre, m, mass, eligible, NULL,
                                    NULL, NULL, 0, 0.0, rng);
        }
    }
}

/* Weighted base law, without replacement, one output row.  chosen, hole_at,
 * hole_len: k slots each, kept sorted by item id (which is also the order
 * of the complement coordinate). */
static void row_weighted_distinct(const ns_negative_law *law,
                                  const int64_t *ids, const double *pre,
                                  int64_t m, double mass,
                                  const int64_t *comp,
                                  const ns_alias_entry *comp_table,
                                  const uint64_t *pre_filter, int64_t k,
                                  ns_rng_t *rng, int64_t *dst,
                                  int64_t *chosen, double *hole_at,
                                  double *hole_len) {
    const uint64_t n = (uint64_t)law->n_items;
    const double *cum = law->cum;
    const double total = cum[law->n_items];
    const double eligible = total - mass;
    double hole_total = 0.0, chosen_mass = 0.0;
    uint64_t bloom[NS_NEG_BLOOM_WORDS];
    const uint64_t *filter = pre_filter;
    if (!comp && !filter && bloom_pays(m, k)) {
        bloom_build(bloom, ids, m);
        filter = bloom;
    }
    for (int64_t t = 0; t < k; t++) {
        int64_t x = -1;
        /* Proposal: the complement table (mass `eligible`) when the row has
         * one, else the base table (mass `total`). */
        const double proposal = comp ? eligible : total;
        if (eligible - chosen_mass >= NS_NEGATIVE_REJECT_MIN * proposal) {
            for (int rejected = 0; rejected < NS_NEG_MAX_REJECT; rejected++) {
                const int64_t y =
                    comp ? comp[ns_alias_draw(comp_table, n - (uint64_t)m, rng)]
                         : ns_alias_draw(law->table, n, rng);
                if ((comp || !is_positive(filter, ids, m, y)) &&
                    !contains_bf(chosen, t, y)) {
                    x = y;
                    break;
                }
            }
        }
        if (x < 0) {
            x = draw_inversion(law, ids, pre, m, mass, eligible, chosen,
                               hole_at, hole_len, t, hole_total, rng);
        }
        dst[t] = x;
        const int64_t pos = lower_bound_bf(chosen, t, x);
        memmove(chosen + pos + 1, chosen + pos, (size_t)(t - pos) * sizeof *chosen);
        memmove(hole_at + pos + 1, hole_at + pos, (size_t)(t - pos) * sizeof *hole_at);
        memmove(hole_len + pos + 1, hole_len + pos, (size_t)(t - pos) * sizeof *hole_len);
        const int64_t J = lower_bound_bf(ids, m, x);
        const double before = (J < m) ? pre[J] : mass;
        chosen[pos] = x;
        hole_at[pos] = cum[x] - before;
        hole_len[pos] = cum[x + 1] - cum[x];
        hole_total += hole_len[pos];
        chosen_mass += law->prob[x];
    }
}

/* 1 when a weighted row with replacement is drawn by rejection from the
 * base table (see row_weighted_replace). */
NS_INLINE int uses_base_rejection(const ns_negative_law *law, int64_t r) {
    if (law->comp_ptr && law->comp_ptr[r + 1] > law->comp_ptr[r]) return 0;
    const double total = law->cum[law->n_items];
    return total - law->row_mass[r] >= NS_NEGATIVE_REJECT_MIN * total;
}

/* Candidates drawn ahead (software pipelining): the alias columns of up to
 * this many draws, over several rows, are drawn and prefetched before the
 * first of those rows is resolved, so that table misses overlap. */
#define NS_NEG_PIPE 256

/* Prefetch distances, in output rows (see sample_impl). */
#ifndef NS_NEG_AHEAD_PTR
#define NS_NEG_AHEAD_PTR 8
#endif
#ifndef NS_NEG_AHEAD_IDS
#define NS_NEG_AHEAD_IDS 4
#endif

/* Copies row o's draws dst[0..k) into its (k, width) block of tuples. */
NS_INLINE void write_tuples(const int64_t *dst, int64_t k, const int64_t *tmpl,
                            int64_t width, int64_t col, int64_t *block,
                            int stream) {
    if (width == 3) { /* triples: selects instead of a store and a rewrite */
        const int64_t a = tmpl[0], b = tmpl[1], c = tmpl[2];
        const int c0 = col == 0, c1 = col == 1, c2 = col == 2;
        if (stream) {
            for (int64_t t = 0; t < k; t++) {
                int64_t *o = block + 3 * t;
                const int64_t x = dst[t];
                NS_NEG_STREAM(o, c0 ? x : a);
                NS_NEG_STREAM(o + 1, c1 ? x : b);
                NS_NEG_STREAM(o + 2, c2 ? x : c);
            }
        } else {
            for (int64_t t = 0; t < k; t++) {
                int64_t *o = block + 3 * t;
                const int64_t x = dst[t];
                o[0] = c0 ? x : a;
                o[1] = c1 ? x : b;
                o[2] = c2 ? x : c;
            }
        }
        return;
    }
    for (int64_t t = 0; t < k; t++) {
        int64_t *o = block + width * t;
        for (int64_t w = 0; w < width; w++) o[w] = tmpl[w];
        o[col] = dst[t];
    }
}

/* One call's arguments, shared by its blocks. */
typedef struct {
    const ns_negative_law *law;
    const int64_t *rows;
    int64_t n_out, k;
    int replace, weighted, stream;
    uint64_t k0, k1;
    const int64_t *keys; /* NULL: block streams; else row o uses keyed stream keys[o] */
    int64_t *out;
    double *log_q;
    const int64_t *tmpl;
    int64_t width, col;
} sample_job;

/* Block b: rows [b * NS_NEGATIVE_BLOCK_ROWS, ...) with stream (k0, k1, b),
 * or with keys each row o with its own keyed stream (ns_rng_seed_keyed,
 * key keys[o]), seeded before the row's first draw (for pipelined rows,
 * before their columns are drawn ahead): the same per-row code, only the
 * stream changes. */
static int sample_block(const sample_job *job, int64_t b) {
    const ns_negative_law *law = job->law;
    const int64_t *rows = job->rows;
    const int64_t n_out = job->n_out, k = job->k, width = job->width,
                  col = job->col;
    const int replace = job->replace, weighted = job->weighted,
              stream = job->stream;
    const int64_t *tmpl = job->tmpl;
    const int64_t *keys = job->keys;
    int64_t *out = job->out;
    double *log_q = job->log_q;
    int local = NS_OK;

    ns_rng_t rng;
    ns_rng_seed(&rng, job->k0, job->k1, (uint64_t)b);
    const int64_t start = b * NS_NEGATIVE_BLOCK_ROWS;
    const int64_t stop = (start + NS_NEGATIVE_BLOCK_ROWS < n_out)
                             ? start + NS_NEGATIVE_BLOCK_ROWS : n_out;
    int64_t *chosen = NULL;
    double *hole_at = NULL, *hole_len = NULL;
    int64_t *row_buf = NULL; /* one row's draws, when writing tuples */
    if (width > 0) {
        row_buf = (int64_t *)malloc((size_t)k * sizeof *row_buf);
        if (!row_buf) local = NS_ERR_ALLOC;
    }
    if (!replace) {
        chosen = (int64_t *)malloc((size_t)k * sizeof *chosen);
        hole_at = (double *)malloc((size_t)k * sizeof *hole_at);
        hole_len = (double *)malloc((size_t)k * sizeof *hole_len);
        if (!chosen || !hole_at || !hole_len) local = NS_ERR_ALLOC;
    }
    /* Pipelined rows [o, pipe_end): candidates of row o start at
     * pipe_cols[pipe_at[o - pipe_start]] when it uses rejection. */
    uint64_t pipe_cols[NS_NEG_PIPE];
    uint32_t pipe_coins[NS_NEG_PIPE];
    int64_t pipe_at[NS_NEG_PIPE];
    ns_rng_t *pipe_rng = NULL; /* keyed: the stream of each pipelined row */
    ns_rng_t ahead;            /* keyed, not pipelined: row o + 1's stream */
    int64_t pipe_start = start, pipe_end = start;
    const int pipelined = weighted && replace && k <= NS_NEG_PIPE;
    if (pipelined && keys) {
        pipe_rng = (ns_rng_t *)malloc(NS_NEG_PIPE * sizeof *pipe_rng);
        if (!pipe_rng) local = NS_ERR_ALLOC;
    }
    for (int64_t o = start; o < stop && local == NS_OK; o++) {
        const int64_t r = rows[o];
        if (r < 0 || r >= law->n_rows) {
            local = NS_ERR_VALUE;
            break;
        }
        /* Rows in random order miss the cache: prefetch the CSR offsets
         * NS_NEG_AHEAD_PTR rows ahead and the ids and filter
         * NS_NEG_AHEAD_IDS rows ahead (whose offsets have arrived). */
        if (o + NS_NEG_AHEAD_PTR < stop) {
            const int64_t r2 = rows[o + NS_NEG_AHEAD_PTR];
            if (r2 >= 0 && r2 < law->n_rows) NS_NEG_PREFETCH(&law->indptr[r2]);
        }
        if (o + NS_NEG_AHEAD_IDS < stop) {
            const int64_t r1 = rows[o + NS_NEG_AHEAD_IDS];
            if (r1 >= 0 && r1 < law->n_rows) {
                /* Whole short rows: the filter's rare "maybe" would
                 * otherwise miss on the line a search starts with. */
                const int64_t *p = law->indices + law->indptr[r1];
                const int64_t len = law->indptr[r1 + 1] - law->indptr[r1];
                for (int64_t l = 0; l < len && l < NS_NEG_BLOOM_MAX; l += 8) {
                    NS_NEG_PREFETCH(p + l);
                }
                if (law->bloom) NS_NEG_PREFETCH(law->bloom + r1 * NS_NEG_BLOOM_WORDS);
            }
        }
        if (pipelined && o == pipe_end) {
            /* Draw the columns of the next rows, up to NS_NEG_PIPE. */
            int64_t used = 0;
            pipe_start = o;
            while (pipe_end < stop && pipe_end - pipe_start < NS_NEG_PIPE &&
                   used + k <= NS_NEG_PIPE) {
                const int64_t q = rows[pipe_end];
                if (q < 0 || q >= law->n_rows) break;
                pipe_at[pipe_end - pipe_start] = -1;
                ns_rng_t *row_rng = &rng;
                if (pipe_rng) {
                    row_rng = &pipe_rng[pipe_end - pipe_start];
                    ns_rng_seed_keyed(row_rng, job->k0, job->k1, keys[pipe_end]);
                }
                if (uses_base_rejection(law, q)) {
                    pipe_at[pipe_end - pipe_start] = used;
                    for (int64_t t = 0; t < k; t++, used++) {
                        pipe_cols[used] = ns_alias_column(
                            (uint64_t)law->n_items, row_rng, &pipe_coins[used]);
                        NS_NEG_PREFETCH(&law->table[pipe_cols[used]]);
                    }
                }
                pipe_end++;
            }
            if (pipe_end == o) { /* unreachable: row o is valid */
                pipe_at[0] = -1;
                if (pipe_rng) ns_rng_seed_keyed(&pipe_rng[0], job->k0, job->k1, keys[o]);
                pipe_end = o + 1;
            }
        }
        if (pipe_rng) {
            rng = pipe_rng[o - pipe_start];
        } else if (keys) {
            /* Row o + 1's stream is seeded one row ahead: its SplitMix64
             * chain then overlaps row o's draws instead of delaying the
             * start of row o + 1 (same streams either way). */
            if (o == start) ns_rng_seed_keyed(&rng, job->k0, job->k1, keys[o]);
            else rng = ahead;
            if (o + 1 < stop) ns_rng_seed_keyed(&ahead, job->k0, job->k1, keys[o + 1]);
        }
        const int64_t lo = law->indptr[r];
        const int64_t m = law->indptr[r + 1] - lo;
        const int64_t *ids = law->indices + lo;
        int64_t *dst = row_buf ? row_buf : out + o * k;
        double *lq = log_q ? log_q + o * k : NULL;
        const int64_t *comp = NULL;
        const ns_alias_entry *comp_table = NULL;
        if (law->comp_ptr && law->comp_ptr[r + 1] > law->comp_ptr[r]) {
            comp = law->comp_ids + law->comp_ptr[r];
            if (weighted) comp_table = law->comp_table + law->comp_ptr[r];
        }
        /* A precomputed filter of all ones marks a row too long for it. */
        const uint64_t *filter = NULL;
        if (law->bloom && m > 0 && m <= NS_NEG_BLOOM_MAX) {
            filter = law->bloom + r * NS_NEG_BLOOM_WORDS;
        }
        if (!weighted) {
            local = row_uniform(law, ids, m, comp, filter, k, replace, &rng,
                                dst, lq, chosen);
            if (row_buf && local == NS_OK) {
                write_tuples(dst, k, tmpl + o * width, width, col,
                             out + o * k * width, stream);
            }
            continue;
        }
        const double *pre = law->prefix + lo;
        const double mass = law->row_mass[r];
        /* Rows with a complement table know their eligible mass exactly
         * (row_eligible, a direct sum); total - mass cancels to 0 when the
         * positives hold all but a sliver of the mass. */
        const double eligible = (comp && law->row_eligible)
                                    ? law->row_eligible[r]
                                    : law->cum[law->n_items] - mass;
        if (!(eligible > 0.0)) {
            local = NS_ERR_EXHAUSTED;
            break;
        }
        if (replace) {
            const int64_t at = pipelined ? pipe_at[o - pipe_start] : -1;
            row_weighted_replace(law, ids, pre, m, mass, comp, comp_table,
                                 filter, k, at >= 0 ? pipe_cols + at : NULL,
                                 at >= 0 ? pipe_coins + at : NULL, &rng,
                                 dst);
        } else {
            row_weighted_distinct(law, ids, pre, m, mass, comp, comp_table,
                                  filter, k, &rng, dst, chosen, hole_at,
                                  hole_len);
        }
        for (int64_t t = 0; t < k; t++) {
            if (dst[t] < 0) local = NS_ERR_EXHAUSTED;
        }
        if (lq && local == NS_OK) {
            const double log_e =
                log(law->row_eligible ? law->row_eligible[r] : eligible);
            /* q <= 1: clamp the rounding of eligible ~ prob[x] (single-item rows). */
            for (int64_t t = 0; t < k; t++) {
                const double v = log(law->prob[dst[t]]) - log_e;
                lq[t] = v < 0.0 ? v : 0.0;
            }
        }
        if (row_buf && local == NS_OK) {
            write_tuples(dst, k, tmpl + o * width, width, col,
                         out + o * k * width, stream);
        }
    }
    if (stream) NS_NEG_STREAM_FENCE();
    free(pipe_rng);
    free(row_buf);
    free(chosen);
    free(hole_at);
    free(hole_len);
    return local;
}

static int sample_chunk(void *vjob, int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
        const int status = sample_block((const sample_job *)vjob, b);
        if (status != NS_OK) return status;
    }
    return NS_OK;
}

/* Shared driver: width == 0 writes out[n_out * k] (and log_q) directly;
 * width >= 1 writes tuples (see ns_negative_sample_tuples). */
static int sample_impl(const ns_negative_law *law, const int64_t *rows,
                       int64_t n_out, int64_t k, int replace, uint64_t k0,
                       uint64_t k1, const int64_t *keys, const ns_par *par,
                       int64_t *out, double *log_q, const int64_t *tmpl,
                       int64_t width, int64_t col) {
    if (law->n_items <= 0 || k < 0 || n_out < 0) return NS_ERR_VALUE;
    if (width < 0 || (width > 0 && (!tmpl || col < 0 || col >= width || log_q)))
        return NS_ERR_VALUE;
    if (law->table && (!law->prob || !law->cum || !law->row_mass || !law->prefix))
        return NS_ERR_VALUE;
    if (law->comp_ptr && (!law->comp_ids || (law->table && !law->comp_table)))
        return NS_ERR_VALUE;
    if (n_out == 0 || k == 0) return NS_OK;
    const int64_t n_blocks =
        (n_out + NS_NEGATIVE_BLOCK_ROWS - 1) / NS_NEGATIVE_BLOCK_ROWS;
    sample_job job;
    job.law = law;
    job.rows = rows;
    job.n_out = n_out;
    job.k = k;
    job.replace = replace;
    job.weighted = law->table != NULL;
    /* Streaming stores for large tuple outputs (n_out * k * width int64). */
    job.stream = width == 3 &&
                 n_out >= NS_NEG_STREAM_MIN_BYTES / (int64_t)(24 * k + 1);
    job.k0 = k0;
    job.k1 = k1;
    job.keys = keys;
    job.out = out;
    job.log_q = log_q;
    job.tmpl = tmpl;
    job.width = width;
    job.col = col;
    /* Blocks per thread: 16 blocks of 128 rows (2048 rows of draws, 0.4 ms
     * or more); smaller calls (per-batch sizes) stay on the caller's thread
     * (see NS_ALIAS_MIN_BLOCKS_PER_THREAD for why the margin is wide). */
    return ns_par_for(par, n_blocks, 16, sample_chunk, &job);
}

int ns_negative_sample(const ns_negative_law *law, const int64_t *rows,
                       int64_t n_out, int64_t k, int replace, uint64_t k0,
                       uint64_t k1, const int64_t *keys, const ns_par *par,
                       int64_t *out, double *log_q) {
    return sample_impl(law, rows, n_out, k, replace, k0, k1, keys, par, out,
                       log_q, NULL, 0, 0);
}

int ns_negative_sample_tuples(const ns_negative_law *law, const int64_t *rows,
                              int64_t n_out, int64_t k, int replace,
                              uint64_t k0, uint64_t k1, const int64_t *keys,
                              const ns_par *par, const int64_t *tmpl,
                              int64_t width, int64_t col, int64_t *out) {
    if (width < 1) return NS_ERR_VALUE;
    return sample_impl(law, rows, n_out, k, replace, k0, k1, keys, par, out,
                       NULL, tmpl, width, col);
}

typedef struct {
    uint64_t k0, k1;
    const int64_t *keys;
    int64_t n_rows, k;
    double *out;
} uniform_job;

static int keyed_uniform_chunk(void *vjob, int64_t c0, int64_t c1) {
    const uniform_job *job = (const uniform_job *)vjob;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_NEG_ROWS_CHUNK, job->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            ns_rng_t rng;
            ns_rng_seed_keyed(&rng, job->k0, job->k1, job->keys[r]);
            double *dst = job->out + r * job->k;
            for (int64_t t = 0; t < job->k; t++) dst[t] = ns_rng_double(&rng);
        }
    }
    return NS_OK;
}

int ns_keyed_uniform(uint64_t k0, uint64_t k1, const int64_t *keys,
                     int64_t n_rows, int64_t k, const ns_par *par,
                     double *out) {
    if (n_rows < 0 || k < 0) return NS_ERR_VALUE;
    if (n_rows == 0 || k == 0) return NS_OK;
    uniform_job job;
    job.k0 = k0;
    job.k1 = k1;
    job.keys = keys;
    job.n_rows = n_rows;
    job.k = k;
    job.out = out;
    return ns_par_for(par, ns_chunk_count(n_rows, NS_NEG_ROWS_CHUNK), 8,
                      keyed_uniform_chunk, &job);
}

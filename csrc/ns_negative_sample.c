/*
 * ns_negative_sample.c -- ns_negative_sample and ns_negative_sample_tuples
 * (see ns_negative.h): output rows cut into RNG blocks run on the pool.  In
 * a block each row gets its stream, its CSR data is prefetched a few rows
 * ahead, the alias columns of the next weighted rows are drawn ahead
 * (pipelining), and its draws (ns_negative_uniform.c,
 * ns_negative_weighted.c) are written as ids or as tuples.
 */
#include <math.h>
#include <stdlib.h>

#include "ns_negative_impl.h"

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

/* Prefetch distances, in output rows (see prefetch_ahead). */
#ifndef NS_NEG_AHEAD_PTR
#define NS_NEG_AHEAD_PTR 8
#endif
#ifndef NS_NEG_AHEAD_IDS
#define NS_NEG_AHEAD_IDS 4
#endif

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

/* A block's heap scratch (NULL where the call does not need it). */
typedef struct {
    int64_t *row_buf;   /* tuples: one row's draws */
    int64_t *chosen;    /* without replacement: k each */
    double *hole_at, *hole_len;
    ns_rng_t *pipe_rng; /* keyed and pipelined: each pipelined row's stream */
} block_scratch;

static int scratch_alloc(block_scratch *s, const sample_job *job,
                         int pipelined) {
    const size_t k = (size_t)job->k;
    *s = (block_scratch){.row_buf = NULL};
    int status = NS_OK;
    if (job->width > 0) {
        s->row_buf = (int64_t *)malloc(k * sizeof *s->row_buf);
        if (!s->row_buf) status = NS_ERR_ALLOC;
    }
    if (!job->replace) {
        s->chosen = (int64_t *)malloc(k * sizeof *s->chosen);
        s->hole_at = (double *)malloc(k * sizeof *s->hole_at);
        s->hole_len = (double *)malloc(k * sizeof *s->hole_len);
        if (!s->chosen || !s->hole_at || !s->hole_len) status = NS_ERR_ALLOC;
    }
    if (pipelined && job->keys) {
        s->pipe_rng = (ns_rng_t *)malloc(NS_NEG_PIPE * sizeof *s->pipe_rng);
        if (!s->pipe_rng) status = NS_ERR_ALLOC;
    }
    return status;
}

static void scratch_free(block_scratch *s) {
    free(s->pipe_rng);
    free(s->row_buf);
    free(s->chosen);
    free(s->hole_at);
    free(s->hole_len);
}

/* Alias columns drawn ahead for the pipelined rows [start, end) of a block:
 * row o's k columns and coins start at slot at[o - start], or at[o - start]
 * is -1 when row o does not use rejection from the base table. */
typedef struct {
    uint64_t cols[NS_NEG_PIPE];
    uint32_t coins[NS_NEG_PIPE];
    int64_t at[NS_NEG_PIPE];
    int64_t start, end;
} pipeline;

/* Starts the pipeline at row o: draws the columns of rows o, o + 1, ... (up
 * to NS_NEG_PIPE rows or draws) from each row's stream (the block stream
 * rng, or with keys the row's own keyed stream, kept in pipe_rng) and
 * prefetches their alias entries. */
static void pipeline_fill(const sample_job *job, pipeline *p, ns_rng_t *rng,
                          ns_rng_t *pipe_rng, int64_t o, int64_t stop) {
    const ns_negative_law *law = job->law;
    const int64_t k = job->k;
    int64_t used = 0;
    p->start = o;
    while (p->end < stop && p->end - p->start < NS_NEG_PIPE &&
           used + k <= NS_NEG_PIPE) {
        const int64_t q = job->rows[p->end];
        if (q < 0 || q >= law->n_rows) break;
        const int64_t slot = p->end - p->start;
        p->at[slot] = -1;
        ns_rng_t *row_rng = rng;
        if (pipe_rng) {
            row_rng = &pipe_rng[slot];
            ns_rng_seed_keyed(row_rng, job->k0, job->k1, job->keys[p->end]);
        }
        if (ns_neg_uses_base_rejection(law, q)) {
            p->at[slot] = used;
            for (int64_t t = 0; t < k; t++, used++) {
                p->cols[used] = ns_alias_column((uint64_t)law->n_items, row_rng,
                                                &p->coins[used]);
                NS_PREFETCH(&law->table[p->cols[used]], 1);
            }
        }
        p->end++;
    }
    if (p->end == o) { /* unreachable: row o is valid and k <= NS_NEG_PIPE */
        p->at[0] = -1;
        if (pipe_rng) ns_rng_seed_keyed(&pipe_rng[0], job->k0, job->k1, job->keys[o]);
        p->end = o + 1;
    }
}

/* Rows in random order miss the cache: prefetches the CSR offsets of row
 * o + NS_NEG_AHEAD_PTR and the ids and filter of row o + NS_NEG_AHEAD_IDS
 * (whose offsets have arrived). */
NS_INLINE void prefetch_ahead(const ns_negative_law *law, const int64_t *rows,
                              int64_t o, int64_t stop) {
    if (o + NS_NEG_AHEAD_PTR < stop) {
        const int64_t r2 = rows[o + NS_NEG_AHEAD_PTR];
        if (r2 >= 0 && r2 < law->n_rows) NS_PREFETCH(&law->indptr[r2], 1);
    }
    if (o + NS_NEG_AHEAD_IDS < stop) {
        const int64_t r1 = rows[o + NS_NEG_AHEAD_IDS];
        if (r1 >= 0 && r1 < law->n_rows) {
            /* Whole short rows: the filter's rare "maybe" would otherwise
             * miss on the line a search starts with. */
            const int64_t *p = law->indices + law->indptr[r1];
            const int64_t len = law->indptr[r1 + 1] - law->indptr[r1];
            for (int64_t l = 0; l < len && l < NS_BLOOM_MAX_IDS; l += 8) {
                NS_PREFETCH(p + l, 1);
            }
            if (law->bloom) NS_PREFETCH(law->bloom + r1 * NS_BLOOM_WORDS, 1);
        }
    }
}

/* Sets rng to row o's stream.  Without keys the block stream runs on
 * through the rows (nothing to do).  With keys: a pipelined row continues
 * its own stream from pipe_rng; otherwise row o + 1's stream is seeded one
 * row ahead into `ahead`, so that its SplitMix64 chain overlaps row o's
 * draws instead of delaying the start of row o + 1 (same streams either
 * way). */
NS_INLINE void row_stream(const sample_job *job, const pipeline *p,
                          const ns_rng_t *pipe_rng, int64_t o, int64_t start,
                          int64_t stop, ns_rng_t *rng, ns_rng_t *ahead) {
    if (pipe_rng) {
        *rng = pipe_rng[o - p->start];
    } else if (job->keys) {
        if (o == start) ns_rng_seed_keyed(rng, job->k0, job->k1, job->keys[o]);
        else *rng = *ahead;
        if (o + 1 < stop) ns_rng_seed_keyed(ahead, job->k0, job->k1, job->keys[o + 1]);
    }
}

/* Exclusion row r as the row kernels see it. */
NS_INLINE ns_neg_row row_view(const ns_negative_law *law, int64_t r,
                              int weighted) {
    const int64_t lo = law->indptr[r];
    const int64_t m = law->indptr[r + 1] - lo;
    ns_neg_row row = {.ids = law->indices + lo, .m = m};
    if (law->comp_ptr && law->comp_ptr[r + 1] > law->comp_ptr[r]) {
        row.comp = law->comp_ids + law->comp_ptr[r];
        if (weighted) row.comp_table = law->comp_table + law->comp_ptr[r];
    }
    /* Every row has a filter; those of rows longer than NS_BLOOM_MAX_IDS
     * are nearly full and not used. */
    if (law->bloom && m > 0 && m <= NS_BLOOM_MAX_IDS) {
        row.filter = law->bloom + r * NS_BLOOM_WORDS;
    }
    if (weighted) {
        row.pre = law->prefix + lo;
        row.mass = law->row_mass[r];
    }
    return row;
}

/* One output row (exclusion row r) under a weighted law, with its log q
 * when lq is not NULL.  pipe_cols/pipe_coins: its columns drawn ahead, or
 * NULL. */
static int weighted_row(const sample_job *job, const ns_neg_row *row,
                        int64_t r, const uint64_t *pipe_cols,
                        const uint32_t *pipe_coins, const block_scratch *s,
                        ns_rng_t *rng, int64_t *dst, double *lq) {
    const ns_negative_law *law = job->law;
    const int64_t k = job->k;
    /* Rows with a complement table know their eligible mass exactly
     * (row_eligible, a direct sum); total - mass cancels to 0 when the
     * positives hold all but a sliver of the mass. */
    const double eligible = (row->comp && law->row_eligible)
                                ? law->row_eligible[r]
                                : law->cum[law->n_items] - row->mass;
    if (!(eligible > 0.0)) return NS_ERR_EXHAUSTED;
    if (job->replace) {
        ns_neg_row_weighted_replace(law, row, k, pipe_cols, pipe_coins, rng, dst);
    } else {
        ns_neg_row_weighted_distinct(law, row, k, rng, dst, s->chosen,
                                     s->hole_at, s->hole_len);
    }
    for (int64_t t = 0; t < k; t++) {
        if (dst[t] < 0) return NS_ERR_EXHAUSTED;
    }
    if (lq) {
        const double log_e =
            log(law->row_eligible ? law->row_eligible[r] : eligible);
        /* q <= 1: clamp the rounding of eligible ~ prob[x] (single-item rows). */
        for (int64_t t = 0; t < k; t++) {
            const double v = log(law->prob[dst[t]]) - log_e;
            lq[t] = v < 0.0 ? v : 0.0;
        }
    }
    return NS_OK;
}

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

/* Block b: rows [b * NS_NEGATIVE_BLOCK_ROWS, ...) with stream (k0, k1, b),
 * or with keys each row o with its own keyed stream (ns_rng_seed_keyed,
 * key keys[o]), seeded before the row's first draw (for pipelined rows,
 * before their columns are drawn ahead): the same per-row code, only the
 * stream changes. */
static int sample_block(const sample_job *job, int64_t b) {
    const ns_negative_law *law = job->law;
    const int64_t k = job->k;
    const int64_t start = b * NS_NEGATIVE_BLOCK_ROWS;
    const int64_t stop = (start + NS_NEGATIVE_BLOCK_ROWS < job->n_out)
                             ? start + NS_NEGATIVE_BLOCK_ROWS : job->n_out;
    const int pipelined = job->weighted && job->replace && k <= NS_NEG_PIPE;
    ns_rng_t rng, ahead;
    ns_rng_seed(&rng, job->k0, job->k1, (uint64_t)b);
    block_scratch s;
    int status = scratch_alloc(&s, job, pipelined);
    pipeline pipe; /* its arrays are filled before they are read */
    pipe.start = pipe.end = start;
    for (int64_t o = start; o < stop && status == NS_OK; o++) {
        const int64_t r = job->rows[o];
        if (r < 0 || r >= law->n_rows) {
            status = NS_ERR_VALUE;
            break;
        }
        prefetch_ahead(law, job->rows, o, stop);
        if (pipelined && o == pipe.end) {
            pipeline_fill(job, &pipe, &rng, s.pipe_rng, o, stop);
        }
        row_stream(job, &pipe, s.pipe_rng, o, start, stop, &rng, &ahead);
        const ns_neg_row row = row_view(law, r, job->weighted);
        int64_t *dst = s.row_buf ? s.row_buf : job->out + o * k;
        double *lq = job->log_q ? job->log_q + o * k : NULL;
        if (job->weighted) {
            const int64_t at = pipelined ? pipe.at[o - pipe.start] : -1;
            status = weighted_row(job, &row, r, at >= 0 ? pipe.cols + at : NULL,
                                  at >= 0 ? pipe.coins + at : NULL, &s, &rng,
                                  dst, lq);
        } else {
            status = ns_neg_row_uniform(law, &row, k, job->replace, &rng, dst,
                                        lq, s.chosen);
        }
        if (s.row_buf && status == NS_OK) {
            write_tuples(dst, k, job->tmpl + o * job->width, job->width,
                         job->col, job->out + o * k * job->width, job->stream);
        }
    }
    if (job->stream) NS_NEG_STREAM_FENCE();
    scratch_free(&s);
    return status;
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
    sample_job job = {
        .law = law,
        .rows = rows,
        .n_out = n_out,
        .k = k,
        .replace = replace,
        .weighted = law->table != NULL,
        /* Streaming stores for large tuple outputs (n_out * k * width int64). */
        .stream = width == 3 &&
                  n_out >= NS_NEG_STREAM_MIN_BYTES / (int64_t)(24 * k + 1),
        .k0 = k0,
        .k1 = k1,
        .keys = keys,
        .out = out,
        .log_q = log_q,
        .tmpl = tmpl,
        .width = width,
        .col = col,
    };
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

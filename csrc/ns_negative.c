/*
 * ns_negative.c -- the exclusion-aware law's per-row tables, built once per
 * sampler (see ns_negative.h): the cumulative law, per-row positive masses,
 * the complement tables of dense rows and the rows' Bloom filters.  The
 * draws are in ns_negative_sample.c (driver), ns_negative_uniform.c and
 * ns_negative_weighted.c (one output row each).
 */
#include "ns_negative.h"

#include <stdlib.h>

#include "ns_bloom.h"
#include "ns_sum.h"

/* Rows of a CSR pass per chunk (each row costs about its length). */
#define NS_NEG_ROWS_CHUNK 1024

/* One table build over the rows; each build sets the fields it uses. */
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

/* Runs `chunk` over job->n_rows rows, NS_NEG_ROWS_CHUNK per chunk. */
static int run_rows(rows_job *job, const ns_par *par, ns_chunk_fn chunk) {
    return ns_par_for(par, ns_chunk_count(job->n_rows, NS_NEG_ROWS_CHUNK), 8,
                      chunk, job);
}

static int bloom_chunk(void *vjob, int64_t c0, int64_t c1) {
    const rows_job *job = (const rows_job *)vjob;
    const int64_t *indptr = job->indptr;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo, hi;
        ns_chunk_bounds(c, NS_NEG_ROWS_CHUNK, job->n_rows, &lo, &hi);
        for (int64_t r = lo; r < hi; r++) {
            ns_bloom_build(job->bloom + r * NS_BLOOM_WORDS,
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
    return run_rows(&job, par, bloom_chunk);
}

int ns_negative_cumulative(const double *prob, int64_t n, double *cum) {
    if (n <= 0) return NS_ERR_VALUE;
    ns_sum acc = NS_SUM_ZERO;
    cum[0] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        ns_sum_add(&acc, prob[i]);
        cum[i + 1] = ns_sum_value(&acc);
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
            ns_sum acc = NS_SUM_ZERO;
            int64_t nonzero = 0;
            for (int64_t j = indptr[r]; j < indptr[r + 1]; j++) {
                job->prefix[j] = ns_sum_value(&acc); /* mass before entry j */
                const double p = prob[indices[j]];
                nonzero += p > 0.0;
                ns_sum_add(&acc, p);
            }
            job->row_mass[r] = ns_sum_value(&acc);
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
    return run_rows(&job, par, row_stats_chunk);
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
    for (int64_t x = 0, a = 0, t = 0; x < n_items; x++) {
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
        ns_sum acc = NS_SUM_ZERO;
        for (int64_t t = 0; t < c; t++) {
            w[t] = job->prob[dst[t]];
            ns_sum_add(&acc, w[t]);
        }
        if (job->row_eligible) job->row_eligible[r] = ns_sum_value(&acc);
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
    int64_t n_dense = 0;
    for (int64_t r = 0; r < n_rows; r++) n_dense += comp_ptr[r + 1] > comp_ptr[r];
    if (n_dense == 0) return NS_OK;
    int64_t *dense = (int64_t *)malloc((size_t)n_dense * sizeof *dense);
    if (!dense) return NS_ERR_ALLOC;
    for (int64_t r = 0, d = 0; r < n_rows; r++) {
        if (comp_ptr[r + 1] > comp_ptr[r]) dense[d++] = r;
    }
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
        .dense = dense,
    };
    const int status = ns_par_for(par, n_dense, 1, complement_chunk, &job);
    free(dense);
    return status;
}

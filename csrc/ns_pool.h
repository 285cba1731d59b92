/*
 * ns_pool.h -- the one threading runtime of every kernel: a small pool of
 * worker threads that sleep when idle, and a parallel loop over fixed-size
 * chunks of work that the calling thread always takes part in.
 *
 * Why not OpenMP: libgomp's team does not survive fork() (a child hangs on
 * its next parallel region), its idle threads spin at the end of each region
 * (35-160x slower calls on a machine whose cores are busy with other
 * processes), and a second OpenMP runtime beside torch's or MKL's is a known
 * source of aborts.  This pool:
 *   - never spins: idle workers wait on a condition variable, and the caller
 *     waits on one only for chunks a worker is running right now;
 *   - balances dynamically: the chunk range is cut into one contiguous
 *     segment per participant (so threads write apart, as a static schedule
 *     does), and a participant that finishes its own segment takes chunks
 *     from the others' -- the caller thus never waits for a worker that the
 *     operating system has not scheduled, it does that worker's part;
 *   - is fork-safe: ns_pool_after_fork() (called in the child of fork, by a
 *     pthread_atfork handler of the owner) forgets the workers, which do not
 *     exist in the child, and new ones are started on the next call;
 *   - is interruptible: the caller's thread calls par->poll between chunks,
 *     at most every NS_POOL_POLL_MS; a nonzero answer stops every
 *     participant before its next chunk and the loop returns
 *     NS_ERR_INTERRUPTED.
 * Which thread runs a chunk never changes its result: kernels derive their
 * random streams from the chunk's block index only.
 *
 * The pool has no global state: its owner (negsamp/_runtime.pyx) allocates
 * one with ns_pool_create and hands it to kernels inside an ns_par.
 */
#ifndef NS_POOL_H
#define NS_POOL_H

#include <stdint.h>

#include "ns_common.h"

/* Most threads one loop uses (caller included). */
#define NS_POOL_MAX_THREADS 256

/* The caller polls for an interrupt at most this often (milliseconds). */
#define NS_POOL_POLL_MS 20

typedef struct ns_pool ns_pool;

/* Runs chunks [begin, end) of a loop's work; returns NS_OK or a negative
 * status, which stops the loop. */
typedef int (*ns_chunk_fn)(void *ctx, int64_t begin, int64_t end);

/* Nonzero when the call must stop (for example Ctrl-C was pressed).  Called
 * on the caller's thread only. */
typedef int (*ns_poll_fn)(void *poll_ctx);

/* How a kernel may run in parallel: pool NULL or n_threads 1 runs every
 * chunk on the caller's thread. */
typedef struct {
    ns_pool *pool;
    int n_threads;   /* threads wanted (caller included), >= 1 */
    ns_poll_fn poll; /* NULL: never interrupted */
    void *poll_ctx;
    /* 0: each loop's own min_chunks_per_thread; >= 1: this instead (a test
     * hook, so that small inputs exercise the parallel paths). */
    int64_t min_chunks_override;
} ns_par;

/* A pool that can start up to max_workers threads (on demand), or NULL
 * when out of memory. */
ns_pool *ns_pool_create(int max_workers);

/* Stops and joins the workers, frees the pool. */
void ns_pool_destroy(ns_pool *pool);

/* In the child of fork(): forgets the parent's workers (they do not exist
 * here) and resets the pool's locks, without touching them.  Only the
 * forking thread runs in the child, so nothing else uses the pool. */
void ns_pool_after_fork(ns_pool *pool);

/* Workers the pool has started so far. */
int ns_pool_started(const ns_pool *pool);

/* Runs fn over chunks [0, n_chunks), with up to par->n_threads threads,
 * but at most one per min_chunks_per_thread chunks (small loops stay on
 * the caller's thread: waking a thread costs more than it saves).
 * Returns NS_OK, the status of the lowest-numbered failing chunk among
 * those that ran, or NS_ERR_INTERRUPTED.  While one loop runs in the pool,
 * a loop started from another thread runs on that thread alone. */
int ns_par_for(const ns_par *par, int64_t n_chunks,
               int64_t min_chunks_per_thread, ns_chunk_fn fn, void *ctx);

/* Items [*lo, *hi) of chunk c when `total` items are cut into chunks of
 * `chunk` items. */
static inline void ns_chunk_bounds(int64_t c, int64_t chunk, int64_t total,
                                   int64_t *lo, int64_t *hi) {
    *lo = c * chunk;
    *hi = (total - *lo > chunk) ? *lo + chunk : total;
}

/* Chunks of `chunk` items needed for `total` items. */
static inline int64_t ns_chunk_count(int64_t total, int64_t chunk) {
    return total <= 0 ? 0 : (total - 1) / chunk + 1;
}

/* Monotonic clock in milliseconds (for tests and polling). */
int64_t ns_clock_ms(void);

#endif /* NS_POOL_H */

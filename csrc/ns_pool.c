/*
 * ns_pool.c -- the thread pool and parallel loop of ns_pool.h.
 *
 * A loop's chunks are split into one contiguous segment per participant.
 * Each segment has a claim word: the loop's 24-bit generation above the
 * next unclaimed chunk (40 bits).  A participant claims a chunk by a
 * compare-and-swap of that word; a worker left over from an earlier loop
 * carries another generation, so its swap fails and it can never run a
 * chunk of a loop it did not join.  `busy` counts the workers between the
 * start of a claim and the end of its chunk; when the caller has finished
 * (or stopped), it marks every segment exhausted and then waits, sleeping,
 * until busy is 0: after that no worker can touch the loop's data.
 */
#include "ns_pool.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK ns_mutex;
typedef CONDITION_VARIABLE ns_cond;
typedef HANDLE ns_thread;
#define mutex_init(m) InitializeSRWLock(m)
#define mutex_lock(m) AcquireSRWLockExclusive(m)
#define mutex_unlock(m) ReleaseSRWLockExclusive(m)
#define cond_init(c) InitializeConditionVariable(c)
#define cond_wait(c, m) SleepConditionVariableSRW((c), (m), INFINITE, 0)
#define cond_signal(c) WakeConditionVariable(c)
#define cond_broadcast(c) WakeAllConditionVariable(c)
#define mutex_destroy(m) ((void)0)
#define cond_destroy(c) ((void)0)
#else
#include <pthread.h>
#include <signal.h>
#include <time.h>
typedef pthread_mutex_t ns_mutex;
typedef pthread_cond_t ns_cond;
typedef pthread_t ns_thread;
#define mutex_init(m) pthread_mutex_init((m), NULL)
#define mutex_lock(m) pthread_mutex_lock(m)
#define mutex_unlock(m) pthread_mutex_unlock(m)
#define cond_init(c) pthread_cond_init((c), NULL)
#define cond_wait(c, m) pthread_cond_wait((c), (m))
#define cond_signal(c) pthread_cond_signal(c)
#define cond_broadcast(c) pthread_cond_broadcast(c)
#define mutex_destroy(m) pthread_mutex_destroy(m)
#define cond_destroy(c) pthread_cond_destroy(c)
#endif

/* Sequentially consistent atomics (the busy / caller_waiting hand-off is a
 * Dekker-style store-then-load on both sides, which needs them). */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static int64_t at_load64(volatile int64_t *p) {
    return _InterlockedCompareExchange64((volatile __int64 *)p, 0, 0);
}
static void at_store64(volatile int64_t *p, int64_t v) {
    _InterlockedExchange64((volatile __int64 *)p, v);
}
static int at_cas64(volatile int64_t *p, int64_t expected, int64_t desired) {
    return _InterlockedCompareExchange64((volatile __int64 *)p, desired,
                                         expected) == expected;
}
static int at_load32(volatile long *p) {
    return (int)_InterlockedCompareExchange(p, 0, 0);
}
static void at_store32(volatile long *p, int v) { _InterlockedExchange(p, v); }
static int at_add32(volatile long *p, int d) {
    return (int)_InterlockedExchangeAdd(p, d) + d;
}
typedef volatile long at_int;
#else
static inline int64_t at_load64(volatile int64_t *p) {
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void at_store64(volatile int64_t *p, int64_t v) {
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
static inline int at_cas64(volatile int64_t *p, int64_t expected,
                           int64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline int at_load32(volatile int *p) {
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void at_store32(volatile int *p, int v) {
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
static inline int at_add32(volatile int *p, int d) {
    return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST);
}
typedef volatile int at_int;
#endif

#define GEN_SHIFT 40
#define GEN_MASK ((INT64_C(1) << 23) - 1) /* keeps claim words positive */
#define IDX_MASK ((INT64_C(1) << GEN_SHIFT) - 1)
#define IDX_DONE IDX_MASK /* above every segment end: exhausted */

typedef struct {
    volatile int64_t word; /* generation << 40 | next chunk */
    volatile int64_t end;  /* first chunk after the segment */
    char pad[64 - 2 * sizeof(int64_t)];
} segment;

struct ns_pool {
    ns_mutex lock;
    ns_cond wake; /* workers wait here for a loop */
    ns_cond done; /* the caller waits here for busy == 0 */
    int max_workers, n_started, quit;
    ns_thread *threads;
    /* The current loop (fields written under lock before it is published). */
    int in_use;    /* a loop is running: other callers run inline */
    int64_t gen;   /* its generation */
    int n_parts;   /* participants (segments), caller included */
    int next_part; /* next participant number handed to a worker */
    int max_parts; /* segments initialised so far */
    ns_chunk_fn fn;
    void *ctx;
    at_int stop;           /* set on error or interrupt */
    at_int busy;           /* workers inside a claim or a chunk */
    at_int caller_waiting; /* the caller sleeps on `done` */
    int err_status;        /* status of the lowest failing chunk */
    int64_t err_chunk;
    segment seg[NS_POOL_MAX_THREADS];
};

int64_t ns_clock_ms(void) {
#ifdef _WIN32
    return (int64_t)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

static void record_error(ns_pool *pool, int64_t chunk, int status) {
    mutex_lock(&pool->lock);
    if (chunk < pool->err_chunk) {
        pool->err_chunk = chunk;
        pool->err_status = status;
    }
    mutex_unlock(&pool->lock);
    at_store32(&pool->stop, 1);
}

/* Claims one chunk of segment s of loop `gen`: its index, or -1 when the
 * segment is exhausted or the loop is no longer `gen`. */
static int64_t claim(ns_pool *pool, int s, int64_t gen) {
    for (;;) {
        const int64_t w = at_load64(&pool->seg[s].word);
        if ((w >> GEN_SHIFT) != gen) return -1;
        const int64_t idx = w & IDX_MASK;
        if (idx >= at_load64(&pool->seg[s].end)) return -1;
        if (at_cas64(&pool->seg[s].word, w, w + 1)) return idx;
    }
}

/* A worker's share of loop `gen`: its own segment p first, then the
 * others'.  busy is held from before each claim to the end of its chunk. */
static void work(ns_pool *pool, int64_t gen, int p, int n_parts, ns_chunk_fn fn,
                 void *ctx) {
    for (int i = 0; i < n_parts; i++) {
        const int s = (p + i) % n_parts;
        for (;;) {
            if (at_load32(&pool->stop)) return;
            at_add32(&pool->busy, 1);
            const int64_t c = claim(pool, s, gen);
            if (c >= 0) {
                const int status = fn(ctx, c, c + 1);
                if (status != NS_OK) record_error(pool, c, status);
            }
            if (at_add32(&pool->busy, -1) == 0 &&
                at_load32(&pool->caller_waiting)) {
                mutex_lock(&pool->lock);
                cond_signal(&pool->done);
                mutex_unlock(&pool->lock);
            }
            if (c < 0) break;
        }
    }
}

#ifdef _WIN32
static DWORD WINAPI worker_main(LPVOID arg) {
#else
static void *worker_main(void *arg) {
#endif
    ns_pool *pool = (ns_pool *)arg;
    int64_t seen = -1;
    mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->quit && !(pool->in_use && pool->gen != seen &&
                                pool->next_part < pool->n_parts))
            cond_wait(&pool->wake, &pool->lock);
        if (pool->quit) break;
        seen = pool->gen;
        const int p = pool->next_part++;
        const int n_parts = pool->n_parts;
        ns_chunk_fn fn = pool->fn;
        void *ctx = pool->ctx;
        mutex_unlock(&pool->lock);
        work(pool, seen, p, n_parts, fn, ctx);
        mutex_lock(&pool->lock);
    }
    mutex_unlock(&pool->lock);
    return 0;
}

/* Starts workers until `want` run (under lock); returns how many run. */
static int start_workers(ns_pool *pool, int want) {
    if (want > pool->max_workers) want = pool->max_workers;
    while (pool->n_started < want) {
        ns_thread *t = &pool->threads[pool->n_started];
#ifdef _WIN32
        *t = CreateThread(NULL, 0, worker_main, pool, 0, NULL);
        if (*t == NULL) break;
#else
        /* Workers block every signal: signals go to the caller's threads,
         * where Python's handlers run. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        const int rc = pthread_create(t, NULL, worker_main, pool);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) break;
#endif
        pool->n_started++;
    }
    return pool->n_started;
}

ns_pool *ns_pool_create(int max_workers) {
    if (max_workers < 0) max_workers = 0;
    if (max_workers > NS_POOL_MAX_THREADS - 1)
        max_workers = NS_POOL_MAX_THREADS - 1;
    ns_pool *pool = (ns_pool *)calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads =
        (ns_thread *)calloc((size_t)max_workers + 1, sizeof *pool->threads);
    if (!pool->threads) {
        free(pool);
        return NULL;
    }
    pool->max_workers = max_workers;
    mutex_init(&pool->lock);
    cond_init(&pool->wake);
    cond_init(&pool->done);
    return pool;
}

void ns_pool_destroy(ns_pool *pool) {
    if (!pool) return;
    mutex_lock(&pool->lock);
    pool->quit = 1;
    cond_broadcast(&pool->wake);
    mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_started; i++) {
#ifdef _WIN32
        WaitForSingleObject(pool->threads[i], INFINITE);
        CloseHandle(pool->threads[i]);
#else
        pthread_join(pool->threads[i], NULL);
#endif
    }
    mutex_destroy(&pool->lock);
    cond_destroy(&pool->wake);
    cond_destroy(&pool->done);
    free(pool->threads);
    free(pool);
}

void ns_pool_after_fork(ns_pool *pool) {
    if (!pool) return;
    /* The parent's lock may have been held by a thread that does not exist
     * here: initialise fresh ones over it instead of unlocking. */
    mutex_init(&pool->lock);
    cond_init(&pool->wake);
    cond_init(&pool->done);
    pool->n_started = 0;
    pool->quit = 0;
    pool->in_use = 0;
    pool->n_parts = pool->next_part = 0;
    at_store32(&pool->stop, 0);
    at_store32(&pool->busy, 0);
    at_store32(&pool->caller_waiting, 0);
    for (int s = 0; s < pool->max_parts; s++)
        at_store64(&pool->seg[s].word, (pool->gen << GEN_SHIFT) | IDX_DONE);
}

int ns_pool_started(const ns_pool *pool) { return pool ? pool->n_started : 0; }

/* Polls when NS_POOL_POLL_MS have passed since *last; 1 = stop. */
static int poll_due(const ns_par *par, int64_t *last) {
    if (!par->poll) return 0;
    const int64_t now = ns_clock_ms();
    if (now - *last < NS_POOL_POLL_MS) return 0;
    *last = now;
    return par->poll(par->poll_ctx) != 0;
}

static int run_inline(const ns_par *par, int64_t n_chunks, ns_chunk_fn fn,
                      void *ctx) {
    int64_t last = par->poll ? ns_clock_ms() : 0;
    for (int64_t c = 0; c < n_chunks; c++) {
        if (poll_due(par, &last)) return NS_ERR_INTERRUPTED;
        const int status = fn(ctx, c, c + 1);
        if (status != NS_OK) return status;
    }
    return NS_OK;
}

int ns_par_for(const ns_par *par, int64_t n_chunks,
               int64_t min_chunks_per_thread, ns_chunk_fn fn, void *ctx) {
    static const ns_par serial = {.pool = NULL,
                                  .n_threads = 1,
                                  .poll = NULL,
                                  .poll_ctx = NULL,
                                  .min_chunks_override = 0};
    if (!par) par = &serial;
    if (n_chunks <= 0) return NS_OK;
    if (par->min_chunks_override >= 1)
        min_chunks_per_thread = par->min_chunks_override;
    if (min_chunks_per_thread < 1) min_chunks_per_thread = 1;
    ns_pool *pool = par->pool;
    int64_t want = par->n_threads;
    if (want > n_chunks / min_chunks_per_thread)
        want = n_chunks / min_chunks_per_thread;
    if (want > NS_POOL_MAX_THREADS) want = NS_POOL_MAX_THREADS;
    if (!pool || want <= 1 || n_chunks >= IDX_DONE)
        return run_inline(par, n_chunks, fn, ctx);

    mutex_lock(&pool->lock);
    if (pool->in_use) { /* another thread's loop owns the pool */
        mutex_unlock(&pool->lock);
        return run_inline(par, n_chunks, fn, ctx);
    }
    const int workers = start_workers(pool, (int)want - 1);
    if (workers < 1) {
        mutex_unlock(&pool->lock);
        return run_inline(par, n_chunks, fn, ctx);
    }
    const int n_parts = workers + 1 < want ? workers + 1 : (int)want;
    const int64_t gen = (pool->gen + 1) & GEN_MASK;
    pool->gen = gen;
    for (int s = 0; s < n_parts; s++) {
        at_store64(&pool->seg[s].end, n_chunks * (s + 1) / n_parts);
        at_store64(&pool->seg[s].word,
                   (gen << GEN_SHIFT) | (n_chunks * s / n_parts));
    }
    for (int s = n_parts; s < pool->max_parts; s++) {
        at_store64(&pool->seg[s].end, 0);
        at_store64(&pool->seg[s].word, (gen << GEN_SHIFT) | IDX_DONE);
    }
    if (n_parts > pool->max_parts) pool->max_parts = n_parts;
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n_parts = n_parts;
    pool->next_part = 1;
    pool->err_status = NS_OK;
    pool->err_chunk = INT64_MAX;
    at_store32(&pool->stop, 0);
    pool->in_use = 1;
    cond_broadcast(&pool->wake);
    mutex_unlock(&pool->lock);

    /* The caller's share: segment 0, then whatever the others left. */
    int interrupted = 0;
    int64_t last = par->poll ? ns_clock_ms() : 0;
    for (int i = 0; i < n_parts && !interrupted; i++) {
        for (;;) {
            if (at_load32(&pool->stop)) break;
            if (poll_due(par, &last)) {
                interrupted = 1;
                at_store32(&pool->stop, 1);
                break;
            }
            const int64_t c = claim(pool, i, gen);
            if (c < 0) break;
            const int status = fn(ctx, c, c + 1);
            if (status != NS_OK) record_error(pool, c, status);
        }
        if (at_load32(&pool->stop)) break;
    }
    /* No chunk can be claimed after this; then wait for the running ones. */
    for (int s = 0; s < n_parts; s++)
        at_store64(&pool->seg[s].word, (gen << GEN_SHIFT) | IDX_DONE);
    mutex_lock(&pool->lock);
    at_store32(&pool->caller_waiting, 1);
    while (at_load32(&pool->busy) != 0) cond_wait(&pool->done, &pool->lock);
    at_store32(&pool->caller_waiting, 0);
    pool->in_use = 0;
    pool->n_parts = 0;
    const int status = pool->err_status;
    mutex_unlock(&pool->lock);
    if (status != NS_OK) return status;
    return interrupted ? NS_ERR_INTERRUPTED : NS_OK;
}

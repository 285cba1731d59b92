# Declarations of csrc/ns_pool.h (extern blocks only).
from libc.stdint cimport int64_t

cdef extern from "ns_pool.h" nogil:
    int NS_POOL_MAX_THREADS
    int NS_POOL_POLL_MS
    ctypedef struct ns_pool:
        pass
    ctypedef int (*ns_chunk_fn)(void *ctx, int64_t begin, int64_t end) noexcept nogil
    ctypedef int (*ns_poll_fn)(void *poll_ctx) noexcept nogil
    ctypedef struct ns_par:
        ns_pool *pool
        int n_threads
        ns_poll_fn poll
        void *poll_ctx
        int64_t min_chunks_override
    ns_pool *ns_pool_create(int max_workers)
    void ns_pool_destroy(ns_pool *pool)
    void ns_pool_after_fork(ns_pool *pool)
    int ns_pool_started(const ns_pool *pool)
    int ns_par_for(const ns_par *par, int64_t n_chunks,
                   int64_t min_chunks_per_thread, ns_chunk_fn fn, void *ctx)
    int64_t ns_clock_ms()

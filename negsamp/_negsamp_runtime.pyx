# cython: language_level=3
"""The one threading runtime of negsamp's kernels (csrc/ns_pool.h).

One process-wide pool of worker threads, started on the first parallel call,
sleeping (never spinning) between calls.  The kernels run on the caller's
thread plus as many workers as ``n_threads`` asks (already capped at the
cores by negsamp._threads), and only when the call is big enough to pay for
waking them.  A fork() child forgets the parent's workers (a pthread_atfork
handler) and starts its own on its first parallel call.  On the main thread
the kernels poll for signals between chunks of work, so Ctrl-C stops them
with KeyboardInterrupt.

Other extensions cimport make_par / check_interrupt from here, so that every
kernel of the process shares this one pool.

It also has the process's reentrant lock type (RLock: what guards a
reservoir, taken several times per call of a tree of merges) and owns the
process's cache of freed output blocks (csrc/ns_blocks.h):
cached_empty makes the short arrays of calls made many times in a row (the
keys and items of a reservoir merge) on memory the process already touched,
so that a tree of merges does not page-fault its outputs in again and
again.  At most BLOCK_CACHE_LIMIT bytes are kept.
"""
import os

cimport numpy as cnp
from cpython.exc cimport PyErr_Occurred
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int64_t
from negsamp._c_blocks cimport (
    ns_blocks, ns_blocks_size, ns_blocks_take, ns_blocks_give, ns_blocks_set_limit,
)
from negsamp._c_common cimport NS_ERR_INTERRUPTED
from negsamp._c_pool cimport (
    ns_pool, ns_par, ns_pool_create, ns_pool_destroy, ns_pool_after_fork,
    ns_pool_started, NS_POOL_MAX_THREADS, NS_POOL_POLL_MS,
)

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    enum: NPY_ITEM_REFCOUNT
    # steal a reference to the dtype
    object PyArray_Empty(int nd, cnp.npy_intp *dims, cnp.dtype descr, int fortran)
    object PyArray_NewFromDescr(PyTypeObject *subtype, cnp.dtype descr, int nd,
                                cnp.npy_intp *dims, cnp.npy_intp *strides, void *data,
                                int flags, PyObject *obj)

cdef extern from "Python.h":
    # Declared without `except`: the exception it sets must survive the
    # `with gil` block of _poll and reach the caller (check_interrupt).
    int _check_signals "PyErr_CheckSignals" ()
    unsigned long PyThread_get_thread_ident() nogil
    ctypedef void *PyThread_type_lock
    ctypedef enum PyLockStatus:
        PY_LOCK_FAILURE
        PY_LOCK_ACQUIRED
        PY_LOCK_INTR
    PyThread_type_lock PyThread_allocate_lock()
    void PyThread_free_lock(PyThread_type_lock lock)
    PyLockStatus PyThread_acquire_lock_timed(PyThread_type_lock lock, long long microseconds,
                                             int intr_flag) nogil
    void PyThread_release_lock(PyThread_type_lock lock) nogil

cdef extern from *:
    """
    #ifdef _WIN32
    static int ns_register_atfork(void (*child)(void)) { (void)child; return 0; }
    #else
    #include <pthread.h>
    static int ns_register_atfork(void (*child)(void)) {
        return pthread_atfork(NULL, NULL, child);
    }
    #endif
    """
    int ns_register_atfork(void (*child)() noexcept nogil) nogil


def _cores():
    """Cores this process may run on (its CPU affinity where the OS has it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


#: Cores seen when negsamp was imported (the cap of every thread count).
CORES = _cores()

cdef ns_pool *_pool = NULL
cdef unsigned long _main_ident = PyThread_get_thread_ident()
cdef int _forks = 0
cdef int64_t _min_chunks_override = 0


cdef void _after_fork_child() noexcept nogil:
    # Only the forking thread exists in the child: it becomes the main one,
    # and the pool's workers are gone.
    global _main_ident, _forks
    _main_ident = PyThread_get_thread_ident()
    _forks += 1
    if _pool != NULL:
        ns_pool_after_fork(_pool)


ns_register_atfork(_after_fork_child)


cdef int _poll(void *ctx) noexcept nogil:
    cdef int r
    with gil:
        r = _check_signals()
    return r != 0


cdef int make_par(ns_par *par, int n_threads) except -1:
    """Fills `par` for a kernel call with `n_threads` threads (>= 1)."""
    global _pool
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    par.n_threads = n_threads if n_threads < NS_POOL_MAX_THREADS else NS_POOL_MAX_THREADS
    par.pool = NULL
    if n_threads > 1:
        if _pool == NULL:
            _pool = ns_pool_create(CORES - 1)
            if _pool == NULL:
                raise MemoryError("negsamp thread pool: out of memory")
        par.pool = _pool
    if PyThread_get_thread_ident() == _main_ident:
        par.poll = _poll
    else:
        par.poll = NULL
    par.poll_ctx = NULL
    par.min_chunks_override = _min_chunks_override
    return 0


cdef int check_interrupt(int status) except -1:
    """Raises the exception a signal handler set during an interrupted
    kernel call (KeyboardInterrupt for Ctrl-C)."""
    if status == NS_ERR_INTERRUPTED:
        if PyErr_Occurred():
            return -1
        raise KeyboardInterrupt
    return 0


def workers_started():
    """Worker threads the pool has started in this process (0 before the
    first parallel call, and again in a fork child)."""
    return ns_pool_started(_pool)


def forks_seen():
    """fork() children this process descends from since negsamp was
    imported (a test hook)."""
    return _forks


def poll_interval_ms():
    """How often a long call checks for Ctrl-C, in milliseconds."""
    return NS_POOL_POLL_MS


def _set_min_chunks_for_tests(int64_t chunks):
    """Test hook: every parallel loop uses `chunks` chunks per thread as its
    threshold (1: any loop of 2+ chunks runs on the pool), 0 restores each
    kernel's own.  The test suite sets 1, so that small inputs exercise the
    threaded paths; it never changes a result."""
    global _min_chunks_override
    if chunks < 0:
        raise ValueError(f"chunks must be >= 0, got {chunks}")
    _min_chunks_override = chunks


def _shutdown_for_tests():
    """Stops and joins the workers (a test hook; the next parallel call
    starts new ones)."""
    global _pool
    cdef ns_pool *p = _pool
    _pool = NULL
    with nogil:
        ns_pool_destroy(p)


cdef class RLock:
    """A reentrant lock: what ``_thread.RLock`` is for ``with`` and
    ``acquire()`` / ``release()`` (blocking acquires only), cheaper to make
    and to take: a lock nobody waits for is two fields read and written
    with the GIL held (no OS lock, no system call; a tree of merges takes
    four a merge and makes one).

    A thread that finds it held by another waits without the GIL on an OS
    lock (the gate, made on the first wait and opened by the release that
    finds a waiter), waking at least every NS_POOL_POLL_MS to look again
    and to run the signal handlers: on the main thread Ctrl-C stops the
    wait with KeyboardInterrupt, the lock not taken.  It never spins.
    Like ``_thread.RLock``, it cannot be pickled, and in a fork() child a
    lock that another thread of the parent held stays held.
    """
    cdef unsigned long _owner
    cdef Py_ssize_t _count
    cdef Py_ssize_t _waiters
    cdef bint _gate_open
    cdef PyThread_type_lock _gate

    def __dealloc__(self):
        if self._gate != NULL:
            PyThread_free_lock(self._gate)
            self._gate = NULL

    cdef int _take(self) except -1:
        cdef unsigned long me = PyThread_get_thread_ident()
        if self._count == 0:
            self._owner = me
            self._count = 1
        elif self._owner == me:
            self._count += 1
        else:
            self._wait(me)
        return 0

    cdef int _wait(self, unsigned long me) except -1:
        cdef PyThread_type_lock gate
        if self._gate == NULL:
            gate = PyThread_allocate_lock()
            if gate == NULL:
                raise MemoryError("no memory for a lock")
            # made closed: a release opens it for one waiter
            PyThread_acquire_lock_timed(gate, 0, 0)
            self._gate = gate
        gate = self._gate
        self._waiters += 1
        try:
            while self._count != 0:
                with nogil:
                    if PyThread_acquire_lock_timed(gate, NS_POOL_POLL_MS * 1000, 0) \
                            == PY_LOCK_ACQUIRED:
                        gate = NULL
                if gate == NULL:
                    # this thread closed the gate a release opened
                    self._gate_open = False
                    gate = self._gate
                if _check_signals() < 0:
                    return -1
            self._owner = me
            self._count = 1
        finally:
            self._waiters -= 1
        return 0

    cdef int _give(self) except -1:
        if self._count == 0 or self._owner != PyThread_get_thread_ident():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if self._count == 0:
            self._owner = 0
            if self._waiters > 0 and not self._gate_open:
                self._gate_open = True
                PyThread_release_lock(self._gate)
        return 0

    def acquire(self):
        """Takes the lock (again, when this thread holds it), waiting as
        long as it takes; returns True."""
        self._take()
        return True

    def release(self):
        """Gives back one acquire of this thread; RuntimeError when this
        thread does not hold the lock."""
        self._give()

    def __enter__(self):
        self._take()
        return True

    def __exit__(self, exc_type, exc, traceback):
        self._give()
        return False

    def __reduce__(self):
        raise TypeError("cannot pickle 'RLock' object (a lock belongs to one process)")

    def _state(self):
        """(acquires held, threads waiting): a test hook."""
        return self._count, self._waiters


def acquire_both(RLock a not None, RLock b not None):
    """Takes two distinct locks in one fixed order (by address), so that two
    threads taking the same pair cannot deadlock; the first is given back
    when taking the second fails (KeyboardInterrupt)."""
    if a is b:
        raise ValueError("acquire_both needs two distinct locks")
    if <size_t><void *>b < <size_t><void *>a:
        a, b = b, a
    a._take()
    try:
        b._take()
    except BaseException:
        a._give()
        raise


def release_both(RLock a not None, RLock b not None):
    """Gives back the two locks acquire_both took."""
    a._give()
    b._give()


#: Most bytes of freed blocks the cache keeps (blocks of up to 256 KiB).
BLOCK_CACHE_LIMIT = 32 << 20

# Zero-filled (a C static): an empty cache; its limit is set below.  Used
# only with the GIL held (allocations here, releases in _Block.__dealloc__).
cdef ns_blocks _blocks
ns_blocks_set_limit(&_blocks, BLOCK_CACHE_LIMIT)


cdef class _Block:
    """Owner of a block of the cache: the base of the array made on it,
    which hands the block back when the array goes."""
    cdef void *data
    cdef size_t nbytes

    def __dealloc__(self):
        ns_blocks_give(&_blocks, self.data, self.nbytes)
        self.data = NULL


cdef _Block _take_block(size_t nbytes):
    """An owner of a block of the cache of nbytes bytes (> 0)."""
    cdef _Block block = _Block.__new__(_Block)
    block.nbytes = nbytes
    block.data = ns_blocks_take(&_blocks, nbytes)
    if block.data == NULL:
        raise MemoryError(f"no memory for a block of {nbytes} bytes")
    return block


cdef object _array_on(_Block block, size_t offset, cnp.npy_intp n, cnp.dtype dtype):
    """A writeable, C-contiguous 1-D array of n items of `dtype` at byte
    `offset` of the block, which is its base."""
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    Py_INCREF(dtype)
    arr = PyArray_NewFromDescr(<PyTypeObject *>cnp.ndarray, dtype, 1, dims, NULL,
                               <char *>block.data + offset, cnp.NPY_ARRAY_CARRAY, NULL)
    cnp.set_array_base(<cnp.ndarray>arr, block)
    return arr


cdef bint _cacheable(cnp.npy_intp n, cnp.dtype dtype):
    """Whether arrays of n items of `dtype` go on the cache: not for n = 0,
    nor for dtypes holding Python references (they must start as None)."""
    return (n > 0 and cnp.PyDataType_ELSIZE(dtype) > 0
            and not (cnp.PyDataType_FLAGS(dtype) & NPY_ITEM_REFCOUNT))


cdef size_t _nbytes(cnp.npy_intp n, cnp.dtype dtype) except 0:
    """n items of `dtype` in bytes (n > 0), MemoryError when that (with
    room for an alignment pad) does not fit a size_t."""
    cdef size_t itemsize = <size_t>cnp.PyDataType_ELSIZE(dtype)
    if <size_t>n > ((<size_t>-1) // 4) // itemsize:
        raise MemoryError(f"an array of {n} items of {dtype} does not fit in memory")
    return <size_t>n * itemsize


cdef object cached_empty(cnp.npy_intp n, cnp.dtype dtype):
    """A new writeable, C-contiguous 1-D array of n items of `dtype`,
    uninitialised, on a block of the cache (numpy's own np.empty for a
    dtype holding Python references, which must start as None, and for n =
    0)."""
    cdef cnp.npy_intp dims[1]
    if not _cacheable(n, dtype):
        dims[0] = n
        Py_INCREF(dtype)
        return PyArray_Empty(1, dims, dtype, 0)
    return _array_on(_take_block(_nbytes(n, dtype)), 0, n, dtype)


cdef tuple cached_empty_pair(cnp.npy_intp n, cnp.dtype first, cnp.dtype second):
    """Two such arrays of n items (of `first`, then of `second`) on ONE
    block of the cache, which goes back when both arrays have gone: one
    allocation for a merge's keys and items.  Separate arrays (cached_empty)
    when either dtype holds Python references, or n = 0."""
    if not (_cacheable(n, first) and _cacheable(n, second)):
        return cached_empty(n, first), cached_empty(n, second)
    # the second array starts on a 64-byte boundary (any dtype's alignment)
    cdef size_t offset = (_nbytes(n, first) + 63) & ~(<size_t>63)
    cdef _Block block = _take_block(offset + _nbytes(n, second))
    return _array_on(block, 0, n, first), _array_on(block, offset, n, second)


def _block_cache_held():
    """Bytes of the blocks the cache holds now (a test hook)."""
    return _blocks.held


def _set_block_cache_limit(size_t limit):
    """Frees the cached blocks and sets the cache's limit in bytes (0: cache
    nothing; a test hook)."""
    ns_blocks_set_limit(&_blocks, limit)

"""The runtime's reentrant lock (negsamp._negsamp_runtime.RLock), which guards
every reservoir, and acquire_both / release_both, which merges use: mutual
exclusion, reentrancy, waiters that sleep and wake, Ctrl-C while waiting,
fork children, and one fixed order for a pair.

Every test that could hang on a regression joins its threads with a timeout
(or runs in a child process), so that a hang fails the test instead of the
run.
"""
import _thread
import contextlib
import os
import pickle
import sys
import threading
import time

import numpy as np
import pytest

from negsamp import WeightedReservoir
from negsamp._negsamp_runtime import RLock, acquire_both, release_both, poll_interval_ms

JOIN = 60.0


def _join_all(threads):
    for t in threads:
        t.join(JOIN)
    assert not any(t.is_alive() for t in threads), "a thread hung on the lock"


@contextlib.contextmanager
def _held_elsewhere_then_interrupted(lock):
    """Inside the block another thread holds `lock` (yielded; it lets go on
    exit), and the main thread gets KeyboardInterrupt 0.1 s in."""
    held, done = threading.Event(), threading.Event()

    def holder():
        with lock:
            held.set()
            done.wait(JOIN)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(JOIN)
    timer = threading.Timer(0.1, _thread.interrupt_main)
    timer.start()
    try:
        yield t
    finally:
        done.set()
        timer.cancel()
        _join_all([t])


def test_reentrant_and_counted():
    lock = RLock()
    assert lock._state() == (0, 0)
    with lock:
        assert lock._state() == (1, 0)
        assert lock.acquire() is True
        with lock:
            assert lock._state() == (3, 0)
        lock.release()
        assert lock._state() == (1, 0)
    assert lock._state() == (0, 0)


def test_release_without_holding_raises():
    lock = RLock()
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock.release()
    lock.acquire()
    errors = []

    def other():
        try:
            lock.release()
        except RuntimeError as e:
            errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    _join_all([t])
    assert len(errors) == 1  # another thread cannot release it
    assert lock._state() == (1, 0)
    lock.release()


def test_exit_releases_on_exception():
    lock = RLock()
    with pytest.raises(KeyError):
        with lock:
            raise KeyError("x")
    assert lock._state() == (0, 0)


def test_mutual_exclusion_with_the_gil_released_inside():
    # time.sleep(0) inside the critical section lets the other threads run:
    # a lock that did not exclude them would see `inside` > 1 or lose counts
    lock = RLock()
    state = {"inside": 0, "most": 0, "count": 0}

    def work():
        for _ in range(400):
            with lock:
                state["inside"] += 1
                state["most"] = max(state["most"], state["inside"])
                v = state["count"]
                time.sleep(0)
                state["count"] = v + 1
                state["inside"] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    _join_all(threads)
    assert state["count"] == 1600
    assert state["most"] == 1
    assert lock._state() == (0, 0)


def test_a_waiter_takes_the_lock_when_it_is_released():
    lock = RLock()
    lock.acquire()
    took = threading.Event()
    waiting = threading.Event()

    def waiter():
        waiting.set()
        with lock:
            took.set()

    t = threading.Thread(target=waiter)
    t.start()
    waiting.wait(JOIN)
    deadline = time.monotonic() + JOIN
    while lock._state()[1] == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert lock._state() == (1, 1)  # the waiter waits: it did not take it
    assert not took.is_set()
    lock.release()
    _join_all([t])
    assert took.is_set()
    assert lock._state() == (0, 0)


def test_a_waiter_sleeps_instead_of_spinning():
    # a waiter wakes every poll interval (to run the signal handlers): over
    # half a second it uses a few milliseconds of CPU, a spinning one ~0.5 s
    lock = RLock()
    lock.acquire()
    cpu = []

    def waiter():
        t0 = time.thread_time()
        with lock:
            pass
        cpu.append(time.thread_time() - t0)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.5)
    lock.release()
    _join_all([t])
    assert poll_interval_ms() > 0
    assert cpu[0] < 0.2


def test_ctrl_c_stops_a_wait_without_taking_the_lock():
    lock = RLock()
    with _held_elsewhere_then_interrupted(lock) as holder:
        with pytest.raises(KeyboardInterrupt):
            lock.acquire()
        # the wait stopped while the holder still held it (not when it let go)
        assert holder.is_alive()
        assert lock._state() == (1, 0)  # still the holder's; nobody waits
    assert lock._state() == (0, 0)
    with lock:  # usable again
        assert lock._state() == (1, 0)


def test_acquire_both_in_either_order_never_deadlocks():
    a, b = RLock(), RLock()
    count = [0]

    def work(first, second):
        for _ in range(300):
            acquire_both(first, second)
            try:
                v = count[0]
                time.sleep(0)
                count[0] = v + 1
            finally:
                release_both(first, second)

    threads = [threading.Thread(target=work, args=(a, b)),
               threading.Thread(target=work, args=(b, a)),
               threading.Thread(target=work, args=(a, b))]
    for t in threads:
        t.start()
    _join_all(threads)
    assert count[0] == 900
    assert a._state() == (0, 0) and b._state() == (0, 0)


def test_acquire_both_takes_the_pair_in_one_order():
    # the lock of lower address first, whatever the order of the arguments:
    # a thread waiting for it has not taken the other
    a, b = RLock(), RLock()
    low, high = (a, b) if id(a) < id(b) else (b, a)
    for args in ((a, b), (b, a)):
        low.acquire()

        def work():
            acquire_both(*args)
            release_both(*args)

        t = threading.Thread(target=work, daemon=True)
        t.start()
        try:
            deadline = time.monotonic() + JOIN
            while low._state()[1] == 0 and time.monotonic() < deadline:
                time.sleep(0.001)
            assert low._state() == (1, 1)
            assert high._state() == (0, 0)
        finally:
            low.release()
        _join_all([t])
        assert low._state() == (0, 0) and high._state() == (0, 0)


def test_acquire_both_needs_two_locks():
    a = RLock()
    with pytest.raises(ValueError, match="two distinct"):
        acquire_both(a, a)
    assert a._state() == (0, 0)
    with pytest.raises(TypeError, match="Argument 'b' has incorrect type"):
        acquire_both(a, threading.RLock())
    # None is refused too (a Cython argument of a class type takes None
    # unless told not to: this crashed)
    for call in (acquire_both, release_both):
        with pytest.raises(TypeError, match="Argument 'a' has incorrect type .*got NoneType"):
            call(None, a)
        with pytest.raises(TypeError, match="Argument 'b' has incorrect type .*got NoneType"):
            call(a, None)
    assert a._state() == (0, 0)


def test_acquire_both_interrupted_on_the_second_gives_back_the_first():
    # whichever lock acquire_both takes first (by address), an interrupt
    # while it waits for the other leaves it not held
    a, b = RLock(), RLock()
    for held_lock, free_lock in ((a, b), (b, a)):
        with _held_elsewhere_then_interrupted(held_lock):
            with pytest.raises(KeyboardInterrupt):
                acquire_both(a, b)
            assert free_lock._state() == (0, 0)
            assert held_lock._state() == (1, 0)
    assert a._state() == (0, 0) and b._state() == (0, 0)


def test_cannot_be_pickled():
    with pytest.raises(TypeError, match="cannot pickle 'RLock' object"):
        pickle.dumps(RLock())


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork")
def test_fork_child_uses_the_parents_locks():
    # a lock the forking thread holds is the child's (same thread); a free
    # one is free; reservoirs made in the parent update and merge in the child
    free, held = RLock(), RLock()
    rng = np.random.default_rng(0)
    r1, r2 = WeightedReservoir(5, rng=1), WeightedReservoir(5, rng=2)
    r1.update(np.arange(20), rng.random(20))
    r2.update(np.arange(20, 40), rng.random(20))
    expected = r1.merge(r2).get_sample()
    with held:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            ok = False
            try:
                held.release()
                with free, held:
                    pass
                merged = r1.merge(r2)
                ok = (free._state() == (0, 0) and held._state() == (0, 0)
                      and bool(np.array_equal(merged.get_sample(), expected)))
            finally:
                os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert held._state() == (0, 0)


def test_reservoir_updates_from_threads_are_serialised():
    # four threads feed one reservoir: the count is every item, and the
    # sample equals one fed the same chunks under one lock in the order the
    # threads took it (recorded inside the lock)
    res = WeightedReservoir(50, rng=3)
    order = []
    chunks = [(np.arange(i * 100, (i + 1) * 100), np.random.default_rng(i).random(100))
              for i in range(40)]
    order_lock = threading.Lock()

    def work(ids):
        for i in ids:
            with res._lock:  # reentrant: update takes it again
                res.update(*chunks[i])
                with order_lock:
                    order.append(i)

    threads = [threading.Thread(target=work, args=(range(j, 40, 4),)) for j in range(4)]
    for t in threads:
        t.start()
    _join_all(threads)
    ref = WeightedReservoir(50, rng=3)
    for i in order:
        ref.update(*chunks[i])
    assert res.count == 4000
    assert np.array_equal(res.get_sample(), ref.get_sample())

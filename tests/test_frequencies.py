"""negsamp.FrequencyEstimator: Yi et al.'s hashed gap estimator against a
sequential pure-Python Algorithm 2, decayed counts against their exact
variance on a stationary stream, merges, pickling, mixed pools, bad input."""
from __future__ import annotations

import math
import pickle
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import negsamp
from negsamp import AliasTable, FrequencyEstimator

ALPHA = 1e-4
M64 = 2**64 - 1


def bucket_of(item, seed, n_buckets):
    """The estimator's hash in plain Python: SplitMix64's finaliser of
    id + (seed + 1) * golden, then the high 32 bits mapped onto [0, H)."""
    z = (item + (seed + 1) * 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    z ^= z >> 31
    return ((z >> 32) * n_buckets) >> 32


def reference_hashed(batches, n_buckets, alpha, seed):
    """Algorithm 2 of Yi et al. 2019, one id at a time, in stream order; a
    bucket's first occurrence starts its average at its gap since step 0."""
    last, gap = [0] * n_buckets, [0.0] * n_buckets
    for t, batch in enumerate(batches, 1):
        for item in batch:
            b = bucket_of(int(item), seed, n_buckets)
            delta = t - last[b]
            if gap[b] == 0:
                gap[b] = float(delta)
            gap[b] = (1 - alpha) * gap[b] + alpha * delta
            last[b] = t
    return gap


def zipf_law(n, s=1.0):
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def stationary_stream(law, batch, steps, seed):
    gen = np.random.default_rng(seed)
    return gen.choice(law.shape[0], size=(steps, batch), p=law)


# -- hashed: Algorithm 2 ---------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(batches=st.lists(st.lists(st.integers(0, 2**40), max_size=12), max_size=15),
       n_buckets=st.integers(1, 64), alpha=st.floats(0.01, 1.0), seed=st.integers(0, 10))
def test_hashed_matches_sequential_algorithm_2(batches, n_buckets, alpha, seed):
    est = FrequencyEstimator("hashed", n_buckets=n_buckets, alpha=alpha, seed=seed)
    for batch in batches:
        est.update(np.array(batch, dtype=np.int64))
    gap = reference_hashed(batches, n_buckets, alpha, seed)
    probe = np.array(sorted({i for b in batches for i in b}) or [0], dtype=np.int64)
    want = [1 / gap[bucket_of(int(i), seed, n_buckets)] if gap[bucket_of(int(i), seed, n_buckets)]
            else 0.0 for i in probe]
    np.testing.assert_allclose(est.q(probe), want, rtol=1e-10)
    assert est.step == len(batches)


def test_hashed_order_inside_a_batch_does_not_matter():
    gen = np.random.default_rng(0)
    a = FrequencyEstimator("hashed", n_buckets=64, alpha=0.2)
    b = FrequencyEstimator("hashed", n_buckets=64, alpha=0.2)
    for _ in range(30):
        batch = gen.integers(0, 100, 50)
        a.update(batch)
        b.update(gen.permutation(batch))
    ids = np.arange(100)
    np.testing.assert_array_equal(a.q(ids), b.q(ids))


def test_hashed_converges_to_the_expected_count_per_step():
    # 200 items of a Zipf law, 128 draws a step: q(i) = 128 p(i), from 0.3
    # to 22 (the head appears many times in each batch).  The estimate is
    # averaged over the last 2500 steps (one snapshot moves by ~8%), for the
    # items seen at least once a step on average.
    n, batch, steps, alpha = 200, 128, 3000, 0.01
    law = zipf_law(n)
    stream = stationary_stream(law, batch, steps, seed=1)
    seed, n_buckets = 0, 2**20
    assert len({bucket_of(i, seed, n_buckets) for i in range(n)}) == n  # no collision
    q_true = batch * law
    items = np.flatnonzero(q_true >= 1)
    est = FrequencyEstimator("hashed", n_buckets=n_buckets, alpha=alpha, seed=seed)
    as_sets = FrequencyEstimator("hashed", n_buckets=n_buckets, alpha=alpha, seed=seed)
    total = np.zeros(items.shape[0])
    for t, ids in enumerate(stream):
        est.update(ids)
        as_sets.update(np.unique(ids))
        if t >= steps - 2500:
            total += est.q(items)
    ratio = total / 2500 / q_true[items]
    # An id seen k times in a step ends the step on k - 1 zero gaps, so the
    # average settles at 1 / B = k (1 - (1 - a)^k) / (a k (1 - a)^(k - 1)):
    # over by 11% for the head (k = 22), by < 1% for k <= 1 (class notes).
    bias = (1 - (1 - alpha) ** q_true[items]) / (
        alpha * (1 - alpha) ** (q_true[items] - 1) * q_true[items])
    assert bias[0] > 1.1
    np.testing.assert_allclose(ratio, bias, rtol=0.06)
    assert abs(np.median(ratio / bias) - 1) < 0.02
    assert not np.allclose(ratio[:3], 1, rtol=0.05)  # the head's bias is seen
    # Repeats count: treating each batch as a set (one occurrence per id)
    # caps q at 1 and fails for the head.
    assert as_sets.q(np.array([0]))[0] <= 1.0 < 0.5 * q_true[0]
    assert est.log_q(items) == pytest.approx(np.log(est.q(items)))


# -- decayed counts ----------------------------------------------------------------
@pytest.mark.parametrize("decay", [0.999, 1.0])
def test_decayed_counts_fit_the_stationary_law(decay):
    n, batch, steps = 50, 64, 1500
    law = zipf_law(n, 0.8)
    stream = stationary_stream(law, batch, steps, seed=2)
    est = FrequencyEstimator("decayed", n_items=n, decay=decay)
    for ids in stream:
        est.update(ids)
    # q_hat = sum_s w_s c_s / sum_s w_s with w_s = decay**(t - s) and c_s ~
    # Binomial(batch, p): mean batch * p, variance batch p (1 - p) sum w^2 /
    # (sum w)^2.  Bonferroni over the items.
    w = decay ** np.arange(steps)
    scale = math.sqrt((w**2).sum()) / w.sum()
    mean = batch * law
    sd = np.sqrt(batch * law * (1 - law)) * scale
    z = (est.q(np.arange(n)) - mean) / sd
    assert np.abs(z).max() < stats.norm.isf(ALPHA / (2 * n)), z
    if decay < 1:
        # The test has power: normalising by (1 - decay) instead of the
        # decayed number of steps (decay**t = 0.22 here) is far off.
        wrong = est.q(np.arange(n)) * (1 - decay ** steps)
        assert np.abs((wrong - mean) / sd).max() > 10


def test_decayed_is_an_exact_weighted_average():
    batches = [np.array([0, 0, 3]), np.array([]), np.array([3, 1])]
    est = FrequencyEstimator("decayed", n_items=4, decay=0.5)
    for b in batches:
        est.update(b.astype(np.int64))
    # D = 0.25 c1 + 0.5 c2 + c3 and W = 0.25 + 0.5 + 1.
    counts = np.array([0.25 * 2, 1.0, 0.0, 0.25 + 1.0])
    np.testing.assert_allclose(est.q(np.arange(4)), counts / 1.75, rtol=1e-15)
    assert FrequencyEstimator("decayed", n_items=3).q([0, 1]).tolist() == [0.0, 0.0]


# -- merge ---------------------------------------------------------------------------
@pytest.mark.parametrize("decay, steps", [(0.95, 200), (0.5, 500)])  # 0.5: the unit rescales
def test_merged_decayed_equals_one_estimator_fed_both_shards(decay, steps):
    gen = np.random.default_rng(3)
    a, b, both = (FrequencyEstimator("decayed", n_items=30, decay=decay) for _ in range(3))
    for _ in range(steps):
        x, y = gen.integers(0, 30, gen.integers(0, 20)), gen.integers(0, 30, 7)
        a.update(x)
        b.update(y)
        both.update(np.concatenate([x, y]))
    merged = a.merge(b)
    ids = np.arange(30)
    np.testing.assert_allclose(merged.q(ids), both.q(ids), rtol=1e-12)
    assert merged.step == steps
    # Merging does not change the inputs, and the merged one goes on.
    np.testing.assert_allclose(a.merge(b).q(ids), merged.q(ids), rtol=1e-15)
    merged.update(np.array([4]))
    both.update(np.array([4]))
    np.testing.assert_allclose(merged.q(ids), both.q(ids), rtol=1e-12)


def test_merged_hashed_adds_rates():
    # Disjoint buckets: the merge is exactly the estimator fed both streams;
    # a shared bucket gets the sum of the two rates.
    n_buckets, seed = 4096, 0
    ids_a = [i for i in range(200) if bucket_of(i, seed, n_buckets) % 2 == 0]
    ids_b = [i for i in range(200) if bucket_of(i, seed, n_buckets) % 2 == 1]
    gen = np.random.default_rng(4)
    a, b, both = (FrequencyEstimator("hashed", n_buckets=n_buckets, alpha=0.05)
                  for _ in range(3))
    for _ in range(100):
        x, y = gen.choice(ids_a, 30), gen.choice(ids_b, 30)
        a.update(x)
        b.update(y)
        both.update(np.concatenate([x, y]))
    probe = np.arange(200)
    np.testing.assert_allclose(a.merge(b).q(probe), both.q(probe), rtol=1e-12)
    c = FrequencyEstimator("hashed", n_buckets=n_buckets, alpha=0.05)
    for _ in range(100):
        c.update(gen.choice(ids_a, 10))
    np.testing.assert_allclose(a.merge(c).q(probe), a.q(probe) + c.q(probe), rtol=1e-12)


def test_merge_needs_matching_estimators():
    a = FrequencyEstimator("decayed", n_items=5)
    with pytest.raises(TypeError, match="other"):
        a.merge("x")
    with pytest.raises(ValueError, match="parameters"):
        a.merge(FrequencyEstimator("decayed", n_items=6))
    with pytest.raises(ValueError, match="parameters"):
        a.merge(FrequencyEstimator("hashed"))
    b = FrequencyEstimator("decayed", n_items=5)
    b.update([1])
    with pytest.raises(ValueError, match="steps"):
        a.merge(b)


# -- pickling, mixed pools, threads ----------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(method="hashed", n_buckets=128, alpha=0.1, seed=3),
                                    dict(method="decayed", n_items=20, decay=0.9)])
def test_pickle_round_trips_and_continues_identically(kwargs):
    gen = np.random.default_rng(5)
    est = FrequencyEstimator(**kwargs)
    for _ in range(20):
        est.update(gen.integers(0, 20, 15))
    back = pickle.loads(pickle.dumps(est))
    ids = np.arange(20)
    np.testing.assert_allclose(back.q(ids), est.q(ids), rtol=1e-15)
    assert back.step == est.step and repr(back) == repr(est)
    batch = gen.integers(0, 20, 15)
    est.update(batch)
    back.update(batch)
    np.testing.assert_allclose(back.q(ids), est.q(ids), rtol=1e-14)


def test_bad_states_are_rejected():
    est = FrequencyEstimator("decayed", n_items=3)
    good = est.__getstate__()
    blank = FrequencyEstimator.__new__(FrequencyEstimator)
    assert "uninitialised" in repr(blank)
    for bad in ({**good, "counts": np.array([1.0, -1.0, 0.0])},
                {**good, "counts": np.zeros(4)},
                {**good, "method": "other"},
                {k: v for k, v in good.items() if k != "weight"},
                {**FrequencyEstimator("hashed", n_buckets=4).__getstate__(),
                 "last": np.array([0, 0, 9, 0])},
                [1, 2]):
        with pytest.raises(ValueError, match="FrequencyEstimator state"):
            FrequencyEstimator.__new__(FrequencyEstimator).__setstate__(bad)


def test_log_q_mixed_is_the_log_expected_count_of_the_pool():
    est = FrequencyEstimator("decayed", n_items=4, decay=1.0)
    est.update(np.array([0, 0, 1]))
    q = np.array([2.0, 1.0, 0.0, 0.0])
    ids = np.arange(4)
    np.testing.assert_allclose(est.log_q_mixed(ids, 8), np.log(q + 8 / 4))
    table = AliasTable([1.0, 1.0, 2.0, 0.0])
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(est.log_q_mixed(ids, 8, table),
                                   np.log(q + 8 * table.probabilities))
        np.testing.assert_allclose(est.log_q_mixed(ids, 8, [1, 1, 2, 0]),
                                   np.log(q + 8 * np.array([0.25, 0.25, 0.5, 0.0])))
        assert est.log_q_mixed(ids, 0).tolist() == np.log(q).tolist()
    hashed = FrequencyEstimator("hashed", n_buckets=16)
    hashed.update(np.array([3]))
    assert hashed.log_q_mixed([3], 5, n_items=10)[0] == pytest.approx(math.log(1 + 0.5))
    with pytest.raises(TypeError, match="n_items"):
        hashed.log_q_mixed([3], 5)
    with pytest.raises(ValueError, match="pool"):
        est.log_q_mixed(ids, 5, "unigram")
    with pytest.raises(ValueError, match="pool_size"):
        est.log_q_mixed(ids, -1)
    with pytest.raises(ValueError, match="ids"):
        est.log_q_mixed([7], 1, table)


def test_python_threads_can_share_an_estimator():
    est = FrequencyEstimator("decayed", n_items=10, decay=0.99)
    serial = FrequencyEstimator("decayed", n_items=10, decay=0.99)
    batch = np.array([1, 2, 2, 9])
    for _ in range(200):
        serial.update(batch)

    def work():
        for _ in range(50):
            est.update(batch)
            est.q(batch)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert est.step == 200
    np.testing.assert_allclose(est.q(np.arange(10)), serial.q(np.arange(10)), rtol=1e-12)
    assert negsamp.FrequencyEstimator is FrequencyEstimator


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="exact"), ValueError, "method"),
    (dict(method="hashed", n_buckets=0), ValueError, "n_buckets"),
    (dict(method="hashed", n_buckets=2**32 + 1), ValueError, "n_buckets"),
    (dict(method="hashed", n_buckets=1.5), TypeError, "n_buckets"),
    (dict(method="hashed", alpha=0.0), ValueError, "alpha"),
    (dict(method="hashed", alpha=1.5), ValueError, "alpha"),
    (dict(method="hashed", alpha=float("nan")), ValueError, "alpha"),
    (dict(method="hashed", alpha="a"), TypeError, "alpha"),
    (dict(method="hashed", seed=-1), ValueError, "seed"),
    (dict(method="decayed"), TypeError, "n_items"),
    (dict(method="decayed", n_items=0), ValueError, "n_items"),
    (dict(method="decayed", n_items=3, decay=0.0), ValueError, "decay"),
    (dict(method="decayed", n_items=3, decay=True), TypeError, "decay"),
])
def test_bad_parameters_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        FrequencyEstimator(**kwargs)


def test_bad_ids_are_rejected_before_any_change():
    est = FrequencyEstimator("decayed", n_items=5)
    est.update([1, 2])
    state = pickle.dumps(est)
    for ids, error in (([5], ValueError), ([-1], ValueError), ([0.5], TypeError),
                       ("ab", TypeError)):
        with pytest.raises(error, match="ids"):
            est.update(ids)
    assert pickle.dumps(est) == state
    hashed = FrequencyEstimator("hashed", n_buckets=8)
    with pytest.raises(ValueError, match="ids"):
        hashed.update(np.array([2**63], dtype=np.uint64))
    with pytest.raises(ValueError, match="ids"):
        hashed.q([-3])

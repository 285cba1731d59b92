"""Reproducible by row (issue 14): ``keys=`` on every sampler that produces
rows.  With keys, output row i depends only on the key taken from ``rng``
and ``keys[i]`` (and its own inputs): not on the other rows, their order,
the call's length, the thread count or how the rows are split into calls.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import negsamp
from negsamp._rng import draw_key

from _reference import (
    alias_keyed_rows,
    keyed_doubles,
    keyed_exclude_one_rows,
    keyed_uniform_rows,
)

KEYS6 = [0, 1, 2, 5, 2**62, 123456789]


# ------------------------------------------------------------- golden
# The strongest goldens: the pure-Python reference of the keyed stream
# (tests/_reference.py) reproduces these outputs exactly, and the values are
# also pinned, so a change of the keyed streams fails here (see the
# stream-stability policy in README.md and CHANGELOG.md).
GOLDEN_UNIFORM = [[44, 17, 381, 830, 902], [97, 582, 999, 98, 781]]
GOLDEN_UNIFORM_DISTINCT = [[0, 1, 4, 7, 8], [0, 5, 8, 1, 6]]
GOLDEN_ALIAS = [[5, 2, 2, 2, 2, 3, 3, 0], [1, 3, 5, 3, 2, 2, 3, 2]]


@pytest.mark.parametrize("replace", [True, False])
def test_uniform_rows_match_the_pure_python_reference(replace):
    n = 1000 if replace else 9
    k = 5 if not replace else 7
    out = negsamp.NegativeSampler(n).sample(np.zeros(len(KEYS6), np.int64), k, rng=2024,
                                            keys=KEYS6, replace=replace)
    k0, k1 = draw_key(2024)
    assert out.tolist() == keyed_uniform_rows(k0, k1, KEYS6, n, k, replace)
    golden = GOLDEN_UNIFORM if replace else GOLDEN_UNIFORM_DISTINCT
    assert out[:2, :5].tolist() == golden


def test_alias_rows_match_the_pure_python_reference():
    table = negsamp.AliasTable([1.0, 2.0, 3.0, 4.0, 0.0, 5.0])
    k = 70  # three batches of 32: the batch boundaries are part of the scheme
    for dtype in (np.int64, np.int32):
        out = table.sample((len(KEYS6), k), rng=7, keys=KEYS6, dtype=dtype)
        assert out.dtype == dtype and out.shape == (len(KEYS6), k)
        k0, k1 = draw_key(7)
        e = table._table
        assert out.tolist() == alias_keyed_rows(e["threshold"], e["alias"], k0, k1, KEYS6, k)
    assert out[:2, :8].tolist() == GOLDEN_ALIAS


def test_alias_reference_covers_coin_ties():
    """A table whose thresholds put coin ties at probability ~2^-11 (n
    of 2^21 + ... is too big for Python; instead thresholds with their top
    32 bits 0 tie whenever the coin is 0: forced by a table of one item of
    weight 1 and many of weight ~0)."""
    table = negsamp.AliasTable([1.0] + [1e-300] * 3)
    out = table.sample((3, 40), rng=1, keys=[0, 9, 4])
    k0, k1 = draw_key(1)
    e = table._table
    assert out.tolist() == alias_keyed_rows(e["threshold"], e["alias"], k0, k1, [0, 9, 4], 40)


def test_corrupt_triples_unfiltered_match_the_reference():
    """mode="tail"/"head" without known: each row excludes only its own
    entity (the short-row rejection of the uniform kernel).  mode="both":
    three call keys in order (tails, heads, sides), the sides the doubles of
    the third key's keyed rows, head when below 1/2."""
    n, k = 50, 6
    tri = np.array([[1, 0, 2], [3, 1, 3], [7, 0, 49], [1, 0, 2]])
    keys = [10, 11, 2**40, 10]
    for mode, col in (("tail", 2), ("head", 0)):
        out = negsamp.corrupt_triples(tri, n, k, mode=mode, rng=5, keys=keys)
        k0, k1 = draw_key(5)
        ref = keyed_exclude_one_rows(k0, k1, keys, tri[:, col], n, k)
        assert out[..., col].tolist() == ref
        assert (out[..., 2 - col] == tri[:, None, 2 - col]).all()
    out = negsamp.corrupt_triples(tri, n, k, mode="both", rng=5, keys=keys)
    gen = np.random.default_rng(5)
    (t0, t1), (h0, h1), (s0, s1) = draw_key(gen), draw_key(gen), draw_key(gen)
    tails = keyed_exclude_one_rows(t0, t1, keys, tri[:, 2], n, k)
    heads = keyed_exclude_one_rows(h0, h1, keys, tri[:, 0], n, k)
    coins = keyed_doubles(s0, s1, keys, k)
    for i in range(len(keys)):
        for s in range(k):
            h, r, t = tri[i]
            want = [heads[i][s], r, t] if coins[i][s] < 0.5 else [h, r, tails[i][s]]
            assert out[i, s].tolist() == want
    assert (out[0] == out[3]).all()  # equal keys, equal triples: equal rows


# Paths without a practical pure-Python reference (rejection from the alias
# table with Bloom filters and pipelined columns, inversion, complement
# tables, Gumbel keys): outputs pinned from this implementation.
PINNED_WEIGHTED = [[6, 16, 36, 0, 9], [3, 3, 25, 1, 23], [0, 0, 2, 0, 0]]
PINNED_WEIGHTED_DISTINCT = [[6, 16, 0, 9, 36], [3, 1, 25, 23, 22]]
PINNED_TEMPERATURE = [[7, 6, 16], [9, 8, 14]]


def _weighted_sampler():
    w = 1.0 / np.arange(1, 41) ** 0.9
    pos = [[1, 2, 5], list(range(3, 40)), [0, 7, 8, 9, 10, 30]]
    return negsamp.NegativeSampler(weights=w, power=0.75, positives=pos)


def test_pinned_weighted_and_temperature_rows():
    s = _weighted_sampler()
    rows = np.array([0, 2, 1])
    out = s.sample(rows, 5, rng=99, keys=[3, 4, 5])
    assert out.tolist() == PINNED_WEIGHTED
    out = s.sample(rows[:2], 5, rng=99, keys=[3, 4], replace=False)  # row 1: 3 eligible
    assert out.tolist() == PINNED_WEIGHTED_DISTINCT
    gen = np.random.default_rng(0)
    q, c = gen.normal(size=(2, 4)), gen.normal(size=(40, 4))
    ids, _ = negsamp.hard_negatives(q, c, 3, temperature=0.5, rng=3, keys=[8, 1])
    assert ids.tolist() == PINNED_TEMPERATURE


def test_keyed_streams_are_not_block_streams():
    """The domain-separation constant: keyed stream `key` is not block
    stream `key` of the same call key (for the small values both take)."""
    from _reference import keyed_stream, reference_stream

    k0, k1 = draw_key(3)
    for b in range(64):
        s = keyed_stream(k0, k1, b)
        assert [next(s) for _ in range(4)] != reference_stream(k0, k1, b, 4)
    # A keyed call is not the unkeyed call, even for key = block index.
    u = negsamp.NegativeSampler(10**6)
    assert (u.sample(np.zeros(1, np.int64), 8, rng=3, keys=[0])
            != u.sample(np.zeros(1, np.int64), 8, rng=3)).any()


def test_keys_none_is_todays_streams():
    s = _weighted_sampler()
    rows = np.array([0, 2, 1, 1])
    assert (s.sample(rows, 5, rng=1) == s.sample(rows, 5, rng=1, keys=None)).all()
    assert (s.sample(rows, 5, rng=1) != s.sample(rows, 5, rng=1, keys=[0, 1, 2, 3])).any()


# ------------------------------------------------- row independence
N_ROWS = 2000  # 16 blocks of 128 rows: enough for 3 threads to share them


def _check_row_independent(sample, m, equal_pairs=(), splits=True):
    """``sample(idx, n_threads)`` returns the rows of the items ``idx`` of a
    fixed data set (their keys being keys[idx]): identical rows for every
    thread count, permutation, and (``splits``) split into two calls and
    prefix."""
    idx = np.arange(m)
    full = sample(idx, 1)
    for threads in (2, 3):
        np.testing.assert_array_equal(sample(idx, threads), full)
    perm = np.random.default_rng(0).permutation(m)
    np.testing.assert_array_equal(sample(perm, 2), full[perm])
    for a, b in equal_pairs:
        np.testing.assert_array_equal(full[a], full[b])
    if not splits:
        return full
    cut = m // 3 + 1
    parts = np.concatenate([sample(perm[:cut], 3), sample(perm[cut:], 1)])
    np.testing.assert_array_equal(parts, full[perm])
    np.testing.assert_array_equal(sample(idx[:7], 2), full[:7])
    np.testing.assert_array_equal(sample(idx[-1:], 1), full[-1:])
    return full


def _keys_for(m):
    # Spread keys, with a repeat: rows 5 and 1500 share key and input row.
    keys = np.random.default_rng(42).choice(2**62, m, replace=False)
    keys[1500] = keys[5]
    return keys


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("replace", [True, False])
def test_negative_sampler_rows_independent(weighted, replace):
    n = 3000
    gen = np.random.default_rng(1)
    # Every method: short rows (filters), long rows, dense rows (complement
    # tables), rows holding most of the mass (weighted inversion).
    pos = [gen.choice(n, size, replace=False) for size in
           (0, 3, 40, 200, 1600, 2900)] + [np.arange(30)]
    w = 1.0 / np.arange(1, n + 1) if weighted else None
    s = negsamp.NegativeSampler(n, weights=w, positives=pos)
    rows = gen.integers(0, len(pos), N_ROWS)
    rows[1500] = rows[5]
    keys = _keys_for(N_ROWS)
    _check_row_independent(
        lambda i, t: s.sample(rows[i], 20, rng=7, keys=keys[i], replace=replace, n_threads=t),
        N_ROWS, equal_pairs=[(5, 1500)])


def test_negative_sampler_log_q_and_no_positives():
    s = negsamp.NegativeSampler(500)
    keys = _keys_for(N_ROWS)
    out = _check_row_independent(
        lambda i, t: s.sample(np.full(len(i), 3), 4, rng=1, keys=keys[i], n_threads=t),
        N_ROWS, equal_pairs=[(5, 1500)])
    # Without positives only the count of row ids matters: any ids, same rows.
    np.testing.assert_array_equal(s.sample(np.arange(N_ROWS), 4, rng=1, keys=keys), out)
    w = _weighted_sampler()
    neg, lq = w.sample(np.array([0, 1, 2]), 6, rng=4, keys=[1, 2, 3], return_log_q=True)
    np.testing.assert_array_equal(neg, w.sample(np.array([0, 1, 2]), 6, rng=4, keys=[1, 2, 3]))
    for i, r in enumerate([0, 1, 2]):
        np.testing.assert_allclose(lq[i], np.log(w.row_probabilities(r)[neg[i]]), rtol=1e-12)


def test_kernel_keyed_rows_for_more_threads_than_cores():
    """The public n_threads is capped at the cores (2 on small machines);
    the Cython layer is not: 3, 4 and 7 participants cut the blocks into
    that many segments, and the keyed rows stay the same."""
    from negsamp._exclusion import as_exclusion_lists
    from negsamp._law import SamplingLaw

    gen = np.random.default_rng(9)
    ex = as_exclusion_lists([gen.choice(5000, 30, replace=False) for _ in range(20)], 5000)
    rows = gen.integers(0, 20, 4000)
    keys = gen.choice(2**62, 4000, replace=False)
    indptr = np.ascontiguousarray(ex.indptr, dtype=np.int64)
    indices = np.ascontiguousarray(ex.indices, dtype=np.int64)

    law = SamplingLaw(5000, indptr, indices)

    def run(threads):
        out, _ = law.sample(rows, 12, True, 5, 6, threads, False, keys=keys)
        return out

    one = run(1)
    for threads in (3, 4, 7):
        np.testing.assert_array_equal(run(threads), one)


@pytest.mark.parametrize("mode", ["tail", "head", "both", "bernoulli"])
def test_corrupt_triples_rows_independent(mode):
    gen = np.random.default_rng(3)
    n = 200
    known = np.stack([gen.integers(0, n, 3000), gen.integers(0, 4, 3000),
                      gen.integers(0, n, 3000)], axis=1)
    tri = known[gen.choice(3000, N_ROWS)]
    tri[1500] = tri[5]
    keys = _keys_for(N_ROWS)
    _check_row_independent(
        lambda i, t: negsamp.corrupt_triples(tri[i], n, 9, mode=mode, known=known, rng=2,
                                             keys=keys[i], n_threads=t),
        N_ROWS, equal_pairs=[(5, 1500)])


@pytest.mark.parametrize("replace", [True, False])
def test_negative_edges_per_source_rows_independent(replace):
    """A row depends on its source's out-neighbours, so on the whole graph:
    threads and edge order only (a subset of the edges is another graph)."""
    gen = np.random.default_rng(4)
    ei = gen.integers(0, 300, (2, N_ROWS))
    ei[:, 1500] = ei[:, 5]
    keys = _keys_for(N_ROWS)
    full = _check_row_independent(
        lambda i, t: negsamp.negative_edges(ei[:, i], 300, 8, method="per_source",
                                            replace=replace, rng=3, keys=keys[i],
                                            n_threads=t),
        N_ROWS, equal_pairs=[(5, 1500)], splits=False)
    # A call on another graph in which edge 7's source has the same
    # out-neighbours gives edge 7 the same row.
    u = ei[0, 7]
    same = ei[:, ei[0] == u]
    rest = negsamp.negative_edges(np.concatenate([same, [[u], [ei[1, 7]]]], axis=1), 300, 8,
                                  method="per_source", replace=replace, rng=3,
                                  keys=np.append(np.zeros(same.shape[1], np.int64), keys[7]))
    np.testing.assert_array_equal(rest[-1], full[7])


def test_alias_rows_independent():
    table = negsamp.AliasTable.from_counts(np.arange(1, 1001), 0.75)
    m = 40_000  # 24 chunks of ~1638 rows of 10: three threads share them
    keys = np.random.default_rng(5).choice(2**62, m, replace=False)
    keys[30_000] = keys[5]
    _check_row_independent(
        lambda i, t: table.sample((len(i), 10), rng=11, keys=keys[i], n_threads=t),
        m, equal_pairs=[(5, 30_000)])
    np.testing.assert_array_equal(
        table.sample((m, 10), rng=11, keys=keys, dtype=np.int32),
        table.sample((m, 10), rng=11, keys=keys))


def test_hard_negatives_temperature_rows_independent():
    gen = np.random.default_rng(6)
    q = gen.normal(size=(300, 16)).astype(np.float32)
    c = gen.normal(size=(2000, 16)).astype(np.float32)
    q[200] = q[5]
    excl = [gen.choice(2000, 5, replace=False) for _ in range(300)]
    excl[200] = excl[5]
    keys = _keys_for(N_ROWS)[:300]
    keys[200] = keys[5]
    excl = np.array(excl)

    def run(i, t, block_size=None):
        ids, _ = negsamp.hard_negatives(q[i], c, 6, exclude=[e for e in excl[i]],
                                        temperature=0.3, rng=8, keys=keys[i],
                                        n_threads=t, block_size=block_size)
        return ids

    full = _check_row_independent(run, 300, equal_pairs=[(5, 200)])
    np.testing.assert_array_equal(run(np.arange(300), 2, block_size=333), full)


# ------------------------------------------ independence between keys
def _pair_table(x, n):
    table = np.zeros((n, n))
    np.add.at(table, (x[:-1], x[1:]), 1)
    return table


def _pairs_pvalue(x, n):
    """Chi-square of the (row r, row r + 1) contingency table against
    independence."""
    return stats.chi2_contingency(_pair_table(x, n), correction=False).pvalue


@pytest.mark.parametrize("sampler", ["negative", "negative_weighted_flat", "alias"])
def test_consecutive_keys_uncorrelated(sampler):
    n, m = 50, 20_000
    keys = np.arange(m)
    if sampler == "negative":
        x = negsamp.NegativeSampler(n).sample(np.zeros(m, np.int64), 1, rng=13, keys=keys)
    elif sampler == "negative_weighted_flat":
        x = negsamp.NegativeSampler(weights=np.ones(n), positives=[[]]).sample(
            np.zeros(m, np.int64), 1, rng=13, keys=keys)
    else:
        x = negsamp.AliasTable(np.ones(n)).sample((m, 1), rng=13, keys=keys)
    x = x.ravel()
    assert stats.chisquare(np.bincount(x, minlength=n)).pvalue > 1e-4
    assert _pairs_pvalue(x, n) > 1e-4
    # The test has power: a sampler whose row r + 1 repeats row r one time
    # in 20 fails it (so would streams of keys r and r + 1 that overlap).
    bad = x.copy()
    repeat = np.random.default_rng(0).random(m) < 0.05
    for r in np.flatnonzero(repeat[1:]) + 1:
        bad[r] = bad[r - 1]
    assert _pairs_pvalue(bad, n) < 1e-6


# ------------------------------------------------------- validation
@pytest.mark.parametrize("bad, exc, match", [
    (np.array([True, False, True]), TypeError, "keys must have an integer dtype"),
    (np.array([0.0, 1.0, 2.0]), TypeError, "keys must have an integer dtype"),
    ("abc", TypeError, "keys"),
    ([0, -1, 2], ValueError, "keys must be >= 0, got -1 at index 1"),
    ([0, 1], ValueError, "keys must have one key per row: expected 3 keys, got 2"),
    (np.zeros((3, 1), np.int64), ValueError, "keys must be 1-D"),
    (np.array([0, 2**63, 1], np.uint64), ValueError, "keys must be < 2\\*\\*63"),
])
def test_bad_keys(bad, exc, match):
    s = negsamp.NegativeSampler(10)
    with pytest.raises(exc, match=match):
        s.sample([0, 0, 0], 2, rng=0, keys=bad)


def test_bad_keys_every_sampler():
    with pytest.raises(ValueError, match="keys must have one key per triple"):
        negsamp.corrupt_triples([[0, 0, 1]], 5, 2, rng=0, keys=[1, 2])
    with pytest.raises(TypeError, match="keys"):
        negsamp.corrupt_triples([[0, 0, 1]], 5, 2, mode="both", rng=0, keys=[0.5])
    with pytest.raises(ValueError, match="keys must have one key per edge"):
        negsamp.negative_edges([[0], [1]], 5, 2, method="per_source", rng=0, keys=[1, 2])
    with pytest.raises(ValueError, match='keys .* need method="per_source"'):
        negsamp.negative_edges([[0], [1]], 5, 2, rng=0, keys=[1])
    table = negsamp.AliasTable([1.0, 2.0])
    with pytest.raises(ValueError, match="keys .* need a 2-D size"):
        table.sample(4, rng=0, keys=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="keys .* need a 2-D size"):
        table.sample((2, 2, 2), rng=0, keys=[0, 1])
    with pytest.raises(ValueError, match="keys must have one key per row: expected 2"):
        table.sample((2, 3), rng=0, keys=[0, 1, 2])
    with pytest.raises(TypeError, match="keys must have an integer dtype"):
        table.sample((2, 3), rng=0, keys=[True, False])
    q = np.ones((2, 3))
    with pytest.raises(ValueError, match="keys .* need temperature"):
        negsamp.hard_negatives(q, q, 1, rng=0, keys=[0, 1])
    with pytest.raises(ValueError, match="keys must have one key per query"):
        negsamp.hard_negatives(q, q, 1, temperature=1.0, rng=0, keys=[0])


def test_keys_empty_and_k_zero():
    s = negsamp.NegativeSampler(10, positives=[[1]])
    assert s.sample([], 3, rng=0, keys=[]).shape == (0, 3)
    assert s.sample([0, 0], 0, rng=0, keys=[1, 2]).shape == (2, 0)
    assert s.sample(np.zeros(0, np.int64), 3, rng=0, keys=np.zeros(0)).shape == (0, 3)
    assert negsamp.AliasTable([1.0]).sample((0, 4), rng=0, keys=[]).shape == (0, 4)
    assert negsamp.corrupt_triples(np.zeros((0, 3), np.int64), 5, 2, rng=0,
                                   keys=[]).shape == (0, 2, 3)
    # Caller arrays are not modified (keys are copied to int64 when needed).
    keys = np.array([3, 4], np.int32)
    s.sample([0, 0], 2, rng=0, keys=keys)
    assert keys.tolist() == [3, 4] and keys.dtype == np.int32


# ----------------------------------------- the README recipes, in full
def _collate(batch, sampler, k, seed, epoch):
    import torch

    idx = np.asarray(batch, dtype=np.int64)
    neg = sampler.sample(idx % 50, k, rng=seed + epoch, keys=idx)  # dataset i is user i % 50
    return torch.from_numpy(idx), torch.from_numpy(neg)


def test_dataloader_epoch_negatives_any_batch_size_and_workers():
    """Per-epoch negatives in a shuffling DataLoader (rng=seed + epoch,
    keys=dataset indices): per index, identical for batch sizes 7 and 64
    and num_workers 0 and 2; a new epoch gives new negatives."""
    import functools

    torch = pytest.importorskip("torch")
    gen = np.random.default_rng(2)
    sampler = negsamp.NegativeSampler(weights=gen.integers(1, 100, 500), power=0.75,
                                      positives=[gen.choice(500, 30, replace=False)
                                                 for _ in range(50)])
    n, k, seed = 600, 5, 77

    def epoch(e, batch_size, workers):
        loader = torch.utils.data.DataLoader(
            np.arange(n), batch_size=batch_size, shuffle=True, num_workers=workers,
            collate_fn=functools.partial(_collate, sampler=sampler, k=k, seed=seed, epoch=e),
            generator=torch.Generator().manual_seed(batch_size + workers))
        out = np.full((n, k), -1, dtype=np.int64)
        for idx, neg in loader:
            out[idx.numpy()] = neg.numpy()
        return out

    ref = epoch(0, 7, 0)
    assert (ref >= 0).all()
    for batch_size, workers in ((64, 0), (7, 2), (64, 2)):
        np.testing.assert_array_equal(epoch(0, batch_size, workers), ref)
    np.testing.assert_array_equal(ref, sampler.sample(np.arange(n) % 50, k, rng=seed,
                                                      keys=np.arange(n)))
    assert (epoch(1, 64, 0) != ref).any()


def test_fixed_evaluation_negatives_across_runs_and_splits():
    """replace=False, rng=seed, keys=user ids: the same per user in a new
    process and however the users are split into calls."""
    import subprocess
    import sys

    code = ("import numpy as np, negsamp\n"
            "s = negsamp.NegativeSampler(weights=np.arange(1, 2001), power=0.75,"
            " positives=[np.arange(u, u + 40) for u in range(100)])\n"
            "users = np.arange(100)\n"
            "print(s.sample(users, 20, replace=False, rng=5, keys=users).tolist())\n")
    from _child import run_python

    run = run_python(code, check=True)
    first = np.array(eval(run.stdout))
    s = negsamp.NegativeSampler(weights=np.arange(1, 2001), power=0.75,
                                positives=[np.arange(u, u + 40) for u in range(100)])
    perm = np.random.default_rng(1).permutation(100)
    for part in np.array_split(perm, 7):
        np.testing.assert_array_equal(
            s.sample(part, 20, replace=False, rng=5, keys=part), first[part])

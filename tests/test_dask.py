"""negsamp.dask on a real distributed.LocalCluster (2 worker processes).

Skipped when dask / distributed are not installed (pip install 'negsamp[dask]').
"""
from __future__ import annotations

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
db = pytest.importorskip("dask.bag")
pd = pytest.importorskip("pandas")

from negsamp import Reservoir, WeightedReservoir  # noqa: E402
from negsamp.dask import reservoir_sample, sample_negatives  # noqa: E402
from _stats import chisquare_pvalue, without_replacement_inclusion  # noqa: E402

ALPHA = 1e-4


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


class StandInSampler:
    """Picklable stand-in for negsamp.NegativeSampler: negatives of row r are
    r * 1000 + a uniform draw in [0, n_items)."""

    def __init__(self, n_items: int, payload: int = 0) -> None:
        self.n_items = n_items
        self.payload = np.zeros(payload, dtype=np.uint8)

    def sample(self, rows, k, rng=None, *, replace=True, n_threads=None):
        gen = np.random.default_rng(rng)
        rows = np.asarray(rows, dtype=np.int64)
        return rows[:, None] * 1000 + gen.integers(0, self.n_items, size=(rows.shape[0], k))


# -- reservoir_sample ---------------------------------------------------------
def test_array_sample_is_reproducible_and_cluster_independent(client):
    x = da.arange(200_000, chunks=17_000)
    a = reservoir_sample(x, 50, rng=3).compute()
    b = reservoir_sample(x, 50, rng=3).compute()
    local = reservoir_sample(x, 50, rng=3).compute(scheduler="synchronous")
    assert isinstance(a, Reservoir) and a.count == 200_000
    assert a == b == local
    assert len(set(a.sample.tolist())) == 50
    c = reservoir_sample(x, 50, rng=4).compute()
    assert c.sample.tolist() != a.sample.tolist()


@pytest.mark.slow
def test_uniform_law_on_the_cluster(client):
    n, k, trials = 12, 3, 800
    x = da.arange(n, chunks=5)  # partitions of 5, 5, 2: one has fewer than k
    results = dask.compute(*[reservoir_sample(x, k, rng=s) for s in range(trials)])
    counts = np.zeros(n)
    for r in results:
        counts[r.sample] += 1
    assert counts.sum() == trials * k
    assert chisquare_pvalue(counts, np.full(n, 1 / n)) > ALPHA
    # Power: a merge weighting partitions by their sample size instead of
    # their count (the classic approximate union) would over-keep the small
    # partition's items: 3/3 of its slots vs 2/12.
    wrong = np.array([3 / 5] * 10 + [1.0] * 2)
    assert chisquare_pvalue(counts, wrong / wrong.sum()) < ALPHA


@pytest.mark.slow
def test_weighted_law_on_the_cluster(client):
    w = np.array([1.0, 3.0, 0.0, 2.0, 0.5, 4.0, 1.5, 2.5])
    k, trials = 2, 800
    x = da.arange(w.shape[0], chunks=3)
    wd = da.from_array(w, chunks=3)
    results = dask.compute(*[reservoir_sample(x, k, weights=wd, rng=s) for s in range(trials)])
    counts = np.zeros(w.shape[0])
    for r in results:
        assert isinstance(r, WeightedReservoir)
        counts[r.sample] += 1
    assert counts[2] == 0
    exact = without_replacement_inclusion(w, k)
    assert chisquare_pvalue(counts, exact / exact.sum()) > ALPHA


def test_series_and_bag(client):
    s = dd.from_pandas(pd.Series(np.arange(5000) * 2), npartitions=6)
    r1 = reservoir_sample(s, 20, rng=1).compute()
    assert r1 == reservoir_sample(s, 20, rng=1).compute()
    assert r1.count == 5000 and np.all(r1.sample % 2 == 0)
    ws = reservoir_sample(s, 20, weights=(s % 3 == 0).astype(float), rng=1).compute()
    assert np.all(ws.sample % 3 == 0) and ws.count == 5000
    bag = db.from_sequence([(i, f"x{i}") for i in range(300)], npartitions=5)
    rb = reservoir_sample(bag, 7, rng=2).compute()
    assert rb.count == 300 and rb.sample.dtype == object
    assert all(isinstance(t, tuple) and t[1] == f"x{t[0]}" for t in rb.sample)
    wb = reservoir_sample(bag, 7, weights=lambda t: float(t[0] < 10), rng=2).compute()
    assert all(t[0] < 10 for t in wb.sample)
    assert len(wb.sample) == 7


def test_reservoir_sample_bad_input():
    x = da.arange(10, chunks=5)
    with pytest.raises(ValueError, match="k"):
        reservoir_sample(x, 0)
    with pytest.raises(ValueError, match="1-D"):
        reservoir_sample(da.zeros((4, 4), chunks=2), 3)
    with pytest.raises(TypeError, match="dask"):
        reservoir_sample(np.arange(10), 3)
    with pytest.raises(ValueError, match="shape"):
        reservoir_sample(x, 3, weights=np.ones(9))
    df = dd.from_pandas(pd.DataFrame({"a": [1, 2]}), npartitions=1)
    with pytest.raises(TypeError, match="Series"):
        reservoir_sample(df, 1)
    with pytest.raises(ValueError, match="finite"):
        reservoir_sample(x, 3, weights=np.array([1.0] * 9 + [np.nan])).compute(
            scheduler="synchronous")


# -- sample_negatives ---------------------------------------------------------
def test_sample_negatives_on_the_cluster(client):
    pdf = pd.DataFrame({"user": np.arange(400) % 37, "item": np.arange(400)})
    df = dd.from_pandas(pdf, npartitions=8)
    sampler = StandInSampler(50, payload=1 << 20)
    out = sample_negatives(df, sampler, row_column="user", k=4, rng=11)
    assert list(out.columns) == ["user", "item", "neg_0", "neg_1", "neg_2", "neg_3"]
    got = out.compute()
    again = sample_negatives(df, sampler, row_column="user", k=4, rng=11).compute()
    pd.testing.assert_frame_equal(got, again)
    pd.testing.assert_frame_equal(got[["user", "item"]], pdf)
    negs = got[[f"neg_{j}" for j in range(4)]].to_numpy()
    assert negs.dtype == np.int64
    # Each row's negatives came from its own row and the law is uniform on 50.
    assert np.all(negs // 1000 == got["user"].to_numpy()[:, None])
    assert chisquare_pvalue(np.bincount((negs % 1000).ravel(), minlength=50),
                            np.full(50, 1 / 50)) > ALPHA
    other = sample_negatives(df, sampler, row_column="user", k=4, rng=12).compute()
    assert not np.array_equal(other["neg_0"].to_numpy(), got["neg_0"].to_numpy())
    # The sampler (1 MiB) is in the graph once, not once per partition.
    import cloudpickle

    graph = dict(out.__dask_graph__())
    assert len(cloudpickle.dumps(graph)) < 3 * (1 << 20)


def test_sample_negatives_with_a_real_negative_sampler(client):
    import negsamp

    n_users, n_items = 37, 200
    history = [np.arange(u, u + 20) % n_items for u in range(n_users)]
    sampler = negsamp.NegativeSampler(n_items, positives=history)
    pdf = pd.DataFrame({"user": np.arange(600) % n_users})
    df = dd.from_pandas(pdf, npartitions=6)
    got = sample_negatives(df, sampler, row_column="user", k=5, rng=3).compute()
    again = sample_negatives(df, sampler, row_column="user", k=5, rng=3).compute()
    pd.testing.assert_frame_equal(got, again)
    negs = got[[f"neg_{j}" for j in range(5)]].to_numpy()
    users = got["user"].to_numpy()
    for user, row in zip(users, negs):
        assert not np.isin(row, history[user]).any()
    # User 0's ~85 negatives spread over its 180 eligible items (about 68
    # distinct ones are expected), not a handful repeated per partition.
    eligible = np.setdiff1d(np.arange(n_items), history[0])
    counts = np.bincount(negs[users == 0].ravel(), minlength=n_items)[eligible]
    assert counts.sum() == 5 * (users == 0).sum() and (counts > 0).sum() > 45


def test_sample_negatives_bad_input():
    df = dd.from_pandas(pd.DataFrame({"user": [1, 2], "neg_0": [0, 0]}), npartitions=1)
    with pytest.raises(ValueError, match="row_column"):
        sample_negatives(df, StandInSampler(5), row_column="nope", k=2)
    with pytest.raises(TypeError, match="sample"):
        sample_negatives(df, object(), row_column="user", k=2)
    with pytest.raises(ValueError, match="k"):
        sample_negatives(df, StandInSampler(5), row_column="user", k=0)
    with pytest.raises(ValueError, match="prefix"):
        sample_negatives(df, StandInSampler(5), row_column="user", k=1)
    with pytest.raises(TypeError, match="DataFrame"):
        sample_negatives(df["user"], StandInSampler(5), row_column="user", k=1)


@pytest.mark.parametrize("key_column", ["index", "key"])
def test_sample_negatives_keyed_independent_of_partitioning(client, key_column):
    import negsamp

    n_users, n_items = 37, 300
    history = [np.arange(u, u + 25) % n_items for u in range(n_users)]
    sampler = negsamp.NegativeSampler(weights=np.arange(1, n_items + 1), power=0.75,
                                      positives=history)
    gen = np.random.default_rng(0)
    pdf = pd.DataFrame({"user": gen.integers(0, n_users, 700),
                        "key": gen.choice(2**40, 700, replace=False)},
                       index=np.arange(700) * 3 + 1)
    results = [sample_negatives(dd.from_pandas(pdf, npartitions=p), sampler, row_column="user",
                                k=6, rng=21, key_column=key_column).compute()
               for p in (1, 3, 7)]
    for other in results[1:]:
        pd.testing.assert_frame_equal(other, results[0])
    # Each row is the sampler's keyed row, and unkeyed partitioned calls differ.
    negs = results[0][[f"neg_{j}" for j in range(6)]].to_numpy()
    keys = pdf.index.to_numpy() if key_column == "index" else pdf["key"].to_numpy()
    seed = int(negsamp.spawn(21, 1)[0].integers(0, 2**63))
    direct = sampler.sample(pdf["user"].to_numpy(), 6, rng=seed, keys=keys)
    np.testing.assert_array_equal(negs, direct)
    unkeyed = [sample_negatives(dd.from_pandas(pdf, npartitions=p), sampler, row_column="user",
                                k=6, rng=21).compute() for p in (1, 3)]
    assert not unkeyed[0].equals(unkeyed[1])


def test_sample_negatives_bad_key_column():
    import negsamp

    sampler = negsamp.NegativeSampler(10)
    df = dd.from_pandas(pd.DataFrame({"user": [1, 2], "f": [0.5, 1.0], "neg": [-1, 2]}),
                        npartitions=1)
    with pytest.raises(ValueError, match="key_column 'nope'"):
        sample_negatives(df, sampler, row_column="user", k=2, key_column="nope")
    with pytest.raises(TypeError, match="key_column 'f' must hold integer keys"):
        sample_negatives(df, sampler, row_column="user", k=2, key_column="f")
    with pytest.raises(TypeError, match="key_column must be"):
        sample_negatives(df, sampler, row_column="user", k=2, key_column=3)
    with pytest.raises(ValueError, match="key_column 'neg'.*keys must be >= 0"):
        sample_negatives(df, sampler, row_column="user", k=2, key_column="neg").compute()

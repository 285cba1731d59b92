"""pytest-benchmark groups for Reservoir and WeightedReservoir: negsamp and
its NumPy key baselines side by side.

Run: pytest benchmarks --benchmark-enable
"""
import numpy as np
import pytest

import negsamp
from negsamp import baselines

CHUNK = 10**6
N_CHUNKS = 10
K = 1000


@pytest.fixture(scope="module")
def chunk():
    return np.arange(CHUNK, dtype=np.int64)


@pytest.fixture(scope="module")
def weights():
    return np.random.default_rng(0).standard_exponential(CHUNK)


@pytest.mark.parametrize("impl", ["negsamp", "numpy.keys+argpartition"])
def test_uniform_update(benchmark, chunk, impl):
    benchmark.group = f"reservoir.update N={N_CHUNKS * CHUNK:.0e} chunks={CHUNK:.0e} k={K}"
    cls = negsamp.Reservoir if impl == "negsamp" else baselines.UniformKeysReservoir

    def run():
        res = cls(K, rng=0)
        for _ in range(N_CHUNKS):
            res.update(chunk)
        return res

    benchmark(run)


@pytest.mark.parametrize("impl", ["negsamp", "numpy.A-Res+argpartition"])
def test_weighted_update(benchmark, chunk, weights, impl):
    benchmark.group = f"weighted_reservoir.update N={N_CHUNKS * CHUNK:.0e} chunks={CHUNK:.0e} k={K}"
    cls = negsamp.WeightedReservoir if impl == "negsamp" else baselines.WeightedKeysReservoir

    def run():
        res = cls(K, rng=0)
        for _ in range(N_CHUNKS):
            res.update(chunk, weights)
        return res

    benchmark(run)


def _tree(rs):
    while len(rs) > 1:
        rs = [rs[i].merge(rs[i + 1]) if i + 1 < len(rs) else rs[i]
              for i in range(0, len(rs), 2)]
    return rs[0]


@pytest.mark.parametrize("weighted", [False, True], ids=["uniform", "weighted"])
@pytest.mark.parametrize("impl", ["negsamp", "numpy.keyed"])
def test_merge_tree(benchmark, weighted, impl):
    parts = 256
    benchmark.group = f"{'weighted_' if weighted else ''}reservoir.merge {parts} x k={K}"
    gen = np.random.default_rng(0)
    rs = []
    for p in range(parts):
        items = np.arange(p * 2 * K, (p + 1) * 2 * K)
        if weighted:
            cls = negsamp.WeightedReservoir if impl == "negsamp" else baselines.WeightedKeysReservoir
            r = cls(K, rng=p)
            r.update(items, gen.standard_exponential(items.shape[0]))
        else:
            cls = negsamp.Reservoir if impl == "negsamp" else baselines.UniformKeysReservoir
            r = cls(K, rng=p)
            r.update(items)
        rs.append(r)
    benchmark(_tree, rs)

"""pytest-benchmark groups for AliasTable: negsamp and its NumPy baselines.

Run: pytest benchmarks --benchmark-enable
"""
import numpy as np
import pytest

import negsamp
from negsamp import baselines

M = 1_000_000


@pytest.fixture(scope="module", params=[10**3, 10**5, 10**7], ids=lambda n: f"n={n:.0e}")
def weights(request):
    n = request.param
    return (1.0 / np.arange(1, n + 1, dtype=np.float64)) ** 0.75


def _group(benchmark, weights):
    benchmark.group = f"alias.sample n={weights.shape[0]:.0e} M={M:.0e}"


def test_negsamp_alias_1thread(benchmark, weights):
    _group(benchmark, weights)
    table = negsamp.AliasTable(weights)
    gen = np.random.default_rng(0)
    benchmark(table.sample, M, gen, n_threads=1)


def test_negsamp_alias_all_threads(benchmark, weights):
    _group(benchmark, weights)
    table = negsamp.AliasTable(weights)
    gen = np.random.default_rng(0)
    benchmark(table.sample, M, gen)


def test_numpy_choice(benchmark, weights):
    _group(benchmark, weights)
    gen = np.random.default_rng(0)
    benchmark(baselines.weighted_choice, weights, M, gen)


def test_numpy_cumsum_searchsorted(benchmark, weights):
    _group(benchmark, weights)
    gen = np.random.default_rng(0)
    benchmark(baselines.weighted_searchsorted, weights, M, gen)


def test_numpy_integers_uniform_reference(benchmark, weights):
    _group(benchmark, weights)
    gen = np.random.default_rng(0)
    benchmark(gen.integers, 0, weights.shape[0], M)


@pytest.mark.parametrize("impl", ["negsamp", "numpy.cumsum"])
def test_build(benchmark, weights, impl):
    benchmark.group = f"alias.build n={weights.shape[0]:.0e}"
    if impl == "negsamp":
        benchmark(negsamp.AliasTable, weights)
    else:
        benchmark(np.cumsum, weights)

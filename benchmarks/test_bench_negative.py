"""pytest-benchmark groups for NegativeSampler: negsamp and its NumPy baselines.

Run: pytest benchmarks/test_bench_negative.py --benchmark-enable
"""
import numpy as np
import pytest

import negsamp
from negsamp import baselines

N_ITEMS = 10**6
N_ROWS = 10**4
N_POS = 50
K = 20


@pytest.fixture(scope="module")
def positives():
    gen = np.random.default_rng(0)
    return [gen.choice(N_ITEMS, N_POS, replace=False) for _ in range(N_ROWS)]


@pytest.fixture(scope="module", params=["uniform", "counts^0.75"])
def sampler(request, positives):
    if request.param == "uniform":
        return negsamp.NegativeSampler(N_ITEMS, positives=positives)
    counts = np.floor(1e7 / np.arange(1, N_ITEMS + 1)) + 1.0
    return negsamp.NegativeSampler(weights=counts, power=0.75, positives=positives)


def _group(benchmark, sampler, what="sample"):
    law = "uniform" if sampler.table is None else "counts^0.75"
    benchmark.group = (f"negative.{what} {law} rows={N_ROWS} positives={N_POS} "
                       f"n={N_ITEMS:.0e} k={K}")


ROWS = np.arange(N_ROWS, dtype=np.int64)


def test_negsamp_1thread(benchmark, sampler):
    _group(benchmark, sampler)
    gen = np.random.default_rng(0)
    benchmark(sampler.sample, ROWS, K, gen, n_threads=1)


def test_negsamp_all_threads(benchmark, sampler):
    _group(benchmark, sampler)
    gen = np.random.default_rng(0)
    benchmark(sampler.sample, ROWS, K, gen)


def test_numpy_rejection(benchmark, sampler):
    _group(benchmark, sampler)
    csr = sampler.positives
    keys = baselines.positive_keys(csr.indptr, csr.indices, N_ITEMS)
    p = None if sampler.table is None else sampler.table.probabilities
    gen = np.random.default_rng(0)
    benchmark(baselines.negatives_rejection, keys, ROWS, K, N_ITEMS, p=p, rng=gen)


@pytest.mark.parametrize("impl", ["negsamp", "numpy"])
def test_without_replacement(benchmark, impl):
    n, rows_count = 10**4, 200
    gen = np.random.default_rng(1)
    positives = [gen.choice(n, N_POS, replace=False) for _ in range(rows_count)]
    weights = np.floor(1e5 / np.arange(1, n + 1)) + 1.0
    s = negsamp.NegativeSampler(weights=weights, power=0.75, positives=positives)
    rows = np.arange(rows_count)
    benchmark.group = f"negative.sample replace=False n={n:.0e} rows={rows_count} k={K}"
    if impl == "negsamp":
        benchmark(s.sample, rows, K, gen, replace=False, n_threads=1)
    else:
        csr = s.positives
        p = s.table.probabilities
        benchmark(baselines.negatives_without_replacement, csr.indptr, csr.indices,
                  rows, K, n, p=p, rng=gen)

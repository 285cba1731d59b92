"""pytest-benchmark groups of corrupt_triples and negative_edges, each with
its NumPy baseline (run: python -m pytest benchmarks/test_bench_graphs.py)."""
from __future__ import annotations

import numpy as np
import pytest

import negsamp
from negsamp.baselines import corrupt_triples_numpy, negative_edges_numpy
from negsamp.bench.cases_graphs import synthetic_kg

pytest.importorskip("pytest_benchmark")

N_ENTITIES, N_RELATIONS, M, K = 15_000, 500, 50_000, 32


@pytest.fixture(scope="module")
def kg():
    return synthetic_kg(N_ENTITIES, N_RELATIONS, M)


@pytest.fixture(scope="module")
def graph():
    return np.random.default_rng(0).integers(0, 100_000, (2, 500_000))


@pytest.mark.parametrize("impl", ["negsamp", "numpy"])
def test_corrupt_triples(benchmark, kg, impl):
    benchmark.group = f"corrupt_triples tail filtered m={M} k={K}"
    gen = np.random.default_rng(0)
    fn = negsamp.corrupt_triples if impl == "negsamp" else corrupt_triples_numpy
    out = benchmark(lambda: fn(kg, N_ENTITIES, K, known=kg, rng=gen))
    assert out.shape == (kg.shape[0], K, 3)


@pytest.mark.parametrize("impl", ["negsamp", "numpy"])
def test_corrupt_triples_both(benchmark, kg, impl):
    benchmark.group = f"corrupt_triples both filtered m={M} k={K}"
    gen = np.random.default_rng(0)
    fn = negsamp.corrupt_triples if impl == "negsamp" else corrupt_triples_numpy
    out = benchmark(lambda: fn(kg, N_ENTITIES, K, mode="both", known=kg, rng=gen))
    assert out.shape == (kg.shape[0], K, 3)


@pytest.mark.parametrize("impl", ["negsamp", "numpy"])
def test_negative_edges_global(benchmark, graph, impl):
    benchmark.group = "negative_edges global distinct n=1e5 E=5e5 num=5e5"
    gen = np.random.default_rng(0)
    fn = negsamp.negative_edges if impl == "negsamp" else negative_edges_numpy
    out = benchmark(lambda: fn(graph, 100_000, 500_000, rng=gen))
    assert out.shape == (2, 500_000)


@pytest.mark.parametrize("impl", ["negsamp", "numpy"])
def test_negative_edges_per_source(benchmark, graph, impl):
    benchmark.group = "negative_edges per_source n=1e5 E=5e5 num=10"
    gen = np.random.default_rng(0)
    fn = negsamp.negative_edges if impl == "negsamp" else negative_edges_numpy
    out = benchmark(lambda: fn(graph, 100_000, 10, method="per_source", replace=True,
                               rng=gen))
    assert out.shape == (graph.shape[1], 10)

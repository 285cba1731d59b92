"""pytest-benchmark groups of hard-negative mining and top-k: negsamp and its
NumPy baseline side by side (faiss too when installed).  Modest sizes; the
issue's sizes are in ``python -m negsamp.bench --full --only mining``."""
import numpy as np
import pytest

import negsamp
from negsamp.baselines import hard_negatives_numpy, topk_numpy

B, N, D, K = 128, 20_000, 128, 32


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((B, D), dtype=np.float32)
    c = rng.standard_normal((N, D), dtype=np.float32)
    exclude = [rng.choice(N, 10, replace=False) for _ in range(B)]
    return q, c, exclude


@pytest.mark.parametrize("impl", ["negsamp", "numpy"])
def test_hard_negatives(benchmark, data, impl):
    q, c, exclude = data
    benchmark.group = f"hard_negatives B={B} N={N} d={D} k={K}"
    fn = negsamp.hard_negatives if impl == "negsamp" else hard_negatives_numpy
    ids, _ = benchmark(fn, q, c, K, exclude=exclude)
    assert ids.shape == (B, K)


def test_hard_negatives_faiss(benchmark, data):
    faiss = pytest.importorskip("faiss")
    q, c, _ = data
    benchmark.group = f"hard_negatives B={B} N={N} d={D} k={K}"
    index = faiss.IndexFlatIP(D)
    index.add(c)
    _, ids = benchmark(index.search, q, K + 10)
    assert ids.shape == (B, K + 10)


@pytest.mark.parametrize("impl", ["negsamp", "numpy"])
def test_topk(benchmark, impl):
    rng = np.random.default_rng(1)
    s = rng.standard_normal((256, 100_000), dtype=np.float32)
    benchmark.group = "topk (256, 1e5) k=32"
    fn = negsamp.topk if impl == "negsamp" else topk_numpy
    ids, _ = benchmark(fn, s, K)
    assert ids.shape == (256, K)

"""A library that uses every public negsamp function, type-checked with
``mypy --strict`` in CI (it is not a test module: pytest does not collect it).
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

import negsamp


def noise_words(counts: npt.NDArray[np.int64], batch: int, k: int, seed: int) -> npt.NDArray[np.int64]:
    table: negsamp.AliasTable = negsamp.AliasTable.from_counts(counts, power=0.75)
    same: negsamp.AliasTable = negsamp.AliasTable.from_bytes(table.to_bytes())
    assert same == table and len(table) == counts.shape[0]
    probs: npt.NDArray[np.float64] = table.probabilities
    logq: npt.NDArray[np.float64] = table.log_prob(np.arange(3))
    assert probs.shape[0] >= logq.shape[0]
    rng: np.random.Generator = negsamp.worker_rng(seed)
    children: list[np.random.Generator] = negsamp.spawn(seed, 2)
    out: npt.NDArray[np.int64] = table.sample((batch, k), rng=rng, n_threads=1)
    small: npt.NDArray[np.int32] = negsamp.AliasTable([1.0, 2.0]).sample(4, children[0], dtype=np.int32)
    assert small.shape == (4,)
    negsamp.show_config()
    version: str = negsamp.__version__
    assert version
    return out

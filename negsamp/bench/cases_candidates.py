"""Benchmark cases of sampled-softmax candidates and accidental hits."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import numpy as np

from negsamp.bench import Case

N_ITEMS = 10**6
NUM_SAMPLED = 8192
BATCH = 4096
HISTORY = 32  # positives per row of the accidental-hits case


def _tf_scheme_log_uniform(gen: np.random.Generator, n: int, tries: int) -> Any:
    """TensorFlow's log-uniform scheme in NumPy: T inverse-CDF draws,
    np.unique, the inclusion probabilities 1 - (1 - p)^T."""
    u = gen.random(tries)
    draws = np.minimum(np.floor(np.exp(u * np.log(n + 1.0))) - 1, n - 1).astype(np.int64)
    cands = np.unique(draws)
    p = np.log1p(1.0 / (cands + 1.0)) / np.log1p(float(n))
    return cands, -np.expm1(tries * np.log1p(-p))


def _unique_case(law: str) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp

        gen = np.random.default_rng(0)
        if law == "log_uniform":
            return {
                "negsamp": lambda: negsamp.sampled_candidates(
                    NUM_SAMPLED, "log_uniform", n_items=N_ITEMS, rng=gen),
                "baseline": lambda: _tf_scheme_log_uniform(gen, N_ITEMS, NUM_SAMPLED),
            }
        weights = (1.0 / np.arange(1, N_ITEMS + 1)) ** 0.75
        table = negsamp.AliasTable(weights)
        probs = table.probabilities
        cdf = np.cumsum(probs)  # built once, outside the timed calls

        def baseline() -> Any:
            draws = np.searchsorted(cdf, gen.random(NUM_SAMPLED) * cdf[-1], side="right")
            cands = np.unique(np.minimum(draws, N_ITEMS - 1))
            return cands, -np.expm1(NUM_SAMPLED * np.log1p(-probs[cands]))

        return {
            "negsamp": lambda: negsamp.sampled_candidates(NUM_SAMPLED, table, rng=gen),
            "baseline": baseline,
        }

    baseline_name = ("numpy exp-floor + np.unique" if law == "log_uniform"
                     else "numpy searchsorted(cdf) + np.unique")
    return Case(f"candidates.unique {law}", f"n={N_ITEMS:.0e}, T={NUM_SAMPLED}", NUM_SAMPLED,
                make, baseline_name=baseline_name,
                note="T draws, deduplicated, with inclusion probabilities 1 - (1 - p)^T")


def _hits_case(fmt: str) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp

        gen = np.random.default_rng(1)
        # In-batch retrieval: batch row b is user b, the candidates are the
        # batch's items (row b's own item included in its history).
        history = gen.integers(0, N_ITEMS, (BATCH, HISTORY))
        items = history[:, 0].copy()
        positives = negsamp.PositiveLists(history, N_ITEMS)
        rows = [np.unique(h) for h in history]

        def baseline() -> Any:
            mask = np.empty((BATCH, BATCH), dtype=bool)
            for b in range(BATCH):
                mask[b] = np.isin(items, rows[b])
            return mask if fmt == "mask" else np.nonzero(mask)

        return {
            "negsamp": lambda: negsamp.accidental_hits(None, items, positives, format=fmt),
            "baseline": baseline,
        }

    return Case(f"accidental_hits {fmt}", f"B={BATCH} x C={BATCH} in-batch, P={HISTORY}",
                BATCH * BATCH, make, baseline_name="np.isin per row",
                note="ns/item is per (row, candidate) cell")


def cases(full: bool) -> List[Case]:
    return [_unique_case("log_uniform"), _unique_case("alias"), _hits_case("mask"),
            _hits_case("pairs")]

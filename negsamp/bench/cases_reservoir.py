"""Benchmark cases of Reservoir and WeightedReservoir: streaming updates and
tree merges."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import numpy as np

from negsamp.bench import Case

CHUNK = 10**6
K = 1000


def _uniform_case(n: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        from negsamp import Reservoir
        from negsamp.baselines import UniformKeysReservoir

        # One chunk reused: the values do not change the cost of either side.
        chunk = np.arange(CHUNK, dtype=np.int64)
        n_chunks = n // CHUNK

        def run(res: Any) -> Any:
            for _ in range(n_chunks):
                res.update(chunk)
            return res

        return {
            "negsamp": lambda: run(Reservoir(K, rng=0)),
            "baseline": lambda: run(UniformKeysReservoir(K, rng=0)),
        }

    return Case("reservoir.update", f"N={n:.0e} int64, chunks of {CHUNK:.0e}, k={K}", n,
                make, baseline_name="keys+argpartition",
                note="goal: >= 100x (Algorithm L skips whole chunks)")


#: Distinct weight chunks of the weighted update case: 20 x 1e6 float64 is
#: 160 MB, far more than any per-core cache, so that every update streams its
#: weights from the shared last-level cache or from memory.
N_WEIGHT_CHUNKS = 20


def _weighted_case(n: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        from negsamp import WeightedReservoir
        from negsamp.baselines import WeightedKeysReservoir

        gen = np.random.default_rng(0)
        chunk = np.arange(CHUNK, dtype=np.int64)
        # Generated once; each update consumes the next chunk in turn (a
        # cursor per side that carries over from one timed call to the next),
        # so that no chunk is reused while it may still be in cache.
        weights = [gen.standard_exponential(CHUNK) for _ in range(N_WEIGHT_CHUNKS)]
        n_chunks = n // CHUNK

        def runner(make_res: Callable[[], Any]) -> Callable[[], Any]:
            cursor = [0]

            def run() -> Any:
                res = make_res()
                for _ in range(n_chunks):
                    res.update(chunk, weights[cursor[0]])
                    cursor[0] = (cursor[0] + 1) % N_WEIGHT_CHUNKS
                return res

            return run

        return {
            "negsamp": runner(lambda: WeightedReservoir(K, rng=0)),
            "baseline": runner(lambda: WeightedKeysReservoir(K, rng=0)),
        }

    return Case("weighted_reservoir.update",
                f"N={n:.0e} int64, Exp(1) weights, {N_WEIGHT_CHUNKS} distinct chunks of "
                f"{CHUNK:.0e} in turn, k={K}", n, make,
                baseline_name="A-Res u**(1/w)+argpartition", note="goal: >= 15x")


def _merge_case(parts: int, weighted: bool) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        from negsamp import Reservoir, WeightedReservoir
        from negsamp.baselines import UniformKeysReservoir, WeightedKeysReservoir

        gen = np.random.default_rng(0)
        ours: List[Any] = []
        base: List[Any] = []
        for p in range(parts):
            items = np.arange(p * 2 * K, (p + 1) * 2 * K, dtype=np.int64)
            if weighted:
                w = gen.standard_exponential(items.shape[0])
                wr, wb = WeightedReservoir(K, rng=p), WeightedKeysReservoir(K, rng=p)
                wr.update(items, w)
                wb.update(items, w)
                ours.append(wr)
                base.append(wb)
            else:
                ur, ub = Reservoir(K, rng=p), UniformKeysReservoir(K, rng=p)
                ur.update(items)
                ub.update(items)
                ours.append(ur)
                base.append(ub)

        def tree(rs: List[Any]) -> Any:
            while len(rs) > 1:
                rs = [rs[i].merge(rs[i + 1]) if i + 1 < len(rs) else rs[i]
                      for i in range(0, len(rs), 2)]
            return rs[0]

        return {"negsamp": lambda: tree(ours), "baseline": lambda: tree(base)}

    name = "weighted_reservoir.merge" if weighted else "reservoir.merge"
    return Case(name, f"{parts} reservoirs of k={K}, pairwise tree", parts * K, make,
                baseline_name="keyed top-k merge",
                note="goal: >= 2x; ns/item is per sampled item merged; the baseline "
                     "keeps keys (concatenate + argpartition)")


def cases(full: bool) -> List[Case]:
    n = 10**8 if full else 10**7
    return [
        _uniform_case(n),
        _weighted_case(n),
        _merge_case(1000, weighted=False),
        _merge_case(1000, weighted=True),
    ]

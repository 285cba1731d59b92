"""Benchmark cases of NegativeSampler.sample (issue 3).

The issue's case: 10,000 rows, each with 50 positives among 1e6 items,
k = 20, one thread, against the vectorised NumPy rejection baseline
(negsamp.baselines.negatives_rejection, positive keys built once outside the
timed call).  Extra cases compare a row whose positives hold 99% of the mass
with the 50-positive row (the "baseline" column is then negsamp on the
50-positive rows: the issue asks for a ratio of at most 10x), and 2 threads
with 1.  Issue 15's case: sample_scored (dynamic negative sampling) against
the same pipeline in NumPy and in torch.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import numpy as np
import numpy.typing as npt

from negsamp.bench import Case

N_ITEMS = 10**6
N_POS = 50
K = 20


def _counts(n: int) -> np.ndarray:
    # Zipf-like counts: word and item frequencies.
    return np.floor(1e7 / np.arange(1, n + 1, dtype=np.float64)) + 1.0


def _sparse_positives(n_rows: int, n_items: int, seed: int = 0) -> List[npt.NDArray[np.int64]]:
    gen = np.random.default_rng(seed)
    return [gen.choice(n_items, N_POS, replace=False) for _ in range(n_rows)]


def _dense_positives(n_rows: int, n_items: int, p: Optional[np.ndarray], seed: int = 1) -> List[npt.NDArray[np.int64]]:
    """Rows of random items holding 99% of the mass of the base law."""
    gen = np.random.default_rng(seed)
    out: List[npt.NDArray[np.int64]] = []
    for _ in range(n_rows):
        perm = gen.permutation(n_items)
        if p is None:
            out.append(perm[: int(0.99 * n_items)])
        else:
            mass = np.cumsum(p[perm])
            out.append(perm[: int(np.searchsorted(mass, 0.99)) + 1])
    return out


def _sampler(n_items: int, weighted: bool, positives: List[npt.NDArray[np.int64]]) -> Any:
    import negsamp

    if weighted:
        return negsamp.NegativeSampler(weights=_counts(n_items), power=0.75, positives=positives)
    return negsamp.NegativeSampler(n_items, positives=positives)


def _versus_baseline(n_rows: int, weighted: bool) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        from negsamp.baselines import negatives_rejection, positive_keys

        positives = _sparse_positives(n_rows, N_ITEMS)
        sampler = _sampler(N_ITEMS, weighted, positives)
        csr = sampler.positives
        keys = positive_keys(csr.indptr, csr.indices, N_ITEMS)
        p = None if not weighted else sampler.table.probabilities
        rows = np.arange(n_rows, dtype=np.int64)
        gen = np.random.default_rng(0)
        return {
            "negsamp": lambda: sampler.sample(rows, K, gen, n_threads=1),
            "baseline": lambda: negatives_rejection(keys, rows, K, N_ITEMS, p=p, rng=gen),
        }

    law = "counts^0.75" if weighted else "uniform"
    return Case(f"negative.sample {law}",
                f"rows={n_rows}, {N_POS} positives, n={N_ITEMS:.0e}, k={K}, threads=1",
                n_rows * K, make, baseline_name="numpy rejection",
                note="goal: >= 10x (uniform), >= 20x (counts^0.75)")


def _dense_case(n_rows: int, weighted: bool) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        sampler0 = _sampler(N_ITEMS, weighted, [np.zeros(0, np.int64)])
        p = None if not weighted else sampler0.table.probabilities
        n_dense = 4
        dense = _dense_positives(n_dense, N_ITEMS, p)
        sparse = _sparse_positives(n_dense, N_ITEMS)
        dense_sampler = _sampler(N_ITEMS, weighted, dense)
        sparse_sampler = _sampler(N_ITEMS, weighted, sparse)
        rows = np.arange(n_rows, dtype=np.int64) % n_dense
        gen = np.random.default_rng(0)
        return {
            "negsamp": lambda: dense_sampler.sample(rows, K, gen, n_threads=1),
            "baseline": lambda: sparse_sampler.sample(rows, K, gen, n_threads=1),
        }

    law = "counts^0.75" if weighted else "uniform"
    return Case(f"negative.sample dense row 99% mass {law}",
                f"rows={n_rows} (4 distinct), n={N_ITEMS:.0e}, k={K}, threads=1",
                n_rows * K, make, baseline_name="negsamp 50-positive rows",
                note="goal: speed-up >= 0.1 (dense row <= 10x the cost of a 50-positive row)")


def _against_itself(n_rows: int, weighted: bool, operation: str, baseline_name: str,
                    note: str, fast: Dict[str, Any], slow: Dict[str, Any],
                    extra_sizes: str = "") -> Case:
    """The same sampler and rows (10,000-style sparse rows) timed with the
    keyword arguments ``fast`` ("negsamp") and ``slow`` ("baseline")."""
    def make() -> Dict[str, Callable[[], Any]]:
        sampler = _sampler(N_ITEMS, weighted, _sparse_positives(n_rows, N_ITEMS))
        rows = np.arange(n_rows, dtype=np.int64)
        gen = np.random.default_rng(0)
        return {
            "negsamp": lambda: sampler.sample(rows, K, gen, **fast),
            "baseline": lambda: sampler.sample(rows, K, gen, **slow),
        }

    law = "counts^0.75" if weighted else "uniform"
    return Case(f"{operation} {law}",
                f"rows={n_rows}, {N_POS} positives, n={N_ITEMS:.0e}, k={K}{extra_sizes}",
                n_rows * K, make, baseline_name=baseline_name, note=note)


def _threads_case(n_rows: int, weighted: bool, threads: int) -> Case:
    return _against_itself(n_rows, weighted, f"negative.sample threads={threads}",
                           "negsamp threads=1", "goal: >= 1.7x with 2 threads",
                           {"n_threads": threads}, {"n_threads": 1})


def _keyed_case(n_rows: int, weighted: bool) -> Case:
    """keys= (one stream per row, issue 14) against the block streams."""
    keys = np.random.default_rng(1).permutation(n_rows)  # dataset indices, shuffled
    return _against_itself(n_rows, weighted, "negative.sample keyed", "unkeyed",
                           "goal: keyed <= 1.1x unkeyed time (speed-up >= 0.91)",
                           {"keys": keys, "n_threads": 1}, {"n_threads": 1}, ", threads=1")


def _without_replacement_case(n_rows: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        from negsamp.baselines import negatives_without_replacement

        n = 10**4
        gen = np.random.default_rng(0)
        positives = [gen.choice(n, N_POS, replace=False) for _ in range(n_rows)]
        sampler = _sampler(n, True, positives)
        csr = sampler.positives
        p = sampler.table.probabilities
        rows = np.arange(n_rows, dtype=np.int64)
        return {
            "negsamp": lambda: sampler.sample(rows, K, gen, replace=False, n_threads=1),
            "baseline": lambda: negatives_without_replacement(
                csr.indptr, csr.indices, rows, K, n, p=p, rng=gen),
        }

    return Case("negative.sample replace=False counts^0.75",
                f"rows={n_rows}, {N_POS} positives, n=1e+04, k={K}, threads=1",
                n_rows * K, make, baseline_name="per-row choice(replace=False, p=)")


def _scored_case() -> Case:
    """sample_scored (issue 15): 4096 rows of 50 positives among 1e6 items,
    pools of 64 candidates, d = 64 float32 vectors, the top 4 kept, default
    threads.  The baseline and the torch peer draw the same pools with
    negsamp's sample (neither has an exclusion-aware sampler), then gather
    the (rows, pool, d) vectors and score them: NumPy einsum + argpartition,
    torch index_select + bmm + topk."""
    n_rows, pool, dim, k = 4096, 64, 64, 4

    def make() -> Dict[str, Callable[[], Any]]:
        import importlib.util

        sampler = _sampler(N_ITEMS, False, _sparse_positives(n_rows, N_ITEMS))
        gen = np.random.default_rng(0)
        items = gen.standard_normal((N_ITEMS, dim), dtype=np.float32)
        queries = gen.standard_normal((n_rows, dim), dtype=np.float32)
        rows = np.arange(n_rows, dtype=np.int64)

        def numpy_pipeline() -> Any:
            cand = sampler.sample(rows, pool, gen)
            scores = np.einsum("bd,bmd->bm", queries, items[cand])
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            return np.take_along_axis(cand, top, 1), np.take_along_axis(scores, top, 1)

        calls: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: sampler.sample_scored(
                rows, k, pool=pool, query_vectors=queries, item_vectors=items, rng=gen),
            "baseline": numpy_pipeline,
        }
        if importlib.util.find_spec("torch") is not None:
            import torch  # type: ignore[import-not-found, import-untyped, unused-ignore]

            t_items, t_queries = torch.from_numpy(items), torch.from_numpy(queries)

            def torch_pipeline() -> Any:
                cand = torch.from_numpy(sampler.sample(rows, pool, gen))
                vectors = torch.index_select(t_items, 0, cand.reshape(-1))
                scores = torch.bmm(vectors.view(n_rows, pool, dim), t_queries[:, :, None])
                top_scores, top = torch.topk(scores[:, :, 0], k, dim=1)
                return cand.gather(1, top), top_scores

            calls["torch"] = torch_pipeline
        return calls

    return Case("negative.sample_scored top",
                f"rows={n_rows}, {N_POS} positives, n={N_ITEMS:.0e}, pool={pool}, d={dim}, "
                f"k={k}, float32", n_rows * pool, make,
                baseline_name="numpy gather+einsum+argpartition",
                note="goal: >= 5x numpy and torch (pools drawn by negsamp's sample in "
                     "all three; ns/item per candidate)",
                peers=("torch",))


def cases(full: bool) -> List[Case]:
    from negsamp._threads import default_n_threads

    # The case: 10,000 rows of 50 positives among 1e6 items, k = 20.
    n_rows = 10**4
    out = [_versus_baseline(n_rows, False), _versus_baseline(n_rows, True),
           _keyed_case(n_rows, False), _keyed_case(n_rows, True)]
    if full:  # the same at ten times the rows
        out += [_versus_baseline(10**5, False), _versus_baseline(10**5, True)]
    out += [_dense_case(10**4, False), _dense_case(10**4, True),
            _without_replacement_case(10**4 if full else 10**3), _scored_case()]
    threads = default_n_threads()
    if threads > 1:
        out.append(_threads_case(n_rows, False, 2))
        out.append(_threads_case(n_rows, True, 2))
    return out

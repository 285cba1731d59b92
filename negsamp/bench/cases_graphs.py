"""Benchmark cases of corrupt_triples and negative_edges."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import numpy as np

from negsamp.bench import Case


def synthetic_kg(n_entities: int, n_relations: int, m: int, seed: int = 0) -> np.ndarray:
    """Distinct random (head, relation, tail) triples, relations Zipf-like."""
    gen = np.random.default_rng(seed)
    rel_p = 1.0 / np.arange(1, n_relations + 1)
    rel_p /= rel_p.sum()
    tri = np.stack([gen.integers(0, n_entities, 2 * m),
                    gen.choice(n_relations, 2 * m, p=rel_p),
                    gen.integers(0, n_entities, 2 * m)], axis=1)
    tri = np.unique(tri, axis=0)
    return np.ascontiguousarray(tri[gen.permutation(tri.shape[0])[:m]])


def _kg_case(n_entities: int, n_relations: int, m: int, k: int, mode: str,
             threads: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp
        from negsamp.baselines import corrupt_triples_numpy

        tri = synthetic_kg(n_entities, n_relations, m)
        gen = np.random.default_rng(0)
        return {
            "negsamp": lambda: negsamp.corrupt_triples(tri, n_entities, k, mode=mode,
                                                       known=tri, rng=gen,
                                                       n_threads=threads),
            "baseline": lambda: corrupt_triples_numpy(tri, n_entities, k, mode=mode,
                                                      known=tri, rng=gen),
        }

    return Case("corrupt_triples", f"entities={n_entities}, relations={n_relations}, "
                f"m={m:.0e}, k={k}, {mode}, filtered, threads={threads}", m * k, make,
                baseline_name="numpy rejection")


def _kg_keyed_case(n_entities: int, n_relations: int, m: int, k: int, mode: str) -> Case:
    """corrupt_triples with keys= (one stream per triple, issue 14) against
    the same call without keys, one thread."""
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp

        tri = synthetic_kg(n_entities, n_relations, m)
        keys = np.arange(m)
        gen = np.random.default_rng(0)

        def call(keyed: bool) -> Any:
            return negsamp.corrupt_triples(tri, n_entities, k, mode=mode, known=tri, rng=gen,
                                           n_threads=1, keys=keys if keyed else None)

        return {"negsamp": lambda: call(True), "baseline": lambda: call(False)}

    return Case("corrupt_triples keyed", f"entities={n_entities}, relations={n_relations}, "
                f"m={m:.0e}, k={k}, {mode}, filtered, threads=1", m * k, make,
                baseline_name="unkeyed",
                note="goal: keyed <= 1.1x unkeyed time (speed-up >= 0.91)")


def _edges_case(n_nodes: int, n_edges: int, num: int, method: str, replace: bool,
                threads: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp
        from negsamp.baselines import negative_edges_numpy

        gen = np.random.default_rng(0)
        ei = gen.integers(0, n_nodes, (2, n_edges))
        return {
            "negsamp": lambda: negsamp.negative_edges(ei, n_nodes, num, method=method,
                                                      replace=replace, rng=gen,
                                                      n_threads=threads),
            "baseline": lambda: negative_edges_numpy(ei, n_nodes, num, method=method,
                                                     replace=replace, rng=gen),
        }

    items = num if method == "global" else n_edges * num
    return Case("negative_edges", f"nodes={n_nodes:.0e}, E={n_edges:.0e}, {method}, "
                f"num={num:.0e}, replace={replace}, threads={threads}", items, make,
                baseline_name="numpy rejection")


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _pyg_case(n_nodes: int, n_edges: int) -> Case:
    """PyG's negative_sampling (E pairs of a directed graph) through
    negsamp.integrations.pyg, against the NumPy baseline and PyG itself."""
    def make() -> Dict[str, Callable[[], Any]]:
        import torch  # type: ignore[import-not-found, import-untyped, unused-ignore]

        from negsamp.baselines import negative_edges_numpy
        from negsamp.integrations import pyg

        gen = np.random.default_rng(0)
        ei = gen.integers(0, n_nodes, (2, n_edges))
        tensor = torch.from_numpy(ei)
        calls: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: pyg.negative_sampling(tensor, n_nodes, rng=gen),
            "baseline": lambda: negative_edges_numpy(ei, n_nodes, n_edges, rng=gen),
        }
        if _installed("torch_geometric"):
            from torch_geometric.utils import negative_sampling  # type: ignore[import-not-found, import-untyped, unused-ignore]

            calls["pyg"] = lambda: negative_sampling(tensor, n_nodes)
        return calls

    return Case("pyg negative_sampling", f"nodes={n_nodes:.0e}, E={n_edges:.0e}, "
                f"num=E, all cores", n_edges, make, baseline_name="numpy rejection",
                note="goal: >= 10x PyG", peers=("pyg",))


def _kg_sampler_case(n_entities: int, n_relations: int, n_known: int, batch: int,
                     k: int) -> Case:
    """A prepared KGSampler per training batch (distinct batches in turn),
    against the NumPy rejection baseline with the known keys sorted once
    (prepared as well), corrupt_triples regrouping `known` each call, and
    PyKEEN's BasicNegativeSampler with its Bloom filter (which drops the
    negatives it flags instead of keeping k valid ones)."""
    def make() -> Dict[str, Callable[[], Any]]:
        import itertools

        import negsamp

        known = synthetic_kg(n_entities, n_relations, n_known)
        order = np.random.default_rng(1).permutation(n_known)
        batches = [np.ascontiguousarray(known[order[i:i + batch]])
                   for i in range(0, n_known - batch + 1, batch)][:256]
        gen = np.random.default_rng(0)
        sampler = negsamp.KGSampler(known, n_entities, n_relations)
        turn = itertools.cycle(range(len(batches)))
        from negsamp.baselines import corrupt_triples_numpy, triple_keys

        known_keys = triple_keys(known, n_entities, n_relations)
        calls: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: sampler.corrupt(batches[next(turn)], k, rng=gen),
            "baseline": lambda: corrupt_triples_numpy(
                batches[next(turn)], n_entities, k, mode="both", known_keys=known_keys,
                n_relations=n_relations, rng=gen),
            "corrupt_triples": lambda: negsamp.corrupt_triples(
                batches[next(turn)], n_entities, k, mode="both", known=known, rng=gen),
        }
        if _installed("pykeen"):
            import torch  # type: ignore[import-not-found, import-untyped, unused-ignore]
            from pykeen.sampling import BasicNegativeSampler  # type: ignore[import-not-found, import-untyped, unused-ignore]

            peer = BasicNegativeSampler(mapped_triples=torch.from_numpy(known),
                                        num_entities=n_entities, num_relations=n_relations,
                                        num_negs_per_pos=k, filtered=True, filterer="bloom")
            tensors = [torch.from_numpy(b) for b in batches]
            calls["pykeen"] = lambda: peer.sample(tensors[next(turn)])
        return calls

    return Case("KGSampler.corrupt", f"entities={n_entities}, relations={n_relations}, "
                f"known={n_known:.1e}, batch={batch}x{k}, head+tail, filtered",
                batch * k, make, baseline_name="numpy rejection (known keys sorted once)",
                note="goal: <= 0.7x PyKEEN's Bloom-filtered time",
                peers=("corrupt_triples", "pykeen"))


def cases(full: bool) -> List[Case]:
    from negsamp._threads import default_n_threads

    threads = default_n_threads()
    if full:
        out = [_kg_case(15_000, 500, 500_000, 32, "tail", 1),
               _kg_case(15_000, 500, 500_000, 32, "tail", threads),
               _kg_case(15_000, 500, 500_000, 32, "both", threads),
               _kg_keyed_case(15_000, 500, 100_000, 32, "tail"),
               _kg_keyed_case(15_000, 500, 100_000, 32, "both"),
               _edges_case(10**6, 10**7, 10**7, "global", False, threads),
               _edges_case(10**6, 10**7, 10**7, "global", True, threads),
               _edges_case(10**5, 10**6, 20, "per_source", True, threads)]
        if _installed("torch"):
            out += [_pyg_case(10**5, 10**6), _pyg_case(10**6, 10**7)]
        out.append(_kg_sampler_case(14_505, 237, 272_115, 256, 8))
    else:
        out = [_kg_case(15_000, 500, 100_000, 32, "tail", 1),
               _kg_case(15_000, 500, 100_000, 32, "both", threads),
               _kg_keyed_case(15_000, 500, 100_000, 32, "tail"),
               _edges_case(10**5, 10**6, 10**6, "global", False, threads),
               _edges_case(10**5, 10**6, 10**6, "global", True, threads),
               _edges_case(10**5, 10**5, 20, "per_source", True, threads)]
        if _installed("torch"):
            out.append(_pyg_case(10**5, 10**6))
        out.append(_kg_sampler_case(14_505, 237, 272_115, 256, 8))
    return out

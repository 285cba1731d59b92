"""Writes the golden vectors tests/data/golden_<sampler>.json from the
pure-Python reference (tests/_reference.py) alone: each case holds the
inputs, the seed and the expected output.  tests/test_goldens.py compares
the implementation with them exactly.

Run from the repository root:  python tests/data/make_goldens.py
A change of these files is a change of the samplers' output: it needs a
CHANGELOG entry (stream-stability policy, README).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import _reference as R  # noqa: E402


def _random_positives(gen, n, sizes):
    return [sorted(gen.choice(n, m, replace=False).tolist()) for m in sizes]


def _counts_weights(counts, power):
    """AliasTable.from_counts' weights: (counts / max) ** power, 0 kept."""
    c = np.asarray(counts, dtype=np.float64)
    scaled = c / c.max()
    w = np.zeros_like(scaled)
    w[scaled > 0] = scaled[scaled > 0] ** power
    return w


def negative_sampler_cases():
    cases = []
    small = [[1, 2, 3], list(range(15))]
    for replace in (True, False):
        cases.append(dict(name=f"uniform_small_replace={replace}", n_items=20,
                          positives=small, rows=[0, 1], k=5, replace=replace, seed=12345))
    cases.append(dict(name="weighted_counts_small_replace=True", counts=list(range(1, 21)),
                      power=0.75, positives=small, rows=[0, 1], k=5, replace=True,
                      seed=12345))
    gen = np.random.default_rng(2026)
    n = 60
    positives = _random_positives(gen, n, (0, 2, 4, 10, 20, 40, 59))
    rows = gen.integers(0, len(positives), 300).tolist()  # three blocks of 128
    weights = (gen.random(n) + 0.05).round(6)
    weights[[5, 17]] = 0.0  # never drawn
    for replace in (True, False):
        for k in (8, 3, 40):
            usable = [r for r in rows if n - len(positives[r]) - 2 >= (1 if replace else k)]
            cases.append(dict(name=f"uniform_blocks_k={k}_replace={replace}", n_items=n,
                              positives=positives, rows=usable, k=k, replace=replace,
                              seed=100 + k))
            cases.append(dict(name=f"weighted_blocks_k={k}_replace={replace}",
                              weights=weights.tolist(), positives=positives, rows=usable,
                              k=k, replace=replace, seed=200 + k))
    # k > 256: weighted rows not pipelined.
    cases.append(dict(name="weighted_long_rows", weights=weights.tolist(),
                      positives=positives[:4], rows=[0, 1, 2, 3, 1], k=300, replace=True,
                      seed=7))
    out = []
    for case in cases:
        if "counts" in case:
            w = _counts_weights(case["counts"], case["power"])
            n_items = len(w)
        else:
            w = None if "weights" not in case else np.asarray(case["weights"])
            n_items = case.get("n_items", None if w is None else len(w))
        try:
            case["expected"] = R.negative_rows(n_items, case["positives"], case["rows"],
                                               case["k"], R.draw_key(case["seed"]),
                                               replace=case["replace"], weights=w)
        except R.NotMirrored as e:
            print(f"skipped {case['name']}: {e}")
            continue
        out.append(case)
    return out


def alias_table_cases():
    out = []
    gen = np.random.default_rng(42)
    w = gen.random(1000) * (np.arange(1000) % 7 != 0)
    for name, weights, seed, count in (
            ("random_two_blocks", w.round(9), 42, 16384 + 1500),
            ("counts_0.75", _counts_weights(np.arange(1000), 0.75), 7, 600),
            ("small", np.array([1.0, 2.0, 0.0, 3.0]), 5, 40)):
        th, al = R.alias_build(weights)
        draws, _, _ = R.alias_draws(th, al, *R.draw_key(seed), count)
        case = dict(name=name, weights=weights.tolist(), count=count, seed=seed,
                    expected=draws)
        if name == "counts_0.75":
            case = dict(case, counts=list(range(1000)), power=0.75)
            del case["weights"]
        out.append(case)
    th, al = R.alias_build(w.round(9))
    keys = [0, 5, 3, 10**12, 5]
    out.append(dict(name="keyed_rows", weights=w.round(9).tolist(), keys=keys, row_len=70,
                    seed=9, expected=R.alias_keyed_rows(th, al, *R.draw_key(9), keys, 70)))
    return out


def corrupt_triples_cases():
    out = []
    tri = [[0, 0, 1], [1, 0, 2], [2, 1, 0]]
    out.append(dict(name="tail_known", triples=tri, n_entities=5, k=4, mode="tail",
                    known=tri, seed=0))
    out.append(dict(name="both_known", triples=tri, n_entities=5, k=3, mode="both",
                    known=tri, seed=1))
    gen = np.random.default_rng(5)
    tri = np.stack([gen.integers(0, 30, 40), gen.integers(0, 3, 40),
                    gen.integers(0, 30, 40)], axis=1).tolist()
    for mode in ("tail", "head", "both"):
        out.append(dict(name=f"{mode}_unsorted_groups", triples=tri, n_entities=30, k=3,
                        mode=mode, known=tri[::2], seed=7))
        out.append(dict(name=f"{mode}_unfiltered", triples=tri, n_entities=30, k=20,
                        mode=mode, known=None, seed=8))
    for case in out:
        case["expected"] = R.corrupt_triples(case["triples"], case["n_entities"], case["k"],
                                             case["seed"], mode=case["mode"],
                                             known=case["known"])
    return out


def negative_edges_cases():
    out = []
    ring = [[0, 1, 2], [1, 2, 0]]
    out.append(dict(name="global_distinct", edge_index=ring, n_nodes=5, num_samples=6,
                    method="global", undirected=False, replace=False, seed=0))
    out.append(dict(name="global_undirected_replace", edge_index=ring, n_nodes=5,
                    num_samples=4, method="global", undirected=True, replace=True, seed=1))
    out.append(dict(name="per_source", edge_index=ring, n_nodes=5, num_samples=3,
                    method="per_source", undirected=False, replace=False, seed=2))
    gen = np.random.default_rng(3)
    ei = gen.integers(0, 40, (2, 120)).tolist()
    out.append(dict(name="global_two_blocks", edge_index=ei, n_nodes=40, num_samples=9000,
                    method="global", undirected=False, replace=True, seed=4))
    out.append(dict(name="global_distinct_batches", edge_index=ei, n_nodes=40,
                    num_samples=200, method="global", undirected=True, replace=False, seed=5))
    for replace in (True, False):
        out.append(dict(name=f"per_source_undirected_replace={replace}", edge_index=ei,
                        n_nodes=40, num_samples=6, method="per_source", undirected=True,
                        replace=replace, seed=6))
    for case in out:
        edges = list(zip(*case["edge_index"]))
        fn = R.negative_edges_global if case["method"] == "global" else \
            R.negative_edges_per_source
        case["expected"] = fn(edges, case["n_nodes"], case["num_samples"],
                              R.draw_key(case["seed"]), undirected=case["undirected"],
                              replace=case["replace"])
    return out


def reservoir_cases():
    """Reservoir (Algorithm L) fed in chunks; the sample does not depend on
    the chunking."""
    out = []
    for name, n, k, seed, chunk in (("million_in_tenths", 10**6, 5, 12345, 10**5),
                                    ("short_stream", 100, 3, 1, 7),
                                    ("fewer_than_k", 4, 10, 3, 3),
                                    ("k_1000", 50_000, 1000, 9, 4096)):
        out.append(dict(name=name, n=n, k=k, seed=seed, chunk=chunk,
                        expected=R.reference_algorithm_l(range(n), k, seed)))
    # merges: two reservoirs fed disjoint streams, merged with a key drawn
    # from merge_seed (Reservoir.merge(other, rng=merge_seed))
    for name, k, n1, n2, seeds in (("merge_full_sides", 50, 2000, 700, (4, 5, 6)),
                                   ("merge_side_short_of_k", 50, 30, 900, (7, 8, 9)),
                                   ("merge_both_short_exactly_k", 40, 15, 25, (1, 2, 3)),
                                   ("merge_both_short_below_k", 40, 15, 20, (1, 2, 3)),
                                   ("merge_k_1", 1, 10, 30, (2, 3, 4))):
        a = R.reference_algorithm_l(range(n1), k, seeds[0])
        b = R.reference_algorithm_l(range(n1, n1 + n2), k, seeds[1])
        out.append(dict(name=name, k=k, n=n1, n2=n2, seed=seeds[0], seed2=seeds[1],
                        merge_seed=seeds[2], chunk=97,
                        expected=R.reference_uniform_merge(R.draw_key(seeds[2]), k, n1, a,
                                                           n2, b)))
    return out


def _dyadic(gen, shape, scale=16, span=4):
    """Multiples of 1/scale in [-span, span]: their dot products are exact
    in float32, so every tiling of the products gives the same scores."""
    return (gen.integers(-span * scale, span * scale + 1, size=shape) / scale).astype(np.float32)


def hard_negatives_cases():
    out = []
    gen = np.random.default_rng(2024)
    Q, C = _dyadic(gen, (12, 6)) / 4, _dyadic(gen, (300, 6)) / 4
    exclude = [sorted(gen.choice(300, int(gen.integers(0, 30)), replace=False).tolist())
               for _ in range(12)]
    for name, kw in (("exact_top", dict(k=9)),
                     ("exact_bottom_excluded", dict(k=9, largest=False, exclude=exclude)),
                     ("exact_skip_top_window", dict(k=5, skip_top=3, exclude=exclude,
                                                    max_score=0.5)),
                     ("temperature", dict(k=6, temperature=0.05, seed=99, exclude=exclude)),
                     ("temperature_bottom", dict(k=6, temperature=0.5, seed=7, largest=False,
                                                 max_score=1.5)),
                     ("temperature_many_queries", dict(k=4, temperature=0.2, seed=3))):
        queries = Q if name != "temperature_many_queries" else _dyadic(gen, (100, 6)) / 4
        ids, scores = R.hard_negatives(queries, C, **kw)
        out.append(dict(name=name, queries=queries.tolist(), candidates=C.tolist(), **kw,
                        expected_ids=ids, expected_scores=scores))
    return out


def topk_cases():
    out = []
    gen = np.random.default_rng(77)
    scores = (gen.integers(-40, 40, (20, 200)) / 8.0)  # many ties
    exclude = [sorted(gen.choice(200, int(gen.integers(0, 20)), replace=False).tolist())
               for _ in range(20)]
    for name, kw in (("largest", dict(k=12)), ("smallest_excluded", dict(k=7, largest=False,
                                                                         exclude=exclude)),
                     ("padded", dict(k=5, exclude=[list(range(197))] * 20))):
        for dtype in ("float64", "float32"):
            ids, vals = R.topk(scores, **kw)
            out.append(dict(name=f"{name}_{dtype}", scores=scores.tolist(), dtype=dtype, **kw,
                            expected_ids=ids, expected_scores=vals))
    return out


SAMPLERS = {
    "negative_sampler": negative_sampler_cases,
    "alias_table": alias_table_cases,
    "corrupt_triples": corrupt_triples_cases,
    "negative_edges": negative_edges_cases,
    "reservoir": reservoir_cases,
    "hard_negatives": hard_negatives_cases,
    "topk": topk_cases,
}


def main():
    for name, make in SAMPLERS.items():
        path = os.path.join(HERE, f"golden_{name}.json")
        cases = make()
        with open(path, "w") as f:
            json.dump({"generated_by": "tests/data/make_goldens.py (tests/_reference.py)",
                       "cases": cases}, f, separators=(",", ":"))
            f.write("\n")
        print(f"{path}: {len(cases)} cases")


if __name__ == "__main__":
    main()

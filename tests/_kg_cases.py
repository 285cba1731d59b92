"""Small knowledge graphs and the enumerated law of KGSampler.corrupt (the
reference its chi-square tests compare with)."""
import numpy as np

from _stats import chisquare_pvalue


def small_kg(seed=0, n_entities=12, n_relations=3, m=60):
    rng = np.random.default_rng(seed)
    tri = np.stack([rng.integers(0, n_entities, m), rng.integers(0, n_relations, m),
                    rng.integers(0, n_entities, m)], axis=1)
    return np.unique(tri, axis=0)


def exact_law(triple, known, n_entities, n_relations, sides, p_head=None, pools=None):
    """{corrupted triple: probability} by enumeration.  ``pools``: optional
    {"head"|"tail": per-relation lists of allowed entities}."""
    known_set = {tuple(t) for t in np.asarray(known).tolist()}
    triple = tuple(int(x) for x in triple)
    pools = pools or {}
    valid = {}
    for s in sides:
        col = {"head": 0, "relation": 1, "tail": 2}[s]
        size = n_relations if s == "relation" else n_entities
        allowed = set(range(size)) if s not in pools else set(pools[s][triple[1]])
        cands = []
        for x in sorted(allowed):
            c = list(triple)
            c[col] = x
            c = tuple(c)
            if c != triple and c not in known_set:
                cands.append(c)
        valid[s] = cands
    weights = {s: (1.0 if p_head is None else (p_head if s == "head" else 1 - p_head))
               for s in sides}
    weights = {s: (w if valid[s] else 0.0) for s, w in weights.items()}
    total = sum(weights.values())
    law = {}
    for s in sides:
        for c in valid[s]:
            law[c] = law.get(c, 0.0) + weights[s] / total / len(valid[s])
    return law


def assert_law(sampler, triple, known, sides, mode="uniform", n=6000, seed=0, pools=None):
    n_ent, n_rel = sampler.n_entities, sampler.n_relations
    p_head = sampler.head_probability()[triple[1]] if mode == "bernoulli" else None
    law = exact_law(triple, known, n_ent, n_rel, sides, p_head, pools)
    out = sampler.corrupt(np.array([triple]), n, corrupt=sides, mode=mode, rng=seed)[0]
    keys = list(law)
    index = {c: i for i, c in enumerate(keys)}
    counts = np.zeros(len(keys), dtype=np.int64)
    for c in map(tuple, out.tolist()):
        assert c in index, f"{c} is not a valid corruption of {triple}"
        counts[index[c]] += 1
    assert chisquare_pvalue(counts, np.array([law[c] for c in keys])) > 1e-4

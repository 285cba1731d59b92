"""TransE (Bordes et al. 2013) on a synthetic knowledge graph, trained with
filtered corruptions: no corrupted triple is a known true triple.

What negsamp does here: `corrupt_triples(..., mode="bernoulli", known=...)`
replaces the head or the tail of each triple (head with probability
tph / (tph + hpt) per relation, Wang et al. 2014) by an entity that makes an
unknown triple: exactly k per triple, in C.

Run: python examples/kg_corruption.py
"""
import numpy as np

import negsamp

ENTITIES, RELATIONS, DIM, K, BATCH, MARGIN = 2_000, 20, 16, 8, 4_096, 1.0


def synthetic_graph(rng, n_triples=30_000):
    """Hidden TransE structure: the tail is one of the 3 entities nearest to
    x_head + v_relation in a hidden 3-D space."""
    x = rng.normal(size=(ENTITIES, 3))
    v = rng.normal(scale=0.7, size=(RELATIONS, 3))
    h = rng.integers(0, ENTITIES, n_triples)
    r = rng.integers(0, RELATIONS, n_triples)
    t = np.empty(n_triples, dtype=np.int64)
    for start in range(0, n_triples, 2_000):
        target = x[h[start:start + 2_000]] + v[r[start:start + 2_000]]
        d2 = ((target[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        near = np.argpartition(d2, 3, axis=1)[:, :3]
        t[start:start + 2_000] = near[np.arange(near.shape[0]), rng.integers(0, 3, near.shape[0])]
    triples = np.unique(np.stack([h, r, t], axis=1), axis=0)
    return triples[rng.permutation(triples.shape[0])]


def distance(ent, rel, triples):
    return np.linalg.norm(ent[triples[..., 0]] + rel[triples[..., 1]] - ent[triples[..., 2]], axis=-1)


def main(epochs=6, seed=0):
    rng = np.random.default_rng(seed)
    triples = synthetic_graph(rng)
    train, test = triples[:-1000], triples[-1000:]
    ent = rng.normal(scale=0.1, size=(ENTITIES, DIM))
    rel = rng.normal(scale=0.1, size=(RELATIONS, DIM))
    lr, losses = 0.02, []
    for epoch in range(epochs):
        corrupted = negsamp.corrupt_triples(train, ENTITIES, K, mode="bernoulli",
                                            known=triples, rng=rng)  # (m, K, 3)
        for start in range(0, train.shape[0], BATCH):
            pos = train[start:start + BATCH]
            neg = corrupted[start:start + BATCH]
            d_pos = distance(ent, rel, pos)[:, None]
            d_neg = distance(ent, rel, neg)
            active = (MARGIN + d_pos - d_neg) > 0            # hinge loss terms
            losses.append(float(np.maximum(0, MARGIN + d_pos - d_neg).mean()))
            for sign, trip, d in ((1.0, np.broadcast_to(pos[:, None, :], neg.shape), d_pos), (-1.0, neg, d_neg)):
                diff = ent[trip[..., 0]] + rel[trip[..., 1]] - ent[trip[..., 2]]
                g = sign * active[..., None] * diff / np.maximum(d, 1e-9)[..., None]
                g = g.reshape(-1, DIM)
                flat = trip.reshape(-1, 3)
                np.add.at(ent, flat[:, 0], -lr * g)
                np.add.at(rel, flat[:, 1], -lr * g)
                np.add.at(ent, flat[:, 2], lr * g)
        ent /= np.maximum(1.0, np.linalg.norm(ent, axis=1, keepdims=True))
    # Filtered check on held-out triples: the true tail should beat random ones.
    fake = negsamp.corrupt_triples(test, ENTITIES, 50, mode="tail", known=triples, rng=1)
    hits = (distance(ent, rel, test)[:, None] < distance(ent, rel, fake)).mean()
    print(f"TransE: loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
          f"held-out true tail beats a filtered corruption {hits:.1%} of the time")
    return losses, float(hits)


if __name__ == "__main__":
    main()

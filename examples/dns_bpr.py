"""BPR matrix factorisation with dynamic negative sampling (DNS, Zhang et
al. 2013) against uniform negatives, on synthetic implicit feedback.

What negsamp does here: for each (user, positive) pair of a batch,
`NegativeSampler.sample_scored` draws a pool of candidates the user has
never interacted with (exactly, from the uniform law restricted to the
unseen items), scores them with the current model (user vector . item
vector, gathered in C: no batch x pool x dim array) and keeps the hardest
one; the uniform run takes `NegativeSampler.sample`'s negative directly.
The model update is plain NumPy SGD, the same for both runs.

Evaluation: leave-one-out hit rate@10 (each user's held-out item ranked
among the items the user has not seen in training).

Run: python examples/dns_bpr.py
"""
import numpy as np

import negsamp

USERS, ITEMS, TASTE, DIM, BATCH, POOL = 1_500, 3_000, 8, 24, 2_048, 12


def synthetic_feedback(rng):
    """Users like the items closest to them in a hidden taste space, plus a
    popularity effect; each user has 25 liked items, one held out."""
    u = rng.normal(size=(USERS, TASTE))
    v = rng.normal(size=(ITEMS, TASTE))
    popularity = np.log(rng.zipf(1.5, ITEMS).clip(max=100))
    logits = u @ v.T + popularity[None, :] + rng.gumbel(size=(USERS, ITEMS))
    liked = np.argpartition(-logits, 25, axis=1)[:, :25]
    held_out = liked[:, 0]
    history = [np.sort(row[1:]) for row in liked]
    return history, held_out


def hit_rate(user_f, item_f, history, held_out, at=10):
    """Share of users whose held-out item is among the `at` best-scored
    items they have not seen in training."""
    scores = user_f @ item_f.T
    for user, seen in enumerate(history):
        scores[user, seen] = -np.inf
    target = scores[np.arange(USERS), held_out]
    rank = (scores > target[:, None]).sum(axis=1)
    return float((rank < at).mean())


def train(sampler, rows, cols, history, held_out, dynamic, epochs, seed):
    rng = np.random.default_rng(seed)
    init = np.random.default_rng(seed + 1)  # the same start for both runs
    user_f = init.normal(scale=0.1, size=(USERS, DIM))
    item_f = init.normal(scale=0.1, size=(ITEMS, DIM))
    lr, reg = 0.08, 0.01
    for _ in range(epochs):
        order = rng.permutation(rows.shape[0])
        for start in range(0, order.shape[0], BATCH):
            idx = order[start:start + BATCH]
            u, i = rows[idx], cols[idx]
            pu = user_f[u]
            if dynamic:  # the hardest of POOL unseen candidates
                j, _ = sampler.sample_scored(u, 1, pool=POOL, query_vectors=pu,
                                             item_vectors=item_f, rng=rng)
            else:        # one unseen item, uniformly
                j = sampler.sample(u, 1, rng=rng)
            j = j[:, 0]
            qi, qj = item_f[i], item_f[j]
            x = np.einsum("bd,bd->b", pu, qi - qj)
            g = (1.0 / (1.0 + np.exp(np.clip(x, -30, 30))))[:, None]  # -d log sigmoid(x) / dx
            np.add.at(user_f, u, lr * (g * (qi - qj) - reg * pu))
            np.add.at(item_f, i, lr * (g * pu - reg * qi))
            np.add.at(item_f, j, lr * (-g * pu - reg * qj))
    return hit_rate(user_f, item_f, history, held_out)


def main(epochs=8, seed=0):
    history, held_out = synthetic_feedback(np.random.default_rng(seed))
    rows = np.repeat(np.arange(USERS), [h.shape[0] for h in history])
    cols = np.concatenate(history)
    # The exclusion lists: a user's training items are never its negatives.
    sampler = negsamp.NegativeSampler(ITEMS, positives=history)
    uniform = train(sampler, rows, cols, history, held_out, False, epochs, seed)
    dynamic = train(sampler, rows, cols, history, held_out, True, epochs, seed)
    chance = 10 / (ITEMS - history[0].shape[0])
    print(f"hit rate@10 after {epochs} epochs: uniform negatives {uniform:.3f}, "
          f"DNS (pool {POOL}) {dynamic:.3f}  (chance {chance:.3f})")
    return {"uniform": uniform, "dns": dynamic, "chance": chance}


if __name__ == "__main__":
    main()

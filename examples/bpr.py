"""BPR (Rendle et al. 2009) on implicit feedback, with negatives that are
never in the user's history.

What negsamp does here: `NegativeSampler` draws, for each (user, positive)
pair of a batch, k items from the popularity law restricted to the items the
user has NOT interacted with: exactly k, never a positive, in C on all cores.
The model update is plain NumPy SGD.

Run: python examples/bpr.py
"""
import numpy as np
import scipy.sparse as sp

import negsamp

USERS, ITEMS, DIM, K, BATCH = 2_000, 5_000, 16, 4, 8_192


def synthetic_feedback(rng):
    """Users like items close to them in a hidden 4-D taste space."""
    u = rng.normal(size=(USERS, 4))
    v = rng.normal(size=(ITEMS, 4))
    pop = rng.zipf(1.8, ITEMS).clip(max=50).astype(np.float64)
    logits = u @ v.T + np.log(pop)[None, :]
    history = []
    for row in logits:
        top = np.argpartition(-row, 60)[:60]             # 60 liked items
        history.append(rng.choice(top, 40, replace=False))  # 40 seen, rest held out
    return history, logits


def auc(user_f, item_f, held_out, history, rng, n_users=300):
    """Share of (held-out positive, random unseen item) pairs ranked right."""
    wins = []
    for user in rng.choice(USERS, n_users, replace=False):
        pos = held_out[user]
        neg = rng.integers(0, ITEMS, 200)
        neg = neg[~np.isin(neg, history[user])]
        scores = item_f @ user_f[user]
        wins.append((scores[pos][:, None] > scores[neg][None, :]).mean())
    return float(np.mean(wins))


def main(epochs=6, seed=0):
    rng = np.random.default_rng(seed)
    history, logits = synthetic_feedback(rng)
    held_out = []
    for user, seen in enumerate(history):
        top = np.argpartition(-logits[user], 60)[:60]
        held_out.append(np.setdiff1d(top, seen))
    rows = np.repeat(np.arange(USERS), [len(h) for h in history])
    cols = np.concatenate(history)
    seen = sp.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(USERS, ITEMS))

    popularity = np.asarray(seen.sum(axis=0)).ravel() + 1.0
    sampler = negsamp.NegativeSampler(weights=popularity, power=0.5, positives=seen)

    user_f = rng.normal(scale=0.1, size=(USERS, DIM))
    item_f = rng.normal(scale=0.1, size=(ITEMS, DIM))
    lr, reg = 0.05, 1e-3
    before = auc(user_f, item_f, held_out, history, np.random.default_rng(1))
    for epoch in range(epochs):
        order = rng.permutation(rows.shape[0])
        for start in range(0, order.shape[0], BATCH):
            idx = order[start:start + BATCH]
            u, i = rows[idx], cols[idx]
            j = sampler.sample(u, K, rng=rng)           # (batch, K), never seen by u
            assert not seen[u[:, None], j].toarray().any()
            pu, qi, qj = user_f[u], item_f[i], item_f[j]
            x = np.einsum("bd,bd->b", pu, qi)[:, None] - np.einsum("bd,bkd->bk", pu, qj)
            g = 1.0 / (1.0 + np.exp(np.clip(x, -30, 30)))  # d(-log sigmoid(x))/dx, negated
            grad_u = (g[:, :, None] * (qi[:, None, :] - qj)).sum(1) - reg * pu
            np.add.at(user_f, u, lr * grad_u)
            np.add.at(item_f, i, lr * (g.sum(1)[:, None] * pu - reg * qi))
            np.add.at(item_f, j.ravel(), lr * (-(g[:, :, None] * pu[:, None, :])).reshape(-1, DIM))
    after = auc(user_f, item_f, held_out, history, np.random.default_rng(1))
    print(f"BPR: held-out AUC {before:.3f} -> {after:.3f}")
    return before, after


if __name__ == "__main__":
    main()

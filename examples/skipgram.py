"""Skip-gram with negative sampling (word2vec) on a synthetic corpus.

What negsamp does here: the noise distribution counts**0.75 as an alias
table (O(1) per negative, all cores), and the subsampling of frequent words
(Mikolov et al. 2013: keep word w with probability sqrt(t / f(w)) + t / f(w)).
The training step itself is plain NumPy SGD, kept short.

Run: python examples/skipgram.py
"""
import numpy as np

import negsamp

VOCAB, DIM, WINDOW, NEGATIVES, BATCH = 5_000, 32, 2, 5, 4_096


def synthetic_corpus(rng, n_tokens=300_000):
    # Zipf-distributed word ids, like natural text.
    ranks = rng.zipf(1.3, n_tokens)
    return (ranks[ranks <= VOCAB] - 1).astype(np.int64)


def subsample(tokens, counts, rng, t=1e-4):
    freq = counts / counts.sum()
    keep_prob = np.minimum(1.0, np.sqrt(t / np.maximum(freq, 1e-12)) + t / np.maximum(freq, 1e-12))
    return tokens[rng.random(tokens.shape[0]) < keep_prob[tokens]]


def pairs(tokens):
    centers, contexts = [], []
    for offset in range(1, WINDOW + 1):
        centers += [tokens[:-offset], tokens[offset:]]
        contexts += [tokens[offset:], tokens[:-offset]]
    return np.concatenate(centers), np.concatenate(contexts)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def main(steps=60, seed=0):
    rng = np.random.default_rng(seed)
    tokens = synthetic_corpus(rng)
    counts = np.bincount(tokens, minlength=VOCAB)
    noise = negsamp.AliasTable.from_counts(counts, power=0.75)
    tokens = subsample(tokens, counts, rng)
    center, context = pairs(tokens)

    w_in = (rng.random((VOCAB, DIM)) - 0.5) / DIM
    w_out = np.zeros((VOCAB, DIM))
    lr, losses = 50.0 / BATCH, []  # SGD on the batch mean of the loss
    for step in range(steps):
        idx = rng.integers(0, center.shape[0], BATCH)
        c, o = center[idx], context[idx]
        neg = noise.sample((BATCH, NEGATIVES), rng=rng)  # (B, K) noise words
        v = w_in[c]
        u_pos, u_neg = w_out[o], w_out[neg]
        s_pos = sigmoid(np.einsum("bd,bd->b", v, u_pos))
        s_neg = sigmoid(-np.einsum("bd,bkd->bk", v, u_neg))
        losses.append(-np.mean(np.log(s_pos + 1e-9) + np.log(s_neg + 1e-9).sum(1)))
        g_pos = (s_pos - 1.0)[:, None]                     # d loss / d score
        g_neg = (1.0 - s_neg)[:, :, None]
        grad_v = g_pos * u_pos + (g_neg * u_neg).sum(1)
        np.add.at(w_out, o, -lr * g_pos * v)
        np.add.at(w_out, neg.ravel(), -lr * (g_neg * v[:, None, :]).reshape(-1, DIM))
        np.add.at(w_in, c, -lr * grad_v)
    print(f"skip-gram: {center.shape[0]} pairs, loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()

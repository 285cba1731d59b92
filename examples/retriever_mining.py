"""Contrastive training of a retriever with mined hard negatives and a
false-negative guard.

What negsamp does here: `hard_negatives` finds, for every query, the
passages the current model scores highest that are not its positive, tile by
tile in bounded memory, and drops candidates scoring within a relative margin
of the positive's score (likely unlabeled positives: the relative margin is
correct for negative scores too). `temperature=` samples among the hard ones
instead of always taking the top (ANCE-style). The model is a linear map
trained with InfoNCE in NumPy.

Run: python examples/retriever_mining.py
"""
import numpy as np

import negsamp

N_QUERIES, N_PASSAGES, LATENT, D_Q, D_P, K = 2_000, 20_000, 16, 24, 32, 8


def synthetic_corpus(rng):
    """Queries and passages are different noisy views of latent topics."""
    topics = rng.normal(size=(N_PASSAGES, LATENT))
    view_q, view_p = rng.normal(size=(LATENT, D_Q)), rng.normal(size=(LATENT, D_P))
    passages = (topics @ view_p + 0.3 * rng.normal(size=(N_PASSAGES, D_P))).astype(np.float32)
    positive = rng.choice(N_PASSAGES, N_QUERIES, replace=False)   # one positive each
    queries = (topics[positive] @ view_q + 0.3 * rng.normal(size=(N_QUERIES, D_Q))).astype(np.float32)
    return queries, passages, positive


def recall_at_10(queries, passages, positive, w):
    ids, _ = negsamp.topk((queries @ w) @ passages.T, 10)
    return float((ids == positive[:, None]).any(axis=1).mean())


def main(epochs=6, seed=0, temperature=None):
    rng = np.random.default_rng(seed)
    queries, passages, positive = synthetic_corpus(rng)
    w = (rng.normal(size=(D_Q, D_P)) / np.sqrt(D_Q)).astype(np.float32)
    positives = [np.array([p]) for p in positive]
    before = recall_at_10(queries, passages, positive, w)
    lr = 2.0
    for epoch in range(epochs):
        projected = queries @ w
        neg, neg_scores = negsamp.hard_negatives(
            projected, passages, K, positives=positives, relative_margin=0.05,
            temperature=temperature, rng=rng)
        pos_scores = np.einsum("bd,bd->b", projected, passages[positive])
        valid = neg >= 0                                     # padding is -1
        bound = pos_scores - np.abs(pos_scores) * 0.05         # the relative margin
        slack = 1e-5 * (1.0 + np.abs(pos_scores))             # float32 rounding
        assert np.all((neg_scores <= (bound + slack)[:, None]) | ~valid)
        assert not (neg == positive[:, None]).any()          # never the positive
        # InfoNCE over [positive, K negatives]; gradient w.r.t. w.
        cand = np.concatenate([positive[:, None], np.where(valid, neg, positive[:, None])], axis=1)
        cand_emb = passages[cand]                            # (B, 1 + K, D_P)
        logits = np.einsum("bd,bkd->bk", projected, cand_emb)
        logits[:, 1:][~valid] = -np.inf
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        target = cand_emb[:, 0, :] - np.einsum("bk,bkd->bd", prob, cand_emb)
        w += lr * (queries.T @ target / N_QUERIES).astype(np.float32)
    after = recall_at_10(queries, passages, positive, w)
    print(f"retriever: recall@10 {before:.3f} -> {after:.3f}")
    return before, after


if __name__ == "__main__":
    main()

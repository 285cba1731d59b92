"""Sampled softmax with and without the logQ correction, against full softmax.

A linear softmax classifier over 1000 classes whose frequencies follow a
Zipf law is trained three ways with the same SGD steps:
  - full softmax (the reference);
  - sampled softmax: the true class against 64 tries of negsamp's
    log-uniform candidate sampler (deduplicated), accidental hits masked
    (negsamp.accidental_hits), logits NOT corrected;
  - the same with the logQ correction: every logit minus log of its exact
    expected count (negsamp.sampled_candidates returns them).
Without the correction the model learns logits shifted by log Q(class): it
under-predicts the frequent classes, and its full-softmax loss and accuracy
suffer.  With it, it lands close to full-softmax training.

Run: python examples/sampled_softmax.py
"""
import numpy as np
from threadpoolctl import threadpool_limits

import negsamp

CLASSES, DIM, BATCH, TRIES, NOISE = 1000, 32, 256, 64, 2.0


def make_data(rng, n):
    # Class ids sorted by decreasing frequency (Zipf), as the log-uniform
    # sampler assumes; each class is a noisy Gaussian cluster.
    prior = 1.0 / np.arange(1, CLASSES + 1)
    prior /= prior.sum()
    centers = rng.normal(size=(CLASSES, DIM))
    labels = rng.choice(CLASSES, n, p=prior)
    features = centers[labels] + NOISE * rng.normal(size=(n, DIM))
    return features, labels


def full_softmax_metrics(weights, bias, features, labels):
    logits = features @ weights.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(labels.shape[0]), labels].mean()
    accuracy = (logits.argmax(axis=1) == labels).mean()
    return float(loss), float(accuracy)


def softmax_step(logits):
    """Cross-entropy gradient of each row's logits, target column 0."""
    logits = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[:, 0] -= 1.0
    return probs / logits.shape[0]


def train(mode, features, labels, steps, seed, lr=2.0):
    rng = np.random.default_rng(seed)
    weights = np.zeros((CLASSES, DIM))
    bias = np.zeros(CLASSES)
    for _ in range(steps):
        batch = rng.integers(0, labels.shape[0], BATCH)
        x, y = features[batch], labels[batch]
        if mode == "full":
            logits = x @ weights.T + bias
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            probs[np.arange(BATCH), y] -= 1.0
            weights -= lr / BATCH * probs.T @ x
            bias -= lr / BATCH * probs.sum(axis=0)
            continue
        s = negsamp.sampled_candidates(TRIES, "log_uniform", n_items=CLASSES,
                                       true_labels=y, rng=rng)
        cand = s.candidates
        true_logits = (x * weights[y]).sum(axis=1) + bias[y]
        cand_logits = x @ weights[cand].T + bias[cand]
        if mode == "corrected":
            true_logits = true_logits - s.true_log_q
            cand_logits = cand_logits - s.log_q
        # A candidate that is the row's own class is not a negative.
        hits = negsamp.accidental_hits(None, cand, y, n_items=CLASSES, format="mask")
        cand_logits[hits] = -np.inf
        grad = softmax_step(np.concatenate([true_logits[:, None], cand_logits], axis=1))
        np.add.at(weights, y, -lr * grad[:, :1] * x)
        np.add.at(bias, y, -lr * grad[:, 0])
        weights[cand] -= lr * grad[:, 1:].T @ x
        bias[cand] -= lr * grad[:, 1:].sum(axis=0)
    return weights, bias


def main(steps=300, seed=0):
    """{mode: (full-softmax test loss, test accuracy)} of the three trainings."""
    rng = np.random.default_rng(seed)
    features, labels = make_data(rng, 40_000)
    test_x, test_y = features[30_000:], labels[30_000:]
    train_x, train_y = features[:30_000], labels[:30_000]
    results = {}
    # Matrices this small run faster on one BLAS thread than on several.
    with threadpool_limits(1, user_api="blas"):
        for mode in ("full", "uncorrected", "corrected"):
            w, b = train(mode, train_x, train_y, steps, seed + 1)
            results[mode] = full_softmax_metrics(w, b, test_x, test_y)
    return results


if __name__ == "__main__":
    for mode, (loss, accuracy) in main().items():
        print(f"{mode:>12}: full-softmax test loss {loss:.3f}, accuracy {accuracy:.3f}")

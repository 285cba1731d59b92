"""A k-nearest-neighbour graph embedded in 2-D the LargeVis / UMAP way, with
negsamp drawing both kinds of samples, next to scikit-learn's t-SNE.

- Positive edges are drawn by weight from an ``AliasTable`` over the edges
  of the symmetrised kNN graph (Gaussian weights, a bandwidth per point).
- Negatives follow the degree ** 0.75 law and exclude each point's kNN
  neighbours: a ``NegativeSampler`` whose positives are the kNN lists (the
  usual LargeVis sampler may return a neighbour as a "negative").
- SGD in NumPy on the LargeVis objective, with f(d) = 1 / (1 + d^2):
  -log f(d_ij) for an edge, -gamma log(1 - f(d_ik)) for a negative.

On scikit-learn's digits (1797 x 64, shipped with scikit-learn, no
download), ``main()`` reports the trustworthiness (k = 5) of this embedding
and of ``sklearn.manifold.TSNE`` on the same data.

Run: ``python examples/largevis_digits.py`` (needs scikit-learn).
"""
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE, trustworthiness
from sklearn.neighbors import NearestNeighbors

import negsamp


def knn_graph(x, k=15):
    """Symmetrised kNN edges (i < j) with Gaussian weights, and each point's
    neighbour list (its positives: never drawn as its negatives)."""
    dist, idx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    dist, idx = dist[:, 1:], idx[:, 1:]
    sigma = np.maximum(dist[:, [k // 2]], 1e-12)  # a bandwidth per point
    w = np.exp(-(dist / sigma) ** 2)
    rows = np.repeat(np.arange(x.shape[0]), k)
    i, j = np.minimum(rows, idx.ravel()), np.maximum(rows, idx.ravel())
    key = i * x.shape[0] + j
    uniq, inv = np.unique(key, return_inverse=True)
    weight = np.zeros(uniq.shape[0])
    np.add.at(weight, inv, w.ravel())  # p_j|i + p_i|j
    src, dst = uniq // x.shape[0], uniq % x.shape[0]
    # Neighbours in either direction, as CSR (indptr, indices).
    rows, ids = np.r_[src, dst], np.r_[dst, src]
    order = np.argsort(rows, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=x.shape[0]))]
    return src, dst, weight, (indptr, ids[order])


def largevis(x, *, dim=2, k=15, n_negatives=5, gamma=1.0, samples_per_edge=150,
             batch=4096, seed=0):
    """The 2-D embedding of ``x`` (n, d)."""
    rng = np.random.default_rng(seed)
    src, dst, weight, neighbours = knn_graph(x, k)
    n = x.shape[0]
    edges = negsamp.AliasTable(weight)
    degree = np.bincount(src, weight, n) + np.bincount(dst, weight, n)
    noise = negsamp.NegativeSampler(n, weights=degree, power=0.75, positives=neighbours)
    y = rng.standard_normal((n, dim)) * 1e-2
    steps = max(1, samples_per_edge * src.shape[0] // batch)
    for step in range(steps):
        lr = 1.0 * (1.0 - step / steps) + 1e-3
        e = edges.sample(batch, rng=rng)
        flip = rng.random(batch) < 0.5  # both directions of an undirected edge
        a = np.where(flip, dst[e], src[e])
        b = np.where(flip, src[e], dst[e])
        neg = noise.sample(a, n_negatives, rng=rng)  # never a neighbour of a
        grad = np.zeros_like(y)
        diff = y[a] - y[b]
        d2 = (diff ** 2).sum(1, keepdims=True)
        g = np.clip(2.0 * diff / (1.0 + d2), -4, 4)  # attraction
        np.add.at(grad, a, g)
        np.add.at(grad, b, -g)
        diff = y[a][:, None, :] - y[neg]
        d2 = (diff ** 2).sum(2, keepdims=True)
        g = np.clip(-2.0 * gamma * diff / ((0.1 + d2) * (1.0 + d2)), -4, 4)  # repulsion
        np.add.at(grad, a, g.sum(1))
        y -= lr * grad
    return y


def main(seed=0, tsne_iterations=1000):
    x = load_digits().data.astype(np.float64)
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    t0 = time.perf_counter()
    ours = largevis(x, seed=seed)
    t1 = time.perf_counter()
    tsne = TSNE(n_components=2, random_state=seed, init="pca",
                max_iter=tsne_iterations).fit_transform(x)
    t2 = time.perf_counter()
    return {
        "largevis_trustworthiness": float(trustworthiness(x, ours, n_neighbors=5)),
        "tsne_trustworthiness": float(trustworthiness(x, tsne, n_neighbors=5)),
        "largevis_seconds": t1 - t0,
        "tsne_seconds": t2 - t1,
    }


if __name__ == "__main__":
    for name, value in main().items():
        print(f"{name}: {value:.3f}")

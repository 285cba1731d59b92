"""References and data of the hard_negatives/topk tests (tests/test_mining_*.py):
a stable-argsort selection, dyadic embeddings whose products are exact in
float32, random exclusion lists."""
from __future__ import annotations

import numpy as np


# --------------------------------------------------------------------------
# references and data

def ref_select(scores, k, *, largest=True, eligible=None, skip=0):
    """Slow reference: per row, stable argsort (lower id first on ties),
    drop ineligible, skip, take k, pad with -1 / NaN."""
    scores = np.asarray(scores)
    n_rows, n_items = scores.shape
    ids = np.full((n_rows, k), -1, dtype=np.int64)
    out = np.full((n_rows, k), np.nan, dtype=scores.dtype)
    for r in range(n_rows):
        order = np.argsort(-scores[r] if largest else scores[r], kind="stable")
        if eligible is not None:
            order = order[eligible[r][order]]
        order = order[skip : skip + k]
        ids[r, : order.shape[0]] = order
        out[r, : order.shape[0]] = scores[r, order]
    return ids, out


def dyadic(rng, shape, scale=16, span=4):
    """Multiples of 1/scale in [-span, span]: products and sums of a few are
    exact in float32."""
    return (rng.integers(-span * scale, span * scale + 1, size=shape) / scale).astype(np.float32)


def unit_dyadic(rng, n, d, dtype=np.float32):
    """Rows 2^e * v with v having four entries +-1/2 (unit norm): cosine
    normalisation divides by exactly 2^e, so cosine scores are exact."""
    x = np.zeros((n, d))
    for i in range(n):
        cols = rng.choice(d, 4, replace=False)
        x[i, cols] = rng.choice([-0.5, 0.5], 4)
    x *= 2.0 ** rng.integers(-3, 4, size=(n, 1))
    return x.astype(dtype)


def random_exclusion(rng, n_rows, n_items, max_len=6):
    return [rng.choice(n_items, rng.integers(0, max_len + 1), replace=False)
            for _ in range(n_rows)]


def mask_of(exclude, n_rows, n_items):
    m = np.ones((n_rows, n_items), dtype=bool)
    for r, ids in enumerate(exclude):
        m[r, ids] = False
    return m


def assert_same(got, want):
    gi, gs = got
    wi, ws = want
    np.testing.assert_array_equal(gi, wi)
    np.testing.assert_array_equal(gs, ws)  # NaN == NaN here

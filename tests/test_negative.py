"""Tests of NegativeSampler and the shared kernel sample_excluding."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import negsamp
from negsamp._excluding import sample_excluding as _sample_excluding
from negsamp._exclusion import as_exclusion_lists
from negsamp.baselines import (
    negatives_rejection,
    negatives_without_replacement,
    positive_keys,
)
from negsamp.negative import NegativeSampler

from _helpers import assert_threads_match_serial, assert_untouched
from _stats import assert_fits, chisquare_pvalue, without_replacement_inclusion


def exact_law(n, positives_row, weights=None, power=1.0):
    """Independent reference: base law zeroed on the positives, renormalised."""
    if weights is None:
        p = np.ones(n)
    else:
        w = np.asarray(weights, dtype=np.float64)
        p = np.zeros(n)
        nz = w > 0
        p[nz] = (w[nz] / w.max()) ** power
    p[np.asarray(positives_row, dtype=np.int64)] = 0.0
    return p / p.sum()


def zipf(n, s=1.0):
    return 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s


# ---------------------------------------------------------------- basics
def test_shapes_dtype_and_exclusion_small():
    s = NegativeSampler(10, positives=[[0, 1, 2], [9], list(range(1, 10))])
    out = s.sample([0, 1, 2, 2, 0], 7, rng=0)
    assert out.shape == (5, 7) and out.dtype == np.int64
    assert not np.isin(out[[0, 4]], [0, 1, 2]).any()
    assert not (out[1] == 9).any()
    assert (out[[2, 3]] == 0).all()  # row 2 has one eligible item
    assert s.n_items == 10 and s.n_rows == 3
    assert "NegativeSampler(n_items=10" in repr(s) and "n_rows=3" in repr(s)


def test_k_zero_and_no_rows():
    s = NegativeSampler(5, positives=[[0]])
    assert s.sample([0, 0], 0, rng=0).shape == (2, 0)
    assert s.sample(np.zeros(0, np.int64), 3, rng=0).shape == (0, 3)
    out, lq = s.sample([], 3, rng=0, return_log_q=True)
    assert out.shape == lq.shape == (0, 3)


def test_positives_none_accepts_any_row_ids():
    s = NegativeSampler(weights=[1.0, 2.0, 0.0, 3.0])
    assert s.n_rows is None and s.positives is None
    out = s.sample([0, 5, 10**9], 50, rng=1)
    assert out.shape == (3, 50)
    assert not (out == 2).any()  # zero weight is never drawn
    with pytest.raises(ValueError, match="rows"):
        s.sample([-1], 2)


def test_scipy_sparse_and_tuple_positives_agree():
    sp = pytest.importorskip("scipy.sparse")
    lists = [[3, 1, 1], [], [0, 4, 2, 2]]
    dense = np.zeros((3, 6))
    for r, ids in enumerate(lists):
        dense[r, ids] = 1
    a = NegativeSampler(6, positives=lists)
    b = NegativeSampler(6, positives=sp.csr_matrix(dense))
    m = sp.csr_matrix(dense)
    c = NegativeSampler(6, positives=(m.indptr, m.indices))
    rows = np.array([0, 1, 2, 2, 1])
    ref = a.sample(rows, 9, rng=3)
    np.testing.assert_array_equal(ref, b.sample(rows, 9, rng=3))
    np.testing.assert_array_equal(ref, c.sample(rows, 9, rng=3))


# ---------------------------------------------------------- golden values
# Goldens computed by the pure-Python reference: tests/data/golden_negative_sampler.json
# (tests/test_goldens.py).  The case below takes the weighted inversion
# path (5 eligible items, all drawn), which the reference does not mirror.
def test_golden_weighted_distinct_inversion():
    w = NegativeSampler(weights=np.arange(1, 21), power=0.75,
                        positives=[[1, 2, 3], list(range(15))])
    np.testing.assert_array_equal(
        w.sample([0, 1], 5, rng=12345, replace=False), GOLDEN_WEIGHTED_DISTINCT)


# Pinned once from this implementation (not mirrored by tests/_reference.py).
GOLDEN_WEIGHTED_DISTINCT = [[18, 13, 0, 6, 15], [19, 15, 18, 17, 16]]


# ------------------------------------------------------ property tests
@st.composite
def csr_cases(draw):
    n = draw(st.integers(1, 40))
    n_rows = draw(st.integers(1, 6))
    rows = []
    for _ in range(n_rows):
        kind = draw(st.sampled_from(["empty", "sparse", "almost_all", "all", "random"]))
        if kind == "empty":
            ids = []
        elif kind == "sparse":
            ids = draw(st.lists(st.integers(0, n - 1), max_size=3))
        elif kind == "almost_all":
            keep = draw(st.integers(0, n - 1))
            ids = [i for i in range(n) if i != keep] * 2  # duplicated
        elif kind == "all":
            ids = list(range(n))
        else:
            ids = draw(st.lists(st.integers(0, n - 1), max_size=2 * n))
        ids = list(ids)
        draw(st.randoms()).shuffle(ids)  # unsorted
        rows.append(np.array(ids, dtype=np.int64))
    weighted = draw(st.booleans())
    weights = None
    if weighted:
        weights = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0, 1e-9, 1e6]),
                                         min_size=n, max_size=n)))
        if not weights.max() > 0:
            weights[draw(st.integers(0, n - 1))] = 1.0
    k = draw(st.integers(0, 6))
    replace = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return n, rows, weights, k, replace, seed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csr_cases())
def test_property_never_positive_exactly_k(case):
    n, rows, weights, k, replace, seed = case
    with assert_untouched(rows, weights):
        if weights is None:
            s = NegativeSampler(n, positives=rows)
            support = np.ones(n, bool)
        else:
            s = NegativeSampler(weights=weights, positives=rows)
            support = weights > 0
    eligible = []
    for r in rows:
        e = support.copy()
        e[r] = False
        eligible.append(int(e.sum()))
    req = np.repeat(np.arange(len(rows)), 2)
    need = 1 if replace else k
    bad = sorted({int(r) for r in req if eligible[r] < need}) if k > 0 else []
    if bad:
        with pytest.raises(ValueError, match=rf"rows? {bad[0]}\b"):
            s.sample(req, k, rng=seed, replace=replace)
        return
    out, lq = s.sample(req, k, rng=seed, replace=replace, return_log_q=True)
    assert out.shape == (req.shape[0], k)
    for i, r in enumerate(req):
        row = out[i]
        assert ((row >= 0) & (row < n)).all()
        assert not np.isin(row, rows[r]).any(), "drew a positive"
        assert support[row].all(), "drew an item of weight 0"
        if not replace:
            assert np.unique(row).shape[0] == k
        if k == 0:
            continue
        # log q is exact for the law the alias table draws (its
        # probabilities are the weights rounded to multiples of 2**-53 / n)...
        p_table = None if weights is None else s.table.probabilities
        q = exact_law(n, rows[r], p_table)
        # The eligible mass is total - positive mass in float64: the
        # documented error of log q is ~1e-16 / (eligible share).
        base = np.ones(n) if p_table is None else p_table
        share = base[q > 0].sum() / base.sum()
        np.testing.assert_allclose(lq[i], np.log(q[row]), rtol=1e-12,
                                   atol=1e-14 + 1e-15 / share)
        # ... which is the ideal law up to that rounding: each base
        # probability is within (8 + n p) 2**-53 of w / sum(w) (README,
        # "precision"), so after renormalising by the row's eligible share
        # an item is within about (8 + n p) 2**-53 / share, plus its share
        # of the normaliser's error (at most (9 n) 2**-53 / share).
        ideal = exact_law(n, rows[r], weights)
        np.testing.assert_allclose(np.exp(lq[i]), ideal[row], rtol=1e-6,
                                   atol=1e-15 + (10 * n + 8) * 2.0**-53 / share)


# ------------------------------------------------------ goodness of fit
def _keys(m, keyed):
    """keys= for a keyed variant of a fit test: consecutive keys (the
    hardest case for independent streams), else None."""
    return np.arange(m, dtype=np.int64) if keyed else None


def _fit_rows(sampler, row, n, k, law, seed, keyed=False, **kw):
    rows = np.full(n // k, row, dtype=np.int64)
    out = sampler.sample(rows, k, rng=seed, keys=_keys(rows.shape[0], keyed), **kw)
    return assert_fits(out, law)


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("density", ["sparse", "half", "dense", "dense_mass"])
def test_chisquare_rows(weighted, density, keyed):
    n = 200
    gen = np.random.default_rng(7)
    w = zipf(n) if weighted else None
    if density == "sparse":
        pos = gen.choice(n, 10, replace=False)
    elif density == "half":
        pos = gen.choice(n, n // 2 + 7, replace=False)
    elif density == "dense":
        pos = gen.choice(n, n - 12, replace=False)
    else:  # positives holding ~90% of the mass but few items: the top items
        pos = np.arange(25) if weighted else gen.choice(n, 180, replace=False)
    s = NegativeSampler(n, weights=w, positives=[pos, []])
    law = exact_law(n, pos, w)
    _fit_rows(s, 0, 300_000, 30, law, seed=11, keyed=keyed)
    # The test has power: the base law (ignoring exclusion) and the law
    # shifted by one item both fail.
    out = s.sample(np.zeros(10_000, np.int64), 30, rng=12, keys=_keys(10_000, keyed))
    counts = np.bincount(out.ravel(), minlength=n)
    assert chisquare_pvalue(counts, np.roll(law, 1)) < 1e-6
    base = exact_law(n, [], w)
    assert chisquare_pvalue(counts, base) < 1e-6


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [1, 40])
def test_chisquare_long_sparse_rows(weighted, k, keyed):
    """Rows longer than the Bloom filter's limit (128 ids) but far from
    dense: searched without the filter; k=1 skips the filter everywhere."""
    n = 2000
    gen = np.random.default_rng(2)
    w = zipf(n, 0.8) if weighted else None
    pos = [gen.choice(n, 300, replace=False), gen.choice(n, 20, replace=False)]
    s = NegativeSampler(n, weights=w, positives=pos)
    for r in (0, 1):
        out = s.sample(np.full(400_000 // k, r), k, rng=r, keys=_keys(400_000 // k, keyed))
        assert_fits(out, exact_law(n, pos[r], w))
        ex = as_exclusion_lists(pos, n)
        base = s.table if weighted else n
        out = _sample_excluding(base, ex, np.full(400_000 // k, r), k, 10 + r,
                                keys=_keys(400_000 // k, keyed))
        assert_fits(out, exact_law(n, pos[r], w))


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("mass_share", [0.3, 0.7, 0.97, 0.9999])
def test_chisquare_kernel_rejection_and_inversion(mass_share, keyed):
    """_sample_excluding with an AliasTable (no complement tables): rejection
    below 60% excluded mass, inversion of the cumulative law above."""
    n = 300
    w = zipf(n, 1.2)
    table = negsamp.AliasTable(w)
    p = table.probabilities
    order = np.argsort(-p)
    cut = min(int(np.searchsorted(np.cumsum(p[order]), mass_share)) + 1, n - 40)
    pos = np.sort(order[:cut])
    assert p[pos].sum() >= min(mass_share, 0.98)
    ex = as_exclusion_lists([pos, np.zeros(0, np.int64)], n)
    rows = np.zeros(10_000, np.int64)
    out = _sample_excluding(table, ex, rows, 30, 5, keys=_keys(rows.shape[0], keyed))
    law = exact_law(n, pos, w)
    assert_fits(out, law)
    assert not np.isin(out, pos).any()


def test_uniform_kernel_int_base():
    n = 50
    pos = np.arange(0, 50, 3)
    ex = as_exclusion_lists([pos], n)
    out, lq = _sample_excluding(n, ex, np.zeros(8000, np.int64), 25, 9, return_log_q=True)
    assert_fits(out, exact_law(n, pos))
    np.testing.assert_allclose(lq, -np.log(n - pos.shape[0]), rtol=1e-15)


# ------------------------------------------------- without replacement
def _check_distinct_law(out, w_row, k):
    """First draw follows w_row; the inclusion frequencies match the exact
    inclusion probabilities of successive draws without replacement."""
    n = w_row.shape[0]
    assert (np.sort(out, axis=1)[:, 1:] != np.sort(out, axis=1)[:, :-1]).all()
    assert_fits(out[:, 0], w_row / w_row.sum())
    incl = without_replacement_inclusion(w_row, k)
    counts = np.bincount(out.ravel(), minlength=n)
    m = out.shape[0]
    sd = np.sqrt(np.maximum(m * incl * (1 - incl), 1e-12))
    z = np.abs(counts - m * incl) / sd
    assert z[incl > 0].max() < 5.0, f"inclusion z-scores {z}"
    assert (counts[incl == 0] == 0).all()
    # second draw: P(i) = sum_j p_j p_i / (1 - p_j)
    p = w_row / w_row.sum()
    second = np.array([sum(p[j] * p[i] / (1 - p[j]) for j in range(n) if j != i) for i in range(n)])
    assert_fits(out[:, 1], second)


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [2, 5])
def test_without_replacement_law(weighted, k, keyed):
    n = 9
    w = np.array([5.0, 1.0, 0.0, 3.0, 8.0, 2.0, 1.0, 6.0, 4.0]) if weighted else None
    rows_pos = [[2], [0, 4, 7], [1, 2, 3]]
    s = NegativeSampler(n, weights=w, positives=rows_pos)
    for r, pos in enumerate(rows_pos):
        out = s.sample(np.full(60_000, r), k, rng=100 + r, replace=False,
                       keys=_keys(60_000, keyed))
        assert not np.isin(out, pos).any()
        w_row = (w if weighted else np.ones(n)).copy()
        w_row[pos] = 0
        _check_distinct_law(out, w_row, k)


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_without_replacement_dense_row_complement(weighted, keyed):
    """A row excluding most items has a complement table; k = all but one
    of its eligible items exercises rejection of chosen items and the
    switch to inversion with holes."""
    n = 12
    w = np.array([3.0, 9.0, 1.0, 4.0, 7.0, 2.0, 8.0, 5.0, 6.0, 1.0, 2.0, 3.0]) if weighted else None
    pos = [0, 1, 2, 5, 6, 9, 11]
    s = NegativeSampler(n, weights=w, positives=[pos])
    assert s._law.comp_ptr is not None and s._law.comp_ptr[-1] == n - len(pos)
    out = s.sample(np.zeros(60_000, np.int64), 4, rng=6, replace=False,
                   keys=_keys(60_000, keyed))
    assert not np.isin(out, pos).any()
    w_row = (w if weighted else np.ones(n)).copy()
    w_row[pos] = 0
    _check_distinct_law(out, w_row, 4)


def test_without_replacement_kernel_holes_and_complement():
    """Chosen items holding most of the remaining mass force the inversion
    with holes (kernel without complement tables) and, in NegativeSampler,
    the complement table with rejection of chosen items."""
    n = 10
    w = np.array([50.0, 20.0, 10.0, 5.0, 5.0, 4.0, 3.0, 1.0, 1.0, 1.0])
    table = negsamp.AliasTable(w)
    pos = [0, 3]
    ex = as_exclusion_lists([pos], n)
    out = _sample_excluding(table, ex, np.zeros(60_000, np.int64), 6, 4, replace=False)
    w_row = w.copy()
    w_row[pos] = 0
    _check_distinct_law(out, w_row, 6)
    s = NegativeSampler(weights=w, positives=[[0, 1, 2, 3, 4, 5]])
    out = s.sample(np.zeros(60_000, np.int64), 3, rng=8, replace=False)
    w_row = w.copy()
    w_row[:6] = 0
    _check_distinct_law(out, w_row, 3)


def test_tiny_masses_left_keep_their_law():
    """Once only items of mass ~1e-17 are left, cum[] cannot resolve them:
    the kernel must switch to its exact scan (a cum-based inversion would
    always return the last of them)."""
    w = [1.0, 1.0, 1.0, 1e-300, 1e-300, 1e-300]
    table = negsamp.AliasTable(np.array(w))
    uniform_tail = np.array([0, 0, 0, 1 / 3, 1 / 3, 1 / 3])
    ex = as_exclusion_lists([[0, 1, 2], [0, 1]], 6)
    out = _sample_excluding(table, ex, np.zeros(30_000, np.int64), 3, 1)
    assert_fits(out, uniform_tail)
    out = _sample_excluding(table, ex, np.ones(30_000, np.int64), 4, 2, replace=False)
    assert_fits(out[:, 1], uniform_tail)
    assert_fits(out[:, 3], uniform_tail)
    s = NegativeSampler(weights=w, positives=[[], [0]])
    out = s.sample(np.zeros(30_000, np.int64), 6, rng=3, replace=False)
    assert (np.sort(out, axis=1) == np.arange(6)).all()
    assert_fits(out[:, 3], uniform_tail)
    assert_fits(out[:, 5], uniform_tail)


@pytest.mark.slow
def test_without_replacement_matches_numpy_baseline():
    n = 12
    w = np.arange(1.0, n + 1)
    pos = [[0, 5, 6], [11]]
    s = NegativeSampler(weights=w, positives=pos)
    csr = s.positives
    p = s.table.probabilities
    rows = np.repeat([0, 1], 20_000)
    ours = s.sample(rows, 4, rng=1, replace=False)
    ref = negatives_without_replacement(csr.indptr, csr.indices, rows, 4, n, p=p, rng=2)
    for r in (0, 1):
        a = np.bincount(ours[rows == r].ravel(), minlength=n)
        b = np.bincount(ref[rows == r].ravel(), minlength=n)
        stat = (a - b)[a + b > 0] ** 2 / (a + b)[a + b > 0]
        from scipy import stats
        assert stats.chi2.sf(stat.sum(), (a + b > 0).sum() - 1) > 1e-4


def test_rejection_baseline_is_correct():
    n = 30
    pos = [np.arange(0, 30, 2), np.array([1])]
    csr = as_exclusion_lists(pos, n)
    keys = positive_keys(csr.indptr, csr.indices, n)
    out = negatives_rejection(keys, np.zeros(5000, np.int64), 10, n, rng=0)
    assert_fits(out, exact_law(n, pos[0]))


# ------------------------------------------------------------ log q
@pytest.mark.parametrize("replace", [True, False])
def test_log_q_exact(replace):
    n = 1000
    w = zipf(n, 0.9)
    gen = np.random.default_rng(3)
    pos = [gen.choice(n, 30, replace=False), np.arange(n - 5),  # complement
           np.argsort(-w)[:200]]  # 60%+ of the mass: inversion/complement
    s = NegativeSampler(weights=w, power=0.75, positives=pos)
    rows = np.array([0, 1, 2, 0, 2])
    out, lq = s.sample(rows, 5, rng=4, replace=replace, return_log_q=True)
    for i, r in enumerate(rows):
        law = exact_law(n, pos[r], w, 0.75)
        np.testing.assert_allclose(lq[i], np.log(law[out[i]]), rtol=1e-12)
        np.testing.assert_allclose(np.exp(lq[i]), s.row_probabilities(r)[out[i]], rtol=1e-12)
    u = NegativeSampler(n, positives=pos)
    out, lq = u.sample(rows, 5, rng=4, replace=replace, return_log_q=True)
    for i, r in enumerate(rows):
        assert (lq[i] == -np.log(n - len(np.unique(pos[r])))).all()


# ------------------------------------------------- threads, reproducibility
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("replace", [True, False])
def test_threads_identical(weighted, replace):
    n = 5000
    gen = np.random.default_rng(0)
    pos = [gen.choice(n, int(gen.integers(0, 60)), replace=False) for _ in range(300)]
    pos[7] = np.arange(n - 40)  # a dense row
    s = NegativeSampler(n, weights=zipf(n) if weighted else None, positives=pos)
    rows = gen.integers(0, 300, 2000)
    a = s.sample(rows, 13, rng=5, replace=replace, n_threads=1, return_log_q=True)
    b = s.sample(rows, 13, rng=5, replace=replace, n_threads=2, return_log_q=True)
    c = s.sample(rows, 13, rng=5, replace=replace, n_threads=3, return_log_q=True)
    for x, y in ((a, b), (a, c)):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
    gen_rng = np.random.default_rng(9)
    d1 = s.sample(rows, 3, rng=gen_rng)
    d2 = s.sample(rows, 3, rng=gen_rng)
    assert not np.array_equal(d1, d2)  # a passed Generator advances


def test_python_threads_share_one_sampler():
    n = 20_000
    gen = np.random.default_rng(1)
    pos = [gen.choice(n, 40, replace=False) for _ in range(500)]
    s = NegativeSampler(weights=zipf(n), power=0.75, positives=pos)
    rows = gen.integers(0, 500, 3000)
    expected = [s.sample(rows, 10, rng=i, n_threads=1) for i in range(8)]
    assert_threads_match_serial(lambda i: s.sample(rows, 10, rng=i, n_threads=2), 8,
                                repeat=3, serial=expected)


def test_pickle_roundtrip():
    w = np.arange(1.0, 101.0)
    s = NegativeSampler(weights=w, power=0.5, positives=[[1, 2], list(range(90))])
    t = pickle.loads(pickle.dumps(s))
    assert repr(t) == repr(s)
    np.testing.assert_array_equal(s.sample([0, 1, 1], 7, rng=3), t.sample([0, 1, 1], 7, rng=3))
    u = NegativeSampler(100)
    v = pickle.loads(pickle.dumps(u))
    np.testing.assert_array_equal(u.sample([4], 5, rng=1), v.sample([4], 5, rng=1))
    state = s.__getstate__()
    bad = dict(state, indices=np.array([1, 2, 500] + [0] * 89))
    with pytest.raises(ValueError, match="positives row"):
        NegativeSampler.__new__(NegativeSampler).__setstate__(bad)
    with pytest.raises(ValueError, match=r"'version' must be in \[1, 1\], got 99"):
        NegativeSampler.__new__(NegativeSampler).__setstate__({"version": 99})


# ------------------------------------------------------------ bad inputs
def test_bad_constructor_inputs():
    with pytest.raises(TypeError, match="n_items or weights"):
        NegativeSampler()
    with pytest.raises(ValueError, match="n_items"):
        NegativeSampler(0)
    with pytest.raises(TypeError, match="n_items"):
        NegativeSampler(3.5)
    with pytest.raises(ValueError, match="finite"):
        NegativeSampler(weights=[1.0, np.nan])
    with pytest.raises(ValueError, match="non-negative"):
        NegativeSampler(weights=[1.0, -2.0])
    with pytest.raises(ValueError, match="positive sum"):
        NegativeSampler(weights=[0.0, 0.0])
    with pytest.raises(ValueError, match="does not match"):
        NegativeSampler(3, weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="power"):
        NegativeSampler(weights=[1.0, 2.0], power=-1)
    with pytest.raises(ValueError, match="power"):
        NegativeSampler(weights=[1.0, 2.0], power=np.inf)
    with pytest.raises(ValueError, match="row 1 holds id 7"):
        NegativeSampler(5, positives=[[0], [7]])
    with pytest.raises(ValueError, match="row 0 holds id -1"):
        NegativeSampler(5, positives=[[-1]])
    with pytest.raises(TypeError, match="positives"):
        NegativeSampler(5, positives=[[0.5]])
    with pytest.raises(TypeError, match="positives"):
        NegativeSampler(5, positives="abc")


def test_bad_sample_inputs_and_caller_arrays_untouched():
    w = np.array([3.0, 1.0, 2.0, 5.0])
    pos = [np.array([3, 1, 1]), np.array([0, 1, 2])]
    rows = np.array([0, 1, 1])
    with assert_untouched(w, pos, rows):
        s = NegativeSampler(weights=w, positives=pos)
        with pytest.raises(ValueError, match=r"row 1 has fewer than k=2"):
            s.sample(rows, 2, replace=False)
        with pytest.raises(ValueError, match=r"rows must be in \[0, 2\), got 2"):
            s.sample([0, 2], 1)
        with pytest.raises(ValueError, match="rows must be in"):
            s.sample([-1], 1)
        with pytest.raises(TypeError, match="rows must have an integer dtype"):
            s.sample(np.array([0.0, 1.0]), 1)
        with pytest.raises(ValueError, match="rows must be 1-D"):
            s.sample(np.zeros((2, 2), np.int64), 1)
        with pytest.raises(TypeError, match="rows"):
            s.sample(0, 1)
        with pytest.raises(ValueError, match="k must be >= 0"):
            s.sample(rows, -1)
        with pytest.raises(TypeError, match="k must be an int"):
            s.sample(rows, 2.0)
        with pytest.raises(TypeError, match="replace"):
            s.sample(rows, 1, replace="no")
        with pytest.raises(TypeError, match="rng"):
            s.sample(rows, 1, rng="seed")
        with pytest.raises(ValueError, match="n_threads"):
            s.sample(rows, 1, n_threads=0)
    # a row with no eligible item at all
    t = NegativeSampler(weights=[1.0, 0.0, 2.0], positives=[[0, 2], [1]])
    with pytest.raises(ValueError, match="row 0 has no eligible item"):
        t.sample([1, 0, 0], 1)
    assert np.isin(t.sample([1, 1], 50, rng=0), [0, 2]).all()


def test_kernel_errors_name_row_label():
    ex = as_exclusion_lists([[0, 1, 2], [0]], 3)
    with pytest.raises(ValueError, match="triples 0 .*no eligible|triple 0 has no eligible"):
        _sample_excluding(3, ex, np.array([1, 0, 0]), 2, 0, row_label="triples")
    with pytest.raises(ValueError, match="fewer than k=3"):
        _sample_excluding(3, ex, np.array([1]), 3, 0, replace=False, row_label="triples")
    assert _sample_excluding(3, ex, np.array([1, 0]), 0, 0).shape == (2, 0)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("replace", [True, False])
def test_kernel_tuples_match_plain_draws(weighted, replace):
    """tmpl writes the same draws as the plain kernel, in place into tuples
    (the fused path of corrupt_triples), for every row method."""
    gen = np.random.default_rng(3)
    n = 300
    lists = [gen.choice(n, size, replace=False) for size in (0, 1, 3, 40, 200, 290)]
    ex = as_exclusion_lists(lists, n)
    rows = gen.integers(0, len(lists), 1000)
    base = negsamp.AliasTable(zipf(n)) if weighted else n
    tmpl = gen.integers(-5, 5, (rows.shape[0], 4))
    for col in (0, 3):
        plain = _sample_excluding(base, ex, rows, 7, 11, replace=replace, n_threads=1)
        tup = _sample_excluding(base, ex, rows, 7, 11, replace=replace, n_threads=2,
                                tmpl=tmpl, col=col)
        assert isinstance(tup, np.ndarray) and tup.shape == (rows.shape[0], 7, 4)
        np.testing.assert_array_equal(tup[:, :, col], plain)
        others = [c for c in range(4) if c != col]
        np.testing.assert_array_equal(
            tup[:, :, others], np.broadcast_to(tmpl[:, None, others], (rows.shape[0], 7, 3)))


def test_kernel_tuples_large_output_streaming():
    """Triples outputs of 16 MB and more take the streaming-store path:
    same values as the plain kernel."""
    gen = np.random.default_rng(4)
    n = 1000
    ex = as_exclusion_lists([gen.choice(n, size, replace=False) for size in (1, 2, 5, 60)], n)
    rows = gen.integers(0, 4, 180_000)
    tmpl = gen.integers(0, n, (rows.shape[0], 3))
    plain = _sample_excluding(n, ex, rows, 4, 8, n_threads=1)
    tup = _sample_excluding(n, ex, rows, 4, 8, n_threads=2, tmpl=tmpl, col=2)
    assert isinstance(tup, np.ndarray) and tup.nbytes >= 1 << 24
    np.testing.assert_array_equal(tup[:, :, 2], plain)
    np.testing.assert_array_equal(tup[:, :, :2],
                                  np.broadcast_to(tmpl[:, None, :2], (rows.shape[0], 4, 2)))


def test_row_probabilities():
    s = NegativeSampler(weights=[1.0, 2.0, 3.0, 4.0], positives=[[3]])
    np.testing.assert_allclose(s.row_probabilities(0), [1 / 6, 2 / 6, 3 / 6, 0.0])
    with pytest.raises(ValueError, match=r"row must be in \[0, 1\), got 1"):
        s.row_probabilities(1)


def test_exported():
    assert negsamp.NegativeSampler is NegativeSampler
    assert "NegativeSampler" in negsamp.__all__


def test_row_whose_positives_hold_all_but_a_sliver_of_the_mass():
    # total - positive mass cancels to 0 in float64 here (3e6 + 0.5 against
    # 1e-9); the row's complement table knows its eligible mass exactly, so
    # the one eligible item is drawn instead of "NS_ERR_EXHAUSTED"
    # (found by hypothesis).
    w = np.zeros(35)
    w[10], w[11], w[12:15] = 0.5, 1e-9, 1e6
    positives = [np.setdiff1d(np.arange(35), [11])]
    s = NegativeSampler(weights=w, positives=positives)
    out, lq = s.sample([0, 0, 0], 4, rng=1, return_log_q=True)
    assert (out == 11).all() and np.allclose(lq, 0.0)
    assert (s.sample([0], 1, rng=2, replace=False) == 11).all()

"""corrupt_triples: exact filtered corruption of knowledge-graph triples."""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import negsamp
from negsamp.baselines import corrupt_triples_numpy
from negsamp.kg import head_probability

from _helpers import assert_threads_match_serial, assert_untouched
from _stats import chisquare_pvalue


def _known_set(known):
    return {tuple(int(x) for x in t) for t in np.asarray(known).reshape(-1, 3)}


def _random_kg(seed, n_entities=30, n_relations=4, m=60):
    gen = np.random.default_rng(seed)
    tri = np.stack([gen.integers(0, n_entities, m), gen.integers(0, n_relations, m),
                    gen.integers(0, n_entities, m)], axis=1)
    return np.unique(tri, axis=0)


def _sides(triples, out):
    """Checks that exactly one of head and tail changed; True where the head
    was replaced."""
    head_same = out[..., 0] == triples[:, None, 0]
    tail_same = out[..., 2] == triples[:, None, 2]
    assert (out[..., 1] == triples[:, None, 1]).all()
    assert (head_same ^ tail_same).all(), "exactly one side must change"
    return ~head_same  # True where the head was replaced


@pytest.mark.parametrize("mode", ["tail", "head", "both", "bernoulli"])
def test_filtered_never_known_never_original(mode):
    tri = _random_kg(1)
    known = np.concatenate([tri, _random_kg(2)])
    out = negsamp.corrupt_triples(tri, 30, 50, mode=mode, known=known, rng=3)
    assert out.shape == (tri.shape[0], 50, 3) and out.dtype == np.int64
    assert out.flags.c_contiguous
    ks = _known_set(known)
    assert not any(tuple(x) in ks for x in out.reshape(-1, 3).tolist())
    _sides(tri, out)
    if mode == "tail":
        assert (out[..., 0] == tri[:, None, 0]).all()
    if mode == "head":
        assert (out[..., 2] == tri[:, None, 2]).all()


def test_unfiltered_only_excludes_original():
    tri = np.array([[0, 0, 1], [1, 0, 2], [2, 5, 0]])
    out = negsamp.corrupt_triples(tri, 3, 400, rng=0)
    for i in range(3):
        vals = set(out[i, :, 2].tolist())
        assert vals == set(range(3)) - {int(tri[i, 2])}


def test_own_entity_not_known_has_its_own_row():
    # known holds (0, 0, 1) only; triples (0, 0, 1) and (0, 0, 2) share the
    # group (0, 0) but the second's own tail 2 must not be excluded for the first.
    known = np.array([[0, 0, 1]])
    tri = np.array([[0, 0, 1], [0, 0, 2]])
    out = negsamp.corrupt_triples(tri, 4, 600, known=known, rng=5)
    assert set(out[0, :, 2].tolist()) == {0, 2, 3}
    assert set(out[1, :, 2].tolist()) == {0, 3}
    out = negsamp.corrupt_triples(tri, 4, 600, known=known, mode="head", rng=5)
    assert set(out[0, :, 0].tolist()) == {1, 2, 3}
    assert set(out[1, :, 0].tolist()) == {1, 2, 3}


def _corrupt(keyed, tri, n, k, **kw):
    """corrupt_triples, or its keyed variant: each triple repeated 100 times
    with consecutive keys, k / 100 corruptions each, regrouped to the same
    (len(tri), k, 3) shape (the same law, drawn over many row streams)."""
    if not keyed:
        return negsamp.corrupt_triples(tri, n, k, **kw)
    tri = np.asarray(tri)
    reps = np.repeat(tri, 100, axis=0)
    out = negsamp.corrupt_triples(reps, n, k // 100, keys=np.arange(reps.shape[0]), **kw)
    return out.reshape(tri.shape[0], k, 3)


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("mode", ["tail", "head"])
def test_uniform_over_eligible_entities(mode, keyed):
    n = 12
    known = np.array([[0, 0, 3], [0, 0, 4], [0, 0, 5], [0, 1, 3], [6, 0, 4],
                      [7, 0, 3], [1, 0, 3]])
    tri = np.array([[0, 0, 3], [1, 0, 3]])
    out = _corrupt(keyed, tri, n, 60_000, mode=mode, known=known, rng=11)
    col = 2 if mode == "tail" else 0
    ks = _known_set(known)
    for i in range(2):
        eligible = np.zeros(n)
        for x in range(n):
            cand = list(tri[i])
            cand[col] = x
            if x != tri[i, col] and tuple(cand) not in ks:
                eligible[x] = 1
        counts = np.bincount(out[i, :, col], minlength=n)
        assert chisquare_pvalue(counts, eligible) > 1e-4
        # A sampler that forgot the filter would put mass on excluded ids.
        assert chisquare_pvalue(counts, np.ones(n)) < 1e-4


@pytest.mark.parametrize("keyed", [False, True])
def test_bernoulli_side_frequencies(keyed):
    # Relation 0 is one-to-many (1 head, 6 tails): tph = 6, hpt = 1, so the
    # head is replaced with probability 6/7.  Relation 1 is many-to-one: 1/7.
    one_to_many = [[0, 0, t] for t in range(1, 7)]
    many_to_one = [[h, 1, 0] for h in range(1, 7)]
    tri = np.array(one_to_many + many_to_one)
    p = head_probability(tri)
    assert np.allclose(p, [6 / 7, 1 / 7])
    k = 4000
    out = _corrupt(keyed, tri, 20, k, mode="bernoulli", known=tri, rng=2)
    head_replaced = out[..., 0] != tri[:, None, 0]
    n0 = int(head_replaced[:6].sum())
    n1 = int(head_replaced[6:].sum())
    assert stats.binomtest(n0, 6 * k, 6 / 7).pvalue > 1e-4
    assert stats.binomtest(n1, 6 * k, 1 / 7).pvalue > 1e-4
    assert stats.binomtest(n0, 6 * k, 0.5).pvalue < 1e-6  # not "both"


@pytest.mark.parametrize("keyed", [False, True])
def test_bernoulli_uses_known_statistics(keyed):
    # triples alone would give 0.5; known makes relation 0 one-to-many.
    tri = np.array([[0, 0, 1]])
    known = np.array([[0, 0, t] for t in range(1, 5)])
    out = _corrupt(keyed, tri, 10, 20_000, mode="bernoulli", known=known, rng=4)
    heads = int((out[0, :, 0] != 0).sum())
    assert stats.binomtest(heads, 20_000, 4 / 5).pvalue > 1e-4
    # Relation absent from known: probability 1/2.
    out = _corrupt(keyed, np.array([[0, 7, 1]]), 10, 20_000, mode="bernoulli",
                                  known=known, rng=4)
    heads = int((out[0, :, 0] != 0).sum())
    assert stats.binomtest(heads, 20_000, 0.5).pvalue > 1e-4


@pytest.mark.parametrize("keyed", [False, True])
def test_both_sides_half(keyed):
    tri = _random_kg(4)
    out = _corrupt(keyed, tri, 30, 400, mode="both", known=tri, rng=9)
    heads = int((out[..., 0] != tri[:, None, 0]).sum())
    assert stats.binomtest(heads, out.shape[0] * 400, 0.5).pvalue > 1e-4


@pytest.mark.parametrize("keyed", [False, True])
def test_both_mode_law_per_side(keyed):
    # Given the side, the replacement is uniform over that side's eligible ids.
    n = 8
    known = np.array([[0, 0, 1], [0, 0, 2], [3, 0, 1]])
    tri = np.array([[0, 0, 1]])
    out = _corrupt(keyed, tri, n, 40_000, mode="both", known=known, rng=6)
    tail_slots = out[0, out[0, :, 0] == 0]
    head_slots = out[0, out[0, :, 2] == 1]
    tail_law = np.array([1, 0, 0, 1, 1, 1, 1, 1], float)
    head_law = np.array([0, 1, 1, 0, 1, 1, 1, 1], float)
    assert chisquare_pvalue(np.bincount(tail_slots[:, 2], minlength=n), tail_law) > 1e-4
    assert chisquare_pvalue(np.bincount(head_slots[:, 0], minlength=n), head_law) > 1e-4


@pytest.mark.parametrize("mode", ["tail", "both", "bernoulli"])
def test_threads_identical(mode):
    tri = _random_kg(7, n_entities=200, m=3000)
    a = negsamp.corrupt_triples(tri, 200, 17, mode=mode, known=tri, rng=1, n_threads=1)
    b = negsamp.corrupt_triples(tri, 200, 17, mode=mode, known=tri, rng=1, n_threads=2)
    np.testing.assert_array_equal(a, b)


def test_rng_reproducible_and_advances():
    tri = _random_kg(8)
    a = negsamp.corrupt_triples(tri, 30, 5, rng=123)
    b = negsamp.corrupt_triples(tri, 30, 5, rng=np.random.default_rng(123))
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(5)
    c = negsamp.corrupt_triples(tri, 30, 5, rng=gen)
    d = negsamp.corrupt_triples(tri, 30, 5, rng=gen)
    assert not np.array_equal(c, d)


def test_golden_bernoulli_unsorted_groups():
    # Groups in random order and triples whose own tail is not known (their
    # own rows): pins the grouping and the sampling order.
    gen = np.random.default_rng(5)
    tri = np.stack([gen.integers(0, 30, 40), gen.integers(0, 3, 40),
                    gen.integers(0, 30, 40)], axis=1)
    # mode="tail" (and "head", "both") of these triples: the reference's
    # goldens, tests/data/golden_corrupt_triples.json.  "bernoulli" (its
    # per-relation head probabilities) is not mirrored: pinned from this
    # implementation.
    out = negsamp.corrupt_triples(tri, 30, 3, known=tri[::2], mode="bernoulli", rng=7)
    assert out[:4].reshape(-1, 3).tolist() == [
        [20, 2, 1], [20, 2, 22], [20, 2, 14], [13, 1, 13], [0, 1, 13], [24, 1, 24],
        [3, 2, 5], [0, 2, 10], [0, 2, 14], [29, 0, 23], [19, 0, 23], [5, 0, 23]]
    assert int(out.sum()) == 3479


# Goldens of "tail" and "both": tests/data/golden_corrupt_triples.json, computed by the
# pure-Python reference (tests/test_goldens.py).


def test_large_relation_ids_and_dtypes():
    tri = np.array([[0, 10**12, 1], [1, 3, 2]], dtype=np.int64)
    out = negsamp.corrupt_triples(tri, 3, 50, known=tri, rng=0)
    assert (out[0, :, 1] == 10**12).all()
    assert set(out[0, :, 2].tolist()) <= {0, 2}
    out32 = negsamp.corrupt_triples(tri.astype(np.uint32)[1:], 3, 5, rng=0)
    assert out32.dtype == np.int64


def test_empty_and_zero_k():
    assert negsamp.corrupt_triples(np.zeros((0, 3), int), 5, 4).shape == (0, 4, 3)
    assert negsamp.corrupt_triples(np.array([[0, 0, 1]]), 5, 0).shape == (1, 0, 3)
    assert negsamp.corrupt_triples([], 5, 2).shape == (0, 2, 3)
    tri = np.array([[0, 0, 1], [1, 0, 2]])
    for known in ([], np.zeros((0, 3), dtype=np.int32)):
        for mode in ("tail", "head", "both", "bernoulli"):
            out = negsamp.corrupt_triples(tri, 3, 50, known=known, mode=mode, rng=0)
            assert ((out != tri[:, None, :]).sum(axis=2) == 1).all()


def test_caller_arrays_untouched():
    tri = _random_kg(3)
    known = tri[::2].copy()
    tri_f = np.asfortranarray(tri.astype(np.int32))
    with assert_untouched(tri, known, tri_f):
        negsamp.corrupt_triples(tri, 30, 7, mode="both", known=known, rng=0)
        negsamp.corrupt_triples(tri_f, 30, 7, mode="bernoulli", known=known, rng=0)


@pytest.mark.parametrize(
    "kwargs, exc, text",
    [
        (dict(triples=np.zeros((3, 2), int)), ValueError, "triples"),
        (dict(triples=np.zeros(3, int)), ValueError, "triples"),
        (dict(triples=np.zeros((3, 3))), TypeError, "triples"),
        (dict(triples=np.array([[0, 0, 5]])), ValueError, "n_entities"),
        (dict(triples=np.array([[-1, 0, 1]])), ValueError, "triples[0]"),
        (dict(triples=np.array([[0, -2, 1]])), ValueError, "relation"),
        (dict(triples="abc"), TypeError, "triples"),
        (dict(n_entities=0), ValueError, "n_entities"),
        (dict(n_entities=5.0), TypeError, "n_entities"),
        (dict(k=-1), ValueError, "k"),
        (dict(k=2.5), TypeError, "k"),
        (dict(mode="tails"), ValueError, "mode"),
        (dict(mode=None), ValueError, "mode"),
        (dict(known=np.zeros((2, 4), int)), ValueError, "known"),
        (dict(known=np.array([[0, 0, 9]])), ValueError, "known"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(rng="x"), TypeError, "rng"),
    ],
)
def test_bad_inputs(kwargs, exc, text):
    args = dict(triples=np.array([[0, 0, 1], [1, 0, 2]]), n_entities=5, k=3)
    args.update(kwargs)
    with pytest.raises(exc, match=text.replace("[", r"\[").replace("]", r"\]")):
        negsamp.corrupt_triples(args.pop("triples"), args.pop("n_entities"),
                                args.pop("k"), **args)


def test_no_valid_replacement_names_the_triple():
    known = np.array([[0, 0, 0], [0, 0, 1]])
    tri = np.array([[1, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"triples\[1\] = \[0, 0, 1\].*tail"):
        negsamp.corrupt_triples(tri, 2, 3, known=known, rng=0)
    # "both" needs both sides possible; the head side of triples[1] is fine
    # (head 1 gives (1, 0, 1), unknown) but its tail side is not.
    with pytest.raises(ValueError, match=r"triples\[1\]"):
        negsamp.corrupt_triples(tri, 2, 3, known=known, mode="both", rng=0)
    # Head mode works: (1, 0, 1) is not known.
    out = negsamp.corrupt_triples(tri[1:], 2, 3, known=known, mode="head", rng=0)
    assert (out[0, :, 0] == 1).all()
    with pytest.raises(ValueError, match="no valid"):
        negsamp.corrupt_triples(np.array([[0, 0, 0]]), 1, 1)


@pytest.mark.parametrize("seed", range(5))
def test_grouping_paths_agree(seed):
    # The key-based grouping (used when (anchor, entity) keys fit in int64)
    # and the general one give every triple the same exclusion set:
    # {own entity} | {known entities of its anchor}.
    from negsamp.kg import _side_exclusions

    gen = np.random.default_rng(seed)
    n = 9
    anchors = gen.integers(0, 6, 40)
    own = gen.integers(0, n, 40)
    known_anchors = gen.integers(0, 6, 30)
    known_items = gen.integers(0, n, 30)
    expected = []
    for a, x in zip(anchors.tolist(), own.tolist()):
        items = {int(i) for b, i in zip(known_anchors, known_items) if b == a}
        expected.append(sorted(items | {x}))
    for by_keys in (True, False):
        excl, rows = _side_exclusions(anchors, own, known_anchors, known_items, n,
                                      by_keys=by_keys)
        assert np.all(np.diff(excl.indptr) >= 0)
        got = [excl.row(r).tolist() for r in rows]
        assert got == expected


@pytest.mark.parametrize("n", [7, 2**40 + 3, 2**58 + 1])
@pytest.mark.parametrize("n_known", [0, 1, 200])
def test_key_rows_merge(n_known, n):
    # The C merge of sorted (anchor, entity) keys against an independent
    # dictionary reference, including empty inputs; unsorted keys are refused.
    from negsamp import _kg

    gen = np.random.default_rng(n_known)
    # Keys within a few anchors (some shared) and entities; n up to 2^58
    # takes the division path of keys >= 2^52.
    def draw(size):
        return gen.integers(0, 30, size) * n + gen.integers(0, min(n, 9), size)
    known = np.unique(draw(n_known)).astype(np.int64)
    keys = np.sort(draw(300)).astype(np.int64)
    indptr, indices, row_of, present = _kg.key_rows(n, known, keys)
    by_anchor = {}
    for key in known.tolist():
        by_anchor.setdefault(key // n, []).append(key % n)
    anchors = sorted(by_anchor)
    assert indptr.shape[0] == len(anchors) + 2 and indptr[-1] == indptr[-2] == known.size
    for b, a in enumerate(anchors):
        assert indices[indptr[b]:indptr[b + 1]].tolist() == by_anchor[a]
    for key, r, p in zip(keys.tolist(), row_of.tolist(), present.tolist()):
        a = key // n
        assert r == (anchors.index(a) if a in by_anchor else len(anchors))
        assert p == (key in set(known.tolist()))
    if keys.size > 1:
        with pytest.raises(ValueError, match="NS_ERR_VALUE"):
            _kg.key_rows(n, known, keys[::-1].copy())


def test_python_threads_share_inputs():
    tri = _random_kg(10, n_entities=100, m=2000)
    assert_threads_match_serial(
        lambda s: negsamp.corrupt_triples(tri, 100, 8, known=tri, rng=s, mode="both"), 4)


def test_baseline_is_valid():
    tri = _random_kg(12)
    for mode in ("tail", "head", "both"):
        out = corrupt_triples_numpy(tri, 30, 20, mode=mode, known=tri, rng=0)
        ks = _known_set(tri)
        assert not any(tuple(x) in ks for x in out.reshape(-1, 3).tolist())
        _sides(tri, out)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 7),
    data=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 6)),
                  min_size=1, max_size=25),
    extra=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 6)),
                   max_size=25),
    mode=st.sampled_from(["tail", "head", "both", "bernoulli"]),
    filtered=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_against_reference(n, data, extra, mode, filtered, seed):
    tri = np.array([[h % n, r, t % n] for h, r, t in data], dtype=np.int64)
    known = (np.array([[h % n, r, t % n] for h, r, t in data + extra], dtype=np.int64)
             if filtered else None)
    ks = _known_set(known) if filtered else set()

    def eligible(i, col):
        out = set()
        for x in range(n):
            cand = [int(v) for v in tri[i]]
            cand[col] = x
            if x != tri[i, col] and tuple(cand) not in ks:
                out.add(x)
        return out

    sides = {"tail": [2], "head": [0], "both": [0, 2], "bernoulli": [0, 2]}[mode]
    impossible = any(not eligible(i, c) for i in range(tri.shape[0]) for c in sides)
    if impossible:
        with pytest.raises(ValueError, match="no valid"):
            negsamp.corrupt_triples(tri, n, 4, mode=mode, known=known, rng=seed)
        return
    out = negsamp.corrupt_triples(tri, n, 6, mode=mode, known=known, rng=seed)
    assert out.shape == (tri.shape[0], 6, 3)
    if mode in ("tail", "head"):
        # Every eligible entity is reachable: with <= 7 entities and 150
        # draws a missing one has probability < 7 (6/7)^150 ~ 1e-9.
        col = 2 if mode == "tail" else 0
        many = negsamp.corrupt_triples(tri, n, 150, mode=mode, known=known, rng=seed)
        for i in range(tri.shape[0]):
            assert set(many[i, :, col].tolist()) == eligible(i, col)
    for i in range(tri.shape[0]):
        for s in range(6):
            row = out[i, s]
            assert row[1] == tri[i, 1]
            if row[0] != tri[i, 0]:
                assert row[2] == tri[i, 2] and 0 in sides
                assert int(row[0]) in eligible(i, 0)
            else:
                assert 2 in sides and int(row[2]) in eligible(i, 2)


@pytest.mark.parametrize("mode", ["tail", "head", "both", "bernoulli"])
def test_corrupt_triples_out_equals_the_allocated_call(mode):
    rng = np.random.default_rng(5)
    known = np.unique(rng.integers(0, 30, (200, 3)) % [30, 4, 30], axis=0)
    tri = known[:40]
    want = negsamp.corrupt_triples(tri, 30, 6, mode=mode, known=known, rng=9)
    buf = np.full((40, 6, 3), -1, dtype=np.int64)
    got = negsamp.corrupt_triples(tri, 30, 6, mode=mode, known=known, rng=9, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, want)
    with pytest.raises(ValueError, match=r"out must have shape \(40, 6, 3\)"):
        negsamp.corrupt_triples(tri, 30, 6, mode=mode, known=known, out=buf[:, :3])

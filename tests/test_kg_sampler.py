"""KGSampler: known triples grouped once, corruptions of heads, relations or
tails drawn per batch, exactly, never a known triple."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import negsamp
from _helpers import assert_untouched, run_in_threads
from _kg_cases import assert_law, exact_law, small_kg
from _stats import chisquare_pvalue


@pytest.mark.parametrize("sides", [("tail",), ("head", "tail"), ("head", "relation", "tail"),
                                   ("relation",)])
def test_law_is_exact_on_a_known_triple(sides):
    known = small_kg(n_relations=8)
    sampler = negsamp.KGSampler(known, 12, 8)
    assert_law(sampler, tuple(known[5]), known, sides)


def test_law_is_exact_on_a_triple_that_is_not_known():
    known = small_kg()
    sampler = negsamp.KGSampler(known, 12, 3)
    known_set = {tuple(t) for t in known.tolist()}
    triple = next((h, r, t) for h in range(12) for r in range(3) for t in range(12)
                  if (h, r, t) not in known_set)
    assert_law(sampler, triple, known, ("head", "relation", "tail"))


def test_bernoulli_law_uses_the_statistics_of_known():
    known = small_kg(1)
    sampler = negsamp.KGSampler(known, 12, 3)
    np.testing.assert_array_equal(sampler.head_probability(),
                                  negsamp.kg.head_probability(known, 3))
    assert_law(sampler, tuple(known[3]), known, ("head", "tail"), mode="bernoulli")


def test_a_saturated_side_gives_way_to_the_others():
    # Every tail of (0, 0, .) is known: tail corruptions of (0, 0, 1) have no
    # candidate, so every corruption replaces the head, exactly uniformly.
    known = np.array([[0, 0, t] for t in range(5)] + [[3, 0, 1]])
    sampler = negsamp.KGSampler(known, 5, 1)
    out = sampler.corrupt([[0, 0, 1]], 4000, rng=3)[0]
    assert (out[:, 1:] == [0, 1]).all()
    assert_law(sampler, (0, 0, 1), known, ("head", "tail"))
    assert set(out[:, 0].tolist()) == {1, 2, 4}  # not 0 (original), not 3 (known)


def test_no_valid_replacement_anywhere_names_the_triple():
    known = np.array([[h, 0, t] for h in range(3) for t in range(3)])
    sampler = negsamp.KGSampler(known, 3, 1)
    batch = np.array([[[0, 0, 0], [1, 0, 2]]])
    with pytest.raises(ValueError, match=r"triples\[0, 0\] = \[0, 0, 0\] has no valid replacement "
                                         r"on any side of corrupt=\('head', 'tail'\)"):
        sampler.corrupt(batch, 2)
    with pytest.raises(ValueError, match=r"has no valid replacement"):
        sampler.corrupt(batch, 2, corrupt=("head", "relation", "tail"))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 9), st.integers(1, 4), st.integers(1, 40),
       st.sampled_from([("head",), ("tail",), ("relation",), ("head", "tail"),
                        ("head", "relation", "tail")]),
       st.integers(0, 6))
def test_every_corruption_is_valid_and_exactly_k(seed, n_ent, n_rel, m, sides, k):
    rng = np.random.default_rng(seed)
    known = np.stack([rng.integers(0, n_ent, m), rng.integers(0, n_rel, m),
                      rng.integers(0, n_ent, m)], axis=1)
    batch = np.stack([rng.integers(0, n_ent, 7), rng.integers(0, n_rel, 7),
                      rng.integers(0, n_ent, 7)], axis=1)
    sampler = negsamp.KGSampler(known, n_ent, n_rel)
    known_set = {tuple(t) for t in known.tolist()}
    possible = [bool(exact_law(t, known, n_ent, n_rel, sides)) for t in batch]
    if not all(possible) and k > 0:
        with pytest.raises(ValueError, match=r"has no valid replacement"):
            sampler.corrupt(batch, k, corrupt=sides, rng=seed)
        return
    out = sampler.corrupt(batch, k, corrupt=sides, rng=seed)
    assert out.shape == (7, k, 3) and out.dtype == np.int64
    cols = [{"head": 0, "relation": 1, "tail": 2}[s] for s in sides]
    for triple, rows in zip(batch.tolist(), out.tolist()):
        for c in rows:
            assert tuple(c) not in known_set and c != triple
            changed = [j for j in range(3) if c[j] != triple[j]]
            assert len(changed) == 1 and changed[0] in cols


def test_leading_shape_torch_input_and_reproducibility():
    torch = pytest.importorskip("torch")
    known = small_kg(2)
    sampler = negsamp.KGSampler(known, 12, 3)
    batch = known[:24].reshape(2, 4, 3, 3)
    a = sampler.corrupt(batch, 5, rng=9)
    assert a.shape == (2, 4, 3, 5, 3)
    b = sampler.corrupt(torch.from_numpy(batch), 5, rng=torch.Generator().manual_seed(9))
    c = sampler.corrupt(torch.from_numpy(batch), 5, rng=torch.Generator().manual_seed(9))
    np.testing.assert_array_equal(b, c)
    np.testing.assert_array_equal(a, sampler.corrupt(batch, 5, rng=9))


def test_same_output_whatever_the_threads_and_shared_by_threads():
    rng = np.random.default_rng(4)
    known = np.unique(np.stack([rng.integers(0, 3000, 60000), rng.integers(0, 20, 60000),
                                rng.integers(0, 3000, 60000)], axis=1), axis=0)
    sampler = negsamp.KGSampler(known, 3000, 20)
    batch = np.concatenate([known[:3000], [[1, 2, 3], [4, 5, 6]]])
    outs = [sampler.corrupt(batch, 16, corrupt=("head", "relation", "tail"), rng=1,
                            n_threads=t) for t in (1, 2)]
    np.testing.assert_array_equal(outs[0], outs[1])
    results = run_in_threads(
        lambda i: sampler.corrupt(batch, 16, corrupt=("head", "relation", "tail"), rng=1), 4)
    for r in results:
        np.testing.assert_array_equal(r, outs[0])


def test_the_caller_s_arrays_are_untouched():
    known = small_kg(3)
    batch = known[:10].copy()
    with assert_untouched(known, batch):
        sampler = negsamp.KGSampler(known, 12, 3)
        sampler.corrupt(batch, 4, corrupt=("head", "relation", "tail"), rng=0)


@pytest.mark.parametrize("call, match", [
    (lambda s: s.corrupt([[0, 0, 1]], 2, corrupt="edge"), r"corrupt must name distinct sides"),
    (lambda s: s.corrupt([[0, 0, 1]], 2, corrupt=("head", "head")), r"corrupt must name distinct"),
    (lambda s: s.corrupt([[0, 0, 1]], 2, corrupt=()), r"corrupt must name distinct"),
    (lambda s: s.corrupt([[0, 0, 1]], 2, corrupt=3), r"corrupt must be a side or a sequence"),
    (lambda s: s.corrupt([[0, 0, 1]], 2, mode="both"), r"mode must be one of \('uniform', 'bernoulli'\)"),
    (lambda s: s.corrupt([[0, 0, 1]], 2, mode="bernoulli", corrupt=("head", "relation", "tail")),
     r'mode="bernoulli" chooses between head and tail'),
    (lambda s: s.corrupt([[0, 0, 1]], -1), r"k must be >= 0, got -1"),
    (lambda s: s.corrupt([[0, 0, 1]], 2.0), r"k must be an int, got 2.0"),
    (lambda s: s.corrupt([[0, 3, 1]], 2), r"triples\[0\] = \[0, 3, 1\] has a relation outside "
                                          r"\[0, n_relations=3\)"),
    (lambda s: s.corrupt([[0, 0, 12]], 2), r"has an entity outside \[0, n_entities=12\)"),
    (lambda s: s.corrupt([[0, 0]], 2), r"triples must have shape \(\.\.\., 3\)"),
    (lambda s: s.corrupt([[0.0, 0, 1]], 2), r"triples must have an integer dtype"),
    (lambda s: s.corrupt("abc", 2), r"triples must be an \(\.\.\., 3\) integer array"),
    (lambda s: negsamp.KGSampler([[0, 5, 1]], 12, 3), r"known\[0\] = \[0, 5, 1\] has a relation "
                                                     r"outside \[0, n_relations=3\)"),
    (lambda s: negsamp.KGSampler([[0, 0, 1]], 0), r"n_entities must be >= 1, got 0"),
    (lambda s: negsamp.KGSampler([[0, 0, 1]], 2**40), r"n_entities=1099511627776 x n_entities x n_relations=1 is too large"),
])
def test_bad_input_is_a_clear_error(call, match):
    sampler = negsamp.KGSampler(small_kg(), 12, 3)
    with pytest.raises((ValueError, TypeError), match=match):
        call(sampler)


def test_empty_batches_and_known():
    sampler = negsamp.KGSampler(np.zeros((0, 3), dtype=np.int64), 5, 2)
    assert sampler.corrupt(np.zeros((0, 3), dtype=np.int64), 3).shape == (0, 3, 3)
    out = sampler.corrupt([[0, 1, 2]], 4, corrupt=("head", "relation", "tail"), rng=0)
    assert out.shape == (1, 4, 3)
    assert negsamp.KGSampler(small_kg(), 12).corrupt([[0, 0, 1]], 0).shape == (1, 0, 3)


def test_unfiltered_excludes_only_the_original_and_keeps_the_statistics():
    known = np.array([[0, 0, t] for t in range(5)])
    filtered = negsamp.KGSampler(known, 5, 1)
    plain = negsamp.KGSampler(known, 5, 1, filtered=False)
    assert "filtered=False" in repr(plain)
    np.testing.assert_array_equal(plain.head_probability(), filtered.head_probability())
    out = plain.corrupt([[0, 0, 1]], 3000, corrupt="tail", rng=0)[0]
    assert set(out[:, 2].tolist()) == {0, 2, 3, 4}  # known tails allowed, not the original
    assert chisquare_pvalue(np.bincount(out[:, 2], minlength=5)[[0, 2, 3, 4]], np.ones(4)) > 1e-4
    with pytest.raises(ValueError, match=r"has no valid replacement"):
        filtered.corrupt([[0, 0, 1]], 3, corrupt="tail")
    with pytest.raises(TypeError, match=r"filtered must be True or False, got 0"):
        negsamp.KGSampler(known, 5, filtered=0)

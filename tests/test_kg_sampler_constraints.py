"""KGSampler with type constraints (per-relation candidate pools), out=
and keys=: the exact law restricted to each relation's pool, never a known
triple, the caller's buffer written in place."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import negsamp
from _helpers import assert_untouched
from _kg_cases import assert_law, small_kg


def random_pools(rng, n_relations, n_entities, size):
    return [np.sort(rng.choice(n_entities, size, replace=False)) for _ in range(n_relations)]


@pytest.mark.parametrize("sides, mode", [(("tail",), "uniform"), (("head", "tail"), "uniform"),
                                         (("head", "tail"), "bernoulli"),
                                         (("head", "relation", "tail"), "uniform")])
def test_law_is_exact_within_the_pools(sides, mode):
    rng = np.random.default_rng(4)
    known = small_kg(2, n_relations=4)
    pools = {"head": random_pools(rng, 4, 12, 7), "tail": random_pools(rng, 4, 12, 5)}
    sampler = negsamp.KGSampler(known, 12, 4, head_candidates=pools["head"],
                                tail_candidates=pools["tail"])
    # A known triple whose own head and tail lie in the pools, one whose do not.
    assert_law(sampler, tuple(known[7]), known, sides, mode=mode, pools=pools)
    assert_law(sampler, tuple(known[2]), known, sides, mode=mode, pools=pools, seed=1)


def test_a_wrong_pool_law_is_caught():
    # The reference with the pools ignored must fail the same chi-square test:
    # the test above can tell a sampler that ignores the constraints.
    known = small_kg(2, n_relations=4)
    rng = np.random.default_rng(4)
    pools = {"head": random_pools(rng, 4, 12, 7), "tail": random_pools(rng, 4, 12, 5)}
    sampler = negsamp.KGSampler(known, 12, 4)
    with pytest.raises(AssertionError, match="is not a valid corruption"):
        assert_law(sampler, tuple(known[7]), known, ("head", "tail"), pools=pools)


def test_a_saturated_or_empty_pool_gives_way_and_errors_name_the_triple():
    known = np.array([[0, 0, 1], [2, 0, 3], [1, 1, 2]])
    # Relation 0: its only allowed tail is the triple's own, so only heads move.
    sampler = negsamp.KGSampler(known, 5, 2, tail_candidates=[[1], [0, 1, 2, 3, 4]])
    out = sampler.corrupt([[0, 0, 1]], 500, rng=0)[0]
    assert (out[:, 1:] == [0, 1]).all() and set(out[:, 0].tolist()) == {1, 2, 3, 4}
    # Empty pools on both sides of relation 1: no valid corruption at all.
    none = negsamp.KGSampler(known, 5, 2, head_candidates=[[0, 1, 2], []],
                             tail_candidates=[[1, 3], []])
    with pytest.raises(ValueError, match=r"triples\[1\] = \[1, 1, 2\] has no valid replacement "
                                         r".* or outside its relation's candidates"):
        none.corrupt([[0, 0, 1], [1, 1, 2]], 3)
    # The relation side is never constrained.
    rel = none.corrupt([[1, 1, 2]], 50, corrupt=("head", "relation", "tail"), rng=1)[0]
    assert (rel[:, 1] == 0).all()


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 9), st.integers(1, 4), st.integers(1, 30),
       st.sampled_from([("head",), ("tail",), ("head", "tail"), ("head", "relation", "tail")]),
       st.integers(1, 6))
def test_every_corruption_respects_pools_and_known(seed, n_ent, n_rel, m, sides, k):
    rng = np.random.default_rng(seed)
    known = small_kg(seed, n_ent, n_rel, m)
    heads = [np.flatnonzero(rng.random(n_ent) < 0.6) for _ in range(n_rel)]
    tails = [np.flatnonzero(rng.random(n_ent) < 0.6) for _ in range(n_rel)]
    sampler = negsamp.KGSampler(known, n_ent, n_rel, head_candidates=heads,
                                tail_candidates=tails)
    batch = known[rng.integers(0, known.shape[0], 8)]
    try:
        out = sampler.corrupt(batch, k, corrupt=sides, rng=seed)
    except ValueError as err:
        # Only when some triple truly has no candidate: check it by enumeration.
        assert "has no valid replacement" in str(err)
        return
    known_set = {tuple(t) for t in known.tolist()}
    assert out.shape == (8, k, 3)
    for triple, rows in zip(batch.tolist(), out.tolist()):
        for c in rows:
            changed = [j for j in range(3) if c[j] != triple[j]]
            assert len(changed) == 1 and tuple(c) not in known_set
            j = changed[0]
            assert ["head", "relation", "tail"][j] in sides
            if j == 0:
                assert c[0] in heads[triple[1]]
            if j == 2:
                assert c[2] in tails[triple[1]]


def test_bad_candidates_are_named():
    known = small_kg()
    with pytest.raises(ValueError, match="head_candidates"):
        negsamp.KGSampler(known, 12, 3, head_candidates=[[0, 1], [2]])  # 2 rows, not 3
    with pytest.raises(ValueError, match="tail_candidates"):
        negsamp.KGSampler(known, 12, 3, tail_candidates=[[0, 12], [1], [2]])
    with pytest.raises(TypeError, match="tail_candidates must be one list of entity ids"):
        negsamp.KGSampler(known, 12, 3, tail_candidates={0: [1]})


def test_out_is_written_in_place_and_equals_the_allocated_call():
    known = small_kg()
    sampler = negsamp.KGSampler(known, 12, 3)
    batch = known[:10].reshape(2, 5, 3)
    want = sampler.corrupt(batch, 4, rng=7)
    buf = np.full((2, 5, 4, 3), -1, dtype=np.int64)
    got = sampler.corrupt(batch, 4, rng=7, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, want)
    for bad, err in [(np.empty((10, 4, 3), dtype=np.int64), ValueError),
                     (np.empty((2, 5, 4, 3), dtype=np.int32), TypeError),
                     (np.empty((2, 5, 4, 6), dtype=np.int64)[..., ::2], ValueError)]:
        with pytest.raises(err, match="out"):
            sampler.corrupt(batch, 4, rng=7, out=bad)


def test_out_is_untouched_when_a_triple_has_no_replacement():
    known = np.array([[h, 0, t] for h in range(3) for t in range(3)])
    sampler = negsamp.KGSampler(known, 3, 1)
    buf = np.full((2, 2, 3), 7, dtype=np.int64)
    with assert_untouched(buf):
        with pytest.raises(ValueError, match="no valid replacement"):
            sampler.corrupt([[0, 0, 1], [1, 0, 2]], 2, out=buf)


def test_keys_make_each_row_independent_of_the_batch():
    known = small_kg(3, 40, 4, 300)
    sampler = negsamp.KGSampler(known, 40, 4)
    batch = known[:50]
    keys = np.arange(100, 150)
    full = sampler.corrupt(batch, 6, rng=5, keys=keys)
    perm = np.random.default_rng(0).permutation(50)
    part = sampler.corrupt(batch[perm[:20]], 6, rng=5, keys=keys[perm[:20]], n_threads=2)
    np.testing.assert_array_equal(part, full[perm[:20]])
    # Without keys the rows depend on the batch; with other keys they change.
    other = sampler.corrupt(batch, 6, rng=5, keys=keys + 1000)
    assert (other != full).any()
    with pytest.raises(ValueError, match="keys"):
        sampler.corrupt(batch, 6, rng=5, keys=keys[:3])


def test_a_relation_count_beyond_memory_is_a_memory_error_up_front():
    # Found by fuzz/fuzz_negative_api.py: the per-relation statistics were
    # allocated for n_relations=2**31 (tens of GB) before any check.
    with pytest.raises(MemoryError, match="n_relations=2147483648"):
        negsamp.KGSampler(np.zeros((4, 3), dtype=np.uint8), 1, 2**31)

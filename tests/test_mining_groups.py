"""hard_negatives(groups=): a candidate sharing a group with any of the
query's positives (or excluded ids) is never returned; everything else is
the result of the same call with those candidates excluded by hand."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import negsamp


def expand(groups, lists):
    """The reference: each query's ids plus every member of their groups."""
    out = []
    for ids in lists:
        gs = set(groups[np.asarray(ids, dtype=np.int64)].tolist())
        out.append(np.flatnonzero(np.isin(groups, list(gs))) if gs else np.zeros(0, np.int64))
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 12), st.integers(1, 40), st.integers(1, 8),
       st.sampled_from(["dot", "cosine"]), st.booleans())
def test_groups_equal_explicit_exclusions(seed, b, n, n_groups, metric, use_positives):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, 5)).astype(np.float32)
    c = rng.standard_normal((n, 5)).astype(np.float32)
    groups = rng.integers(-3, n_groups, n)  # any integers, negative included
    lists = [rng.choice(n, rng.integers(0, min(n, 2) + 1), replace=False) for _ in range(b)]
    k = int(rng.integers(1, 6))
    kw = dict(positives=lists) if use_positives else dict(exclude=lists)
    got = negsamp.hard_negatives(q, c, k, metric=metric, groups=groups, **kw)
    want = negsamp.hard_negatives(q, c, k, metric=metric, exclude=expand(groups, lists))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_duplicate_texts_of_the_positive_are_never_mined():
    rng = np.random.default_rng(0)
    c = rng.standard_normal((50, 8)).astype(np.float32)
    c[10] = c[3]  # passage 10 has the text of passage 3
    groups = np.arange(50)
    groups[10] = 3
    q = c[[3]] + 0.01
    ids, _ = negsamp.hard_negatives(q, c, 2, positives=[[3]], metric="cosine")
    assert ids[0, 0] == 10  # without groups the duplicate is the hardest negative
    ids, _ = negsamp.hard_negatives(q, c, 2, positives=[[3]], groups=groups, metric="cosine")
    assert 10 not in ids[0] and 3 not in ids[0]


def test_groups_without_positives_change_nothing_and_bad_groups_are_named():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((3, 4))
    c = rng.standard_normal((9, 4))
    plain = negsamp.hard_negatives(q, c, 3)
    same = negsamp.hard_negatives(q, c, 3, groups=np.zeros(9, dtype=np.int64))
    np.testing.assert_array_equal(plain[0], same[0])
    with pytest.raises(ValueError, match=r"groups must have shape \(9,\)"):
        negsamp.hard_negatives(q, c, 3, groups=np.zeros(8, dtype=np.int64), exclude=[[0]] * 3)
    with pytest.raises(TypeError, match="groups"):
        negsamp.hard_negatives(q, c, 3, groups=np.zeros(9), exclude=[[0]] * 3)

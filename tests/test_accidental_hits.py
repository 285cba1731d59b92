"""negsamp.accidental_hits: against np.isin per row for shared and per-row
candidates, both search paths, every positives form, TensorFlow's format,
threads, bad input."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import negsamp
from negsamp import PositiveLists, accidental_hits
from negsamp import _candidates
from negsamp.candidates import AccidentalHits


def reference_mask(rows, candidates, positives):
    """np.isin per row: positives a list of arrays."""
    cand = np.asarray(candidates)
    out = np.zeros((len(rows), cand.shape[-1]), dtype=bool)
    for b, r in enumerate(rows):
        row_cands = cand if cand.ndim == 1 else cand[b]
        out[b] = np.isin(row_cands, np.asarray(positives[r], dtype=np.int64))
    return out


def check_pairs(hits, mask):
    assert isinstance(hits, AccidentalHits)
    assert hits.indices.dtype == np.int32 and hits.ids.dtype == np.int64
    assert hits.weights.dtype == np.float32
    rows, cols = np.nonzero(mask)  # row then column order
    np.testing.assert_array_equal(hits.indices, rows)
    np.testing.assert_array_equal(hits.ids, cols)
    np.testing.assert_array_equal(hits.weights, np.full(rows.shape[0], -np.finfo(np.float32).max,
                                                        dtype=np.float32))


def test_tensorflow_example():
    # tf.nn.compute_accidental_hits on true_classes [[1, 2], [0, 4], [3, 3]]
    # and sampled_candidates [0, 1, 2, 3, 4].  The duplicated true label 3
    # gives one hit here (positives are a set; TensorFlow lists it twice,
    # which masks the same logit).
    hits = accidental_hits(None, [0, 1, 2, 3, 4], np.array([[1, 2], [0, 4], [3, 3]]))
    assert hits.indices.tolist() == [0, 0, 1, 1, 2]
    assert hits.ids.tolist() == [1, 2, 0, 4, 3]
    assert (hits.weights == np.float32(-3.4028235e38)).all()


positives_lists = st.integers(1, 12).flatmap(lambda n_rows: st.lists(
    st.lists(st.integers(0, 60), max_size=25), min_size=n_rows, max_size=n_rows))


@settings(max_examples=80, deadline=None)
@given(positives=positives_lists, data=st.data())
def test_matches_isin_per_row(positives, data):
    n_rows = len(positives)
    rows = data.draw(st.lists(st.integers(0, n_rows - 1), max_size=10))
    shared = data.draw(st.booleans())
    n_cand = data.draw(st.integers(0, 40))
    gen = np.random.default_rng(data.draw(st.integers(0, 2**32)))
    shape = (n_cand,) if shared else (len(rows), n_cand)
    candidates = gen.integers(0, 61, shape)
    cand_before = candidates.copy()
    want = reference_mask(rows, candidates, positives)
    for form in (positives, PositiveLists(positives, 61)):
        mask = accidental_hits(rows, candidates, form, n_items=61, format="mask")
        assert mask.dtype == np.bool_ and mask.shape == want.shape
        np.testing.assert_array_equal(mask, want)
        check_pairs(accidental_hits(rows, candidates, form, format="pairs"), want)
    np.testing.assert_array_equal(candidates, cand_before)


@pytest.mark.parametrize("n_cand, n_pos", [(4, 3000), (3000, 3), (500, 500)])
def test_both_search_paths_agree_with_isin(n_cand, n_pos):
    # C << P: each candidate is searched in the positives; P << C: each
    # positive in the sorted shared candidates (duplicated candidates too);
    # ns_candidates_hits_mask picks by the cost of each (per-row candidates
    # always take the first).
    gen = np.random.default_rng(n_cand)
    n_items = 4 * max(n_cand, n_pos)
    positives = [gen.choice(n_items, n_pos, replace=False) for _ in range(40)]
    rows = gen.integers(0, 40, 64)
    candidates = gen.integers(0, n_items, n_cand)
    k = min(n_cand // 4, n_pos) or 1
    candidates[:k] = positives[rows[0]][:k]  # make hits
    want = reference_mask(rows, candidates, positives)
    assert want.any()
    got = accidental_hits(rows, candidates, positives, n_items=n_items, format="mask")
    np.testing.assert_array_equal(got, want)
    per_row = np.tile(candidates, (64, 1))
    got = accidental_hits(rows, per_row, positives, n_items=n_items, format="mask")
    np.testing.assert_array_equal(got, want)


def test_in_batch_candidates_with_a_history_matrix():
    # Retrieval: rows are users, candidates the batch's items, positives each
    # user's whole history (so another example's item can hit).
    gen = np.random.default_rng(1)
    n_users, n_items, batch = 300, 1000, 128
    history = sp.random(n_users, n_items, density=0.02, format="csr", random_state=2)
    users = gen.integers(0, n_users, batch)
    items = np.array([gen.choice(history[u].indices) if history[u].nnz else 0 for u in users])
    lists = [history[r].indices for r in range(n_users)]
    want = reference_mask(users, items, lists)
    assert want[np.arange(batch), np.arange(batch)][[history[u].nnz > 0 for u in users]].all()
    for form in (history, (history.indptr, history.indices), history.tocoo(),
                 PositiveLists(history, n_items)):
        check_pairs(accidental_hits(users, items, form, n_items=n_items), want)


def test_rows_default_to_one_row_per_positives_row():
    labels = np.array([[4], [0], [4]])
    mask = accidental_hits(None, [4, 0, 9], labels, format="mask")
    assert mask.tolist() == [[True, False, False], [False, True, False], [True, False, False]]


def test_one_and_two_threads_give_the_same_output():
    gen = np.random.default_rng(3)
    positives = [gen.choice(5000, 50, replace=False) for _ in range(500)]
    rows = gen.integers(0, 500, 400)
    candidates = gen.integers(0, 5000, 2000)
    a = accidental_hits(rows, candidates, positives, n_items=5000, n_threads=1)
    b = accidental_hits(rows, candidates, positives, n_items=5000, n_threads=2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    check_pairs(a, reference_mask(rows, candidates, positives))


def test_empty_shapes():
    assert accidental_hits([], [1, 2], [[1]], format="mask").shape == (0, 2)
    assert accidental_hits([0], [], [[1]], format="mask").shape == (1, 0)
    assert accidental_hits([0, 0], np.zeros((2, 0), np.int64), [[1]], format="mask").shape == (2, 0)
    hits = accidental_hits([0], [], [[1]])
    assert hits.indices.shape == hits.ids.shape == hits.weights.shape == (0,)


def test_positive_lists_pickle_and_repr():
    pl = PositiveLists([[3, 1, 1], [], [7]], 8)
    back = pickle.loads(pickle.dumps(pl))
    assert back.n_rows == 3 and back.n_items == 8
    assert back.row(0).tolist() == [1, 3] and back.row(1).tolist() == []
    assert "n_rows=3" in repr(back)
    with pytest.raises(ValueError, match="state"):
        PositiveLists.__new__(PositiveLists).__setstate__({"indptr": 1})
    with pytest.raises(ValueError, match="positives"):
        PositiveLists.__new__(PositiveLists).__setstate__(
            {"indptr": np.array([0, 1]), "indices": np.array([9]), "n_items": 8})
    assert negsamp.PositiveLists is PositiveLists


@pytest.mark.parametrize("call, error, match", [
    (lambda: accidental_hits([0], [1], [[1]], format="dense"), ValueError, "format"),
    (lambda: accidental_hits([0], [1.5], [[1]]), TypeError, "candidates"),
    (lambda: accidental_hits([0], np.zeros((1, 1, 1), np.int64), [[1]]), ValueError,
     "candidates"),
    (lambda: accidental_hits([0], [-1], [[1]]), ValueError, "candidates"),
    (lambda: accidental_hits([0], [5], [[1]], n_items=5), ValueError, "candidates"),
    (lambda: accidental_hits([0, 0], [[1]], [[1]]), ValueError, "candidates has 1 rows"),
    (lambda: accidental_hits([1], [1], [[1]]), ValueError, "rows"),
    (lambda: accidental_hits([[0]], [1], [[1]]), ValueError, "rows"),
    (lambda: accidental_hits([0.0], [1], [[1]]), TypeError, "rows"),
    (lambda: accidental_hits([0], [1], [[9]], n_items=5), ValueError, "positives"),
    (lambda: accidental_hits([0], [1], "abc"), TypeError, "positives"),
    (lambda: accidental_hits([0], [1], PositiveLists([[1]], 4), n_items=5), ValueError,
     "n_items"),
    (lambda: accidental_hits([0], [1], [[1]], n_items=0), ValueError, "n_items"),
    (lambda: accidental_hits([0], [1], [[1]], n_threads=0), ValueError, "n_threads"),
    (lambda: PositiveLists([[1]], None), TypeError, "n_items"),
])
def test_bad_input_is_rejected_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_kernel_hooks_check_their_buffers():
    indptr, indices = np.array([0, 1]), np.array([3])
    cand = np.array([[3, 4]])
    with pytest.raises(ValueError, match="rows"):
        _candidates.hits_mask(indptr, indices, np.array([1]), cand, None, None, 1)
    with pytest.raises(ValueError, match="indptr"):
        _candidates.hits_mask(np.array([0, 5]), indices, np.array([0]), cand, None, None, 1)
    with pytest.raises(ValueError, match="sorted"):
        _candidates.hits_mask(indptr, indices, np.array([0]), cand, np.array([4, 3]),
                              np.array([1, 0]), 1)
    with pytest.raises(ValueError, match="counts"):
        _candidates.hits_pairs(np.zeros((1, 2), bool), np.array([3]), 1)
    with pytest.raises(ValueError, match="NS_ERR_VALUE"):  # counts that the mask lacks
        _candidates.hits_pairs(np.zeros((2, 3), bool), np.array([2, 0]), 1)

"""torch tensors wherever arrays are accepted (CPU tensors are read in
place, autograd history dropped), 0-d tensors and NumPy integers as counts,
and the common positives layouts: (B, 1) arrays or tensors, flat lists of
ids, torch sparse CSR/COO.  Outputs stay NumPy; the same inputs as NumPy
arrays give the same outputs."""
import numpy as np
import pytest

import negsamp

torch = pytest.importorskip("torch")


def test_alias_table_from_a_tensor_that_requires_grad():
    w = torch.rand(50, dtype=torch.float64, requires_grad=True)
    a = negsamp.AliasTable(w).sample(1000, rng=1)
    b = negsamp.AliasTable(w.detach().numpy()).sample(1000, rng=1)
    np.testing.assert_array_equal(a, b)


def test_negative_sampler_with_tensor_counts_rows_and_sparse_positives():
    dense = torch.zeros(4, 30)
    dense[0, [1, 2, 3]] = 1
    dense[2, [5, 29]] = 1
    csr = dense.to_sparse_csr()
    coo = dense.to_sparse()
    rows = torch.tensor([0, 1, 2, 3, 2])
    ref = negsamp.NegativeSampler(30, positives=[[1, 2, 3], [], [5, 29], []]).sample(
        rows.numpy(), 6, rng=2)
    for positives in (csr, coo):
        sampler = negsamp.NegativeSampler(torch.tensor(30), positives=positives)
        np.testing.assert_array_equal(sampler.sample(rows, torch.tensor(6), rng=2), ref)


def test_graph_and_kg_calls_take_tensors_and_zero_d_counts():
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    n = edge_index.max() + 1  # a 0-d tensor, as PyG code writes it
    a = negsamp.negative_edges(edge_index, n, torch.tensor(5), rng=3)
    b = negsamp.negative_edges(edge_index.numpy(), 4, 5, rng=3)
    np.testing.assert_array_equal(a, b)
    triples = torch.tensor([[0, 0, 1], [1, 0, 2]])
    np.testing.assert_array_equal(
        negsamp.corrupt_triples(triples, torch.tensor(5), np.int64(3), rng=4),
        negsamp.corrupt_triples(triples.numpy(), 5, 3, rng=4))


@pytest.mark.parametrize("layout", ["column", "tensor", "list", "csr"])
def test_hard_negatives_positives_layouts(layout):
    gen = np.random.default_rng(0)
    q = gen.normal(size=(6, 8)).astype(np.float32)
    c = gen.normal(size=(40, 8)).astype(np.float32)
    pos = np.array([3, 7, 7, 0, 39, 12])
    ref = negsamp.hard_negatives(q, c, 5, exclude=[[p] for p in pos])
    given = {
        "column": pos[:, None],
        "tensor": torch.from_numpy(pos[:, None]),
        "list": pos.tolist(),
        "csr": torch.from_numpy(np.eye(40, dtype=np.float32)[pos]).to_sparse_csr(),
    }[layout]
    out = negsamp.hard_negatives(torch.from_numpy(q), torch.from_numpy(c), 5, exclude=given)
    for got, want in zip(out if isinstance(out, tuple) else (out,),
                         ref if isinstance(ref, tuple) else (ref,)):
        np.testing.assert_array_equal(got, want)


def test_flat_id_lists_and_2d_arrays_are_one_row_per_entry():
    a = negsamp.NegativeSampler(10, positives=[4, 5, 6]).sample([0, 1, 2], 4, rng=0)
    b = negsamp.NegativeSampler(10, positives=[[4], [5], [6]]).sample([0, 1, 2], 4, rng=0)
    np.testing.assert_array_equal(a, b)
    c = negsamp.NegativeSampler(10, positives=np.array([[4, 1], [5, 2], [6, 3]])).sample(
        [0, 1, 2], 4, rng=0)
    assert not np.isin(c[0], [4, 1]).any() and not np.isin(c[2], [6, 3]).any()


@pytest.mark.parametrize("value, match", [
    (torch.tensor(3.0), r"k must be an int, got an array of shape \(\) and dtype float32"),
    (torch.tensor(True), r"k must be an int, got an array of shape \(\) and dtype bool"),
    (torch.tensor([3]), r"k must be an int, got an array of shape \(1,\) and dtype int64"),
    (np.array(2.5), r"k must be an int, got an array of shape \(\) and dtype float64"),
])
def test_counts_that_are_not_integers_are_a_clear_error(value, match):
    with pytest.raises(TypeError, match=match):
        negsamp.NegativeSampler(10).sample([0], value)


def test_hard_negatives_k_above_the_candidates_pads():
    gen = np.random.default_rng(3)
    q = gen.normal(size=(4, 6)).astype(np.float32)
    c = gen.normal(size=(5, 6)).astype(np.float32)
    ids, scores = negsamp.hard_negatives(q, c, 8, exclude=np.array([[0], [1], [2], [3]]))
    assert ids.shape == scores.shape == (4, 8)
    ref_ids, ref_scores = negsamp.hard_negatives(q, c, 4, exclude=np.array([[0], [1], [2], [3]]))
    np.testing.assert_array_equal(ids[:, :4], ref_ids)
    np.testing.assert_array_equal(scores[:, :4], ref_scores)
    assert (ids[:, 4:] == -1).all() and np.isnan(scores[:, 4:]).all()

"""negsamp.integrations.pyg against the real PyTorch Geometric.

PyG's own assertions for its negative sampling functions (test/utils/
test_negative_sampling.py in PyG, re-stated here), then conventions compared
with PyG's functions on the same inputs, exact counts, the law, and seeding
under torch.manual_seed.  CI's integration stage sets
NEGSAMP_REQUIRE_INTEGRATIONS=1, so a missing library fails there instead of
skipping."""
import os

import numpy as np
import pytest

from _stats import chisquare_pvalue

if os.environ.get("NEGSAMP_REQUIRE_INTEGRATIONS"):
    import torch
    import torch_geometric.utils as pyg_utils
else:
    torch = pytest.importorskip("torch")
    pyg_utils = pytest.importorskip("torch_geometric.utils")

from negsamp.integrations import pyg  # noqa: E402


def is_negative(edge_index, neg_edge_index, size, bipartite):
    adj, neg_adj = adjacency(edge_index, size), adjacency(neg_edge_index, size)
    if not bipartite:
        arange = torch.arange(size[0])
        assert neg_adj[arange, arange].sum() == 0
    return (adj & neg_adj).sum() == 0


def adjacency(edge_index, size):
    adj = torch.zeros(size, dtype=torch.bool)
    adj[edge_index[0], edge_index[1]] = True
    return adj


def assert_disjoint_and_distinct(edge_index, neg, size):
    """No negative is an edge, and the negatives are distinct pairs."""
    adj, neg_adj = adjacency(edge_index, size), adjacency(neg, size)
    assert (adj & neg_adj).sum() == 0
    assert (adj | neg_adj).sum() == edge_index.size(1) + neg.size(1)
    return neg_adj


def distinct_columns(pairs):
    cols = {tuple(c) for c in pairs.t().tolist()}
    return len(cols) == pairs.size(1)


# -- PyG's own assertions ---------------------------------------------------

def test_pyg_negative_sampling_assertions():
    edge_index = torch.as_tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
    for kwargs in ({}, {"method": "dense"}):
        neg = pyg.negative_sampling(edge_index, **kwargs)
        assert neg.size(1) == edge_index.size(1)
        assert is_negative(edge_index, neg, (4, 4), bipartite=False)
    neg = pyg.negative_sampling(edge_index, num_neg_samples=2)
    assert neg.size(1) == 2
    assert is_negative(edge_index, neg, (4, 4), bipartite=False)
    edge_index = pyg_utils.to_undirected(edge_index)
    neg = pyg.negative_sampling(edge_index, force_undirected=True)
    assert neg.size(1) == edge_index.size(1) - 1
    assert pyg_utils.is_undirected(neg)
    assert is_negative(edge_index, neg, (4, 4), bipartite=False)


def test_pyg_bipartite_negative_sampling_assertions():
    edge_index = torch.as_tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
    neg = pyg.negative_sampling(edge_index, num_nodes=(3, 4))
    assert neg.size(1) == edge_index.size(1)
    assert is_negative(edge_index, neg, (3, 4), bipartite=True)
    neg = pyg.negative_sampling(edge_index, num_nodes=(3, 4), num_neg_samples=2)
    assert neg.size(1) == 2
    assert is_negative(edge_index, neg, (3, 4), bipartite=True)


def test_pyg_batched_negative_sampling_assertions():
    edge_index = torch.as_tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
    edge_index = torch.cat([edge_index, edge_index + 4], dim=1)
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    neg = pyg.batched_negative_sampling(edge_index, batch)
    # PyG asserts <=; exact: every graph has 12 - 4 + 1 >= 4 non-edges.
    assert neg.size(1) == edge_index.size(1)
    neg_adj = assert_disjoint_and_distinct(edge_index, neg, (8, 8))
    assert neg_adj[:4, 4:].sum() == 0
    assert neg_adj[4:, :4].sum() == 0


def test_pyg_bipartite_batched_negative_sampling_assertions():
    edge_index1 = torch.as_tensor([[0, 0, 1, 1], [0, 1, 2, 3]])
    edge_index2 = edge_index1 + torch.tensor([[2], [4]])
    edge_index3 = edge_index2 + torch.tensor([[2], [4]])
    edge_index = torch.cat([edge_index1, edge_index2, edge_index3], dim=1)
    src_batch = torch.tensor([0, 0, 1, 1, 2, 2])
    dst_batch = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    neg = pyg.batched_negative_sampling(edge_index, (src_batch, dst_batch))
    assert neg.size(1) == edge_index.size(1)
    assert_disjoint_and_distinct(edge_index, neg, (6, 12))
    # Never across graphs: each pair's source and destination share a graph.
    assert torch.equal(src_batch[neg[0]], dst_batch[neg[1]])


def test_pyg_structured_negative_sampling_assertions():
    edge_index = torch.as_tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
    i, j, k = pyg.structured_negative_sampling(edge_index)
    assert i.size(0) == j.size(0) == k.size(0) == edge_index.size(1)
    adj = torch.zeros(4, 4, dtype=torch.bool)
    adj[i, j] = 1
    neg_adj = torch.zeros(4, 4, dtype=torch.bool)
    neg_adj[i, k] = 1
    assert (adj & neg_adj).sum() == 0
    edge_index = torch.LongTensor([[0, 0, 1, 1, 2], [1, 2, 0, 2, 1]])
    i, j, k = pyg.structured_negative_sampling(edge_index, num_nodes=4,
                                               contains_neg_self_loops=False)
    assert not pyg_utils.contains_self_loops(torch.vstack([i, k]))


def test_pyg_structured_negative_sampling_feasible_assertions():
    edge_index = torch.LongTensor([[0, 0, 1, 1, 2, 2, 2], [1, 2, 0, 2, 0, 1, 1]])
    assert not pyg.structured_negative_sampling_feasible(edge_index, 3, False)
    assert pyg.structured_negative_sampling_feasible(edge_index, 3, True)
    assert pyg.structured_negative_sampling_feasible(edge_index, 4, False)


# -- the same conventions as PyG on the same inputs -------------------------

def random_graph(n, e, seed, bipartite=None):
    g = torch.Generator().manual_seed(seed)
    rows = torch.randint(n, (e,), generator=g)
    cols = torch.randint(bipartite or n, (e,), generator=g)
    return torch.stack([rows, cols])


@pytest.mark.parametrize("case", [
    dict(), dict(num_neg_samples=37), dict(num_neg_samples=0.5),
    dict(force_undirected=True), dict(num_neg_samples=41, force_undirected=True),
    dict(num_nodes=(60, 25)), dict(num_nodes=(60, 25), force_undirected=True),
    dict(num_nodes=torch.tensor(80)),
])
def test_shape_dtype_and_validity_match_pyg(case):
    bipartite = 25 if isinstance(case.get("num_nodes"), tuple) else None
    edge_index = random_graph(60, 300, 1, bipartite)
    if case.get("force_undirected") and not bipartite:
        edge_index = pyg_utils.to_undirected(edge_index)
    torch.manual_seed(3)
    # PyG itself needs a Python int (a 0-d tensor breaks its bipartite test).
    plain = {k: (int(v) if torch.is_tensor(v) else v) for k, v in case.items()}
    theirs = pyg_utils.negative_sampling(edge_index, **plain)
    ours = pyg.negative_sampling(edge_index, **case)
    assert ours.dtype == theirs.dtype == torch.long
    assert ours.device == edge_index.device
    # PyG may come up short; on this sparse graph it does not, so the
    # shapes agree exactly.
    assert ours.shape == theirs.shape
    n = case.get("num_nodes", 60)
    size = tuple(n) if isinstance(n, tuple) else (int(n), int(n))
    assert is_negative(edge_index, ours, size, bipartite=bool(bipartite))
    if case.get("force_undirected") and not bipartite:
        assert pyg_utils.is_undirected(ours)
        half = ours[:, : ours.size(1) // 2]
        assert bool((half[0] < half[1]).all()) and distinct_columns(half)
    else:
        assert distinct_columns(ours)


def test_force_undirected_never_returns_a_reversed_edge():
    """PyG counts an undirected edge only in its u < v direction, so an edge
    given as (v, u) alone can come back as a negative (u, v); here never."""
    edge_index = torch.tensor([[3, 2, 1], [0, 0, 0]])  # only v > u stored
    torch.manual_seed(0)
    for _ in range(50):
        neg = pyg.negative_sampling(edge_index, num_nodes=4, num_neg_samples=6,
                                    force_undirected=True)
        assert neg.size(1) == 6  # the 3 non-edges {1,2},{1,3},{2,3}, both ways
        pairs = {tuple(p) for p in neg.t().tolist()}
        assert pairs == {(1, 2), (2, 1), (1, 3), (3, 1), (2, 3), (3, 2)}


def test_near_saturation_returns_every_non_edge_at_random():
    """With fewer non-edges than asked, the output is all of them (PyG
    returns the lowest-numbered ones, or fewer), in random order."""
    n = 30
    full = torch.cartesian_prod(torch.arange(n), torch.arange(n)).t()
    keep = torch.ones(full.size(1), dtype=torch.bool)
    missing = torch.tensor([5, 77, 301, 642, 898])  # no self loop
    keep[missing] = False
    edge_index = full[:, keep]
    expected = {tuple(c) for c in full[:, missing].t().tolist()}
    torch.manual_seed(0)
    firsts = set()
    for _ in range(40):
        neg = pyg.negative_sampling(edge_index, num_nodes=n, num_neg_samples=10)
        assert {tuple(c) for c in neg.t().tolist()} == expected
        assert neg.size(1) == 5
        firsts.add(tuple(neg[:, 0].tolist()))
    assert len(firsts) == 5  # every non-edge comes first some time


def test_law_is_uniform_over_non_edges():
    edge_index = torch.tensor([[0, 0, 1, 2, 3], [1, 2, 2, 3, 0]])
    n = 5
    cands = [(u, v) for u in range(n) for v in range(n) if u != v
             and (u, v) not in {tuple(c) for c in edge_index.t().tolist()}]
    index = {c: i for i, c in enumerate(cands)}
    torch.manual_seed(11)
    counts = np.zeros(len(cands), dtype=np.int64)
    for _ in range(3000):
        neg = pyg.negative_sampling(edge_index, num_nodes=n, num_neg_samples=2)
        for c in neg.t().tolist():
            counts[index[tuple(c)]] += 1
    assert chisquare_pvalue(counts, np.ones(len(cands))) > 1e-4


def test_structured_law_is_uniform_over_non_neighbours():
    edge_index = torch.tensor([[0, 0, 1], [1, 2, 0]])
    torch.manual_seed(5)
    ks = []
    for _ in range(2000):
        i, j, k = pyg.structured_negative_sampling(edge_index, num_nodes=6,
                                                   contains_neg_self_loops=False)
        ks.append(k.numpy())
    ks = np.stack(ks)
    counts = np.bincount(ks[:, 0], minlength=6)  # node 0: not 0, 1, 2
    assert counts[[0, 1, 2]].sum() == 0
    assert chisquare_pvalue(counts[3:], np.ones(3)) > 1e-4
    counts = np.bincount(ks[:, 2], minlength=6)  # node 1: not 0, 1
    assert counts[[0, 1]].sum() == 0
    assert chisquare_pvalue(counts[2:], np.ones(4)) > 1e-4


def test_structured_saturated_node_is_an_error_not_a_hang():
    edge_index = torch.tensor([[0, 0, 0], [0, 1, 2]])
    with pytest.raises(ValueError, match=r"source node 0 \(edge 0\) has 0 non-neighbours"):
        pyg.structured_negative_sampling(edge_index, num_nodes=3)


def test_torch_manual_seed_reproduces_and_advances():
    edge_index = random_graph(200, 1000, 2)
    torch.manual_seed(7)
    a = pyg.negative_sampling(edge_index)
    b = pyg.negative_sampling(edge_index)
    torch.manual_seed(7)
    c = pyg.negative_sampling(edge_index)
    assert torch.equal(a, c) and not torch.equal(a, b)
    torch.manual_seed(7)
    s1 = pyg.structured_negative_sampling(edge_index)[2]
    torch.manual_seed(7)
    assert torch.equal(s1, pyg.structured_negative_sampling(edge_index)[2])
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    assert torch.equal(pyg.negative_sampling(edge_index, rng=g1),
                       pyg.negative_sampling(edge_index, rng=g2))
    assert torch.equal(pyg.negative_sampling(edge_index, rng=5),
                       pyg.negative_sampling(edge_index, rng=5))


def test_thread_count_does_not_change_the_output():
    edge_index = random_graph(5000, 40000, 4)
    outs = [pyg.negative_sampling(edge_index, num_neg_samples=30000, rng=1, n_threads=t)
            for t in (1, 2)]
    assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize("call, match", [
    (lambda ei: pyg.negative_sampling(ei, method="fast"), r'method must be "sparse" or "dense"'),
    (lambda ei: pyg.negative_sampling(ei, num_neg_samples=-1), r"num_neg_samples must be >= 0"),
    (lambda ei: pyg.negative_sampling(ei, num_neg_samples=float("nan")), r"ratio must be finite"),
    (lambda ei: pyg.negative_sampling(ei, num_nodes=torch.ones(2, dtype=torch.long)),
     r"num_nodes must be an int, got an array of shape \(2,\)"),
    (lambda ei: pyg.negative_sampling(ei[0]), r"edge_index must have shape \(2, E\)"),
    (lambda ei: pyg.negative_sampling(ei.float()), r"edge_index must have an integer dtype"),
    (lambda ei: pyg.negative_sampling(ei, num_nodes=2), r"edge_index must hold node ids in \[0, 2\)"),
])
def test_bad_input_is_a_clear_error(call, match):
    edge_index = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
    before = edge_index.clone()
    with pytest.raises((ValueError, TypeError), match=match):
        call(edge_index)
    assert torch.equal(edge_index, before)


def test_empty_graphs():
    empty = torch.zeros((2, 0), dtype=torch.long)
    assert pyg.negative_sampling(empty).shape == (2, 0)
    out = pyg.negative_sampling(empty, num_nodes=3, num_neg_samples=4)
    assert out.shape == (2, 4) and distinct_columns(out)
    i, j, k = pyg.structured_negative_sampling(empty, num_nodes=3)
    assert k.shape == (0,)


def test_gae_link_prediction_example_learns():
    import runpy
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "pyg_gae.py"
    before, after = runpy.run_path(str(path), run_name="example")["main"](epochs=60)
    assert after > 0.75 and after > before + 0.1

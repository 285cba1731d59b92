"""Link prediction with a graph auto-encoder (PyTorch Geometric), negatives
from negsamp.

A GCN encoder (PyG's ``GAE``) learns node embeddings on a planted-partition
graph made here (no download): nodes in 8 communities, edges mostly inside
them.  Each step scores the training edges against as many non-edges drawn
by ``negsamp.integrations.pyg.negative_sampling`` (exact: never an edge,
never fewer than asked, seeded by ``torch.manual_seed``).  The held-out
edges are then ranked against held-out non-edges: the AUC starts near 0.5
and ends well above it.

Run: ``python examples/pyg_gae.py`` (needs ``pip install 'negsamp[pyg]'``).
"""
import numpy as np
import torch
from torch_geometric.nn import GAE, GCNConv
from torch_geometric.utils import to_undirected

from negsamp.integrations.pyg import negative_sampling


def planted_partition(n_nodes=600, n_blocks=8, p_in=0.08, p_out=0.002, seed=0):
    rng = np.random.default_rng(seed)
    block = rng.integers(0, n_blocks, n_nodes)
    u, v = np.triu_indices(n_nodes, 1)
    p = np.where(block[u] == block[v], p_in, p_out)
    keep = rng.random(u.shape[0]) < p
    edges = torch.from_numpy(np.stack([u[keep], v[keep]]))
    features = torch.from_numpy(np.eye(n_blocks)[block] + rng.normal(0, 1.0, (n_nodes, n_blocks)))
    return edges, features.float()


class Encoder(torch.nn.Module):
    def __init__(self, n_in, n_hidden=32, n_out=16):
        super().__init__()
        self.conv1 = GCNConv(n_in, n_hidden)
        self.conv2 = GCNConv(n_hidden, n_out)

    def forward(self, x, edge_index):
        return self.conv2(self.conv1(x, edge_index).relu(), edge_index)


def auc(model, z, pos, neg):
    with torch.no_grad():
        scores = torch.cat([model.decode(z, pos), model.decode(z, neg)]).numpy()
    labels = np.r_[np.ones(pos.size(1)), np.zeros(neg.size(1))]
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    n_pos, n_neg = pos.size(1), neg.size(1)
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main(epochs=60, seed=0):
    torch.manual_seed(seed)
    edges, x = planted_partition(seed=seed)
    n = x.size(0)
    perm = torch.randperm(edges.size(1))
    n_test = edges.size(1) // 10
    test_pos, train = edges[:, perm[:n_test]], edges[:, perm[n_test:]]
    train_index = to_undirected(train)
    # Held-out negatives: non-edges of the whole graph.
    test_neg = negative_sampling(to_undirected(edges), num_nodes=n, num_neg_samples=n_test)
    model = GAE(Encoder(x.size(1)))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.eval()
    before = auc(model, model.encode(x, train_index), test_pos, test_neg)
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        z = model.encode(x, train_index)
        neg = negative_sampling(train_index, num_nodes=n, num_neg_samples=train.size(1))
        loss = model.recon_loss(z, train, neg)
        loss.backward()
        opt.step()
    model.eval()
    after = auc(model, model.encode(x, train_index), test_pos, test_neg)
    return before, after


if __name__ == "__main__":
    before, after = main()
    print(f"held-out AUC: {before:.3f} before training, {after:.3f} after")

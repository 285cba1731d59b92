"""A library that uses every public negsamp function, type-checked with
``mypy --strict`` in CI (it is not a test module: pytest does not collect it).
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

import negsamp


def noise_words(counts: npt.NDArray[np.int64], batch: int, k: int, seed: int) -> npt.NDArray[np.int64]:
    table: negsamp.AliasTable = negsamp.AliasTable.from_counts(counts, power=0.75)
    same: negsamp.AliasTable = negsamp.AliasTable.from_bytes(table.to_bytes())
    assert same == table and len(table) == counts.shape[0]
    probs: npt.NDArray[np.float64] = table.probabilities
    logq: npt.NDArray[np.float64] = table.log_prob(np.arange(3))
    assert probs.shape[0] >= logq.shape[0]
    rng: np.random.Generator = negsamp.worker_rng(seed)
    children: list[np.random.Generator] = negsamp.spawn(seed, 2)
    out: npt.NDArray[np.int64] = table.sample((batch, k), rng=rng, n_threads=1)
    small: npt.NDArray[np.int32] = negsamp.AliasTable([1.0, 2.0]).sample(4, children[0], dtype=np.int32)
    assert small.shape == (4,)
    keyed: npt.NDArray[np.int64] = table.sample((batch, k), rng=seed, keys=np.arange(batch))
    assert keyed.shape == out.shape
    negsamp.show_config()
    version: str = negsamp.__version__
    assert version
    return out


def recommender_negatives(history: list[npt.NDArray[np.int64]], n_items: int,
                          users: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    sampler = negsamp.NegativeSampler(n_items, positives=history)
    weighted = negsamp.NegativeSampler(weights=np.ones(n_items), power=0.75, positives=history)
    neg = sampler.sample(users, 4, rng=0, replace=False, n_threads=1)
    both = weighted.sample(users, 4, rng=np.random.default_rng(1), return_log_q=True)
    assert isinstance(neg, np.ndarray) and isinstance(both, tuple)
    keyed = sampler.sample(users, 4, rng=0, keys=np.arange(users.shape[0]), n_threads=1)
    assert isinstance(keyed, np.ndarray)
    return neg


def graph_negatives(triples: npt.NDArray[np.int64], edges: npt.NDArray[np.int64]) -> int:
    corrupted: npt.NDArray[np.int64] = negsamp.corrupt_triples(
        triples, 100, 3, mode="bernoulli", known=triples, rng=0, n_threads=1,
        keys=np.arange(triples.shape[0]))
    pairs: npt.NDArray[np.int64] = negsamp.negative_edges(
        edges, 50, 10, method="global", undirected=True, rng=np.random.SeedSequence(1))
    per_edge: npt.NDArray[np.int64] = negsamp.negative_edges(
        edges, 50, 10, method="per_source", rng=0, keys=[0] * edges.shape[1])
    return int(corrupted.shape[0] + pairs.shape[1] + per_edge.shape[0])


def streams(chunks: list[npt.NDArray[np.int64]]) -> tuple[npt.NDArray[np.int64], int]:
    uniform = negsamp.Reservoir(10, rng=0)
    weighted = negsamp.WeightedReservoir(10, rng=1)
    for chunk in chunks:
        uniform.update(chunk)
        weighted.update(chunk, np.ones(chunk.shape[0]))
    merged = uniform.merge(negsamp.Reservoir.from_bytes(uniform.to_bytes()))
    wmerged = weighted.merge(negsamp.WeightedReservoir.from_bytes(weighted.to_bytes()))
    sample: npt.NDArray[np.int64] = merged.sample
    return sample, int(merged.count + wmerged.count)


def mining(queries: npt.NDArray[np.float32], corpus: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    ids, scores = negsamp.hard_negatives(
        queries, corpus, 4, exclude=[np.array([0])] * queries.shape[0], metric="cosine",
        relative_margin=0.1, positives=[np.array([1])] * queries.shape[0],
        temperature=0.5, rng=0, n_threads=1, block_size=1024, progress=False,
        keys=np.arange(queries.shape[0]))
    top_ids, top_scores = negsamp.topk(queries @ corpus.T, 4, largest=False)
    assert scores.shape == top_scores.shape
    out: npt.NDArray[np.int64] = np.concatenate([ids, top_ids])
    return out


def dask_pipeline(k: int) -> object:
    import negsamp.dask as nd

    reservoir = nd.reservoir_sample  # signature checked, not run
    negatives = nd.sample_negatives
    if k < 0:  # type-checked, not run
        nd.sample_negatives(object(), negsamp.NegativeSampler(10), row_column="user", k=k,
                            rng=0, key_column="index")
    return (reservoir, negatives, k)


def model_aware(history: list[npt.NDArray[np.int64]], n_items: int,
                users: npt.NDArray[np.float32], items: npt.NDArray[np.float32]) -> int:
    sampler = negsamp.NegativeSampler(n_items, positives=history)
    rows = np.arange(len(history))
    picked = sampler.sample_scored(rows, 2, pool=8, query_vectors=users, item_vectors=items,
                                   select="softmax", temperature=0.5, rng=0)
    with_q = sampler.sample_scored(rows, 2, pool=8, query_vectors=users, item_vectors=items,
                                   return_log_q=True)
    ids, scores = picked[0], picked[1]
    assert len(with_q) == 3
    buf = np.empty((rows.shape[0], 3), dtype=np.int64)
    into = sampler.sample(rows, 3, rng=0, out=buf)
    assert isinstance(into, np.ndarray)
    cands = negsamp.sampled_candidates(64, "log_uniform", n_items=n_items,
                                       true_labels=[0, 1], remove_true=True, rng=0)
    correction: npt.NDArray[np.float64] = cands.log_q
    hits = negsamp.accidental_hits(rows, cands.candidates, history, n_items=n_items)
    mask = negsamp.accidental_hits(rows, cands.candidates, negsamp.PositiveLists(history, n_items),
                                   format="mask")
    freq = negsamp.FrequencyEstimator("decayed", n_items=n_items, decay=0.9)
    freq.update(ids)
    merged = freq.merge(negsamp.FrequencyEstimator("decayed", n_items=n_items, decay=0.9))
    lq: npt.NDArray[np.float64] = merged.log_q(ids)
    return int(ids.size + scores.size + with_q[2].size + into.size
               + correction.size + lq.size + np.asarray(mask).size + len(hits))


def prepared_kg(known: npt.NDArray[np.int64], pools: list[npt.NDArray[np.int64]],
                queries: npt.NDArray[np.float32], corpus: npt.NDArray[np.float32]) -> int:
    sampler = negsamp.KGSampler(known, 20, len(pools), head_candidates=pools,
                                tail_candidates=pools)
    buf = np.empty((known.shape[0], 4, 3), dtype=np.int64)
    neg: npt.NDArray[np.int64] = sampler.corrupt(known, 4, corrupt=("head", "tail"),
                                                 mode="bernoulli", rng=0,
                                                 keys=np.arange(known.shape[0]), out=buf)
    ids, _ = negsamp.hard_negatives(queries, corpus, 3, precision="exact32")
    return int(neg.size + ids.size)

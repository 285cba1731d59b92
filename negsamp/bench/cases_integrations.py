"""Benchmark cases of whole integration calls, against the library's own
function on the same inputs (skipped when the library is not installed)."""
from __future__ import annotations

import importlib.util
from typing import Any, Callable, Dict, List

import numpy as np

from negsamp.bench import Case


def _installed(*names: str) -> bool:
    return all(importlib.util.find_spec(n) is not None for n in names)


def _st_whole_case(n_queries: int, n_corpus: int, dim: int = 384,
                   num_negatives: int = 3) -> Case:
    """``mine_hard_negatives(dataset, model, corpus=...)`` end to end (encoding
    included) with a ``StaticEmbedding`` model made in memory (no download)
    and a synthetic question/answer set: negsamp's adapter against
    sentence-transformers' own function (its torch path, no faiss)."""
    def make() -> Dict[str, Callable[[], Any]]:
        from datasets import Dataset  # type: ignore[import-not-found, import-untyped, unused-ignore]
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found, import-untyped, unused-ignore]
        from sentence_transformers.sentence_transformer.modules import StaticEmbedding  # type: ignore[import-not-found, import-untyped, unused-ignore]
        from sentence_transformers.util import mine_hard_negatives as theirs  # type: ignore[import-not-found, import-untyped, unused-ignore]
        from tokenizers import Tokenizer, models, pre_tokenizers  # type: ignore[import-not-found, import-untyped, unused-ignore]

        from negsamp.integrations.sentence_transformers import mine_hard_negatives as ours

        rng = np.random.default_rng(0)
        words = np.array([f"w{i}" for i in range(20_000)])
        vocab = {"[UNK]": 0, "[PAD]": 1, **{str(w): i + 2 for i, w in enumerate(words)}}
        tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        weights = rng.standard_normal((len(vocab), dim)).astype(np.float32)
        model = SentenceTransformer(
            modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")
        topics = rng.integers(0, words.shape[0], (2000, 16))

        def texts(n: int, n_topic: int, n_noise: int) -> List[str]:
            t = topics[rng.integers(0, topics.shape[0], n)]
            pick = np.take_along_axis(t, rng.integers(0, 16, (n, n_topic)), axis=1)
            noise = rng.integers(0, words.shape[0], (n, n_noise))
            return [" ".join(row) for row in words[np.concatenate([pick, noise], axis=1)]]

        dataset = Dataset.from_dict({"query": texts(n_queries, 5, 0),
                                     "answer": texts(n_queries, 4, 4)})
        corpus = texts(n_corpus, 3, 5)
        kw: Dict[str, Any] = dict(corpus=corpus, num_negatives=num_negatives,
                                  output_format="triplet", batch_size=1024)
        return {"negsamp": lambda: ours(dataset, model, **kw),
                "baseline": lambda: theirs(dataset, model, verbose=False, **kw)}

    return Case("mine_hard_negatives (whole call)",
                f"queries={n_queries:.0e}, passages={n_corpus:.0e}, dim={dim}, "
                f"num_negatives={num_negatives}, StaticEmbedding", n_queries, make,
                baseline_name="sentence_transformers.util.mine_hard_negatives",
                note="encoding included; ns/item is per query")


def cases(full: bool) -> List[Case]:
    if not _installed("sentence_transformers", "datasets", "torch"):
        return []
    if full:
        return [_st_whole_case(10**4, 10**5)]
    return []

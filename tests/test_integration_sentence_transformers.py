"""negsamp.integrations.sentence_transformers against the real
sentence-transformers: the same datasets as its mine_hard_negatives where
that function finds its negatives, never fewer, exact against a brute-force
ranking, and the "random" strategy's law.  The model is a StaticEmbedding
over a tokenizer made in memory (no download).  CI's integration stage sets
NEGSAMP_REQUIRE_INTEGRATIONS=1, so a missing library fails there."""
import os

import numpy as np
import pytest

from _stats import chisquare_pvalue

if os.environ.get("NEGSAMP_REQUIRE_INTEGRATIONS"):
    import datasets
    import sentence_transformers.util as st_util
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, pre_tokenizers
else:
    datasets = pytest.importorskip("datasets")
    st_util = pytest.importorskip("sentence_transformers.util")
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, pre_tokenizers

from negsamp.integrations.sentence_transformers import mine_hard_negatives  # noqa: E402

WORDS = [f"w{i}" for i in range(300)]


def make_model(dim=32, seed=0):
    vocab = {"[UNK]": 0, "[PAD]": 1}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    weights = np.random.default_rng(seed).normal(size=(len(vocab), dim)).astype(np.float32)
    return SentenceTransformer(modules=[StaticEmbedding(tok, embedding_weights=weights)],
                               device="cpu")


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)

    def text():
        return " ".join(rng.choice(WORDS, 6))

    queries = [text() for _ in range(150)]
    answers = [text() for _ in range(150)]
    # Duplicated queries with a second positive, as real datasets have.
    queries += queries[:10]
    answers += [text() for _ in range(10)]
    dataset = datasets.Dataset.from_dict({"query": queries, "answer": answers})
    corpus = [text() for _ in range(1500)]
    return make_model(), dataset, corpus


def theirs(setup, **kw):
    model, dataset, corpus = setup
    return st_util.mine_hard_negatives(dataset, model, corpus=corpus, verbose=False, **kw)


def ours(setup, **kw):
    model, dataset, corpus = setup
    return mine_hard_negatives(dataset, model, corpus=corpus, **kw)


def assert_same(a, b):
    assert a.column_names == b.column_names
    da, db = a.to_dict(), b.to_dict()
    for name in ("scores", "score"):
        if name in da:
            np.testing.assert_allclose(np.array(da.pop(name), dtype=float),
                                       np.array(db.pop(name), dtype=float), atol=1e-5)
    assert da == db


@pytest.mark.parametrize("kw", [
    dict(), dict(num_negatives=5, range_min=3), dict(output_format="n-tuple"),
    dict(output_format="labeled-pair"), dict(output_format="labeled-list"),
    dict(output_format="triplet", output_scores=True),
    dict(output_format="n-tuple", output_scores=True),
    dict(output_format="labeled-pair", output_scores=True),
    dict(output_format="labeled-list", output_scores=True),
    dict(include_positives=True, num_negatives=4),
    dict(anchor_column_name="query", positive_column_name="answer", batch_size=7),
])
def test_same_dataset_as_sentence_transformers(setup, kw):
    assert_same(theirs(setup, **kw), ours(setup, **kw))


@pytest.mark.parametrize("kw", [
    dict(relative_margin=0.05, num_negatives=4),
    dict(absolute_margin=0.02, num_negatives=3),
    dict(min_score=0.1, num_negatives=3),
    dict(max_score=0.3, num_negatives=6, range_min=2),
])
def test_never_short_where_they_are_and_equal_where_they_find_them(setup, kw):
    a = theirs(setup, output_format="n-tuple", **kw)  # n-tuple: only complete rows
    b = ours(setup, output_format="n-tuple", **kw)
    assert len(b) >= len(a)
    mine = {(q, p): row for q, p, *row in zip(*[b[c] for c in b.column_names])}
    for q, p, *row in zip(*[a[c] for c in a.column_names]):
        assert mine[(q, p)] == row
    # Exact: every query with enough eligible candidates in the whole corpus
    # has its row (checked by brute force below for the counts).
    model, dataset, corpus = setup
    counts = brute_force_counts(model, dataset, corpus, **kw)
    assert len(b) == sum(1 for c in counts if c >= kw["num_negatives"])


def brute_force_counts(model, dataset, corpus, num_negatives, range_min=0, max_score=None,
                       min_score=None, absolute_margin=None, relative_margin=None):
    """Per (query, positive) row, the number of eligible candidates past
    range_min in the whole corpus."""
    texts = list(dict.fromkeys(corpus + list(dataset["answer"])))
    index = {t: i for i, t in enumerate(texts)}
    emb = model.encode_document(texts, normalize_embeddings=True, convert_to_numpy=True)
    queries = list(dict.fromkeys(dataset["query"]))
    q_emb = model.encode_query(queries, normalize_embeddings=True, convert_to_numpy=True)
    positives = {q: [] for q in queries}
    for q, p in zip(dataset["query"], dataset["answer"]):
        if index[p] not in positives[q]:
            positives[q].append(index[p])
    out = []
    for qi, q in enumerate(queries):
        s = emb @ q_emb[qi]
        ok = np.ones(len(texts), dtype=bool)
        ok[positives[q]] = False
        pos = min(float(q_emb[qi] @ emb[p]) for p in positives[q])
        if max_score is not None:
            ok &= s <= max_score
        if min_score is not None:
            ok &= s >= min_score
        if absolute_margin is not None:
            ok &= s <= pos - absolute_margin
        if relative_margin is not None:
            ok &= s <= pos - abs(pos) * relative_margin
        out += [max(int(ok.sum()) - range_min, 0)] * len(positives[q])
    return out


def test_random_strategy_law_is_uniform_over_the_window(setup):
    model, dataset, full = setup
    small = dataset.select(range(1))
    corpus = full[:60]
    window = mine_hard_negatives(small, model, corpus=corpus, num_negatives=8,
                                 output_format="n-tuple")
    top8 = [window[f"negative_{i}"][0] for i in range(1, 9)]
    counts = dict.fromkeys(top8, 0)
    gen = np.random.default_rng(1)
    for _ in range(300):
        ds = mine_hard_negatives(small, model, corpus=corpus, num_negatives=2, range_max=8,
                                 sampling_strategy="random", output_format="n-tuple", seed=gen)
        negs = [ds["negative_1"][0], ds["negative_2"][0]]
        assert len(set(negs)) == 2
        for n_ in negs:
            counts[n_] += 1  # a KeyError would mean a negative outside the window
    assert chisquare_pvalue(np.array(list(counts.values())), np.ones(8)) > 1e-4
    a = mine_hard_negatives(small, model, corpus=corpus, num_negatives=2, range_max=8,
                            sampling_strategy="random", seed=5)
    b = mine_hard_negatives(small, model, corpus=corpus, num_negatives=2, range_max=8,
                            sampling_strategy="random", seed=5)
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("kw, match", [
    (dict(range_min=-1), r"range_min must be non-negative, got range_min=-1"),
    (dict(range_min=5, range_max=5), r"range_min must be smaller than range_max"),
    (dict(num_negatives=6, range_max=4), r"Cannot mine 6 negatives per query"),
    (dict(num_negatives=0), r"num_negatives must be an int >= 1, got 0"),
    (dict(output_format="pairs"), r"output_format must be one of"),
    (dict(sampling_strategy="best"), r'sampling_strategy must be "top" or "random"'),
])
def test_bad_arguments(setup, kw, match):
    with pytest.raises(ValueError, match=match):
        ours(setup, **kw)
    model, _, _ = setup
    with pytest.raises(ValueError, match=r"The dataset is empty"):
        mine_hard_negatives(datasets.Dataset.from_dict({"q": [], "a": []}), model)


def test_retriever_mining_example_runs():
    import runpy
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "st_mining.py"
    stats = runpy.run_path(str(path), run_name="example")["main"]()
    assert stats["ours"] >= stats["theirs"]
    assert stats["short_queries_ours"] <= stats["short_queries_theirs"]

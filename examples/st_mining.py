"""A retriever training set mined with negsamp's sentence-transformers
adapter, next to sentence-transformers' own ``mine_hard_negatives``.

The model is a ``StaticEmbedding`` over a word-level tokenizer made here
(no download), the data a synthetic question/answer set whose answers share
words with their questions.  With NV-Retriever's recommended setting
(``relative_margin=0.05``: keep negatives at least 5% of the positive
score below it), sentence-transformers filters inside a window of
``range_max`` top candidates and comes up short for many queries;
negsamp ranks the whole corpus exactly and finds every query's negatives
whenever the corpus holds them.

Run: ``python examples/st_mining.py`` (needs sentence-transformers and
datasets).
"""
import numpy as np
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import StaticEmbedding
from sentence_transformers.util import mine_hard_negatives as st_mine_hard_negatives
from tokenizers import Tokenizer, models, pre_tokenizers

from negsamp.integrations.sentence_transformers import mine_hard_negatives


def make_data(n_pairs=300, n_corpus=3000, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(500)]
    topics = [rng.choice(words, 12, replace=False) for _ in range(30)]
    questions, answers = [], []
    for _ in range(n_pairs):
        topic = topics[rng.integers(30)]
        questions.append(" ".join(rng.choice(topic, 5)))
        answers.append(" ".join(np.r_[rng.choice(topic, 4), rng.choice(words, 4)]))
    corpus = [" ".join(np.r_[rng.choice(topics[rng.integers(30)], 3), rng.choice(words, 5)])
              for _ in range(n_corpus)]
    return Dataset.from_dict({"question": questions, "answer": answers}), corpus, words


def make_model(words, dim=48, seed=0):
    vocab = {"[UNK]": 0, "[PAD]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    weights = np.random.default_rng(seed).normal(size=(len(vocab), dim)).astype(np.float32)
    return SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)],
                               device="cpu")


def main(num_negatives=5):
    dataset, corpus, words = make_data()
    model = make_model(words)
    kw = dict(corpus=corpus, relative_margin=0.05, num_negatives=num_negatives,
              output_format="n-tuple")
    ours = mine_hard_negatives(dataset, model, **kw)
    theirs = st_mine_hard_negatives(dataset, model, verbose=False, **kw)
    return {"pairs": len(dataset), "ours": len(ours), "theirs": len(theirs),
            "short_queries_ours": len(dataset) - len(ours),
            "short_queries_theirs": len(dataset) - len(theirs)}


if __name__ == "__main__":
    stats = main()
    print(f"{stats['pairs']} (question, answer) pairs; complete 5-negative rows: "
          f"negsamp {stats['ours']}, sentence-transformers {stats['theirs']}")

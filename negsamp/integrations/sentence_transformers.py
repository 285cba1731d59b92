"""sentence-transformers' ``mine_hard_negatives``, exact over the whole corpus.

``mine_hard_negatives(dataset, model, ...)`` takes the parameters and gives
the output formats of ``sentence_transformers.util.mine_hard_negatives``
(``range_min``/``range_max``, ``max_score``/``min_score``,
``absolute_margin``/``relative_margin``, ``num_negatives``,
``sampling_strategy`` "top" or "random", ``include_positives``,
``output_format`` "triplet", "n-tuple", "labeled-pair" or "labeled-list",
``output_scores``, ``batch_size``, the prompts) and returns a
``datasets.Dataset``.  The mining runs on ``negsamp.hard_negatives``:

- exact and over the whole corpus: the negatives are the eligible
  candidates of rank ``range_min`` onwards (eligible: not a positive of the
  query, inside the score bounds and margins), so a query only comes up
  short when the corpus has no more eligible candidates.
  sentence-transformers first keeps the ``range_max + max_positives``
  highest-scoring candidates and filters inside that window, so it returns
  fewer (or none) for queries whose window is used up by positives,
  near-duplicates or the margins; where it does find them, both give the
  same negatives (up to ties of equal scores, which negsamp breaks by the
  lower corpus index);
- memory bounded by tiles of the corpus (no ``queries x corpus`` score
  matrix);
- ``sampling_strategy="random"`` draws ``num_negatives`` uniformly among
  the eligible candidates of ranks ``[range_min, range_max)``, from
  ``seed`` (SPEC 7), re-sorted by score as sentence-transformers does.

As in sentence-transformers, the corpus is ``corpus`` plus the positives,
de-duplicated by text (so a candidate whose text equals a positive's is
that positive, and is excluded), queries are de-duplicated and a query's
positives are all the positives of its copies; the margins use the lowest
of a query's positive scores.  Embeddings are normalised
(``normalize_embeddings=True``), so "cosine" and "dot" models score alike.
"""
from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from negsamp._rng import RNGLike, as_generator
from negsamp.mining import hard_negatives

__all__ = ["mine_hard_negatives"]

_FORMATS = ("triplet", "n-tuple", "labeled-pair", "labeled-list")


def mine_hard_negatives(
    dataset: Any,
    model: Any,
    anchor_column_name: Optional[str] = None,
    positive_column_name: Optional[str] = None,
    corpus: Optional[Sequence[str]] = None,
    range_min: int = 0,
    range_max: Optional[int] = None,
    max_score: Optional[float] = None,
    min_score: Optional[float] = None,
    absolute_margin: Optional[float] = None,
    relative_margin: Optional[float] = None,
    num_negatives: int = 3,
    sampling_strategy: str = "top",
    query_prompt_name: Optional[str] = None,
    query_prompt: Optional[str] = None,
    corpus_prompt_name: Optional[str] = None,
    corpus_prompt: Optional[str] = None,
    include_positives: bool = False,
    output_format: str = "triplet",
    output_scores: bool = False,
    batch_size: int = 32,
    *,
    seed: RNGLike = None,
    n_threads: Optional[int] = None,
    block_size: Optional[int] = None,
) -> Any:
    """Adds hard negatives to a dataset of (anchor, positive) pairs; see the
    module docstring for how it relates to sentence-transformers'.

    Returns a ``datasets.Dataset`` in ``output_format`` (with
    ``output_scores``, the scores columns of sentence-transformers).
    Raises ValueError for an empty dataset, a bad window
    (``range_min < 0``, ``range_min >= range_max``, ``num_negatives`` above
    the window) or an unknown format or strategy.
    """
    datasets = importlib.import_module("datasets")
    if len(dataset) == 0:
        raise ValueError("The dataset is empty: nothing to mine negatives for")
    columns = list(dataset.column_names)
    if not anchor_column_name or anchor_column_name not in columns:
        anchor_column_name = columns[0]
    if not positive_column_name or positive_column_name not in columns:
        if len(columns) < 2:
            raise ValueError("dataset must have at least two columns (anchor, positive)")
        positive_column_name = columns[1]
    if output_format not in _FORMATS:
        raise ValueError(f"output_format must be one of {_FORMATS}, got {output_format!r}")
    if sampling_strategy not in ("top", "random"):
        raise ValueError(f'sampling_strategy must be "top" or "random", got {sampling_strategy!r}')
    if include_positives:
        output_format = "n-tuple"  # as sentence-transformers: keeps the ranking order
    if not isinstance(num_negatives, int) or isinstance(num_negatives, bool) or num_negatives < 1:
        raise ValueError(f"num_negatives must be an int >= 1, got {num_negatives!r}")

    queries_all = list(dataset[anchor_column_name])
    positives_all = list(dataset[positive_column_name])
    texts = list(dict.fromkeys(list(corpus or []) + positives_all))
    text_index = {t: i for i, t in enumerate(texts)}
    queries = list(dict.fromkeys(queries_all))
    query_index = {q: i for i, q in enumerate(queries)}
    positive_ids: List[List[int]] = [[] for _ in queries]
    for q, p in zip(queries_all, positives_all):
        row = positive_ids[query_index[q]]
        if text_index[p] not in row:
            row.append(text_index[p])
    max_positives = max(len(r) for r in positive_ids)

    if range_max is None:
        margins = (absolute_margin is not None or relative_margin is not None
                   or max_score is not None)
        range_max = range_min + num_negatives * (10 if margins else 1) + max_positives
    if range_min < 0:
        raise ValueError(f"range_min must be non-negative, got range_min={range_min}")
    if range_min >= range_max:
        raise ValueError(f"range_min must be smaller than range_max, got range_min={range_min} "
                         f"and range_max={range_max}")
    if num_negatives > range_max - range_min:
        raise ValueError(f"Cannot mine {num_negatives} negatives per query: only "
                         f"{range_max - range_min} candidates remain after skipping the first "
                         f"range_min={range_min} of range_max={range_max}")

    corpus_emb = np.asarray(model.encode_document(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False, prompt_name=corpus_prompt_name, prompt=corpus_prompt))
    query_emb = np.asarray(model.encode_query(
        queries, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False, prompt_name=query_prompt_name, prompt=query_prompt))

    # Positive scores, per (query, positive) in dataset order of the queries.
    pair_q = np.repeat(np.arange(len(queries)), [len(r) for r in positive_ids])
    pair_p = np.fromiter((p for r in positive_ids for p in r), dtype=np.int64,
                         count=pair_q.shape[0])
    pair_scores = np.einsum("ij,ij->i", query_emb[pair_q], corpus_emb[pair_p])
    lowest = np.full(len(queries), np.inf)
    np.minimum.at(lowest, pair_q, pair_scores.astype(np.float64))

    margins_given = absolute_margin is not None or relative_margin is not None
    top = num_negatives if sampling_strategy == "top" else range_max - range_min
    ids, scores = hard_negatives(
        query_emb, corpus_emb, top, exclude=None if include_positives else positive_ids,
        positive_scores=lowest if margins_given else None, max_score=max_score,
        min_score=min_score, absolute_margin=absolute_margin, relative_margin=relative_margin,
        skip_top=range_min, n_threads=n_threads, block_size=block_size)
    if sampling_strategy == "random":
        ids, scores = _sample_rows(ids, scores, num_negatives, as_generator(seed))
    found = ids >= 0

    data = _format(output_format, output_scores, anchor_column_name, positive_column_name,
                   queries, texts, positive_ids, pair_scores, ids, scores, found)
    return datasets.Dataset.from_dict(data)


def _sample_rows(ids: np.ndarray, scores: np.ndarray, count: int,
                 gen: np.random.Generator) -> Any:
    """``count`` entries of each row drawn uniformly without replacement
    among its found ones (ids >= 0), best score first; -1 padding when a
    row has fewer."""
    keys = gen.random(ids.shape)
    keys[ids < 0] = np.inf  # padding is never drawn
    pick = np.argsort(keys, axis=1, kind="stable")[:, :count]
    rows = np.arange(ids.shape[0])[:, None]
    ids, scores = ids[rows, pick], scores[rows, pick]
    order = np.lexsort((ids, -np.nan_to_num(scores, nan=-np.inf)), axis=1)
    ids, scores = ids[rows, order], scores[rows, order]
    # Padding last (NaN scores sort as -inf above).
    return ids, scores


def _format(output_format: str, output_scores: bool, anchor: str, positive: str,
            queries: List[str], texts: List[str], positive_ids: List[List[int]],
            pair_scores: np.ndarray, ids: np.ndarray, scores: np.ndarray,
            found: np.ndarray) -> Dict[str, List[Any]]:
    """The columns of sentence-transformers' output formats."""
    data: Dict[str, List[Any]] = {anchor: [], positive: []}
    pair = 0
    if output_format == "triplet":
        data["negative"] = []
        if output_scores:
            data["scores"] = []
        for q, row in enumerate(positive_ids):
            for p in row:
                for j in np.flatnonzero(found[q]):
                    data[anchor].append(queries[q])
                    data[positive].append(texts[p])
                    data["negative"].append(texts[int(ids[q, j])])
                    if output_scores:
                        data["scores"].append([float(pair_scores[pair]), float(scores[q, j])])
                pair += 1
    elif output_format == "n-tuple":
        n = ids.shape[1]
        for i in range(1, n + 1):
            data[f"negative_{i}"] = []
        if output_scores:
            data["scores"] = []
        for q, row in enumerate(positive_ids):
            for p in row:
                if found[q].all():  # rows with every negative, as sentence-transformers
                    data[anchor].append(queries[q])
                    data[positive].append(texts[p])
                    for i in range(n):
                        data[f"negative_{i + 1}"].append(texts[int(ids[q, i])])
                    if output_scores:
                        data["scores"].append([float(pair_scores[pair])]
                                              + [float(s) for s in scores[q]])
                pair += 1
    elif output_format == "labeled-pair":
        label = "score" if output_scores else "label"
        data[label] = []
        for q, row in enumerate(positive_ids):
            for p in row:
                data[anchor].append(queries[q])
                data[positive].append(texts[p])
                data[label].append(float(pair_scores[pair]) if output_scores else 1)
                pair += 1
            for j in np.flatnonzero(found[q]):
                data[anchor].append(queries[q])
                data[positive].append(texts[int(ids[q, j])])
                data[label].append(float(scores[q, j]) if output_scores else 0)
    else:  # labeled-list
        label = "scores" if output_scores else "labels"
        data[label] = []
        for q, row in enumerate(positive_ids):
            keep = np.flatnonzero(found[q])
            for p in row:
                if keep.size:
                    data[anchor].append(queries[q])
                    data[positive].append([texts[p]] + [texts[int(ids[q, j])] for j in keep])
                    data[label].append(
                        [float(pair_scores[pair])] + [float(scores[q, j]) for j in keep]
                        if output_scores else [1] + [0] * int(keep.size))
                pair += 1
    return data

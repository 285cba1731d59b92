"""A PyKEEN negative sampler whose filter loses nothing.

``ExactNegativeSampler`` is a ``pykeen.sampling.NegativeSampler``: pass it as
``pipeline(..., negative_sampler=ExactNegativeSampler)``, or build it with
the training triples.  It draws, for every positive triple,
``num_negs_per_pos`` corruptions with ``negsamp.KGSampler``:

- ``filtered=True`` (default) is exact at draw time: no negative is a
  training triple, and none is dropped (PyKEEN's filterers mask the
  negatives that are known, so a batch loses them; its Bloom filter can
  also drop some that are not).  ``sample`` returns the mask ``None``.
- ``corruption_scheme`` is PyKEEN's: the sides ("head", "relation",
  "tail") a corruption may replace (default head and tail); each
  corruption picks its side uniformly among them (PyKEEN's basic sampler
  splits the batch into equal parts instead), or, with
  ``bernoulli=True``, the head with probability tph / (tph + hpt) of the
  relation (PyKEEN's ``BernoulliNegativeSampler``, statistics of the
  training triples).
- A side with no valid replacement for a triple is never picked.
- Randomness comes from torch's default generator, so ``torch.manual_seed``
  (PyKEEN's ``random_seed``) reproduces a run.

Example
-------
>>> from pykeen.pipeline import pipeline
>>> from negsamp.integrations.pykeen import ExactNegativeSampler
>>> result = pipeline(dataset="Nations", model="TransE",
...                   negative_sampler=ExactNegativeSampler,
...                   training_kwargs=dict(num_epochs=5))  # doctest: +SKIP
"""
from __future__ import annotations

import importlib
from typing import Any, Collection, Optional

import numpy as np

from negsamp._torch import as_numpy, from_numpy, seed_from_torch
from negsamp.kg import KGSampler

# Imported by name: the package type-checks where PyKEEN is not installed.
_sampling: Any = importlib.import_module("pykeen.sampling")

__all__ = ["ExactNegativeSampler"]


class ExactNegativeSampler(_sampling.NegativeSampler):  # type: ignore[misc]
    """PyKEEN's negative sampler interface, exact filtered corruption.

    Parameters
    ----------
    mapped_triples : LongTensor, shape (n, 3)
        The training triples (PyKEEN passes them); with ``filtered=True``
        no negative is one of them.
    num_entities, num_relations : int, optional
        Default: the largest id + 1, as PyKEEN.
    num_negs_per_pos : int, optional
        Negatives per positive (default 1).
    filtered : bool
        True (default): negatives are never training triples.  False: only
        the original triple is excluded.
    corruption_scheme : collection of {"head", "relation", "tail"}, optional
        Sides a corruption may replace (default head and tail).
    bernoulli : bool
        Pick head or tail by the relation's tph / (tph + hpt) (needs the
        scheme head and tail).
    head_candidates, tail_candidates : optional
        Type constraints, per relation the entities allowed as its head
        (tail); see ``negsamp.KGSampler``.
    n_threads : int, optional
        Threads of negsamp's kernels (None = all cores).
    """

    def __init__(
        self,
        *,
        mapped_triples: Any,
        num_entities: Optional[int] = None,
        num_relations: Optional[int] = None,
        num_negs_per_pos: Optional[int] = None,
        filtered: bool = True,
        corruption_scheme: Optional[Collection[str]] = None,
        bernoulli: bool = False,
        head_candidates: Any = None,
        tail_candidates: Any = None,
        n_threads: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("filterer", None)  # the exact filter replaces PyKEEN's
        kwargs.pop("filterer_kwargs", None)
        super().__init__(mapped_triples=mapped_triples, num_entities=num_entities,
                         num_relations=num_relations, num_negs_per_pos=num_negs_per_pos,
                         filtered=False, **kwargs)
        self.corruption_scheme = tuple(corruption_scheme or ("head", "tail"))
        self.mode = "bernoulli" if bernoulli else "uniform"
        self.filtered = bool(filtered)
        self.n_threads = n_threads
        triples, _ = as_numpy(mapped_triples)
        self._sampler = KGSampler(np.asarray(triples, dtype=np.int64).reshape(-1, 3),
                                  int(self.num_entities), int(self.num_relations),
                                  filtered=self.filtered, head_candidates=head_candidates,
                                  tail_candidates=tail_candidates, n_threads=n_threads)

    def corrupt_batch(self, positive_batch: Any) -> Any:
        """``(*batch, num_negs_per_pos, 3)`` LongTensor of corruptions, on
        the batch's device."""
        triples, device = as_numpy(positive_batch)
        out = self._sampler.corrupt(triples, int(self.num_negs_per_pos),
                              corrupt=self.corruption_scheme, mode=self.mode,
                              rng=np.random.default_rng(seed_from_torch()),
                              n_threads=self.n_threads)
        return from_numpy(out, device)

    def sample(self, positive_batch: Any) -> Any:
        """(negative batch, None): every negative is valid, none is masked."""
        return self.corrupt_batch(positive_batch), None

"""negsamp.integrations.pykeen against the real PyKEEN: its sampler
interface and conventions, no known triple among the negatives and none
dropped, the law, seeding under torch.manual_seed, and a pipeline run on
the Nations dataset that ships with PyKEEN.  CI's integration stage sets
NEGSAMP_REQUIRE_INTEGRATIONS=1, so a missing library fails there."""
import os

import numpy as np
import pytest

from _stats import chisquare_pvalue

if os.environ.get("NEGSAMP_REQUIRE_INTEGRATIONS"):
    import torch
    import pykeen.sampling as pk_sampling
    from pykeen.datasets import Nations
else:
    torch = pytest.importorskip("torch")
    pk_sampling = pytest.importorskip("pykeen.sampling")
    from pykeen.datasets import Nations

from negsamp.integrations.pykeen import ExactNegativeSampler  # noqa: E402


@pytest.fixture(scope="module")
def nations():
    return Nations()


def known_set(triples):
    return {tuple(t) for t in triples.tolist()}


def test_is_a_pykeen_negative_sampler_with_its_shapes(nations):
    train = nations.training.mapped_triples
    ours = ExactNegativeSampler(mapped_triples=train, num_negs_per_pos=7)
    theirs = pk_sampling.BasicNegativeSampler(mapped_triples=train, num_negs_per_pos=7,
                                              filtered=True)
    assert isinstance(ours, pk_sampling.NegativeSampler)
    assert (ours.num_entities, ours.num_relations) == (theirs.num_entities, theirs.num_relations)
    batch = train[:64]
    neg, mask = ours.sample(batch)
    their_neg, their_mask = theirs.sample(batch)
    assert neg.shape == their_neg.shape == (64, 7, 3)
    assert neg.dtype == their_neg.dtype == torch.long
    assert mask is None and their_mask is not None
    # (*batch, 3) input, as PyKEEN passes it.
    assert ours.corrupt_batch(train[:24].view(4, 6, 3)).shape == (4, 6, 7, 3)


@pytest.mark.parametrize("kwargs, columns", [
    (dict(), (0, 2)),
    (dict(corruption_scheme=("head", "relation", "tail")), (0, 1, 2)),
    (dict(corruption_scheme=("relation",)), (1,)),
    (dict(bernoulli=True), (0, 2)),
])
def test_every_negative_is_valid_and_none_is_dropped(nations, kwargs, columns):
    train = nations.training.mapped_triples
    sampler = ExactNegativeSampler(mapped_triples=train, num_negs_per_pos=16, **kwargs)
    torch.manual_seed(0)
    batch = train[torch.randperm(train.shape[0])[:256]]
    neg, mask = sampler.sample(batch)
    assert mask is None and neg.shape == (256, 16, 3)
    known = known_set(train)
    for pos, rows in zip(batch.tolist(), neg.tolist()):
        for c in rows:
            assert tuple(c) not in known
            changed = [j for j in range(3) if c[j] != pos[j]]
            assert len(changed) == 1 and changed[0] in columns


def test_pykeen_filter_drops_what_this_sampler_keeps(nations):
    """On Nations a third or more of PyKEEN's filtered negatives are masked
    out; the exact sampler returns every one of them valid."""
    train = nations.training.mapped_triples
    theirs = pk_sampling.BasicNegativeSampler(mapped_triples=train, num_negs_per_pos=8,
                                              filtered=True)
    torch.manual_seed(1)
    _, their_mask = theirs.sample(train[:512])
    kept = float(their_mask.float().mean())
    assert kept < 0.9
    ours = ExactNegativeSampler(mapped_triples=train, num_negs_per_pos=8)
    neg, mask = ours.sample(train[:512])
    known = known_set(train)
    assert mask is None
    assert not any(tuple(c) in known for c in neg.view(-1, 3).tolist())


def test_tail_law_is_uniform_over_valid_tails(nations):
    train = nations.training.mapped_triples
    sampler = ExactNegativeSampler(mapped_triples=train, num_negs_per_pos=6000,
                                   corruption_scheme=("tail",))
    h, r, t = train[0].tolist()
    known = known_set(train)
    valid = [x for x in range(nations.num_entities) if x != t and (h, r, x) not in known]
    torch.manual_seed(2)
    neg, _ = sampler.sample(train[:1])
    tails = neg[0, :, 2].numpy()
    counts = np.bincount(tails, minlength=nations.num_entities)
    assert counts[[x for x in range(nations.num_entities) if x not in valid]].sum() == 0
    assert chisquare_pvalue(counts[valid], np.ones(len(valid))) > 1e-4


def test_torch_manual_seed_reproduces(nations):
    train = nations.training.mapped_triples
    sampler = ExactNegativeSampler(mapped_triples=train, num_negs_per_pos=4)
    torch.manual_seed(5)
    a, _ = sampler.sample(train[:100])
    b, _ = sampler.sample(train[:100])
    torch.manual_seed(5)
    c, _ = sampler.sample(train[:100])
    assert torch.equal(a, c) and not torch.equal(a, b)


def test_unfiltered_excludes_only_the_original(nations):
    train = nations.training.mapped_triples
    sampler = ExactNegativeSampler(mapped_triples=train, num_negs_per_pos=50, filtered=False)
    torch.manual_seed(0)
    neg, _ = sampler.sample(train[:200])
    pos = train[:200, None, :].expand_as(neg)
    assert bool(((neg != pos).sum(-1) == 1).all())
    known = known_set(train)
    assert any(tuple(c) in known for c in neg.view(-1, 3).tolist())  # no filter


def test_transe_example_trains_as_well_as_pykeen_s_sampler():
    import runpy
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "pykeen_transe.py"
    (losses, mrr), (_, their_mrr) = runpy.run_path(str(path), run_name="example")["main"]()
    assert len(losses) == 20 and losses[-1] < 0.8 * losses[0]
    assert mrr > their_mrr - 0.03  # measured: 0.322 against 0.306


def test_type_constraints_from_the_training_triples(nations):
    # Per relation, the heads and tails seen in training (a common way to
    # derive type constraints; widened by the even entities, so that every
    # triple keeps a valid corruption); every corruption stays inside them.
    train = nations.training.mapped_triples.numpy()
    n_rel, even = nations.training.num_relations, np.arange(0, nations.num_entities, 2)
    heads = [np.union1d(train[train[:, 1] == r, 0], even) for r in range(n_rel)]
    tails = [np.union1d(train[train[:, 1] == r, 2], even) for r in range(n_rel)]
    sampler = ExactNegativeSampler(mapped_triples=nations.training.mapped_triples,
                                   num_negs_per_pos=8, head_candidates=heads,
                                   tail_candidates=tails)
    torch.manual_seed(1)
    batch = nations.training.mapped_triples[:200]
    neg, _ = sampler.sample(batch)
    known = known_set(train)
    for pos, rows in zip(batch.tolist(), neg.tolist()):
        for c in rows:
            assert tuple(c) not in known
            if c[0] != pos[0]:
                assert c[0] in heads[pos[1]]
            else:
                assert c[2] in tails[pos[1]] and c[2] != pos[2]

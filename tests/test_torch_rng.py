"""rng= takes a torch.Generator: a seed is drawn from it, so it advances and
a seeded one reproduces the call.  Without torch imported, negsamp never
imports it."""
import numpy as np
import pytest

import negsamp
from _child import run_python

torch = pytest.importorskip("torch")


def test_torch_generator_reproduces_and_advances():
    table = negsamp.AliasTable(np.arange(1.0, 50.0))
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    a, b = table.sample(1000, rng=g1), table.sample(1000, rng=g2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(table.sample(1000, rng=g1), a)  # g1 advanced
    # A call takes two int64 draws from the generator, as torch.randint would.
    g3 = torch.Generator().manual_seed(4)
    torch.randint(-(2**63), 2**63 - 1, (2,), dtype=torch.int64, generator=g3)
    g4 = torch.Generator().manual_seed(4)
    table.sample(10, rng=g4)
    assert torch.equal(torch.randint(100, (5,), generator=g3),
                       torch.randint(100, (5,), generator=g4))


def test_torch_generator_in_samplers():
    def g():
        return torch.Generator().manual_seed(9)

    sampler = negsamp.NegativeSampler(20, positives=[[1, 2], [3]])
    np.testing.assert_array_equal(sampler.sample([0, 1], 5, rng=g()),
                                  sampler.sample([0, 1], 5, rng=g()))
    edges = np.array([[0, 1], [1, 2]])
    np.testing.assert_array_equal(negsamp.negative_edges(edges, 5, 4, rng=g()),
                                  negsamp.negative_edges(edges, 5, 4, rng=g()))


def test_bad_rng_names_the_torch_option():
    with pytest.raises(TypeError, match=r"rng must be None, an int, a numpy.random.SeedSequence, "
                                        r"a numpy.random.Generator or a torch.Generator, got str"):
        negsamp.AliasTable([1.0, 2.0]).sample(3, rng="seed")


def test_import_negsamp_does_not_import_torch():
    out = run_python("""
        import sys, negsamp, negsamp.integrations
        print(sorted(m for m in ('torch', 'torch_geometric') if m in sys.modules))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

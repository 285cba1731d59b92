"""examples/largevis_digits.py: a kNN graph embedded with AliasTable edges
and neighbour-excluding NegativeSampler negatives keeps local structure
about as well as scikit-learn's t-SNE on the digits (needs scikit-learn:
CI's integration stage installs it with sentence-transformers and sets
NEGSAMP_REQUIRE_INTEGRATIONS, so it cannot be skipped there)."""
import importlib.util
import os
import pathlib

import pytest

if os.environ.get("NEGSAMP_REQUIRE_INTEGRATIONS") != "1":
    pytest.importorskip("sklearn")


def test_largevis_embedding_is_trustworthy_next_to_tsne():
    path = pathlib.Path(__file__).parent.parent / "examples" / "largevis_digits.py"
    spec = importlib.util.spec_from_file_location("largevis_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    res = module.main(tsne_iterations=300)
    assert res["largevis_trustworthiness"] > 0.95
    assert res["largevis_trustworthiness"] > res["tsne_trustworthiness"] - 0.04

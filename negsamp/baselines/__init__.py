"""Pure-NumPy reference implementations of every negsamp operation.

These are what a careful NumPy user would write without negsamp: the tests
compare negsamp's laws against them and the benchmarks time them in the same
process.  They are correct but not fast; use them as documentation of what
each negsamp call computes.
"""
from negsamp.baselines._alias import weighted_choice, weighted_searchsorted
from negsamp.baselines._graphs import corrupt_triples_numpy, negative_edges_numpy, triple_keys
from negsamp.baselines._mining import hard_negatives_numpy, topk_numpy
from negsamp.baselines._negative import (
    negatives_rejection,
    negatives_without_replacement,
    positive_keys,
)
from negsamp.baselines._reservoir import UniformKeysReservoir, WeightedKeysReservoir

__all__ = [
    "UniformKeysReservoir",
    "WeightedKeysReservoir",
    "corrupt_triples_numpy",
    "hard_negatives_numpy",
    "negative_edges_numpy",
    "negatives_rejection",
    "negatives_without_replacement",
    "positive_keys",
    "topk_numpy",
    "triple_keys",
    "weighted_choice",
    "weighted_searchsorted",
]

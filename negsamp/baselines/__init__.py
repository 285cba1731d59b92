"""Pure-NumPy reference implementations of every negsamp operation.

These are what a careful NumPy user would write without negsamp: the tests
compare negsamp's laws against them and the benchmarks time them in the same
process.  They are correct but not fast; use them as documentation of what
each negsamp call computes.
"""
from negsamp.baselines._alias import weighted_choice, weighted_searchsorted
from negsamp.baselines._mining import hard_negatives_numpy, topk_numpy

__all__ = ["weighted_choice", "weighted_searchsorted"]
__all__ += ["hard_negatives_numpy", "topk_numpy"]

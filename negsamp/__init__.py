"""negsamp: fast, exact negative sampling for machine learning.

The hot loops are C99 kernels (csrc/) called through Cython with the GIL
released; every sampler takes ``rng=`` (SPEC 7) and gives the same output
whatever the number of threads.
"""
from negsamp._version import __version__
from negsamp._rng import spawn, worker_rng
from negsamp.alias import AliasTable
from negsamp.graphs import negative_edges
from negsamp.kg import corrupt_triples
from negsamp.mining import hard_negatives, topk
from negsamp.negative import NegativeSampler
from negsamp.reservoir import Reservoir, WeightedReservoir

__all__ = [
    "__version__",
    "AliasTable",
    "NegativeSampler",
    "Reservoir",
    "WeightedReservoir",
    "corrupt_triples",
    "hard_negatives",
    "negative_edges",
    "show_config",
    "spawn",
    "topk",
    "worker_rng",
]


def show_config() -> None:
    """Prints the version, whether OpenMP is on, and the default thread count."""
    from negsamp import _common
    from negsamp._threads import default_n_threads

    print(f"negsamp {__version__}")
    print(f"  OpenMP: {'on' if _common.openmp_enabled() else 'off'}")
    print(f"  default threads: {default_n_threads()}")
    print(f"  cores seen: {_common.num_procs()}")

"""negsamp: fast, exact negative sampling for machine learning.

The hot loops are C99 kernels (csrc/) called through Cython with the GIL
released; every sampler takes ``rng=`` (SPEC 7) and gives the same output
whatever the number of threads.
"""
from negsamp._version import __version__
from negsamp._rng import spawn, worker_rng
from negsamp._threads import get_num_threads, set_num_threads
from negsamp.alias import AliasTable
from negsamp.candidates import PositiveLists, accidental_hits, sampled_candidates
from negsamp.frequencies import FrequencyEstimator
from negsamp.graphs import count_non_edges, negative_edges
from negsamp.kg import KGSampler, corrupt_triples
from negsamp.mining import hard_negatives
from negsamp.negative import NegativeSampler
from negsamp.reservoir import Reservoir, WeightedReservoir
from negsamp.topk import topk  # the function: it shadows the module of the same name

__all__ = [
    "__version__",
    "AliasTable",
    "FrequencyEstimator",
    "KGSampler",
    "NegativeSampler",
    "PositiveLists",
    "Reservoir",
    "WeightedReservoir",
    "accidental_hits",
    "corrupt_triples",
    "count_non_edges",
    "get_include",
    "get_num_threads",
    "hard_negatives",
    "negative_edges",
    "sampled_candidates",
    "set_num_threads",
    "show_config",
    "spawn",
    "topk",
    "worker_rng",
]


def get_include() -> str:
    """The directory of negsamp's C headers (csrc/*.h, installed as
    negsamp/include/), for downstream Cython code that cimports the
    declarations of negsamp/_c_*.pxd: pass it in ``include_dirs`` (with
    ``numpy.get_include()``).  The header-inline functions (the ns_rng_*
    generators of ns_rng.h) need nothing else; the other kernels live in
    negsamp's static library, which is not shipped."""
    import os

    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")


def show_config() -> None:
    """Prints the version, the threading runtime and the default thread
    count (and where that default comes from)."""
    from negsamp import _negsamp_runtime as _runtime, _threads

    print(f"negsamp {__version__}")
    print("  threads: negsamp's own thread pool (csrc/ns_pool.c; no OpenMP): idle workers "
          "sleep, fork children restart them, Ctrl-C stops a call")
    print(f"  default threads: {_threads.default_n_threads()} ({_threads.default_source()})")
    print(f"  cores seen: {_threads.cores()}")
    print(f"  workers started: {_runtime.workers_started()}")

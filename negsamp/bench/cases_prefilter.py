"""Benchmark cases of the int8 prefilter of exact hard negatives (issue 17).

``mining.hard_negatives int8``: B = 1024 queries x N candidates (1e5, or
1e6 with --full), d = 128 and 768, k = 32, 10 excluded ids per query,
float32, ``precision="int8"`` against the float32 tile GEMM alone (``q @
c.T`` over the exact path's tiles: the floor of the exact float32 path) as
baseline; peers: ``precision="exact32"``, the int8 path with each other
SIMD kernel this CPU runs forced (AMX or VNNI, whichever "auto" does not
pick; AVX2: what a CPU without AVX-512 VNNI gets), and faiss
IndexFlatIP searching k + 10 then filtering, when faiss is installed.  The
note gives the fraction of candidates rescored exactly per query and the
memory of the quantised tile (the corpus is never quantised whole).
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List

import numpy as np

from negsamp.bench import Case
from negsamp.bench.cases_mining import N_EXCLUDED, faiss_peer, gemm_only

B, K = 1024, 32
_FAISS = "faiss IndexFlatIP k+10 + filter"
_AVX2 = "int8, AVX2 kernel forced"
#: the peer rows of the kernels "auto" may pick, when it picks the other
_FORCED = {"amx": "int8, AMX kernel forced", "vnni": "int8, VNNI kernel forced"}


def _case(n: int, d: int) -> Case:
    from negsamp import _quant

    available, best = _quant.available_kernels(), _quant.best_kernel()
    forced_peers = {name: row for name, row in _FORCED.items()
                    if name in available and name != best}
    peers = (("exact32",) + tuple(forced_peers.values())
             + ((_AVX2,) if "avx2" in available else ()) + (_FAISS,))
    case = Case("mining.hard_negatives int8", f"B={B}, N={n:.0e}, d={d}, k={K}, 10 excluded",
                B * n, lambda: {}, baseline_name="float32 tile GEMM only", peers=peers)

    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp
        from negsamp import _prefilter
        from negsamp._exclusion import as_exclusion_lists

        rng = np.random.default_rng(0)
        q = rng.standard_normal((B, d), dtype=np.float32)
        c = rng.standard_normal((n, d), dtype=np.float32)
        indices = np.concatenate([rng.choice(n, N_EXCLUDED, replace=False) for _ in range(B)])
        indptr = np.arange(B + 1, dtype=np.int64) * N_EXCLUDED
        exclude = (indptr, indices)

        def forced(kernel: str) -> Callable[[], Any]:
            def run() -> Any:
                saved, _prefilter.KERNEL = _prefilter.KERNEL, kernel
                try:
                    return negsamp.hard_negatives(q, c, K, exclude=exclude, precision="int8")
                finally:
                    _prefilter.KERNEL = saved
            return run

        fns: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: negsamp.hard_negatives(q, c, K, exclude=exclude,
                                                      precision="int8"),
            "baseline": gemm_only(q, c),
            "exact32": lambda: negsamp.hard_negatives(q, c, K, exclude=exclude,
                                                      precision="exact32"),
        }
        for name, row in forced_peers.items():
            fns[row] = forced(name)
        if _AVX2 in peers:
            fns[_AVX2] = forced("avx2")
        peer = faiss_peer(q, c, exclude, K)
        if peer is not None:
            fns[_FAISS] = peer
        stats: Dict[str, Any] = {}
        excl = as_exclusion_lists(exclude, n, name="exclude", n_rows=B)
        _prefilter.search(q, c, K, K, 0, largest=True, metric="dot", excl=excl, upper=None,
                          lower=-np.inf, n_threads=1, block_size=None, stats=stats)
        tile = stats["tile"]
        case.note = (f"kernel {stats['kernel']}: rescored {stats['rescored'].mean():.0f} "
                     f"candidates per query ({100 * stats['rescored'].mean() / n:.3f}% of N); "
                     f"quantised tile {tile} x {d} int8 = {tile * d / 1e6:.1f} MB "
                     f"(a whole int8 corpus would be {n * d / 1e6:.0f} MB)")
        print(f"      {case.operation} ({case.sizes}): {case.note}", file=sys.stderr)
        return fns

    case.make = make
    return case


def cases(full: bool) -> List[Case]:
    n = 1_000_000 if full else 100_000
    return [_case(n, 128), _case(n, 768)]

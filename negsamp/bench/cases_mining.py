"""Benchmark cases of hard-negative mining and top-k selection.

``mining.hard_negatives``: B queries x N candidates (d = 128, k = 32, 10
excluded ids per query) against the NumPy baseline (Q @ E.T, excluded set
to -inf, argpartition, sort of the k); peers: the tile products alone (the
floor of any exact method) and, when faiss is installed, faiss IndexFlatIP
searching k + 10 and filtering the excluded ids afterwards.  The note of
each case gives the peak of numpy allocations (tracemalloc) of one call of
negsamp and of the baseline.

``mining.topk``: a precomputed (B, N) float32 matrix, against
argpartition + sort of the k.

``mining.hard_negatives float16 memmap``: the same call on a float16
corpus in an ``np.memmap`` file (converted tile by tile) against the same
values as a float32 array in memory; the speed-up column is the float32
time over the float16-memmap time.
"""
from __future__ import annotations

import atexit
import os
import resource
import shutil
import tempfile
import tracemalloc
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

from negsamp.bench import Case

D, K, N_EXCLUDED = 128, 32, 10
_FAISS = "faiss IndexFlatIP k+10 + filter"


def _peak_mb(fn: Callable[[], Any]) -> Tuple[float, float]:
    """(peak MB of numpy allocations during fn() by tracemalloc, growth of
    the process's peak RSS in MB).  The RSS figure is only meaningful when
    fn() sets a new peak, so call the lighter function first."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6, (rss1 - rss0) / 1e3  # ru_maxrss is in KB on Linux


_Exclude = Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def _data(b: int, n: int, seed: int = 0
          ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], _Exclude]:
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, D), dtype=np.float32)
    c = rng.standard_normal((n, D), dtype=np.float32)
    indices = np.concatenate([rng.choice(n, N_EXCLUDED, replace=False) for _ in range(b)])
    indptr = np.arange(b + 1, dtype=np.int64) * N_EXCLUDED
    return q, c, (indptr, indices)


def faiss_peer(q: np.ndarray, c: np.ndarray, exclude: _Exclude, k: int
                ) -> Optional[Callable[[], np.ndarray]]:
    try:
        import faiss  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    index = faiss.IndexFlatIP(c.shape[1])
    index.add(c)
    indptr, indices = exclude
    extra = N_EXCLUDED

    def run() -> np.ndarray:
        # Over-fetch k + 10, then drop each query's excluded ids (exact here:
        # at most 10 are excluded per query).
        _, ids = index.search(q, k + extra)
        rows = np.repeat(np.arange(q.shape[0]), np.diff(indptr))
        excl = np.zeros((q.shape[0], extra), dtype=np.int64)
        excl[rows, np.arange(indices.shape[0]) - indptr[rows]] = indices
        bad = (ids[:, :, None] == excl[:, None, :]).any(axis=2)
        order = np.argsort(bad, axis=1, kind="stable")[:, :k]
        kept: np.ndarray = np.take_along_axis(ids, order, axis=1)
        return kept

    return run


def gemm_only(q: np.ndarray, c: np.ndarray) -> Callable[[], None]:
    from negsamp import mining

    b, n = q.shape[0], c.shape[0]
    q_block = min(b, mining.QUERY_BLOCK)
    block = min(n, max(256, mining.TILE_BYTES // (q_block * 4)))
    buf = np.empty(q_block * block, dtype=np.float32)

    def run() -> None:
        for c0 in range(0, n, block):
            tile = c[c0 : c0 + block]
            for r0 in range(0, b, q_block):
                qb = q[r0 : r0 + q_block]
                out = buf[: qb.shape[0] * tile.shape[0]].reshape(qb.shape[0], -1)
                np.matmul(qb, tile.T, out=out)

    return run


def _mining_case(b: int, n: int, with_faiss: bool = True, memory: bool = True) -> Case:
    case = Case("mining.hard_negatives", f"B={b}, N={n:.0e}, d={D}, k={K}, 10 excluded",
                b * n, lambda: {}, baseline_name="matmul+argpartition",
                peers=("tile GEMM only",) + ((_FAISS,) if with_faiss else ()))

    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp
        from negsamp.baselines import hard_negatives_numpy

        q, c, exclude = _data(b, n)
        fns: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: negsamp.hard_negatives(q, c, K, exclude=exclude),
            "baseline": lambda: hard_negatives_numpy(q, c, K, exclude=exclude),
            "tile GEMM only": gemm_only(q, c),
        }
        if with_faiss:
            peer = faiss_peer(q, c, exclude, K)
            if peer is not None:
                fns[_FAISS] = peer
        if memory:
            m_neg, r_neg = _peak_mb(fns["negsamp"])
            m_base, r_base = _peak_mb(fns["baseline"])
            case.note = (f"peak numpy allocations (tracemalloc): negsamp {m_neg:.1f} MB, "
                         f"baseline {m_base:.0f} MB ({100 * m_neg / m_base:.2f}%); peak RSS "
                         f"growth: negsamp {r_neg:.1f} MB, baseline {r_base:.0f} MB")
            import sys

            print(f"      {case.operation} ({case.sizes}): {case.note}", file=sys.stderr)
        return fns

    case.make = make
    return case


def _topk_case(b: int, n: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp
        from negsamp.baselines import topk_numpy

        rng = np.random.default_rng(1)
        s = rng.standard_normal((b, n), dtype=np.float32)
        return {
            "negsamp": lambda: negsamp.topk(s, K),
            "baseline": lambda: topk_numpy(s, K),
        }

    return Case("mining.topk", f"B={b}, N={n:.0e}, k={K}, float32", b * n, make,
                baseline_name="argpartition+sort")


def _st_core_case(b: int, n: int, d: int = 384, num_negatives: int = 3) -> Case:
    """The mining core of sentence-transformers' ``mine_hard_negatives``
    (no model: embeddings given, normalised, one positive per query): its
    torch path (``model.similarity`` of a chunk of ``faiss_batch_size``
    queries against the corpus, ``torch.topk`` of ``range_max +
    max_positives``, positives masked, top ``num_negatives``) against
    ``hard_negatives`` with the positive excluded.  Peak-memory growth of
    each in the note (process RSS: torch allocations are outside
    tracemalloc)."""
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp

        rng = np.random.default_rng(0)
        q = rng.standard_normal((b, d), dtype=np.float32)
        c = rng.standard_normal((n, d), dtype=np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        pos = rng.integers(0, n, b)
        exclude = pos[:, None]
        calls: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: negsamp.hard_negatives(q, c, num_negatives, exclude=exclude),
        }
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            import torch  # type: ignore[import-not-found, import-untyped, unused-ignore]

            tq, tc, tpos = torch.from_numpy(q), torch.from_numpy(c), torch.from_numpy(pos)
            window = num_negatives + 1 + 1  # range_max = num_negatives + max_positives

            def st_torch_path() -> Any:
                scores_list, ids_list = [], []
                for i in range(0, b, 16384):  # faiss_batch_size
                    chunk = tq[i:i + 16384] @ tc.T  # cos_sim of unit vectors
                    top_s, top_i = torch.topk(chunk, k=window, dim=1)
                    scores_list.append(top_s)
                    ids_list.append(top_i)
                scores, ids = torch.cat(scores_list), torch.cat(ids_list)
                scores[ids == tpos[:, None]] = -float("inf")
                best, local = torch.topk(scores, k=window - 1, dim=1)
                return ids.gather(1, local)[:, :num_negatives], best[:, :num_negatives]

            calls["baseline"] = st_torch_path
        return calls

    return Case("sentence-transformers mining core", f"queries={b:.0e}x{d}, passages={n:.0e}, "
                f"num_negatives={num_negatives}, one positive each", b, make,
                baseline_name="its torch path (GEMM chunk + topk)",
                note="goal: >= 2x its torch path, < 100 MB extra memory")


def _float16_memmap_case(b: int, n: int) -> Case:
    case = Case("mining.hard_negatives float16 memmap", f"B={b}, N={n:.0e}, d={D}, k={K}",
                b * n, lambda: {}, baseline_name="same corpus, float32 in memory")

    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp

        rng = np.random.default_rng(0)
        q = rng.standard_normal((b, D), dtype=np.float32)
        folder = tempfile.mkdtemp(prefix="negsamp-bench-")
        path = os.path.join(folder, "corpus-float16.bin")
        corpus = np.memmap(path, dtype=np.float16, mode="w+", shape=(n, D))
        for i in range(0, n, 1 << 16):
            corpus[i : i + (1 << 16)] = rng.standard_normal((min(1 << 16, n - i), D),
                                                             dtype=np.float32)
        corpus.flush()
        del corpus
        mapped = np.memmap(path, dtype=np.float16, mode="r", shape=(n, D))
        try:  # POSIX: the mapping outlives the file, and the disk is freed with it
            os.unlink(path)
            os.rmdir(folder)
        except OSError:  # pragma: no cover - Windows keeps a mapped file
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
        as_float32 = np.asarray(mapped, dtype=np.float32)
        fns: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: negsamp.hard_negatives(q, mapped, K),
            "baseline": lambda: negsamp.hard_negatives(q, as_float32, K),
        }
        m16, _ = _peak_mb(fns["negsamp"])
        m32, _ = _peak_mb(fns["baseline"])
        case.note = (f"peak numpy allocations of a call (tracemalloc): float16 memmap "
                     f"{m16:.1f} MB, float32 {m32:.1f} MB; a float32 copy of the corpus: "
                     f"{as_float32.nbytes / 1e6:.0f} MB")
        import sys

        print(f"      {case.operation} ({case.sizes}): {case.note}", file=sys.stderr)
        return fns

    case.make = make
    return case


def cases(full: bool) -> List[Case]:
    if full:
        return [_mining_case(1024, 10**5), _mining_case(1024, 10**6),
                _topk_case(1024, 10**6), _st_core_case(10**4, 10**5),
                _float16_memmap_case(1024, 10**6)]
    return [_mining_case(256, 10**5), _topk_case(256, 10**5),
            _float16_memmap_case(256, 10**5)]

"""Benchmark cases of AliasTable: draws and build."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import numpy as np

from negsamp.bench import Case


def _weights(n: int) -> np.ndarray:
    # The law: (1/i)^0.75, a word2vec-like Zipf noise distribution.
    return (1.0 / np.arange(1, n + 1, dtype=np.float64)) ** 0.75


def _sample_case(n: int, m: int, threads: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp

        w = _weights(n)
        p = w / w.sum()
        table = negsamp.AliasTable(w)
        gen = np.random.default_rng(0)
        fns: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: table.sample(m, gen, n_threads=threads),
            "baseline": lambda: gen.choice(n, m, p=p),
            "numpy.integers (uniform)": lambda: gen.integers(0, n, m),
        }
        try:
            import vose  # type: ignore[import-not-found, import-untyped, unused-ignore]

            vs = vose.Sampler(w.copy(), seed=0)
            fns["vose"] = lambda: vs.sample(m)
        except ImportError:
            pass
        try:
            import torch  # type: ignore[import-not-found, import-untyped, unused-ignore]

            if n <= 2**24:  # torch.multinomial's limit
                tw = torch.from_numpy(w)
                torch.set_num_threads(threads)
                fns["torch.multinomial"] = lambda: torch.multinomial(tw, m, replacement=True)
        except ImportError:
            pass
        return fns

    return Case("alias.sample", f"n={n:.0e}, M={m:.0e}, threads={threads}", m, make,
                baseline_name="rng.choice(p=)",
                peers=("numpy.integers (uniform)", "vose", "torch.multinomial"))


def _build_case(n: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp

        w = _weights(n)
        return {
            "negsamp": lambda: negsamp.AliasTable(w),
            "baseline": lambda: np.cumsum(w),
        }

    return Case("alias.build", f"n={n:.0e}", n, make, baseline_name="np.cumsum",
                note="the goal is a ratio of 5x or less to cumsum")


def cases(full: bool) -> List[Case]:
    from negsamp._threads import default_n_threads

    all_threads = default_n_threads()
    m = 10**7 if full else 10**6
    out = [_sample_case(n, m, 1) for n in (10**3, 10**5, 10**7)]
    if all_threads > 1:
        out.append(_sample_case(10**5, m, all_threads))
        out.append(_sample_case(10**7, m, all_threads))
    out.append(_build_case(10**7 if full else 10**6))
    return out

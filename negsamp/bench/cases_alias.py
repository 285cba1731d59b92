"""Benchmark cases of AliasTable: draws and build.

Draws are compared with ``rng.choice(p=)`` (the baseline), with uniform
``rng.integers`` (a floor for the random numbers alone) and with a NumPy
gather ``entries.take(rng.integers(0, n, m))`` over an int64 array of the
``n`` 8-byte entries that the draws read (a floor for one random memory
access per draw; also timed with its indices drawn beforehand).  For tables
larger than the cache the goal is a draw no slower than that random take.
The build is compared with ``np.cumsum`` of the same weights (one pass)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import numpy as np

from negsamp.bench import Case

TAKE = "numpy take (random)"
TAKE_DRAWN = "numpy take (indices drawn before)"


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
        # As many bytes as the entries a draw reads (8 per item), touched
        # once so that its pages exist, as the table's do.
        entries = np.ones(n, dtype=np.int64)
        drawn = gen.integers(0, n, m)
        fns: Dict[str, Callable[[], Any]] = {
            "negsamp": lambda: table.sample(m, gen, n_threads=threads),
            "baseline": lambda: gen.choice(n, m, p=p),
            "numpy.integers (uniform)": lambda: gen.integers(0, n, m),
            TAKE: lambda: entries.take(gen.integers(0, n, m)),
            TAKE_DRAWN: lambda: entries.take(drawn),
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

    note = ""
    if n >= 10**7 and threads == 1:
        note = f"the goal is a ratio of 1x or more to {TAKE}"
    return Case("alias.sample", f"n={n:.0e}, M={m:.0e}, threads={threads}", m, make,
                baseline_name="rng.choice(p=)", note=note,
                peers=("numpy.integers (uniform)", TAKE, TAKE_DRAWN, "vose",
                       "torch.multinomial"))


def _build_case(n: int) -> Case:
    def make() -> Dict[str, Callable[[], Any]]:
        import negsamp

        w = _weights(n)
        # The same law with a largest weight that is not a power of two
        # (the build then divides by it instead of multiplying).
        w3 = 3.0 * w
        return {
            "negsamp": lambda: negsamp.AliasTable(w),
            "baseline": lambda: np.cumsum(w),
            "negsamp (max weight 3)": lambda: negsamp.AliasTable(w3),
        }

    return Case("alias.build", f"n={n:.0e}", n, make, baseline_name="np.cumsum",
                note="the goal is a ratio of 0.5x or more (2x the time of cumsum or less)",
                peers=("negsamp (max weight 3)",))


def cases(full: bool) -> List[Case]:
    from negsamp._threads import default_n_threads

    all_threads = default_n_threads()
    m = 10**7 if full else 10**6
    out = [_sample_case(n, m, 1) for n in (10**3, 10**5, 10**7)]
    if all_threads > 1:
        out.append(_sample_case(10**5, m, all_threads))
        out.append(_sample_case(10**7, m, all_threads))
    out.append(_build_case(10**7))
    return out

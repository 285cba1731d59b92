"""The one place where ``rng=`` arguments are normalised (SPEC 7).

Every sampler in negsamp takes ``rng``: None (fresh OS entropy), an int, a
``numpy.random.SeedSequence`` or a ``numpy.random.Generator``.  A call draws
ONE 128-bit key from that generator (so a passed Generator advances and two
calls differ); the C kernels derive one xoshiro256++ stream per fixed-size
block of work from (key, block index), which makes the output independent of
the number of threads (see csrc/ns_rng.h).
"""
from __future__ import annotations

import numbers
from typing import Tuple, Union

import numpy as np

RNGLike = Union[None, int, np.integer, np.random.SeedSequence, np.random.Generator]

__all__ = ["RNGLike", "as_generator", "draw_key", "spawn"]


def as_generator(rng: RNGLike) -> np.random.Generator:
    """Returns a Generator for ``rng`` (a Generator is returned as is)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"rng must be None, an int, a SeedSequence or a Generator, got {rng!r}")
    if isinstance(rng, numbers.Integral):
        if int(rng) < 0:
            raise ValueError(f"rng seed must be non-negative, got {int(rng)}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        "rng must be None, an int, a numpy.random.SeedSequence or a "
        f"numpy.random.Generator, got {type(rng).__name__}"
    )


def draw_key(rng: RNGLike) -> Tuple[int, int]:
    """Takes one 128-bit key (two uint64) from ``rng`` for one call."""
    gen = as_generator(rng)
    key = gen.integers(0, 2**64, size=2, dtype=np.uint64)
    return int(key[0]), int(key[1])


def spawn(rng: RNGLike, n_children: int) -> list[np.random.Generator]:
    """Independent child Generators of ``rng`` (for workers or partitions).

    With an int or SeedSequence the children are reproducible; with a
    Generator they come from its bit generator's seed sequence (numpy's
    ``Generator.spawn``), so the parent's stream is not consumed.
    """
    if isinstance(n_children, (bool, np.bool_)) or not isinstance(n_children, numbers.Integral):
        raise TypeError(f"n_children must be an int, got {n_children!r}")
    if n_children < 0:
        raise ValueError(f"n_children must be >= 0, got {n_children}")
    if isinstance(rng, np.random.Generator):
        return list(rng.spawn(int(n_children)))
    if isinstance(rng, np.random.SeedSequence):
        seq = rng
    else:
        seq = np.random.SeedSequence(None if rng is None else _as_seed(rng))
    return [np.random.default_rng(s) for s in seq.spawn(int(n_children))]


def _as_seed(rng: RNGLike) -> int:
    as_generator(rng)  # validates type and sign
    return int(rng)  # type: ignore[arg-type]

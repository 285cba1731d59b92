"""The one place where ``rng=`` arguments are normalised (SPEC 7).

Every sampler in negsamp takes ``rng``: None (fresh OS entropy), an int, a
``numpy.random.SeedSequence`` or a ``numpy.random.Generator`` -- and, for
torch programs, a ``torch.Generator``, from which a 128-bit seed is drawn
(so it advances, and a seeded torch generator reproduces the call).  A call draws
ONE 128-bit key from that generator (so a passed Generator advances and two
calls differ); the C kernels derive one xoshiro256++ stream per fixed-size
block of work from (key, block index), which makes the output independent of
the number of threads (see csrc/ns_rng.h).
"""
from __future__ import annotations

import numbers
from typing import Tuple, Union

import numpy as np

from negsamp._torch import is_torch_generator, seed_from_torch

RNGLike = Union[None, int, np.integer, np.random.SeedSequence, np.random.Generator]

__all__ = ["RNGLike", "as_generator", "draw_key", "spawn", "worker_rng"]


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
    if is_torch_generator(rng):
        return np.random.default_rng(seed_from_torch(rng))
    raise TypeError(
        "rng must be None, an int, a numpy.random.SeedSequence, a "
        f"numpy.random.Generator or a torch.Generator, got {type(rng).__name__}"
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


def _torch_worker_info() -> tuple[int, int] | None:
    """(worker id, torch's per-worker seed) inside a torch DataLoader worker,
    else None.  torch is imported only if the program already imported it."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return None
    info = torch.utils.data.get_worker_info()
    if info is None:
        return None
    return int(info.id), int(info.seed)


def worker_rng(seed: RNGLike = None) -> np.random.Generator:
    """A Generator of its own for the current DataLoader worker.

    Forked or spawned ``torch.utils.data.DataLoader`` workers receive copies
    of the dataset, so a Generator stored on it would repeat the same stream
    in every worker.  Call ``worker_rng`` inside the worker (for example
    lazily in ``__getitem__`` or in ``worker_init_fn``):

    - ``seed`` an int or SeedSequence: the child stream ``(seed, worker id)``
      (numpy's ``spawn_key`` mechanism): independent across workers and the
      same in every epoch (reproducible).
    - ``seed`` a Generator: the same, from that generator's seed sequence.
    - ``seed=None``: torch's per-worker seed (``base_seed + worker id``, a
      new base seed each epoch, reproducible when torch itself is seeded).

    Outside a worker it returns ``as_generator(seed)``.
    """
    info = _torch_worker_info()
    if info is None:
        return as_generator(seed)
    worker_id, torch_seed = info
    if seed is None:
        return np.random.default_rng(np.random.SeedSequence(torch_seed))
    if isinstance(seed, np.random.Generator):
        parent = seed.bit_generator.seed_seq
        if not isinstance(parent, np.random.SeedSequence):
            raise TypeError("worker_rng needs a Generator built from a SeedSequence")
    elif isinstance(seed, np.random.SeedSequence):
        parent = seed
    else:
        parent = np.random.SeedSequence(_as_seed(seed))
    child = np.random.SeedSequence(
        parent.entropy, spawn_key=tuple(parent.spawn_key) + (worker_id,),
        pool_size=parent.pool_size,
    )
    return np.random.default_rng(child)

"""torch tensors in and out, without importing torch.

negsamp never imports torch itself: these helpers look torch up in
``sys.modules``, so they cost nothing in a program that does not use it,
and a tensor can only exist once its program has imported torch.
"""
from __future__ import annotations

import sys
from typing import Any, Optional, Tuple

import numpy as np

__all__ = ["as_numpy", "from_numpy", "is_tensor", "is_torch_generator", "seed_from_torch"]


def _torch() -> Any:
    return sys.modules.get("torch")


def is_tensor(value: Any) -> bool:
    """True when ``value`` is a torch.Tensor."""
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


def is_torch_generator(value: Any) -> bool:
    """True when ``value`` is a torch.Generator."""
    torch = _torch()
    return torch is not None and isinstance(value, torch.Generator)


def as_numpy(value: Any) -> Tuple[Any, Optional[Any]]:
    """(array, device): a tensor as a NumPy array and the device it lives on
    (None for anything that is not a tensor, which is returned as is).

    A CPU tensor is not copied (``Tensor.numpy()`` shares its memory; its
    autograd history is dropped, and a lazily conjugated or negated view is
    materialised first).  A CUDA (or other device) tensor is copied to the
    host."""
    if not is_tensor(value):
        return value, None
    tensor = value.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    tensor = tensor.resolve_conj().resolve_neg()
    return tensor.numpy(), value.device


def from_numpy(array: np.ndarray, device: Any) -> Any:
    """A tensor holding ``array`` (shared memory on the CPU) on ``device``."""
    torch = _torch()
    if torch is None:  # pragma: no cover - callers hold a tensor or a device
        raise RuntimeError("torch is not imported")
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor if device is None or str(device) == "cpu" else tensor.to(device)


def seed_from_torch(generator: Any = None) -> np.random.SeedSequence:
    """A SeedSequence of 128 bits drawn from a torch.Generator (torch's
    default CPU generator when None), so ``torch.manual_seed(s)`` makes the
    calls seeded this way reproducible, and each call advances torch's
    stream as a torch sampler would."""
    torch = _torch()
    if torch is None:
        raise RuntimeError("seeding from torch needs torch to be imported")
    words = torch.randint(-(2**63), 2**63 - 1, (2,), dtype=torch.int64,
                          generator=generator)
    entropy = [int(w) & 0xFFFFFFFFFFFFFFFF for w in words.tolist()]
    return np.random.SeedSequence(entropy)

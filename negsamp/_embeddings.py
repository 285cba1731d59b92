"""Embedding tiles as the mining paths read them (negsamp.mining and
negsamp._prefilter): the finiteness check that names the bad entry, and
row normalisation for the cosine metric."""
from __future__ import annotations

import numpy as np

__all__ = ["first_nonfinite", "normalise_rows"]


def first_nonfinite(arr: np.ndarray, name: str, row_offset: int = 0) -> None:
    """ValueError naming the first non-finite entry of the 2-D ``arr``
    (its row counted from ``row_offset``), if any."""
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be finite, got {arr[r, c]} at row {int(r) + row_offset}, "
            f"column {int(c)}"
        )


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """x / ||x|| row by row, in x's dtype, as a new array; all-zero rows stay
    zero.  Each row's result depends only on that row, so normalising a tile
    gives the same values as normalising the whole array."""
    norms = np.linalg.norm(x, axis=1)
    norms[norms == 0] = 1
    # A row with an infinity becomes NaN here: the merge reports it.
    with np.errstate(invalid="ignore", over="ignore"):
        unit: np.ndarray = x / norms[:, None]
    return unit

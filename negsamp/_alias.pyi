from typing import Any, Tuple

import numpy as np
import numpy.typing as npt

TABLE_DTYPE: np.dtype[np.void]
BLOCK: int

def build(weights: npt.NDArray[np.float64]) -> Tuple[npt.NDArray[np.void], float, float]: ...
def sample(
    table: npt.NDArray[np.void], count: int, k0: int, k1: int, n_threads: int,
    dtype: npt.DTypeLike,
) -> npt.NDArray[np.signedinteger[Any]]: ...
def probabilities(table: npt.NDArray[np.void]) -> npt.NDArray[np.float64]: ...
def check(table: npt.NDArray[np.void]) -> None: ...

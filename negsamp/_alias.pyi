from typing import Any, Tuple

import numpy as np
import numpy.typing as npt

TABLE_DTYPE: np.dtype[Any]
BLOCK: int

def build(weights: npt.NDArray[np.float64]) -> Tuple[np.ndarray[Any, Any], float, float]: ...
def sample(
    table: np.ndarray[Any, Any], count: int, k0: int, k1: int, n_threads: int, dtype: Any
) -> npt.NDArray[np.signedinteger[Any]]: ...
def probabilities(table: np.ndarray[Any, Any]) -> npt.NDArray[np.float64]: ...
def check(table: np.ndarray[Any, Any]) -> None: ...

from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

TABLE_DTYPE: np.dtype[np.void]
HOT_DTYPE: np.dtype[np.void]
HOT_MAX: int
BLOCK: int

def build(weights: npt.NDArray[np.float64]) -> Tuple[npt.NDArray[np.void], float, float]: ...
def make_hot(table: npt.NDArray[np.void]) -> Optional[npt.NDArray[np.void]]: ...
def sample(
    table: npt.NDArray[np.void], hot: Optional[npt.NDArray[np.void]], count: int,
    k0: int, k1: int, n_threads: int, dtype: npt.DTypeLike, allow_simd: bool = ...,
) -> npt.NDArray[np.signedinteger[Any]]: ...
def sample_rows(
    table: npt.NDArray[np.void], keys: npt.NDArray[np.int64], row_len: int,
    k0: int, k1: int, n_threads: int, dtype: npt.DTypeLike,
) -> npt.NDArray[np.signedinteger[Any]]: ...
def probabilities(table: npt.NDArray[np.void]) -> npt.NDArray[np.float64]: ...
def check(table: npt.NDArray[np.void]) -> None: ...

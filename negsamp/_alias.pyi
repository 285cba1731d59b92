from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

TABLE_DTYPE: np.dtype[np.void]
HOT_DTYPE: np.dtype[np.void]
COMPACT_MAX: int
BLOCK: int

def build(weights: npt.NDArray[np.float64]) -> Tuple[npt.NDArray[np.void], float, float]: ...
def build_compact(
    weights: npt.NDArray[np.float64], allow_simd: bool = ...,
) -> Tuple[npt.NDArray[np.void], npt.NDArray[np.uint32], float, float]: ...
def make_compact(table: npt.NDArray[np.void]) -> Tuple[npt.NDArray[np.void], npt.NDArray[np.uint32]]: ...
def expand(hot: npt.NDArray[np.void], low: npt.NDArray[np.uint32]) -> npt.NDArray[np.void]: ...
def sample(
    table: Optional[npt.NDArray[np.void]], hot: Optional[npt.NDArray[np.void]],
    low: Optional[npt.NDArray[np.uint32]], count: int, k0: int, k1: int, n_threads: int,
    dtype: npt.DTypeLike, out: Optional[npt.NDArray[Any]] = ..., allow_simd: bool = ...,
) -> npt.NDArray[np.signedinteger[Any]]: ...
def sample_rows(
    table: Optional[npt.NDArray[np.void]], hot: Optional[npt.NDArray[np.void]],
    low: Optional[npt.NDArray[np.uint32]], keys: npt.NDArray[np.int64], row_len: int,
    k0: int, k1: int, n_threads: int, dtype: npt.DTypeLike,
    out: Optional[npt.NDArray[Any]] = ...,
) -> npt.NDArray[np.signedinteger[Any]]: ...
def probabilities(
    table: Optional[npt.NDArray[np.void]], hot: Optional[npt.NDArray[np.void]] = ...,
    low: Optional[npt.NDArray[np.uint32]] = ...,
) -> npt.NDArray[np.float64]: ...
def check(table: npt.NDArray[np.void]) -> None: ...
def _settle_tie_py(threshold: int, coin_hi: int, k0: int, k1: int, stream: int) -> int: ...

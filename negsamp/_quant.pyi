from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

KERNELS: Dict[str, int]
MAX_DIM: int

def available_kernels() -> List[str]: ...
def best_kernel() -> str: ...

class QuantSearch:
    n_rows: int
    dim: int
    capacity: int
    kernel: str
    def __init__(
        self,
        queries: npt.ArrayLike,
        capacity: int,
        kernel: str = ...,
        *,
        excl_indptr: Optional[npt.ArrayLike] = ...,
        excl_indices: Optional[npt.ArrayLike] = ...,
        lower: Optional[npt.ArrayLike] = ...,
        upper: Optional[npt.ArrayLike] = ...,
    ) -> None: ...
    def scan(self, tile: npt.NDArray[np.float32], col0: int, n_threads: int = ...) -> None: ...
    def finish(
        self,
        skip: int,
        k: int,
        negate: bool = ...,
        out: Optional[Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = ...,
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
    @property
    def rescored(self) -> npt.NDArray[np.int64]: ...

def _quant_rows_py(x: npt.ArrayLike, kernel: str = ...) -> Tuple[npt.NDArray[Any], ...]: ...
def _products_py(
    kernel: str, q_codes: npt.ArrayLike, c_codes: npt.ArrayLike
) -> npt.NDArray[np.int32]: ...
def _dot_exact_py(x: npt.ArrayLike, y: npt.ArrayLike, kernel: str = ...) -> float: ...
def _dot_exact_rows_py(x: npt.ArrayLike, rows: npt.ArrayLike, cols: npt.ArrayLike,
                      kernel: str = ...) -> npt.NDArray[Any]: ...

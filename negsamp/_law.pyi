from typing import Any, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

DENSE_MASS: float
SCORED_BLOCK_ROWS: int

class SamplingLaw:
    def __init__(
        self,
        n_items: int,
        indptr: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int64],
        table: Optional[npt.NDArray[np.void]] = ...,
        prob: Optional[npt.NDArray[np.float64]] = ...,
        *,
        n_threads: int = ...,
        complements: bool = ...,
        filters: bool = ...,
    ) -> None: ...
    @property
    def n_items(self) -> int: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def n_nonzero(self) -> int: ...
    @property
    def total(self) -> float: ...
    @property
    def weighted(self) -> bool: ...
    @property
    def comp_ptr(self) -> Optional[npt.NDArray[np.int64]]: ...
    def eligible(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
    def sample(
        self,
        rows: npt.NDArray[np.int64],
        k: int,
        replace: bool,
        k0: int,
        k1: int,
        n_threads: int,
        return_log_q: bool = ...,
        keys: Optional[npt.NDArray[np.int64]] = ...,
        out: Optional[npt.NDArray[np.int64]] = ...,
        log_q_out: Optional[npt.NDArray[np.float64]] = ...,
    ) -> Tuple[npt.NDArray[np.int64], Optional[npt.NDArray[np.float64]]]: ...
    def sample_tuples(
        self,
        rows: npt.NDArray[np.int64],
        k: int,
        replace: bool,
        k0: int,
        k1: int,
        n_threads: int,
        tmpl: npt.NDArray[np.int64],
        col: int,
        keys: Optional[npt.NDArray[np.int64]] = ...,
        out: Optional[npt.NDArray[np.int64]] = ...,
    ) -> npt.NDArray[np.int64]: ...

def scored_select(
    pool: npt.NDArray[np.int64],
    pool_log_q: Optional[npt.NDArray[np.float64]],
    queries: npt.NDArray[np.floating[Any]],
    items: npt.NDArray[np.floating[Any]],
    k: int,
    inv_temperature: float,
    distinct: bool,
    k0: int,
    k1: int,
    n_threads: int,
    kernel: Optional[str] = ...,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]],
           Optional[npt.NDArray[np.float64]]]: ...

SCORED_KERNELS: Dict[str, int]

def scored_kernel_available(name: str) -> bool: ...
def scored_best_kernel() -> str: ...

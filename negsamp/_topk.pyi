from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

class TopkState:
    def __init__(
        self,
        n_rows: int,
        capacity: int,
        largest: bool,
        *,
        excl_indptr: Optional[npt.ArrayLike] = ...,
        excl_indices: Optional[npt.ArrayLike] = ...,
        upper: Optional[npt.ArrayLike] = ...,
        lower: float = ...,
        temperature: float = ...,
        k0: int = ...,
        k1: int = ...,
        finite_only: bool = ...,
        packed: bool = ...,
        allow_simd: bool = ...,
        keys: Optional[npt.NDArray[np.int64]] = ...,
    ) -> None: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    def merge(
        self, tile: npt.NDArray[np.floating[Any]], row0: int, col0: int, n_threads: int
    ) -> None: ...
    def finish(
        self,
        skip: int,
        k: int,
        dtype: npt.DTypeLike,
        n_threads: int,
        out: Optional[Tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]]]] = ...,
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]]]: ...

def merge_lists(
    ids: npt.NDArray[np.int64],
    scores: npt.NDArray[np.floating[Any]],
    skip: int,
    k: int,
    largest: bool,
    out: Optional[Tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]]]] = ...,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]]]: ...

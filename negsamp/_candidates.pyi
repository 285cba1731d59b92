from typing import Optional, Tuple

import numpy as np
import numpy.typing as npt

UNIFORM: int
LOG_UNIFORM: int
BLOCK: int

def draw(law: int, n: int, excluded: npt.NDArray[np.int64], count: int, k0: int, k1: int,
         n_threads: int) -> npt.NDArray[np.int64]: ...
def unique(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
def hits_mask(
    indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64], candidates: npt.NDArray[np.int64],
    sorted_values: Optional[npt.NDArray[np.int64]],
    sorted_positions: Optional[npt.NDArray[np.int64]], n_threads: int,
) -> Tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]: ...
def hits_pairs(mask: npt.NDArray[np.bool_], counts: npt.NDArray[np.int64],
               n_threads: int) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]: ...

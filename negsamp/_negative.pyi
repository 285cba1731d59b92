from typing import Optional, Tuple

import numpy as np

BLOCK_ROWS: int

def row_stats(
    prob: np.ndarray, indptr: np.ndarray, indices: np.ndarray, n_threads: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def sample(
    n_items: int,
    table: Optional[np.ndarray],
    prob: Optional[np.ndarray],
    cum: Optional[np.ndarray],
    indptr: np.ndarray,
    indices: np.ndarray,
    row_mass: Optional[np.ndarray],
    prefix: Optional[np.ndarray],
    rows: np.ndarray,
    k: int,
    replace: bool,
    k0: int,
    k1: int,
    n_threads: int,
    return_log_q: bool,
) -> Tuple[np.ndarray, Optional[np.ndarray]]: ...

from typing import Optional, Tuple

import numpy as np

def row_stats(
    prob: np.ndarray, indptr: np.ndarray, indices: np.ndarray, n_threads: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def bloom_build(indptr: np.ndarray, indices: np.ndarray, n_threads: int) -> np.ndarray: ...
def cumulative(prob: np.ndarray) -> np.ndarray: ...
def complement_build(
    n_items: int,
    prob: Optional[np.ndarray],
    indptr: np.ndarray,
    indices: np.ndarray,
    comp_ptr: np.ndarray,
    n_threads: int,
    row_eligible: Optional[np.ndarray] = ...,
) -> Tuple[np.ndarray, Optional[np.ndarray]]: ...
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
    comp_ptr: Optional[np.ndarray] = ...,
    comp_ids: Optional[np.ndarray] = ...,
    comp_table: Optional[np.ndarray] = ...,
    row_eligible: Optional[np.ndarray] = ...,
    bloom: Optional[np.ndarray] = ...,
    tmpl: Optional[np.ndarray] = ...,
    col: int = ...,
    keys: Optional[np.ndarray] = ...,
) -> Tuple[np.ndarray, Optional[np.ndarray]]: ...
def keyed_uniform(keys: np.ndarray, k: int, k0: int, k1: int, n_threads: int) -> np.ndarray: ...

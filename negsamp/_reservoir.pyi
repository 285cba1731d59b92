from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

MERGE_STATE: int
MERGE_RESUME: int
SEGMENT: int
BLOCK: int

def derive_key(
    state_a: npt.NDArray[np.uint64],
    state_b: npt.NDArray[np.uint64],
    count_a: int,
    count_b: int,
    k: int,
) -> Tuple[int, int]: ...
def seed_state(k0: int, k1: int, block: int = ...) -> npt.NDArray[np.uint64]: ...
def uniform_update(
    state: npt.NDArray[np.uint64],
    k: int,
    count: int,
    w: float,
    next_pos: int,
    length: int,
    slot_pos: npt.NDArray[np.int64],
    touched: npt.NDArray[np.int64],
) -> Tuple[int, float, int, int]: ...
def uniform_shuffle(state: npt.NDArray[np.uint64], k: int) -> npt.NDArray[np.int64]: ...
def weighted_update(
    state: npt.NDArray[np.uint64],
    k: int,
    weights: npt.NDArray[np.float64],
    heap_keys: npt.NDArray[np.float64],
    heap_slots: npt.NDArray[np.int64],
    size: int,
    remaining: float,
    slot_pos: npt.NDArray[np.int64],
    touched: npt.NDArray[np.int64],
) -> Tuple[int, float, int, float, int]: ...
def uniform_merge(
    key: Optional[Tuple[int, int]],
    state1: npt.NDArray[np.uint64],
    state2: npt.NDArray[np.uint64],
    k: int,
    n1: int,
    n2: int,
    dtype: np.dtype[Any],
    items1: Optional[npt.NDArray[Any]],
    items2: Optional[npt.NDArray[Any]],
    fresh: bool = ...,
) -> Tuple[npt.NDArray[np.uint64], npt.NDArray[Any], float, int]: ...
def weighted_merge(
    key: Optional[Tuple[int, int]],
    state1: npt.NDArray[np.uint64],
    state2: npt.NDArray[np.uint64],
    count1: int,
    count2: int,
    k: int,
    dtype: np.dtype[Any],
    keys1: npt.NDArray[np.float64],
    slots1: Optional[npt.NDArray[np.int64]],
    size1: int,
    items1: Optional[npt.NDArray[Any]],
    keys2: npt.NDArray[np.float64],
    slots2: Optional[npt.NDArray[np.int64]],
    size2: int,
    items2: Optional[npt.NDArray[Any]],
) -> Tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64], npt.NDArray[Any], float, int]: ...
def weighted_heapify(
    keys: npt.NDArray[np.float64], slots: npt.NDArray[np.int64], n: int
) -> None: ...
def resume(k0: int, k1: int, k: int, n: int) -> Tuple[float, int]: ...

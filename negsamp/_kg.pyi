from typing import Any, Optional, Tuple

import numpy as np

def corrupt_fill(triples: np.ndarray, head_repl: Optional[np.ndarray],
                 tail_repl: Optional[np.ndarray], is_head: Optional[np.ndarray],
                 k: int, n_threads: int, out: Optional[np.ndarray] = ...) -> np.ndarray: ...
def key_rows(n: int, known_keys: np.ndarray,
             keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
def keyed_uniform(keys: np.ndarray, k: int, k0: int, k1: int, n_threads: int) -> np.ndarray: ...

class Side:
    def __init__(self, column: int, first: int, second: int, n_items: int,
                 anchors: np.ndarray, indptr: np.ndarray, items: np.ndarray,
                 pool_ptr: Optional[np.ndarray], pool_ids: Optional[np.ndarray]) -> None: ...
def sample(sides: Tuple[Side, ...], n_entities: int, triples: np.ndarray, k: int,
           p_head: Optional[np.ndarray], k0: int, k1: int, keys: Optional[np.ndarray],
           n_threads: int, out: np.ndarray) -> int: ...

from typing import Optional, Tuple

import numpy as np

def corrupt_fill(triples: np.ndarray, head_repl: Optional[np.ndarray],
                 tail_repl: Optional[np.ndarray], is_head: Optional[np.ndarray],
                 k: int, n_threads: int) -> np.ndarray: ...
def key_rows(n: int, known_keys: np.ndarray,
             keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
def keyed_uniform(keys: np.ndarray, k: int, k0: int, k1: int, n_threads: int) -> np.ndarray: ...

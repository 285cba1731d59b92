from typing import Dict

import numpy as np
import numpy.typing as npt

STATUS_NAMES: Dict[int, str]

def raise_for_status(status: int, what: str) -> None: ...
def _rng_stream_py(
    k0: int, k1: int, block: int, count: int, kind: str = "raw", bound: int = 0
) -> npt.NDArray[np.generic]: ...

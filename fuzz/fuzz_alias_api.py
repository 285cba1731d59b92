"""atheris harness: AliasTable(weights), AliasTable.from_counts, .sample and
.log_prob on fuzzed small arrays, sizes, dtypes and rng arguments."""
import sys

import atheris
import numpy  # noqa: F401  (not instrumented: only negsamp and the harness are)

with atheris.instrument_imports():
    import numpy as np
    import negsamp
    import _common as c
    import _exercise


def size_arg(fdp):
    kind = fdp.ConsumeIntInRange(0, 5)
    if kind == 0:
        s = c.small_int(fdp, 0, 50)
        # sizes between 1e4 and 2**45 could really be allocated (GBs): not fuzzed
        return s if s < 10**4 or s >= 2**45 else s % 300
    if kind == 1:
        dims = tuple(fdp.ConsumeIntInRange(0, 6) for _ in range(fdp.ConsumeIntInRange(0, 3)))
        return dims if fdp.ConsumeBool() else list(dims)
    if kind == 2:
        # huge sizes must fail cleanly (MemoryError / ValueError), never allocate
        return fdp.PickValueInList([2**45, (2**23, 2**23), -1, (3, -2), 2**62, (2**31, 2**31, 0)])
    if kind == 3:
        return fdp.PickValueInList([None, 2.0, "3", True, (1.5,), (np.int64(2), 3), np.int32(4), [None]])
    return fdp.ConsumeIntInRange(0, 300)


def body(fdp):
    if fdp.ConsumeBool():
        w = c.float_array(fdp, fdp.ConsumeIntInRange(0, 10), 0.0, 5.0) if fdp.ConsumeBool() else c.any_array(fdp)
        t = c.expect(negsamp.AliasTable, w)
    else:
        counts = c.any_array(fdp) if fdp.ConsumeBool() else c.int_array(fdp, fdp.ConsumeIntInRange(1, 9), 0, 50)
        power = fdp.PickValueInList([0.75, 1.0, 0.0, -1.0, float("nan"), 1e308, "0.5", None, True, 3])
        t = c.expect(negsamp.AliasTable.from_counts, counts, power)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        size = size_arg(fdp)
        dtype = fdp.PickValueInList([np.int64, np.int32, "int64", np.float64, "bogus", None, np.uint32])
        out = c.call(t.sample, size, rng=c.rng_arg(fdp), n_threads=c.threads_arg(fdp), dtype=dtype)
        if out is not None:
            c.check(out.dtype in (np.int64, np.int32), f"sample dtype {out.dtype}")
            if out.size:
                c.check(out.min() >= 0 and out.max() < len(t), "draw out of range")
                c.check((t.probabilities[out] > 0).all(), "drew an item of weight 0")
    ids = c.any_array(fdp)
    lp = c.call(t.log_prob, ids)
    if lp is not None:
        c.check(not np.isnan(lp).any(), "log_prob gave NaN")
    if fdp.ConsumeIntInRange(0, 7) == 0:
        _exercise.alias_table(t)


if __name__ == "__main__":
    c.run(body)

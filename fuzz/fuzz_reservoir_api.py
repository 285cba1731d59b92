"""atheris harness: Reservoir / WeightedReservoir construction, update on
fuzzed chunks (arrays of any dtype and layout, lists, bad weights) and
merge; every step is checked against the documented invariants."""
import sys

import atheris
import numpy  # noqa: F401  (not instrumented: only negsamp and the harness are)

with atheris.instrument_imports():
    import numpy as np
    import negsamp
    import _common as c
    import _exercise


def chunk(fdp, weighted):
    n = fdp.ConsumeIntInRange(0, 12)
    kind = fdp.ConsumeIntInRange(0, 6)
    if kind == 0:
        items = c.any_array(fdp)
    elif kind == 1:
        items = list(range(n))
    elif kind == 2:
        items = (i for i in range(n))
    else:
        items = c.layout(fdp, np.arange(n, dtype=np.int64) + 100 * fdp.ConsumeIntInRange(0, 9))
    if not weighted:
        return (items,)
    wkind = fdp.ConsumeIntInRange(0, 4)
    if wkind == 0:
        w = c.any_array(fdp)
    else:
        length = len(items) if hasattr(items, "__len__") else n
        w = c.float_array(fdp, length, 0.0, 3.0)
    return (items, w)


def body(fdp):
    weighted = fdp.ConsumeBool()
    cls = negsamp.WeightedReservoir if weighted else negsamp.Reservoir
    k = c.small_int(fdp, 1, 6) if fdp.ConsumeIntInRange(0, 5) else fdp.PickValueInList([0, -1, 2.0, "3", None, True, 2**40])
    if isinstance(k, int) and k > 10**6:
        k = 10**6  # k is allocated lazily; keep it cheap anyway
    r = c.expect(cls, k, rng=c.rng_arg(fdp))
    others = [cls(r.k, rng=1)]
    for _ in range(fdp.ConsumeIntInRange(1, 5)):
        target = r if fdp.ConsumeBool() else others[0]
        args = chunk(fdp, weighted)
        before = target.to_state_tuple()
        if not c.attempt(target.update, *args):
            c.check(target.to_state_tuple() == before, "a failed update changed the reservoir")
    merged = c.call(r.merge, others[0], rng=c.rng_arg(fdp) if fdp.ConsumeBool() else None)
    if merged is not None:
        c.check(merged.count == r.count + others[0].count, "merged count is not the sum")
        _exercise.reservoir(merged)
    c.call(r.merge, r)
    c.call(r.merge, cls(r.k + 1))
    _exercise.reservoir(r)


if __name__ == "__main__":
    c.run(body)

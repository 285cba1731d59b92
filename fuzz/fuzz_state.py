"""atheris harness: __setstate__ of every public class (AliasTable,
NegativeSampler, Reservoir, WeightedReservoir) on an object made with
cls.__new__(cls).  The state dict is built from fuzzed fields: a genuine
state of a small object built from fuzzed inputs, then a few fields
dropped, replaced by fuzzed values of any type, or nudged.  Raw pickle
bytes are out of scope (numpy's own unpickler can crash on them).  A state
that loads is exercised like any other object."""
import sys

import atheris
import numpy  # noqa: F401  (not instrumented: only negsamp and the harness are)

with atheris.instrument_imports():
    import numpy as np
    import negsamp
    import _common as c
    import _exercise
    from negsamp import _alias

_NEVER = 2**63 - 1


def genuine(fdp, which):
    """A real object of class ``which``, built from small fuzzed inputs."""
    if which == 0:
        n = fdp.ConsumeIntInRange(1, 12)
        w = np.array([c.real(fdp, 0.0, 3.0) for _ in range(n)])
        w = np.where(np.isfinite(w) & (w >= 0), w, 1.0)
        w[0] = max(w[0], 0.5)
        return negsamp.AliasTable(w)
    if which == 1:
        n = fdp.ConsumeIntInRange(1, 12)
        weights = None
        if fdp.ConsumeBool():
            weights = np.arange(n, dtype=np.float64) + fdp.ConsumeIntInRange(0, 2)
            weights[0] = max(weights[0], 1.0)
        positives = None
        if fdp.ConsumeBool():
            positives = [np.array(fdp.ConsumeIntListInRange(fdp.ConsumeIntInRange(0, n), 0, n - 1),
                                  dtype=np.int64) for _ in range(fdp.ConsumeIntInRange(0, 4))]
        return negsamp.NegativeSampler(n if weights is None else None, weights=weights,
                                       power=fdp.PickValueInList([1.0, 0.75, 0.0, 2.0]),
                                       positives=positives)
    k = fdp.ConsumeIntInRange(1, 6)
    r = (negsamp.Reservoir if which == 2 else negsamp.WeightedReservoir)(k, rng=fdp.ConsumeIntInRange(0, 99))
    dt = fdp.PickValueInList([np.int64, np.int16, np.float32, np.uint8, "U3", "V4", object, None])
    for _ in range(fdp.ConsumeIntInRange(0, 3) if dt is not None else 0):
        m = fdp.ConsumeIntInRange(0, 9)
        items = np.zeros(m, dtype=dt) if dt is not object else np.array([None] * m, dtype=object)
        if which == 2:
            r.update(items)
        else:
            r.update(items, np.array([c.real(fdp, 0.0, 2.0) for _ in range(m)]).clip(0, 5) if m else [])
    return r


def fuzzed_value(fdp, old):
    kind = fdp.ConsumeIntInRange(0, 9)
    if kind == 0:
        return c.small_int(fdp)
    if kind == 1:
        return c.real(fdp)
    if kind == 2:
        return c.any_array(fdp)
    if kind == 3 and isinstance(old, (int, np.integer)) and not isinstance(old, bool):
        return int(old) + fdp.PickValueInList([-1, 1, -2, 2**31, -(2**63)])
    if kind == 4 and isinstance(old, float):
        return old * fdp.PickValueInList([-1.0, 0.5, 2.0, float("nan"), float("inf")])
    if kind == 5 and isinstance(old, np.ndarray) and old.size and not old.dtype.hasobject:
        arr = old.copy()
        flat = arr.reshape(-1).view(np.uint8)
        i = fdp.ConsumeIntInRange(0, flat.size - 1)
        flat[i] ^= 1 << fdp.ConsumeIntInRange(0, 7)
        return arr
    if kind == 6 and isinstance(old, np.ndarray):
        return old[: max(0, old.shape[0] - 1)] if old.ndim else old
    if kind == 7 and isinstance(old, np.ndarray):
        return c.layout(fdp, old)
    if kind == 8:
        return fdp.PickValueInList([None, "x", b"", [], {}, True, np.float64(1.0), np.int8(3),
                                    np.dtype("O"), np.dtype("V0"), "i8", _alias.TABLE_DTYPE])
    return old


def body(fdp):
    which = fdp.ConsumeIntInRange(0, 3)
    cls = [negsamp.AliasTable, negsamp.NegativeSampler, negsamp.Reservoir, negsamp.WeightedReservoir][which]
    try:
        obj = genuine(fdp, which)
    except ValueError:
        return  # e.g. a row whose positives hold every item
    state = dict(obj.__getstate__())
    if which == 1 and fdp.ConsumeBool() and state.get("table") is not None:
        state["table"] = dict(state["table"])
    for _ in range(fdp.ConsumeIntInRange(0, 3)):
        keys = sorted(state) + ["extra"]
        key = fdp.PickValueInList(keys)
        if fdp.ConsumeIntInRange(0, 4) == 0:
            state.pop(key, None)
        elif which == 1 and key == "table" and isinstance(state.get("table"), dict) and fdp.ConsumeBool():
            state["table"]["table"] = fuzzed_value(fdp, state["table"].get("table"))
        else:
            state[key] = fuzzed_value(fdp, state.get(key))
    if fdp.ConsumeIntInRange(0, 15) == 0:
        state = fdp.PickValueInList([None, [], (), "state", 0])
    new = cls.__new__(cls)
    try:
        new.__setstate__(state)
    except c.ACCEPTED as exc:
        if not str(exc).strip():
            raise c.Finding(f"{type(exc).__name__} with an empty message from __setstate__") from exc
        # A refused state leaves an uninitialised object: its repr must
        # still work (issue 11 finding 7).
        c.check(isinstance(repr(new), str), "repr of a refused state's object")
        return
    if which == 0:
        _exercise.alias_table(new)
    elif which == 1:
        _exercise.negative_sampler(new)
    else:
        _exercise.reservoir(new)


if __name__ == "__main__":
    c.run(body)

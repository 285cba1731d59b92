"""atheris harness: topk and hard_negatives on fuzzed small matrices.
topk is checked against a stable-argsort reference; hard_negatives against
the exclusions, windows and ordering it documents."""
import sys

import atheris
import numpy  # noqa: F401  (not instrumented: only negsamp and the harness are)

with atheris.instrument_imports():
    import numpy as np
    import negsamp
    import _common as c


def exclude_arg(fdp, rows, n):
    if fdp.ConsumeBool():
        return None
    if fdp.ConsumeIntInRange(0, 4) == 0:
        return c.any_array(fdp)
    return [c.int_array(fdp, fdp.ConsumeIntInRange(0, n + 1), 0, max(n - 1, 0)) for _ in range(rows)]


def matrix(fdp, b, d, lo=-2.0, hi=2.0):
    vals = np.array([c.real(fdp, lo, hi) if fdp.ConsumeIntInRange(0, 30) else float("nan")
                     for _ in range(b * d)], dtype=np.float64).reshape(b, d)
    dt = fdp.PickValueInList([np.float64, np.float32, np.float32, np.int64, np.float16])
    with np.errstate(all="ignore"):
        return c.layout(fdp, vals.astype(dt))


def reference_topk(scores, k, excl, largest):
    s = np.asarray(scores)
    ids = np.full((s.shape[0], k), -1, dtype=np.int64)
    for r in range(s.shape[0]):
        ok = np.ones(s.shape[1], dtype=bool)
        if excl is not None:
            ok[np.asarray(excl[r], dtype=np.int64)] = False
        cand = np.flatnonzero(ok)
        key = -s[r, cand] if largest else s[r, cand]
        order = cand[np.argsort(key, kind="stable")][:k]
        ids[r, : order.size] = order
    return ids


def topk(fdp):
    b, n = fdp.ConsumeIntInRange(0, 4), fdp.ConsumeIntInRange(0, 9)
    scores = matrix(fdp, b, n) if fdp.ConsumeIntInRange(0, 6) else c.any_array(fdp)
    k = c.count_arg(fdp, 0, 10)
    excl = exclude_arg(fdp, b, n)
    largest = fdp.PickValueInList([True, False, 1, None])
    out = c.call(negsamp.topk, scores, k, exclude=excl, largest=largest, n_threads=c.threads_arg(fdp))
    if out is None:
        return
    ids, vals = out
    s = np.asarray(scores)
    c.check(ids.shape == (s.shape[0], k) and vals.shape == ids.shape, "bad topk shape")
    if isinstance(excl, list) and all(isinstance(e, np.ndarray) for e in excl):
        ref = reference_topk(s.astype(np.float64) if s.dtype.kind in "iu" else s, k, excl, bool(largest))
        c.check(np.array_equal(ids, ref), f"topk ids {ids.tolist()} != reference {ref.tolist()}")
    c.check(np.isnan(vals[ids < 0]).all(), "padding score is not NaN")


def hard(fdp):
    b, n, d = fdp.ConsumeIntInRange(0, 4), fdp.ConsumeIntInRange(0, 9), fdp.ConsumeIntInRange(0, 3)
    q = matrix(fdp, b, d)
    cand = matrix(fdp, n, d) if fdp.ConsumeIntInRange(0, 6) else c.any_array(fdp)
    k = c.count_arg(fdp, 0, 10)
    kwargs = {}
    if fdp.ConsumeBool():
        kwargs["exclude"] = exclude_arg(fdp, b, n)
    if fdp.ConsumeBool():
        kwargs["positives"] = exclude_arg(fdp, b, n)
    if fdp.ConsumeIntInRange(0, 3) == 0:
        kwargs["positive_scores"] = c.float_array(fdp, b, -2.0, 2.0) if fdp.ConsumeBool() else c.any_array(fdp)
    for name in ("max_score", "min_score", "absolute_margin", "relative_margin", "temperature"):
        if fdp.ConsumeIntInRange(0, 3) == 0:
            kwargs[name] = c.real(fdp, -1.0, 2.0) if fdp.ConsumeIntInRange(0, 5) else fdp.PickValueInList(["1", None, True])
    if fdp.ConsumeIntInRange(0, 3) == 0:
        # Any size (issue 11 finding 1: heaps hold at most min(k + skip_top, N)).
        kwargs["skip_top"] = (c.small_int(fdp, 0, 5) % 64 if fdp.ConsumeBool() else
                              fdp.PickValueInList([2**31 - 1, 2**62, 2**63 - 2, 2**63 - 1, 10**30]))
    if fdp.ConsumeIntInRange(0, 3) == 0:
        kwargs["block_size"] = fdp.PickValueInList([1, 2, 3, 0, -1, None, 2.5])
    metric = fdp.PickValueInList(["dot", "cosine", "dot", "l2"])
    largest = fdp.PickValueInList([True, False])
    out = c.call(negsamp.hard_negatives, q, cand, k, metric=metric, largest=largest,
                 rng=c.rng_arg(fdp), n_threads=c.threads_arg(fdp), **kwargs)
    if out is None:
        return
    ids, scores = out
    nq = np.asarray(q).shape[0]
    nc = np.asarray(cand).shape[0]
    c.check(ids.shape == (nq, k) and scores.shape == ids.shape, "bad hard_negatives shape")
    c.check(((ids >= -1) & (ids < nc)).all(), "id out of range")
    c.check(np.isnan(scores[ids < 0]).all() and not np.isnan(scores[ids >= 0]).any(), "NaN/padding mismatch")
    for r in range(nq):
        real_ids = ids[r][ids[r] >= 0]
        c.check(len(set(real_ids.tolist())) == real_ids.size, "repeated id in a row")
        c.check((ids[r][real_ids.size:] == -1).all(), "padding not at the end")
        for key in ("exclude", "positives"):
            lists = kwargs.get(key)
            if isinstance(lists, list) and r < len(lists) and isinstance(lists[r], np.ndarray):
                c.check(not (set(real_ids.tolist()) & set(np.asarray(lists[r]).astype(np.int64).tolist())),
                        f"returned an id of {key}")
        if kwargs.get("temperature") is None:
            sc = scores[r][: real_ids.size].astype(np.float64)
            c.check((np.diff(sc) <= 0).all() if largest else (np.diff(sc) >= 0).all(), "scores not best first")


def body(fdp):
    (topk if fdp.ConsumeBool() else hard)(fdp)


if __name__ == "__main__":
    c.run(body)

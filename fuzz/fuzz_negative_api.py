"""atheris harness: NegativeSampler(n_items, weights, power, positives) and
.sample, corrupt_triples, KGSampler and negative_edges on fuzzed small inputs; outputs
are checked against the documented guarantees (range, never a positive,
never a known triple / an edge, distinct without replacement)."""
import sys

import atheris
import numpy  # noqa: F401  (not instrumented: only negsamp and the harness are)

with atheris.instrument_imports():
    import numpy as np
    import negsamp
    import _common as c
    import _exercise


def positives_arg(fdp, n):
    kind = fdp.ConsumeIntInRange(0, 4)
    rows = fdp.ConsumeIntInRange(0, 5)
    if kind == 0:
        return None
    if kind == 1:
        return [c.int_array(fdp, fdp.ConsumeIntInRange(0, n + 1), 0, n) for _ in range(rows)]
    if kind == 2:
        lengths = [fdp.ConsumeIntInRange(0, 3) for _ in range(rows)]
        indptr = c.int_array(fdp, 0, 0, 0) if False else np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if fdp.ConsumeIntInRange(0, 3) == 0:
            indptr = c.int_array(fdp, rows + 1, 0, 6)
        return (c.layout(fdp, indptr), c.int_array(fdp, int(sum(lengths)), 0, n))
    if kind == 3:
        return c.any_array(fdp)
    import scipy.sparse as sp
    dense = np.array([[fdp.ConsumeIntInRange(0, 3) == 0 for _ in range(n)] for _ in range(rows)], dtype=np.int8)
    return sp.csr_matrix(dense.reshape(rows, n)) if rows else sp.csr_matrix((0, n))


def sampler(fdp):
    n = c.small_int(fdp, 1, 10)
    n_arg = n if fdp.ConsumeIntInRange(0, 3) else fdp.PickValueInList([None, 0, -1, 2.0, "5", True])
    weights = None
    if fdp.ConsumeBool():
        length = n if fdp.ConsumeIntInRange(0, 4) and n <= 12 else fdp.ConsumeIntInRange(0, 11)
        weights = c.float_array(fdp, length, 0.0, 3.0)
    power = fdp.PickValueInList([1.0, 1.0, 0.75, 0.0, -1.0, float("inf"), None, "1"])
    pos = positives_arg(fdp, n if isinstance(n, int) and 1 <= n < 64 else 10)
    s = c.expect(negsamp.NegativeSampler, n_arg, weights=weights, power=power, positives=pos)
    rows = c.any_array(fdp) if fdp.ConsumeIntInRange(0, 3) == 0 else c.int_array(fdp, fdp.ConsumeIntInRange(0, 6), 0, 5)
    k = c.count_arg(fdp, 0, 5)
    replace = fdp.PickValueInList([True, False, 1, None])
    out = c.call(s.sample, rows, k, rng=c.rng_arg(fdp), replace=replace,
                 n_threads=c.threads_arg(fdp), return_log_q=fdp.ConsumeBool())
    if out is not None:
        neg = out[0] if isinstance(out, tuple) else out
        c.check(neg.ndim == 2 and neg.shape[1] == k, "bad negatives shape")
        c.check(neg.size == 0 or (neg.min() >= 0 and neg.max() < s.n_items), "negative out of range")
        if s.positives is not None and neg.size:
            ids = np.asarray(rows).astype(np.int64).reshape(-1)
            for i, r in enumerate(ids.tolist()):
                c.check(not (set(neg[i].tolist()) & set(s.positives.row(r).tolist())), "drew a positive")
    if fdp.ConsumeIntInRange(0, 5) == 0:
        _exercise.negative_sampler(s)


def triples(fdp):
    n_ent = c.small_int(fdp, 1, 8)
    m = fdp.ConsumeIntInRange(0, 6)
    t = c.int_array(fdp, 3 * m, 0, 7)
    t = t.reshape(m, 3) if fdp.ConsumeIntInRange(0, 5) else t
    known = None
    if fdp.ConsumeBool():
        mk = fdp.ConsumeIntInRange(0, 10)
        known = c.int_array(fdp, 3 * mk, 0, 7).reshape(mk, 3) if fdp.ConsumeIntInRange(0, 5) else c.any_array(fdp)
    k = c.count_arg(fdp, 0, 4)
    mode = fdp.PickValueInList(["tail", "head", "both", "bernoulli", "HEAD", None, 1])
    out = c.call(negsamp.corrupt_triples, t, n_ent, k, mode=mode, known=known,
                 rng=c.rng_arg(fdp), n_threads=c.threads_arg(fdp))
    if out is None:
        return
    t = np.asarray(t).astype(np.int64)
    c.check(out.shape == (t.shape[0], k, 3) and out.dtype == np.int64, "bad corrupt_triples shape")
    known_set = set(map(tuple, np.asarray(known).astype(np.int64).tolist())) if known is not None else set()
    for i in range(t.shape[0]):
        for s in range(k):
            row = out[i, s]
            c.check(row[1] == t[i, 1], "relation changed")
            head_changed, tail_changed = row[0] != t[i, 0], row[2] != t[i, 2]
            c.check(head_changed != tail_changed, "not exactly one side replaced")
            c.check(0 <= row[0] < n_ent and 0 <= row[2] < n_ent, "entity out of range")
            if mode == "tail":
                c.check(tail_changed, "mode=tail replaced the head")
            if mode == "head":
                c.check(head_changed, "mode=head replaced the tail")
            c.check(tuple(row.tolist()) not in known_set, "made a known triple")


def kg_sampler(fdp):
    """KGSampler with fuzzed known triples, pools, sides, modes, keys, out=."""
    n_ent = c.small_int(fdp, 1, 8)
    n_rel = c.small_int(fdp, 1, 3)
    mk = fdp.ConsumeIntInRange(0, 10)
    known = c.int_array(fdp, 3 * mk, 0, 7).reshape(mk, 3) if fdp.ConsumeIntInRange(0, 5) else c.any_array(fdp)
    pools = None
    if fdp.ConsumeBool() and 0 < n_rel <= 3:  # (n_rel may be an edge value)
        pools = [c.int_array(fdp, fdp.ConsumeIntInRange(0, 4), 0, 8) for _ in range(n_rel)]
    s = c.call(negsamp.KGSampler, known, n_ent, n_rel,
               filtered=fdp.PickValueInList([True, False, 1]),
               tail_candidates=pools if fdp.ConsumeBool() else None,
               head_candidates=pools if fdp.ConsumeBool() else None)
    if s is None:
        return
    m = fdp.ConsumeIntInRange(0, 6)
    t = c.int_array(fdp, 3 * m, 0, 7)
    t = t.reshape(m, 3) if fdp.ConsumeIntInRange(0, 5) else t
    k = c.count_arg(fdp, 0, 4)
    sides = fdp.PickValueInList([("head", "tail"), "tail", ("relation",), ("head", "relation", "tail"),
                                 ("tail", "tail"), "x", 3])
    mode = fdp.PickValueInList(["uniform", "bernoulli", "both", None])
    keys = c.int_array(fdp, m, 0, 9) if fdp.ConsumeBool() else None
    out = c.call(s.corrupt, t, k, corrupt=sides, mode=mode, rng=c.rng_arg(fdp),
                 n_threads=c.threads_arg(fdp), keys=keys)
    if out is None:
        return
    t = np.asarray(t).astype(np.int64)
    c.check(out.shape == t.shape[:-1] + (k, 3) and out.dtype == np.int64, "bad KGSampler shape")
    t = t.reshape(-1, 3)
    out = out.reshape(t.shape[0], k, 3)
    known_set = set(map(tuple, np.asarray(known).astype(np.int64).reshape(-1, 3).tolist())) \
        if s.filtered else set()
    for i in range(t.shape[0]):
        for row in out[i].tolist():
            changed = [j for j in range(3) if row[j] != t[i, j]]
            c.check(len(changed) == 1, "not exactly one column replaced")
            c.check(tuple(row) not in known_set, "KGSampler made a known triple")
            c.check(0 <= row[0] < n_ent and 0 <= row[2] < n_ent and 0 <= row[1] < n_rel,
                    "id out of range")


def edges(fdp):
    n = c.small_int(fdp, 1, 7)
    e = fdp.ConsumeIntInRange(0, 8)
    ei = c.int_array(fdp, 2 * e, 0, 6)
    ei = ei.reshape(2, e) if fdp.ConsumeIntInRange(0, 5) else ei
    num = c.count_arg(fdp, 0, 6)
    method = fdp.PickValueInList(["global", "per_source", "global", "x", None])
    self_loops = fdp.PickValueInList([True, False, 0])
    undirected = fdp.PickValueInList([False, True, None])
    replace = fdp.PickValueInList([False, True, "no"])
    out = c.call(negsamp.negative_edges, ei, n, num, method=method, exclude_self_loops=self_loops,
                 undirected=undirected, replace=replace, rng=c.rng_arg(fdp), n_threads=c.threads_arg(fdp))
    if out is None:
        return
    ei = np.asarray(ei).astype(np.int64).reshape(2, -1)
    edge_set = set(zip(ei[0].tolist(), ei[1].tolist()))
    if undirected:
        edge_set |= {(v, u) for u, v in edge_set}
    c.check(out.size == 0 or (out.min() >= 0 and out.max() < n), "node out of range")
    if method == "global":
        c.check(out.shape == (2, num), "bad global shape")
        pairs = list(zip(out[0].tolist(), out[1].tolist()))
        for u, v in pairs:
            c.check((u, v) not in edge_set, "returned an edge")
            if self_loops:
                c.check(u != v, "returned a self loop")
            if undirected:
                c.check(u < v or (u == v and not self_loops), "undirected pair not canonical")
        if not replace:
            c.check(len(set(pairs)) == len(pairs), "repeated pair without replacement")
    else:
        c.check(out.shape == (ei.shape[1], num), "bad per_source shape")
        for i in range(ei.shape[1]):
            u = int(ei[0, i])
            for v in out[i].tolist():
                c.check((u, v) not in edge_set, "per_source returned an edge")


def body(fdp):
    fdp.PickValueInList([sampler, triples, kg_sampler, edges])(fdp)


if __name__ == "__main__":
    c.run(body)

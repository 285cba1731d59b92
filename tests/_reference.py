"""Pure-Python references of the documented random streams (csrc/ns_rng.h)
and of AliasTable's draws (csrc/ns_alias.h), slow but obviously right."""
MASK = (1 << 64) - 1


def _splitmix(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def xoshiro_stream(k0, k1, block):
    """Generator of the xoshiro256++ words of stream (k0, k1, block)."""
    _, m = _splitmix(k1 ^ ((block * 0xD1342543DE82EF95) & MASK))
    z = k0 ^ m
    s = []
    for _ in range(4):
        z, v = _splitmix(z)
        s.append(v)
    while True:
        result = (_rotl((s[0] + s[3]) & MASK, 23) + s[0]) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        yield result


def reference_stream(k0, k1, block, count):
    stream = xoshiro_stream(k0, k1, block)
    return [next(stream) for _ in range(count)]


LANES = 16          # NS_RNG_LANES
STREAMS = LANES + 2  # NS_ALIAS_STREAMS
BLOCK = 16384        # NS_ALIAS_BLOCK


def alias_draws(thresholds, aliases, k0, k1, count):
    """The draws of a table of n < 2**32 entries (thresholds in [0, 2**53],
    aliases) under key (k0, k1), as documented in csrc/ns_alias.h.  Returns
    (draws, number of redrawn columns, number of coin ties)."""
    n = len(thresholds)
    reject_below = (1 << 32) % n
    out = []
    redraws = ties = 0
    for b in range(0, (count + BLOCK - 1) // BLOCK):
        first = b * STREAMS
        lanes = [xoshiro_stream(k0, k1, first + lane) for lane in range(LANES)]
        redraw = xoshiro_stream(k0, k1, first + LANES)
        tie = xoshiro_stream(k0, k1, first + LANES + 1)
        for j in range(min(BLOCK, count - b * BLOCK)):
            x = next(lanes[j % LANES])  # lane j % 16, its word number j // 16
            while ((x >> 32) * n) & 0xFFFFFFFF < reject_below:
                x = next(redraw)
                redraws += 1
            column = ((x >> 32) * n) >> 32
            coin = x & 0xFFFFFFFF
            threshold = thresholds[column]
            if coin == threshold >> 21:
                ties += 1
                keep = (next(tie) >> 43) < (threshold & 0x1FFFFF)
            else:
                keep = coin < threshold >> 21
            out.append(column if keep else int(aliases[column]))
    return out, redraws, ties


# ------------------------------------------------------------ keyed rows
KEYED_DOMAIN = 0x6E73726F776B6579  # NS_RNG_KEYED_DOMAIN ("nsrowkey")


def keyed_stream(k0, k1, key):
    """Words of the keyed row stream of `key` (ns_rng_seed_keyed)."""
    return xoshiro_stream(k0, k1 ^ KEYED_DOMAIN, key)


def bounded(stream, n):
    """ns_rng_bounded: Lemire's unbiased integer in [0, n)."""
    m = next(stream) * n
    if m & MASK < n:
        threshold = ((1 << 64) - n) % n
        while m & MASK < threshold:
            m = next(stream) * n
    return m >> 64


def keyed_uniform_rows(k0, k1, keys, n, k, replace=True):
    """NegativeSampler(n).sample(rows, k, keys=keys) without positives (the
    uniform path of csrc/ns_negative.c, row_uniform with m = 0): with
    replacement k bounded integers; without, the j-th item not chosen yet
    for j uniform in [0, n - t)."""
    out = []
    for key in keys:
        s = keyed_stream(k0, k1, int(key))
        if replace:
            out.append([bounded(s, n) for _ in range(k)])
            continue
        chosen, row = [], []  # chosen sorted
        for t in range(k):
            j = bounded(s, n - t)
            rank = j + sum(1 for i, v in enumerate(chosen) if v - i <= j)
            chosen.insert(sum(1 for v in chosen if v < rank), rank)
            row.append(rank)
        out.append(row)
    return out


def keyed_exclude_one_rows(k0, k1, keys, own, n, k):
    """Rows excluding exactly one item own[i] (corrupt_triples without
    known): the short-row rejection of row_uniform, redrawing while the
    draw is the excluded item."""
    out = []
    for key, x_own in zip(keys, own):
        s = keyed_stream(k0, k1, int(key))
        row = []
        for _ in range(k):
            x = bounded(s, n)
            while x == x_own:  # 32 rejections in a row would switch method: n > 2 here
                x = bounded(s, n)
            row.append(x)
        out.append(row)
    return out


def keyed_doubles(k0, k1, keys, k):
    """ns_keyed_uniform: the first k doubles (top 53 bits) of each keyed row."""
    out = []
    for key in keys:
        s = keyed_stream(k0, k1, int(key))
        out.append([(next(s) >> 11) * 2.0**-53 for _ in range(k)])
    return out


def alias_keyed_rows(thresholds, aliases, k0, k1, keys, k, batch=32):
    """AliasTable.sample((len(keys), k), keys=keys) for n < 2**32, as
    documented in csrc/ns_alias.h: per row, batches of 32 columns (32-bit
    Lemire on a word's high half, the low half the coin), then resolved in
    order, a coin tie reading the next word."""
    n = len(thresholds)
    reject_below = ((1 << 32) - n) % n
    out = []
    for key in keys:
        s = keyed_stream(k0, k1, int(key))
        row = []
        for j0 in range(0, k, batch):
            drawn = []
            for _ in range(min(batch, k - j0)):
                while True:
                    x = next(s)
                    m = (x >> 32) * n
                    if (m & 0xFFFFFFFF) >= n or (m & 0xFFFFFFFF) >= reject_below:
                        break
                drawn.append((m >> 32, x & 0xFFFFFFFF))
            for column, coin in drawn:
                threshold = int(thresholds[column])
                if coin == threshold >> 21:
                    keep = (next(s) >> 43) < (threshold & 0x1FFFFF)
                else:
                    keep = coin < threshold >> 21
                row.append(column if keep else int(aliases[column]))
        out.append(row)
    return out


# ------------------------------------------------- block-stream samplers
# The mirrors below follow the C kernels' documented paths draw by draw, so
# that tests/data/make_goldens.py can compute golden vectors from this file
# alone.  A case that would leave the mirrored paths raises NotMirrored
# (make_goldens.py only writes cases that stay on them).
import math

import numpy as np


class NotMirrored(Exception):
    """The case takes a kernel path this reference does not mirror."""


def draw_key(seed):
    """negsamp._rng.draw_key: one 128-bit key, two uint64 from numpy's
    default_rng(seed) (or from a Generator, which advances)."""
    gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    key = gen.integers(0, 2**64, size=2, dtype=np.uint64)
    return int(key[0]), int(key[1])


ONE = 1 << 53  # NS_ALIAS_ONE


def alias_build(weights):
    """ns_alias_build (Vose): (thresholds, aliases) of float64 weights,
    float64 operation for float64 operation."""
    w = [float(x) for x in weights]
    n = len(w)
    wmax = 0.0
    for x in w:
        if x > wmax:
            wmax = x
    total = comp = 0.0
    for x in w:
        x = x / wmax
        t = total + x
        comp += (total - t) + x if abs(total) >= abs(x) else (x - t) + total
        total = t
    total += comp
    scale = float(n) / total
    q = [0.0] * n
    alias = list(range(n))
    work = [0] * n
    n_small = n_large = 0
    for i in range(n):
        q[i] = (w[i] / wmax) * scale
        if q[i] >= 1.0:
            n_large += 1
            work[n - n_large] = i
        elif q[i] > 0.0:
            work[n_small] = i
            n_small += 1
    for i in range(n):
        if q[i] == 0.0:
            work[n_small] = i
            n_small += 1
    last_large = work[n - 1]
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = work[n_small]
        big = work[n - n_large]
        last_large = big
        alias[s] = big
        q[big] = (q[big] + q[s]) - 1.0
        if q[big] < 1.0:
            n_large -= 1
            work[n_small] = big
            n_small += 1
    while n_large > 0:
        big = work[n - n_large]
        n_large -= 1
        q[big], alias[big] = 1.0, big
    while n_small > 0:
        n_small -= 1
        s = work[n_small]
        if w[s] > 0.0:
            q[s], alias[s] = 1.0, s
        else:
            q[s], alias[s] = 0.0, last_large

    def threshold_of(p):
        if not p > 0.0:
            return 0
        if p >= 1.0:
            return ONE
        return int(math.ceil(p * 9007199254740992.0))

    return [threshold_of(p) for p in q], alias


def alias_probabilities(thresholds, aliases):
    """ns_alias_probabilities: the exact law of a table."""
    n = len(thresholds)
    unit = 1.0 / 9007199254740992.0
    out = [float(t) * unit for t in thresholds]
    for t, a in zip(thresholds, aliases):
        if t < ONE:
            out[a] += float(ONE - t) * unit
    inv_n = 1.0 / float(n)
    return [p * inv_n for p in out]


def neumaier_prefix(values):
    """ns_negative_cumulative: cum[0] = 0, cum[i + 1] = compensated sum."""
    total = comp = 0.0
    cum = [0.0]
    for p in values:
        t = total + p
        comp += (total - t) + p if abs(total) >= abs(p) else (p - t) + total
        total = t
        cum.append(total + comp)
    return cum


def alias_column(stream, n):
    """ns_alias_column for n < 2**32: (column, 32-bit coin) from one word,
    Lemire's 32-bit rejection on the high half."""
    reject_below = ((1 << 32) - n) % n
    while True:
        x = next(stream)
        m = (x >> 32) * n
        lo = m & 0xFFFFFFFF
        if lo >= n or lo >= reject_below:
            return m >> 32, x & 0xFFFFFFFF


def alias_resolve(thresholds, aliases, column, coin, stream):
    """ns_alias_resolve: keep the column when the 53-bit coin is below its
    threshold, the 21 low bits read from the stream only on a tie."""
    threshold = int(thresholds[column])
    t_hi = threshold >> 21
    if coin == t_hi:
        keep = (next(stream) >> 43) < (threshold & 0x1FFFFF)
    else:
        keep = coin < t_hi
    return column if keep else int(aliases[column])


def alias_draw(thresholds, aliases, stream):
    column, coin = alias_column(stream, len(thresholds))
    return alias_resolve(thresholds, aliases, column, coin, stream)


def count_shift_le(ids, j):
    """#{i : ids[i] - i <= j} of sorted unique ids (the j-th item not in
    ids is j + this)."""
    return sum(1 for i, v in enumerate(ids) if v - i <= j)


NEG_BLOCK_ROWS = 128   # NS_NEGATIVE_BLOCK_ROWS
NEG_BATCH = 32         # NS_NEG_BATCH
NEG_PIPE = 256         # NS_NEG_PIPE
NEG_MAX_REJECT = 32    # NS_NEG_MAX_REJECT
NEG_REJECT_MIN = 0.4   # NS_NEGATIVE_REJECT_MIN
NEG_BLOOM_MAX = 128    # NS_NEGATIVE_BLOOM_MAX


def _uniform_row(stream, ids, n, k, replace):
    """row_uniform of csrc/ns_negative.c.  Rejection (scan or filter) and
    inversion (grouped binary searches, or the complement table, which
    holds the same j-th eligible item) are mirrored; whether a precomputed
    filter exists is decided in Python, so rows whose path depends on it
    (5 <= m <= n / 4 with m > min(128, 2 k)) raise NotMirrored."""
    m = len(ids)
    eligible = n - m
    if not replace:
        chosen, row = [], []  # chosen complement ranks, sorted
        for t in range(k):
            j = bounded(stream, eligible - t)
            rank = j + count_shift_le(chosen, j)
            chosen.insert(sum(1 for v in chosen if v < rank), rank)
            row.append(rank + count_shift_le(ids, rank))
        return row
    if m == 0 or 4 * m > n:
        inversion = True
    elif m <= 4 or (m <= NEG_BLOOM_MAX and m <= 2 * k):
        inversion = False
    else:
        raise NotMirrored("uniform row whose method depends on a precomputed filter")
    if inversion:
        row = []
        for _ in range(k):
            j = bounded(stream, eligible)
            row.append(j + count_shift_le(ids, j))
        return row
    excluded = set(ids)
    row = []
    for _ in range(k):
        x = bounded(stream, n)
        rejected = 0
        while x in excluded:
            rejected += 1
            if rejected >= NEG_MAX_REJECT:
                raise NotMirrored("32 rejections in a row")
            x = bounded(stream, n)
        row.append(x)
    return row


class WeightedLaw:
    """The kernel's weighted base law: the alias table of the weights, its
    exact law prob and cumulative law cum (all from this file)."""

    def __init__(self, weights):
        self.thresholds, self.aliases = alias_build(weights)
        self.prob = alias_probabilities(self.thresholds, self.aliases)
        self.cum = neumaier_prefix(self.prob)
        self.n = len(self.prob)

    def row_mass(self, ids):
        total = comp = 0.0
        for i in ids:
            p = self.prob[i]
            t = total + p
            comp += (total - t) + p if abs(total) >= p else (p - t) + total
            total = t
        return total + comp

    def complement_rows(self, positives):
        """Rows that NegativeSampler gives a complement table (negative.py's
        _with_complements): rows excluding at least half the items, then
        rows whose positives hold >= 60% of the mass, most mass first, while
        their complements total at most n items.  Returns {row: (comp ids,
        WeightedLaw-like table of their masses)}."""
        total = self.cum[-1]
        n_nonzero = sum(1 for p in self.prob if p > 0)
        use, extra = set(), []
        for r, ids in enumerate(positives):
            size = self.n - len(ids)
            has = n_nonzero - sum(1 for i in ids if self.prob[i] > 0) > 0
            share = self.row_mass(ids) / total
            if size <= len(ids) and has:
                use.add(r)
            elif share >= 0.6 and has:
                extra.append((-share, r, size))
        budget = 0
        for _, r, size in sorted(extra, key=lambda e: e[0]):  # stable
            budget += size
            if budget <= self.n:
                use.add(r)
        out = {}
        for r in use:
            excluded = set(positives[r])
            comp = [x for x in range(self.n) if x not in excluded]
            out[r] = (comp, alias_build([self.prob[x] for x in comp]))
        return out

    def check_rejection_row(self, ids):
        """(total, mass) of a row drawn by rejection from the base table;
        NotMirrored when it would use inversion."""
        total = self.cum[-1]
        mass = self.row_mass(ids)
        if not total - mass >= NEG_REJECT_MIN * total:
            raise NotMirrored("weighted row drawn by inversion")
        return total, mass

    def draw(self, stream):
        return alias_draw(self.thresholds, self.aliases, stream)


def _weighted_resolve_row(law, stream, ids, k, drawn):
    """row_weighted_replace's rejection branch; drawn: the (column, coin)
    pairs of the row when they were drawn ahead (pipelined), else None."""
    excluded = set(ids)
    row = []
    for t0 in range(0, k, NEG_BATCH):
        nb = min(NEG_BATCH, k - t0)
        if drawn is not None:
            batch = drawn[t0:t0 + nb]
        else:
            batch = [alias_column(stream, law.n) for _ in range(nb)]
        cand = [alias_resolve(law.thresholds, law.aliases, c, h, stream) for c, h in batch]
        for x in cand:
            if x in excluded:
                for _ in range(NEG_MAX_REJECT - 1):
                    x = law.draw(stream)
                    if x not in excluded:
                        break
                else:
                    raise NotMirrored("32 rejections in a row")
            row.append(x)
    return row


def _weighted_distinct_row(law, stream, ids, k, comp):
    """row_weighted_distinct's rejection branch (k distinct items), from the
    base table or, for a row with one, its complement table."""
    total, mass = law.cum[-1], law.row_mass(ids)
    eligible = total - mass
    if comp is None:
        law.check_rejection_row(ids)
    excluded = set(ids)
    chosen, row = set(), []
    chosen_mass = 0.0
    proposal = eligible if comp is not None else total
    for _ in range(k):
        if not eligible - chosen_mass >= NEG_REJECT_MIN * proposal:
            raise NotMirrored("distinct draw by inversion")
        for _ in range(NEG_MAX_REJECT):
            if comp is not None:
                y = comp[0][alias_draw(comp[1][0], comp[1][1], stream)]
            else:
                y = law.draw(stream)
            if (comp is not None or y not in excluded) and y not in chosen:
                break
        else:
            raise NotMirrored("32 rejections in a row")
        row.append(y)
        chosen.add(y)
        chosen_mass += law.prob[y]
    return row


def negative_rows(n, positives, rows, k, key, replace=True, weights=None):
    """ns_negative_sample without keys: k negatives for each output row
    rows[o] (an index into positives, lists of excluded ids), output rows
    in blocks of 128 sharing block stream (k0, k1, o // 128).  weights None:
    uniform base law over n items; else the alias table of weights (the
    weights NegativeSampler passes to AliasTable), whose rows with
    replacement have their columns drawn ahead (pipelined) up to 256 columns
    at a time when k <= 256, and whose dense rows draw from a complement
    table."""
    k0, k1 = key
    ids_of = [sorted(set(int(x) for x in p)) for p in positives]
    law = None if weights is None else WeightedLaw(weights)
    comps = {} if law is None else law.complement_rows(ids_of)
    out = []
    if k == 0:
        return [[] for _ in rows]
    for start in range(0, len(rows), NEG_BLOCK_ROWS):
        stream = xoshiro_stream(k0, k1, start // NEG_BLOCK_ROWS)
        block = [int(r) for r in rows[start:start + NEG_BLOCK_ROWS]]
        if law is None:
            out.extend(_uniform_row(stream, ids_of[r], n, k, replace) for r in block)
        elif not replace:
            out.extend(_weighted_distinct_row(law, stream, ids_of[r], k, comps.get(r))
                       for r in block)
        else:
            o = 0
            while o < len(block):
                # Rows [o, end) of the pipeline: the columns of the rows
                # drawn by rejection from the base table are drawn first.
                end, used, drawn = o, 0, []
                pipelined = k <= NEG_PIPE
                while end < len(block) and (end == o or (
                        pipelined and end - o < NEG_PIPE and used + k <= NEG_PIPE)):
                    r = block[end]
                    if r in comps:
                        drawn.append(None)
                    else:
                        law.check_rejection_row(ids_of[r])
                        drawn.append([alias_column(stream, law.n) for _ in range(k)]
                                     if pipelined else None)
                        used += k
                    end += 1
                for q in range(o, end):
                    r = block[q]
                    if r in comps:
                        ids, (th, al) = comps[r]
                        out.append([ids[alias_draw(th, al, stream)] for _ in range(k)])
                    else:
                        out.append(_weighted_resolve_row(law, stream, ids_of[r], k,
                                                         drawn[q - o]))
                o = end
    return out


# ------------------------------------------------------ negative edges
GRAPH_BLOCK = 8192  # NS_GRAPH_BLOCK


def pair_space(n, undirected, no_self_loops):
    """The candidate pairs in code order (ns_graph.c's encoding: row-major,
    (u, v) with u <= v when undirected, self pairs left out when asked)."""
    return [(u, v) for u in range(n) for v in range(n)
            if (not undirected or u <= v) and not (no_self_loops and u == v)]


def free_pairs(edges, n, undirected, no_self_loops):
    """The non-edge pairs of the space, in code order."""
    taken = set()
    for u, v in edges:
        taken.add((min(u, v), max(u, v)) if undirected else (u, v))
    return [p for p in pair_space(n, undirected, no_self_loops) if p not in taken]


def free_codes(n_free, key, count, first_block=0):
    """ns_graph_sample_free: ranks bounded(n_free), draw i from block stream
    first_block + i // 8192."""
    k0, k1 = key
    out = []
    for b0 in range(0, count, GRAPH_BLOCK):
        s = xoshiro_stream(k0, k1, first_block + b0 // GRAPH_BLOCK)
        out.extend(bounded(s, n_free) for _ in range(min(GRAPH_BLOCK, count - b0)))
    return out


def negative_edges_global(edges, n, count, key, undirected=False, no_self_loops=True,
                          replace=False):
    """negative_edges(method="global"): (2, count) pairs.  replace=False is
    mirrored for the sparse case (n_free > 2 count): the first distinct
    ranks of batches of draws, each batch on fresh blocks (graphs.py's
    _distinct_codes)."""
    free = free_pairs(edges, n, undirected, no_self_loops)
    n_free = len(free)
    if replace:
        ranks = free_codes(n_free, key, count)
    else:
        if not n_free > 2 * count:
            raise NotMirrored("dense graph: Generator.choice of the ranks")
        ranks, seen, next_block = [], set(), 0
        while len(ranks) < count:
            need = count - len(ranks)
            batch = int(need / (1.0 - len(ranks) / n_free) * 1.05) + 64
            for j in free_codes(n_free, key, batch, next_block):
                if j not in seen and len(ranks) < count:
                    seen.add(j)
                    ranks.append(j)
            next_block += -(-batch // GRAPH_BLOCK)
    pairs = [free[j] for j in ranks]
    return [[u for u, _ in pairs], [v for _, v in pairs]]


def negative_edges_per_source(edges, n, count, key, undirected=False, no_self_loops=True,
                              replace=False):
    """negative_edges(method="per_source"): per edge, the uniform negative
    rows of NegativeSampler excluding its source's out-neighbours (and the
    source itself without self loops), rows in edge order."""
    sources = sorted({u for u, _ in edges})
    excl = {u: set() for u in sources}
    for u, v in edges:
        excl[u].add(v)
        if undirected and v in excl:
            excl[v].add(u)
    if no_self_loops:
        for u in sources:
            excl[u].add(u)
    positives = [sorted(excl[u]) for u in sources]
    rows = [sources.index(u) for u, _ in edges]
    return negative_rows(n, positives, rows, count, key, replace=replace)


# ------------------------------------------------------ corrupt triples
def corrupt_triples(triples, n_entities, k, seed, mode="tail", known=None):
    """corrupt_triples for mode "tail", "head" or "both" (uniform law,
    with replacement).  The replaced side of triple i excludes exactly its
    own entity and the entities known with its anchor ((head, relation) for
    tails, (relation, tail) for heads): one uniform negative row per triple,
    in triple order.  "both" takes the side coins gen.random((m, k)) < 0.5
    first, then the key of the tails, then the key of the heads."""
    triples = [tuple(int(x) for x in t) for t in triples]
    known = triples if known is None else [tuple(int(x) for x in t) for t in known]
    filtered = known is not triples

    def rows_of(head):
        out = []
        for h, r, t in triples:
            own = h if head else t
            excl = {own}
            if filtered:
                excl |= {kh for kh, kr, kt in known if kr == r and kt == t} if head else \
                        {kt for kh, kr, kt in known if kh == h and kr == r}
            out.append(sorted(excl))
        return out

    gen = np.random.default_rng(seed)
    m = len(triples)
    if mode in ("tail", "head"):
        head = mode == "head"
        draws = negative_rows(n_entities, rows_of(head), list(range(m)), k, draw_key(gen))
        col = 0 if head else 2
        return [[[x if c == col else triples[i][c] for c in range(3)] for x in draws[i]]
                for i in range(m)]
    if mode != "both":
        raise NotMirrored("bernoulli: per-relation head probabilities")
    is_head = gen.random((m, k)) < 0.5
    tails = negative_rows(n_entities, rows_of(False), list(range(m)), k, draw_key(gen))
    heads = negative_rows(n_entities, rows_of(True), list(range(m)), k, draw_key(gen))
    out = []
    for i, (h, r, t) in enumerate(triples):
        out.append([[heads[i][s], r, t] if is_head[i, s] else [h, r, tails[i][s]]
                    for s in range(k)])
    return out


# ----------------------------------------------------------- reservoirs
def reference_algorithm_l(stream, k, seed):
    """Reservoir(k, rng=seed) fed `stream`: Li 1994, Algorithm L, item by
    item, on block stream 0 of the call key (csrc/ns_reservoir.c: skips
    from open-interval doubles (0, 1], replacements at a bounded slot).
    When the fill completes (after W and the first skip are drawn) the k
    items are shuffled by Fisher-Yates (ns_reservoir_shuffle)."""
    words = xoshiro_stream(*draw_key(seed), 0)

    def open0():
        return ((next(words) >> 11) + 1) * (1.0 / 9007199254740992.0)

    out = []
    w, nxt = 1.0, None
    for pos, item in enumerate(stream):
        if pos < k:
            out.append(item)
            if pos == k - 1:
                w = math.exp(math.log(open0()) / k)
                nxt = pos + 1 + math.floor(math.log(open0()) / math.log1p(-w))
                for i in range(k - 1, 0, -1):
                    j = bounded(words, i + 1)
                    out[i], out[j] = out[j], out[i]
        elif pos == nxt:
            out[bounded(words, k)] = item
            w = w * math.exp(math.log(open0()) / k)
            nxt = pos + 1 + math.floor(math.log(open0()) / math.log1p(-w))
    return out


def _lane_words(k0, k1, first):
    """Words of NS_RNG_LANES streams (k0, k1, first + l) stepped together:
    word t from lane t % LANES, step t // LANES (ns_rng_lanes_fill)."""
    lanes = [xoshiro_stream(k0, k1, first + lane) for lane in range(LANES)]
    while True:
        for lane in lanes:
            yield next(lane)


MERGE_STREAM = 16  # NS_RESERVOIR_MERGE_STREAM


def reference_uniform_merge(key, k, n1, items1, n2, items2, fresh=True):
    """Reservoir.merge(other, rng=...) with merge key `key`: the merged
    sample of two reservoirs that saw n1 and n2 items and hold items1 and
    items2 (csrc/ns_reservoir.h, ns_reservoir_merge): slot by slot, side 1
    with probability (n1 - x) / (n1 + n2 - j); the next item of a side that
    saw >= k items, else (or always when fresh: Reservoir.merge with rng
    given) the next step of a Fisher-Yates shuffle of it.
    Bounded integers by Lemire's method on 32-bit halves (low half first)
    of the lane words while n1 + n2 <= 2**32, else on whole words."""
    total = n1 + n2
    if total < k:
        return list(items1) + list(items2)
    words = _lane_words(key[0], key[1], MERGE_STREAM)
    halves = []

    def next32():
        if not halves:
            word = next(words)
            halves.extend([word >> 32, word & 0xFFFFFFFF])
        return halves.pop()

    def below(n):
        if total > 1 << 32:
            return bounded(words, n)
        m = next32() * n
        if m & 0xFFFFFFFF < n:
            threshold = (1 << 32) % n
            while m & 0xFFFFFFFF < threshold:
                m = next32() * n
        return m >> 32

    sides = [[list(items1), fresh or n1 < k, 0], [list(items2), fresh or n2 < k, 0]]
    out, x = [], 0
    for j in range(k):
        side = sides[0] if below(total - j) < n1 - x else sides[1]
        held, ordered, taken = side
        if ordered:
            r = taken + below(len(held) - taken)
            held[taken], held[r] = held[r], held[taken]
        out.append(held[taken])
        side[2] += 1
        x = sides[0][2]
    return out


# ------------------------------------------------------ hard negatives
def hard_negatives(queries, candidates, k, seed=None, temperature=None, exclude=None,
                   largest=True, skip_top=0, max_score=None):
    """hard_negatives with the dot metric, for inputs whose dot products are
    exact in float32 (small dyadic values): per query, the eligible
    candidates (not excluded, score <= max_score) ordered by key, lower id
    first on equal keys, skip_top skipped, the first k (padded with -1).
    The key is the score, or with a temperature t the Gumbel key
    sign * score / t - log(-log(u)), u = (top 53 bits + 1/2) / 2**53 of word
    j of stream (k0, k1, q) for candidate j of query q."""
    Q = [[float(x) for x in row] for row in queries]
    C = [[float(x) for x in row] for row in candidates]
    n = len(C)
    if temperature is not None:
        k0, k1 = draw_key(seed)
    sign = 1.0 if largest else -1.0
    ids_out, scores_out = [], []
    for q, qv in enumerate(Q):
        scores = [math.fsum(a * b for a, b in zip(qv, cv)) for cv in C]
        banned = set() if exclude is None else {int(x) for x in exclude[q]}
        if temperature is not None:
            words = reference_stream(k0, k1, q, n)
            keys = [sign * scores[j] / temperature
                    - math.log(-math.log(((w >> 11) + 0.5) * 2.0**-53))
                    for j, w in enumerate(words)]
            order = sorted(range(n), key=lambda j: (-keys[j], j))
        else:
            order = sorted(range(n), key=lambda j: (-sign * scores[j], j))
        order = [j for j in order if j not in banned
                 and (max_score is None or scores[j] <= max_score)]
        if temperature is None:
            order = order[skip_top:]
        order = order[:k]
        ids_out.append(order + [-1] * (k - len(order)))
        scores_out.append([scores[j] for j in order] + [None] * (k - len(order)))
    return ids_out, scores_out


def topk(scores, k, exclude=None, largest=True):
    """topk of a precomputed score matrix: per row the k best entries not
    excluded, lower id first on equal scores, padded with -1 / None."""
    sign = 1.0 if largest else -1.0
    ids_out, scores_out = [], []
    for r, row in enumerate(scores):
        banned = set() if exclude is None else {int(x) for x in exclude[r]}
        order = [j for j in sorted(range(len(row)), key=lambda j: (-sign * float(row[j]), j))
                 if j not in banned][:k]
        ids_out.append(order + [-1] * (k - len(order)))
        scores_out.append([float(row[j]) for j in order] + [None] * (k - len(order)))
    return ids_out, scores_out

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

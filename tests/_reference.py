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

"""Writes the seed corpus fuzz/corpus/<harness>/ (deterministic; rerun it
after a format change and commit the result).

from_bytes harnesses get real to_bytes() output of small objects (with the
first-byte selector of _bytes.py: recompute the CRC or not); the
FuzzedDataProvider harnesses get a few fixed pseudo-random byte strings."""
import hashlib
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import negsamp  # noqa: E402
from _bytes import seed  # noqa: E402

FDP_HARNESSES = ["fuzz_state", "fuzz_alias_api", "fuzz_negative_api",
                 "fuzz_mining_api", "fuzz_reservoir_api"]


def write(harness, blobs):
    d = os.path.join(HERE, "corpus", harness)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for b in blobs:
        name = hashlib.sha1(b).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(b)
    print(f"{harness}: {len(blobs)} seeds")


def main():
    tables = [negsamp.AliasTable([1.0]), negsamp.AliasTable([3, 0, 1, 2]),
              negsamp.AliasTable.from_counts(np.arange(9) ** 2, 0.75)]
    write("fuzz_alias_bytes", [seed(t.to_bytes(), fix) for t in tables for fix in (True, False)])

    res = []
    for k, chunks, dt in [(1, [], None), (3, [np.arange(2)], np.int64), (2, [np.arange(7)], np.int16),
                          (4, [np.array([b"ab", b"c"])] * 3, None),
                          (2, [np.zeros(5, dtype=[("a", "<i4"), ("b", "<f8")])], None)]:
        r = negsamp.Reservoir(k, rng=k)
        for ch in chunks:
            r.update(ch if dt is None else ch.astype(dt))
        res.append(r)
    write("fuzz_reservoir_bytes", [seed(r.to_bytes(), fix) for r in res for fix in (True, False)])

    wres = []
    for k, n, dt in [(1, 0, np.int64), (3, 2, np.int64), (2, 9, np.float32), (3, 6, "U2")]:
        w = negsamp.WeightedReservoir(k, rng=k)
        if n:
            w.update(np.arange(n).astype(dt), np.linspace(0, 2, n))
        wres.append(w)
    write("fuzz_wreservoir_bytes", [seed(w.to_bytes(), fix) for w in wres for fix in (True, False)])

    for i, h in enumerate(FDP_HARNESSES):
        rnd = random.Random(1000 + i)
        write(h, [bytes([j]) + rnd.randbytes(rnd.choice([16, 64, 256])) for j in range(6)])


if __name__ == "__main__":
    main()

"""The alias build (csrc/ns_alias.c): bit for bit the textbook worklist loop
of tests/_reference.py (alias_build), in both layouts, on weight vectors
that reach every path of the replayed worklists."""
import numpy as np
import pytest

from negsamp import AliasTable, _alias

from _reference import alias_build


def _weight_vectors():
    rng = np.random.default_rng(2024)
    out = {
        "uniform": np.ones(300),
        "zipf": (1.0 / np.arange(1, 2001)) ** 0.75,  # max 1.0: the product path
        "zipf-max-3": 3.0 * (1.0 / np.arange(1, 2001)) ** 0.75,  # division path
        "random": rng.random(1500),
        "random-zeros": rng.random(777) * (rng.random(777) < 0.6),
        "one-heavy": np.r_[1000.0, np.ones(999)],
        "negative-zero": np.r_[-0.0, 2.0, 0.0, -0.0, 1.0, 3.0],
        "subnormal": np.r_[5e-324, 1e-323, 0.0, 2.5e-323],
        "huge-and-tiny": np.r_[1e300, 1e-300, 3e299, 0.0, 5e-324],
        "magnitudes": 10.0 ** rng.uniform(-300, 300, 513),
        "one": np.array([4.0]),
        "two-equal": np.array([2.0, 2.0]),
        "near-one": 1.0 - 2.0**-52 * rng.integers(0, 4, 640),
        "powers-of-two": 2.0 ** rng.integers(-1000, 1000, 200).astype(np.float64),
        "max-2^1023": np.r_[2.0**1023, 1.0, 2.0**1000, 3.0],
        "tiny-max": np.r_[2.0**-1022, 2.0**-1030, 0.0],
        # The build sums while checking when the largest of the first 256
        # weights is a power of two, and uses that sum only when the largest
        # of all is that power and every w / max is exact: each way here.
        "probe-right": np.r_[rng.random(300), 1.0, rng.random(10)],
        "probe-wrong": np.r_[0.5 * rng.random(300), 0.5, 3.0],
        "probe-missed": np.r_[0.9 * rng.random(300), 4.0],
        # Otherwise it sums w / (that largest), kept when no later block
        # holds a larger weight: a tie kept, a larger one in the last block.
        "divided-tie": np.r_[rng.random(100), 3.7, 3.7 * rng.random(700), 3.7],
        "divided-late": np.r_[2.9 * rng.random(300), 2.95, 2.9 * rng.random(2000), 3.0],
        "divided-subnormal-max": np.r_[5e-324 * rng.integers(0, 4, 600).astype(np.float64),
                                       1.5e-323],
        "inexact-terms": np.r_[2.0**1000, 2.0**-30, 1.0, 2.0**990],
        "overflowing-sum": np.full(1000, 2.0**1023),
    }
    # The cursors skip the blocks of 256 weights whose extremes rule their
    # class out: sorted weights, runs of zeros and islands of each class,
    # on and off the block boundaries, with a partial top block.
    zipf = (1.0 / np.arange(1, 3001)) ** 0.75
    out["sorted-ascending"] = zipf[::-1].copy()
    out["zero-runs"] = np.r_[np.zeros(600), rng.random(700), np.zeros(300),
                             rng.random(50) ** 4, np.zeros(513)]
    out["large-island"] = np.r_[0.01 * rng.random(1024), 5.0 + rng.random(256),
                                0.01 * rng.random(1000)]
    out["small-island"] = np.r_[np.ones(768), 1e-3 * rng.random(256), np.ones(700)]
    out["zeros-on-top"] = np.r_[1.0 + rng.random(500), np.zeros(1000)]
    for n in (63, 64, 65, 257, 4097):  # cursor groups of 64, list batches of 256
        out[f"n={n}"] = rng.random(n) ** 3
    return out


VECTORS = _weight_vectors()


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_build_is_the_textbook_loop_bit_for_bit(name):
    w = VECTORS[name]
    thresholds, aliases = alias_build(w)
    full, wmax, total = _alias.build(w)
    assert full["threshold"].tolist() == thresholds
    assert full["alias"].tolist() == aliases
    hot, low, wmax2, total2 = _alias.build_compact(w)
    assert (wmax2, total2) == (wmax, total) and wmax == w.max()
    assert np.array_equal(_alias.expand(hot, low).view(np.uint8), full.view(np.uint8))
    base_hot, base_low, _, _ = _alias.build_compact(w, allow_simd=False)  # baseline-ISA loops
    assert np.array_equal(base_hot.view(np.uint8), hot.view(np.uint8))
    assert np.array_equal(base_low, low)
    table = AliasTable(w)
    assert np.array_equal(table._table.view(np.uint8), full.view(np.uint8))
    assert np.all(table.probabilities[w == 0] == 0)


def test_weight_zero_items_are_never_an_alias():
    w = VECTORS["random-zeros"]
    full, _, _ = _alias.build(w)
    assert np.all(w[full["alias"][full["threshold"] < 2**53]] > 0)
    assert np.all(full["threshold"][w == 0] == 0)


@pytest.mark.parametrize("bad, match", [
    ([1.0, np.nan], "weights must be finite, got nan at index 1"),
    ([1.0, np.inf, 2.0], "weights must be finite, got inf at index 1"),
    ([1.0, -np.inf], "weights must be finite, got -inf at index 1"),
    ([1.0, 0.0, -1e-300], "weights must be non-negative, got -1e-300 at index 2"),
    ([0.0, -0.0, 0.0], "weights must have a positive sum, got all zeros"),
    (np.array([3.0, -2.0], dtype=np.float32), "weights must be non-negative, got -2.0 at index 1"),
])
def test_the_builds_checks_give_the_shared_messages(bad, match):
    with pytest.raises(ValueError, match=match):
        AliasTable(bad)
    # The kernels themselves refuse them too (NS_ERR_VALUE, or NS_ERR_EMPTY
    # for a zero sum).
    with pytest.raises(ValueError, match="alias table build: C kernel returned NS_ERR_(VALUE|EMPTY)"):
        _alias.build_compact(np.asarray(bad, dtype=np.float64))
    with pytest.raises(ValueError, match="alias table build: C kernel returned NS_ERR_(VALUE|EMPTY)"):
        _alias.build(np.asarray(bad, dtype=np.float64))


def test_compact_and_full_layouts_draw_alike_from_a_serialised_table():
    table = AliasTable(VECTORS["random-zeros"])
    again = AliasTable.from_bytes(table.to_bytes())
    assert again == table and again._hot is not None
    np.testing.assert_array_equal(again.sample(3000, rng=4), table.sample(3000, rng=4))
    full = table._table
    np.testing.assert_array_equal(
        _alias.sample(full, None, None, 3000, 9, 10, 1, np.int64),
        _alias.sample(None, table._hot, table._low, 3000, 9, 10, 1, np.int64))


def test_table_entries_are_expanded_once_and_read_only():
    from negsamp.alias import table_entries

    table = AliasTable(VECTORS["zipf"])
    entries = table_entries(table)
    assert table_entries(table) is entries and not entries.flags.writeable
    assert np.array_equal(entries.view(np.uint8), _alias.build(VECTORS["zipf"])[0].view(np.uint8))
    # Draws still read the compact layout, with the same result.
    np.testing.assert_array_equal(table.sample(2000, rng=1), AliasTable(VECTORS["zipf"]).sample(2000, rng=1))

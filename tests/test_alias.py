"""AliasTable: exact law, reproducibility, serialisation, bad input."""
import pickle
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import negsamp
from negsamp import AliasTable, _alias, baselines
from negsamp._rng import draw_key

from _helpers import assert_untouched, run_in_threads
from _reference import alias_draws
from _stats import assert_fits, chisquare_pvalue

M = 2_000_000


def exact_law(w):
    w = np.asarray(w, dtype=np.float64)
    return w / w.sum()


# -- the law -----------------------------------------------------------------
LAWS = {
    "uniform": np.ones(50),
    "zipf": (1.0 / np.arange(1, 201)) ** 1.1,
    "one-hot": np.eye(1, 40, 17).ravel(),
    "zeros": np.array([0, 3, 0, 0, 1, 5, 0, 2, 0, 0], dtype=np.int64),
    "huge": np.array([1e300, 3e300, 0.0, 2e300, 1e299]),
    "tiny": np.array([1e-300, 2e-300, 5e-301, 0.0, 4e-300]),
    "subnormal": np.array([5e-324, 1e-323, 0.0]),
    "mixed-magnitudes": np.array([1e-300, 1.0, 1e300]),
}


@pytest.mark.parametrize("name", sorted(LAWS))
def test_probabilities_equal_exact_law_to_float64(name):
    w = LAWS[name]
    table = AliasTable(w)
    p = exact_law(w.astype(np.float64) / w.max())
    # A float32-rounded table would be off by ~1e-8; an off-by-one build by
    # whole probabilities.
    np.testing.assert_allclose(table.probabilities, p, rtol=1e-12, atol=1e-15)
    assert abs(table.probabilities.sum() - 1.0) < 1e-12
    assert np.all(table.probabilities[p == 0] == 0)


@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("name", sorted(LAWS))
def test_draws_fit_exact_law(name, keyed):
    w = LAWS[name]
    p = exact_law(w.astype(np.float64) / w.max())
    if keyed:  # rows of 10 draws, one keyed stream each, consecutive keys
        draws = AliasTable(w).sample((M // 10, 10), rng=12345,
                                     keys=np.arange(M // 10)).ravel()
    else:
        draws = AliasTable(w).sample(M, rng=12345)
    assert draws.min() >= 0 and draws.max() < w.shape[0]
    assert not np.isin(draws, np.flatnonzero(p == 0)).any(), "a weight-0 item was drawn"
    if (p > 0).sum() == 1:  # one item: nothing to fit, every draw is it
        assert (draws == np.flatnonzero(p)[0]).all()
    else:
        assert_fits(draws, p)


def test_chi_square_check_rejects_off_by_one_and_wrong_law():
    w = LAWS["zipf"]
    draws = AliasTable(w).sample(M, rng=1)
    shifted = (draws + 1) % w.shape[0]  # an off-by-one sampler
    counts = np.bincount(shifted, minlength=w.shape[0])
    assert chisquare_pvalue(counts, exact_law(w)) < 1e-10
    # The law of an alias table that forgot to renormalise the leftover
    # columns (all coins 1) is uniform: clearly rejected too.
    uniform_draws = np.random.default_rng(0).integers(0, w.shape[0], M)
    counts = np.bincount(uniform_draws, minlength=w.shape[0])
    assert chisquare_pvalue(counts, exact_law(w)) < 1e-10


def test_draws_match_numpy_baselines():
    w = (1.0 / np.arange(1, 101)) ** 0.75
    ours = np.bincount(AliasTable(w).sample(M, rng=3), minlength=100)
    for base in (baselines.weighted_choice, baselines.weighted_searchsorted):
        theirs = np.bincount(base(w, M, rng=4), minlength=100)
        assert stats.chi2_contingency(np.vstack([ours, theirs])).pvalue > 1e-4


def test_from_counts_is_word2vec_noise_law():
    counts = np.array([0, 1, 10, 100, 1000, 5], dtype=np.int64)
    table = AliasTable.from_counts(counts)  # power 0.75
    np.testing.assert_allclose(table.probabilities, exact_law(counts ** 0.75), rtol=1e-12)
    assert table.probabilities[0] == 0
    np.testing.assert_allclose(
        AliasTable.from_counts(counts, power=1.0).probabilities, exact_law(counts), rtol=1e-12
    )
    np.testing.assert_allclose(  # power 0: uniform over the seen items
        AliasTable.from_counts(counts, power=0).probabilities,
        exact_law(counts > 0), rtol=1e-12,
    )
    # Huge counts and powers do not overflow.
    big = AliasTable.from_counts(np.array([1e300, 2e300]), power=3.0)
    np.testing.assert_allclose(big.probabilities, [1 / 9, 8 / 9], rtol=1e-12)


def test_log_prob():
    w = np.array([1.0, 0.0, 3.0])
    table = AliasTable(w)
    lp = table.log_prob([0, 1, 2, 2])
    np.testing.assert_allclose(lp[[0, 2, 3]], np.log([0.25, 0.75, 0.75]), rtol=1e-12)
    assert lp[1] == -np.inf
    assert table.log_prob(np.array([[0], [2]])).shape == (2, 1)
    with pytest.raises(ValueError, match="ids"):
        table.log_prob([3])
    with pytest.raises(TypeError, match="ids"):
        table.log_prob([0.5])


def test_probabilities_read_only_len_repr():
    table = AliasTable([1, 1, 2])
    assert len(table) == 3
    with pytest.raises(ValueError, match="read-only"):
        table.probabilities[0] = 1.0
    text = repr(table)
    assert text.startswith("AliasTable(n=3") and "nonzero=3" in text


# -- reproducibility -----------------------------------------------------------
def test_golden_values():
    assert AliasTable([1, 2, 3, 4]).sample(12, rng=42).tolist() == GOLDEN_SMALL
    table = AliasTable.from_counts(np.arange(1000))
    assert table.sample(8, rng=np.random.SeedSequence(7)).tolist() == GOLDEN_COUNTS
    assert table.sample((2, 3), rng=1, dtype=np.int32).tolist() == GOLDEN_INT32


# Pinned from the pure-Python reference (tests/_reference.py), which
# test_draws_follow_the_documented_scheme checks the C code against.
GOLDEN_SMALL = [3, 2, 0, 2, 2, 3, 1, 1, 3, 3, 1, 2]
GOLDEN_COUNTS = [953, 470, 540, 957, 553, 916, 593, 215]
GOLDEN_INT32 = [[342, 576, 970], [561, 70, 560]]


def _reference_draws(table, key, count):
    entries = table._table
    return alias_draws(entries["threshold"], entries["alias"], key[0], key[1], count)


@pytest.mark.parametrize("seed", [42, 7])
def test_draws_follow_the_documented_scheme(seed):
    # Two blocks, the second ending in a partial window.
    w = np.random.default_rng(seed).random(1000) * (np.arange(1000) % 7 != 0)
    table = AliasTable(w)
    count = 16384 + 1500
    expected, _, _ = _reference_draws(table, draw_key(seed), count)
    assert table.sample(count, rng=seed).tolist() == expected


def test_rejected_columns_are_redrawn_as_documented():
    # n = 3 * 2**20: Lemire's method rejects a column with probability
    # (2**32 mod n) / 2**32 = 2**-12, so 40k draws redraw about ten.
    n = 3 * 2**20
    table = AliasTable(np.arange(1, n + 1, dtype=np.float64))
    expected, redraws, _ = _reference_draws(table, (5, 6), 40_000)
    assert redraws > 0
    for hot, low in ((table._hot, table._low), (None, None)):
        got = _alias.sample(table._table, hot, low, 40_000, 5, 6, 1, np.int64)
        assert got.tolist() == expected


@pytest.mark.parametrize("n", [3, 1000, 100_000, 2**22 + 1])  # small and prefetching
def test_compact_layout_and_simd_do_not_change_draws(n):
    w = np.random.default_rng(n).random(n) + 0.01
    table = AliasTable(w)
    assert table._hot is not None and table._full is None  # n <= COMPACT_MAX
    full = table._table
    count = 100_003
    ref = _alias.sample(full, None, None, count, 11, 12, 1, np.int64, allow_simd=False)
    for hot, low in ((table._hot, table._low), (None, None)):
        for simd in (True, False):
            for dtype in (np.int64, np.int32):
                got = _alias.sample(full, hot, low, count, 11, 12, 2, dtype, allow_simd=simd)
                assert np.array_equal(got, ref), (hot is None, simd, dtype)


def test_shorter_call_is_a_prefix_of_a_longer_one():
    table = AliasTable(np.arange(1, 5001, dtype=np.float64))
    long = table.sample(40_000, rng=3)
    for count in (1, 17, 1024, 1500, 16384, 20_000):
        assert np.array_equal(table.sample(count, rng=3), long[:count])


@pytest.mark.parametrize("n", [10, 1000, 100_000])  # small and prefetching paths
def test_same_output_for_any_thread_count(n):
    table = AliasTable(np.arange(1, n + 1, dtype=np.float64))
    one = table.sample(200_000, rng=9, n_threads=1)
    two = table.sample(200_000, rng=9, n_threads=2)
    four = table.sample(200_000, rng=9, n_threads=4)
    assert np.array_equal(one, two) and np.array_equal(one, four)
    assert np.array_equal(one.astype(np.int32), table.sample(200_000, rng=9, dtype=np.int32))


def test_generator_advances_and_seeds_repeat():
    table = AliasTable(np.ones(1000))
    gen = np.random.default_rng(5)
    assert not np.array_equal(table.sample(100, gen), table.sample(100, gen))
    assert np.array_equal(table.sample(100, 5), table.sample(100, 5))
    assert np.array_equal(table.sample(100, np.random.default_rng(5)), table.sample(100, 5))


def test_shapes_and_dtypes():
    table = AliasTable([1, 2])
    assert table.sample(0, rng=0).shape == (0,)
    assert table.sample((), rng=0).shape == ()
    assert table.sample((3, 0, 2), rng=0).shape == (3, 0, 2)
    out = table.sample((4, 5), rng=0, dtype="int32")
    assert out.shape == (4, 5) and out.dtype == np.int32 and out.flags.c_contiguous
    assert table.sample(3, rng=0).dtype == np.int64


# -- serialisation -------------------------------------------------------------
def test_pickle_round_trip_is_identical():
    table = AliasTable.from_counts(np.arange(1, 5000))
    copy = pickle.loads(pickle.dumps(table))
    assert copy == table and copy is not table
    assert np.array_equal(copy.sample(1000, rng=1), table.sample(1000, rng=1))
    assert len(pickle.dumps(table)) < 16 * len(table) + 1000


def test_bytes_round_trip_and_size():
    table = AliasTable(np.arange(1, 1001, dtype=np.float64))
    data = table.to_bytes()
    assert len(data) == 16 * 1000 + 24
    again = AliasTable.from_bytes(data)
    assert again == table
    assert np.array_equal(again.sample(100, rng=2), table.sample(100, rng=2))
    assert AliasTable.from_bytes(bytearray(data)) == table


def test_truncated_or_corrupted_bytes_raise_value_error():
    data = AliasTable(np.arange(1, 40, dtype=np.float64)).to_bytes()
    for cut in range(len(data)):
        with pytest.raises(ValueError, match="data is truncated"):
            AliasTable.from_bytes(data[:cut])
    with pytest.raises(ValueError, match=r"truncated or padded: header says n=39 \(648 bytes\), got 649"):
        AliasTable.from_bytes(data + b"\x00")
    rng = np.random.default_rng(0)
    for pos in rng.integers(0, len(data), 200):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(0, 8))
        with pytest.raises(ValueError, match="^data (is|has)"):
            AliasTable.from_bytes(bytes(flipped))
    with pytest.raises(TypeError, match="data must be bytes, got str"):
        AliasTable.from_bytes("not bytes")


def test_forged_bytes_with_valid_crc_cannot_index_out_of_range():
    table = AliasTable([1.0, 2.0, 3.0])
    raw = bytearray(table.to_bytes()[:-4])
    # entry 0: set alias to 99 (out of range), then recompute the CRC.
    struct.pack_into("<q", raw, 20 + 8, 99)
    with pytest.raises(ValueError, match="corrupted"):
        AliasTable.from_bytes(bytes(raw) + struct.pack("<I", zlib.crc32(raw)))
    raw = bytearray(table.to_bytes()[:-4])
    struct.pack_into("<Q", raw, 20, 2**60)  # threshold above 2**53
    with pytest.raises(ValueError, match="corrupted"):
        AliasTable.from_bytes(bytes(raw) + struct.pack("<I", zlib.crc32(raw)))


def test_bad_pickle_state_rejected():
    table = AliasTable([1.0, 2.0])
    bad = AliasTable.__new__(AliasTable)
    with pytest.raises(ValueError, match="not a valid AliasTable table"):
        bad.__setstate__({"table": np.zeros(3)})
    state = table.__getstate__()
    forged = state["table"].copy()
    forged["alias"][0] = -5
    with pytest.raises(ValueError, match="corrupted.*alias outside"):
        bad.__setstate__({"table": forged})


# -- bad input -----------------------------------------------------------------
@pytest.mark.parametrize(
    "weights,exc,match",
    [
        ([1.0, np.nan], ValueError, "finite.*nan"),
        ([1.0, np.inf], ValueError, "finite.*inf"),
        ([1.0, -2.0], ValueError, "non-negative.*-2"),
        (np.array([3, -1]), ValueError, "non-negative.*-1"),
        ([0.0, 0.0], ValueError, "positive sum"),
        ([], ValueError, "empty"),
        (np.ones((2, 2)), ValueError, "1-D"),
        (np.array([1, "a"], dtype=object), TypeError, "dtype object"),
        (np.array(["1", "2"]), TypeError, "dtype <U1"),
        ("12", TypeError, "weights"),
        (np.array([True, False]), TypeError, "dtype bool"),
        (np.array([1 + 1j]), TypeError, "dtype complex"),
        (5.0, ValueError, "1-D"),
    ],
)
def test_bad_weights(weights, exc, match):
    with pytest.raises(exc, match=match) as info:
        AliasTable(weights)
    assert "weights" in str(info.value)


def test_bad_sample_arguments():
    table = AliasTable([1, 2, 3])
    with pytest.raises(ValueError, match="size"):
        table.sample(-1)
    with pytest.raises(ValueError, match="size"):
        table.sample((2, -1))
    with pytest.raises(TypeError, match="size"):
        table.sample(2.5)
    with pytest.raises(TypeError, match="dtype"):
        table.sample(2, dtype=np.float64)
    with pytest.raises(TypeError, match="dtype"):
        table.sample(2, dtype=np.int16)
    with pytest.raises(TypeError, match="dtype"):
        table.sample(2, dtype="nonsense")
    with pytest.raises(ValueError, match="n_threads"):
        table.sample(2, n_threads=0)
    with pytest.raises(TypeError, match="rng"):
        table.sample(2, rng="seed")
    with pytest.raises(ValueError, match="power"):
        AliasTable.from_counts([1, 2], power=-1)
    with pytest.raises(ValueError, match="power"):
        AliasTable.from_counts([1, 2], power=np.nan)
    with pytest.raises(ValueError, match="counts"):
        AliasTable.from_counts([1, -2])


def test_callers_array_is_untouched():
    w = np.array([3.0, 0.0, 1.0, 2.5])
    with assert_untouched(w):
        AliasTable(w)
        AliasTable.from_counts(w)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 60),
                  elements=st.one_of(st.just(0.0), st.floats(1e-300, 1e300))))
def test_property_valid_weights_give_exact_table(w):
    if not (w.max() > 0):
        with pytest.raises(ValueError, match="positive sum"):
            AliasTable(w)
        return
    table = AliasTable(w)
    scaled = w / w.max()
    np.testing.assert_allclose(table.probabilities, scaled / scaled.sum(), rtol=1e-11, atol=1e-15)
    draws = table.sample(500, rng=0)
    assert np.all(w[draws] > 0)


@st.composite
def maybe_bad_weights(draw):
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64, np.int8]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=5))
    if np.dtype(dtype).kind == "f":
        elements = st.one_of(st.just(np.nan), st.just(-np.inf), st.just(np.inf),
                             st.integers(-5, 5).map(float))
    else:
        elements = st.integers(-5, 5)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@settings(max_examples=80, deadline=None)
@given(maybe_bad_weights())
def test_property_bad_weights_give_clean_errors(w):
    valid = (w.ndim == 1 and w.size > 0 and np.all(np.isfinite(w)) and np.all(w >= 0)
             and w.max() > 0)
    if valid:
        assert len(AliasTable(w)) == w.shape[0]
    else:
        with pytest.raises((ValueError, TypeError), match="weights"):
            AliasTable(w)


def test_many_python_threads_share_one_table():
    table = AliasTable((1.0 / np.arange(1, 100_001)) ** 0.75)
    results = {}

    def work(seed):
        for i in range(20):
            out = table.sample(50_000, rng=seed * 100 + i, n_threads=2)
            assert out.min() >= 0 and out.max() < len(table)
            results[seed * 100 + i] = out
        table.probabilities  # concurrent lazy initialisation

    run_in_threads(work, 8)
    assert len(results) == 160
    # Every concurrent result equals the same call made alone.
    for seed in (0, 305, 719):
        assert np.array_equal(results[seed], table.sample(50_000, rng=seed, n_threads=1))


def test_show_config(capsys):
    negsamp.show_config()
    out = capsys.readouterr().out
    assert negsamp.__version__ in out and "thread pool" in out and "default threads" in out


# -- the stated precision bound (issue 11, finding 8) -------------------------
def _law_weights(kind, n, gen):
    if kind == "log-uniform":
        return 10.0 ** gen.uniform(-300, 300, n)
    if kind == "uniform":
        return gen.random(n)
    if kind == "zipf":
        return 1.0 / np.arange(1, n + 1)
    if kind == "half-one":  # one item holds half the mass: the longest alias chain
        w = gen.random(n)
        w[0] = w[1:].sum()
        return w
    raise AssertionError(kind)


@pytest.mark.parametrize("n", [2, 3, 10, 1000, 100_000])
@pytest.mark.parametrize("kind", ["log-uniform", "uniform", "zipf", "half-one"])
def test_probabilities_are_within_the_stated_bound(kind, n):
    """README / AliasTable docstring: |P - p| <= (8 + n p) * 2**-53, p = w / sum(w)."""
    gen = np.random.default_rng(n)
    for _ in range(5 if n <= 1000 else 1):
        w = _law_weights(kind, n, gen)
        p = AliasTable(w).probabilities
        scaled = (w / w.max()).astype(np.longdouble)
        exact = scaled / scaled.sum()
        bound = (8 + n * exact) * np.longdouble(2.0**-53)
        assert (np.abs(p.astype(np.longdouble) - exact) <= bound).all()
        if kind != "half-one":  # no heavy item: a few units of 2**-53 throughout
            assert np.abs(p.astype(np.longdouble) - exact).max() <= 8 * 2.0**-53


def test_probability_below_the_coin_resolution_is_reported():
    p = AliasTable([1.0, 1e-300]).probabilities
    assert p[1] == 2.0**-54 and p[0] == 1 - 2.0**-54


def test_coin_tie_rule_against_the_reference():
    # ns_alias_settle_tie directly (a tie has probability 2**-32 per draw, so
    # natural draws never reach it): "53-bit uniform < threshold", with the
    # 21 low coin bits taken from the tie stream only when the 32 high bits
    # equal threshold >> 21.  Pure-Python rule and stream from _reference.
    from negsamp import _alias

    from _reference import reference_stream

    rng = np.random.default_rng(11)
    outcomes = set()
    for i in range(400):
        t = int(rng.integers(0, 2**53 + 1)) if i % 4 else (int(rng.integers(0, 2**32)) << 21) | 2**20
        hi = t >> 21
        k0, k1 = (int(x) for x in rng.integers(0, 2**63, 2))
        for coin in {hi, max(hi - 1, 0), min(hi + 1, 2**32 - 1)}:
            if coin >= 2**32:
                continue
            got = _alias._settle_tie_py(t, coin, k0, k1, i)
            if coin != hi:
                want = int(coin < hi)
            else:
                low = reference_stream(k0, k1, i, 1)[0] >> 43
                want = int(low < (t & 0x1FFFFF))
                outcomes.add(want)
            assert got == want, (t, coin, i)
    assert outcomes == {0, 1}  # both sides of a tie were exercised


def test_compact_layout_holds_every_threshold_exactly():
    # ns_alias_make_compact: t_hi = min(threshold >> 21, 2**32 - 1) and
    # low = threshold - (t_hi << 21), in [0, 2**21]: only a probability-1
    # column (threshold 2**53, whose >> 21 is 2**32) is clipped, and its low
    # word is 2**21.  A coin equal to the clipped t_hi is settled from the
    # whole threshold, so that column is always kept, while threshold
    # 2**53 - 1 (t_hi 2**32 - 1 unclipped) keeps it unless the 21 low bits
    # are all ones.
    from negsamp import _alias

    from _reference import reference_stream

    table = negsamp.AliasTable([1.0, 1.0, 2.0, 0.0, 4.0, 1e-9])
    hot, low = table._hot, table._low
    full = table._table["threshold"].astype(np.uint64)
    assert (full == 2**53).any() and (full < 2**53).any()
    np.testing.assert_array_equal(hot["t_hi"], np.minimum(full >> np.uint64(21), 2**32 - 1))
    np.testing.assert_array_equal(hot["t_hi"][full == 2**53], 2**32 - 1)
    np.testing.assert_array_equal(low[full == 2**53], 2**21)
    np.testing.assert_array_equal((hot["t_hi"].astype(np.uint64) << np.uint64(21)) + low, full)
    np.testing.assert_array_equal(hot["alias"], table._table["alias"])
    again_hot, again_low = _alias.make_compact(table._table)
    assert np.array_equal(again_hot.view(np.uint8), hot.view(np.uint8))
    assert np.array_equal(again_low, low)
    assert np.array_equal(_alias.expand(hot, low).view(np.uint8), table._table.view(np.uint8))
    for s in range(64):
        assert _alias._settle_tie_py(2**53, 2**32 - 1, 1, 2, s) == 1
        bits = reference_stream(1, 2, s, 1)[0] >> 43
        assert _alias._settle_tie_py(2**53 - 1, 2**32 - 1, 1, 2, s) == int(bits < 2**21 - 1)
    # Draws read the compact layout: the same as the full entries.
    ref = _alias.sample(table._table, None, None, 5000, 3, 4, 1, np.int64, allow_simd=False)
    for simd in (False, True):
        got = _alias.sample(None, hot, low, 5000, 3, 4, 1, np.int64, allow_simd=simd)
        np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(_alias.probabilities(table._table),
                                  _alias.probabilities(None, hot, low))
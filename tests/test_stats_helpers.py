"""The goodness-of-fit helpers refuse a fit with nothing to test."""
import numpy as np
import pytest

from _stats import assert_fits, chisquare_pvalue


def test_fewer_than_two_bins_fail_the_test():
    # One category holds all the expected count: a single bin.
    with pytest.raises(AssertionError, match="at least 2 bins"):
        chisquare_pvalue([10, 0], [1.0, 0.0])
    # Too few samples: every category pooled into one bin.
    with pytest.raises(AssertionError, match="at least 2 bins"):
        assert_fits(np.arange(4), np.full(4, 0.25))


def test_two_bins_give_a_p_value():
    p = chisquare_pvalue([50, 50], [0.5, 0.5])
    assert p == pytest.approx(1.0)
    assert chisquare_pvalue([0, 5], [1.0, 0.0]) == 0.0  # observed impossible category

"""Chapter 5's checks accept right answers and explain wrong ones."""

import math

import pytest
from scipy.optimize import brentq

from physml_helpers.course.checks import ch05
from physml_helpers.hopfield import mattis_overlap
from physml_helpers.perceptron import gardner_capacity


def test_mattis(capsys):
    ch05.check_mattis(mattis_overlap)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="unstable"):
        ch05.check_mattis(lambda t: 0.0)
    with pytest.raises(AssertionError, match="one step"):
        ch05.check_mattis(lambda t: math.tanh(1 / t) if t < 1 else 0.0)
    with pytest.raises(AssertionError, match="negative"):
        ch05.check_mattis(lambda t: -mattis_overlap(t))
    ch05.check_mattis(...)
    assert "not attempted" in capsys.readouterr().out


def test_dichotomies(capsys):
    ch05.check_dichotomies([2, 4, 6, 8, 10, 12])
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="every labeling"):
        ch05.check_dichotomies([2**p for p in range(1, 7)])
    with pytest.raises(AssertionError, match="2P"):
        ch05.check_dichotomies([2, 4, 8, 14, 22, 32])
    with pytest.raises(AssertionError, match="6 entries"):
        ch05.check_dichotomies([2, 4])


def test_margin_capacity(capsys):
    inverse = lambda a: brentq(lambda k: gardner_capacity(k) - a, -3, 10, xtol=1e-13)
    ch05.check_margin_capacity(gardner_capacity, inverse)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="every margin"):
        ch05.check_margin_capacity(lambda k: 2.0, inverse)
    with pytest.raises(AssertionError, match="margin_at_load"):
        ch05.check_margin_capacity(gardner_capacity, lambda a: 0.0)
    with pytest.raises(AssertionError, match="capacity"):
        ch05.check_margin_capacity(lambda k: 1 / (0.5 + k), inverse)


def test_outlier(capsys):
    ch05.check_outlier(lambda lam: lam + 1 / lam if lam > 1 else 2.0)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="no root"):
        ch05.check_outlier(lambda lam: lam + 1 / lam)
    with pytest.raises(AssertionError, match="spike alone"):
        ch05.check_outlier(lambda lam: lam if lam > 1 else 2.0)
    with pytest.raises(AssertionError, match="could not be checked|raised"):
        ch05.check_outlier(lambda lam: 1 / 0)

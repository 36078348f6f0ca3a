"""Chapter 5's checks accept right answers and explain wrong ones."""

import math

import pytest
from scipy.optimize import brentq

from physml_helpers.course.checks import ch05
from physml_helpers.hopfield import mattis_overlap
import numpy as np

from physml_helpers.perceptron import gardner_capacity, max_margin


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


def _critical_loads(margin, sizes=(20, 30), kappas=(0.0, 0.5), sequences=24, seed=0):
    """alpha* per sequence: the largest separable prefix with margin kappa, found by bisection (margins only fall
    as points are added); ``margin(x, y)`` is the student's margin function."""
    rng = np.random.default_rng(seed)
    out = {}
    for kappa in kappas:
        for n in sizes:
            loads = []
            for _ in range(sequences):
                x, y = rng.normal(size=(3 * n, n)), rng.choice([-1.0, 1.0], 3 * n)
                ok = lambda p: (lambda m: m > 0 and m >= kappa)(margin(x[:p], y[:p]))
                lo, hi = 0, 3 * n
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    lo, hi = (mid, hi) if ok(mid) else (lo, mid)
                loads.append(lo / n)
            out[(kappa, n)] = np.array(loads)
    return out


def test_margin_simulation(capsys):
    ch05.check_margin_simulation(_critical_loads(max_margin))
    assert "correct" in capsys.readouterr().out
    # the margin ignored: any separable prefix counts, so kappa = 0.5 gives Cover's 2
    with pytest.raises(AssertionError, match="not enforced"):
        ch05.check_margin_simulation(_critical_loads(lambda x, y: 10.0 if max_margin(x, y) > 0 else 0.0))
    # the margin measured with inputs scaled by 1/sqrt(n): too small by sqrt(n), the capacity comes out too low
    with pytest.raises(AssertionError, match="normalization"):
        ch05.check_margin_simulation(_critical_loads(lambda x, y: max_margin(x, y) / np.sqrt(x.shape[1])))
    # a non-separable prefix taken for separable (margin 0 >= kappa = 0): no spread at all
    with pytest.raises(AssertionError, match="every sequence"):
        ch05.check_margin_simulation(_critical_loads(lambda x, y: max_margin(x, y) + 1e-3, kappas=(0.0,)) |
                                     _critical_loads(max_margin, kappas=(0.5,)))
    with pytest.raises(AssertionError, match="two sizes"):
        ch05.check_margin_simulation({k: v for k, v in _critical_loads(max_margin).items() if k[1] == 20})
    ch05.check_margin_simulation(...)
    assert "not attempted" in capsys.readouterr().out


def test_outlier(capsys):
    ch05.check_outlier(lambda lam: lam + 1 / lam if lam > 1 else 2.0)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="no root"):
        ch05.check_outlier(lambda lam: lam + 1 / lam)
    with pytest.raises(AssertionError, match="spike alone"):
        ch05.check_outlier(lambda lam: lam if lam > 1 else 2.0)
    with pytest.raises(AssertionError, match="could not be checked|raised"):
        ch05.check_outlier(lambda lam: 1 / 0)

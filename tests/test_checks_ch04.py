"""Chapter 4's checks accept right answers and explain wrong ones."""

import math

import numpy as np
import pytest

from physml_helpers import generalization as gz
from physml_helpers.course.checks import ch04


def test_below_threshold_risk(capsys):
    ch04.check_below_threshold_risk(lambda n, p, s: s**2 * p / (n - p - 1))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="large-n"):
        ch04.check_below_threshold_risk(lambda n, p, s: s**2 * p / (n - p))
    with pytest.raises(AssertionError, match="squared"):
        ch04.check_below_threshold_risk(lambda n, p, s: s * p / (n - p - 1))
    ch04.check_below_threshold_risk(...)
    assert "not attempted" in capsys.readouterr().out


def test_optimal_ridge(capsys):
    ch04.check_optimal_ridge(lambda g, r, s: s**2 * g / r**2)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="gamma"):
        ch04.check_optimal_ridge(lambda g, r, s: s**2 / r**2)
    with pytest.raises(AssertionError, match="optimal_ridge"):
        ch04.check_optimal_ridge(lambda g, r, s: 2 * s**2 * g / r**2)


def _measured(a, b):
    eig, w = gz.power_law_spectrum(200_000, a=a, b=b)
    r1, r2 = (gz.deterministic_equivalent_risk(P, eigenvalues=eig, target_power=eig * w**2, ridge=0.0) for P in (1000, 4000))
    return -math.log(r2 / r1) / math.log(4)


def test_scaling_exponent(capsys):
    ch04.check_scaling_exponent(_measured)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="b - 1"):
        ch04.check_scaling_exponent(lambda a, b: b - 1)
    with pytest.raises(AssertionError, match="positive"):
        ch04.check_scaling_exponent(lambda a, b: -min(2 * a, b - 1))


def _gd(s, a0, lr, n_steps):
    w1 = w2 = math.sqrt(a0)
    out = [w1 * w2]
    for _ in range(n_steps):
        err = s - w1 * w2
        w1, w2 = w1 + lr * w2 * err, w2 + lr * w1 * err
        out.append(w1 * w2)
    return np.array(out)


def test_deep_linear_mode(capsys):
    ch04.check_deep_linear_mode(_gd)
    assert "correct" in capsys.readouterr().out

    def one_layer(s, a0, lr, n):
        a, out = a0, [a0]
        for _ in range(n):
            a += lr * (s - a)
            out.append(a)
        return np.array(out)

    with pytest.raises(AssertionError, match="single linear layer"):
        ch04.check_deep_linear_mode(one_layer)
    with pytest.raises(AssertionError, match="shape"):
        ch04.check_deep_linear_mode(lambda s, a0, lr, n: _gd(s, a0, lr, n)[1:])
    with pytest.raises(AssertionError, match="could not be checked|raised"):
        ch04.check_deep_linear_mode(lambda s, a0, lr, n: 1 / 0)


def _flow_risk(t, s, power, noise_var, *, bias_rate=2, noise_power=2):
    x = np.outer(t, s)
    return np.sum(power * np.exp(-bias_rate * x) + noise_var * (1 - np.exp(-x)) ** noise_power, axis=1)


def _ridge_at_inverse_time(t, s, power, noise_var):  # the ridge filter at lambda = 1/t: close, but not the flow
    x = np.outer(t, s)
    return np.sum(power / (1 + x) ** 2 + noise_var * (x / (1 + x)) ** 2, axis=1)


def test_epochwise_risk(capsys):
    ch04.check_epochwise_risk(_flow_risk)
    out = capsys.readouterr().out
    assert "correct" in out and "2 local minima" in out
    with pytest.raises(AssertionError, match="squared, like the weights"):
        ch04.check_epochwise_risk(lambda t, s, pw, v: _flow_risk(t, s, pw, v, noise_power=1))
    with pytest.raises(AssertionError, match="bias decays"):
        ch04.check_epochwise_risk(lambda t, s, pw, v: _flow_risk(t, s, pw, v, bias_rate=1))
    with pytest.raises(AssertionError, match="risk_curve"):
        ch04.check_epochwise_risk(_ridge_at_inverse_time)

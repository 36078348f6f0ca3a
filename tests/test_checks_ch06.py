"""Chapter 6's checks accept right answers and explain wrong ones."""

import numpy as np
import pytest

from physml_helpers.course.checks import ch06


def test_rings(capsys):
    right = lambda bonds: bool(np.prod(np.sign(bonds)) < 0)
    ch06.check_rings({"unfrustrated": -4.0, "frustrated": -2.0}, right)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="wrong sign"):
        ch06.check_rings({"unfrustrated": 4.0, "frustrated": -2.0}, right)
    with pytest.raises(AssertionError, match="frustrated'\\]"):
        ch06.check_rings({"unfrustrated": -4.0, "frustrated": -4.0}, right)
    with pytest.raises(AssertionError, match="product of the couplings"):
        ch06.check_rings({"unfrustrated": -4.0, "frustrated": -2.0}, lambda bonds: bool(np.sum(bonds) < 0))
    ch06.check_rings(..., right)
    assert "not attempted" in capsys.readouterr().out


def test_exponent(capsys):
    sweeps = np.array([32, 128, 512])
    residuals = 0.1 * sweeps ** -0.3
    ch06.check_exponent(sweeps, residuals, 0.3)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="wrong sign"):
        ch06.check_exponent(sweeps, residuals, -0.3)
    with pytest.raises(AssertionError, match="kappa"):
        ch06.check_exponent(sweeps, residuals, 0.25)
    with pytest.raises(AssertionError, match="per spin"):
        ch06.check_exponent(sweeps, 100 * residuals, 0.3)  # total, not per-spin energies


def test_schedule(capsys):
    def geometric(t0, tf, n):
        return t0 * (tf / t0) ** (np.arange(1, n + 1) / n)

    want_lin, _ = ch06._reference_residual(1.0 - np.arange(1, 257) / 256, 7)
    want_geo, _ = ch06._reference_residual(geometric(1.0, 0.05, 256), 8)
    ch06.check_schedule(geometric, want_lin, want_geo)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="start one step below"):
        ch06.check_schedule(lambda t0, tf, n: t0 * (tf / t0) ** (np.arange(n) / n), want_lin, want_geo)
    with pytest.raises(AssertionError, match="residual_linear"):
        ch06.check_schedule(geometric, 100 * want_lin, want_geo)


def test_parameter_counts(capsys):
    ch06.check_parameter_counts(5050, 8282, 0.02, 0.03)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="every entry"):
        ch06.check_parameter_counts(100 + 100 * 100, 8282, 0.02, 0.03)
    with pytest.raises(AssertionError, match="n_params_large"):
        ch06.check_parameter_counts(5050, 8000, 0.02, 0.03)
    with pytest.raises(AssertionError, match="residual_small"):
        ch06.check_parameter_counts(5050, 8282, 0.5, 0.03)

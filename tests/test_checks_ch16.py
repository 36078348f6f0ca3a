"""Chapter 16's checks accept right answers and explain wrong ones."""

import pytest
import sympy as sp

from physml_helpers.course.checks import ch16

a0, b = sp.symbols("a0 b", positive=True)
T, Tc = sp.symbols("T T_c", real=True)


def test_rates(capsys):
    ch16.check_rates(sp.sqrt(a0 * (Tc - T) / b), a0 * (T - Tc), 2 * a0 * (Tc - T), a0, b, T, Tc)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="cubic term"):
        ch16.check_rates(sp.sqrt(a0 * (Tc - T) / b), a0 * (T - Tc), a0 * (Tc - T), a0, b, T, Tc)
    with pytest.raises(AssertionError, match="wrong sign"):
        ch16.check_rates(sp.sqrt(a0 * (Tc - T) / b), a0 * (Tc - T), 2 * a0 * (Tc - T), a0, b, T, Tc)
    with pytest.raises(AssertionError, match="complex"):
        ch16.check_rates(sp.sqrt(a0 * (T - Tc) / b), a0 * (T - Tc), 2 * a0 * (Tc - T), a0, b, T, Tc)


def test_relaxation_times(capsys):
    ch16.check_relaxation_times({t: 1 / (t - 1) * 0.999 for t in (1.05, 1.1, 1.2, 1.4)})
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="half the expected"):
        ch16.check_relaxation_times({t: 0.5 / (t - 1) for t in (1.05, 1.1, 1.2, 1.4)})
    with pytest.raises(AssertionError, match="keys 1.05"):
        ch16.check_relaxation_times({1.1: 10.0})


def test_symmetry(capsys):
    ch16.check_symmetry({"physics": 0.002, "black box": 0.5})
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="above 0.01"):
        ch16.check_symmetry({"physics": 0.2, "black box": 0.5})
    with pytest.raises(AssertionError, match="several times"):
        ch16.check_symmetry({"physics": 0.002, "black box": 0.003})


def test_two_temperatures(capsys):
    with pytest.raises(AssertionError, match="training temperature"):
        ch16.check_two_temperatures(0.6)
    with pytest.raises(AssertionError, match="T_c from two temperatures"):
        ch16.check_two_temperatures(1.0)

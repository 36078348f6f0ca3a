"""Chapter 9's checks accept right answers and explain wrong ones."""

import jax
import numpy as np
import pytest

from physml_helpers.course.checks import ch09
from physml_helpers.discovery import Expression, polynomial_library, sindy


def test_sun_gm(capsys):
    ch09.check_sun_gm(ch09.GM_SUN_IAU * (1 + 2e-4))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="m\\^3/day\\^2"):
        ch09.check_sun_gm(ch09.GM_SUN_IAU * 86400**2)
    with pytest.raises(AssertionError, match="4 pi\\^2"):
        ch09.check_sun_gm(ch09.GM_SUN_IAU / (4 * np.pi**2))
    with pytest.raises(AssertionError, match="G M_sun"):
        ch09.check_sun_gm(ch09.GM_SUN_IAU * 1.01)
    ch09.check_sun_gm(...)
    assert "not attempted" in capsys.readouterr().out


def test_spring_period(capsys):
    exact = lambda m, k: 2 * np.pi * np.sqrt(m / k)
    knee = Expression("6.28319 * m^0.5 k^(-0.5)", 7, 1e-9, (2 * np.pi,))
    ch09.check_spring_period(exact, knee)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="half a period"):
        ch09.check_spring_period(lambda m, k: exact(m, k) / 2, knee)
    with pytest.raises(AssertionError, match="not of the form"):
        ch09.check_spring_period(exact, Expression("6.02 * k^(-0.5)", 4, 0.4, (6.02,)))
    with pytest.raises(AssertionError, match="offset"):
        ch09.check_spring_period(exact, Expression("6.28 * m^0.5 k^(-0.5) + 0.01", 9, 1e-9, (6.28, 0.01)))
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        ch09.check_spring_period(lambda m, k: 1 / 0, knee)


def _lorenz_like_data():
    # exact Lorenz derivatives on random points: the structure is recovered for thresholds up to 1
    x = np.asarray(jax.random.normal(jax.random.key(0), (500, 3))) * np.array([8.0, 9.0, 8.0]) + np.array([0, 0, 25.0])
    theta, terms = polynomial_library(x, 2, ["x", "y", "z"])
    dx = np.column_stack([10 * (x[:, 1] - x[:, 0]), x[:, 0] * (28 - x[:, 2]) - x[:, 1], x[:, 0] * x[:, 1] - 8 / 3 * x[:, 2]])
    return theta, dx


def test_threshold_scan(capsys):
    theta, dx = _lorenz_like_data()
    thresholds = np.array([0.1, 0.5, 2.0])
    models = [sindy(theta, dx, threshold=t) for t in thresholds]
    n_terms = np.array([np.count_nonzero(m) for m in models])
    right = np.array([True, True, False])
    assert n_terms.tolist()[:2] == [7, 7] and n_terms[2] < 7
    ch09.check_threshold_scan(theta, dx, thresholds, n_terms, right)
    assert "0.1 to 0.5" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="sindy keeps"):
        ch09.check_threshold_scan(theta, dx, thresholds, n_terms + 1, right)
    with pytest.raises(AssertionError, match="structure is"):
        ch09.check_threshold_scan(theta, dx, thresholds, n_terms, np.array([True, True, True]))
    with pytest.raises(AssertionError, match="one entry per threshold"):
        ch09.check_threshold_scan(theta, dx, thresholds, n_terms[:2], right)


def test_heat_restores_energy(capsys):
    laws = np.zeros((3, 9))
    laws[0, [0, 1]] = laws[1, [2, 3]] = laws[2, [4, 5, 8]] = 1.0
    ch09.check_heat_restores_energy(laws[::-1] + 1e-3)  # any order, within the noise
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="only momentum"):
        ch09.check_heat_restores_energy(laws[:2])
    wrong = laws.copy()
    wrong[2, 8] = 0.0
    with pytest.raises(AssertionError, match="K1 \\+ K2 \\+ Q"):
        ch09.check_heat_restores_energy(wrong)
    with pytest.raises(AssertionError, match="9 columns"):
        ch09.check_heat_restores_energy(laws[:, :8])


def test_threshold_scan_over_the_exercise_range_converges():
    # sindy raises ConvergenceError when its support is still changing after max_iter rounds; over the
    # exercise's scan (0.01 to 30, log grid) with noisy derivatives it settles within a few rounds, so the
    # check (which calls sindy with the default max_iter) never meets that error
    theta, dx = _lorenz_like_data()
    dx = dx + 0.5 * np.asarray(jax.random.normal(jax.random.key(1), dx.shape))
    thresholds = np.geomspace(0.01, 30, 25)
    models = [sindy(theta, dx, threshold=t, max_iter=5) for t in thresholds]
    n_terms = np.array([np.count_nonzero(m) for m in models])
    lorenz = ch09._lorenz_structure()
    right = np.array([np.array_equal(m != 0, lorenz) for m in models])
    assert right.any() and not right.all()
    ch09.check_threshold_scan(theta, dx, thresholds, n_terms, right)


def _pendulum_data():
    from scipy.special import ellipk

    noise = 3e-5
    theta0 = np.linspace(0.05, 1.2, 30)
    periods = 4 * ellipk(np.sin(theta0 / 2) ** 2) * (1 + noise * np.asarray(jax.random.normal(jax.random.key(9), (30,))))
    return theta0, periods, noise


def _series_b(theta0, periods, degree):
    design = np.column_stack([theta0 ** (2 * j) for j in range(degree + 1)]) / periods[:, None]
    coef = np.linalg.lstsq(design, np.ones_like(periods), rcond=None)[0]
    return coef[1] / coef[0], coef


def test_pendulum_outside_grammar(capsys):
    from physml_helpers.discovery import power_law_search

    theta0, periods, noise = _pendulum_data()
    best = power_law_search({"theta0": theta0}, periods, noise=noise)[0]
    b, coef = _series_b(theta0, periods, 3)
    ch09.check_pendulum_outside_grammar(theta0, periods, noise, best.chi2_per_dof, b)
    assert "correct" in capsys.readouterr().out
    # the same cubic fit on absolute residuals is as right (0.02 standard errors away)
    design = np.column_stack([theta0 ** (2 * j) for j in range(4)])
    c = np.linalg.lstsq(design, periods, rcond=None)[0]
    ch09.check_pendulum_outside_grammar(theta0, periods, noise, best.chi2_per_dof, c[1] / c[0])
    assert "correct" in capsys.readouterr().out
    # typical wrong answers: a series stopped at theta0^4 (its chi2 looks fine, its b is biased)
    b2, _ = _series_b(theta0, periods, 2)
    with pytest.raises(AssertionError, match="theta0\\^2 and theta0\\^4 only"):
        ch09.check_pendulum_outside_grammar(theta0, periods, noise, best.chi2_per_dof, b2)
    with pytest.raises(AssertionError, match="c1 / c0"):
        ch09.check_pendulum_outside_grammar(theta0, periods, noise, best.chi2_per_dof, coef[1])
    dof = theta0.size - best.n_params
    with pytest.raises(AssertionError, match="degrees of freedom"):
        ch09.check_pendulum_outside_grammar(theta0, periods, noise, best.chi2_per_dof * dof, b)
    with pytest.raises(AssertionError, match="noise\\*\\*2"):
        ch09.check_pendulum_outside_grammar(theta0, periods, noise, best.rss, b)
    with pytest.raises(AssertionError, match="b"):
        ch09.check_pendulum_outside_grammar(theta0, periods, noise, best.chi2_per_dof, 1 / 8)
    ch09.check_pendulum_outside_grammar(theta0, periods, noise, ..., ...)
    assert "not attempted" in capsys.readouterr().out

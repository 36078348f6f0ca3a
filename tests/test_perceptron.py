"""physml_helpers.perceptron against exact results: Cover's count (small cases, identities, brute force with the
linear program), Gardner's capacity at zero margin and against quadrature, the Hebbian learning curve, the published
Bayes-optimal errors (Engel & Van den Broeck), GAMP against its fixed point; bad input."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad

from physml_helpers import perceptron


def test_cover_count_small_cases_and_identities():
    assert [perceptron.cover_count(p, 2) for p in range(1, 7)] == [2, 4, 6, 8, 10, 12]
    assert perceptron.cover_count(3, 5) == 8  # P <= N: every dichotomy
    assert all(perceptron.cover_count(2 * n, n) == 2 ** (2 * n - 1) for n in (1, 3, 50))
    big = perceptron.cover_count(2000, 600)
    assert isinstance(big, int) and big.bit_length() > 1000
    assert perceptron.separable_probability(20, 10) == pytest.approx(0.5, abs=1e-15)


def test_brute_force_count_with_the_linear_program():
    x = np.asarray(jax.random.normal(jax.random.key(0), (6, 3)))
    count = sum(perceptron.is_linearly_separable(x, np.array(y)) for y in itertools.product([-1.0, 1.0], repeat=6))
    assert count == perceptron.cover_count(6, 3)


def test_max_margin_exact_cases_and_against_a_general_solver():
    # orthonormal points: the best unit w is (y_1, ..., y_P)/sqrt(P), margin 1/sqrt(P), whatever the labels
    for p in (1, 3, 5):
        x = np.eye(8)[:p] * 1.0
        assert perceptron.max_margin(x, np.array([1.0, -1.0, 1.0, 1.0, -1.0][:p])) == pytest.approx(1 / math.sqrt(p), rel=1e-10)
    # one point: the margin is its length
    assert perceptron.max_margin(np.array([[3.0, 4.0]]), np.array([-1.0])) == pytest.approx(5.0, rel=1e-12)
    # a point and its mirror image with the same label: not separable
    assert perceptron.max_margin(np.array([[1.0, 2.0], [-1.0, -2.0]]), np.array([1.0, 1.0])) == 0.0
    # random problems: separable exactly when the linear program says so, and the margin agrees with scipy's trust-constr on the
    # hard-margin quadratic program min |w|^2 subject to y w.x >= 1 (an interior-point solver)
    from scipy.optimize import LinearConstraint, linprog, minimize

    rng = np.random.default_rng(3)
    for p, n in ((4, 10), (8, 10), (12, 10), (30, 10), (40, 10)):
        x, y = rng.normal(size=(p, n)), rng.choice([-1.0, 1.0], p)
        kappa = perceptron.max_margin(x, y)
        assert (kappa > 0) == perceptron.is_linearly_separable(x, y)
        if kappa > 0:
            z = y[:, None] * x
            start = linprog(np.zeros(n), A_ub=-z, b_ub=-np.ones(p), bounds=[(None, None)] * n, method="highs").x  # feasible
            res = minimize(lambda w: w @ w, start, jac=lambda w: 2 * w, hess=lambda w: 2 * np.eye(n),
                           constraints=[LinearConstraint(z, 1, np.inf)], method="trust-constr",
                           options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 5000})
            assert res.success, res.message
            assert kappa == pytest.approx(1 / math.sqrt(res.fun), rel=1e-6)
            assert kappa * math.sqrt(res.fun) < 1 + 1e-6


def test_max_margin_reports_a_solver_failure_instead_of_a_zero_margin(monkeypatch):
    import scipy.optimize

    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([1.0, 1.0])
    assert perceptron.max_margin(x, y) == pytest.approx(1 / math.sqrt(2), rel=1e-10)
    # a solver that returns a point violating the constraints (the true answer is u = (1/3, 1/3))
    monkeypatch.setattr(scipy.optimize, "nnls", lambda e, f, maxiter=None: (np.array([0.5, 0.0]), 0.0))
    with pytest.raises(RuntimeError, match="violates its constraints"):
        perceptron.max_margin(x, y)


def test_gardner_capacity_against_quadrature():
    assert perceptron.gardner_capacity(0.0) == pytest.approx(2.0, abs=1e-13)
    for k in (-0.5, 0.7, 2.0):
        integral, _ = quad(lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi) * (t + k) ** 2, -k, np.inf, epsabs=1e-13)
        assert perceptron.gardner_capacity(k) == pytest.approx(1 / integral, rel=1e-9)


def test_hebbian_learning_curve_within_error_bars():
    n, p = 200, 400
    def error(key):
        x, y, t = perceptron.teacher_student_data(key, p, n)
        return perceptron.generalization_error(x.T @ y, t)
    eps = np.asarray(jax.vmap(error)(jax.random.split(jax.random.key(1), 64)))
    want = math.acos(float(perceptron.hebbian_overlap(p / n))) / math.pi
    assert abs(eps.mean() - want) < 4 * eps.std(ddof=1) / 8


def test_bayes_optimal_published_errors():
    for alpha, value, half_unit in ((1, 0.25, 0.005), (2, 0.17, 0.005), (5, 0.084, 0.0005), (10, 0.044, 0.0005)):
        q = perceptron.bayes_optimal_overlap(alpha)
        assert abs(math.acos(math.sqrt(q)) / math.pi - value) <= half_unit
    assert perceptron.bayes_optimal_overlap(0) == 0.0


def test_gamp_reaches_its_fixed_point_and_is_jit_friendly():
    x, y, t = perceptron.teacher_student_data(jax.random.key(3), 2000, 1000)
    mean, info = perceptron.gamp(x, y, 25, teacher=t)
    q = perceptron.bayes_optimal_overlap(2.0)
    assert mean.shape == (1000,) and mean.dtype == jnp.float64
    assert abs(float(info.q[-1]) - q) < 4 / math.sqrt(1000)
    assert abs(float(info.overlap[-1]) / float(jnp.sqrt(jnp.mean(t**2))) - q) < 4 / math.sqrt(1000)
    _, info2 = perceptron.gamp(x, y, 25)
    assert np.all(np.isnan(np.asarray(info2.overlap))) and np.allclose(info2.q, info.q)


def test_bad_input():
    with pytest.raises(ValueError, match="n_points"):
        perceptron.cover_count(0, 2)
    with pytest.raises(TypeError, match="n_dims"):
        perceptron.cover_count(3, 2.5)
    with pytest.raises(ValueError, match="labels"):
        perceptron.is_linearly_separable(np.ones((3, 2)), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="one entry per point"):
        perceptron.is_linearly_separable(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="kappa"):
        perceptron.gardner_capacity(float("inf"))
    with pytest.raises(ValueError, match="labels"):
        perceptron.max_margin(np.ones((3, 2)), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="one entry per point"):
        perceptron.max_margin(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="nonzero"):
        perceptron.generalization_error(jnp.zeros(3), jnp.ones(3))
    with pytest.raises(ValueError, match="alpha"):
        perceptron.hebbian_overlap(-1.0)
    with pytest.raises(ValueError, match="alpha"):
        perceptron.bayes_optimal_overlap(-1.0)
    with pytest.raises(TypeError, match="key"):
        perceptron.teacher_student_data(1, 3, 2)
    with pytest.raises(ValueError, match="labels"):
        perceptron.gamp_kernel(jnp.ones((3, 2)), jnp.ones(2))

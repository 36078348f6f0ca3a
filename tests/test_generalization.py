"""Tests of physml_helpers.generalization against exact results: pseudo-inverse and lstsq, the inverse-Wishart
risk, ridge optimality conditions, the arc-cosine kernel, the deterministic equivalent's limits, Saxe's ODE."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import generalization as gz


def _data(seed, n, p, k=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    y = rng.standard_normal((n,) if k is None else (n, k))
    return x, y


@pytest.mark.parametrize("n, p", [(30, 10), (10, 30), (20, 20)])
def test_min_norm_matches_pinv_and_lstsq(n, p):
    x, y = _data(0, n, p)
    w = np.asarray(gz.min_norm_least_squares(x, y))
    np.testing.assert_allclose(w, np.linalg.pinv(x) @ y, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(w, np.linalg.lstsq(x, y, rcond=None)[0], rtol=1e-8, atol=1e-10)
    x2, y2 = _data(1, n, p, k=3)
    np.testing.assert_allclose(np.asarray(gz.min_norm_least_squares(x2, y2)), np.linalg.pinv(x2) @ y2, rtol=1e-8, atol=1e-10)


def test_min_norm_ignores_zero_padding_and_works_under_vmap():
    x, y = _data(2, 15, 5)
    padded = np.concatenate([x, np.zeros((15, 4))], axis=1)
    w = np.asarray(gz.min_norm_least_squares(padded, y))
    np.testing.assert_allclose(w[:5], np.linalg.lstsq(x, y, rcond=None)[0], rtol=1e-8)
    assert np.all(w[5:] == 0)
    batch = jax.vmap(gz.min_norm_least_squares)(jnp.stack([x, 2 * x]), jnp.stack([y, y]))
    np.testing.assert_allclose(np.asarray(batch[1]), np.asarray(batch[0]) / 2, rtol=1e-10)


@pytest.mark.parametrize("n, p", [(30, 10), (10, 30)])
def test_ridge_satisfies_its_normal_equations(n, p):
    x, y = _data(3, n, p)
    w = np.asarray(gz.ridge_regression(x, y, ridge=0.7))
    # gradient of sum (y - x w)^2 + ridge |w|^2 vanishes
    np.testing.assert_allclose(x.T @ (x @ w - y) + 0.7 * w, 0, atol=1e-10)
    # and the small-ridge limit is the min-norm solution
    np.testing.assert_allclose(np.asarray(gz.ridge_regression(x, y, ridge=1e-10)), np.linalg.pinv(x) @ y, rtol=1e-5, atol=1e-7)


def test_risk_formulas_against_simulation_and_limits():
    # the exact risk is the mean over designs; 4000 draws, tolerance 4 standard errors
    rng = np.random.default_rng(4)
    n, r, sigma = 30, 1.0, 0.5
    for p in (10, 60):
        risks = []
        for _ in range(4000):
            x = rng.standard_normal((n, p))
            beta = rng.standard_normal(p)
            beta *= r / np.linalg.norm(beta)
            y = x @ beta + sigma * rng.standard_normal(n)
            risks.append(np.sum((np.linalg.pinv(x) @ y - beta) ** 2))
        risks = np.array(risks)
        want = gz.min_norm_risk(n, p, signal=r, noise=sigma)
        assert abs(risks.mean() - want) < 4 * risks.std(ddof=1) / np.sqrt(len(risks)), (p, risks.mean(), want)
    # large n: the exact risk tends to the asymptotic one
    for gamma in (0.5, 2.0):
        n = 100_000
        exact = gz.min_norm_risk(n, int(gamma * n), signal=r, noise=sigma)
        assert abs(exact - gz.isotropic_risk(gamma, signal=r, noise=sigma)) < 1e-4
    np.testing.assert_allclose(gz.isotropic_risk(np.array([0.5, 2.0]), signal=1.0, noise=1.0), [1.0, 1.5])


def test_optimal_ridge_risk_is_the_minimum_over_ridges_and_finite_at_one():
    # large-n simulation-free check: the Bayes risk sigma^2 tr (X^T X + c I)^{-1} with c = sigma^2 p / r^2
    rng = np.random.default_rng(5)
    n, p, r, sigma = 400, 400, 1.0, 0.5
    x = rng.standard_normal((n, p))
    eig = np.linalg.eigvalsh(x.T @ x)
    empirical = sigma**2 * np.sum(1 / (eig + sigma**2 * p / r**2))
    assert abs(empirical - gz.optimal_ridge_risk(1.0, signal=r, noise=sigma)) < 0.01
    assert gz.optimal_ridge_risk(1.0, signal=r, noise=sigma) < r**2
    lo, hi = gz.marchenko_pastur_edges(0.25)
    assert (lo, hi) == pytest.approx((0.25, 2.25))


def test_relu_kernel_is_the_infinite_width_limit():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 8))
    phi = np.asarray(gz.relu_random_features(jax.random.key(0), x, 400_000))
    mc = phi @ phi.T / phi.shape[1]
    np.testing.assert_allclose(mc, np.asarray(gz.relu_kernel_matrix(x, x)), atol=5e-3)
    # the diagonal is |x|^2 / (2 d)
    np.testing.assert_allclose(np.diag(np.asarray(gz.relu_kernel_matrix(x, x))), np.sum(x**2, axis=1) / 16, rtol=1e-10)


def test_deterministic_equivalent_limits():
    eig, w = gz.power_law_spectrum(2000, a=1.5, b=2.5)
    power = eig * w**2
    np.testing.assert_allclose(power, np.arange(1, 2001.0) ** -2.5)
    # no data: risk = total power; huge ridge: also the total power
    assert gz.deterministic_equivalent_risk(1, eigenvalues=eig, target_power=power, ridge=1e12) == pytest.approx(power.sum(), rel=1e-6)
    # isotropic spectrum below the threshold with noise: the OLS asymptotic sigma^2 gamma/(1 - gamma)
    iso = gz.deterministic_equivalent_risk(200, eigenvalues=np.ones(50), target_power=np.ones(50) / 50, ridge=1e-9, noise=1.0)
    assert iso == pytest.approx(0.25 / 0.75, rel=1e-5)
    # ridgeless power law: the slope between P = 1000 and 4000 approaches -min(2a, b - 1) = -1.5
    eig, w = gz.power_law_spectrum(200_000, a=1.5, b=2.5)
    r1, r2 = (gz.deterministic_equivalent_risk(P, eigenvalues=eig, target_power=eig * w**2, ridge=0.0) for P in (1000, 4000))
    assert -np.log(r2 / r1) / np.log(4) == pytest.approx(1.5, abs=0.05)


def test_power_law_teacher_statistics():
    x, y = gz.power_law_teacher(jax.random.key(1), 20_000, n_modes=50, a=1.0, b=2.0)
    eig, w = gz.power_law_spectrum(50, a=1.0, b=2.0)
    var = np.asarray(x).var(axis=0)
    assert np.all(np.abs(var - eig) < 5 * eig * np.sqrt(2 / 20_000))
    np.testing.assert_allclose(np.asarray(y), np.asarray(x) @ w, rtol=1e-12, atol=1e-12)


def test_saxe_closed_form_solves_its_ode():
    s, a0, tau = 2.0, 1e-3, 1.5
    t = np.linspace(0, 10, 2001)
    a = np.asarray(gz.saxe_mode_strength(t, singular_value=s, initial=a0, tau=tau))
    assert a[0] == pytest.approx(a0) and a[-1] == pytest.approx(s, rel=1e-6)
    dadt = np.gradient(a, t)
    np.testing.assert_allclose(tau * dadt[1:-1], (2 * a * (s - a))[1:-1], atol=2e-3)


def test_bad_inputs():
    x, y = _data(7, 5, 3)
    with pytest.raises(ValueError, match="y must have shape"):
        gz.min_norm_least_squares(x, y[:4])
    with pytest.raises(ValueError, match="2-D"):
        gz.min_norm_least_squares(x[0], y)
    with pytest.raises(ValueError, match="ridge"):
        gz.ridge_regression(x, y, ridge=0.0)
    with pytest.raises(ValueError, match="gamma = 1"):
        gz.isotropic_risk(1.0, signal=1.0, noise=0.5)
    with pytest.raises(ValueError, match="gamma = 1"):
        gz.isotropic_risk(np.array([0.5, 1.0]), signal=1.0, noise=0.5)
    with pytest.raises(ValueError, match="infinite"):
        gz.min_norm_risk(50, 51, signal=1.0, noise=0.5)
    with pytest.raises(ValueError, match="noise"):
        gz.isotropic_risk(0.5, signal=1.0, noise=-1.0)
    with pytest.raises(TypeError, match="key"):
        gz.relu_random_features(0, x, 4)
    with pytest.raises(ValueError, match="b must be > 1"):
        gz.power_law_spectrum(10, a=1.0, b=1.0)
    with pytest.raises(ValueError, match="more modes than samples"):
        gz.deterministic_equivalent_risk(20, eigenvalues=np.ones(10), target_power=np.ones(10), ridge=0.0)
    with pytest.raises(ValueError, match="t must be >= 0"):
        gz.saxe_mode_strength(-1.0, singular_value=1.0, initial=0.1)


def test_dtype_follows_inputs():
    x, y = _data(8, 6, 3)
    assert gz.min_norm_least_squares(x.astype(np.float32), y.astype(np.float32)).dtype == jnp.float32
    assert gz.ridge_regression(x, y, ridge=1.0).dtype == jnp.float64

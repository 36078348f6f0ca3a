"""Simulation-based inference helpers against the exact Gaussian-linear posterior and exact rank statistics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import sbi


def test_gaussian_linear_posterior_is_exact():
    mean, var = sbi.gaussian_linear_posterior(jnp.array([0.4, -1.0]))
    np.testing.assert_allclose(np.asarray(mean), [0.2, -0.5], rtol=1e-14)
    assert abs(var - 0.05) < 1e-15
    # a Monte Carlo check of the simulator against the same posterior: E[theta | x near x0] = x0 / 2
    theta = sbi.gaussian_linear_prior(jax.random.key(0), 200_000, 1)
    x = sbi.gaussian_linear_simulator(jax.random.key(1), theta)
    slope = float(jnp.sum(theta * x) / jnp.sum(x * x))        # regression of theta on x
    assert abs(slope - 0.5) < 5 * 0.5 / np.sqrt(200_000) * 2   # a few standard errors


def test_gaussian_kl_closed_form():
    assert sbi.gaussian_kl([0.0], [1.0], [0.0], [1.0]) == pytest.approx(0.0, abs=1e-15)
    assert sbi.gaussian_kl([1.0], [1.0], [0.0], [1.0]) == pytest.approx(0.5, rel=1e-14)
    assert sbi.gaussian_kl([0.0], [1.0], [0.0], [2.0]) == pytest.approx(0.5 * (np.log(2) + 0.5 - 1), rel=1e-14)


def test_rejection_abc_keeps_nearest():
    theta = np.arange(10.0)[:, None]
    x = theta.copy()
    acc, eps = sbi.rejection_abc(theta, x, np.array([4.2]), n_accept=3)
    assert sorted(acc[:, 0].tolist()) == [3.0, 4.0, 5.0] and eps == pytest.approx(1.2)


@pytest.fixture(scope="module")
def bank():
    theta = sbi.gaussian_linear_prior(jax.random.key(2), 3000, 1)
    return theta, sbi.gaussian_linear_simulator(jax.random.key(3), theta)


def test_posterior_network_recovers_exact_posterior(bank):
    est, hist = sbi.train_posterior_estimator(jax.random.key(4), *bank, n_components=1, hidden=(16,), n_steps=600, lr=1e-2)
    x = jnp.array([[-0.5], [0.0], [0.4]])
    s = np.asarray(sbi.mdn_sample(jax.random.key(5), est, x, 4000))
    # learned posterior within 0.2 posterior sd of the exact mean and 15% in variance (a 3000-simulation fit;
    # the sampling error of 4000 samples is 0.016 sd, the rest is the fit)
    np.testing.assert_allclose(s.mean(axis=1)[:, 0], np.asarray(x[:, 0]) / 2, atol=0.2 * np.sqrt(0.05))
    np.testing.assert_allclose(s.var(axis=1)[:, 0], 0.05, rtol=0.15)
    # its log density is normalized: integrate on a grid
    grid = jnp.linspace(-2, 2, 2001)[:, None]
    mass = float(jnp.sum(jnp.exp(sbi.mdn_log_prob(est, grid, x[0]))) * 4 / 2000)
    assert abs(mass - 1) < 1e-6


def test_ratio_estimator_recovers_exact_log_ratio(bank):
    est, hist = sbi.train_ratio_estimator(jax.random.key(6), *bank, hidden=(32, 32), n_steps=800, lr=5e-3)
    theta = jnp.linspace(-0.5, 0.5, 11)[:, None]
    x = jnp.full_like(theta, 0.2)
    exact = (-0.5 * (x - theta) ** 2 / 0.1 + 0.5 * x**2 / 0.2 - 0.5 * np.log(0.1 / 0.2))[:, 0]
    got = sbi.log_ratio(est, theta, x)
    assert float(jnp.max(jnp.abs(got - exact))) < 0.25   # nats, over the bulk of the prior


def test_sbc_ranks_uniform_for_exact_posterior():
    key = jax.random.split(jax.random.key(7), 3)
    theta = sbi.gaussian_linear_prior(key[0], 1000, 1)
    x = sbi.gaussian_linear_simulator(key[1], theta)
    samples = np.asarray(x)[:, None, :] / 2 + np.sqrt(0.05) * np.asarray(jax.random.normal(key[2], (1000, 19, 1)))
    ranks = sbi.sbc_ranks(samples, np.asarray(theta))
    counts, chi2, p = sbi.rank_uniformity(ranks[:, 0], 19, n_bins=10)
    assert counts.sum() == 1000 and p > 1e-3
    cover = sbi.credible_coverage(ranks[:, 0], 19, [0.5, 0.9])
    assert np.all(np.abs(cover - [0.5, 0.9]) < 3 * np.sqrt(np.array([0.25, 0.09]) / 1000) + 0.05 / 2)
    narrow = np.asarray(x)[:, None, :] / 2 + 0.5 * (samples - np.asarray(x)[:, None, :] / 2)
    assert sbi.rank_uniformity(sbi.sbc_ranks(narrow, np.asarray(theta))[:, 0], 19)[2] < 1e-6


def test_bad_inputs():
    with pytest.raises(TypeError, match="key"):
        sbi.gaussian_linear_prior(0, 10, 2)
    with pytest.raises(ValueError, match="prior_var"):
        sbi.gaussian_linear_posterior([1.0], prior_var=-1.0)
    with pytest.raises(ValueError, match="n_accept"):
        sbi.rejection_abc(np.zeros((5, 1)), np.zeros((5, 1)), np.zeros(1), n_accept=6)
    with pytest.raises(ValueError, match="same number"):
        sbi.train_posterior_estimator(jax.random.key(0), jnp.zeros((5, 1)), jnp.zeros((4, 1)))
    with pytest.raises(ValueError, match="n_bins"):
        sbi.rank_uniformity(np.zeros(100, int), 19, n_bins=7)
    with pytest.raises(ValueError, match="levels"):
        sbi.credible_coverage(np.zeros(10, int), 19, [1.5])
    with pytest.raises(TypeError, match="estimator"):
        sbi.log_ratio({}, jnp.zeros((1, 1)), jnp.zeros((1, 1)))

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


def test_ratio_estimator_padding_is_the_unpadded_fit(bank):
    # zero columns with zero first-layer rows get zero gradients: the padded fit is the plain one up to rounding
    kw = dict(hidden=(8,), n_steps=20, lr=5e-3, n_negatives=2)
    plain, h_plain = sbi.train_ratio_estimator(jax.random.key(8), *bank, **kw)
    padded, h_pad = sbi.train_ratio_estimator(jax.random.key(8), *bank, pad_to=(3, 5), **kw)
    assert jax.tree.map(jnp.shape, padded) == jax.tree.map(jnp.shape, plain)
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(padded)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-10, atol=1e-12)   # float64 rounding
    np.testing.assert_allclose(np.asarray(h_pad), np.asarray(h_plain), rtol=1e-12)
    with pytest.raises(ValueError, match="pad_to"):
        sbi.train_ratio_estimator(jax.random.key(8), *bank, pad_to=(1, 0), **kw)
    with pytest.raises(ValueError, match="pad_to"):
        sbi.train_ratio_estimator(jax.random.key(8), *bank, pad_to=(0, 5), **kw)
    with pytest.raises(TypeError, match="pad_to"):
        sbi.train_ratio_estimator(jax.random.key(8), *bank, pad_to=4, **kw)


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


def test_two_moons_inversion_reproduces_x_exactly():
    k = jax.random.split(jax.random.key(8), 2)
    theta = sbi.two_moons_prior(k[0], 200)
    x, (a, r) = sbi.two_moons_simulator(k[1], theta, return_latents=True)
    sign = jnp.sign(theta[:, 0] + theta[:, 1])
    back, valid = sbi.two_moons_invert(x, a, r, sign)
    np.testing.assert_allclose(np.asarray(back), np.asarray(theta), rtol=0, atol=1e-15)
    assert bool(jnp.all(valid))
    # the other branch is another parameter with the same data (where it lies in the box)
    other, _ = sbi.two_moons_invert(x, a, r, -sign)
    np.testing.assert_allclose(np.asarray(sbi._two_moons_map(other, a, r)), np.asarray(x), rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.asarray(other), np.asarray(theta[:, ::-1] * -1), atol=1e-15)   # (t1, t2) -> (-t2, -t1)
    # a latent draw inconsistent with x (u_1 > 0) is flagged invalid
    _, bad = sbi.two_moons_invert(jnp.array([0.6, 0.0]), 0.0, 0.1, 1.0)
    assert not bool(bad)


def test_two_moons_simulator_draws_the_half_ring():
    theta = jnp.zeros((20_000, 2))
    x = np.asarray(sbi.two_moons_simulator(jax.random.key(9), theta))   # theta = 0: x = p
    rho, phi = np.hypot(x[:, 0] - 0.25, x[:, 1]), np.arctan2(x[:, 1], x[:, 0] - 0.25)
    assert abs(rho.mean() - 0.1) < 4 * 0.01 / np.sqrt(20_000) and abs(rho.std() / 0.01 - 1) < 0.05
    assert np.all(np.abs(phi) <= np.pi / 2) and abs(phi.mean()) < 4 * (np.pi / np.sqrt(12)) / np.sqrt(20_000)


def test_two_moons_reference_posterior_against_a_grid():
    # the posterior density p(theta | x) ∝ p_P(x - g(theta)) on the box, with p_P the density of the half-ring point
    # (radius N(0.1, 0.01^2), angle uniform on (-pi/2, pi/2)): its mean on a fine grid against the samples' mean
    x = np.array([-0.05, 0.2])
    samples = np.asarray(sbi.two_moons_reference_posterior(jax.random.key(10), jnp.asarray(x), 20_000))
    t = np.linspace(-1, 1, 1601)
    t1, t2 = np.meshgrid(t, t, indexing="ij")
    s = np.sqrt(0.5)
    p1, p2 = x[0] + np.abs(t1 + t2) * s, x[1] - (t2 - t1) * s
    rho, phi = np.hypot(p1 - 0.25, p2), np.arctan2(p2, p1 - 0.25)
    dens = np.where(np.abs(phi) < np.pi / 2, np.exp(-0.5 * ((rho - 0.1) / 0.01) ** 2) / rho, 0.0)
    dens /= dens.sum()
    mean = np.array([np.sum(dens * t1), np.sum(dens * t2)])
    sd = np.sqrt(np.array([np.sum(dens * t1**2), np.sum(dens * t2**2)]) - mean**2)
    assert samples.shape == (20_000, 2) and np.all(np.abs(samples) <= 1)
    np.testing.assert_array_less(np.abs(samples.mean(axis=0) - mean), 4 * sd / np.sqrt(20_000))
    np.testing.assert_allclose(samples.std(axis=0), sd, rtol=0.03)
    # bimodal: both branches of theta_1 + theta_2 carry mass
    assert 0.2 < np.mean(samples.sum(axis=1) > 0) < 0.8


def test_mmd_squared_closed_form_and_null():
    h, d = 0.5, 0.7
    a, b = np.zeros((2, 2)), np.full((2, 2), d / np.sqrt(2))   # two point masses a distance d apart
    assert sbi.mmd_squared(a, b, bandwidth=h) == pytest.approx(2 - 2 * np.exp(-d**2 / (2 * h**2)), rel=1e-13)
    rng = np.random.default_rng(0)
    same = [sbi.mmd_squared(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)), bandwidth=1.0) for _ in range(20)]
    shifted = sbi.mmd_squared(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 1.0, bandwidth=1.0)
    assert abs(np.mean(same)) < 4 * np.std(same) / np.sqrt(20) and shifted > 10 * np.std(same)


def test_spectrum_grid_posterior_conjugate_limits():
    signal = np.array([1.0, 5.0, 3.0, 0.5])
    counts = np.array([2.0, 7.0, 1.0, 0.0])
    mu = np.linspace(0, 6, 601)
    beta = np.array([0.5, 1.0, 2.0])
    # no background: beta is irrelevant and mu | n ~ Gamma(N + 1, rate S) under a flat prior
    p = sbi.spectrum_grid_posterior(counts, mu, beta, signal, np.zeros(4))
    assert p.shape == (601, 3) and abs(p.sum() - 1) < 1e-13
    np.testing.assert_allclose(p, p[:, :1] * np.ones(3), rtol=1e-12)
    N, S = counts.sum(), signal.sum()
    gamma = lambda alpha, rate: np.exp((alpha - 1) * np.log(np.maximum(mu, 1e-300)) - rate * mu)
    g = gamma(N + 1, S)
    np.testing.assert_allclose(p.sum(axis=1), g / g.sum(), rtol=1e-10, atol=1e-300)
    # a Gamma(alpha, rate b0) prior gives Gamma(alpha + N, b0 + S)
    log_prior = np.broadcast_to((2.5 - 1) * np.log(np.maximum(mu, 1e-300))[:, None] - 0.7 * mu[:, None], (601, 3))
    pg = sbi.spectrum_grid_posterior(counts, mu, beta, signal, np.zeros(4), log_prior=log_prior)
    g2 = gamma(2.5 + N, 0.7 + S)
    np.testing.assert_allclose(pg.sum(axis=1), g2 / g2.sum(), rtol=1e-10, atol=1e-300)
    # batched counts, with a background: each observation normalized on its own
    pb = sbi.spectrum_grid_posterior(np.stack([counts, counts + 3]), mu, beta, signal, np.ones(4))
    assert pb.shape == (2, 601, 3) and np.allclose(pb.sum(axis=(1, 2)), 1.0, rtol=1e-13)


def test_spectrum_simulator_is_poisson():
    signal, background = np.array([0.0, 10.0, 2.0]), np.array([5.0, 5.0, 5.0])
    theta = jnp.tile(jnp.array([[1.5, 0.8]]), (40_000, 1))
    n = np.asarray(sbi.spectrum_simulator(jax.random.key(11), theta, signal, background))
    lam = 1.5 * signal + 0.8 * background
    assert np.all(n == np.round(n)) and np.all(n >= 0)
    np.testing.assert_array_less(np.abs(n.mean(axis=0) - lam), 4 * np.sqrt(lam / 40_000))
    np.testing.assert_allclose(n.var(axis=0), lam, rtol=0.05)


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
    with pytest.raises(ValueError, match="shape \\[n, 2\\]"):
        sbi.two_moons_simulator(jax.random.key(0), jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="sign"):
        sbi.two_moons_invert(jnp.zeros(2), 0.0, 0.1, 0.5)
    with pytest.raises(ValueError, match="n_proposals"):
        sbi.two_moons_reference_posterior(jax.random.key(0), jnp.array([5.0, 5.0]), 10)   # far outside: no valid draw
    with pytest.raises(ValueError, match="bandwidth"):
        sbi.mmd_squared(np.zeros((3, 2)), np.zeros((3, 2)), bandwidth=0.0)
    with pytest.raises(ValueError, match="one dimension"):
        sbi.mmd_squared(np.zeros((3, 2)), np.zeros((3, 1)), bandwidth=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        sbi.spectrum_simulator(jax.random.key(0), jnp.array([[-1.0, 1.0]]), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="one shape"):
        sbi.spectrum_grid_posterior(np.ones(3), np.ones(2), np.ones(2), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="impossible"):
        sbi.spectrum_grid_posterior(np.array([1.0, 0.0]), np.array([0.0]), np.array([1.0]), np.ones(2), np.array([0.0, 1.0]))

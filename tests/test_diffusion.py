"""Diffusion helpers: exact mixture score, OU noising, samplers and MMD."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import diffusion as df

MIX = df.Mixture(jnp.array([[2.0, 0.0], [-1.0, 1.5], [0.0, -2.0]]), jnp.log(jnp.array([0.5, 0.3, 0.2])), jnp.asarray(0.4))


@pytest.mark.parametrize("t", [0.0, 0.05, 0.7, 3.0])
def test_score_is_the_gradient_of_the_log_density(t):
    x = jax.random.normal(jax.random.key(0), (6, 2)) * 2
    auto = jax.vmap(jax.grad(lambda p: df.mixture_log_density(p, t, MIX)))(x)
    np.testing.assert_allclose(df.mixture_score(x, t, MIX), auto, rtol=1e-10, atol=1e-12)


def test_density_is_normalized_and_relaxes_to_the_standard_normal():
    g = np.linspace(-8, 8, 401)
    xy = jnp.asarray(np.stack(np.meshgrid(g, g), axis=-1))
    mass = float(jnp.sum(jnp.exp(df.mixture_log_density(xy, 0.3, MIX)))) * (g[1] - g[0]) ** 2
    assert abs(mass - 1) < 1e-6
    x = jnp.array([[0.3, -0.2]])
    np.testing.assert_allclose(df.mixture_score(x, 30.0, MIX), -x, atol=1e-10)   # p_t -> N(0, I)


def test_forward_noise_moments():
    x0 = jnp.ones((20000, 2))
    xt, _ = df.forward_noise(jax.random.key(1), x0, 0.5)
    se = float(df.noise_std(0.5)) / np.sqrt(20000)
    assert np.all(np.abs(np.asarray(xt.mean(axis=0)) - np.exp(-0.5)) < 5 * se)
    np.testing.assert_allclose(float(df.noise_std(0.5)) ** 2, 1 - np.exp(-1.0), rtol=1e-12)


def test_samplers_recover_a_gaussian_target():
    gauss = df.Mixture(jnp.array([[1.0, -0.5]]), jnp.zeros(1), jnp.asarray(0.5))
    score = lambda x, t, p: jax.vmap(df.mixture_score, in_axes=(0, 0, None))(x, t, p)  # noqa: E731
    x_start = jax.random.normal(jax.random.key(2), (4000, 2))
    for method in ("sde", "ode"):
        out = np.asarray(df.sample(jax.random.key(3), score, gauss, x_start, t_max=6.0, t_min=1e-3, n_steps=400, method=method))
        se = 0.5 / np.sqrt(4000)
        assert np.all(np.abs(out.mean(axis=0) - [1.0, -0.5]) < 5 * se + 0.01), (method, out.mean(axis=0))
        assert np.all(np.abs(out.std(axis=0) - 0.5) < 0.03), (method, out.std(axis=0))


def test_denoising_loss_is_smaller_for_the_exact_score():
    x0 = df.mixture_sample(jax.random.key(4), MIX, 4000)
    score = lambda x, t, p: jax.vmap(df.mixture_score, in_axes=(0, 0, None))(x, t, p)  # noqa: E731
    exact = df.denoising_loss(score, MIX, jax.random.key(5), x0, t_min=0.01, t_max=2.0)
    zero = df.denoising_loss(lambda x, t, p: jnp.zeros_like(x), None, jax.random.key(5), x0, t_min=0.01, t_max=2.0)
    assert float(exact) < float(zero) - 0.1   # zero score: loss = E|xi|^2 = 2


def test_mmd():
    a = df.mixture_sample(jax.random.key(6), MIX, 500)
    b = df.mixture_sample(jax.random.key(7), MIX, 500)
    assert abs(float(df.mmd(a, b, bandwidth=0.5))) < 0.01
    assert float(df.mmd(a, b + 1.0, bandwidth=0.5)) > 0.05


def test_bad_inputs():
    with pytest.raises(TypeError, match="Mixture"):
        df.mixture_score(jnp.zeros((1, 2)), 0.1, (1, 2, 3))
    with pytest.raises(ValueError, match="log_weights"):
        df.mixture_score(jnp.zeros((1, 2)), 0.1, df.Mixture(jnp.zeros((2, 2)), jnp.zeros(3), 1.0))
    with pytest.raises(ValueError, match="t_min"):
        df.sample(jax.random.key(0), lambda x, t, p: x, None, jnp.zeros((3, 2)), t_max=1.0, t_min=2.0, n_steps=3)
    with pytest.raises(ValueError, match="method"):
        df.sample(jax.random.key(0), lambda x, t, p: x, None, jnp.zeros((3, 2)), t_max=1.0, t_min=0.1, n_steps=3, method="heun")
    with pytest.raises(ValueError, match="t_min"):
        df.sample(jax.random.key(0), lambda x, t, p: x, None, jnp.zeros((3, 2)), t_max=1.0, t_min=0.0, n_steps=3)
    with pytest.raises(ValueError, match="bandwidth"):
        df.mmd(jnp.zeros((3, 2)), jnp.zeros((3, 2)), bandwidth=0.0)
    with pytest.raises(ValueError, match="t_min"):
        df.denoising_loss(lambda x, t, p: x, None, jax.random.key(0), jnp.zeros((3, 2)), t_min=1.0, t_max=0.5)

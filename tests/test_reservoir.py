"""Lorenz field, Lyapunov spectra and the echo-state network against exact results."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import reservoir as rc


def test_lorenz_rhs_and_its_constant_divergence():
    x = jnp.array([1.5, -2.0, 20.0])
    np.testing.assert_allclose(rc.lorenz_rhs(x), [10 * (-3.5), 1.5 * 8.0 + 2.0, -3.0 - 8 / 3 * 20.0], rtol=1e-14)
    points = jax.random.normal(jax.random.key(0), (5, 3)) * 10
    traces = jax.vmap(lambda p: jnp.trace(jax.jacfwd(rc.lorenz_rhs)(p)))(points)
    np.testing.assert_allclose(traces, -41 / 3, rtol=1e-14)


def test_lyapunov_spectrum_of_a_linear_flow_is_its_eigenvalues():
    # diagonal A: the tangent vectors stay the coordinate axes and each R_ii is the RK4 polynomial of a_i dt
    a = jnp.array([0.5, -1.0, -3.0])
    lam = rc.lyapunov_spectrum(lambda x: a * x, jnp.array([1.0, 1.0, 1.0]), dt=0.01, n_steps=200)
    np.testing.assert_allclose(lam, a, atol=1e-8)


def test_lorenz_spectrum_sums_to_the_trace():
    x0 = jnp.array([[1.0, 1.0, 20.0], [-5.0, 3.0, 25.0]])
    lam = rc.lyapunov_spectrum(rc.lorenz_rhs, x0, dt=0.01, n_steps=3000, n_transient=500)
    assert lam.shape == (2, 3)
    np.testing.assert_allclose(lam.sum(axis=1), -41 / 3, atol=2e-3)   # RK4 truncation, about 4e-4 per unit time
    assert np.all(lam[:, 0] > 0.5)


def test_map_exponent_of_a_linear_map():
    lam = rc.map_lyapunov_exponent(lambda x: jnp.array([0.5, 2.0]) * x, jnp.array([1.0, 1.0]), n_steps=100, n_transient=10)
    assert abs(float(lam) - math.log(2.0)) < 1e-10


def test_readout_fits_an_exact_linear_target_and_forecast_shapes():
    res = rc.init_reservoir(jax.random.key(1), 2, 30, spectral_radius=0.8)
    assert abs(np.max(np.abs(np.linalg.eigvals(np.asarray(res.w)))) - 0.8) < 1e-10
    inputs = jax.random.normal(jax.random.key(2), (400, 2))
    states = rc.drive_reservoir(res, inputs)
    w_true = jax.random.normal(jax.random.key(3), (2, 60))
    w = rc.fit_readout(states, rc.reservoir_features(states) @ w_true.T, ridge=0.0)
    np.testing.assert_allclose(w, w_true, atol=1e-6)
    out = rc.forecast(res, w, states[-3:], n_steps=7)
    assert out.shape == (3, 7, 2)
    np.testing.assert_allclose(out[0], rc.forecast(res, w, states[-3], n_steps=7), atol=1e-12)


def test_echo_state_property_forgets_the_initial_state():
    res = rc.init_reservoir(jax.random.key(4), 1, 50, spectral_radius=0.5)
    inputs = jnp.sin(jnp.arange(300.0))[:, None]
    a = rc.drive_reservoir(res, inputs, jnp.ones(50))
    b = rc.drive_reservoir(res, inputs, -jnp.ones(50))
    assert float(jnp.max(jnp.abs(a[-1] - b[-1]))) < 1e-10


def test_valid_time():
    truth = jnp.zeros((2, 5, 1))
    pred = jnp.array([[0.0, 0.1, 0.5, 0.0, 0.0], [0.0] * 5])[..., None]
    np.testing.assert_array_equal(rc.valid_time(pred, truth, threshold=0.4, scale=1.0), [2, 5])


def test_bad_inputs():
    with pytest.raises(ValueError, match="length 3"):
        rc.lorenz_rhs(jnp.ones(2))
    with pytest.raises(ValueError, match="dt"):
        rc.lyapunov_spectrum(rc.lorenz_rhs, jnp.ones(3), dt=-0.1, n_steps=10)
    with pytest.raises(TypeError, match="key"):
        rc.init_reservoir(0, 2, 10, spectral_radius=0.9)
    with pytest.raises(ValueError, match="spectral_radius"):
        rc.init_reservoir(jax.random.key(0), 2, 10, spectral_radius=0.0)
    res = rc.init_reservoir(jax.random.key(0), 2, 10, spectral_radius=0.9)
    with pytest.raises(ValueError, match="columns"):
        rc.drive_reservoir(res, jnp.ones((5, 3)))
    with pytest.raises(ValueError, match="ridge"):
        rc.fit_readout(jnp.ones((5, 10)), jnp.ones((5, 2)), ridge=-1.0)
    with pytest.raises(ValueError, match="w_out"):
        rc.forecast(res, jnp.ones((2, 5)), jnp.zeros(10), n_steps=3)
    with pytest.raises(TypeError, match="Reservoir"):
        rc.forecast((1, 2, 3), jnp.ones((2, 20)), jnp.zeros(10), n_steps=3)

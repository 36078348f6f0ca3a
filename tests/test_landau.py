"""The Landau model, its integration, and the neural-ODE fit against exact results."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.integrators import rk4
from physml_helpers.landau import (
    black_box_rhs,
    equilibrium_order_parameter,
    fit_trajectories,
    init_black_box,
    init_landau_model,
    landau_model_rhs,
    landau_model_tc,
    landau_rhs,
    rollout,
    simulate,
)


def test_equilibrium_is_the_stable_fixed_point():
    T = jnp.array([0.2, 0.7, 0.99, 1.0, 1.3])
    m_star = equilibrium_order_parameter(T, a0=2.0, tc=1.0, b=0.5)
    np.testing.assert_allclose(landau_rhs(m_star, T, a0=2.0, tc=1.0, b=0.5), 0.0, atol=1e-12)
    np.testing.assert_allclose(m_star, np.sqrt(np.maximum(0, 2.0 * (1 - np.asarray(T)) / 0.5)), atol=1e-15)
    slope = jax.vmap(jax.grad(lambda m, t: landau_rhs(m, t, a0=2.0, tc=1.0, b=0.5)))(m_star, T)
    assert np.all(np.asarray(slope)[:3] < 0) and np.all(np.asarray(slope)[4:] < 0)  # stable (marginal at T_c)


def test_rollout_matches_the_exact_solution_of_the_cubic_ode():
    # dm/dt = -a m - b m^3 has m(t)^2 = a m0^2 e^{-2at} / (a + b m0^2 (1 - e^{-2at})) for a != 0
    a, b, m0 = 0.4, 1.0, 0.9
    t = np.linspace(0, 10, 21)
    exact = np.sqrt(a * m0**2 * np.exp(-2 * a * t) / (a + b * m0**2 * (1 - np.exp(-2 * a * t))))
    path = rollout(lambda m, T: landau_rhs(m, T, tc=1.0), jnp.array([m0]), jnp.array([1.0 + a]), t_max=10.0, n_obs=21)
    np.testing.assert_allclose(path[:, 0], exact, atol=1e-7)
    generic = rk4(lambda m: landau_rhs(m, 1.0 + a), jnp.array([m0]), dt=0.05, n_steps=200)
    np.testing.assert_allclose(path[-1, 0], generic[-1, 0], atol=1e-12)  # same steps as the generic integrator


def test_simulate_shapes_and_noise():
    times, T, observed, clean = simulate(jax.random.key(0), [0.5, 0.8], n_traj=3, n_obs=11, noise=0.02)
    assert times.shape == (11,) and T.shape == (6,) and observed.shape == clean.shape == (11, 6)
    assert 0.005 < float(jnp.std(observed - clean)) < 0.04
    late = np.abs(np.asarray(clean[-1]))
    np.testing.assert_allclose(late, np.repeat(np.sqrt(1 - np.array([0.5, 0.8])), 3), rtol=0.05)


def test_the_landau_fit_recovers_the_critical_temperature():
    times, T, observed, _ = simulate(jax.random.key(1), jnp.linspace(0.5, 0.9, 4), noise=0.005)
    params, history = fit_trajectories(landau_model_rhs, init_landau_model(), times, T, observed, lr=3e-2, n_steps=600, dt=0.25)
    assert abs(landau_model_tc(params) - 1.0) < 0.02
    assert abs(float(jnp.exp(params["log_alpha"])) - 1.0) < 0.1 and abs(float(jnp.exp(params["log_beta"])) - 1.0) < 0.1
    assert float(history[-1]) < 2 * 0.005**2


def test_black_box_shapes_and_training_progress():
    times, T, observed, _ = simulate(jax.random.key(2), [0.6, 0.8], n_traj=4, n_obs=11)
    params = init_black_box(jax.random.key(3), hidden=8)
    assert black_box_rhs(params, jnp.ones((3, 2)), jnp.ones((3, 2))).shape == (3, 2)
    _, history = fit_trajectories(black_box_rhs, params, times, T, observed, lr=1e-2, n_steps=200, dt=0.5)
    assert float(history[-1]) < 0.5 * float(history[0])


def test_bad_inputs():
    with pytest.raises(ValueError, match="observed must be"):
        fit_trajectories(landau_model_rhs, init_landau_model(), jnp.linspace(0, 1, 5), jnp.ones(3), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="n_obs must be an integer >= 2"):
        rollout(lambda m, T: -m, jnp.ones(2), 1.0, t_max=1.0, n_obs=1)
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        init_landau_model(alpha=-1.0)
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        simulate(0, [0.5])

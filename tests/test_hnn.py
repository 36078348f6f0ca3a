"""Hamiltonian networks, pairwise forces and generating-function maps against exact identities."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.hnn import (
    baseline_field,
    fit_vector_field,
    generating_function_map,
    hamiltonian_field,
    hnn_field,
    hnn_hamiltonian,
    init_baseline,
    init_hnn,
    pairwise_forces,
)

OMEGA = jnp.array([[0.0, 1.0], [-1.0, 0.0]])


def test_hamiltonian_field_of_known_systems():
    s = jnp.array([0.7, -0.2])
    np.testing.assert_allclose(hamiltonian_field(lambda q, p: 0.5 * jnp.sum(p**2 + q**2), s), [-0.2, -0.7], atol=1e-15)
    pendulum = lambda q, p: 0.5 * jnp.sum(p**2) - jnp.sum(jnp.cos(q))
    np.testing.assert_allclose(hamiltonian_field(pendulum, s), [-0.2, -np.sin(0.7)], atol=1e-15)


def test_a_random_hnn_conserves_its_own_hamiltonian():
    params = init_hnn(jax.random.key(0), 2, hidden=16)
    states = jax.random.normal(jax.random.key(1), (20, 4))
    for s in states:
        grad_h = jnp.concatenate(jax.grad(functools.partial(hnn_hamiltonian, params), argnums=(0, 1))(s[:2], s[2:]))
        assert abs(float(grad_h @ hnn_field(params, s))) < 1e-12  # dH/dt = grad H . (J grad H) = 0


def test_fitting_the_oscillator():
    states = jax.random.normal(jax.random.key(2), (200, 2))
    derivatives = jnp.stack([states[:, 1], -states[:, 0]], axis=1)
    for field, init in ((hnn_field, init_hnn), (baseline_field, init_baseline)):
        params, history = fit_vector_field(field, init(jax.random.key(3), 1, hidden=32), states, derivatives, n_steps=1500)
        assert history.shape == (1500,)
        assert float(history[-1]) < 1e-3 * float(history[0])


def test_pairwise_forces_obey_newtons_third_law():
    x = jax.random.normal(jax.random.key(4), (6, 3))
    magnitude = lambda r: 1.0 / r**2 - 0.5 * jnp.exp(-r)
    forces = pairwise_forces(magnitude, x)
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-12)
    xn = np.asarray(x)
    explicit = np.zeros_like(xn)
    for i in range(6):
        for j in range(6):
            if i != j:
                r = np.linalg.norm(xn[i] - xn[j])
                explicit[i] += (1 / r**2 - 0.5 * np.exp(-r)) * (xn[i] - xn[j]) / r
    np.testing.assert_allclose(forces, explicit, rtol=1e-12)


def test_generating_function_gives_symplectic_euler_and_symplectic_maps():
    V = lambda q: -jnp.cos(q[0])
    g = lambda q, P: 0.5 * jnp.sum(P**2) + V(q)
    Q, P = generating_function_map(g, jnp.array([0.4]), jnp.array([1.1]), h=0.1)
    P_exact = 1.1 - 0.1 * np.sin(0.4)
    np.testing.assert_allclose([Q[0], P[0]], [0.4 + 0.1 * P_exact, P_exact], atol=1e-14)
    params = init_hnn(jax.random.key(5), 1, hidden=16)  # any smooth g: here a random network
    g_net = lambda q, P: hnn_hamiltonian(params, q, P)

    def step(z):
        Q, P = generating_function_map(g_net, z[:1], z[1:], h=0.05)
        return jnp.concatenate([Q, P])

    jac = jax.jacfwd(step)(jnp.array([0.3, -0.8]))
    np.testing.assert_allclose(jac.T @ OMEGA @ jac, OMEGA, atol=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="states and derivatives must both be"):
        fit_vector_field(hnn_field, init_hnn(jax.random.key(0), 1), jnp.ones((5, 3)), jnp.ones((5, 3)))
    with pytest.raises(TypeError, match="magnitude must be a callable"):
        pairwise_forces(None, jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        generating_function_map(lambda q, P: 0.0, jnp.ones(1), jnp.ones(1), h=0.0)
    with pytest.raises(ValueError, match="dim must be an integer >= 1"):
        init_hnn(jax.random.key(0), 0)


def test_potential_field_is_newton_with_the_learned_potential():
    from physml_helpers.hnn import init_potential, potential_energy, potential_field

    params = init_potential(jax.random.key(7), 2, hidden=8)
    s = jnp.array([0.3, -0.5, 1.0, 2.0])
    force = -jax.grad(potential_energy, argnums=1)(params, s[:2])
    np.testing.assert_allclose(potential_field(params, s), jnp.concatenate([s[2:], force]), atol=1e-15)
    energy = lambda q, p: 0.5 * jnp.sum(p**2) + potential_energy(params, q)
    np.testing.assert_allclose(potential_field(params, s), hamiltonian_field(energy, s), atol=1e-15)


def test_a_fixed_point_that_does_not_converge_raises_or_is_nan_never_a_wrong_map():
    from physml_helpers import ConvergenceError
    from physml_helpers.hnn import generating_function_solve

    g = lambda q, P: jnp.sum(q * P**2)  # h = 1: the iteration P <- p - h P^2 does not contract  # noqa: E731
    q, p = jnp.array([1.0]), jnp.array([1.0])
    Q, P, info = generating_function_solve(g, q, p, h=1.0)
    assert not bool(info.converged) and int(info.n_iter) == 100 and float(info.residual) > 0.1
    with pytest.raises(ConvergenceError, match="did not converge in 100 iterations"):
        generating_function_map(g, q, p, h=1.0)
    Q, P = jax.jit(lambda z: generating_function_map(g, z[:1], z[1:], h=1.0))(jnp.array([1.0, 1.0]))
    assert bool(jnp.isnan(Q).all() and jnp.isnan(P).all())
    # a small step contracts: converged to rounding in a few iterations, residual below the tolerance
    Q, P, info = generating_function_solve(g, q, p, h=0.05)
    assert bool(info.converged) and int(info.n_iter) < 30
    np.testing.assert_allclose(P + 0.05 * P**2, p, atol=1e-14)


def test_fields_take_one_state_and_reject_batches():
    with pytest.raises(ValueError, match=r"one phase-space point \(q, p\) of shape \[2 d\].*vmap"):
        hamiltonian_field(lambda q, p: jnp.sum(q**2 + p**2), jnp.ones((5, 2)))
    with pytest.raises(ValueError, match="shape \\[2 d\\]"):
        hamiltonian_field(lambda q, p: jnp.sum(q**2 + p**2), jnp.ones(3))
    field = jax.vmap(lambda s: hamiltonian_field(lambda q, p: 0.5 * jnp.sum(q**2 + p**2), s))(jnp.ones((5, 2)))
    assert field.shape == (5, 2)


def test_float32_in_float32_out():
    x = jax.random.normal(jax.random.key(4), (5, 2), jnp.float32)
    forces = pairwise_forces(lambda r: 1.0 / r**2, x)  # used to come back in float64 under x64
    assert forces.dtype == jnp.float32
    params = init_hnn(jax.random.key(0), 1, hidden=8, dtype=jnp.float32)
    assert hnn_field(params, jnp.ones(2, jnp.float32)).dtype == jnp.float32
    Q, P = generating_function_map(lambda q, P: jnp.sum(P**2 + q**2), jnp.ones(1, jnp.float32),
                                   jnp.ones(1, jnp.float32), h=0.1)
    assert Q.dtype == P.dtype == jnp.float32
    with pytest.raises(ValueError, match="magnitude must act elementwise"):
        pairwise_forces(lambda r: jnp.sum(r), x)


def test_refitting_compiles_nothing():
    from compilation import assert_compiles_once

    states = jax.random.normal(jax.random.key(2), (50, 2))
    other = jax.random.normal(jax.random.key(3), (50, 2))
    derivatives = jnp.stack([states[:, 1], -states[:, 0]], axis=1)
    params = init_hnn(jax.random.key(3), 1, hidden=8)
    assert_compiles_once(lambda: fit_vector_field(hnn_field, params, states, derivatives, n_steps=20),
                         second=lambda: fit_vector_field(hnn_field, params, other, derivatives, lr=1e-3, n_steps=20))

"""Clements decomposition and MZI meshes against exact reconstructions and hand-computed cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.photonics import (MeshPhases, clements_compose, clements_decompose, haar_unitary, mesh_apply,
                                      mesh_columns, mzi_matrix)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10])
def test_haar_unitaries_are_reconstructed_to_rounding(n):
    for key in jax.random.split(jax.random.key(n), 5):
        u = np.asarray(haar_unitary(key, n))
        assert np.max(np.abs(u.conj().T @ u - np.eye(n))) < 1e-12
        mesh = clements_decompose(u)
        assert mesh.modes.shape == (n * (n - 1) // 2,)
        assert np.max(np.abs(np.asarray(clements_compose(mesh)) - u)) < 1e-10
        if n > 2:
            assert mesh_columns(mesh.modes, n).max() + 1 == n  # rectangular: depth N


def test_mzi_matrix_is_the_clements_convention():
    t = np.asarray(mzi_matrix(0.3, 1.1))
    c, s, e = np.cos(0.3), np.sin(0.3), np.exp(1.1j)
    np.testing.assert_allclose(t, [[e * c, -s], [e * s, c]], atol=1e-15)
    np.testing.assert_allclose(t.conj().T @ t, np.eye(2), atol=1e-15)
    # theta = pi/4 is a 50:50 splitter; theta = 0 a pure phase on the upper mode
    assert np.allclose(np.abs(np.asarray(mzi_matrix(np.pi / 4, 0.0))) ** 2, 0.5)
    np.testing.assert_allclose(np.asarray(mzi_matrix(0.0, 0.7)), np.diag([np.exp(0.7j), 1]), atol=1e-15)


def test_two_mode_decomposition_by_hand():
    # U = T(theta, phi) followed by phases: the decomposition must find theta (mod the phase conventions)
    theta, phi = 0.4, 0.9
    u = np.diag(np.exp([0.2j, -0.5j])) @ np.asarray(mzi_matrix(theta, phi))
    mesh = clements_decompose(u)
    assert mesh.modes.tolist() == [0]
    assert abs(np.cos(mesh.theta[0]) - np.cos(theta)) < 1e-12  # |U_00| = cos theta fixes the splitting
    np.testing.assert_allclose(np.asarray(clements_compose(mesh)), u, atol=1e-12)


def test_permutations_and_real_orthogonal_matrices():
    perm = np.eye(5)[[2, 0, 4, 1, 3]]
    np.testing.assert_allclose(np.asarray(clements_compose(clements_decompose(perm))), perm, atol=1e-12)
    q, _ = np.linalg.qr(np.asarray(jax.random.normal(jax.random.key(0), (6, 6))))
    np.testing.assert_allclose(np.asarray(clements_compose(clements_decompose(q))), q, atol=1e-12)


def test_mesh_apply_and_gradients():
    u = np.asarray(haar_unitary(jax.random.key(1), 4))
    mesh = clements_decompose(u)
    fields = np.asarray(jax.random.normal(jax.random.key(2), (3, 4)))
    np.testing.assert_allclose(np.asarray(mesh_apply(mesh, fields)), fields @ u.T, atol=1e-12)

    def power0(theta):
        return jnp.abs(mesh_apply(mesh._replace(theta=theta), fields[0])[0]) ** 2

    theta = jnp.asarray(mesh.theta)
    grad = np.asarray(jax.grad(power0)(theta))
    eps = 1e-6
    numeric = np.array([(power0(theta.at[k].add(eps)) - power0(theta.at[k].add(-eps))) / (2 * eps)
                        for k in range(theta.size)])
    np.testing.assert_allclose(grad, numeric, atol=1e-8)
    # power is conserved by a lossless mesh
    np.testing.assert_allclose(np.sum(np.abs(np.asarray(mesh_apply(mesh, fields))) ** 2, axis=1),
                               np.sum(fields**2, axis=1), rtol=1e-12)


def test_mesh_columns_of_a_reck_triangle():
    # the Reck triangle on 4 modes: diagonals (2), (1, 2), (0, 1, 2) in order; its depth is 2N - 3 = 5
    modes = np.array([2, 1, 2, 0, 1, 2])
    assert mesh_columns(modes, 4).max() + 1 == 5


def test_compose_is_jittable_and_vmappable():
    mesh = clements_decompose(np.asarray(haar_unitary(jax.random.key(3), 4)))
    thetas = jnp.stack([jnp.asarray(mesh.theta), jnp.asarray(mesh.theta) + 0.1])
    us = jax.vmap(lambda t: clements_compose(mesh._replace(theta=t)))(thetas)
    assert us.shape == (2, 4, 4)
    np.testing.assert_allclose(np.asarray(us[0]), np.asarray(clements_compose(mesh)), atol=1e-14)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unitary"):
        clements_decompose(np.ones((3, 3)))
    with pytest.raises(ValueError, match="square"):
        clements_decompose(np.eye(3)[:2])
    with pytest.raises(TypeError, match="unitary"):
        clements_decompose("U")
    with pytest.raises(ValueError, match="n_modes"):
        haar_unitary(jax.random.key(0), 0)
    with pytest.raises(TypeError, match="key"):
        haar_unitary(0, 3)
    mesh = clements_decompose(np.eye(3))
    with pytest.raises(TypeError, match="MeshPhases"):
        clements_compose((mesh.modes, mesh.theta, mesh.phi, mesh.output_phases))
    with pytest.raises(ValueError, match="modes"):
        clements_compose(mesh._replace(modes=np.array([0, 2, 1])))
    with pytest.raises(ValueError, match="theta"):
        clements_compose(mesh._replace(theta=np.zeros(2)))
    with pytest.raises(ValueError, match="finite"):
        clements_compose(mesh._replace(phi=np.array([0.0, np.nan, 0.0])))
    with pytest.raises(ValueError, match="N = 3"):
        mesh_apply(mesh, np.ones(4))
    with pytest.raises(ValueError, match="0..N-2"):
        mesh_columns(np.array([0, 3]), 4)
    with pytest.raises(TypeError, match="theta"):
        mzi_matrix("a", 0.0)

"""Pauli-basis tomography helpers against Kronecker products, exact likelihoods and a known state."""

from functools import reduce

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.quantum import fidelity
from physml_helpers.tomography import (basis_nll, fit_basis_tomography, measure_in_bases, rotate_to_basis,
                                       single_site_bases)

HADAMARD = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
U_Y = HADAMARD @ np.diag([1, -1j])


def random_state(key, n):
    z = np.asarray(jax.random.normal(key, (2, 2**n)))
    psi = z[0] + 1j * z[1]
    return psi / np.linalg.norm(psi)


def test_single_site_bases():
    assert single_site_bases(2) == ["ZZ", "XZ", "YZ", "ZX", "ZY"]
    assert len(single_site_bases(5)) == 11


def test_rotation_matches_kronecker_products():
    psi = random_state(jax.random.key(0), 3)
    for basis in ("ZZZ", "XZY", "YYX"):
        u = reduce(np.kron, [{"Z": np.eye(2), "X": HADAMARD, "Y": U_Y}[p] for p in basis])
        np.testing.assert_allclose(np.asarray(rotate_to_basis(psi, basis)), u @ psi, atol=1e-14)


def test_x_basis_measures_the_relative_phase():
    # (|0> + e^{i a}|1>)/sqrt 2 measured along x: p(+) = (1 + cos a)/2; along y: p(+) = (1 + sin a)/2
    a = 0.7
    psi = np.array([1, np.exp(1j * a)]) / np.sqrt(2)
    assert abs(abs(complex(rotate_to_basis(psi, "X")[0])) ** 2 - (1 + np.cos(a)) / 2) < 1e-14
    assert abs(abs(complex(rotate_to_basis(psi, "Y")[0])) ** 2 - (1 + np.sin(a)) / 2) < 1e-14


def test_measurement_counts_follow_the_born_rule():
    psi = random_state(jax.random.key(1), 2)
    bases = single_site_bases(2)
    n_shots = 20_000
    counts = measure_in_bases(jax.random.key(2), psi, bases, n_shots)
    assert counts.shape == (5, 4) and np.all(counts.sum(axis=1) == n_shots)
    for row, basis in zip(counts, bases):
        p = np.abs(np.asarray(rotate_to_basis(psi, basis))) ** 2
        err = np.sqrt(p * (1 - p) / n_shots)
        assert np.all(np.abs(row / n_shots - p) <= 5 * err + 1e-12)
    again = measure_in_bases(jax.random.key(2), psi, bases, n_shots)
    np.testing.assert_array_equal(counts, again)  # explicit keys: reproducible


def test_nll_is_the_exact_cross_entropy_and_ignores_global_phase_and_norm():
    psi = random_state(jax.random.key(3), 2)
    bases = ["ZZ", "XY"]
    counts = np.array([[3, 0, 5, 2], [1, 1, 4, 0]])
    p = np.stack([np.abs(np.asarray(rotate_to_basis(psi, b))) ** 2 for b in bases])
    want = -np.sum(counts * np.log(p)) / counts.sum()
    assert abs(float(basis_nll(psi, bases, counts)) - want) < 1e-12
    assert abs(float(basis_nll(3.0 * np.exp(0.4j) * psi, bases, counts)) - want) < 1e-12


def test_tomography_recovers_a_state_with_phases_and_z_alone_does_not():
    n = 3
    truth = random_state(jax.random.key(4), n)
    bases = single_site_bases(n)
    counts = measure_in_bases(jax.random.key(5), truth, bases, 5000)

    def dense(params):  # the most general model: one complex amplitude per configuration
        return jax.lax.complex(params[0], params[1])

    params0 = 0.3 * jax.random.normal(jax.random.key(6), (2, 2**n))
    fitted, history = fit_basis_tomography(dense, params0, bases, counts, n_steps=800, lr=0.05)
    assert history.shape == (800,) and history[-1] < history[0]
    f_all = fidelity(np.asarray(dense(fitted)), truth)
    z_only = counts.copy()
    z_only[1:] = 0
    fitted_z, _ = fit_basis_tomography(dense, params0, bases, z_only, n_steps=800, lr=0.05)
    f_z = fidelity(np.asarray(dense(fitted_z)), truth)
    # 14 real parameters from 35000 shots: statistical infidelity ~ 1e-3
    assert f_all > 0.99, f_all
    assert f_z < 0.9, f_z
    assert float(basis_nll(dense(fitted), bases, counts)) <= float(basis_nll(truth, bases, counts)) + 1e-6


def test_bad_inputs():
    psi = np.ones(4) / 2
    with pytest.raises(ValueError, match="letters"):
        rotate_to_basis(psi, "XYZ")
    with pytest.raises(ValueError, match="X, Y, Z"):
        rotate_to_basis(psi, "XA")
    with pytest.raises(TypeError, match="single string"):
        measure_in_bases(jax.random.key(0), psi, "ZZ", 10)
    with pytest.raises(ValueError, match="2\\*\\*n"):
        measure_in_bases(jax.random.key(0), np.ones(3), ["ZZ"], 10)
    with pytest.raises(ValueError, match="non-zero"):
        measure_in_bases(jax.random.key(0), np.zeros(4), ["ZZ"], 10)
    with pytest.raises(ValueError, match="n_shots"):
        measure_in_bases(jax.random.key(0), psi, ["ZZ"], 0)
    with pytest.raises(TypeError, match="key"):
        measure_in_bases(1, psi, ["ZZ"], 10)
    with pytest.raises(ValueError, match="shape"):
        basis_nll(psi, ["ZZ"], np.ones((2, 4), int))
    with pytest.raises(TypeError, match="integers"):
        basis_nll(psi, ["ZZ"], np.ones((1, 4)))
    with pytest.raises(ValueError, match="<= 8"):
        single_site_bases(9)
    with pytest.raises(ValueError, match="amplitude_fn"):
        fit_basis_tomography(lambda p: jax.lax.complex(p[0], p[1]), jnp.ones((2, 8)), ["ZZ"], np.ones((1, 4), int))
    with pytest.raises(TypeError, match="complex"):
        fit_basis_tomography(lambda p: p[0], jnp.ones((2, 4)), ["ZZ"], np.ones((1, 4), int))
    with pytest.raises(ValueError, match="lr"):
        fit_basis_tomography(lambda p: jax.lax.complex(p[0], p[1]), jnp.ones((2, 4)), ["ZZ"], np.ones((1, 4), int), lr=-1.0)

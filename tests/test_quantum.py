"""Exact diagonalization helpers against independent constructions and closed forms."""

from functools import reduce

import numpy as np
import pytest
import scipy.sparse as sp

from physml_helpers.quantum import (
    configurations,
    expectation,
    ground_state,
    heisenberg_hamiltonian,
    tfim_exact_energy,
    tfim_hamiltonian,
    tfim_sector_energies,
)

I2 = np.eye(2)
X = np.array([[0.0, 1.0], [1.0, 0.0]])
Y = np.array([[0.0, -1j], [1j, 0.0]])
Z = np.diag([1.0, -1.0])


def site_operator(op, i, n):
    return reduce(np.kron, [op if k == i else I2 for k in range(n)])


def dense_tfim(n, h, J):
    H = np.zeros((2**n, 2**n))
    for i in range(n):
        H -= J * site_operator(Z, i, n) @ site_operator(Z, (i + 1) % n, n)
        H -= h * site_operator(X, i, n)
    return H


def dense_heisenberg(n, J):
    H = np.zeros((2**n, 2**n), complex)
    for i in range(n):
        for op in (X, Y, Z):
            H += 0.25 * J * site_operator(op, i, n) @ site_operator(op, (i + 1) % n, n)
    assert np.allclose(H.imag, 0)
    return H.real


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
def test_tfim_matches_kronecker_construction(n):
    for h, J in [(1.0, 1.0), (0.3, -0.7), (2.5, 0.0)]:
        H = tfim_hamiltonian(n, h=h, J=J)
        assert sp.issparse(H) and H.shape == (2**n, 2**n)
        np.testing.assert_allclose(H.toarray(), dense_tfim(n, h, J), atol=1e-14)


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_heisenberg_matches_kronecker_construction(n):
    for J in (1.0, -0.4):
        H = heisenberg_hamiltonian(n, J=J)
        np.testing.assert_allclose(H.toarray(), dense_heisenberg(n, J), atol=1e-14)


def test_configurations_follow_kronecker_order():
    s = configurations(3)
    # the diagonal of Z on site i in the Kronecker basis is the spin of site i in each configuration
    for i in range(3):
        np.testing.assert_array_equal(np.diag(site_operator(Z, i, 3)), s[:, i])


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8])
def test_free_fermion_sectors_match_exact_diagonalization(n):
    parity = reduce(np.kron, [X] * n)
    values, vectors = np.linalg.eigh(parity)
    even, odd = vectors[:, values > 0], vectors[:, values < 0]
    for h, J in [(1.0, 1.0), (0.5, 1.0), (2.0, 1.0), (0.3, -1.0), (-0.7, 1.2), (0.0, 1.0), (1.0, 0.0)]:
        H = tfim_hamiltonian(n, h=h, J=J).toarray()
        e_even = np.linalg.eigvalsh(even.T @ H @ even)[0]
        e_odd = np.linalg.eigvalsh(odd.T @ H @ odd)[0]
        f_even, f_odd = tfim_sector_energies(n, h=h, J=J)
        assert f_even == pytest.approx(e_even, abs=1e-10)
        assert f_odd == pytest.approx(e_odd, abs=1e-10)
        assert tfim_exact_energy(n, h=h, J=J) == pytest.approx(np.linalg.eigvalsh(H)[0], abs=1e-10)


@pytest.mark.parametrize("n,h", [(12, 1.0), (14, 0.5), (16, 1.0), (16, 2.0)])
def test_lanczos_ground_state_matches_free_fermions(n, h):
    H = tfim_hamiltonian(n, h=h)
    energy, state = ground_state(H)
    assert energy == pytest.approx(tfim_exact_energy(n, h=h), abs=1e-9 * n)
    assert np.linalg.norm(state) == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.norm(H @ state - energy * state) < 1e-6
    assert np.all(state > 0)  # Perron-Frobenius: -H has non-negative off-diagonal elements


def test_critical_chain_approaches_the_thermodynamic_limit():
    # E0/N -> -4/pi at h = J; the finite-size correction is -pi c v / (6 N^2) with c = 1/2, v = 2J
    for n in (50, 200):
        e = tfim_exact_energy(n, h=1.0) / n
        assert e == pytest.approx(-4 / np.pi - np.pi / (6 * n**2), abs=1 / n**4)


def test_heisenberg_closed_forms_and_marshall_rule():
    # two sites on a ring: H = 2 S1.S2 -> singlet at -3/2; three sites: (S^2 - 9/4)/2 -> -3/4; four: -2
    for n, exact in [(2, -1.5), (3, -0.75), (4, -2.0)]:
        assert ground_state(heisenberg_hamiltonian(n))[0] == pytest.approx(exact, abs=1e-12)
    n = 10
    energy, state = ground_state(heisenberg_hamiltonian(n))
    s = configurations(n)
    sz_zero = s.sum(axis=1) == 0
    assert np.all(np.abs(state[~sz_zero]) < 1e-8)
    marshall = (-1) ** np.sum(s[:, 1::2] > 0, axis=1)
    signed = marshall[sz_zero] * state[sz_zero]
    assert np.all(signed > 0) or np.all(signed < 0)
    assert expectation(heisenberg_hamiltonian(n), state) == pytest.approx(energy, abs=1e-10)


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_sites"):
        tfim_hamiltonian(1, h=1.0)
    with pytest.raises(ValueError, match="n_sites"):
        tfim_hamiltonian(30, h=1.0)
    with pytest.raises(TypeError, match="n_sites must be an integer"):
        heisenberg_hamiltonian(2.5)
    with pytest.raises(TypeError, match="h must be a real number"):
        tfim_hamiltonian(4, h="1")
    with pytest.raises(ValueError, match="h must be finite"):
        tfim_hamiltonian(4, h=np.inf)
    with pytest.raises(ValueError, match="hamiltonian must be a square matrix"):
        ground_state(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="state must have shape"):
        expectation(np.eye(4), np.ones(3))
    with pytest.raises(ValueError, match="n_sites"):
        tfim_exact_energy(0, h=1.0)


def test_basis_index_inverts_configurations_and_fidelity():
    from physml_helpers.quantum import basis_index, fidelity

    np.testing.assert_array_equal(basis_index(configurations(6)), np.arange(64))
    a = np.array([1.0, 0.0, 0.0, 0.0])
    b = np.array([1.0, 1.0, 0.0, 0.0])
    assert fidelity(a, b) == pytest.approx(0.5)
    assert fidelity(3 * b, -b) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="configs"):
        basis_index(np.array([[1, 0, -1]]))
    with pytest.raises(ValueError, match="state_a and state_b"):
        fidelity(a, np.ones(3))

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


def _lopsided(matrix, i, j, delta):
    """A copy of a symmetric matrix with one entry above the diagonal changed (dense or sparse)."""
    out = matrix.tolil() if sp.issparse(matrix) else np.array(matrix, dtype=float)
    out[i, j] = out[i, j] + delta
    return out.tocsr() if sp.issparse(matrix) else out


@pytest.mark.parametrize("n", [3, 7])  # 8 states: the dense eigh path; 128 states: the Lanczos path
@pytest.mark.parametrize("sparse", [True, False])
def test_ground_state_refuses_a_non_symmetric_hamiltonian(n, sparse):
    H = tfim_hamiltonian(n, h=0.8)
    H = H if sparse else H.toarray()
    bad = _lopsided(H, 0, 3, 0.5)
    with pytest.raises(ValueError, match=r"hamiltonian must be symmetric, got max \|M - M\^T\| = 0\.5.*\(H \+ H\.T\) / 2"):
        ground_state(bad)
    # eigh on the same matrix reads one triangle and returns an "answer" without complaint: the check is needed
    dense_bad = bad.toarray() if sparse else bad
    assert abs(np.linalg.eigvalsh(dense_bad)[0] - np.linalg.eigvalsh(dense_bad.T)[0]) > 1e-3
    # asymmetry at the rounding level is accepted, and gives the symmetric answer
    rng = np.random.default_rng(0)
    noisy = (H.toarray() if sparse else H) + 1e-12 * rng.normal(size=H.shape)
    assert ground_state(noisy)[0] == pytest.approx(ground_state(H)[0], abs=1e-10)


def test_ground_state_bad_kinds_and_values():
    H = tfim_hamiltonian(3, h=1.0)
    with pytest.raises(TypeError, match="hamiltonian must be a concrete array of real numbers, got str"):
        ground_state("H")
    with pytest.raises(TypeError, match="hamiltonian must be an array of real numbers, got dict"):
        ground_state({"H": H})
    with pytest.raises(TypeError, match="hamiltonian must hold real numbers, got dtype complex128"):
        ground_state(H.toarray() * (1 + 0j))
    with pytest.raises(TypeError, match="hamiltonian must hold real numbers, got a sparse matrix of dtype complex128"):
        ground_state(H.astype(complex))
    with pytest.raises(TypeError, match="tol must be a real number"):
        ground_state(H, tol="1e-12")
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        ground_state(H, tol=0.0)
    with pytest.raises(ValueError, match="hamiltonian must be a 2-D array"):
        ground_state(np.ones(4))
    with pytest.raises(ValueError, match="hamiltonian must not be empty"):
        ground_state(np.zeros((0, 0)))
    with pytest.raises(ValueError, match=r"hamiltonian must be a square matrix \[d, d\]"):
        ground_state(sp.csr_matrix((3, 4)))
    nan_dense = H.toarray()
    nan_dense[1, 1] = np.nan
    with pytest.raises(ValueError, match="hamiltonian must contain only finite numbers"):
        ground_state(nan_dense)
    with pytest.raises(ValueError, match="hamiltonian must contain only finite numbers"):
        ground_state(sp.csr_matrix(nan_dense))


def test_ground_state_accepts_integer_and_list_hamiltonians():
    H = tfim_hamiltonian(7, h=1.0)  # entries -1, -7, ..., all integers: the Lanczos path with int64 data
    energy, state = ground_state(H)
    e_int, s_int = ground_state(H.astype(np.int64))
    assert e_int == pytest.approx(energy, abs=1e-10)
    assert fidelity_of(s_int, state) == pytest.approx(1.0, abs=1e-10)
    assert ground_state([[0.0, 1.0], [1.0, 0.0]])[0] == pytest.approx(-1.0, abs=1e-14)


def fidelity_of(a, b):
    return float((a @ b) ** 2 / ((a @ a) * (b @ b)))


def test_expectation_accepts_non_symmetric_operators_and_checks_the_rest():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(5, 5))  # not symmetric: <psi|A|psi> is that of its symmetric part
    psi = rng.normal(size=5)
    assert expectation(A, psi) == pytest.approx(psi @ ((A + A.T) / 2) @ psi / (psi @ psi), rel=1e-13)
    assert expectation(sp.csr_matrix(A), psi) == pytest.approx(expectation(A, psi), rel=1e-13)
    with pytest.raises(TypeError, match="state must hold real numbers"):
        expectation(A, psi * (1 + 1j))
    with pytest.raises(TypeError, match="operator must be a concrete array of real numbers"):
        expectation("A", psi)
    with pytest.raises(ValueError, match=r"operator must be a square matrix \[d, d\]"):
        expectation(sp.csr_matrix(np.ones((5, 4))), psi)
    with pytest.raises(ValueError, match="state must be a 1-D array"):
        expectation(A, psi[:, None])
    with pytest.raises(ValueError, match="state must contain only finite numbers"):
        expectation(A, np.full(5, np.nan))
    with pytest.raises(ValueError, match="state must be a non-zero vector"):
        expectation(A, np.zeros(5))


def test_basis_index_and_fidelity_bad_kinds():
    from physml_helpers.quantum import basis_index, fidelity

    with pytest.raises(TypeError, match="configs must be a concrete array of real numbers"):
        basis_index("+-+")
    with pytest.raises(ValueError, match="configs must be an array"):
        basis_index(1)
    assert basis_index(np.ones((0, 3))).shape == (0,)  # an empty batch is fine
    with pytest.raises(TypeError, match="state_a must be a concrete array"):
        fidelity("a", np.ones(2))
    with pytest.raises(TypeError, match="state_b must hold real or complex numbers"):
        fidelity(np.ones(2), np.array([True, False]))
    with pytest.raises(ValueError, match="finite"):
        fidelity(np.ones(2), np.array([1.0, np.nan]))
    assert fidelity(np.array([1.0, 1j]), np.array([1.0, 1j])) == pytest.approx(1.0)  # complex states allowed


def test_exact_diagonalization_is_float64_whatever_the_input_dtype():
    energy, state = ground_state(tfim_hamiltonian(4, h=1.0).astype(np.float32))
    assert state.dtype == np.float64 and isinstance(energy, float)
    assert tfim_hamiltonian(3, h=0.5).dtype == np.float64

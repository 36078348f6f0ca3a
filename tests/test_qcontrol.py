"""Quantum control helpers against exact references: scipy's matrix exponential, closed-form rotations, the
speed limit of a bounded field, brute-force enumeration of bang-bang protocols."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from physml_helpers import qcontrol as qc

I2, X, Y, Z = qc.pauli_matrices()


def test_pauli_algebra_and_site_operator():
    assert np.allclose(X @ Y, 1j * Z) and np.allclose(Y @ Z, 1j * X) and np.allclose(Z @ Z, I2)
    assert np.allclose(qc.site_operator(Z, 1, 3), np.kron(np.kron(I2, Z), I2))
    with pytest.raises(ValueError, match="site"):
        qc.site_operator(Z, 3, 3)
    with pytest.raises(ValueError, match="2 x 2"):
        qc.site_operator(np.eye(3), 0, 2)
    with pytest.raises(TypeError, match="n_sites"):
        qc.site_operator(Z, 0, 2.0)


def test_gate_fidelity_phase_blind_and_orthogonal():
    hadamard = (X + Z) / np.sqrt(2)
    assert np.isclose(float(qc.gate_fidelity(hadamard, np.exp(0.7j) * hadamard)), 1.0, atol=1e-14)
    assert np.isclose(float(qc.gate_fidelity(X, Z)), 0.0, atol=1e-14)
    batch = np.stack([I2, X, Y])
    assert np.allclose(qc.gate_fidelity(X, batch), [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="trailing shape"):
        qc.gate_fidelity(X, np.eye(4))
    with pytest.raises(ValueError, match="square"):
        qc.gate_fidelity(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(TypeError, match="u must"):
        qc.gate_fidelity(X, "X")


def test_propagator_matches_scipy_expm():
    rng = np.random.default_rng(0)
    amps = rng.normal(size=(7, 3)) * 2
    drift = 0.3 * Z + 0.1 * X
    u = np.asarray(qc.piecewise_propagator(drift, [X, Y, Z], amps, duration=1.4))
    ref = np.eye(2)
    for a in amps:  # later slices to the left
        ref = scipy.linalg.expm(-1j * 0.2 * (drift + a[0] * X + a[1] * Y + a[2] * Z)) @ ref
    assert np.abs(u - ref).max() < 1e-12
    # two qubits, a generic Hermitian drift
    h = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    h = h + h.conj().T
    controls = [qc.site_operator(X, 0, 2), qc.site_operator(Y, 1, 2)]
    amps2 = rng.normal(size=(5, 2))
    u2 = np.asarray(qc.piecewise_propagator(h, controls, amps2, duration=1.0))
    ref2 = np.eye(4)
    for a in amps2:
        ref2 = scipy.linalg.expm(-1j * 0.2 * (h + a[0] * controls[0] + a[1] * controls[1])) @ ref2
    assert np.abs(u2 - ref2).max() < 1e-12


def test_constant_field_is_a_rotation():
    # exp(-i T b X) = cos(bT) I - i sin(bT) X
    u = np.asarray(qc.piecewise_propagator(0 * Z, [X], np.full((4, 1), 0.8), duration=1.3))
    assert np.allclose(u, np.cos(0.8 * 1.3) * I2 - 1j * np.sin(0.8 * 1.3) * X, atol=1e-13)


def test_propagator_bad_inputs():
    with pytest.raises(ValueError, match="Hermitian"):
        qc.piecewise_propagator(np.array([[0, 1], [0, 0]]), [X], np.zeros((2, 1)), duration=1.0)
    with pytest.raises(ValueError, match="one column per control"):
        qc.piecewise_propagator(Z, [X, Y], np.zeros((2, 1)), duration=1.0)
    with pytest.raises(ValueError, match="duration"):
        qc.piecewise_propagator(Z, [X], np.zeros((2, 1)), duration=-1.0)
    with pytest.raises(ValueError, match="too long"):
        qc.piecewise_propagator(Z, [X], np.full((1, 1), 100.0), duration=1.0)
    with pytest.raises(ValueError, match="at least one control"):
        qc.piecewise_propagator(Z, [], np.zeros((2, 0)), duration=1.0)


def _bounded(params):
    v = params[:, 1:]
    return jnp.sin(params[:, :1]) * v / jnp.linalg.norm(v, axis=1, keepdims=True)


def test_grape_reaches_the_speed_limit_and_not_beyond():
    hadamard = (X + Z) / np.sqrt(2)
    times = np.array([0.8, 2.0])
    init = jax.random.normal(jax.random.key(0), (2, 10, 4))
    res = qc.grape(hadamard, 0 * I2, [X, Y, Z], init, duration=times, n_steps=300, lr=0.05, amplitude_fn=_bounded)
    fid = np.asarray(res.fidelity)
    assert fid[0] <= np.sin(0.8) ** 2 + 1e-10 and abs(fid[0] - np.sin(0.8) ** 2) < 1e-5
    assert fid[1] > 1 - 1e-8
    assert np.all(np.linalg.norm(np.asarray(res.amplitudes), axis=-1) <= 1 + 1e-12)
    # the reported fidelity is that of the returned amplitudes
    u = qc.piecewise_propagator(0 * I2, [X, Y, Z], res.amplitudes[1], duration=2.0)
    assert np.isclose(float(qc.gate_fidelity(hadamard, u)), fid[1], atol=1e-12)


def test_grape_cnot_needs_the_coupling():
    cnot = np.eye(4)[[0, 1, 3, 2]].astype(complex)
    zz = qc.site_operator(Z, 0, 2) @ qc.site_operator(Z, 1, 2)
    local = [qc.site_operator(P, j, 2) for P in (X, Y) for j in (0, 1)]
    init = 0.5 * jax.random.normal(jax.random.key(1), (2, 20, 4))
    coupled = qc.grape(cnot, zz, local, init, duration=1.5, n_steps=400)
    free = qc.grape(cnot, 0 * zz, local, init, duration=1.5, n_steps=400)
    assert float(np.max(coupled.fidelity)) > 0.9999
    assert float(np.max(free.fidelity)) <= 0.5 + 1e-10


def test_grape_bad_inputs():
    with pytest.raises(ValueError, match="unitary"):
        qc.grape(np.ones((2, 2)), Z, [X], np.zeros((3, 1)), duration=1.0, n_steps=2)
    with pytest.raises(ValueError, match="amplitude_fn must return"):
        qc.grape(X, Z, [X], np.zeros((3, 2)), duration=1.0, n_steps=2)
    with pytest.raises(ValueError, match="lr"):
        qc.grape(X, Z, [X], np.zeros((3, 1)), duration=1.0, n_steps=2, lr=0.0)
    with pytest.raises(TypeError, match="amplitude_fn"):
        qc.grape(X, Z, [X], np.zeros((3, 1)), duration=1.0, n_steps=2, amplitude_fn=3)


def _bukov(T, n):
    h_of = lambda h: -Z / 2 - h * X / 2  # noqa: E731
    psi0 = np.linalg.eigh(h_of(-2.0))[1][:, 0]
    target = np.linalg.eigh(h_of(2.0))[1][:, 0]
    us = [scipy.linalg.expm(-1j * (T / n) * h_of(h)) for h in (-4.0, 4.0)]
    return us, psi0, target


def test_protocol_fidelities_against_brute_force():
    us, psi0, target = _bukov(1.0, 5)
    f = qc.protocol_fidelities(us, psi0, target, n_steps=5)
    for k, bits in enumerate(itertools.product((0, 1), repeat=5)):  # first action = most significant bit
        psi = psi0.astype(complex)
        for a in bits:
            psi = us[a] @ psi
        assert abs(f[k] - abs(np.vdot(target, psi)) ** 2) < 1e-13


def test_local_maxima_brute_force():
    rng = np.random.default_rng(3)
    f = rng.random(2**6)
    maxima = set(qc.local_maxima(f).tolist())
    brute = {k for k in range(64) if all(f[k] >= f[k ^ (1 << b)] for b in range(6))}
    assert maxima == brute and int(np.argmax(f)) in maxima
    with pytest.raises(ValueError, match="2\\^n"):
        qc.local_maxima(np.ones(6))


def test_policy_gradient_finds_the_optimum_of_a_short_protocol():
    us, psi0, target = _bukov(1.0, 6)
    f = qc.protocol_fidelities(us, psi0, target, n_steps=6)
    res = qc.policy_gradient_bang_bang(jax.random.key(0), us, psi0, target, n_steps=6, n_iterations=200,
                                       batch=64, lr=0.05, n_agents=2)
    assert np.asarray(res.greedy_fidelity).shape == (2,)
    assert abs(float(np.max(res.greedy_fidelity)) - f.max()) < 1e-12
    # the greedy fidelity is the fidelity of the greedy protocol
    k = int("".join(map(str, np.asarray(res.greedy_protocol)[0])), 2)
    assert abs(f[k] - float(res.greedy_fidelity[0])) < 1e-12
    assert float(np.mean(res.mean_fidelity[:, -1])) > f.mean()


def test_bang_bang_bad_inputs():
    us, psi0, target = _bukov(1.0, 4)
    with pytest.raises(ValueError, match="pair"):
        qc.protocol_fidelities([us[0]], psi0, target, n_steps=4)
    with pytest.raises(ValueError, match="unitary"):
        qc.protocol_fidelities([us[0], 2 * us[1]], psi0, target, n_steps=4)
    with pytest.raises(ValueError, match="n_steps"):
        qc.protocol_fidelities(us, psi0, target, n_steps=30)
    with pytest.raises(ValueError, match="length"):
        qc.protocol_fidelities(us, psi0, np.ones(3), n_steps=4)
    with pytest.raises(TypeError, match="key"):
        qc.policy_gradient_bang_bang(0, us, psi0, target, n_steps=4, n_iterations=2)
    with pytest.raises(ValueError, match="entropy"):
        qc.policy_gradient_bang_bang(jax.random.key(0), us, psi0, target, n_steps=4, n_iterations=2, entropy=-1.0)

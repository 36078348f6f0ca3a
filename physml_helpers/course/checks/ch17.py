"""Checks for the exercises of chapter 17, *Quantum technologies and physical computing*.

References: the speed limit cos^2(pi/4 - b T) of a quarter turn under a field bounded by b = 1 and its minimum
time pi/4; exact logical error rates from the enumeration of all errors (qec.weight_enumerator) and the closed
form of the repetition code; the exhaustive optimum of all 2^12 bang-bang protocols and the count of local maxima. Also: the even-parity data state has Schmidt rank 2 at every cut, so an MPS Born machine of bond dimension 2
(the running parity carried on the bond) is exactly uniform on the even strings
(:func:`physml_helpers.tensornet.mps_to_dense`); the mean infidelity of a Clements mesh whose K = N(N - 1)/2 MZI
phases theta, phi carry independent errors of variance sigma^2 is, to second order,
sigma^2 K (2/N + 1/N - 1/N^2) = sigma^2 (N - 1)(3N - 1)/(2N), whatever the unitary.
"""

from __future__ import annotations

import itertools
from math import comb

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = [
    "check_quarter_turn", "check_decoding_rates", "check_bang_bang", "check_parity_mps", "check_mesh_infidelity",
]


@exercise("17.1")
def check_quarter_turn(t_min, fidelities):
    """``t_min``: the minimum time of the quarter turn exp(-i pi X / 4) with |b| <= 1; ``fidelities``:
    {T: best GRAPE fidelity} for the gate times of the statement."""
    t_min = float(t_min)
    if abs(t_min - np.pi / 2) < 1e-6:
        raise AssertionError("pi/2 is the minimum time of a half turn (the Hadamard of the chapter): a quarter turn "
                             "is a rotation by pi/2, and the field rotates by 2 b T.")
    if abs(t_min - np.pi / 8) < 1e-6:
        raise AssertionError("pi/8 is half the right time: the rotation angle of exp(-i T b n.sigma) is 2 b T, not 4 b T.")
    expect_close("the minimum time", t_min, np.pi / 4, rtol=1e-9, hint="set 2 b_max T equal to the rotation angle.")
    if not isinstance(fidelities, dict) or len(fidelities) < 4:
        raise AssertionError("fidelities should be a dict {T: F} over the gate times of the statement.")
    statement_times = (0.3, 0.5, 0.7, 0.9, 1.1)
    missing = [T for T in statement_times if not any(abs(float(k) - T) < 1e-9 for k in fidelities)]
    if missing:
        raise AssertionError(f"fidelities has no entry for the gate times {missing} of the statement: the times below "
                             "pi/4 are the ones that test the speed limit.")
    for T, f in fidelities.items():
        bound = np.cos(np.pi / 4 - min(float(T), np.pi / 4)) ** 2
        if float(f) > bound + 1e-9:
            raise AssertionError(f"at T = {T} your fidelity {float(f):.6f} beats the speed limit {bound:.6f}: check that "
                                 "the field is bounded by 1 and the gate time is T.")
        if float(f) < bound - 1e-3:
            raise AssertionError(f"at T = {T} your fidelity {float(f):.6f} is below the reachable {bound:.6f}: use more "
                                 "steps or starts.")
    return "GRAPE follows cos^2(pi/4 - T) and becomes exact at T = pi/4, half the time of a half turn."


@exercise("17.2")
def check_decoding_rates(rates):
    """``rates``: {"surface ML": ..., "surface matching": ..., "repetition": ...} for the rotated surface code at
    d = 5, p = 0.03 and the repetition code at d = 7, p = 0.1."""
    from physml_helpers import qec

    keys = {"surface ML", "surface matching", "repetition"}
    if not isinstance(rates, dict) or set(rates) != keys:
        raise AssertionError(f"rates should be a dict with keys {sorted(keys)}, got {rates!r}.")
    p = 0.03
    code = qec.rotated_surface_code(5)
    enum = qec.weight_enumerator(code)
    ml = qec.logical_error_rate(enum, p)
    mw = qec.logical_error_rate(enum, p, qec.matching_decoder_table(code))
    rep = sum(comb(7, k) * 0.1**k * 0.9 ** (7 - k) for k in range(4, 8))
    naive = (1 - (1 - 2 * p) ** 5) / 2
    d3 = qec.logical_error_rate(qec.weight_enumerator(qec.rotated_surface_code(3)), p)
    got_ml = float(rates["surface ML"])
    if abs(got_ml - naive) < 1e-9 * naive:
        raise AssertionError("your surface-code rate is that of no correction: decode with the maximum-likelihood table.")
    if abs(got_ml - d3) < 1e-9 * d3:
        raise AssertionError("that is the distance-3 rate: build rotated_surface_code(5).")
    expect_close("the maximum-likelihood rate at d = 5, p = 0.03", got_ml, ml, rtol=1e-9)
    expect_close("the matching rate at d = 5, p = 0.03", float(rates["surface matching"]), mw, rtol=1e-9,
                 hint="pass matching_decoder_table(code) to logical_error_rate.")
    expect_close("the repetition code's rate at d = 7, p = 0.1", float(rates["repetition"]), rep, rtol=1e-9,
                 hint="it fails when 4 or more of the 7 qubits flip.")
    return f"ML {ml:.3e} and matching {mw:.3e} at d = 5; the repetition code {rep:.2e} at d = 7."


@exercise("17.3")
def check_bang_bang(best_fidelity, best_protocol, n_local_maxima):
    """At N = 12, T = 1.5 in the chapter's model: the best fidelity, its protocol as a string of 0/1 (1: h = +4,
    first step first), and the number of local maxima."""
    import scipy.linalg

    from physml_helpers import qcontrol as qc

    _, x, _, z = qc.pauli_matrices()
    h_of = lambda h: -z / 2 - h * x / 2  # noqa: E731
    psi0 = np.linalg.eigh(h_of(-2.0))[1][:, 0]
    target = np.linalg.eigh(h_of(2.0))[1][:, 0]
    us = [scipy.linalg.expm(-1j * (1.5 / 12) * h_of(h)) for h in (-4.0, 4.0)]
    f = qc.protocol_fidelities(us, psi0, target, n_steps=12)
    k = int(np.argmax(f))
    want = np.binary_repr(k, 12)
    expect_close("the best fidelity", float(best_fidelity), f[k], rtol=1e-9,
                 hint="take the maximum over all 2^12 protocols at T = 1.5, N = 12.")
    protocol = "".join(str(int(b)) for b in best_protocol) if not isinstance(best_protocol, str) else best_protocol
    if protocol != want:
        if protocol == want[::-1]:
            raise AssertionError("your protocol is reversed: the first step is the most significant bit.")
        if len(protocol) == 12 and set(protocol) <= {"0", "1"} and abs(f[int(protocol, 2)] - f[k]) < 1e-12:
            pass  # an equally good protocol (a tie) is also right
        else:
            raise AssertionError(f"the protocol {protocol!r} is not the optimum: read it from the index of the maximum "
                                 "with np.binary_repr(index, 12).")
    n_max = len(qc.local_maxima(f))
    if int(n_local_maxima) == 1:
        raise AssertionError("one local maximum would be a smooth landscape: count the protocols that no single flip improves.")
    if int(n_local_maxima) != n_max:
        raise AssertionError(f"the number of local maxima should be computed with every one of the 12 single flips; "
                             f"got {int(n_local_maxima)}.")
    return f"F = {f[k]:.6f} with {want}; {n_max} local maxima among 4096 protocols."

def _even_parity_distribution(n: int) -> np.ndarray:
    configs = np.array(list(itertools.product((0, 1), repeat=n)))
    even = (configs.sum(axis=1) % 2 == 0).astype(float)
    return even / even.sum()


@exercise("17.4")
def check_parity_mps(parity_mps):
    """``parity_mps(n)``: MPS tensors float[n, 2, 2, 2] whose Born distribution is uniform on even-parity strings."""
    import jax.numpy as jnp

    from physml_helpers.tensornet import mps_to_dense

    for n in (2, 5, 8):
        tensors = np.asarray(call(parity_mps, n, what=f"parity_mps({n})"), dtype=float)
        if tensors.shape != (n, 2, 2, 2):
            raise AssertionError(f"parity_mps({n}) has shape {tensors.shape}; return float[n, D, d, D] = [{n}, 2, 2, 2]: "
                                 "n sites, bond dimension 2 (the Schmidt rank of the parity state), 2 values per site.")
        if not np.all(np.isfinite(tensors)):
            raise AssertionError(f"parity_mps({n}) contains inf or nan.")
        psi = np.asarray(mps_to_dense(jnp.asarray(tensors)), dtype=float)
        weight = float(np.sum(psi**2))
        if not weight > 0:
            raise AssertionError(f"parity_mps({n}) gives psi(x) = 0 for every x: the chain starts and ends on bond "
                                 "index 0 (e_0), so some path of non-zero matrix elements must lead from 0 back to 0.")
        p = psi**2 / weight
        want = _even_parity_distribution(n)
        odd = (1.0 - want * 2**(n - 1)) / 2**(n - 1)
        if np.max(np.abs(p - odd)) < 1e-12:
            raise AssertionError(f"parity_mps({n}) is uniform on the odd-parity strings: the bond carries the running "
                                 "parity and the right boundary e_0 keeps only paths that end with parity 0 (even).")
        if np.max(np.abs(p - 1 / 2**n)) < 1e-12:
            raise AssertionError(f"parity_mps({n}) is uniform on all {2**n} strings: the matrices A[x] must change the "
                                 "bond index when x = 1 (flip the running parity), and keep it when x = 0.")
        expect_close(f"the Born probabilities of parity_mps({n})", p, want, rtol=0, atol=1e-12,
                     hint="Use the bond index as the parity of the bits so far: A[x][p, p'] = 1 if p' = p XOR x, else 0.")
    return "bond dimension 2 carries the running parity: the Born machine is exactly uniform on even strings."


def _infidelity(n, sigma):
    return sigma**2 * (n - 1) * (3 * n - 1) / (2 * n)


@exercise("17.5")
def check_mesh_infidelity(predicted_infidelity):
    """``predicted_infidelity(n_modes, sigma)``: mean 1 - |Tr(U^dagger U')|^2/N^2 to order sigma^2."""
    for n, sigma in ((2, 0.01), (4, 0.02), (8, 0.005), (16, 0.001)):
        got = float(call(predicted_infidelity, n, sigma, what=f"predicted_infidelity({n}, {sigma})"))
        want = _infidelity(n, sigma)
        k = n * (n - 1) / 2
        wrong = {
            "theta only": (sigma**2 * k * 2 / n, "you counted only the internal phases theta; each external phase phi "
                           "is a phase on one mode and costs sigma^2 (1/N - 1/N^2)"),
            "no global-phase correction": (sigma**2 * k * 3 / n, "a phase on one mode partly acts as a global phase, "
                                           "which the fidelity ignores: subtract (Tr G / N)^2 = 1/N^2 for each phi"),
            "one unit per element": (sigma**2 * 2 * k, "an error does not cost sigma^2 per phase: the fidelity averages "
                                     "over N modes, so each generator G contributes Tr(G^2)/N - (Tr G/N)^2"),
        }
        for name, (value, hint) in wrong.items():
            if abs(value - want) > 1e-3 * want and abs(got - value) < 1e-6 * want:
                raise AssertionError(f"predicted_infidelity({n}, {sigma}) = {got:.4g}: {hint}.")
        if got < 0:
            raise AssertionError(f"predicted_infidelity({n}, {sigma}) = {got:.3g} < 0: an infidelity is never negative.")
        expect_close(f"predicted_infidelity({n}, {sigma})", got, want, rtol=1e-6,
                     hint="Expand U' = U exp(i sum_j delta_j G_j) to second order; average over independent delta_j: "
                          "1 - F = sigma^2 sum_j [Tr(G_j^2)/N - (Tr G_j/N)^2], with G = sigma_y on two modes for theta "
                          "and a projector on one mode for phi.")
    return "1 - F = sigma^2 (N - 1)(3N - 1)/(2N): the error grows linearly with the size of the mesh."

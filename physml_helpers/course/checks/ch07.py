"""Checks for the exercises of chapter 7, *Neural-network quantum states*.

References: the exact spectrum of the two-site ring (numerical diagonalization of the sparse helper at
several couplings), the closed-form energy of a product state, local energies against (H psi)/psi on
every configuration, and the square root of a histogram computed independently.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_two_site_spectrum", "check_product_state", "check_local_energy", "check_histogram_state",
           "check_tomography_table"]


@exercise("7.1")
def check_two_site_spectrum(eigenvalues):
    """``eigenvalues``: the four eigenvalues of the two-site ring as SymPy expressions in h and J."""
    import sympy as sp

    from physml_helpers.quantum import tfim_hamiltonian

    try:
        values = list(eigenvalues)
    except TypeError:
        raise AssertionError(f"eigenvalues should be a list of four SymPy expressions, got {type(eigenvalues).__name__}.") from None
    if len(values) != 4:
        raise AssertionError(
            f"the 4 x 4 Hamiltonian has 4 eigenvalues (list repeated ones again), got {len(values)}. "
            "If you used Matrix.eigenvals(), it returns {value: multiplicity}: expand it into a list."
        )
    values = [sp.sympify(v) for v in values]
    names = set().union(*(v.free_symbols for v in values))
    unknown = {s.name for s in names} - {"h", "J"}
    if unknown:
        raise AssertionError(f"the eigenvalues should depend on h and J only, found the symbols {sorted(unknown)}.")
    symbols = {s.name: s for s in names}
    for h, J in ((1.0, 1.0), (0.3, 1.7), (2.5, 0.4)):
        subs = {symbols[k]: v for k, v in (("h", h), ("J", J)) if k in symbols}
        got = np.sort([complex(v.evalf(subs=subs)).real for v in values])
        want = np.linalg.eigvalsh(tfim_hamiltonian(2, h=h, J=J).toarray())
        expect_close(f"the sorted eigenvalues at h = {h}, J = {J}", got, want, rtol=1e-10, atol=1e-10,
                     hint="Remember that the periodic sum over i counts the bond (1, 2) twice on a two-site ring.")
    return "the spectrum is {-2 sqrt(h^2 + J^2), -2J, 2J, 2 sqrt(h^2 + J^2)}: the ground state lies in the even sector."


def _reference_product_state(theta, n):
    single = np.array([np.cos(theta / 2), np.sin(theta / 2)])
    state = np.ones(1)
    for _ in range(n):
        state = np.kron(state, single)
    return state


@exercise("7.2")
def check_product_state(product_state):
    """``product_state(theta, n_sites)`` returning the 2^n vector of the tilted product state."""
    from physml_helpers.quantum import expectation, tfim_hamiltonian

    for theta, n in ((0.3, 3), (1.1, 5)):
        got = call(product_state, theta, n, what="product_state(theta, n_sites)")
        got = np.asarray(got, dtype=float)
        want = _reference_product_state(theta, n)
        if got.shape != want.shape:
            raise AssertionError(f"product_state({theta}, {n}) should be a vector of length 2**{n} = {2**n}, got shape {got.shape}.")
        if np.allclose(got, want[::-1], atol=1e-12) and not np.allclose(got, want, atol=1e-12):
            raise AssertionError("your vector is in reversed basis order: state 0 is all spins up (s_i = +1).")
        expect_close(f"product_state({theta}, {n})", got, want, rtol=0, atol=1e-12,
                     hint="Each spin is cos(theta/2)|up> + sin(theta/2)|down>; combine sites with np.kron, site 0 leftmost.")
        energy = expectation(tfim_hamiltonian(n, h=0.7), got)
        expect_close("its energy", energy, n * (-np.cos(theta) ** 2 - 0.7 * np.sin(theta)), rtol=1e-10)
    return "the product state's energy is N(-J cos^2 theta - h sin theta), never below E0."


@exercise("7.3")
def check_local_energy(local_energy):
    """``local_energy(log_psi, params, s, h, J)`` for one configuration of the transverse-field chain."""
    import jax
    import jax.numpy as jnp

    from physml_helpers.quantum import configurations, tfim_hamiltonian
    from physml_helpers.vmc import init_rbm, log_psi_vector, rbm_log_psi

    n, h, J = 5, 0.8, 1.3
    params = init_rbm(jax.random.key(0), n, alpha=2, scale=0.4)
    psi = np.exp(np.asarray(log_psi_vector(rbm_log_psi, params, n)))
    want = (tfim_hamiltonian(n, h=h, J=J) @ psi) / psi
    configs = configurations(n).astype(float)
    got = np.array([
        float(call(local_energy, rbm_log_psi, params, jnp.asarray(s), h, J, what="local_energy(log_psi, params, s, h, J)"))
        for s in configs
    ])
    diagonal = -J * np.sum(configs * np.roll(configs, -1, axis=1), axis=1)
    if np.allclose(got, diagonal, atol=1e-9):
        raise AssertionError("you returned only the diagonal -J sum s_i s_i+1: add the off-diagonal part -h sum_i psi(s^(i))/psi(s).")
    expect_close("E_loc on the 32 configurations of a 5-site ring", got, want, rtol=1e-9, atol=1e-9,
                 hint="The ratio psi(s')/psi(s) is exp(log_psi(s') - log_psi(s)); the ring is periodic.")
    return "E_loc(s) = (H psi)(s) / psi(s) on every configuration."


@exercise("7.4")
def check_histogram_state(histogram_state):
    """``histogram_state(samples, n_sites)``: the square root of the measured frequencies, as a 2^n vector."""
    rng = np.random.default_rng(0)
    n = 4
    # measurements that never show the last configurations (all spins down), as in a real experiment some
    # configurations are never seen: they must still appear, with amplitude zero
    index = rng.integers(0, 2**n - 3, size=500)
    samples = (1 - 2 * ((index[:, None] >> np.arange(n - 1, -1, -1)) & 1)).astype(float)
    got = np.asarray(call(histogram_state, samples, n, what="histogram_state(samples, n_sites)"), dtype=float)
    want = np.sqrt(np.bincount(index, minlength=2**n) / len(samples))
    if got.shape != want.shape:
        hint = ""
        if got.shape == (int(index.max()) + 1,):
            hint = (" Configurations never measured are missing at the end: count with "
                    "np.bincount(index, minlength=2**n_sites).")
        raise AssertionError(f"return a vector of length 2**n_sites = {2**n}, got shape {got.shape}.{hint}")
    if np.allclose(got, want**2, atol=1e-12):
        raise AssertionError("these are the frequencies themselves: the amplitudes are their square roots.")
    expect_close("the histogram state", got, want, rtol=0, atol=1e-12,
                 hint="Count each basis index (physml_helpers.quantum.basis_index), divide by M, take the square root.")
    return "psi(s) = sqrt(counts(s) / M), zero on every configuration never measured."


# Exercise 7.4 asks for fidelities with the 10-site critical chain (h = J = 1), to 1e-8: float64 sums over 1024
# amplitudes round at about 1e-14, so 1e-8 leaves room for any correct way of computing them, while the usual
# slips (overlap not squared, amplitudes not normalized) change a fidelity in its first or second digit.
_TOMOGRAPHY_SITES = 10
_FIDELITY_ATOL = 1e-8


def _exact_critical_state() -> np.ndarray:
    from physml_helpers.quantum import ground_state, tfim_hamiltonian

    return ground_state(tfim_hamiltonian(_TOMOGRAPHY_SITES, h=1.0))[1]


def _tomography_inputs(m, entry, n_sites: int):
    """The (samples, psi_rbm) the student stored for sample size m, validated, as float arrays."""
    if not isinstance(entry, (tuple, list)) or len(entry) != 2:
        raise AssertionError(f"states[{m}] should be the pair (samples, psi_rbm), got {type(entry).__name__}.")
    samples, psi_rbm = (np.asarray(a) for a in entry)
    if samples.ndim != 2 or samples.shape[1] != n_sites or not np.all(np.abs(samples) == 1):
        raise AssertionError(
            f"states[{m}][0] should be the {m} measured configurations, an array [{m}, {n_sites}] of +-1, got shape "
            f"{samples.shape}."
        )
    if samples.shape[0] != m:
        raise AssertionError(f"states[{m}] holds {samples.shape[0]} samples, but its key says M = {m}.")
    if psi_rbm.shape != (2**n_sites,) or not np.all(np.isfinite(psi_rbm)) or not np.any(psi_rbm != 0):
        raise AssertionError(
            f"states[{m}][1] should be the RBM's 2**{n_sites} = {2**n_sites} amplitudes exp(log_psi), finite and not all "
            f"zero, got shape {psi_rbm.shape}."
        )
    return samples.astype(float), psi_rbm


def _overlaps(psi, psi0):
    """|<psi|psi0>| and the squared norm of psi (psi0 is normalized)."""
    return abs(np.vdot(psi, psi0)), float(np.vdot(psi, psi).real)


@exercise("7.4")
def check_tomography_table(table, states):
    """``table``: dict {M: (fidelity_rbm, fidelity_histogram)} for at least three sample sizes; ``states``: dict
    {M: (samples, psi_rbm)} with the measured configurations and the fitted RBM's amplitudes behind each row.

    Both fidelities, :math:`F = |\\langle\\psi|\\psi_0\\rangle|^2 / (\\langle\\psi|\\psi\\rangle\\langle\\psi_0|\\psi_0\\rangle)`,
    are recomputed from ``states`` with the exact ground state of the 10-site chain at h = J = 1 and a histogram
    built here, and compared with the table to 1e-8.
    """
    if not isinstance(table, dict) or len(table) < 3:
        raise AssertionError("table should be a dict {M: (F_rbm, F_hist)} with at least three sample sizes M.")
    sizes = sorted(table)
    for m in sizes:
        pair = table[m]
        if len(pair) != 2 or not all(0 <= float(f) <= 1 + 1e-12 for f in pair):
            above = len(pair) == 2 and any(float(f) > 1 for f in pair)
            raise AssertionError(
                f"table[{m}] should be two fidelities between 0 and 1, got {pair!r}."
                + (" A value above 1 usually means amplitudes that are not normalized: exp(log_psi) of an RBM is not; "
                   "divide by <psi|psi>." if above else "")
            )
    if not isinstance(states, dict) or sorted(states) != sizes:
        got = sorted(states) if isinstance(states, dict) else type(states).__name__
        raise AssertionError(
            f"states should be a dict with the same sample sizes as table, {sizes}, each holding (samples, psi_rbm); "
            f"got {got}."
        )
    n = _TOMOGRAPHY_SITES
    psi0 = _exact_critical_state()
    weights = 2 ** np.arange(n - 1, -1, -1)
    for m in sizes:
        samples, psi_rbm = _tomography_inputs(m, states[m], n)
        counts = np.bincount(((1 - samples) / 2).astype(int) @ weights, minlength=2**n)
        psi_hist = np.sqrt(counts / m)
        want, unsquared, unnormalized = {}, {}, {}
        for name, psi in (("F_rbm", psi_rbm), ("F_hist", psi_hist)):
            overlap, norm2 = _overlaps(psi, psi0)
            want[name] = overlap**2 / norm2
            unsquared[name] = overlap / np.sqrt(norm2)
            unnormalized[name] = overlap**2
        got = dict(zip(("F_rbm", "F_hist"), (float(f) for f in table[m])))
        close = lambda a, b: abs(a - b) <= _FIDELITY_ATOL  # noqa: E731
        if close(got["F_rbm"], want["F_hist"]) and close(got["F_hist"], want["F_rbm"]) and not close(*want.values()):
            raise AssertionError(f"at M = {m} the two fidelities are swapped: store (F_rbm, F_hist) in that order.")
        for name in ("F_rbm", "F_hist"):
            if close(got[name], want[name]):
                continue
            if close(got[name], unsquared[name]):
                raise AssertionError(
                    f"{name} at M = {m} is {got[name]:.6f}, the overlap |<psi|psi0>| itself; the fidelity is its square, "
                    f"{want[name]:.6f}."
                )
            if close(got[name], unnormalized[name]):
                raise AssertionError(
                    f"{name} at M = {m} is {got[name]:.6g} = |<psi|psi0>|^2 with psi not normalized (<psi|psi> = "
                    f"{_overlaps(psi_rbm if name == 'F_rbm' else psi_hist, psi0)[1]:.4g}): exp(log_psi) of an RBM is not "
                    "normalized; divide by <psi|psi>, or use physml_helpers.quantum.fidelity."
                )
            expect_close(f"{name} at M = {m}", got[name], want[name], rtol=0, atol=_FIDELITY_ATOL,
                         hint="Recomputed from states[M] as |<psi|psi0>|^2 / (<psi|psi><psi0|psi0>) with psi0 the exact "
                              "ground state of the 10-site chain at h = J = 1; compute both with the same samples and "
                              "amplitudes you store in states.")
    f_hist = [float(table[m][1]) for m in sizes]
    f_rbm = [float(table[m][0]) for m in sizes]
    worse = [m for m, r, h in zip(sizes, f_rbm, f_hist) if r <= h]
    if worse:
        raise AssertionError(
            f"at M = {worse} the RBM's fidelity is not above the histogram's. With 600 Adam steps from the chapter's "
            "start it is (it assigns amplitudes to configurations never seen); check the fit."
        )
    if not all(b >= a - 0.02 for a, b in zip(f_hist, f_hist[1:])):
        raise AssertionError(f"the histogram fidelity should grow with M (up to noise), got {np.round(f_hist, 3).tolist()}.")
    return (f"both fidelities agree with a recomputation to 1e-8; with M = {sizes[-1]} measurements: RBM "
            f"{f_rbm[-1]:.3f}, histogram {f_hist[-1]:.3f}.")

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


@exercise("7.4")
def check_tomography_table(table):
    """``table``: dict {M: (fidelity_rbm, fidelity_histogram)} for at least three sample sizes."""
    if not isinstance(table, dict) or len(table) < 3:
        raise AssertionError("table should be a dict {M: (F_rbm, F_hist)} with at least three sample sizes M.")
    sizes = sorted(table)
    for m in sizes:
        pair = table[m]
        if len(pair) != 2 or not all(0 <= float(f) <= 1 + 1e-12 for f in pair):
            raise AssertionError(f"table[{m}] should be two fidelities between 0 and 1, got {pair!r}.")
    f_hist = [float(table[m][1]) for m in sizes]
    f_rbm = [float(table[m][0]) for m in sizes]
    if all(r < h for r, h in zip(f_rbm, f_hist)):
        raise AssertionError("every pair has F_rbm < F_hist: the pairs look swapped; store (F_rbm, F_hist) in that order.")
    worse = [m for m, r, h in zip(sizes, f_rbm, f_hist) if r <= h]
    if worse:
        raise AssertionError(
            f"at M = {worse} the RBM's fidelity is not above the histogram's. With 600 Adam steps from the chapter's "
            "start it is (it assigns amplitudes to configurations never seen); check the fit, or the order (F_rbm, F_hist)."
        )
    if not all(b >= a - 0.02 for a, b in zip(f_hist, f_hist[1:])):
        raise AssertionError(f"the histogram fidelity should grow with M (up to noise), got {np.round(f_hist, 3).tolist()}.")
    return f"with M = {sizes[-1]} measurements: RBM {float(table[sizes[-1]][0]):.3f}, histogram {f_hist[-1]:.3f}."

"""Chapter 7's checks accept right answers and explain wrong ones."""

from functools import reduce

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from physml_helpers.course.checks import ch07
from physml_helpers.quantum import basis_index, fidelity, ground_state, tfim_hamiltonian

h, J = sp.symbols("h J", positive=True)


def test_two_site_spectrum(capsys):
    root = 2 * sp.sqrt(h**2 + J**2)
    ch07.check_two_site_spectrum([-root, -2 * J, 2 * J, root])
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="bond .* twice"):
        single = sp.sqrt(h**2 + J**2)  # the open two-site chain: one bond only
        ch07.check_two_site_spectrum([-single - 0 * J, -J, J, single])
    with pytest.raises(AssertionError, match="4 eigenvalues"):
        ch07.check_two_site_spectrum([-root, root, 2 * J])


def kron_state(theta, n):
    return reduce(np.kron, [np.array([np.cos(theta / 2), np.sin(theta / 2)])] * n)


def test_product_state(capsys):
    ch07.check_product_state(kron_state)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="reversed basis order"):
        ch07.check_product_state(lambda t, n: kron_state(t, n)[::-1])
    with pytest.raises(AssertionError, match="length 2"):
        ch07.check_product_state(lambda t, n: kron_state(t, n)[:-1])


def correct_local_energy(log_psi, params, s, h, J):
    flips = s[None, :] * (1 - 2 * jnp.eye(s.shape[0]))
    ratios = jnp.exp(jnp.array([log_psi(params, f) for f in flips]) - log_psi(params, s))
    return -J * jnp.sum(s * jnp.roll(s, -1)) - h * jnp.sum(ratios)


def test_local_energy(capsys):
    ch07.check_local_energy(correct_local_energy)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="only the diagonal"):
        ch07.check_local_energy(lambda lp, p, s, h, J: -J * jnp.sum(s * jnp.roll(s, -1)))
    with pytest.raises(AssertionError, match="periodic"):  # an open chain misses one bond
        ch07.check_local_energy(lambda lp, p, s, h, J: correct_local_energy(lp, p, s, h, J) + J * s[-1] * s[0])


def test_histogram_state(capsys):
    def histogram(samples, n):
        return np.sqrt(np.bincount(basis_index(samples), minlength=2**n) / len(samples))

    ch07.check_histogram_state(histogram)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="square roots"):
        ch07.check_histogram_state(lambda s, n: histogram(s, n) ** 2)
    with pytest.raises(AssertionError, match=r"minlength=2\*\*n_sites"):
        ch07.check_histogram_state(lambda s, n: np.sqrt(np.bincount(basis_index(s)) / len(s)))  # no minlength


# Exercise 7.4's table: fidelities with the exact ground state of the 10-site chain at h = J = 1, recomputed by the
# check from the samples and RBM amplitudes behind each row. Here the "RBM" is a state with a known fidelity,
# cos(a) psi0 + sin(a) chi with chi orthogonal to psi0, scaled so that it is not normalized, as exp(log_psi) is not.

N_TOMO = 10
PSI0 = ground_state(tfim_hamiltonian(N_TOMO, h=1.0))[1]


def _configs(indices):
    return (1 - 2 * ((np.asarray(indices)[:, None] >> np.arange(N_TOMO - 1, -1, -1)) & 1)).astype(float)


def _born(seed, m):
    p = PSI0**2
    return _configs(np.random.default_rng(seed).choice(2**N_TOMO, size=m, p=p / p.sum()))


def _rbm_like(fidelity_value, scale=7.3):
    chi = np.random.default_rng(1).normal(size=2**N_TOMO)
    chi -= (chi @ PSI0) * PSI0
    chi /= np.linalg.norm(chi)
    a = np.arccos(np.sqrt(fidelity_value))
    return scale * (np.cos(a) * PSI0 + np.sin(a) * chi)


def _hist_fidelity(samples):
    psi = np.sqrt(np.bincount(basis_index(samples), minlength=2**N_TOMO) / len(samples))
    return fidelity(psi, PSI0)


@pytest.fixture(scope="module")
def tomography():
    """A correct answer: table {M: (F_rbm, F_hist)} and states {M: (samples, psi_rbm)}."""
    states = {m: (_born(10 + i, m), _rbm_like(f)) for i, (m, f) in enumerate(((100, 0.8), (300, 0.9), (1000, 0.97)))}
    table = {m: (fidelity(psi, PSI0), _hist_fidelity(s)) for m, (s, psi) in states.items()}
    assert all(r > h for r, h in table.values()), "the test's RBM-like states must beat the histogram"
    return table, states


def test_tomography_table_accepts_the_right_fidelities(capsys, tomography):
    table, states = tomography
    ch07.check_tomography_table(table, states)
    assert "correct" in capsys.readouterr().out
    # computed by hand in another way: normalize first, then square the overlap
    by_hand = {m: ((psi / np.linalg.norm(psi)) @ PSI0) ** 2 for m, (_, psi) in states.items()}
    ch07.check_tomography_table({m: (by_hand[m], table[m][1]) for m in table}, states)
    assert "correct" in capsys.readouterr().out


def test_tomography_table_rejects_typical_wrong_fidelities(tomography):
    table, states = tomography
    not_squared = {m: (np.sqrt(r), h) for m, (r, h) in table.items()}
    with pytest.raises(AssertionError, match=r"F_rbm at M = 100 .* the overlap \|<psi\|psi0>\| itself; the fidelity is its square"):
        ch07.check_tomography_table(not_squared, states)
    hist_not_squared = {m: (r, np.sqrt(h)) for m, (r, h) in table.items()}
    with pytest.raises(AssertionError, match="F_hist at M = 100 .* the fidelity is its square"):
        ch07.check_tomography_table(hist_not_squared, states)
    unnormalized = {m: (float((psi @ PSI0) ** 2), table[m][1]) for m, (_, psi) in states.items()}
    with pytest.raises(AssertionError, match=r"between 0 and 1, .* not normalized: .*divide by <psi\|psi>"):
        ch07.check_tomography_table(unnormalized, states)  # <psi|psi> = 7.3^2: a "fidelity" above 1
    small = {m: (s, psi * (0.55 / 7.3)) for m, (s, psi) in states.items()}  # <psi|psi> = 0.3025: stays below 1
    unnormalized = {m: (float((psi @ PSI0) ** 2), table[m][1]) for m, (_, psi) in small.items()}
    with pytest.raises(AssertionError, match=r"F_rbm at M = 100 .* psi not normalized \(<psi\|psi> = 0.3025\).*divide by <psi\|psi>"):
        ch07.check_tomography_table(unnormalized, small)
    with pytest.raises(AssertionError, match="swapped"):
        ch07.check_tomography_table({m: (h, r) for m, (r, h) in table.items()}, states)
    # a value that is simply off, by more than the stated 1e-8, gets the generic comparison
    off = {m: (r - 1e-6, h) for m, (r, h) in table.items()}
    with pytest.raises(AssertionError, match=r"F_rbm at M = 100 is .* expected .*tolerance 1\.0e-08"):
        ch07.check_tomography_table(off, states)


def test_tomography_table_rejects_malformed_or_inconsistent_inputs(tomography):
    table, states = tomography
    with pytest.raises(AssertionError, match="between 0 and 1"):
        ch07.check_tomography_table({**table, 100: (1.6, 0.5)}, states)
    with pytest.raises(AssertionError, match="same sample sizes"):
        ch07.check_tomography_table(table, {m: states[m] for m in (100, 300)})
    with pytest.raises(AssertionError, match="holds 300 samples, but its key says M = 100"):
        ch07.check_tomography_table(table, {**states, 100: states[300]})
    with pytest.raises(AssertionError, match="amplitudes exp"):
        ch07.check_tomography_table(table, {**states, 100: (states[100][0], states[100][1][:-1])})


def test_tomography_table_still_judges_the_physics(tomography):
    table, states = tomography
    # an RBM no better than the histogram, with its fidelity reported correctly
    weak = {**states, 300: (states[300][0], _rbm_like(0.9 * table[300][1]))}
    weak_table = {**table, 300: (fidelity(weak[300][1], PSI0), table[300][1])}
    with pytest.raises(AssertionError, match=r"at M = \[300\]"):
        ch07.check_tomography_table(weak_table, weak)
    # a histogram fidelity that falls with M: 1000 samples all of one configuration
    stuck = {**states, 1000: (_configs(np.zeros(1000, int)), states[1000][1])}
    stuck_table = {**table, 1000: (table[1000][0], _hist_fidelity(stuck[1000][0]))}
    with pytest.raises(AssertionError, match="grow with M"):
        ch07.check_tomography_table(stuck_table, stuck)

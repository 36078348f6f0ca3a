"""Chapter 7's checks accept right answers and explain wrong ones."""

from functools import reduce

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from physml_helpers.course.checks import ch07
from physml_helpers.quantum import basis_index

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


def test_histogram_state_and_table(capsys):
    def histogram(samples, n):
        return np.sqrt(np.bincount(basis_index(samples), minlength=2**n) / len(samples))

    ch07.check_histogram_state(histogram)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="square roots"):
        ch07.check_histogram_state(lambda s, n: histogram(s, n) ** 2)
    ch07.check_tomography_table({100: (0.6, 0.5), 300: (0.86, 0.67), 1000: (0.97, 0.8)})
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="between 0 and 1"):
        ch07.check_tomography_table({100: (1.6, 0.5), 300: (0.86, 0.67), 1000: (0.97, 0.8)})
    with pytest.raises(AssertionError, match="grow with M"):
        ch07.check_tomography_table({100: (0.6, 0.5), 300: (0.86, 0.4), 1000: (0.97, 0.8)})
    with pytest.raises(AssertionError, match="pairs look swapped"):
        ch07.check_tomography_table({100: (0.5, 0.6), 300: (0.67, 0.86), 1000: (0.8, 0.97)})
    with pytest.raises(AssertionError, match=r"at M = \[300\]"):
        ch07.check_tomography_table({100: (0.6, 0.5), 300: (0.6, 0.67), 1000: (0.97, 0.8)})
    with pytest.raises(AssertionError, match=r"minlength=2\*\*n_sites"):
        ch07.check_histogram_state(lambda s, n: np.sqrt(np.bincount(basis_index(s)) / len(s)))  # no minlength

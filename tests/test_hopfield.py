"""physml_helpers.hopfield against exact results: the Hebbian matrix and energy identities, the energy descent of
T = 0 dynamics on every update, Glauber sampling of an enumerated small network, the Curie-Weiss root, the one-step
error formula and the published AGS capacity; bad input."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import hopfield


def _patterns(p, n, seed=0):
    return jax.random.rademacher(jax.random.key(seed), (p, n), dtype=jnp.float64)


def test_hebbian_couplings_and_energy_identity():
    xi = _patterns(3, 20)
    J = hopfield.hebbian_couplings(xi)
    assert J.shape == (20, 20) and J.dtype == jnp.float64
    assert np.allclose(J, J.T) and np.all(np.diag(J) == 0)
    assert np.allclose(J[0, 1], float(xi[:, 0] @ xi[:, 1]) / 20)
    s = _patterns(4, 20, seed=1)
    m = hopfield.overlaps(xi, s)
    # E = -(N/2) sum_mu m_mu^2 + P/2
    assert np.allclose(hopfield.energy(J, s), -10 * np.sum(np.asarray(m) ** 2, axis=1) + 1.5, atol=1e-12)


def test_zero_temperature_never_raises_energy_and_stores_patterns():
    xi = _patterns(5, 200)
    flipped = jax.random.bernoulli(jax.random.key(2), 0.2, (200,))
    s0 = jnp.where(flipped, -xi[0], xi[0])
    s, energies, converged = hopfield.zero_temperature_dynamics(jax.random.key(3), xi, s0, max_sweeps=5)
    assert energies.shape == (5 * 200 + 1,)
    assert np.max(np.diff(np.asarray(energies))) <= 1e-12
    assert bool(converged) and float(hopfield.overlaps(xi, s)[0]) == 1.0
    J = hopfield.hebbian_couplings(xi)
    assert float(energies[0]) == pytest.approx(float(hopfield.energy(J, s0)), abs=1e-10)
    assert float(energies[-1]) == pytest.approx(float(hopfield.energy(J, s)), abs=1e-10)


def test_glauber_samples_the_boltzmann_distribution_of_a_small_network():
    # N = 6, P = 2: the exact <m_1^2> by enumerating 64 states, against 400 chains x 300 sweeps
    n, t = 6, 0.8
    xi = _patterns(2, n, seed=5)
    J = np.asarray(hopfield.hebbian_couplings(xi))
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    e = -0.5 * np.einsum("si,ij,sj->s", states, J, states)
    w = np.exp(-(e - e.min()) / t)
    m2_exact = np.sum(w * (states @ np.asarray(xi[0]) / n) ** 2) / w.sum()
    run = jax.jit(jax.vmap(lambda k: hopfield.glauber(k, xi, xi[0], t, 300)[1][50:, 0]))
    m = np.asarray(run(jax.random.split(jax.random.key(6), 400)))
    per_chain = (m**2).mean(axis=1)
    assert abs(per_chain.mean() - m2_exact) < 4 * per_chain.std(ddof=1) / np.sqrt(400)


def test_glauber_at_zero_temperature_descends_and_stops():
    xi = _patterns(4, 100)
    s0 = _patterns(1, 100, seed=9)[0]
    s, _, info = hopfield.glauber(jax.random.key(4), xi, s0, 0.0, 8)
    energies = np.asarray(info.energy)
    assert np.all(np.diff(energies) <= 1e-12) and int(info.flips[-1]) == 0
    assert float(energies[-1]) == pytest.approx(float(hopfield.energy(hopfield.hebbian_couplings(xi), s)), abs=1e-10)


def test_padding_rows_are_inactive():
    xi = _patterns(2, 50)
    padded = jnp.concatenate([xi, jnp.zeros((3, 50))])
    s0 = _patterns(1, 50, seed=3)[0]
    a = hopfield.zero_temperature_dynamics(jax.random.key(1), xi, s0, max_sweeps=4)
    b = hopfield.zero_temperature_dynamics(jax.random.key(1), padded, s0, max_sweeps=4)
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1], atol=1e-12)


def test_mattis_overlap_solves_curie_weiss():
    for t in (0.2, 0.5, 0.9, 0.999):
        m = hopfield.mattis_overlap(t)
        assert m == pytest.approx(math.tanh(m / t), abs=1e-12) and m > 0
    assert hopfield.mattis_overlap(1.0) == 0.0 and hopfield.mattis_overlap(3.0) == 0.0
    # near T_c: m^2 ~ 3 (1 - T)
    assert hopfield.mattis_overlap(0.999) ** 2 / (3 * 0.001) == pytest.approx(1, rel=0.01)


def test_one_step_error_probability_closed_form():
    a = jnp.array([0.05, 0.138, 1.0])
    assert np.allclose(hopfield.one_step_error_probability(a), [0.5 * math.erfc(1 / math.sqrt(2 * x)) for x in a], rtol=1e-12)


def test_ags_capacity_published_values():
    alpha_c, m_c = hopfield.ags_capacity()
    assert alpha_c == pytest.approx(0.138, abs=5e-4) and m_c == pytest.approx(0.967, abs=5e-4)
    assert math.isnan(hopfield.ags_retrieval(0.15))
    assert hopfield.ags_retrieval(0.05) > hopfield.ags_retrieval(0.1) > m_c


def test_bad_input():
    with pytest.raises(ValueError, match="patterns"):
        hopfield.hebbian_couplings(jnp.array([[1.0, 0.5]]))
    with pytest.raises(ValueError, match="patterns"):
        hopfield.hebbian_couplings(jnp.ones(3))
    with pytest.raises(ValueError, match="temperature"):
        hopfield.glauber_kernel(_patterns(2, 10), -1.0)
    with pytest.raises(ValueError, match="last dimension"):
        hopfield.overlaps(_patterns(2, 10), jnp.ones(9))
    with pytest.raises(TypeError, match="key"):
        hopfield.glauber(0, _patterns(2, 10), jnp.ones(10), 0.5, 2)
    with pytest.raises(ValueError, match="multiple"):
        hopfield.glauber(jax.random.key(0), _patterns(2, 10), jnp.ones(10), 0.5, 3, record_every=2)
    with pytest.raises(ValueError, match="temperature"):
        hopfield.mattis_overlap(0.0)
    with pytest.raises(ValueError, match="alpha"):
        hopfield.one_step_error_probability(-0.1)
    with pytest.raises(ValueError, match="alpha"):
        hopfield.ags_retrieval(0.0)
    with pytest.raises(ValueError, match="square"):
        hopfield.energy(jnp.ones((2, 3)), jnp.ones(3))

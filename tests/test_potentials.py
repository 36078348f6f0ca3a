"""Lennard-Jones reference and Behler-Parrinello potential against exact results."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import potentials as pt


def test_dimer_minimum_and_energy():
    r_min = 2 ** (1 / 6)
    dimer = lambda r: jnp.array([[0.0, 0.0, 0.0], [r, 0.0, 0.0]])
    assert float(pt.lennard_jones_energy(dimer(r_min))) == pytest.approx(-1.0, abs=1e-14)
    assert float(pt.lennard_jones_energy(dimer(1.0))) == pytest.approx(0.0, abs=1e-14)
    assert float(jnp.abs(pt.lennard_jones_forces(dimer(r_min))).max()) < 1e-12
    # epsilon and sigma scale energy and length
    assert float(pt.lennard_jones_energy(dimer(2 * r_min), epsilon=3.0, sigma=2.0)) == pytest.approx(-3.0, abs=1e-13)


def test_batched_energy_and_forces_match_finite_differences():
    pos = jnp.asarray(np.random.default_rng(0).normal(size=(2, 5, 3))) * 0.6 + jnp.arange(5.0)[:, None] * 0.9
    e = pt.lennard_jones_energy(pos)
    assert e.shape == (2,)
    np.testing.assert_allclose(np.asarray(e[1]), np.asarray(pt.lennard_jones_energy(pos[1])), rtol=1e-14)
    f = pt.lennard_jones_forces(pos)
    h = 1e-6
    for idx in ((0, 1, 0), (1, 3, 2)):
        step = jnp.zeros_like(pos).at[idx].set(h)
        fd = -(pt.lennard_jones_energy(pos + step) - pt.lennard_jones_energy(pos - step))[idx[0]] / (2 * h)
        assert float(f[idx]) == pytest.approx(float(fd), rel=1e-6, abs=1e-6)


def test_symmetry_functions_invariances_and_dimer_value():
    d = pt.default_descriptor()
    x = jnp.asarray(np.random.default_rng(1).normal(size=(6, 3)))
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))
    g = pt.symmetry_functions(x, d)
    np.testing.assert_allclose(np.asarray(pt.symmetry_functions(x @ q.T + 1.0, d)), np.asarray(g), atol=1e-12)
    perm = np.array([3, 1, 5, 0, 2, 4])
    np.testing.assert_allclose(np.asarray(pt.symmetry_functions(x[perm], d)), np.asarray(g)[perm], atol=1e-12)
    # a dimer at r: radial G2 in closed form, angular terms vanish (no third atom)
    r = 1.3
    gd = pt.symmetry_functions(jnp.array([[0.0, 0, 0], [r, 0, 0]]), d)
    fc = 0.5 * (np.cos(np.pi * r / 3.0) + 1)
    np.testing.assert_allclose(np.asarray(gd[0, :8]), np.exp(-8.0 * (r - np.linspace(0.85, 2.6, 8)) ** 2) * fc, rtol=1e-12)
    assert float(jnp.abs(gd[:, 8:]).max()) == 0.0


def test_bp_potential_learns_and_forces_are_gradients():
    rng = jax.random.split(jax.random.key(0), 2)
    base = jnp.array([[0.0, 0, 0], [1.12, 0, 0], [0.56, 0.97, 0]])
    pos = base + 0.04 * jax.random.normal(rng[0], (60, 3, 3))
    model, hist = pt.train_bp_potential(rng[1], [(pos, pt.lennard_jones_energy(pos), pt.lennard_jones_forces(pos))],
                                        hidden=(8,), n_steps=300, lr=1e-2)
    assert hist.shape == (300, 2) and hist[-1, 1] < 0.2 * hist[0, 1]
    x = pos[0]
    f = pt.bp_forces(model, x)
    h = 1e-6
    step = jnp.zeros_like(x).at[1, 0].set(h)
    fd = -(pt.bp_energy(model, x + step) - pt.bp_energy(model, x - step)) / (2 * h)
    assert float(f[1, 0]) == pytest.approx(float(fd), rel=1e-5, abs=1e-6)


def test_relax_finds_the_trimer_minimum():
    start = jnp.array([[0.0, 0, 0], [1.2, 0, 0], [0.5, 1.0, 0.1]])
    x, e, fmax = pt.relax(pt.lennard_jones_energy, start)
    assert e == pytest.approx(-3.0, abs=1e-9) and fmax < 1e-6   # an equilateral triangle of dimer bonds


def test_relax_with_a_given_value_and_grad():
    start = jnp.array([[0.0, 0, 0], [1.2, 0, 0], [0.5, 1.0, 0.1]])
    calls = []

    def vg(p):   # the analytic LJ gradient (minus the forces), counted
        calls.append(1)
        return pt.lennard_jones_energy(p), -pt.lennard_jones_forces(p)

    x, e, fmax = pt.relax(pt.lennard_jones_energy, start, value_and_grad=vg)
    assert calls and e == pytest.approx(-3.0, abs=1e-9) and fmax < 1e-6
    x_ref, _, _ = pt.relax(pt.lennard_jones_energy, start)
    np.testing.assert_allclose(x, x_ref, atol=1e-8)   # the same L-BFGS path as differentiating energy_fn
    with pytest.raises(TypeError, match="value_and_grad"):
        pt.relax(pt.lennard_jones_energy, start, value_and_grad=3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_atoms, 3"):
        pt.lennard_jones_energy(jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match="two atoms"):
        pt.lennard_jones_energy(jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="epsilon"):
        pt.lennard_jones_energy(jnp.ones((2, 3)) * jnp.arange(2.0)[:, None], epsilon=0.0)
    with pytest.raises(TypeError, match="descriptor"):
        pt.symmetry_functions(jnp.zeros((3, 3)), {})
    with pytest.raises(TypeError, match="model"):
        pt.bp_energy({}, jnp.zeros((3, 3)))
    with pytest.raises(TypeError, match="energy_fn"):
        pt.relax(3, jnp.zeros((3, 3)))

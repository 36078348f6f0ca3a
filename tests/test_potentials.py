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


def test_masked_padding_equals_the_unpadded_cluster():
    rng = jax.random.split(jax.random.key(3), 3)
    base = jnp.array([[0.0, 0, 0], [1.12, 0, 0], [0.56, 0.97, 0], [0.56, 0.32, 0.9]])
    pos = base + 0.04 * jax.random.normal(rng[0], (30, 4, 3))
    model, _ = pt.train_bp_potential(rng[1], [(pos, pt.lennard_jones_energy(pos), pt.lennard_jones_forces(pos))],
                                     hidden=(8,), n_steps=50, lr=1e-2)
    x = pos[:3]
    # two padding atoms, one on top of a real atom (a zero distance must not leak a nan) and one nearby
    padded = jnp.concatenate([x, x[:, :1], x[:, 1:2] + 0.3], axis=1)
    mask = jnp.array([True] * 4 + [False] * 2)
    d = model["descriptor"]
    g, g_pad = pt.symmetry_functions(x, d), pt.symmetry_functions(padded, d, mask=mask)
    np.testing.assert_allclose(np.asarray(g_pad[:, :4]), np.asarray(g), rtol=1e-13, atol=1e-14)
    assert float(jnp.abs(g_pad[:, 4:]).max()) == 0.0
    np.testing.assert_allclose(np.asarray(pt.bp_energy(model, padded, mask=mask)), np.asarray(pt.bp_energy(model, x)),
                               rtol=1e-13)
    f, f_pad = pt.bp_forces(model, x), pt.bp_forces(model, padded, mask=mask)
    assert bool(jnp.all(jnp.isfinite(f_pad)))
    np.testing.assert_allclose(np.asarray(f_pad[:, :4]), np.asarray(f), rtol=1e-12, atol=1e-12)
    assert float(jnp.abs(f_pad[:, 4:]).max()) == 0.0
    # a per-configuration mask [c, n] works too
    np.testing.assert_allclose(np.asarray(pt.bp_energy(model, padded, mask=jnp.broadcast_to(mask, (3, 6)))),
                               np.asarray(pt.bp_energy(model, x)), rtol=1e-13)


def test_training_on_two_sizes_pads_to_one_program():
    # a trimer and a tetramer trained together (padded internally) equal the same fit written out by hand:
    # the loss is the per-atom energy MSE over all clusters plus the force MSE over all real force components
    rng = jax.random.split(jax.random.key(4), 3)
    tri = jnp.array([[0.0, 0, 0], [1.12, 0, 0], [0.56, 0.97, 0]])
    tet = jnp.concatenate([tri, jnp.array([[0.56, 0.32, 0.9]])])
    p3 = tri + 0.04 * jax.random.normal(rng[0], (20, 3, 3))
    p4 = tet + 0.04 * jax.random.normal(rng[1], (20, 4, 3))
    data = [(p, pt.lennard_jones_energy(p), pt.lennard_jones_forces(p)) for p in (p3, p4)]
    model, hist = pt.train_bp_potential(rng[2], data, hidden=(8,), n_steps=3, lr=1e-2)
    e_mse = np.mean(np.concatenate([((pt.bp_energy(model, p) - e) / p.shape[1]) ** 2 for p, e, _ in data]))
    f_err = np.concatenate([np.ravel(pt.bp_forces(model, p) - f) for p, _, f in data])
    # the history is evaluated before each step: compare the untrained model's errors with the first entry
    model0, hist0 = pt.train_bp_potential(rng[2], data, hidden=(8,), n_steps=1, lr=1e-30)
    e0 = np.mean(np.concatenate([((pt.bp_energy(model0, p) - e) / p.shape[1]) ** 2 for p, e, _ in data]))
    f0 = np.concatenate([np.ravel(pt.bp_forces(model0, p) - f) for p, _, f in data])
    np.testing.assert_allclose(np.asarray(hist0[0]), [e0, np.mean(f0**2)], rtol=1e-10)
    assert hist.shape == (3, 2) and np.isfinite(e_mse) and np.isfinite(np.mean(f_err**2))


def test_feature_cache_serves_only_identical_data():
    # a second training on the same data reuses the features and Jacobians; other data never gets them
    d = pt.default_descriptor()
    pos = jnp.array([[[0.0, 0, 0], [1.12, 0, 0], [0.56, 0.97, 0]]])
    mask = jnp.ones((1, 3), bool)
    first = pt._cached_features(pos, d, mask)
    assert pt._cached_features(jnp.array(np.asarray(pos)), d, mask) is first      # same content, same entry
    moved = pos.at[0, 2, 2].set(0.3)
    g_moved, jac_moved = pt._cached_features(moved, d, mask)
    g_direct, jac_direct = pt._features_and_jacobian(moved, d, mask)
    np.testing.assert_array_equal(np.asarray(g_moved), np.asarray(g_direct))
    np.testing.assert_array_equal(np.asarray(jac_moved), np.asarray(jac_direct))
    assert not np.allclose(np.asarray(g_moved), np.asarray(first[0]))


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
    d = pt.default_descriptor()
    x = jnp.arange(9.0).reshape(3, 3)
    with pytest.raises(TypeError, match="mask"):
        pt.symmetry_functions(x, d, mask=jnp.ones(3))
    with pytest.raises(ValueError, match="mask"):
        pt.symmetry_functions(x, d, mask=jnp.ones(4, bool))
    with pytest.raises(ValueError, match="two real atoms"):
        pt.symmetry_functions(x, d, mask=jnp.array([True, False, False]))
    with pytest.raises(TypeError, match="energy_fn"):
        pt.relax(3, jnp.zeros((3, 3)))

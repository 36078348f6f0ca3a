"""The 1-D box solver, the von Weizsäcker functional, kernel ridge regression and the projected descent of
physml_helpers.mldft, against exact results."""

import jax
import numpy as np
import pytest

from physml_helpers import mldft as md


def test_free_box_levels_converge_at_second_order():
    n = np.arange(1, 5)
    errors = []
    for g in (49, 99, 199):
        x, h = md.box_grid(g)
        assert np.isclose(h, 1 / (g + 1)) and np.allclose(x, h * np.arange(1, g + 1))
        levels = md.solve_box(np.zeros(g), n_states=4).levels[0]
        # the exact levels of the discretised operator, (1 - cos n pi h)/h^2, to rounding
        np.testing.assert_allclose(levels, (1 - np.cos(n * np.pi * h)) / h**2, rtol=1e-11)
        errors.append(levels - n**2 * np.pi**2 / 2)
        # leading error -n^4 pi^4 h^2 / 24, the next term n^6 pi^6 h^4 / 720 bounds the rest
        lead = -(n**4) * np.pi**4 * h**2 / 24
        assert np.all(np.abs(errors[-1] - lead) <= 1.01 * n**6 * np.pi**6 * h**4 / 720)
    order = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))     # h halves (almost) each time
    ratio_h = np.log2(np.array([50, 100]) / np.array([100, 200]))
    np.testing.assert_allclose(order / -ratio_h[:, None], 2.0, atol=0.02)


def test_orbitals_normalised_and_ground_state_consistent():
    x, h = md.box_grid(60)
    v = md.gaussian_wells(jax.random.key(0), 5, x)
    assert v.shape == (5, 60) and np.all(v < 0)
    states = md.solve_box(v, n_states=3)
    np.testing.assert_allclose(h * np.einsum("bsg,btg->bst", states.orbitals, states.orbitals),
                               np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-12)
    for n_part in (1, 3):
        gs = md.fermion_ground_state(states, v, n_part)
        np.testing.assert_allclose(h * gs.density.sum(1), n_part, rtol=1e-12)
        # T from the eigenvalues equals <phi| -Laplacian/2 |phi> summed over the occupied orbitals
        phi = np.pad(states.orbitals[:, :n_part], ((0, 0), (0, 0), (1, 1)))
        t_direct = 0.5 * np.sum(np.diff(phi, axis=-1) ** 2, axis=(-2, -1)) / h
        np.testing.assert_allclose(gs.kinetic, t_direct, rtol=1e-10)
        np.testing.assert_allclose(gs.mu, states.levels[:, n_part - 1])


def test_von_weizsacker_exact_for_one_particle_and_a_lower_bound_for_more():
    x, h = md.box_grid(80)
    v = md.gaussian_wells(jax.random.key(1), 6, x)
    states = md.solve_box(v, n_states=2)
    one = md.fermion_ground_state(states, v, 1)
    np.testing.assert_allclose(md.von_weizsacker(one.density, h), one.kinetic, rtol=1e-10)
    # the exact derivative from the Euler equation: mu - v(x)
    np.testing.assert_allclose(md.von_weizsacker_derivative(one.density, h), one.mu[:, None] - v, atol=1e-7)
    two = md.fermion_ground_state(states, v, 2)
    assert np.all(md.von_weizsacker(two.density, h) < two.kinetic - 1.0)
    # free box, one particle: T = pi^2/2 up to the O(h^2) error
    x, h = md.box_grid(199)
    free = md.fermion_ground_state(md.solve_box(np.zeros(199), n_states=1), np.zeros(199), 1)
    assert abs(md.von_weizsacker(free.density[0], h) - np.pi**2 / 2) < np.pi**4 * h**2 / 24 * 1.01


def test_kernel_ridge_interpolates_at_tiny_ridge_and_its_derivative_is_the_gradient():
    rng = np.random.default_rng(2)
    _, h = md.box_grid(20)
    n = rng.uniform(0.5, 1.5, size=(8, 20))
    y = rng.normal(size=8)
    model = md.fit_kernel_ridge(n, y, sigma=0.5, ridge=1e-12, h=h)
    np.testing.assert_allclose(md.kernel_ridge_predict(model, n), y, atol=1e-8)
    # closed form with one training point pair: alpha = (K + lambda)^-1 (y - mean)
    k = md.gaussian_kernel_matrix(n[:2], n[:2], sigma=0.5, h=h)
    np.testing.assert_allclose(k[0, 1], np.exp(-h * np.sum((n[0] - n[1]) ** 2) / 0.5), rtol=1e-12)
    m2 = md.fit_kernel_ridge(n[:2], y[:2], sigma=0.5, ridge=0.3, h=h)
    np.testing.assert_allclose(m2.weights, np.linalg.solve(k + 0.3 * np.eye(2), y[:2] - y[:2].mean()), rtol=1e-12)
    # functional derivative = (1/h) dT/dn_j, by central differences
    q = rng.uniform(0.5, 1.5, size=20)
    eps = 1e-6
    fd = np.array([(md.kernel_ridge_predict(model, q + eps * e) - md.kernel_ridge_predict(model, q - eps * e))
                   / (2 * eps * h) for e in np.eye(20)])
    np.testing.assert_allclose(md.kernel_ridge_derivative(model, q), fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(md.kernel_ridge_derivative(model, q[None])[0], md.kernel_ridge_derivative(model, q))


def test_loo_matches_brute_force_leave_one_out():
    rng = np.random.default_rng(3)
    _, h = md.box_grid(10)
    n = rng.uniform(0.5, 1.5, size=(7, 10))
    y = rng.normal(size=7)
    sigma, ridge, rmse = md.loo_hyperparameters(n, y, h=h, sigmas=[0.3, 1.0], ridges=[1e-3, 1e-1])
    assert rmse.shape == (2, 2) and rmse[[0.3, 1.0].index(sigma), [1e-3, 1e-1].index(ridge)] == rmse.min()
    res = []
    for i in range(7):
        keep = np.arange(7) != i
        k = md.gaussian_kernel_matrix(n[keep], n[keep], sigma=1.0, h=h)
        a = np.linalg.solve(k + 0.1 * np.eye(6), y[keep] - y.mean())    # offset from all points, as documented
        res.append(y[i] - y.mean() - md.gaussian_kernel_matrix(n[i:i + 1], n[keep], sigma=1.0, h=h)[0] @ a)
    np.testing.assert_allclose(rmse[1, 1], np.sqrt(np.mean(np.square(res))), rtol=1e-8)


def test_projected_descent_keeps_particle_number_and_reaches_the_exact_density():
    x, h = md.box_grid(50)
    v = md.gaussian_wells(jax.random.key(4), 121, x)
    gs = md.fermion_ground_state(md.solve_box(v, n_states=1), v, 1)
    model = md.fit_kernel_ridge(gs.density[1:], gs.kinetic[1:], sigma=1.75, ridge=1e-12, h=h)   # sigma by LOO
    u = md.local_pca_basis(gs.density[1:], gs.density[0], n_neighbours=10, n_components=3)
    np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(u.sum(0), 0.0, atol=1e-10)               # directions keep the integral
    start = gs.density[1 + np.argmin(h * gs.density[1:] @ v[0] + gs.kinetic[1:])]   # the best training density
    state, hist = md.density_descent(model, v[0], start, step_size=0.01, n_steps=60, n_neighbours=10,
                                     n_components=3, tol=1e-3)
    np.testing.assert_allclose(hist.n_particles, 1.0, atol=1e-12)
    assert hist.converged and state.n_steps == 60
    err_start = h * np.abs(start - gs.density[0]).sum()
    err_end = h * np.abs(state.density - gs.density[0]).sum()
    assert err_end < 0.8 * err_start, (err_start, err_end)
    assert abs(state.energy - gs.energy[0]) * md.HARTREE_KCAL_MOL < 1.0      # the paper's accuracy goal
    # without the projection the same steps leave the data and the density error grows
    free, _ = md.density_descent(model, v[0], start, step_size=0.01, n_steps=60, project=False)
    assert h * np.abs(free.density - gs.density[0]).sum() > 10 * err_start
    kernel = md.density_descent_kernel(model, v[0], step_size=0.01, project=False)
    s1, info = kernel.step(kernel.init(start))
    assert isinstance(s1, md.DensityDescentState) and abs(info.n_particles - 1.0) < 1e-12
    # one projected step equals the step built from the public pieces
    kernel = md.density_descent_kernel(model, v[0], step_size=0.01, n_neighbours=10, n_components=3)
    s1, info = kernel.step(kernel.init(start))
    grad = md.kernel_ridge_derivative(model, start) + v[0]
    u = md.local_pca_basis(gs.density[1:], start, n_neighbours=10, n_components=3)
    np.testing.assert_allclose(s1.density, start - 0.01 * u @ (u.T @ grad), rtol=1e-10, atol=1e-12)
    # the weights alpha are large at a tiny ridge, so rounding in the distances shows at about 1e-8
    np.testing.assert_allclose(s1.energy, md.kernel_ridge_predict(model, s1.density) + h * v[0] @ s1.density, rtol=1e-6)


def test_bad_inputs_name_the_parameter():
    x, h = md.box_grid(10)
    with pytest.raises(ValueError, match="n_points"):
        md.box_grid(2)
    with pytest.raises(TypeError, match="n_points"):
        md.box_grid(10.0)
    with pytest.raises(TypeError, match="key"):
        md.gaussian_wells(0, 3, x)
    with pytest.raises(ValueError, match="width"):
        md.gaussian_wells(jax.random.key(0), 3, x, width=(0.0, 0.1))
    with pytest.raises(ValueError, match="depth"):
        md.gaussian_wells(jax.random.key(0), 3, x, depth=(10.0, 1.0))
    with pytest.raises(ValueError, match="n_states"):
        md.solve_box(np.zeros(10), n_states=11)
    with pytest.raises(ValueError, match="potentials"):
        md.solve_box(np.full(10, np.nan), n_states=1)
    states = md.solve_box(np.zeros((2, 10)), n_states=1)
    with pytest.raises(ValueError, match="n_particles"):
        md.fermion_ground_state(states, np.zeros((2, 10)), 2)
    with pytest.raises(TypeError, match="states"):
        md.fermion_ground_state((1, 2), np.zeros((2, 10)), 1)
    with pytest.raises(ValueError, match="density"):
        md.von_weizsacker(-np.ones(10), h)
    with pytest.raises(ValueError, match="h must be"):
        md.von_weizsacker(np.ones(10), 0.5)
    with pytest.raises(ValueError, match="density"):
        md.von_weizsacker_derivative(np.zeros(10), h)
    with pytest.raises(ValueError, match="sigma"):
        md.fit_kernel_ridge(np.ones((3, 10)), np.ones(3), sigma=0.0, ridge=1.0, h=h)
    with pytest.raises(ValueError, match="ridge"):
        md.fit_kernel_ridge(np.ones((3, 10)), np.ones(3), sigma=1.0, ridge=-1.0, h=h)
    with pytest.raises(ValueError, match="targets"):
        md.fit_kernel_ridge(np.ones((3, 10)), np.ones(4), sigma=1.0, ridge=1.0, h=h)
    with pytest.raises(TypeError, match="model"):
        md.kernel_ridge_predict("model", np.ones(10))
    model = md.fit_kernel_ridge(np.random.default_rng(0).uniform(size=(3, 10)), np.ones(3), sigma=1.0, ridge=1.0, h=h)
    with pytest.raises(ValueError, match="density"):
        md.kernel_ridge_derivative(model, np.ones(11))
    with pytest.raises(ValueError, match="ridges"):
        md.loo_hyperparameters(np.ones((3, 10)), np.ones(3), h=h, sigmas=[1.0], ridges=[0.0])
    with pytest.raises(ValueError, match="n_neighbours"):
        md.local_pca_basis(np.ones((3, 10)), np.ones(10), n_neighbours=4, n_components=1)
    with pytest.raises(ValueError, match="step_size"):
        md.density_descent_kernel(model, np.zeros(10), step_size=0.0, n_neighbours=2, n_components=1)
    with pytest.raises(ValueError, match="potential"):
        md.density_descent_kernel(model, np.zeros(11), step_size=0.1, n_neighbours=2, n_components=1)
    with pytest.raises(ValueError, match="n_steps"):
        md.density_descent(model, np.zeros(10), np.ones(10), step_size=0.1, n_steps=0, n_neighbours=2, n_components=1)

"""Two-dimensional U(1) lattice gauge theory: plaquettes, gauge invariance, and Metropolis against the exact
average plaquette I1(beta)/I0(beta)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import i0, i1

from physml_helpers.gauge import _local_action_change, average_plaquette, gauge_transform, metropolis, plaquette_angles


def _random_links(key, L):
    return jax.random.uniform(key, (2, L, L), minval=-np.pi, maxval=np.pi)


def test_plaquettes_against_explicit_loops():
    L = 4
    theta = np.asarray(_random_links(jax.random.key(0), L))
    got = np.asarray(plaquette_angles(theta))
    for x0 in range(L):
        for x1 in range(L):
            want = (theta[0, x0, x1] + theta[1, (x0 + 1) % L, x1] - theta[0, x0, (x1 + 1) % L] - theta[1, x0, x1])
            assert got[x0, x1] == pytest.approx(want, abs=1e-14)


def test_plaquettes_are_gauge_invariant():
    theta = _random_links(jax.random.key(1), 6)
    alpha = jax.random.uniform(jax.random.key(2), (6, 6), minval=-np.pi, maxval=np.pi)
    np.testing.assert_allclose(plaquette_angles(gauge_transform(theta, alpha)), plaquette_angles(theta), atol=1e-12)
    # a pure gauge (theta = alpha(x) - alpha(x + e_mu)) has all plaquettes zero
    np.testing.assert_allclose(plaquette_angles(gauge_transform(jnp.zeros((2, 6, 6)), alpha)), 0.0, atol=1e-12)


def test_local_action_change_matches_the_global_difference():
    L, beta = 6, 1.3
    theta = _random_links(jax.random.key(3), L)
    action = lambda t: -beta * float(jnp.sum(jnp.cos(plaquette_angles(t))))
    for mu in (0, 1):
        proposal = theta[mu] + jax.random.normal(jax.random.key(4 + mu), (L, L))
        parity = np.arange(L) % 2
        mask = (parity[None, :] == 0) if mu == 0 else (parity[:, None] == 0)
        mask = np.broadcast_to(mask, (L, L))
        d_s = np.asarray(_local_action_change(theta, mu, jnp.where(mask, proposal, theta[mu]), beta))
        for x0, x1 in [(0, 0), (3, 2), (5, 4)]:
            if not mask[x0, x1]:
                continue
            single = theta.at[mu, x0, x1].set(proposal[x0, x1])
            assert d_s[x0, x1] == pytest.approx(action(single) - action(theta), abs=1e-10)


@pytest.mark.parametrize("beta", [0.8, 2.0])
def test_metropolis_average_plaquette_matches_the_exact_result(beta):
    state, info = metropolis(jax.random.key(5), jnp.zeros((2, 8, 8)), beta=beta, n_sweeps=4000)
    theta, acceptance = state.theta, info.acceptance
    samples = np.asarray(info.plaquette[500:])
    bins = samples.reshape(35, -1).mean(axis=1)  # 35 bins of 100 sweeps: longer than the autocorrelation time
    mean, error = bins.mean(), bins.std(ddof=1) / np.sqrt(len(bins))
    exact = i1(beta) / i0(beta)
    assert abs(mean - exact) < 4 * error, (mean, error, exact)
    assert 0.2 < float(np.mean(acceptance)) < 0.9
    assert theta.shape == (2, 8, 8)


def test_bad_inputs():
    with pytest.raises(ValueError, match="theta must have shape \\[2, L, L\\]"):
        plaquette_angles(jnp.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="alpha must have one angle per site"):
        gauge_transform(jnp.zeros((2, 4, 4)), jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="must be even"):
        metropolis(jax.random.key(0), jnp.zeros((2, 5, 5)), beta=1.0, n_sweeps=2)
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        metropolis(jax.random.key(0), jnp.zeros((2, 4, 4)), beta=-1.0, n_sweeps=2)
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        metropolis(0, jnp.zeros((2, 4, 4)), beta=1.0, n_sweeps=2)
    with pytest.raises(TypeError, match="raw uint32 array"):
        metropolis(jax.random.PRNGKey(0), jnp.zeros((2, 4, 4)), beta=1.0, n_sweeps=2)


def test_wilson_loops_obey_the_lattice_stokes_theorem_and_gauge_invariance():
    from physml_helpers.gauge import wilson_loop_angles

    theta = _random_links(jax.random.key(8), 6)
    P = plaquette_angles(theta)
    np.testing.assert_allclose(wilson_loop_angles(theta, 1), P, atol=1e-14)
    enclosed = sum(jnp.roll(P, (-a, -b), axis=(0, 1)) for a in range(2) for b in range(2))
    np.testing.assert_allclose(wilson_loop_angles(theta, 2), enclosed, atol=1e-12)
    alpha = jax.random.uniform(jax.random.key(9), (6, 6), minval=-np.pi, maxval=np.pi)
    np.testing.assert_allclose(wilson_loop_angles(gauge_transform(theta, alpha), 3), wilson_loop_angles(theta, 3), atol=1e-12)


def test_the_lcnn_is_gauge_invariant_and_the_plain_cnn_is_not():
    from physml_helpers.gauge import cnn_apply, init_cnn, init_lcnn, lcnn_apply

    theta = _random_links(jax.random.key(10), 6)
    alpha = jax.random.uniform(jax.random.key(11), (6, 6), minval=-np.pi, maxval=np.pi)
    lcnn = init_lcnn(jax.random.key(12), (4, 4, 2))
    out = lcnn_apply(lcnn, theta)
    assert out.shape == (6, 6)
    scale = float(jnp.abs(out).max())
    assert float(jnp.abs(lcnn_apply(lcnn, gauge_transform(theta, alpha)) - out).max()) < 1e-10 * max(scale, 1.0)
    cnn = init_cnn(jax.random.key(13))
    assert float(jnp.abs(cnn_apply(cnn, gauge_transform(theta, alpha)) - cnn_apply(cnn, theta)).max()) > 1e-2
    # translation equivariance of both: shifting the links shifts the output
    shifted = jnp.roll(theta, (1, 2), axis=(1, 2))
    np.testing.assert_allclose(lcnn_apply(lcnn, shifted), jnp.roll(out, (1, 2), axis=(0, 1)), atol=1e-10 * max(scale, 1.0))


def test_sample_configurations():
    from physml_helpers.gauge import sample_configurations

    configs = sample_configurations(jax.random.key(14), 6, size=6, beta=2.0, n_sweeps=50)
    assert configs.shape == (6, 2, 6, 6)
    assert len({float(c.sum()) for c in configs}) == 6  # independent chains
    with pytest.raises(ValueError, match="size must be even"):
        sample_configurations(jax.random.key(0), 2, size=5, beta=1.0, n_sweeps=2)


def test_exact_average_plaquette_limits_and_finite_volume_monte_carlo():
    from scipy.special import i0, i1

    from physml_helpers.gauge import exact_average_plaquette

    for beta in (0.3, 2.0, 7.0):
        assert exact_average_plaquette(beta) == pytest.approx(i1(beta) / i0(beta), rel=1e-14)
        # a 1 x 1 torus: its single plaquette is identically zero
        assert exact_average_plaquette(beta, n_plaquettes=1) == pytest.approx(1.0, abs=1e-14)
        # large volume: the constraint that ties the plaquettes together is forgotten
        assert exact_average_plaquette(beta, n_plaquettes=10**6) == pytest.approx(i1(beta) / i0(beta), rel=1e-12)
    beta = 1e-3
    assert exact_average_plaquette(beta) == pytest.approx(beta / 2 - beta**3 / 16, rel=1e-9)
    # on a 2 x 2 torus the constraint is strong: Metropolis agrees with the finite-volume value, not with I1/I0
    _, info = metropolis(jax.random.key(20), jnp.zeros((2, 2, 2)), beta=2.0, n_sweeps=20000)
    bins = np.asarray(info.plaquette[500:]).reshape(50, -1).mean(axis=1)
    mean, error = bins.mean(), bins.std(ddof=1) / np.sqrt(len(bins))
    assert abs(mean - exact_average_plaquette(2.0, n_plaquettes=4)) < 4 * error, (mean, error)
    assert abs(mean - exact_average_plaquette(2.0)) > 20 * error
    with pytest.raises(ValueError, match="n_plaquettes must be an integer >= 1"):
        exact_average_plaquette(1.0, n_plaquettes=0)
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        exact_average_plaquette(0.0)


def test_axial_gauge_sets_links_to_zero_and_keeps_every_loop():
    from physml_helpers.gauge import axial_gauge, wilson_loop_angles

    theta = _random_links(jax.random.key(21), 6)
    fixed = axial_gauge(theta)
    np.testing.assert_allclose(fixed[1, :, :-1], 0.0, atol=1e-14)
    for size in (1, 2):
        np.testing.assert_allclose(jnp.cos(wilson_loop_angles(fixed, size)), jnp.cos(wilson_loop_angles(theta, size)),
                                   atol=1e-12)
    # the last column keeps each line's holonomy around the periodic direction
    np.testing.assert_allclose(fixed[1, :, -1], theta[1].sum(axis=1), atol=1e-12)


def test_the_lcnn_represents_the_two_by_two_loop_exactly():
    from physml_helpers.gauge import _OFFSETS, init_lcnn, lcnn_apply, wilson_loop_angles

    params = jax.tree_util.tree_map(jnp.zeros_like, init_lcnn(jax.random.key(0), (4, 2, 1)))
    for channel, offset in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):   # the four plaquettes of the loop
        params["conv"] = params["conv"].at[0, channel, 0, _OFFSETS.index(offset)].set(1.0)
    params["bilinear"][0] = params["bilinear"][0].at[0, 0, 0, 1].set(1.0).at[0, 1, 2, 3].set(1.0)
    params["bilinear"][1] = params["bilinear"][1].at[0, 0, 0, 1].set(1.0)
    params["readout"] = params["readout"].at[0].set(1.0)
    theta = _random_links(jax.random.key(22), 6)
    np.testing.assert_allclose(lcnn_apply(params, theta), jnp.cos(wilson_loop_angles(theta, 2)), atol=1e-12)


def test_network_initializers_check_their_inputs():
    from physml_helpers.gauge import cnn_apply, init_cnn, init_lcnn

    small = init_cnn(jax.random.key(0), 8, 1, kernel=2)
    assert [w.shape for w, _ in small] == [(8, 4, 4), (1, 8, 4)]
    assert cnn_apply(small, _random_links(jax.random.key(1), 4)).shape == (4, 4)
    with pytest.raises(ValueError, match="kernel must be 2 or 3"):
        init_cnn(jax.random.key(0), kernel=5)
    with pytest.raises(ValueError, match="channels must be a non-empty sequence"):
        init_lcnn(jax.random.key(0), 4)
    with pytest.raises(ValueError, match="channels must be an integer >= 1"):
        init_lcnn(jax.random.key(0), (4, 0))


def test_axial_gauge_and_sampling_reject_bad_input():
    from physml_helpers.gauge import axial_gauge, sample_configurations

    with pytest.raises(ValueError, match="theta must have shape \\[2, L, L\\]"):
        axial_gauge(jnp.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="n_sweeps must be an integer >= 1"):
        sample_configurations(jax.random.key(0), 2, size=4, beta=1.0, n_sweeps=0)
    with pytest.raises(ValueError, match="step_size must be a finite number > 0"):
        metropolis(jax.random.key(0), jnp.zeros((2, 4, 4)), beta=1.0, n_sweeps=2, step_size=0.0)


def test_wilson_loops_that_would_wrap_around_the_torus_are_refused():
    from physml_helpers.gauge import wilson_loop_angles

    theta = _random_links(jax.random.key(23), 4)
    assert wilson_loop_angles(theta, 3).shape == (4, 4)
    for size in (4, 5):
        with pytest.raises(ValueError, match="size must be smaller than the lattice size L = 4"):
            wilson_loop_angles(theta, size)


def test_float32_links_and_parameters_give_float32_outputs_under_x64():
    from physml_helpers.gauge import (
        axial_gauge, cnn_apply, init_cnn, init_lcnn, lcnn_apply, wilson_loop_angles,
    )

    theta64 = _random_links(jax.random.key(24), 6)
    theta = theta64.astype(jnp.float32)
    alpha = jax.random.uniform(jax.random.key(25), (6, 6), minval=-np.pi, maxval=np.pi)  # float64: follows theta
    for out in (plaquette_angles(theta), gauge_transform(theta, alpha), average_plaquette(theta),
                wilson_loop_angles(theta, 2), axial_gauge(theta)):
        assert out.dtype == jnp.float32
    lcnn = init_lcnn(jax.random.key(26), (4, 4, 2), dtype=jnp.float32)
    cnn = init_cnn(jax.random.key(27), 8, 1, kernel=2, dtype=jnp.float32)
    for params in (lcnn, cnn):
        assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(params)} == {jnp.dtype(jnp.float32)}
    out = lcnn_apply(lcnn, theta)
    assert out.dtype == jnp.float32 and jax.jit(lcnn_apply)(lcnn, theta).dtype == jnp.float32
    assert cnn_apply(cnn, theta).dtype == jnp.float32
    # gauge invariance holds to float32 rounding, and the float32 network agrees with its float64 copy
    gauged = gauge_transform(theta, alpha)
    assert float(jnp.abs(lcnn_apply(lcnn, gauged) - out).max()) < 1e-4 * max(float(jnp.abs(out).max()), 1.0)
    lcnn64 = jax.tree_util.tree_map(lambda p: p.astype(jnp.float64), lcnn)
    np.testing.assert_allclose(out, lcnn_apply(lcnn64, theta.astype(jnp.float64)), rtol=1e-4, atol=1e-5)
    # a float32 network is not silently run in float64 on float64 links
    with pytest.raises(TypeError, match="parameters have dtype float32 but theta has dtype float64"):
        lcnn_apply(lcnn, theta64)
    with pytest.raises(TypeError, match="init_cnn"):
        cnn_apply(cnn, theta64)
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        init_lcnn(jax.random.key(0), dtype=jnp.int32)


def test_network_initializers_check_their_keys():
    from physml_helpers.gauge import init_cnn, init_lcnn

    with pytest.raises(TypeError, match="key must be a JAX random key"):
        init_lcnn(0)
    with pytest.raises(TypeError, match="raw uint32 array"):
        init_cnn(jax.random.PRNGKey(0))


def test_metropolis_kernel_steps_are_the_sweeps_of_the_run():
    from physml_helpers.gauge import metropolis_kernel

    key = jax.random.key(30)
    theta0 = _random_links(jax.random.key(31), 4)
    state_run, info_run = metropolis(key, theta0, beta=1.5, n_sweeps=3)
    init, step = metropolis_kernel(beta=1.5)
    state = init(theta0)
    for i, k in enumerate(jax.random.split(key, 3)):  # sweep i gets split(key, n_sweeps)[i]
        state, info = step(k, state)
        assert float(info.plaquette) == pytest.approx(float(average_plaquette(state.theta)), abs=1e-14)
        assert float(info.acceptance) == pytest.approx(float(info_run.acceptance[i]), abs=1e-14)
    np.testing.assert_allclose(state.theta, state_run.theta, atol=1e-14)
    with pytest.raises(ValueError, match="must be even"):
        init(jnp.zeros((2, 5, 5)))


def test_a_new_coupling_compiles_nothing():
    from compilation import assert_compiles_once

    from physml_helpers.gauge import sample_configurations

    cold, hot = jnp.zeros((2, 4, 4)), _random_links(jax.random.key(32), 4)
    assert_compiles_once(lambda: metropolis(jax.random.key(0), cold, beta=1.0, n_sweeps=5),
                         second=lambda: metropolis(jax.random.key(1), hot, beta=2.5, n_sweeps=5, step_size=0.7))
    assert_compiles_once(lambda: sample_configurations(jax.random.key(0), 3, size=4, beta=1.0, n_sweeps=5),
                         second=lambda: sample_configurations(jax.random.key(1), 3, size=4, beta=3.0, n_sweeps=5))
    state, info = metropolis(jax.random.key(2), hot.astype(jnp.float32), beta=1.0, n_sweeps=2)
    assert state.theta.dtype == info.plaquette.dtype == info.acceptance.dtype == jnp.float32


# --- plaquette-input CNN, autocorrelation time, SU(2) ----------------------------------------------------

from physml_helpers.gauge import (  # noqa: E402
    cnn_apply, init_cnn, integrated_autocorrelation_time, random_su2, su2_gauge_transform, su2_wilson_loop,
    wilson_loop_angles,
)


def test_the_plaquette_cnn_sees_only_plaquettes():
    theta = _random_links(jax.random.key(30), 6)
    alpha = jax.random.uniform(jax.random.key(31), (6, 6), minval=-np.pi, maxval=np.pi)
    params = init_cnn(jax.random.key(32), hidden=5, depth=2, kernel=2, inputs="plaquettes")
    assert params[0][0].shape == (5, 2, 4)
    np.testing.assert_allclose(cnn_apply(params, gauge_transform(theta, alpha)), cnn_apply(params, theta), atol=1e-12)
    # one linear layer on (cos, sin) of the plaquette at x alone is a*cos(theta_P) + b*sin(theta_P) + c
    w = jnp.zeros((1, 2, 4)).at[0, 0, 0].set(0.7).at[0, 1, 0].set(-0.2)
    p = plaquette_angles(theta)
    np.testing.assert_allclose(cnn_apply([(w, jnp.array([0.1]))], theta), 0.7 * jnp.cos(p) - 0.2 * jnp.sin(p) + 0.1,
                               atol=1e-14)
    links = init_cnn(jax.random.key(32), hidden=5, depth=2, kernel=2)
    assert float(jnp.abs(cnn_apply(links, gauge_transform(theta, alpha)) - cnn_apply(links, theta)).max()) > 1e-2
    with pytest.raises(ValueError, match="inputs"):
        init_cnn(jax.random.key(0), inputs="loops")
    with pytest.raises(ValueError, match="4 or 2"):
        cnn_apply([(jnp.zeros((1, 3, 4)), jnp.zeros(1))], theta)


def test_autocorrelation_time_matches_the_definition_and_ar1():
    rng = np.random.default_rng(0)
    # exact: the returned tau is 1/2 + sum_{t=1}^{W} rho(t), computed here by direct sums
    x = np.cumsum(rng.normal(size=300)) * 0.05 + rng.normal(size=300)
    result = integrated_autocorrelation_time(x, c=5.0)
    d = x - x.mean()
    rho = [np.dot(d[: d.size - t], d[t:]) / np.dot(d, d) for t in range(1, result.window + 1)]
    assert result.converged and result.tau == pytest.approx(0.5 + sum(rho), rel=1e-10)
    assert result.window >= 5.0 * result.tau
    # AR(1) with coefficient phi: tau = (1 + phi) / (2 (1 - phi)); Sokal's error ~ tau sqrt(2 (2W + 1) / N)
    for phi in (0.0, 0.8):
        n = 100_000
        noise = rng.normal(size=n)
        y = np.empty(n)
        y[0] = noise[0]
        for i in range(1, n):
            y[i] = phi * y[i - 1] + noise[i]
        got = integrated_autocorrelation_time(y)
        exact = (1 + phi) / (2 * (1 - phi))
        sigma = exact * np.sqrt(2 * (2 * got.window + 1) / n)
        assert abs(got.tau - exact) < 4 * sigma + 0.1 * exact * phi**got.window, (phi, got, exact)
    # a series much shorter than its correlations is flagged, not trusted
    assert not integrated_autocorrelation_time(np.sin(np.arange(40) / 40)).converged


def test_autocorrelation_time_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        integrated_autocorrelation_time(np.zeros((30, 2)))
    with pytest.raises(ValueError, match="at least 20"):
        integrated_autocorrelation_time(np.arange(10.0))
    with pytest.raises(ValueError, match="constant"):
        integrated_autocorrelation_time(np.ones(50))
    with pytest.raises(ValueError, match="finite"):
        integrated_autocorrelation_time(np.r_[np.arange(30.0), np.nan])
    with pytest.raises(ValueError, match="c must"):
        integrated_autocorrelation_time(np.arange(30.0), c=0.0)
    with pytest.raises(TypeError, match="real"):
        integrated_autocorrelation_time(np.arange(30.0) + 1j)


def _dag(m):
    return np.conj(np.swapaxes(m, -1, -2))


def test_random_su2_is_special_unitary_and_haar_centred():
    u = np.asarray(random_su2(jax.random.key(40), (20000,)))
    assert u.shape == (20000, 2, 2) and u.dtype == np.complex128
    np.testing.assert_allclose(u @ _dag(u), np.broadcast_to(np.eye(2), u.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(u), 1.0, atol=1e-12)
    # Haar measure: E[U] = 0 and E[|U_00|^2] = 1/2, each entry with standard deviation below 1/sqrt(N)
    assert np.abs(u.mean(axis=0)).max() < 4 / np.sqrt(u.shape[0])
    assert abs(np.mean(np.abs(u[:, 0, 0]) ** 2) - 0.5) < 4 * 0.3 / np.sqrt(u.shape[0])
    with pytest.raises(TypeError, match="tuple"):
        random_su2(jax.random.key(0), 3)
    with pytest.raises(ValueError, match="shape"):
        random_su2(jax.random.key(0), (0,))


def test_su2_wilson_loops_are_ordered_products_and_covariant():
    L = 4
    links = random_su2(jax.random.key(41), (2, L, L))
    omega = random_su2(jax.random.key(42), (L, L))
    u = np.asarray(links)
    plaquette = np.asarray(su2_wilson_loop(links, 1))
    for x0, x1 in ((0, 0), (3, 2)):
        want = (u[0, x0, x1] @ u[1, (x0 + 1) % L, x1] @ _dag(u[0, x0, (x1 + 1) % L]) @ _dag(u[1, x0, x1]))
        np.testing.assert_allclose(plaquette[x0, x1], want, atol=1e-13)
    gauged = su2_gauge_transform(links, omega)
    o = np.asarray(omega)
    np.testing.assert_allclose(np.asarray(gauged)[0, 1, 2], o[1, 2] @ u[0, 1, 2] @ _dag(o[2, 2]), atol=1e-13)
    for size in (1, 2, 3):
        w, w_gauged = np.asarray(su2_wilson_loop(links, size)), np.asarray(su2_wilson_loop(gauged, size))
        np.testing.assert_allclose(w_gauged, o @ w @ _dag(o), atol=1e-12)
    # abelian embedding diag(e^{i theta}, e^{-i theta}): tr W_R = 2 cos(theta_R) of the U(1) loop
    theta = _random_links(jax.random.key(43), L)
    diag = jnp.zeros((2, L, L, 2, 2), jnp.complex128).at[..., 0, 0].set(
        jax.lax.complex(jnp.cos(theta), jnp.sin(theta))).at[..., 1, 1].set(jax.lax.complex(jnp.cos(theta), -jnp.sin(theta)))
    for size in (1, 2):
        trace = np.trace(np.asarray(su2_wilson_loop(diag, size)), axis1=-2, axis2=-1)
        np.testing.assert_allclose(trace, 2 * np.cos(np.asarray(wilson_loop_angles(theta, size))), atol=1e-12)


def test_su2_helpers_reject_bad_input():
    links = random_su2(jax.random.key(0), (2, 4, 4))
    with pytest.raises(TypeError, match="complex"):
        su2_wilson_loop(jnp.zeros((2, 4, 4, 2, 2)), 1)
    with pytest.raises(ValueError, match="shape"):
        su2_wilson_loop(links[:, :3], 1)
    with pytest.raises(ValueError, match="smaller than"):
        su2_wilson_loop(links, 4)
    with pytest.raises(ValueError, match="omega must have shape"):
        su2_gauge_transform(links, random_su2(jax.random.key(1), (3, 3)))
    with pytest.raises(TypeError, match="omega"):
        su2_gauge_transform(links, np.zeros((4, 4, 2, 2)))
    with pytest.raises(ValueError, match="finite"):
        su2_wilson_loop(links.at[0, 0, 0, 0, 0].set(jnp.nan), 1)

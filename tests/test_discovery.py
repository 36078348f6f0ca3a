"""Law-discovery helpers against exact results: exact power laws, exact dynamics, constructed null spaces."""

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import t as student_t

from physml_helpers.discovery import (
    null_space, polynomial_library, power_law_fit, sindy, sparse_null_basis, sparsest_null_vector,
)


def test_power_law_fit_is_exact_on_exact_data():
    x = np.array([0.4, 0.7, 1.0, 1.5, 5.2, 9.5, 19.2, 30.1])
    exponent, prefactor = power_law_fit(x, 3.0 * x**1.7)
    assert exponent == pytest.approx(1.7, abs=1e-13) and prefactor == pytest.approx(3.0, rel=1e-13)
    fit = power_law_fit(x, 3.0 * x**1.7, errors=True)
    assert fit.exponent_error < 1e-12 and fit[:2] == pytest.approx((1.7, 3.0))


def test_power_law_error_bars_have_student_t_coverage():
    """With Gaussian noise on ln y, (n_hat - n) / sigma_hat follows Student's t with N - 2 degrees of freedom."""
    rng = np.random.default_rng(0)
    x = np.geomspace(0.4, 30, 8)
    trials = 4000
    inside = 0
    for _ in range(trials):
        y = 2.0 * x**1.5 * np.exp(0.05 * rng.normal(size=x.size))
        fit = power_law_fit(x, y, errors=True)
        inside += abs(fit.exponent - 1.5) < fit.exponent_error
    expected = student_t.cdf(1, df=6) - student_t.cdf(-1, df=6)  # 0.644
    assert abs(inside / trials - expected) < 4 * np.sqrt(expected * (1 - expected) / trials)


def test_polynomial_library_terms_and_values():
    x = np.array([[2.0, 3.0], [-1.0, 0.5]])
    theta, terms = polynomial_library(x, 2, names=["x", "y"])
    assert terms == ["1", "x", "y", "x^2", "x y", "y^2"]
    np.testing.assert_allclose(theta[0], [1, 2, 3, 4, 6, 9])
    assert polynomial_library(np.ones((4, 3)), 3)[0].shape == (4, 20)  # binomial(3 + 3, 3) monomials


def test_sindy_recovers_exact_linear_and_lorenz_dynamics():
    rng = np.random.default_rng(1)
    # damped oscillator x' = v, v' = -4 x - 0.3 v, sampled states with exact derivatives
    states = rng.normal(size=(200, 2))
    x_dot = np.column_stack([states[:, 1], -4 * states[:, 0] - 0.3 * states[:, 1]])
    theta, terms = polynomial_library(states, 3, names=["x", "v"])
    xi = sindy(theta, x_dot, threshold=0.05)
    want = np.zeros_like(xi)
    want[terms.index("v"), 0] = 1.0
    want[terms.index("x"), 1], want[terms.index("v"), 1] = -4.0, -0.3
    np.testing.assert_allclose(xi, want, atol=1e-10)
    # Lorenz system with sigma = 10, rho = 28, beta = 8/3
    s = rng.normal(scale=10, size=(500, 3))
    x, y, z = s.T
    x_dot = np.column_stack([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z])
    theta, terms = polynomial_library(s, 2, names=["x", "y", "z"])
    xi = sindy(theta, x_dot, threshold=0.1)
    assert np.count_nonzero(xi) == 7
    assert xi[terms.index("x z"), 1] == pytest.approx(-1.0, abs=1e-10)
    assert xi[terms.index("z"), 2] == pytest.approx(-8 / 3, abs=1e-10)


def test_null_space_matches_scipy_and_is_orthonormal():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(30, 4)) @ rng.normal(size=(4, 7))  # rank 4, nullity 3
    rows = null_space(A)
    assert rows.shape == (3, 7)
    np.testing.assert_allclose(rows @ rows.T, np.eye(3), atol=1e-12)
    assert np.max(np.abs(A @ rows.T)) < 1e-10
    reference = scipy.linalg.null_space(A)
    np.testing.assert_allclose(rows.T @ rows, reference @ reference.T, atol=1e-10)  # the same subspace
    assert null_space(rng.normal(size=(10, 3))).shape == (0, 3)


def collisions(rng, n, elastic, m1=1.0, m2=2.5):
    """Changes of [p1, p2, K1, K2] in 1-D collisions of two particles (restitution 1 or 0.5)."""
    e = 1.0 if elastic else 0.5
    u1, u2 = rng.normal(size=n), rng.normal(size=n)
    v1 = (m1 * u1 + m2 * u2 + m2 * e * (u2 - u1)) / (m1 + m2)
    v2 = (m1 * u1 + m2 * u2 + m1 * e * (u1 - u2)) / (m1 + m2)
    before = np.column_stack([m1 * u1, m2 * u2, m1 * u1**2 / 2, m2 * u2**2 / 2])
    after = np.column_stack([m1 * v1, m2 * v2, m1 * v1**2 / 2, m2 * v2**2 / 2])
    return after - before


def test_conservation_laws_of_collisions():
    rng = np.random.default_rng(3)
    elastic = collisions(rng, 50, True)
    assert null_space(elastic).shape[0] == 2  # momentum and energy
    c = sparsest_null_vector(elastic)
    np.testing.assert_allclose(c, [1, 1, 0, 0], atol=1e-10)  # total momentum (first of the two 2-term laws)
    inelastic = collisions(rng, 50, False)
    assert null_space(inelastic).shape[0] == 1
    np.testing.assert_allclose(sparsest_null_vector(inelastic), [1, 1, 0, 0], atol=1e-10)


def test_sparsest_null_vector_prefers_fewer_terms_and_scales_to_one():
    # null space spanned by (1, 1, 1, 0) and (0, 2, 0, -1): the sparsest member is a two-term vector
    basis = np.array([[1.0, 1, 1, 0], [0, 2, 0, -1]])
    A = scipy.linalg.null_space(basis).T  # rows orthogonal to both
    c = sparsest_null_vector(A)
    assert np.count_nonzero(np.abs(c) > 1e-10) == 2 and np.max(np.abs(c)) == pytest.approx(1.0)
    assert np.max(np.abs(A @ c)) < 1e-10
    with pytest.raises(ValueError, match="trivial null vector"):
        sparsest_null_vector(np.eye(3))


def test_sparse_null_basis_on_a_designed_null_space():
    # span{(1, 1, 1, 0), (0, 2, 0, -1)}: the sparsest member has support {1, 3}, the next independent one
    # with the smallest support is (1, 1, 1, 0) on {0, 1, 2}
    A = scipy.linalg.null_space(np.array([[1.0, 1, 1, 0], [0, 2, 0, -1]])).T
    basis = sparse_null_basis(A)
    np.testing.assert_allclose(basis, [[0, 1, 0, -0.5], [1, 1, 1, 0]], atol=1e-10)
    assert sparse_null_basis(np.eye(3)).shape == (0, 3)


def test_sparse_null_basis_finds_momentum_and_energy_in_elastic_collisions():
    # 1-D elastic collisions, exact: v1' = ((m1 - m2) v1 + 2 m2 v2) / (m1 + m2), and symmetrically
    rng = np.random.default_rng(3)
    m1, m2, v1, v2 = rng.uniform(0.5, 2.0, (4, 50))
    w1 = ((m1 - m2) * v1 + 2 * m2 * v2) / (m1 + m2)
    w2 = ((m2 - m1) * v2 + 2 * m1 * v1) / (m1 + m2)
    features = lambda a, b: np.stack([m1 * a, m2 * b, m1 * a**2 / 2, m2 * b**2 / 2, a, b], axis=1)
    A = features(w1, w2) - features(v1, v2)
    basis = sparse_null_basis(A)
    np.testing.assert_allclose(basis, [[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0]], atol=1e-10)
    # perfectly inelastic: both move with the centre-of-mass velocity; only momentum survives
    u = (m1 * v1 + m2 * v2) / (m1 + m2)
    np.testing.assert_allclose(sparse_null_basis(features(u, u) - features(v1, v2)), [[1, 1, 0, 0, 0, 0]], atol=1e-10)


def test_sparse_null_basis_with_noise_skips_supersets_and_finds_constant_features():
    import jax

    from physml_helpers.discovery import collision_features, simulate_collisions

    m, before, after = simulate_collisions(jax.random.key(1), 300, restitution=0.5, noise=1e-3)
    A = collision_features(m, after) - collision_features(m, before)
    A = np.column_stack([A, 1e-3 * np.asarray(jax.random.normal(jax.random.key(2), (300,)))])  # a feature that never changes
    basis = sparse_null_basis(A, rtol=1e-2)
    expected = np.zeros((3, 9))
    expected[0, 8] = expected[1, [0, 1]] = expected[2, [2, 3]] = 1.0
    np.testing.assert_allclose(basis, expected, atol=1e-2)  # velocity noise 1e-3: coefficients within 1e-2
    assert sparsest_null_vector(A, rtol=1e-2) == pytest.approx(expected[0], abs=1e-2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="positive"):
        power_law_fit([1, 2, 3], [1, -2, 3])
    with pytest.raises(ValueError, match="same length"):
        power_law_fit([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 3 points"):
        power_law_fit([1, 2], [1, 2])
    with pytest.raises(TypeError, match="x must be a concrete array of real numbers, got str"):
        power_law_fit("abc", [1, 2, 3])
    with pytest.raises(ValueError, match="degree"):
        polynomial_library(np.ones((3, 2)), 0)
    with pytest.raises(ValueError, match="threshold"):
        sindy(np.ones((3, 2)), np.ones((3, 1)), threshold=-1.0)
    with pytest.raises(ValueError, match="same number of samples"):
        sindy(np.ones((3, 2)), np.ones((4, 1)), threshold=0.1)
    with pytest.raises(ValueError, match="A must be a 2-D array"):
        null_space(np.ones(3))
    with pytest.raises(ValueError, match="rtol"):
        null_space(np.ones((2, 2)), rtol=2.0)


def test_shipped_planet_data_obey_keplers_third_law():
    from physml_helpers.discovery import load_planets

    planets = load_planets()
    assert planets["planet"] == ["Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]
    assert planets["a_au"][2] == pytest.approx(1.0, abs=1e-5) and planets["period_days"][2] == pytest.approx(365.256)
    fit = power_law_fit(planets["a_au"], planets["period_days"], errors=True)
    # 95% two-sided interval of Student's t with 8 - 2 degrees of freedom
    assert abs(fit.exponent - 1.5) < student_t.ppf(0.975, df=6) * fit.exponent_error
    assert fit.prefactor == pytest.approx(365.25, rel=1e-3)  # days per year: a in AU, P in days


def test_symbolic_search_rediscovers_kepler_and_the_pendulum():
    from physml_helpers.discovery import load_planets, pareto_front, symbolic_search

    planets = load_planets()
    front = pareto_front(symbolic_search({"a": planets["a_au"]}, planets["period_days"], max_complexity=6))
    assert [e.complexity for e in front] == sorted({e.complexity for e in front})
    assert all(b.error < a.error for a, b in zip(front, front[1:]))
    knee = next(e for e in front if e.error < 1e-3)
    assert knee.formula.endswith("a^1.5") and knee.complexity == 4
    rng = np.random.default_rng(4)
    length, gravity = rng.uniform(0.2, 2.0, 30), rng.uniform(1.0, 20.0, 30)
    period = 2 * np.pi * np.sqrt(length / gravity)
    best = pareto_front(symbolic_search({"L": length, "g": gravity}, period, max_complexity=7))[-1]
    assert best.formula.endswith("L^0.5 g^(-0.5)") and best.error < 1e-12
    assert best.constants[0] == pytest.approx(2 * np.pi, rel=1e-12)


def test_symbolic_search_bad_inputs():
    from physml_helpers.discovery import symbolic_search

    with pytest.raises(TypeError, match="variables must be a non-empty dict"):
        symbolic_search([1, 2], [1, 2])
    with pytest.raises(ValueError, match="non-zero"):
        symbolic_search({"x": [1.0, 2.0]}, [0.0, 1.0])
    with pytest.raises(ValueError, match="shape of y"):
        symbolic_search({"x": [1.0, 2.0, 3.0]}, [1.0, 2.0])
    with pytest.raises(ValueError, match="unary"):
        symbolic_search({"x": [1.0, 2.0]}, [1.0, 2.0], unary=("tanh",))
    with pytest.raises(ValueError, match="max_complexity"):
        symbolic_search({"x": [1.0, 2.0]}, [1.0, 2.0], max_complexity=1)


def test_simulated_collisions_conserve_momentum_and_lose_the_predicted_energy():
    import jax

    from physml_helpers.discovery import collision_features, simulate_collisions

    for e in (1.0, 0.6, 0.0):
        m, before, after = simulate_collisions(jax.random.key(0), 100, restitution=e)
        momentum = lambda v: np.einsum("nk,nkc->nc", m, v)
        np.testing.assert_allclose(momentum(after), momentum(before), rtol=0, atol=1e-12)
        # the relative normal velocity: its component along the impulse direction flips and shrinks by e
        d_rel_before, d_rel_after = before[:, 0] - before[:, 1], after[:, 0] - after[:, 1]
        normal = (after[:, 1] - before[:, 1]) / np.linalg.norm(after[:, 1] - before[:, 1], axis=1, keepdims=True)
        u_before = np.einsum("nc,nc->n", d_rel_before, normal)
        u_after = np.einsum("nc,nc->n", d_rel_after, normal)
        assert np.all(u_before > 0)  # the disks approach before the collision
        np.testing.assert_allclose(u_after, -e * u_before, rtol=1e-10, atol=1e-12)
        mu = m[:, 0] * m[:, 1] / m.sum(axis=1)
        f_before, f_after = collision_features(m, before), collision_features(m, after)
        loss = (f_before[:, 4] + f_before[:, 5]) - (f_after[:, 4] + f_after[:, 5])
        np.testing.assert_allclose(loss, 0.5 * mu * (1 - e**2) * u_before**2, rtol=1e-10, atol=1e-12)
    m, clean_b, clean_a = simulate_collisions(jax.random.key(0), 100, restitution=1.0)
    _, noisy_b, _ = simulate_collisions(jax.random.key(0), 100, restitution=1.0, noise=0.01)
    assert 0.005 < np.std(noisy_b - clean_b) < 0.015
    with pytest.raises(ValueError, match="restitution must lie in"):
        simulate_collisions(jax.random.key(0), 3, restitution=1.5)
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        simulate_collisions(3, 3, restitution=1.0)


def _sindy_two_round_problem():
    """A library whose first refit still removes a term: y = a + 0.5 b - 0.45 c with c = b + 0.1 e.

    Full least squares gives (1, 0.5, -0.45), so threshold 0.46 removes c; refitting on {a, b} gives b the
    coefficient 0.05 (the part of y along b once c is gone), which round 1 removes; round 2 refits on {a}
    and changes nothing. So the support settles only in round 2.
    """
    e = np.eye(6)
    a, b, c = e[:, 0], e[:, 1], e[:, 1] + 0.1 * e[:, 2]
    theta = np.column_stack([a, b, c])
    y = (a + 0.5 * b - 0.45 * c)[:, None]
    return theta, y


def test_sindy_raises_convergence_error_when_the_support_is_still_changing():
    import physml_helpers

    theta, y = _sindy_two_round_problem()
    with pytest.raises(physml_helpers.ConvergenceError, match=r"still changing after max_iter = 1 .*raise max_iter.*threshold"):
        sindy(theta, y, threshold=0.46, max_iter=1)
    assert issubclass(physml_helpers.ConvergenceError, RuntimeError)
    # one more round lets it confirm the support {a}: the exact coefficient 1, the rest exactly zero
    np.testing.assert_allclose(sindy(theta, y, threshold=0.46, max_iter=2), [[1.0], [0.0], [0.0]], atol=1e-14)
    np.testing.assert_array_equal(sindy(theta, y, threshold=0.46, max_iter=2)[1:], 0.0)
    np.testing.assert_array_equal(sindy(theta, y, threshold=0.46), sindy(theta, y, threshold=0.46, max_iter=2))


def test_sindy_converges_in_one_round_on_an_easy_case():
    # orthonormal library, exact sparse truth: the first refit keeps exactly the thresholded support
    q, _ = np.linalg.qr(np.random.default_rng(5).normal(size=(40, 5)))
    truth = np.array([[2.0, 0.0], [0.0, -1.0], [0.0, 0.0], [0.5, 0.0], [0.0, 0.0]])
    xi = sindy(q, q @ truth, threshold=0.1, max_iter=1)
    np.testing.assert_allclose(xi, truth, atol=1e-12)
    np.testing.assert_array_equal(xi != 0, truth != 0)


def test_bad_input_kinds_and_values_use_the_shared_checks():
    from physml_helpers.discovery import Expression, collision_features, pareto_front, symbolic_search

    with pytest.raises(TypeError, match="theta must be a concrete array of real numbers"):
        sindy("abc", np.ones((3, 1)), threshold=0.1)
    with pytest.raises(TypeError, match="x_dot must hold real numbers"):
        sindy(np.ones((3, 2)), np.ones((3, 1)) * 1j, threshold=0.1)
    with pytest.raises(ValueError, match="theta must contain only finite numbers"):
        sindy(np.full((3, 2), np.nan), np.ones((3, 1)), threshold=0.1)
    with pytest.raises(TypeError, match="max_iter must be an integer"):
        sindy(np.ones((3, 2)), np.ones((3, 1)), threshold=0.1, max_iter=2.5)
    with pytest.raises(ValueError, match="max_iter must be an integer >= 1"):
        sindy(np.ones((3, 2)), np.ones((3, 1)), threshold=0.1, max_iter=0)
    with pytest.raises(ValueError, match="A must not be empty"):
        null_space(np.ones((0, 3)))
    masses, velocities = np.ones((4, 2)), np.ones((4, 2, 2))
    with pytest.raises(ValueError, match="velocities must contain only finite numbers"):
        collision_features(masses, np.where(velocities > 0, np.inf, 0.0))
    with pytest.raises(ValueError, match="velocities must be a 3-D array"):
        collision_features(masses, np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"masses must be \[n, 2\] and velocities \[n, 2, 2\]"):
        collision_features(masses, np.ones((3, 2, 2)))
    with pytest.raises(TypeError, match="y must hold real numbers"):
        symbolic_search({"x": [1.0, 2.0]}, [1.0 + 1j, 2.0])
    with pytest.raises(TypeError, match="unary must be a sequence of names"):
        symbolic_search({"x": [1.0, 2.0]}, [1.0, 2.0], unary="exp")
    with pytest.raises(TypeError, match="exponents must be"):
        symbolic_search({"x": [1.0, 2.0]}, [1.0, 2.0], exponents=["half"])
    with pytest.raises(TypeError, match="expressions must be an iterable"):
        pareto_front(3)
    with pytest.raises(TypeError, match=r"expressions\[1\] must be an Expression"):
        pareto_front([Expression("1 * x", 3, 0.1, (1.0,)), (3, 0.1)])
    assert pareto_front([]) == []


def test_fits_are_float64_whatever_the_input_dtype():
    x = np.linspace(1.0, 2.0, 10, dtype=np.float32)
    theta, _ = polynomial_library(x[:, None], 2)
    assert theta.dtype == np.float64
    assert sindy(theta, (2 * x)[:, None], threshold=0.1).dtype == np.float64
    assert null_space(np.ones((3, 2), np.float32)).dtype == np.float64


def test_shipped_jpl_periods_are_consistent_with_the_absolute_kepler_law():
    """P = 360 deg / L' from Standish's table: Earth's is the sidereal year, and the terrestrial planets obey
    P = 2 pi a^(3/2) / (k sqrt(1 + m/M)) with Gauss's constant k to within 25 ppm."""
    from physml_helpers.discovery import load_planets

    planets = load_planets()
    assert planets["period_jpl_days"][2] == pytest.approx(365.25636, abs=2e-5)  # sidereal year, days
    k = 0.01720209895
    model = 2 * np.pi / k * planets["a_au"] ** 1.5 / np.sqrt(1 + 1 / planets["sun_mass_ratio"])
    residual = np.log(planets["period_jpl_days"] / model)
    assert np.all(np.abs(residual[:4]) < 25e-6)
    assert residual[7] < -300e-6  # Neptune orbits the Sun plus the planets inside: shorter period


def test_power_law_search_recovers_exact_and_noisy_laws():
    import jax

    from physml_helpers.discovery import power_law_search

    x = np.geomspace(0.3, 30, 12)
    best = power_law_search({"x": x}, 3.0 * x**1.7)[0]
    assert best.variables == ("x",) and best.exponents[0] == pytest.approx(1.7, abs=1e-9)
    assert best.constants[0] == pytest.approx(3.0, rel=1e-9) and best.rss < 1e-20
    # two variables, one of them irrelevant, and an offset
    rng = np.random.default_rng(3)
    length, gravity, junk = rng.uniform(0.2, 2.0, (3, 30))
    models = power_law_search({"L": length, "g": gravity, "u": junk}, 2.0 * length**0.5 * gravity**-1.5 + 5.0)
    best = models[0]
    assert set(best.variables) >= {"L", "g"} and len(best.constants) == 2
    exps = dict(zip(best.variables, best.exponents))
    assert exps["L"] == pytest.approx(0.5, abs=1e-6) and exps["g"] == pytest.approx(-1.5, abs=1e-6)
    assert best.constants[1] == pytest.approx(5.0, abs=1e-6)
    # known relative noise: the true model has chi2/dof near 1, its exponent within a few error bars
    noise = 1e-3
    eps = np.asarray(jax.random.normal(jax.random.key(0), (200,)))
    x = np.geomspace(0.5, 5.0, 200)
    models = power_law_search({"x": x}, 2.0 * x**-1.3 * (1 + noise * eps), noise=noise, offset=False)
    best = models[0]
    dof = 200 - best.n_params
    assert abs(best.chi2_per_dof - 1) < 4 * np.sqrt(2 / dof)
    assert abs(best.exponents[0] + 1.3) < 4 * best.exponent_errors[0]
    assert models[-1].variables == () and models[-1].chi2_per_dof > 100  # a constant cannot fit
    with pytest.raises(ValueError, match="y must be positive"):
        power_law_search({"x": x}, -x)
    with pytest.raises(ValueError, match="positive for real powers"):
        power_law_search({"x": x - 1}, x)
    with pytest.raises(TypeError, match="variables"):
        power_law_search([x], x)
    with pytest.raises(ValueError, match="noise"):
        power_law_search({"x": x}, x, noise=-1.0)


def test_largest_lyapunov_exponent_of_linear_flows_and_lorenz():
    import jax.numpy as jnp

    from physml_helpers.discovery import largest_lyapunov_exponent

    # rotation with growth rate 0.3: the norm of any tangent vector grows exactly as exp(0.3 t)
    spiral = jnp.array([[0.3, 1.0], [-1.0, 0.3]])
    lam = largest_lyapunov_exponent(lambda x: spiral @ x, jnp.array([1.0, 0.0]), dt=0.01, n_steps=5000)
    assert float(lam) == pytest.approx(0.3, abs=1e-9)
    # diagonal contraction: |u(T)| = sqrt(e^{-T} + e^{-4T}) / sqrt(2) from u0 = (1, 1)/sqrt(2)
    diag = jnp.array([-0.5, -2.0])
    T = 20.0
    lam = largest_lyapunov_exponent(lambda x: diag * x, jnp.array([1.0, 1.0]), dt=0.01, n_steps=2000)
    exact = np.log(np.sqrt(np.exp(-T) + np.exp(-4 * T)) / np.sqrt(2)) / T
    assert float(lam) == pytest.approx(exact, abs=1e-8)

    def lorenz(s):
        x, y, z = s
        return jnp.array([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z])

    starts = jnp.array([[1.0, 1.0, 20.0], [-5.0, -3.0, 25.0], [2.0, 8.0, 30.0], [-1.0, 2.0, 15.0]] * 4)
    starts = starts + 0.1 * jnp.arange(16.0)[:, None]
    lam = np.asarray(largest_lyapunov_exponent(lorenz, starts, dt=0.01, n_steps=3000, n_transient=500))
    assert lam.shape == (16,)
    # published value 0.9056 (Sprott 2003), within four standard errors of the 16-start mean
    assert abs(lam.mean() - 0.9056) < 4 * lam.std(ddof=1) / np.sqrt(lam.size)
    with pytest.raises(ValueError, match="state's shape"):
        largest_lyapunov_exponent(lambda x: x[:1], jnp.ones(2), dt=0.1, n_steps=3)
    with pytest.raises(ValueError, match="finite"):
        largest_lyapunov_exponent(lambda x: x**3, jnp.array([10.0]), dt=1.0, n_steps=50)
    with pytest.raises(ValueError, match="dt"):
        largest_lyapunov_exponent(lambda x: x, jnp.ones(2), dt=0.0, n_steps=3)


def test_sindy_batch_matches_sindy_draw_by_draw():
    from physml_helpers.discovery import sindy_batch

    rng = np.random.default_rng(5)
    thetas, dots = [], []
    for _ in range(4):
        s = rng.normal(scale=8, size=(400, 3)) + np.array([0, 0, 25.0])
        x, y, z = s.T
        dx = np.column_stack([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z]) + rng.normal(scale=2.0, size=(400, 3))
        thetas.append(polynomial_library(s, 2)[0])
        dots.append(dx)
    xi, converged = sindy_batch(np.stack(thetas), np.stack(dots), threshold=0.5)
    assert xi.shape == (4, 10, 3) and converged.all()
    for b in range(4):
        want = sindy(thetas[b], dots[b], threshold=0.5)
        assert np.array_equal(xi[b] != 0, want != 0)
        np.testing.assert_allclose(xi[b], want, atol=1e-9)
    _, converged = sindy_batch(np.stack(thetas), np.stack(dots), threshold=0.5, max_iter=1)
    assert not converged.all()  # one round cannot settle these supports
    with pytest.raises(ValueError, match="3-D"):
        sindy_batch(thetas[0], dots[0], threshold=0.5)
    with pytest.raises(ValueError, match="must agree"):
        sindy_batch(np.stack(thetas), np.stack(dots)[:, :10], threshold=0.5)

"""physml_helpers.randommatrix against exact results: closed forms for n = 1, 2, Monte Carlo within
binomial error bars, the Dean-Majumdar large-deviation rate, and the semicircle's moments."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.randommatrix import (
    goe_matrices,
    goe_sign_definite_probability,
    semicircle_density,
    sign_definite_count,
)


def test_exact_probability_closed_forms():
    assert goe_sign_definite_probability(1) == pytest.approx(1.0, abs=1e-14)
    # n = 2: P(a > 0, b > 0, ab > c^2) with a, b ~ N(0, 2), c ~ N(0, 1) is (2 - sqrt 2)/4 for each sign.
    assert goe_sign_definite_probability(2) == pytest.approx((2 - math.sqrt(2)) / 2, rel=1e-12)


def test_exact_probability_against_independent_quadrature_n3():
    # A slower, independent route for n = 3: integrate the joint eigenvalue density
    # prod|l_i - l_j| exp(-sum l^2 / 4) over the positive and negative orthants and over R^3, by the
    # midpoint rule on a grid whose cell faces lie on the planes l_i = 0, so every cell lies wholly inside or
    # outside each orthant. The error falls as dx^2 (measured: relative errors 0.015, 0.0074 and 0.0038 at
    # dx = 0.2, 0.14 and 0.1), so dx^2 bounds it at dx = 0.1.
    n_grid, half_width = 280, 14.0
    dx = 2 * half_width / n_grid
    x = (np.arange(n_grid) - n_grid / 2 + 0.5) * dx
    l1, l2, l3 = np.meshgrid(x, x, x, indexing="ij", sparse=True)
    dens = np.abs((l1 - l2) * (l1 - l3) * (l2 - l3)) * np.exp(-(l1**2 + l2**2 + l3**2) / 4)
    pos = (l1 > 0) & (l2 > 0) & (l3 > 0)
    neg = (l1 < 0) & (l2 < 0) & (l3 < 0)
    ratio = dens[pos | neg].sum() / dens.sum()
    assert goe_sign_definite_probability(3) == pytest.approx(ratio, rel=dx**2)
    assert goe_sign_definite_probability(2) != pytest.approx(ratio, rel=dx**2)  # the check tells n apart


@pytest.mark.parametrize("n, n_samples", [(2, 200_000), (3, 400_000), (4, 400_000)])
def test_monte_carlo_agrees_with_exact_within_error_bars(n, n_samples):
    count = sign_definite_count(jax.random.key(n), n, n_samples, chunk=100_000)
    p = goe_sign_definite_probability(n)
    sigma = math.sqrt(p * (1 - p) / n_samples)
    assert abs(count / n_samples - p) < 5 * sigma


def _documented_matrices(key, n, n_samples):
    """The matrices sign_definite_count draws, by its documented recipe: matrix i from fold_in(key, i), its
    n(n+1)/2 entries in triu order, the diagonal times sqrt(2)."""
    rows, cols = np.triu_indices(n)
    z = np.stack([np.asarray(jax.random.normal(jax.random.fold_in(key, i), (len(rows),))) for i in range(n_samples)])
    h = np.zeros((n_samples, n, n))
    h[:, rows, cols] = z * np.where(rows == cols, np.sqrt(2.0), 1.0)
    h[:, cols, rows] = h[:, rows, cols]
    return h


def test_pivot_count_agrees_with_eigenvalues_on_the_same_matrices():
    key = jax.random.key(11)
    h = _documented_matrices(key, 2, 3000)  # n = 2: about 30% sign-definite
    eigs = np.linalg.eigvalsh(h)
    want = int(np.sum((eigs[:, 0] > 0) | (eigs[:, -1] < 0)))
    assert 0 < want < 3000
    assert sign_definite_count(key, 2, 3000, chunk=3000) == want
    # the same matrices whatever the chunk, and the first m are the same whatever n_samples >= m
    assert sign_definite_count(key, 2, 3000, chunk=7) == want
    assert sign_definite_count(key, 2, 1000) == int(np.sum((eigs[:1000, 0] > 0) | (eigs[:1000, -1] < 0)))


def test_documented_matrices_are_goe():
    h = _documented_matrices(jax.random.key(2), 3, 4000)
    np.testing.assert_array_equal(h, np.swapaxes(h, -1, -2))
    assert abs(np.var(h[:, 0, 0]) - 2.0) < 5 * 2.0 * math.sqrt(2 / 4000)
    assert abs(np.var(h[:, 0, 2]) - 1.0) < 5 * 1.0 * math.sqrt(2 / 4000)


def test_count_does_not_depend_on_chunk():
    key = jax.random.key(4)
    counts = {chunk: sign_definite_count(key, 3, 10_000, chunk=chunk) for chunk in (10_000, 2_500, 300, 1)}
    assert len(set(counts.values())) == 1, counts


def test_log_probability_curvature_approaches_dean_majumdar_rate():
    logp = np.log([goe_sign_definite_probability(n) for n in range(1, 11)])
    theta_eff = -np.diff(logp, 2) / 2  # second difference of -ln P / 2 -> theta for large n
    assert np.all(np.diff(theta_eff) > 0)  # monotone approach from below
    assert abs(theta_eff[-1] - math.log(3) / 4) < 1e-3
    # and nowhere near the independent-sign picture ln P = (1 - n) ln 2, whose curvature is 0
    assert theta_eff[0] > 0.25


def test_goe_matrices_shape_symmetry_and_variances():
    h = goe_matrices(jax.random.key(0), 4, 20_000)
    assert h.shape == (20_000, 4, 4) and h.dtype == jnp.float64
    np.testing.assert_array_equal(h, jnp.swapaxes(h, -1, -2))
    diag_var = float(jnp.var(h[:, 0, 0]))
    off_var = float(jnp.var(h[:, 0, 1]))
    # variance of a variance estimate from N normal samples: 2 s^4 / N
    assert abs(diag_var - 2.0) < 5 * 2.0 * math.sqrt(2 / 20_000)
    assert abs(off_var - 1.0) < 5 * 1.0 * math.sqrt(2 / 20_000)
    assert goe_matrices(jax.random.key(0), 2, 3, dtype=jnp.float32).dtype == jnp.float32


def test_semicircle_normalisation_and_second_moment():
    n = 50
    x = np.linspace(-2 * math.sqrt(n), 2 * math.sqrt(n), 200_001)
    rho = np.asarray(semicircle_density(x, n=n))
    assert np.trapezoid(rho, x) == pytest.approx(1.0, abs=1e-6)
    # the semicircle of radius R = 2 sqrt(n) has second moment R^2 / 4 = n
    assert np.trapezoid(x**2 * rho, x) == pytest.approx(n, rel=1e-6)
    assert float(semicircle_density(jnp.array(3 * math.sqrt(n)), n=n)) == 0.0


def test_large_goe_spectrum_matches_semicircle_second_moment():
    n = 400
    eigs = jnp.linalg.eigvalsh(goe_matrices(jax.random.key(5), n, 1)[0])
    # exact for finite n: E[(1/n) tr H^2] = (1/n)(n * 2 + n(n-1) * 1) = n + 1
    assert abs(float(jnp.mean(eigs**2)) - (n + 1)) < 0.05 * n
    assert float(jnp.max(jnp.abs(eigs))) < 2 * math.sqrt(n) * 1.05


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: goe_sign_definite_probability(0), ValueError, "n must be an integer >= 1"),
        (lambda: goe_sign_definite_probability(11), ValueError, "n must be <= 10"),
        (lambda: goe_sign_definite_probability(2.0), TypeError, "integer"),
        (lambda: sign_definite_count(jax.random.key(0), 3, 1000, chunk=0), ValueError, "chunk must be"),
        (lambda: sign_definite_count(jax.random.split(jax.random.key(0), 2), 3, 1000), ValueError, "single key"),
        (lambda: sign_definite_count(0, 3, 1000), TypeError, "key"),
        (lambda: goe_matrices(jax.random.key(0), 3, 0), ValueError, "n_samples"),
        (lambda: goe_matrices(jax.random.key(0), 3, 2, dtype=jnp.int32), TypeError, "floating"),
        (lambda: semicircle_density(1.0, n=0), ValueError, "n must"),
    ],
)
def test_bad_inputs_get_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_float32_in_float32_out_and_no_recompilation():
    from compilation import assert_compiles_once

    assert goe_matrices(jax.random.key(0), 3, 2, dtype=jnp.float32).dtype == jnp.float32
    assert semicircle_density(jnp.linspace(-1, 1, 5, dtype=jnp.float32), n=3).dtype == jnp.float32
    assert_compiles_once(lambda: sign_definite_count(jax.random.key(0), 3, 400, chunk=200),
                         second=lambda: sign_definite_count(jax.random.key(1), 3, 400, chunk=200))

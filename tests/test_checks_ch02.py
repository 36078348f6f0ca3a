"""Chapter 2's checks accept right answers and explain typical wrong ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.course.checks import ch02
from physml_helpers.landscape import classify_critical_point, newton_critical_point, random_fourier_landscape, unique_points
from physml_helpers.randommatrix import goe_matrices

KINDS = {0: "minimum", 1: "saddle", 2: "maximum"}
RIGHT_POINTS = {(x, y): KINDS[(x == 0) + (y == 0)] for x in (-1, 0, 1) for y in (-1, 0, 1)}


def test_critical_points(capsys):
    ch02.check_critical_points(RIGHT_POINTS)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="misclassified.*signs of the Hessian"):
        ch02.check_critical_points({**RIGHT_POINTS, (0, 0): "minimum"})
    with pytest.raises(AssertionError, match=r"there are 9 critical points.*missing \[\(0, 0\)\]"):
        ch02.check_critical_points({p: k for p, k in RIGHT_POINTS.items() if p != (0, 0)})  # only the real minima and saddles
    with pytest.raises(AssertionError, match="integer coordinates"):
        ch02.check_critical_points({(0.5, 1): "saddle"})


def _fraction(key, n, n_samples, *, both_signs=True):
    eigs = jnp.linalg.eigvalsh(goe_matrices(key, n, n_samples))
    definite = (eigs[:, 0] > 0) | (eigs[:, -1] < 0) if both_signs else eigs[:, 0] > 0
    f = float(jnp.mean(definite))
    return f, np.sqrt(f * (1 - f) / n_samples)


def test_sign_definite_fraction(capsys):
    ch02.check_sign_definite_fraction(_fraction)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="That is half of it.*all positive OR all negative"):  # positive definite only
        ch02.check_sign_definite_fraction(lambda k, n, m: _fraction(k, n, m, both_signs=False))
    with pytest.raises(AssertionError, match=r"sqrt\(f \(1 - f\) / N\)"):  # a standard deviation, not an error of the mean
        ch02.check_sign_definite_fraction(lambda k, n, m: (_fraction(k, n, m)[0], _fraction(k, n, m)[1] * np.sqrt(m)))
    with pytest.raises(AssertionError, match="using the key"):
        ch02.check_sign_definite_fraction(lambda k, n, m: _fraction(jax.random.key(0), n, m))


def _escape_steps(eps_values, *, lr, b, threshold_factor=0.5):
    out = []
    for eps in eps_values:
        x, y, k = 1.0, float(eps), 0
        while abs(y) <= threshold_factor * np.sqrt(b) and k < 5000:
            x, y, k = x - lr * x, y - lr * (-b * y + y**3), k + 1
        out.append(k)
    return np.array(out)


def test_escape_steps(capsys):
    eps = 10.0 ** -np.arange(2, 11)
    slope = np.polyfit(np.log(1 / eps), _escape_steps(eps, lr=0.2, b=0.5), 1)[0]
    ch02.check_escape_steps(_escape_steps, slope)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"prediction is 1/ln\(1 \+ lr b\)"):
        ch02.check_escape_steps(_escape_steps, 1 / (0.2 * 0.5))  # the continuous-time rate, 5% off
    with pytest.raises(AssertionError, match="count steps until"):
        ch02.check_escape_steps(lambda e, lr, b: _escape_steps(e, lr=lr, b=b, threshold_factor=1.0), slope)


def _census(key, n, n_starts, *, deduplicate=True):
    key_landscape, key_starts = jax.random.split(key)
    energy = random_fourier_landscape(key_landscape, n, k_max=1)
    starts = jax.random.uniform(key_starts, (n_starts, n), maxval=2 * jnp.pi)
    found, grad_norm = jax.vmap(lambda s: newton_critical_point(energy, s, n_steps=40))(starts)
    points = np.asarray(found[np.asarray(grad_norm) < 1e-9])
    if deduplicate:
        points = unique_points(points, period=2 * np.pi)
    eigs = jax.jit(jax.vmap(lambda p: jnp.linalg.eigvalsh(jax.hessian(energy)(p))))(jnp.asarray(points))
    assert all(classify_critical_point(e)[0] != "degenerate" for e in np.asarray(eigs)[:5])
    return np.bincount(np.sum(np.asarray(eigs) < 0, axis=1), minlength=n + 1)


def test_census(capsys):
    ch02.check_census(_census)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="deduplicate modulo 2 pi"):
        ch02.check_census(lambda k, n, m: _census(k, n, m, deduplicate=False))

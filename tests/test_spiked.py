"""physml_helpers.spiked against exact results: the construction of the spiked matrix, the BBP limits at large
N within finite-size tolerances, the state-evolution fixed point, AMP against state evolution and PCA; bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import spiked


def test_spiked_wigner_structure():
    Y, x = spiked.spiked_wigner(jax.random.key(0), 300, 2.0)
    assert Y.shape == (300, 300) and Y.dtype == jnp.float64 and np.allclose(Y, Y.T)
    assert set(np.unique(np.asarray(x))) == {-1.0, 1.0}
    W = np.asarray(Y) - 2.0 / 300 * np.outer(x, x)
    off = W[np.triu_indices(300, 1)] * math.sqrt(300)
    assert abs(off.var() - 1) < 5 * math.sqrt(2 / off.size)
    _, xg = spiked.spiked_wigner(jax.random.key(1), 300, 1.0, prior="gaussian")
    assert len(np.unique(np.asarray(xg))) == 300


def test_bbp_limits_closed_form_and_simulation():
    lam = np.array([0.5, 1.0, 2.0])
    assert np.allclose(spiked.bbp_top_eigenvalue(lam), [2.0, 2.0, 2.5])
    assert np.allclose(spiked.bbp_overlap(lam), [0.0, 0.0, 0.75])
    tops, overlaps = [], []
    for seed in range(4):
        Y, x = spiked.spiked_wigner(jax.random.key(10 + seed), 800, 2.0)
        w, v = np.linalg.eigh(np.asarray(Y))
        tops.append(w[-1])
        overlaps.append((v[:, -1] @ np.asarray(x)) ** 2 / 800)
    # one matrix fluctuates by O(N^-1/2); four of them: 4 standard errors with the spread floored at N^-1/2
    assert abs(np.mean(tops) - 2.5) < 4 / math.sqrt(800) / 2 * 1.5
    assert abs(np.mean(overlaps) - 0.75) < 4 / math.sqrt(800) / 2 * 1.5


def test_state_evolution_fixed_point():
    q = spiked.rademacher_state_evolution(2.0, 200)
    assert q[0] == pytest.approx(1e-3)
    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / math.sqrt(2 * math.pi)
    assert q[-1] == pytest.approx(np.sum(w * np.tanh(4 * q[-1] + 2 * math.sqrt(q[-1]) * z)), abs=1e-12)
    assert spiked.rademacher_state_evolution(0.8, 300)[-1] < 1e-6  # uninformative below lambda = 1
    # AMP's overlap exceeds PCA's 1 - 1/lambda^2
    assert q[-1] > 0.75


def test_amp_against_state_evolution_and_pca():
    n = 1000
    results = []
    for seed in range(3):
        Y, x = spiked.spiked_wigner(jax.random.key(20 + seed), n, 2.0)
        f, info = spiked.spiked_amp(jax.random.key(30 + seed), Y, 40)
        assert info.estimate.shape == (40, n)
        results.append((float(f @ x) ** 2 / (n * float(f @ f))))
    q = spiked.rademacher_state_evolution(2.0, 300)[-1]
    assert abs(np.mean(results) - q) < 4 / math.sqrt(n * 3)
    assert np.mean(results) > 0.75 + 4 / math.sqrt(n * 3)


def test_bad_input():
    with pytest.raises(ValueError, match="snr"):
        spiked.spiked_wigner(jax.random.key(0), 10, -1.0)
    with pytest.raises(ValueError, match="prior"):
        spiked.spiked_wigner(jax.random.key(0), 10, 1.0, prior="sparse")
    with pytest.raises(ValueError, match="n must be"):
        spiked.spiked_wigner(jax.random.key(0), 1, 1.0)
    with pytest.raises(ValueError, match="snr"):
        spiked.bbp_overlap(-0.5)
    with pytest.raises(ValueError, match="q0"):
        spiked.rademacher_state_evolution(1.0, 5, q0=1.5)
    with pytest.raises(ValueError, match="symmetric"):
        spiked.spiked_amp_kernel(jnp.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="f0"):
        spiked.spiked_amp_kernel(jnp.eye(3)).init(jnp.ones(2))
    with pytest.raises(TypeError, match="key"):
        spiked.spiked_amp(3, jnp.eye(3), 2)

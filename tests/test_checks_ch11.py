"""Chapter 11's checks accept right answers and explain wrong ones."""

import jax
import numpy as np
import pytest

from physml_helpers import sbi
from physml_helpers.course.checks import ch11


def _log_normal(x, mean, var):
    return -0.5 * (x - mean) ** 2 / var - 0.5 * np.log(2 * np.pi * var)


def test_optimal_classifier(capsys):
    right = lambda t, x: 1 / (1 + np.exp(-(_log_normal(x, t, 0.1) - _log_normal(x, 0.0, 0.2))))
    ch11.check_optimal_classifier(right)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="N\\(0, 0.2\\)"):
        ch11.check_optimal_classifier(lambda t, x: 1 / (1 + np.exp(-(_log_normal(x, t, 0.1) - _log_normal(x, 0.0, 0.1)))))
    with pytest.raises(AssertionError, match="r/\\(1 \\+ r\\)"):
        ch11.check_optimal_classifier(lambda t, x: np.exp(_log_normal(x, t, 0.1) - _log_normal(x, 0.0, 0.2)))
    ch11.check_optimal_classifier(...)
    assert "not attempted" in capsys.readouterr().out


def _g2(positions, eta, r_s, cutoff, *, cut=True, self_term=False):
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    fc = np.where(d < cutoff, 0.5 * (np.cos(np.pi * d / cutoff) + 1), 0.0) if cut else np.ones_like(d)
    if not self_term:
        np.fill_diagonal(fc, 0.0)
    return np.sum(np.exp(-eta * (d - r_s) ** 2) * fc, axis=1)


def test_radial_symmetry_function(capsys):
    ch11.check_radial_symmetry_function(_g2)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="itself"):
        ch11.check_radial_symmetry_function(lambda *a: _g2(*a, self_term=True))
    with pytest.raises(AssertionError, match="cutoff"):
        ch11.check_radial_symmetry_function(lambda *a: _g2(*a, cut=False))
    with pytest.raises(AssertionError, match="rotation"):
        ch11.check_radial_symmetry_function(lambda p, *a: _g2(p, *a) + p[:, 0])
    with pytest.raises(AssertionError, match="relabelling"):
        ch11.check_radial_symmetry_function(lambda p, *a: _g2(p, *a) + 0.01 * np.arange(len(p)))


def _sbc(key, factor, *, shift=0.0, n_trials=500):
    k1, k2, k3 = jax.random.split(key, 3)
    theta = sbi.gaussian_linear_prior(k1, n_trials, 1)
    x = sbi.gaussian_linear_simulator(k2, theta)
    s = (1 + shift) * x[:, None, :] / 2 + factor * np.sqrt(0.05) * jax.random.normal(k3, (n_trials, 19, 1))
    return sbi.rank_uniformity(sbi.sbc_ranks(np.asarray(s), np.asarray(theta))[:, 0], 19)[2]


def test_sbc_p_value(capsys):
    ch11.check_sbc_p_value(_sbc)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="exact posterior fails"):
        ch11.check_sbc_p_value(lambda k, f: _sbc(k, f, shift=1.0))          # posterior mean x instead of x/2
    with pytest.raises(AssertionError, match="rejected"):
        ch11.check_sbc_p_value(lambda k, f: _sbc(k, 1.0))                  # the width factor never applied
    with pytest.raises(AssertionError, match="between 0 and 1"):
        ch11.check_sbc_p_value(lambda k, f: 2.0)


def test_lj_dimer(capsys):
    ch11.check_lj_dimer(lambda e, s: (2 ** (1 / 6) * s, -e, 72 * e / (2 ** (1 / 3) * s**2)))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="zero"):
        ch11.check_lj_dimer(lambda e, s: (s, -e, 72 * e / s**2))
    with pytest.raises(AssertionError, match="r_min"):
        ch11.check_lj_dimer(lambda e, s: (2 ** (1 / 6) * s, -e, 72 * e / s**2))
    with pytest.raises(AssertionError, match="E_min"):
        ch11.check_lj_dimer(lambda e, s: (2 ** (1 / 6) * s, e, 72 * e / (2 ** (1 / 3) * s**2)))


def _krr(train, y, test, sigma, ridge, h, *, norm_h=True, offset=True):
    def k(a, b):
        return np.exp(-np.sum((a[:, None] - b[None]) ** 2, axis=-1) * (h if norm_h else 1.0) / (2 * sigma**2))
    c = y.mean() if offset else 0.0
    return c + k(test, train) @ np.linalg.solve(k(train, train) + ridge * np.eye(len(y)), y - c)


def test_krr_fit_predict(capsys):
    ch11.check_krr_fit_predict(_krr)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="grid spacing"):
        ch11.check_krr_fit_predict(lambda *a: _krr(*a, norm_h=False))
    with pytest.raises(AssertionError, match="mean training energy"):
        ch11.check_krr_fit_predict(lambda *a: _krr(*a, offset=False))
    with pytest.raises(AssertionError, match="factor 2"):
        ch11.check_krr_fit_predict(lambda tr, y, te, s, r, h: _krr(tr, y, te, s / np.sqrt(2), r, h))
    with pytest.raises(AssertionError, match="one energy per test density"):
        ch11.check_krr_fit_predict(lambda *a: _krr(*a)[:3])
    ch11.check_krr_fit_predict(lambda *a: (_ for _ in ()).throw(NotImplementedError))
    assert "not attempted" in capsys.readouterr().out

"""Chapter 12's checks accept right answers and explain wrong ones."""

import math

import numpy as np
import pytest

from physml_helpers import coevolution as cv
from physml_helpers import lattice_protein as lp
from physml_helpers.course.checks import ch12


def test_separation_exponent(capsys):
    ch12.check_separation_exponent(0.92)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="log10"):
        ch12.check_separation_exponent(0.9056 * math.log10(math.e))
    with pytest.raises(AssertionError, match="per integration step"):
        ch12.check_separation_exponent(0.009)
    with pytest.raises(AssertionError, match="straight part"):
        ch12.check_separation_exponent(1.64)   # the local instability rate
    ch12.check_separation_exponent(...)
    assert "not attempted" in capsys.readouterr().out


def _scores(msa, q, apc=True, gauge=True):
    j = np.asarray(cv.mean_field_dca(msa, q, pseudocount=0.5))
    if gauge:
        j = np.asarray(cv.zero_sum_gauge(j))
    s = np.sqrt((j**2).sum(axis=(2, 3))) * (1 - np.eye(j.shape[0]))
    return np.asarray(cv.apc(s)) if apc else s


def test_dca_scores(capsys):
    ch12.check_dca_scores(_scores)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="average-product"):
        ch12.check_dca_scores(lambda m, q: _scores(m, q, apc=False))
    with pytest.raises(AssertionError, match="zero-sum"):
        ch12.check_dca_scores(lambda m, q: _scores(m, q, gauge=False))
    with pytest.raises(AssertionError, match="6, 6"):
        ch12.check_dca_scores(lambda m, q: np.zeros(3))
    with pytest.raises(AssertionError, match="raised"):
        ch12.check_dca_scores(lambda m, q: 1 / 0)


def test_design(capsys):
    # HHPHPHHPHPHH folds uniquely into fold 14976 (found by exhaustive search over all 4096 sequences)
    seq = [1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1]
    ch12.check_design(14976, seq)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="chapter's target"):
        ch12.check_design(8187, [1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1])
    with pytest.raises(AssertionError, match="degenerate"):
        ch12.check_design(14976, [1] * 12)
    with pytest.raises(AssertionError, match="0 \\(P\\) or 1 \\(H\\)"):
        ch12.check_design(14976, [0.6] * 12)
    contacts, pairs, _ = lp.enumerate_folds(12)
    e = np.asarray(lp.fold_energies(np.array(seq, float), contacts, pairs))
    assert int(np.argmin(e)) == 14976


def _heun(score, x, n, t_max, t_min, second_order=True):
    times = t_max * (t_min / t_max) ** (np.arange(n + 1) / n)
    x = np.asarray(x)
    for t, tn in zip(times[:-1], times[1:]):
        h = t - tn
        f = x + np.asarray(score(x, t))
        if second_order:
            xp = x + h * f
            x = x + 0.5 * h * (f + xp + np.asarray(score(xp, tn)))
        else:
            x = x + h * f
    return x


def test_heun_sampler(capsys):
    ch12.check_heun_sampler(_heun)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="first order"):
        ch12.check_heun_sampler(lambda *a: _heun(*a, second_order=False))
    with pytest.raises(AssertionError, match="shape"):
        ch12.check_heun_sampler(lambda s, x, n, a, b: np.zeros(3))

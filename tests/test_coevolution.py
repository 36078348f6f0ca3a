"""Potts sampling and direct coupling analysis against a model small enough to enumerate."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import coevolution as cv

L, Q = 4, 3


def _model(strength=1.0):
    rng = np.random.default_rng(0)
    J = np.zeros((L, L, Q, Q))
    for i, j in ((0, 1), (1, 2), (0, 3)):     # a planted path 3-0-1-2; (0, 2), (1, 3), (2, 3) uncoupled
        b = rng.normal(0, strength, (Q, Q))
        J[i, j], J[j, i] = b, b.T
    h = rng.normal(0, 0.5, (L, Q))
    return h, J


def _exact(h, J):
    states = np.array(list(itertools.product(range(Q), repeat=L)))
    e = h[np.arange(L), states].sum(axis=1)
    for i in range(L):
        for j in range(i + 1, L):
            e = e + J[i, j, states[:, i], states[:, j]]
    p = np.exp(e - e.max())
    return states, p / p.sum()


def test_gibbs_sampler_matches_exact_marginals():
    h, J = _model()
    states, p = _exact(h, J)
    msa = np.asarray(cv.sample_potts(jax.random.key(0), h, J, n_chains=20000, n_sweeps=30))
    fi, fij = cv.frequencies(msa, Q)
    fi_exact, fij_exact = cv.frequencies(states, Q, weights=p)
    se = np.sqrt(fij_exact * (1 - fij_exact) / 20000) + 1e-12
    assert np.max(np.abs(np.asarray(fij - fij_exact)) / se) < 5
    np.testing.assert_allclose(np.asarray(fi_exact).sum(axis=1), 1, rtol=1e-12)


def test_pseudo_likelihood_on_exact_data_recovers_the_couplings():
    h, J = _model()
    states, p = _exact(h, J)
    _, j_fit, losses = cv.pseudo_likelihood_dca(states, Q, weights=p, l2_fields=0.0, l2_couplings=0.0, lr=0.05, n_steps=3000)
    np.testing.assert_allclose(cv.zero_sum_gauge(j_fit), cv.zero_sum_gauge(J), atol=2e-3)


def test_dca_ranks_direct_couplings_above_indirect_ones():
    h, J = _model(0.7)
    states, p = _exact(h, J)
    truth = np.zeros((L, L), bool)
    for i, j in ((0, 1), (1, 2), (0, 3)):
        truth[i, j] = truth[j, i] = True
    mf = cv.coupling_scores(cv.mean_field_dca(states, Q, weights=p, pseudocount=0.0))
    assert cv.top_k_precision(mf, truth, 3) == 1.0
    mi = cv.mutual_information(states[np.repeat(np.arange(len(p)), 1)], Q)   # uniform weights: independent columns
    np.testing.assert_allclose(mi, 0, atol=1e-12)


def test_apc_and_precision():
    s = np.array([[0, 3, 1], [3, 0, 2], [1, 2, 0]], float)
    out = np.asarray(cv.apc(s))
    row = np.array([2.0, 2.5, 1.5]); total = 2.0
    np.testing.assert_allclose(out[0, 1], 3 - row[0] * row[1] / total)
    assert np.all(np.diag(out) == 0)
    c = np.zeros((3, 3), bool); c[0, 1] = c[1, 0] = True
    assert cv.top_k_precision(s, c, 1) == 1.0 and cv.top_k_precision(s, c, 2) == 0.5


def test_bad_inputs():
    h, J = _model()
    with pytest.raises(ValueError, match="couplings"):
        cv.sample_potts(jax.random.key(0), h, J[:3], n_chains=2, n_sweeps=1)
    bad = J.copy(); bad[0, 1, 0, 1] += 1
    with pytest.raises(ValueError, match="J\\[i, j, a, b\\]"):
        cv.sample_potts(jax.random.key(0), h, bad, n_chains=2, n_sweeps=1)
    with pytest.raises(ValueError, match="msa"):
        cv.mean_field_dca(np.array([[0, 5]]), 3)
    with pytest.raises(ValueError, match="pseudocount"):
        cv.frequencies(np.array([[0, 1]]), 3, pseudocount=1.0)
    with pytest.raises(ValueError, match="k must"):
        cv.top_k_precision(np.zeros((3, 3)), np.zeros((3, 3)), 10)

"""Checks for the exercises of chapter 3, *SGD as Langevin dynamics*.

References: the stationary variance of Euler-Maruyama on a harmonic well (a SymPy identity), the exact
minibatch-noise covariance S/B (with sampling error bars), scipy's discrete Lyapunov solver, and the
alpha/B scaling of the Lyapunov covariance.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_em_variance", "check_empirical_noise", "check_lyapunov", "check_temperature"]


@exercise("3.1")
def check_em_variance(variance):
    """``variance``: SymPy expression for the stationary variance in symbols k, T, dt."""
    import sympy as sp

    if not isinstance(variance, sp.Basic):
        raise AssertionError(f"variance should be a SymPy expression, got {type(variance).__name__}.")
    names = {s.name: s for s in variance.free_symbols}
    if not {"k", "T"} <= set(names) <= {"k", "T", "dt"}:
        raise AssertionError(f"the variance should depend on the symbols k, T and dt; found {sorted(names) or 'none'}.")
    # matched by name, so that symbols made with or without assumptions are the same variable
    k, t, dt = (names.get(name, sp.Symbol(name)) for name in ("k", "T", "dt"))
    want = t / (k * (1 - k * dt / 2))
    if sp.simplify(variance - want) != 0:
        hint = ""
        if sp.simplify(variance - t / k) == 0:
            hint = " That is the continuous-time (Boltzmann) value; keep the (1 - k dt)^2 factor exactly."
        raise AssertionError(f"variance = {variance}, expected T/(k (1 - k dt/2)).{hint}")
    return "v = T/(k(1 - k dt/2)): the discretisation heats the chain, and it diverges at the stability limit k dt = 2."


@exercise("3.2")
def check_empirical_noise(empirical_noise_covariance):
    """``empirical_noise_covariance(key, loss_fn, params, data, batch_size, n_batches) -> [n, n]``."""
    import jax
    import jax.numpy as jnp

    from physml_helpers.langevin import minibatch_noise_covariance

    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(50, 3)) * np.array([1.5, 1.0, 0.5]))
    y = jnp.asarray(rng.normal(size=50))
    loss = lambda w, b: 0.5 * jnp.mean((b[0] @ w - b[1]) ** 2)  # noqa: E731
    w = jnp.array([0.2, -0.1, 0.4])
    n_batches, batch = 20_000, 5
    got = call(empirical_noise_covariance, jax.random.key(0), loss, w, (x, y), batch, n_batches,
               what="empirical_noise_covariance(key, loss_fn, params, data, batch_size, n_batches)")
    got = np.asarray(got)
    want = np.asarray(minibatch_noise_covariance(loss, w, (x, y), batch_size=batch))
    if got.shape != want.shape:
        raise AssertionError(f"return the {want.shape} covariance matrix of the minibatch gradient, got shape {got.shape}.")
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)) + want**2)
    z = np.max(np.abs(got - want) / (scale / np.sqrt(n_batches)))
    if z > 6:
        ratio = np.trace(got) / np.trace(want)
        hint = f" Your trace is {ratio:.2f} times the exact one."
        if abs(ratio * batch - 1) < 0.2:
            hint += " It is B times too small: did you divide by B twice?"
        raise AssertionError(
            f"the sampled covariance is {z:.1f} standard errors from the exact S/B.{hint} Draw each minibatch with "
            "jax.random.randint (with replacement), subtract the full gradient, and average the outer products."
        )
    return "sampling reproduces C = S/B within its error bars."


@exercise("3.3")
def check_lyapunov(stationary_covariance):
    """``stationary_covariance(H, C, lr)`` solving Sigma = A Sigma A^T + lr^2 C."""
    from scipy.linalg import solve_discrete_lyapunov

    rng = np.random.default_rng(8)
    for n, lr in ((2, 0.3), (4, 0.1)):
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        h = q @ np.diag(np.linspace(0.5, 4.0, n)) @ q.T
        b = rng.normal(size=(n, n))
        c = b @ b.T
        got = call(stationary_covariance, h, c, lr, what="stationary_covariance(H, C, lr)")
        want = solve_discrete_lyapunov(np.eye(n) - lr * h, lr**2 * c)
        expect_close(f"Sigma for n = {n}", np.asarray(got), want, rtol=1e-8, atol=1e-12,
                     hint="Vectorise: vec(A S A^T) = (A kron A) vec(S), so (I - A kron A) vec(S) = lr^2 vec(C).")
    return "your vectorised solution matches scipy's discrete Lyapunov solver."


@exercise("3.4")
def check_temperature(spreads, predicted):
    """``spreads``: tr(Sigma) measured for the three (lr, B) pairs; ``predicted``: the Lyapunov values."""
    spreads = np.asarray(spreads, dtype=float).reshape(-1)
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    if spreads.shape != (3,) or predicted.shape != (3,):
        raise AssertionError("return three measured spreads and three predictions, one per (lr, B) pair.")
    expect_close("the measured spreads relative to the prediction", spreads / predicted, np.ones(3), rtol=0.1,
                 hint="Run long enough (the chain is correlated over 1/(lr * smallest curvature) steps) and discard burn-in.")
    if np.max(predicted) / np.min(predicted) > 1.3:
        raise AssertionError("the three predictions differ by more than 30%: with lr/B fixed they should be close.")
    return "the spread depends on lr and B (nearly) only through lr/B, up to the O(lr) discrete-time factor."

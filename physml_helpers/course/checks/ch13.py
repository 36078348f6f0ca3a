"""Checks for the exercises of chapter 13, *Conservation by construction*.

References: one step of symplectic Euler written out, and the symplectic condition by forward-mode
differentiation; determinant and symplectic defect of a matrix; the invariant quadratic form of leapfrog
for the oscillator, a = omega^2 (1 - omega^2 h^2 / 4), compared at sample values of omega and h; the
constant total force N(N-1) eps of the broken third law.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_symplectic_euler", "check_volume_not_symplectic", "check_modified_energy", "check_broken_third_law"]


@exercise("13.1")
def check_symplectic_euler(symplectic_euler):
    """``symplectic_euler(grad_V, q, p, dt)`` returning ``(q', p')``."""
    import jax
    import jax.numpy as jnp

    grad_V = lambda q: jnp.sin(q) + 0.3 * q**3
    q, p, dt = jnp.array([0.4, -1.1]), jnp.array([0.7, 0.2]), 0.1
    out = call(symplectic_euler, grad_V, q, p, dt, what="symplectic_euler(grad_V, q, p, dt)")
    try:
        q_new, p_new = (np.asarray(a, dtype=float) for a in out)
    except (TypeError, ValueError):
        raise AssertionError("symplectic_euler should return a pair (q_new, p_new).") from None
    p_want = np.asarray(p - dt * grad_V(q))
    q_want = np.asarray(q) + dt * p_want
    if np.allclose(q_new, np.asarray(q) + dt * np.asarray(p), atol=1e-12):
        raise AssertionError("the position update used the old momentum: that is explicit Euler. Use p_new in q_new = q + dt p_new.")
    expect_close("p_new", p_new, p_want, rtol=0, atol=1e-12, hint="p_new = p - dt * grad_V(q).")
    expect_close("q_new", q_new, q_want, rtol=0, atol=1e-12, hint="q_new = q + dt * p_new.")
    step = lambda z: jnp.concatenate(symplectic_euler(grad_V, z[:2], z[2:], dt))
    J = np.asarray(jax.jacfwd(step)(jnp.concatenate([q, p])))
    omega = np.block([[np.zeros((2, 2)), np.eye(2)], [-np.eye(2), np.zeros((2, 2))]])
    expect_close("J^T Omega J", J.T @ omega @ J, omega, rtol=0, atol=1e-12)
    return "one kick then one drift: each is an exact flow, so their composition is symplectic."


@exercise("13.2")
def check_volume_not_symplectic(M4):
    """``M4``: a 4 x 4 matrix with determinant 1 that is not symplectic."""
    M = np.asarray(M4, dtype=float)
    if M.shape != (4, 4):
        raise AssertionError(f"M4 should be a 4 x 4 matrix, got shape {M.shape}.")
    expect_close("det M4", np.linalg.det(M), 1.0, rtol=0, atol=1e-10, hint="A volume-preserving map has determinant 1.")
    omega = np.block([[np.zeros((2, 2)), np.eye(2)], [-np.eye(2), np.zeros((2, 2))]])
    defect = np.abs(M.T @ omega @ M - omega).max()
    if defect < 1e-6:
        raise AssertionError("M4 is symplectic (M^T Omega M = Omega). Mix a coordinate with the momentum of the other degree "
                             "of freedom, or stretch q1 and shrink q2 without touching the momenta.")
    if np.allclose(M, np.diag([2.0, 0.5, 1.0, 1.0])):
        raise AssertionError("this is the chapter's example: find another one.")
    return f"det M4 = 1 and |M^T Omega M - Omega| = {defect:.2f}: volume preserved, symplectic structure not."


@exercise("13.3")
def check_modified_energy(a_expr, omega, h):
    """``a_expr``: the coefficient a of the conserved form a q^2 + p^2, in the SymPy symbols omega and h."""
    import sympy as sp

    expr = sp.sympify(a_expr)
    unknown = {s.name for s in expr.free_symbols} - {omega.name, h.name}
    if unknown:
        raise AssertionError(f"a_expr should depend on omega and h only, found {sorted(unknown)}.")
    # independent reference: evaluate numerically at sample points and compare with omega^2 (1 - omega^2 h^2 / 4).
    # Symbols are matched by name, so symbols made with or without positive=True are the same variable here.
    for w, step in ((1.0, 0.1), (2.0, 0.3), (0.5, 1.7)):
        values = {omega.name: w, h.name: step}
        number = sp.N(expr.subs({sym: values[sym.name] for sym in expr.free_symbols}))
        if not number.is_real:
            raise AssertionError(f"a_expr is not a real number at omega = {w}, h = {step} (got {number}).")
        got = float(number)
        want = w**2 * (1 - w**2 * step**2 / 4)
        if abs(got - w**2) < 1e-12 and abs(want - w**2) > 1e-6:
            raise AssertionError("a = omega^2 is the true energy, which leapfrog does not conserve exactly: "
                                 "solve M^T Q M = Q for the leapfrog matrix M.")
        expect_close(f"a at omega = {w}, h = {step}", got, want, rtol=1e-12, atol=1e-12,
                     hint="M = kick(h/2) drift(h) kick(h/2) with kick = [[1, 0], [-omega^2 h/2, 1]], drift = [[1, h], [0, 1]].")
    return "a = omega^2 (1 - omega^2 h^2 / 4): positive for omega h < 2, the stability limit."


@exercise("13.4")
def check_broken_third_law(rate, n_particles, eps):
    """``rate``: the measured dP_x/dt with the non-reciprocal term."""
    want = n_particles * (n_particles - 1) * eps
    got = float(rate)
    if abs(got) < 1e-9:
        raise AssertionError("the momentum did not change: add the non-reciprocal force eps e_x for every ordered pair.")
    if abs(got / want - 1 / (n_particles - 1)) < 1e-6:
        raise AssertionError("you added eps once per particle; every ordered pair (i, j) adds eps, so (N - 1) eps per particle.")
    expect_close("dP_x/dt", got, want, rtol=1e-8,
                 hint="With unit masses the total momentum changes at the rate of the total force.")
    return f"dP_x/dt = N(N-1) eps = {want:.3g}: only the non-reciprocal part survives the sum."

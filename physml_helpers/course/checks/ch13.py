"""Checks for the exercises of chapter 13, *Conservation by construction*.

References: one step of symplectic Euler written out, and the symplectic condition by forward-mode
differentiation; determinant and symplectic defect of a matrix; the invariant quadratic form of leapfrog
for the oscillator, a = omega^2 (1 - omega^2 h^2 / 4), compared at sample values of omega and h; the
forces of the broken third law written out pair by pair, whose sum is 2 eps sum_{i<j} exp(-r_ij^2) e_x;
Hamilton's equations (dH/dp, -dH/dq) by automatic differentiation of a known H and of a random network.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = [
    "check_symplectic_euler", "check_volume_not_symplectic", "check_modified_energy", "check_broken_third_law",
    "check_hamiltonian_vector_field",
]


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


def _reference_broken_forces(q, eps):
    """Gaussian-core pair forces 2 r exp(-r^2) r_hat plus eps exp(-r^2) e_x on i for every ordered pair (i, j)."""
    diff = q[:, None, :] - q[None, :, :]
    r = np.sqrt((diff**2).sum(-1))
    off = ~np.eye(len(q), dtype=bool)
    r_safe = np.where(off, r, 1.0)
    pair = np.where(off, 2 * np.exp(-(r_safe**2)), 0.0)  # f(r) / r with f = 2 r exp(-r^2)
    reciprocal = (pair[:, :, None] * diff).sum(1)
    non_reciprocal = np.zeros_like(q)
    non_reciprocal[:, 0] = eps * np.where(off, np.exp(-(r_safe**2)), 0.0).sum(1)
    return reciprocal, non_reciprocal


@exercise("13.4")
def check_broken_third_law(broken_forces, eps):
    """``broken_forces(q)``: forces [N, 2] for positions [N, 2], the pair force plus the non-reciprocal term."""
    rng = np.random.default_rng(13)
    for n in (4, 3):
        q = 0.8 * rng.standard_normal((n, 2))
        out = call(broken_forces, q, what="broken_forces(q)")
        try:
            got = np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            raise AssertionError(f"broken_forces(q) should return an array of forces, got {type(out).__name__}.") from None
        if got.shape != q.shape:
            raise AssertionError(f"broken_forces(q) should return one force per particle, shape {q.shape}, got {got.shape}.")
        reciprocal, non_reciprocal = _reference_broken_forces(q, eps)
        total, want_total = got.sum(0), non_reciprocal.sum(0)
        if np.abs(total).max() < 1e-12:
            raise AssertionError("the total force is zero: your forces still obey the third law. Add eps exp(-r_ij^2) e_x "
                                 "to the force on i for every ordered pair (i, j), with the same sign for (j, i).")
        if np.allclose(total, [n * (n - 1) * eps, 0.0], rtol=1e-9, atol=1e-12):
            raise AssertionError("the total force is the constant N(N-1) eps e_x: that is a uniform external field. "
                                 "Weight each pair's term by exp(-r_ij^2), so that it depends on the configuration.")
        if np.allclose(total, want_total / 2, rtol=1e-9, atol=1e-12):
            raise AssertionError("the total non-reciprocal force is half the expected one: every ordered pair (i, j) "
                                 "adds a term to particle i, so each unordered pair contributes twice.")
        if np.allclose(got, non_reciprocal, rtol=1e-9, atol=1e-12):
            raise AssertionError("only the non-reciprocal term is there: add the Gaussian-core pair force "
                                 "2 r exp(-r^2) (r_i - r_j) / r (pairwise_forces(magnitude, q)).")
        expect_close(f"the total force for N = {n}", total, want_total, rtol=1e-9, atol=1e-12,
                     hint="sum_i F_i = eps sum_{i != j} exp(-r_ij^2) e_x: only the non-reciprocal part survives.")
        expect_close(f"the forces for N = {n}", got, reciprocal + non_reciprocal, rtol=1e-9, atol=1e-12,
                     hint="F_i = sum_{j != i} [2 exp(-r_ij^2) (r_i - r_j) + eps exp(-r_ij^2) e_x].")
    return ("the total force 2 eps sum_{i<j} exp(-r_ij^2) e_x depends on the configuration, so the momentum "
            "changes at a varying rate.")


def _reference_field(H, z):
    import jax

    d = z.shape[0] // 2
    dq, dp = jax.grad(lambda q, p: H(q, p), argnums=(0, 1))(z[:d], z[d:])
    return np.concatenate([np.asarray(dp), -np.asarray(dq)])


@exercise("13.5")
def check_hamiltonian_vector_field(hamiltonian_vector_field):
    """``hamiltonian_vector_field(H, z)``: (dH/dp, -dH/dq) at ``z = (q, p)`` of shape [2 d], ``H(q, p)`` scalar."""
    import jax
    import jax.numpy as jnp

    from physml_helpers.hnn import hnn_hamiltonian, init_hnn

    known = lambda q, p: 0.5 * jnp.sum(p**2) + q[0] ** 2 * p[1] + jnp.sin(q[1])  # not separable, d = 2
    params = init_hnn(jax.random.key(5), 2, hidden=16, dtype=jnp.float64)
    network = lambda q, p: hnn_hamiltonian(params, q, p)
    z = jnp.array([0.3, -0.8, 1.1, 0.4])
    for label, H in (("H = p^2/2 + q1^2 p2 + sin q2", known), ("a random Hamiltonian network", network)):
        out = call(hamiltonian_vector_field, H, z, what="hamiltonian_vector_field(H, z)")
        try:
            got = np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            raise AssertionError(f"hamiltonian_vector_field should return an array, got {type(out).__name__}.") from None
        if got.shape != z.shape:
            raise AssertionError(f"hamiltonian_vector_field(H, z) should return (q_dot, p_dot) of shape {z.shape}, "
                                 f"got {got.shape}.")
        want = _reference_field(H, z)
        grad = np.concatenate([-want[2:], want[:2]])  # (dH/dq, dH/dp)
        if np.allclose(got, -want, rtol=1e-9, atol=1e-12):
            raise AssertionError("every component has the wrong sign: that is the flow backwards in time. "
                                 "q_dot = +dH/dp, p_dot = -dH/dq.")
        if np.allclose(got, grad, rtol=1e-9, atol=1e-12) or np.allclose(got, -grad, rtol=1e-9, atol=1e-12):
            raise AssertionError("you returned (plus or minus) the gradient of H: along it H changes as fast as possible. "
                                 "Hamilton's equations rotate it by Omega: (dH/dp, -dH/dq).")
        if np.allclose(got, np.concatenate([want[:2], -want[2:]]), rtol=1e-9, atol=1e-12):
            raise AssertionError("the sign of p_dot is wrong: p_dot = -dH/dq (a force pushes downhill).")
        expect_close(f"the vector field for {label}", got, want, rtol=1e-9, atol=1e-12,
                     hint="q_dot = dH/dp and p_dot = -dH/dq, for example with jax.grad(H, argnums=(0, 1)).")
        rate = float(np.dot(grad, got))  # dH/dt = grad H . z_dot
        if abs(rate) > 1e-10 * (1 + np.abs(grad).max() * np.abs(got).max()):
            raise AssertionError(f"dH/dt = grad H . z_dot = {rate:.3g} should vanish.")
    return "q_dot = dH/dp, p_dot = -dH/dq: any H, a network included, is conserved along this field."

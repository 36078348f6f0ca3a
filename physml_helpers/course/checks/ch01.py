"""Checks for the exercises of chapter 1, *Learning as descent on an energy landscape*.

Each check compares the student's answer with an exact result: a symbolic identity, the
eigenvalues of a Hessian, the closed-form iteration of a linear recurrence, or the linear-stability
bound on where gradient descent can settle.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close, expect_shape

__all__ = [
    "check_stability_window",
    "check_critical_learning_rate",
    "check_window_demonstration",
    "check_heavy_ball",
    "check_momentum_limit",
    "check_edge_of_stability",
]


@exercise("1.1")
def check_stability_window(alpha_max, alpha_best):
    """``alpha_max`` = 2/lambda and ``alpha_best`` = 1/lambda, as SymPy expressions in one symbol."""
    import sympy as sp

    for name, expr in (("alpha_max", alpha_max), ("alpha_best", alpha_best)):
        if not isinstance(expr, sp.Basic):
            raise AssertionError(f"{name} should be a SymPy expression in the curvature symbol, got {type(expr).__name__}.")
    # Symbols are matched by name: `lam` made with and without positive=True are two SymPy symbols, but one
    # curvature. Both answers are read with a positive curvature, which the exercise assumes.
    names = sorted({str(sym) for sym in alpha_max.free_symbols | alpha_best.free_symbols})
    if len(names) != 1:
        raise AssertionError(f"the answers should depend on exactly one symbol, the curvature lambda; found {names or 'none'}.")
    lam = sp.Symbol(names[0], positive=True)

    def positive(expr):
        expr = expr.subs({sym: lam for sym in expr.free_symbols})
        return sp.refine(expr, sp.Q.positive(lam))

    alpha_max, alpha_best = positive(alpha_max), positive(alpha_best)
    if sp.simplify(alpha_max - 2 / lam) != 0:
        hint = ""
        if sp.simplify(alpha_max - 1 / lam) == 0:
            hint = " 1/lambda is where the factor 1 - alpha*lambda reaches 0 (fastest step); the window ends where it reaches -1."
        elif sp.simplify(alpha_max * lam / 2 - 2) == 0 or sp.simplify(alpha_max * lam * 2 - 2) == 0:
            hint = " You are off by a factor of 2: solve |1 - alpha*lambda| < 1 for alpha."
        raise AssertionError(f"alpha_max = {alpha_max}, expected 2/{lam}.{hint}")
    if sp.simplify(alpha_best - 1 / lam) != 0:
        raise AssertionError(
            f"alpha_best = {alpha_best}, expected 1/{lam}: the contraction factor |1 - alpha*lambda| is smallest, zero, there."
        )
    return "The window is 0 < alpha < 2/lambda, and one step at alpha = 1/lambda lands exactly on the minimum."


def _random_spd(rng, n, eigs):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return q @ np.diag(eigs) @ q.T


@exercise("1.2")
def check_critical_learning_rate(critical_learning_rate):
    """``critical_learning_rate(loss_fn, theta)`` must return 2/beta from the Hessian at ``theta``."""
    import jax.numpy as jnp

    rng = np.random.default_rng(12)
    eigs = np.array([0.3, 1.0, 2.5, 7.0])
    a = jnp.asarray(_random_spd(rng, 4, eigs))
    theta = jnp.asarray(rng.normal(size=4))
    cases = [
        ("a quadratic with curvatures 0.3 ... 7", lambda th: 0.5 * th @ a @ th, theta, 2 / 7.0),
    ]
    # A non-quadratic loss: E = sum_i cosh(theta_i) + theta_0 theta_1. Its Hessian is known in closed form.
    point = jnp.asarray([0.4, -1.1, 0.7])
    h = np.diag(np.cosh(np.asarray(point)))
    h[0, 1] = h[1, 0] = 1.0
    beta = np.max(np.abs(np.linalg.eigvalsh(h)))
    cases.append(("E = sum cosh(theta) + theta_0 theta_1", lambda th: jnp.sum(jnp.cosh(th)) + th[0] * th[1], point, 2 / beta))
    for description, loss_fn, at, want in cases:
        got = call(critical_learning_rate, loss_fn, at, what="critical_learning_rate(loss_fn, theta)")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise AssertionError(f"critical_learning_rate should return one number, got {type(got).__name__}.") from None
        hint = ""
        beta_here = 2 / want
        if abs(got - beta_here) < 1e-6 * beta_here:
            hint = "You returned beta itself; the critical learning rate is 2/beta."
        elif abs(got - 1 / beta_here) < 1e-6 / beta_here:
            hint = "You returned 1/beta; the window ends at 2/beta."
        expect_close(f"the critical learning rate for {description}", got, want, rtol=1e-6, hint=hint)
    return "2/beta from jax.hessian matches the exact Hessians."


@exercise("1.2b")
def check_window_demonstration(loss_fn, inside, outside):
    """``inside``, ``outside``: the 201 iterates of gradient descent at 0.9 and 1.1 times 2/beta on ``loss_fn``.

    The learning rate of each run is read off its first step (exact for a quadratic loss) and compared with
    0.9 and 1.1 times 2/beta from the Hessian; then the first run must approach the minimum and the second
    must grow without bound.
    """
    import jax
    import jax.numpy as jnp

    paths = {}
    for name, path in (("inside", inside), ("outside", outside)):
        try:
            arr = np.asarray(path, dtype=float)
        except (TypeError, ValueError):
            raise AssertionError(f"{name} should be the array of iterates returned by gradient_descent, got {type(path).__name__}.") from None
        if arr.ndim != 2 or arr.shape[0] != 201:
            raise AssertionError(f"{name} should hold the 201 iterates of 200 steps, shape [201, n], got shape {arr.shape}.")
        paths[name] = arr
    w0 = paths["inside"][0]
    if not np.allclose(paths["outside"][0], w0):
        raise AssertionError("start both runs from the same parameters.")
    n = w0.size
    grad0 = np.asarray(jax.grad(loss_fn)(jnp.asarray(w0)))
    hessian = np.asarray(jax.hessian(loss_fn)(jnp.asarray(w0))).reshape(n, n)
    critical = 2 / np.max(np.abs(np.linalg.eigvalsh(hessian)))
    for name, factor in (("inside", 0.9), ("outside", 1.1)):
        lr = float((paths[name][0] - paths[name][1]) @ grad0 / (grad0 @ grad0))
        expect_close(f"the learning rate of the '{name}' run in units of 2/beta", lr / critical, factor, rtol=1e-4,
                     hint="Use gradient_descent(jax.grad(lsq_loss), w0, lr=factor * critical_learning_rate(lsq_loss, w0), n_steps=200).")
    w_star = w0 - np.linalg.solve(hessian, grad0)  # one Newton step is exact on a quadratic
    start, end_in = float(loss_fn(jnp.asarray(w0))), float(loss_fn(jnp.asarray(paths["inside"][-1])))
    floor = float(loss_fn(jnp.asarray(w_star)))
    if not end_in - floor < 1e-3 * (start - floor):
        raise AssertionError(f"the 'inside' run should approach the minimum: its loss fell from {start:.4g} only to {end_in:.4g} "
                             f"(minimum {floor:.4g}).")
    growth = np.linalg.norm(paths["outside"][-1] - w_star) / np.linalg.norm(w0 - w_star)
    if not growth > 1e3:
        raise AssertionError(f"the 'outside' run should diverge: its distance from the minimum grew only {growth:.3g}-fold.")
    return f"just inside 2/beta GD converges; just outside, its distance from the minimum grows {growth:.1e}-fold."


def _heavy_ball_reference(a, theta0, lr, momentum, n_steps):
    theta_prev, theta = theta0.copy(), theta0.copy()
    out = [theta0.copy()]
    for _ in range(n_steps):
        theta_next = theta - lr * (a @ theta) + momentum * (theta - theta_prev)
        theta_prev, theta = theta, theta_next
        out.append(theta.copy())
    return np.stack(out)


@exercise("1.3a")
def check_heavy_ball(heavy_ball):
    """``heavy_ball(grad_fn, theta0, *, lr, momentum, n_steps)`` on a quadratic, against the exact recurrence."""
    import jax.numpy as jnp

    rng = np.random.default_rng(3)
    a = _random_spd(rng, 3, np.array([0.5, 2.0, 6.0]))
    theta0 = rng.normal(size=3)
    lr, momentum, n_steps = 0.2, 0.7, 30
    got = call(
        heavy_ball, lambda th: jnp.asarray(a) @ th, jnp.asarray(theta0), lr=lr, momentum=momentum, n_steps=n_steps,
        what="heavy_ball(grad_fn, theta0, lr=0.2, momentum=0.7, n_steps=30)",
    )
    expect_shape("the returned iterates", got, (n_steps + 1, 3))
    want = _heavy_ball_reference(a, theta0, lr, momentum, n_steps)
    expect_close("theta_0 (first row)", np.asarray(got)[0], want[0], rtol=1e-12, atol=1e-12,
                 hint="The first row must be theta0 itself.")
    no_momentum = _heavy_ball_reference(a, theta0, lr, 0.0, n_steps)
    hint = ""
    if np.allclose(np.asarray(got), no_momentum, rtol=1e-6):
        hint = "Your iterates equal plain gradient descent: the momentum term mu*(theta_k - theta_{k-1}) is missing."
    else:
        hint = "Start with theta_{-1} = theta_0 (zero initial velocity) and use theta_{k+1} = theta_k - lr*grad + mu*(theta_k - theta_{k-1})."
    expect_close("the heavy-ball iterates", got, want, rtol=1e-5, atol=1e-8, hint=hint)
    return "Your iterates match the exact heavy-ball recurrence."


@exercise("1.3b")
def check_momentum_limit(momentum_stability_limit):
    """``momentum_stability_limit(lam, mu)`` must return 2 (1 + mu) / lam."""
    for lam, mu in [(1.0, 0.0), (10.0, 0.5), (3.0, 0.9), (0.25, 0.3)]:
        got = call(momentum_stability_limit, lam, mu, what=f"momentum_stability_limit({lam}, {mu})")
        want = 2 * (1 + mu) / lam
        hint = ""
        if abs(float(got) - 2 / lam) < 1e-9 and mu > 0:
            hint = "That is the limit without momentum; the characteristic polynomial z^2 - (1 + mu - alpha*lam) z + mu has a root at z = -1 when alpha*lam = 2(1 + mu)."
        expect_close(f"the stability limit for lam={lam}, mu={mu}", float(got), want, rtol=1e-9, hint=hint)
    return "Momentum widens the window to 0 < alpha < 2(1 + mu)/lambda."


_EDGE_STEPS = 20_000


def _edge_of_stability_runs(rates):
    """The exercise's own runs: final sharpness and loss of 20 000 GD steps of the chapter's network (sin 2x on
    32 points, widths [1, 8, 1], key 0) at each rate; ``inf`` for a run that diverges. Also the sharpness at the
    initial parameters, to recognise it in a wrong answer."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    from physml_helpers.landscape import gradient_descent, smoothness_constant
    from physml_helpers.networks import init_mlp, mse_loss

    x = jnp.linspace(-2.0, 2.0, 32)[:, None]
    y = jnp.sin(2 * x)
    params0, unravel = ravel_pytree(init_mlp(jax.random.key(0), [1, 8, 1]))

    def loss(theta):
        return mse_loss(unravel(theta), x, y)

    grad, hessian = jax.jit(jax.grad(loss)), jax.jit(jax.hessian(loss))
    runs = {}
    for lr in rates:
        end = gradient_descent(grad, params0, lr=lr, n_steps=_EDGE_STEPS)[-1]
        if bool(jnp.all(jnp.isfinite(end))):
            runs[lr] = (smoothness_constant(hessian(end)), float(loss(end)))
        else:
            runs[lr] = (float("inf"), float("inf"))
    return runs, smoothness_constant(hessian(params0))


@exercise("1.4")
def check_edge_of_stability(final_sharpness, learning_rates):
    """``final_sharpness`` maps each learning rate to the sharpness (largest Hessian eigenvalue) at the end of
    20 000 GD steps of the exercise's network; diverged runs are ``inf`` or ``nan``.

    The check reruns the exercise's training at the same rates and compares (2%: the runs that sit on the
    edge of stability oscillate about 2/alpha), so a sharpness taken at the initial parameters, a final loss
    or another quantity cannot pass; it also verifies the bound sharpness <~ 2/alpha on every converged run.
    """
    if not hasattr(final_sharpness, "items"):
        raise AssertionError(f"final_sharpness should be a dict {{learning_rate: sharpness}}, got {type(final_sharpness).__name__}.")
    rates = sorted(float(r) for r in learning_rates)
    if len(rates) < 3:
        raise AssertionError(f"explore at least three learning rates, got {len(rates)}.")
    if any(not 0 < r <= 2.0 for r in rates):
        raise AssertionError(f"the learning rates should lie in (0, 2]; the exercise asks for rates between 0.05 and 0.8, got {rates}.")
    given = {float(k): float(v) for k, v in final_sharpness.items()}
    missing = [r for r in rates if r not in given]
    if missing:
        raise AssertionError(f"final_sharpness has no entry for learning rates {missing}.")
    finite = {lr: s for lr, s in given.items() if lr in rates and np.isfinite(s)}
    if len(finite) < 2:
        raise AssertionError("fewer than two runs converged; include some smaller learning rates.")
    for lr, s in finite.items():
        if s <= 0:
            raise AssertionError(f"the sharpness at lr={lr} is {s}; it should be the largest eigenvalue, which is positive near a minimum.")
        if s > 1.05 * 2 / lr:
            raise AssertionError(
                f"at lr={lr} the final sharpness {s:.3g} exceeds 2/lr = {2 / lr:.3g} by more than 5%. "
                "GD cannot rest where lambda_max > 2/lr; train longer, or check that you take the largest "
                "eigenvalue of the Hessian at the final parameters."
            )
    reference, initial = _edge_of_stability_runs(rates)
    for lr in rates:
        want, final_loss = reference[lr]
        got = given[lr]
        if not np.isfinite(want):
            if np.isfinite(got):
                raise AssertionError(f"at lr={lr} gradient descent diverges on the exercise's network, but your entry is {got:.4g}.")
            continue
        if not np.isfinite(got):
            raise AssertionError(f"at lr={lr} gradient descent converges on the exercise's network (sharpness {want:.4g}), "
                                 f"but your entry is {got}: check for a bug in the run, or a different setup.")
        if abs(got - want) > 0.02 * want:
            hint = ""
            if abs(got - final_loss) <= 1e-3 * max(final_loss, 1e-12) + 1e-12:
                hint = " That is the final loss; the sharpness is the largest eigenvalue of the Hessian there."
            elif abs(got - initial) < 1e-3 * initial:
                hint = (" That is the sharpness at the initial parameters; take the Hessian at the parameters after "
                        f"{_EDGE_STEPS} steps.")
            raise AssertionError(
                f"at lr={lr} your final sharpness is {got:.4g}; rerunning the exercise's {_EDGE_STEPS} steps from the same "
                f"initial parameters gives {want:.4g}.{hint or ' Use the network, data and initial key given in the exercise.'}"
            )
    return "Every converged run ended where the sharpness is at most about 2/alpha, as the rerun confirms."

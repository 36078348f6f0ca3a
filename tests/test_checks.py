"""The checks framework's three behaviours, and chapter 1's checks on right, wrong and missing answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from physml_helpers.course.checks import ch01, exercise, expect_close


@exercise("0.1")
def _check_double(fn):
    expect_close("fn(3)", fn(3), 6)
    return "doubling works."


def test_correct_answer_prints_confirmation(capsys):
    _check_double(lambda x: 2 * x)
    assert capsys.readouterr().out.strip() == "Exercise 0.1: correct. doubling works."


def test_wrong_answer_raises_with_hint():
    with pytest.raises(AssertionError, match=r"Exercise 0.1: fn\(3\) is 12, expected 6 .*factor of 2"):
        _check_double(lambda x: 4 * x)


@pytest.mark.parametrize("stub", [..., None])
def test_stub_values_are_not_attempted(stub, capsys):
    _check_double(stub)
    assert "Exercise 0.1: not attempted yet" in capsys.readouterr().out


def test_not_implemented_is_not_attempted(capsys):
    def stub(x):
        raise NotImplementedError("Exercise 0.1")

    _check_double(stub)
    assert "not attempted yet" in capsys.readouterr().out


def test_crash_in_student_code_becomes_short_feedback():
    with pytest.raises(AssertionError, match=r"Exercise 0.1: your answer could not be checked \(ZeroDivisionError"):
        _check_double(lambda x: 1 / 0)


def test_expect_close_reports_shape():
    with pytest.raises(AssertionError, match=r"should have shape \(2,\), got shape \(3,\)"):
        expect_close("v", np.ones(3), np.ones(2))


# Chapter 1 -----------------------------------------------------------------------------------------

lam = sp.symbols("lambda", positive=True)


def test_ch01_stability_window(capsys):
    ch01.check_stability_window(2 / lam, 1 / lam)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="fastest step"):
        ch01.check_stability_window(1 / lam, 1 / lam)
    with pytest.raises(AssertionError, match="factor of 2"):
        ch01.check_stability_window(4 / lam, 1 / lam)
    with pytest.raises(AssertionError, match="alpha_best"):
        ch01.check_stability_window(2 / lam, 2 / lam)


def _critical(loss_fn, theta):
    n = theta.size
    return 2 / np.max(np.abs(np.linalg.eigvalsh(np.asarray(jax.hessian(loss_fn)(theta)).reshape(n, n))))


def test_ch01_critical_learning_rate(capsys):
    ch01.check_critical_learning_rate(_critical)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="You returned 1/beta"):
        ch01.check_critical_learning_rate(lambda f, t: _critical(f, t) / 2)
    with pytest.raises(AssertionError, match="could not be checked|should return one number"):
        ch01.check_critical_learning_rate(lambda f, t: "fast")


def _heavy_ball(grad_fn, theta0, *, lr, momentum, n_steps):
    out, prev, theta = [theta0], theta0, theta0
    for _ in range(n_steps):
        prev, theta = theta, theta - lr * grad_fn(theta) + momentum * (theta - prev)
        out.append(theta)
    return jnp.stack(out)


def test_ch01_heavy_ball(capsys):
    ch01.check_heavy_ball(_heavy_ball)
    assert "correct" in capsys.readouterr().out

    def plain_gd(grad_fn, theta0, *, lr, momentum, n_steps):
        return _heavy_ball(grad_fn, theta0, lr=lr, momentum=0.0, n_steps=n_steps)

    with pytest.raises(AssertionError, match="momentum term .* is missing"):
        ch01.check_heavy_ball(plain_gd)
    with pytest.raises(AssertionError, match=r"shape \(31, 3\)"):
        ch01.check_heavy_ball(lambda g, t, **kw: _heavy_ball(g, t, **kw)[1:])


def test_ch01_momentum_limit(capsys):
    ch01.check_momentum_limit(lambda lam_, mu: 2 * (1 + mu) / lam_)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="limit without momentum"):
        ch01.check_momentum_limit(lambda lam_, mu: 2 / lam_)


def _edge_runs(rates):
    """The exercise's runs written independently of the check: GD in lax.scan, eigenvalues by NumPy."""
    from jax.flatten_util import ravel_pytree

    from physml_helpers.networks import init_mlp, mse_loss

    x = jnp.linspace(-2.0, 2.0, 32)[:, None]
    params0, unravel = ravel_pytree(init_mlp(jax.random.key(0), [1, 8, 1]))
    loss = lambda th: mse_loss(unravel(th), x, jnp.sin(2 * x))  # noqa: E731
    grad = jax.grad(loss)

    @jax.jit
    def train(lr):
        return jax.lax.scan(lambda th, _: (th - lr * grad(th), None), params0, None, length=20_000)[0]

    sharp, final_loss = {}, {}
    for lr in rates:
        end = train(lr)
        ok = bool(jnp.all(jnp.isfinite(end)))
        sharp[lr] = float(np.max(np.abs(np.linalg.eigvalsh(np.asarray(jax.hessian(loss)(end)))))) if ok else float("inf")
        final_loss[lr] = float(loss(end)) if ok else float("inf")
    initial = float(np.max(np.linalg.eigvalsh(np.asarray(jax.hessian(loss)(params0)))))
    return sharp, final_loss, initial


def test_ch01_edge_of_stability(capsys):
    rates = [0.1, 0.3, 0.8, 1.2]
    sharp, final_loss, initial = _edge_runs(rates)
    assert not np.isfinite(sharp[1.2])  # diverges
    ch01.check_edge_of_stability(sharp, rates)
    assert "correct" in capsys.readouterr().out
    # two wrong quantities that the bound alone let through: the final loss, and the sharpness at the start
    with pytest.raises(AssertionError, match="That is the final loss"):
        ch01.check_edge_of_stability(final_loss, rates)
    with pytest.raises(AssertionError, match="sharpness at the initial parameters"):
        ch01.check_edge_of_stability({0.1: initial, 0.3: initial, 0.8: sharp[0.8], 1.2: float("inf")}, rates)
    with pytest.raises(AssertionError, match="diverges on the exercise's network"):
        ch01.check_edge_of_stability({**sharp, 1.2: 1.0}, rates)
    with pytest.raises(AssertionError, match="exceeds 2/lr"):
        ch01.check_edge_of_stability({0.1: 25.0, 0.2: 9.9, 0.5: 4.0}, [0.1, 0.2, 0.5])
    with pytest.raises(AssertionError, match="at least three learning rates"):
        ch01.check_edge_of_stability({0.1: 18.0}, [0.1])
    with pytest.raises(AssertionError, match="no entry for learning rates"):
        ch01.check_edge_of_stability({0.1: 18.0, 0.2: 9.0}, [0.1, 0.2, 0.3])


def test_ch01_stability_window_matches_symbols_by_name(capsys):
    plain = sp.Symbol("lambda")  # no positive=True: a different SymPy symbol, the same curvature
    ch01.check_stability_window(2 / plain, 1 / lam)
    assert "correct" in capsys.readouterr().out
    ch01.check_stability_window(2 / plain, 1 / plain)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="exactly one symbol"):
        ch01.check_stability_window(2 / plain, 1 / sp.Symbol("mu"))


# The precision rule -------------------------------------------------------------------------------


def test_float32_answers_are_compared_at_float32_precision_and_told_so():
    want = np.array([3.3230123456, -1.25])
    close32 = (want * (1 + 3e-7)).astype(np.float32)  # a correct answer computed in float32
    expect_close("theta", close32, want, rtol=1e-10)  # passes: compared at float32 precision
    wrong32 = (want * (1 + 1e-3)).astype(np.float32)
    with pytest.raises(AssertionError, match=r"compared at float32 precision.*setup_notebook\(float64=True\)"):
        expect_close("theta", wrong32, want, rtol=1e-10)
    with pytest.raises(AssertionError) as info:
        expect_close("theta", want * (1 + 1e-9), want, rtol=1e-12)  # float64: no widening, and enough digits
    message = str(info.value)
    assert "float32" not in message and "3.3230123489" in message and "relative difference 1.0e-09" in message


def test_correct_answers_pass_with_64_bit_floats_off():
    """Chapters 1, 7 and 13's checks on correct answers in a process where JAX runs in float32."""
    import subprocess
    import sys

    code = """
import sys; sys.path.insert(0, "tests")
import jax, jax.numpy as jnp, numpy as np, sympy as sp
assert not jax.config.jax_enable_x64
from physml_helpers.course.checks import ch01, ch07, ch13
import test_checks as t1, test_checks_ch07 as t7
lam = sp.Symbol("lambda", positive=True)
ch01.check_stability_window(2 / lam, 1 / lam)
ch01.check_critical_learning_rate(t1._critical)
ch01.check_heavy_ball(t1._heavy_ball)
ch01.check_momentum_limit(lambda l, mu: 2 * (1 + mu) / l)
ch07.check_product_state(t7.kron_state)
ch07.check_local_energy(t7.correct_local_energy)
def right(grad_V, q, p, dt):
    p_new = p - dt * grad_V(q)
    return q + dt * p_new, p_new
ch13.check_symplectic_euler(right)
omega, h = sp.symbols("omega h", positive=True)
ch13.check_modified_energy(omega**2 * (1 - omega**2 * h**2 / 4), omega, h)
# and a wrong answer still fails in float32, with the exercise named
def wrong(grad_V, q, p, dt):
    p_new = p - dt * grad_V(q)
    return q + dt * p, p_new
try:
    ch13.check_symplectic_euler(wrong)
except AssertionError as error:
    print("wrong answer rejected:", error)
"""
    # one process for both: each start imports JAX and compiles the checks afresh
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    correct, _, rejected = out.stdout.partition("wrong answer rejected:")
    assert correct.count(": correct.") == 8, out.stdout
    assert "Exercise 13.1" in rejected and ": correct." not in rejected, out.stdout


def test_ch01_window_demonstration(capsys):
    from physml_helpers.landscape import gradient_descent

    X = jax.random.normal(jax.random.key(7), (50, 4)) * jnp.array([1.0, 2.0, 0.5, 3.0])
    y = X @ jnp.array([1.0, -2.0, 0.5, 0.0])
    loss = lambda w: 0.5 * jnp.mean((X @ w - y) ** 2)  # noqa: E731
    w0 = jnp.zeros(4)
    critical = _critical(loss, w0)
    run = lambda f: gradient_descent(jax.grad(loss), w0, lr=f * critical, n_steps=200)  # noqa: E731
    ch01.check_window_demonstration(loss, run(0.9), run(1.1))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="'outside' run in units of 2/beta is 0.5"):
        ch01.check_window_demonstration(loss, run(0.9), run(0.5))  # both inside: no demonstration
    with pytest.raises(AssertionError, match="201 iterates"):
        ch01.check_window_demonstration(loss, run(0.9)[-1], run(1.1))

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


def test_ch01_edge_of_stability(capsys):
    ch01.check_edge_of_stability({0.1: 18.0, 0.2: 9.9, 0.5: 4.0, 2.0: float("inf")}, [0.1, 0.2, 0.5, 2.0])
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="exceeds 2/lr"):
        ch01.check_edge_of_stability({0.1: 25.0, 0.2: 9.9, 0.5: 4.0}, [0.1, 0.2, 0.5])
    with pytest.raises(AssertionError, match="at least three learning rates"):
        ch01.check_edge_of_stability({0.1: 18.0}, [0.1])
    with pytest.raises(AssertionError, match="no entry for learning rates"):
        ch01.check_edge_of_stability({0.1: 18.0, 0.2: 9.0}, [0.1, 0.2, 0.3])

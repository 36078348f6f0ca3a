"""Answer checks for the exercises: the framework every chapter's checks are written in.

A check has three behaviours, so solution notebooks fail CI when an answer is wrong and exercise
notebooks still run end to end:

* a correct answer prints a one-line confirmation;
* a wrong answer raises ``AssertionError`` whose message says what is wrong and how to fix it;
* an unattempted exercise (an argument that is ``...`` or ``None``, or student code that raises
  ``NotImplementedError``) prints "not attempted yet" and raises nothing.

Exceptions raised inside student code are turned into a short ``AssertionError`` with the
original error's type and message, never a traceback from deep inside a library.

Chapter checks live in ``physml_helpers.course.checks.chNN`` and are written with :func:`exercise`::

    @exercise("1.2")
    def check_critical_learning_rate(critical_learning_rate):
        got = call(critical_learning_rate, loss, theta, what="critical_learning_rate(loss, theta)")
        expect_close("the critical learning rate", got, 2 / beta, rtol=1e-6)
        return "2/beta matches the Hessian's largest eigenvalue."
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any, Callable

import numpy as np

__all__ = ["exercise", "call", "expect_close", "expect_shape", "is_unattempted", "NOT_ATTEMPTED"]

NOT_ATTEMPTED = "not attempted yet"


class _NotAttempted(Exception):
    """Raised inside a check when it meets a stub; caught by :func:`exercise`."""


def is_unattempted(value: Any) -> bool:
    """True for the stubs an exercise notebook starts with: ``...`` and ``None``."""
    return value is Ellipsis or value is None


def exercise(exercise_id: str) -> Callable[[Callable[..., str | None]], Callable[..., None]]:
    """Decorate a check function for exercise ``exercise_id`` (for example ``"1.2"``).

    The decorated check returns a short success message (or None) when the answer is right and
    raises ``AssertionError`` with a hint when it is wrong.
    """
    if not isinstance(exercise_id, str) or not exercise_id:
        raise TypeError(f"exercise_id must be a non-empty string like '1.2', got {exercise_id!r}")
    name = f"Exercise {exercise_id}"

    def decorate(check_fn):
        @functools.wraps(check_fn)
        def run(*args, **kwargs):
            if any(is_unattempted(a) for a in (*args, *kwargs.values())):
                print(f"{name}: {NOT_ATTEMPTED} (replace the `...` with your answer, then rerun).")
                return None
            try:
                message = check_fn(*args, **kwargs)
            except (_NotAttempted, NotImplementedError):
                print(f"{name}: {NOT_ATTEMPTED} (your function still raises NotImplementedError).")
                return None
            except AssertionError as err:
                raise AssertionError(f"{name}: {err}") from None
            except Exception as err:  # a malformed answer the check could not even compare
                raise AssertionError(
                    f"{name}: your answer could not be checked ({type(err).__name__}: {err}). "
                    "Check the type and shape of what you return against the exercise statement."
                ) from None
            print(f"{name}: correct. {message or ''}".rstrip())
            return None

        run.exercise_id = exercise_id
        return run

    return decorate


def call(fn: Callable, *args, what: str = "your function", **kwargs):
    """Call student code, turning its crashes into feedback.

    ``NotImplementedError`` passes through (the exercise is not attempted); any other exception
    becomes an ``AssertionError`` naming the call and the error.
    """
    if is_unattempted(fn):
        raise _NotAttempted
    if not callable(fn):
        raise AssertionError(f"expected a function for {what}, got {type(fn).__name__}")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as err:
        raise AssertionError(f"{what} raised {type(err).__name__}: {err}") from None


def _ratio_hint(got: float, want: float) -> str:
    if want == 0 or not math.isfinite(got):
        return ""
    ratio = got / want
    for r, hint in ((2.0, "twice"), (0.5, "half"), (-1.0, "minus")):
        if abs(ratio - r) < 1e-3 * abs(r):
            return f" Your value is {hint} the expected one: look for a factor of 2 or a sign."
    return ""


def _answer_precision(got) -> tuple[float, str]:
    """Machine epsilon of the precision the answer was computed in, and its name.

    An answer in a floating dtype narrower than float64 says so by its dtype. While JAX runs with 64-bit floats
    off, every number that came from JAX was float32 on the way, even if it now sits in a float64 NumPy array
    or a Python float, so answers are then compared at float32 precision.
    """
    dtype = getattr(got, "dtype", None)
    if dtype is not None and np.issubdtype(np.dtype(dtype), np.floating) and np.finfo(dtype).eps > np.finfo(np.float32).eps:
        return float(np.finfo(dtype).eps), np.dtype(dtype).name
    jax = sys.modules.get("jax")
    if (jax is not None and not bool(jax.config.jax_enable_x64)) or (dtype is not None and np.dtype(dtype) == np.float32):
        return float(np.finfo(np.float32).eps), "float32"
    return float(np.finfo(np.float64).eps), "float64"


# The precision rule: an answer is compared at the precision it was computed in. Its tolerance is at least
# PRECISION_FACTOR machine epsilons of its dtype (relative, and of the reference's scale in absolute terms),
# enough for the rounding of a few hundred operations; the message says when this widened the tolerance.
PRECISION_FACTOR = 100


def expect_close(what: str, got, want, *, rtol: float = 1e-7, atol: float = 0.0, hint: str = "") -> None:
    """Assert ``got`` is within ``atol + rtol * |want|`` of ``want``, elementwise, with a helpful message.

    A float32 answer (by its dtype, or any answer while JAX runs with 64-bit floats off) is compared at
    float32 precision: the tolerance is widened to ``PRECISION_FACTOR`` float32 epsilons if it was tighter,
    and the message says so and how to compare at full precision.
    """
    eps, precision = _answer_precision(got)
    try:
        got_a = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be a number or an array of numbers, got {type(got).__name__}") from None
    want_a = np.asarray(want, dtype=float)
    if got_a.shape != want_a.shape:
        raise AssertionError(f"{what} should have shape {want_a.shape}, got shape {got_a.shape}.")
    if not np.all(np.isfinite(got_a)):
        raise AssertionError(f"{what} contains inf or nan.{(' ' + hint) if hint else ''}")
    floor = PRECISION_FACTOR * eps
    widened = precision != "float64" and (rtol < floor or (atol > 0 and atol < floor * float(np.max(np.abs(want_a)))))
    if widened:
        rtol = max(rtol, floor)
        atol = max(atol, floor * float(np.max(np.abs(want_a)))) if atol > 0 else atol
    err = np.abs(got_a - want_a)
    tol = atol + rtol * np.abs(want_a)
    if np.all(err <= tol):
        return
    worst = int(np.argmax(err - tol))
    g, w = got_a.reshape(-1)[worst], want_a.reshape(-1)[worst]
    where = f" (entry {np.unravel_index(worst, got_a.shape)})" if got_a.ndim else ""
    # enough digits to show the difference: two beyond the first one in which the values differ
    digits = min(17, max(6, 2 + int(np.ceil(-np.log10(abs(g - w) / max(abs(w), 1e-300)))))) if g != w else 6
    relative = f", relative difference {abs(g - w) / abs(w):.1e}" if w != 0 else ""
    message = (f"{what} is {g:.{digits}g}{where}, expected {w:.{digits}g} "
               f"(difference {abs(g - w):.1e}{relative}; tolerance {tol.reshape(-1)[worst]:.1e}).")
    if widened:
        message += (f" It was compared at {precision} precision, the precision your answer was computed in; run the "
                    "notebook's first cell, setup_notebook(float64=True), before anything else to compute in float64.")
    message += _ratio_hint(float(g), float(w))
    if hint:
        message += " " + hint
    raise AssertionError(message)


def expect_shape(what: str, got, shape: tuple[int, ...]) -> None:
    """Assert ``got`` is an array of the given shape."""
    got_shape = np.shape(got)
    if tuple(got_shape) != tuple(shape):
        raise AssertionError(f"{what} should have shape {tuple(shape)}, got {tuple(got_shape)}.")

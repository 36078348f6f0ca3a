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


def expect_close(what: str, got, want, *, rtol: float = 1e-7, atol: float = 0.0, hint: str = "") -> None:
    """Assert ``got`` is within ``atol + rtol * |want|`` of ``want``, elementwise, with a helpful message."""
    try:
        got_a = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be a number or an array of numbers, got {type(got).__name__}") from None
    want_a = np.asarray(want, dtype=float)
    if got_a.shape != want_a.shape:
        raise AssertionError(f"{what} should have shape {want_a.shape}, got shape {got_a.shape}.")
    if not np.all(np.isfinite(got_a)):
        raise AssertionError(f"{what} contains inf or nan.{(' ' + hint) if hint else ''}")
    err = np.abs(got_a - want_a)
    tol = atol + rtol * np.abs(want_a)
    if np.all(err <= tol):
        return
    worst = int(np.argmax(err - tol))
    g, w = got_a.reshape(-1)[worst], want_a.reshape(-1)[worst]
    where = f" (entry {np.unravel_index(worst, got_a.shape)})" if got_a.ndim else ""
    message = f"{what} is {g:.6g}{where}, expected {w:.6g} (tolerance {tol.reshape(-1)[worst]:.1e})."
    message += _ratio_hint(float(g), float(w))
    if hint:
        message += " " + hint
    raise AssertionError(message)


def expect_shape(what: str, got, shape: tuple[int, ...]) -> None:
    """Assert ``got`` is an array of the given shape."""
    got_shape = np.shape(got)
    if tuple(got_shape) != tuple(shape):
        raise AssertionError(f"{what} should have shape {tuple(shape)}, got {tuple(got_shape)}.")

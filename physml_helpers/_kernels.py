r"""The one shape of every iterative method in the package.

An iterative method is built by a factory that checks its configuration once and returns a
:class:`Kernel`, a pair of pure functions (the shape of optax's ``GradientTransformation`` and of
blackjax's kernels)::

    kernel = overdamped_langevin_kernel(grad_fn, dt=0.01, temperature=0.5)
    state = kernel.init(x0)                      # a NamedTuple State
    for k in jax.random.split(key, 1000):
        state, info = kernel.step(k, state)      # key first where the step is random

``State`` holds everything the next step needs; ``Info`` holds what a user needs to trust the step
(acceptance, gradient norm, error estimate, whether a solve converged). Deterministic steps take no
key: ``state, info = kernel.step(state)``. Steps are jitted, and compiled once per callable and input
shape: numerical settings (step sizes, temperatures, couplings) are traced arguments, so changing
them never recompiles.

Every module keeps a convenience function with the method's plain name (``overdamped_langevin``,
``gradient_descent``, ``metropolis``, ...) that runs the kernel in one :func:`jax.lax.scan` via
:func:`scan_kernel`, so chapters read simply.

A solver that stops at an iteration cap or a tolerance it could not meet never returns as if it had
converged: its ``Info`` says ``converged=False``, and the convenience function turns that into a
:class:`ConvergenceError` (or, when it is itself being traced by ``jit``/``vmap`` and so cannot raise,
into NaN in the entries that did not converge).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

__all__ = ["Kernel", "ConvergenceError", "scan_kernel", "require_converged", "require_finite_history"]


class Kernel(NamedTuple):
    """An iterative method as a pair of pure functions.

    Attributes:
      init: builds the initial ``State`` (a NamedTuple) from the starting point.
      step: advances it, ``step(key, state, ...) -> (state, info)`` when random,
        ``step(state, ...) -> (state, info)`` otherwise.
    """

    init: Callable
    step: Callable


class ConvergenceError(RuntimeError):
    """A solver stopped before meeting its tolerance (an iteration cap, a step size that underflowed, a
    fixed-point iteration that did not contract). The message says which limit was hit and what to change."""


def scan_kernel(step: Callable, state: Any, n_steps: int, key=None, *, record_every: int = 1,
                record: Callable = lambda state: state):
    """Run ``step`` ``n_steps`` times inside one :func:`jax.lax.scan`; traceable (call it inside ``jit``).

    With a key, step ``i`` receives ``jax.random.split(key, n_steps)[i]``, whatever ``record_every``: how a
    run is recorded never changes the trajectory.

    Args:
      step: ``step(key, state) -> (state, info)`` if ``key`` is given, else ``step(state) -> (state, info)``.
      state: the initial state.
      n_steps: number of steps, a multiple of ``record_every`` (static).
      key: a JAX key, or None for a deterministic step.
      record_every: keep ``record(state)`` and the ``info`` of every this-many-th step (static).
      record: what to keep of a state (default: the whole state).

    Returns:
      ``(state, records, infos)``: the final state; ``record(state)`` after steps ``record_every``,
      ``2 record_every``, ..., stacked on a new leading axis of length ``n_steps // record_every``; and
      the ``info`` of those same steps, stacked likewise.
    """
    import jax

    n_blocks = n_steps // record_every

    def block(state, step_keys):
        if key is None:
            state, infos = jax.lax.scan(lambda s, _: step(s), state, None, length=record_every)
        else:
            state, infos = jax.lax.scan(lambda s, k: step(k, s), state, step_keys)
        last_info = jax.tree_util.tree_map(lambda a: a[-1], infos)
        return state, (record(state), last_info)

    step_keys = None if key is None else jax.random.split(key, n_steps).reshape(n_blocks, record_every)
    state, (records, infos) = jax.lax.scan(block, state, step_keys, length=n_blocks)
    return state, records, infos


def require_converged(converged, message: Callable[[], str]) -> bool:
    """Raise :class:`ConvergenceError` if ``converged`` (a bool or bool array) is concretely not all True.

    Returns True when the check was made (concrete values), False when ``converged`` is being traced and
    the caller must signal non-convergence another way (NaN in the entries that did not converge).
    """
    import jax
    import numpy as np

    if isinstance(converged, jax.core.Tracer):
        return False
    if not bool(np.all(np.asarray(converged))):
        raise ConvergenceError(message())
    return True


def require_finite_history(name: str, history, lr) -> None:
    """Raise :class:`ConvergenceError` if a training loss recorded in ``history`` (float[n_steps, ...]) became
    inf or nan: the optimizer diverged, and the parameters it returns are not a fit. Skipped when traced."""
    import jax
    import numpy as np

    if isinstance(history, jax.core.Tracer):
        return
    values = np.asarray(history)
    bad = ~np.isfinite(values.reshape(values.shape[0], -1)).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise ConvergenceError(
            f"{name} diverged: the loss became {values.reshape(values.shape[0], -1)[first][0]} at step {first} "
            f"of {values.shape[0]}; lower the learning rate (lr={lr}) or rescale the data"
        )

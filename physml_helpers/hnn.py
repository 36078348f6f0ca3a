r"""Conservation by construction (chapter 13): Hamiltonian networks, learned potentials, pairwise forces,
and a symplectic map from a generating function.

Phase-space states are arrays ``[..., 2 d]`` holding ``(q, p)``. Networks come from
:mod:`physml_helpers.networks` (lists of ``(W, b)``, tanh hidden layers).

* :func:`hamiltonian_field`: :math:`(\partial H/\partial p, -\partial H/\partial q)` for any scalar
  :math:`H(q, p)`, so a learned :math:`H_\theta` conserves :math:`H_\theta` exactly in continuous time.
* :func:`init_hnn`, :func:`hnn_hamiltonian`, :func:`hnn_field`: a Hamiltonian neural network;
  :func:`init_baseline`, :func:`baseline_field`: a network that outputs the vector field directly.
* :func:`fit_vector_field`: train either on (state, time derivative) pairs with optax Adam.
* :func:`pairwise_forces`: forces :math:`F_{ij} = f(|r_{ij}|)\,\hat r_{ij}`, antisymmetric by
  construction, so the total internal force vanishes and momentum is conserved.
* :func:`generating_function_map`: the symplectic map defined implicitly by a type-2 generating
  function :math:`G(q, P) = qP + h\,g(q, P)`.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import require_converged, require_finite_history
from physml_helpers.networks import _as_input, _check_layers, _mlp, adam_scan, init_mlp

__all__ = [
    "hamiltonian_field", "init_hnn", "hnn_hamiltonian", "hnn_field", "init_baseline", "baseline_field",
    "init_potential", "potential_energy", "potential_field", "fit_vector_field", "pairwise_forces",
    "FixedPointInfo", "generating_function_solve", "generating_function_map",
]


def _split(state):
    d = state.shape[-1] // 2
    return state[..., :d], state[..., d:]


def _single_state(state, dtype=None, *, d: int | None = None, init: str = ""):
    """One phase-space state (q, p) of shape [2 d] (d given by the network when known): converted and checked for
    finiteness when concrete (lists and integers to ``dtype``, or the default float), shape checked statically
    (valid under jit and vmap). Returns the state."""
    if not _v.is_traced(state):
        if dtype is None:
            state = _v.float_array("state", state, finite=True)
        else:
            state = _as_input("state", state, dtype, init=init or "init_hnn")
    elif not jnp.issubdtype(state.dtype, jnp.floating):
        raise TypeError(f"state must hold real floating numbers, got dtype {state.dtype}")
    shape = state.shape
    if len(shape) != 1 or shape[0] % 2 or shape[0] == 0:
        raise ValueError(
            f"state must be one phase-space point (q, p) of shape [2 d], got shape {shape}; "
            "use jax.vmap for a batch of states"
        )
    if d is not None and shape[0] != 2 * d:
        raise ValueError(
            f"state must have 2 d = {2 * d} entries for params made by {init}(key, dim={d}), got shape {shape}; "
            "params and state disagree on the number of degrees of freedom"
        )
    return state


def _network(params, init: str, *, inputs: str, outputs: str) -> tuple:
    """Static checks of a network made by ``init``: returns (dtype, d), d the degrees of freedom its input width
    implies; the output width must be 1 (``outputs="scalar"``) or its input width (``outputs="same"``)."""
    dtype = _check_layers(params, init)
    n_in, n_out = params[0][0].shape[0], params[-1][0].shape[1]
    if inputs == "phase" and n_in % 2:
        raise ValueError(f"params must take a phase-space point of even width 2 d (from {init}), got input width {n_in}")
    want = 1 if outputs == "scalar" else n_in
    if n_out != want:
        raise ValueError(f"params must output {want} number(s) (as made by {init}), got an output width {n_out}")
    return dtype, (n_in // 2 if inputs == "phase" else n_in)


def hamiltonian_field(hamiltonian: Callable, state):
    r"""Hamilton's equations for a scalar ``hamiltonian(q, p)`` at ``state = (q, p)``.

    Args:
      hamiltonian: ``H(q, p) -> scalar`` for ``q``, ``p`` of shape [d].
      state: float[2 d], one phase-space point (use :func:`jax.vmap` for batches).

    Returns:
      float[2 d]: :math:`(\dot q, \dot p) = (\partial H/\partial p, -\partial H/\partial q)`.

    Raises:
      ValueError: ``state`` not one point of even length, or ``hamiltonian`` not scalar (static checks); an inf or
        nan in a concrete ``state``.
      TypeError: ``hamiltonian`` not callable, ``state`` not an array of real numbers.
    """
    _v.callable_("hamiltonian", hamiltonian)
    state = _single_state(state)
    q, p = _split(state)
    _v.output_shape("hamiltonian", hamiltonian, q, p, expected=(), what=" (H(q, p) is a scalar energy)")
    dq, dp = jax.grad(hamiltonian, argnums=(0, 1))(q, p)
    return jnp.concatenate([dp, -dq])


def init_hnn(key, dim: int, *, hidden: int = 64, depth: int = 2, dtype=None):
    r"""Parameters of a Hamiltonian network :math:`H_\theta(q, p)` for ``dim`` degrees of freedom.

    Args:
      key: JAX random key.
      dim: degrees of freedom d >= 1 (the network's input has 2 d entries, its output one).
      hidden: width of the tanh layers, >= 1; depth: number of hidden layers, >= 1.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      A list of ``(W, b)`` pairs (see :func:`~physml_helpers.networks.init_mlp`).

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: a size < 1.
    """
    return _init(key, dim, hidden, depth, dtype, inputs="phase", outputs="scalar")


def _init(key, dim, hidden, depth, dtype, *, inputs, outputs):
    """An MLP whose input and output are phase space (2 dim), configuration space (dim) or a scalar."""
    _v.key(key)
    dim = _v.count("dim", dim, minimum=1)
    hidden = _v.count("hidden", hidden, minimum=1)
    depth = _v.count("depth", depth, minimum=1)
    width = {"phase": 2 * dim, "config": dim, "scalar": 1}
    return init_mlp(key, [width[inputs], *[hidden] * depth, width[outputs]], dtype=dtype)


def hnn_hamiltonian(params, q, p):
    r"""The learned scalar :math:`H_\theta(q, p)` for one state.

    Args:
      params: from :func:`init_hnn`; q, p: float[d] each.

    Returns:
      float[] the learned energy.

    Raises:
      TypeError: ``params`` not a network from :func:`init_hnn`; ``q`` or ``p`` not numeric, or floating arrays
        of another dtype than the parameters.
      ValueError: ``q`` and ``p`` not vectors of the network's d (a static check); an inf or nan in concrete
        ``q``, ``p`` or ``params``.
    """
    dtype, d = _network(params, "init_hnn", inputs="phase", outputs="scalar")
    q = _vector("q", q, dtype, d, "init_hnn")
    p = _vector("p", p, dtype, d, "init_hnn")
    return _mlp(params, jnp.concatenate([q, p])[None, :], name="(q, p)", init="init_hnn")[0, 0]


def _vector(name: str, x, dtype, d: int, init: str):
    """One vector of d coordinates (or momenta) in the network's dtype."""
    x = _as_input(name, x, dtype, init=init)
    if x.shape != (d,):
        raise ValueError(f"{name} must be one vector of d = {d} entries for params made by {init}(key, dim={d}), got "
                         f"shape {x.shape}" + ("; use jax.vmap for a batch" if x.ndim > 1 else ""))
    return x


def hnn_field(params, state):
    r"""The HNN's vector field: Hamilton's equations for :math:`H_\theta`.

    Args:
      params: from :func:`init_hnn`; state: float[2 d], one phase-space point.

    Returns:
      float[2 d] the time derivative :math:`(\dot q, \dot p)`.

    Raises:
      TypeError: ``params`` not a network from :func:`init_hnn`; ``state`` not numeric or of another floating
        dtype than the parameters.
      ValueError: ``state`` not one point of the network's size (a static check); an inf or nan in a concrete
        ``state`` or ``params``.
    """
    dtype, d = _network(params, "init_hnn", inputs="phase", outputs="scalar")
    state = _single_state(state, dtype, d=d, init="init_hnn")
    return hamiltonian_field(functools.partial(hnn_hamiltonian, params), state)


def init_baseline(key, dim: int, *, hidden: int = 64, depth: int = 2, dtype=None):
    """Parameters of a plain network mapping ``(q, p)`` to ``(q', p')`` (the time derivatives).

    Args:
      key: JAX random key; dim: degrees of freedom d >= 1 (input and output have 2 d entries);
      hidden, depth: width and number of tanh layers, >= 1; dtype: floating dtype.

    Returns:
      A list of ``(W, b)`` pairs.

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: a size < 1.
    """
    return _init(key, dim, hidden, depth, dtype, inputs="phase", outputs="phase")


def baseline_field(params, state):
    """The plain network's vector field.

    Args:
      params: from :func:`init_baseline`; state: float[2 d], one phase-space point.

    Returns:
      float[2 d] the predicted time derivative.

    Raises:
      TypeError: ``params`` not a network from :func:`init_baseline`; ``state`` not numeric or of another
        floating dtype than the parameters.
      ValueError: ``state`` not one point of the network's size (a static check); an inf or nan in a concrete
        ``state`` or ``params``.
    """
    dtype, d = _network(params, "init_baseline", inputs="phase", outputs="same")
    state = _single_state(state, dtype, d=d, init="init_baseline")
    return _mlp(params, state[None, :], name="state", init="init_baseline")[0]


def init_potential(key, dim: int, *, hidden: int = 64, depth: int = 2, dtype=None):
    r"""Parameters of a learned potential :math:`V_\theta(q)` for ``dim`` coordinates.

    Args:
      key: JAX random key; dim: number of coordinates d >= 1; hidden, depth: width and number of tanh
      layers, >= 1; dtype: floating dtype.

    Returns:
      A list of ``(W, b)`` pairs (input d, output 1).

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: a size < 1.
    """
    return _init(key, dim, hidden, depth, dtype, inputs="config", outputs="scalar")


def potential_energy(params, q):
    r"""The learned scalar :math:`V_\theta(q)` for one configuration.

    Args:
      params: from :func:`init_potential`; q: float[d].

    Returns:
      float[] the learned potential energy.

    Raises:
      TypeError: ``params`` not a network from :func:`init_potential`; ``q`` not numeric or of another floating
        dtype than the parameters.
      ValueError: ``q`` not a vector of the network's d (a static check); an inf or nan in a concrete ``q`` or
        ``params``.
    """
    dtype, d = _network(params, "init_potential", inputs="config", outputs="scalar")
    q = _vector("q", q, dtype, d, "init_potential")
    return _mlp(params, q[None, :], name="q", init="init_potential")[0, 0]


def potential_field(params, state):
    r"""Newton's equations with unit mass and the learned potential: :math:`(\dot q, \dot p) = (p, -\nabla V_\theta(q))`.

    The energy :math:`\tfrac12 p^2 + V_\theta(q)` is conserved exactly along its flow, and the force can be
    handed to :func:`~physml_helpers.integrators.leapfrog` as ``grad_potential``.

    Args:
      params: from :func:`init_potential`; state: float[2 d], one phase-space point.

    Returns:
      float[2 d] the time derivative.

    Raises:
      TypeError: ``params`` not a network from :func:`init_potential`; ``state`` not numeric or of another
        floating dtype than the parameters.
      ValueError: ``state`` not one point of the network's size (a static check); an inf or nan in a concrete
        ``state`` or ``params``.
    """
    dtype, d = _network(params, "init_potential", inputs="config", outputs="scalar")
    state = _single_state(state, dtype, d=d, init="init_potential")
    q, p = _split(state)
    return jnp.concatenate([p, -jax.grad(potential_energy, argnums=1)(params, q)])


@functools.partial(jax.jit, static_argnames=("field", "n_steps"))
def _fit(field, params, states, derivatives, lr, n_steps):
    def loss(p):
        predicted = jax.vmap(lambda s: field(p, s))(states)
        return jnp.mean((predicted - derivatives) ** 2)

    return adam_scan(loss, params, lr=lr, n_steps=n_steps)


def fit_vector_field(field: Callable, params, states, derivatives, *, lr: float = 3e-3, n_steps: int = 2000):
    r"""Fit ``field(params, state)`` to observed time derivatives by full-batch Adam (one ``lax.scan``).

    Args:
      field: :func:`hnn_field` or :func:`baseline_field` (or any ``(params, state) -> d state/dt``).
      params: initial parameters.
      states: float[n, 2 d] observed states; derivatives: float[n, 2 d] their observed time derivatives.
      lr: peak learning rate of the cosine schedule, > 0; n_steps: optimization steps, >= 1.

    Returns:
      ``(params, history)`` with the mean squared error before every step, float[n_steps].

    Raises:
      ConvergenceError: the loss became non-finite (lower ``lr``).
      TypeError: ``field`` not callable, arrays not numeric, counts not integers.
      ValueError: ``states``/``derivatives`` not both [n, 2 d] with n >= 1, or with an inf or nan; ``field``
        failing on one state (``params`` for another d) or output not [2 d]; bad ``lr``/``n_steps``.
    """
    _v.callable_("field", field)
    states = _v.float_array("states", states, finite=True, nonempty=True)
    derivatives = _v.float_array("derivatives", derivatives, finite=True)
    if states.ndim != 2 or derivatives.shape != states.shape or states.shape[1] % 2:
        raise ValueError(f"states and derivatives must both be [n, 2 d], got {states.shape} and {derivatives.shape}")
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    _v.finite_tree("params", params)
    try:
        _v.output_shape("field", field, params, states[0], expected=states.shape[1:],
                        what=" (field(params, state) for one state)")
    except ValueError as err:
        raise ValueError(f"{err}; check that params fit states of width {states.shape[1]} (2 d)") from err
    params, history = _fit(field, params, states, derivatives, lr, n_steps)
    require_finite_history("fit_vector_field", history, lr)
    return params, history


def pairwise_forces(magnitude: Callable, positions):
    r"""Forces on ``N`` particles from a central pair interaction, antisymmetric by construction.

    :math:`\mathbf F_i = \sum_{j\ne i} f(r_{ij})\,(\mathbf r_i - \mathbf r_j)/r_{ij}`, with
    :math:`f` = ``magnitude`` (positive: repulsive). Since the term for :math:`(j, i)` is minus the term
    for :math:`(i, j)`, :math:`\sum_i \mathbf F_i = 0` exactly (up to rounding): Newton's third law.

    Args:
      magnitude: ``r -> f(r)``, elementwise on an array of distances (returns an array of its shape).
      positions: float[N, dim].

    Returns:
      float[N, dim], in the dtype of ``positions``.

    Raises:
      TypeError: ``magnitude`` not callable, ``positions`` not numeric.
      ValueError: ``positions`` not 2-D, or ``magnitude`` not elementwise (a static check); for concrete
        ``positions``, an inf or nan, or two particles at one place (the direction of their force is undefined).
    """
    _v.callable_("magnitude", magnitude)
    x = _v.float_array("positions", positions, ndim=2, finite=True)
    n = x.shape[0]
    if not _v.is_traced(x) and n > 1:
        gaps = np.linalg.norm(np.asarray(x)[:, None, :] - np.asarray(x)[None, :, :], axis=-1) + np.eye(n)
        if np.any(gaps == 0):
            i, j = (int(k) for k in np.argwhere(gaps == 0)[0])
            raise ValueError(f"positions must be distinct, got particles {i} and {j} at the same place "
                             f"{np.asarray(x)[i].tolist()}: the direction of their pair force is undefined")
    diff = x[:, None, :] - x[None, :, :]
    eye = jnp.eye(n, dtype=x.dtype)
    r = jnp.sqrt(jnp.sum(diff**2, axis=-1) + eye)  # 1 on the diagonal avoids 0/0; masked below
    f = magnitude(r)
    if getattr(f, "shape", None) != r.shape:
        raise ValueError(
            f"magnitude must act elementwise on the [N, N] distances, returning shape {r.shape}, "
            f"got {getattr(f, 'shape', type(f).__name__)}"
        )
    pair = jnp.where(eye == 0, f.astype(x.dtype) / r, jnp.zeros((), x.dtype))
    return jnp.sum(pair[:, :, None] * diff, axis=1)


class FixedPointInfo(NamedTuple):
    r"""How the implicit equation :math:`p = P + h\,\partial_q g(q, P)` was solved: ``n_iter`` iterations
    (int[]), the final ``residual`` :math:`\max|P + h\,\partial_q g(q, P) - p|` (float[]) and ``converged``
    (bool[]), whether the residual met the tolerance."""

    n_iter: jax.Array
    residual: jax.Array
    converged: jax.Array


@functools.partial(jax.jit, static_argnames=("g", "max_iter"))
def _solve_generating(g, q, p, h, tol, max_iter):
    dg_dq = jax.grad(g, argnums=0)
    dg_dP = jax.grad(g, argnums=1)
    threshold = tol * (1 + jnp.max(jnp.abs(p)))

    def residual(P):
        return jnp.max(jnp.abs(P + h * dg_dq(q, P) - p))

    def cond(carry):
        _, n, r = carry
        return (n < max_iter) & ~(r <= threshold)

    def iterate(P):
        return p - h * dg_dq(q, P).astype(p.dtype)

    def body(carry):
        P, n, _ = carry
        P = iterate(P)
        return P, n + 1, residual(P)

    P, n, r = jax.lax.while_loop(cond, body, (p, jnp.zeros((), jnp.int32), residual(p)))
    # Two more iterations once the values have converged: derivatives taken through the solve (jacfwd)
    # contract at the same rate from a larger start, and these bring them to rounding level too.
    P = iterate(iterate(P))
    r = residual(P)
    converged = (r <= threshold) & jnp.all(jnp.isfinite(P))
    return q + h * dg_dP(q, P).astype(q.dtype), P, FixedPointInfo(n, r, converged)


def _check_generating(g, q, p, h, tol, max_iter):
    _v.callable_("g", g)
    q = _v.float_array("q", q, ndim=1, finite=True, nonempty=True)
    p = _v.float_array("p", p, ndim=1, finite=True, nonempty=True)
    if q.shape != p.shape:
        raise ValueError(f"q and p must have one shape [d], got {q.shape} and {p.shape}")
    h = _v.positive_float("h", h)
    max_iter = _v.count("max_iter", max_iter, minimum=1)
    tol = 64 * float(jnp.finfo(p.dtype).eps) if tol is None else _v.positive_float("tol", tol)
    _v.output_shape("g", g, q, p, expected=(), what=" (g(q, P) is a scalar generating function)")
    return q, p, h, tol, max_iter


def generating_function_solve(g: Callable, q, p, *, h: float, tol: float | None = None, max_iter: int = 100):
    r"""The map of :func:`generating_function_map` with its solver report, never raising on non-convergence.

    Args:
      g: scalar function ``g(q, P)``.
      q, p: float[d] each.
      h: step, > 0.
      tol: the fixed-point iteration stops when :math:`\max|P + h\,\partial_q g - p| \le` ``tol`` ·
        (1 + max|p|); default 64 machine epsilons of ``p``'s dtype.
      max_iter: the most iterations, >= 1.

    Returns:
      ``(Q, P, info)``: float[d] each and a :class:`FixedPointInfo` (``n_iter`` counts the iterations until
      the tolerance was met; two more follow, so that derivatives through the solve converge too).
      Forward-mode differentiable (``jax.jvp``, ``jax.jacfwd``); reverse mode through the ``while_loop`` is
      not supported by JAX.

    Raises:
      TypeError: ``g`` not callable, ``q`` or ``p`` not numeric, ``max_iter`` not an integer.
      ValueError: ``q``, ``p`` not non-empty vectors of one shape, an inf or nan in them (when concrete), ``h`` or
        ``tol`` not > 0, ``g`` not scalar.
    """
    q, p, h, tol, max_iter = _check_generating(g, q, p, h, tol, max_iter)
    return _solve_generating(g, q, p, h, tol, max_iter)


def generating_function_map(g: Callable, q, p, *, h: float, tol: float | None = None, max_iter: int = 100):
    r"""The symplectic map :math:`(q, p) \mapsto (Q, P)` of the type-2 generating function
    :math:`G(q, P) = q\cdot P + h\,g(q, P)`.

    The map is defined implicitly by :math:`p = \partial G/\partial q = P + h\,\partial_q g(q, P)` and
    :math:`Q = \partial G/\partial P = q + h\,\partial_P g(q, P)`. The first equation is solved for
    :math:`P` by fixed-point iteration, a contraction when :math:`h\,\lVert\partial_P\partial_q g\rVert < 1`,
    until its residual meets ``tol``; then :math:`Q` follows. Any smooth ``g``, for example a neural
    network, gives an exactly symplectic map. With :math:`g = H(q, P)` it is the symplectic Euler method.
    When the iteration does not converge (``h`` too large for this ``g``) there is no map to return: it
    raises, or, when traced (inside ``jit``, ``vmap`` or ``scan``) and so unable to raise, returns NaN.

    Args:
      g: scalar function ``g(q, P)``.
      q, p: float[d] each.
      h: step, > 0.
      tol: tolerance on the residual of the implicit equation, relative to 1 + max|p|; default 64
        machine epsilons of ``p``'s dtype.
      max_iter: the most fixed-point iterations, >= 1.

    Returns:
      ``(Q, P)``, float[d] each (NaN where a traced call did not converge). Forward-mode differentiable.

    Raises:
      ConvergenceError: the fixed-point iteration did not meet ``tol`` within ``max_iter`` iterations.
      TypeError: ``g`` not callable, ``q`` or ``p`` not numeric, ``max_iter`` not an integer.
      ValueError: ``q``, ``p`` not non-empty vectors of one shape, an inf or nan in them (when concrete), ``h`` or
        ``tol`` not > 0, ``g`` not scalar.
    """
    Q, P, info = generating_function_solve(g, q, p, h=h, tol=tol, max_iter=max_iter)

    def message():
        return (
            f"generating_function_map: the fixed-point iteration for P did not converge in {int(info.n_iter)} "
            f"iterations (residual {float(info.residual):.3g} in p = P + h dg/dq); the iteration contracts only "
            "when h |d^2 g / dq dP| < 1: lower h, or raise max_iter if the residual is still falling"
        )

    if not require_converged(info.converged, message):
        Q = jnp.where(info.converged, Q, jnp.nan)
        P = jnp.where(info.converged, P, jnp.nan)
    return Q, P

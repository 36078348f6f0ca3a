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
from typing import Callable

import jax
import jax.numpy as jnp

from physml_helpers import _validation as _v
from physml_helpers.networks import adam_scan, init_mlp, mlp

__all__ = [
    "hamiltonian_field", "init_hnn", "hnn_hamiltonian", "hnn_field", "init_baseline", "baseline_field",
    "init_potential", "potential_energy", "potential_field", "fit_vector_field", "pairwise_forces", "generating_function_map",
]


def _split(state):
    d = state.shape[-1] // 2
    return state[..., :d], state[..., d:]


def hamiltonian_field(hamiltonian: Callable, state):
    r"""Hamilton's equations for a scalar ``hamiltonian(q, p)`` at ``state = (q, p)``.

    Returns :math:`(\dot q, \dot p) = (\partial H/\partial p, -\partial H/\partial q)` with the shape of
    ``state`` (a single state ``[2 d]``; use :func:`jax.vmap` for batches).
    """
    q, p = _split(state)
    dq, dp = jax.grad(hamiltonian, argnums=(0, 1))(q, p)
    return jnp.concatenate([dp, -dq])


def init_hnn(key, dim: int, *, hidden: int = 64, depth: int = 2, dtype=None):
    """Parameters of a Hamiltonian network :math:`H_\\theta(q, p)` for ``dim`` degrees of freedom
    (``depth`` tanh layers of width ``hidden``; ``dtype`` as in :func:`~physml_helpers.networks.init_mlp`)."""
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
    """The learned scalar :math:`H_\\theta(q, p)` for one state."""
    return mlp(params, jnp.concatenate([q, p])[None, :])[0, 0]


def hnn_field(params, state):
    """The HNN's vector field at one state ``[2 d]``: Hamilton's equations for :math:`H_\\theta`."""
    return hamiltonian_field(functools.partial(hnn_hamiltonian, params), state)


def init_baseline(key, dim: int, *, hidden: int = 64, depth: int = 2, dtype=None):
    """Parameters of a plain network mapping ``(q, p)`` to ``(q', p')`` (the time derivatives)."""
    return _init(key, dim, hidden, depth, dtype, inputs="phase", outputs="phase")


def baseline_field(params, state):
    """The plain network's vector field at one state ``[2 d]``."""
    return mlp(params, state[None, :])[0]


def init_potential(key, dim: int, *, hidden: int = 64, depth: int = 2, dtype=None):
    """Parameters of a learned potential :math:`V_\\theta(q)` for ``dim`` coordinates."""
    return _init(key, dim, hidden, depth, dtype, inputs="config", outputs="scalar")


def potential_energy(params, q):
    """The learned scalar :math:`V_\\theta(q)` for one configuration ``[d]``."""
    return mlp(params, q[None, :])[0, 0]


def potential_field(params, state):
    r"""Newton's equations with unit mass and the learned potential: :math:`(\dot q, \dot p) = (p, -\nabla V_\theta(q))`.

    The energy :math:`\tfrac12 p^2 + V_\theta(q)` is conserved exactly along its flow, and the force can be
    handed to :func:`~physml_helpers.integrators.leapfrog` as ``grad_potential``.
    """
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
      states: ``[n, 2 d]`` observed states; derivatives: ``[n, 2 d]`` their observed time derivatives.
      lr: peak learning rate of the cosine schedule, > 0; n_steps: optimization steps, >= 1.

    Returns:
      ``(params, history)`` with the mean squared error at every step.
    """
    _v.callable_("field", field)
    states = _v.float_array("states", states)
    derivatives = _v.float_array("derivatives", derivatives)
    if states.ndim != 2 or derivatives.shape != states.shape or states.shape[1] % 2:
        raise ValueError(f"states and derivatives must both be [n, 2 d], got {states.shape} and {derivatives.shape}")
    lr = _v.positive_float("lr", lr)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    return _fit(field, params, states, derivatives, jnp.asarray(lr, states.dtype), n_steps)


def pairwise_forces(magnitude: Callable, positions):
    r"""Forces on ``N`` particles from a central pair interaction, antisymmetric by construction.

    :math:`\mathbf F_i = \sum_{j\ne i} f(r_{ij})\,(\mathbf r_i - \mathbf r_j)/r_{ij}`, with
    :math:`f` = ``magnitude`` (positive: repulsive). Since the term for :math:`(j, i)` is minus the term
    for :math:`(i, j)`, :math:`\sum_i \mathbf F_i = 0` exactly (up to rounding): Newton's third law.

    Args:
      magnitude: ``r -> f(r)``, elementwise on an array of distances.
      positions: ``[N, dim]``.

    Returns:
      ``[N, dim]``.
    """
    _v.callable_("magnitude", magnitude)
    x = jnp.asarray(positions)
    n = x.shape[0]
    diff = x[:, None, :] - x[None, :, :]
    off = ~jnp.eye(n, dtype=bool)
    r = jnp.sqrt(jnp.sum(diff**2, axis=-1) + jnp.eye(n))  # 1 on the diagonal avoids 0/0; masked below
    pair = jnp.where(off, magnitude(r) / r, 0.0)
    return jnp.sum(pair[:, :, None] * diff, axis=1)


def generating_function_map(g: Callable, q, p, *, h: float, n_iter: int = 60):
    r"""The symplectic map :math:`(q, p) \mapsto (Q, P)` of the type-2 generating function
    :math:`G(q, P) = q\cdot P + h\,g(q, P)`.

    The map is defined implicitly by :math:`p = \partial G/\partial q = P + h\,\partial_q g(q, P)` and
    :math:`Q = \partial G/\partial P = q + h\,\partial_P g(q, P)`. The first equation is solved for
    :math:`P` by fixed-point iteration (a contraction for small enough :math:`h`), then :math:`Q` follows.
    Any smooth ``g``, for example a neural network, gives an exactly symplectic map. With
    :math:`g = H(q, P)` it is the symplectic Euler method.

    Args:
      g: scalar function ``g(q, P)``.
      q, p: arrays of one shape ``[d]``.
      h: step, > 0.
      n_iter: fixed-point iterations, >= 1.

    Returns:
      ``(Q, P)``.
    """
    _v.callable_("g", g)
    h = _v.positive_float("h", h)
    n_iter = _v.count("n_iter", n_iter, minimum=1)
    dg_dq = jax.grad(g, argnums=0)
    dg_dP = jax.grad(g, argnums=1)

    def iterate(P, _):
        return p - h * dg_dq(q, P), None

    P, _ = jax.lax.scan(iterate, p, None, length=n_iter)
    return q + h * dg_dP(q, P), P

r"""Restricted Boltzmann machines small enough to enumerate (chapter 5).

Visible spins :math:`v \in \{\pm1\}^{n_v}` and hidden spins :math:`h \in \{\pm1\}^{n_h}` with energy
:math:`E(v, h) = -v^\top W h - a^\top v - b^\top h`. Summing out the hidden layer gives the visible
log-weight (minus the free energy)

.. math:: \log p^*(v) = a^\top v + \sum_j \log 2\cosh\big(b_j + (W^\top v)_j\big),

and for :math:`n_v \lesssim 20` the partition function :math:`Z = \sum_v p^*(v)` is an exact sum. The
log-likelihood gradient is a data average minus a model average,
:math:`\partial_W \langle\log p\rangle = \langle v \tanh(b + W^\top v)^\top\rangle_{\rm data} - \langle\cdot\rangle_{\rm model}`;
:func:`exact_gradient` takes the model average by enumeration, :func:`cd_gradient` replaces it by k
block-Gibbs steps started at the data (contrastive divergence, CD-k).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, scan_kernel

__all__ = [
    "RBMParams", "all_spin_states", "init_rbm", "visible_log_weight", "exact_log_probs", "exact_gradient",
    "gibbs_step", "cd_gradient", "kl_divergence", "TrainState", "TrainInfo", "training_kernel", "train_rbm",
    "train_rbm_tracking_kl",
]

_MAX_ENUMERATE = 20


class RBMParams(NamedTuple):
    """RBM parameters: ``weights`` float[n_v, n_h], ``visible_bias`` float[n_v], ``hidden_bias`` float[n_h]."""

    weights: jax.Array
    visible_bias: jax.Array
    hidden_bias: jax.Array


def _params(params):
    if not isinstance(params, RBMParams):
        raise TypeError(f"params must be an RBMParams (from init_rbm), got {type(params).__name__}")
    W = _v.float_array("params.weights", params.weights, ndim=2, finite=True)
    a = _v.float_array("params.visible_bias", params.visible_bias, ndim=1, finite=True)
    b = _v.float_array("params.hidden_bias", params.hidden_bias, ndim=1, finite=True)
    if a.shape[0] != W.shape[0] or b.shape[0] != W.shape[1]:
        raise ValueError(f"inconsistent RBM shapes: weights {W.shape}, visible_bias {a.shape}, hidden_bias {b.shape}")
    return RBMParams(W, a, b)


def _visible(name, v, n):
    v = _v.float_array(name, v, nonempty=True)
    if v.ndim < 1 or v.shape[-1] != n:
        raise ValueError(f"{name} must have last dimension n_visible = {n}, got shape {v.shape}")
    _v.spins(name, v)
    return v


def all_spin_states(n: int) -> jax.Array:
    """All :math:`2^n` configurations of n spins, in binary order (row k: bits of k, 0 -> +1, 1 -> -1).

    Args:
      n: number of spins, 1 <= n <= 20.

    Returns:
      float[2**n, n] of +1/-1 (JAX's default float).

    Raises:
      TypeError: not an integer.
      ValueError: n < 1 or n > 20.
    """
    n = _v.count("n", n, minimum=1)
    if n > _MAX_ENUMERATE:
        raise ValueError(f"n must be <= {_MAX_ENUMERATE} to enumerate 2^n states, got {n}")
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)[None, :]) & 1
    return jnp.asarray(1 - 2 * bits, dtype=jnp.result_type(float))


def init_rbm(key, n_visible: int, n_hidden: int, *, scale: float = 0.01, dtype=None) -> RBMParams:
    """Small random weights, zero biases.

    Args:
      key: JAX random key.
      n_visible: number of visible spins >= 1.
      n_hidden: number of hidden spins >= 1.
      scale: standard deviation of the initial weights (>= 0).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      :class:`RBMParams`.

    Raises:
      TypeError: a bad key or non-integer sizes.
      ValueError: sizes < 1, negative scale.
    """
    _v.key(key)
    nv = _v.count("n_visible", n_visible, minimum=1)
    nh = _v.count("n_hidden", n_hidden, minimum=1)
    scale = _v.positive_float("scale", scale, allow_zero=True)
    dtype = _v.float_dtype("dtype", dtype)
    W = scale * jax.random.normal(key, (nv, nh), dtype)
    return RBMParams(W, jnp.zeros(nv, dtype), jnp.zeros(nh, dtype))


def visible_log_weight(params: RBMParams, v) -> jax.Array:
    r"""Unnormalized log-probability of visible states, :math:`a^\top v + \sum_j \log 2\cosh(b_j + (W^\top v)_j)`.

    Args:
      params: :class:`RBMParams`.
      v: float[..., n_v] of +1/-1.

    Returns:
      float[...].

    Raises:
      TypeError: params not RBMParams, non-real v.
      ValueError: inconsistent shapes, v not +1/-1.
    """
    p = _params(params)
    v = _visible("v", v, p.weights.shape[0])
    return _log_weight(p, v)


def _log_weight(p, v):
    x = p.hidden_bias + v @ p.weights
    return v @ p.visible_bias + jnp.sum(jnp.logaddexp(x, -x), axis=-1)


def exact_log_probs(params: RBMParams) -> jax.Array:
    """Normalized log-probabilities of all :math:`2^{n_v}` visible states (order of :func:`all_spin_states`).

    Args:
      params: :class:`RBMParams` with n_v <= 20.

    Returns:
      float[2**n_v], with logsumexp 0.

    Raises:
      TypeError: params not RBMParams.
      ValueError: inconsistent shapes, n_v > 20.
    """
    p = _params(params)
    states = all_spin_states(p.weights.shape[0]).astype(p.weights.dtype)
    lw = _log_weight(p, states)
    return lw - jax.scipy.special.logsumexp(lw)


def _moments(p, v, weights):
    """Weighted averages of the sufficient statistics (v h^T, v, h) with h summed out."""
    t = jnp.tanh(p.hidden_bias + v @ p.weights)
    return RBMParams(jnp.einsum("s,si,sj->ij", weights, v, t), weights @ v, weights @ t)


def exact_gradient(params: RBMParams, data, data_weights=None) -> RBMParams:
    """Exact gradient of the mean log-likelihood of ``data`` (model average by enumeration).

    Args:
      params: :class:`RBMParams` with n_v <= 20.
      data: float[M, n_v] training samples of +1/-1.
      data_weights: optional float[M] nonnegative weights summing to 1 (default uniform): pass the distinct
        states and their empirical frequencies to make the cost independent of the number of samples.

    Returns:
      :class:`RBMParams` of gradients (ascent direction).

    Raises:
      TypeError: params not RBMParams, non-real data.
      ValueError: inconsistent shapes, n_v > 20.
    """
    p = _params(params)
    data = _visible("data", data, p.weights.shape[0]).astype(p.weights.dtype)
    return _exact_gradient(p, data, _weights(data_weights, data))


def _weights(data_weights, data):
    if data_weights is None:
        return jnp.full(data.shape[0], 1.0 / data.shape[0], data.dtype)
    w = _v.float_array("data_weights", data_weights, ndim=1, finite=True).astype(data.dtype)
    if w.shape[0] != data.shape[0]:
        raise ValueError(f"data_weights must have one entry per sample ({data.shape[0]}), got {w.shape[0]}")
    if not _v.is_traced(w) and (bool(np.any(np.asarray(w) < 0)) or abs(float(np.sum(np.asarray(w))) - 1) > 1e-8):
        raise ValueError("data_weights must be nonnegative and sum to 1")
    return w


def _exact_gradient(p, data, weights):
    states = all_spin_states(p.weights.shape[0]).astype(p.weights.dtype)
    lw = _log_weight(p, states)
    model = _moments(p, states, jax.nn.softmax(lw))
    emp = _moments(p, data, weights)
    return jax.tree_util.tree_map(lambda d, m: d - m, emp, model)


def _sign_from_uniform(u, field):
    return jnp.where(u < 0.5 * (1 + jnp.tanh(field)), 1.0, -1.0).astype(field.dtype)


def gibbs_step(key, params: RBMParams, v) -> jax.Array:
    r"""One block-Gibbs step v -> h -> v', with :math:`P(h_j = 1|v) = \tfrac12[1 + \tanh(b_j + (W^\top v)_j)]`.

    Args:
      key: JAX random key.
      params: :class:`RBMParams`.
      v: float[..., n_v] of +1/-1.

    Returns:
      float[..., n_v], the new visible spins.

    Raises:
      TypeError: a bad key, params not RBMParams.
      ValueError: inconsistent shapes, v not +1/-1.
    """
    _v.key(key)
    p = _params(params)
    v = _visible("v", v, p.weights.shape[0]).astype(p.weights.dtype)
    return _gibbs(key, p, v)


def _uniforms(key, p, v, k=None):
    # all the uniforms of k block-Gibbs steps (hidden then visible) in one draw: no key splitting, whose hash
    # function dominates the compilation of a small training step
    nh, nv = p.weights.shape[1], p.weights.shape[0]
    shape = v.shape[:-1] + (nh + nv,)
    return jax.random.uniform(key, shape if k is None else (k,) + shape, v.dtype)


def _gibbs_with(u, p, v):
    nh = p.weights.shape[1]
    h = _sign_from_uniform(u[..., :nh], p.hidden_bias + v @ p.weights)
    return _sign_from_uniform(u[..., nh:], p.visible_bias + h @ p.weights.T)


def _gibbs(key, p, v):
    return _gibbs_with(_uniforms(key, p, v), p, v)


def cd_gradient(key, params: RBMParams, data, k: int = 1) -> RBMParams:
    """Contrastive-divergence (CD-k) estimate of the log-likelihood gradient.

    Args:
      key: JAX random key.
      params: :class:`RBMParams`.
      data: float[M, n_v] of +1/-1.
      k: Gibbs steps from the data (>= 1).

    Returns:
      :class:`RBMParams` of gradient estimates.

    Raises:
      TypeError: a bad key, params not RBMParams, non-integer k.
      ValueError: inconsistent shapes, data not +1/-1, k < 1.
    """
    _v.key(key)
    p = _params(params)
    data = _visible("data", data, p.weights.shape[0]).astype(p.weights.dtype)
    k = _v.count("k", k, minimum=1)
    return _cd_gradient(key, p, data, k)


def _cd_gradient(key, p, data, k):
    u = _uniforms(key, p, data, k)
    v = jax.lax.fori_loop(0, k, lambda i, v: _gibbs_with(u[i], p, v), data)
    w = jnp.full(data.shape[0], 1.0 / data.shape[0], data.dtype)
    emp, model = _moments(p, data, w), _moments(p, v, w)
    return jax.tree_util.tree_map(lambda d, m: d - m, emp, model)


def kl_divergence(log_p, log_q) -> jax.Array:
    r"""Kullback–Leibler divergence :math:`\sum_s p(s)\,[\log p(s) - \log q(s)]` of two normalized log-distributions.

    Args:
      log_p: float[K] log-probabilities (the reference; entries may be -inf).
      log_q: float[K] log-probabilities of the model.

    Returns:
      float, >= 0 up to rounding.

    Raises:
      TypeError: non-real input.
      ValueError: mismatched shapes or distributions that do not sum to 1 (to 1e-6).
    """
    lp = _v.float_array("log_p", log_p, ndim=1, nonempty=True)
    lq = _v.float_array("log_q", log_q, ndim=1, nonempty=True)
    if lp.shape != lq.shape:
        raise ValueError(f"log_p and log_q must have the same shape, got {lp.shape} and {lq.shape}")
    for name, arr in (("log_p", lp), ("log_q", lq)):
        if not _v.is_traced(arr):
            a = np.asarray(arr)
            total = float(np.sum(np.exp(a[np.isfinite(a)])))
            if abs(total - 1) > 1e-6:
                raise ValueError(f"{name} must be normalized (sum of exp = 1), got {total}")
    p = jnp.exp(lp)
    return jnp.sum(jnp.where(p > 0, p * (lp - lq), 0.0))


class TrainState(NamedTuple):
    """Training state: the :class:`RBMParams`."""

    params: RBMParams


class TrainInfo(NamedTuple):
    """Per step: ``grad_norm``, the norm of the gradient estimate used."""

    grad_norm: jax.Array


def training_kernel(data, *, lr, method: str = "exact", k: int = 1, hidden_mask=None, data_weights=None) -> Kernel:
    """Full-batch gradient ascent on the log-likelihood, with exact or CD-k gradients.

    Args:
      data: float[M, n_v] of +1/-1.
      data_weights: optional float[M] weights for ``"exact"`` (see :func:`exact_gradient`); CD uses the
        samples themselves and refuses weights.
      lr: learning rate > 0 (may be traced).
      method: ``"exact"`` (enumeration, n_v <= 20) or ``"cd"``.
      k: Gibbs steps for ``"cd"``.
      hidden_mask: optional float[n_h] of 0/1; hidden units with 0 are frozen at zero weights and bias, so one
        compiled function trains RBMs of several sizes (an inactive unit only adds the constant log 2).

    Returns:
      ``Kernel(init, step)``: ``init(params)``; ``step(key, state) -> (state, TrainInfo)`` (the key is used by CD).

    Raises:
      TypeError: non-real data, non-integer k.
      ValueError: data not +1/-1, bad method, k < 1, negative lr.
    """
    data = _v.float_array("data", data, ndim=2, nonempty=True)
    _v.spins("data", data)
    method = _v.choice("method", method, ("exact", "cd"))
    k = _v.count("k", k, minimum=1)
    if not _v.is_traced(lr):
        lr = _v.positive_float("lr", lr)
    if data_weights is not None and method == "cd":
        raise ValueError("data_weights apply to method='exact' only; CD-k starts its chains at the samples themselves")
    weights = _weights(data_weights, data)

    def init(params):
        p = _params(params)
        if p.weights.shape[0] != data.shape[1]:
            raise ValueError(f"params has {p.weights.shape[0]} visible units, data has {data.shape[1]}")
        return TrainState(_masked(p, hidden_mask))

    def step(key, state):
        p = state.params
        d = data.astype(p.weights.dtype)
        g = _exact_gradient(p, d, weights.astype(d.dtype)) if method == "exact" else _cd_gradient(key, p, d, k)
        g = _masked(g, hidden_mask)
        new = jax.tree_util.tree_map(lambda x, dx: x + lr * dx, p, g)
        norm = jnp.sqrt(sum(jnp.sum(x**2) for x in g))
        return TrainState(RBMParams(*new)), TrainInfo(norm)

    return Kernel(init, step)


def _masked(p, mask):
    if mask is None:
        return p
    mask = jnp.asarray(mask, p.weights.dtype)
    return RBMParams(p.weights * mask, p.visible_bias, p.hidden_bias * mask)


def train_rbm(key, params: RBMParams, data, *, lr, n_steps: int, method: str = "exact", k: int = 1,
              hidden_mask=None, data_weights=None) -> RBMParams:
    """Train an RBM by :func:`training_kernel` for ``n_steps`` full-batch steps; traceable (vmap over masks, keys).

    Args:
      key: JAX random key.
      params: initial :class:`RBMParams`.
      data: float[M, n_v] of +1/-1.
      lr: learning rate > 0.
      n_steps: number of steps >= 1 (static).
      method: ``"exact"`` or ``"cd"``.
      k: Gibbs steps for CD-k.
      hidden_mask: optional float[n_h] of 0/1 (see :func:`training_kernel`).
      data_weights: optional float[M] (``"exact"`` only, see :func:`exact_gradient`).

    Returns:
      the trained :class:`RBMParams`.

    Raises:
      TypeError: a bad key, non-real data.
      ValueError: see :func:`training_kernel`; n_steps < 1.
    """
    _v.key(key)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    kernel = training_kernel(data, lr=lr, method=method, k=k, hidden_mask=hidden_mask, data_weights=data_weights)
    state, _, _ = scan_kernel(kernel.step, kernel.init(params), n_steps, key, record_every=n_steps,
                              record=lambda s: ())
    return state.params


def train_rbm_tracking_kl(key, params: RBMParams, data, reference_log_probs, *, lr, n_steps: int, record_every: int,
                          method: str = "exact", k: int = 1, hidden_mask=None, data_weights=None):
    """:func:`train_rbm`, recording the exact KL divergence from a reference distribution along the way.

    The trajectory is the one :func:`train_rbm` follows with the same arguments (same key, same steps); every
    ``record_every`` steps the machine's exact distribution (by enumeration) is compared with the reference.

    Args:
      key: JAX random key.
      params: initial :class:`RBMParams` (n_v <= 20).
      data: float[M, n_v] of +1/-1.
      reference_log_probs: float[2**n_v] normalized log-probabilities of the target, in the order of
        :func:`all_spin_states`.
      lr: learning rate > 0.
      n_steps: number of steps, a multiple of ``record_every`` (static).
      record_every: steps between records >= 1 (static).
      method: ``"exact"`` or ``"cd"``.
      k: Gibbs steps for CD-k.
      hidden_mask: optional float[n_h] of 0/1 (see :func:`training_kernel`).
      data_weights: optional float[M] (``"exact"`` only, see :func:`exact_gradient`).

    Returns:
      ``(params, kl)``: the trained :class:`RBMParams` and float[n_steps // record_every], the KL divergence
      :math:`\\mathrm{KL}(p_{\\rm ref}\\,\\|\\,p_{\\rm RBM})` after steps ``record_every``, ``2 record_every``, ...

    Raises:
      TypeError: a bad key, non-real data or reference.
      ValueError: see :func:`training_kernel`; n_steps or record_every < 1, n_steps not a multiple of
        record_every, a reference of the wrong length.
    """
    _v.key(key)
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    record_every = _v.count("record_every", record_every, minimum=1)
    if n_steps % record_every:
        raise ValueError(f"n_steps ({n_steps}) must be a multiple of record_every ({record_every})")
    ref = _v.float_array("reference_log_probs", reference_log_probs, ndim=1, nonempty=True)
    p0 = _params(params)
    if ref.shape[0] != 2 ** p0.weights.shape[0]:
        raise ValueError(f"reference_log_probs must have 2**n_visible = {2 ** p0.weights.shape[0]} entries, "
                         f"got {ref.shape[0]}")
    kernel = training_kernel(data, lr=lr, method=method, k=k, hidden_mask=hidden_mask, data_weights=data_weights)
    states = all_spin_states(p0.weights.shape[0]).astype(p0.weights.dtype)
    ref = ref.astype(p0.weights.dtype)

    def kl_of(state):
        lw = _log_weight(state.params, states)
        log_q = lw - jax.scipy.special.logsumexp(lw)
        prob = jnp.exp(ref)
        return jnp.sum(jnp.where(prob > 0, prob * (ref - log_q), 0.0))

    if method == "exact":  # deterministic: no per-step keys (splitting them costs a hash-function compilation)
        state, kl, _ = scan_kernel(lambda st: kernel.step(None, st), kernel.init(params), n_steps,
                                   record_every=record_every, record=kl_of)
    else:
        state, kl, _ = scan_kernel(kernel.step, kernel.init(params), n_steps, key, record_every=record_every, record=kl_of)
    return state.params, kl

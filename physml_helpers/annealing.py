r"""Variational classical annealing with an autoregressive network (chapter 6).

An autoregressive model writes the probability of a configuration :math:`s \in \{\pm1\}^N` as a product of
conditionals, :math:`p_\theta(s) = \prod_i p_\theta(s_i \mid s_{<i})`, so it is normalized by construction and
sampled exactly, spin by spin, with no Markov chain. Here the conditionals come from a masked dense network
(MADE-style, one hidden layer of ``n_hidden`` tanh units plus direct connections; ``n_hidden = 0`` leaves a
fully visible sigmoid belief net):

.. math:: p_\theta(s_i = +1 \mid s_{<i}) = \sigma\big(\ell_i(s_{<i})\big), \qquad
          \ell_i = b_i + \sum_{j<i} W_{ij} s_j + \sum_k V_{ik}\tanh\Big(c_k + \sum_{j \le m_k} U_{kj} s_j\Big),

where hidden unit ``k`` sees spins up to :math:`m_k` and feeds only outputs :math:`i > m_k`.

Variational classical annealing (Hibat-Allah et al. 2021) minimizes the variational free energy

.. math:: F_\theta(T) = \langle H\rangle_{p_\theta} + T\,\langle \ln p_\theta\rangle_{p_\theta} \;\ge\; -T\ln Z(T),

while the temperature is lowered to zero. Its gradient is a REINFORCE (score-function) estimate with the
batch mean of :math:`F_{\rm loc}(s) = H(s) + T\ln p_\theta(s)` as baseline,

.. math:: \nabla_\theta F \approx \frac1{n}\sum_a \big(F_{\rm loc}(s_a) - \bar F_{\rm loc}\big)\,\nabla_\theta \ln p_\theta(s_a),

the baseline removing variance and no bias (:math:`\langle\nabla\ln p\rangle = 0`). The training step is an
``(init, step)`` pair (:func:`vca_kernel`) trained with optax's Adam; :func:`variational_annealing` scans it
over a temperature schedule (:func:`vca_schedule`).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from physml_helpers import _validation as _v
from physml_helpers._kernels import Kernel, require_finite_history
from physml_helpers.networks import _optax_update
from physml_helpers.spinglass import _couplings, _schedule

__all__ = [
    "init_autoregressive",
    "autoregressive_log_prob",
    "autoregressive_sample",
    "vca_schedule",
    "VCAState",
    "VCAInfo",
    "vca_kernel",
    "variational_annealing",
]


def _masks(n: int, n_hidden: int):
    """Connectivity of the masked network: direct [N, N] (j < i); input-to-hidden [H, N] (j <= m_k);
    hidden-to-output [N, H] (m_k < i); hidden degrees m_k cycle through 0 .. N-2."""
    i = np.arange(n)
    degrees = np.arange(n_hidden) % max(n - 1, 1)
    direct = (i[None, :] < i[:, None]).astype(float)
    m_in = (i[None, :] <= degrees[:, None]).astype(float)
    m_out = (degrees[None, :] < i[:, None]).astype(float)
    return direct, m_in, m_out


def init_autoregressive(key, n_sites: int, *, n_hidden: int = 32, scale: float = 0.01, dtype=None) -> dict:
    r"""Parameters of the masked autoregressive network (module docstring), near the uniform distribution.

    Args:
      key: JAX random key.
      n_sites: number of spins N >= 2.
      n_hidden: hidden units H >= 0 (0: direct connections only, :math:`N(N+1)/2` effective parameters).
      scale: standard deviation of the Gaussian initial weights, >= 0 (biases start at 0, so ``scale = 0``
        is exactly the uniform distribution).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``{"b": [N], "W": [N, N], "c": [H], "U": [H, N], "V": [N, H]}``; masked entries are kept but unused.

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: ``n_sites`` < 2, ``n_hidden`` < 0, ``scale`` < 0.
    """
    _v.key(key)
    n = _v.count("n_sites", n_sites, minimum=2)
    h = _v.count("n_hidden", n_hidden, minimum=0)
    scale = _v.positive_float("scale", scale, allow_zero=True)
    dtype = _v.float_dtype("dtype", dtype)
    kw, ku, kv = jax.random.split(key, 3)
    return {
        "b": jnp.zeros((n,), dtype),
        "W": scale * jax.random.normal(kw, (n, n), dtype),
        "c": jnp.zeros((h,), dtype),
        "U": scale * jax.random.normal(ku, (h, n), dtype),
        "V": scale * jax.random.normal(kv, (n, h), dtype),
    }


def _sites(params) -> int:
    keys = ("b", "W", "c", "U", "V")
    if not isinstance(params, dict) or set(params) != set(keys):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"params must be the dict {{'b', 'W', 'c', 'U', 'V'}} made by init_autoregressive, got {got}")
    if not all(hasattr(params[k], "shape") for k in keys):
        raise TypeError("params must hold arrays (from init_autoregressive)")
    n, h = params["b"].shape[0] if len(params["b"].shape) == 1 else -1, params["c"].shape[0] if len(params["c"].shape) == 1 else -1
    want = {"b": (n,), "W": (n, n), "c": (h,), "U": (h, n), "V": (n, h)}
    got = {k: tuple(params[k].shape) for k in keys}
    if n < 2 or h < 0 or got != want:
        raise ValueError(f"params must have shapes b [N], W [N, N], c [H], U [H, N], V [N, H], got {got}; make them "
                         "with init_autoregressive(key, n_sites, n_hidden=H)")
    dtypes = {params[k].dtype for k in keys}
    if len(dtypes) != 1 or not jnp.issubdtype(next(iter(dtypes)), jnp.floating):
        raise TypeError(f"params must be floating arrays of one dtype, got {sorted(str(d) for d in dtypes)}")
    _v.finite_tree("params", params)
    return n


def _logits(params, s):
    n, h = params["b"].shape[0], params["c"].shape[0]
    direct, m_in, m_out = (jnp.asarray(m, params["b"].dtype) for m in _masks(n, h))
    hidden = jnp.tanh(s @ (params["U"] * m_in).T + params["c"])
    return params["b"] + s @ (params["W"] * direct).T + hidden @ (params["V"] * m_out).T


def _log_prob(params, s):
    return jnp.sum(jax.nn.log_sigmoid(s * _logits(params, s)), axis=-1)


def autoregressive_log_prob(params: dict, s, *, prefix: int | None = None) -> jax.Array:
    r""":math:`\ln p_\theta(s) = \sum_i \ln\sigma(s_i\,\ell_i(s_{<i}))`, all conditionals in one masked pass.

    With ``prefix = m`` only the first m conditionals are summed: the log of the **marginal** probability of
    :math:`(s_1, \dots, s_m)`, exact for an autoregressive model (the later spins are summed out by
    normalization); the entries of ``s`` after the first m are then ignored.

    Args:
      params: from :func:`init_autoregressive`.
      s: float[..., N] configurations of ±1.
      prefix: None (the full log-probability) or the number m of leading spins, 1 <= m <= N.

    Returns:
      float[...] log-probabilities (normalized: they sum to 1 over all :math:`2^N`, or :math:`2^m`,
      configurations).

    Raises:
      TypeError: ``params`` not the dict made by :func:`init_autoregressive`; ``s`` not numeric; ``prefix`` not
        an integer.
      ValueError: shapes that do not fit; ``s`` (concrete) with entries other than ±1; non-finite params;
        ``prefix`` out of range.
    """
    n = _sites(params)
    s = _v.float_array("s", s)
    if s.ndim < 1 or s.shape[-1] != n:
        raise ValueError(f"s must have shape [..., N] with N = {n} (the model's size), got {s.shape}")
    _v.spins("s", s)
    m = n if prefix is None else _v.count("prefix", prefix, minimum=1)
    if m > n:
        raise ValueError(f"prefix must be between 1 and N = {n}, got {m}")
    s = s.astype(params["b"].dtype)
    return jnp.sum(jax.nn.log_sigmoid(s * _logits(params, s))[..., :m], axis=-1)


def _sample(key, params, n_samples):
    n = params["b"].shape[0]
    return _sample_from(jnp.log(jax.random.uniform(key, (n, n_samples), params["b"].dtype)), params)


def _sample_from(log_u, params):
    """Samples from the logarithms of uniforms float[N, n_samples] (drawn in bulk by the caller)."""
    n, h = params["b"].shape[0], params["c"].shape[0]
    n_samples = log_u.shape[1]
    dtype = params["b"].dtype
    direct, m_in, m_out = (jnp.asarray(m, dtype) for m in _masks(n, h))
    w, u, v = params["W"] * direct, params["U"] * m_in, params["V"] * m_out

    def site(carry, inputs):
        s, pre, logp = carry  # unset spins are 0: the masks make them irrelevant for logit i
        b_i, w_i, v_i, u_i, onehot, lu = inputs  # per-site slices as scan inputs: no dynamic indexing
        logit = b_i + s @ w_i + jnp.tanh(pre) @ v_i
        spin = jnp.where(lu < jax.nn.log_sigmoid(logit), 1.0, -1.0).astype(dtype)
        return (s + spin[:, None] * onehot[None, :], pre + spin[:, None] * u_i[None, :],
                logp + jax.nn.log_sigmoid(spin * logit)), None

    init = (jnp.zeros((n_samples, n), dtype), jnp.broadcast_to(params["c"], (n_samples, h)),
            jnp.zeros((n_samples,), dtype))
    (s, _, logp), _ = jax.lax.scan(site, init, (params["b"], w, v, u.T, jnp.eye(n, dtype=dtype), log_u))
    return s, logp


def autoregressive_sample(key, params: dict, n_samples: int):
    r"""Exact samples :math:`s \sim p_\theta`, drawn spin by spin (N sequential steps, all samples at once).

    Args:
      key: JAX random key.
      params: from :func:`init_autoregressive`.
      n_samples: number of samples >= 1.

    Returns:
      ``(s, log_prob)``: float[n_samples, N] of ±1 and their float[n_samples] log-probabilities.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``params`` not the dict made by :func:`init_autoregressive`,
        ``n_samples`` not an integer.
      ValueError: ``n_samples`` < 1, malformed or non-finite params.
    """
    _v.key(key)
    _sites(params)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    return _jit_sample(key, params, n_samples)


_jit_sample = jax.jit(_sample, static_argnums=2)


def vca_schedule(t_initial: float, n_annealing: int, *, n_warmup: int, n_train: int = 5, dtype=None) -> jax.Array:
    r"""The temperature of every training step of variational annealing.

    ``n_warmup`` steps at :math:`T_0`, then annealing steps :math:`k = 1, \dots, n_{\rm ann}` at
    :math:`T_k = T_0(1 - k/n_{\rm ann})`, ``n_train`` gradient steps each (Hibat-Allah et al.'s protocol);
    the last ``n_train`` steps are at :math:`T = 0`.

    Args:
      t_initial: :math:`T_0` > 0.
      n_annealing: annealing steps >= 1.
      n_warmup: warm-up steps >= 0.
      n_train: gradient steps per annealing step >= 1.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      float[n_warmup + n_annealing * n_train].

    Raises:
      TypeError: arguments not numbers, counts not integers.
      ValueError: ``t_initial`` not > 0, counts out of range.
    """
    t0 = _v.positive_float("t_initial", t_initial)
    n_ann = _v.count("n_annealing", n_annealing, minimum=1)
    n_warm = _v.count("n_warmup", n_warmup, minimum=0)
    n_train = _v.count("n_train", n_train, minimum=1)
    dtype = _v.float_dtype("dtype", dtype)
    steps = t0 * (1 - np.arange(1, n_ann + 1) / n_ann)
    return jnp.asarray(np.concatenate([np.full(n_warm, t0), np.repeat(steps, n_train)]), dtype)


class VCAState(NamedTuple):
    """State of :func:`vca_kernel`: the network ``params`` and optax's ``opt_state``."""

    params: dict
    opt_state: tuple


class VCAInfo(NamedTuple):
    """What one training step saw, over its batch of samples: mean ``energy`` float[], the variational free
    energy estimate ``free_energy`` float[] (:math:`\\langle H + T\\ln p\\rangle`), the lowest energy in the batch
    ``min_energy`` float[]."""

    energy: jax.Array
    free_energy: jax.Array
    min_energy: jax.Array


def _vca_step(log_u, state, couplings, temperature, optimizer):
    s, logp = _sample_from(log_u, jax.lax.stop_gradient(state.params))
    e = -0.5 * jnp.sum(s * (s @ couplings), axis=-1)
    f_loc = e + temperature * logp
    weights = f_loc - jnp.mean(f_loc)  # the baseline: unbiased, lower variance

    def surrogate(params):
        return jnp.mean(weights * _log_prob(params, s))

    grads = jax.grad(surrogate)(state.params)
    updates, opt_state = _optax_update(optimizer, grads, state.opt_state, state.params)
    return VCAState(optax.apply_updates(state.params, updates), opt_state), VCAInfo(jnp.mean(e), jnp.mean(f_loc),
                                                                                 jnp.min(e))


def vca_kernel(couplings, *, n_samples: int = 50, lr: float = 1e-3) -> Kernel:
    r"""One step of variational classical annealing as an ``(init, step)`` pair.

    ``step(key, state, temperature)`` draws ``n_samples`` exact samples, estimates the free-energy gradient
    by REINFORCE with the batch-mean baseline (module docstring) and makes one Adam step.

    Args:
      couplings: float[N, N] symmetric, zero diagonal.
      n_samples: samples per step >= 2 (the baseline needs two).
      lr: Adam's learning rate > 0.

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(params) -> VCAState`` and
      ``step(key, state, temperature) -> (VCAState, VCAInfo)``; traceable.

    Raises:
      TypeError: arguments of the wrong kind.
      ValueError: couplings not valid, ``n_samples`` < 2, ``lr`` not > 0; (from ``init``) params that do not
        fit the couplings' N.
    """
    import optax

    J = _couplings(couplings)
    n_samples = _v.count("n_samples", n_samples, minimum=2)
    lr = _v.positive_float("lr", lr)
    optimizer = optax.adam(lr)

    def init(params) -> VCAState:
        n = _sites(params)
        if n != J.shape[0]:
            raise ValueError(f"params are for N = {n} spins, the couplings for N = {J.shape[0]}")
        return VCAState(params, optimizer.init(params))

    def step(key, state, temperature):
        log_u = jnp.log(jax.random.uniform(key, (J.shape[0], n_samples), J.dtype))
        return _vca_step(log_u, state, J, jnp.asarray(temperature, J.dtype), optimizer)

    return Kernel(init, step)


CHUNK = 64


def _vca_chunk_one(key, state, couplings, temperatures, active, n_samples, lr):
    optimizer = optax.adam(lr)
    log_u = jnp.log(jax.random.uniform(key, (temperatures.shape[0], couplings.shape[0], n_samples), couplings.dtype))

    def one(state, inputs):
        lu, t, on = inputs
        new, info = _vca_step(lu, state, couplings, t, optimizer)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(on, a, b), new, state), info

    return jax.lax.scan(one, state, (log_u, temperatures, active))


@partial(jax.jit, static_argnames=("n_samples", "lr"))
def _vca_chunk(keys, state, couplings, temperatures, active, *, n_samples, lr):
    # vmapped over instances, each with its own network
    return jax.vmap(_vca_chunk_one, in_axes=(0, 0, 0, None, None, None, None))(
        keys, state, couplings, temperatures, active, n_samples, lr)


def variational_annealing(key, couplings, params: dict, *, temperatures, n_samples: int = 50, lr: float = 1e-3):
    r"""Variational classical annealing: the steps of :func:`vca_kernel` over a temperature schedule.

    The schedule runs in compiled chunks of 64 steps, so schedules of any length share one compilation.
    A batch of instances is trained side by side, one network each, all starting from ``params``.

    Args:
      key: JAX random key.
      couplings: float[N, N] symmetric, zero diagonal, or a batch float[B, N, N] (every output then gets a
        leading axis B).
      params: initial network, from :func:`init_autoregressive`.
      temperatures: float[n_steps] >= 0, one per training step (see :func:`vca_schedule`).
      n_samples: samples per step >= 2. Cost: ``n_steps * n_samples`` energy evaluations, plus the network.
      lr: Adam's learning rate > 0.

    Returns:
      ``(params, history)``: the trained network(s) and a :class:`VCAInfo` of float[n_steps] arrays
      (float[B, n_steps] for a batch).

    Raises:
      TypeError: arguments of the wrong kind.
      ValueError: invalid couplings, params or schedule, ``n_samples`` < 2, ``lr`` not > 0.
      ConvergenceError: the free energy became inf or nan (lower ``lr``).
    """
    _v.key(key)
    J = _couplings(couplings, batched=True)
    batched = J.ndim == 3
    J = J if batched else J[None]
    n = _sites(params)
    if n != J.shape[-1]:
        raise ValueError(f"params are for N = {n} spins, the couplings for N = {J.shape[-1]}")
    temps = _schedule(temperatures, J.dtype)
    n_samples = _v.count("n_samples", n_samples, minimum=2)
    lr = _v.positive_float("lr", lr)
    n_inst = J.shape[0]
    params = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a.astype(J.dtype), (n_inst,) + a.shape), params)
    state = jax.vmap(lambda p: VCAState(p, optax.adam(lr).init(p)))(params)
    steps = temps.shape[0]
    n_chunks = -(-steps // CHUNK)
    padded = jnp.concatenate([temps, jnp.zeros(n_chunks * CHUNK - steps, J.dtype)]).reshape(n_chunks, CHUNK)
    active = jnp.asarray((np.arange(n_chunks * CHUNK) < steps).reshape(n_chunks, CHUNK))
    infos = []
    for c, k in enumerate(jax.random.split(key, n_chunks)):
        state, info = _vca_chunk(jax.random.split(k, n_inst), state, J, padded[c], active[c], n_samples=n_samples, lr=lr)
        infos.append(info)
    history = VCAInfo(*(jnp.concatenate([getattr(i, f) for i in infos], axis=1)[:, :steps] for f in VCAInfo._fields))
    require_finite_history("variational_annealing", history.free_energy.T, lr)
    if batched:
        return state.params, history
    return jax.tree_util.tree_map(lambda a: a[0], state.params), jax.tree_util.tree_map(lambda a: a[0], history)

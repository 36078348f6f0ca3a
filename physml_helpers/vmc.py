r"""Variational Monte Carlo with neural-network quantum states (chapter 7).

A wavefunction is a function ``log_psi(params, s)`` returning :math:`\ln\psi_\theta(s)` (real: the
states here are positive, or made positive by a known sign rule) for a configuration ``s`` of ±1 floats of
shape ``[n_sites]``; it must be written for one configuration and is vectorised with ``jax.vmap``.

Variational Monte Carlo estimates the energy :math:`E(\theta) = \langle\psi|H|\psi\rangle/\langle\psi|\psi\rangle`
as the mean of the **local energy** :math:`E_{\rm loc}(s) = \sum_{s'} H_{ss'}\,\psi(s')/\psi(s)` over
samples :math:`s \sim |\psi(s)|^2`, and its gradient as

.. math:: \partial_k E = 2\,\langle (O_k - \langle O_k\rangle)(E_{\rm loc} - \langle E_{\rm loc}\rangle)\rangle,
          \qquad O_k(s) = \partial_{\theta_k}\ln\psi_\theta(s).

Stochastic reconfiguration preconditions this gradient with the quantum geometric tensor
:math:`S_{kl} = \langle O_kO_l\rangle - \langle O_k\rangle\langle O_l\rangle` (here real), the metric of the
wavefunction manifold: :math:`\theta \leftarrow \theta - \eta\,(S + \lambda I)^{-1} F` with
:math:`F = \partial E / 2`.

Samples come from Metropolis chains run in parallel (``vmap`` over chains, ``lax.scan`` over moves), kept
from one step to the next. The pieces follow the ``(init, step)`` pattern with the random key carried in
the state.
"""

from __future__ import annotations

import functools
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers.quantum import configurations

__all__ = [
    "init_rbm",
    "rbm_log_psi",
    "tfim_local_energy",
    "heisenberg_local_energy",
    "marshall_sign",
    "SamplerState",
    "metropolis",
    "VMCState",
    "vmc",
    "sample_local_energies",
    "exact_statistics",
    "log_psi_vector",
    "born_samples",
    "tomography_nll",
    "fit_tomography",
]


# ---------------------------------------------------------------------------------------------------
# The restricted Boltzmann machine ansatz
# ---------------------------------------------------------------------------------------------------


def init_rbm(key, n_sites: int, *, alpha: int = 1, scale: float = 0.01, dtype=None) -> dict:
    r"""Parameters of an RBM wavefunction with ``alpha * n_sites`` hidden units.

    Args:
      key: JAX random key.
      n_sites: number of visible spins, >= 1.
      alpha: hidden-unit density (hidden units per spin), >= 1.
      scale: standard deviation of the Gaussian initial weights and biases, >= 0.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``{"a": [n_sites], "b": [alpha * n_sites], "W": [alpha * n_sites, n_sites]}``.
    """
    _v.key(key)
    n = _v.count("n_sites", n_sites, minimum=1)
    alpha = _v.count("alpha", alpha, minimum=1)
    scale = _v.positive_float("scale", scale, allow_zero=True)
    dtype = dtype or jnp.result_type(float)
    m = alpha * n
    ka, kb, kw = jax.random.split(key, 3)
    return {
        "a": scale * jax.random.normal(ka, (n,), dtype),
        "b": scale * jax.random.normal(kb, (m,), dtype),
        "W": scale * jax.random.normal(kw, (m, n), dtype),
    }


def _log_cosh(x):
    # log cosh x = |x| + log(1 + exp(-2|x|)) - log 2, stable for large |x|
    ax = jnp.abs(x)
    return ax + jnp.log1p(jnp.exp(-2 * ax)) - jnp.log(2.0)


def rbm_log_psi(params: dict, s) -> jax.Array:
    r"""RBM log-amplitude with the hidden spins summed out.

    .. math:: \ln\psi(s) = \sum_i a_i s_i + \sum_j \ln\cosh\Big(b_j + \sum_i W_{ji}s_i\Big)

    (up to the constant :math:`M\ln 2`). ``s`` has shape ``[n_sites]``; vmap it for a batch.
    """
    return jnp.dot(params["a"], s) + jnp.sum(_log_cosh(params["b"] + params["W"] @ s))


# ---------------------------------------------------------------------------------------------------
# Local energies
# ---------------------------------------------------------------------------------------------------


def _single_flips(s):
    """The n configurations with one spin flipped, shape [n, n]."""
    n = s.shape[-1]
    return s[None, :] * (1 - 2 * jnp.eye(n, dtype=s.dtype))


def tfim_local_energy(log_psi: Callable, params, s, *, h: float, J: float = 1.0) -> jax.Array:
    r"""Local energy of the periodic transverse-field Ising chain for one configuration ``s``.

    .. math:: E_{\rm loc}(s) = -J\sum_i s_is_{i+1} - h\sum_i \frac{\psi(s^{(i)})}{\psi(s)},

    with :math:`s^{(i)}` the configuration with spin ``i`` flipped. ``s``: shape ``[n_sites]``.
    """
    diagonal = -J * jnp.sum(s * jnp.roll(s, -1))
    flipped = jax.vmap(log_psi, in_axes=(None, 0))(params, _single_flips(s))
    return diagonal - h * jnp.sum(jnp.exp(flipped - log_psi(params, s)))


def marshall_sign(s) -> jax.Array:
    r"""Marshall's sign :math:`(-1)^{N_\uparrow(B)}`, :math:`N_\uparrow(B)` the up spins on odd sites."""
    up_on_odd = jnp.sum((s[..., 1::2] > 0).astype(jnp.int32), axis=-1)
    return 1 - 2 * (up_on_odd % 2)


def heisenberg_local_energy(log_psi: Callable, params, s, *, J: float = 1.0, marshall: bool = True) -> jax.Array:
    r"""Local energy of the periodic Heisenberg chain :math:`J\sum_i\mathbf S_i\cdot\mathbf S_{i+1}`.

    .. math:: E_{\rm loc}(s) = \frac J4\sum_i s_is_{i+1}
              + \frac J2\,\sigma\sum_{i:\ s_i \ne s_{i+1}} \frac{\psi(s^{(i,i+1)})}{\psi(s)},

    with :math:`s^{(i,i+1)}` the configuration with spins ``i`` and ``i+1`` exchanged. With
    ``marshall=True`` the true amplitude is :math:`\text{marshall\_sign}(s)\,\psi(s)` with
    :math:`\psi > 0`; an exchange across a bond of an even chain changes the Marshall sign, so
    :math:`\sigma = -1`. With ``marshall=False``, :math:`\sigma = +1`.
    """
    n = s.shape[-1]
    right = jnp.roll(s, -1)
    diagonal = 0.25 * J * jnp.sum(s * right)
    swap = jnp.eye(n, dtype=s.dtype) + jnp.roll(jnp.eye(n, dtype=s.dtype), 1, axis=1)  # rows: sites i, i+1
    exchanged = s[None, :] * (1 - 2 * swap)  # flipping both of an antiparallel pair exchanges them
    antiparallel = (s != right).astype(s.dtype)
    ratios = jnp.exp(jax.vmap(log_psi, in_axes=(None, 0))(params, exchanged) - log_psi(params, s))
    sign = -1.0 if marshall else 1.0
    return diagonal + 0.5 * J * sign * jnp.sum(antiparallel * ratios)


# ---------------------------------------------------------------------------------------------------
# Metropolis sampling of |psi|^2
# ---------------------------------------------------------------------------------------------------


class SamplerState(NamedTuple):
    """Persistent Metropolis chains: ``configs`` ``[n_chains, n_sites]``, their ``log_psi`` ``[n_chains]``,
    the number of ``accepted`` moves per chain since the last reset, and the random ``key``."""

    configs: jax.Array
    log_psi: jax.Array
    accepted: jax.Array
    key: jax.Array


def metropolis(log_psi: Callable, n_sites: int, *, n_chains: int, move: str = "flip"):
    r"""Metropolis sampling of :math:`|\psi_\theta(s)|^2` with local moves, as an ``(init, sweep)`` pair.

    Args:
      log_psi: ``log_psi(params, s)`` for one configuration.
      n_sites: number of spins.
      n_chains: number of parallel chains.
      move: ``"flip"`` (flip one random spin) or ``"exchange"`` (swap a random nearest-neighbour pair;
        conserves the magnetization, for the Heisenberg chain, where chains start at zero magnetization).

    Returns:
      ``init(key, params) -> SamplerState`` (random starts) and
      ``sweep(state, params, n_sweeps) -> SamplerState``, where a sweep is ``n_sites`` proposed moves in
      every chain; ``n_sweeps`` is static. Both are jitted.
    """
    _v.callable_("log_psi", log_psi)
    n = _v.count("n_sites", n_sites, minimum=2)
    n_chains = _v.count("n_chains", n_chains, minimum=1)
    if move not in ("flip", "exchange"):
        raise ValueError(f"move must be 'flip' or 'exchange', got {move!r}")
    if move == "exchange" and n % 2:
        raise ValueError(f"move='exchange' starts chains at zero magnetization and needs an even n_sites, got {n}")
    return _metropolis(log_psi, n, n_chains, move)


@functools.lru_cache(maxsize=32)
def _metropolis(log_psi: Callable, n: int, n_chains: int, move: str):
    """The jitted pair for validated arguments; cached, so that asking again reuses the compilation."""
    batched = jax.vmap(log_psi, in_axes=(None, 0))

    @jax.jit
    def init(key, params) -> SamplerState:
        key, sub = jax.random.split(key)
        dtype = jax.tree_util.tree_leaves(params)[0].dtype
        if move == "flip":
            configs = jax.random.choice(sub, jnp.array([-1.0, 1.0], dtype), (n_chains, n))
        else:
            base = jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0).astype(dtype)
            configs = jax.vmap(lambda k: jax.random.permutation(k, base))(jax.random.split(sub, n_chains))
        return SamplerState(configs, batched(params, configs), jnp.zeros(n_chains, jnp.int32), key)

    def _propose(site, configs):
        mask = jax.nn.one_hot(site, n, dtype=configs.dtype)
        if move == "exchange":
            right_site = (site + 1) % n
            mask = mask + jax.nn.one_hot(right_site, n, dtype=configs.dtype)
            left = jnp.take_along_axis(configs, site[:, None], axis=1)[:, 0]
            right = jnp.take_along_axis(configs, right_site[:, None], axis=1)[:, 0]
            valid = left != right  # exchanging parallel spins changes nothing: reject it outright
        else:
            valid = jnp.ones(configs.shape[0], bool)
        return configs * (1 - 2 * mask), valid

    @partial(jax.jit, static_argnames="n_sweeps")
    def sweep(state: SamplerState, params, n_sweeps: int = 1) -> SamplerState:
        def one_move(carry, randomness):
            configs, logp, accepted = carry
            site, log_u = randomness
            proposal, valid = _propose(site, configs)
            logp_new = batched(params, proposal)
            accept = valid & (log_u < 2 * (logp_new - logp))
            configs = jnp.where(accept[:, None], proposal, configs)
            logp = jnp.where(accept, logp_new, logp)
            return (configs, logp, accepted + accept), None

        key, k_site, k_acc = jax.random.split(state.key, 3)
        n_moves = n_sweeps * n
        # all random numbers of the sweeps drawn at once (cheaper than a key split per move)
        sites = jax.random.randint(k_site, (n_moves, n_chains), 0, n)
        log_u = jnp.log(jax.random.uniform(k_acc, (n_moves, n_chains), dtype=state.log_psi.dtype))
        carry = (state.configs, state.log_psi, state.accepted)
        (configs, logp, accepted), _ = jax.lax.scan(one_move, carry, (sites, log_u))
        return SamplerState(configs, logp, accepted, key)

    return init, sweep


# ---------------------------------------------------------------------------------------------------
# Variational Monte Carlo with stochastic reconfiguration
# ---------------------------------------------------------------------------------------------------


class VMCState(NamedTuple):
    """Parameters, persistent sampler chains and the step counter."""

    params: Any
    sampler: SamplerState
    step: jax.Array


def _flatten(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in leaves], axis=1)


def vmc(
    log_psi: Callable,
    local_energy: Callable,
    n_sites: int,
    *,
    n_chains: int = 1000,
    lr: float = 0.05,
    diag_shift: float = 0.01,
    sweeps_per_step: int = 1,
    n_thermalize: int = 20,
    move: str = "flip",
    sr: bool = True,
):
    r"""Variational Monte Carlo as an ``(init, step)`` pair.

    Args:
      log_psi: ``log_psi(params, s)``, real, for one configuration.
      local_energy: ``local_energy(log_psi, params, s, **couplings)`` for one configuration. Couplings
        passed to ``step`` as keywords are traced, so one compilation serves every value (a scan over
        fields); couplings bound with ``functools.partial`` are fixed instead.
      n_sites: number of spins.
      n_chains: parallel Metropolis chains; each step uses one sample per chain.
      lr: learning rate :math:`\eta`.
      diag_shift: :math:`\lambda`, added to the diagonal of :math:`S` (regularises the solve).
      sweeps_per_step: Metropolis sweeps between steps.
      n_thermalize: sweeps run by ``init`` before the first step.
      move: Metropolis move, ``"flip"`` or ``"exchange"`` (see :func:`metropolis`).
      sr: stochastic reconfiguration if True, plain gradient descent if False.

    Returns:
      ``init(key, params) -> VMCState`` and ``step(state, **couplings) -> (state, info)`` (jitted), where ``info`` has
      the energy estimate ``"energy"`` on the samples used for the update (before the update), its
      standard error ``"error"`` (independent chains), the local-energy ``"variance"`` and the Metropolis
      ``"acceptance"`` rate during the step.
    """
    _v.callable_("local_energy", local_energy)
    lr = _v.positive_float("lr", lr)
    diag_shift = _v.positive_float("diag_shift", diag_shift, allow_zero=True)
    sweeps_per_step = _v.count("sweeps_per_step", sweeps_per_step, minimum=1)
    n_thermalize = _v.count("n_thermalize", n_thermalize, minimum=0)
    sampler_init, sweep = metropolis(log_psi, n_sites, n_chains=n_chains, move=move)
    grad_batch = jax.vmap(jax.grad(log_psi), in_axes=(None, 0))

    def init(key, params) -> VMCState:
        _v.key(key)
        sampler = sampler_init(key, params)
        if n_thermalize:
            sampler = sweep(sampler, params, n_thermalize)
        return VMCState(params, sampler, jnp.zeros((), jnp.int32))

    @jax.jit
    def step(state: VMCState, **couplings):
        params = state.params
        sampler = sweep(state.sampler._replace(accepted=jnp.zeros_like(state.sampler.accepted)), params, sweeps_per_step)
        s = sampler.configs
        e_loc = jax.vmap(lambda x: local_energy(log_psi, params, x, **couplings))(s)
        energy = jnp.mean(e_loc)
        o_tree = grad_batch(params, s)
        o = _flatten(o_tree)  # [n_chains, n_params]
        oc = o - jnp.mean(o, axis=0)
        force = oc.T @ (e_loc - energy) / n_chains  # half the energy gradient
        if sr:
            s_matrix = oc.T @ oc / n_chains
            shifted = s_matrix + diag_shift * jnp.eye(s_matrix.shape[0], dtype=o.dtype)
            update = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(shifted), force)
        else:
            update = force
        leaves, treedef = jax.tree_util.tree_flatten(params)
        sizes = [leaf.size for leaf in leaves]
        pieces = jnp.split(update, np.cumsum(sizes)[:-1])
        new_leaves = [leaf - lr * piece.reshape(leaf.shape) for leaf, piece in zip(leaves, pieces)]
        info = {
            "energy": energy,
            "error": jnp.std(e_loc) / jnp.sqrt(n_chains),
            "variance": jnp.var(e_loc),
            "acceptance": jnp.mean(sampler.accepted) / (sweeps_per_step * n_sites),
        }
        return VMCState(jax.tree_util.tree_unflatten(treedef, new_leaves), sampler, state.step + 1), info

    return init, step


def sample_local_energies(
    key, log_psi: Callable, local_energy: Callable, params, n_sites: int, *, n_chains: int = 10_000,
    n_thermalize: int = 50, move: str = "flip",
):
    r"""Fresh, independent samples of :math:`|\psi|^2` and their local energies, for a final estimate.

    Runs ``n_chains`` independent Metropolis chains for ``n_thermalize`` sweeps and keeps the last
    configuration of each. The energy estimate is ``e_loc.mean()`` with standard error
    ``e_loc.std() / sqrt(n_chains)`` (the chains are independent).

    Returns:
      ``(configs, e_loc)`` of shapes ``[n_chains, n_sites]`` and ``[n_chains]``.
    """
    _v.key(key)
    n_thermalize = _v.count("n_thermalize", n_thermalize, minimum=1)
    init, sweep = metropolis(log_psi, n_sites, n_chains=n_chains, move=move)
    state = sweep(init(key, params), params, n_thermalize)
    return state.configs, _batched_local_energy(log_psi, local_energy, params, state.configs)


@partial(jax.jit, static_argnums=(0, 1))
def _batched_local_energy(log_psi, local_energy, params, configs):
    return jax.vmap(lambda x: local_energy(log_psi, params, x))(configs)


# ---------------------------------------------------------------------------------------------------
# Exact sums over all configurations (small chains): the reference for every estimator above
# ---------------------------------------------------------------------------------------------------


def log_psi_vector(log_psi: Callable, params, n_sites: int) -> jax.Array:
    r""":math:`\ln\psi(s)` for all :math:`2^n` configurations, in the basis order of :mod:`physml_helpers.quantum`."""
    s = jnp.asarray(configurations(n_sites), dtype=jax.tree_util.tree_leaves(params)[0].dtype)
    return jax.vmap(log_psi, in_axes=(None, 0))(params, s)


def exact_statistics(
    log_psi: Callable, local_energy: Callable, params, n_sites: int, *, magnetization: int | None = None,
    gradients: bool = True,
) -> dict:
    r"""Exact expectations under :math:`|\psi|^2` by summing over all :math:`2^n` configurations.

    With ``magnetization`` given, the sum runs over the configurations with :math:`\sum_i s_i` equal to it
    only (the states a magnetization-conserving sampler visits; ``"probabilities"`` then has one entry per
    such configuration, in basis order). With ``gradients=False`` only the energy, variance and
    probabilities are computed (the force and ``S`` cost :math:`O(2^n n_\theta^2)`).

    Returns a dict with ``"energy"`` (:math:`\sum_s p(s)E_{\rm loc}(s)`), ``"variance"`` of the local
    energy, ``"force"`` (:math:`F_k = \langle O_k E_{\rm loc}\rangle - \langle O_k\rangle\langle E_{\rm loc}\rangle`,
    flattened over the parameter leaves), ``"S"`` (the quantum geometric tensor) and ``"probabilities"``
    ``[2**n]``. Feasible up to about 20 spins.
    """
    n = _v.count("n_sites", n_sites, minimum=2)
    if n > 20:
        raise ValueError(f"n_sites must be <= 20 for exact sums over 2^n_sites configurations, got {n}")
    configs = configurations(n)
    if magnetization is not None:
        magnetization = _v.integer("magnetization", magnetization)
        configs = configs[configs.sum(axis=1) == magnetization]
        if len(configs) == 0:
            raise ValueError(
                f"magnetization must be one of -n_sites, -n_sites + 2, ..., n_sites = {n}, got {magnetization}"
            )
    s = jnp.asarray(configs, dtype=jax.tree_util.tree_leaves(params)[0].dtype)
    return _exact_sums(log_psi, local_energy, bool(gradients), params, s)


@partial(jax.jit, static_argnums=(0, 1, 2))
def _exact_sums(log_psi, local_energy, gradients, params, s):
    logp = 2 * jax.vmap(log_psi, in_axes=(None, 0))(params, s)
    p = jnp.exp(logp - jax.scipy.special.logsumexp(logp))
    e_loc = jax.vmap(local_energy, in_axes=(None, None, 0))(log_psi, params, s)
    energy = jnp.sum(p * e_loc)
    variance = jnp.sum(p * (e_loc - energy) ** 2)
    if not gradients:
        return {"energy": energy, "variance": variance, "probabilities": p}
    o = _flatten(jax.vmap(jax.grad(log_psi), in_axes=(None, 0))(params, s))
    oc = o - p @ o
    return {
        "energy": energy,
        "variance": variance,
        "force": oc.T @ (p * (e_loc - energy)),
        "S": oc.T @ (p[:, None] * oc),
        "probabilities": p,
    }


# ---------------------------------------------------------------------------------------------------
# Learning a positive state from measurements: tomography by maximum likelihood
# ---------------------------------------------------------------------------------------------------


def born_samples(key, state, n_samples: int) -> jax.Array:
    r"""Simulated :math:`\sigma^z` measurements of a state vector: configurations drawn from :math:`|\psi(s)|^2`.

    Args:
      key: JAX random key.
      state: state vector of shape ``[2**n]`` in the basis order of :mod:`physml_helpers.quantum`.
      n_samples: number of measurements, >= 1.

    Returns:
      float array ``[n_samples, n]`` of ±1.
    """
    _v.key(key)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    state = np.asarray(state)
    n = int(round(np.log2(state.size)))
    if state.ndim != 1 or 2**n != state.size or n < 1:
        raise ValueError(f"state must be a vector of length 2**n, got shape {state.shape}")
    p = np.abs(state) ** 2
    index = jax.random.choice(key, state.size, (n_samples,), p=jnp.asarray(p / p.sum()))
    return jnp.asarray(configurations(n), dtype=jnp.result_type(float))[index]


def tomography_nll(log_psi: Callable, params, samples, n_sites: int) -> jax.Array:
    r"""Negative log-likelihood per sample of measurements under :math:`p_\theta(s) = \psi_\theta(s)^2/Z_\theta`.

    .. math:: \mathcal L(\theta) = -\frac1M\sum_{m} 2\ln\psi_\theta(s_m) + \ln\sum_s \psi_\theta(s)^2,

    with the normalization :math:`Z_\theta` summed exactly over all :math:`2^n` configurations (small chains).
    """
    log_z = jax.scipy.special.logsumexp(2 * log_psi_vector(log_psi, params, n_sites))
    return -2 * jnp.mean(jax.vmap(log_psi, in_axes=(None, 0))(params, samples)) + log_z


def fit_tomography(log_psi: Callable, params, samples, n_sites: int, *, n_steps: int = 500, lr: float = 0.02):
    r"""Maximum-likelihood tomography of a positive state: Adam on :func:`tomography_nll`, in one ``lax.scan``.

    Args:
      log_psi: ``log_psi(params, s)``.
      params: initial parameters.
      samples: measured configurations ``[M, n_sites]`` (from :func:`born_samples`).
      n_sites: number of spins (at most 20: the normalization is an exact sum).
      n_steps: full-batch Adam steps.
      lr: Adam learning rate.

    Returns:
      ``(params, nll)``: the fitted parameters and the loss after each step, shape ``[n_steps]``.
    """
    import optax

    n = _v.count("n_sites", n_sites, minimum=1)
    if n > 20:
        raise ValueError(f"n_sites must be <= 20 (exact normalization over 2^n_sites), got {n}")
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    samples = _v.float_array("samples", samples)
    if samples.ndim != 2 or samples.shape[1] != n:
        raise ValueError(f"samples must have shape [M, n_sites={n}], got {samples.shape}")
    optimizer = optax.adam(lr)
    loss = partial(tomography_nll, log_psi, samples=samples, n_sites=n)

    def body(carry, _):
        p, opt_state = carry
        value, grads = jax.value_and_grad(lambda q: loss(q))(p)
        updates, opt_state = optimizer.update(grads, opt_state, p)
        return (optax.apply_updates(p, updates), opt_state), value

    @jax.jit
    def run(p):
        (p, _), history = jax.lax.scan(body, (p, optimizer.init(p)), None, length=n_steps)
        return p, history

    return run(params)

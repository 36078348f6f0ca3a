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
from one step to the next. The sampler and the optimizer are ``(init, step)`` pairs
(:func:`metropolis_kernel`, :func:`vmc`; see :class:`~physml_helpers.Kernel`) whose steps take the random
key as their first argument.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _random, _validation as _v
from physml_helpers._kernels import Kernel, require_finite_history, scan_kernel
from physml_helpers.quantum import configurations

__all__ = [
    "init_rbm",
    "rbm_log_psi",
    "init_product",
    "product_log_psi",
    "init_jastrow",
    "jastrow_log_psi",
    "init_symmetric_rbm",
    "symmetric_rbm_log_psi",
    "tfim_local_energy",
    "heisenberg_local_energy",
    "marshall_sign",
    "SamplerState",
    "MetropolisInfo",
    "metropolis_kernel",
    "metropolis",
    "VMCState",
    "VMCInfo",
    "vmc",
    "run_vmc",
    "sample_local_energies",
    "exact_statistics",
    "exact_vmc",
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
      ``{"a": float[n_sites], "b": float[alpha * n_sites], "W": float[alpha * n_sites, n_sites]}``.

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: ``n_sites`` or ``alpha`` < 1, ``scale`` < 0.
    """
    _v.key(key)
    n = _v.count("n_sites", n_sites, minimum=1)
    alpha = _v.count("alpha", alpha, minimum=1)
    scale = _v.positive_float("scale", scale, allow_zero=True)
    dtype = _v.float_dtype("dtype", dtype)
    m = alpha * n
    ka, kb, kw = jax.random.split(key, 3)
    return {
        "a": _scaled_normal(ka, (n,), dtype, scale),
        "b": _scaled_normal(kb, (m,), dtype, scale),
        "W": _scaled_normal(kw, (m, n), dtype, scale),
    }


def _scaled_normal(key, shape, dtype, scale):
    """``scale * jax.random.normal(key, shape, dtype)`` with one compilation for every shape (see ``_random``)."""
    draw = _random.normal_array(key, shape, dtype)
    if isinstance(draw, np.ndarray):
        return jnp.asarray(np.asarray(scale, dtype) * draw)
    return scale * draw


def _log_cosh(x):
    # log cosh x = |x| + log(1 + exp(-2|x|)) - log 2, stable for large |x|
    ax = jnp.abs(x)
    return ax + jnp.log1p(jnp.exp(-2 * ax)) - jnp.log(2.0)


def _configuration(name: str, s, n_sites: int | None = None, *, dtype=None, params_text: str = ""):
    """One configuration ``s`` of shape [n_sites]: lists and integer arrays are converted (to ``dtype``, or the
    default float), concrete values must be ±1; the shape is checked statically (valid under jit and vmap)."""
    if not _v.is_traced(s):
        s = _v.float_array(name, s)
        if dtype is not None:
            s = s.astype(dtype)
        _v.spins(name, s)
    elif not jnp.issubdtype(s.dtype, jnp.floating):
        s = s.astype(dtype if dtype is not None else jnp.result_type(float))
    shape = s.shape
    if len(shape) != 1 or (n_sites is not None and shape[0] != n_sites) or shape[0] == 0:
        want = f"[n_sites={n_sites}]" if n_sites is not None else "[n_sites]"
        batch = "; vmap over a batch" if len(shape) > 1 else ""
        raise ValueError(f"{name} must be one configuration of shape {want}{params_text}, got shape {shape}{batch}")
    return s


def _rbm_sites(params) -> int:
    """Static checks (valid under jit) of RBM parameters ``{"a": [n], "b": [M], "W": [M, n]}``; returns n."""
    if not isinstance(params, dict) or not all(k in params for k in ("a", "b", "W")):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"params must be the dict {{'a', 'b', 'W'}} made by init_rbm, got {got}")
    a, b, w = params["a"], params["b"], params["W"]
    if not all(hasattr(x, "shape") and hasattr(x, "dtype") for x in (a, b, w)):
        raise TypeError("params must hold arrays (from init_rbm), got "
                        + ", ".join(f"{k}: {type(params[k]).__name__}" for k in ("a", "b", "W")))
    if len(a.shape) != 1 or len(b.shape) != 1 or tuple(w.shape) != (b.shape[0], a.shape[0]):
        raise ValueError(
            f"params must have a [n_sites], b [M] and W [M, n_sites], got a {tuple(a.shape)}, b {tuple(b.shape)}, "
            f"W {tuple(w.shape)}: these do not fit together; make them with init_rbm(key, n_sites)"
        )
    if not (a.dtype == b.dtype == w.dtype) or not jnp.issubdtype(a.dtype, jnp.floating):
        raise TypeError(f"params must be floating arrays of one dtype, got {a.dtype}, {b.dtype}, {w.dtype}")
    return a.shape[0]


def rbm_log_psi(params: dict, s) -> jax.Array:
    r"""RBM log-amplitude with the hidden spins summed out.

    .. math:: \ln\psi(s) = \sum_i a_i s_i + \sum_j \ln\cosh\Big(b_j + \sum_i W_{ji}s_i\Big)

    (up to the constant :math:`M\ln 2`).

    Args:
      params: ``{"a": [n], "b": [M], "W": [M, n]}`` from :func:`init_rbm`.
      s: float[n] one configuration of ±1 (vmap it for a batch); converted to the parameters' dtype.

    Returns:
      float[] :math:`\ln\psi(s)`, in the parameters' dtype.

    Raises:
      TypeError: ``params`` not the dict made by :func:`init_rbm`; ``s`` not numeric.
      ValueError: ``s`` not a single configuration with one entry per visible spin, or ``params`` whose shapes
        do not fit together (static checks, made under ``jit``/``vmap`` too); a concrete ``s`` with an entry
        other than ±1 (0/1 bits, NaN); concrete ``params`` with an inf or nan.
    """
    n = _rbm_sites(params)
    s = _configuration("s", s, n, dtype=params["a"].dtype,
                       params_text=f" (params are for n_sites={n}; make params with init_rbm(key, n_sites))")
    _v.finite_tree("params", params)
    return jnp.dot(params["a"], s) + jnp.sum(_log_cosh(params["b"] + params["W"] @ s))



# ---------------------------------------------------------------------------------------------------
# A ladder of simpler and more structured ansatze: product state, Jastrow, translation-invariant RBM
# ---------------------------------------------------------------------------------------------------


def _ansatz_sites(name: str, params, shapes: Callable) -> int:
    """Static checks (valid under jit) of an ansatz's parameter dict: the keys of ``shapes(n)``, arrays of one
    floating dtype with those shapes, where n is read off ``params["W"]``'s last axis or ``params["a"]``."""
    expected_keys = tuple(shapes(1))
    if not isinstance(params, dict) or set(params) != set(expected_keys):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise TypeError(f"params must be the dict {set(expected_keys)} made by init_{name}, got {got}")
    if not all(hasattr(params[k], "shape") and hasattr(params[k], "dtype") for k in expected_keys):
        raise TypeError(f"params must hold arrays (from init_{name}), got "
                        + ", ".join(f"{k}: {type(params[k]).__name__}" for k in expected_keys))
    n = params["W"].shape[-1] if "W" in params and len(params["W"].shape) == 2 else (
        params["a"].shape[0] if len(params["a"].shape) == 1 else None)
    want = shapes(n) if n is not None else None
    got = {k: tuple(params[k].shape) for k in expected_keys}
    if n is None or n < 1 or any(got[k] != tuple(want[k]) for k in expected_keys if want[k] is not None):
        raise ValueError(f"params must have shapes {want if want else shapes('n_sites')}, got {got}: these do not fit "
                         f"together; make them with init_{name}(key, n_sites)")
    dtypes = {params[k].dtype for k in expected_keys}
    if len(dtypes) != 1 or not jnp.issubdtype(next(iter(dtypes)), jnp.floating):
        raise TypeError(f"params must be floating arrays of one dtype, got {sorted(str(d) for d in dtypes)}")
    return n


def _product_shapes(n):
    return {"a": (n,)}


def _jastrow_shapes(n):
    return {"a": (n,), "K": (n * (n - 1) // 2,) if isinstance(n, int) else ("n_sites (n_sites - 1) / 2",)}


def _symmetric_shapes(n):
    return {"a": (), "b": None, "W": None}


def _symmetric_sites(params) -> int:
    """Static checks of translation-invariant RBM parameters ``{"a": [], "b": [alpha], "W": [alpha, n]}``."""
    if isinstance(params, dict) and "W" in params and len(getattr(params["W"], "shape", ())) != 2:
        raise ValueError(f"params['W'] must have shape [alpha, n_sites], got {tuple(getattr(params['W'], 'shape', ()))}")
    n = _ansatz_sites("symmetric_rbm", params, _symmetric_shapes)
    if len(params["b"].shape) != 1 or params["b"].shape[0] != params["W"].shape[0] or params["b"].shape[0] < 1:
        raise ValueError(f"params must have b [alpha] and W [alpha, n_sites] with the same alpha >= 1, got b "
                         f"{tuple(params['b'].shape)} and W {tuple(params['W'].shape)}; make them with "
                         "init_symmetric_rbm")
    return n


def _init_common(key, n_sites, scale, dtype, minimum=1):
    _v.key(key)
    n = _v.count("n_sites", n_sites, minimum=minimum)
    scale = _v.positive_float("scale", scale, allow_zero=True)
    return n, scale, _v.float_dtype("dtype", dtype)


def init_product(key, n_sites: int, *, scale: float = 0.01, dtype=None) -> dict:
    r"""Parameters of a positive product state (mean field), :math:`\psi(s) = \prod_i e^{a_i s_i}`.

    Args:
      key: JAX random key.
      n_sites: number of spins, >= 1.
      scale: standard deviation of the Gaussian initial fields, >= 0.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``{"a": float[n_sites]}``.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``n_sites`` not an integer, ``dtype`` not floating.
      ValueError: ``n_sites`` < 1, ``scale`` < 0.
    """
    n, scale, dtype = _init_common(key, n_sites, scale, dtype)
    return {"a": _scaled_normal(key, (n,), dtype, scale)}


def product_log_psi(params: dict, s) -> jax.Array:
    r"""Log-amplitude of a positive product state, :math:`\ln\psi(s) = \sum_i a_i s_i`.

    Every positive product state of spins-½ has this form: site :math:`i` points at polar angle
    :math:`\theta_i` in the :math:`xz` plane with :math:`\tan(\theta_i/2) = e^{-2a_i}`. It carries no
    correlations between sites: it is the mean-field ansatz.

    Args:
      params: ``{"a": [n]}`` from :func:`init_product`.
      s: float[n] one configuration of ±1 (vmap it for a batch).

    Returns:
      float[] :math:`\ln\psi(s)`, in the parameters' dtype.

    Raises:
      TypeError: ``params`` not the dict made by :func:`init_product`; ``s`` not numeric.
      ValueError: ``s`` not one configuration of n spins, or a concrete ``s`` with an entry other than ±1;
        concrete ``params`` with an inf or nan.
    """
    n = _ansatz_sites("product", params, _product_shapes)
    s = _configuration("s", s, n, dtype=params["a"].dtype, params_text=f" (params are for n_sites={n})")
    _v.finite_tree("params", params)
    return jnp.dot(params["a"], s)


def init_jastrow(key, n_sites: int, *, scale: float = 0.01, dtype=None) -> dict:
    r"""Parameters of a Jastrow state with one coupling per pair of sites.

    Args:
      key: JAX random key.
      n_sites: number of spins, >= 2.
      scale: standard deviation of the Gaussian initial parameters, >= 0.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``{"a": float[n_sites], "K": float[n_sites (n_sites - 1) / 2]}``, ``K`` listing the pairs
      :math:`i < j` in the order of ``numpy.triu_indices(n_sites, 1)``.

    Raises:
      TypeError: ``key`` not a typed JAX key, ``n_sites`` not an integer, ``dtype`` not floating.
      ValueError: ``n_sites`` < 2, ``scale`` < 0.
    """
    n, scale, dtype = _init_common(key, n_sites, scale, dtype, minimum=2)
    ka, kk = jax.random.split(key)
    return {"a": _scaled_normal(ka, (n,), dtype, scale),
            "K": _scaled_normal(kk, (n * (n - 1) // 2,), dtype, scale)}


def jastrow_log_psi(params: dict, s) -> jax.Array:
    r"""Log-amplitude of a Jastrow state, :math:`\ln\psi(s) = \sum_i a_i s_i + \sum_{i<j} K_{ij} s_i s_j`.

    A product state times two-body correlation factors: it can build pair correlations at every distance,
    but no genuine many-body ones.

    Args:
      params: ``{"a": [n], "K": [n (n - 1) / 2]}`` from :func:`init_jastrow`.
      s: float[n] one configuration of ±1 (vmap it for a batch).

    Returns:
      float[] :math:`\ln\psi(s)`, in the parameters' dtype.

    Raises:
      TypeError: ``params`` not the dict made by :func:`init_jastrow`; ``s`` not numeric.
      ValueError: ``s`` not one configuration of n spins, ``params`` whose shapes do not fit together, or a
        concrete ``s`` with an entry other than ±1; concrete ``params`` with an inf or nan.
    """
    n = _ansatz_sites("jastrow", params, _jastrow_shapes)
    s = _configuration("s", s, n, dtype=params["a"].dtype, params_text=f" (params are for n_sites={n})")
    _v.finite_tree("params", params)
    # the couplings go into an upper-triangular matrix (under vmap over configurations, once per batch)
    couplings = jnp.zeros((n, n), params["K"].dtype).at[np.triu_indices(n, 1)].set(params["K"])
    return jnp.dot(params["a"], s) + s @ couplings @ s


def init_symmetric_rbm(key, n_sites: int, *, alpha: int = 1, scale: float = 0.01, dtype=None) -> dict:
    r"""Parameters of a translation-invariant RBM with ``alpha`` filters (see :func:`symmetric_rbm_log_psi`).

    Args:
      key: JAX random key.
      n_sites: number of spins, >= 1.
      alpha: number of filters (each makes ``n_sites`` hidden units, one per translation), >= 1.
      scale: standard deviation of the Gaussian initial parameters, >= 0.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``{"a": float[], "b": float[alpha], "W": float[alpha, n_sites]}``: ``alpha (n_sites + 1) + 1`` numbers,
      whatever the size of the lattice's translation group.

    Raises:
      TypeError: ``key`` not a typed JAX key, sizes not integers, ``dtype`` not floating.
      ValueError: ``n_sites`` or ``alpha`` < 1, ``scale`` < 0.
    """
    n, scale, dtype = _init_common(key, n_sites, scale, dtype)
    alpha = _v.count("alpha", alpha, minimum=1)
    ka, kb, kw = jax.random.split(key, 3)
    return {"a": _scaled_normal(ka, (), dtype, scale), "b": _scaled_normal(kb, (alpha,), dtype, scale),
            "W": _scaled_normal(kw, (alpha, n), dtype, scale)}


def symmetric_rbm_log_psi(params: dict, s) -> jax.Array:
    r"""Log-amplitude of a translation-invariant RBM on a ring.

    .. math:: \ln\psi(s) = a\sum_i s_i + \sum_{f=1}^{\alpha}\sum_{t=0}^{n-1}
              \ln\cosh\Big(b_f + \sum_i W_{fi}\, s_{i+t}\Big),

    indices modulo ``n``: an RBM with :math:`\alpha n` hidden units whose weights are the ``alpha`` filters
    ``W`` and all their translates. :math:`\psi(T s) = \psi(s)` for every translation :math:`T`, so the state
    has zero momentum, as the ground state of a translation-invariant chain does (when it is unique).

    Args:
      params: ``{"a": [], "b": [alpha], "W": [alpha, n]}`` from :func:`init_symmetric_rbm`.
      s: float[n] one configuration of ±1 (vmap it for a batch).

    Returns:
      float[] :math:`\ln\psi(s)` (up to the constant :math:`\alpha n\ln 2`), in the parameters' dtype.

    Raises:
      TypeError: ``params`` not the dict made by :func:`init_symmetric_rbm`; ``s`` not numeric.
      ValueError: ``s`` not one configuration of n spins, ``params`` whose shapes do not fit together, or a
        concrete ``s`` with an entry other than ±1; concrete ``params`` with an inf or nan.
    """
    n = _symmetric_sites(params)
    s = _configuration("s", s, n, dtype=params["b"].dtype, params_text=f" (params are for n_sites={n})")
    _v.finite_tree("params", params)
    # sum_i W_fi s_(i+t) = sum_j W_f,(j-t) s_j: translate the filters, not the configuration, so that under
    # vmap over configurations the gather is done once and the rest is one matrix product
    shifted = params["W"][:, (np.arange(n)[None, :] - np.arange(n)[:, None]) % n]  # [alpha, t, j]
    theta = params["b"][:, None] + shifted @ s  # [alpha, n]
    return params["a"] * jnp.sum(s) + jnp.sum(_log_cosh(theta))


# ---------------------------------------------------------------------------------------------------
# Single-flip updates of the RBMs without re-evaluating the network
# ---------------------------------------------------------------------------------------------------
#
# Both RBMs have the form ln psi(s) = sum_i a_i s_i + sum_k ln cosh(theta_k), theta = b + V s, with M hidden units
# (for the translation-invariant RBM, k = (filter, translation) and V holds the translated filters). Flipping spin
# j shifts theta_k by -2 s_j V_kj, and cosh(x - d)/cosh(x) = cosh(d) - tanh(x) sinh(d), so
#
#     psi(s^(j)) / psi(s) = exp(-2 a_j s_j) prod_k [cosh(2 V_kj) - s_j tanh(theta_k) sinh(2 V_kj)]:
#
# every single-flip ratio costs O(M) given theta, instead of O(M n) for a fresh evaluation. We write each factor as
# cosh(2 V_kj) [1 - s_j tanh(theta_k) tanh(2 V_kj)]: the sum of ln cosh(2 V_kj) over k is computed once per parameter
# set, and the bracketed factors lie in (0, 2] (we sum their logarithms: a product could underflow in float32
# where the ratio is moderate). With tau(x) = 1 - |tanh x| (computed without cancellation) the bracket is tau_1 + tau_2 - tau_1 tau_2 when s_j tanh(theta_k) tanh(2 V_kj) > 0, and 2 minus that
# otherwise: accurate to rounding even where both tanh are within 1e-16 of 1. The functions below
# are used automatically (by tfim_local_energy and the Metropolis sampler) when log_psi is rbm_log_psi or
# symmetric_rbm_log_psi; any other callable takes the general path.


def _rbm_normal_form(log_psi, params):
    """``(a [n], b [M], V [M, n])`` of either RBM (see above)."""
    if log_psi is rbm_log_psi:
        _rbm_sites(params)
        return params["a"], params["b"], params["W"]
    n = _symmetric_sites(params)
    alpha = params["b"].shape[0]
    shifted = params["W"][:, (np.arange(n)[None, :] - np.arange(n)[:, None]) % n]  # [alpha, t, j]
    return (jnp.full((n,), params["a"]), jnp.repeat(params["b"], n), shifted.reshape(alpha * n, n))


def _has_fast_flips(log_psi) -> bool:
    return log_psi is rbm_log_psi or log_psi is symmetric_rbm_log_psi


def _tau(x):
    """1 - |tanh x| = 2 / (exp(2|x|) + 1), without cancellation."""
    return 2 / (jnp.exp(2 * jnp.abs(x)) + 1)


def _flip_factors(v):
    """Once per parameter set: sum_k ln cosh(2 V_kj), float[n]; sign(V) and tau(2V), float[M, n]."""
    return jnp.sum(_log_cosh(2 * v), axis=0), jnp.sign(v), _tau(2 * v)


def _bracket(sign, tau_theta, tau_v):
    """1 - tanh(theta) tanh(2V) s_j given sign = sign(s_j theta V) and the two taus (broadcasting)."""
    p = tau_theta + tau_v - tau_theta * tau_v
    return jnp.where(sign > 0, p, 2 - p)


def _flip_log_ratios(log_psi, params, s):
    """ln psi(s^(j)) - ln psi(s) for every j, float[n], by the product formula (one configuration)."""
    a, b, v = _rbm_normal_form(log_psi, params)
    lc, sv, tv = _flip_factors(v)
    theta = b + v @ s
    factors = _bracket(jnp.sign(theta)[:, None] * sv * s[None, :], _tau(theta)[:, None], tv)  # [M, n]
    return -2 * a * s + lc + jnp.sum(jnp.log(factors), axis=0)


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

    with :math:`s^{(i)}` the configuration with spin ``i`` flipped. For :func:`rbm_log_psi` and
    :func:`symmetric_rbm_log_psi` the ``n`` ratios come from one evaluation of the hidden units (an update
    formula, equal to the direct evaluation to rounding); any other ``log_psi`` is evaluated ``n + 1`` times.

    Args:
      log_psi: ``log_psi(params, s)`` for one configuration.
      params: the wavefunction's parameters.
      s: float[n_sites] one configuration of ±1.
      h: transverse field; J: Ising coupling (numbers or traced scalars).

    Returns:
      float[] the local energy.

    Raises:
      TypeError: ``log_psi`` not callable, ``s`` not numeric, a concrete ``h`` or ``J`` not a number.
      ValueError: ``s`` not one configuration (a static check, made under ``jit``/``vmap`` too); a concrete
        ``s`` with an entry other than ±1; a concrete ``h`` or ``J`` not finite; ``log_psi`` failing on ``s``
        or not scalar (for example ``params`` made for another n_sites).
    """
    s, h, J = _local_energy_args(log_psi, params, s, h=h, J=J)
    diagonal = -J * jnp.sum(s * jnp.roll(s, -1))
    if _has_fast_flips(log_psi):  # the RBMs: every ratio from one evaluation of the hidden units
        return diagonal - h * jnp.sum(jnp.exp(_flip_log_ratios(log_psi, params, s)))
    flipped = jax.vmap(log_psi, in_axes=(None, 0))(params, _single_flips(s))
    return diagonal - h * jnp.sum(jnp.exp(flipped - log_psi(params, s)))


def _local_energy_args(log_psi, params, s, **couplings):
    """Checks shared by the local energies: a callable ``log_psi``, one configuration ``s`` (±1 when concrete,
    converted to the parameters' floating dtype), finite concrete couplings and, for a concrete call, a
    ``log_psi`` that is scalar on ``s``."""
    _v.callable_("log_psi", log_psi)
    dtype = _floating_dtype(params)
    s = _configuration("s", s, dtype=dtype)
    values = [_v.traced_or_real(name, value) for name, value in couplings.items()]
    if not _v.is_traced(s) and not any(_v.is_traced(leaf) for leaf in jax.tree_util.tree_leaves(params)):
        _check_log_psi(log_psi, params, s.shape[0])
    return (s, *values)


def _floating_dtype(params):
    """The dtype of the first floating leaf of ``params`` (None if there is none)."""
    for leaf in jax.tree_util.tree_leaves(params):
        if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf.dtype
    return None


def marshall_sign(s) -> jax.Array:
    r"""Marshall's sign :math:`(-1)^{N_\uparrow(B)}`, :math:`N_\uparrow(B)` the number of up spins on odd sites.

    Args:
      s: float[..., n_sites] configurations of ±1 (any batch shape).

    Returns:
      int32[...] the sign, ±1, per configuration.

    Raises:
      TypeError: ``s`` not an array of real numbers.
      ValueError: ``s`` has no site axis (a scalar); a concrete ``s`` with an entry other than ±1.
    """
    if not _v.is_traced(s):
        s = _v.float_array("s", s)
        _v.spins("s", s)
    if getattr(s, "ndim", 0) < 1:
        raise ValueError(f"s must have a last axis of sites, got shape {getattr(s, 'shape', None)}")
    up_on_odd = jnp.sum((s[..., 1::2] > 0).astype(jnp.int32), axis=-1)
    return 1 - 2 * (up_on_odd % 2)


def heisenberg_local_energy(log_psi: Callable, params, s, *, J: float = 1.0, marshall: bool = True) -> jax.Array:
    r"""Local energy of the periodic Heisenberg chain :math:`J\sum_i\mathbf S_i\cdot\mathbf S_{i+1}`.

    .. math:: E_{\rm loc}(s) = \frac J4\sum_i s_is_{i+1}
              + \frac J2\,\sigma\sum_{i:\ s_i \ne s_{i+1}} \frac{\psi(s^{(i,i+1)})}{\psi(s)},

    with :math:`s^{(i,i+1)}` the configuration with spins ``i`` and ``i+1`` exchanged. With
    ``marshall=True`` the true amplitude is :math:`\text{marshall\_sign}(s)\,\psi(s)` with
    :math:`\psi > 0`; an exchange across a bond of an even ring changes the Marshall sign, so
    :math:`\sigma = -1`. On an odd ring the bond from site :math:`N-1` to site 0 joins two even sites
    and the rule fails, so ``marshall=True`` needs an even number of sites. With ``marshall=False``,
    :math:`\sigma = +1`.

    Args:
      log_psi: ``log_psi(params, s)`` for one configuration.
      params: the wavefunction's parameters.
      s: float[n_sites] one configuration of ±1.
      J: exchange coupling.
      marshall: whether ``log_psi`` is the log-modulus of a Marshall-signed state: ``True`` or ``False``, or
        ``1.0``/``0.0`` (possibly traced), so that passing it through ``couplings`` lets one compiled program
        serve both choices (a traced value skips the odd-ring check).

    Returns:
      float[] the local energy.

    Raises:
      ValueError: ``s`` not one configuration, or ``marshall=True`` on an odd ring (static checks); a concrete
        ``s`` with an entry other than ±1; a concrete ``J`` not finite; ``log_psi`` failing on ``s`` or not
        scalar (for example ``params`` made for another n_sites).
      TypeError: ``marshall`` not a bool, 0.0 or 1.0, ``log_psi`` not callable, ``s`` not numeric, ``J`` not a
        number.
    """
    marshall = _marshall_flag(marshall)
    s, J = _local_energy_args(log_psi, params, s, J=J)
    n = s.shape[-1]
    if not _v.is_traced(marshall) and marshall and n % 2:
        raise ValueError(
            f"marshall=True needs an even number of sites (Marshall's sign rule holds on a bipartite ring), "
            f"got n_sites={n}; use marshall=False, or an even chain"
        )
    right = jnp.roll(s, -1)
    diagonal = 0.25 * J * jnp.sum(s * right)
    swap = jnp.eye(n, dtype=s.dtype) + jnp.roll(jnp.eye(n, dtype=s.dtype), 1, axis=1)  # rows: sites i, i+1
    exchanged = s[None, :] * (1 - 2 * swap)  # flipping both of an antiparallel pair exchanges them
    antiparallel = (s != right).astype(s.dtype)
    ratios = jnp.exp(jax.vmap(log_psi, in_axes=(None, 0))(params, exchanged) - log_psi(params, s))
    sign = 1.0 - 2.0 * marshall if _v.is_traced(marshall) else (-1.0 if marshall else 1.0)
    return diagonal + 0.5 * J * sign * jnp.sum(antiparallel * ratios)


def _marshall_flag(marshall):
    """``marshall`` as a bool, or unchanged when traced (a 0/1 coupling)."""
    if _v.is_traced(marshall):
        return marshall
    if isinstance(marshall, (bool, np.bool_)):
        return bool(marshall)
    if isinstance(marshall, (int, float, np.integer, np.floating)) and float(marshall) in (0.0, 1.0):
        return bool(marshall)
    raise TypeError(f"marshall must be True or False (or 1.0/0.0 when passed through couplings), got {marshall!r}")


# ---------------------------------------------------------------------------------------------------
# Metropolis sampling of |psi|^2
# ---------------------------------------------------------------------------------------------------


class SamplerState(NamedTuple):
    """Persistent Metropolis chains: ``configs`` float[n_chains, n_sites] of ±1 and their ``log_psi``
    float[n_chains]."""

    configs: jax.Array
    log_psi: jax.Array


class MetropolisInfo(NamedTuple):
    """What one Metropolis sweep did: ``acceptance`` (float[]), the fraction of proposed moves accepted,
    over all chains."""

    acceptance: jax.Array


def _params_dtype(params):
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(f"params must contain at least one array, got {params!r}")
    if not hasattr(leaves[0], "dtype"):
        raise TypeError(f"params must hold arrays, got {type(leaves[0]).__name__} ({leaves[0]!r})")
    return leaves[0].dtype


@partial(jax.jit, static_argnames=("log_psi", "n_sites", "n_chains", "move"))
def _sampler_init(key, params, log_psi, n_sites, n_chains, move):
    dtype = _params_dtype(params)
    if move == "flip":
        configs = jax.random.choice(key, jnp.array([-1.0, 1.0], dtype), (n_chains, n_sites))
    else:
        base = jnp.where(jnp.arange(n_sites) % 2 == 0, 1.0, -1.0).astype(dtype)
        configs = jax.vmap(lambda k: jax.random.permutation(k, base))(jax.random.split(key, n_chains))
    return SamplerState(configs, jax.vmap(log_psi, in_axes=(None, 0))(params, configs))


def _propose(site, configs, move):
    n = configs.shape[1]
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


def _fast_flip_sweep(state, params, log_psi, sites, log_u):
    """A sweep of single-spin flips for the RBMs: the hidden-unit inputs theta of every chain are carried along, so
    a proposal costs O(M) (the product formula above) instead of a fresh O(M n) evaluation."""
    a, b, v = _rbm_normal_form(log_psi, params)
    lc, sv, tv = _flip_factors(v)
    sv_t, tv_t = sv.T, tv.T  # [n, M]
    theta = state.configs @ v.T + b  # [n_chains, M]

    def one_move(carry, randomness):
        configs, theta, logp, accepted = carry
        site, log_u = randomness
        s_j = jnp.take_along_axis(configs, site[:, None], axis=1)[:, 0]  # [n_chains]
        v_j = v.T[site]  # [n_chains, M]
        factors = _bracket(jnp.sign(theta) * sv_t[site] * s_j[:, None], _tau(theta), tv_t[site])
        delta = -2 * a[site] * s_j + lc[site] + jnp.sum(jnp.log(factors), axis=1)
        accept = log_u < 2 * delta
        flip = jnp.where(accept, -2 * s_j, 0.0).astype(configs.dtype)  # the change of s_j, or 0
        configs = configs + flip[:, None] * jax.nn.one_hot(site, configs.shape[1], dtype=configs.dtype)
        theta = theta + flip[:, None] * v_j
        logp = jnp.where(accept, logp + delta, logp)
        return (configs, theta, logp, accepted + jnp.sum(accept, dtype=jnp.int32)), None

    carry = (state.configs, theta, state.log_psi, jnp.zeros((), jnp.int32))
    (configs, _, logp, accepted), _ = jax.lax.scan(one_move, carry, (sites, log_u))
    return configs, logp, accepted


@partial(jax.jit, static_argnames=("log_psi", "move"))
def _sampler_step(key, state: SamplerState, params, log_psi, move):
    """One sweep: n_sites proposed moves in every chain."""
    batched = jax.vmap(log_psi, in_axes=(None, 0))
    n_chains, n = state.configs.shape

    def one_move(carry, randomness):
        configs, logp, accepted = carry
        site, log_u = randomness
        proposal, valid = _propose(site, configs, move)
        logp_new = batched(params, proposal)
        accept = valid & (log_u < 2 * (logp_new - logp))
        configs = jnp.where(accept[:, None], proposal, configs)
        logp = jnp.where(accept, logp_new, logp)
        return (configs, logp, accepted + jnp.sum(accept, dtype=jnp.int32)), None

    k_site, k_acc = jax.random.split(key)
    # the sweep's random numbers drawn at once (cheaper than a key split per move)
    sites = jax.random.randint(k_site, (n, n_chains), 0, n)
    log_u = jnp.log(jax.random.uniform(k_acc, (n, n_chains), dtype=state.log_psi.dtype))
    if move == "flip" and _has_fast_flips(log_psi):
        configs, logp, accepted = _fast_flip_sweep(state, params, log_psi, sites, log_u)
    else:
        carry = (state.configs, state.log_psi, jnp.zeros((), jnp.int32))
        (configs, logp, accepted), _ = jax.lax.scan(one_move, carry, (sites, log_u))
    acceptance = accepted.astype(state.log_psi.dtype) / (n * n_chains)
    return SamplerState(configs, logp), MetropolisInfo(acceptance)


@partial(jax.jit, static_argnames=("log_psi", "move", "n_sweeps"))
def _sweeps(key, state, params, log_psi, move, n_sweeps):
    step = partial(_sampler_step, params=params, log_psi=log_psi, move=move)
    state, _, infos = scan_kernel(step, state, n_sweeps, key, record=lambda s: None)
    return state, infos


def _check_sampler(log_psi, n_sites, n_chains, move):
    _v.callable_("log_psi", log_psi)
    n = _v.count("n_sites", n_sites, minimum=2)
    n_chains = _v.count("n_chains", n_chains, minimum=1)
    move = _v.choice("move", move, ("flip", "exchange"))
    if move == "exchange" and n % 2:
        raise ValueError(f"move='exchange' starts chains at zero magnetization and needs an even n_sites, got {n}")
    return n, n_chains, move


def _check_log_psi(log_psi, params, n_sites):
    """``log_psi(params, s)`` must be a scalar for one configuration of ``n_sites`` spins (checked abstractly), and
    concrete ``params`` must be finite. A mismatch between ``params`` and ``n_sites`` is reported as such."""
    _v.callable_("log_psi", log_psi)
    sites_of = {rbm_log_psi: _rbm_sites,
                product_log_psi: lambda p: _ansatz_sites("product", p, _product_shapes),
                jastrow_log_psi: lambda p: _ansatz_sites("jastrow", p, _jastrow_shapes),
                symmetric_rbm_log_psi: _symmetric_sites}
    if log_psi in sites_of:
        n_params = sites_of[log_psi](params)
        if n_params != n_sites:
            raise ValueError(
                f"params are for n_sites={n_params}, but n_sites={n_sites}; "
                f"make params for {n_sites} sites (init_rbm(key, {n_sites}) and the like) or pass n_sites={n_params}"
            )
    _v.finite_tree("params", params, hint="; re-initialize them, or lower the learning rate of the fit that made them")
    dtype = _params_dtype(params)
    try:
        _v.output_shape("log_psi", log_psi, params, jax.ShapeDtypeStruct((n_sites,), dtype), expected=(),
                        what=" (log_psi(params, s) for one configuration s of shape [n_sites])")
    except ValueError as err:
        raise ValueError(
            f"{err}. Check that params fit a chain of n_sites={n_sites} spins (params made for another number of "
            "sites give this error)"
        ) from err


def metropolis_kernel(log_psi: Callable, n_sites: int, *, n_chains: int, move: str = "flip") -> Kernel:
    r"""Metropolis sampling of :math:`|\psi_\theta(s)|^2` with local moves, as an ``(init, step)`` pair.

    One step is a sweep: ``n_sites`` proposed moves in every chain, accepted with probability
    :math:`\min(1, |\psi(s')/\psi(s)|^2)`.

    Args:
      log_psi: ``log_psi(params, s)`` for one configuration.
      n_sites: number of spins, >= 2.
      n_chains: number of parallel chains, >= 1.
      move: ``"flip"`` (flip one random spin) or ``"exchange"`` (swap a random nearest-neighbour pair;
        conserves the magnetization, for the Heisenberg chain, where chains start at zero magnetization).

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(key, params) -> SamplerState`` (random starts) and
      ``step(key, state, params) -> (SamplerState, MetropolisInfo)``.

    Raises:
      TypeError: ``log_psi`` not callable, sizes not integers.
      ValueError: ``n_sites`` < 2, ``n_chains`` < 1, an unknown ``move``, ``"exchange"`` with odd
        ``n_sites``; (from ``init``) ``log_psi`` not scalar on a configuration (``params`` made for another
        ``n_sites``), ``params`` with an inf or nan; (from ``init`` and ``step``) a batch of keys.
    """
    n, n_chains, move = _check_sampler(log_psi, n_sites, n_chains, move)

    def init(key, params) -> SamplerState:
        _v.key(key)
        _check_log_psi(log_psi, params, n)
        return _sampler_init(key, params, log_psi=log_psi, n_sites=n, n_chains=n_chains, move=move)

    def step(key, state: SamplerState, params):
        _v.key(key)
        return _sampler_step(key, state, params, log_psi=log_psi, move=move)

    return Kernel(init, step)


def metropolis(key, log_psi: Callable, params, n_sites: int, *, n_chains: int, n_sweeps: int, move: str = "flip"):
    r"""Metropolis sampling of :math:`|\psi_\theta(s)|^2`: ``n_chains`` chains from random starts, run for
    ``n_sweeps`` sweeps of :func:`metropolis_kernel` in one ``lax.scan``.

    Args:
      key: JAX random key.
      log_psi: ``log_psi(params, s)`` for one configuration.
      params: the wavefunction's parameters.
      n_sites: number of spins, >= 2.
      n_chains: number of parallel chains, >= 1.
      n_sweeps: number of sweeps, >= 1.
      move: ``"flip"`` or ``"exchange"`` (see :func:`metropolis_kernel`).

    Returns:
      ``(state, info)``: the final :class:`SamplerState` (``configs`` float[n_chains, n_sites], ``log_psi``
      float[n_chains]) and the :class:`MetropolisInfo` of every sweep (``acceptance`` float[n_sweeps]).

    Raises:
      TypeError: ``key`` not a typed JAX key, ``log_psi`` not callable, sizes not integers.
      ValueError: bad sizes or ``move`` (as for :func:`metropolis_kernel`), ``n_sweeps`` < 1, a batch of keys,
        ``params`` made for another ``n_sites`` (``log_psi`` not scalar on a configuration) or with an inf or nan.
    """
    _v.key(key)
    n, n_chains, move = _check_sampler(log_psi, n_sites, n_chains, move)
    n_sweeps = _v.count("n_sweeps", n_sweeps, minimum=1)
    _check_log_psi(log_psi, params, n)
    return _fresh_chains(key, params, log_psi=log_psi, n_sites=n, n_chains=n_chains, move=move, n_sweeps=n_sweeps)


@partial(jax.jit, static_argnames=("log_psi", "n_sites", "n_chains", "move", "n_sweeps"))
def _fresh_chains(key, params, log_psi, n_sites, n_chains, move, n_sweeps):
    """Random starts and ``n_sweeps`` sweeps, in one compilation (what ``metropolis`` returns)."""
    k_init, k_run = jax.random.split(key)
    state = _sampler_init(k_init, params, log_psi=log_psi, n_sites=n_sites, n_chains=n_chains, move=move)
    return _sweeps(k_run, state, params, log_psi=log_psi, move=move, n_sweeps=n_sweeps)


# ---------------------------------------------------------------------------------------------------
# Variational Monte Carlo with stochastic reconfiguration
# ---------------------------------------------------------------------------------------------------


class VMCState(NamedTuple):
    """Parameters (a pytree), the persistent sampler chains (:class:`SamplerState`), the step counter
    (int32[]) and the state of the optional ``optimizer`` of :func:`vmc` (None without one)."""

    params: Any
    sampler: SamplerState
    step: jax.Array
    opt_state: Any = None


class VMCInfo(NamedTuple):
    """What one VMC step measured on the samples it used (before its update): the ``energy`` estimate,
    its standard ``error`` (independent chains), the local-energy ``variance``, and the Metropolis
    ``acceptance`` during the step's sweeps; all float[]."""

    energy: jax.Array
    error: jax.Array
    variance: jax.Array
    acceptance: jax.Array


def _flatten(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in leaves], axis=1)


def _direction(oc, weights, e_centred, sr, diag_shift):
    """Half the energy gradient, F = <O_c E_c>, preconditioned by (S + diag_shift)^-1 if ``sr``; ``oc`` are the
    centred log-derivatives [n_samples, n_params], ``weights`` the probability of each sample."""
    force = oc.T @ (weights * e_centred)
    if not sr:
        return force
    s_matrix = oc.T @ (weights[:, None] * oc)
    shifted = s_matrix + diag_shift * jnp.eye(s_matrix.shape[0], dtype=oc.dtype)
    return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(shifted), force)


def _apply_direction(params, direction, lr, optimizer, opt_state):
    """params - lr * direction (as a flat vector), after the optional optimizer transformed the direction."""
    leaves, treedef = jax.tree_util.tree_flatten(params)
    sizes = [leaf.size for leaf in leaves]
    pieces = jnp.split(direction, np.cumsum(sizes)[:-1])
    tree = jax.tree_util.tree_unflatten(treedef, [p.reshape(leaf.shape) for leaf, p in zip(leaves, pieces)])
    if optimizer is not None:
        from physml_helpers.networks import _optax_update

        tree, opt_state = _optax_update(optimizer, tree, opt_state, params)
    return jax.tree_util.tree_map(lambda p, d: p - lr * d.astype(p.dtype), params, tree), opt_state


@partial(jax.jit, static_argnames=("log_psi", "local_energy", "move", "sweeps_per_step", "sr", "optimizer"))
def _vmc_step(key, state: VMCState, couplings, log_psi, local_energy, move, sweeps_per_step, sr, lr, diag_shift,
              optimizer=None):
    params = state.params
    # the chains' cached log_psi were computed with the parameters before the last update: refresh them, or the
    # first acceptance ratio of every chain would compare two different wavefunctions
    chains = state.sampler._replace(log_psi=jax.vmap(log_psi, in_axes=(None, 0))(params, state.sampler.configs))
    sampler, infos = _sweeps(key, chains, params, log_psi=log_psi, move=move, n_sweeps=sweeps_per_step)
    s = sampler.configs
    n_chains = s.shape[0]
    e_loc = jax.vmap(lambda x: local_energy(log_psi, params, x, **couplings))(s)
    energy = jnp.mean(e_loc)
    o = _flatten(jax.vmap(jax.grad(log_psi), in_axes=(None, 0))(params, s))  # [n_chains, n_params]
    oc = o - jnp.mean(o, axis=0)
    weights = jnp.full((n_chains,), 1.0 / n_chains, dtype=o.dtype)
    direction = _direction(oc, weights, e_loc - energy, sr, diag_shift)
    new_params, opt_state = _apply_direction(params, direction, lr, optimizer, state.opt_state)
    info = VMCInfo(energy, jnp.std(e_loc) / jnp.sqrt(n_chains), jnp.var(e_loc), jnp.mean(infos.acceptance))
    return VMCState(new_params, sampler, state.step + 1, opt_state), info


def _check_optimizer(optimizer):
    if optimizer is not None and not (callable(getattr(optimizer, "init", None))
                                      and callable(getattr(optimizer, "update", None))):
        raise TypeError(f"optimizer must be None or an optax GradientTransformation (with init and update), for "
                        f"example optax.scale_by_adam(); got {type(optimizer).__name__}")
    return optimizer


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
    optimizer=None,
) -> Kernel:
    r"""Variational Monte Carlo as an ``(init, step)`` pair.

    Each step runs ``sweeps_per_step`` Metropolis sweeps in every chain, estimates the energy and
    :math:`F = \tfrac12\nabla E` on the ``n_chains`` current configurations, and updates
    :math:`\theta \leftarrow \theta - \eta\, d` with :math:`d = (S + \lambda I)^{-1}F` (``sr=True``) or
    :math:`d = F` (plain gradient descent); an ``optimizer`` (for example ``optax.scale_by_adam()``, which
    makes the update Adam's) transforms :math:`d` before the step of length ``lr``.

    Args:
      log_psi: ``log_psi(params, s)``, real, for one configuration.
      local_energy: ``local_energy(log_psi, params, s, **couplings)`` for one configuration. Couplings
        passed to ``step`` as keywords are traced, so one compilation serves every value (a scan over
        fields); couplings bound with ``functools.partial`` are fixed instead.
      n_sites: number of spins.
      n_chains: parallel Metropolis chains; each step uses one sample per chain.
      lr: learning rate :math:`\eta`, > 0.
      diag_shift: :math:`\lambda` >= 0, added to the diagonal of :math:`S` (regularises the solve).
      sweeps_per_step: Metropolis sweeps between steps, >= 1.
      n_thermalize: sweeps run by ``init`` before the first step, >= 0.
      move: Metropolis move, ``"flip"`` or ``"exchange"`` (see :func:`metropolis_kernel`).
      sr: stochastic reconfiguration if True, plain gradient descent if False.
      optimizer: None, or an optax ``GradientTransformation`` applied to the direction :math:`d` (its own
        learning rate should be 1: ``lr`` sets the step, so one compilation serves a sweep over ``lr``).

    Returns:
      :class:`~physml_helpers.Kernel` with ``init(key, params) -> VMCState`` (random starts, thermalized)
      and ``step(key, state, **couplings) -> (VMCState, VMCInfo)`` (jitted).

    Raises:
      TypeError: callables not callable, sizes not integers, ``sr`` not a bool, ``optimizer`` without ``init``
        and ``update``; (from ``init`` and ``step``)
        ``key`` not a typed JAX key; (from ``step``) a concrete coupling not a number.
      ValueError: bad sizes, ``lr`` <= 0, ``diag_shift`` < 0, an unknown ``move``; (from ``init``)
        ``log_psi`` not scalar on a configuration (``params`` made for another ``n_sites``), ``params`` with an
        inf or nan; (from ``step``) a concrete coupling not finite.
    """
    _v.callable_("local_energy", local_energy)
    lr = _v.positive_float("lr", lr)
    diag_shift = _v.positive_float("diag_shift", diag_shift, allow_zero=True)
    sweeps_per_step = _v.count("sweeps_per_step", sweeps_per_step, minimum=1)
    n_thermalize = _v.count("n_thermalize", n_thermalize, minimum=0)
    sr = _v.boolean("sr", sr)
    optimizer = _check_optimizer(optimizer)
    sampler = metropolis_kernel(log_psi, n_sites, n_chains=n_chains, move=move)

    def init(key, params) -> VMCState:
        _v.key(key)
        k_init, k_therm = jax.random.split(key)
        chains = sampler.init(k_init, params)
        if n_thermalize:
            chains, _ = _sweeps(k_therm, chains, params, log_psi=log_psi, move=move, n_sweeps=n_thermalize)
        opt_state = None if optimizer is None else optimizer.init(params)
        return VMCState(params, chains, jnp.zeros((), jnp.int32), opt_state)

    def step(key, state: VMCState, **couplings):
        _v.key(key)
        couplings = {name: _v.traced_or_real(name, value) for name, value in couplings.items()}
        return _vmc_step(key, state, couplings, log_psi=log_psi, local_energy=local_energy, move=move,
                         sweeps_per_step=sweeps_per_step, sr=sr, lr=lr, diag_shift=diag_shift, optimizer=optimizer)

    return Kernel(init, step)


@partial(jax.jit, static_argnames=("log_psi", "local_energy", "move", "sweeps_per_step", "sr", "optimizer",
                                   "n_steps", "record_every"))
def _run_vmc(key, state, couplings, lr, diag_shift, log_psi, local_energy, move, sweeps_per_step, sr, optimizer,
             n_steps, record_every):
    def block(state, keys):
        state, infos = jax.lax.scan(
            lambda st, k: _vmc_step(k, st, couplings, log_psi=log_psi, local_energy=local_energy, move=move,
                                    sweeps_per_step=sweeps_per_step, sr=sr, lr=lr, diag_shift=diag_shift,
                                    optimizer=optimizer), state, keys)
        return state, (state.params, infos)

    keys = jax.random.split(key, n_steps).reshape(n_steps // record_every, record_every)
    state, (history, infos) = jax.lax.scan(block, state, keys)
    return state, history, jax.tree_util.tree_map(lambda x: x.reshape(n_steps, *x.shape[2:]), infos)


@partial(jax.jit, static_argnames=("log_psi", "local_energy", "move", "sweeps_per_step", "sr", "optimizer",
                                   "n_steps", "record_every", "n_sites", "n_chains", "n_thermalize"))
def _init_and_run_vmc(key, params, couplings, lr, diag_shift, log_psi, local_energy, move, sweeps_per_step, sr,
                      optimizer, n_steps, record_every, n_sites, n_chains, n_thermalize):
    """``vmc(...).init`` with ``k_init`` and ``_run_vmc`` with ``k_run`` (``k_init, k_run = split(key)``)."""
    k_init, k_run = jax.random.split(key)
    k_chains, k_therm = jax.random.split(k_init)
    chains = _sampler_init(k_chains, params, log_psi=log_psi, n_sites=n_sites, n_chains=n_chains, move=move)
    if n_thermalize:
        chains, _ = _sweeps(k_therm, chains, params, log_psi=log_psi, move=move, n_sweeps=n_thermalize)
    opt_state = None if optimizer is None else optimizer.init(params)
    state = VMCState(params, chains, jnp.zeros((), jnp.int32), opt_state)
    return _run_vmc(k_run, state, couplings, lr, diag_shift, log_psi=log_psi, local_energy=local_energy, move=move,
                    sweeps_per_step=sweeps_per_step, sr=sr, optimizer=optimizer, n_steps=n_steps,
                    record_every=record_every)


def run_vmc(
    key, log_psi: Callable, local_energy: Callable, params, n_sites: int, *, n_steps: int, record_every: int = 1,
    couplings: dict | None = None, n_chains: int = 1000, lr: float = 0.05, diag_shift: float = 0.01,
    sweeps_per_step: int = 1, n_thermalize: int = 20, move: str = "flip", sr: bool = True, optimizer=None,
):
    r"""Variational Monte Carlo for ``n_steps`` steps of :func:`vmc`, in one compiled ``lax.scan``.

    Step ``i`` receives ``jax.random.split(k_run, n_steps)[i]`` (with ``k_init, k_run = jax.random.split(key)``,
    ``k_init`` going to ``init``), so the run equals a Python loop over the kernel's ``step`` with those keys.
    Compiled once per callable, shape and static option: new ``params``, ``couplings``, ``lr`` or
    ``diag_shift`` reuse the compilation (pass the same ``optimizer`` object to reuse it with one).

    Args:
      key: JAX random key.
      log_psi, local_energy, n_sites, n_chains, lr, diag_shift, sweeps_per_step, n_thermalize, move, sr,
        optimizer: as for :func:`vmc`.
      params: the initial parameters.
      n_steps: number of steps, >= 1, a multiple of ``record_every``.
      record_every: keep the parameters after every this-many-th step, >= 1.
      couplings: keyword arguments of ``local_energy`` passed at every step (traced), e.g. ``{"h": 1.0}``.

    Returns:
      ``(state, history, info)``: the final :class:`VMCState`; the parameters after steps ``record_every``,
      ``2 record_every``, ..., stacked on a new leading axis (a pytree like ``params``); and the
      :class:`VMCInfo` of every step, each field float[n_steps].

    Raises:
      ConvergenceError: the energy estimate became inf or nan (the run diverged: lower ``lr``).
      TypeError: as for :func:`vmc`; ``couplings`` not a dict, or a coupling not a number.
      ValueError: as for :func:`vmc`; ``n_steps`` < 1, ``record_every`` < 1 or not a divisor of ``n_steps``;
        a coupling not finite.
    """
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    record_every = _v.count("record_every", record_every, minimum=1)
    if n_steps % record_every:
        raise ValueError(f"record_every must divide n_steps, got n_steps={n_steps}, record_every={record_every}")
    couplings = _couplings(couplings)
    vmc(log_psi, local_energy, n_sites, n_chains=n_chains, lr=lr, diag_shift=diag_shift,
        sweeps_per_step=sweeps_per_step, n_thermalize=n_thermalize, move=move, sr=sr, optimizer=optimizer)  # checks
    _v.key(key)
    n, n_chains, move = _check_sampler(log_psi, n_sites, n_chains, move)
    _check_log_psi(log_psi, params, n)
    _check_local_energy(log_psi, lambda lp, p, x: local_energy(lp, p, x, **couplings), params,
                        jnp.ones((n,), _params_dtype(params)))
    # the kernel's init (random chains, thermalization) and the steps in one compilation
    state, history, info = _init_and_run_vmc(
        key, params, couplings, lr, diag_shift, log_psi=log_psi, local_energy=local_energy, move=move,
        sweeps_per_step=sweeps_per_step, sr=sr, optimizer=optimizer, n_steps=n_steps, record_every=record_every,
        n_sites=n, n_chains=n_chains, n_thermalize=_v.count("n_thermalize", n_thermalize, minimum=0))
    require_finite_history("run_vmc", info.energy, lr)
    return state, history, info


def _couplings(couplings):
    if couplings is None:
        return {}
    if not isinstance(couplings, dict):
        raise TypeError(f"couplings must be a dict of keyword arguments of local_energy, e.g. {{'h': 1.0}}, got "
                        f"{type(couplings).__name__}")
    return {name: _v.traced_or_real(name, value) for name, value in couplings.items()}


def sample_local_energies(
    key, log_psi: Callable, local_energy: Callable, params, n_sites: int, *, n_chains: int | None = None,
    n_thermalize: int = 50, move: str = "flip", chains: SamplerState | None = None, couplings: dict | None = None,
):
    r"""Fresh, independent samples of :math:`|\psi|^2` and their local energies, for a final estimate.

    Runs ``n_chains`` independent Metropolis chains (:func:`metropolis`) for ``n_thermalize`` sweeps and
    keeps the last configuration of each. The energy estimate is ``e_loc.mean()`` with standard error
    ``e_loc.std() / sqrt(n_chains)`` (the chains are independent). With ``chains`` (for example the
    ``state.sampler`` of a finished :func:`run_vmc`, already close to equilibrium) the sweeps continue
    those chains instead of starting from random configurations.

    Args:
      key: JAX random key.
      log_psi: ``log_psi(params, s)``; local_energy: ``local_energy(log_psi, params, s)`` for one configuration.
      params: the wavefunction's parameters.
      n_sites: number of spins, >= 2.
      n_chains: number of independent samples, >= 1 (default 10 000, or the number of ``chains``).
      n_thermalize: sweeps per chain, >= 1.
      move: ``"flip"`` or ``"exchange"``.
      chains: None (random starts), or a :class:`SamplerState` of ``[n_chains, n_sites]`` configurations
        to continue.
      couplings: keyword arguments of ``local_energy`` (traced, as in :func:`run_vmc`: one compilation
        serves every value), e.g. ``{"h": 1.0}``.

    Returns:
      ``(configs, e_loc)`` of shapes float[n_chains, n_sites] and float[n_chains].

    Raises:
      TypeError: ``key`` not a typed JAX key, callables not callable, sizes not integers; ``couplings`` not a
        dict, or a coupling not a number.
      ValueError: bad sizes or ``move``; ``log_psi`` or ``local_energy`` not scalar on a configuration
        (``params`` made for another ``n_sites``); ``params`` with an inf or nan; a batch of keys; ``chains``
        whose configurations are not [n_chains, n_sites] of ±1; a coupling not finite.
    """
    _v.key(key)
    _v.callable_("local_energy", local_energy)
    n_thermalize = _v.count("n_thermalize", n_thermalize, minimum=1)
    if chains is None:
        n, n_chains, move = _check_sampler(log_psi, n_sites, 10_000 if n_chains is None else n_chains, move)
        _check_log_psi(log_psi, params, n)
        configs = None
    else:
        if not isinstance(chains, SamplerState):
            raise TypeError(f"chains must be a SamplerState (state.sampler of a VMC run), got {type(chains).__name__}")
        configs = _v.float_array("chains.configs", chains.configs, ndim=2)
        want = (configs.shape[0] if n_chains is None else n_chains, n_sites)
        if configs.shape != want:
            raise ValueError(f"chains must hold configurations of shape [n_chains, n_sites] = {list(want)}, "
                             f"got {list(configs.shape)}")
        _v.spins("chains.configs", configs)
        n, n_chains, move = _check_sampler(log_psi, n_sites, want[0], move)
        _check_log_psi(log_psi, params, n)
        configs = configs.astype(_params_dtype(params))
    couplings = _couplings(couplings)
    _check_local_energy(log_psi, lambda lp, p, x: local_energy(lp, p, x, **couplings), params,
                        jnp.ones((n,), _params_dtype(params)))
    return _sample_and_measure(key, params, configs, couplings, log_psi=log_psi, local_energy=local_energy,
                               n_sites=n, n_chains=n_chains, move=move, n_sweeps=n_thermalize)


@partial(jax.jit, static_argnames=("log_psi", "local_energy", "n_sites", "n_chains", "move", "n_sweeps"))
def _sample_and_measure(key, params, configs, couplings, log_psi, local_energy, n_sites, n_chains, move, n_sweeps):
    """The sampling and the local energies of ``sample_local_energies`` in one compilation: fresh chains
    (``configs`` None, as ``metropolis`` makes them) or the given configurations continued."""
    if configs is None:
        state, _ = _fresh_chains(key, params, log_psi=log_psi, n_sites=n_sites, n_chains=n_chains, move=move,
                                 n_sweeps=n_sweeps)
    else:
        start = SamplerState(configs, _log_psi_all(log_psi, params, configs))
        state, _ = _sweeps(key, start, params, log_psi=log_psi, move=move, n_sweeps=n_sweeps)
    return state.configs, jax.vmap(lambda x: local_energy(log_psi, params, x, **couplings))(state.configs)


# ---------------------------------------------------------------------------------------------------
# Exact sums over all configurations (small chains): the reference for every estimator above
# ---------------------------------------------------------------------------------------------------


def log_psi_vector(log_psi: Callable, params, n_sites: int) -> jax.Array:
    r""":math:`\ln\psi(s)` for all :math:`2^n` configurations, in the basis order of :mod:`physml_helpers.quantum`.

    Args:
      log_psi: ``log_psi(params, s)`` for one configuration.
      params: the wavefunction's parameters (their dtype sets the configurations' dtype).
      n_sites: number of spins, 1 <= n_sites <= 24.

    Returns:
      float[2**n_sites] the log-amplitudes.

    Raises:
      TypeError: ``log_psi`` not callable, ``n_sites`` not an integer.
      ValueError: ``n_sites`` out of range, ``log_psi`` not scalar on a configuration (``params`` made for
        another ``n_sites``), concrete ``params`` with an inf or nan.
    """
    n = _v.count("n_sites", n_sites, minimum=1)
    if n > 24:
        raise ValueError(f"n_sites must be <= 24 for a vector of all 2^n_sites amplitudes, got {n}")
    _v.callable_("log_psi", log_psi)
    dtype = _params_dtype(params)
    if not _v.is_traced(jax.tree_util.tree_leaves(params)[0]):
        _check_log_psi(log_psi, params, n)
    return _log_psi_all(log_psi, params, jnp.asarray(configurations(n), dtype=dtype))


@partial(jax.jit, static_argnums=0)
def _log_psi_all(log_psi, params, s):
    return jax.vmap(log_psi, in_axes=(None, 0))(params, s)


def exact_statistics(
    log_psi: Callable, local_energy: Callable, params, n_sites: int, *, magnetization: int | None = None,
    gradients: bool = True,
) -> dict:
    r"""Exact expectations under :math:`|\psi|^2` by summing over all :math:`2^n` configurations.

    Args:
      log_psi: ``log_psi(params, s)``; local_energy: ``local_energy(log_psi, params, s)``, for one configuration.
      params: the wavefunction's parameters.
      n_sites: number of spins, 2 <= n_sites <= 20.
      magnetization: if given, the sum runs over the configurations with :math:`\sum_i s_i` equal to it
        only (the states a magnetization-conserving sampler visits).
      gradients: if False, only the energy, variance and probabilities are computed (the force and
        ``S`` cost :math:`O(2^n n_\theta^2)`).

    Returns:
      A dict with ``"energy"`` (:math:`\sum_s p(s)E_{\rm loc}(s)`, float[]), ``"variance"`` of the local
      energy (float[]), ``"force"`` (:math:`F_k = \langle O_k E_{\rm loc}\rangle - \langle O_k\rangle\langle
      E_{\rm loc}\rangle`, flattened over the parameter leaves, float[n_params]), ``"S"`` (the quantum
      geometric tensor, float[n_params, n_params]) and ``"probabilities"`` (float[n_configs], one entry per
      configuration summed over, in basis order).

    Raises:
      TypeError: callables not callable, ``n_sites`` or ``magnetization`` not integers, ``gradients`` not a bool.
      ValueError: ``n_sites`` out of range, a ``magnetization`` no configuration has, ``log_psi`` or
        ``local_energy`` not scalar on a configuration (``params`` made for another ``n_sites``), ``params``
        with an inf or nan.
    """
    _v.callable_("log_psi", log_psi)
    _v.callable_("local_energy", local_energy)
    n = _v.count("n_sites", n_sites, minimum=2)
    if n > 20:
        raise ValueError(f"n_sites must be <= 20 for exact sums over 2^n_sites configurations, got {n}")
    gradients = _v.boolean("gradients", gradients)
    configs = _sector_configurations(n, magnetization)
    _check_log_psi(log_psi, params, n)
    s = jnp.asarray(configs, dtype=_params_dtype(params))
    _check_local_energy(log_psi, local_energy, params, s[0])
    return _exact_sums(log_psi, local_energy, gradients, params, s)


def _sector_configurations(n: int, magnetization) -> np.ndarray:
    """All configurations of n spins, or those with total magnetization ``magnetization`` when it is given."""
    configs = configurations(n)
    if magnetization is None:
        return configs
    magnetization = _v.integer("magnetization", magnetization)
    configs = configs[configs.sum(axis=1) == magnetization]
    if len(configs) == 0:
        raise ValueError(
            f"magnetization must be one of -n_sites, -n_sites + 2, ..., n_sites = {n}, got {magnetization}"
        )
    return configs


def _check_local_energy(log_psi, local_energy, params, s) -> None:
    _v.output_shape("local_energy", lambda x: local_energy(log_psi, params, x), s, expected=(),
                    what=" (local_energy(log_psi, params, s) for one configuration s)")


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


@partial(jax.jit, static_argnames=("log_psi", "local_energy", "sr", "n_steps"))
def _exact_vmc(params, s, couplings, lr, diag_shift, log_psi, local_energy, sr, n_steps):
    def step(params, _):
        logp = 2 * jax.vmap(log_psi, in_axes=(None, 0))(params, s)
        p = jnp.exp(logp - jax.scipy.special.logsumexp(logp))
        e_loc = jax.vmap(lambda x: local_energy(log_psi, params, x, **couplings))(s)
        energy = jnp.sum(p * e_loc)
        o = _flatten(jax.vmap(jax.grad(log_psi), in_axes=(None, 0))(params, s))
        direction = _direction(o - p @ o, p, e_loc - energy, sr, diag_shift)
        return _apply_direction(params, direction, lr, None, None)[0], energy

    return jax.lax.scan(step, params, None, length=n_steps)


def exact_vmc(
    log_psi: Callable, local_energy: Callable, params, n_sites: int, *, n_steps: int, lr: float = 0.05,
    diag_shift: float = 0.01, sr: bool = True, couplings: dict | None = None, magnetization: int | None = None,
):
    r"""Variational minimization with the Monte Carlo averages of :func:`vmc` replaced by exact sums.

    The same update as :func:`vmc`, :math:`\theta \leftarrow \theta - \eta\,(S + \lambda I)^{-1}F` (or
    :math:`-\eta F` with ``sr=False``), with :math:`F` and :math:`S` summed over all :math:`2^n`
    configurations (:func:`exact_statistics`): no sampling noise, so differences between ansatze at a fixed
    budget of steps are differences of what the families can represent and how fast they are optimized.
    One ``lax.scan``, compiled once per callable, shape and ``n_steps``.

    Args:
      log_psi: ``log_psi(params, s)``; local_energy: ``local_energy(log_psi, params, s, **couplings)``.
      params: the initial parameters.
      n_sites: number of spins, 2 <= n_sites <= 16.
      n_steps: number of steps, >= 1.
      lr: learning rate :math:`\eta`, > 0.
      diag_shift: :math:`\lambda` >= 0.
      sr: stochastic reconfiguration (here exact) if True, plain gradient descent if False.
      couplings: keyword arguments of ``local_energy`` (traced), e.g. ``{"h": 1.0}``.
      magnetization: if given, sum only over configurations with :math:`\sum_i s_i` equal to it.

    Returns:
      ``(params, energies)``: the final parameters and the exact variational energy before each step,
      float[n_steps].

    Raises:
      ConvergenceError: the energy became inf or nan (lower ``lr``).
      TypeError: callables not callable, sizes not integers, ``sr`` not a bool, ``couplings`` not a dict.
      ValueError: ``n_sites`` out of range, ``n_steps`` < 1, ``lr`` <= 0, ``diag_shift`` < 0, a
        ``magnetization`` no configuration has, ``log_psi`` or ``local_energy`` not scalar on a configuration,
        ``params`` with an inf or nan.
    """
    _v.callable_("log_psi", log_psi)
    _v.callable_("local_energy", local_energy)
    n = _v.count("n_sites", n_sites, minimum=2)
    if n > 16:
        raise ValueError(f"n_sites must be <= 16 for exact sums at every step, got {n}")
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    diag_shift = _v.positive_float("diag_shift", diag_shift, allow_zero=True)
    sr = _v.boolean("sr", sr)
    couplings = _couplings(couplings)
    configs = _sector_configurations(n, magnetization)
    _check_log_psi(log_psi, params, n)
    s = jnp.asarray(configs, dtype=_params_dtype(params))
    _check_local_energy(log_psi, lambda lp, p, x: local_energy(lp, p, x, **couplings), params, s[0])
    params, energies = _exact_vmc(params, s, couplings, lr, diag_shift, log_psi=log_psi, local_energy=local_energy,
                                  sr=sr, n_steps=n_steps)
    require_finite_history("exact_vmc", energies, lr)
    return params, energies


# ---------------------------------------------------------------------------------------------------
# Learning a positive state from measurements: tomography by maximum likelihood
# ---------------------------------------------------------------------------------------------------


def born_samples(key, state, n_samples: int) -> jax.Array:
    r"""Simulated :math:`\sigma^z` measurements of a state vector: configurations drawn from :math:`|\psi(s)|^2`.

    Args:
      key: JAX random key.
      state: float[2**n] (or complex) state vector in the basis order of :mod:`physml_helpers.quantum`,
        not necessarily normalized.
      n_samples: number of measurements, >= 1.

    Returns:
      float[n_samples, n] of ±1, in the real dtype of ``state`` (float64 for a NumPy state under x64).

    Raises:
      TypeError: ``key`` not a typed JAX key, ``state`` not numeric, ``n_samples`` not an integer.
      ValueError: ``state`` not a vector of length 2**n with n >= 1, zero or non-finite; ``n_samples`` < 1.
    """
    _v.key(key)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    if state is None or isinstance(state, (str, bytes)):
        raise TypeError(f"state must be a state vector (an array), got {type(state).__name__}")
    try:
        arr = jnp.asarray(state)
    except (TypeError, ValueError):
        raise TypeError(f"state must be a state vector (an array), got {type(state).__name__}") from None
    if not jnp.issubdtype(arr.dtype, jnp.number):
        raise TypeError(f"state must hold real or complex numbers, got dtype {arr.dtype}")
    n = int(round(np.log2(arr.size))) if arr.size else 0
    if arr.ndim != 1 or n < 1 or 2**n != arr.size:
        raise ValueError(f"state must be a vector of length 2**n with n >= 1, got shape {arr.shape}")
    p = jnp.abs(arr) ** 2
    if not jnp.issubdtype(p.dtype, jnp.floating):
        p = p.astype(jnp.result_type(float))
    total = float(jnp.sum(p))
    if not (np.isfinite(total) and total > 0):
        raise ValueError(f"state must be a finite, non-zero vector, got squared norm {total}")
    return _born_draw(key, p / total, n_samples=n_samples, n_sites=n)


@partial(jax.jit, static_argnames=("n_samples", "n_sites"))
def _born_draw(key, probabilities, n_samples, n_sites):
    """``n_samples`` configurations drawn from ``probabilities`` over the basis, in one compiled program."""
    index = jax.random.choice(key, probabilities.size, (n_samples,), p=probabilities)
    bits = (index[:, None] >> jnp.arange(n_sites - 1, -1, -1)) & 1  # basis order of quantum.configurations
    return (1 - 2 * bits).astype(probabilities.dtype)


def tomography_nll(log_psi: Callable, params, samples, n_sites: int) -> jax.Array:
    r"""Negative log-likelihood per sample of measurements under :math:`p_\theta(s) = \psi_\theta(s)^2/Z_\theta`.

    .. math:: \mathcal L(\theta) = -\frac1M\sum_{m} 2\ln\psi_\theta(s_m) + \ln\sum_s \psi_\theta(s)^2,

    with the normalization :math:`Z_\theta` summed exactly over all :math:`2^n` configurations (small chains).
    Traceable (it is the loss :func:`fit_tomography` differentiates).

    Args:
      log_psi: ``log_psi(params, s)`` for one configuration.
      params: the wavefunction's parameters.
      samples: float[M, n_sites] measured configurations of ±1.
      n_sites: number of spins, 1 <= n_sites <= 20.

    Returns:
      float[] the mean negative log-likelihood.

    Raises:
      ValueError: ``samples`` not of shape [M, n_sites] with M >= 1 (a static check), ``n_sites`` out of range;
        concrete ``samples`` with an entry other than ±1 (0/1 bits, NaN); for concrete ``params``, ``log_psi``
        not scalar on a configuration (``params`` made for another ``n_sites``) or ``params`` with an inf or nan.
      TypeError: ``n_sites`` not an integer, ``samples`` not numeric, ``log_psi`` not callable.
    """
    n = _v.count("n_sites", n_sites, minimum=1)
    if n > 20:
        raise ValueError(f"n_sites must be <= 20 (exact normalization over 2^n_sites), got {n}")
    _v.callable_("log_psi", log_psi)
    dtype = _params_dtype(params)
    if not _v.is_traced(samples):
        samples = _v.float_array("samples", samples).astype(dtype)
        _v.spins("samples", samples)
    if getattr(samples, "ndim", None) != 2 or samples.shape[1] != n or samples.shape[0] < 1:
        raise ValueError(f"samples must have shape [M, n_sites={n}] with M >= 1, got {getattr(samples, 'shape', None)}")
    if not any(_v.is_traced(leaf) for leaf in jax.tree_util.tree_leaves(params)):
        _check_log_psi(log_psi, params, n)
    samples = samples.astype(dtype)
    s_all = jnp.asarray(configurations(n), dtype=_params_dtype(params))
    log_z = jax.scipy.special.logsumexp(2 * jax.vmap(log_psi, in_axes=(None, 0))(params, s_all))
    return -2 * jnp.mean(jax.vmap(log_psi, in_axes=(None, 0))(params, samples)) + log_z


@partial(jax.jit, static_argnames=("log_psi", "n_sites", "n_steps"))
def _fit_tomography(log_psi, params, samples, n_sites, lr, n_steps):
    from physml_helpers.networks import adam_scan

    return adam_scan(lambda p: tomography_nll(log_psi, p, samples, n_sites), params, lr=lr, n_steps=n_steps,
                     schedule="constant")


def fit_tomography(log_psi: Callable, params, samples, n_sites: int, *, n_steps: int = 500, lr: float = 0.02):
    r"""Maximum-likelihood tomography of a positive state: Adam with a constant step
    (:func:`~physml_helpers.networks.adam_kernel`) on :func:`tomography_nll`, in one ``lax.scan``.

    Compiled once per ``log_psi``, parameter and sample shapes and ``n_steps``: refitting with new samples or a
    new learning rate reuses the compilation.

    Args:
      log_psi: ``log_psi(params, s)``.
      params: initial parameters.
      samples: float[M, n_sites] measured configurations (from :func:`born_samples`).
      n_sites: number of spins (at most 20: the normalization is an exact sum).
      n_steps: full-batch Adam steps, >= 1.
      lr: Adam learning rate, > 0.

    Returns:
      ``(params, nll)``: the fitted parameters and the loss before each step, float[n_steps].

    Raises:
      ConvergenceError: the loss became non-finite (lower ``lr``).
      TypeError: ``log_psi`` not callable, sizes not integers.
      ValueError: ``n_sites`` out of range, ``samples`` not [M, n_sites] of ±1 with M >= 1, ``n_steps`` < 1,
        ``lr`` <= 0, ``log_psi`` not scalar on a configuration (``params`` made for another ``n_sites``),
        ``params`` with an inf or nan.
    """
    _v.callable_("log_psi", log_psi)
    n = _v.count("n_sites", n_sites, minimum=1)
    if n > 20:
        raise ValueError(f"n_sites must be <= 20 (exact normalization over 2^n_sites), got {n}")
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    samples = _v.float_array("samples", samples)
    if samples.ndim != 2 or samples.shape[1] != n or samples.shape[0] < 1:
        raise ValueError(f"samples must have shape [M, n_sites={n}] with M >= 1, got {samples.shape}")
    if not bool(jnp.all(jnp.abs(samples) == 1)):
        raise ValueError("samples must hold spins of ±1 (sigma^z eigenvalues), not 0/1 bits: convert with 1 - 2 * bits")
    _check_log_psi(log_psi, params, n)
    samples = samples.astype(_params_dtype(params))
    params, history = _fit_tomography(log_psi, params, samples, n, lr, n_steps)
    require_finite_history("fit_tomography", history, lr)
    return params, history

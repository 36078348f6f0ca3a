r"""Quantum control by differentiating through the Schrödinger equation (chapter 17).

Units :math:`\hbar = 1`. A control problem is a drift Hamiltonian :math:`H_0`, control Hamiltonians
:math:`H_c` and piecewise-constant amplitudes :math:`a_{kc}` on :math:`n` slices of length
:math:`\delta t = T/n`:

.. math::

   U(T) = \prod_{k=n}^{1} \exp\!\big[-i\,\delta t\,\big(H_0 + \textstyle\sum_c a_{kc} H_c\big)\big],

later slices acting to the left. GRAPE (gradient ascent pulse engineering) maximizes the gate fidelity
:math:`F = |\mathrm{Tr}(U_\text{target}^\dagger U)|^2/d^2`, insensitive to a global phase, by automatic
differentiation through this product (optax's Adam). For bang-bang state preparation the amplitude takes
one of two values per slice; :func:`protocol_fidelities` scores all :math:`2^n` protocols exactly and
:func:`policy_gradient_bang_bang` trains an autoregressive policy by REINFORCE.

Multi-qubit operators use the Kronecker ordering of :mod:`physml_helpers.quantum`: site 0 is the leftmost factor.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import numpy as np

from physml_helpers import _validation as _v

__all__ = [
    "pauli_matrices",
    "site_operator",
    "gate_fidelity",
    "piecewise_propagator",
    "grape",
    "GrapeResult",
    "protocol_fidelities",
    "local_maxima",
    "policy_gradient_bang_bang",
    "PolicyResult",
]


def pauli_matrices() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""The identity and the Pauli matrices :math:`(I, X, Y, Z)`.

    Returns:
      Four complex128[2, 2] NumPy arrays.

    Raises:
      Nothing: the function takes no input.
    """
    eye = np.eye(2, dtype=np.complex128)
    x = np.array([[0, 1], [1, 0]], dtype=np.complex128)
    y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
    z = np.array([[1, 0], [0, -1]], dtype=np.complex128)
    return eye, x, y, z


def site_operator(op, site: int, n_sites: int) -> np.ndarray:
    r"""The single-site operator ``op`` acting on ``site`` of ``n_sites`` qubits, :math:`I\otimes\dots\otimes
    \mathrm{op}\otimes\dots\otimes I` (site 0 leftmost).

    Args:
      op: complex[2, 2] (or real) matrix.
      site: 0 <= site < n_sites.
      n_sites: number of qubits, 1 to 12.

    Returns:
      complex128[2**n_sites, 2**n_sites].

    Raises:
      TypeError: ``op`` not numeric, ``site`` or ``n_sites`` not integers.
      ValueError: ``op`` not 2 x 2, ``site`` out of range, ``n_sites`` outside 1..12.
    """
    op = _complex_matrix("op", op)
    if op.shape != (2, 2):
        raise ValueError(f"op must be a 2 x 2 matrix, got shape {op.shape}")
    n = _v.count("n_sites", n_sites, minimum=1)
    if n > 12:
        raise ValueError(f"n_sites must be <= 12 (dense 2^n x 2^n matrices), got {n}")
    i = _v.integer("site", site)
    if not 0 <= i < n:
        raise ValueError(f"site must satisfy 0 <= site < n_sites = {n}, got {i}")
    out = np.eye(1, dtype=np.complex128)
    for j in range(n):
        out = np.kron(out, op if j == i else np.eye(2))
    return out


def _complex_matrix(name: str, value) -> np.ndarray:
    """A concrete numeric 2-D array as complex128 (real input allowed)."""
    if value is None or isinstance(value, (str, bytes)) or _v.is_traced(value):
        raise TypeError(f"{name} must be a concrete array of complex numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of complex numbers, got {type(value).__name__}") from None
    if not np.issubdtype(arr.dtype, np.number) or arr.dtype == bool:
        raise TypeError(f"{name} must hold real or complex numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite numbers")
    return arr.astype(np.complex128)


def _hermitian(name: str, value, dim: int | None = None) -> np.ndarray:
    arr = _complex_matrix(name, value)
    if arr.shape[0] != arr.shape[1] or (dim is not None and arr.shape[0] != dim):
        want = f"{dim} x {dim}" if dim is not None else "square"
        raise ValueError(f"{name} must be a {want} matrix, got shape {arr.shape}")
    if not np.allclose(arr, arr.conj().T, atol=1e-10 * max(1.0, np.abs(arr).max())):
        raise ValueError(f"{name} must be Hermitian (a Hamiltonian), got a matrix with H != H^dagger")
    return arr


def _controls(controls, dim: int) -> np.ndarray:
    if isinstance(controls, np.ndarray) and controls.ndim == 3:
        items = list(controls)
    elif isinstance(controls, (list, tuple)):
        items = list(controls)
    else:
        raise TypeError(f"controls must be a list of Hermitian matrices or an array [n_controls, d, d], "
                        f"got {type(controls).__name__}")
    if not items:
        raise ValueError("controls must hold at least one control Hamiltonian, got none")
    return np.stack([_hermitian(f"controls[{c}]", h, dim) for c, h in enumerate(items)])


def _fidelity(u_target, u):
    import jax.numpy as jnp

    d = u_target.shape[-1]
    overlap = jnp.einsum("ij,...ij->...", jnp.conj(u_target), u)  # Tr(U_t^dagger U)
    return jnp.abs(overlap) ** 2 / d**2


def gate_fidelity(u_target, u):
    r"""Gate fidelity :math:`F = |\mathrm{Tr}(U_\text{target}^\dagger U)|^2/d^2`, blind to a global phase.

    Args:
      u_target: complex[d, d], the target gate (unitary).
      u: complex[..., d, d], one gate or a batch of gates.

    Returns:
      float[...] in [0, 1] for unitary inputs (1 when ``u`` equals the target up to a global phase).

    Raises:
      TypeError: an input not a numeric array.
      ValueError: ``u_target`` not square, ``u``'s last two axes not ``u_target``'s shape.
    """
    import jax.numpy as jnp

    target = _complex_matrix("u_target", u_target)
    if target.shape[0] != target.shape[1]:
        raise ValueError(f"u_target must be a square matrix, got shape {target.shape}")
    if u is None or isinstance(u, (str, bytes)):
        raise TypeError(f"u must be an array of complex numbers, got {type(u).__name__}")
    u = jnp.asarray(u)
    if not (jnp.issubdtype(u.dtype, jnp.number)) or u.dtype == bool:
        raise TypeError(f"u must hold real or complex numbers, got dtype {u.dtype}")
    if u.shape[-2:] != target.shape:
        raise ValueError(f"u must have trailing shape {target.shape} like u_target, got {u.shape}")
    if jnp.issubdtype(u.dtype, jnp.complexfloating):
        cdtype = u.dtype
    else:
        cdtype = jnp.complex128 if u.dtype == jnp.float64 else jnp.complex64
        u = u.astype(cdtype)
    return _fidelity(jnp.asarray(target, dtype=cdtype), u)


_TAYLOR_ORDER, _SQUARINGS = 12, 6  # exact to ~1e-14 for |H dt| <= 2^6 / 2 = 32 (checked in piecewise_propagator)
MAX_STEP_NORM = 32.0


def _expm_skew(a):
    """exp(a) for a batch of matrices a = -i H dt, by Taylor series after scaling by 2^-6, then squaring.

    Fixed orders keep it a straight-line program: cheap to compile, vmap and differentiate (jax.scipy's Padé
    expm branches on the norm, which under vmap evaluates every branch). For |a| <= 32 the scaled matrix has
    norm <= 1/2 and the truncation error of order 12 is below 1e-14 per slice.
    """
    import jax.numpy as jnp

    import jax

    a = a / 2.0**_SQUARINGS
    eye = jnp.broadcast_to(jnp.eye(a.shape[-1], dtype=a.dtype), a.shape)

    def taylor(carry, inv_k):  # loops, not unrolled code: compiling stays cheap
        term, out = carry
        term = _mm(term, a) * inv_k
        return (term, out + term), None

    inv = (1.0 / np.arange(1, _TAYLOR_ORDER + 1)).astype(a.dtype)
    out = jax.lax.scan(taylor, (eye, eye), inv)[0][1]
    return jax.lax.scan(lambda u, _: (_mm(u, u), None), out, None, length=_SQUARINGS)[0]


def _mm(x, y):
    """Batched product of small matrices as a broadcast sum: about ten times faster on a CPU than a batched
    dot for 2 x 2 and 4 x 4 complex matrices."""
    return (x[..., :, :, None] * y[..., None, :, :]).sum(-2)


def _ordered_product(slices):
    """U_n ... U_2 U_1 of slices [..., n, d, d] by pairwise products (log2 n levels instead of n steps)."""
    import jax.numpy as jnp

    while slices.shape[-3] > 1:
        if slices.shape[-3] % 2:
            pad = jnp.broadcast_to(jnp.eye(slices.shape[-1], dtype=slices.dtype), (*slices.shape[:-3], 1, *slices.shape[-2:]))
            slices = jnp.concatenate([slices, pad], axis=-3)
        slices = _mm(slices[..., 1::2, :, :], slices[..., 0::2, :, :])  # later slice to the left
    return slices[..., 0, :, :]


def _propagate(drift, controls, amplitudes, duration):
    """Traceable product of slice propagators; amplitudes float[n_slices, n_controls]."""
    import jax
    import jax.numpy as jnp

    n_slices = amplitudes.shape[0]
    dt = duration / n_slices
    ham = drift[None] + jnp.einsum("kc,cij->kij", amplitudes.astype(drift.dtype), controls)
    scale = jnp.asarray(dt).astype(drift.dtype) * jnp.asarray(-1j, drift.dtype)
    return _ordered_product(_expm_skew(scale * ham))


def _duration(value):
    if _v.is_traced(value):
        return value
    return _v.positive_float("duration", value)


def piecewise_propagator(drift, controls, amplitudes, *, duration):
    r"""The propagator :math:`U(T)` of piecewise-constant controls (module docstring).

    Args:
      drift: complex[d, d] Hermitian drift Hamiltonian :math:`H_0` (zeros for none).
      controls: list of complex[d, d] Hermitian control Hamiltonians :math:`H_c` (or an array [n_c, d, d]).
      amplitudes: float[n_slices, n_c], the amplitude of each control on each slice.
      duration: total time :math:`T` > 0; slices have length :math:`T/n_\text{slices}`.

    Returns:
      complex128[d, d], the unitary :math:`U(T)`.

    Raises:
      TypeError: a Hamiltonian or the amplitudes not numeric, ``duration`` not a number.
      ValueError: a Hamiltonian not Hermitian or not d x d, amplitudes not [n_slices, n_c] or not finite,
        ``duration`` <= 0.
    """
    import jax.numpy as jnp

    h0 = _hermitian("drift", drift)
    hc = _controls(controls, h0.shape[0])
    amps = _v.float_array("amplitudes", amplitudes, ndim=2, finite=True, nonempty=True)
    if amps.shape[1] != hc.shape[0]:
        raise ValueError(f"amplitudes must have one column per control ({hc.shape[0]}), got shape {amps.shape}")
    duration = _duration(duration)
    step_norm = (np.linalg.norm(h0, 2) + np.abs(np.asarray(amps)).max(axis=0) @ np.array([np.linalg.norm(h, 2) for h in hc])) * duration / amps.shape[0]
    if step_norm > MAX_STEP_NORM:
        raise ValueError(f"the slices are too long for the series exponential: |H| dt <= {step_norm:.3g} exceeds "
                         f"{MAX_STEP_NORM}; use more slices (n_slices = amplitudes.shape[0])")
    return _propagate(jnp.asarray(h0), jnp.asarray(hc), amps.astype(jnp.float64), duration)


class GrapeResult(NamedTuple):
    """What :func:`grape` returns.

    Attributes:
      params: the optimized parameters, the shape of ``initial_params``.
      amplitudes: float[..., n_slices, n_c], ``amplitude_fn(params)``.
      fidelity: float[...], the gate fidelity of the final pulse.
      infidelity_history: float[..., n_steps], :math:`1 - F` before each Adam step.
    """

    params: object
    amplitudes: object
    fidelity: object
    infidelity_history: object


@functools.lru_cache(maxsize=32)  # one compiled program per (amplitude_fn, n_steps)
def _grape_program(amplitude_fn, n_steps: int):
    import jax

    from physml_helpers.networks import adam_scan

    def one(target, drift, controls, params, duration, lr):
        def loss(p):
            return 1.0 - _fidelity(target, _propagate(drift, controls, amplitude_fn(p), duration))

        params, history = adam_scan(loss, params, lr=lr, n_steps=n_steps)
        amps = amplitude_fn(params)
        return params, amps, _fidelity(target, _propagate(drift, controls, amps, duration)), history

    batched = jax.vmap(one, in_axes=(None, None, None, 0, 0, None))
    return jax.jit(one), jax.jit(batched)


def _identity(params):
    return params


def grape(u_target, drift, controls, initial_params, *, duration, n_steps: int, lr: float = 0.05,
          amplitude_fn: Callable | None = None) -> GrapeResult:
    r"""GRAPE: maximize the gate fidelity of piecewise-constant controls by Adam on :math:`1 - F`.

    The gradient flows through every matrix exponential of :func:`piecewise_propagator` by automatic
    differentiation (the analytic GRAPE gradient of Khaneja et al. to first order in the slice length, exact
    here). A batch of starts (and durations) runs as one vectorized program.

    Args:
      u_target: complex[d, d] unitary target gate.
      drift: complex[d, d] Hermitian drift Hamiltonian.
      controls: list of n_c Hermitian complex[d, d] control Hamiltonians.
      initial_params: float[n_slices, n_p] starting parameters, or float[batch, n_slices, n_p] for a batch.
      duration: the gate time T > 0; for a batch, a number or float[batch].
      n_steps: Adam steps (cosine-decaying step size), >= 1.
      lr: the peak learning rate, > 0.
      amplitude_fn: ``params[n_slices, n_p] -> amplitudes[n_slices, n_c]``, a JAX function that maps
        unconstrained parameters to bounded amplitudes (default: the identity, n_p = n_c). Pass the same
        function object each time to reuse the compiled program.

    Returns:
      :class:`GrapeResult`.

    Raises:
      TypeError: non-numeric inputs, ``amplitude_fn`` not callable, ``n_steps`` not an integer.
      ValueError: non-Hermitian or mis-shaped Hamiltonians, ``u_target`` not unitary or not d x d, mis-shaped
        or non-finite parameters, ``duration`` or ``lr`` not > 0, ``amplitude_fn`` returning the wrong shape.
    """
    import jax
    import jax.numpy as jnp

    target = _complex_matrix("u_target", u_target)
    h0 = _hermitian("drift", drift)
    d = h0.shape[0]
    if target.shape != (d, d):
        raise ValueError(f"u_target must be {d} x {d} like the drift, got shape {target.shape}")
    if not np.allclose(target.conj().T @ target, np.eye(d), atol=1e-8):
        raise ValueError("u_target must be unitary (U^dagger U = I)")
    hc = _controls(controls, d)
    params = _v.float_array("initial_params", initial_params, finite=True, nonempty=True)
    if params.ndim not in (2, 3):
        raise ValueError(f"initial_params must be [n_slices, n_p] or [batch, n_slices, n_p], got shape {params.shape}")
    n_steps = _v.count("n_steps", n_steps, minimum=1)
    lr = _v.positive_float("lr", lr)
    fn = _identity if amplitude_fn is None else _v.callable_("amplitude_fn", amplitude_fn)
    single = params[0] if params.ndim == 3 else params
    try:
        amps_shape = jax.eval_shape(fn, jax.ShapeDtypeStruct(single.shape, single.dtype)).shape
    except Exception as err:  # noqa: BLE001 - report any failure of the user's function
        raise ValueError(f"amplitude_fn failed on parameters of shape {single.shape}: {err}") from None
    if amps_shape != (single.shape[0], hc.shape[0]):
        raise ValueError(f"amplitude_fn must return amplitudes of shape {(single.shape[0], hc.shape[0])} "
                         f"(n_slices, n_controls), got {amps_shape}")
    one, batched = _grape_program(fn, n_steps)
    cdtype = jnp.complex128 if params.dtype == jnp.float64 else jnp.complex64
    args = (jnp.asarray(target, cdtype), jnp.asarray(h0, cdtype), jnp.asarray(hc, cdtype))
    if params.ndim == 2:
        out = one(*args, params, jnp.asarray(_v.positive_float("duration", duration), params.dtype), lr)
    else:
        durations = np.broadcast_to(np.asarray(duration, dtype=float), (params.shape[0],))
        if not np.all(np.isfinite(durations)) or np.any(durations <= 0):
            raise ValueError(f"duration must be > 0 (a number or one per batch entry), got {duration!r}")
        out = batched(*args, params, jnp.asarray(durations, params.dtype), lr)
    return GrapeResult(*out)


def _state(name: str, value) -> np.ndarray:
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a state vector, got {type(value).__name__}")
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.number) or arr.dtype == bool:
        raise TypeError(f"{name} must hold real or complex numbers, got dtype {arr.dtype}")
    if arr.ndim != 1 or not np.all(np.isfinite(arr)) or np.linalg.norm(arr) == 0:
        raise ValueError(f"{name} must be a finite, non-zero vector, got shape {arr.shape}")
    return arr.astype(np.complex128) / np.linalg.norm(arr)



def _protocol_problem(step_unitaries, psi_initial, psi_target):
    """Validated (initial state, target state, the two step unitaries) of a bang-bang problem."""
    psi0 = _state("psi_initial", psi_initial)
    target = _state("psi_target", psi_target)
    if target.shape != psi0.shape:
        raise ValueError(f"psi_target must have the length of psi_initial, got {target.shape} and {psi0.shape}")
    return psi0, target, _step_unitaries(step_unitaries, psi0.shape[0])

def _step_unitaries(step_unitaries, dim: int | None = None) -> np.ndarray:
    if not isinstance(step_unitaries, (list, tuple, np.ndarray)) or len(step_unitaries) != 2:
        raise ValueError("step_unitaries must be a pair (U_0, U_1): the one-slice propagators of the two actions")
    us = np.stack([_complex_matrix(f"step_unitaries[{a}]", u) for a, u in enumerate(step_unitaries)])
    d = us.shape[1]
    if us.shape[2] != d or (dim is not None and d != dim):
        raise ValueError(f"step_unitaries must be two square matrices matching the state dimension, got {us.shape}")
    for a in range(2):
        if not np.allclose(us[a].conj().T @ us[a], np.eye(d), atol=1e-8):
            raise ValueError(f"step_unitaries[{a}] must be unitary")
    return us


def protocol_fidelities(step_unitaries, psi_initial, psi_target, *, n_steps: int) -> np.ndarray:
    r"""Exact fidelity :math:`|\langle\psi_*|U_{a_n}\cdots U_{a_1}|\psi_0\rangle|^2` of all :math:`2^n`
    bang-bang protocols, by doubling the set of partial protocols one step at a time.

    Protocol number ``k`` takes action ``a_t`` = bit ``n - 1 - t`` of ``k`` at step ``t`` (the first action is the
    most significant bit).

    Args:
      step_unitaries: pair ``(U_0, U_1)`` of complex[d, d] one-step propagators.
      psi_initial: complex[d] initial state (normalized here).
      psi_target: complex[d] target state (normalized here).
      n_steps: protocol length n, 1 to 24.

    Returns:
      float64[2**n_steps], the fidelity of each protocol.

    Raises:
      TypeError: non-numeric inputs, ``n_steps`` not an integer.
      ValueError: not a pair of unitaries, states of the wrong length or zero, ``n_steps`` outside 1..24.
    """
    psi0, target, us = _protocol_problem(step_unitaries, psi_initial, psi_target)
    n = _v.count("n_steps", n_steps, minimum=1)
    if n > 24:
        raise ValueError(f"n_steps must be <= 24 for exhaustive enumeration (2^n protocols), got {n}")
    states = psi0[None, :]
    for _ in range(n):  # appending action a to every prefix: new index = 2 * old + a
        states = np.stack([states @ us[0].T, states @ us[1].T], axis=1).reshape(-1, psi0.shape[0])
    return np.abs(states @ target.conj()) ** 2


def local_maxima(fidelities) -> np.ndarray:
    r"""Protocols that no single flip of one action improves: the local maxima of the fidelity landscape on the
    hypercube of bang-bang protocols (the glass's metastable states).

    Args:
      fidelities: float[2**n], as returned by :func:`protocol_fidelities`.

    Returns:
      int64[m], the indices of the local maxima (ties count as maxima), sorted by decreasing fidelity.

    Raises:
      TypeError: not an array of real numbers.
      ValueError: not 1-D, or its length not a power of two >= 2.
    """
    f = _v.numpy_array("fidelities", fidelities, ndim=1)
    n = int(round(np.log2(f.size)))
    if f.size < 2 or 2**n != f.size:
        raise ValueError(f"fidelities must have length 2^n (one entry per protocol), got {f.size}")
    idx = np.arange(f.size)
    is_max = np.ones(f.size, dtype=bool)
    for bit in range(n):
        is_max &= f >= f[idx ^ (1 << bit)]
    found = idx[is_max]
    return found[np.argsort(-f[found], kind="stable")]


class PolicyResult(NamedTuple):
    """What :func:`policy_gradient_bang_bang` returns.

    Attributes (each with a leading axis over agents):
      bias: float[n] and ``coupling``: float[n, n] (strictly lower triangular), the policy's parameters.
      greedy_protocol: int[n], the most probable action at each step given the earlier greedy actions.
      greedy_fidelity: the fidelity of the greedy protocol.
      mean_fidelity: float[n_iterations], the mean fidelity of each batch of episodes.
      best_fidelity: float[n_iterations], the best fidelity seen in each batch.
    """

    bias: object
    coupling: object
    greedy_protocol: object
    greedy_fidelity: object
    mean_fidelity: object
    best_fidelity: object


@functools.lru_cache(maxsize=32)  # one compiled program per (n, batch, n_iterations)
def _policy_program(n: int, batch: int, n_iterations: int):
    import jax
    import jax.numpy as jnp
    import optax

    from physml_helpers.networks import _optax_update  # optax under standard dtype promotion

    mask = jnp.tril(jnp.ones((n, n)), k=-1)

    def logits_of(params, spins):  # spins: float[..., n] in {-1, +1}; logit of action 1 at each step
        bias, coupling = params
        return bias + spins @ (coupling * mask).T

    def rollout(params, uniforms):  # sample one protocol step by step (autoregressive); uniforms: float[n]
        def step(spins, inputs):
            t, u = inputs
            a = u < jax.nn.sigmoid(logits_of(params, spins)[t])
            return spins.at[t].set(jnp.where(a, 1.0, -1.0).astype(spins.dtype)), a
        _, actions = jax.lax.scan(step, jnp.zeros(n), (jnp.arange(n), uniforms))
        return actions.astype(jnp.int32)

    def fidelity_of(us, psi0, target, actions):
        psi = _ordered_product(us[actions]) @ psi0  # pairwise products: 4 sequential levels for 16 steps
        return jnp.abs(jnp.vdot(target, psi)) ** 2

    def log_prob(params, actions):
        spins = jnp.where(actions == 1, 1.0, -1.0).astype(params[0].dtype)
        logit = logits_of(params, spins)
        return jnp.sum(jax.nn.log_sigmoid(spins * logit))  # log sigma(+l) for a = 1, log sigma(-l) for a = 0

    def train(uniforms, us, psi0, target, lr, entropy):  # uniforms: float[n_iterations, batch, n]
        optimizer = optax.adam(lr)
        params = (jnp.zeros(n), jnp.zeros((n, n)))

        def iteration(carry, u):
            params, opt_state = carry
            actions = jax.vmap(rollout, in_axes=(None, 0))(params, u)
            fid = jax.vmap(fidelity_of, in_axes=(None, None, None, 0))(us, psi0, target, actions)
            advantage = (fid - fid.mean()) / (fid.std() + 1e-8)

            def surrogate(p):  # REINFORCE with the batch mean as baseline, and an entropy bonus
                lp = jax.vmap(log_prob, in_axes=(None, 0))(p, actions)
                return -jnp.mean(advantage * lp) + entropy * jnp.mean(lp)

            grads = jax.grad(surrogate)(params)
            updates, opt_state = _optax_update(optimizer, grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), (fid.mean(), fid.max())

        (params, _), (mean_f, best_f) = jax.lax.scan(iteration, (params, optimizer.init(params)), uniforms)

        def greedy_step(spins, t):
            a = (logits_of(params, spins)[t] > 0).astype(jnp.int32)
            return spins.at[t].set(jnp.where(a == 1, 1.0, -1.0).astype(spins.dtype)), a
        greedy = jax.lax.scan(greedy_step, jnp.zeros(n), jnp.arange(n))[1]
        return params, greedy, fidelity_of(us, psi0, target, greedy), mean_f, best_f

    return jax.jit(jax.vmap(train, in_axes=(0, None, None, None, None, None)))  # independent agents, one program


def policy_gradient_bang_bang(key, step_unitaries, psi_initial, psi_target, *, n_steps: int, n_iterations: int,
                              batch: int = 64, lr: float = 0.05, entropy: float = 0.0, n_agents: int = 1) -> PolicyResult:
    r"""A policy-gradient (REINFORCE) agent for bang-bang state preparation (Bukov et al.).

    The policy is autoregressive: the probability of action 1 at step :math:`t` is
    :math:`\sigma(b_t + \sum_{s<t} W_{ts}\,\sigma_s)` with :math:`\sigma_s = \pm1` the earlier actions, so it
    can represent any single protocol and correlations between steps. The reward is the final fidelity,
    given only at the end of an episode; the gradient uses the batch-normalized reward as advantage.

    Args:
      key: a JAX key.
      step_unitaries: pair ``(U_0, U_1)`` of complex[d, d] one-step propagators.
      psi_initial: complex[d] initial state.
      psi_target: complex[d] target state.
      n_steps: protocol length n, 1 to 64.
      n_iterations: policy updates (Adam), >= 1.
      batch: episodes per update, >= 2.
      lr: Adam's learning rate, > 0.
      entropy: weight of a penalty on the mean log-probability of the sampled protocols (>= 0), an entropy
        bonus that slows the collapse of the policy onto one protocol.
      n_agents: number of independent agents (keys split from ``key``), trained side by side in one program.

    Returns:
      :class:`PolicyResult`, every field with a leading axis of length ``n_agents``.

    Raises:
      TypeError: ``key`` not a JAX key, non-numeric inputs, counts not integers.
      ValueError: not a pair of unitaries, mismatched states, counts out of range, ``lr`` <= 0, ``entropy`` < 0.
    """
    import jax
    import jax.numpy as jnp

    _v.key(key)
    psi0, target, us = _protocol_problem(step_unitaries, psi_initial, psi_target)
    n = _v.count("n_steps", n_steps, minimum=1)
    if n > 64:
        raise ValueError(f"n_steps must be <= 64, got {n}")
    n_iterations = _v.count("n_iterations", n_iterations, minimum=1)
    batch = _v.count("batch", batch, minimum=2)
    lr = _v.positive_float("lr", lr)
    entropy = _v.positive_float("entropy", entropy, allow_zero=True)
    n_agents = _v.count("n_agents", n_agents, minimum=1)
    train = _policy_program(n, batch, n_iterations)
    # every random number drawn up front, outside the vectorized loop: random draws inside vmap and scan
    # compile several times slower than the rest of the program
    uniforms = jax.random.uniform(key, (n_agents, n_iterations, batch, n))
    params, greedy, fid, mean_f, best_f = train(uniforms, jnp.asarray(us), jnp.asarray(psi0), jnp.asarray(target),
                                                lr, entropy)
    return PolicyResult(params[0], params[1], greedy, fid, mean_f, best_f)

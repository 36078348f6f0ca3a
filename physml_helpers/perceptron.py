r"""The perceptron: capacity and teacher–student generalization (chapter 5).

Capacity. Cover's function-counting theorem: P points in general position in :math:`\mathbb R^N` admit

.. math:: C(P, N) = 2\sum_{k=0}^{N-1}\binom{P-1}{k}

dichotomies that a hyperplane through the origin realizes, so random labels are separable with
probability :math:`C(P, N)/2^P`, which jumps from 1 to 0 at :math:`\alpha = P/N = 2` as N grows. Gardner's
capacity with margin :math:`\kappa` is :math:`\alpha_c(\kappa) = 1/\int_{-\kappa}^\infty Dt\,(t+\kappa)^2`.

Teacher–student. Inputs :math:`x \sim \mathcal N(0, I_N)`, a teacher :math:`w^* \sim \mathcal N(0, I_N)`, labels
:math:`y = \operatorname{sign}(w^*\cdot x)`. A student whose normalized overlap with the teacher is R errs on a
fresh input with probability :math:`\varepsilon = \arccos(R)/\pi`. The Hebbian student
:math:`w = \sum_\mu y_\mu x_\mu` reaches :math:`R = \sqrt{2\alpha/(\pi + 2\alpha)}`. The Bayes-optimal overlap q
solves the replica / state-evolution fixed point

.. math:: q = \frac{\hat q}{1 + \hat q}, \qquad
   \hat q = \frac{\alpha}{\pi(1-q)}\int Dz\,\frac{e^{-q z^2/(1-q)}}{H\!\left(-z\sqrt{q/(1-q)}\right)},

with :math:`H(u) = \int_u^\infty Dt`; Bayes-optimal prediction errs with :math:`\arccos(\sqrt q)/\pi` and
Gibbs learning (a posterior sample) with :math:`\arccos(q)/\pi`. Generalized approximate message passing
(GAMP) follows that state evolution at large N.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v
from physml_helpers._kernels import ConvergenceError, Kernel, scan_kernel

__all__ = [
    "cover_count", "separable_probability", "is_linearly_separable", "max_margin", "gardner_capacity", "teacher_student_data",
    "generalization_error", "hebbian_overlap", "bayes_optimal_overlap", "AMPState", "AMPInfo", "gamp_kernel",
    "gamp",
]


def cover_count(n_points: int, n_dims: int) -> int:
    r"""Cover's count of linearly separable dichotomies, :math:`C(P, N) = 2\sum_{k<N}\binom{P-1}{k}` (exact integer).

    Args:
      n_points: P >= 1 points in general position.
      n_dims: N >= 1 dimensions (hyperplanes through the origin).

    Returns:
      Python int (no overflow); equals :math:`2^P` when P <= N.

    Raises:
      TypeError: non-integers.
      ValueError: P < 1 or N < 1.
    """
    p = _v.count("n_points", n_points, minimum=1)
    n = _v.count("n_dims", n_dims, minimum=1)
    return 2 * sum(math.comb(p - 1, k) for k in range(min(n, p)))


def separable_probability(n_points: int, n_dims: int) -> float:
    """Probability :math:`C(P, N)/2^P` that random labels on P points in general position are separable.

    Args:
      n_points: P >= 1.
      n_dims: N >= 1.

    Returns:
      float in (0, 1].

    Raises:
      TypeError: non-integers.
      ValueError: P < 1 or N < 1.
    """
    from fractions import Fraction

    return float(Fraction(cover_count(n_points, n_dims), 2 ** int(n_points)))


def is_linearly_separable(x, labels) -> bool:
    r"""Whether a hyperplane through the origin separates the labels: a linear-programming feasibility test.

    Looks for w with :math:`y_\mu\, w\cdot x_\mu \ge 1` for all :math:`\mu` (any strictly separating w can be
    rescaled to this) with ``scipy.optimize.linprog`` (HiGHS).

    Args:
      x: float[P, N] points.
      labels: float[P] of +1/-1.

    Returns:
      True if separable, False if the linear program is infeasible.

    Raises:
      TypeError: non-real input.
      ValueError: wrong shapes, non-finite points, labels other than +1/-1.
      RuntimeError: the solver neither found a solution nor proved infeasibility.
    """
    from scipy.optimize import linprog

    x = _v.numpy_array("x", x, ndim=2)
    y = _v.numpy_array("labels", labels, ndim=1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"labels must have one entry per point: x has {x.shape[0]} points, labels {y.shape[0]}")
    _v.spins("labels", y)
    p, n = x.shape
    res = linprog(np.zeros(n), A_ub=-(y[:, None] * x), b_ub=-np.ones(p), bounds=[(None, None)] * n, method="highs")
    if res.status == 0:
        return True
    if res.status == 2:
        return False
    raise RuntimeError(f"linprog could not decide separability (status {res.status}: {res.message})")


def max_margin(x, labels) -> float:
    r"""Largest margin :math:`\kappa` with which a hyperplane through the origin separates the labels.

    Gardner's convention: :math:`\kappa_{\max} = \max_{|w| = \sqrt N} \min_\mu y_\mu\, w\cdot x_\mu/\sqrt N
    = \max_{|\hat w| = 1} \min_\mu y_\mu\, \hat w\cdot x_\mu`, so the labels are separable with margin
    :math:`\kappa` exactly when ``max_margin(x, labels) >= kappa``. Computed as the hard-margin problem
    :math:`\min |w|` subject to :math:`y_\mu\, w\cdot x_\mu \ge 1` (then :math:`\kappa_{\max} = 1/|w|`), a
    least-distance program solved exactly by non-negative least squares (Lawson and Hanson's LDP algorithm,
    ``scipy.optimize.nnls``). A non-separable labeling has no such w and gives a margin of 0 or less; this
    function returns 0.0 for it.

    Args:
      x: float[P, N] points.
      labels: float[P] of +1/-1.

    Returns:
      float >= 0: the largest margin (0.0 if the labels are not strictly separable).

    Raises:
      TypeError: non-real input.
      ValueError: wrong shapes, non-finite points, labels other than +1/-1.
      RuntimeError: the non-negative least-squares solver returned a point that violates the constraints (a
        solver failure, reported rather than read as "not separable").
    """
    from scipy.optimize import nnls

    x = _v.numpy_array("x", x, ndim=2)
    y = _v.numpy_array("labels", labels, ndim=1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"labels must have one entry per point: x has {x.shape[0]} points, labels {y.shape[0]}")
    _v.spins("labels", y)
    z = y[:, None] * x.astype(float)  # constraints z w >= 1
    p, n = z.shape
    # LDP: min |w| s.t. z w >= 1  <=>  NNLS  min_{u >= 0} |E u - f|,  E = [z^T; 1^T],  f = (0, ..., 0, 1)
    e = np.vstack([z.T, np.ones((1, p))])
    f = np.zeros(n + 1)
    f[-1] = 1.0
    u, _ = nnls(e, f, maxiter=50 * (p + n + 1))
    r = e @ u - f
    if r[-1] > -1e-10:  # residual norm 0: the constraints are infeasible, i.e. not strictly separable
        return 0.0
    w = -r[:n] / r[-1]
    violation = 1 - np.min(z @ w)
    if violation > 1e-6:  # the LDP solution must satisfy its constraints; if not, the solver failed
        raise RuntimeError(f"max_margin: the least-distance solution violates its constraints by {violation:.2e} "
                           "(NNLS did not converge); the margin is unknown, not zero")
    return float(1 / np.linalg.norm(w))


def gardner_capacity(kappa) -> float:
    r"""Gardner's capacity :math:`\alpha_c(\kappa) = 1/\int_{-\kappa}^\infty Dt\,(t+\kappa)^2` (2 at :math:`\kappa = 0`).

    Args:
      kappa: margin (any finite real; negative margins give capacities above 2).

    Returns:
      float alpha_c.

    Raises:
      TypeError: not a real number.
      ValueError: not finite.
    """
    from scipy.special import erfc

    k = _v.real("kappa", kappa)
    # closed form of the Gaussian integral: (1 + k^2) H(-k) + k e^{-k^2/2}/sqrt(2 pi)
    integral = (1 + k * k) * 0.5 * erfc(-k / math.sqrt(2)) + k * math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
    return float(1 / integral)


def teacher_student_data(key, n_samples: int, n_dims: int, *, dtype=None):
    r"""A random teacher and labelled Gaussian inputs.

    Args:
      key: JAX random key.
      n_samples: P >= 1 examples.
      n_dims: N >= 1 input dimension.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``(x, labels, teacher)``: float[P, N] standard normal inputs; float[P] labels
      :math:`\operatorname{sign}(w^*\cdot x)`; float[N] teacher :math:`w^* \sim \mathcal N(0, I)`.

    Raises:
      TypeError: a bad key, non-integer sizes or a non-floating dtype.
      ValueError: sizes < 1.
    """
    _v.key(key)
    p = _v.count("n_samples", n_samples, minimum=1)
    n = _v.count("n_dims", n_dims, minimum=1)
    dtype = _v.float_dtype("dtype", dtype)
    k_teacher, k_x = jax.random.split(key)
    teacher = jax.random.normal(k_teacher, (n,), dtype)
    x = jax.random.normal(k_x, (p, n), dtype)
    labels = jnp.where(x @ teacher >= 0, 1.0, -1.0).astype(dtype)
    return x, labels, teacher


def generalization_error(student, teacher) -> jax.Array:
    r"""Exact generalization error :math:`\arccos(R)/\pi` of a student on Gaussian inputs, R the normalized overlap.

    Args:
      student: float[..., N] weights (batched over leading axes).
      teacher: float[N].

    Returns:
      float[...] error probabilities in [0, 1].

    Raises:
      TypeError: non-real input.
      ValueError: mismatched lengths, zero vectors.
    """
    w = _v.float_array("student", student, nonempty=True, finite=True)
    t = _v.float_array("teacher", teacher, ndim=1, nonempty=True, finite=True)
    if w.shape[-1] != t.shape[0]:
        raise ValueError(f"student has last dimension {w.shape[-1]}, teacher has {t.shape[0]}; they must match")
    norms = jnp.linalg.norm(w, axis=-1) * jnp.linalg.norm(t)
    if not _v.is_traced(norms) and bool(jnp.any(norms == 0)):
        raise ValueError("student and teacher must be nonzero vectors (the overlap of a zero vector is undefined)")
    r = jnp.clip(w @ t / norms, -1.0, 1.0)
    return jnp.arccos(r) / jnp.pi


def hebbian_overlap(alpha) -> jax.Array:
    r"""Large-N overlap of the Hebbian student with the teacher, :math:`R = \sqrt{2\alpha/(\pi + 2\alpha)}`.

    Args:
      alpha: float[...] loads P/N >= 0.

    Returns:
      float[...] overlaps R.

    Raises:
      TypeError: non-real input.
      ValueError: negative or non-finite loads.
    """
    a = _v.float_array("alpha", alpha, finite=True)
    if not _v.is_traced(a) and bool(jnp.any(a < 0)):
        raise ValueError(f"alpha must be >= 0, got {np.asarray(a)}")
    return jnp.sqrt(2 * a / (jnp.pi + 2 * a))


def _qhat(q, alpha, nodes, weights):
    from scipy.special import log_ndtr

    c = math.sqrt(q / (1 - q))
    integrand = np.exp(-q * nodes**2 / (1 - q) - log_ndtr(c * nodes))
    return alpha / (math.pi * (1 - q)) * np.sum(weights * integrand)


def bayes_optimal_overlap(alpha, *, tol: float = 1e-12, max_iter: int = 10_000) -> float:
    r"""Fixed point q of the Bayes-optimal teacher–student perceptron (replica / state evolution).

    Iterates :math:`q \leftarrow \hat q/(1+\hat q)` from q = 0 with :math:`\hat q(q)` of the module docstring
    (Gauss–Hermite quadrature, 200 nodes). Bayes error :math:`\arccos(\sqrt q)/\pi`, Gibbs :math:`\arccos(q)/\pi`.

    Args:
      alpha: load P/N >= 0.
      tol: stop when q changes by less than this.
      max_iter: iteration cap.

    Returns:
      float q in [0, 1).

    Raises:
      TypeError: non-real input.
      ValueError: negative alpha.
      ConvergenceError: the iteration cap was reached.
    """
    a = _v.positive_float("alpha", alpha, allow_zero=True)
    tol = _v.positive_float("tol", tol)
    max_iter = _v.count("max_iter", max_iter, minimum=1)
    if a == 0:
        return 0.0
    x, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / np.sqrt(2 * np.pi)
    q = 0.0
    for _ in range(max_iter):
        qh = _qhat(q, a, x, w)
        new = qh / (1 + qh)
        if abs(new - q) < tol:
            return float(new)
        q = new
    raise ConvergenceError(f"bayes_optimal_overlap did not converge in {max_iter} iterations at alpha={a}")


class AMPState(NamedTuple):
    """GAMP state: estimate ``mean`` float[N], its variance ``var`` float[N], previous output ``g`` float[P]."""

    mean: jax.Array
    var: jax.Array
    g: jax.Array


class AMPInfo(NamedTuple):
    """Per-iteration record: ``overlap`` (estimate . teacher / N when a teacher is given, else nan) and ``q``
    (mean square of the estimate, the algorithm's own prediction of its overlap)."""

    overlap: jax.Array
    q: jax.Array


def gamp_kernel(x, labels, teacher=None) -> Kernel:
    r"""Generalized AMP for the sign perceptron with a standard Gaussian prior on the weights.

    Inputs are rescaled internally to :math:`F = x/\sqrt N`. One step:
    :math:`V = \overline{v}`, :math:`\omega = F a - V g_{\rm old}`, :math:`g = g_{\rm out}(y, \omega, V)`,
    :math:`A = -\sum_\mu \partial_\omega g_\mu / N`, :math:`R = a + F^\top g / A`, then the Gaussian-prior
    denoiser :math:`a = R/(1 + 1/A)`, :math:`v = 1/(1 + A)`. Here
    :math:`g_{\rm out} = y\,\phi(u)/(\sqrt V\,\Phi(u))` with :math:`u = y\omega/\sqrt V`.

    Args:
      x: float[P, N] inputs (standard normal entries).
      labels: float[P] of +1/-1.
      teacher: optional float[N]; only used to record the overlap in ``info`` (never by the algorithm).

    Returns:
      ``Kernel(init, step)``: ``init()`` starts from the prior (mean 0, variance 1); ``step(state)``
      returns ``(state, AMPInfo)``.

    Raises:
      TypeError: non-real input.
      ValueError: mismatched shapes, labels other than +1/-1.
    """
    from jax.scipy.special import log_ndtr

    x = _v.float_array("x", x, ndim=2, finite=True, nonempty=True)
    y = _v.float_array("labels", labels, ndim=1).astype(x.dtype)
    _v.spins("labels", y)
    p, n = x.shape
    if y.shape[0] != p:
        raise ValueError(f"labels must have one entry per example: x has {p} rows, labels {y.shape[0]}")
    if teacher is not None:
        teacher = _v.float_array("teacher", teacher, ndim=1, finite=True).astype(x.dtype)
        if teacher.shape[0] != n:
            raise ValueError(f"teacher must have length N = {n}, got {teacher.shape[0]}")
    F = x / jnp.sqrt(jnp.asarray(n, x.dtype))

    def init():
        return AMPState(jnp.zeros(n, x.dtype), jnp.ones(n, x.dtype), jnp.zeros(p, x.dtype))

    def step(state):
        V = jnp.mean(state.var)
        omega = F @ state.mean - V * state.g
        u = y * omega / jnp.sqrt(V)
        ratio = jnp.exp(-0.5 * u**2 - 0.5 * jnp.log(2 * jnp.pi) - log_ndtr(u))  # phi(u)/Phi(u)
        g = y * ratio / jnp.sqrt(V)
        dg = -ratio * (u + ratio) / V
        A = -jnp.sum(dg) / n
        R = state.mean + F.T @ g / A
        mean = R * A / (1 + A)
        var = jnp.ones(n, x.dtype) / (1 + A)
        overlap = jnp.nan if teacher is None else mean @ teacher / n
        return AMPState(mean, var, g), AMPInfo(jnp.asarray(overlap, x.dtype), jnp.mean(mean**2))

    return Kernel(init, step)


def gamp(x, labels, n_iter: int, *, teacher=None):
    """Run :func:`gamp_kernel` for ``n_iter`` iterations.

    Args:
      x: float[P, N] inputs.
      labels: float[P] of +1/-1.
      n_iter: number of iterations (static).
      teacher: optional float[N], for recording the overlap only.

    Returns:
      ``(mean, info)``: the final estimate float[N] and the :class:`AMPInfo` of every iteration (stacked).

    Raises:
      TypeError: non-real input.
      ValueError: see :func:`gamp_kernel`; ``n_iter`` < 1.
      ConvergenceError: the estimate became non-finite.
    """
    n_iter = _v.count("n_iter", n_iter, minimum=1)
    gamp_kernel(x, labels, teacher)  # validates eagerly
    x = jnp.asarray(x)
    x = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))
    t = jnp.zeros(x.shape[1], x.dtype) if teacher is None else jnp.asarray(teacher, x.dtype)
    mean, info = _gamp_run(x, jnp.asarray(labels, x.dtype), t, n_iter, teacher is not None)
    if not _v.is_traced(mean) and not bool(np.all(np.isfinite(np.asarray(mean)))):
        raise ConvergenceError("gamp produced non-finite estimates; check that the labels are +1/-1 and x is standard normal")
    return mean, info


@partial(jax.jit, static_argnums=(3, 4))
def _gamp_run(x, labels, teacher, n_iter, has_teacher):
    # one compilation per shape and n_iter, shared by every call
    kernel = gamp_kernel(x, labels, teacher if has_teacher else None)
    state, _, info = scan_kernel(kernel.step, kernel.init(), n_iter, record=lambda s: ())
    return state.mean, info

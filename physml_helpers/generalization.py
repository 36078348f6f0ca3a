r"""Generalization in high dimensions: double descent, random features, scaling laws, deep linear dynamics
(chapter 4).

Linear regression of :math:`y = x\cdot\beta + \sigma\varepsilon` on isotropic Gaussian inputs
:math:`x \sim \mathcal N(0, I_p)` with n samples. The minimum-norm least-squares estimator has the exact
finite-sample excess risk :math:`\mathbb E\,|\hat\beta - \beta|^2` (from the mean of the inverse-Wishart
distribution)

.. math:: R = \sigma^2\frac{p}{n - p - 1}\ (p < n - 1), \qquad
   R = r^2\Big(1 - \frac np\Big) + \sigma^2\frac{n}{p - n - 1}\ (p > n + 1),

with :math:`r = |\beta|`, and for :math:`\gamma = p/n` fixed as :math:`n \to \infty` (Hastie, Montanari, Rosset
and Tibshirani) :math:`R = \sigma^2\gamma/(1-\gamma)` below and :math:`r^2(1 - 1/\gamma) + \sigma^2/(\gamma - 1)`
above the interpolation threshold :math:`\gamma = 1`.

Ridge regression here minimizes the *summed* loss :math:`\sum_i (y_i - x_i\cdot w)^2 + \lambda |w|^2`; a ridge
``lam`` on the per-sample (mean) loss is ``ridge = n * lam``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from physml_helpers import _validation as _v

__all__ = [
    "min_norm_least_squares", "ridge_regression", "min_norm_risk", "isotropic_risk", "optimal_ridge_risk",
    "marchenko_pastur_edges", "relu_random_features", "relu_kernel_matrix", "power_law_spectrum",
    "power_law_teacher", "deterministic_equivalent_risk", "saxe_mode_strength",
]


def _design(x, y):
    x = _v.float_array("x", x, ndim=2, finite=True, nonempty=True)
    y = _v.float_array("y", y, finite=True, nonempty=True)
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have shape (n,) or (n, k) with n = x.shape[0] = {x.shape[0]}, got shape {y.shape}")
    dtype = jnp.result_type(x.dtype, y.dtype)
    return x.astype(dtype), y.astype(dtype)


def min_norm_least_squares(x, y) -> jax.Array:
    r"""The minimum-norm least-squares solution :math:`\hat w = X^+ y` (Moore–Penrose pseudo-inverse).

    Below the interpolation threshold (more samples than features, full column rank) it is the ordinary least-squares
    solution; above, the interpolating solution of smallest norm, the limit of ridge regression as the ridge goes
    to zero. Singular values below ``max(n, p) * eps * s_max`` count as zero, so columns of zeros (padding) get
    zero weight. Chapter 4.

    Args:
      x: float[n, p], the design matrix (one sample per row).
      y: float[n] or float[n, k], the targets.

    Returns:
      float[p] or float[p, k], the solution, in the dtype of ``x`` and ``y``.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``x`` not 2-D or empty, ``y`` with a number of rows other than ``x``'s, non-finite entries.
    """
    x, y = _design(x, y)
    u, s, vt = jnp.linalg.svd(x, full_matrices=False)
    cutoff = max(x.shape) * jnp.finfo(x.dtype).eps * s[0]
    inv = jnp.where(s > cutoff, 1.0 / jnp.where(s > cutoff, s, 1.0), 0.0)
    uy = u.T @ y
    return vt.T @ (inv[:, None] * uy if y.ndim == 2 else inv * uy)


def ridge_regression(x, y, *, ridge) -> jax.Array:
    r"""Ridge regression on the summed loss, :math:`\hat w = \arg\min_w \sum_i (y_i - x_i\cdot w)^2 + \lambda |w|^2`.

    Solved as :math:`(X^\top X + \lambda I)^{-1} X^\top y` when :math:`p \le n` and in the dual form
    :math:`X^\top (X X^\top + \lambda I)^{-1} y` when :math:`p > n` (the same vector, cheaper). For the per-sample
    (mean) loss with ridge :math:`\lambda'`, pass ``ridge = n * lam'``. Chapter 4.

    Args:
      x: float[n, p], the design matrix.
      y: float[n] or float[n, k], the targets.
      ridge: the ridge :math:`\lambda > 0` (a Python number, or a traced scalar inside ``jit``/``vmap``).

    Returns:
      float[p] or float[p, k], the ridge solution.

    Raises:
      TypeError: non-numeric input.
      ValueError: bad shapes, non-finite entries, ``ridge`` not > 0.
    """
    x, y = _design(x, y)
    if not _v.is_traced(ridge):
        ridge = _v.positive_float("ridge", ridge)
    n, p = x.shape
    if p <= n:
        return jnp.linalg.solve(x.T @ x + ridge * jnp.eye(p, dtype=x.dtype), x.T @ y)
    return x.T @ jnp.linalg.solve(x @ x.T + ridge * jnp.eye(n, dtype=x.dtype), y)


def _signal_noise(signal, noise):
    return _v.positive_float("signal", signal, allow_zero=True), _v.positive_float("noise", noise, allow_zero=True)


def min_norm_risk(n: int, p: int, *, signal, noise) -> float:
    r"""Exact finite-sample excess risk :math:`\mathbb E\,|\hat\beta - \beta|^2` of minimum-norm least squares.

    Inputs :math:`x \sim \mathcal N(0, I_p)`, labels :math:`y = x\cdot\beta + \sigma\varepsilon`, :math:`|\beta| = r`
    with a uniformly random direction (or any fixed :math:`\beta` below the threshold). From the inverse-Wishart mean
    :math:`\mathbb E (X^\top X)^{-1} = I/(n - p - 1)`:
    :math:`\sigma^2 p/(n-p-1)` for :math:`p < n - 1` and :math:`r^2(1 - n/p) + \sigma^2 n/(p-n-1)` for
    :math:`p > n + 1`. Excess risk = test mean squared error minus :math:`\sigma^2`. Chapter 4.

    Args:
      n: number of samples, >= 1.
      p: number of features, >= 1.
      signal: :math:`r = |\beta| \ge 0`.
      noise: :math:`\sigma \ge 0`, the label-noise standard deviation.

    Returns:
      The excess risk, a float.

    Raises:
      TypeError: non-integer ``n`` or ``p``, non-numeric ``signal`` or ``noise``.
      ValueError: ``n - 1 <= p <= n + 1`` (the mean is infinite there), negative ``signal`` or ``noise``.
    """
    n, p = _v.count("n", n, minimum=1), _v.count("p", p, minimum=1)
    r, sigma = _signal_noise(signal, noise)
    if n - 1 <= p <= n + 1:
        raise ValueError(f"the mean risk is infinite for n - 1 <= p <= n + 1; got n = {n}, p = {p}: "
                         "choose p < n - 1 or p > n + 1")
    if p < n:
        return sigma**2 * p / (n - p - 1)
    return r**2 * (1 - n / p) + sigma**2 * n / (p - n - 1)


def _gammas(gamma):
    g = _v.numpy_array("gamma", gamma, ndim=None, nonempty=True)
    if np.any(g <= 0):
        raise ValueError(f"gamma = p/n must be > 0, got {g[g <= 0][0]}")
    return g


def isotropic_risk(gamma, *, signal, noise):
    r"""Asymptotic excess risk of minimum-norm least squares on isotropic features, :math:`\gamma = p/n` fixed.

    .. math:: R(\gamma) = \sigma^2\frac{\gamma}{1-\gamma}\ (\gamma < 1), \qquad
       R(\gamma) = r^2\Big(1 - \frac1\gamma\Big) + \frac{\sigma^2}{\gamma - 1}\ (\gamma > 1)

    (Hastie, Montanari, Rosset and Tibshirani 2022). It diverges at the interpolation threshold :math:`\gamma = 1`
    whenever :math:`\sigma > 0`. Chapter 4.

    Args:
      gamma: float or float[m], the ratio p/n > 0, never exactly 1.
      signal: :math:`r = |\beta| \ge 0`.
      noise: :math:`\sigma \ge 0`.

    Returns:
      A float, or a float64 NumPy array of the shape of ``gamma``.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``gamma <= 0`` or ``gamma == 1`` (the risk is infinite there), negative ``signal``/``noise``.
    """
    g = _gammas(gamma)
    r, sigma = _signal_noise(signal, noise)
    if np.any(g == 1):
        raise ValueError("gamma = 1 is the interpolation threshold, where the risk is infinite; "
                         "evaluate on either side of it")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(g < 1, sigma**2 * g / (1 - g), r**2 * (1 - 1 / g) + sigma**2 / (g - 1))
    return float(out) if out.ndim == 0 else out


def optimal_ridge_risk(gamma, *, signal, noise):
    r"""Asymptotic excess risk of optimally tuned ridge regression on isotropic features.

    With the per-sample ridge :math:`\lambda^* = \sigma^2\gamma/r^2` (the posterior mean for the prior
    :math:`\beta \sim \mathcal N(0, r^2 I/p)`), the risk is :math:`\sigma^2\gamma\, m(-\lambda^*)` with
    :math:`m` the Stieltjes transform of the Marchenko–Pastur law of :math:`X^\top X/n`,

    .. math:: m(-\lambda) = \frac{-(1 - \gamma + \lambda) + \sqrt{(1 - \gamma + \lambda)^2 + 4\gamma\lambda}}{2\gamma\lambda}.

    Finite everywhere, including :math:`\gamma = 1`. Chapter 4.

    Args:
      gamma: float or float[m], the ratio p/n > 0.
      signal: :math:`r > 0`.
      noise: :math:`\sigma > 0`.

    Returns:
      A float, or a float64 NumPy array of the shape of ``gamma``.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``gamma <= 0``, ``signal`` or ``noise`` not > 0.
    """
    g = _gammas(gamma)
    r, sigma = _v.positive_float("signal", signal), _v.positive_float("noise", noise)
    lam = sigma**2 * g / r**2
    b = 1 - g + lam
    # the root written as 2 / (b + sqrt(...)) avoids the cancellation of the textbook form
    m = 2.0 / (b + np.sqrt(b**2 + 4 * g * lam))
    out = sigma**2 * g * m
    return float(out) if out.ndim == 0 else out


def marchenko_pastur_edges(gamma) -> tuple[float, float]:
    r"""Edges :math:`(1 \mp \sqrt\gamma)^2` of the Marchenko–Pastur law of the nonzero eigenvalues of :math:`X^\top X/n`.

    For :math:`X` of shape (n, p) with independent standard normal entries and :math:`\gamma = p/n`: the smallest
    nonzero eigenvalue tends to :math:`(1 - \sqrt\gamma)^2`, which closes at the interpolation threshold
    :math:`\gamma = 1`. Chapter 4 (chapter 2 has the Wigner semicircle).

    Args:
      gamma: the ratio p/n > 0.

    Returns:
      ``(lower, upper)``, two floats.

    Raises:
      TypeError: non-numeric ``gamma``.
      ValueError: ``gamma`` not > 0.
    """
    g = _v.positive_float("gamma", gamma)
    return (1 - math.sqrt(g)) ** 2, (1 + math.sqrt(g)) ** 2


def relu_random_features(key, x, n_features: int) -> jax.Array:
    r"""ReLU random features :math:`\phi_j(x) = \max(0, w_j\cdot x/\sqrt d)`, :math:`w_j \sim \mathcal N(0, I_d)`.

    The weights are drawn from ``key``: call once on all the inputs (training and test stacked) so that they share
    the same features. As ``n_features`` grows, :math:`\phi(x)\cdot\phi(x')/n_{\rm features}` tends to
    :func:`relu_kernel_matrix`. Chapter 4.

    Args:
      key: a JAX random key.
      x: float[m, d], the inputs.
      n_features: the number of features p >= 1.

    Returns:
      float[m, n_features], the features.

    Raises:
      TypeError: a key that is not a typed JAX key, non-numeric ``x``, non-integer ``n_features``.
      ValueError: ``x`` not 2-D or empty, ``n_features`` < 1.
    """
    _v.key(key)
    x = _v.float_array("x", x, ndim=2, finite=True, nonempty=True)
    n_features = _v.count("n_features", n_features, minimum=1)
    w = jax.random.normal(key, (n_features, x.shape[1]), dtype=x.dtype)
    return jax.nn.relu(x @ w.T / jnp.sqrt(jnp.asarray(x.shape[1], x.dtype)))


def relu_kernel_matrix(x1, x2) -> jax.Array:
    r"""The infinite-width limit of ReLU random features, :math:`K(x, x') = \mathbb E_w\,\phi_w(x)\phi_w(x')`.

    .. math:: K(x, x') = \frac{|x|\,|x'|}{2\pi d}\big(\sin\theta + (\pi - \theta)\cos\theta\big),

    with :math:`\theta` the angle between :math:`x` and :math:`x'` (the arc-cosine kernel of order 1, Cho and Saul).
    Chapter 4.

    Args:
      x1: float[m1, d].
      x2: float[m2, d].

    Returns:
      float[m1, m2], the kernel matrix.

    Raises:
      TypeError: non-numeric input.
      ValueError: inputs not 2-D, empty, or with different d.
    """
    x1 = _v.float_array("x1", x1, ndim=2, finite=True, nonempty=True)
    x2 = _v.float_array("x2", x2, ndim=2, finite=True, nonempty=True)
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(f"x1 and x2 must have the same number of columns d, got {x1.shape[1]} and {x2.shape[1]}")
    n1, n2 = jnp.linalg.norm(x1, axis=1), jnp.linalg.norm(x2, axis=1)
    norms = n1[:, None] * n2[None, :]
    cos = jnp.clip((x1 @ x2.T) / jnp.where(norms > 0, norms, 1.0), -1.0, 1.0)
    theta = jnp.arccos(cos)
    return norms / (2 * jnp.pi * x1.shape[1]) * (jnp.sin(theta) + (jnp.pi - theta) * cos)


def power_law_spectrum(n_modes: int, *, a, b) -> tuple[np.ndarray, np.ndarray]:
    r"""Eigenvalues :math:`\lambda_k = k^{-a}` and teacher weights :math:`w_k = k^{-(b-a)/2}`, k = 1..n_modes.

    The target then carries the power :math:`\lambda_k w_k^2 = k^{-b}` in mode k (b > 1 for a finite total).
    Chapter 4 (scaling laws).

    Args:
      n_modes: number of modes M >= 1.
      a: spectral decay exponent > 0.
      b: target-power decay exponent > 1.

    Returns:
      ``(eigenvalues, weights)``, two float64 NumPy arrays of shape (n_modes,).

    Raises:
      TypeError: non-integer ``n_modes``, non-numeric ``a``/``b``.
      ValueError: ``n_modes`` < 1, ``a`` not > 0, ``b`` not > 1.
    """
    n_modes = _v.count("n_modes", n_modes, minimum=1)
    a = _v.positive_float("a", a)
    b = _v.real("b", b)
    if b <= 1:
        raise ValueError(f"b must be > 1 so that the target's total power is finite, got {b}")
    k = np.arange(1, n_modes + 1, dtype=np.float64)
    return k ** (-a), k ** (-(b - a) / 2)


def power_law_teacher(key, n_samples: int, *, n_modes: int, a, b, noise=0.0, dtype=None):
    r"""Samples from the power-law teacher: :math:`x_k = \sqrt{\lambda_k} z_k`, :math:`y = x\cdot w + \sigma\varepsilon`.

    With :math:`z, \varepsilon` standard normal and :math:`(\lambda, w)` from :func:`power_law_spectrum`. The excess
    test risk of a linear student :math:`\hat w` is exactly :math:`\sum_k \lambda_k(\hat w_k - w_k)^2`. Chapter 4.

    Args:
      key: a JAX random key.
      n_samples: number of samples P >= 1.
      n_modes: number of modes M >= 1.
      a: spectral exponent > 0.
      b: target-power exponent > 1.
      noise: label-noise standard deviation :math:`\sigma \ge 0`.
      dtype: floating dtype of the samples (default: JAX's default float).

    Returns:
      ``(x, y)``: float[P, M] and float[P].

    Raises:
      TypeError: bad key, non-integer sizes, non-numeric exponents, non-floating dtype.
      ValueError: sizes < 1, ``a`` not > 0, ``b`` not > 1, negative ``noise``.
    """
    _v.key(key)
    n_samples = _v.count("n_samples", n_samples, minimum=1)
    eig, w = power_law_spectrum(n_modes, a=a, b=b)
    sigma = _v.positive_float("noise", noise, allow_zero=True)
    dtype = _v.float_dtype("dtype", dtype)
    kz, ke = jax.random.split(key)
    x = jax.random.normal(kz, (n_samples, eig.size), dtype=dtype) * jnp.sqrt(jnp.asarray(eig, dtype))
    y = x @ jnp.asarray(w, dtype) + sigma * jax.random.normal(ke, (n_samples,), dtype=dtype)
    return x, y


def deterministic_equivalent_risk(n_samples, *, eigenvalues, target_power, ridge, noise=0.0) -> float:
    r"""Deterministic-equivalent excess risk of ridge regression with Gaussian features of a given spectrum.

    For the summed loss with ridge :math:`\lambda` (per-sample ridge :math:`\lambda/P`), the effective regularization
    :math:`\kappa` solves :math:`\kappa = \lambda/P + \frac{\kappa}{P}\sum_k \frac{\lambda_k}{\lambda_k + \kappa}`, and

    .. math:: R = \frac{1}{1 - {\rm df}_2/P}\Big(\sum_k \frac{\kappa^2\, t_k}{(\lambda_k + \kappa)^2}
       + \sigma^2 \frac{{\rm df}_2}{P}\Big), \qquad {\rm df}_2 = \sum_k \frac{\lambda_k^2}{(\lambda_k + \kappa)^2},

    with :math:`t_k = \lambda_k w_k^2` the target power per mode (Bordelon, Canatar and Pehlevan 2020; Hastie et al.
    2022). Ridgeless (``ridge = 0``) needs more modes than samples. Accurate up to corrections small in 1/P.
    Chapter 4.

    Args:
      n_samples: number of samples P >= 1.
      eigenvalues: float[M], the feature covariance eigenvalues, > 0.
      target_power: float[M], :math:`t_k \ge 0`.
      ridge: :math:`\lambda \ge 0` on the summed loss.
      noise: label-noise standard deviation :math:`\sigma \ge 0`.

    Returns:
      The excess risk, a float.

    Raises:
      TypeError: non-numeric input.
      ValueError: shapes that differ, non-positive eigenvalues, negative powers, ridge or noise, ``ridge = 0`` with
        at most as many modes as samples.
    """
    p_samples = _v.count("n_samples", n_samples, minimum=1)
    lam = _v.numpy_array("eigenvalues", eigenvalues, ndim=1)
    t = _v.numpy_array("target_power", target_power, ndim=1)
    if t.shape != lam.shape:
        raise ValueError(f"target_power must have the shape of eigenvalues {lam.shape}, got {t.shape}")
    if np.any(lam <= 0) or np.any(t < 0):
        raise ValueError("eigenvalues must be > 0 and target_power >= 0")
    ridge = _v.positive_float("ridge", ridge, allow_zero=True)
    sigma = _v.positive_float("noise", noise, allow_zero=True)
    if ridge == 0 and lam.size <= p_samples:
        raise ValueError(f"ridgeless regression with {lam.size} modes and {p_samples} samples interpolates nothing "
                         "of the deterministic equivalent: use more modes than samples, or ridge > 0")

    def excess(kappa):  # kappa - lambda/P - (kappa/P) sum lam/(lam+kappa), increasing in kappa
        return kappa - ridge / p_samples - kappa / p_samples * np.sum(lam / (lam + kappa))

    lo, hi = 0.0, ridge / p_samples + lam.sum() / p_samples + 1.0
    if ridge == 0:
        lo = 1e-300
    for _ in range(400):  # bisection to the last bit on a log scale
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
        if excess(mid) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-15 * hi:
            break
    kappa = 0.5 * (lo + hi)
    df2 = np.sum(lam**2 / (lam + kappa) ** 2)
    bias = np.sum(kappa**2 * t / (lam + kappa) ** 2)
    return float((bias + sigma**2 * df2 / p_samples) / (1 - df2 / p_samples))


def saxe_mode_strength(t, *, singular_value, initial, tau=1.0):
    r"""Closed-form learning curve of one mode of a two-layer linear network under gradient flow (Saxe et al. 2014).

    With whitened inputs and decoupled (balanced, aligned) initial weights, the strength a(t) of the mode with
    input–output singular value s obeys :math:`\tau\dot a = 2a(s - a)`, solved by the sigmoid

    .. math:: a(t) = \frac{s\, e^{2st/\tau}}{e^{2st/\tau} - 1 + s/a_0}.

    Chapter 4.

    Args:
      t: float or array of times >= 0.
      singular_value: s > 0.
      initial: :math:`a_0 > 0`.
      tau: the time constant > 0 (1 / learning rate for gradient descent).

    Returns:
      a(t), an array of the shape of ``t``.

    Raises:
      TypeError: non-numeric input.
      ValueError: negative times, ``singular_value``, ``initial`` or ``tau`` not > 0.
    """
    t = _v.float_array("t", t, finite=True)
    if not _v.is_traced(t) and np.any(np.asarray(t) < 0):
        raise ValueError("t must be >= 0")
    s = _v.positive_float("singular_value", singular_value)
    a0 = _v.positive_float("initial", initial)
    tau = _v.positive_float("tau", tau)
    # e^{-2st/tau} form: no overflow at late times
    decay = jnp.exp(-2 * s * t / tau)
    return s / (1 - decay + (s / a0) * decay)

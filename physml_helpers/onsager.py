r"""Symmetry-constrained estimation (chapter 14): Onsager's reciprocal relations and group averaging.

Linear response writes fluxes as :math:`J = L X`; Onsager's relations say :math:`L = L^\top`. With
samples as rows, ``X`` of shape ``[m, n]`` (forces) and ``J`` of shape ``[m, n]`` (fluxes), the model is
:math:`J \approx X L^\top`.

* :func:`symmetrize`: the orthogonal projection :math:`(W + W^\top)/2` onto symmetric matrices
  (Frobenius inner product).
* :func:`fit_response`: ordinary least squares for :math:`L`.
* :func:`fit_symmetric_response`: least squares constrained to symmetric :math:`L`, which is the
  projection of the unconstrained estimate in the metric of the data, :math:`\langle A, B\rangle_X =
  \operatorname{tr}(A\,X^\top X B^\top)`.
* :func:`project_psd`: the nearest positive semidefinite matrix (the second law: :math:`L \succeq 0`).
* :func:`expected_squared_errors`: the exact mean squared errors of the least-squares estimate and of its
  symmetric part for Gaussian forces and noise (inverse-Wishart mean).
* :func:`group_average`: average of a function over a finite group of input transformations.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from physml_helpers import _validation as _v

__all__ = ["symmetrize", "fit_response", "fit_symmetric_response", "project_psd", "expected_squared_errors",
           "group_average"]


def _square(name: str, W) -> np.ndarray:
    # _v.square_matrix would return a JAX array (float32 unless x64 is on); these helpers work in NumPy float64
    W = _v.numpy_array(name, W, ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must be a square matrix [n, n], got shape {W.shape}")
    return W


def _samples(X, J) -> tuple[np.ndarray, np.ndarray]:
    X = _v.numpy_array("X", X, ndim=2)
    J = _v.numpy_array("J", J, ndim=2)
    if X.shape != J.shape:
        raise ValueError(f"X and J must both have shape [n_samples, n], got {X.shape} and {J.shape}")
    m, n = X.shape
    if m < n:
        if n > 2 * m:
            raise ValueError(
                f"X and J must have samples as rows, [n_samples, n], but their shape {X.shape} has far more columns "
                f"than rows: they look transposed; pass X.T and J.T (need at least n samples to determine L)"
            )
        raise ValueError(f"X must have at least n = {n} samples (rows) to determine L, got {m}")
    rank = int(np.linalg.matrix_rank(X))
    if rank < n:
        raise ValueError(
            f"X must have rank n = {n} (forces spanning every direction) to determine L, got rank {rank}: some "
            "combination of forces never varies in these samples, and L is not determined along it"
        )
    return X, J


def symmetrize(W) -> np.ndarray:
    r"""The symmetric part :math:`(W + W^\top)/2` of a square matrix.

    It is the orthogonal projection onto the subspace of symmetric matrices in the Frobenius inner
    product :math:`\langle A, B\rangle = \operatorname{tr}(A^\top B)`: the remainder
    :math:`(W - W^\top)/2` is antisymmetric, and every antisymmetric matrix is orthogonal to every
    symmetric one. Hence for any symmetric :math:`L`,
    :math:`\lVert W - L\rVert^2 = \lVert \operatorname{sym}W - L\rVert^2 + \lVert\operatorname{antisym}W\rVert^2`.

    Args:
      W: square matrix ``[n, n]`` of real numbers.

    Returns:
      float64[n, n], symmetric.

    Raises:
      TypeError: ``W`` not an array of real numbers.
      ValueError: ``W`` not 2-D and square, empty, or non-finite.
    """
    W = _square("W", W)
    return (W + W.T) / 2


def fit_response(X, J) -> np.ndarray:
    r"""Least-squares response matrix: :math:`\hat W = \arg\min_W \lVert J - X W^\top\rVert_F`.

    Args:
      X: forces ``[n_samples, n]`` (rows are samples), n_samples >= n.
      J: fluxes ``[n_samples, n]``.

    Returns:
      ``W``: float64[n, n], with ``J ≈ X @ W.T``.

    Raises:
      TypeError: ``X`` or ``J`` not an array of real numbers.
      ValueError: ``X`` or ``J`` not 2-D, empty or non-finite; shapes that differ; fewer samples than ``n``
        (the message says when the data look transposed); ``X`` of rank below ``n`` (``L`` not determined).
    """
    X, J = _samples(X, J)
    return np.linalg.lstsq(X, J, rcond=None)[0].T


def fit_symmetric_response(X, J) -> np.ndarray:
    r"""Least squares over symmetric matrices: :math:`\arg\min_{L = L^\top} \lVert J - X L\rVert_F`.

    Parametrizes :math:`L` by its :math:`n(n+1)/2` entries on and above the diagonal and solves the
    resulting linear least-squares problem. When :math:`X^\top X \propto 1` exactly the result
    equals :func:`symmetrize` of :func:`fit_response`; otherwise it is the projection of the unconstrained
    estimate in the metric :math:`\operatorname{tr}(A\,X^\top X B^\top)` set by the data. Random isotropic forces
    give :math:`X^\top X \propto 1` only approximately, so the two then differ slightly in every sample.

    Args:
      X: forces ``[n_samples, n]`` (rows are samples), n_samples >= n.
      J: fluxes ``[n_samples, n]``.

    Returns:
      ``L``: float64[n, n], exactly symmetric.

    Raises:
      TypeError: ``X`` or ``J`` not an array of real numbers.
      ValueError: ``X`` or ``J`` not 2-D, empty or non-finite; shapes that differ; fewer samples than ``n``
        (the message says when the data look transposed); ``X`` of rank below ``n`` (``L`` not determined).
    """
    X, J = _samples(X, J)
    m, n = X.shape
    rows, cols = np.triu_indices(n)
    # J[s, i] = sum_j X[s, j] L[i, j]; each free parameter L[a, b] = L[b, a] enters two places (one if a = b)
    design = np.zeros((m * n, len(rows)))
    for k, (a, b) in enumerate(zip(rows, cols)):
        basis = np.zeros((n, n))
        basis[a, b] = basis[b, a] = 1.0
        design[:, k] = (X @ basis.T).ravel()
    theta = np.linalg.lstsq(design, J.ravel(), rcond=None)[0]
    L = np.zeros((n, n))
    L[rows, cols] = theta
    L[cols, rows] = theta
    return L


def project_psd(W) -> np.ndarray:
    r"""The positive semidefinite matrix nearest to ``W`` in the Frobenius norm.

    Symmetrize, then set negative eigenvalues to zero. The set of positive semidefinite matrices is closed
    and convex, so this projection never moves an estimate farther from a true :math:`L \succeq 0`.

    Args:
      W: square matrix ``[n, n]`` of real numbers (need not be symmetric).

    Returns:
      float64[n, n], symmetric positive semidefinite.

    Raises:
      TypeError: ``W`` not an array of real numbers.
      ValueError: ``W`` not 2-D and square, empty, or non-finite.
    """
    S = symmetrize(W)
    values, vectors = np.linalg.eigh(S)
    return (vectors * np.clip(values, 0.0, None)) @ vectors.T


def _covariance(name: str, C) -> np.ndarray:
    C = _square(name, C)
    if not np.allclose(C, C.T, rtol=0, atol=1e-12 * max(1.0, float(np.max(np.abs(C))))):
        raise ValueError(f"{name} must be a symmetric covariance matrix, got an asymmetric one "
                         f"(largest |C - C^T| = {np.max(np.abs(C - C.T)):.1e})")
    smallest = float(np.linalg.eigvalsh(C)[0])
    if smallest <= 0:
        raise ValueError(f"{name} must be positive definite, got smallest eigenvalue {smallest:.3g}")
    return C


def expected_squared_errors(noise_cov, force_cov, n_samples: int) -> tuple[float, float]:
    r"""Exact mean squared errors of the least-squares response matrix and of its symmetric part.

    Model: the rows of the forces ``X`` [m, n] are independent :math:`N(0, C)` (``force_cov``, no mean and no
    intercept in the fit), and the fluxes are :math:`J = X L^\top + E` with rows of ``E`` independent
    :math:`N(0, \Sigma)` (``noise_cov``, covariance across flux components). Given ``X``, the error of
    :func:`fit_response` has :math:`\operatorname{Cov}(\Delta W_{ij}, \Delta W_{kl}) = \Sigma_{ik} M_{jl}` with
    :math:`M = (X^\top X)^{-1}`, so

    .. math::
        \mathbb E\lVert W - L\rVert^2 = \operatorname{tr}\Sigma\,\operatorname{tr}M, \qquad
        \mathbb E\lVert \operatorname{sym}W - L\rVert^2
          = \tfrac12\big(\operatorname{tr}\Sigma\,\operatorname{tr}M + \operatorname{tr}(\Sigma M)\big),

    and :math:`X^\top X` is Wishart with mean inverse :math:`\mathbb E M = C^{-1}/(m - n - 1)` for
    :math:`m > n + 1`. For :math:`\Sigma = \sigma^2 1` the ratio is :math:`(n+1)/2n` for every ``X``, and
    :math:`\mathbb E\lVert W - L\rVert^2 = \sigma^2 n \operatorname{tr}C^{-1}/(m - n - 1)`
    (:math:`\sigma^2 n^2/(m - n - 1)` for :math:`C = 1`). Used in chapter 14.

    Args:
      noise_cov: symmetric positive definite ``[n, n]``, the covariance :math:`\Sigma` of the noise on the n
        flux components of one sample.
      force_cov: symmetric positive definite ``[n, n]``, the covariance :math:`C` of the n forces of one sample.
      n_samples: number of samples m per experiment, an integer > n + 1 (the mean of the inverse Wishart
        matrix is infinite for m <= n + 1).

    Returns:
      ``(mse_ls, mse_sym)``: the exact :math:`\mathbb E\lVert W - L\rVert_F^2` and
      :math:`\mathbb E\lVert \operatorname{sym}W - L\rVert_F^2`, Python floats; their ratio lies in [1/2, 1].

    Raises:
      TypeError: a covariance not an array of real numbers; ``n_samples`` not an integer.
      ValueError: a covariance not square, symmetric and positive definite, or empty or non-finite; the two of
        different sizes; ``n_samples`` <= n + 1.
    """
    noise_cov = _covariance("noise_cov", noise_cov)
    force_cov = _covariance("force_cov", force_cov)
    if noise_cov.shape != force_cov.shape:
        raise ValueError(f"noise_cov and force_cov must both be [n, n] for the same n, got {noise_cov.shape} "
                         f"and {force_cov.shape}")
    n = noise_cov.shape[0]
    m = _v.count("n_samples", n_samples)
    if m <= n + 1:
        raise ValueError(f"n_samples must be > n + 1 = {n + 1} for a finite mean squared error, got {m}")
    mean_M = np.linalg.inv(force_cov) / (m - n - 1)  # mean of the inverse Wishart matrix (X^T X)^{-1}
    mse_ls = float(np.trace(noise_cov) * np.trace(mean_M))
    mse_sym = float(0.5 * (mse_ls + np.trace(noise_cov @ mean_M)))
    return mse_ls, mse_sym


def group_average(fn: Callable, transforms: Sequence[Callable]) -> Callable:
    r"""The group average :math:`\bar f(x) = \frac{1}{|G|}\sum_{g\in G} f(g\,x)`.

    When ``transforms`` is a group (closed under composition and inverses), :math:`\bar f` is exactly
    invariant: :math:`\bar f(hx) = \bar f(x)` for every :math:`h` in the group, and
    :math:`\bar f = f` whenever :math:`f` is already invariant.

    Args:
      fn: a function of one argument (arrays of inputs, transformed by each element of ``transforms``).
      transforms: the group elements, a non-empty sequence of functions of one argument (include the
        identity).

    Returns:
      The averaged function ``x -> mean_g fn(g(x))``; its output has the shape and type of ``fn``'s.

    Raises:
      TypeError: ``fn`` not callable; ``transforms`` not a sequence, or an element of it not callable.
      ValueError: ``transforms`` empty.
    """
    _v.callable_("fn", fn)
    if callable(transforms) or isinstance(transforms, (str, bytes)):
        raise TypeError(f"transforms must be a sequence of callables (the group elements), got {type(transforms).__name__}; "
                        "wrap a single transformation in a list, with the identity")
    try:
        transforms = list(transforms)
    except TypeError:
        raise TypeError(f"transforms must be a sequence of callables, got {type(transforms).__name__}") from None
    if not transforms:
        raise ValueError("transforms must contain at least the identity")
    for i, g in enumerate(transforms):
        _v.callable_(f"transforms[{i}]", g)

    def averaged(x):
        return sum(fn(g(x)) for g in transforms) / len(transforms)

    return averaged

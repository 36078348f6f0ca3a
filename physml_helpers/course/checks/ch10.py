"""Checks for the exercises of chapter 10, *Hidden symmetries in latent spaces*.

References: the circulant average of a matrix computed directly, its relative distance from the
matrix, and the eigenvalues of the circulant part and the discrete Fourier transform of its first row
(equal, by the theorem the exercise tests), each computed in float64 and sorted; exact Jacobian-vector products
of a fixed network against central differences (error of order h^2); the amplitude of the simulated
movies, which no translation changes; the three-fold period of the pattern of exercise 10.4.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_circulant_part", "check_frame_velocity", "check_invariant_direction", "check_threefold"]


def _reference_circulant(C: np.ndarray) -> np.ndarray:
    n = C.shape[0]
    rows = np.arange(n)
    first = np.array([np.mean(C[rows, (rows + k) % n]) for k in range(n)])
    return np.array([np.roll(first, i) for i in range(n)])


def _real_vector(what: str, value, n: int) -> np.ndarray:
    """``value`` as a real float vector of length n; a complex one is accepted if its imaginary part is rounding."""
    a = np.asarray(value)
    if np.iscomplexobj(a):
        if np.max(np.abs(a.imag), initial=0.0) > 1e-8 * max(np.max(np.abs(a.real), initial=0.0), 1.0):
            raise AssertionError(f"{what} has imaginary parts up to {np.max(np.abs(a.imag)):.2e}: the eigenvalues of a "
                                 "real symmetric circulant matrix are real, and so is the DFT of its (symmetric) first "
                                 "row. Did you take the DFT of a row of a non-circulant or non-symmetric matrix?")
        a = a.real
    a = np.asarray(a, dtype=float)
    if a.shape != (n,):
        raise AssertionError(f"{what} should be a vector of the {n} values, got shape {a.shape}.")
    return a


@exercise("10.1")
def check_circulant_part(circulant_part, C, distance, eigenvalues, dft):
    """``circulant_part(C)``: the circulant matrix whose wrap-around diagonals are those of C, averaged;
    ``distance`` = |C - circulant_part(C)|_F / |C|_F; ``eigenvalues`` of the circulant part and ``dft``, the
    (real) DFT of its first row, each sorted in decreasing order."""
    rng = np.random.default_rng(0)
    R = rng.normal(size=(8, 8))
    got = np.asarray(call(circulant_part, R, what="circulant_part(C)"), dtype=float)
    want = _reference_circulant(R)
    if got.shape != want.shape:
        raise AssertionError(f"circulant_part should return an 8 x 8 matrix for an 8 x 8 input, got shape {got.shape}.")
    if np.allclose(got, want.T, atol=1e-12) and not np.allclose(got, want, atol=1e-12):
        raise AssertionError("you averaged the diagonals j - i = -k instead of j - i = k: entry (i, j) belongs to diagonal (j - i) mod n.")
    expect_close("circulant_part(C)", got, want, rtol=0, atol=1e-12,
                 hint="Entry (i, j) should be the mean of C[m, (m + k) % n] over m, with k = (j - i) % n.")

    C = np.asarray(C, dtype=float)
    n = C.shape[0]
    if C.ndim != 2 or C.shape != (n, n) or not np.allclose(C, C.T):
        raise AssertionError(f"C should be the symmetric covariance matrix of the exercise, got shape {C.shape}.")
    circ = _reference_circulant(C)
    want_distance = np.linalg.norm(C - circ) / np.linalg.norm(C)
    distance = float(distance)
    if abs(distance - np.linalg.norm(C - circ)) < 1e-9 * np.linalg.norm(C) and abs(want_distance - 1) > 1e-6:
        raise AssertionError(f"distance = {distance:.4g} is |C - circulant| itself: divide by |C| for the relative distance.")
    expect_close("the relative distance |C - circulant_part(C)|_F / |C|_F", distance, want_distance, rtol=1e-6,
                 hint="Use the Frobenius norm (np.linalg.norm of the matrices) and divide by |C|_F.")

    # the references: eigenvalues of the circulant part, and the DFT of its first row, both decreasing
    want_eig = np.sort(np.linalg.eigvalsh(circ))[::-1]
    raw_dft = np.fft.fft(circ[0]).real
    want_dft = np.sort(raw_dft)[::-1]
    scale = np.max(np.abs(want_eig))
    tol = 1e-8 * scale  # float64 rounding of an n x n eigensolver, with room

    def same(a, b):
        return np.allclose(a, b, rtol=0, atol=tol)

    eig = _real_vector("eigenvalues", eigenvalues, n)
    fft = _real_vector("dft", dft, n)
    for what, got_v, want_v in (("eigenvalues", eig, want_eig), ("dft", fft, want_dft)):
        if same(got_v, want_v[::-1]):
            raise AssertionError(f"{what} is in increasing order: sort both arrays in decreasing order "
                                 "(np.sort(...)[::-1]) before comparing them, as the chapter lists the largest first.")
        if same(np.sort(got_v)[::-1], want_v) and not same(got_v, want_v):
            raise AssertionError(f"{what} holds the right values in another order: "
                                 + ("np.fft.fft returns them in frequency order k = 0, 1, ..., n - 1; " if what == "dft"
                                    else "")
                                 + "sort both in decreasing order before comparing eigenvalues with the DFT.")
    if not same(fft, want_dft):
        for name, row in (("the first row of C itself (not of its circulant part)", C[0]),
                          ("the second row of the circulant part", circ[1]), ("a column sum", circ.sum(0))):
            if same(np.sort(np.fft.fft(row).real)[::-1], fft):
                raise AssertionError(f"dft is the DFT of {name}: take np.fft.fft(circulant_part(C)[0]).")
    expect_close("dft (the DFT of the circulant part's first row, decreasing)", fft, want_dft, rtol=0, atol=tol,
                 hint="np.sort(np.fft.fft(circulant_part(C)[0]).real)[::-1]")
    expect_close("eigenvalues (of the circulant part, decreasing)", eig, want_eig, rtol=0, atol=tol,
                 hint="np.sort(np.linalg.eigvalsh(circulant_part(C)))[::-1]; the eigenvalues of C itself differ from "
                      "those of its circulant part by about the distance above.")
    gap = np.max(np.abs(eig - fft))
    return (f"relative distance from circulant {distance:.3f}; the eigenvalues of the circulant part equal the DFT "
            f"of its first row to {gap:.1e}: a circulant matrix is diagonal in the Fourier basis.")


@exercise("10.2")
def check_frame_velocity(frame_velocity):
    """``frame_velocity(encoder, frames, h)``: (E(x+) - E(x-)) / 2h for frames [3, n, n_points]."""
    import functools

    import jax

    from physml_helpers.symmetry import encode, init_autoencoder, latent_velocities, orbit_frames

    params = init_autoencoder(jax.random.key(0), 32, 2, hidden=16)
    encoder = functools.partial(encode, params)
    errors = []
    for h in (0.1, 0.05):
        frames, _, _ = orbit_frames(jax.random.key(1), 50, frame_step=h)
        got = np.asarray(call(frame_velocity, encoder, frames, h, what="frame_velocity(encoder, frames, h)"), dtype=float)
        want = (np.asarray(encoder(frames[2])) - np.asarray(encoder(frames[0]))) / (2 * h)
        if got.shape != want.shape:
            raise AssertionError(f"frame_velocity should return [n, d] = {want.shape}, got {got.shape}.")
        if np.allclose(got, 2 * want, rtol=1e-5):
            raise AssertionError("twice the expected value: the frames are 2h apart, divide by 2h.")
        expect_close(f"frame_velocity at h = {h}", got, want, rtol=1e-5, atol=1e-6,
                     hint="frames[0] is the frame at eps - h and frames[2] the one at eps + h.")
        _, exact = latent_velocities(encoder, frames[1])
        errors.append(np.linalg.norm(got - np.asarray(exact)) / np.linalg.norm(np.asarray(exact)))
    ratio = errors[0] / errors[1]
    if not 3.0 < ratio < 5.0:
        raise AssertionError(f"halving h should cut the error by about 4 (second order), got a factor {ratio:.2f}.")
    return f"errors {errors[0]:.1e} and {errors[1]:.1e} at h = 0.1 and 0.05: second order, a factor {ratio:.1f}."


@exercise("10.3")
def check_invariant_direction(correlation, residual):
    """``correlation`` of the invariant latent coordinate with the amplitude, and the generator ``residual``."""
    correlation, residual = float(correlation), float(residual)
    if not -1.0 - 1e-9 <= correlation <= 1.0 + 1e-9:
        raise AssertionError(f"a correlation lies in [-1, 1], got {correlation}.")
    if residual > 0.05:
        raise AssertionError(f"the generator residual {residual:.3f} is above 0.05: train with the linearity term "
                             "(linearity_weight=1) and a three-dimensional latent space.")
    if abs(correlation) < 0.9:
        raise AssertionError(f"|correlation| = {abs(correlation):.2f} is below 0.9. The invariant direction c solves "
                             "c^T A = 0: the left singular vector of A with the smallest singular value.")
    return f"the coordinate that the symmetry does not move is the amplitude (|r| = {abs(correlation):.3f})."


@exercise("10.4")
def check_threefold(A):
    """``A``: the 2 x 2 latent generator fitted for the three-fold pattern."""
    A = np.asarray(A, dtype=float)
    if A.shape != (2, 2):
        raise AssertionError(f"A should be the 2 x 2 generator, got shape {A.shape}.")
    eig = np.linalg.eigvals(A)
    if np.max(np.abs(eig.real)) > 0.1 * np.max(np.abs(eig.imag)) + 1e-12:
        raise AssertionError(f"eigenvalues {np.round(eig, 3)} are not (nearly) imaginary: this is not a rotation.")
    omega = float(np.max(np.abs(eig.imag)))
    if abs(omega - 1) < 0.05:
        raise AssertionError("omega = 1: did you train on the three-fold pattern (orbit_frames(..., fold=3))?")
    expect_close("the angular frequency |Im lambda|", omega, 3.0, rtol=0.05,
                 hint="The orbit of a pattern with three-fold symmetry closes after 2 pi / 3.")
    return f"omega = {omega:.3f}: the orbit closes after 2 pi / {omega:.2f}, a three-fold symmetry."

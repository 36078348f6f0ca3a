"""Checks for the exercises of chapter 15, *Gauge-equivariant networks*.

References: the winding (Polyakov) loops computed directly and their gauge invariance; the exact
finite-volume average plaquette of the two-dimensional U(1) theory (character expansion); the 2 × 2
Wilson loop from the lattice Stokes theorem; covariance of SU(2) plaquettes and transported sums under
random SU(2) gauge transformations.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_polyakov_loops", "check_tiny_torus", "check_loop_by_hand", "check_su2_transport",
           "random_su2", "su2_gauge_transform"]


def _random_links(seed, L):
    rng = np.random.default_rng(seed)
    return rng.uniform(-np.pi, np.pi, (2, L, L)), rng.uniform(-np.pi, np.pi, (L, L))


def _phase_distance(a, b):
    """Largest |e^{ia} - e^{ib}|: angles are compared modulo 2 pi."""
    return float(np.max(np.abs(np.exp(1j * np.asarray(a, float)) - np.exp(1j * np.asarray(b, float)))))


@exercise("15.1")
def check_polyakov_loops(polyakov_loops, flat_links):
    """``polyakov_loops(theta) -> (p0, p1)``; ``flat_links``: links with trivial plaquettes but a nontrivial winding loop."""
    from physml_helpers.gauge import gauge_transform, plaquette_angles

    theta, alpha = _random_links(0, 6)
    result = call(polyakov_loops, theta, what="polyakov_loops(theta)")
    if not isinstance(result, tuple) or len(result) != 2:
        raise AssertionError("polyakov_loops should return a tuple (p0, p1) of two arrays of length L.")
    p0, p1 = (np.asarray(r, float) for r in result)
    if p0.shape != (6,) or p1.shape != (6,):
        raise AssertionError(f"p0 and p1 should have shape (L,) = (6,), got {p0.shape} and {p1.shape}: "
                             "sum theta[0] over axis 0 and theta[1] over axis 1.")
    if _phase_distance(p0, theta[1].sum(axis=1)) < 1e-9 and _phase_distance(p1, theta[0].sum(axis=0)) < 1e-9:
        raise AssertionError("p0 and p1 are swapped: p0 follows theta[0] along e_0 (array axis 0).")
    if _phase_distance(p0, theta[0].sum(axis=0)) > 1e-9:
        raise AssertionError("p0[x1] should be the sum of theta[0][x0, x1] over x0: the loop along e_0 at height x1.")
    if _phase_distance(p1, theta[1].sum(axis=1)) > 1e-9:
        raise AssertionError("p1[x0] should be the sum of theta[1][x0, x1] over x1.")
    q0, q1 = call(polyakov_loops, np.asarray(gauge_transform(theta, alpha)), what="polyakov_loops on transformed links")
    if max(_phase_distance(q0, p0), _phase_distance(q1, p1)) > 1e-9:
        raise AssertionError("your loops change under a gauge transformation: every alpha(x) should enter once with "
                             "each sign around a closed loop.")
    flat = np.asarray(flat_links, float)
    if flat.ndim != 3 or flat.shape[0] != 2 or flat.shape[1] != flat.shape[2]:
        raise AssertionError(f"flat_links should have shape [2, L, L], got {flat.shape}.")
    plaquette_defect = _phase_distance(plaquette_angles(flat), 0.0)
    if plaquette_defect > 1e-9:
        raise AssertionError(f"flat_links has plaquettes e^(i theta_P) up to {plaquette_defect:.2f} away from 1: "
                             "try a constant angle on every link of one direction.")
    w0, w1 = call(polyakov_loops, flat, what="polyakov_loops(flat_links)")
    winding = max(_phase_distance(w0, 0.0), _phase_distance(w1, 0.0))
    if winding < 0.1:
        raise AssertionError("all winding loops of flat_links are trivial (e^(i P) = 1), so it is a pure gauge. "
                             "Pick the constant so that L times it is not a multiple of 2 pi.")
    return f"plaquettes all 1, yet a winding loop differs from 1 by {winding:.2f}: no gauge transformation removes it."


@exercise("15.2")
def check_tiny_torus(mean, error):
    """``mean`` and ``error`` of the average plaquette on a 2 × 2 torus at beta = 2."""
    from physml_helpers.gauge import exact_average_plaquette

    mean, error = float(mean), float(error)
    if not 1e-5 < error < 0.02:
        raise AssertionError(f"an error of {error:.2g} is implausible for 20000 sweeps: use the standard deviation of "
                             "the bin means divided by the square root of the number of bins.")
    finite, infinite = exact_average_plaquette(2.0, n_plaquettes=4), exact_average_plaquette(2.0)
    if abs(mean - infinite) < 3 * error:
        raise AssertionError(f"your mean {mean:.4f} agrees with I1/I0 = {infinite:.4f}, the infinite-volume value; on a "
                             "2 x 2 torus it should not. Did you run on an 8 x 8 or larger lattice?")
    if abs(mean - finite) > 4 * error:
        raise AssertionError(f"your mean {mean:.4f} ± {error:.4f} is {abs(mean - finite) / error:.1f} standard errors "
                             f"from the exact finite-volume value {finite:.4f}. Check beta = 2, the lattice size 2, "
                             "and that you discarded the first sweeps.")
    return (f"{mean:.4f} ± {error:.4f} against {finite:.4f} on the torus; I1/I0 = {infinite:.4f} would be "
            f"{abs(mean - infinite) / error:.0f} standard errors away.")


@exercise("15.3")
def check_loop_by_hand(params):
    """``params`` for ``lcnn_apply`` that compute cos of the 2 × 2 Wilson loop exactly."""
    from physml_helpers.gauge import lcnn_apply, plaquette_angles, wilson_loop_angles

    theta, _ = _random_links(1, 6)
    got = np.asarray(call(lcnn_apply, params, theta, what="lcnn_apply(params, theta)"))
    want = np.cos(np.asarray(wilson_loop_angles(theta, 2)))
    P = np.asarray(plaquette_angles(theta))
    if got.shape != want.shape:
        raise AssertionError(f"the output has shape {got.shape}, expected {want.shape}.")
    if np.max(np.abs(got - np.cos(P + np.roll(P, -1, axis=0)))) < 1e-9:
        raise AssertionError("that is the 1 x 2 loop W(x) W(x + e_0): the second bilinear layer should multiply it "
                             "by the same product shifted by e_1.")
    if np.max(np.abs(got - np.cos(P))) < 1e-9:
        raise AssertionError("that is the plaquette itself: the bilinear layers should multiply four plaquettes.")
    shifted = np.cos(np.asarray(wilson_loop_angles(np.roll(theta, (1, 1), axis=(1, 2)), 2)))
    if np.max(np.abs(got - shifted)) < 1e-9:
        raise AssertionError("your loop sits one site off: offsets (0, 0), (1, 0), (0, 1), (1, 1) are the "
                             "plaquettes x, x + e_0, x + e_1, x + e_0 + e_1 (check LCNN_OFFSETS).")
    expect_close("lcnn_apply(params, theta)", got, want, atol=1e-10,
                 hint="channels: W at the four offsets; layer 1: two products; layer 2: their product; readout "
                      "[1, 0] (the last entry is the constant).")
    return "the network reproduces the 2 x 2 Wilson loop to 1e-10: it is in the model class, exactly."


def random_su2(rng, shape):
    """Random SU(2) matrices ``shape + (2, 2)``: a0 + i a.sigma with (a0, a) uniform on the unit 3-sphere."""
    a = rng.normal(size=(*shape, 4))
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    sigma = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
    return a[..., 0, None, None] * np.eye(2) + 1j * np.einsum("...k,kij->...ij", a[..., 1:], sigma)


def _dagger(m):
    return np.conj(np.swapaxes(m, -1, -2))


def _shift(m, mu):
    """m(x + e_mu) for a field [L, L, ...] on the periodic lattice."""
    return np.roll(m, -1, axis=mu)


def su2_gauge_transform(links, omega):
    """``U_mu(x) -> Omega(x) U_mu(x) Omega(x + e_mu)^dagger`` for links ``[2, L, L, 2, 2]``, omega ``[L, L, 2, 2]``."""
    return np.stack([omega @ links[mu] @ _dagger(_shift(omega, mu)) for mu in (0, 1)])


@exercise("15.4")
def check_su2_transport(su2_plaquettes, transported_sum):
    """``su2_plaquettes(links) -> [L, L, 2, 2]``; ``transported_sum(links, W) -> [L, L, 2, 2]``."""
    rng = np.random.default_rng(2)
    L = 4
    links, omega = random_su2(rng, (2, L, L)), random_su2(rng, (L, L))
    dagger, shift = _dagger, _shift
    W = np.asarray(call(su2_plaquettes, links, what="su2_plaquettes(links)"))
    if W.shape != (L, L, 2, 2):
        raise AssertionError(f"su2_plaquettes should return [L, L, 2, 2], got {W.shape}.")
    want = links[0] @ shift(links[1], 0) @ dagger(shift(links[0], 1)) @ dagger(links[1])
    W_gauged = np.asarray(call(su2_plaquettes, su2_gauge_transform(links, omega), what="su2_plaquettes"))
    covariance = float(np.max(np.abs(W_gauged - omega @ W @ dagger(omega))))
    if covariance > 1e-10:
        raise AssertionError(f"your plaquettes are not covariant (defect {covariance:.2f}): the four links must be "
                             "multiplied in order around the square, U_0(x) U_1(x + e_0) U_0(x + e_1)^+ U_1(x)^+.")
    if float(np.max(np.abs(W - want))) > 1e-10:
        raise AssertionError("su2_plaquettes(links) is covariant but not the plaquette: start at x, go along e_0, "
                             "then e_1, then back; the order of the matrices matters.")
    S = np.asarray(call(transported_sum, links, W, what="transported_sum(links, W)"))
    if S.shape != (L, L, 2, 2):
        raise AssertionError(f"transported_sum should return [L, L, 2, 2], got {S.shape}.")
    if np.max(np.abs(S - (W + shift(W, 0)))) < 1e-10:
        raise AssertionError("that is the naive sum W(x) + W(x + e_0): transport the neighbour first, "
                             "U_0(x) W(x + e_0) U_0(x)^+.")
    S_gauged = np.asarray(call(transported_sum, su2_gauge_transform(links, omega), omega @ W @ dagger(omega),
                               what="transported_sum on transformed links"))
    defect = float(np.max(np.abs(S_gauged - omega @ S @ dagger(omega))))
    if defect > 1e-10:
        raise AssertionError(f"the transported sum is not covariant (defect {defect:.2f}): use U_0(x) on the left and "
                             "its conjugate transpose on the right of W(x + e_0).")
    if float(np.max(np.abs(S - (W + links[0] @ shift(W, 0) @ dagger(links[0]))))) > 1e-10:
        raise AssertionError("transported_sum is covariant but not W(x) + U_0(x) W(x + e_0) U_0(x)^+: "
                             "did you transport along another link?")
    return "plaquettes and the transported sum transform as Omega(x) W Omega(x)^+, to 1e-10."

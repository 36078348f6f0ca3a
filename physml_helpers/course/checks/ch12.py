"""Checks for the exercises of chapter 12, *Applications II: complex systems and biophysics*.

References: the largest Lyapunov exponent of Lorenz-63, 0.9056 (Sprott); mean-field DCA with the zero-sum gauge,
Frobenius norm and average-product correction (:mod:`physml_helpers.coevolution`); the exhaustive energies of every
12-residue HP fold (:mod:`physml_helpers.lattice_protein`); the second-order convergence of Heun's method for the
probability-flow ODE of a Gaussian mixture (:mod:`physml_helpers.diffusion`).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_separation_exponent", "check_dca_scores", "check_design", "check_heun_sampler"]

LAMBDA_1 = 0.9056
CHAPTER_TARGET = 8187   # the fold designed in the chapter (12 residues, six contacts)


@exercise("12.1")
def check_separation_exponent(lam):
    """``lam``: the largest Lyapunov exponent read off the growth of the separation of two trajectories."""
    got = float(lam)
    if abs(got - LAMBDA_1 * math.log10(math.e)) < 0.05:
        raise AssertionError(f"{got:.3f} is about 0.9056 log10(e): fit the natural logarithm of the separation, "
                             "not log10.")
    if 0 < got < 0.05:
        raise AssertionError(f"{got:.4f} looks like a rate per integration step; divide by the step dt to get a rate "
                             "per unit time.")
    if got > 1.3:
        raise AssertionError(f"{got:.3f} is too large: fit only the straight part of log separation, after the "
                             "initial alignment and before saturation at the size of the attractor, and average "
                             "over several pairs of trajectories.")
    expect_close("lambda_1", got, LAMBDA_1, rtol=0.1,
                 hint="Average log separation over several pairs (at least 8) and fit a line between about 1 and "
                      "12 time units after a separation of 1e-9; saturation near 10-20 lowers the slope.")
    return f"lambda_1 = {got:.3f}, within 10% of 0.9056: the Lyapunov time is about {1 / got:.2f} time units."


@functools.lru_cache(maxsize=1)
def _alignment():
    rng = np.random.default_rng(12)
    base = rng.integers(0, 3, size=(300, 6))
    base[:, 4] = np.where(rng.random(300) < 0.7, base[:, 1], base[:, 4])    # one strongly coevolving pair
    return base


@exercise("12.2")
def check_dca_scores(dca_scores):
    """``dca_scores(msa, q)``: APC-corrected Frobenius norms of mean-field couplings (pseudocount 0.5)."""
    from physml_helpers import coevolution as cv

    msa = _alignment()
    got = np.asarray(call(dca_scores, msa, 3, what="dca_scores(msa, 3)"), dtype=float)
    if got.shape != (6, 6):
        raise AssertionError(f"dca_scores(msa, 3) must return an [L, L] = [6, 6] array of pair scores, got shape {got.shape}")
    j_mf = cv.mean_field_dca(msa, 3, pseudocount=0.5)
    want = np.asarray(cv.apc(cv.coupling_scores(j_mf)))
    mask = ~np.eye(6, dtype=bool)
    close = lambda a: np.allclose(got[mask], np.asarray(a)[mask], rtol=1e-5, atol=1e-8)  # noqa: E731
    if close(cv.coupling_scores(j_mf)):
        raise AssertionError("these are the Frobenius norms without the average-product correction; apply APC.")
    raw = np.sqrt(np.sum(np.asarray(j_mf) ** 2, axis=(2, 3)))
    if close(cv.apc(raw)):
        raise AssertionError("the norms are taken in the reference-state gauge; shift each block to the zero-sum gauge "
                             "first (subtract row and column means, add back the block mean).")
    if close(cv.apc(cv.coupling_scores(cv.mean_field_dca(msa, 3, pseudocount=0.0)))):
        raise AssertionError("without a pseudocount the correlation matrix is barely invertible; use pseudocount 0.5.")
    expect_close("dca_scores (off-diagonal)", got[mask], want[mask], rtol=1e-5, atol=1e-8,
                 hint="J = -C^{-1} on q - 1 states, zero-sum gauge, Frobenius norm per pair, then APC.")
    return "the top pair is the planted one, (1, 4)." if np.unravel_index(np.argmax(got), got.shape) in ((1, 4), (4, 1)) else None


@functools.lru_cache(maxsize=1)
def _folds():
    from physml_helpers import lattice_protein as lp

    return lp.enumerate_folds(12)


@exercise("12.3")
def check_design(target, sequence):
    """``target``: index of a 12-residue fold (not the chapter's); ``sequence``: its designed HP sequence (1 = H)."""
    from physml_helpers import lattice_protein as lp

    contacts, pairs, _ = _folds()
    target = int(target)
    if not 0 <= target < len(contacts):
        raise AssertionError(f"target must index one of the {len(contacts)} folds of enumerate_folds(12), got {target}")
    if target == CHAPTER_TARGET:
        raise AssertionError("that is the chapter's target; choose a different fold.")
    seq = np.asarray(sequence, dtype=float).ravel()
    if seq.shape != (12,) or not np.all((seq == 0) | (seq == 1)):
        raise AssertionError(f"sequence must be 12 numbers, each 0 (P) or 1 (H); got {np.asarray(sequence)!r}. "
                             "Round the relaxed probabilities.")
    energies = np.asarray(lp.fold_energies(seq, contacts, pairs))
    e0, degeneracy, gap = lp.energy_gap(energies)
    if degeneracy > 1:
        raise AssertionError(f"the ground state (E = {e0:.0f}) is {degeneracy}-fold degenerate; the sequence does not "
                             "fold uniquely. Raise beta, run longer, or pick a designable target.")
    if int(np.argmin(energies)) != target:
        raise AssertionError(f"the sequence folds uniquely, but to fold {int(np.argmin(energies))}, not {target}.")
    return f"fold {target} is the unique ground state, gap {gap:.0f}."


@functools.lru_cache(maxsize=1)
def _heun_setup():
    import jax
    import jax.numpy as jnp

    from physml_helpers import diffusion as df

    mix = df.Mixture(jnp.array([[1.5, 0.0], [-1.5, 0.5]]), jnp.log(jnp.array([0.6, 0.4])), jnp.asarray(0.4))
    score = jax.jit(lambda x, t: jax.vmap(df.mixture_score, in_axes=(0, None, None))(x, t, mix))
    x_start = np.asarray(jax.random.normal(jax.random.key(12), (200, 2)))
    return score, x_start


def _reference_heun(score, x, n, t_max, t_min):
    x = np.asarray(x, dtype=float)
    times = t_max * (t_min / t_max) ** (np.arange(n + 1) / n)
    for t, t_next in zip(times[:-1], times[1:]):
        h = t - t_next
        f = x + np.asarray(score(x, t))
        x_pred = x + h * f
        x = x + 0.5 * h * (f + x_pred + np.asarray(score(x_pred, t_next)))
    return x


@exercise("12.4")
def check_heun_sampler(sampler):
    """``sampler(score, x_start, n_steps, t_max, t_min)``: Heun's method for the probability-flow ODE, steps equal in ln t."""
    score, x_start = _heun_setup()
    t_max, t_min = 4.0, 1e-3
    exact = _reference_heun(score, x_start, 4000, t_max, t_min)
    errors = []
    for n in (10, 20, 40):
        out = np.asarray(call(sampler, score, x_start, n, t_max, t_min, what=f"sampler(score, x_start, {n}, 4.0, 0.001)"),
                         dtype=float)
        if out.shape != x_start.shape:
            raise AssertionError(f"the sampler must return points of shape {x_start.shape}, got {out.shape}")
        errors.append(float(np.sqrt(np.mean(np.sum((out - exact) ** 2, axis=1)))))
    ratio = errors[1] / max(errors[2], 1e-300)
    if 1.5 < ratio < 2.6:
        raise AssertionError(f"halving the step divides the error by {ratio:.2f}: first order, as Euler. Heun averages "
                             "the drift at both ends of the step, the end point from an Euler predictor.")
    if errors[2] > 0.05:
        raise AssertionError(f"with 40 steps the samples are {errors[2]:.3f} away from the converged flow; check the "
                             "time grid (equal steps in ln t from t_max to t_min) and the drift x + score(x, t).")
    expect_close("error ratio from 20 to 40 steps", ratio, 4.0, rtol=0.35,
                 hint="A second-order method divides the error by about 4 when the number of steps doubles.")
    return f"errors {errors[0]:.1e}, {errors[1]:.1e}, {errors[2]:.1e} at 10, 20, 40 steps: second order."

"""Checks for the exercises of chapter 6, *Annealing and variational neural annealing for spin glasses*.

References: ground-state energies of four-spin rings by enumeration, and the frustration rule (a loop is
frustrated exactly when the product of its couplings is negative) tested on random loops; the power-law fit
of the student's own residual energies recomputed by least squares; the geometric schedule's closed form, and
residual energies recomputed with the package's simulated annealing, compared within four standard errors;
the number of weights the masks of the autoregressive network leave free, counted from the masks.
"""

from __future__ import annotations

import itertools

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_rings", "check_exponent", "check_schedule", "check_parameter_counts"]


def _ring_ground_energy(bonds) -> float:
    n = len(bonds)
    return min(-sum(bonds[i] * s[i] * s[(i + 1) % n] for i in range(n)) for s in itertools.product((-1, 1), repeat=n))


@exercise("6.1")
def check_rings(ring_energies, is_frustrated):
    """``ring_energies``: {"unfrustrated": E0 of bonds (1, 1, -1, -1), "frustrated": E0 of bonds (1, 1, 1, -1)};
    ``is_frustrated(bonds)``: whether a ring with these couplings is frustrated."""
    if not isinstance(ring_energies, dict) or set(ring_energies) != {"unfrustrated", "frustrated"}:
        raise AssertionError(f"ring_energies should be a dict with keys 'unfrustrated' and 'frustrated', got {ring_energies!r}.")
    for name, bonds in (("unfrustrated", (1, 1, -1, -1)), ("frustrated", (1, 1, 1, -1))):
        want = _ring_ground_energy(bonds)
        if abs(float(ring_energies[name]) + want) < 1e-9 and want != 0:
            raise AssertionError(f"ring_energies['{name}'] has the wrong sign: H = -sum J s s, so satisfied bonds lower it.")
        expect_close(f"ring_energies['{name}']", float(ring_energies[name]), want, rtol=0, atol=1e-9,
                     hint="Enumerate the 16 configurations of the four spins, or count: every satisfied bond gives -|J|.")
    rng = np.random.default_rng(0)
    for length in (3, 4, 5, 6):
        for _ in range(20):
            bonds = rng.choice([-1.0, 1.0], size=length) * rng.uniform(0.5, 2.0, size=length)
            frustrated = _ring_ground_energy(bonds) > -np.sum(np.abs(bonds)) + 1e-12
            got = bool(call(is_frustrated, bonds, what="is_frustrated(bonds)"))
            if got != frustrated:
                raise AssertionError(f"is_frustrated({np.round(bonds, 2).tolist()}) returned {got}, but this ring "
                                     f"{'cannot' if frustrated else 'can'} satisfy all its bonds. Hint: look at the sign "
                                     "of the product of the couplings around the loop.")
    return "a loop is frustrated exactly when the product of its couplings is negative."


@exercise("6.2")
def check_exponent(sweeps, residuals, kappa):
    """``sweeps`` (the numbers of sweeps), ``residuals`` (mean residual energy per spin at each) and ``kappa`` (the
    exponent of residual ~ sweeps^-kappa, fitted on log-log axes)."""
    sweeps = np.asarray(sweeps, dtype=float)
    residuals = np.asarray(residuals, dtype=float)
    if sweeps.shape != residuals.shape or sweeps.size < 3:
        raise AssertionError(f"sweeps and residuals should be two arrays of the same length >= 3, got shapes "
                             f"{sweeps.shape} and {residuals.shape}.")
    if np.any(residuals <= 0) or np.any(residuals > 0.1):
        raise AssertionError(f"residual energies per spin should lie between 0 and 0.1 for these anneals, got "
                             f"{residuals.tolist()}; divide (E - E0) by N = 100 and average over replicas and instances.")
    slope = np.polyfit(np.log(sweeps), np.log(residuals), 1)[0]
    if abs(float(kappa) + slope) > 1e-6 and abs(float(kappa) - slope) < 1e-6:
        raise AssertionError(f"kappa = {float(kappa):.3f} has the wrong sign: residual ~ sweeps^(-kappa), so kappa = -slope.")
    expect_close("kappa", float(kappa), -slope, rtol=0, atol=1e-6,
                 hint="Fit a straight line to log(residual) against log(sweeps) by least squares; kappa is minus its slope.")
    if not 0.05 < kappa < 0.8:
        raise AssertionError(f"kappa = {kappa:.3f} is outside the range simulated annealing shows here (0.05 to 0.8): "
                             "check that the schedule runs from T0 = 1 to 0 and that the residuals are per spin.")
    return f"kappa = {kappa:.2f}: far slower than any power that would make large glasses easy."


def _reference_residual(temperatures, seed) -> tuple[float, float]:
    import jax
    import jax.numpy as jnp

    from physml_helpers.spinglass import ea_exact_ground_state, lattice_couplings, simulated_annealing, vna_ea_instance

    bonds = [vna_ea_instance(s, 10) for s in (1, 2, 3, 4)]
    J = jnp.stack([lattice_couplings(h, v) for h, v in bonds])
    e0 = np.array([ea_exact_ground_state(h, v)[0] for h, v in bonds])
    out = simulated_annealing(jax.random.key(seed), J, temperatures=temperatures, n_replicas=32)
    eps = (np.asarray(out.energies) - e0[:, None]) / 100
    return float(eps.mean()), float(eps.std(ddof=1) / np.sqrt(eps.size))


@exercise("6.3")
def check_schedule(geometric_schedule, residual_linear, residual_geometric):
    """``geometric_schedule(t0, tf, n)`` returning float[n]; the two mean residual energies per spin (256 sweeps,
    32 replicas on each of the four instances)."""
    got = np.asarray(call(geometric_schedule, 1.0, 0.05, 256, what="geometric_schedule(1.0, 0.05, 256)"), dtype=float)
    k = np.arange(1, 257)
    want = 1.0 * (0.05 / 1.0) ** (k / 256)
    if got.shape == (256,) and np.allclose(got, 1.0 * (0.05 / 1.0) ** (np.arange(256) / 256)):
        raise AssertionError("the schedule starts at T0; like linear_schedule it should start one step below T0 and "
                             "end exactly at tf: T_k = T0 (tf/T0)^(k/n) for k = 1..n.")
    expect_close("geometric_schedule(1.0, 0.05, 256)", got, want, rtol=1e-9,
                 hint="T_k = T0 (tf/T0)^(k/n) for k = 1, ..., n: a constant ratio between successive temperatures.")
    for name, value, schedule, seed in (("residual_linear", residual_linear, 1.0 - k / 256, 101),
                                        ("residual_geometric", residual_geometric, want, 102)):
        mean, err = _reference_residual(schedule, seed)
        # two independent estimates of the same mean, each with standard error ~err
        expect_close(name, float(value), mean, rtol=0, atol=4 * np.sqrt(2) * err,
                     hint="Mean of (E - E0)/100 over the 32 replicas of each of the four instances after the anneal.")
    return "both schedules measured; compare the difference with the error bars before calling a winner."


def _free_weights(n: int, n_hidden: int) -> int:
    from physml_helpers.annealing import _masks

    direct, m_in, m_out = _masks(n, n_hidden)
    return int(n + direct.sum() + n_hidden + m_in.sum() + m_out.sum())


@exercise("6.4")
def check_parameter_counts(n_params_small, n_params_large, residual_small, residual_large):
    """Free parameters of ``init_autoregressive(key, 100, n_hidden=0)`` and ``(..., n_hidden=32)`` (weights the masks
    keep, plus biases), and the two mean residual energies per spin after variational annealing."""
    for name, got, hidden in (("n_params_small", n_params_small, 0), ("n_params_large", n_params_large, 32)):
        want = _free_weights(100, hidden)
        full = 100 + 100 * 100 + hidden + 2 * 100 * hidden
        if int(got) == full and full != want:
            raise AssertionError(f"{name} = {got} counts every entry of the weight arrays; the masks set many to zero for "
                                 "ever: count only the entries where the mask is 1 (plus the biases).")
        expect_close(name, float(got), want, rtol=0, atol=0.5,
                     hint="Biases b and c, plus the number of ones in each of the three masks (see annealing._masks).")
    for name, value in (("residual_small", residual_small), ("residual_large", residual_large)):
        if not 0 <= float(value) < 0.3:
            raise AssertionError(f"{name} = {float(value):.4f} should lie between 0 and 0.3, below half the residual of "
                                 "random spins on instance 2 (0.67 per spin): average (E - E0)/100 over the final samples.")
    return f"{int(n_params_small)} free parameters against {int(n_params_large)}; compare the residual energies they reach."

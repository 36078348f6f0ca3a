"""Checks for the exercises of chapter 16, *Principled extrapolation*.

References: the fixed point sqrt(a0 (Tc - T) / b) and the rates a0 (T - Tc) and 2 a0 (Tc - T), compared
at sample values; the linear relaxation time 1 / (a0 (T - Tc)); the symmetry of the Landau form; the
critical temperature Tc = 1 of the simulated data.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import exercise, expect_close

__all__ = ["check_rates", "check_relaxation_times", "check_symmetry", "check_two_temperatures"]


@exercise("16.1")
def check_rates(m_star, rate_above, rate_below, a0, b, T, Tc):
    """SymPy expressions for the fixed point and the two relaxation rates."""
    import sympy as sp

    for name, expr, (t_val,), want in (
        ("m_star", m_star, (0.6,), np.sqrt(1.5 * (1.0 - 0.6) / 0.7)),
        ("rate_above", rate_above, (1.3,), 1.5 * 0.3),
        ("rate_below", rate_below, (0.6,), 2 * 1.5 * 0.4),
    ):
        value = complex(sp.sympify(expr).subs({a0: 1.5, b: 0.7, T: t_val, Tc: 1.0}).evalf())
        if abs(value.imag) > 1e-12:
            raise AssertionError(f"{name} is complex at T = {t_val}: check the sign under the square root.")
        if name == "rate_below" and abs(value.real - 1.5 * 0.4) < 1e-9:
            raise AssertionError("rate_below is a0 (Tc - T): evaluate -d(rhs)/dm at m*, where the cubic term contributes 3 b m*^2.")
        if name != "m_star" and abs(value.real + want) < 1e-9:
            raise AssertionError(f"{name} has the wrong sign: lambda = -d(rhs)/dm, positive for a stable point.")
        expect_close(f"{name} at a0 = 1.5, b = 0.7, T = {t_val}, Tc = 1", value.real, want, rtol=1e-10)
    return "m* = sqrt(a0 (Tc - T) / b); relaxation twice as fast below Tc as above, at equal distance."


@exercise("16.2")
def check_relaxation_times(relaxation_times):
    """``relaxation_times``: {T: tau} for T = 1.05, 1.1, 1.2, 1.4."""
    if not isinstance(relaxation_times, dict) or sorted(relaxation_times) != [1.05, 1.1, 1.2, 1.4]:
        raise AssertionError(f"relaxation_times should be a dict with keys 1.05, 1.1, 1.2 and 1.4, got {relaxation_times!r}.")
    for T_val, tau in relaxation_times.items():
        if abs(float(tau) * (T_val - 1.0) - 0.5) < 0.01:
            raise AssertionError(f"tau({T_val}) is half the expected value: fit ln m, not ln m^2 (or use -1/slope).")
        # the cubic term with m0 = 0.01 shifts the rate by about b m0^2 / (T - Tc), below 2e-3 relative here
        expect_close(f"tau at T = {T_val}", float(tau), 1.0 / (T_val - 1.0), rtol=0.02,
                     hint="tau = -1 / slope of ln m(t) against t.")
    return "tau = 1 / (T - Tc): it diverges at the transition (critical slowing down)."


@exercise("16.3")
def check_symmetry(errors):
    """``errors``: {"physics": rms, "black box": rms} on curves with negative m0."""
    if not isinstance(errors, dict) or set(errors) != {"physics", "black box"}:
        raise AssertionError(f"errors should be a dict with keys 'physics' and 'black box', got {errors!r}.")
    physics, black = float(errors["physics"]), float(errors["black box"])
    if physics > 0.01:
        raise AssertionError(f"the physics-informed error {physics:.3f} is above 0.01: it is odd in m by construction, "
                             "so it should predict negative curves as well as positive ones. Check its training.")
    if black < 3 * physics:
        raise AssertionError(f"the black box's error {black:.3f} should be several times the physics-informed one "
                             f"({physics:.4f}): did you train it on positive starts only and evaluate on negative ones?")
    return f"black box {black:.3f} against {physics:.4f}: the symmetry m -> -m is worth that much."


@exercise("16.4")
def check_two_temperatures(tc_two):
    """``tc_two``: the critical temperature fitted from T = 0.5 and 0.6 only (key 5, as in the statement)."""
    import jax
    import jax.numpy as jnp

    from physml_helpers.landau import fit_trajectories, init_landau_model, landau_model_rhs, landau_model_tc, simulate

    got = float(tc_two)
    if abs(got - 0.6) < 0.02 or abs(got - 0.5) < 0.02:
        raise AssertionError("that is a training temperature: report the fitted tau (landau_model_tc).")
    times, T, observed, _ = simulate(jax.random.key(5), jnp.array([0.5, 0.6]))
    params, _ = fit_trajectories(landau_model_rhs, init_landau_model(), times, T, observed, lr=3e-2, n_steps=800, dt=0.25)
    want = landau_model_tc(params)
    expect_close("T_c from two temperatures", got, want, rtol=1e-3,
                 hint="simulate(jax.random.key(5), [0.5, 0.6]), then fit_trajectories(..., lr=3e-2, n_steps=800, dt=0.25).")
    return f"T_c = {got:.3f} from data 0.4 to 0.5 below it: {abs(got - 1):.0%} off, against 0.4% from five temperatures."

"""Checks for the exercises of chapter 16, *Principled extrapolation*.

References: the fixed point sqrt(a0 (Tc - T) / b) and the rates a0 (T - Tc) and 2 a0 (Tc - T), compared
at sample values; the linear relaxation time 1 / (a0 (T - Tc)); the symmetry of the Landau form; the
critical temperature Tc = 1 of the simulated data, with Gauss-Newton error bars; a least-squares minimum
scoring no worse than other parameters of the model; the noise-free fit as the limit of a misspecified one.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import exercise, expect_close

__all__ = ["check_rates", "check_relaxation_times", "check_symmetry", "check_two_temperatures", "check_misspecified"]


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


def _landau_data_loss(params, times, T, observed):
    """Mean squared error of the Landau model ``params`` on the curves, integrated as in the chapter."""
    import jax.numpy as jnp

    from physml_helpers.landau import landau_model_rhs, rollout

    predicted = rollout(lambda m, temp: landau_model_rhs(params, m, temp), observed[0], T,
                        t_max=float(times[-1] - times[0]), n_obs=observed.shape[0], dt=0.25)
    return float(jnp.mean((predicted - observed) ** 2))


def _fitted_landau(tc, params, name):
    """The fitted parameters checked for form, and their tau against the reported critical temperature."""
    from physml_helpers.landau import landau_model_tc

    if not isinstance(params, dict) or not {"log_alpha", "tau", "log_beta"} <= set(params):
        raise AssertionError(f"{name} should be the fitted parameter dict (keys 'log_alpha', 'tau', 'log_beta') that "
                             f"fit_trajectories returns, got {type(params).__name__}.")
    tau = landau_model_tc(params)
    if abs(float(tc) - tau) > 1e-6 * max(1.0, abs(tau)):
        raise AssertionError(f"the critical temperature {float(tc):.4f} is not the fitted tau {tau:.4f} of {name}: "
                             "report landau_model_tc(params).")
    return tau


def _misspecified_a(T):
    import jax.numpy as jnp

    return jnp.sign(T - 1.0) * jnp.abs(T - 1.0) ** 0.652  # m* = (1 - T)^0.326, the 3-d Ising exponent


@exercise("16.4")
def check_two_temperatures(tc_two, params_two):
    """``tc_two``, ``params_two``: the Landau model fitted to T = 0.5 and 0.6 only (key 5, as in the statement).

    Independent of the student's fit: the known truth T_c = 1 within three Gauss-Newton standard errors, and
    a least-squares minimum scoring no worse than the exact parameters (which are in the model family).
    """
    import jax
    import jax.numpy as jnp

    from physml_helpers.landau import init_landau_model, landau_model_tc_error, simulate

    got = float(tc_two)
    if abs(got - 0.6) < 0.02 or abs(got - 0.5) < 0.02:
        raise AssertionError("that is a training temperature: report the fitted tau (landau_model_tc).")
    _fitted_landau(got, params_two, "params_two")
    times, T, observed, _ = simulate(jax.random.key(5), jnp.array([0.5, 0.6]))
    loss = _landau_data_loss(params_two, times, T, observed)
    truth = _landau_data_loss(init_landau_model(alpha=1.0, tau=1.0, beta=1.0), times, T, observed)
    # with noise, a least-squares minimum lies strictly below the exact parameters (here by 4.5%); the margin
    # 1e-4 is far above float32 rounding of a mean of 640 squares
    if loss > truth * (1 - 1e-4):
        raise AssertionError(f"the fit is not converged: its loss {loss:.3e} is not below the loss {truth:.3e} of the exact "
                             "parameters, as a least-squares minimum on noisy data is (or the parameters were typed in, "
                             "not fitted). Use optimizer='levenberg-marquardt' (as in the chapter).")
    sigma = landau_model_tc_error(params_two, times, T, observed, dt=0.25)
    if abs(got - 1.0) > 3 * sigma:
        raise AssertionError(f"T_c = {got:.4f} is {abs(got - 1) / sigma:.1f} standard errors ({sigma:.4f}) from the true "
                             "T_c = 1: check the data (simulate(jax.random.key(5), [0.5, 0.6])) and the fit.")
    return (f"T_c = {got:.4f} +- {sigma:.4f} from data 0.4 to 0.5 below it: {abs(got - 1):.1%} off, within "
            f"{abs(got - 1) / sigma:.1f} standard errors of the truth.")


@exercise("16.5")
def check_misspecified(tc_mis, params_mis):
    """``tc_mis``, ``params_mis``: the linear-a Landau model fitted to data made with a(T) = sign(T - 1)|T - 1|^0.652
    (key 7, T = 0.5 ... 0.9). Reference: the same model fitted to the noise-free curves (the large-data limit of
    the noisy fit), and the known truth T_c = 1."""
    import jax
    import jax.numpy as jnp

    from physml_helpers.landau import (fit_trajectories, init_landau_model, landau_model_rhs, landau_model_tc,
                                       landau_model_tc_error, simulate)

    got = float(tc_mis)
    _fitted_landau(got, params_mis, "params_mis")
    times, T, observed, clean = simulate(jax.random.key(7), jnp.linspace(0.5, 0.9, 5), a_fn=_misspecified_a)
    if abs(got - 1.0) < 0.05:
        raise AssertionError(f"T_c = {got:.3f} is the true value: a straight a(T) cannot find it from these data. Did you "
                             "simulate with a_fn (the exponent 0.326) and fit landau_model_rhs?")
    limit, _ = fit_trajectories(landau_model_rhs, init_landau_model(), times, T, clean,
                                optimizer="levenberg-marquardt", n_steps=100, dt=0.25)
    loss, limit_loss = (_landau_data_loss(p, times, T, observed) for p in (params_mis, limit))
    if loss > limit_loss * (1 + 1e-3):
        raise AssertionError(f"the fit is not converged: its loss {loss:.3e} on the noisy curves is above {limit_loss:.3e}, "
                             "the loss of other parameters of the same model. Use optimizer='levenberg-marquardt'.")
    sigma = landau_model_tc_error(params_mis, times, T, observed, dt=0.25)
    tc_limit = landau_model_tc(limit)
    if abs(got - tc_limit) > 3 * sigma:
        raise AssertionError(f"T_c = {got:.4f} is {abs(got - tc_limit) / sigma:.1f} standard errors from the noise-free "
                             f"fit's {tc_limit:.4f}: check the key (7), the temperatures and a_fn.")
    return (f"T_c = {got:.3f} +- {sigma:.3f} against the true 1: a bias of {got - 1:+.3f}, "
            f"{abs(got - 1) / sigma:.0f} standard errors, put in by the straight a(T).")

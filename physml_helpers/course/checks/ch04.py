"""Checks for the exercises of chapter 4, *Generalization in high dimensions*.

References: the inverse-Wishart mean E (X^T X)^{-1} = I/(n - p - 1), so the min-norm risk below the threshold is
sigma^2 p/(n - p - 1) (:func:`physml_helpers.generalization.min_norm_risk`); the Bayes-optimal per-sample ridge
sigma^2 gamma / r^2; the ridgeless exponent min(2a, b - 1) of the power-law learning curve; Saxe et al.'s sigmoid
(:func:`physml_helpers.generalization.saxe_mode_strength`); the gradient-flow risk per mode,
power e^{-2st} + noise_var (1 - e^{-st})^2, whose two time scales give double descent in the number of epochs.
"""

from __future__ import annotations

import math

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = [
    "check_below_threshold_risk",
    "check_optimal_ridge",
    "check_scaling_exponent",
    "check_deep_linear_mode",
    "check_epochwise_risk",
]


@exercise("4.1")
def check_below_threshold_risk(risk):
    """``risk(n, p, noise)``: the exact mean excess risk of least squares for p < n - 1."""
    for n, p, sigma in ((10, 3, 1.0), (50, 20, 0.5), (200, 150, 2.0)):
        got = float(call(risk, n, p, sigma, what=f"risk({n}, {p}, {sigma})"))
        want = sigma**2 * p / (n - p - 1)
        if abs(got - sigma**2 * p / (n - p)) < 1e-9 * max(1.0, abs(got)):
            raise AssertionError(f"risk({n}, {p}, {sigma}) = sigma^2 p/(n - p), the large-n form; the inverse-Wishart "
                                 "mean has n - p - 1 in the denominator.")
        if abs(got - sigma * p / (n - p - 1)) < 1e-9 and sigma != 1:
            raise AssertionError(f"risk({n}, {p}, {sigma}) scales with sigma, not sigma^2: the noise enters squared.")
        expect_close(f"risk({n}, {p}, {sigma})", got, want, rtol=1e-9,
                     hint="The variance is sigma^2 tr E (X^T X)^{-1}; use E (X^T X)^{-1} = I_p / (n - p - 1).")
    return "sigma^2 p / (n - p - 1): the inverse-Wishart mean."


@exercise("4.2")
def check_optimal_ridge(optimal_ridge):
    """``optimal_ridge(gamma, signal, noise)``: the per-sample ridge that minimizes the mean risk."""
    for gamma, r, sigma in ((0.5, 1.0, 0.5), (2.0, 1.0, 1.0), (1.0, 2.0, 0.3)):
        got = float(call(optimal_ridge, gamma, r, sigma, what=f"optimal_ridge({gamma}, {r}, {sigma})"))
        want = sigma**2 * gamma / r**2
        if gamma != 1 and abs(got - sigma**2 / r**2) < 1e-3 * want:
            raise AssertionError(f"optimal_ridge({gamma}, ...) = sigma^2/r^2 does not depend on gamma: the prior variance "
                                 "per coordinate is r^2/p, not r^2.")
        if abs(got - sigma / r) < 1e-3 * want and abs(sigma / r - want) > 1e-2 * want:
            raise AssertionError("the ridge is a ratio of variances: sigma^2 and r^2, not sigma and r.")
        expect_close(f"optimal_ridge({gamma}, {r}, {sigma})", got, want, rtol=2e-2,
                     hint="Match ridge regression to the posterior mean for beta ~ N(0, r^2 I / p); the per-sample ridge "
                          "is the summed one divided by n.")
    return "lambda* = sigma^2 gamma / r^2: ridge regression is the posterior mean."


@exercise("4.3")
def check_scaling_exponent(exponent):
    """``exponent(a, b)``: the measured decay exponent of the ridgeless learning curve, power-law features."""
    for a, b in ((1.5, 2.5), (2.0, 6.0)):
        got = float(call(exponent, a, b, what=f"exponent({a}, {b})"))
        want = min(2 * a, b - 1)
        if got < 0:
            raise AssertionError(f"exponent({a}, {b}) = {got:.3f} < 0: return alpha in risk ~ P^(-alpha), a positive number.")
        if abs(want - (b - 1)) > 0.2 and abs(got - (b - 1)) < 0.05:
            raise AssertionError(f"exponent({a}, {b}) = b - 1: here 2a = {2 * a} is smaller; the learning curve cannot "
                                 "beat the decay of the spectrum. Did you measure, or assume?")
        if abs(want - 2 * a) > 0.2 and abs(got - 2 * a) < 0.05:
            raise AssertionError(f"exponent({a}, {b}) = 2a, but the target's tail b - 1 = {b - 1} is the bottleneck here.")
        expect_close(f"exponent({a}, {b})", got, want, rtol=0, atol=0.06,
                     hint="Measure -d log R / d log P at large P (P >= 1000) with many more modes than samples; "
                          "the corrections from finite P and from the end of the spectrum fade slowly.")
    return "risk ~ P^(-min(2a, b - 1)): resolution-limited scaling."


@exercise("4.4")
def check_deep_linear_mode(gd_strength):
    """``gd_strength(s, a0, lr, n_steps)``: the mode strength a_k = w1 w2 after each of n_steps gradient steps."""
    from physml_helpers.generalization import saxe_mode_strength

    s, a0, n_steps = 2.0, 1e-3, 600
    errors = []
    for lr in (0.01, 0.005):
        steps = int(n_steps * 0.01 / lr)
        traj = np.asarray(call(gd_strength, s, a0, lr, steps, what=f"gd_strength({s}, {a0}, {lr}, {steps})"), float)
        if traj.shape != (steps + 1,):
            raise AssertionError(f"gd_strength returned shape {traj.shape}; return a[0..n_steps], {steps + 1} values "
                                 "including the start.")
        t = lr * np.arange(steps + 1)
        exact = np.asarray(saxe_mode_strength(t, singular_value=s, initial=a0))
        one_layer = s + (a0 - s) * np.exp(-t)
        if np.max(np.abs(traj - one_layer)) < 0.02 * s:
            raise AssertionError("this is a single linear layer, a(t) = s + (a0 - s) e^{-t}: exponential, no plateau. "
                                 "Use two weights w1, w2 with a = w1 w2 and update both.")
        errors.append(np.max(np.abs(traj - exact)))
    if errors[0] > 0.05 * s:
        raise AssertionError(f"gradient descent ends {errors[0]:.3f} away from the sigmoid a(t): start from "
                             "w1 = w2 = sqrt(a0) and use t = lr * step (tau = 1).")
    ratio = errors[0] / errors[1]
    if not 1.5 < ratio < 2.6:
        raise AssertionError(f"halving the learning rate changed the error by a factor {ratio:.2f}, not about 2: "
                             "gradient descent should approach the flow with first-order error.")
    return f"GD follows Saxe's sigmoid; error {errors[0]:.1e}, halving with the step."


def _epochwise_exact(t, s, power, noise_var):
    x = np.outer(np.asarray(t, float), np.asarray(s, float))
    return np.sum(np.asarray(power, float) * np.exp(-2 * x) + noise_var * (1 - np.exp(-x)) ** 2, axis=1)


@exercise("4.5")
def check_epochwise_risk(risk_curve):
    """``risk_curve(t, s, power, noise_var)``: mean excess risk of gradient flow from zero at the times t[T]."""
    rng = np.random.default_rng(4)
    t = np.geomspace(1e-2, 1e5, 141)
    cases = [(np.array([1.0, 0.1, 0.001]), np.array([0.5, 0.3, 0.2]), 0.01),
             (rng.uniform(1e-3, 2.0, 7), rng.uniform(0.0, 0.5, 7), 0.05)]
    for s, power, noise_var in cases:
        got = np.asarray(call(risk_curve, t, s, power, noise_var, what="risk_curve(t, s, power, noise_var)"), float)
        if got.shape != t.shape:
            raise AssertionError(f"risk_curve returned shape {got.shape}; return one risk per time, shape {t.shape}.")
        x = np.outer(t, s)
        no_square = np.sum(power * np.exp(-2 * x) + noise_var * (1 - np.exp(-x)), axis=1)
        bias_once = np.sum(power * np.exp(-x) + noise_var * (1 - np.exp(-x)) ** 2, axis=1)
        if np.allclose(got, no_square, rtol=1e-6):
            raise AssertionError("the noise term is (1 - e^{-st})^2 times noise_var: the fitted noise enters the risk "
                                 "squared, like the weights.")
        if np.allclose(got, bias_once, rtol=1e-6):
            raise AssertionError("the bias decays as e^{-2st}: the weight error e^{-st} beta enters the risk squared.")
        expect_close("risk_curve(t, ...)", got, _epochwise_exact(t, s, power, noise_var), rtol=1e-6,
                     hint="Mode k keeps the fraction 1 - e^{-s_k t} of its least-squares value: the error is "
                          "-e^{-s_k t} beta_k plus (1 - e^{-s_k t}) times the noise of that value.")
    # the two-scale model of the exercise: count the local minima of the student's curve
    s2 = np.array([1.0] * 50 + [1e-3] * 5)
    r2 = np.asarray(call(risk_curve, t, s2, np.where(s2 > 0.5, 0.02, 0.2), 0.01, what="risk_curve(two scales)"), float)
    n_min = int(np.sum((r2[1:-1] < r2[:-2]) & (r2[1:-1] < r2[2:])))
    return (f"gradient-flow risk correct; the two-scale model has {n_min} local minima in time "
            "(epoch-wise double descent).")

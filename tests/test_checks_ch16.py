"""Chapter 16's checks accept right answers and explain wrong ones."""

import pytest
import sympy as sp

from physml_helpers.course.checks import ch16

a0, b = sp.symbols("a0 b", positive=True)
T, Tc = sp.symbols("T T_c", real=True)


def test_rates(capsys):
    ch16.check_rates(sp.sqrt(a0 * (Tc - T) / b), a0 * (T - Tc), 2 * a0 * (Tc - T), a0, b, T, Tc)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="cubic term"):
        ch16.check_rates(sp.sqrt(a0 * (Tc - T) / b), a0 * (T - Tc), a0 * (Tc - T), a0, b, T, Tc)
    with pytest.raises(AssertionError, match="wrong sign"):
        ch16.check_rates(sp.sqrt(a0 * (Tc - T) / b), a0 * (Tc - T), 2 * a0 * (Tc - T), a0, b, T, Tc)
    with pytest.raises(AssertionError, match="complex"):
        ch16.check_rates(sp.sqrt(a0 * (T - Tc) / b), a0 * (T - Tc), 2 * a0 * (Tc - T), a0, b, T, Tc)


def test_relaxation_times(capsys):
    ch16.check_relaxation_times({t: 1 / (t - 1) * 0.999 for t in (1.05, 1.1, 1.2, 1.4)})
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="half the expected"):
        ch16.check_relaxation_times({t: 0.5 / (t - 1) for t in (1.05, 1.1, 1.2, 1.4)})
    with pytest.raises(AssertionError, match="keys 1.05"):
        ch16.check_relaxation_times({1.1: 10.0})


def test_symmetry(capsys):
    ch16.check_symmetry({"physics": 0.002, "black box": 0.5})
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="above 0.01"):
        ch16.check_symmetry({"physics": 0.2, "black box": 0.5})
    with pytest.raises(AssertionError, match="several times"):
        ch16.check_symmetry({"physics": 0.002, "black box": 0.003})


def _lm_fit(observed_data, n_steps=100, **kwargs):
    import jax.numpy as jnp

    from physml_helpers.landau import fit_trajectories, init_landau_model, landau_model_rhs

    times, T, observed = observed_data
    if kwargs.get("optimizer") == "adam":
        return fit_trajectories(landau_model_rhs, init_landau_model(), times, T, observed, lr=3e-2, n_steps=800, dt=0.25)[0]
    return fit_trajectories(landau_model_rhs, init_landau_model(), times, T, observed,
                            optimizer="levenberg-marquardt", n_steps=n_steps, dt=0.25)[0]


def test_two_temperatures(capsys):
    import jax
    import jax.numpy as jnp

    from physml_helpers.landau import init_landau_model, landau_model_tc, simulate

    times, T, observed, _ = simulate(jax.random.key(5), jnp.array([0.5, 0.6]))
    params = _lm_fit((times, T, observed))
    ch16.check_two_temperatures(landau_model_tc(params), params)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="training temperature"):
        ch16.check_two_temperatures(0.6, params)
    with pytest.raises(AssertionError, match="not the fitted tau"):
        ch16.check_two_temperatures(1.0, params)
    truth = init_landau_model(alpha=1.0, tau=1.0, beta=1.0)  # the true answer typed in, not a fit
    with pytest.raises(AssertionError, match="not converged"):
        ch16.check_two_temperatures(1.0, truth)
    adam = _lm_fit((times, T, observed), optimizer="adam")  # the earlier page's 800 Adam steps: T_c about 1.11
    with pytest.raises(AssertionError, match="not converged"):
        ch16.check_two_temperatures(landau_model_tc(adam), adam)
    ch16.check_two_temperatures(..., params)
    assert "not attempted" in capsys.readouterr().out


def test_misspecified(capsys):
    import jax
    import jax.numpy as jnp

    from physml_helpers.landau import landau_model_tc, simulate

    times, T, observed, clean = simulate(jax.random.key(7), jnp.linspace(0.5, 0.9, 5), a_fn=ch16._misspecified_a)
    params = _lm_fit((times, T, observed))
    ch16.check_misspecified(landau_model_tc(params), params)
    assert "correct" in capsys.readouterr().out
    landau_data = simulate(jax.random.key(7), jnp.linspace(0.5, 0.9, 5))  # forgot a_fn: T_c near 1
    wrong = _lm_fit(landau_data[:3])
    with pytest.raises(AssertionError, match="true value"):
        ch16.check_misspecified(landau_model_tc(wrong), wrong)
    unconverged = _lm_fit((times, T, observed), n_steps=5)
    with pytest.raises(AssertionError, match="not converged|standard errors"):
        ch16.check_misspecified(landau_model_tc(unconverged), unconverged)
    with pytest.raises(AssertionError, match="parameter dict"):
        ch16.check_misspecified(1.2, [1.0, 1.2])
    ch16.check_misspecified(None, params)
    assert "not attempted" in capsys.readouterr().out

"""The 2-D Ising exact results against brute-force enumeration and against each other."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.ising import (CRITICAL_TEMPERATURE, energy_per_site, kaufman_energy, kaufman_log_partition,
                                  magnetization, onsager_energy, onsager_magnetization)


def _enumerate(L):
    """Energies and magnetizations of all 2^(L^2) configurations of the L x L torus, by a direct bond sum."""
    n = L * L
    index = np.arange(2**n)
    s = (1 - 2 * ((index[:, None] >> np.arange(n)) & 1)).reshape(-1, L, L)
    energy = np.zeros(len(s))
    for y in range(L):
        for x in range(L):
            energy -= s[:, y, x] * (s[:, y, (x + 1) % L] + s[:, (y + 1) % L, x])
    return energy, s.reshape(len(s), -1).sum(axis=1)


@pytest.mark.parametrize("L", [2, 4])
def test_kaufman_against_enumeration(L):
    energy, _ = _enumerate(L)
    temperatures = np.array([0.3, 1.0, 2.0, CRITICAL_TEMPERATURE, 2.5, 4.0, 20.0])
    for t, log_z, u in zip(temperatures, kaufman_log_partition(temperatures, L), kaufman_energy(temperatures, L)):
        w = np.exp(-(energy - energy.min()) / t)
        assert log_z == pytest.approx(np.log(w.sum()) - energy.min() / t, rel=1e-13, abs=1e-12)
        assert u == pytest.approx(np.sum(energy * w) / w.sum() / L**2, abs=1e-13)


def test_kaufman_energy_is_the_derivative_of_log_z():
    L, t, h = 8, 2.1, 1e-5
    k = 1 / t
    derivative = (kaufman_log_partition(1 / (k + h), L) - kaufman_log_partition(1 / (k - h), L)) / (2 * h)
    assert kaufman_energy(t, L) == pytest.approx(-derivative / L**2, abs=1e-8)


def test_large_torus_approaches_onsager_away_from_tc():
    t = np.array([1.0, 1.8, 2.0, 2.8, 3.5, 6.0])
    np.testing.assert_allclose(kaufman_energy(t, 128), onsager_energy(t), atol=1e-10)


def test_finite_size_shift_at_tc_shrinks_with_L():
    gaps = [abs(float(kaufman_energy(CRITICAL_TEMPERATURE, L)) - onsager_energy(CRITICAL_TEMPERATURE)) for L in (8, 16, 32)]
    assert gaps[0] > gaps[1] > gaps[2] > 0
    # u(Tc, L) - u(Tc) ~ const / L: halving the ratio's distance from 2
    assert gaps[1] / gaps[2] == pytest.approx(2.0, rel=0.05)


def test_onsager_values():
    assert onsager_energy(CRITICAL_TEMPERATURE) == pytest.approx(-math.sqrt(2), abs=1e-15)
    assert CRITICAL_TEMPERATURE == pytest.approx(2.269185314213022, abs=1e-15)
    assert onsager_energy(1e-3) == -2.0
    high = 50.0  # high-temperature series: u = -2 tanh K - ... ~ -2K
    assert onsager_energy(high) == pytest.approx(-2 / high, rel=1e-3)
    assert onsager_magnetization(CRITICAL_TEMPERATURE + 1e-9) == 0.0
    assert onsager_magnetization(0.5) == pytest.approx(1 - (1 / 8) * np.sinh(4.0) ** -4, abs=1e-12)
    t = 2.0
    assert onsager_magnetization(t) == pytest.approx((1 - np.sinh(2 / t) ** -4) ** 0.125, rel=1e-15)
    # near Tc, m ~ (Tc - T)^(1/8): the local exponent tends to 1/8
    d1, d2 = 1e-6, 1e-7
    slope = np.log(onsager_magnetization(CRITICAL_TEMPERATURE - d1) / onsager_magnetization(CRITICAL_TEMPERATURE - d2))
    assert slope / np.log(d1 / d2) == pytest.approx(0.125, rel=1e-4)


def test_magnetization_against_enumeration_at_low_temperature():
    # on the 4x4 torus <|m|> -> 1 as T -> 0 and is well above Onsager's curve at T = 3 (finite size)
    energy, m = _enumerate(4)
    for t in (0.5, 3.0):
        w = np.exp(-(energy - energy.min()) / t)
        mean_abs = np.sum(np.abs(m) / 16 * w) / w.sum()
        if t == 0.5:
            assert mean_abs == pytest.approx(onsager_magnetization(t), abs=1e-3)
        else:
            assert mean_abs > 0.3 and onsager_magnetization(t) == 0.0


def test_observables_of_configurations():
    up = jnp.ones((4, 4))
    checker = jnp.asarray((-1) ** np.add.outer(np.arange(4), np.arange(4)), dtype=float)
    assert float(energy_per_site(up)) == -2.0 and float(magnetization(up)) == 1.0
    assert float(energy_per_site(checker)) == 2.0 and float(magnetization(checker)) == 0.0
    batch = jnp.stack([up, checker, -up])
    np.testing.assert_array_equal(np.asarray(energy_per_site(batch)), [-2.0, 2.0, -2.0])
    energy, m = _enumerate(4)
    index = np.arange(2**16)[::997]
    s = (1 - 2 * ((index[:, None] >> np.arange(16)) & 1)).reshape(-1, 4, 4)
    np.testing.assert_allclose(np.asarray(energy_per_site(jnp.asarray(s))), energy[index] / 16, atol=1e-12)
    np.testing.assert_allclose(np.asarray(magnetization(jnp.asarray(s))), m[index] / 16, atol=1e-12)


@pytest.mark.parametrize("call, error, text", [
    (lambda: kaufman_energy(0.0, 4), ValueError, "temperature"),
    (lambda: kaufman_energy(-1.0, 4), ValueError, "temperature"),
    (lambda: kaufman_energy(np.nan, 4), ValueError, "temperature"),
    (lambda: kaufman_energy("2", 4), TypeError, "temperature"),
    (lambda: kaufman_energy(2.0, 5), ValueError, "L must be even"),
    (lambda: kaufman_energy(2.0, 1), ValueError, "L"),
    (lambda: kaufman_log_partition(2.0, 4.0), TypeError, "L"),
    (lambda: onsager_energy([1.0, -2.0]), ValueError, "temperature"),
    (lambda: onsager_magnetization(None), TypeError, "temperature"),
    (lambda: energy_per_site(jnp.ones((4, 3))), ValueError, "spins"),
    (lambda: energy_per_site(jnp.zeros((4, 4))), ValueError, "spins"),
    (lambda: magnetization(jnp.ones(4)), ValueError, "spins"),
    (lambda: magnetization("up"), TypeError, "spins"),
])
def test_bad_inputs_name_the_parameter(call, error, text):
    with pytest.raises(error, match=text):
        call()

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


# ---------------------------------------------------------------------------------------------------
# Checkerboard Metropolis
# ---------------------------------------------------------------------------------------------------

import jax  # noqa: E402

from physml_helpers.ising import checkerboard_kernel, from_sublattices, metropolis, to_sublattices  # noqa: E402


def test_sublattice_layout_round_trips_and_neighbour_sums_match_the_full_lattice():
    from physml_helpers.ising import _neighbour_sum

    rng = np.random.default_rng(1)
    s = np.where(rng.random((2, 6, 6)) < 0.5, 1, -1)
    state = to_sublattices(s)
    np.testing.assert_array_equal(np.asarray(from_sublattices(state)), s)
    full = sum(np.roll(s, shift, axis) for shift in (1, -1) for axis in (-1, -2))
    y, j = np.arange(6)[:, None], np.arange(3)[None, :]
    np.testing.assert_array_equal(np.asarray(_neighbour_sum(state.white, True)), full[:, y, 2 * j + y % 2])
    np.testing.assert_array_equal(np.asarray(_neighbour_sum(state.black, False)), full[:, y, 2 * j + 1 - y % 2])


def test_sweep_info_matches_the_configuration():
    rng = np.random.default_rng(2)
    s = np.where(rng.random((3, 8, 8)) < 0.5, 1, -1)
    spins, info = metropolis(jax.random.key(0), s, beta=0.3, n_sweeps=4, record_every=2)
    assert spins.dtype == jnp.int8 and info.energy.shape == (2, 3)
    np.testing.assert_allclose(np.asarray(info.energy[-1]), np.asarray(energy_per_site(spins)), atol=1e-12)
    np.testing.assert_allclose(np.asarray(info.magnetization[-1]), np.asarray(magnetization(spins)), atol=1e-12)


def test_infinite_temperature_flips_every_spin_and_zero_temperature_never_raises_the_energy():
    s = jnp.ones((4, 4), jnp.int8)
    spins, info = metropolis(jax.random.key(1), s, beta=0.0, n_sweeps=1)
    np.testing.assert_array_equal(np.asarray(spins), -np.ones((4, 4)))  # every flip accepted
    rng = np.random.default_rng(3)
    start = np.where(rng.random((8, 8)) < 0.5, 1, -1)
    _, info = metropolis(jax.random.key(2), start, beta=1e9, n_sweeps=20)
    energies = np.concatenate([[float(energy_per_site(jnp.asarray(start)))], np.asarray(info.energy)])
    assert np.all(np.diff(energies) <= 1e-12)


def _chi_square(counts, expected):
    """Chi-square of counts against expected counts, with cells expecting fewer than 5 pooled."""
    small = expected < 5
    counts = np.append(counts[~small], counts[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    keep = expected > 0
    return np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep]), keep.sum() - 1


def _assert_boltzmann_on_4x4(sampler, beta, n_chains):
    """The joint (E, M) histogram of ``sampler`` (final configurations of n_chains 4x4 chains) passes a chi-square
    test against the exact Boltzmann distribution at beta and fails it at 1.3 beta."""
    from scipy.stats import chi2 as chi2_dist

    energy, m = _enumerate(4)
    cells = (energy.astype(int) + 32) * 17 + (m.astype(int) + 16) // 2  # one cell per (E, M) pair
    s = np.asarray(sampler).astype(int)
    e = -(s * np.roll(s, 1, -1) + s * np.roll(s, 1, -2)).sum(axis=(-2, -1))
    counts = np.bincount((e + 32) * 17 + (s.sum(axis=(-2, -1)) + 16) // 2, minlength=65 * 17)
    for b, should_pass in ((beta, True), (1.3 * beta, False)):
        weights = np.exp(-b * (energy - energy.min()))
        expected = n_chains * np.bincount(cells, weights=weights, minlength=65 * 17) / weights.sum()
        chi2, dof = _chi_square(counts, expected)
        p_value = chi2_dist.sf(chi2, dof)
        assert (p_value > 1e-3) == should_pass, f"beta {b}: chi-square {chi2:.1f} with {dof} dof, p = {p_value:.1e}"


def test_stationary_distribution_of_the_4x4_torus_is_boltzmann():
    """The joint distribution of energy and magnetization after many sweeps equals the exact one of the 4x4 torus
    (enumerated), by a chi-square test; the same samples fail against a wrong temperature."""
    beta, n_chains = 0.35, 4000
    start = jnp.ones((n_chains, 4, 4), jnp.int8)  # all up: the chains must forget it
    spins, _ = metropolis(jax.random.key(4), start, beta=beta, n_sweeps=40)
    _assert_boltzmann_on_4x4(spins, beta, n_chains)


def test_the_2x2_torus_is_not_ergodic_under_checkerboard_sweeps():
    """On the 2x2 torus both sites of a sublattice have the same two neighbours (twice each), so a half-sweep
    with zero local field flips both: the four states with both sublattices mixed are never reached. Larger
    tori have no such degeneracy (the 4x4 test above)."""
    index = np.arange(16)
    states = (1 - 2 * ((index[:, None] >> np.arange(4)) & 1)).reshape(16, 2, 2)
    spins, _ = metropolis(jax.random.key(8), jnp.asarray(np.tile(states[:1], (2000, 1, 1))), beta=0.35, n_sweeps=30)
    flat = np.asarray(spins).reshape(-1, 4)  # sites (0,0), (0,1), (1,0), (1,1): black 0 and 3, white 1 and 2
    both_mixed = (flat[:, 0] != flat[:, 3]) & (flat[:, 1] != flat[:, 2])
    assert not both_mixed.any()
    assert len(np.unique(flat, axis=0)) == 12


@pytest.mark.parametrize("temperature", [2.0, 2.5, 3.0])
def test_metropolis_energy_matches_kaufman_on_16x16(temperature):
    n_chains = 32
    _, info = metropolis(jax.random.key(5), jnp.ones((n_chains, 16, 16), jnp.int8), beta=1 / temperature,
                         n_sweeps=1500)
    per_chain = np.asarray(info.energy[300:]).mean(axis=0)  # independent chains: their spread is the error bar
    error = per_chain.std(ddof=1) / np.sqrt(n_chains)
    assert abs(per_chain.mean() - kaufman_energy(temperature, 16)) < 4 * error


def test_one_temperature_per_lattice_and_the_kernel_form():
    betas = jnp.array([0.1, 0.9])
    spins, info = metropolis(jax.random.key(6), jnp.ones((2, 8, 8), jnp.int8), beta=betas, n_sweeps=200)
    e = np.asarray(info.energy[100:]).mean(axis=0)
    assert e[1] < -1.8 < -0.5 < e[0]  # ordered at beta = 0.9, disordered at 0.1
    kernel = checkerboard_kernel()
    state = kernel.init(jnp.ones((8, 8)))
    state, info = kernel.step(jax.random.key(7), state, 0.5)
    assert from_sublattices(state).shape == (8, 8) and info.energy.shape == ()


@pytest.mark.parametrize("call, error, text", [
    (lambda: metropolis(jax.random.key(0), jnp.ones((5, 5)), beta=0.4, n_sweeps=1), ValueError, "L even"),
    (lambda: metropolis(jax.random.key(0), jnp.ones((4, 4)), beta=-0.4, n_sweeps=1), ValueError, "beta"),
    (lambda: metropolis(jax.random.key(0), jnp.ones((4, 4)), beta="hot", n_sweeps=1), TypeError, "beta"),
    (lambda: metropolis(jax.random.key(0), jnp.ones((4, 4)), beta=0.4, n_sweeps=0), ValueError, "n_sweeps"),
    (lambda: metropolis(jax.random.key(0), jnp.ones((4, 4)), beta=0.4, n_sweeps=3, record_every=2), ValueError,
     "multiple"),
    (lambda: metropolis(0, jnp.ones((4, 4)), beta=0.4, n_sweeps=1), TypeError, "key"),
    (lambda: metropolis(jax.random.key(0), jnp.zeros((4, 4)), beta=0.4, n_sweeps=1), ValueError, "spins"),
    (lambda: from_sublattices((jnp.ones((4, 2)), jnp.ones((4, 2)))), TypeError, "CheckerboardState"),
])
def test_metropolis_bad_inputs(call, error, text):
    with pytest.raises(error, match=text):
        call()


# ---------------------------------------------------------------------------------------------------
# Wolff cluster updates
# ---------------------------------------------------------------------------------------------------

from physml_helpers.ising import wolff, wolff_kernel  # noqa: E402


def test_wolff_stationary_distribution_of_the_4x4_torus_is_boltzmann():
    beta, n_chains = 0.4, 4000
    spins, _ = wolff(jax.random.key(9), jnp.ones((n_chains, 4, 4), jnp.int8), beta=beta, n_clusters=40)
    _assert_boltzmann_on_4x4(spins, beta, n_chains)


def test_wolff_energy_matches_kaufman_at_tc_on_16x16():
    n_chains = 32
    _, info = wolff(jax.random.key(10), jnp.ones((n_chains, 16, 16), jnp.int8), beta=1 / CRITICAL_TEMPERATURE,
                    n_clusters=2000)
    per_chain = np.asarray(info.energy[300:]).mean(axis=0)
    error = per_chain.std(ddof=1) / np.sqrt(n_chains)
    assert abs(per_chain.mean() - kaufman_energy(CRITICAL_TEMPERATURE, 16)) < 4 * error


def test_wolff_cluster_limits():
    up = jnp.ones((3, 8, 8), jnp.int8)
    spins, info = wolff(jax.random.key(11), up, beta=0.0, n_clusters=5)
    np.testing.assert_array_equal(np.asarray(info.cluster_size), 1)  # no bond is ever active at beta = 0
    spins, info = wolff(jax.random.key(12), up, beta=50.0, n_clusters=1)
    np.testing.assert_array_equal(np.asarray(info.cluster_size), 64)  # every bond active: the whole lattice flips
    np.testing.assert_array_equal(np.asarray(spins), -1)
    # a domain: the cluster never crosses into spins of the other sign
    half = np.ones((8, 8), np.int8)
    half[:, :4] = -1
    spins, info = wolff(jax.random.key(13), half, beta=50.0, n_clusters=1)
    assert int(info.cluster_size[0]) == 32 and abs(float(info.magnetization[0])) == 1.0
    kernel = wolff_kernel()
    spins, info = kernel.step(jax.random.key(14), kernel.init(jnp.ones((6, 6))), 0.3)
    assert spins.shape == (6, 6) and info.cluster_size.shape == ()
    np.testing.assert_allclose(float(info.energy), float(energy_per_site(spins)), atol=1e-12)


@pytest.mark.parametrize("call, error, text", [
    (lambda: wolff(jax.random.key(0), jnp.ones((4, 4)), beta=-1.0, n_clusters=1), ValueError, "beta"),
    (lambda: wolff(jax.random.key(0), jnp.ones((4, 4)), beta=0.4, n_clusters=0), ValueError, "n_clusters"),
    (lambda: wolff(jax.random.key(0), jnp.ones((4, 4)), beta=0.4, n_clusters=4, record_every=3), ValueError,
     "multiple"),
    (lambda: wolff(jax.random.key(0), jnp.ones((4, 5)), beta=0.4, n_clusters=1), ValueError, "spins"),
    (lambda: wolff(jax.random.key(0), 2 * jnp.ones((4, 4)), beta=0.4, n_clusters=1), ValueError, "spins"),
    (lambda: wolff(jax.random.PRNGKey(0), jnp.ones((4, 4)), beta=0.4, n_clusters=1), TypeError, "key"),
])
def test_wolff_bad_inputs(call, error, text):
    with pytest.raises(error, match=text):
        call()


# ---------------------------------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------------------------------

from physml_helpers.ising import sample_configurations  # noqa: E402


@pytest.mark.parametrize("method, n_between", [("metropolis", 4), ("wolff", 4)])
def test_sample_configurations_orders_temperatures_and_matches_kaufman(method, n_between):
    temperatures = np.array([1.8, 3.5])
    x = sample_configurations(jax.random.key(15), 8, temperatures, n_chains=24, n_samples=30, n_thermalize=100,
                              n_between=n_between, method=method)
    assert x.shape == (2, 30, 24, 8, 8) and x.dtype == jnp.int8
    per_chain = np.asarray(energy_per_site(x)).mean(axis=1)  # [T, chains]: chains independent
    error = per_chain.std(axis=1, ddof=1) / np.sqrt(24)
    exact = kaufman_energy(temperatures, 8)
    assert np.all(np.abs(per_chain.mean(axis=1) - exact) < 4 * error), (per_chain.mean(axis=1), exact, error)
    # swapping the temperatures' order would fail: the two exact energies are many error bars apart
    assert np.all(np.abs(per_chain.mean(axis=1) - exact[::-1]) > 10 * error)


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(temperatures=[2.0, -1.0]), ValueError, "temperature"),
    (dict(temperatures=[[2.0]]), ValueError, "1-D"),
    (dict(L=5), ValueError, "even"),
    (dict(method="heatbath"), ValueError, "method"),
    (dict(start="hot"), ValueError, "start"),
    (dict(n_between=0), ValueError, "n_between"),
    (dict(n_chains=2.5), TypeError, "n_chains"),
])
def test_sample_configurations_bad_inputs(kwargs, error, text):
    arguments = dict(L=4, temperatures=[2.0], n_chains=2, n_samples=2, n_thermalize=1, n_between=1)
    arguments.update(kwargs)
    with pytest.raises(error, match=text):
        sample_configurations(jax.random.key(0), **arguments)


# ---------------------------------------------------------------------------------------------------
# The counter-based random words of the checkerboard sweep
# ---------------------------------------------------------------------------------------------------

from physml_helpers.ising import site_bits  # noqa: E402


def test_site_bits_are_uniform_and_uncorrelated():
    """Every bit is fair, the top byte is uniform (chi-square), and the words of neighbouring sites, of the
    lattices of a batch and of two keys are uncorrelated, each within 5 standard errors."""
    from scipy.stats import chi2 as chi2_dist

    words = np.asarray(site_bits(jax.random.key(11), (4, 256, 128)), dtype=np.uint64)
    n = words.size
    ones = ((words.ravel()[:, None] >> np.arange(32, dtype=np.uint64)) & 1).mean(axis=0)
    assert np.all(np.abs(ones - 0.5) < 5 * 0.5 / np.sqrt(n)), ones
    counts = np.bincount((words >> 24).astype(np.int64).ravel(), minlength=256)
    assert chi2_dist.sf(np.sum((counts - n / 256) ** 2 / (n / 256)), 255) > 1e-4
    u = words.astype(float) / 2**32 - 0.5
    other = np.asarray(site_bits(jax.random.key(12), (4, 256, 128)), dtype=float) / 2**32 - 0.5
    pairs = {"row neighbours": (u[..., :-1], u[..., 1:]), "column neighbours": (u[:, :-1], u[:, 1:]),
             "lattices of a batch": (u[:-1], u[1:]), "two keys": (u, other)}
    for name, (a, b) in pairs.items():
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        assert abs(r) < 5 / np.sqrt(a.size), (name, r)
    # the two keys' streams are not copies of each other (shifted or permuted): ~0.25 common words expected
    assert len(np.intersect1d(words[0].ravel(), np.asarray(site_bits(jax.random.key(12), (256, 128))).ravel())) < 5


def test_site_bits_give_the_metropolis_acceptance_probabilities():
    """The fraction of words below the integer thresholds of the sweep is exp(-4 beta) and exp(-8 beta) within
    5 binomial standard errors; the same words against a threshold off by 3% fail."""
    from physml_helpers.ising import _thresholds

    beta = 0.44
    words = np.asarray(site_bits(jax.random.key(13), (64, 256, 128)))
    for t, p in zip(_thresholds(beta), (np.exp(-4 * beta), np.exp(-8 * beta))):
        t = int(np.asarray(t).ravel()[0])
        error = np.sqrt(p * (1 - p) / words.size)
        assert abs(np.mean(words < t) - p) < 5 * error
        assert abs(np.mean(words < int(1.03 * t)) - p) > 5 * error


@pytest.mark.parametrize("call, error, text", [
    (lambda: site_bits(jax.random.key(0), 16), TypeError, "shape"),
    (lambda: site_bits(jax.random.key(0), (16,)), ValueError, "shape"),
    (lambda: site_bits(jax.random.key(0), (0, 4)), ValueError, "shape"),
    (lambda: site_bits(0, (4, 4)), TypeError, "key"),
])
def test_site_bits_bad_inputs(call, error, text):
    with pytest.raises(error, match=text):
        call()


# ---------------------------------------------------------------------------------------------------
# Multi-spin coding
# ---------------------------------------------------------------------------------------------------

from physml_helpers.ising import MULTISPIN_BITS, multispin_kernel, pack_spins, unpack_spins  # noqa: E402


@pytest.mark.parametrize("L", [64, 128])
def test_packed_layout_round_trips_and_the_adder_counts_antiparallel_neighbours(L):
    """Unpacking inverts packing, and the bitwise adder gives, in every bit lane, the number of antiparallel
    neighbours of that spin on the full lattice (both sublattices, the row wraps included; at L = 64 a
    sublattice row is one word, wrapped on both sides)."""
    from physml_helpers.ising import _count_antiparallel, _packed_neighbours

    rng = np.random.default_rng(20)
    s = np.where(rng.random((2, L, L)) < 0.5, 1, -1).astype(np.int8)
    state = pack_spins(s)
    assert state.black.dtype == jnp.uint32 and state.black.shape == (2, L, L // 64)
    np.testing.assert_array_equal(np.asarray(unpack_spins(state)), s)
    full = sum((np.roll(s, shift, axis) != s).astype(int) for shift in (1, -1) for axis in (-1, -2))
    M = L // 32
    y, i, k = np.arange(L)[:, None, None], np.arange(M // 2)[None, :, None], np.arange(32)[None, None, :]
    for black_site, this, other in ((True, state.black, state.white), (False, state.white, state.black)):
        planes = _count_antiparallel(this, _packed_neighbours(other, black_site))
        lanes = [(np.asarray(p)[..., None] >> np.arange(32, dtype=np.uint32)) & 1 for p in planes]
        n_anti = lanes[0] + 2 * lanes[1] + 4 * lanes[2]
        x = 2 * i + (y % 2 if black_site else 1 - y % 2) + k * M  # word j = 2i + parity, bit k: x = j + k M
        np.testing.assert_array_equal(n_anti, full[:, y, x])


def test_bit_adder_on_every_input():
    """All 32 combinations of a spin and its four neighbours, one per bit lane: the three planes encode the
    number of neighbours that differ from the spin."""
    from physml_helpers.ising import _count_antiparallel

    lane = np.arange(32, dtype=np.uint32)
    bits = [(lane >> b) & 1 for b in range(5)]  # lane's bit b: spin (b = 0) and neighbours 1..4
    words = [np.uint32(np.sum(v << lane)) for v in bits]
    planes = _count_antiparallel(jnp.uint32(words[0]), [jnp.uint32(w) for w in words[1:]])
    got = sum(((int(p) >> lane) & 1) << b for b, p in enumerate(planes))
    expected = sum((bits[b] != bits[0]).astype(np.uint32) for b in range(1, 5))
    np.testing.assert_array_equal(got, expected)


def test_bernoulli_lanes_are_exact_for_every_random_fraction():
    """With 8-bit fractions, 256 lanes enumerate every random number u = r / 256 once: exactly floor(256 p) of them
    fall below each probability (the 8-bit truncation), in the lanes of either kind; lanes of neither kind stay 0."""
    from physml_helpers.ising import _bernoulli_lanes, _probability_bits

    n_bits, beta = 8, 0.3
    r = np.arange(256, dtype=np.uint32).reshape(8, 32)  # lane (word w, bit k) holds r = 32 w + k
    words = np.zeros((n_bits, 8), np.uint32)
    for b in range(n_bits):  # bit b of the fraction (most significant first) is bit n_bits - 1 - b of r
        words[b] = np.sum((((r >> (n_bits - 1 - b)) & 1) << np.arange(32, dtype=np.uint32)), axis=1)
    p2, p4 = _probability_bits(beta, n_bits)
    ones = jnp.full((8,), 0xFFFFFFFF, jnp.uint32)
    none = jnp.zeros((8,), jnp.uint32)
    for lanes_one, lanes_zero, p in ((ones, none, np.exp(-4 * beta)), (none, ones, np.exp(-8 * beta))):
        out = np.asarray(_bernoulli_lanes(jnp.asarray(words), p2[:, 0], p4[:, 0], lanes_one, lanes_zero))
        accepted = (out[:, None] >> np.arange(32, dtype=np.uint32)) & 1
        assert accepted.sum() == math.floor(256 * p)
        np.testing.assert_array_equal(accepted.ravel() == 1, r.ravel() < math.floor(256 * p))  # exactly u < p
    assert not np.asarray(_bernoulli_lanes(jnp.asarray(words), p2[:, 0], p4[:, 0], none, none)).any()


def test_multispin_acceptance_probabilities_from_site_bits():
    """With the kernel's 24 random words from site_bits, the fraction of accepted lanes is exp(-4 beta) and
    exp(-8 beta) within 5 binomial standard errors; the same lanes against a probability 3% off fail."""
    from physml_helpers.ising import _bernoulli_lanes, _probability_bits, site_bits

    beta, shape = 0.44, (64, 256, 8)
    words = site_bits(jax.random.key(21), (MULTISPIN_BITS, *shape))
    p2, p4 = _probability_bits(beta, MULTISPIN_BITS)
    ones, none = jnp.full(shape, 0xFFFFFFFF, jnp.uint32), jnp.zeros(shape, jnp.uint32)
    n = 32 * np.prod(shape)
    for lanes_one, lanes_zero, p in ((ones, none, np.exp(-4 * beta)), (none, ones, np.exp(-8 * beta))):
        out = _bernoulli_lanes(words, p2[:, 0], p4[:, 0], lanes_one, lanes_zero)
        fraction = float(jnp.sum(jax.lax.population_count(out).astype(jnp.int64))) / n
        error = np.sqrt(p * (1 - p) / n)
        assert abs(fraction - p) < 5 * error and abs(fraction - 1.03 * p) > 5 * error, (fraction, p, error)


def test_multispin_sweep_info_and_limits():
    rng = np.random.default_rng(22)
    s = np.where(rng.random((3, 64, 64)) < 0.5, 1, -1)
    spins, info = metropolis(jax.random.key(0), s, beta=0.3, n_sweeps=4, record_every=2, method="multispin")
    assert spins.dtype == jnp.int8 and info.energy.shape == (2, 3)
    np.testing.assert_allclose(np.asarray(info.energy[-1]), np.asarray(energy_per_site(spins)), atol=1e-12)
    np.testing.assert_allclose(np.asarray(info.magnetization[-1]), np.asarray(magnetization(spins)), atol=1e-12)
    spins, info = metropolis(jax.random.key(1), jnp.ones((64, 64)), beta=0.0, n_sweeps=1, method="multispin")
    np.testing.assert_array_equal(np.asarray(spins), -np.ones((64, 64)))  # every flip accepted
    assert float(info.acceptance[0]) == 1.0
    _, info = metropolis(jax.random.key(2), s[0], beta=1e9, n_sweeps=20, method="multispin")
    energies = np.concatenate([[float(energy_per_site(jnp.asarray(s[0])))], np.asarray(info.energy)])
    assert np.all(np.diff(energies) <= 1e-12)  # zero temperature never raises the energy
    kernel = multispin_kernel()
    state, info = kernel.step(jax.random.key(3), kernel.init(jnp.ones((64, 64))), 0.5)
    assert unpack_spins(state).shape == (64, 64) and info.energy.shape == ()


@pytest.mark.parametrize("temperature", [2.0, CRITICAL_TEMPERATURE, 2.5, 3.0])
def test_multispin_energy_matches_kaufman_and_the_checkerboard_kernel_on_64x64(temperature):
    """On the smallest lattice it allows, the multi-spin kernel's energy per site agrees with Kaufman's exact value
    for the 64 x 64 torus, and its energy and |m| with those of the int8 checkerboard kernel (an independent
    implementation of the same chain), each within 4 combined standard errors over independent chains; the
    energy is resolved well enough that the exact value at a temperature 2% higher fails."""
    n_chains, n_sweeps, burn = 24, 1200, 300
    start = jnp.ones((n_chains, 64, 64), jnp.int8)
    stats = {}
    for method in ("multispin", "checkerboard"):
        _, info = metropolis(jax.random.key(23), start, beta=1 / temperature, n_sweeps=n_sweeps, method=method)
        for name, v in (("u", np.asarray(info.energy[burn:])), ("m", np.abs(np.asarray(info.magnetization[burn:])))):
            per_chain = v.mean(axis=0)
            stats[method, name] = per_chain.mean(), per_chain.std(ddof=1) / np.sqrt(n_chains)
    u, du = stats["multispin", "u"]
    assert abs(u - kaufman_energy(temperature, 64)) < 4 * du, (u, float(kaufman_energy(temperature, 64)), du)
    assert abs(u - kaufman_energy(1.02 * temperature, 64)) > 4 * du  # a temperature 2% off is resolved
    for name in ("u", "m"):
        (a, da), (b, db) = stats["multispin", name], stats["checkerboard", name]
        assert abs(a - b) < 4 * np.hypot(da, db), (name, a, b, da, db)


@pytest.mark.parametrize("call, error, text", [
    (lambda: metropolis(jax.random.key(0), jnp.ones((32, 32)), beta=0.4, n_sweeps=1, method="multispin"), ValueError,
     "multiple of 64"),
    (lambda: metropolis(jax.random.key(0), jnp.ones((64, 64)), beta=0.4, n_sweeps=1, method="fast"), ValueError,
     "method"),
    (lambda: pack_spins(jnp.zeros((64, 64))), ValueError, "spins"),
    (lambda: unpack_spins((jnp.ones((64, 1), jnp.uint32),) * 2), TypeError, "MultispinState"),
])
def test_multispin_bad_inputs(call, error, text):
    with pytest.raises(error, match=text):
        call()

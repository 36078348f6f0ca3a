"""Variational Monte Carlo estimators against exact sums over all configurations."""

import itertools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.quantum import configurations, ground_state, heisenberg_hamiltonian, tfim_exact_energy, tfim_hamiltonian
from physml_helpers.vmc import (
    exact_statistics,
    heisenberg_local_energy,
    init_rbm,
    log_psi_vector,
    marshall_sign,
    metropolis,
    metropolis_kernel,
    rbm_log_psi,
    tfim_local_energy,
    vmc,
)


def random_rbm(n, seed=0, alpha=2, scale=0.4):
    return init_rbm(jax.random.key(seed), n, alpha=alpha, scale=scale)


def test_rbm_is_the_marginal_over_hidden_spins():
    n, params = 4, random_rbm(4, alpha=1)
    a, b, W = (np.asarray(params[k]) for k in ("a", "b", "W"))
    for s in configurations(n).astype(float):
        total = sum(np.exp(a @ s + b @ h + h @ W @ s) for h in itertools.product([-1, 1], repeat=len(b)))
        # summing out M hidden spins gives 2^M prod cosh; the helper drops the constant M ln 2
        assert float(rbm_log_psi(params, jnp.asarray(s))) == pytest.approx(np.log(total) - len(b) * np.log(2), abs=1e-12)


def test_log_cosh_is_stable_for_large_arguments():
    params = {"a": jnp.zeros(2), "b": jnp.array([800.0]), "W": jnp.zeros((1, 2))}
    assert float(rbm_log_psi(params, jnp.ones(2))) == pytest.approx(800.0 - np.log(2), rel=1e-14)


@pytest.mark.parametrize("h", [0.5, 1.3])
def test_tfim_local_energy_is_H_psi_over_psi(h):
    n = 5
    params = random_rbm(n)
    psi = np.exp(np.asarray(log_psi_vector(rbm_log_psi, params, n)))
    want = (tfim_hamiltonian(n, h=h, J=0.7) @ psi) / psi
    s = jnp.asarray(configurations(n), float)
    got = jax.vmap(lambda x: tfim_local_energy(rbm_log_psi, params, x, h=h, J=0.7))(s)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("marshall", [True, False])
def test_heisenberg_local_energy_is_H_psi_over_psi(marshall):
    n = 6
    params = random_rbm(n, seed=3)
    s = jnp.asarray(configurations(n), float)
    psi = np.exp(np.asarray(log_psi_vector(rbm_log_psi, params, n)))
    sign = np.asarray(marshall_sign(s)) if marshall else np.ones(len(psi))
    phi = sign * psi
    want = (heisenberg_hamiltonian(n, J=1.2) @ phi) / phi
    got = jax.vmap(lambda x: heisenberg_local_energy(rbm_log_psi, params, x, J=1.2, marshall=marshall))(s)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)


def test_traced_marshall_flag_equals_the_static_one():
    # passed through couplings the flag is traced: one compiled program serves both sign conventions
    n = 6
    params = random_rbm(n, seed=4)
    s = jnp.asarray(configurations(n), float)
    flagged = jax.jit(jax.vmap(lambda m, x: heisenberg_local_energy(rbm_log_psi, params, x, marshall=m),
                               in_axes=(None, 0)))
    for marshall in (True, False):
        static = jax.vmap(lambda x: heisenberg_local_energy(rbm_log_psi, params, x, marshall=marshall))(s)
        np.testing.assert_allclose(flagged(float(marshall), s), static, rtol=1e-14, atol=1e-14)
    assert not np.allclose(flagged(1.0, s), flagged(0.0, s))  # the flag matters
    with pytest.raises(TypeError, match="marshall must be True or False"):
        heisenberg_local_energy(rbm_log_psi, params, s[0], marshall=0.5)


def test_marshall_sign_matches_the_heisenberg_ground_state():
    n = 8
    _, state = ground_state(heisenberg_hamiltonian(n))
    s = configurations(n)
    support = np.abs(state) > 1e-10
    signed = np.asarray(marshall_sign(jnp.asarray(s)))[support] * state[support]
    assert np.all(signed > 0) or np.all(signed < 0)


def test_exact_statistics_energy_force_and_metric():
    n, h = 6, 0.8
    params = random_rbm(n, seed=1)
    local = partial(tfim_local_energy, h=h)
    stats = exact_statistics(rbm_log_psi, local, params, n)
    H = jnp.asarray(tfim_hamiltonian(n, h=h).toarray())

    def rayleigh(p):
        psi = jnp.exp(log_psi_vector(rbm_log_psi, p, n))
        return psi @ H @ psi / (psi @ psi)

    def normalized(p):
        psi = jnp.exp(log_psi_vector(rbm_log_psi, p, n))
        return psi / jnp.linalg.norm(psi)

    flat = lambda tree: jnp.concatenate([leaf.reshape(-1) for leaf in jax.tree_util.tree_leaves(tree)])  # noqa: E731
    assert float(stats["energy"]) == pytest.approx(float(rayleigh(params)), abs=1e-12)
    np.testing.assert_allclose(np.asarray(2 * stats["force"]), np.asarray(flat(jax.grad(rayleigh)(params))), atol=1e-11)
    # the quantum geometric tensor of a real state is J^T J, J the Jacobian of the normalized state
    jac = jax.jacfwd(normalized)(params)
    jac = jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in jax.tree_util.tree_leaves(jac)], axis=1)
    np.testing.assert_allclose(np.asarray(stats["S"]), np.asarray(jac.T @ jac), atol=1e-12)
    assert float(np.sum(stats["probabilities"])) == pytest.approx(1.0, abs=1e-12)


def test_metropolis_samples_psi_squared():
    n = 5
    params = random_rbm(n, seed=2, scale=0.5)
    state, info = metropolis(jax.random.key(0), rbm_log_psi, params, n, n_chains=4000, n_sweeps=30)
    assert info.acceptance.shape == (30,) and bool(jnp.all((info.acceptance > 0) & (info.acceptance <= 1)))
    index = np.asarray(((1 - state.configs) // 2).astype(int) @ (2 ** np.arange(n - 1, -1, -1)))
    counts = np.bincount(index, minlength=2**n)
    p = np.asarray(exact_statistics(rbm_log_psi, partial(tfim_local_energy, h=1.0), params, n)["probabilities"])
    chi2 = np.sum((counts - 4000 * p) ** 2 / (4000 * p))
    # chi-square with 31 degrees of freedom: mean 31, standard deviation 7.9; 70 is 5 standard deviations out
    assert chi2 < 70, chi2


def test_exchange_moves_conserve_magnetization():
    n = 8
    params = random_rbm(n, seed=4)
    init, step = metropolis_kernel(rbm_log_psi, n, n_chains=64, move="exchange")
    state = init(jax.random.key(1), params)
    accepted = 0.0
    for k in jax.random.split(jax.random.key(2), 10):
        state, info = step(k, state, params)
        accepted += float(info.acceptance)
    assert np.all(np.asarray(state.configs).sum(axis=1) == 0)
    assert accepted > 0
    np.testing.assert_allclose(state.log_psi, jax.vmap(rbm_log_psi, in_axes=(None, 0))(params, state.configs), atol=1e-12)


def test_monte_carlo_energy_within_error_bar_of_exact():
    n, h = 6, 1.0
    params = random_rbm(n, seed=5, scale=0.3)
    local = partial(tfim_local_energy, h=h)
    init, step = vmc(rbm_log_psi, local, n, n_chains=4000, lr=1e-12, n_thermalize=30)
    _, info = step(jax.random.key(22), init(jax.random.key(2), params))
    exact = float(exact_statistics(rbm_log_psi, local, params, n)["energy"])
    assert abs(float(info.energy) - exact) < 5 * float(info.error)
    assert 0.0 < float(info.acceptance) <= 1.0


def test_vmc_with_sr_converges_to_the_ground_state():
    n, h = 8, 1.0
    local = partial(tfim_local_energy, h=h)
    init, step = vmc(rbm_log_psi, local, n, n_chains=500, lr=0.05, diag_shift=0.01)
    state = init(jax.random.key(3), init_rbm(jax.random.key(4), n, alpha=1))
    for k in jax.random.split(jax.random.key(30), 150):
        state, info = step(k, state)
    exact = tfim_exact_energy(n, h=h)
    energy = float(exact_statistics(rbm_log_psi, local, state.params, n)["energy"])
    assert energy >= exact - 1e-12  # variational bound, exact sums: no noise
    assert (energy - exact) / abs(exact) < 1e-3


def test_bad_inputs():
    with pytest.raises(TypeError, match="key"):
        init_rbm(0, 4)
    with pytest.raises(ValueError, match="alpha"):
        init_rbm(jax.random.key(0), 4, alpha=0)
    with pytest.raises(ValueError, match="move"):
        metropolis_kernel(rbm_log_psi, 4, n_chains=2, move="swap")
    with pytest.raises(ValueError, match="even n_sites"):
        metropolis_kernel(rbm_log_psi, 5, n_chains=2, move="exchange")
    with pytest.raises(ValueError, match="n_chains"):
        metropolis_kernel(rbm_log_psi, 4, n_chains=0)
    with pytest.raises(TypeError, match="log_psi"):
        metropolis_kernel("rbm", 4, n_chains=2)
    with pytest.raises(ValueError, match="n_sweeps"):
        metropolis(jax.random.key(0), rbm_log_psi, random_rbm(4), 4, n_chains=2, n_sweeps=0)
    with pytest.raises(TypeError, match="typed JAX key"):
        metropolis(jax.random.PRNGKey(0), rbm_log_psi, random_rbm(4), 4, n_chains=2, n_sweeps=1)
    with pytest.raises(ValueError, match="log_psi must return a scalar"):
        metropolis_kernel(lambda p, s: s, 4, n_chains=2).init(jax.random.key(0), random_rbm(4))
    with pytest.raises(ValueError, match="lr"):
        vmc(rbm_log_psi, tfim_local_energy, 4, lr=-1.0)
    with pytest.raises(ValueError, match="n_sites must be <= 20"):
        exact_statistics(rbm_log_psi, tfim_local_energy, random_rbm(21), 21)


def test_born_samples_and_tomography_recover_a_small_state():
    from physml_helpers.quantum import basis_index, fidelity
    from physml_helpers.vmc import born_samples, fit_tomography, tomography_nll

    n = 6
    _, psi0 = ground_state(tfim_hamiltonian(n, h=1.0))
    samples = born_samples(jax.random.key(0), psi0, 20_000)
    counts = np.bincount(basis_index(np.asarray(samples)), minlength=2**n)
    p = psi0**2
    chi2 = np.sum((counts - 20_000 * p) ** 2 / (20_000 * p))
    assert chi2 < 63 + 5 * np.sqrt(2 * 63)  # chi-square with 63 degrees of freedom, 5 standard deviations
    params0 = init_rbm(jax.random.key(1), n, alpha=1, scale=0.05)
    params, history = fit_tomography(rbm_log_psi, params0, samples, n, n_steps=400, lr=0.02)
    assert history.shape == (400,) and float(history[-1]) < float(history[0])
    assert float(tomography_nll(rbm_log_psi, params, samples, n)) == pytest.approx(float(history[-1]), abs=1e-3)
    psi = np.exp(np.asarray(log_psi_vector(rbm_log_psi, params, n)))
    assert fidelity(psi, psi0) > 0.99
    # the likelihood is minimised by the empirical distribution: the fit cannot beat its entropy
    empirical = counts[counts > 0] / 20_000
    assert float(history[-1]) >= -np.sum(empirical * np.log(empirical)) - 1e-9
    with pytest.raises(ValueError, match="samples must have shape"):
        fit_tomography(rbm_log_psi, params0, samples[:, :3], n)
    with pytest.raises(ValueError, match="state must be a vector"):
        born_samples(jax.random.key(0), np.ones(6), 10)


def test_exact_statistics_in_a_magnetization_sector():
    n = 6
    params = random_rbm(n, seed=6)
    local = partial(heisenberg_local_energy, marshall=True)
    stats = exact_statistics(rbm_log_psi, local, params, n, magnetization=0)
    assert stats["probabilities"].shape == (20,)  # binomial(6, 3)
    s = configurations(n)
    keep = s.sum(axis=1) == 0
    phi = (np.asarray(marshall_sign(jnp.asarray(s))) * np.exp(np.asarray(log_psi_vector(rbm_log_psi, params, n))))[keep]
    H = heisenberg_hamiltonian(n).toarray()[np.ix_(keep, keep)]
    assert float(stats["energy"]) == pytest.approx(phi @ H @ phi / (phi @ phi), abs=1e-12)
    with pytest.raises(ValueError, match="magnetization"):
        exact_statistics(rbm_log_psi, local, params, n, magnetization=1)


def test_sample_local_energies_estimate_the_exact_energy():
    from physml_helpers.vmc import sample_local_energies

    n = 6
    params = random_rbm(n, seed=7, scale=0.3)
    local = partial(tfim_local_energy, h=0.7)
    configs, e_loc = sample_local_energies(jax.random.key(5), rbm_log_psi, local, params, n, n_chains=8000, n_thermalize=30)
    assert configs.shape == (8000, n) and e_loc.shape == (8000,)
    exact = float(exact_statistics(rbm_log_psi, local, params, n)["energy"])
    assert abs(float(e_loc.mean()) - exact) < 5 * float(e_loc.std()) / np.sqrt(8000)


def test_couplings_passed_to_step_match_couplings_bound_by_partial():
    n = 6
    params = random_rbm(n, seed=8, scale=0.1)
    init_a, step_a = vmc(rbm_log_psi, tfim_local_energy, n, n_chains=200)
    init_b, step_b = vmc(rbm_log_psi, partial(tfim_local_energy, h=0.7), n, n_chains=200)
    state_a, info_a = step_a(jax.random.key(1), init_a(jax.random.key(0), params), h=0.7)
    state_b, info_b = step_b(jax.random.key(1), init_b(jax.random.key(0), params))
    assert float(info_a.energy) == pytest.approx(float(info_b.energy), abs=1e-12)
    np.testing.assert_allclose(np.asarray(state_a.params["W"]), np.asarray(state_b.params["W"]), atol=1e-12)


def test_marshall_sign_on_an_odd_ring_is_refused():
    # On an odd ring the bond (N-1, 0) joins two even sites: the rule sigma = -1 is wrong there, and the
    # local energies were off by up to 6 at N = 5 before this check.
    params = random_rbm(5, seed=9)
    s = jnp.array([1.0, -1.0, 1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="marshall=True needs an even number of sites"):
        heisenberg_local_energy(rbm_log_psi, params, s)
    with pytest.raises(ValueError, match="even number of sites"):
        jax.vmap(lambda x: heisenberg_local_energy(rbm_log_psi, params, x))(s[None])  # static: caught when traced
    # without the sign rule the odd ring is fine: E_loc = (H psi)/psi exactly
    psi = np.exp(np.asarray(log_psi_vector(rbm_log_psi, params, 5)))
    want = (heisenberg_hamiltonian(5) @ psi) / psi
    got = jax.vmap(lambda x: heisenberg_local_energy(rbm_log_psi, params, x, marshall=False))(
        jnp.asarray(configurations(5), jnp.float64))
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_repeated_calls_compile_nothing():
    from compilation import assert_compiles_once

    from physml_helpers.vmc import born_samples, fit_tomography

    n = 4
    params, other = random_rbm(n, seed=10, alpha=1), random_rbm(n, seed=11, alpha=1)
    psi = np.abs(np.random.default_rng(0).normal(size=2**n))
    s1, s2 = born_samples(jax.random.key(0), psi, 200), born_samples(jax.random.key(1), psi, 200)
    # fit_tomography used to jit a fresh closure on every call: 0.7 s of compilation each time
    assert_compiles_once(lambda: fit_tomography(rbm_log_psi, params, s1, n, n_steps=20, lr=0.02),
                         second=lambda: fit_tomography(rbm_log_psi, other, s2, n, n_steps=20, lr=0.01))
    assert_compiles_once(lambda: metropolis(jax.random.key(0), rbm_log_psi, params, n, n_chains=16, n_sweeps=3),
                         second=lambda: metropolis(jax.random.key(1), rbm_log_psi, other, n, n_chains=16, n_sweeps=3))
    init, step = vmc(rbm_log_psi, tfim_local_energy, n, n_chains=32)
    state = init(jax.random.key(0), params)
    keys = jax.random.split(jax.random.key(1), 2)
    assert_compiles_once(lambda: step(keys[0], state, h=0.5), second=lambda: step(keys[1], state, h=1.5))
    assert_compiles_once(lambda: log_psi_vector(rbm_log_psi, params, n),
                         second=lambda: log_psi_vector(rbm_log_psi, other, n))


def test_float32_in_float32_out():
    from physml_helpers.vmc import born_samples, fit_tomography

    n = 4
    params = init_rbm(jax.random.key(0), n, alpha=1, scale=0.1, dtype=jnp.float32)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(params))
    state, info = metropolis(jax.random.key(1), rbm_log_psi, params, n, n_chains=8, n_sweeps=2)
    assert state.configs.dtype == state.log_psi.dtype == info.acceptance.dtype == jnp.float32
    psi32 = np.ones(2**n, np.float32)
    samples = born_samples(jax.random.key(2), psi32, 50)
    assert samples.dtype == jnp.float32  # follows the state, which used to be ignored
    fitted, history = fit_tomography(rbm_log_psi, params, samples, n, n_steps=3)
    assert history.dtype == jnp.float32 and fitted["W"].dtype == jnp.float32
    init, step = vmc(rbm_log_psi, tfim_local_energy, n, n_chains=16, n_thermalize=1)
    _, vmc_info = step(jax.random.key(3), init(jax.random.key(4), params), h=1.0)
    assert vmc_info.energy.dtype == jnp.float32
    assert log_psi_vector(rbm_log_psi, params, n).dtype == jnp.float32


def test_tomography_refuses_bits_instead_of_spins():
    from physml_helpers.vmc import fit_tomography

    bits = jnp.asarray((1 - configurations(3)[:5]) // 2, jnp.float64)  # 0/1, a common slip
    with pytest.raises(ValueError, match="spins of ±1.*1 - 2 \\* bits"):
        fit_tomography(rbm_log_psi, random_rbm(3), bits, 3, n_steps=2)


# ---------------------------------------------------------------------------------------------------
# The ansatz ladder, the scanned VMC run and exact-sum optimization (chapter 7, sections 7.4 and 7.7)
# ---------------------------------------------------------------------------------------------------

from physml_helpers import ConvergenceError  # noqa: E402
from physml_helpers.vmc import (  # noqa: E402
    exact_vmc,
    init_jastrow,
    init_product,
    init_symmetric_rbm,
    jastrow_log_psi,
    product_log_psi,
    run_vmc,
    sample_local_energies,
    symmetric_rbm_log_psi,
)


def test_product_state_energy_is_the_mean_field_formula():
    # psi = prod_i exp(a s_i): <Z> = tanh 2a, <X> = sech 2a on every site, so E = -N J tanh^2 2a - N h sech 2a
    n, h, a = 6, 0.7, 0.3
    params = {"a": jnp.full(n, a)}
    got = float(exact_statistics(product_log_psi, partial(tfim_local_energy, h=h), params, n)["energy"])
    assert got == pytest.approx(-n * np.tanh(2 * a) ** 2 - n * h / np.cosh(2 * a), rel=1e-12)


def test_exact_vmc_reaches_the_mean_field_optimum_with_a_product_state():
    n, h = 8, 1.0
    params, energies = exact_vmc(product_log_psi, tfim_local_energy, init_product(jax.random.key(0), n), n,
                                 n_steps=200, couplings={"h": h})
    assert float(energies[-1]) == pytest.approx(-n * (1 + h**2 / 4), rel=1e-9)
    assert np.all(np.diff(np.asarray(energies)) < 1e-12)  # SR with exact sums never raises the energy here


def test_jastrow_is_its_formula_and_solves_the_three_site_ring():
    n = 5
    params = init_jastrow(jax.random.key(1), n, scale=0.5)
    i, j = np.triu_indices(n, 1)
    for s in configurations(n).astype(float)[:8]:
        want = float(params["a"] @ s + params["K"] @ (s[i] * s[j]))
        assert float(jastrow_log_psi(params, jnp.asarray(s))) == pytest.approx(want, abs=1e-12)
    # on a 3-site ring the ground state has one amplitude for the two aligned states and one for the other six,
    # a ratio a uniform Jastrow factor can take: the family contains the exact ground state
    params, energies = exact_vmc(jastrow_log_psi, tfim_local_energy, init_jastrow(jax.random.key(2), 3), 3,
                                 n_steps=300, lr=0.1, couplings={"h": 0.8})
    assert float(energies[-1]) == pytest.approx(ground_state(tfim_hamiltonian(3, h=0.8))[0], abs=1e-8)


def test_symmetric_rbm_is_a_dense_rbm_with_translated_filters_and_is_invariant():
    n, alpha = 6, 2
    params = init_symmetric_rbm(jax.random.key(3), n, alpha=alpha, scale=0.4)
    w = np.asarray(params["W"])
    dense_w = np.stack([np.roll(w[f], t) for f in range(alpha) for t in range(n)])  # row (f, t): W_f,(j - t)
    dense = {"a": jnp.full(n, params["a"]), "b": jnp.repeat(params["b"], n), "W": jnp.asarray(dense_w)}
    s = jnp.asarray(configurations(n), float)
    got = jax.vmap(symmetric_rbm_log_psi, in_axes=(None, 0))(params, s)
    np.testing.assert_allclose(np.asarray(got), np.asarray(jax.vmap(rbm_log_psi, in_axes=(None, 0))(dense, s)),
                               atol=1e-12)
    shifted = jax.vmap(symmetric_rbm_log_psi, in_axes=(None, 0))(params, jnp.roll(s, 1, axis=1))
    np.testing.assert_allclose(np.asarray(shifted), np.asarray(got), atol=1e-12)


def test_run_vmc_is_the_kernel_loop_in_one_scan_and_records_parameters():
    n, steps = 6, 6
    params = init_rbm(jax.random.key(4), n, alpha=1, scale=0.1)
    state, history, info = run_vmc(jax.random.key(5), rbm_log_psi, tfim_local_energy, params, n, n_steps=steps,
                                   record_every=3, couplings={"h": 1.0}, n_chains=64)
    kernel = vmc(rbm_log_psi, tfim_local_energy, n, n_chains=64)
    k_init, k_run = jax.random.split(jax.random.key(5))
    loop = kernel.init(k_init, params)
    energies = []
    for k in jax.random.split(k_run, steps):
        loop, step_info = kernel.step(k, loop, h=1.0)
        energies.append(float(step_info.energy))
    np.testing.assert_allclose(np.asarray(info.energy), energies, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(state.params["W"]), np.asarray(loop.params["W"]), rtol=1e-9, atol=1e-12)
    assert history["W"].shape == (2, n, n) and info.energy.shape == (steps,)
    np.testing.assert_allclose(np.asarray(history["W"][-1]), np.asarray(state.params["W"]))


def test_run_vmc_with_adam_lowers_the_exact_energy_and_divergence_is_reported():
    import optax

    n = 6
    params = init_rbm(jax.random.key(6), n, alpha=1, scale=0.01)
    local = partial(tfim_local_energy, h=1.0)
    start = float(exact_statistics(rbm_log_psi, local, params, n, gradients=False)["energy"])
    state, _, _ = run_vmc(jax.random.key(7), rbm_log_psi, tfim_local_energy, params, n, n_steps=60,
                          couplings={"h": 1.0}, n_chains=256, lr=0.03, sr=False, optimizer=optax.scale_by_adam())
    end = float(exact_statistics(rbm_log_psi, local, state.params, n, gradients=False)["energy"])
    e0 = tfim_exact_energy(n, h=1.0)
    assert end - e0 < (start - e0) / 3  # the error shrinks at least threefold in 60 steps (from about 2% of E0)
    with pytest.raises(ConvergenceError, match="lower the learning rate"):
        run_vmc(jax.random.key(7), rbm_log_psi, tfim_local_energy, params, n, n_steps=20, couplings={"h": 1.0},
                n_chains=32, lr=1e4, sr=False)
    with pytest.raises(TypeError, match="optimizer"):
        vmc(rbm_log_psi, tfim_local_energy, n, optimizer="adam")
    with pytest.raises(ValueError, match="record_every"):
        run_vmc(jax.random.key(7), rbm_log_psi, tfim_local_energy, params, n, n_steps=10, record_every=3)


def test_sample_local_energies_continues_given_chains():
    n = 6
    params = init_rbm(jax.random.key(8), n, alpha=1, scale=0.2)
    local = partial(tfim_local_energy, h=1.0)
    state, _, _ = run_vmc(jax.random.key(9), rbm_log_psi, tfim_local_energy, params, n, n_steps=2,
                          couplings={"h": 1.0}, n_chains=2000, lr=1e-6)
    configs, e_loc = sample_local_energies(jax.random.key(10), rbm_log_psi, local, state.params, n,
                                           chains=state.sampler, n_thermalize=5)
    assert configs.shape == (2000, n) and e_loc.shape == (2000,)
    exact = float(exact_statistics(rbm_log_psi, local, state.params, n, gradients=False)["energy"])
    assert abs(float(e_loc.mean()) - exact) < 4 * float(e_loc.std()) / np.sqrt(2000)
    with pytest.raises(ValueError, match="n_chains, n_sites"):
        sample_local_energies(jax.random.key(10), rbm_log_psi, local, state.params, n, chains=state.sampler,
                              n_chains=10)


def test_new_ansatze_refuse_parameters_of_another_shape():
    with pytest.raises(ValueError, match="n_sites=4"):
        exact_vmc(jastrow_log_psi, tfim_local_energy, init_jastrow(jax.random.key(0), 4), 5, n_steps=1,
                  couplings={"h": 1.0})
    with pytest.raises(TypeError, match="init_product"):
        product_log_psi({"b": jnp.zeros(3)}, jnp.ones(3))
    bad = {"a": jnp.zeros(()), "b": jnp.zeros(2), "W": jnp.zeros((3, 4))}
    with pytest.raises(ValueError, match="alpha"):
        symmetric_rbm_log_psi(bad, jnp.ones(4))


@pytest.mark.parametrize("h", [0.5, 1.3])
def test_symmetric_rbm_local_energy_is_H_psi_over_psi(h):
    from physml_helpers.vmc import init_symmetric_rbm, symmetric_rbm_log_psi

    n = 6
    params = init_symmetric_rbm(jax.random.key(5), n, alpha=2, scale=0.5)
    psi = np.exp(np.asarray(log_psi_vector(symmetric_rbm_log_psi, params, n)))
    want = (tfim_hamiltonian(n, h=h, J=0.7) @ psi) / psi
    s = jnp.asarray(configurations(n), float)
    got = jax.vmap(lambda x: tfim_local_energy(symmetric_rbm_log_psi, params, x, h=h, J=0.7))(s)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ansatz", ["rbm", "symmetric"])
@pytest.mark.parametrize("scale", [0.3, 3.0])
def test_single_flip_updates_equal_fresh_evaluations(ansatz, scale):
    """The RBMs' update formula (local energy and Metropolis) against a wrapper that hides it: a wrapped log_psi
    takes the general path, which evaluates the network afresh for every flip."""
    from physml_helpers.vmc import init_symmetric_rbm, symmetric_rbm_log_psi

    n = 10
    init, log_psi = (init_rbm, rbm_log_psi) if ansatz == "rbm" else (init_symmetric_rbm, symmetric_rbm_log_psi)
    params = init(jax.random.key(6), n, alpha=2, scale=scale)

    def general(p, s):
        return log_psi(p, s)

    fast_state, fast_info = metropolis(jax.random.key(7), log_psi, params, n, n_chains=40, n_sweeps=20)
    slow_state, slow_info = metropolis(jax.random.key(7), general, params, n, n_chains=40, n_sweeps=20)
    # the same random numbers give the same chains unless an acceptance test falls within rounding of its
    # threshold, which has probability ~1e-13 per move
    np.testing.assert_array_equal(np.asarray(fast_state.configs), np.asarray(slow_state.configs))
    np.testing.assert_allclose(np.asarray(fast_info.acceptance), np.asarray(slow_info.acceptance))
    assert 0 < float(jnp.mean(fast_info.acceptance)) < 1
    fresh = jax.vmap(log_psi, in_axes=(None, 0))(params, fast_state.configs)
    np.testing.assert_allclose(np.asarray(fast_state.log_psi), np.asarray(fresh), atol=1e-10)
    e_fast = jax.vmap(lambda x: tfim_local_energy(log_psi, params, x, h=0.8))(fast_state.configs)
    e_slow = jax.vmap(lambda x: tfim_local_energy(general, params, x, h=0.8))(fast_state.configs)
    np.testing.assert_allclose(np.asarray(e_fast), np.asarray(e_slow), rtol=1e-10)


def test_single_flip_updates_in_float32():
    params = init_rbm(jax.random.key(8), 8, alpha=4, scale=2.0, dtype=jnp.float32)
    s = jnp.asarray(configurations(8)[::17], jnp.float32)
    e_fast = jax.vmap(lambda x: tfim_local_energy(rbm_log_psi, params, x, h=1.0))(s)
    e_slow = jax.vmap(lambda x: tfim_local_energy(lambda p, y: rbm_log_psi(p, y), params, x, h=1.0))(s)
    assert e_fast.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(e_fast)))
    np.testing.assert_allclose(np.asarray(e_fast), np.asarray(e_slow), rtol=1e-4)


def test_sample_local_energies_with_traced_couplings_equals_partial():
    from physml_helpers.vmc import sample_local_energies

    params = random_rbm(6, seed=9, scale=0.3)
    bound = sample_local_energies(jax.random.key(10), rbm_log_psi, partial(tfim_local_energy, h=0.7), params, 6,
                                  n_chains=200, n_thermalize=5)
    traced = sample_local_energies(jax.random.key(10), rbm_log_psi, tfim_local_energy, params, 6, n_chains=200,
                                   n_thermalize=5, couplings={"h": 0.7})
    np.testing.assert_array_equal(np.asarray(bound[0]), np.asarray(traced[0]))
    np.testing.assert_allclose(np.asarray(bound[1]), np.asarray(traced[1]), rtol=1e-13)
    with pytest.raises(TypeError, match="couplings"):
        sample_local_energies(jax.random.key(10), rbm_log_psi, tfim_local_energy, params, 6, n_chains=4,
                              couplings=[0.7])

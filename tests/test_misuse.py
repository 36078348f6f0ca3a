"""Misuse of the public helpers: every kind of bad input gets a clear error (ValueError or TypeError, or
ConvergenceError for a solver that cannot follow), raised by the package and naming the parameter, never a
returned value that looks like a result. One test per class of misuse, parametrized over the helpers it affects.

The checks run eagerly on concrete inputs; under ``jit``/``vmap`` only the static ones (shapes, dtypes) apply, and
``test_traced_calls_still_work`` shows the helpers the chapters trace still run there.
"""

import functools
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import ConvergenceError
from physml_helpers import (discovery, gauge, hnn, integrators, landau, landscape, langevin, networks, onsager,
                            quantum, randommatrix, symmetry, vmc)

K = jax.random.key(0)
NAN = np.nan


def _grad(th):
    return th


def _energy(th):
    return 0.5 * jnp.sum(th**2) + 0.1 * jnp.sum(th**3)


def _field(x):
    return jnp.stack([x[1], -x[0]])


def _loss(w, batch):
    x, y = batch
    return 0.5 * jnp.mean((x * w[0] + w[1] - y) ** 2)


def _hamiltonian(q, p):
    return 0.5 * jnp.sum(p**2) + 0.5 * jnp.sum(q**2)


def _g(q, P):
    return 0.5 * jnp.sum(P**2) + 0.5 * jnp.sum(q**2)


TH = jnp.array([1.0, 2.0])
XD = jnp.linspace(-1.0, 1.0, 20)
YD = 2 * XD + 0.3
P_MLP = networks.init_mlp(K, [2, 5, 1])
XM = jnp.array([[0.1, 0.2], [0.3, -0.4], [1.0, 2.0]])
YM = jnp.array([[0.5], [0.1], [0.2]])
P4 = vmc.init_rbm(K, 4, scale=0.1)
P6 = vmc.init_rbm(K, 6, scale=0.1)
S4 = jnp.array([1.0, -1.0, 1.0, 1.0])
BITS = jnp.array([1.0, 0.0, 1.0, 1.0])
SAMPLES = jnp.array([[1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, 1.0, -1.0]])
TFIM = functools.partial(vmc.tfim_local_energy, h=1.0)
TL = jax.random.uniform(K, (2, 4, 4), minval=-np.pi, maxval=np.pi)
PL = gauge.init_lcnn(K, (2, 2))
PC = gauge.init_cnn(K, 3, 1)
PA = symmetry.init_autoencoder(K, 8, 2, hidden=4, depth=1)
SIG = symmetry.translated_profiles(jnp.array([0.1, 0.5, 1.0]), n_points=8)
PH = hnn.init_hnn(K, 1, hidden=4)
PV = hnn.init_potential(K, 1, hidden=4)
PB = hnn.init_baseline(K, 1, hidden=4)
ST = jnp.array([1.0, 0.5])
STS = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
MM = jnp.array([0.1, 0.5, 1.0])
TT = jnp.array([0.5, 1.0, 1.5])
PBB = landau.init_black_box(K, hidden=4)
PLM = landau.init_landau_model()
H2 = jnp.array([[2.0, 0.5], [0.5, 1.0]])
C2 = jnp.array([[1.0, 0.2], [0.2, 0.5]])


def nan_at(x, value=NAN):
    a = np.array(x, dtype=float)
    a.flat[0] = value
    return jnp.asarray(a)


def expect(error, name, call):
    """``call()`` raises ``error`` whose message names the parameter ``name`` (as a whole word)."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])", message), \
        f"the message does not name {name!r}: {message}"
    return message


def ids(cases):
    return [c[0] for c in cases]


# ---------------------------------------------------------------------------------------------------
# NaN and inf inputs: refused, instead of a NaN result with no message
# ---------------------------------------------------------------------------------------------------

NAN_CASES = [
    ("gradient_descent", "theta0", lambda x: landscape.gradient_descent(_grad, x, lr=0.1, n_steps=3), TH),
    ("gradient_descent_kernel.init", "theta0", lambda x: landscape.gradient_descent_kernel(_grad, lr=0.1).init(x), TH),
    ("gradient_flow", "theta0", lambda x: landscape.gradient_flow(_grad, x, t_max=1.0, n_points=3), TH),
    ("gradient_flow_kernel.init", "theta0", lambda x: landscape.gradient_flow_kernel(_grad).init(x), TH),
    ("newton_critical_point", "theta0", lambda x: landscape.newton_critical_point(_energy, x), TH),
    ("hessian_spectrum", "theta", lambda x: landscape.hessian_spectrum(_energy, x), TH),
    ("flatness", "direction", lambda x: landscape.flatness(_energy, TH, x, level=10.0), jnp.array([1.0, 0.0])),
    ("overdamped_langevin", "x0",
     lambda x: langevin.overdamped_langevin(K, _grad, x, dt=0.01, temperature=0.5, n_steps=3), TH),
    ("sgd params", "params", lambda x: langevin.sgd(K, _loss, x, (XD, YD), lr=0.1, batch_size=4, n_steps=3),
     jnp.zeros(2)),
    ("sgd data", "data", lambda x: langevin.sgd(K, _loss, jnp.zeros(2), (XD, x), lr=0.1, batch_size=4, n_steps=3), YD),
    ("minibatch_noise_covariance", "data",
     lambda x: langevin.minibatch_noise_covariance(_loss, jnp.zeros(2), (x, YD), batch_size=4), XD),
    ("euler", "x0", lambda x: integrators.euler(_field, x, dt=0.1, n_steps=3), TH),
    ("rk4", "x0", lambda x: integrators.rk4(_field, x, dt=0.1, n_steps=3), TH),
    ("rk4_step", "x", lambda x: integrators.rk4_step(_field, x, 0.1), TH),
    ("euler_step", "x", lambda x: integrators.euler_step(_field, x, 0.1), TH),
    ("leapfrog q0", "q0", lambda x: integrators.leapfrog(_grad, x, TH, dt=0.1, n_steps=3), TH),
    ("leapfrog p0", "p0", lambda x: integrators.leapfrog(_grad, TH, x, dt=0.1, n_steps=3), TH),
    ("leapfrog mass", "mass", lambda x: integrators.leapfrog(_grad, TH, TH, dt=0.1, n_steps=3, mass=x), TH),
    ("mlp", "x", lambda x: networks.mlp(P_MLP, x), XM),
    ("mse_loss", "y", lambda x: networks.mse_loss(P_MLP, XM, x), YM),
    ("adam_scan", "params", lambda x: networks.adam_scan(lambda p: jnp.sum(p**2), x, lr=0.1, n_steps=2), TH),
    ("semicircle_density", "x", lambda x: randommatrix.semicircle_density(x, n=2), TH),
    ("rbm_log_psi", "s", lambda x: vmc.rbm_log_psi(P4, x), S4),
    ("rbm_log_psi params", "params", lambda x: vmc.rbm_log_psi({**P4, "a": x}, S4), P4["a"]),
    ("tfim_local_energy", "s", lambda x: vmc.tfim_local_energy(vmc.rbm_log_psi, P4, x, h=1.0), S4),
    ("heisenberg_local_energy", "s", lambda x: vmc.heisenberg_local_energy(vmc.rbm_log_psi, P4, x), S4),
    ("exact_statistics", "params", lambda x: vmc.exact_statistics(vmc.rbm_log_psi, TFIM, {**P4, "b": x}, 4), P4["b"]),
    ("log_psi_vector", "params", lambda x: vmc.log_psi_vector(vmc.rbm_log_psi, {**P4, "b": x}, 4), P4["b"]),
    ("tomography_nll", "samples", lambda x: vmc.tomography_nll(vmc.rbm_log_psi, P4, x, 4), SAMPLES),
    ("plaquette_angles", "theta", gauge.plaquette_angles, TL),
    ("gauge_transform", "alpha", lambda x: gauge.gauge_transform(TL, x), jnp.zeros((4, 4))),
    ("wilson_loop_angles", "theta", lambda x: gauge.wilson_loop_angles(x, 2), TL),
    ("gauge.metropolis", "theta", lambda x: gauge.metropolis(K, x, beta=1.0, n_sweeps=1), TL),
    ("lcnn_apply", "theta", lambda x: gauge.lcnn_apply(PL, x), TL),
    ("cnn_apply", "theta", lambda x: gauge.cnn_apply(PC, x), TL),
    ("ring_profile", "x", symmetry.ring_profile, TH),
    ("translation_generator", "signals", symmetry.translation_generator, SIG),
    ("encode", "x", lambda x: symmetry.encode(PA, x), SIG),
    ("fit_generator", "z_dot", lambda x: symmetry.fit_generator(np.ones((6, 2)) * np.arange(6)[:, None], x),
     np.ones((6, 2))),
    ("consistency_residual", "A", lambda x: symmetry.consistency_residual(functools.partial(symmetry.decode, PA),
                                                                          jnp.ones((3, 2)), x), jnp.eye(2)),
    ("hamiltonian_field", "state", lambda x: hnn.hamiltonian_field(_hamiltonian, x), ST),
    ("hnn_field", "state", lambda x: hnn.hnn_field(PH, x), ST),
    ("hnn_hamiltonian", "q", lambda x: hnn.hnn_hamiltonian(PH, x, ST[1:]), ST[:1]),
    ("potential_energy", "q", lambda x: hnn.potential_energy(PV, x), ST[:1]),
    ("pairwise_forces", "positions", lambda x: hnn.pairwise_forces(lambda r: 1 / r**2, x), STS),
    ("fit_vector_field", "derivatives", lambda x: hnn.fit_vector_field(hnn.hnn_field, PH, STS, x, n_steps=2), STS),
    ("generating_function_map", "p", lambda x: hnn.generating_function_map(_g, ST[:1], x, h=0.1), ST[1:]),
    ("landau_rhs", "m", lambda x: landau.landau_rhs(x, TT), MM),
    ("landau_model_rhs", "T", lambda x: landau.landau_model_rhs(PLM, MM, x), TT),
    ("black_box_rhs", "m", lambda x: landau.black_box_rhs(PBB, x, TT), MM),
    ("equilibrium_order_parameter", "T", landau.equilibrium_order_parameter, TT),
    ("rollout", "m0", lambda x: landau.rollout(landau.landau_rhs, x, TT, t_max=1.0, n_obs=3), MM),
    ("fit_trajectories", "observed",
     lambda x: landau.fit_trajectories(landau.landau_model_rhs, PLM, jnp.linspace(0.0, 1.0, 3), TT, x, n_steps=2),
     jnp.ones((3, 3))),
    ("landau_model_tc", "params", lambda x: landau.landau_model_tc({**PLM, "tau": x}), jnp.asarray(0.5)),
    ("symmetrize", "W", onsager.symmetrize, H2),
    ("power_law_fit", "x", lambda x: discovery.power_law_fit(x, [1.0, 2.0, 3.0]), jnp.array([1.0, 2.0, 3.0])),
]


@pytest.mark.parametrize("value", [NAN, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("case", NAN_CASES, ids=ids(NAN_CASES))
def test_nan_inputs_are_refused(case, value):
    _, name, call, good = case
    message = expect(ValueError, name, lambda: call(nan_at(good, value)))
    assert "finite" in message or "±1" in message or "+1 or -1" in message


# ---------------------------------------------------------------------------------------------------
# Wrong shapes, in particular those that would broadcast into a wrong result
# ---------------------------------------------------------------------------------------------------

SHAPE_CASES = [
    ("mse_loss y [n] for [n, 1]", ValueError, "y", lambda: networks.mse_loss(P_MLP, XM, YM[:, 0])),
    ("mlp x of the wrong width", ValueError, "x", lambda: networks.mlp(P_MLP, jnp.ones((3, 3)))),
    ("leapfrog mass that enlarges the state", ValueError, "mass",
     lambda: integrators.leapfrog(_grad, TH, TH, dt=0.1, n_steps=2, mass=jnp.ones((2, 1)))),
    ("rk4_step f of another shape", ValueError, "f", lambda: integrators.rk4_step(lambda x: x[:1], TH, 0.1)),
    ("gradient_descent grad_fn of another shape", ValueError, "grad_fn",
     lambda: landscape.gradient_descent(lambda t: t[:1], TH, lr=0.1, n_steps=2)),
    ("random_fourier_landscape fn on a point of the wrong length", ValueError, "theta",
     lambda: landscape.random_fourier_landscape(K, 2)(jnp.ones(3))),
    ("newton_critical_point theta0 2-D", ValueError, "theta0", lambda: landscape.newton_critical_point(_energy, TH[None])),
    ("rbm_log_psi batch", ValueError, "s", lambda: vmc.rbm_log_psi(P4, jnp.stack([S4, S4]))),
    ("tfim_local_energy scalar s", ValueError, "s", lambda: vmc.tfim_local_energy(vmc.rbm_log_psi, P4, 1.0, h=1.0)),
    ("tomography_nll samples of the wrong width", ValueError, "samples",
     lambda: vmc.tomography_nll(vmc.rbm_log_psi, P4, jnp.ones((2, 3)), 4)),
    ("hamiltonian_field odd state", ValueError, "state", lambda: hnn.hamiltonian_field(_hamiltonian, jnp.ones(3))),
    ("hnn_hamiltonian q of another d", ValueError, "q", lambda: hnn.hnn_hamiltonian(PH, jnp.ones(2), jnp.ones(1))),
    ("potential_energy batch", ValueError, "q", lambda: hnn.potential_energy(PV, jnp.ones((3, 1)))),
    ("baseline_field state of another d", ValueError, "state", lambda: hnn.baseline_field(PB, jnp.ones(4))),
    ("plaquette_angles [2, 4, 5]", ValueError, "theta", lambda: gauge.plaquette_angles(jnp.ones((2, 4, 5)))),
    ("gauge_transform alpha [4]", ValueError, "alpha", lambda: gauge.gauge_transform(TL, jnp.ones(4))),
    ("landau_rhs m and T not broadcasting", ValueError, "T", lambda: landau.landau_rhs(jnp.ones(2), TT)),
    ("black_box_rhs m and T of two shapes", ValueError, "T", lambda: landau.black_box_rhs(PBB, jnp.ones(2), TT)),
    ("fit_trajectories observed transposed", ValueError, "observed",
     lambda: landau.fit_trajectories(landau.landau_model_rhs, PLM, jnp.linspace(0.0, 1.0, 3), jnp.ones(5),
                                     jnp.ones((5, 3)))),
    ("fit_trajectories T of another length", ValueError, "T",
     lambda: landau.fit_trajectories(landau.landau_model_rhs, PLM, jnp.linspace(0.0, 1.0, 3), jnp.ones(2),
                                     jnp.ones((3, 5)))),
    ("translated_profiles amplitudes of another length", ValueError, "amplitudes",
     lambda: symmetry.translated_profiles(jnp.ones(3), amplitudes=jnp.ones(2))),
    ("consistency_residual A 3x3 for d=2", ValueError, "A",
     lambda: symmetry.consistency_residual(functools.partial(symmetry.decode, PA), jnp.ones((3, 2)), jnp.eye(3))),
    ("collision_features velocities [n, 2]", ValueError, "velocities",
     lambda: discovery.collision_features(np.ones((5, 2)), np.ones((5, 2)))),
    ("lyapunov_covariance sizes differ", ValueError, "noise_covariance",
     lambda: langevin.lyapunov_covariance(H2, jnp.eye(3), lr=0.1)),
]


@pytest.mark.parametrize("case", SHAPE_CASES, ids=ids(SHAPE_CASES))
def test_wrong_shapes_are_refused(case):
    _, error, name, call = case
    expect(error, name, call)


@pytest.mark.parametrize("name, call", [
    ("fit_response", lambda X, J: onsager.fit_response(X, J)),
    ("fit_symmetric_response", lambda X, J: onsager.fit_symmetric_response(X, J)),
])
def test_transposed_response_data_are_called_transposed(name, call):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    J = X @ np.diag([1.0, 2.0, 3.0])
    message = expect(ValueError, "X", lambda: call(X.T, J.T))
    assert "transposed" in message and "X.T" in message


# ---------------------------------------------------------------------------------------------------
# Lists where arrays are expected: converted (the same result as the array), or a clear TypeError
# ---------------------------------------------------------------------------------------------------

LIST_CASES = [
    ("gradient_descent", lambda x: landscape.gradient_descent(_grad, x, lr=0.1, n_steps=3), [1.0, 2.0]),
    ("smoothness_constant", landscape.smoothness_constant, [[2.0, 0.5], [0.5, 1.0]]),
    ("rk4_step", lambda x: integrators.rk4_step(_field, x, 0.1), [1.0, 0.0]),
    ("leapfrog", lambda x: integrators.leapfrog(_grad, x, x, dt=0.1, n_steps=2), [1.0, 0.0]),
    ("mlp", lambda x: networks.mlp(P_MLP, x), [[0.1, 0.2], [0.3, -0.4]]),
    ("mse_loss", lambda y: networks.mse_loss(P_MLP, XM, y), [[0.5], [0.1], [0.2]]),
    ("rbm_log_psi", lambda s: vmc.rbm_log_psi(P4, s), [1.0, -1.0, 1.0, 1.0]),
    ("rbm_log_psi ints", lambda s: vmc.rbm_log_psi(P4, s), [1, -1, 1, 1]),
    ("tfim_local_energy", lambda s: vmc.tfim_local_energy(vmc.rbm_log_psi, P4, s, h=0.5), [1.0, -1.0, 1.0, 1.0]),
    ("marshall_sign", vmc.marshall_sign, [[1.0, -1.0, 1.0, 1.0]]),
    ("born_samples", lambda st: vmc.born_samples(K, st, 5), [0.5, 0.5, 0.5, 0.5]),
    ("hnn_hamiltonian", lambda q: hnn.hnn_hamiltonian(PH, q, [0.5]), [1.0]),
    ("hamiltonian_field", lambda st: hnn.hamiltonian_field(_hamiltonian, st), [1.0, 0.5]),
    ("potential_field", lambda st: hnn.potential_field(PV, st), [1.0, 0.5]),
    ("landau_rhs", lambda m: landau.landau_rhs(m, [0.5, 1.0, 1.5]), [0.1, 0.5, 1.0]),
    ("black_box_rhs", lambda m: landau.black_box_rhs(PBB, m, [0.5, 1.0, 1.5]), [0.1, 0.5, 1.0]),
    ("plaquette_angles", gauge.plaquette_angles, np.asarray(TL).tolist()),
    ("encode", lambda x: symmetry.encode(PA, x), np.asarray(SIG).tolist()),
    ("sgd data as a list of numbers",
     lambda d: langevin.sgd(K, lambda w, x: jnp.mean((x - w[0]) ** 2), jnp.zeros(1), d, lr=0.1, batch_size=3,
                            n_steps=2), [0.5, 1.0, 1.5, 2.0]),
    ("fit_response", lambda X: onsager.fit_response(X, X), np.random.default_rng(0).normal(size=(6, 2)).tolist()),
]


@pytest.mark.parametrize("case", LIST_CASES, ids=ids(LIST_CASES))
def test_lists_are_accepted_or_refused_clearly(case):
    _, call, value = case
    from_list = call(value)
    from_array = call(np.asarray(value, dtype=float))
    for a, b in zip(jax.tree_util.tree_leaves(from_list), jax.tree_util.tree_leaves(from_array)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


BAD_KIND_CASES = [
    ("gradient_descent str", "theta0", lambda: landscape.gradient_descent(_grad, "abc", lr=0.1, n_steps=2)),
    ("gradient_flow None", "theta0", lambda: landscape.gradient_flow(_grad, None, t_max=1.0, n_points=3)),
    ("mlp list of str", "x", lambda: networks.mlp(P_MLP, [["a", "b"]])),
    ("mlp complex", "x", lambda: networks.mlp(P_MLP, XM.astype(complex))),
    ("mlp float32 x with float64 params", "x", lambda: networks.mlp(P_MLP, XM.astype(jnp.float32))),
    ("rbm_log_psi complex", "s", lambda: vmc.rbm_log_psi(P4, S4.astype(complex))),
    ("rbm_log_psi params not a dict", "params", lambda: vmc.rbm_log_psi([P4["a"]], S4)),
    ("rk4_step str", "x", lambda: integrators.rk4_step(_field, "ab", 0.1)),
    ("rk4_step dt str", "dt", lambda: integrators.rk4_step(_field, TH, "0.1")),
    ("tfim_local_energy h str", "h", lambda: vmc.tfim_local_energy(vmc.rbm_log_psi, P4, S4, h="1")),
    ("landau_rhs m None", "m", lambda: landau.landau_rhs(None, TT)),
    ("landau_model_rhs params a list", "params", lambda: landau.landau_model_rhs([1.0], MM, TT)),
    ("landau_model_tc params missing tau", "params", lambda: landau.landau_model_tc({"log_alpha": 0.0})),
    ("encode params not an autoencoder's", "params", lambda: symmetry.encode({"decoder": 1}, SIG)),
    ("lcnn_apply params missing readout", "params", lambda: gauge.lcnn_apply({"conv": PL["conv"], "bilinear": []}, TL)),
    ("cnn_apply params a dict", "params", lambda: gauge.cnn_apply({"a": jnp.ones(2)}, TL)),
    ("init_cnn kernel 2.0", "kernel", lambda: gauge.init_cnn(K, kernel=2.0)),
    ("power_law_fit errors a string", "errors", lambda: discovery.power_law_fit([1.0, 2.0, 4.0], [1.0, 4.0, 16.0],
                                                                               errors="no")),
    ("polynomial_library names a string", "names", lambda: discovery.polynomial_library(np.ones((3, 2)), 2, "xy")),
    ("fit_generator str", "z", lambda: symmetry.fit_generator("abc", np.ones((6, 2)))),
    ("sgd data None", "data", lambda: langevin.sgd(K, _loss, jnp.zeros(2), None, lr=0.1, batch_size=2, n_steps=2)),
    ("born_samples None", "state", lambda: vmc.born_samples(K, None, 5)),
    ("vmc step coupling str", "h", lambda: _vmc_step_with(h="1")),
]


def _vmc_step_with(**couplings):
    kernel = vmc.vmc(vmc.rbm_log_psi, vmc.tfim_local_energy, 4, n_chains=8, n_thermalize=1)
    return kernel.step(K, kernel.init(K, P4), **couplings)


@pytest.mark.parametrize("case", BAD_KIND_CASES, ids=ids(BAD_KIND_CASES))
def test_wrong_kinds_of_value_are_type_errors(case):
    _, name, call = case
    expect(TypeError, name, call)


# ---------------------------------------------------------------------------------------------------
# Keys: one typed key, as made by jax.random.key
# ---------------------------------------------------------------------------------------------------

KEYED = [
    ("vmc.metropolis", lambda k: vmc.metropolis(k, vmc.rbm_log_psi, P4, 4, n_chains=4, n_sweeps=1)),
    ("sample_local_energies", lambda k: vmc.sample_local_energies(k, vmc.rbm_log_psi, TFIM, P4, 4, n_chains=4,
                                                                  n_thermalize=1)),
    ("vmc.init", lambda k: vmc.vmc(vmc.rbm_log_psi, vmc.tfim_local_energy, 4, n_chains=4).init(k, P4)),
    ("born_samples", lambda k: vmc.born_samples(k, jnp.ones(4), 3)),
    ("gauge.metropolis", lambda k: gauge.metropolis(k, TL, beta=1.0, n_sweeps=1)),
    ("sample_configurations", lambda k: gauge.sample_configurations(k, 2, size=4, beta=1.0, n_sweeps=1)),
    ("sign_definite_count", lambda k: randommatrix.sign_definite_count(k, 3, 100)),
    ("goe_matrices", lambda k: randommatrix.goe_matrices(k, 3, 2)),
    ("overdamped_langevin", lambda k: langevin.overdamped_langevin(k, _grad, TH, dt=0.1, temperature=1.0, n_steps=2)),
    ("sgd", lambda k: langevin.sgd(k, _loss, jnp.zeros(2), (XD, YD), lr=0.1, batch_size=2, n_steps=2)),
    ("init_mlp", lambda k: networks.init_mlp(k, [2, 3])),
    ("orbit_frames", lambda k: symmetry.orbit_frames(k, 3)),
    ("simulate", lambda k: landau.simulate(k, TT, n_obs=3)),
    ("simulate_collisions", lambda k: discovery.simulate_collisions(k, 3, restitution=1.0)),
]
BAD_KEYS = [("int", 0, TypeError), ("legacy PRNGKey", jax.random.PRNGKey(0), TypeError),
            ("None", None, TypeError), ("batch of keys", jax.random.split(K, 3), ValueError)]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=ids(BAD_KEYS))
@pytest.mark.parametrize("case", KEYED, ids=ids(KEYED))
def test_bad_keys_are_refused(case, bad):
    _, call = case
    _, key, error = bad
    expect(error, "key", lambda: call(key))


# ---------------------------------------------------------------------------------------------------
# Values outside the domain of the physics
# ---------------------------------------------------------------------------------------------------

DOMAIN_CASES = [
    ("rbm_log_psi 0/1 bits", "s", lambda: vmc.rbm_log_psi(P4, BITS)),
    ("tfim_local_energy 0/1 bits", "s", lambda: vmc.tfim_local_energy(vmc.rbm_log_psi, P4, BITS, h=1.0)),
    ("heisenberg_local_energy 0/1 bits", "s", lambda: vmc.heisenberg_local_energy(vmc.rbm_log_psi, P4, BITS)),
    ("marshall_sign 0/1 bits", "s", lambda: vmc.marshall_sign(BITS)),
    ("tomography_nll 0/1 bits", "samples", lambda: vmc.tomography_nll(vmc.rbm_log_psi, P4, (1 - SAMPLES) / 2, 4)),
    ("fit_tomography 0/1 bits", "samples", lambda: vmc.fit_tomography(vmc.rbm_log_psi, P4, (1 - SAMPLES) / 2, 4)),
    ("basis_index 0/1 bits", "configs", lambda: quantum.basis_index([[0, 1, 1]])),
    ("heisenberg marshall on an odd ring", "marshall",
     lambda: vmc.heisenberg_local_energy(vmc.rbm_log_psi, vmc.init_rbm(K, 3), jnp.ones(3))),
    ("exact_statistics odd magnetization", "magnetization",
     lambda: vmc.exact_statistics(vmc.rbm_log_psi, TFIM, P4, 4, magnetization=1)),
    ("smoothness_constant non-symmetric", "hessian", lambda: landscape.smoothness_constant([[1.0, 2.0], [0.0, 1.0]])),
    ("ground_state non-symmetric", "hamiltonian", lambda: quantum.ground_state([[1.0, 2.0], [0.0, 1.0]])),
    ("lyapunov_covariance negative-definite hessian", "hessian", lambda: langevin.lyapunov_covariance(-H2, C2, lr=0.1)),
    ("lyapunov_covariance covariance not PSD", "noise_covariance",
     lambda: langevin.lyapunov_covariance(H2, -C2, lr=0.1)),
    ("overdamped_langevin temperature < 0", "temperature",
     lambda: langevin.overdamped_langevin(K, _grad, TH, dt=0.1, temperature=-1.0, n_steps=2)),
    ("gradient_descent lr = 0", "lr", lambda: landscape.gradient_descent(_grad, TH, lr=0.0, n_steps=2)),
    ("leapfrog mass < 0", "mass", lambda: integrators.leapfrog(_grad, TH, TH, dt=0.1, n_steps=2, mass=-1.0)),
    ("leapfrog_kernel mass 0", "mass", lambda: integrators.leapfrog_kernel(_grad, dt=0.1, mass=0.0)),
    ("gradient_flow_kernel step back in time", "t_target",
     lambda: _flow_step_back()),
    ("wilson loop as large as the lattice", "size", lambda: gauge.wilson_loop_angles(TL, 4)),
    ("gauge metropolis odd lattice", "theta", lambda: gauge.metropolis(K, jnp.zeros((2, 3, 3)), beta=1.0, n_sweeps=1)),
    ("sample_configurations odd size", "size",
     lambda: gauge.sample_configurations(K, 2, size=3, beta=1.0, n_sweeps=1)),
    ("collision_features negative masses", "masses",
     lambda: discovery.collision_features(-np.ones((2, 2)), np.ones((2, 2, 2)))),
    ("simulate_collisions restitution > 1", "restitution",
     lambda: discovery.simulate_collisions(K, 3, restitution=1.5)),
    ("pairwise_forces coincident particles", "positions",
     lambda: hnn.pairwise_forces(lambda r: 1 / r, jnp.zeros((2, 2)))),
    ("fit_response rank-deficient X", "X", lambda: onsager.fit_response(np.ones((10, 2)), np.ones((10, 2)))),
    ("goe_sign_definite_probability n > 10", "n", lambda: randommatrix.goe_sign_definite_probability(11)),
    ("power_law_fit negative y", "y", lambda: discovery.power_law_fit([1.0, 2.0, 3.0], [1.0, -2.0, 3.0])),
    ("equilibrium_order_parameter b <= 0", "b", lambda: landau.equilibrium_order_parameter(TT, b=0.0)),
    ("simulate m0_range reversed", "m0_range", lambda: landau.simulate(K, TT, m0_range=(1.0, 0.5))),
    ("fit_generator z_dot all zero", "z_dot",
     lambda: symmetry.fit_generator(np.arange(12.0).reshape(6, 2) ** 2, np.zeros((6, 2)))),
    ("hnn fit_vector_field states NaN-free but odd width", "states",
     lambda: hnn.fit_vector_field(hnn.hnn_field, PH, jnp.ones((3, 3)), jnp.ones((3, 3)))),
]


def _flow_step_back():
    kernel = landscape.gradient_flow_kernel(_grad)
    state, _ = kernel.step(kernel.init(TH), 1.0)
    return kernel.step(state, 0.5)


@pytest.mark.parametrize("case", DOMAIN_CASES, ids=ids(DOMAIN_CASES))
def test_out_of_domain_values_are_refused(case):
    _, name, call = case
    expect(ValueError, name, call)


def test_solvers_that_cannot_follow_raise_instead_of_returning_a_state():
    # dtheta/dt = theta^3 from 10 blows up at t = 1/200: there is no state at t = 1 to return
    message = expect(ConvergenceError, "max_steps",
                     lambda: landscape.gradient_flow(lambda th: -th**3, jnp.array([10.0]), t_max=1.0, n_points=3))
    assert "blows up" in message
    expect(ConvergenceError, "h", lambda: hnn.generating_function_map(lambda q, P: 5.0 * jnp.sum(q * P) ** 2,
                                                                     ST[:1], ST[1:], h=1.0))


# ---------------------------------------------------------------------------------------------------
# Parameters that do not fit the input: a clear error, not a dot_general or einsum error from inside JAX
# ---------------------------------------------------------------------------------------------------

WIDTH_CASES = [
    ("rbm_log_psi", lambda: vmc.rbm_log_psi(P6, S4)),
    ("rbm_log_psi W of the wrong width", lambda: vmc.rbm_log_psi({**P4, "W": jnp.zeros((4, 5))}, S4)),
    ("tfim_local_energy", lambda: vmc.tfim_local_energy(vmc.rbm_log_psi, P6, S4, h=1.0)),
    ("sample_local_energies", lambda: vmc.sample_local_energies(K, vmc.rbm_log_psi, TFIM, P6, 4, n_chains=4,
                                                                n_thermalize=1)),
    ("exact_statistics", lambda: vmc.exact_statistics(vmc.rbm_log_psi, TFIM, P6, 4)),
    ("exact_statistics W of the wrong width",
     lambda: vmc.exact_statistics(vmc.rbm_log_psi, TFIM, {**P4, "W": jnp.zeros((4, 5))}, 4)),
    ("log_psi_vector", lambda: vmc.log_psi_vector(vmc.rbm_log_psi, P6, 4)),
    ("vmc.metropolis", lambda: vmc.metropolis(K, vmc.rbm_log_psi, P6, 4, n_chains=4, n_sweeps=1)),
    ("vmc init", lambda: vmc.vmc(vmc.rbm_log_psi, vmc.tfim_local_energy, 4, n_chains=4).init(K, P6)),
    ("tomography_nll", lambda: vmc.tomography_nll(vmc.rbm_log_psi, P6, SAMPLES, 4)),
    ("fit_tomography", lambda: vmc.fit_tomography(vmc.rbm_log_psi, P6, SAMPLES, 4, n_steps=2)),
    ("mlp widths that do not chain", lambda: networks.mlp([P_MLP[0], networks.init_mlp(K, [4, 1])[0]], XM)),
    ("mlp bias of the wrong length", lambda: networks.mlp([(P_MLP[0][0], jnp.zeros(3)), P_MLP[1]], XM)),
    ("lcnn_apply widths that do not chain",
     lambda: gauge.lcnn_apply({**PL, "bilinear": [gauge.init_lcnn(K, (3, 2))["bilinear"][0]]}, TL)),
    ("lcnn_apply readout of the wrong length", lambda: gauge.lcnn_apply({**PL, "readout": jnp.ones(7)}, TL)),
    ("cnn_apply widths that do not chain", lambda: gauge.cnn_apply([PC[0], gauge.init_cnn(K, 5, 1)[1]], TL)),
    ("hnn_field params for d=2", lambda: hnn.hnn_field(hnn.init_hnn(K, 2, hidden=4), ST)),
    ("potential_field params for d=2", lambda: hnn.potential_field(hnn.init_potential(K, 2, hidden=4), ST)),
    ("fit_vector_field params for d=2",
     lambda: hnn.fit_vector_field(hnn.hnn_field, hnn.init_hnn(K, 2, hidden=4), STS, STS, n_steps=2)),
    ("black_box_rhs params of another input width", lambda: landau.black_box_rhs(networks.init_mlp(K, [3, 4, 1]), MM, TT)),
    ("encode params of another dtype layout", lambda: symmetry.encode({**PA, "encoder": [PA["encoder"][0]] * 2}, SIG)),
]


@pytest.mark.parametrize("case", WIDTH_CASES, ids=ids(WIDTH_CASES))
def test_wrong_width_params_give_a_clear_error(case):
    _, call = case
    message = expect(ValueError, "params", call)
    assert "dot_general" not in message and "einsum" not in message and "Size of label" not in message


@pytest.mark.parametrize("call", [
    lambda: vmc.rbm_log_psi(P6, S4),
    lambda: vmc.exact_statistics(vmc.rbm_log_psi, TFIM, P6, 4),
    lambda: vmc.log_psi_vector(vmc.rbm_log_psi, P6, 4),
    lambda: vmc.sample_local_energies(K, vmc.rbm_log_psi, TFIM, P6, 4, n_chains=4, n_thermalize=1),
], ids=["rbm_log_psi", "exact_statistics", "log_psi_vector", "sample_local_energies"])
def test_rbm_params_for_another_chain_name_both_sizes(call):
    message = expect(ValueError, "n_sites", call)
    assert "6" in message and "4" in message


# ---------------------------------------------------------------------------------------------------
# Options that only change how a computation is organized never change its result
# ---------------------------------------------------------------------------------------------------

def _langevin(**kw):
    return langevin.overdamped_langevin(K, _grad, TH, dt=0.01, temperature=0.5, n_steps=12, **kw)


def _sgd(**kw):
    return langevin.sgd(K, _loss, jnp.zeros(2), (XD, YD), lr=0.1, batch_size=4, n_steps=12, **kw)


ORGANIZATION_CASES = [
    ("sign_definite_count chunk 100", lambda: randommatrix.sign_definite_count(K, 3, 1000, chunk=100),
     lambda: randommatrix.sign_definite_count(K, 3, 1000)),
    ("sign_definite_count chunk 300 (not a divisor)", lambda: randommatrix.sign_definite_count(K, 3, 1000, chunk=300),
     lambda: randommatrix.sign_definite_count(K, 3, 1000)),
    ("sign_definite_count chunk 7, n = 1", lambda: randommatrix.sign_definite_count(K, 2, 50, chunk=7),
     lambda: randommatrix.sign_definite_count(K, 2, 50, chunk=50)),
    ("overdamped_langevin record_every 4", lambda: _langevin(record_every=4), lambda: _langevin()[::4]),
    ("sgd record_every 3", lambda: _sgd(record_every=3), lambda: _sgd()[::3]),
]


@pytest.mark.parametrize("case", ORGANIZATION_CASES, ids=ids(ORGANIZATION_CASES))
def test_recording_and_chunking_options_do_not_change_results(case):
    _, organized, reference = case
    np.testing.assert_array_equal(np.asarray(organized()), np.asarray(reference()))


# ---------------------------------------------------------------------------------------------------
# float32 where the defaults assume float64: a warning that names the dtype and the way out
# ---------------------------------------------------------------------------------------------------

F32_CASES = [
    ("classify_critical_point matrix", "tol",
     lambda dt: landscape.classify_critical_point(jnp.array([[1.0, 0.0], [0.0, 1e-8]], dt))),
    ("classify_critical_point eigenvalues", "tol",
     lambda dt: landscape.classify_critical_point(jnp.array([3.0, -2e-8], dt))),
    ("unique_points", "tol", lambda dt: landscape.unique_points(np.array([[6.0, 1.0], [6.0000005, 1.0]], dt))),
    ("gradient_flow", "rtol", lambda dt: landscape.gradient_flow(_grad, TH.astype(dt), t_max=0.5, n_points=3)),
    ("gradient_flow_kernel", "rtol", lambda dt: landscape.gradient_flow_kernel(_grad).init(TH.astype(dt))),
]


@pytest.mark.parametrize("case", F32_CASES, ids=ids(F32_CASES))
def test_float32_precision_warnings(case):
    _, tol_name, call = case
    with pytest.warns(UserWarning, match="float32") as record:
        call(np.float32)
    message = str(record[0].message)
    assert tol_name in message and "float64" in message and "setup_notebook(float64=True)" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same call in float64 is silent
        call(np.float64)


def test_float32_warnings_go_away_with_a_tolerance_above_rounding():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert landscape.classify_critical_point(jnp.array([[1.0, 0.0], [0.0, 1e-8]], jnp.float32), tol=1e-4)[0] \
            == "degenerate"
        landscape.unique_points(np.array([[6.0, 1.0], [6.0000005, 1.0]], np.float32), tol=1e-4)
        landscape.gradient_flow(_grad, TH.astype(jnp.float32), t_max=0.5, n_points=3, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# The checks stay out of the way of traced code: static checks only under jit / vmap / grad
# ---------------------------------------------------------------------------------------------------

TRACED_CASES = [
    ("gradient_descent vmapped", lambda: jax.vmap(lambda t: landscape.gradient_descent(_grad, t, lr=0.1, n_steps=2))(
        jnp.stack([TH, 2 * TH]))),
    ("newton_critical_point jit+vmap", lambda: jax.jit(jax.vmap(lambda t: landscape.newton_critical_point(
        landscape.random_fourier_landscape(K, 2), t, n_steps=3)))(jnp.stack([TH, 2 * TH]))),
    ("overdamped_langevin vmapped", lambda: jax.vmap(lambda k: langevin.overdamped_langevin(
        k, _grad, TH, dt=0.01, temperature=0.5, n_steps=2))(jax.random.split(K, 2))),
    ("sgd vmapped", lambda: jax.vmap(lambda k: langevin.sgd(k, _loss, jnp.zeros(2), (XD, YD), lr=0.1, batch_size=2,
                                                            n_steps=2))(jax.random.split(K, 2))),
    ("rbm_log_psi jit+vmap+grad", lambda: jax.jit(jax.vmap(jax.grad(vmc.rbm_log_psi), in_axes=(None, 0)))(
        P4, jnp.stack([S4, -S4]))),
    ("tfim_local_energy traced h", lambda: jax.jit(lambda h: vmc.tfim_local_energy(vmc.rbm_log_psi, P4, S4, h=h))(0.5)),
    ("mlp grad", lambda: jax.grad(lambda p: networks.mse_loss(p, XM, YM))(P_MLP)),
    ("rk4_step jit", lambda: jax.jit(lambda x, dt: integrators.rk4_step(_field, x, dt))(TH, 0.1)),
    ("hnn_field vmapped", lambda: jax.vmap(lambda s: hnn.hnn_field(PH, s))(STS)),
    ("lcnn_apply jit+grad", lambda: jax.jit(jax.grad(lambda p: gauge.lcnn_apply(p, TL).sum()))(PL)),
    ("landau_rhs jit", lambda: jax.jit(landau.landau_rhs)(MM, TT)),
    ("black_box_rhs jit", lambda: jax.jit(lambda p: landau.black_box_rhs(p, MM, TT))(PBB)),
]


@pytest.mark.parametrize("case", TRACED_CASES, ids=ids(TRACED_CASES))
def test_traced_calls_still_work(case):
    _, call = case
    out = call()
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree_util.tree_leaves(out))


def test_value_checks_are_skipped_for_traced_inputs():
    # a NaN inside jit cannot be seen by an eager check: the traced computation runs and propagates it
    out = jax.jit(lambda x: integrators.rk4_step(_field, x, 0.1))(jnp.array([NAN, 1.0]))
    assert np.isnan(np.asarray(out)).any()
    # while the shape checks still apply under jit
    with pytest.raises(ValueError, match="s must be one configuration of shape"):
        jax.jit(lambda s: vmc.rbm_log_psi(P4, s))(jnp.ones(5))


# ---------------------------------------------------------------------------------------------------
# Kernel factories and the small helpers not met above: bad arguments at construction, bad states at init
# ---------------------------------------------------------------------------------------------------

FACTORY_CASES = [
    ("sparse_null_basis NaN", ValueError, "A", lambda: discovery.sparse_null_basis(np.array([[NAN, 1.0], [1.0, 2.0]]))),
    ("sparse_null_basis rtol < 0", ValueError, "rtol", lambda: discovery.sparse_null_basis(np.eye(2), rtol=-1.0)),
    ("average_plaquette one plane", ValueError, "theta", lambda: gauge.average_plaquette(jnp.zeros((4, 4)))),
    ("average_plaquette NaN", ValueError, "theta", lambda: gauge.average_plaquette(jnp.full((2, 4, 4), NAN))),
    ("gauge metropolis_kernel beta < 0", ValueError, "beta", lambda: gauge.metropolis_kernel(beta=-1.0)),
    ("gauge metropolis_kernel step 0", ValueError, "step_size", lambda: gauge.metropolis_kernel(beta=1.0, step_size=0.0)),
    ("vmc metropolis_kernel not callable", TypeError, "log_psi", lambda: vmc.metropolis_kernel("psi", 4, n_chains=2)),
    ("generating_function_solve NaN", ValueError, "q",
     lambda: hnn.generating_function_solve(_g, jnp.array([NAN]), jnp.array([1.0]), h=0.1)),
    ("euler_kernel dt 0", ValueError, "dt", lambda: integrators.euler_kernel(_field, dt=0.0)),
    ("rk4_kernel not callable", TypeError, "vector_field", lambda: integrators.rk4_kernel(3, dt=0.1)),
    ("newton_kernel not callable", TypeError, "fn", lambda: landscape.newton_kernel("f")),
    ("newton_kernel init NaN", ValueError, "theta0", lambda: landscape.newton_kernel(_energy).init(nan_at(TH))),
    ("overdamped_langevin_kernel T < 0", ValueError, "temperature",
     lambda: langevin.overdamped_langevin_kernel(_grad, dt=0.1, temperature=-1.0)),
    ("sgd_kernel batch 0", ValueError, "batch_size", lambda: langevin.sgd_kernel(_loss, (XD, YD), lr=0.1, batch_size=0)),
    ("adam_kernel lr < 0", ValueError, "lr", lambda: networks.adam_kernel(_energy, lr=-1.0, n_steps=3)),
    ("configurations 0 sites", ValueError, "n_sites", lambda: quantum.configurations(0)),
    ("configurations float sites", TypeError, "n_sites", lambda: quantum.configurations(2.5)),
    ("tfim_sector_energies h NaN", ValueError, "h", lambda: quantum.tfim_sector_energies(4, h=NAN)),
    ("tfim_sector_energies n < 2", ValueError, "n_sites", lambda: quantum.tfim_sector_energies(-1, h=1.0)),
    ("frozen_noise_sgd_kernel lr < 0", ValueError, "lr",
     lambda: langevin.frozen_noise_sgd_kernel(_grad, [[1.0, 0.0], [0.0, 1.0]], lr=-1.0)),
    ("init_product 0 sites", ValueError, "n_sites", lambda: vmc.init_product(K, 0)),
    ("init_symmetric_rbm 0 sites", ValueError, "n_sites", lambda: vmc.init_symmetric_rbm(K, 0)),
]


@pytest.mark.parametrize("case", FACTORY_CASES, ids=ids(FACTORY_CASES))
def test_factories_and_small_helpers_refuse_bad_arguments(case):
    _, error, name, call = case
    expect(error, name, call)

"""Data on a ring, the translation generator, the autoencoder and the latent-generator diagnostics."""

import functools

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.symmetry import (
    consistency_residual,
    encode,
    fit_generator,
    init_autoencoder,
    latent_velocities,
    orbit_frames,
    ring_profile,
    train_autoencoder,
    translated_profiles,
    translation_generator,
)

J = np.array([[0.0, -1.0], [1.0, 0.0]])


def _profile_derivative(x):
    # d/dx of exp(2(cos x - 1)) + 0.3 exp(1.5(cos(2x - 1) - 1)), by hand
    return (-2 * np.sin(x) * np.exp(2 * (np.cos(x) - 1))
            - 0.9 * np.sin(2 * x - 1) * np.exp(1.5 * (np.cos(2 * x - 1) - 1)))


def test_translation_generator_is_minus_the_exact_derivative():
    shifts = jnp.array([0.0, 0.7, 2.9])
    f = translated_profiles(shifts, n_points=64)
    x = 2 * np.pi * np.arange(64) / 64
    exact = np.stack([-_profile_derivative(x - s) for s in np.asarray(shifts)])  # G f = -f'
    np.testing.assert_allclose(translation_generator(f), exact, rtol=0, atol=1e-9)


def test_generator_is_the_derivative_along_the_orbit():
    h = 1e-3
    frames, shifts, _ = orbit_frames(jax.random.key(0), 5, frame_step=h, n_points=64)  # 64 points: no aliasing
    central = (frames[2] - frames[0]) / (2 * h)
    # the central difference errs by h^2 f'''/6; the profile's third derivative is below 30 in size
    np.testing.assert_allclose(central, translation_generator(frames[1]), rtol=0, atol=30 * h**2 / 6)
    np.testing.assert_allclose(frames[1], translated_profiles(shifts, n_points=64), atol=1e-12)


def test_fold_gives_a_shorter_period():
    x = jnp.linspace(0, 2 * np.pi, 50)
    np.testing.assert_allclose(ring_profile(x + 2 * np.pi / 3, fold=3), ring_profile(x, fold=3), atol=1e-12)


def test_fit_generator_recovers_an_exact_rotation_about_any_centre():
    eps = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    centre = np.array([0.4, -1.3])
    z = np.stack([1.7 * np.cos(eps), 1.7 * np.sin(eps)], axis=1) + centre
    z_dot = (z - centre) @ J.T
    fit = fit_generator(z, z_dot)
    np.testing.assert_allclose(fit.A, J, atol=1e-12)
    np.testing.assert_allclose(fit.b, -J @ centre, atol=1e-12)
    assert fit.residual < 1e-12
    assert fit_generator(z, np.ones_like(z) + z**2).residual > 0.1  # a non-linear field


def _fourier_pair(n=32):
    x = 2 * np.pi * np.arange(n) / n
    return jnp.asarray(np.stack([np.cos(x), np.sin(x)]) * 2 / n)  # rows: projections on cos x and sin x


def test_a_fourier_pair_encoder_sees_an_exactly_linear_rotation():
    W = _fourier_pair()
    frames, _, _ = orbit_frames(jax.random.key(1), 100, frame_step=0.01)
    z, z_dot = latent_velocities(lambda x: W @ x, frames[1])
    fit = fit_generator(z, z_dot)
    np.testing.assert_allclose(fit.A, J, atol=1e-10)  # translating by eps rotates the first harmonic by eps
    assert fit.residual < 1e-10


def test_latent_velocities_match_finite_differences_for_a_network():
    params = init_autoencoder(jax.random.key(2), 64, 3, hidden=16)
    h = 1e-4
    frames, _, _ = orbit_frames(jax.random.key(3), 20, frame_step=h, n_points=64)
    z, z_dot = latent_velocities(functools.partial(encode, params), frames[1])
    central = (encode(params, frames[2]) - encode(params, frames[0])) / (2 * h)
    np.testing.assert_allclose(z, encode(params, frames[1]), atol=1e-12)
    np.testing.assert_allclose(z_dot, central, rtol=1e-5, atol=1e-6)


def test_consistency_residual_of_the_exact_fourier_decoder():
    n = 32
    x = 2 * np.pi * np.arange(n) / n
    basis = jnp.asarray(np.stack([np.cos(x), np.sin(x)]))  # D(z) = z1 cos x + z2 sin x
    decoder = lambda z: z @ basis
    z = jnp.asarray(np.asarray(jax.random.normal(jax.random.key(4), (50, 2))))
    assert consistency_residual(decoder, z, J) < 1e-12
    assert consistency_residual(decoder, z, np.zeros((2, 2))) == pytest.approx(1.0)
    assert consistency_residual(decoder, z, -J) == pytest.approx(2.0)  # the wrong sense of rotation


def test_training_reduces_both_terms_and_is_reproducible():
    frames, _, _ = orbit_frames(jax.random.key(5), 64, frame_step=0.05)
    params, history = train_autoencoder(jax.random.key(6), frames, n_latent=2, frame_step=0.05,
                                        linearity_weight=1.0, n_steps=300, hidden=16)
    history = np.asarray(history)
    assert history.shape == (300, 2)
    assert history[-1, 0] < 0.3 * history[0, 0]
    assert history[-1, 1] < 0.5 * history[:10, 1].max()
    again, _ = train_autoencoder(jax.random.key(6), frames, n_latent=2, frame_step=0.05,
                                 linearity_weight=1.0, n_steps=300, hidden=16)
    np.testing.assert_array_equal(again["generator"], params["generator"])


def test_gradient_diagnostics_record_the_gradient_and_leave_training_alone():
    frames, _, _ = orbit_frames(jax.random.key(5), 32, frame_step=0.05)
    kw = dict(n_latent=2, frame_step=0.05, linearity_weight=1.0, n_steps=40, hidden=8)
    params, history = train_autoencoder(jax.random.key(6), frames, **kw)
    params_d, history_d = train_autoencoder(jax.random.key(6), frames, gradient_diagnostics=True, **kw)
    history, history_d = np.asarray(history), np.asarray(history_d)
    assert history_d.shape == (40, 4)
    # the same optimizer and schedule: the same trajectory, to rounding
    np.testing.assert_allclose(history_d[:, :2], history, rtol=1e-7)
    np.testing.assert_allclose(params_d["generator"], params["generator"], rtol=1e-7, atol=1e-12)
    # reference: the gradient of the loss at the initial parameters, by jax.grad, and its cosine with the next one
    from physml_helpers.symmetry import _losses

    def loss(p):
        rec, lin = _losses(p, frames, jnp.asarray(0.05))
        return rec + 1.0 * lin

    p0 = init_autoencoder(jax.random.key(6), 32, 2, hidden=8, dtype=frames.dtype)
    g0 = jax.flatten_util.ravel_pytree(jax.grad(loss)(p0))[0]
    assert history_d[0, 2] == pytest.approx(float(jnp.linalg.norm(g0)), rel=1e-10)
    assert history_d[0, 3] == 0.0  # no previous gradient
    assert np.all(np.abs(history_d[1:, 3]) <= 1 + 1e-12)
    # one plain gradient step with a tiny rate: the next gradient is nearly parallel (cosine -> 1)
    _, tiny = train_autoencoder(jax.random.key(6), frames, gradient_diagnostics=True, **{**kw, "n_steps": 2, "lr": 1e-9})
    assert float(np.asarray(tiny)[1, 3]) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(TypeError, match="gradient_diagnostics must be True or False"):
        train_autoencoder(jax.random.key(6), frames, gradient_diagnostics=1, **kw)


def test_bad_inputs():
    with pytest.raises(ValueError, match="shifts must be a 1-D"):
        translated_profiles(jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="amplitudes must have the shape"):
        translated_profiles(jnp.zeros(3), amplitudes=jnp.ones(2))
    with pytest.raises(ValueError, match="fold must be an integer >= 1"):
        ring_profile(0.0, fold=0)
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        orbit_frames(0, 5)
    with pytest.raises(ValueError, match="frames must have shape \\[3"):
        train_autoencoder(jax.random.key(0), jnp.zeros((2, 4, 8)), n_latent=2, frame_step=0.1)
    with pytest.raises(ValueError, match="linearity_weight must be a finite number >= 0"):
        train_autoencoder(jax.random.key(0), jnp.zeros((3, 4, 8)), n_latent=2, frame_step=0.1, linearity_weight=-1)
    with pytest.raises(ValueError, match="z and z_dot must both have shape"):
        fit_generator(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="more samples"):
        fit_generator(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="decoder must be a callable"):
        consistency_residual(None, np.zeros((3, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="A \\[d, d\\]"):
        consistency_residual(lambda z: z, np.zeros((3, 2)), np.zeros((3, 3)))


def test_float32_inputs_give_float32_outputs_under_x64():
    shifts = jnp.array([0.0, 0.7, 2.9], jnp.float32)
    f = translated_profiles(shifts, n_points=32, amplitudes=np.array([1.0, 0.5, 2.0]))  # float64 amplitudes follow
    assert f.dtype == jnp.float32
    assert translation_generator(f).dtype == jnp.float32
    np.testing.assert_allclose(f, translated_profiles(np.asarray(shifts, np.float64), n_points=32,
                                                      amplitudes=np.array([1.0, 0.5, 2.0])), atol=1e-6)
    # an integer signal is differentiated as floats (it used to come back as integers)
    assert jnp.issubdtype(translation_generator(jnp.arange(8)).dtype, jnp.floating)
    frames = orbit_frames(jax.random.key(7), 16, frame_step=0.05)[0].astype(jnp.float32)
    params = init_autoencoder(jax.random.key(8), 32, 2, hidden=8, dtype=jnp.float32)
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(params)} == {jnp.dtype(jnp.float32)}
    z = encode(params, frames[1])
    assert z.dtype == jnp.float32
    z, z_dot = latent_velocities(functools.partial(encode, params), frames[1])
    assert z.dtype == z_dot.dtype == jnp.float32
    trained, history = train_autoencoder(jax.random.key(9), frames, n_latent=2, frame_step=0.05,
                                         linearity_weight=1.0, n_steps=20, hidden=8)
    assert history.dtype == jnp.float32 and history.shape == (20, 2)
    assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(trained)} == {jnp.dtype(jnp.float32)}
    # a float32 network is not silently run on float64 signals
    with pytest.raises(TypeError, match="x has dtype float64 but the parameters are float32"):
        encode(params, frames[1].astype(jnp.float64))


def test_training_that_diverges_raises_convergence_error():
    from physml_helpers import ConvergenceError

    frames, _, _ = orbit_frames(jax.random.key(5), 16, frame_step=0.05)
    with pytest.raises(ConvergenceError, match="train_autoencoder diverged.*lower the learning rate"):
        train_autoencoder(jax.random.key(6), frames, n_latent=2, frame_step=0.05, n_steps=5, lr=1e200, hidden=8)


def test_keys_and_new_argument_checks():
    frames = jnp.zeros((3, 4, 8))
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        train_autoencoder(0, frames, n_latent=2, frame_step=0.1)
    with pytest.raises(TypeError, match="raw uint32 array"):
        init_autoencoder(jax.random.PRNGKey(0), 8, 2)
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        init_autoencoder(jax.random.key(0), 8, 2, dtype=jnp.int32)
    with pytest.raises(ValueError, match="amplitude_range must be a pair"):
        orbit_frames(jax.random.key(0), 4, amplitude_range=(0.5,))
    with pytest.raises(ValueError, match="low <= high"):
        orbit_frames(jax.random.key(0), 4, amplitude_range=(1.5, 0.5))
    with pytest.raises(ValueError, match="x must be a batch of signals"):
        latent_velocities(lambda x: x[:2], jnp.zeros(8))
    with pytest.raises(ValueError, match="generator must return an array of shape"):
        latent_velocities(lambda x: x[:2], jnp.zeros((3, 8)), generator=lambda x: x[:, :4])
    with pytest.raises(ValueError, match="b must be \\[d\\]"):
        consistency_residual(lambda z: z, np.zeros((3, 2)), np.zeros((2, 2)), b=np.zeros(3))
    with pytest.raises(ValueError, match="signals must have shape"):
        translation_generator(1.0)


def test_retraining_with_new_data_or_weights_compiles_nothing():
    from compilation import assert_compiles_once

    frames, _, _ = orbit_frames(jax.random.key(7), 32, frame_step=0.05)
    other, _, _ = orbit_frames(jax.random.key(8), 32, frame_step=0.05)
    assert_compiles_once(
        lambda: train_autoencoder(jax.random.key(1), frames, n_latent=2, frame_step=0.05, n_steps=20, hidden=8)[1],
        second=lambda: train_autoencoder(jax.random.key(2), other, n_latent=2, frame_step=0.05, linearity_weight=0.5,
                                         n_steps=20, lr=1e-3, hidden=8)[1])

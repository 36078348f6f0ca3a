"""Appendix A's checks accept right answers and explain typical wrong ones."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.course.checks import appa


# A.1 ----------------------------------------------------------------------------------------------


def _verlet(grad_potential, q, p, dt):
    p_half = p - 0.5 * dt * grad_potential(q)
    q_new = q + dt * p_half
    return q_new, p_half - 0.5 * dt * grad_potential(q_new)


def _symplectic_euler(grad_potential, q, p, dt):
    p_new = p - dt * grad_potential(q)
    return q + dt * p_new, p_new


def test_verlet_step(capsys):
    appa.check_verlet_step(_verlet)
    assert "Exercise A.1: correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="symplectic Euler"):
        appa.check_verlet_step(_symplectic_euler)
    with pytest.raises(AssertionError, match="p_new on the harmonic oscillator"):  # both half kicks at the old q
        appa.check_verlet_step(lambda g, q, p, dt: (q + dt * (p - 0.5 * dt * g(q)), p - dt * g(q)))
    with pytest.raises(AssertionError, match="the pair"):
        appa.check_verlet_step(lambda g, q, p, dt: q)


def test_verlet_step_that_fails_under_jit_is_explained():
    def eager_only(grad_potential, q, p, dt):
        q_new, p_new = _verlet(grad_potential, q, p, dt)
        if float(jnp.sum(q_new)) > 1e9:  # a Python branch on a value: fine eagerly, fails under jit
            raise RuntimeError
        return q_new, p_new

    with pytest.raises(AssertionError, match="fails under jax.jit"):
        appa.check_verlet_step(eager_only)


def test_verlet_step_not_attempted(capsys):
    def stub(grad_potential, q, p, dt):
        raise NotImplementedError("Exercise A.1")

    appa.check_verlet_step(stub)
    assert "not attempted yet" in capsys.readouterr().out


# A.2 ----------------------------------------------------------------------------------------------


def _maxwell(key, n, temperature, mass):
    return jnp.sqrt(temperature / mass) * jax.random.normal(key, (n, 3))


def _maxwell_buggy(key, n, temperature, mass):
    v = jnp.sqrt(temperature / mass) * jax.random.normal(key, (n,))
    return jnp.stack([v, v, v], axis=1)


def test_maxwell_velocities(capsys):
    appa.check_maxwell_velocities(_maxwell)
    assert "Exercise A.2: correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="components are correlated"):
        appa.check_maxwell_velocities(_maxwell_buggy)
    with pytest.raises(AssertionError, match="variance of each velocity component"):  # T/m instead of sqrt(T/m)
        appa.check_maxwell_velocities(lambda k, n, t, m: (t / m) * jax.random.normal(k, (n, 3)))
    with pytest.raises(AssertionError, match="key argument is not used"):
        appa.check_maxwell_velocities(lambda k, n, t, m: _maxwell(jax.random.key(0), n, t, m))
    with pytest.raises(AssertionError, match=r"shape \(20000, 3\)"):
        appa.check_maxwell_velocities(lambda k, n, t, m: _maxwell(k, n, t, m).T)

    def reused_across_particles(key, n, temperature, mass):
        return jnp.tile(_maxwell(key, 1, temperature, mass), (n, 1))  # one key (one draw) for every particle

    with pytest.raises(AssertionError, match="same velocity"):
        appa.check_maxwell_velocities(reused_across_particles)

    def pairs_share_a_key(key, n, temperature, mass):
        block = _maxwell(key, n // 2, temperature, mass)
        return jnp.stack([block, block], axis=1).reshape(n, 3)  # particles 2i and 2i+1 drawn with the same key

    with pytest.raises(AssertionError, match="neighbouring particles"):
        appa.check_maxwell_velocities(pairs_share_a_key)


def test_maxwell_velocities_rejects_hidden_state():
    rng = np.random.default_rng(0)
    with pytest.raises(AssertionError, match="same key gave different velocities"):
        appa.check_maxwell_velocities(lambda k, n, t, m: np.sqrt(t / m) * rng.normal(size=(n, 3)))


# A.3 ----------------------------------------------------------------------------------------------

_MASSES = jnp.array([16.0, 12.0, 16.0])
_X_EQ = jnp.array([-1.16, 0.0, 1.16])


def _potential(x, k):
    return 0.5 * k * ((x[1] - x[0] - 1.16) ** 2 + (x[2] - x[1] - 1.16) ** 2)


def _spectrum(k, *, weighted=True, squared=False):
    h = jax.hessian(_potential)(_X_EQ, k)
    if weighted:
        s = 1 / jnp.sqrt(_MASSES)
        h = s[:, None] * h * s[None, :]
    w2 = jnp.linalg.eigvalsh(h)
    return jnp.abs(w2) if squared else jnp.sqrt(jnp.abs(w2))


def test_mode_scan(capsys):
    appa.check_mode_scan(jax.vmap(_spectrum))
    assert "Exercise A.3: correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="diagonalises 50 matrices"):
        appa.check_mode_scan(lambda ks: jnp.stack([_spectrum(k) for k in ks]))
    with pytest.raises(AssertionError, match="omega squared"):
        appa.check_mode_scan(jax.vmap(partial(_spectrum, squared=True)))
    with pytest.raises(AssertionError, match="mass-weighted|M\\^\\(-1/2\\)"):
        appa.check_mode_scan(jax.vmap(partial(_spectrum, weighted=False)))
    with pytest.raises(AssertionError, match=r"shape \(50, 3\)"):
        appa.check_mode_scan(lambda ks: jax.vmap(_spectrum)(ks)[:, 1:])


def test_reference_frequencies_against_a_direct_diagonalisation():
    k = 7.3
    h = np.array([[k, -k, 0.0], [-k, 2 * k, -k], [0.0, -k, k]])
    m = np.array([16.0, 12.0, 16.0])
    w2 = np.linalg.eigvalsh(h / np.sqrt(np.outer(m, m)))
    np.testing.assert_allclose(appa.triatomic_frequencies(k), np.sqrt(np.abs(w2)), rtol=1e-12, atol=1e-7)


def test_count_primitive_sees_nested_programs():
    inner = jax.jit(jnp.linalg.eigvalsh)
    jaxpr = jax.make_jaxpr(lambda a: inner(a) + inner(2 * a))(jnp.eye(3))
    assert appa.count_primitive(jaxpr, "eigh") == 2


# A.4 ----------------------------------------------------------------------------------------------


def _mean_energy_body(energies, temperature):
    w = jnp.exp(-(energies - energies.min()) / temperature)
    return jnp.sum(w * energies) / jnp.sum(w)


def test_no_recompile(capsys):
    appa.check_no_recompile(jax.jit(_mean_energy_body))
    assert "Exercise A.4: correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="still a static argument"):
        appa.check_no_recompile(jax.jit(_mean_energy_body, static_argnames="temperature"))
    with pytest.raises(AssertionError, match="not a jitted function"):
        appa.check_no_recompile(_mean_energy_body)
    with pytest.raises(AssertionError, match=r"<E> at T = 0.1"):  # exp(+E/T): the sign slip
        appa.check_no_recompile(jax.jit(lambda e, t: _mean_energy_body(e, -t)))


def test_no_recompile_not_attempted(capsys):
    def stub(energies, temperature):
        raise NotImplementedError("Exercise A.4")

    appa.check_no_recompile(stub)
    assert "not attempted yet" in capsys.readouterr().out

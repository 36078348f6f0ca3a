"""Checks for the exercises of appendix A, *JAX for physicists*.

References: the exact one-step map of velocity Verlet on a harmonic oscillator (closed form) and the helper
:func:`physml_helpers.integrators.leapfrog` on an anharmonic well; the Maxwell–Boltzmann distribution
(variance T/m per component, independent components, with sampling error bars); the normal modes of a
linear triatomic molecule (closed form); and the exact Boltzmann average of a small spectrum, with the
number of compilations read from the jitted function's cache.
"""

from __future__ import annotations

import numpy as np

from physml_helpers.course.checks import call, exercise, expect_close

__all__ = ["check_verlet_step", "check_maxwell_velocities", "check_mode_scan", "check_no_recompile",
           "triatomic_frequencies", "count_primitive"]

# The linear triatomic molecule of exercise A.3 (CO2-like, masses in atomic units).
M_OUTER, M_CENTRE = 16.0, 12.0


def triatomic_frequencies(k):
    """Exact angular frequencies (0, symmetric stretch, antisymmetric stretch) of the linear chain
    m_O -- m_C -- m_O with springs of stiffness ``k`` along the axis: 0, sqrt(k/m_O),
    sqrt(k/m_O (1 + 2 m_O/m_C)).

    Args:
      k: spring constant(s), float or float[n].

    Returns:
      float[..., 3], sorted ascending.
    """
    k = np.asarray(k, dtype=float)[..., None]
    return np.sqrt(k * np.array([0.0, 1.0 / M_OUTER, (1.0 + 2.0 * M_OUTER / M_CENTRE) / M_OUTER]))


def count_primitive(jaxpr, name: str) -> int:
    """How many equations of primitive ``name`` a (closed) jaxpr holds, counting nested jaxprs (jit, scan, ...)."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    total = 0
    for eqn in jaxpr.eqns:
        total += eqn.primitive.name == name
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                if hasattr(sub, "eqns") or hasattr(getattr(sub, "jaxpr", None), "eqns"):
                    total += count_primitive(sub, name)
    return total


def _verlet_reference(q, p, dt, omega2):
    p_half = p - 0.5 * dt * omega2 * q
    q_new = q + dt * p_half
    return q_new, p_half - 0.5 * dt * omega2 * q_new


@exercise("A.1")
def check_verlet_step(velocity_verlet_step):
    """``velocity_verlet_step(grad_potential, q, p, dt) -> (q_new, p_new)``, unit mass, usable under jit."""
    import jax
    import jax.numpy as jnp

    from physml_helpers.integrators import leapfrog

    omega2 = 4.0
    q0, p0, dt = jnp.array([1.0, -0.5]), jnp.array([0.3, 0.2]), 0.1
    grad_harmonic = lambda q: omega2 * q  # noqa: E731
    out = call(velocity_verlet_step, grad_harmonic, q0, p0, dt, what="velocity_verlet_step(grad_potential, q, p, dt)")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError("return the pair (q_new, p_new).")
    want_q, want_p = _verlet_reference(np.asarray(q0), np.asarray(p0), dt, omega2)
    euler_q, euler_p = np.asarray(q0) + dt * (np.asarray(p0) - dt * omega2 * np.asarray(q0)), np.asarray(p0) - dt * omega2 * np.asarray(q0)
    if np.allclose(np.asarray(out[0]), euler_q, rtol=1e-10) and np.allclose(np.asarray(out[1]), euler_p, rtol=1e-10):
        raise AssertionError("this is symplectic Euler (one full kick, then a drift): velocity Verlet splits the kick "
                             "into two half kicks, p - dt/2 grad V(q) before the drift and p - dt/2 grad V(q_new) after it.")
    hint = "Half kick with the force at q, full drift, half kick with the force at the new q."
    expect_close("q_new on the harmonic oscillator", out[0], want_q, rtol=1e-12, hint=hint)
    expect_close("p_new on the harmonic oscillator", out[1], want_p, rtol=1e-12, hint=hint)

    def quartic(q):
        return jnp.sum(q**4 / 4 - q**2 / 2)

    grad_quartic = jax.grad(quartic)

    @jax.jit
    def run(q, p, dt):
        def body(_, state):
            return tuple(velocity_verlet_step(grad_quartic, state[0], state[1], dt))

        return jax.lax.fori_loop(0, 200, body, (q, p))

    try:
        q_end, p_end = run(jnp.array([0.3, 1.6]), jnp.array([0.5, 0.0]), 0.05)
    except NotImplementedError:
        raise
    except Exception as err:  # the step is not traceable: a Python if on a value, NumPy on a tracer, ...
        raise AssertionError(f"your step fails under jax.jit ({type(err).__name__}: {str(err).splitlines()[0]}). "
                             "Use only jax.numpy operations on q and p, no Python if on their values.") from None
    ref_q, ref_p = leapfrog(grad_quartic, jnp.array([0.3, 1.6]), jnp.array([0.5, 0.0]), dt=0.05, n_steps=200)
    expect_close("q after 200 jitted steps in a double well", q_end, np.asarray(ref_q[-1]), rtol=1e-9, atol=1e-12)
    expect_close("p after 200 jitted steps in a double well", p_end, np.asarray(ref_p[-1]), rtol=1e-9, atol=1e-12)
    return "one step matches the exact Verlet map, and 200 jitted steps in a double well match the course's leapfrog."


@exercise("A.2")
def check_maxwell_velocities(maxwell_velocities):
    """``maxwell_velocities(key, n_particles, temperature, mass) -> float[n_particles, 3]``."""
    import jax

    n, temperature, mass = 20_000, 2.0, 0.5
    what = "maxwell_velocities(key, n_particles, temperature, mass)"
    v = np.asarray(call(maxwell_velocities, jax.random.key(11), n, temperature, mass, what=what), dtype=float)
    if v.shape != (n, 3):
        raise AssertionError(f"return one velocity vector per particle, shape ({n}, 3); got shape {v.shape}.")
    again = np.asarray(call(maxwell_velocities, jax.random.key(11), n, temperature, mass, what=what))
    other = np.asarray(call(maxwell_velocities, jax.random.key(12), n, temperature, mass, what=what))
    if not np.array_equal(v, again):
        raise AssertionError("the same key gave different velocities: draw every number from the key you were given "
                             "(no NumPy or Python random numbers, no global state).")
    if np.array_equal(v, other):
        raise AssertionError("two different keys gave the same velocities: the key argument is not used.")
    if np.min(v.std(axis=0)) == 0.0 or np.all(v == v[:1]):
        raise AssertionError("every particle has the same velocity: a key was reused across particles. Draw all "
                             "particles in one call, jax.random.normal(key, (n_particles, 3)).")
    lag = np.abs(np.mean(v[1:] * v[:-1]) / np.mean(v**2))
    if lag > 5 / np.sqrt(3 * n):
        raise AssertionError(f"neighbouring particles have correlated velocities (correlation {lag:.3f}): a key was "
                             "reused across particles.")
    corr = np.corrcoef(v.T)
    off = np.abs(corr[np.triu_indices(3, 1)])
    if np.max(off) > 5 / np.sqrt(n):
        raise AssertionError(f"the x, y and z components are correlated (largest correlation {np.max(off):.3f}; "
                             f"independent components give about {1 / np.sqrt(n):.3f}). A key was reused: split it "
                             "into independent subkeys, or draw all components in one call with shape (n, 3).")
    var = v.var(axis=0)
    se = np.sqrt(2.0 / n) * temperature / mass  # standard error of a Gaussian sample variance
    expect_close("the variance of each velocity component", var, np.full(3, temperature / mass), atol=5 * se, rtol=0.0,
                 hint="Each component is Gaussian with variance k_B T / m: scale a standard normal by sqrt(T / m).")
    return "independent Gaussian components of variance T/m, reproducible from the key."


@exercise("A.3")
def check_mode_scan(mode_frequencies):
    """``mode_frequencies(spring_constants: float[n]) -> float[n, 3]``, vectorised with vmap."""
    import jax
    import jax.numpy as jnp

    ks = jnp.linspace(0.5, 20.0, 50)
    got = np.asarray(call(mode_frequencies, ks, what="mode_frequencies(spring_constants)"), dtype=float)
    want = triatomic_frequencies(np.asarray(ks))
    if got.shape != want.shape:
        raise AssertionError(f"return the three frequencies for each of the {len(ks)} spring constants, shape "
                             f"{want.shape}; got {got.shape}.")
    if np.allclose(got, want**2, rtol=1e-8, atol=1e-6):
        raise AssertionError("these are omega squared (the eigenvalues of the mass-weighted Hessian): take the square root.")
    # the zero mode comes from an eigenvalue of size eps * k / m, so its frequency is of order sqrt(eps * k / m)
    atol = np.sqrt(100 * np.finfo(float).eps * float(np.max(ks)) / M_CENTRE)
    expect_close("the normal-mode frequencies", got, want, rtol=1e-9, atol=atol,
                 hint="Diagonalise M^(-1/2) H M^(-1/2) with H the Hessian of the potential, not H itself: the masses "
                      "are 16, 12, 16.")
    jaxpr = jax.make_jaxpr(mode_frequencies)(ks)
    n_eigh = count_primitive(jaxpr, "eigh")
    if n_eigh > 1:
        raise AssertionError(f"the program diagonalises {n_eigh} matrices one by one (a Python loop over the spring "
                             "constants, unrolled by tracing): write the function for one k and jax.vmap it.")
    return "all 50 spectra match the closed form, computed by one vectorised program."


@exercise("A.4")
def check_no_recompile(mean_energy):
    """``mean_energy(energies, temperature) -> <E>``: jitted, compiled once for every temperature."""
    energies = np.array([0.0, 0.3, 0.3, 1.1, 2.0, 2.4])
    temps = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    if not hasattr(mean_energy, "_cache_size") and callable(mean_energy):
        call(mean_energy, energies, 1.0, what="mean_energy(energies, temperature)")  # surfaces a stub first
        raise AssertionError("mean_energy is not a jitted function: decorate it with @jax.jit.")
    before = mean_energy._cache_size() if hasattr(mean_energy, "_cache_size") else 0
    got = [float(call(mean_energy, energies, t, what="mean_energy(energies, temperature)")) for t in temps]
    for t, g in zip(temps, got):
        w = np.exp(-(energies - energies.min()) / t)
        expect_close(f"<E> at T = {t}", g, np.sum(w * energies) / np.sum(w), rtol=1e-12,
                     hint="Boltzmann weights exp(-E/T), normalised; subtracting min(E) first avoids overflow.")
    compiled = mean_energy._cache_size() - before
    if compiled > 1:
        raise AssertionError(f"{len(temps)} temperatures compiled {compiled} programs: the temperature is still a "
                             "static argument (or changes type between calls). Make it a traced argument: remove it "
                             "from static_argnames.")
    return f"{len(temps)} temperatures, {compiled} compilation{'s' if compiled != 1 else ''}, exact Boltzmann averages."

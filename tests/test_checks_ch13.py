"""Chapter 13's checks accept right answers and explain wrong ones."""

import numpy as np
import pytest
import sympy as sp

from physml_helpers.course.checks import ch13


def test_symplectic_euler(capsys):
    def right(grad_V, q, p, dt):
        p_new = p - dt * grad_V(q)
        return q + dt * p_new, p_new

    ch13.check_symplectic_euler(right)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="explicit Euler"):
        ch13.check_symplectic_euler(lambda grad_V, q, p, dt: (q + dt * p, p - dt * grad_V(q)))
    with pytest.raises(AssertionError, match="pair"):
        ch13.check_symplectic_euler(lambda grad_V, q, p, dt: 3.0)


def test_volume_not_symplectic(capsys):
    c, s = np.cos(0.7), np.sin(0.7)
    M = np.eye(4)
    M[np.ix_([0, 3], [0, 3])] = [[c, -s], [s, c]]
    ch13.check_volume_not_symplectic(M)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="is symplectic"):
        ch13.check_volume_not_symplectic(np.eye(4))
    with pytest.raises(AssertionError, match="det M4"):
        ch13.check_volume_not_symplectic(2 * np.eye(4))
    with pytest.raises(AssertionError, match="chapter's example"):
        ch13.check_volume_not_symplectic(np.diag([2.0, 0.5, 1.0, 1.0]))


def test_modified_energy(capsys):
    omega, h = sp.symbols("omega h", positive=True)
    ch13.check_modified_energy(omega**2 * (1 - omega**2 * h**2 / 4), omega, h)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="true energy"):
        ch13.check_modified_energy(omega**2, omega, h)
    with pytest.raises(AssertionError, match="a at omega"):
        ch13.check_modified_energy(omega**2 * (1 - omega**2 * h**2 / 2), omega, h)
    with pytest.raises(AssertionError, match="depend on omega and h only"):
        ch13.check_modified_energy(sp.Symbol("x"), omega, h)
    # the student's symbols made without positive=True are other SymPy objects with the same names
    w, step = sp.symbols("omega h")
    ch13.check_modified_energy(w**2 * (1 - w**2 * step**2 / 4), omega, h)
    assert "correct" in capsys.readouterr().out
    ch13.check_modified_energy(sp.sqrt(w**4) * (1 - w**2 * step**2 / 4), omega, h)  # sqrt(omega^4) without assumptions
    assert "correct" in capsys.readouterr().out


def _gaussian_core(q, eps, *, weight=True, pairs="ordered", reciprocal=True):
    """The broken forces of exercise 13.4, and the typical wrong versions of them."""
    diff = q[:, None, :] - q[None, :, :]
    r2 = (diff**2).sum(-1)
    off = ~np.eye(len(q), dtype=bool)
    forces = (np.where(off, 2 * np.exp(-r2), 0.0)[:, :, None] * diff).sum(1) if reciprocal else np.zeros_like(q)
    w = np.where(off, np.exp(-r2) if weight else 1.0, 0.0)
    if pairs == "unordered":
        w = np.triu(w)
    forces[:, 0] += eps * w.sum(1)
    return forces


def test_broken_third_law(capsys):
    eps = 1e-2
    ch13.check_broken_third_law(lambda q: _gaussian_core(q, eps), eps)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="uniform external field"):
        ch13.check_broken_third_law(lambda q: _gaussian_core(q, eps, weight=False), eps)
    with pytest.raises(AssertionError, match="half the expected"):
        ch13.check_broken_third_law(lambda q: _gaussian_core(q, eps, pairs="unordered"), eps)
    with pytest.raises(AssertionError, match="still obey the third law"):
        ch13.check_broken_third_law(lambda q: _gaussian_core(q, 0.0), eps)
    with pytest.raises(AssertionError, match="only the non-reciprocal term"):
        ch13.check_broken_third_law(lambda q: _gaussian_core(q, eps, reciprocal=False), eps)
    with pytest.raises(AssertionError, match="one force per particle"):
        ch13.check_broken_third_law(lambda q: _gaussian_core(q, eps).ravel(), eps)
    with pytest.raises(AssertionError, match="the forces for N = 4"):  # right total, wrong split between particles
        ch13.check_broken_third_law(lambda q: _gaussian_core(q, eps) + np.array([[1e-3, 0], [-1e-3, 0], [0, 0], [0, 0]]), eps)
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        ch13.check_broken_third_law(lambda q: 1 / 0, eps)
    ch13.check_broken_third_law(..., eps)
    assert "not attempted" in capsys.readouterr().out


def test_hamiltonian_vector_field(capsys):
    import jax
    import jax.numpy as jnp

    def right(H, z):
        d = z.shape[0] // 2
        dq, dp = jax.grad(H, argnums=(0, 1))(z[:d], z[d:])
        return jnp.concatenate([dp, -dq])

    ch13.check_hamiltonian_vector_field(right)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="backwards in time"):
        ch13.check_hamiltonian_vector_field(lambda H, z: -right(H, z))
    gradient = lambda H, z: jnp.concatenate(jax.grad(H, argnums=(0, 1))(z[: z.shape[0] // 2], z[z.shape[0] // 2 :]))
    with pytest.raises(AssertionError, match="gradient of H"):
        ch13.check_hamiltonian_vector_field(gradient)
    with pytest.raises(AssertionError, match="gradient of H"):
        ch13.check_hamiltonian_vector_field(lambda H, z: -gradient(H, z))
    with pytest.raises(AssertionError, match="sign of p_dot"):
        ch13.check_hamiltonian_vector_field(lambda H, z: right(H, z) * jnp.array([1.0, 1.0, -1.0, -1.0]))
    with pytest.raises(AssertionError, match="shape"):
        ch13.check_hamiltonian_vector_field(lambda H, z: right(H, z)[:2])
    # right for the separable part only: correct on no test Hamiltonian, so the comparison catches it
    with pytest.raises(AssertionError, match="the vector field for H"):
        ch13.check_hamiltonian_vector_field(lambda H, z: jnp.concatenate([z[2:], -jnp.array([0.0, jnp.cos(z[1])])]))
    with pytest.raises(AssertionError, match="raised TypeError"):
        ch13.check_hamiltonian_vector_field(lambda H, z: H(z))
    ch13.check_hamiltonian_vector_field(...)
    assert "not attempted" in capsys.readouterr().out

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


def test_broken_third_law(capsys):
    ch13.check_broken_third_law(0.012, 4, 1e-3)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="once per particle"):
        ch13.check_broken_third_law(0.004, 4, 1e-3)
    with pytest.raises(AssertionError, match="did not change"):
        ch13.check_broken_third_law(0.0, 4, 1e-3)

"""Chapter 8's checks accept right answers and explain wrong ones."""

import numpy as np
import pytest
import sympy as sp

from physml_helpers.course.checks import ch08

T_C = 2 / np.log(1 + np.sqrt(2))


def _checkerboard(x):
    L = x.shape[-1]
    return x * (1 - 2 * (np.add.outer(np.arange(L), np.arange(L)) % 2))


def test_partition_function(capsys):
    K = sp.symbols("K", positive=True)
    Z = 2 * sp.exp(8 * K) + 12 + 2 * sp.exp(-8 * K)
    ch08.check_partition_function(Z, -sp.diff(sp.log(Z), K) / 4, K)
    assert "correct" in capsys.readouterr().out
    single = 2 * sp.exp(4 * K) + 12 + 2 * sp.exp(-4 * K)
    with pytest.raises(AssertionError, match="two bonds"):
        ch08.check_partition_function(single, -sp.diff(sp.log(single), K) / 4, K)
    with pytest.raises(AssertionError, match="wrong sign"):
        ch08.check_partition_function(Z, sp.diff(sp.log(Z), K) / 4, K)
    with pytest.raises(AssertionError, match="divide by the N = 4"):
        ch08.check_partition_function(Z, -sp.diff(sp.log(Z), K), K)
    with pytest.raises(AssertionError, match="SymPy expression"):
        ch08.check_partition_function("2 exp(8K)", Z, K)


def test_partition_function_unattempted(capsys):
    ch08.check_partition_function(..., ..., sp.symbols("K"))
    assert "not attempted" in capsys.readouterr().out


def test_binder(capsys):
    def binder(m):
        m = np.asarray(m, float)
        return 1 - np.mean(m**4) / (3 * np.mean(m**2) ** 2)

    ch08.check_binder(binder, T_C + 0.01)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="factor 3"):
        ch08.check_binder(lambda m: 1 - np.mean(np.asarray(m) ** 4) / np.mean(np.asarray(m) ** 2) ** 2, T_C)
    with pytest.raises(AssertionError, match="more than 4%"):
        ch08.check_binder(binder, 2.4)
    with pytest.raises(AssertionError, match="raised AttributeError"):
        ch08.check_binder(lambda m: m.nonexistent, T_C)


def test_antiferromagnet(capsys):
    proposed = T_C + 0.08 * np.arange(-4, 5) + 0.04   # midpoints of the chapter's grid near T_c
    w_shape = np.array([0.9, 0.82, 0.84, 0.87, 0.86, 0.81, 0.80, 0.79, 0.88])
    ch08.check_antiferromagnet(_checkerboard, proposed, w_shape)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="energy of to_antiferromagnet"):
        ch08.check_antiferromagnet(lambda x: x, proposed, w_shape)
    with pytest.raises(AssertionError, match="no W"):   # shuffled labels: the majority V only
        ch08.check_antiferromagnet(_checkerboard, proposed, np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.6, 0.7, 0.8, 0.9]) - 0.01)
    with pytest.raises(AssertionError, match="majority-class baseline"):
        ch08.check_antiferromagnet(_checkerboard, proposed, np.array([0.9, 0.75, 0.62, 0.64, 0.55, 0.62, 0.72, 0.8, 0.9]))
    with pytest.raises(AssertionError, match="not near T_c"):
        ch08.check_antiferromagnet(_checkerboard, proposed + 0.4, w_shape)   # a W, but on a grid above T_c
    with pytest.raises(AssertionError, match="one entry per proposed"):
        ch08.check_antiferromagnet(_checkerboard, proposed, w_shape[:5])


def test_symmetry_failure(capsys):
    ch08.check_symmetry_failure(0.99, 0.5, 2.07, 2.34)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="clearly below"):
        ch08.check_symmetry_failure(0.99, 0.5, 2.34, 2.34)   # trained on flipped data twice
    with pytest.raises(AssertionError, match="frac_down"):
        ch08.check_symmetry_failure(0.99, 0.0, 2.07, 2.34)
    with pytest.raises(AssertionError, match="acc_train"):
        ch08.check_symmetry_failure(0.6, 0.5, 2.07, 2.34)
    ch08.check_symmetry_failure(None, 0.5, 2.07, 2.34)
    assert "not attempted" in capsys.readouterr().out

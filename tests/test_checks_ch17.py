"""Chapter 17's checks accept right answers and explain wrong ones."""

import numpy as np
import pytest

from physml_helpers.course.checks import ch17


def test_quarter_turn(capsys):
    times = [0.3, 0.5, 0.7, 0.9, 1.1]
    right = {T: np.cos(np.pi / 4 - min(T, np.pi / 4)) ** 2 for T in times}
    ch17.check_quarter_turn(np.pi / 4, right)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="half turn"):
        ch17.check_quarter_turn(np.pi / 2, right)
    with pytest.raises(AssertionError, match="beats the speed limit"):
        ch17.check_quarter_turn(np.pi / 4, {T: 1.0 for T in times})
    with pytest.raises(AssertionError, match="below the reachable"):
        ch17.check_quarter_turn(np.pi / 4, {T: 0.5 * f for T, f in right.items()})
    with pytest.raises(AssertionError, match="no entry for the gate times"):
        ch17.check_quarter_turn(np.pi / 4, {T: 1.0 for T in (0.9, 1.1, 1.3, 1.5)})  # only times past pi/4
    ch17.check_quarter_turn(..., right)
    assert "not attempted" in capsys.readouterr().out


def test_decoding_rates(capsys):
    from math import comb

    from physml_helpers import qec

    code = qec.rotated_surface_code(5)
    enum = qec.weight_enumerator(code)
    right = {"surface ML": qec.logical_error_rate(enum, 0.03),
             "surface matching": qec.logical_error_rate(enum, 0.03, qec.matching_decoder_table(code)),
             "repetition": sum(comb(7, k) * 0.1**k * 0.9 ** (7 - k) for k in range(4, 8))}
    ch17.check_decoding_rates(right)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="no correction"):
        ch17.check_decoding_rates({**right, "surface ML": (1 - 0.94**5) / 2})
    d3 = qec.logical_error_rate(qec.weight_enumerator(qec.rotated_surface_code(3)), 0.03)
    with pytest.raises(AssertionError, match="distance-3"):
        ch17.check_decoding_rates({**right, "surface ML": d3})
    with pytest.raises(AssertionError, match="keys"):
        ch17.check_decoding_rates({"surface ML": 0.1})


def test_bang_bang(capsys):
    import scipy.linalg

    from physml_helpers import qcontrol as qc

    _, x, _, z = qc.pauli_matrices()
    h_of = lambda h: -z / 2 - h * x / 2  # noqa: E731
    psi0 = np.linalg.eigh(h_of(-2.0))[1][:, 0]
    target = np.linalg.eigh(h_of(2.0))[1][:, 0]
    us = [scipy.linalg.expm(-1j * (1.5 / 12) * h_of(h)) for h in (-4.0, 4.0)]
    f = qc.protocol_fidelities(us, psi0, target, n_steps=12)
    k = int(np.argmax(f))
    n_max = len(qc.local_maxima(f))
    ch17.check_bang_bang(f[k], np.binary_repr(k, 12), n_max)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="best fidelity"):
        ch17.check_bang_bang(f.mean(), np.binary_repr(k, 12), n_max)
    if np.binary_repr(k, 12) != np.binary_repr(k, 12)[::-1]:
        with pytest.raises(AssertionError, match="reversed"):
            ch17.check_bang_bang(f[k], np.binary_repr(k, 12)[::-1], n_max)
    with pytest.raises(AssertionError, match="smooth landscape"):
        ch17.check_bang_bang(f[k], np.binary_repr(k, 12), 1)


def _parity_mps(n):
    t = np.zeros((n, 2, 2, 2))
    for p in (0, 1):
        for x in (0, 1):
            t[:, p, x, p ^ x] = 1.0
    return t


def test_parity_mps(capsys):
    ch17.check_parity_mps(_parity_mps)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="odd-parity"):
        ch17.check_parity_mps(lambda n: _parity_mps(n)[:, ::-1, :, :])  # starts from parity 1: odd strings
    with pytest.raises(AssertionError, match="all"):
        ch17.check_parity_mps(lambda n: np.ones((n, 2, 2, 2)))
    with pytest.raises(AssertionError, match="shape"):
        ch17.check_parity_mps(lambda n: np.ones((n, 2, 2)))
    with pytest.raises(AssertionError, match="psi\\(x\\) = 0"):
        ch17.check_parity_mps(lambda n: np.zeros((n, 2, 2, 2)))
    with pytest.raises(AssertionError, match="raised ValueError") as info:
        ch17.check_parity_mps(lambda n: np.ones(-1))
    assert "Traceback" not in str(info.value)
    ch17.check_parity_mps(...)
    assert "not attempted" in capsys.readouterr().out


def test_mesh_infidelity(capsys):
    ch17.check_mesh_infidelity(lambda n, s: s**2 * (n - 1) * (3 * n - 1) / (2 * n))
    assert "correct" in capsys.readouterr().out
    k = lambda n: n * (n - 1) / 2
    with pytest.raises(AssertionError, match="internal phases"):
        ch17.check_mesh_infidelity(lambda n, s: s**2 * k(n) * 2 / n)
    with pytest.raises(AssertionError, match="global phase"):
        ch17.check_mesh_infidelity(lambda n, s: s**2 * k(n) * 3 / n)
    with pytest.raises(AssertionError, match="per phase"):
        ch17.check_mesh_infidelity(lambda n, s: 2 * s**2 * k(n))
    with pytest.raises(AssertionError, match="predicted_infidelity"):
        ch17.check_mesh_infidelity(lambda n, s: s * (n - 1) * (3 * n - 1) / (2 * n))
    with pytest.raises(AssertionError, match="could not be checked|raised"):
        ch17.check_mesh_infidelity(lambda n, s: "small")

    def stub(n, s):
        raise NotImplementedError("Exercise 17.5")

    ch17.check_mesh_infidelity(stub)
    assert "not attempted" in capsys.readouterr().out

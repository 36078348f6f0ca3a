"""Chapter 10's checks accept right answers and explain wrong ones."""

import numpy as np
import pytest

from physml_helpers.course.checks import ch10


def _circulant(C):
    n = len(C)
    m = np.arange(n)
    first = np.array([C[m, (m + k) % n].mean() for k in range(n)])
    return np.array([np.roll(first, i) for i in range(n)])


def test_circulant_part(capsys):
    ch10.check_circulant_part(_circulant)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="j - i = -k"):
        ch10.check_circulant_part(lambda C: _circulant(np.asarray(C)).T)
    with pytest.raises(AssertionError, match="circulant_part\\(C\\)"):
        ch10.check_circulant_part(lambda C: np.asarray(C))
    with pytest.raises(AssertionError, match="8 x 8"):
        ch10.check_circulant_part(lambda C: np.zeros((3, 3)))
    ch10.check_circulant_part(...)
    assert "not attempted" in capsys.readouterr().out


def test_frame_velocity(capsys):
    ch10.check_frame_velocity(lambda encoder, frames, h: (encoder(frames[2]) - encoder(frames[0])) / (2 * h))
    assert "second order" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="divide by 2h"):
        ch10.check_frame_velocity(lambda encoder, frames, h: (encoder(frames[2]) - encoder(frames[0])) / h)
    with pytest.raises(AssertionError, match="frame_velocity at h"):
        ch10.check_frame_velocity(lambda encoder, frames, h: (encoder(frames[2]) - encoder(frames[1])) / h)


def test_invariant_direction(capsys):
    ch10.check_invariant_direction(-0.995, 0.004)
    assert "amplitude" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="below 0.9"):
        ch10.check_invariant_direction(0.3, 0.004)
    with pytest.raises(AssertionError, match="linearity term"):
        ch10.check_invariant_direction(0.99, 0.3)
    with pytest.raises(AssertionError, match="lies in"):
        ch10.check_invariant_direction(1.5, 0.004)


def test_threefold(capsys):
    ch10.check_threefold(np.array([[0.0, -2.9], [3.1, 0.0]]))
    assert "three-fold" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="fold=3"):
        ch10.check_threefold(np.array([[0.0, -1.0], [1.0, 0.0]]))
    with pytest.raises(AssertionError, match="not \\(nearly\\) imaginary"):
        ch10.check_threefold(np.array([[1.0, 0.0], [0.0, -1.0]]))
    with pytest.raises(AssertionError, match="2 x 2"):
        ch10.check_threefold(np.eye(3))

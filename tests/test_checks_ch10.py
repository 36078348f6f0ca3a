"""Chapter 10's checks accept right answers and explain wrong ones."""

import numpy as np
import pytest

from physml_helpers.course.checks import ch10


def _circulant(C):
    n = len(C)
    m = np.arange(n)
    first = np.array([C[m, (m + k) % n].mean() for k in range(n)])
    return np.array([np.roll(first, i) for i in range(n)])


def _covariance():
    """A symmetric, nearly circulant covariance like the exercise's (translates of one pattern at random angles)."""
    rng = np.random.default_rng(1)
    grid = 2 * np.pi * np.arange(16) / 16
    shifts = rng.uniform(0, 2 * np.pi, 400)
    x = np.exp(2 * (np.cos(grid[None, :] - shifts[:, None]) - 1)) + 0.3 * np.exp(np.cos(2 * (grid[None, :] - shifts[:, None])))
    return np.cov(x, rowvar=False)


def _answers(C):
    circ = _circulant(C)
    return (np.linalg.norm(C - circ) / np.linalg.norm(C), np.sort(np.linalg.eigvalsh(circ))[::-1],
            np.sort(np.fft.fft(circ[0]).real)[::-1])


def test_circulant_part(capsys):
    C = _covariance()
    distance, eigenvalues, dft = _answers(C)
    ch10.check_circulant_part(_circulant, C, distance, eigenvalues, dft)
    out = capsys.readouterr().out
    assert "correct" in out and "DFT of its first row" in out
    raw = np.fft.fft(_circulant(C)[0])
    ch10.check_circulant_part(_circulant, C, distance, eigenvalues, raw[np.argsort(-raw.real)])
    assert "correct" in capsys.readouterr().out  # a complex DFT with rounding-level imaginary parts is accepted
    with pytest.raises(AssertionError, match="j - i = -k"):
        ch10.check_circulant_part(lambda C: _circulant(np.asarray(C)).T, C, distance, eigenvalues, dft)
    with pytest.raises(AssertionError, match="circulant_part\\(C\\)"):
        ch10.check_circulant_part(lambda C: np.asarray(C), C, distance, eigenvalues, dft)
    with pytest.raises(AssertionError, match="8 x 8"):
        ch10.check_circulant_part(lambda C: np.zeros((3, 3)), C, distance, eigenvalues, dft)
    ch10.check_circulant_part(..., C, distance, eigenvalues, dft)
    assert "not attempted" in capsys.readouterr().out
    ch10.check_circulant_part(_circulant, C, ..., ..., ...)
    assert "not attempted" in capsys.readouterr().out


def test_circulant_part_distance_and_spectrum_mistakes():
    C = _covariance()
    circ = _circulant(C)
    distance, eigenvalues, dft = _answers(C)
    assert 0.001 < distance < 0.2  # nearly circulant, so the wrong rows below are close to the right one
    # the absolute instead of the relative distance
    with pytest.raises(AssertionError, match="divide by \\|C\\|"):
        ch10.check_circulant_part(_circulant, C, np.linalg.norm(C - circ), eigenvalues, dft)
    # eigvalsh's increasing order against a decreasing DFT
    with pytest.raises(AssertionError, match="increasing order"):
        ch10.check_circulant_part(_circulant, C, distance, np.linalg.eigvalsh(circ), dft)
    # the DFT in frequency order, unsorted
    with pytest.raises(AssertionError, match="frequency order"):
        ch10.check_circulant_part(_circulant, C, distance, eigenvalues, np.fft.fft(circ[0]).real)
    # the DFT of the wrong row: of C itself, and of the circulant part's second row
    with pytest.raises(AssertionError, match="first row of C itself"):
        ch10.check_circulant_part(_circulant, C, distance, eigenvalues, np.sort(np.fft.fft(C[0]).real)[::-1])
    with pytest.raises(AssertionError, match="second row of the circulant part"):
        ch10.check_circulant_part(_circulant, C, distance, eigenvalues, np.sort(np.fft.fft(circ[1]).real)[::-1])
    # the eigenvalues of C instead of its circulant part: a few percent off
    with pytest.raises(AssertionError, match="eigenvalues of C itself"):
        ch10.check_circulant_part(_circulant, C, distance, np.sort(np.linalg.eigvalsh(C))[::-1], dft)
    # a complex DFT of a non-symmetric row
    with pytest.raises(AssertionError, match="imaginary parts"):
        ch10.check_circulant_part(_circulant, C, distance, eigenvalues, np.fft.fft(circ[1]))
    with pytest.raises(AssertionError, match="vector of the 16 values"):
        ch10.check_circulant_part(_circulant, C, distance, eigenvalues[:6], dft)


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

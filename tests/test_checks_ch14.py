"""Chapter 14's checks accept right answers and explain wrong ones."""

import numpy as np
import pytest

from physml_helpers.course.checks import ch14
from physml_helpers.onsager import fit_response, fit_symmetric_response, symmetrize


def test_parts(capsys):
    ch14.check_parts(lambda W: (W + W.T) / 2, lambda W: (W - W.T) / 2)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="antisymmetric_part"):
        ch14.check_parts(lambda W: (W + W.T) / 2, lambda W: (W.T - W) / 2)


def test_gains(capsys):
    ch14.check_gains({n: (n + 1) / (2 * n) + 0.005 for n in (2, 4, 8)})
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="inverted"):
        ch14.check_gains({n: 2 * n / (n + 1) for n in (2, 4, 8)})
    with pytest.raises(AssertionError, match="gains\\[8\\]"):
        ch14.check_gains({2: 0.75, 4: 0.625, 8: 0.7})
    with pytest.raises(AssertionError, match="keys 2, 4 and 8"):
        ch14.check_gains({2: 0.75})


def test_constrained_fit(capsys):
    ch14.check_constrained_fit(fit_symmetric_response)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="symmetrized unconstrained fit"):
        ch14.check_constrained_fit(lambda X, J: symmetrize(fit_response(X, J)))
    with pytest.raises(AssertionError, match="raised LinAlgError"):
        ch14.check_constrained_fit(lambda X, J: np.linalg.solve(X, J))


def test_psd(capsys):
    want_sym, want_psd = ch14._psd_reference()
    assert want_psd < want_sym
    ch14.check_psd(want_sym, want_psd, True)
    assert "second law" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="never_worse should be True"):
        ch14.check_psd(want_sym, want_psd, False)
    with pytest.raises(AssertionError, match="mse_psd"):
        ch14.check_psd(want_sym, 0.5 * want_psd, True)

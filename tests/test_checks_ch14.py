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


def _d4():
    r90 = np.array([[0.0, -1.0], [1.0, 0.0]])
    flip = np.array([[1.0, 0.0], [0.0, -1.0]])
    return [np.linalg.matrix_power(r90, k) @ f for k in range(4) for f in (np.eye(2), flip)]


def _kernel(a, b):
    return np.exp(-np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1) / (2 * 0.6**2))


def _invariant(group):
    def predict(x, y, x_test, ridge):
        k_bar = lambda a, b: sum(_kernel(a @ g.T, b) for g in group) / len(group)
        return k_bar(x_test, x) @ np.linalg.solve(k_bar(x, x) + ridge * np.eye(len(y)), y)
    return predict


def _augmented(group):
    def predict(x, y, x_test, ridge):
        x_aug = np.concatenate([x @ g.T for g in group])
        return _kernel(x_test, x_aug) @ np.linalg.solve(_kernel(x_aug, x_aug) + ridge * np.eye(len(x_aug)),
                                                        np.tile(y, len(group)))
    return predict


def _averaged_after_training(x, y, x_test, ridge):
    coef = np.linalg.solve(_kernel(x, x) + ridge * np.eye(len(y)), y)
    return np.mean([_kernel(x_test @ g.T, x) @ coef for g in _d4()], axis=0)


def test_augmentation(capsys):
    d4 = _d4()
    ch14.check_augmentation(_invariant(d4), _augmented(d4), 1 / 8)
    out = capsys.readouterr().out
    assert "correct" in out and "ridge λ/8" in out
    # the kernel averaged on the other argument is the same model for this invariant kernel
    def other_side(x, y, x_test, ridge):
        k_bar = lambda a, b: sum(_kernel(a, b @ g.T) for g in d4) / len(d4)
        return k_bar(x_test, x) @ np.linalg.solve(k_bar(x, x) + ridge * np.eye(len(y)), y)

    ch14.check_augmentation(other_side, _augmented(d4), 0.125)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="four rotations only"):
        ch14.check_augmentation(_invariant(d4[::2]), _augmented(d4), 1 / 8)
    with pytest.raises(AssertionError, match="after training"):
        ch14.check_augmentation(_averaged_after_training, _augmented(d4), 1 / 8)
    with pytest.raises(AssertionError, match="four rotated copies only"):
        ch14.check_augmentation(_invariant(d4), _augmented(d4[::2]), 1 / 8)
    with pytest.raises(AssertionError, match="invariant model at the same ridge"):
        ch14.check_augmentation(_invariant(d4), _invariant(d4), 1 / 8)
    with pytest.raises(AssertionError, match="naive guess"):
        ch14.check_augmentation(_invariant(d4), _augmented(d4), 1.0)
    with pytest.raises(AssertionError, match="inverted"):
        ch14.check_augmentation(_invariant(d4), _augmented(d4), 8)
    with pytest.raises(AssertionError, match="ridge_ratio"):
        ch14.check_augmentation(_invariant(d4), _augmented(d4), 0.1)
    with pytest.raises(AssertionError, match="raised"):  # labels not tiled: a shape error inside the answer
        ch14.check_augmentation(_invariant(d4), lambda x, y, xt, r: _augmented(d4)(x, y[:5], xt, r), 1 / 8)
    ch14.check_augmentation(_invariant(d4), ..., 1 / 8)
    assert "not attempted" in capsys.readouterr().out


def test_augmentation_reference_identity():
    # the exact identity behind the exercise: orbit augmentation at ridge r = averaged kernel at ridge r / |G|
    refs = ch14._augmentation_references(*ch14._augmentation_problem())
    np.testing.assert_allclose(refs["augmented"], refs["invariant_rescaled"], rtol=0, atol=1e-10)
    for wrong in ("invariant_rotations", "averaged_after_training", "plain"):
        assert np.max(np.abs(refs[wrong] - refs["invariant"])) > 1e3 * ch14._PREDICTION_ATOL
    assert np.max(np.abs(refs["augmented"] - refs["invariant"])) > 1e3 * ch14._PREDICTION_ATOL

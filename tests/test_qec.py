"""Decoding helpers against brute force: enumeration of every error of small codes, the closed form of the
repetition code, PyMatching against the exact maximum-likelihood decoder at d = 3."""

from math import comb

import jax
import numpy as np
import pytest

from physml_helpers import qec


def _gf2_rank(a):
    a = a.copy() % 2
    rank = 0
    for col in range(a.shape[1]):
        rows = np.nonzero(a[rank:, col])[0]
        if rows.size == 0:
            continue
        r = rank + rows[0]
        a[[rank, r]] = a[[r, rank]]
        for other in range(a.shape[0]):
            if other != rank and a[other, col]:
                a[other] ^= a[rank]
        rank += 1
        if rank == a.shape[0]:
            break
    return rank


@pytest.mark.parametrize("d", [3, 5, 7])
def test_surface_code_is_a_valid_code(d):
    code = qec.rotated_surface_code(d)
    n, m = d * d, (d * d - 1) // 2
    assert code.check_matrix.shape == (m, n) and code.x_stabilizers.shape == (m, n)
    assert not np.any((code.check_matrix.astype(int) @ code.x_stabilizers.T) % 2)  # stabilizers commute
    assert not np.any((code.check_matrix.astype(int) @ code.logical_x) % 2)  # L_X has no syndrome
    assert not np.any((code.x_stabilizers.astype(int) @ code.logical_z) % 2)  # L_Z commutes with X checks
    assert int(code.logical_z @ code.logical_x) % 2 == 1
    assert _gf2_rank(code.check_matrix) == m and _gf2_rank(code.x_stabilizers) == m
    # L_X is not a product of X stabilizers
    assert _gf2_rank(np.vstack([code.x_stabilizers, code.logical_x])) == m + 1


def test_pure_errors_have_their_syndromes():
    code = qec.rotated_surface_code(5)
    e0 = qec.pure_errors(code)
    s = qec.syndromes(code, e0)
    idx = (s.astype(np.int64) << np.arange(11, -1, -1)).sum(1)
    assert np.array_equal(idx, np.arange(2**12))
    assert not np.any((e0.astype(int) @ code.logical_z) % 2)


def _brute_table(code, p):
    n = code.check_matrix.shape[1]
    errs = ((np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)
    s = qec.syndromes(code, errs)
    idx = (s.astype(np.int64) << np.arange(s.shape[1] - 1, -1, -1)).sum(1)
    c = qec.logical_classes(code, errs)
    w = errs.sum(1)
    table = np.zeros((2 ** s.shape[1], 2))
    np.add.at(table, (idx, c), p**w * (1 - p) ** (n - w))
    return table


def test_weight_enumerator_against_brute_force_d3():
    code = qec.rotated_surface_code(3)
    enum = qec.weight_enumerator(code)
    assert enum.sum() == 2**9
    for p in (0.01, 0.05, 0.1, 0.3):
        table = _brute_table(code, p)
        assert abs(qec.logical_error_rate(enum, p) - np.minimum(table[:, 0], table[:, 1]).sum()) < 1e-15
        assert np.array_equal(qec.ml_decoder_table(enum, p), (table[:, 1] > table[:, 0]).astype(np.uint8))


def test_published_d3_values_and_d5_total():
    enum = qec.weight_enumerator(qec.rotated_surface_code(3))
    rates = [qec.logical_error_rate(enum, p) for p in (0.01, 0.05, 0.1)]
    assert np.allclose(rates, [1.7e-3, 3.7e-2, 0.12], rtol=0.05)
    enum5 = qec.weight_enumerator(qec.rotated_surface_code(5))
    assert enum5.sum() == 2**25
    w = np.arange(26)
    assert np.array_equal(enum5.sum(axis=(0, 1)), [comb(25, k) for k in w])  # every weight counted once


@pytest.mark.parametrize("d", [3, 5, 7])
def test_repetition_code_closed_form(d):
    code = qec.repetition_code(d)
    enum = qec.weight_enumerator(code)
    for p in (0.05, 0.2):
        closed = sum(comb(d, k) * p**k * (1 - p) ** (d - k) for k in range(d // 2 + 1, d + 1))
        assert abs(qec.logical_error_rate(enum, p) - closed) < 1e-14
        assert abs(qec.logical_error_rate(enum, p, qec.matching_decoder_table(code)) - closed) < 1e-14


def test_matching_equals_ml_at_d3_and_never_beats_it_at_d5():
    for d in (3, 5):
        code = qec.rotated_surface_code(d)
        enum = qec.weight_enumerator(code)
        table = qec.matching_decoder_table(code)
        for p in (0.01, 0.05, 0.1):
            ml = qec.logical_error_rate(enum, p)
            mw = qec.logical_error_rate(enum, p, table)
            assert mw >= ml - 1e-15
            if d == 3:
                assert abs(mw - ml) < 1e-15


def test_matching_table_agrees_with_pymatching_on_samples():
    import pymatching

    code = qec.rotated_surface_code(5)
    errs = qec.sample_errors(jax.random.key(0), code, 0.08, 2000)
    s = qec.syndromes(code, errs)
    corr = pymatching.Matching(code.check_matrix).decode_batch(s).astype(np.uint8)
    fail = ((corr ^ errs).astype(int) @ code.logical_z) % 2
    table = qec.matching_decoder_table(code)
    idx = (s.astype(np.int64) << np.arange(11, -1, -1)).sum(1)
    assert np.array_equal(fail, (table[idx] != qec.logical_classes(code, errs)).astype(int))


def test_sample_errors_rate():
    code = qec.rotated_surface_code(3)
    e = qec.sample_errors(jax.random.key(1), code, 0.2, 20_000)
    assert e.shape == (20_000, 9) and e.dtype == np.uint8
    assert abs(e.mean() - 0.2) < 4 * np.sqrt(0.2 * 0.8 / e.size)


def test_bad_inputs():
    with pytest.raises(ValueError, match="odd"):
        qec.rotated_surface_code(4)
    with pytest.raises(TypeError, match="distance"):
        qec.repetition_code(3.0)
    code = qec.rotated_surface_code(3)
    with pytest.raises(ValueError, match="last axis"):
        qec.syndromes(code, np.zeros(8, int))
    with pytest.raises(ValueError, match="0 and 1"):
        qec.syndromes(code, np.full(9, 2))
    with pytest.raises(TypeError, match="Code"):
        qec.syndromes(np.zeros((4, 9)), np.zeros(9, int))
    enum = qec.weight_enumerator(code)
    with pytest.raises(ValueError, match="p must"):
        qec.logical_error_rate(enum, 0.7)
    with pytest.raises(ValueError, match="decoder_table"):
        qec.logical_error_rate(enum, 0.1, np.zeros(3, int))
    with pytest.raises(ValueError, match="too many"):
        qec.weight_enumerator(qec.rotated_surface_code(7))
    with pytest.raises(TypeError, match="key"):
        qec.sample_errors(0, code, 0.1, 10)

"""MPS Born machine helpers against dense vectors, brute-force sums and exact Schmidt ranks."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.tensornet import (bars_and_stripes, data_state, fit_mps_born, init_mps, mps_amplitudes,
                                      mps_log_norm, mps_log_prob, mps_nll, mps_to_dense, schmidt_ranks)


def all_configs(n, d=2):
    return np.array(list(itertools.product(range(d), repeat=n)), dtype=np.int32)


@pytest.mark.parametrize("rows, cols", [(2, 2), (3, 3), (2, 4), (4, 3)])
def test_bars_and_stripes_counts_and_structure(rows, cols):
    images = bars_and_stripes(rows, cols)
    assert images.shape == (2**rows + 2**cols - 2, rows * cols)
    assert len({tuple(x) for x in images}) == images.shape[0]
    grids = images.reshape(-1, rows, cols)
    bars = np.all(grids == grids[:, :1, :], axis=(1, 2))
    stripes = np.all(grids == grids[:, :, :1], axis=(1, 2))
    assert np.all(bars | stripes)


@pytest.mark.parametrize("n, D, d", [(3, 2, 2), (5, 3, 2), (4, 2, 3)])
def test_contraction_matches_dense_vector(n, D, d):
    tensors = init_mps(jax.random.key(n + D), n, D, local_dim=d, scale=0.5)
    dense = np.asarray(mps_to_dense(tensors))
    # dense vector from explicit matrix products, configuration by configuration
    configs = all_configs(n, d)
    brute = np.array([np.linalg.multi_dot([np.asarray(tensors[0][0, x[0]])[None, :]]
                                          + [np.asarray(tensors[k][:, x[k], :]) for k in range(1, n)])[0, 0]
                      for x in configs])
    np.testing.assert_allclose(dense, brute, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(mps_amplitudes(tensors, configs)), brute, rtol=1e-12, atol=1e-14)
    assert abs(float(mps_log_norm(tensors)) - np.log(np.sum(brute**2))) < 1e-12
    p = np.exp(np.asarray(mps_log_prob(tensors, configs)))
    np.testing.assert_allclose(p, brute**2 / np.sum(brute**2), rtol=1e-10)
    assert abs(p.sum() - 1) < 1e-12


def test_log_norm_does_not_overflow_on_long_chains():
    tensors = 3.0 * init_mps(jax.random.key(0), 400, 2, scale=0.1)  # Z ~ 9^400: far beyond float64
    log_z = float(mps_log_norm(tensors))
    assert np.isfinite(log_z) and log_z > 400 * np.log(8)


def test_schmidt_ranks_exact_cases():
    plus = np.ones(2**6) / 8.0
    assert schmidt_ranks(plus).tolist() == [1] * 5
    ghz = np.zeros(2**6)
    ghz[[0, -1]] = 1
    assert schmidt_ranks(ghz).tolist() == [2] * 5
    generic = np.asarray(jax.random.normal(jax.random.key(1), (2**6,)))
    assert schmidt_ranks(generic).tolist() == [2, 4, 8, 4, 2]
    qutrits = np.asarray(jax.random.normal(jax.random.key(2), (3**4,)))
    assert schmidt_ranks(qutrits, local_dim=3).tolist() == [3, 9, 3]
    assert schmidt_ranks(data_state(bars_and_stripes(3, 3))).tolist() == [2, 4, 7, 8, 8, 7, 4, 2]


def test_mps_ranks_bounded_by_bond_dimension():
    tensors = init_mps(jax.random.key(3), 8, 3, scale=1.0)
    assert schmidt_ranks(np.asarray(mps_to_dense(tensors))).max() <= 3


def test_data_state_is_normalized_square_root_of_frequencies():
    data = np.array([[0, 1], [0, 1], [1, 1], [0, 0]])
    np.testing.assert_allclose(data_state(data), np.sqrt([1 / 4, 2 / 4, 0, 1 / 4]))


def test_parity_data_state_has_schmidt_rank_two():
    configs = all_configs(7)
    parity = configs[configs.sum(axis=1) % 2 == 0]
    assert schmidt_ranks(data_state(parity)).tolist() == [2] * 6


def test_born_machine_is_exact_at_the_largest_schmidt_rank():
    images = bars_and_stripes(3, 2)  # 10 images of 6 pixels; Schmidt ranks 2, 3, 4, 3, 2
    ranks = schmidt_ranks(data_state(images))
    assert ranks.tolist() == [2, 3, 4, 3, 2]
    for seed in (0, 1):
        tensors, nll = fit_mps_born(init_mps(jax.random.key(seed), 6, 4), images, bond_dims=[1, 3, 4],
                                    n_steps=400, lr=0.05)
        assert tensors.shape == (3, 6, 4, 2, 4) and nll.shape == (3, 400)
        gaps = np.array([float(mps_nll(t, images)) for t in tensors]) - np.log(10)
        assert abs(gaps[2]) < 1e-4  # D = 4 = max rank: exact
        assert gaps[1] > 1e-2  # D = 3: cannot be exact (no sign pattern lowers the rank here either)
        # D = 1: every pixel is on with probability 1/2, so the best product distribution is uniform
        assert abs(gaps[0] - (6 * np.log(2) - np.log(10))) < 1e-6
        assert np.all(np.asarray(tensors[0])[:, 1:, :, :] == 0)  # bond dimension 1 really is 1


def test_fit_compiles_once_for_new_data_of_the_same_shape():
    t0 = init_mps(jax.random.key(5), 4, 2)
    data = all_configs(4)[:5]
    fit_mps_born(t0, data, bond_dims=[1, 2], n_steps=3)
    with jax.log_compiles():
        import logging
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("jax").addHandler(handler)
        try:
            fit_mps_born(t0, all_configs(4)[5:10], bond_dims=[2, 1], n_steps=3, lr=0.01)
        finally:
            logging.getLogger("jax").removeHandler(handler)
    assert not [r for r in records if "_fit_masked" in r.getMessage()]


def test_bad_inputs():
    key = jax.random.key(0)
    t = init_mps(key, 3, 2)
    with pytest.raises(TypeError, match="rows"):
        bars_and_stripes(2.5, 3)
    with pytest.raises(ValueError, match="cols"):
        bars_and_stripes(3, 6)
    with pytest.raises(ValueError, match="n_sites"):
        init_mps(key, 1, 2)
    with pytest.raises(TypeError, match="key"):
        init_mps(np.uint32([0, 1]), 3, 2)
    with pytest.raises(ValueError, match="spins"):
        mps_nll(t, np.array([[1, -1, 1]]))
    with pytest.raises(ValueError, match="3 columns"):
        mps_nll(t, np.zeros((2, 4), int))
    with pytest.raises(ValueError, match="shape"):
        mps_log_norm(jnp.zeros((3, 2, 2, 3)))
    with pytest.raises(TypeError, match="floating"):
        mps_log_norm(jnp.zeros((3, 2, 2, 2), int))
    with pytest.raises(ValueError, match="bond_dims"):
        fit_mps_born(t, np.zeros((1, 3), int), bond_dims=[3])
    with pytest.raises(ValueError, match="length"):
        schmidt_ranks(np.ones(6))
    with pytest.raises(ValueError, match="non-zero"):
        schmidt_ranks(np.zeros(8))
    with pytest.raises(ValueError, match="rtol"):
        schmidt_ranks(np.ones(8), rtol=2.0)
    with pytest.raises(ValueError, match="finite"):
        mps_log_norm(t.at[0, 0, 0, 0].set(jnp.nan))


def test_dtype_is_preserved():
    t = init_mps(jax.random.key(0), 4, 2, dtype=jnp.float32)
    assert t.dtype == jnp.float32
    assert mps_log_norm(t).dtype == jnp.float32
    assert mps_nll(t, np.zeros((2, 4), int)).dtype == jnp.float32

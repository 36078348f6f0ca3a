"""Chapter 15's checks accept right answers and explain wrong ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers.course.checks import ch15
from physml_helpers.gauge import LCNN_OFFSETS, exact_average_plaquette, init_lcnn


def _polyakov(theta):
    theta = jnp.asarray(theta)
    return theta[0].sum(axis=0), theta[1].sum(axis=1)


def test_polyakov_loops(capsys):
    flat = jnp.zeros((2, 8, 8)).at[0].set(0.3)
    ch15.check_polyakov_loops(_polyakov, flat)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="swapped"):
        ch15.check_polyakov_loops(lambda t: _polyakov(t)[::-1], flat)
    with pytest.raises(AssertionError, match="pure gauge"):
        ch15.check_polyakov_loops(_polyakov, jnp.zeros((2, 8, 8)))
    with pytest.raises(AssertionError, match="constant angle"):
        ch15.check_polyakov_loops(_polyakov, jnp.zeros((2, 8, 8)).at[0, 0, 0].set(1.0))
    ch15.check_polyakov_loops(..., flat)
    assert "not attempted" in capsys.readouterr().out


def test_tiny_torus(capsys):
    finite = exact_average_plaquette(2.0, n_plaquettes=4)
    ch15.check_tiny_torus(finite + 0.001, 0.0017)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="infinite-volume"):
        ch15.check_tiny_torus(exact_average_plaquette(2.0), 0.0015)
    with pytest.raises(AssertionError, match="standard errors"):
        ch15.check_tiny_torus(finite + 0.02, 0.0017)
    with pytest.raises(AssertionError, match="implausible"):
        ch15.check_tiny_torus(finite, 0.0)


def _loop_params(offsets=((0, 0), (1, 0), (0, 1), (1, 1)), second_layer=True):
    params = jax.tree_util.tree_map(jnp.zeros_like, init_lcnn(jax.random.key(0), channels=(4, 2, 1)))
    for channel, offset in enumerate(offsets):
        params["conv"] = params["conv"].at[0, channel, 0, LCNN_OFFSETS.index(offset)].set(1.0)
    params["bilinear"][0] = params["bilinear"][0].at[0, 0, 0, 1].set(1.0).at[0, 1, 2, 3].set(1.0)
    if second_layer:
        params["bilinear"][1] = params["bilinear"][1].at[0, 0, 0, 1].set(1.0)
    else:  # pass the first 1x2 loop through: times the constant channel
        params["bilinear"][1] = params["bilinear"][1].at[0, 0, 0, 2].set(1.0)
    params["readout"] = params["readout"].at[0].set(1.0)
    return params


def test_loop_by_hand(capsys):
    ch15.check_loop_by_hand(_loop_params())
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="1 x 2 loop"):
        ch15.check_loop_by_hand(_loop_params(second_layer=False))
    with pytest.raises(AssertionError, match="one site off"):
        ch15.check_loop_by_hand(_loop_params(offsets=((-1, -1), (0, -1), (-1, 0), (0, 0))))
    with pytest.raises(AssertionError, match="lcnn_apply"):
        ch15.check_loop_by_hand(init_lcnn(jax.random.key(1), channels=(4, 2, 1)))


def _dagger(m):
    return np.conj(np.swapaxes(m, -1, -2))


def _shift(m, mu):
    return np.roll(m, -1, axis=mu)


def _plaquettes(links):
    return links[0] @ _shift(links[1], 0) @ _dagger(_shift(links[0], 1)) @ _dagger(links[1])


def test_su2_transport(capsys):
    transported = lambda links, W: W + links[0] @ _shift(W, 0) @ _dagger(links[0])  # noqa: E731
    ch15.check_su2_transport(_plaquettes, transported)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="naive sum"):
        ch15.check_su2_transport(_plaquettes, lambda links, W: W + _shift(W, 0))
    with pytest.raises(AssertionError, match="not covariant"):
        ch15.check_su2_transport(lambda l: l[0] @ _dagger(_shift(l[0], 1)) @ _shift(l[1], 0) @ _dagger(l[1]), transported)
    with pytest.raises(AssertionError, match="not covariant"):
        ch15.check_su2_transport(_plaquettes, lambda links, W: W + _dagger(links[0]) @ _shift(W, 0) @ links[0])
    # the random matrices really are in SU(2)
    u = ch15.random_su2(np.random.default_rng(0), (5,))
    np.testing.assert_allclose(u @ _dagger(u), np.broadcast_to(np.eye(2), (5, 2, 2)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(u), 1.0, atol=1e-12)

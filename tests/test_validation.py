"""The shared input checks (_validation) and the iterative-method machinery (_kernels)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physml_helpers import ConvergenceError, _validation as _v
from physml_helpers._kernels import require_converged, require_finite_history, scan_kernel


@pytest.mark.parametrize("value", [2.5, True, "3", None, np.float64(2.0)])
def test_counts_of_the_wrong_kind_are_type_errors(value):
    with pytest.raises(TypeError, match="n must be an integer"):
        _v.count("n", value)
    with pytest.raises(TypeError, match="n must be an integer"):
        _v.integer("n", value)


def test_counts_accept_numpy_integers_and_reject_small_values():
    assert _v.count("n", np.int64(3), minimum=1) == 3
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        _v.count("n", 0, minimum=1)


@pytest.mark.parametrize("value, error", [("1.0", TypeError), (None, TypeError), (True, TypeError),
                                          (float("nan"), ValueError), (-1.0, ValueError)])
def test_positive_numbers(value, error):
    with pytest.raises(error, match="dt must be"):
        _v.positive_float("dt", value)


def test_only_one_typed_key_is_a_key():
    _v.key(jax.random.key(0))
    with pytest.raises(TypeError, match="raw uint32 array.*jax.random.key"):
        _v.key(jax.random.PRNGKey(0))
    with pytest.raises(TypeError, match="raw uint32 array"):
        _v.key(jnp.array([3, 4], jnp.uint32))  # any uint32 pair used to pass as a key
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        _v.key(0)
    with pytest.raises(ValueError, match="single key"):
        _v.key(jax.random.split(jax.random.key(0), 3))
    jax.vmap(_v.key)(jax.random.split(jax.random.key(0), 3))  # a traced key inside vmap is one key


def test_one_symmetry_tolerance_set_by_the_dtype():
    base = np.array([[2.0, 1.0], [1.0, 3.0]])
    slightly = base + np.array([[0.0, 1e-6], [0.0, 0.0]])  # asymmetric at 3e-7 relative
    _v.check_symmetric("h", slightly.astype(np.float32))  # within float32 rounding: accepted
    with pytest.raises(ValueError, match="h must be symmetric"):
        _v.check_symmetric("h", slightly)  # far beyond float64 rounding: refused
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="must be symmetric"):
        _v.check_symmetric("h", sp.csr_matrix(slightly))
    # every helper that needs a symmetric matrix uses this one check
    from physml_helpers.landscape import classify_critical_point, smoothness_constant
    from physml_helpers.langevin import lyapunov_covariance

    for call in (lambda: smoothness_constant(slightly), lambda: classify_critical_point(slightly),
                 lambda: lyapunov_covariance(slightly, base, lr=0.1), lambda: lyapunov_covariance(base, slightly, lr=0.1)):
        with pytest.raises(ValueError, match="must be symmetric"):
            call()


def test_output_shape_names_the_callable_and_the_shapes():
    with pytest.raises(ValueError, match=r"f must return a scalar, got \(3,\)"):
        _v.output_shape("f", lambda x: x, jnp.ones(3), expected=())
    with pytest.raises(ValueError, match=r"f could not be evaluated on arguments of shape \(3,\)"):
        _v.output_shape("f", lambda x: x @ jnp.ones(4), jnp.ones(3))
    with pytest.raises(TypeError, match="f must be a callable"):
        _v.output_shape("f", 3, jnp.ones(3))


def test_float_arrays_promote_integers_and_keep_float32():
    assert _v.float_array("x", [1, 2]).dtype == jnp.float64
    assert _v.float_array("x", jnp.ones(2, jnp.float32)).dtype == jnp.float32
    with pytest.raises(TypeError, match="x must hold real numbers"):
        _v.float_array("x", jnp.ones(2, jnp.complex64))
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        _v.float_array("x", "abc")
    with pytest.raises(ValueError, match="x must contain only finite numbers"):
        _v.float_array("x", [1.0, np.inf], finite=True)


def test_scan_kernel_records_blocks_and_splits_keys_as_documented():
    def step(key, state):
        noise = jax.random.normal(key, ())
        return state + noise, noise

    key = jax.random.key(3)
    final, records, infos = scan_kernel(step, jnp.zeros(()), 6, key, record_every=2)
    noises = np.array([float(jax.random.normal(k, ())) for k in jax.random.split(key, 6)])
    np.testing.assert_allclose(records, np.cumsum(noises)[1::2], atol=1e-14)
    np.testing.assert_allclose(infos, noises[1::2], atol=1e-14)  # the info of the recorded steps
    assert float(final) == pytest.approx(noises.sum(), abs=1e-14)
    # recording every step instead gives the same trajectory, not a different random stream
    _, every, _ = scan_kernel(step, jnp.zeros(()), 6, key, record_every=1)
    np.testing.assert_allclose(every[1::2], records, atol=1e-14)
    det_final, det_records, _ = scan_kernel(lambda s: (s + 1.0, s), jnp.zeros(()), 4)
    assert float(det_final) == 4.0 and det_records.shape == (4,)


def test_require_converged_raises_only_on_concrete_failures():
    assert require_converged(jnp.array([True, True]), lambda: "unused")
    with pytest.raises(ConvergenceError, match="did not converge"):
        require_converged(jnp.array([True, False]), lambda: "did not converge")
    traced = []
    jax.jit(lambda c: traced.append(require_converged(c, lambda: "")) or c)(jnp.array(False))
    assert traced == [False]  # traced: it cannot raise, and says so
    with pytest.raises(ConvergenceError, match="fit diverged: the loss became nan at step 2"):
        require_finite_history("fit", jnp.array([1.0, 0.5, jnp.nan, jnp.nan]), 0.1)
    assert issubclass(ConvergenceError, RuntimeError)


def test_finite_checks_say_where_and_skip_traced_values():
    with pytest.raises(ValueError, match=r"x0 must contain only finite numbers, got nan at index \(1,\)"):
        _v.float_array("x0", [1.0, np.nan], finite=True)
    with pytest.raises(ValueError, match=r"got inf at index \(0, 1\) \(2 non-finite entries in all\)"):
        _v.finite("h", np.array([[1.0, np.inf], [np.nan, 0.0]]))
    _v.finite("h", None)
    jax.jit(lambda x: _v.finite("x", x) or x)(jnp.array([np.nan]))  # traced: nothing to check
    with pytest.raises(ValueError, match="x must not be empty"):
        _v.float_array("x", jnp.zeros((2, 0)), nonempty=True)


def test_finite_tree_names_the_leaf_and_refuses_non_numbers():
    params = {"a": jnp.ones(2), "b": [jnp.ones(3), jnp.array([0.0, np.nan])]}
    with pytest.raises(ValueError, match=r"params must contain only finite numbers, got nan at index \(1,\) in "
                                         r"params\['b'\]\[1\]"):
        _v.finite_tree("params", params)
    with pytest.raises(TypeError, match="params must hold arrays of numbers"):
        _v.finite_tree("params", {"a": "abc"})
    with pytest.raises(ValueError, match="at least one array"):
        _v.finite_tree("params", {})
    _v.finite_tree("params", {"a": jnp.ones(2), "b": 3.0})
    jax.jit(lambda p: _v.finite_tree("p", p) or p)(params)  # traced leaves are skipped


def test_spins_accept_plus_minus_one_and_explain_bits():
    _v.spins("s", jnp.array([1.0, -1.0]))
    _v.spins("s", np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"s must hold spins \+1 or -1.*0/1 bits: convert them with s = 1 - 2 \* bits"):
        _v.spins("s", [1, 0, 1])
    with pytest.raises(ValueError, match="s must hold spins.*nan"):
        _v.spins("s", [1.0, np.nan])
    jax.jit(lambda s: _v.spins("s", s) or s)(jnp.array([0.0, 1.0]))  # traced: not checked


def test_traced_or_real_checks_only_concrete_numbers():
    assert _v.traced_or_real("h", 2) == 2.0
    with pytest.raises(ValueError, match="h must be finite"):
        _v.traced_or_real("h", float("nan"))
    with pytest.raises(TypeError, match="h must be a real number"):
        _v.traced_or_real("h", "1")
    assert float(jax.jit(lambda h: _v.traced_or_real("h", h) * 2)(1.5)) == 3.0


def test_lists_of_strings_are_type_errors_before_jax_sees_them():
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        _v.float_array("x", [["a", "b"]])
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        _v.float_array("x", [1.0, None])


def test_precision_warning_names_the_dtype_the_tolerance_and_the_way_out():
    assert _v.rounding_level(np.float32, 1.0) == pytest.approx(10 * np.finfo(np.float32).eps)
    assert _v.rounding_level(np.float64, 0.0) > 0
    assert _v.rounding_level(np.int32, 1.0) == 0.0
    with pytest.warns(UserWarning, match=r"h is float32.*above tol=1e-08.*setup_notebook\(float64=True\).*larger tol"):
        _v.precision_warning("h", np.float32, tol_name="tol", tol=1e-8, level=1e-6)


def test_shape_structs_and_output_shape_accept_pytrees_of_arrays():
    params = {"w": jnp.ones((2, 3)), "b": [jnp.zeros(3)], "scale": 2.0}
    structs = _v.shape_structs(params)
    assert structs["w"].shape == (2, 3) and structs["b"][0].dtype == jnp.float64 and structs["scale"] == 2.0
    out = _v.output_shape("f", lambda p, x: x @ p["w"] + p["b"][0], params, jnp.ones(2), expected=(3,))
    assert out.shape == (3,)

"""setup_notebook and the live-or-static slider figure."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from physml_helpers import setup_notebook  # noqa: E402
from physml_helpers.interactive import slider_figure  # noqa: E402


def test_import_has_no_side_effects():
    code = "import jax, physml_helpers, physml_helpers.landscape; print(jax.config.jax_enable_x64)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_setup_notebook_float64_in_fresh_process():
    code = "from physml_helpers import setup_notebook; setup_notebook(float64=True); import jax.numpy as jnp; print(jnp.ones(1).dtype)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "float64"


def test_setup_notebook_rejects_non_bool():
    with pytest.raises(TypeError, match="float64 must be True or False, got 'yes'"):
        setup_notebook(float64="yes")


def _figure(value):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, value])
    return fig


def test_slider_figure_has_widget_and_static_html():
    sf = slider_figure(_figure, [0.5, 1.0, 2.0], label="slope", alt=lambda v: f"a line of slope {v}")
    bundle = sf._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert html.count("data:image/png;base64,") == 3 + 1  # three frames in the script, one shown
    assert 'alt="a line of slope 1.0"' in html
    assert 'type="range"' in html and 'max="2"' in html


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((_figure, [1.0]), {"label": "x", "alt": str}, ValueError, "at least two slider positions"),
        ((_figure, [1.0, 2.0]), {"label": " ", "alt": str}, ValueError, "label must be a non-empty string"),
        (("nope", [1.0, 2.0]), {"label": "x", "alt": str}, TypeError, "figure_fn must be a callable"),
        ((_figure, [1.0, 2.0]), {"label": "x", "alt": "text"}, TypeError, "alt must be a callable"),
    ],
)
def test_slider_figure_rejects_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        slider_figure(*args, **kwargs)


def _run(code):
    return subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, check=True)


def test_setup_notebook_false_turns_64_bit_floats_off():
    out = _run("import jax; jax.config.update('jax_enable_x64', True)\n"
               "from physml_helpers import setup_notebook; setup_notebook(float64=False)\n"
               "import jax.numpy as jnp; print(jnp.ones(1).dtype)")
    assert out.stdout.strip() == "float32"
    assert "UserWarning" not in out.stderr  # JAX had not been used yet: nothing to warn about


def test_switching_precision_after_jax_was_used_warns():
    out = _run("import jax.numpy as jnp; x = jnp.ones(1)\n"
               "from physml_helpers import setup_notebook; setup_notebook(float64=True)\n"
               "print(x.dtype, jnp.ones(1).dtype)")
    assert out.stdout.split() == ["float32", "float64"]  # the old array stays float32: the reason for the warning
    assert "after JAX has already been used" in out.stderr and "Restart the kernel" in out.stderr
    quiet = _run("import jax.numpy as jnp; x = jnp.ones(1)\n"
                 "from physml_helpers import setup_notebook; setup_notebook(float64=False)")
    assert "UserWarning" not in quiet.stderr  # no change of precision, no warning

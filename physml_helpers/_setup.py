"""The one explicit call at the top of every notebook."""

from __future__ import annotations

# A calm, readable default shared by every figure in the book.
_RC = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "legend.frameon": False,
    "font.size": 10,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
}


def setup_notebook(*, float64: bool = False) -> None:
    """Set the book's plot style and the floating-point precision of JAX.

    Call it once, in the first code cell of a notebook, before anything creates a JAX array. It is
    explicit on purpose: importing ``physml_helpers`` never changes global state.

    Args:
      float64: True turns ``jax_enable_x64`` on, so that arrays default to float64 (the chapters whose
        checks need 1e-10 agreement, and their exercises, ask for it); False turns it off (32-bit floats),
        whatever an earlier cell set.

    Returns:
      None.

    Raises:
      TypeError: if ``float64`` is not a bool.

    Warns:
      UserWarning: when the precision changes after JAX has already been used in this process: arrays
        created before keep their old dtype, so results would mix precisions. Restart the kernel and call
        ``setup_notebook`` first.
    """
    if not isinstance(float64, bool):
        raise TypeError(f"float64 must be True or False, got {float64!r} ({type(float64).__name__})")
    import warnings

    import jax
    import matplotlib as mpl

    if bool(jax.config.jax_enable_x64) != float64:
        if _jax_in_use():
            bits = "64" if float64 else "32"
            warnings.warn(
                f"setup_notebook(float64={float64}) switches JAX to {bits}-bit floats after JAX has already been "
                "used: arrays created earlier keep their old dtype and results may mix precisions. Restart the "
                "kernel and run this cell first.",
                UserWarning,
                stacklevel=2,
            )
        jax.config.update("jax_enable_x64", float64)
    mpl.rcParams.update(_RC)
    try:  # inline PNGs are what the book embeds; SVG would bloat the pages
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # pragma: no cover - outside IPython
        pass


def _jax_in_use() -> bool:
    """Whether a JAX backend has been started in this process (every array creation starts one)."""
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # pragma: no cover - private API moved: say nothing rather than fail
        return False

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
    """Set the book's plot style and, on request, 64-bit floats in JAX.

    Call it once, in the first code cell of a notebook. It is explicit on purpose: importing
    ``physml_helpers`` never changes global state.

    Args:
      float64: if True, turn on ``jax_enable_x64`` so that arrays created afterwards default to
        float64. Chapters whose checks need 1e-10 agreement ask for it.

    Raises:
      TypeError: if ``float64`` is not a bool.
    """
    if not isinstance(float64, bool):
        raise TypeError(f"float64 must be True or False, got {float64!r} ({type(float64).__name__})")
    import jax
    import matplotlib as mpl

    if float64:
        jax.config.update("jax_enable_x64", True)
    mpl.rcParams.update(_RC)
    try:  # inline PNGs are what the book embeds; SVG would bloat the pages
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # pragma: no cover - outside IPython
        pass

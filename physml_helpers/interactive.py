"""Figures that are live in JupyterLab and still interactive in the static book.

:func:`slider_figure` returns one object that carries two representations of the same figure:

* a live ``ipywidgets`` slider that redraws the figure in a running kernel (what JupyterLab shows);
* a self-contained HTML block, with every frame pre-rendered as an image and a plain range input to
  scrub through them, that needs no kernel and no network (what the rendered book shows; the book's
  configuration gives the widget view no priority in HTML).
"""

from __future__ import annotations

import base64
import html
import io
import uuid
from typing import Any, Callable, Sequence

from physml_helpers import _validation as _v

__all__ = ["slider_figure", "SliderFigure"]

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _png_base64(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


class SliderFigure:
    """A figure with a slider: a live widget in a kernel, pre-rendered frames in static HTML."""

    def __init__(self, figure_fn, values, *, label, alt, fmt, live_range):
        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        from IPython.display import display

        self._values = list(values)
        self._label = label
        self._alt = alt
        self._fmt = fmt
        self._frames = [_png_base64(figure_fn(v)) for v in self._values]

        lo, hi, step = live_range
        slider = widgets.FloatSlider(
            value=self._values[len(self._values) // 2], min=lo, max=hi, step=step,
            description=label, readout_format=fmt.replace("{:", "").replace("}", "") or ".3g",
            continuous_update=False, style={"description_width": "initial"},
            layout=widgets.Layout(width="90%"),
        )

        def draw(value):
            fig = figure_fn(value)
            display(fig)
            plt.close(fig)

        self.widget = widgets.interactive(draw, value=slider)

    def _static_html(self) -> str:
        uid = "sf-" + uuid.uuid4().hex[:10]
        labels = [self._fmt.format(v) for v in self._values]
        alts = [html.escape(self._alt(v), quote=True) for v in self._values]
        start = len(self._values) // 2
        frames_js = ",".join(f'"data:image/png;base64,{f}"' for f in self._frames)
        labels_js = ",".join('"' + html.escape(s, quote=True) + '"' for s in labels)
        alts_js = ",".join('"' + a + '"' for a in alts)
        return f"""
<div class="slider-figure" id="{uid}">
  <label for="{uid}-range">{html.escape(self._label)} <output id="{uid}-out">{html.escape(labels[start])}</output></label>
  <input type="range" id="{uid}-range" min="0" max="{len(self._values) - 1}" step="1" value="{start}" style="width:90%">
  <img id="{uid}-img" src="data:image/png;base64,{self._frames[start]}" alt="{alts[start]}" style="max-width:100%">
</div>
<script>
(function() {{
  var frames = [{frames_js}], labels = [{labels_js}], alts = [{alts_js}];
  var range = document.getElementById("{uid}-range"), img = document.getElementById("{uid}-img");
  var out = document.getElementById("{uid}-out");
  range.addEventListener("input", function() {{
    var i = parseInt(range.value, 10);
    img.src = frames[i]; img.alt = alts[i]; out.textContent = labels[i];
  }});
}})();
</script>
"""

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self._static_html()
        bundle.setdefault("text/plain", f"SliderFigure({self._label!r}, {len(self._values)} frames)")
        return bundle


def slider_figure(
    figure_fn: Callable[[float], Any],
    values: Sequence[float],
    *,
    label: str,
    alt: Callable[[float], str],
    fmt: str = "{:.3g}",
    live_range: tuple[float, float, float] | None = None,
) -> SliderFigure:
    """Build a figure controlled by one slider, live in JupyterLab and scrubbable in the book.

    Args:
      figure_fn: ``value -> matplotlib.figure.Figure``; called once per entry of ``values`` to
        pre-render the static frames, and again on every move of the live slider.
      values: the slider positions pre-rendered for the static book (at least two).
      label: text shown next to the slider.
      alt: ``value -> str``, the alt text of the frame at that value (screen readers, search).
      fmt: format string for the value shown next to the slider.
      live_range: ``(min, max, step)`` of the live slider; default spans ``values`` in 100 steps.

    Returns:
      A :class:`SliderFigure`; display it as the last expression of a cell.

    Raises:
      TypeError: ``figure_fn`` or ``alt`` not callable.
      ValueError: fewer than two values, or an empty label.
    """
    _v.callable_("figure_fn", figure_fn)
    _v.callable_("alt", alt)
    values = [float(v) for v in values]
    if len(values) < 2:
        raise ValueError(f"values must hold at least two slider positions, got {len(values)}")
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"label must be a non-empty string, got {label!r}")
    if live_range is None:
        lo, hi = min(values), max(values)
        live_range = (lo, hi, (hi - lo) / 100 or 1.0)
    return SliderFigure(figure_fn, values, label=label, alt=alt, fmt=fmt, live_range=live_range)

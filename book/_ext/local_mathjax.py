"""Serve MathJax from the book itself, so pages typeset math without any network access.

The MathJax 3 files come from the ``django-static-mathjax`` package (listed in requirements.txt);
this extension copies the self-contained SVG build into ``_static/mathjax/`` of the HTML output.
``mathjax_path`` in ``_config.yml`` points at it.
"""

import importlib.util
import pathlib
import shutil

_FILE = "tex-svg.js"


def _source() -> pathlib.Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.origin:
        raise RuntimeError(
            "MathJax files not found: install the book's requirements (pip install -r requirements.txt), "
            "which include django-static-mathjax"
        )
    path = pathlib.Path(spec.origin).parent / "static" / "mathjax" / "es5" / _FILE
    if not path.is_file():
        raise RuntimeError(f"MathJax file missing from django-static-mathjax: expected {path}")
    return path


def _copy(app, exception):
    if exception is None and app.builder.format == "html":
        target = pathlib.Path(app.outdir) / "_static" / "mathjax"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_source(), target / _FILE)


def setup(app):
    _source()  # fail early, at the start of the build, if the package is missing
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

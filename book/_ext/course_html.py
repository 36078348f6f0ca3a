"""HTML details of the course book that the stock configuration cannot express.

1. MathJax is served from the book itself, so pages typeset math without any network access. The
   MathJax 3 files come from the ``django-static-mathjax`` package (in requirements.txt); the
   self-contained SVG build with every TeX extension is copied into ``_static/mathjax/``, where
   ``mathjax_path`` in ``_config.yml`` points.
2. sphinx-thebe registers its inline configuration script each time the environment reads documents,
   which can put ``const THEBE_JS_URL = ...`` on a page twice and make the browser throw
   "Identifier 'THEBE_JS_URL' has already been declared". Identical inline scripts are kept once.
"""

import importlib.util
import pathlib
import shutil

_MATHJAX_FILE = "tex-svg-full.js"


def _mathjax_source() -> pathlib.Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.origin:
        raise RuntimeError(
            "MathJax files not found: install the book's requirements (pip install -r requirements.txt), "
            "which include django-static-mathjax"
        )
    path = pathlib.Path(spec.origin).parent / "static" / "mathjax" / "es5" / _MATHJAX_FILE
    if not path.is_file():
        raise RuntimeError(f"MathJax file missing from django-static-mathjax: expected {path}")
    return path


def _copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        target = pathlib.Path(app.outdir) / "_static" / "mathjax"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_mathjax_source(), target / _MATHJAX_FILE)


def _dedupe_inline_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        inline = not getattr(script, "filename", script)  # None or "" for an inline script
        body = getattr(script, "attributes", {}).get("body") if inline else None
        if body is not None:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    _mathjax_source()  # fail at the start of the build, not the end, if the package is missing
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _dedupe_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

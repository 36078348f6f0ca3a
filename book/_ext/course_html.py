"""HTML details of the course book that the stock configuration cannot express.

1. MathJax is served from the book itself, so pages typeset math without any network access. The
   MathJax 3 files come from the ``django-static-mathjax`` package (in requirements.txt); the
   self-contained SVG build with every TeX extension is copied into ``_static/mathjax/``, where
   ``mathjax_path`` in ``_config.yml`` points.
2. sphinx-thebe registers its inline configuration script each time the environment reads documents,
   which can put ``const THEBE_JS_URL = ...`` on a page twice and make the browser throw
   "Identifier 'THEBE_JS_URL' has already been declared". Identical inline scripts are kept once.
3. The kernels that execute the notebooks run over IPC sockets rather than unencrypted TCP on
   localhost (``physml_helpers/course/ipc_kernel.py``, registered as the ``physml-ipc`` kernel
   provisioner by the package's entry point), so ipykernel prints no "running over TCP without
   encryption" warning into the build log.
"""

import importlib.metadata
import importlib.util
import os
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


def _use_ipc_kernels():
    names = {ep.name for ep in importlib.metadata.entry_points(group="jupyter_client.kernel_provisioners")}
    if "physml-ipc" in names:  # absent only where the helper package is not installed
        os.environ.setdefault("JUPYTER_DEFAULT_PROVISIONER_NAME", "physml-ipc")


def setup(app):
    _use_ipc_kernels()
    _mathjax_source()  # fail at the start of the build, not the end, if the package is missing
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _dedupe_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Build the PDF edition of the book: the single-page HTML edition, printed by headless Chromium.

Why Chromium and not LaTeX: the book's math is typeset by MathJax, its figures are the notebooks' PNG
outputs, its slider figures and admonitions are HTML, and its cross-references are already resolved by
Sphinx's ``singlehtml`` builder into anchors of one page. Printing that page keeps all of it exactly as
the HTML edition shows it, needs nothing beyond what the browser test already uses (Debian's
``chromium`` and Playwright, both in the requirements), and works offline. The LaTeX route would need a
TeX distribution of several hundred megabytes in CI and a second rendering of every notebook output.

The ``singlehtml`` build reuses the notebook execution cache of the HTML build (``_build/.jupyter_cache``
by default, or the ``execute.cache`` of the configuration given), so an executed notebook does not run
again. Chromium prints with the book's ``@media print`` rules (``book/_static/course.css``): every
document of the table of contents starts a new page, and the navigation, sidebars and buttons are left
out. The PDF keeps the page's links (cross-references become links inside the PDF) and gets an outline
built from the headings.

Usage (from the repository root)::

    python -m physml_helpers.course.pdf                 # full edition -> _build/pdf/book.pdf
    python -m physml_helpers.course.pdf --toc _toc_student.yml --out _build/pdf/student.pdf
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import http.server
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time

__all__ = ["find_chromium", "build_singlehtml", "print_pdf", "build_pdf", "main"]

# Flags that let Chromium run in a container without network access or a display (as in the tests).
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")

# Waits, inside the page, until MathJax has typeset every formula and every image has loaded; returns
# counts that say whether it worked.
_READY = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  const main = document.querySelector('main') || document.body;
  const shown = el => el.getClientRects().length > 0;
  return {
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    math_errors: document.querySelectorAll('mjx-merror').length,
    images: Array.from(main.querySelectorAll('img')).filter(shown).length,
    broken_images: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 120)),
  };
}"""

_FOOTER = ('<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">'
           '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def _jupyter_book() -> str:
    exe = pathlib.Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


def find_chromium() -> str | None:
    """Find the system Chromium (Debian's package ``chromium``).

    Returns:
        The path of the ``chromium`` (or ``chromium-browser``) executable on the PATH, or None.

    Raises:
        Nothing: a missing browser is reported by returning None.
    """
    return shutil.which("chromium") or shutil.which("chromium-browser")


def build_singlehtml(root: str | os.PathLike, path_output: str | os.PathLike | None = None, *,
                     config: str | os.PathLike | None = None, toc: str | os.PathLike | None = None,
                     strict: bool = True, timeout: float = 3600) -> tuple[pathlib.Path, str]:
    """Build the single-page HTML edition with jupyter-book's ``singlehtml`` builder.

    Args:
        root: the book's folder (the repository root).
        path_output: where ``_build/singlehtml`` goes; the repository root when None, so that the build
            shares ``_build/.jupyter_cache`` with ``jupyter-book build .``.
        config: a ``_config.yml`` to use instead of the one in ``root`` (its ``execute.cache`` names
            the execution cache to reuse).
        toc: a table of contents to use instead of ``_toc.yml`` (e.g. ``_toc_student.yml``).
        strict: treat warnings as errors and check every reference (``-W -n``), as the HTML tests do.
        timeout: seconds the build may take.

    Returns:
        The path of the page that holds the whole book, ``_build/singlehtml/book.html`` (the root
        document's page with its links fixed, see the code), and the build log.

    Raises:
        ValueError: if ``root`` is not a folder with a ``_config.yml``.
        RuntimeError: if the build fails; the message ends with the build log's tail.
    """
    root = pathlib.Path(root).resolve()
    if not root.is_dir() or not (config or (root / "_config.yml").is_file()):
        raise ValueError(f"root must be the book's folder (with a _config.yml), got {root}")
    path_output = pathlib.Path(path_output).resolve() if path_output is not None else root
    cmd = [_jupyter_book(), "build", str(root), "--builder", "singlehtml", "--path-output", str(path_output)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    if config is not None:
        cmd += ["--config", str(config)]
    if toc is not None:
        cmd += ["--toc", str(toc)]
    proc = subprocess.run(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    index = path_output / "_build" / "singlehtml" / "index.html"
    if proc.returncode != 0 or not index.is_file():
        raise RuntimeError(f"the single-page HTML build failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}")
    # jupyter-book writes index.html as a redirect to the root document, which holds the whole book.
    # Sphinx's singlehtml builder writes every link of that page relative to the output folder
    # ("_static/...", "book/intro.html#id5") although the root document may sit in a subfolder (ours is
    # book/intro.html), so in place the page finds neither its style sheets nor MathJax, and its
    # citations point at another URL. A copy at the top of the folder, with links to the root document
    # turned into links inside the page, is the single-page edition that gets printed.
    target = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index.read_text(encoding="utf-8"))
    if target is None:
        return index, proc.stdout
    root_doc = target.group(1)
    text = (index.parent / root_doc).read_text(encoding="utf-8")
    text = re.sub(r'href="' + re.escape(root_doc) + r'(#[^"]*)?"', lambda m: f'href="{m.group(1) or "#"}"', text)
    page = index.parent / "book.html"
    page.write_text(text, encoding="utf-8")
    return page, proc.stdout


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_pdf(html_page: str | os.PathLike, pdf_path: str | os.PathLike, *,
              site_root: str | os.PathLike | None = None, chromium: str | None = None, paper: str = "A4",
              scale: float = 0.85, timeout: float = 900) -> dict:
    """Open the single-page HTML edition in headless Chromium, wait for MathJax and the images, and print it.

    The page is served over HTTP on the loopback interface (MathJax loads its fonts and extensions that
    way) and laid out for the ``print`` media type, so the book's ``@media print`` rules apply.

    Args:
        html_page: the page to print: the whole book on one page, as :func:`build_singlehtml` returns it.
        pdf_path: the PDF to write (its folder is created).
        site_root: the folder served over HTTP, which must hold ``html_page`` and the ``_static`` folder
            it uses; the page's own folder when None.
        chromium: the Chromium executable; the system one (``chromium`` on the PATH) when None.
        paper: a paper format that Chromium knows ("A4", "Letter", ...).
        scale: the print scale (Chromium allows 0.1 to 2); 0.85 sets the body text near 10 pt on A4.
        timeout: seconds the page may take to load and typeset its math.

    Returns:
        What the page held when it was printed: ``math`` (formulas in the HTML), ``typeset`` (formulas
        MathJax typeset), ``math_errors`` (MathJax errors), ``images`` (images shown in the text),
        ``broken_images`` (images that failed to load) and ``seconds`` (time to load, typeset and print).

    Raises:
        FileNotFoundError: if ``html_page`` does not exist, or no Chromium is found.
        ValueError: if ``html_page`` is not inside ``site_root``.
        RuntimeError: if MathJax left formulas untypeset or reported errors, or an image failed to load.
    """
    from playwright.sync_api import sync_playwright

    html_page = pathlib.Path(html_page).resolve()
    if not html_page.is_file():
        raise FileNotFoundError(f"html_page: no such file {html_page}")
    if site_root is None:
        site_root = html_page.parent
    site_root = pathlib.Path(site_root).resolve()
    if site_root not in html_page.parents:
        raise ValueError(f"site_root must be a folder above html_page, got {site_root}")
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found: install Debian's package with `apt-get install chromium`")
    pdf_path = pathlib.Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)

    handler = functools.partial(_QuietHandler, directory=str(site_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    start = time.perf_counter()

    def load_and_print():
        # Playwright's synchronous API refuses a thread whose asyncio loop runs (a Jupyter kernel, or a
        # caller that already holds a synchronous Playwright session), so it runs in a thread of its own.
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 1400})
                page.set_default_timeout(timeout * 1000)
                page.emulate_media(media="print")
                url = f"http://127.0.0.1:{server.server_address[1]}/{html_page.relative_to(site_root).as_posix()}"
                page.goto(url, wait_until="load")
                state = page.evaluate(_READY)
                if state["typeset"] < state["math"] or state["math_errors"] or state["broken_images"]:
                    raise RuntimeError(f"the page is not ready to print: {state}")
                # The outline (bookmarks from the headings) needs a tagged PDF.
                page.pdf(path=str(pdf_path), format=paper, scale=scale, print_background=True, outline=True,
                         tagged=True, margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                         display_header_footer=True, header_template="<span></span>", footer_template=_FOOTER)
            finally:
                browser.close()
        return state

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            state = pool.submit(load_and_print).result()
    finally:
        server.shutdown()
        server.server_close()
    state["seconds"] = round(time.perf_counter() - start, 1)
    return state


def build_pdf(root: str | os.PathLike = ".", pdf_path: str | os.PathLike | None = None, *,
              path_output: str | os.PathLike | None = None, config: str | os.PathLike | None = None,
              toc: str | os.PathLike | None = None, strict: bool = True) -> dict:
    """Build the single-page HTML edition and print it to a PDF.

    Args:
        root: the book's folder (the repository root).
        pdf_path: the PDF to write; ``<root>/_build/pdf/book.pdf`` when None.
        path_output: where the ``singlehtml`` build goes (see :func:`build_singlehtml`).
        config: a ``_config.yml`` to use instead of the one in ``root``.
        toc: a table of contents to use instead of ``_toc.yml``.
        strict: build with ``-W -n`` (warnings are errors).

    Returns:
        :func:`print_pdf`'s summary, with ``pdf`` (the PDF's path), ``html`` (the ``index.html`` printed),
        ``log`` (the build log) and ``build_seconds``.

    Raises:
        ValueError: if ``root`` is not the book's folder.
        RuntimeError: if the build fails or the page is not ready to print.
        FileNotFoundError: if no Chromium is found.
    """
    root = pathlib.Path(root).resolve()
    pdf_path = pathlib.Path(pdf_path) if pdf_path is not None else root / "_build" / "pdf" / "book.pdf"
    start = time.perf_counter()
    index, log = build_singlehtml(root, path_output, config=config, toc=toc, strict=strict)
    build_seconds = round(time.perf_counter() - start, 1)
    summary = print_pdf(index, pdf_path)
    return {**summary, "pdf": pdf_path, "html": index, "log": log, "build_seconds": build_seconds}


def main(argv: list[str] | None = None) -> int:
    """Command line: build the PDF edition (see the module's docstring).

    Args:
        argv: the arguments; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 when the PDF was written.

    Raises:
        RuntimeError: if the build fails or the page is not ready to print.
        FileNotFoundError: if no Chromium is found.
    """
    parser = argparse.ArgumentParser(prog="python -m physml_helpers.course.pdf", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=".", help="the book's folder (default: the current folder)")
    parser.add_argument("--out", default=None, help="the PDF to write (default: _build/pdf/book.pdf)")
    parser.add_argument("--toc", default=None, help="table of contents (default: _toc.yml, the full edition)")
    parser.add_argument("--config", default=None, help="configuration (default: _config.yml)")
    parser.add_argument("--no-strict", action="store_true", help="do not treat build warnings as errors")
    args = parser.parse_args(argv)
    result = build_pdf(args.root, args.out, config=args.config, toc=args.toc, strict=not args.no_strict)
    print(f"wrote {result['pdf']}: {result['typeset']} formulas typeset, {result['images']} images; "
          f"build {result['build_seconds']} s, print {result['seconds']} s")
    return 0


def setup(app):
    """Sphinx extension (``_config.yml``, ``sphinx.extra_extensions``): what the single-page build lacks.

    myst-nb registers its collapsible cell-input node (cells tagged ``hide-input``) for the ``html``
    translator only; Sphinx falls back from ``singlehtml`` to ``html`` handlers only when no extension
    registered any for ``singlehtml``, and others do, so without this the single-page build stops at the
    first hidden input. The PDF shows hidden inputs collapsed, as the HTML edition does.

    Args:
        app: the Sphinx application.

    Returns:
        The extension's metadata.

    Raises:
        Nothing.
    """
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput, visit_HideCellInput

    app.add_node(HideCodeCellNode, override=True, singlehtml=(visit_HideCellInput, depart_HideCellInput))
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())

"""Build both editions of the book (warnings as errors, nitpicky) and inspect them, then open every page
in headless Chromium.

The builds go to a temporary folder and are shared by the tests of this module (one xdist worker runs
them all, since the suite uses ``--dist loadscope``).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import nbformat
import pytest
import yaml

from notebook_pool import NotebookPool, add_to_cache, pool_folder
from physml_helpers.course.assign import BEGIN, END

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "_build" / "screenshots"


def _jupyter_book():
    exe = pathlib.Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """Execute the chapter and solution notebooks, then build the full edition and the student edition;
    return their logs and HTML folders.

    The notebooks execute once, before the builds, in a pool this worker shares with the other one
    (tests/notebook_pool.py, joined by tests/test_book_pool.py), into the execution cache both builds
    read: myst-nb finds every notebook there and runs none again. A notebook that failed in the pool is
    not cached, so the full build executes it and reports the failure.
    """
    out = tmp_path_factory.mktemp("books")
    cache = out / "jupyter_cache"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {})["cache"] = str(cache)
    # A notebook that fails leaves its traceback in the cache's records and in the build's reports/ and
    # logs a warning (an error under -W); the build goes on, so that every notebook gets an outcome for
    # test_notebook_executes, instead of stopping at the first failure.
    config["sphinx"].setdefault("config", {})["nb_execution_raise_on_error"] = False
    extensions = config.get("sphinx", {}).get("local_extensions", {})  # resolved next to the config file
    config["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path in extensions.items()}
    config_path = out / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    # The notebooks execute first, shared with the other worker (tests/notebook_pool.py), into the cache.
    execute = config["execute"]
    assert not execute.get("run_in_temp", False), "the pool executes notebooks in their own folder, as the build does"
    pool = NotebookPool.create(pool_folder(tmp_path_factory), POOL_ORDER, timeout=execute["timeout"],
                               allow_errors=execute["allow_errors"])
    pool.work(worker=os.environ.get("PYTEST_XDIST_WORKER", "main"))
    outcomes = pool.results(stale_after_s=POOL_STALE_S)
    add_to_cache(cache, outcomes)
    common = ["-W", "-n", "--keep-going", "--config", str(config_path)]
    commands = {
        "full": [_jupyter_book(), "build", ".", *common, "--path-output", str(out / "full")],
        "student": [
            _jupyter_book(), "build", ".", "--toc", "_toc_student.yml", *common, "--path-output", str(out / "student"),
        ],
    }
    results = {}
    for name, cmd in commands.items():
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=2400)
        results[name] = {"returncode": proc.returncode, "log": proc.stdout, "html": out / name / "_build" / "html"}
    results["_config"], results["_cache"] = config_path, cache  # for the PDF build, which reuses the cache
    results["_pool"] = outcomes
    return results


def _pages(html_root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in html_root.rglob("*.html") if not {"_static", "_sources", "_images"} & set(p.parts))


def _warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(r"\bWARNING\b|\bERROR\b", line)]


def _failure_report(result) -> str:
    """What to show when a build fails: its warnings and errors (each names a file and line), the first
    traceback of the log (a notebook's failing cell comes first in the chain of exceptions), then the
    log's tail."""
    log = result["log"]
    first = log.find("Traceback")
    head = log[first : first + 8000] if first >= 0 else ""
    return "\n".join(["--- warnings and errors ---", *_warnings(log)[:40], "--- first traceback ---", head,
                      "--- end of the build log ---", log[-2500:]])


@pytest.mark.book
@pytest.mark.parametrize("edition", ["full", "student"])
def test_edition_builds_without_warnings(editions, edition):
    result = editions[edition]
    warnings = _warnings(result["log"])
    assert result["returncode"] == 0, _failure_report(result)
    assert warnings == [], "\n".join(warnings)
    assert (result["html"] / "index.html").is_file()


# Chapter and solution notebooks are tested here, by the execution the book build needs anyway, and not by
# nbval as well (pyproject's testpaths leave chapters/ and solutions/ out; nbval runs exercises/, which the
# build renders unexecuted): running them through nbval too doubled the suite's time. They execute with the
# same single-thread settings (the root conftest.py) and per-cell timeout (_config.yml) as nbval would use,
# in the notebook pool that feeds the build's cache; both editions and the PDF read that cache.
EXECUTED = sorted(p for folder in ("chapters", "solutions") for p in (ROOT / folder).glob("*.ipynb"))
# Chapters before solutions: the chapters are the long ones, so the pool's last notebooks are short and
# the two workers finish the pool at nearly the same time.
POOL_ORDER = [p for p in EXECUTED if p.parent.name == "chapters"] + [p for p in EXECUTED if p.parent.name != "chapters"]
POOL_STALE_S = 900  # a notebook claimed this long ago with no outcome is left to the build (its worker stopped)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.book
@pytest.mark.parametrize("notebook", EXECUTED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_executes(editions, notebook, record_property):
    """The full build executed this notebook without an error; its time goes to the run's summary."""
    from jupyter_cache import get_cache

    doc = notebook.relative_to(ROOT).with_suffix("").as_posix()
    report = editions["full"]["html"] / "reports" / f"{doc}.err.log"  # written by myst-nb on a failure
    if report.is_file():
        text = _ANSI.sub("", report.read_text())
        start = text.find("An error occurred while executing the following cell")  # skip nbclient's own frames
        pytest.fail(f"{doc}.ipynb failed in the book build:\n{text[start if start >= 0 else 0:]}", pytrace=False)
    cache = get_cache(str(editions["_cache"]))  # the execution cache both editions share
    try:
        record = cache.match_cache_notebook(nbformat.read(notebook, as_version=4))
    except KeyError:
        pytest.fail(f"{doc}.ipynb is not in the build's execution cache: the build did not execute it "
                    f"(is it in _toc.yml? did the build stop?), or it changed since\n" + _failure_report(editions["full"]),
                    pytrace=False)
    record_property("execution_seconds", record.data["execution_seconds"])
    worker = next((o["worker"] for o in editions["_pool"] if o["notebook"] == str(notebook)), "the build")
    record_property("executed_by", worker)


@pytest.mark.book
def test_builds_execute_no_notebook_the_pool_executed(editions):
    """The builds read every notebook the pool executed from the cache: only a notebook that failed in the
    pool is executed again (by the full build, which then reports its failure)."""
    failed = [o["notebook"] for o in editions["_pool"] if o["error"] is not None]
    assert len(editions["_pool"]) == len(EXECUTED), "the pool lost a notebook"
    for name in ("full", "student"):  # the student build executes a failed notebook once more, if it has it
        executed = editions[name]["log"].count("Executing notebook")
        assert executed == len(failed) if name == "full" else executed <= len(failed), (
            f"the {name} build executed {executed} notebooks; the pool failed on {failed}")


def _solution_lines() -> set[str]:
    """Distinctive lines of solution code: those that appear in no exercise or chapter notebook."""
    public = [*(ROOT / "exercises").glob("*.ipynb"), *(ROOT / "chapters").glob("*.ipynb")]
    exercise_text = "\n".join(c.source for p in public for c in nbformat.read(p, as_version=4).cells)
    lines = set()
    for path in (ROOT / "solutions").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or BEGIN not in cell.source:
                continue
            inside = False
            for line in cell.source.splitlines():
                s = line.strip()
                if s in (BEGIN, END):
                    inside = s == BEGIN
                elif inside and len(s) >= 20 and s not in exercise_text:
                    lines.add(s)
    return lines


class _Text(html.parser.HTMLParser):
    """Collect page text outside code, scripts and math, and every <img> with its alt text."""

    _SKIP = {"script", "style", "pre", "code", "textarea"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.stack: list[bool] = []
        self.text: list[str] = []
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag in ("img", "br", "hr", "meta", "link", "input", "source"):
            return
        skip = tag in self._SKIP or "math" in (attrs.get("class") or "").split()
        self.stack.append(skip)
        self.depth += skip

    def handle_endtag(self, tag):
        if tag in ("img", "br", "hr", "meta", "link", "input", "source"):
            return
        if self.stack:
            self.depth -= self.stack.pop()

    def handle_data(self, data):
        if self.depth == 0:
            self.text.append(data)


@functools.lru_cache(maxsize=None)
def _parse(path: pathlib.Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.book
def test_student_edition_has_no_solutions(editions):
    html_root = editions["student"]["html"]
    assert not (html_root / "solutions").exists(), "the student edition must not contain the solutions pages"
    assert not (html_root / "book" / "instructor_guide.html").exists()
    lines = _solution_lines()
    assert lines, "found no solution code to look for; the solutions notebooks have no marked regions"
    leaked = []
    for page in _pages(html_root):
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
        leaked += [f"{page.name}: {line}" for line in lines if line in text]
    assert leaked == [], "solution code reached the student edition:\n" + "\n".join(leaked[:10])
    # And the full edition does contain them, so the test above can fail.
    full_pages = sorted((editions["full"]["html"] / "solutions").glob("*.html"))
    assert full_pages, "the full edition has no solutions pages"
    full_text = "\n".join(html.unescape(re.sub(r"<[^>]+>", "", p.read_text(encoding="utf-8"))) for p in full_pages)
    assert sum(line in full_text for line in lines) >= len(lines) // 2


@pytest.mark.book
@pytest.mark.parametrize("edition", ["full", "student"])
def test_every_image_has_alt_text(editions, edition):
    missing = []
    for page in _pages(editions[edition]["html"]):
        for img in _parse(page).images:
            if not (img.get("alt") or "").strip():
                missing.append(f"{page.relative_to(editions[edition]['html'])}: {str(img.get('src'))[:60]}")
    assert missing == [], "images without alt text:\n" + "\n".join(missing)


_UNRENDERED = re.compile(r"\$\$|(?<![\w$])\$[^$\s][^$]{0,200}?\$(?![\w$])|\\\(|\\\[|\\begin\{|\{math\}|\{eq\}|\{cite\}|\{term\}|\{numref\}")


@pytest.mark.book
@pytest.mark.parametrize("edition", ["full", "student"])
def test_no_unrendered_math_or_roles(editions, edition):
    found = []
    for page in _pages(editions[edition]["html"]):
        text = " ".join(_parse(page).text)
        found += [f"{page.name}: ...{m.group(0)}..." for m in _UNRENDERED.finditer(text)]
    assert found == [], "math delimiters or MyST roles left unrendered:\n" + "\n".join(found[:20])


_LAUNCH_LINKS = re.compile(r"mybinder\.org/v2/|colab\.research\.google\.com/github/|/hub/user-redirect/|btn-source-repository-button")


@pytest.mark.book
def test_chapter_page_uses_static_slider_and_no_dead_launch_buttons(editions):
    page = (editions["full"]["html"] / "chapters" / "01_energy_landscapes.html").read_text(encoding="utf-8")
    assert 'class="slider-figure"' in page, "the kernel-free slider fallback is missing from the HTML"
    assert "widget-view+json" not in page and "require.min.js" not in page and "embed-amd" not in page
    assert "_static/mathjax/tex-svg-full.js" in page
    # No repository is configured (repository.url is empty): no launch or repository button, which would
    # lead to a dead page, and no placeholder URL anywhere; the notebook download button stays.
    assert 'href="../_sources/chapters/01_energy_landscapes.ipynb"' in page
    assert (editions["full"]["html"] / "_sources" / "chapters" / "01_energy_landscapes.ipynb").is_file()
    found = []
    for edition in ("full", "student"):
        for path in _pages(editions[edition]["html"]):
            text = path.read_text(encoding="utf-8")
            found += [f"{edition}/{path.name}: {m.group(0)}" for m in _LAUNCH_LINKS.finditer(text)]
            found += [f"{edition}/{path.name}: placeholder" for s in ("physml-course/", "hub.example") if s in text]
    assert found == [], "launch buttons or placeholder URLs without a configured repository:\n" + "\n".join(found[:10])


@pytest.mark.book
def test_launch_buttons_appear_once_a_repository_is_configured(tmp_path):
    """One notebook page, not executed, built with repository.url and a hub set: every launch button and the
    repository button point at them (the default build above shows none)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A page\n\nSome text.")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "page.ipynb")
    book = yaml.safe_load((ROOT / "_config.yml").read_text())
    config = {
        "title": "launch buttons", "only_build_toc_files": True, "execute": {"execute_notebooks": "off"},
        "repository": {**book["repository"], "url": "https://github.com/someone/course"},
        "launch_buttons": {**book["launch_buttons"], "jupyterhub_url": "https://hub.university.test"},
        "sphinx": {"local_extensions": {"course_launch": str(ROOT / book["sphinx"]["local_extensions"]["course_launch"])}},
    }
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    proc = subprocess.run([_jupyter_book(), "build", str(tmp_path), "-W", "-n"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    page = (tmp_path / "_build" / "html" / "page.html").read_text(encoding="utf-8")
    assert 'href="https://mybinder.org/v2/gh/someone/course/main?urlpath=lab/tree/page.ipynb"' in page
    assert 'href="https://colab.research.google.com/github/someone/course/blob/main/page.ipynb"' in page
    assert 'href="https://hub.university.test/hub/user-redirect/git-pull?repo=https%3A//github.com/someone/course' in page
    assert 'href="https://github.com/someone/course"' in page and "btn-source-repository-button" in page
    assert 'href="_sources/page.ipynb"' in page


def test_launch_options_follow_the_repository_setting():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from course_launch import launch_options

    services = {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org",
                "colab_url": "https://colab.research.google.com", "jupyterhub_url": "https://hub.university.test"}
    off = launch_options({"repository_url": "", "launch_buttons": services})
    assert off["launch_buttons"] == {"notebook_interface": "jupyterlab"} and off["use_repository_button"] is False
    assert "repository_url" not in off
    on = launch_options({"repository_url": "https://github.com/someone/course", "launch_buttons": {**services, "jupyterhub_url": ""}})
    assert on["use_repository_button"] is True
    assert set(on["launch_buttons"]) == {"notebook_interface", "binderhub_url", "colab_url"}  # no hub without its URL
    with pytest.raises(TypeError, match="launch_buttons"):
        launch_options({"repository_url": "x", "launch_buttons": ["binder"]})


def _numbers(page: pathlib.Path) -> dict[str, list[str]]:
    """The numbers a reader sees on a page: figure and table captions, equation numbers, and the text of
    {numref} and {eq} references."""
    text = page.read_text(encoding="utf-8")
    return {
        "captions": [s.strip() for s in re.findall(r'<span class="caption-number">([^<]*)</span>', text)],
        "equations": re.findall(r'<span class="eqno">(\([^)<]*\))', text),
        "numrefs": re.findall(r'<span class="std std-numref">([^<]*)</span>', text),
        "eqrefs": re.findall(r'href="[^"]*#equation-[^"]*">(\([^)<]*\))</a>', text),
    }


@pytest.mark.book
@pytest.mark.parametrize("edition", ["full", "student"])
def test_figures_and_equations_are_numbered_by_chapter(editions, edition):
    """Chapter N's figures are Fig. N.1, N.2, ... and its equations (N.1), (N.2), ...; the appendix's are
    Fig. A.1 and (A.1); the same in both editions. (Numbered across the book, chapter 15's figures were
    "Fig. 27" and its equations "(62)".)"""
    html_root = editions[edition]["html"]
    problems = []
    for path in sorted((html_root / "chapters").glob("*.html")):
        label = re.match(r"(\d{2}|[A-Z])_", path.name).group(1)
        label = label.lstrip("0") if label.isdigit() else label
        found = _numbers(path)
        figures = [c for c in found["captions"] if c.startswith("Fig.")]
        if figures != [f"Fig. {label}.{k}" for k in range(1, len(figures) + 1)]:
            problems.append(f"{path.name}: figures {figures}")
        if found["equations"] != [f"({label}.{k})" for k in range(1, len(found["equations"]) + 1)]:
            problems.append(f"{path.name}: equations {found['equations']}")
        refs = found["numrefs"] + found["eqrefs"]
        if not all(re.fullmatch(r"(Fig\. |Table |\()[0-9A-Z]+\.\d+\)?", r) for r in refs):
            problems.append(f"{path.name}: references {refs}")
    assert problems == [], "\n".join(problems)
    ch15 = _numbers(html_root / "chapters" / "15_gauge_equivariant_networks.html")
    assert "Fig. 15.1" in ch15["captions"] and "(15.1)" in ch15["equations"] and "(15.1)" in ch15["eqrefs"]
    appendix = _numbers(html_root / "chapters" / "A_jax_for_physicists.html")
    assert "Fig. A.1" in appendix["captions"] and "(A.1)" in appendix["equations"]
    ch1 = _numbers(html_root / "chapters" / "01_energy_landscapes.html")
    assert "Fig. 1.1" in ch1["numrefs"] and "(1.1)" in ch1["eqrefs"]
    if edition == "student":
        full_root = editions["full"]["html"]
        for path in sorted((html_root / "chapters").glob("*.html")):
            assert _numbers(path) == _numbers(full_root / "chapters" / path.name), f"{path.name} differs between editions"


# Browser ------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served_book(editions):
    handler = functools.partial(_QuietHandler, directory=str(editions["full"]["html"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", editions["full"]["html"]
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("the browser test must run in CI, but no Chromium is installed (.ci/run installs it)")
        pytest.skip("no Chromium found: install Debian's package with `apt-get install chromium` to run the browser test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


_CHECK_PAGE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  return {
    mathSource: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80)),
  };
}"""


@pytest.mark.browser
def test_every_page_in_chromium(served_book, browser):
    base, html_root = served_book
    pages = _pages(html_root)
    assert len(pages) >= 8
    # The root index.html is only a redirect to the introduction; follow it once.
    redirect = browser.new_page()
    redirect.goto(f"{base}/index.html")
    redirect.wait_for_url("**/book/intro.html")
    redirect.close()
    pages = [p for p in pages if p != html_root / "index.html"]
    problems = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    for path in pages:
        rel = path.relative_to(html_root).as_posix()
        page = context.new_page()
        errors = []
        page.on("console", lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.on("requestfailed", lambda req, errors=errors: errors.append(f"request failed: {req.url}"))
        page.on("response", lambda r, errors=errors: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.goto(f"{base}/{rel}", wait_until="load")
        state = page.evaluate(_CHECK_PAGE)
        if errors:
            problems.append(f"{rel}: console errors {errors[:3]}")
        if state["mathSource"] and state["typeset"] == 0:
            problems.append(f"{rel}: {state['mathSource']} math elements but MathJax typeset none")
        if state["mathErrors"]:
            problems.append(f"{rel}: {state['mathErrors']} MathJax errors (undefined macro?)")
        if state["broken"]:
            problems.append(f"{rel}: images failed to load {state['broken']}")
        if rel == "chapters/01_energy_landscapes.html":
            assert state["typeset"] > 20, "chapter 1 should have its math typeset by MathJax"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "chapter01.png"), full_page=False)
            page.screenshot(path=str(SCREENSHOTS / "chapter01_full.png"), full_page=True)
        problems += _phone_problems(page, rel)
        page.close()
    context.close()
    assert problems == [], "\n".join(problems)
    assert (SCREENSHOTS / "chapter01.png").stat().st_size > 10_000


PHONE = {"width": 390, "height": 844}

# After MathJax: open every toggle (hidden code cells), then look at every element of the article. An element
# is *cut off* when it sticks out of the nearest ancestor that clips horizontally without scrolling
# (overflow hidden or clip); inside a scrolling box (overflow auto or scroll) it can be reached. A box that
# scrolls must also show it: a phone draws no scrollbar until one swipes (headless Chromium none at all), so a
# box whose content runs past its edge needs a visible scrollbar or a scroll cue (a background image: the
# book's CSS draws an edge shadow); otherwise the formula looks cut off. The page must not scroll sideways.
# SVG internals and MathJax's off-screen MathML are skipped.
_CHECK_PHONE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const root = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  root.querySelectorAll('details').forEach(d => { d.open = true; });
  const styles = new Map();
  const style = el => { if (!styles.has(el)) styles.set(el, getComputedStyle(el)); return styles.get(el); };
  const name = el => {
    const where = el.closest('[id]');
    return el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined && el.className ? '.' + el.className.split(' ')[0] : '')
      + (where ? ' in #' + where.id : '');
  };
  const cut = [], wide = [], unmarked = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT, { acceptNode: el =>
    (el.parentElement && (el.parentElement.closest('svg') || el.closest('mjx-assistive-mml'))) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  for (let el = walker.nextNode(); el; el = walker.nextNode()) {
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;
    const own = style(el);
    if ((own.overflowX === 'auto' || own.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
      const bar = el.offsetHeight - el.clientHeight - parseFloat(own.borderTopWidth) - parseFloat(own.borderBottomWidth);
      if (bar < 1 && own.backgroundImage === 'none') unmarked.push(`${name(el)} (${el.scrollWidth} px in ${el.clientWidth} px)`);
    }
    let scrolls = false;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const s = style(a);
      if (s.overflowX === 'visible') continue;
      if (s.overflowX === 'auto' || s.overflowX === 'scroll') { scrolls = true; break; }
      const ar = a.getBoundingClientRect();
      if (r.right > ar.right + 1 || r.left < ar.left - 1) cut.push(`${name(el)} (${Math.round(r.width)} px in ${Math.round(ar.width)} px)`);
      scrolls = true;
      break;
    }
    if (!scrolls && r.right > innerWidth + 1) wide.push(`${name(el)} (right edge at ${Math.round(r.right)} px)`);
  }
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: innerWidth,
           typeset: document.querySelectorAll('mjx-container').length, cut: cut, wide: wide, unmarked: unmarked };
}"""


def _phone_problems(page, rel: str) -> list[str]:
    """Narrow the loaded page to a phone's viewport (390 x 844; MathJax's SVG output does not depend on the
    width, and the theme's layout follows the CSS media queries) and report sideways scrolling and cut-off
    elements. Reusing the desktop load keeps the test's time nearly unchanged: loading and typesetting a
    page takes seconds, this check a fraction of a second."""
    page.set_viewport_size(PHONE)
    state = page.evaluate(_CHECK_PHONE)
    problems = []
    if state["scrollWidth"] > state["innerWidth"]:
        problems.append(f"{rel} at 390 px: the page scrolls sideways ({state['scrollWidth']} px wide); {state['wide'][:3]}")
    if state["cut"]:
        problems.append(f"{rel} at 390 px: {len(state['cut'])} elements cut off, e.g. {state['cut'][:3]}")
    if state["unmarked"]:
        problems.append(f"{rel} at 390 px: {len(state['unmarked'])} boxes scroll without showing it, e.g. {state['unmarked'][:3]}")
    if rel == "chapters/03_sgd_langevin.html":  # its widest equation must be wider than a phone, so the check bites
        widest = page.evaluate("""() => { const m = Array.from(document.querySelectorAll('div.math mjx-container svg'));
            const w = m.reduce((a, b) => (b.getBoundingClientRect().width > (a ? a.getBoundingClientRect().width : 0) ? b : a), null);
            if (w) { w.closest('div.math').scrollIntoView({block: 'center'}); } return w ? w.getBoundingClientRect().width : 0; }""")
        assert widest > PHONE["width"], "chapter 3 should have a display equation wider than a phone"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "chapter03_phone.png"))
    return problems


@pytest.mark.browser
def test_static_slider_scrubs_without_a_kernel(served_book, browser):
    base, _ = served_book
    page = browser.new_page()
    page.goto(f"{base}/chapters/01_energy_landscapes.html", wait_until="load")
    slider = page.locator(".slider-figure input[type=range]").first
    image = page.locator(".slider-figure img").first
    before = (image.get_attribute("src"), image.get_attribute("alt"))
    slider.evaluate("(el) => { el.value = el.max; el.dispatchEvent(new Event('input')); }")
    after = (image.get_attribute("src"), image.get_attribute("alt"))
    assert after[0] != before[0] and after[1] != before[1]
    assert "grows" in after[1], after[1]
    assert page.locator(".slider-figure output").first.inner_text() == "1.10"
    page.close()


# PDF edition --------------------------------------------------------------------------------------
# `python -m physml_helpers.course.pdf` builds the single-page HTML edition and prints it in Chromium.
# Here it builds from the same sources, configuration and execution cache as the full edition above,
# so no notebook executes again.


def _chapter_titles() -> list[str]:
    """Each chapter's and appendix A's title, from its notebook's first heading, without the number."""
    titles = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
        titles.append(re.sub(r"^#\s+(?:(?:\d+|[A-Z])\.\s+)?", "", first).strip())
    return titles


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _opening_page(texts: list[str], title: str) -> int | None:
    """The index of the page that opens with ``title`` (after a chapter number such as "17." or "Chapter 17"
    at most), or None. A title further down a page, as in the table of contents, or after "Exercises ·
    Chapter 1:", does not count."""
    title = _squash(title)
    return next((i for i, text in enumerate(texts) if title in _squash(text)[: len(title) + 10]), None)


@pytest.fixture(scope="module")
def pdf_edition(editions, tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("the PDF test must run in CI, but no Chromium is installed (.ci/run installs it)")
        pytest.skip("no Chromium found: install Debian's package with `apt-get install chromium` to build the PDF")
    import pypdf
    import pypdfium2
    import pypdfium2.raw

    from physml_helpers.course import pdf

    out = tmp_path_factory.mktemp("pdf")
    result = pdf.build_pdf(ROOT, out / "book.pdf", path_output=out, config=editions["_config"])
    document = pypdfium2.PdfDocument(result["pdf"])
    result["texts"] = [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    result["images_per_page"] = [len(list(page.get_objects(filter=[pypdfium2.raw.FPDF_PAGEOBJ_IMAGE], max_depth=8)))
                                 for page in document]
    result["outline"] = [item.get_title() for item in document.get_toc()]
    result["document"] = document
    links = {"internal": 0, "uris": []}
    for page in pypdf.PdfReader(result["pdf"]).pages:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            action = annotation.get("/A") or {}
            if annotation.get("/Subtype") != "/Link":
                continue
            if "/Dest" in annotation or action.get("/S") == "/GoTo":
                links["internal"] += 1
            elif "/URI" in action:
                links["uris"].append(str(action["/URI"]))
    result["links"] = links
    yield result
    document.close()


@pytest.mark.book
def test_pdf_edition_reuses_the_execution_cache(editions, pdf_edition):
    assert editions["_cache"].is_dir()
    log = pdf_edition["log"]
    assert "Executing notebook" not in log, "the PDF build executed a notebook again instead of using the cache"
    assert log.count("Using cached notebook") >= len(_chapter_titles())
    assert pdf_edition["pdf"].stat().st_size > 100_000


@pytest.mark.book
def test_pdf_has_every_chapter_starting_a_page(pdf_edition):
    titles = _chapter_titles()
    assert len(titles) == 18, titles  # chapters 1-17 and appendix A
    missing = [t for t in titles if _opening_page(pdf_edition["texts"], t) is None]
    assert missing == [], "chapters that do not open a page of the PDF (or are missing from it):\n" + "\n".join(missing)
    outline = [_squash(item) for item in pdf_edition["outline"]]
    assert [t for t in titles if not any(_squash(t) in item for item in outline)] == [], "chapters missing from the outline"


@pytest.mark.book
def test_pdf_math_is_typeset(pdf_edition):
    assert pdf_edition["math"] > 100 and pdf_edition["typeset"] >= pdf_edition["math"], pdf_edition["math"]
    assert pdf_edition["math_errors"] == 0
    # Untypeset math would reach the PDF as its TeX source between Sphinx's delimiters (no code cell of
    # the book contains these strings).
    raw = [(i + 1, m.group(0), text[max(0, m.start() - 40) : m.end() + 40]) for i, text in enumerate(pdf_edition["texts"])
           for m in re.finditer(r"\\\(|\\\[|\$\$|\\begin\{", text)]
    assert raw == [], f"TeX source left in the PDF (page, match, context): {raw[:5]}"


@pytest.mark.book
def test_pdf_has_the_figures_and_a_page_renders(editions, pdf_edition):
    import numpy as np

    # Every image of the HTML edition's text (figures, slider frames; not the theme's logo) is on the
    # printed page, and in the PDF.
    html_images = sum(1 for page in _pages(editions["full"]["html"]) for img in _parse(page).images
                      if "_static/" not in (img.get("src") or ""))
    per_page = pdf_edition["images_per_page"]
    assert html_images >= len(_chapter_titles()), html_images
    assert pdf_edition["images"] >= html_images, (pdf_edition["images"], html_images)
    assert sum(per_page) >= pdf_edition["images"], (sum(per_page), pdf_edition["images"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    figure_page = int(np.argmax(per_page))
    chapter_one = _opening_page(pdf_edition["texts"], _chapter_titles()[0])
    for name, index in [("pdf_figure_page", figure_page), ("pdf_chapter01", chapter_one + 1)]:
        image = pdf_edition["document"][index].render(scale=1.5).to_pil().convert("L")
        image.save(SCREENSHOTS / f"{name}.png")
        pixels = np.asarray(image, dtype=float)
        # A blank page has zero spread and no dark pixels; a page of text or a figure has both.
        assert pixels.std() > 10 and (pixels < 128).mean() > 0.005, (name, index, pixels.std(), (pixels < 128).mean())


@pytest.mark.book
def test_pdf_cross_references_are_links_inside_the_pdf(pdf_edition):
    links = pdf_edition["links"]
    assert links["internal"] >= 10 * len(_chapter_titles()), links["internal"]
    # A reference that did not resolve to an anchor of the single page would point at the local server.
    local = [u for u in links["uris"] if re.match(r"https?://(127\.0\.0\.1|localhost)", u)]
    assert local == [], f"links that left the PDF for the local build server: {local[:10]}"
    # And every link inside the printed page lands on an anchor of that page.
    page = pdf_edition["html"].read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    targets = {html.unescape(h) for h in re.findall(r'href="#([^"]+)"', page)}
    assert len(targets) >= 10 * len(_chapter_titles()), len(targets)
    assert sorted(targets - ids) == [], f"links to anchors the page does not have: {sorted(targets - ids)[:10]}"

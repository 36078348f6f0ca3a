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

from physml_helpers.course.assign import BEGIN, END

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "_build" / "screenshots"


def _jupyter_book():
    exe = pathlib.Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """Build the full edition, then the student edition; return their logs and HTML folders.

    The builds run one after the other and share one execution cache: the full build executes every
    notebook, the student build reuses those results (same notebooks, same code), so no notebook runs
    twice at the same time.
    """
    out = tmp_path_factory.mktemp("books")
    cache = out / "jupyter_cache"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {})["cache"] = str(cache)
    extensions = config.get("sphinx", {}).get("local_extensions", {})  # resolved next to the config file
    config["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path in extensions.items()}
    config_path = out / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    common = ["-W", "-n", "--keep-going", "--config", str(config_path)]
    commands = {
        "full": [_jupyter_book(), "build", ".", *common, "--path-output", str(out / "full")],
        "student": [
            _jupyter_book(), "build", ".", "--toc", "_toc_student.yml", *common, "--path-output", str(out / "student"),
        ],
    }
    results = {}
    for name, cmd in commands.items():
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1500)
        results[name] = {"returncode": proc.returncode, "log": proc.stdout, "html": out / name / "_build" / "html"}
    return results


def _pages(html_root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in html_root.rglob("*.html") if not {"_static", "_sources", "_images"} & set(p.parts))


def _warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(r"\bWARNING\b|\bERROR\b", line) and "IPKernelApp" not in line]


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


@pytest.mark.book
def test_chapter_page_uses_static_slider_and_launch_buttons(editions):
    page = (editions["full"]["html"] / "chapters" / "01_energy_landscapes.html").read_text(encoding="utf-8")
    assert 'class="slider-figure"' in page, "the kernel-free slider fallback is missing from the HTML"
    assert "widget-view+json" not in page and "require.min.js" not in page and "embed-amd" not in page
    assert "colab.research.google.com/github/" in page and "chapters/01_energy_landscapes.ipynb" in page
    assert "mybinder.org/v2/gh/" in page and "urlpath=lab/tree/chapters/01_energy_landscapes.ipynb" in page
    assert "hub/user-redirect/git-pull" in page
    assert "_static/mathjax/tex-svg-full.js" in page


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
        page.close()
    context.close()
    assert problems == [], "\n".join(problems)
    assert (SCREENSHOTS / "chapter01.png").stat().st_size > 10_000


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

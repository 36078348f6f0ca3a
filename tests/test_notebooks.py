"""Notebook hygiene: stored without outputs, kernel python3, listed in the tables of contents, every
chapter with its solutions and exercises, titles carrying the plan's chapter numbers (or an appendix's letter:
``chapters/A_name.ipynb`` is titled ``# A. ...`` and listed under "Appendices")."""

import ast
import pathlib
import re
import sys

import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_numbering import page_prefix  # noqa: E402
FOLDERS = ("chapters", "solutions", "exercises")
NOTEBOOKS = sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("*.ipynb"))
PARTS = {  # chapter numbers of each part, fixed by the course plan (book/intro.md)
    "Part I": range(1, 7),
    "Part II": range(7, 13),
    "Part III": range(13, 18),
}


def _toc_files(toc_name):
    toc = yaml.safe_load((ROOT / toc_name).read_text())
    files = {toc["root"]: None}
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            files[chapter["file"]] = part["caption"]
    return files


def _ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_stored_clean_with_python3_kernel(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert dirty == [], f"cells {dirty} have stored outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_code_cell_calls_setup_notebook(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert re.search(r"^setup_notebook\(", first.source, re.M), "the first code cell must call setup_notebook()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_listed_in_the_tables_of_contents(path):
    doc = path.relative_to(ROOT).with_suffix("").as_posix()
    assert doc in _toc_files("_toc.yml"), f"{doc} is missing from _toc.yml"
    student = _toc_files("_toc_student.yml")
    if path.parent.name == "solutions":
        assert doc not in student, f"{doc} must not be in the student edition"
    else:
        assert doc in student, f"{doc} is missing from _toc_student.yml"


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.name)
def test_chapter_has_solutions_exercises_and_numbered_title(path):
    assert (ROOT / "solutions" / path.name).is_file(), f"solutions/{path.name} is missing"
    assert (ROOT / "exercises" / path.name).is_file(), f"exercises/{path.name} is missing"
    match = re.match(r"(\d{2}|[A-Z])_", path.name)
    assert match, f"{path.name}: a chapter is named NN_name.ipynb (an appendix: A_name.ipynb)"
    label = match.group(1).lstrip("0") if match.group(1).isdigit() else match.group(1)
    title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
    assert title.startswith(f"# {label}. "), f"the title must start with '# {label}. ', got {title!r}"
    # Figures and equations take the same number from the file name (Fig. 15.2, (15.3); book/_ext).
    stem = path.relative_to(ROOT).with_suffix("").as_posix()
    assert page_prefix(stem) == (label,)
    assert page_prefix(stem.replace("chapters/", "solutions/")) == (f"E{label}",)
    caption = _toc_files("_toc.yml")[path.relative_to(ROOT).with_suffix("").as_posix()]
    if label.isdigit():
        number = int(label)
        part = next(name for name, numbers in PARTS.items() if number in numbers)
        assert caption.startswith(part + " "), f"chapter {number} belongs in {part}, listed under {caption!r}"
    else:
        assert caption == "Appendices", f"appendix {label} belongs under Appendices, listed under {caption!r}"
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    assert f"exercises/{path.name[:-6]}" in text, "the chapter must link to its exercises"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_solutions_have_four_exercises_with_difficulty_time_and_checks(path):
    nb = nbformat.read(path, as_version=4)
    statements = [c.source for c in nb.cells if c.cell_type == "markdown" and re.search(r"^## Exercise (?:\d+|[A-Z])\.\d+", c.source, re.M)]
    assert len(statements) >= 4, f"expected at least four exercises, found {len(statements)}"
    for s in statements:
        assert re.search(r"★+ · \d+", s), f"exercise without difficulty and time: {s.splitlines()[0]}"
    checks = [c for c in nb.cells if c.cell_type == "code" and re.search(r"\b(?:ch\d\d|app[a-z])\.check_", c.source)]
    assert len(checks) >= len(statements)


# Figure-only cells hide their input ----------------------------------------------------------------
#
# A chapter's code cell is *figure-only* when, read without running it,
#   1. it draws a figure: outside any function body it calls ``plt.<something>`` (not ``plt.close``/``plt.rc``),
#      ``slider_figure``, or a function defined earlier in the notebook that does;
#   2. it shows no text: no ``print``/``display`` call anywhere, and its last statement is not an expression
#      whose value Jupyter would show (a call to ``plt.*`` or to a figure function is allowed);
#   3. it checks nothing: no ``assert`` statement, no call to a ``check*`` function;
#   4. no later cell that stays visible reads a name this cell binds (a helper, a constant, a result): the reader
#      of that later cell needs to see where the name comes from. Cells are classified from the last to the
#      first, so names used only by other figure-only cells do not keep a cell visible.
# Figure-only cells carry ``hide-input`` (myst-nb turns it into a toggle; the output, including a slider
# figure's pre-rendered frames, stays on the page), and no other cell does. Solutions and exercises hide
# nothing: there the code is the point, and exercise pages are rendered without outputs.

HIDE_TAGS = ("hide-input", "hide-cell", "remove-input", "remove-cell")
_PLT_NOT_DRAWING = {"close", "rc", "rcParams", "style", "get_cmap", "colormaps"}
_PRINTERS = {"print", "display", "Markdown", "HTML", "Latex"}


def _dotted(call: ast.Call) -> str:
    f, parts = call.func, []
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        parts.append(f.id)
    return ".".join(reversed(parts))


class _Names:
    """The names a cell binds at top level (``bound``) and those it reads before binding them (``free``),
    following statements in execution order; function bodies, lambdas and comprehensions have their own
    locals."""

    def __init__(self, tree):
        self.bound, self.free = set(), set()
        for s in tree.body:
            self.stmt(s)

    def load(self, node, local=frozenset()):
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = set(local)
            for gen in node.generators:
                self.load(gen.iter, frozenset(inner))
                inner |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
                for cond in gen.ifs:
                    self.load(cond, frozenset(inner))
            for part in ([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]):
                self.load(part, frozenset(inner))
        elif isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in [*getattr(node, "decorator_list", []), *node.args.defaults, *node.args.kw_defaults]:
                self.load(d, local)
            inner = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
            inner |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            inner |= {n.name for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
            for part in (node.body if isinstance(node.body, list) else [node.body]):
                self.load(part, frozenset(local | inner))
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in local and node.id not in self.bound:
                self.free.add(node.id)
        elif node is not None:
            for child in ast.iter_child_nodes(node):
                self.load(child, local)

    def store(self, target):
        for n in ast.walk(target):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                self.bound.add(n.id)
            elif isinstance(n, (ast.Attribute, ast.Subscript)):
                self.load(n.value)
                self.load(getattr(n, "slice", None))

    def stmt(self, s):
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.load(s)
            self.bound.add(s.name)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            self.bound |= {(a.asname or a.name).split(".")[0] for a in s.names}
        elif isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            self.load(s.value)
            if isinstance(s, ast.AugAssign):
                self.load(s.target if not isinstance(s.target, ast.Name) else ast.Name(s.target.id, ast.Load()))
            for t in getattr(s, "targets", [getattr(s, "target", None)]):
                self.store(t)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            self.load(s.iter)
            self.store(s.target)
            for x in [*s.body, *s.orelse]:
                self.stmt(x)
        elif isinstance(s, (ast.If, ast.While)):
            self.load(s.test)
            for x in [*s.body, *s.orelse]:
                self.stmt(x)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                self.load(item.context_expr)
                if item.optional_vars is not None:
                    self.store(item.optional_vars)
            for x in s.body:
                self.stmt(x)
        elif isinstance(s, ast.Try):
            for x in [*s.body, *(y for h in s.handlers for y in h.body), *s.orelse, *s.finalbody]:
                self.stmt(x)
        else:
            self.load(s)


def figure_only_cells(sources: list[str]) -> list[bool]:
    """For the code cells of one notebook, in order: is each one figure-only (see above)?"""
    drawers = {"slider_figure"}
    facts = []
    for source in sources:
        tree = ast.parse(source)
        calls = [_dotted(n) for n in ast.walk(tree) if isinstance(n, ast.Call)]
        top_calls, stack = [], list(tree.body)
        while stack:  # calls outside function bodies, lambdas and classes
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(node, ast.Call):
                top_calls.append(_dotted(node))
            stack.extend(ast.iter_child_nodes(node))

        def draws(name):
            return (name.startswith("plt.") and name.split(".")[1] not in _PLT_NOT_DRAWING) or name in drawers

        shows_text = any(c.split(".")[-1] in _PRINTERS for c in calls)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr) and not isinstance(last.value, ast.Constant):
            shown = _dotted(last.value) if isinstance(last.value, ast.Call) else ""
            shows_text |= not draws(shown)
        checks = any(isinstance(n, ast.Assert) for n in ast.walk(tree)) or any("check" in c.split(".")[-1] for c in calls)
        names = _Names(tree)
        facts.append((any(draws(c) for c in top_calls) and not shows_text and not checks, names))
        drawers |= {s.name for s in tree.body if isinstance(s, ast.FunctionDef)
                    and any(draws(_dotted(n)) for n in ast.walk(s) if isinstance(n, ast.Call))}
    result, read_by_visible = [False] * len(facts), set()
    for i in range(len(facts) - 1, -1, -1):
        candidate, names = facts[i]
        result[i] = candidate and not (names.bound & read_by_visible)
        if not result[i]:
            read_by_visible |= names.free
    return result


def test_figure_only_classification_can_say_no():
    """The rule on small cells: each way a figure cell can matter to the reader keeps it visible."""
    figure = "fig, ax = plt.subplots()\nax.plot(x, y)\nplt.show()"
    cases = {
        figure: True,
        figure + "\nprint(y.max())": False,                      # prints a number
        figure + "\nassert y.max() < 1": False,                  # checks something
        figure + "\nax.get_ylim()": False,                       # shows a value
        "def f(v):\n    fig, ax = plt.subplots()\n    return fig": False,   # only defines a figure function
        "x = jnp.ones(3)\ny = 2 * x": False,                     # draws nothing
    }
    for source, expected in cases.items():
        assert figure_only_cells(["x = jnp.ones(3)", source]) == [False, expected], source
    helper = "def size(p):\n    return p.sum()\n" + figure
    assert figure_only_cells([helper, "print(size(x))"]) == [False, False]   # defines a helper a visible cell uses
    assert figure_only_cells([helper, "fig = plt.figure(); plt.plot(size(x))"]) == [True, True]
    slider = "def frame(v):\n    fig, ax = plt.subplots()\n    return fig\n\nslider_figure(frame, values=[1, 2], label='v', alt=str)"
    assert figure_only_cells([slider]) == [True]
    assert figure_only_cells(["def frame(v):\n    fig = plt.figure()\n    return fig", "frame(1.0)"]) == [False, True]


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.name)
def test_figure_only_cells_hide_their_input(path):
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    figure_only = figure_only_cells([c.source for c in cells])
    untagged = [c.get("id") for c, f in zip(cells, figure_only) if f and "hide-input" not in _tags(c)]
    wrongly_hidden = [c.get("id") for c, f in zip(cells, figure_only) if not f and _tags(c) & set(HIDE_TAGS)]
    assert untagged == [], f"figure-only cells without the hide-input tag: {untagged}"
    assert wrongly_hidden == [], f"cells that print, check or define what a visible cell uses are hidden: {wrongly_hidden}"


_NOT_CHAPTERS = [p for p in NOTEBOOKS if p.parent.name != "chapters"]


@pytest.mark.parametrize("path", _NOT_CHAPTERS, ids=_ids(_NOT_CHAPTERS))
def test_solutions_and_exercises_hide_no_code(path):
    hidden = [c.get("id") for c in nbformat.read(path, as_version=4).cells if _tags(c) & set(HIDE_TAGS)]
    assert hidden == [], f"cells hidden in a solution or exercise, where the code is the content: {hidden}"


def test_kernels_run_over_ipc_without_the_tcp_warning(tmp_path):
    """The root conftest.py makes every kernel the suite starts (nbval's here, nbclient's in the book
    builds) use IPC sockets through physml_helpers/course/ipc_kernel.py, so ipykernel does not print its "running over TCP
    without encryption" warning. Started the way nbval starts one, with the kernel's stderr kept."""
    from nbval.kernel import CURRENT_ENV_KERNEL_NAME, start_new_kernel

    log = tmp_path / "kernel.log"
    with open(log, "w") as stderr:
        km, kc = start_new_kernel(kernel_name=CURRENT_ENV_KERNEL_NAME, stderr=stderr)
        try:
            reply = kc.execute_interactive("1 + 1", timeout=60, store_history=False)
            assert reply["content"]["status"] == "ok"
            transports = (km.transport, km.get_connection_info()["transport"])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    text = log.read_text()
    assert transports == ("ipc", "ipc"), f"the kernel ran over {transports}; kernel log:\n{text}"
    assert "without encryption" not in text, text

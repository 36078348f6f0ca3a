"""Generate the student exercise notebooks from the solution notebooks, and bundle exercise packs.

The solution notebooks in ``solutions/`` are the single source. In each code cell, the lines between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers) are replaced by a stub:

* inside a function body, ``raise NotImplementedError("Exercise N.M: ...")``;
* at the top level, ``name = ...`` for every name the solution assigns, so the check cell that follows
  can tell an unattempted exercise from a wrong answer.

Markdown cells tagged ``solution`` are dropped, outputs are cleared, and a title starting with
``# Solutions`` becomes ``# Exercises``.

Usage (from the repository root)::

    python -m physml_helpers.course.assign            # regenerate exercises/
    python -m physml_helpers.course.assign --check    # exit 1 if exercises/ is out of date
    python -m physml_helpers.course.assign pack --chapters 1 3 --out week1.zip
"""

from __future__ import annotations

import argparse
import ast
import copy
import pathlib
import re
import sys
import textwrap
import zipfile

import nbformat

__all__ = ["BEGIN", "END", "strip_solutions", "generate", "check", "pack", "find_root", "course_root", "main"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_EXERCISE_RE = re.compile(r"Exercise\s+((?:\d+|[A-Z])\.\d+)")  # chapter exercises 3.2, appendix exercises A.2
_CHAPTER_RE = re.compile(r"^(\d{2})_[A-Za-z0-9_]+\.ipynb$")


def _path(name: str, value) -> pathlib.Path:
    """A ``pathlib.Path`` from a path given as ``str`` or ``os.PathLike``."""
    import os

    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        return pathlib.Path(value)
    raise TypeError(f"{name} must be a path (str or pathlib.Path), got {type(value).__name__}")


def _is_course(folder: pathlib.Path) -> bool:
    return (folder / "_toc.yml").is_file() and (folder / "solutions").is_dir()


def course_root(root) -> pathlib.Path:
    """``root`` as a resolved path, after checking it is a course repository (``_toc.yml`` and ``solutions/``).

    Raises:
      TypeError: ``root`` is not a path.
      FileNotFoundError: ``root`` is not a course repository.
    """
    folder = _path("root", root).resolve()
    if not _is_course(folder):
        raise FileNotFoundError(
            f"{folder} is not a course repository: expected _toc.yml and a solutions/ folder there; "
            "pass the repository's top folder as --root"
        )
    return folder


def find_root(start=None) -> pathlib.Path:
    """The repository root: the nearest folder at or above ``start`` (default: the current folder) holding
    ``_toc.yml`` and ``solutions/``.

    Raises:
      TypeError: ``start`` is not a path.
      FileNotFoundError: no such folder at or above ``start``.
    """
    here = (pathlib.Path.cwd() if start is None else _path("start", start)).resolve()
    for folder in (here, *here.parents):
        if _is_course(folder):
            return folder
    raise FileNotFoundError(
        f"no course repository found at or above {here}: expected a folder with _toc.yml and "
        "solutions/; run from the repository or pass --root"
    )


def _assigned_names(code: str) -> list[str]:
    """Names bound at the top level of ``code`` (assignments, defs, imports), in order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names: list[str] = []

    def add_target(t):
        if isinstance(t, ast.Name):
            names.append(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for elt in t.elts:
                add_target(elt)

    for node in tree.body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                add_target(t)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            add_target(node.target)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
    return list(dict.fromkeys(names))


def _loaded_names(code: str) -> set[str]:
    """Names read anywhere in ``code`` (IPython magics and shell lines are skipped)."""
    lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _function_stub(node: ast.FunctionDef, label: str) -> list[str]:
    signature = ast.unparse(node.args)
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return [f"def {node.name}({signature}){returns}:",
            f'    raise NotImplementedError("{label}: replace this line with your code")']


def _stub(region: list[str], indent: str, label: str, used_later: set[str] | None = None) -> list[str]:
    """The student's stub for a solution region: inside a function, a ``raise NotImplementedError``; at the top
    level, ``name = ...`` for each answer the rest of the notebook reads (the check cells), and a stub of the
    same signature for each such function. Names the solution only uses internally (a figure, a loop
    variable) are not announced: they would give the solution's structure away."""
    if indent:
        return [f'{indent}raise NotImplementedError("{label}: replace this line with your code")']
    code = textwrap.dedent("\n".join(region))
    names = _assigned_names(code)
    if used_later is not None:
        names = [name for name in names if name in used_later]
    if not names:
        return [f"# {label}: your code here", "..."]
    try:
        functions = {node.name: node for node in ast.parse(code).body if isinstance(node, ast.FunctionDef)}
    except SyntaxError:
        functions = {}
    out = [f"# {label}: your code here"]
    for name in names:
        out.extend(_function_stub(functions[name], label) if name in functions else [f"{name} = ...  # your answer"])
    return out


def _without_regions(source: str) -> str:
    """``source`` with every solution region removed (what a student's notebook keeps)."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
        elif stripped == END:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _strip_cell_source(source: str, label: str, where: str, used_later: set[str] | None = None) -> str:
    out: list[str] = []
    region: list[str] | None = None
    indent = ""
    used = (used_later or set()) | _loaded_names(textwrap.dedent(_without_regions(source)))
    for lineno, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if region is not None:
                raise ValueError(f"{where}: line {lineno}: '{BEGIN}' inside an open solution region")
            region, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if region is None:
                raise ValueError(f"{where}: line {lineno}: '{END}' without a matching '{BEGIN}'")
            out.extend(_stub(region, indent, label, used if used_later is not None else None))
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ValueError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def strip_solutions(nb: nbformat.NotebookNode, *, source_name: str = "notebook") -> nbformat.NotebookNode:
    """Return the student version of a solution notebook (the input is not modified).

    Raises:
      ValueError: unbalanced solution markers, or a marked region before any "Exercise N.M" heading.
    """
    nb = copy.deepcopy(nb)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    loads = {i: _loaded_names(_without_regions(nb.cells[i].source)) for i in code_cells}
    cells = []
    label = None
    for index, cell in enumerate(nb.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "markdown":
            if "solution" in tags:
                continue
            match = _EXERCISE_RE.search(cell.source)
            if match:
                label = f"Exercise {match.group(1)}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if BEGIN in cell.source or END in cell.source:
                if label is None:
                    raise ValueError(
                        f"{source_name}: cell {index} has a solution region before any markdown "
                        "cell naming 'Exercise N.M'"
                    )
                used_later = set().union(*(loads[j] for j in code_cells if j > index))
                cell.source = _strip_cell_source(cell.source, label, f"{source_name}: cell {index}", used_later)
        cells.append(cell)
    if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# Solutions"):
        cells[0].source = "# Exercises" + cells[0].source[len("# Solutions"):]
    nb.cells = cells
    nb.metadata.setdefault("physml", {})["generated_from"] = f"solutions/{source_name}"
    return nb


def _expected(root: pathlib.Path) -> dict[pathlib.Path, str]:
    expected = {}
    for src in sorted((root / "solutions").glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        text = nbformat.writes(strip_solutions(nb, source_name=src.name)) + "\n"
        expected[root / "exercises" / src.name] = text
    return expected


def generate(root) -> list[pathlib.Path]:
    """Write ``exercises/`` from ``solutions/``; return the files that changed.

    Raises:
      TypeError, FileNotFoundError: ``root`` is not a path to a course repository.
    """
    root = course_root(root)
    changed = []
    (root / "exercises").mkdir(exist_ok=True)
    for path, text in _expected(root).items():
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def check(root) -> list[str]:
    """Problems that make ``exercises/`` differ from what ``solutions/`` generates (empty if in sync).

    Raises:
      TypeError, FileNotFoundError: ``root`` is not a path to a course repository.
    """
    root = course_root(root)
    expected = _expected(root)
    if not expected:
        return ["solutions/ holds no notebooks: there is nothing to generate exercises from"]
    problems = []
    for path, text in expected.items():
        rel = path.relative_to(root)
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif path.read_text() != text:
            problems.append(f"{rel} differs from what solutions/{path.name} generates")
    for path in sorted((root / "exercises").glob("*.ipynb")):
        if path not in expected:
            problems.append(f"{path.relative_to(root)} has no source in solutions/")
    return problems


_PACK_README = """\
# Exercise pack: chapter{s} {chapters}

From the course *Machine learning and physics, in both directions*.

This folder holds the exercise notebook{s} for chapter{s} {chapters}, the course's helper package
(`physml_helpers/`, which provides the set-up call and the answer checks) and its requirements.

## Set up (once)

    python -m venv .venv && source .venv/bin/activate   # optional but recommended
    pip install -r requirements.txt

## Work

    jupyter lab

Open a notebook from `exercises/`, run it top to bottom, and replace each `...` or
`raise NotImplementedError(...)` with your answer. The check cell under each exercise prints
"not attempted yet", tells you what is wrong and how to fix it, or confirms a correct answer.
"""


def _pack_member_paths(root: pathlib.Path, chapters: list[int]) -> list[pathlib.Path]:
    """The helper package's files for a pack: everything except the answer checks of chapters not assigned
    (their reference formulas would give other weeks' answers away), the appendices' answer checks
    (``appa.py``, ...: an appendix is not a numbered chapter, so no pack assigns it) and caches."""
    checks = root / "physml_helpers" / "course" / "checks"
    wanted = {f"ch{number:02d}.py" for number in chapters}
    paths = []
    for path in sorted((root / "physml_helpers").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if path.parent == checks and re.fullmatch(r"ch\d{2}\.py|app[a-z]\.py", path.name) and path.name not in wanted:
            continue
        paths.append(path)
    return paths


def pack(root, chapters: list[int], out) -> list[str]:
    """Zip the exercise notebooks of ``chapters`` with the helpers, a README and the requirements.

    Only the answer checks of the chosen chapters are included. Every member is readable by all (mode 0644).

    Args:
      root: the course repository (``str`` or path).
      chapters: chapter numbers, for example ``[1, 3]``.
      out: the ``.zip`` file to write (``str`` or path).

    Returns:
      The archive member names.

    Raises:
      TypeError: ``root`` or ``out`` not a path, a chapter number not an integer.
      FileNotFoundError: ``root`` is not a course repository.
      ValueError: an empty chapter list, or a chapter with no exercise notebook.
    """
    root = course_root(root)
    out = _path("out", out)
    if isinstance(chapters, (str, bytes)) or not hasattr(chapters, "__iter__"):
        raise TypeError(f"chapters must be a list of chapter numbers, got {chapters!r}")
    chapters = list(chapters)
    if not chapters:
        raise ValueError("chapters must name at least one chapter number, got none")
    for number in chapters:
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"chapters must hold integers such as 1 or 13, got {number!r}")
    notebooks = []
    for number in chapters:
        found = sorted((root / "exercises").glob(f"{number:02d}_*.ipynb"))
        if not found:
            available = sorted(p.name[:2].lstrip("0") for p in (root / "exercises").glob("*.ipynb"))
            raise ValueError(
                f"chapter {number} has no exercise notebook in exercises/; chapters with exercises: "
                f"{', '.join(available) or 'none'}"
            )
        notebooks.extend(found)
    members = {f"exercises/{nb.name}": nb for nb in notebooks}
    for path in _pack_member_paths(root, chapters):
        members[str(path.relative_to(root).as_posix())] = path
    for name in ("pyproject.toml", "requirements.txt"):
        members[name] = root / name
    numbers = ", ".join(str(n) for n in chapters)
    readme = _PACK_README.format(s="s" if len(chapters) > 1 else "", chapters=numbers)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("README.md", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16  # writestr's default is 0600: unreadable for others once unpacked
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, readme)
        for name, path in members.items():
            member = zipfile.ZipInfo.from_file(path, name)
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, path.read_bytes())
    return ["README.md", *members]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["pack"]:
        parser = argparse.ArgumentParser(
            prog="python -m physml_helpers.course.assign pack",
            description="Bundle chosen chapters' exercise notebooks into a zip for students.",
        )
        parser.add_argument("--chapters", type=int, nargs="+", required=True, help="chapter numbers, e.g. 1 3")
        parser.add_argument("--out", type=pathlib.Path, required=True, help="output .zip file")
        parser.add_argument("--root", type=pathlib.Path, default=None, help="repository root")
        args = parser.parse_args(argv[1:])
        if args.out.suffix != ".zip":
            parser.error(f"--out must name a .zip file, got {args.out}")
        try:
            root = course_root(args.root) if args.root else find_root()
            members = pack(root, args.chapters, args.out)
        except (ValueError, FileNotFoundError) as err:
            parser.error(str(err))
        print(f"wrote {args.out} with {len(members)} files")
        return 0

    parser = argparse.ArgumentParser(
        prog="python -m physml_helpers.course.assign",
        description="Regenerate exercises/ from solutions/ (or check that they are in sync). "
        "Use the 'pack' subcommand to bundle exercise notebooks.",
    )
    parser.add_argument("--check", action="store_true", help="report differences and exit 1 instead of writing")
    parser.add_argument("--root", type=pathlib.Path, default=None, help="repository root")
    args = parser.parse_args(argv)
    try:
        root = course_root(args.root) if args.root else find_root()
    except FileNotFoundError as err:
        parser.error(str(err))
    if args.check:
        problems = check(root)
        for problem in problems:
            print(problem)
        if problems:
            print("exercises/ is out of sync; run: python -m physml_helpers.course.assign")
            return 1
        print("exercises/ is in sync with solutions/")
        return 0
    changed = generate(root)
    print(f"regenerated {len(changed)} exercise notebook(s)" if changed else "exercises/ already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

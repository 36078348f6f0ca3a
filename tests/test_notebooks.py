"""Notebook hygiene: stored without outputs, kernel python3, listed in the tables of contents, every
chapter with its solutions and exercises, titles carrying the plan's chapter numbers (or an appendix's letter:
``chapters/A_name.ipynb`` is titled ``# A. ...`` and listed under "Appendices")."""

import pathlib
import re

import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
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

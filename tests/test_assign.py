"""physml_helpers.course.assign: stubs, sync check, packs and the command line."""

import json
import subprocess
import sys
import zipfile

import nbformat
import pytest

from physml_helpers.course import assign


def _solution_nb():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Solutions · Chapter 9: test"),
        nbformat.v4.new_markdown_cell("Worked notes", metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("## Exercise 9.1 · a function"),
        nbformat.v4.new_code_cell(
            "def f(x):\n    ### BEGIN SOLUTION\n    y = 2 * x\n    return y\n    ### END SOLUTION\n\nprint('kept')"
        ),
        nbformat.v4.new_markdown_cell("## Exercise 9.2 · top-level answers"),
        nbformat.v4.new_code_cell("a = 1\n### BEGIN SOLUTION\nb, c = 2, 3\nd: int = b + c\n### END SOLUTION"),
        nbformat.v4.new_code_cell("print(a, b, d)  # the check: reads b and d, not the solution's internal c"),
    ]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="old output")]
    nb.cells[3].execution_count = 4
    return nb


def test_strip_solutions_makes_stubs_and_drops_solution_cells():
    out = assign.strip_solutions(_solution_nb(), source_name="09_test.ipynb")
    sources = [c.source for c in out.cells]
    assert sources[0] == "# Exercises · Chapter 9: test"
    assert "Worked notes" not in sources
    assert sources[2] == (
        'def f(x):\n    raise NotImplementedError("Exercise 9.1: replace this line with your code")\n\nprint(\'kept\')'
    )
    assert sources[4] == "a = 1\n# Exercise 9.2: your code here\nb = ...  # your answer\nd = ...  # your answer"
    assert out.cells[2].outputs == [] and out.cells[2].execution_count is None
    assert "2 * x" not in json.dumps(out)


def test_stubbed_code_runs_and_raises_not_implemented():
    out = assign.strip_solutions(_solution_nb(), source_name="09_test.ipynb")
    namespace = {}
    exec(out.cells[2].source, namespace)  # noqa: S102 - our own generated code
    with pytest.raises(NotImplementedError, match="Exercise 9.1"):
        namespace["f"](1)
    exec(out.cells[4].source, namespace)  # noqa: S102
    assert namespace["b"] is Ellipsis and namespace["a"] == 1


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without a matching"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside an open solution region"),
    ],
)
def test_unbalanced_markers_are_reported(source, message):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Exercise 1.1"), nbformat.v4.new_code_cell(source)]
    with pytest.raises(ValueError, match=message):
        assign.strip_solutions(nb, source_name="x.ipynb")


def test_region_before_any_exercise_heading_is_reported():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")]
    with pytest.raises(ValueError, match="before any markdown cell naming 'Exercise N.M'"):
        assign.strip_solutions(nb, source_name="x.ipynb")


def _fake_repo(tmp_path, root):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\n")
    nbformat.write(_solution_nb(), tmp_path / "solutions" / "09_test.ipynb")
    for name in ("pyproject.toml", "requirements.txt"):
        (tmp_path / name).write_text((root / name).read_text())
    (tmp_path / "physml_helpers").mkdir()
    (tmp_path / "physml_helpers" / "__init__.py").write_text("")
    return tmp_path


def test_check_and_generate_round_trip(tmp_path, root):
    repo = _fake_repo(tmp_path, root)
    assert assign.check(repo) == ["exercises/09_test.ipynb is missing"]
    assert [p.name for p in assign.generate(repo)] == ["09_test.ipynb"]
    assert assign.check(repo) == []
    assert assign.generate(repo) == []
    (repo / "exercises" / "09_test.ipynb").write_text("{}")
    assert "differs from what solutions/09_test.ipynb generates" in assign.check(repo)[0]
    (repo / "exercises" / "05_orphan.ipynb").write_text("{}")
    assert any("no source in solutions/" in p for p in assign.check(repo))


def test_cli_check_exit_codes(tmp_path, root):
    repo = _fake_repo(tmp_path, root)
    cmd = [sys.executable, "-m", "physml_helpers.course.assign", "--root", str(repo)]
    failed = subprocess.run([*cmd, "--check"], capture_output=True, text=True)
    assert failed.returncode == 1 and "out of sync" in failed.stdout
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    ok = subprocess.run([*cmd, "--check"], capture_output=True, text=True)
    assert ok.returncode == 0 and "in sync" in ok.stdout


def test_repository_exercises_are_in_sync(root):
    """exercises/ must be exactly what solutions/ generates (the README's --check command)."""
    result = subprocess.run(
        [sys.executable, "-m", "physml_helpers.course.assign", "--check"], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pack_bundles_notebooks_helpers_readme_and_requirements(tmp_path, root):
    out = tmp_path / "week1.zip"
    result = subprocess.run(
        [sys.executable, "-m", "physml_helpers.course.assign", "pack", "--chapters", "1", "--out", str(out)],
        cwd=root, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    names = zipfile.ZipFile(out).namelist()
    assert "README.md" in names and "requirements.txt" in names and "pyproject.toml" in names
    assert "exercises/01_energy_landscapes.ipynb" in names
    assert "physml_helpers/course/checks/ch01.py" in names
    assert not any(n.startswith("solutions/") for n in names)
    assert "jupyter lab" in zipfile.ZipFile(out).read("README.md").decode()


def test_pack_exercise_notebook_runs_from_the_unpacked_folder(tmp_path, root, monkeypatch):
    """The pack is self-sufficient: its exercise notebook runs with only the bundled helpers on the path."""
    out = tmp_path / "pack.zip"
    assign.pack(root, [1], out)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(unpacked)
    from nbclient import NotebookClient

    nb = nbformat.read(unpacked / "exercises" / "01_energy_landscapes.ipynb", as_version=4)
    monkeypatch.setenv("PYTHONPATH", str(unpacked))  # the kernel imports the bundled helpers first
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(unpacked / "exercises")}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Exercise 1.1: not attempted yet" in printed


def test_pack_rejects_unknown_chapter_and_bad_output(tmp_path, root):
    with pytest.raises(ValueError, match="chapter 42 has no exercise notebook"):
        assign.pack(root, [42], tmp_path / "x.zip")
    result = subprocess.run(
        [sys.executable, "-m", "physml_helpers.course.assign", "pack", "--chapters", "1", "--out", str(tmp_path / "x.tar")],
        cwd=root, capture_output=True, text=True,
    )
    assert result.returncode == 2 and "--out must name a .zip file" in result.stderr


def test_plain_string_paths_work(tmp_path, root):
    repo = _fake_repo(tmp_path, root)
    assert assign.find_root(str(repo / "solutions")) == repo.resolve()
    assert assign.generate(str(repo)) and assign.check(str(repo)) == []
    out = str(tmp_path / "p.zip")
    assert "README.md" in assign.pack(str(root), [1], out)
    with pytest.raises(TypeError, match="root must be a path"):
        assign.check(3)


def test_a_folder_that_is_not_a_course_is_refused_not_reported_in_sync(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="is not a course repository"):
        assign.check(empty)
    cmd = [sys.executable, "-m", "physml_helpers.course.assign", "--check", "--root", str(empty)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 2 and "is not a course repository" in result.stderr
    assert "in sync" not in result.stdout and "Traceback" not in result.stderr


def test_outside_a_checkout_the_command_explains_instead_of_a_traceback(tmp_path):
    for args in (["--check"], [], ["pack", "--chapters", "1", "--out", str(tmp_path / "x.zip")]):
        result = subprocess.run([sys.executable, "-m", "physml_helpers.course.assign", *args],
                                cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "no course repository found" in result.stderr and "Traceback" not in result.stderr


def test_a_pack_carries_only_its_chapters_checks_and_readable_files(tmp_path, root):
    out = tmp_path / "week.zip"
    assign.pack(root, [1, 13], out)
    archive = zipfile.ZipFile(out)
    names = archive.namelist()
    checks = sorted(n for n in names if n.startswith("physml_helpers/course/checks/"))
    assert checks == ["physml_helpers/course/checks/__init__.py", "physml_helpers/course/checks/ch01.py",
                      "physml_helpers/course/checks/ch13.py"]  # no other chapter's reference answers
    for info in archive.infolist():
        assert (info.external_attr >> 16) & 0o777 == 0o644, (info.filename, oct(info.external_attr >> 16))


def test_the_package_declares_every_third_party_module_it_imports(root):
    """A wheel installed alone must bring everything the helpers and the answer checks import."""
    import ast
    import tomllib

    declared = {d.split(";")[0].split("[")[0].split("=")[0].split("<")[0].split(">")[0].split("~")[0].strip().lower()
                for d in tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]}
    distribution = {"IPython": "ipython", "zmq": "pyzmq", "myst_nb": "myst-nb", "matplotlib_inline": None}  # None: imported optionally, with a fallback
    imported = set()
    for path in (root / "physml_helpers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "physml_helpers"}
    needed = {distribution.get(m, m.lower()) for m in third_party} - {None}
    assert needed <= declared, f"pyproject.toml dependencies lack {sorted(needed - declared)}"


def test_stubs_announce_only_what_the_checks_read_and_keep_function_signatures():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Exercise 4.1"),
        nbformat.v4.new_code_cell(
            "### BEGIN SOLUTION\ndef measure(m, k, *, dt=0.1):\n    return m / k\n\nfig, ax = 1, 2\n"
            "rates = [0.1, 0.2]\nbest = max(rates)\n### END SOLUTION"
        ),
        nbformat.v4.new_code_cell("check(measure, best)"),
    ]
    stub = assign.strip_solutions(nb, source_name="04_x.ipynb").cells[1].source
    assert stub == ("# Exercise 4.1: your code here\n"
                    "def measure(m, k, *, dt=0.1):\n"
                    '    raise NotImplementedError("Exercise 4.1: replace this line with your code")\n'
                    "best = ...  # your answer")
    assert "fig" not in stub and "rates" not in stub  # the solution's internals stay hidden
    namespace = {}
    exec(stub, namespace)  # noqa: S102 - our own generated code
    with pytest.raises(NotImplementedError, match="Exercise 4.1"):
        namespace["measure"](1, 2)

"""Execute the book's chapter and solution notebooks on both test workers, for the book build's cache.

The book build (tests/test_book.py) runs in one xdist worker and would execute the notebooks one after
another while the other worker, done with the unit tests, sits idle. Instead, both workers take notebooks
from one pool: each claims the next unclaimed notebook (an exclusively created file, so no notebook runs
twice), executes it exactly as myst-nb's cache mode does (jupyter-cache's ``single_nb_execution``, in the
notebook's folder, with the book's per-cell timeout), and leaves the executed notebook in the pool folder.
The book worker then waits for every claimed notebook, adds the successful ones to the build's jupyter-cache
(it alone writes to the cache's database) and builds: myst-nb finds each notebook in the cache and does not
execute it again. A notebook that failed is not cached, so the build executes it itself and reports the
failure as it always did (test_book.py::test_notebook_executes shows the failing cell).

The pool lives in the run's shared temporary folder (the parent of the workers' own ones), so a new run
never sees an old pool.
"""

from __future__ import annotations

import json
import os
import pathlib
import time

import nbformat

_READY = "notebooks.json"


def pool_folder(tmp_path_factory) -> pathlib.Path:
    """The folder this run's workers share: under xdist each worker's base temporary folder is
    ``pytest-N/popen-gwK``, and ``pytest-N`` belongs to this run alone."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "notebook_pool"


class NotebookPool:
    """Claims, executes and hands over notebooks. ``notebooks`` is the order of claiming (longest
    first, so that the last notebooks to finish are short ones and the workers end together)."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        spec = json.loads((folder / _READY).read_text())
        self.notebooks = [pathlib.Path(p) for p in spec["notebooks"]]
        self.timeout = spec["timeout"]
        self.allow_errors = spec["allow_errors"]

    @classmethod
    def create(cls, folder: pathlib.Path, notebooks, timeout: int, allow_errors: bool) -> "NotebookPool":
        folder.mkdir(parents=True, exist_ok=False)
        spec = {"notebooks": [str(p) for p in notebooks], "timeout": timeout, "allow_errors": allow_errors}
        partial = folder / (_READY + ".partial")
        partial.write_text(json.dumps(spec))
        partial.rename(folder / _READY)  # atomic: a worker that sees the file sees all of it
        return cls(folder)

    @classmethod
    def join(cls, folder: pathlib.Path, wait_s: float) -> "NotebookPool | None":
        """The pool the book worker set up, once it is there (None after ``wait_s`` seconds)."""
        deadline = time.monotonic() + wait_s
        while not (folder / _READY).is_file():
            if time.monotonic() > deadline:
                return None
            time.sleep(1)
        return cls(folder)

    def _claim(self, index: int) -> bool:
        try:
            os.close(os.open(self.folder / f"{index}.claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _result(self, index: int) -> pathlib.Path:
        return self.folder / f"{index}.json"

    def work(self, worker: str) -> list[dict]:
        """Execute notebooks until none is left unclaimed; return what happened to each one taken."""
        from jupyter_cache.executors.utils import single_nb_execution

        done = []
        for index, path in enumerate(self.notebooks):
            if not self._claim(index):
                continue
            notebook = nbformat.read(path, as_version=4)
            result = single_nb_execution(notebook, cwd=str(path.parent), timeout=self.timeout,
                                         allow_errors=self.allow_errors, meta_override=True)
            record = {"notebook": str(path), "worker": worker, "seconds": result.time,
                      "error": None if result.err is None else result.exc_string}
            if result.err is None:
                record["executed"] = str(self.folder / f"{index}.ipynb")
                nbformat.write(notebook, record["executed"])
            partial = self.folder / f"{index}.json.partial"
            partial.write_text(json.dumps(record))
            partial.rename(self._result(index))
            done.append(record)
        return done

    def results(self, stale_after_s: float) -> list[dict]:
        """Every notebook's outcome, once each claimed one has one. A claim with no outcome after
        ``stale_after_s`` seconds (its worker stopped) is given up: the build will execute that notebook."""
        outcomes = []
        for index, path in enumerate(self.notebooks):
            result = self._result(index)
            claim = self.folder / f"{index}.claimed"
            while claim.exists() and not result.is_file() and time.time() - claim.stat().st_mtime < stale_after_s:
                time.sleep(1)
            if result.is_file():
                outcomes.append(json.loads(result.read_text()))
        return outcomes


def add_to_cache(cache_path: pathlib.Path, outcomes: list[dict]) -> int:
    """Put the successfully executed notebooks into the build's jupyter-cache as myst-nb's cache mode
    would have (the project record, then the executed bundle with its execution time); return how many."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_path))
    added = 0
    for outcome in outcomes:
        if outcome["error"] is not None:
            continue
        stage = cache.add_nb_to_project(outcome["notebook"])
        executed = nbformat.read(outcome["executed"], as_version=4)
        cache.cache_notebook_bundle(CacheBundleIn(executed, stage.uri, data={"execution_seconds": outcome["seconds"]}),
                                    check_validity=False, overwrite=True)
        added += 1
    return added

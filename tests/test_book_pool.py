"""This worker's share of executing the book's notebooks (see tests/notebook_pool.py).

The book's tests (tests/test_book.py) start on one xdist worker and set up a pool of the chapter and
solution notebooks; this module, scheduled next (tests/conftest.py), starts on the other worker and takes
notebooks from the same pool until none is left, then that worker goes on with the unit tests while the
book worker builds from the cache the two filled.
"""

import os

import nbformat
import pytest

from notebook_pool import NotebookPool, pool_folder

JOIN_WAIT_S = 600  # the book worker sets the pool up as it starts; this is only a bound on a broken run


@pytest.mark.book
def test_share_the_book_notebooks(request, tmp_path_factory):
    if not any("editions" in getattr(item, "fixturenames", ()) for item in request.session.items):
        pytest.skip("no test of this run builds the book, so there is no notebook to execute for it")
    pool = NotebookPool.join(pool_folder(tmp_path_factory), wait_s=JOIN_WAIT_S)
    if pool is None:
        pytest.fail(f"the book's notebook pool did not appear within {JOIN_WAIT_S} s", pytrace=False)
    done = pool.work(worker=os.environ.get("PYTEST_XDIST_WORKER", "main"))
    if not done:
        pytest.skip("the book worker had claimed every notebook already (a run with one worker, or a late start)")
    for record in done:  # a failure is reported by test_book.py::test_notebook_executes, after the build's own try
        if record["error"] is None:
            executed = nbformat.read(record["executed"], as_version=4)
            unrun = [i for i, cell in enumerate(executed.cells) if cell.cell_type == "code" and cell.source.strip()
                     and cell.execution_count is None]
            assert unrun == [], f"{record['notebook']}: code cells {unrun} have no execution count in the handed-over copy"


def _notebook(path, code):
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)], metadata={"kernelspec": kernelspec}),
                   path)
    return path


def test_pool_executes_each_notebook_once_and_fills_the_cache(tmp_path):
    from jupyter_cache import get_cache

    from notebook_pool import add_to_cache

    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "data.txt").write_text("found in the notebook's folder")
    good = _notebook(folder / "good.ipynb", "print(open('data.txt').read())")  # runs in its own folder
    bad = _notebook(folder / "bad.ipynb", "raise ValueError('this notebook fails')")
    lost = _notebook(folder / "lost.ipynb", "print('never run')")
    pool = NotebookPool.create(tmp_path / "pool", [good, bad, lost], timeout=60, allow_errors=False)
    other = NotebookPool.join(tmp_path / "pool", wait_s=0)
    assert other._claim(2)  # another worker took the last notebook, then stopped without an outcome
    done = pool.work(worker="gw0")
    assert [record["notebook"] for record in done] == [str(good), str(bad)]
    assert other.work(worker="gw1") == []  # nothing is left to claim: no notebook runs twice
    outcomes = pool.results(stale_after_s=1)  # gives the stopped worker's claim up after a second
    assert [o["notebook"] for o in outcomes] == [str(good), str(bad)]
    assert outcomes[0]["error"] is None and "this notebook fails" in outcomes[1]["error"]
    assert add_to_cache(tmp_path / "cache", outcomes) == 1  # the failed one is left for the build to run
    cache = get_cache(str(tmp_path / "cache"))
    record = cache.match_cache_notebook(nbformat.read(good, as_version=4))
    _, merged = cache.merge_match_into_notebook(nbformat.read(good, as_version=4))
    assert merged.cells[0].outputs[0]["text"].strip() == "found in the notebook's folder"
    assert record.data["execution_seconds"] == outcomes[0]["seconds"] > 0
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbformat.read(bad, as_version=4))

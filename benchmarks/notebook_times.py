"""Execute every notebook of the course and report seconds per notebook.

    python benchmarks/notebook_times.py                 # all notebooks in chapters/, solutions/, exercises/
    python benchmarks/notebook_times.py chapters/01*    # only those matching the given globs

Prints a Markdown table and writes it to _build/notebook_times.md. The budget is 60 s per notebook on a
two-core CPU (kernel start-up included); notebooks over it are marked, and the exit status is 1 if any
notebook fails or runs over.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUDGET_S = 60.0


def time_notebook(path: pathlib.Path) -> tuple[float, str]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except Exception as err:  # report, keep timing the others
        status = f"failed: {type(err).__name__}"
    return time.perf_counter() - start, status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="globs relative to the repository root (default: all notebooks)")
    args = parser.parse_args(argv)
    patterns = args.patterns or ["chapters/*.ipynb", "solutions/*.ipynb", "exercises/*.ipynb"]
    paths = sorted({p for pattern in patterns for p in ROOT.glob(pattern) if p.suffix == ".ipynb"})
    if not paths:
        parser.error(f"no notebooks match {patterns}")
    rows, worst = [], 0
    for path in paths:
        seconds, status = time_notebook(path)
        over = seconds > BUDGET_S
        worst = max(worst, int(over or status != "ok"))
        rows.append(f"| `{path.relative_to(ROOT).as_posix()}` | {seconds:6.1f} | {status}{' (over budget)' if over else ''} |")
        print(rows[-1], flush=True)
    table = "\n".join(["| notebook | seconds | status |", "|---|---:|---|", *rows])
    out = ROOT / "_build" / "notebook_times.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(f"# Notebook execution times (budget {BUDGET_S:.0f} s each)\n\n{table}\n")
    print(f"\n{table}\n\nwritten to {out.relative_to(ROOT)}")
    return worst


if __name__ == "__main__":
    sys.exit(main())

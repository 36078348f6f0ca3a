"""Shared fixtures. Unit tests run in float64, so that exact references can be met to 1e-10, and under
JAX's strict dtype promotion, so that a helper that silently mixes float32 and float64 (and so changes
the caller's dtype) fails loudly instead."""

import pathlib

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_configure(config):
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def root() -> pathlib.Path:
    return ROOT


def pytest_collection_modifyitems(items):
    """Put the book's tests first. ``--dist loadscope`` hands out whole modules in collection order
    (pyproject's ``--no-loadscope-reorder``), and tests/test_book.py is the longest by far: its builds
    execute every chapter and solution notebook one after another (about 25 minutes on two loaded cores).
    Started first, it runs beside the unit tests and exercise notebooks on the other worker instead of
    after them."""
    items.sort(key=lambda item: not item.nodeid.startswith("tests/test_book.py"))


_BUDGET_S = 60  # the course's limit per notebook, on an idle two-core machine with one thread per kernel


def pytest_terminal_summary(terminalreporter):
    """After a run with the book builds, list each chapter and solution notebook's execution time there
    (test_book.py::test_notebook_executes records it from the build's jupyter-cache), slowest first.
    Times are measured under the suite's load (another worker runs beside the build), so a notebook over
    the budget is marked for a look on an idle machine, not failed."""
    times = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            props = dict(getattr(report, "user_properties", None) or ())
            if getattr(report, "when", None) == "call" and "execution_seconds" in props:
                times.append((props["execution_seconds"], report.nodeid.split("[")[-1].rstrip("]")))
    if not times:
        return
    terminalreporter.section("notebook execution times in the book build")
    for seconds, name in sorted(times, reverse=True):
        mark = f"  over {_BUDGET_S} s (under load; time it alone)" if seconds > _BUDGET_S else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {name}{mark}")
    terminalreporter.write_line(f"{sum(s for s, _ in times):7.1f} s  in all, {len(times)} notebooks")

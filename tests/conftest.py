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


# Most unit tests spend their time compiling small programs, not running them. With XLA's optimization
# passes mostly off (``jax_disable_most_optimizations``) the unit tests took 1265 s instead of 1386 s in
# one process (tests/test_vmc.py 144 s instead of 178 s). Modules whose time goes into running long
# simulations are slower that way and keep the optimizations (measured: test_ising.py 132 s instead of
# 96 s, test_sbi.py 56 s instead of 34 s, test_checks_ch06.py 17 s instead of 6 s). Notebooks run in
# kernels of their own and are not affected.
# The two settings can round differently in the last bit (the optimizer may fuse a multiply and an add),
# and JAX's compilation cache does not tell them apart, so a program compiled under one setting would be
# reused under the other and a result would depend on which module ran first in the worker. The setting
# therefore changes only between modules, with the compilation caches cleared: every program a module runs
# is compiled under that module's setting, whatever ran before it.
_OPTIMIZED_MODULES = {"test_ising.py", "test_sbi.py", "test_checks_ch06.py"}


@pytest.fixture(scope="module", autouse=True)
def _compile_fast(request):
    optimize = request.node.path.name in _OPTIMIZED_MODULES or request.node.path.suffix != ".py"
    if jax.config.read("jax_disable_most_optimizations") == optimize:  # the setting changes: start afresh
        jax.clear_caches()
        jax.config.update("jax_disable_most_optimizations", not optimize)
    yield


@pytest.fixture
def root() -> pathlib.Path:
    return ROOT


def pytest_collection_modifyitems(items):
    """Put the book's tests first and the other worker's share of the book's notebooks second.

    ``--dist loadscope`` hands out whole modules in collection order (pyproject's
    ``--no-loadscope-reorder``), one to each worker at the start and the next one to whichever worker
    runs short. tests/test_book.py starts on one worker and sets up a pool of the chapter and solution
    notebooks; tests/test_book_pool.py starts on the other one and executes notebooks from the same pool
    until none is left (tests/notebook_pool.py). Then the book worker builds both editions and the PDF
    from the cache the two filled, while the other worker takes the unit tests and exercise notebooks;
    whichever finishes first takes the modules still waiting."""
    first = ("tests/test_book.py", "tests/test_book_pool.py")
    items.sort(key=lambda item: next((i for i, name in enumerate(first) if item.nodeid.startswith(name + "::")),
                                     len(first)))


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
                times.append((props["execution_seconds"], report.nodeid.split("[")[-1].rstrip("]"),
                              props.get("executed_by", "?")))
    if not times:
        return
    terminalreporter.section("notebook execution times for the book build (executed by which worker)")
    for seconds, name, worker in sorted(times, reverse=True):
        mark = f"  over {_BUDGET_S} s (under load; time it alone)" if seconds > _BUDGET_S else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {name} ({worker}){mark}")
    for worker in sorted({w for _, _, w in times}):
        mine = [s for s, _, w in times if w == worker]
        terminalreporter.write_line(f"{sum(mine):7.1f} s  {len(mine)} notebooks executed by {worker}")
    terminalreporter.write_line(f"{sum(s for s, _, _ in times):7.1f} s  in all, {len(times)} notebooks")

"""Helpers for the course *Machine learning and physics, in both directions*.

One small module per physics topic (``landscape``, ``networks``, ...), plus ``interactive`` for figures
that are live in JupyterLab and scrubbable in the static book, and ``course`` for the exercise tooling.
Every iterative method is a :class:`Kernel`, an ``(init, step)`` pair; a solver that stops short of its
tolerance raises :class:`ConvergenceError`. Importing the package has no side effects: notebooks call
:func:`setup_notebook` explicitly.
"""

from physml_helpers._kernels import ConvergenceError, Kernel
from physml_helpers._setup import setup_notebook

__all__ = ["setup_notebook", "Kernel", "ConvergenceError"]
__version__ = "0.1.0"

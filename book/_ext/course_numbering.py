"""Number figures, tables and equations per chapter: "Fig. 15.2", "(15.3)", "Fig. A.1".

Sphinx numbers figures and (with ``math_numfig``) equations by section number, and section numbers
come only from a ``:numbered:`` toctree, which counts chapters in table-of-contents order: the front
matter would shift every chapter's number, and the titles, which carry the plan's numbers by hand
("# 15. Gauge ..."), would be numbered twice. Instead, this extension takes each page's number from
its file name and recomputes ``env.toc_fignumbers`` (what captions, equation numbers, ``{numref}``
and ``{eq}`` read) after Sphinx's own pass:

=====================================  ==============================  =========================
page                                   prefix                          example
=====================================  ==============================  =========================
``chapters/NN_name``                   the chapter number ``NN``       Fig. 15.2, (15.3)
``chapters/A_name`` (an appendix)      the letter                      Fig. A.1, (A.2)
``exercises/NN_name``,                 ``E`` and the chapter's number  Fig. E15.1, (E15.2)
``solutions/NN_name``
every other page (front, back matter)  none                            Fig. 1, (2)
=====================================  ==============================  =========================

Every page counts from 1 by itself, so a page's numbers depend on nothing but the page: the full and
the student edition (which lacks the solutions) give every page the same numbers. Exercise and solution
pages share a prefix because the exercises are generated from the solutions; the ``E`` keeps their
numbers apart from the chapter's. Section headings are not numbered by Sphinx (no toctree is
``:numbered:``): the chapters' titles and sections carry their numbers in the text.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

_PAGE = re.compile(r"^(?P<folder>chapters|exercises|solutions)/(?P<label>\d{2}|[A-Z])_[^/]+$")


def page_prefix(docname: str) -> tuple[str, ...]:
    """The number prefix of a page's figures, tables and equations.

    Args:
        docname: Sphinx document name, e.g. ``"chapters/15_gauge_equivariant_networks"``.

    Returns:
        ``("15",)`` for chapter 15, ``("A",)`` for appendix A, ``("E15",)`` for the exercises or
        solutions of chapter 15, and ``()`` for a page outside those folders.

    Raises:
        TypeError: if ``docname`` is not a string.
    """
    if not isinstance(docname, str):
        raise TypeError(f"docname must be a str, got {type(docname).__name__}")
    match = _PAGE.match(docname)
    if match is None:
        return ()
    label = match["label"].lstrip("0") if match["label"].isdigit() else match["label"]
    return (label,) if match["folder"] == "chapters" else (f"E{label}",)


def _figtype(env, node) -> str | None:
    """Sphinx's rule (``TocTreeCollector.assign_figure_numbers``): the first domain that knows the node
    as enumerable; the standard domain's figures, tables and code blocks only when captioned."""
    for domain in env.domains.values():
        figtype = domain.get_enumerable_node_type(node)
        if domain.name == "std" and not domain.get_numfig_title(node):
            continue
        if figtype:
            return figtype
    return None


def _number_page(env, docname: str) -> dict[str, dict[str, tuple]]:
    prefix = page_prefix(docname)
    numbers: dict[str, dict[str, tuple]] = {}
    counters: dict[str, int] = {}
    for node in env.get_doctree(docname).findall(nodes.Element):
        if isinstance(node, (nodes.section, addnodes.toctree)) or not node.get("ids"):
            continue
        figtype = _figtype(env, node)
        if figtype:
            counters[figtype] = counters.get(figtype, 0) + 1
            numbers.setdefault(figtype, {})[node["ids"][0]] = (*prefix, counters[figtype])
    return numbers


def assign_chapter_numbers(app, env) -> list[str]:
    """``env-get-updated`` handler, run after Sphinx's toctree collector: replace its figure numbers
    by per-page ones and return the pages whose numbers changed (to be written again)."""
    if not env.config.numfig:
        return []
    before = env.toc_fignumbers
    after = {}
    for docname in sorted(env.found_docs):
        numbers = _number_page(env, docname)
        if numbers:
            after[docname] = numbers
    env.toc_fignumbers = after
    return sorted(d for d in set(before) | set(after) if before.get(d) != after.get(d))


def _check_no_numbered_toctree(app, env):
    numbered = sorted(d for d, n in env.toc_secnumbers.items() if n)
    if numbered:
        logger.warning(
            "course_numbering: pages %s are under a :numbered: toctree; their headings already carry "
            "the plan's numbers by hand, so Sphinx would number them twice. Remove `numbered:` from the "
            "table of contents.", ", ".join(numbered[:3]),
        )
    return []


def setup(app):
    # Sphinx's TocTreeCollector handles env-get-updated at the default priority (500); run after it.
    app.connect("env-get-updated", assign_chapter_numbers, priority=900)
    app.connect("env-get-updated", _check_no_numbered_toctree, priority=910)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}

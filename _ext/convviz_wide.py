"""Sphinx extension: the Markdown table right after ``<!-- convviz: full-width -->`` gets the theme's wide layout.

The book's errata table needs the page's full width.  MyST's ``:::{container} full-width`` fence would do it,
but JupyterLab, Notebook 7 and Colab show such a fence as raw text around the table.  An HTML comment is
invisible everywhere, so the notebook carries the comment and this extension wraps the table that follows it
in a ``full-width`` container, the node the fence would have made (``_static/custom.css`` styles it).  A marker
that is not followed by a table is an error (the build runs with warnings as errors).
"""
from __future__ import annotations

from docutils import nodes
from sphinx.util import logging

MARKER = "convviz: full-width"
logger = logging.getLogger(__name__)


def wrap_marked_tables(app, doctree) -> None:
    for raw in list(doctree.findall(nodes.raw)):
        if MARKER not in raw.astext():
            continue
        parent = raw.parent
        i = parent.index(raw)
        table = parent[i + 1] if i + 1 < len(parent) else None
        if not isinstance(table, nodes.table):
            logger.warning(f"<!-- {MARKER} --> must be followed by a Markdown table", location=raw)
            continue
        box = nodes.container(classes=["full-width"])
        parent.replace(table, box)
        box += table
        parent.remove(raw)


def setup(app):
    app.connect("doctree-read", wrap_marked_tables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

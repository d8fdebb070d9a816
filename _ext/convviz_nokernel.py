"""Sphinx extension: drop the explorers' no-kernel stand-ins from the book's pages.

In Jupyter every explorer is followed by a hidden output (``convviz.widgets.nokernel_html``) that mounts a
static explorer when JupyterLab cannot render the widget view (no kernel). The book mounts its explorers
from the widget output's own text/html, so the stand-in (about 90 kB of base64 code each) would only add
weight: it is removed from the doctree after MyST-NB has chosen each output's mime type.
"""
from __future__ import annotations

from docutils import nodes

MARK = "convviz-explorer-nokernel"


def _drop_standins(app, doctree, docname) -> None:
    for raw in list(doctree.findall(nodes.raw)):
        if MARK in raw.astext():
            parent = raw.parent
            parent.remove(raw)
            # MyST-NB wraps an output in a container of its own; drop wrappers left empty
            while parent is not None and not parent.children and isinstance(parent, nodes.container):
                grand = parent.parent
                grand.remove(parent)
                parent = grand


def setup(app):
    app.connect("doctree-resolved", _drop_standins)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

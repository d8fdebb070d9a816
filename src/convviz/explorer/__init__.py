"""The explorer front-end's files (package data; plain ES modules, no build step).

The one list of what ships where: the book's build copies :data:`STATIC_FILES` to
``_static/convviz-explorer/`` (``_ext/convviz_html.py``), the browser tests and
benchmarks write their pages with the same files, and ``convviz.widgets`` bundles
``core.js`` + ``explorer.js`` for anywidget.  Importing this module imports
nothing else (the Sphinx extension uses it without loading anywidget).
"""
from pathlib import Path

DIR = Path(__file__).resolve().parent

#: What a static page loads: mount.js (the entry, which imports core.js and explorer.js) and the stylesheet.
STATIC_FILES = ("mount.js", "core.js", "explorer.js", "explorer.css")

#: Jupyter only: the no-kernel stand-in's script, inlined by ``convviz.widgets.nokernel_html``.
JUPYTER_FILES = ("nokernel.js",)

"""Page weight: no search index on pages that cannot search as you type, no extension assets a page does not use.

pydata-sphinx-theme's ``layout.html`` loads Sphinx's ``searchtools.js``, ``language_data.js`` and the whole
``searchindex.js`` (75 kB together, growing with the book) on every page, for its optional search-as-you-type
dialog. With ``search_as_you_type`` off (the theme's default, and this book's setting), the dialog only submits
its query to ``search.html``, which loads those files itself: after the build, the three script tags are removed
from every other page. Turning ``html_theme_options.search_as_you_type`` on keeps them.

Jupyter Book also loads sphinx-design (``sphinx-design.min.css`` + ``design-tabs.js``, 62 kB) and
sphinx-togglebutton (``togglebutton.css`` + ``togglebutton.js``, 13 kB) on every page; a page whose content has
no element of theirs (``sd-*`` classes; ``.toggle`` / ``.dropdown``) does not link them (``html-page-context``).
"""
from __future__ import annotations

import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[^"]*?(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>\n?'
)


# (files, a pattern of the page content that needs them)
OPTIONAL_ASSETS = [
    (("sphinx-design.min.css", "design-tabs.js"), re.compile(r'class="[^"]*\bsd-')),
    (("togglebutton.css", "togglebutton.js"), re.compile(r'class="[^"]*\b(?:toggle|dropdown)\b')),
]


def _drop_unused_assets(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body", "")
    unused = {name for names, needed in OPTIONAL_ASSETS if not needed.search(body) for name in names}
    for key in ("css_files", "script_files"):
        files = context.get(key)
        if isinstance(files, list):
            files[:] = [f for f in files if str(getattr(f, "filename", f) or "").rsplit("/", 1)[-1] not in unused]


def _finished(app, exception) -> None:
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    if str((app.config.html_theme_options or {}).get("search_as_you_type", False)).lower() == "true":
        return
    outdir = Path(app.outdir)
    pages = 0
    for page in sorted(outdir.rglob("*.html")):
        rel = page.relative_to(outdir)
        if rel.as_posix() == "search.html" or rel.parts[0] in ("_static", "_sources"):
            continue
        text = page.read_text(encoding="utf-8")
        new = SEARCH_SCRIPTS.sub("", text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            pages += 1
    logger.info("convviz_pageweight: search index scripts dropped from %d pages (search.html keeps them)", pages)


def setup(app):
    app.connect("html-page-context", _drop_unused_assets)
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

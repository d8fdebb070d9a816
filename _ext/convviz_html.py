"""Sphinx extension for the convviz book's HTML (loaded from _config.yml: sphinx.local_extensions).

Keeps the pages free of JavaScript errors, which tests/test_browser.py checks in a real browser:

* the pydata theme logs "Got invalid theme mode" on every first visit because sphinx-book-theme leaves
  ``default_mode`` (an html_context entry) empty: default to the light theme, which suits the white
  backgrounds of the book's matplotlib figures;
* Sphinx 7.4 emits inline scripts that extensions register after the builder starts (sphinx-thebe,
  sphinx-togglebutton) twice, and the second ``const THEBE_JS_URL`` is a SyntaxError: keep the first copy;
* Sphinx copies ``_static/`` only when it rewrites some page, so an edit of ``_static/custom.css`` alone
  would never reach ``_build/html``: re-read the root page then.
"""
from __future__ import annotations

from pathlib import Path


def _default_light_mode(app, config) -> None:
    # pydata-sphinx-theme reads the default colour mode from html_context, not from the theme options
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for js in scripts:
        # None and "" both mean an inline script; compare what ends up in the page
        key = (getattr(js, "filename", js) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def _static_changed(app, env, added, changed, removed) -> list[str]:
    if getattr(app.builder, "format", "") != "html":
        return []
    out = Path(app.outdir) / "_static"
    for static in app.config.html_static_path:
        root = Path(app.confdir) / static
        for src in root.rglob("*") if root.is_dir() else []:
            dst = out / src.relative_to(root)
            if src.is_file() and (not dst.is_file() or dst.stat().st_mtime < src.stat().st_mtime):
                return [app.config.root_doc]
    return []


def setup(app):
    app.connect("config-inited", _default_light_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("env-get-outdated", _static_changed)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx extension for the convviz book's HTML (loaded from _config.yml: sphinx.local_extensions).

Keeps the pages free of JavaScript errors, which tests/test_browser.py checks in a real browser:

* the pydata theme logs "Got invalid theme mode" on every first visit because sphinx-book-theme leaves
  ``default_mode`` (an html_context entry) empty: default to the light theme, which suits the white
  backgrounds of the book's matplotlib figures;
* Sphinx 7.4 emits inline scripts that extensions register after the builder starts (sphinx-thebe,
  sphinx-togglebutton) twice, and the second ``const THEBE_JS_URL`` is a SyntaxError: keep the first copy;
* Sphinx copies ``_static/`` only when it rewrites some page, so an edit of ``_static/custom.css`` alone
  would never reach ``_build/html``: re-read the root page then;
* the live explorers (``convviz.widgets``): their files (``src/convviz/explorer/*.js|css``, package data)
  are copied to ``_static/convviz-explorer/`` and loaded, as an ES module and a stylesheet, only on pages
  that hold an explorer's static config (``<div class="convviz-explorer-static">``); the ipywidgets
  widget-state JSON that MyST-NB would embed in such pages is dropped (the explorers do not need it, and
  no widget manager is loaded: ``nb_ipywidgets_js: {}`` in _config.yml).
"""
from __future__ import annotations

import shutil
from pathlib import Path

EXPLORER_STATIC = "convviz-explorer"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"


def _explorer_assets() -> Path:
    # the package data, found without importing convviz.widgets (which imports anywidget)
    import convviz

    return Path(convviz.__file__).resolve().parent / "explorer"


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


def _explorer_page(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        # no widget-state JSON in the page: the explorers carry their own config
        scripts[:] = [js for js in scripts if getattr(js, "attributes", {}).get("type") != WIDGET_STATE_MIME]
    if "convviz-explorer-static" in (context.get("body") or ""):
        app.add_css_file(f"{EXPLORER_STATIC}/explorer.css")
        app.add_js_file(f"{EXPLORER_STATIC}/mount.js", type="module")


def _copy_explorer(app, exception) -> None:
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    out = Path(app.outdir) / "_static" / EXPLORER_STATIC
    out.mkdir(parents=True, exist_ok=True)
    for src in _explorer_assets().iterdir():
        if src.suffix in (".js", ".css") and src.name != "nokernel.js":  # nokernel.js: Jupyter only
            shutil.copyfile(src, out / src.name)


def setup(app):
    app.connect("config-inited", _default_light_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("env-get-outdated", _static_changed)
    app.connect("html-page-context", _explorer_page, priority=800)
    app.connect("build-finished", _copy_explorer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

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
  no widget manager is loaded: ``nb_ipywidgets_js: {}`` in _config.yml);
* the explorers' shared sample data is written once per page (``share_configs``), and ``mount.js`` is an async,
  render-blocking module with its imports preloaded: it mounts each explorer as soon as the parser reaches it,
  before the page is first drawn, so the placeholder never shows and no content below an explorer shifts.
"""
from __future__ import annotations

import hashlib
import json
import re
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


HOST_CONFIG = re.compile(r"""(<div class=['"]convviz-explorer-static['"][^>]*>\s*<script type=['"]application/json['"]>)"""
                         r"(.*?)(</script>)", re.S)
SHARED_KEYS = ("base",)  # the explorers' sample data: the same for every explorer of a page unless x / w are given


def share_configs(body: str) -> str:
    """Each explorer's config carries the same ~10 kB of sample data (``base``): a page with several explorers
    holds one copy, in a ``<script type="application/json" id="convviz-explorer-shared-...">`` before the first
    explorer that uses it, and the configs say ``"base": {"$shared": "<that id>"}`` (mount.js puts it back)."""
    hosts = list(HOST_CONFIG.finditer(body))
    if len(hosts) < 2:
        return body
    configs = []
    for m in hosts:
        try:
            configs.append(json.loads(m.group(2)))
        except ValueError:
            return body
    shared: dict[str, str] = {}  # canonical JSON -> id
    counts: dict[str, int] = {}
    for cfg in configs:
        for key in SHARED_KEYS:
            if isinstance(cfg.get(key), (dict, list)):
                canon = json.dumps(cfg[key], separators=(",", ":"), sort_keys=True)
                counts[canon] = counts.get(canon, 0) + 1
    out, pos, emitted = [], 0, set()
    for m, cfg in zip(hosts, configs):
        before = ""
        for key in SHARED_KEYS:
            value = cfg.get(key)
            if not isinstance(value, (dict, list)):
                continue
            canon = json.dumps(value, separators=(",", ":"), sort_keys=True)
            if counts.get(canon, 0) < 2:
                continue
            ident = shared.setdefault(canon, "convviz-explorer-shared-" + hashlib.sha1(canon.encode()).hexdigest()[:10])
            if ident not in emitted:
                emitted.add(ident)
                payload = json.dumps(value, separators=(",", ":")).replace("</", "<\\/")
                before += f'<script type="application/json" id="{ident}" class="convviz-explorer-shared">{payload}</script>'
            cfg[key] = {"$shared": ident}
        payload = json.dumps(cfg, separators=(",", ":")).replace("</", "<\\/")
        out += [body[pos:m.start()], before, m.group(1), payload, m.group(3)]
        pos = m.end()
    out.append(body[pos:])
    return "".join(out)


def _module_imports(path: Path, seen: set[str] | None = None) -> list[str]:
    """The file names of the modules that ``path`` imports, directly or not (static ``import ... from "./x.js"``)."""
    seen = set() if seen is None else seen
    for name in re.findall(r"""^\s*import\b[^'"]*['"]\./([\w.-]+\.js)['"]""", path.read_text(encoding="utf-8"), re.M):
        if name not in seen and (path.parent / name).is_file():
            seen.add(name)
            _module_imports(path.parent / name, seen)
    return sorted(seen)


def _explorer_page(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        # no widget-state JSON in the page: the explorers carry their own config
        scripts[:] = [js for js in scripts if getattr(js, "attributes", {}).get("type") != WIDGET_STATE_MIME]
    if "convviz-explorer-static" in (context.get("body") or ""):
        context["body"] = share_configs(context["body"])
        app.add_css_file(f"{EXPLORER_STATIC}/explorer.css")
        app.add_js_file(f"{EXPLORER_STATIC}/mount.js", type="module")  # made async and render-blocking below


MOUNT_TAG = re.compile(r'<script type="module" src="([^"]*?)%s/mount\.js(\?[^"]*)?"></script>' % EXPLORER_STATIC)


def mount_early(page: str, modules: list[str]) -> str:
    """The page's mount.js tag made ``async`` (it runs as soon as it and its imports are loaded, and mounts each
    explorer as soon as the parser has read it) and ``blocking="render"`` (the page is first drawn after that,
    with the explorers in place, so nothing below them moves when they appear; browsers without ``blocking``
    draw earlier), with ``<link rel="modulepreload">`` for its imports (fetched at once, with the stylesheets,
    instead of one after the other)."""
    def tag(m: re.Match) -> str:
        prefix = m.group(1)
        preloads = "".join(f'<link rel="modulepreload" href="{prefix}{EXPLORER_STATIC}/{name}" />\n'
                           for name in modules)
        return (f'{preloads}<script type="module" async blocking="render" '
                f'src="{prefix}{EXPLORER_STATIC}/mount.js{m.group(2) or ""}"></script>')

    return MOUNT_TAG.sub(tag, page)


def _copy_explorer(app, exception) -> None:
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    out = Path(app.outdir) / "_static" / EXPLORER_STATIC
    out.mkdir(parents=True, exist_ok=True)
    from convviz.explorer import STATIC_FILES

    for name in STATIC_FILES:
        shutil.copyfile(_explorer_assets() / name, out / name)
    modules = _module_imports(_explorer_assets() / "mount.js")
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "/mount.js" in text:
            new = mount_early(text, modules)
            if new != text:
                page.write_text(new, encoding="utf-8")


def setup(app):
    app.connect("config-inited", _default_light_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("env-get-outdated", _static_changed)
    app.connect("html-page-context", _explorer_page, priority=800)
    app.connect("build-finished", _copy_explorer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

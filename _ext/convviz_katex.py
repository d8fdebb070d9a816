"""Math rendered at build time: KaTeX (from ``node_modules``, pinned by package.json) through sphinxcontrib-katex.

Loaded from _config.yml (``sphinx.local_extensions``) after ``sphinxcontrib.katex`` (``extra_extensions``).

* Every ``$...$``, ``$$...$$``, amsmath environment and ``text/latex`` notebook output is turned into KaTeX HTML
  while Sphinx writes the page (``katex_prerender``: one long-lived ``node`` process renders every formula of
  the build over a socket): the pages carry no math JavaScript at all.
* The KaTeX library is the one ``npm ci`` installs from package-lock.json (``node_modules/katex``), not the copy
  bundled in the Python package, so its version is pinned in one place.
* Strict: a formula KaTeX cannot parse (``throwOnError``, ``strict: error``) is reported with its page and line
  and **fails the build**, also without ``-W`` (the build's status code is set at build-finished).
* The browser gets KaTeX's stylesheet (``_static/katex/katex.min.css``, trimmed to the woff2 fonts, which every
  browser this book supports reads) and the woff2 font files, all served from ``_static``: a page downloads only
  the fonts its formulas use. Pages without math do not link the stylesheet.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from docutils import nodes
from sphinx.errors import ConfigError, ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

RENDERER = "convviz_katex"
KATEX_OPTIONS = {
    "throwOnError": True,  # a parse error is an error, not red text in the page
    "strict": "error",  # also LaTeX-incompatible input (e.g. Unicode in math) is an error
    "output": "htmlAndMathml",  # MathML for screen readers, HTML for the eye
}
CSS = "katex/katex.min.css"
# KaTeX's @font-face rules list woff2, woff and ttf for each face; keep woff2 only
_OTHER_FORMATS = re.compile(r',\s*url\([^)]*\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)')


def _start_server_process(cls, rundir, timeout):
    """sphinxcontrib-katex 0.9.11 connects once, as soon as node's socket file exists, and fails the build with
    ConnectionRefusedError when node is not listening yet (seen on a loaded machine): retry until ``timeout``."""
    import sphinxcontrib.katex as sck

    socket_path = rundir / "katex.sock"
    cmd = cls.build_command(socket=socket_path)
    process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=rundir)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise sck.KaTeXError(f"the KaTeX server exited with status {process.returncode}: {' '.join(cmd)}")
        if socket_path.is_socket():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(socket_path))
                return process, sock
            except (ConnectionRefusedError, FileNotFoundError):
                sock.close()
        if time.monotonic() > deadline:
            process.kill()
            raise cls.timeout_error(timeout)
        time.sleep(0.01)


def _katex_dist(app) -> Path:
    return Path(app.confdir) / "node_modules" / "katex" / "dist"


def _configure(app, config) -> None:
    import sphinxcontrib.katex as sck

    dist = _katex_dist(app)
    if not (dist / "katex.min.js").is_file():
        raise ConfigError(f"KaTeX is missing ({dist}): run `npm ci` in the repository root (make book does)")
    config.katex_prerender = True
    config.katex_js_path = str(dist / "katex.min.js")  # sphinxcontrib-katex's node server require()s this file
    config.katex_css_path = CSS
    config.html_math_renderer = RENDERER
    sck.KATEX_DEFAULT_OPTIONS = dict(KATEX_OPTIONS)  # read by sphinxcontrib.katex.render_latex at each call
    # node's start-up and a long formula can take more than the default 5 s on a busy machine
    sck.STARTUP_TIMEOUT = sck.RENDER_TIMEOUT = 60.0
    if os.name == "posix":
        sck.KaTeXServer.start_server_process = classmethod(_start_server_process)


def _static_files(app) -> None:
    """Write the trimmed stylesheet and copy the woff2 fonts into a static folder of this build."""
    if getattr(app.builder, "format", "") != "html":
        return
    dist = _katex_dist(app)
    root = Path(tempfile.mkdtemp(prefix="convviz-katex-"))
    out = root / "katex"
    (out / "fonts").mkdir(parents=True)
    source = dist / "katex.min.css"
    css = _OTHER_FORMATS.sub("", source.read_text(encoding="utf-8"))
    if re.search(r"\.(woff|ttf)\)", css):
        raise ExtensionError("convviz_katex: KaTeX's stylesheet changed: fonts other than woff2 are still referenced")
    (out / "katex.min.css").write_text(css, encoding="utf-8")
    shutil.copystat(source, out / "katex.min.css")  # same mtime as the source: no needless re-copy
    for font in sorted((dist / "fonts").glob("*.woff2")):
        shutil.copy2(font, out / "fonts" / font.name)
    app.config.html_static_path.append(str(root))
    app._convviz_katex_static = root  # noqa: SLF001
    app._convviz_katex_failures = []  # noqa: SLF001


def _render(visitor):
    """Wrap one of sphinxcontrib-katex's visitors: a KaTeX error names the page and the formula."""

    def visit(self, node):
        import sphinxcontrib.katex as sck

        try:
            visitor(self, node)
        except nodes.SkipNode:
            raise
        except sck.KaTeXError as err:
            app = self.builder.app
            latex = node.astext()
            app._convviz_katex_failures.append((self.builder.current_docname, latex, str(err)))  # noqa: SLF001
            logger.error("KaTeX cannot render %r: %s", latex[:200], err, location=node)
            self.body.append(f'<span class="katex-error">{self.encode(latex)}</span>')
            raise nodes.SkipNode from None

    return visit


def _drop_css_without_math(app, pagename, templatename, context, doctree) -> None:
    """Pages without a formula do not load KaTeX's stylesheet."""
    body = context.get("body", "")
    if 'class="katex' in body:
        return
    css = context.get("css_files")
    if isinstance(css, list):
        drop = ("_static/" + CSS, "_static/katex-math.css", CSS, "katex-math.css")
        css[:] = [c for c in css if str(getattr(c, "filename", c)) not in drop]


def _finished(app, exception) -> None:
    root = getattr(app, "_convviz_katex_static", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
    failures = getattr(app, "_convviz_katex_failures", [])
    if failures and exception is None:
        # not an exception here: Sphinx would run every build-finished handler a second time
        listing = "\n".join(f"  {doc}: {latex[:120]!r}: {err}" for doc, latex, err in failures)
        logger.error("KaTeX could not render %d formula(s), the build fails:\n%s", len(failures), listing)
        app.statuscode = 1  # fails also a build without -W


def setup(app):
    import sphinxcontrib.katex as sck

    if "sphinxcontrib.katex" not in app.extensions:
        app.setup_extension("sphinxcontrib.katex")
    app.add_html_math_renderer(
        RENDERER,
        inline_renderers=(_render(sck.html_visit_math), None),
        block_renderers=(_render(sck.html_visit_displaymath), None),
    )
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _static_files)
    app.connect("html-page-context", _drop_css_without_math)
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": False}

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
* After the build each KaTeX font is cut to the characters that the book's formulas draw (``subset_fonts``:
  every character of every page's KaTeX output, from KaTeX's TrueType files through fontTools; 16-26 kB fonts
  become 3-7 kB): the same glyphs, hinting and metrics, so the same rendering. A formula with a character
  new to the book makes the next build cut the fonts again.
  fontTools writes WOFF2 through the ``brotli`` module; without it, Node's zlib (KaTeX needs Node anyway)
  compresses. The subsets are cached under ``_build/.convviz-katex-fonts``.
* Each page preloads (``<link rel="preload" as="font">``, next to KaTeX's stylesheet) the fonts its formulas use,
  found from KaTeX's classes (``FONT_CLASSES``): the browser fetches them with the stylesheets instead of after
  the first layout, so the math does not reflow when they arrive.
"""
from __future__ import annotations

import hashlib
import html.parser
import logging as logging_std
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


# --------------------------------------------------------------------------------------------- fonts
# KaTeX's classes that switch to another font file (katex.min.css), in the order of KaTeX's fonts; every formula
# draws with KaTeX_Main-Regular. A class in a page's KaTeX output means the page uses that font.
FONT_CLASSES = {
    "KaTeX_Main-Regular": r"katex-html",
    "KaTeX_Main-Bold": r"mathbf|textbf",
    "KaTeX_Main-Italic": r"mathit|textit",
    "KaTeX_Math-Italic": r"mathnormal",
    "KaTeX_Math-BoldItalic": r"boldsymbol",
    "KaTeX_AMS-Regular": r"amsrm|mathbb|textbb",
    "KaTeX_Caligraphic-Regular": r"mathcal",
    "KaTeX_Fraktur-Regular": r"mathfrak|textfrak",
    "KaTeX_Script-Regular": r"mathscr|textscr",
    "KaTeX_SansSerif-Regular": r"mathsf|textsf",
    "KaTeX_Typewriter-Regular": r"mathtt|texttt",
    "KaTeX_Size1-Regular": r"small-op|delim-size1|delimsizing size1",
    "KaTeX_Size2-Regular": r"large-op|delimsizing size2",
    "KaTeX_Size3-Regular": r"delimsizing size3",
    "KaTeX_Size4-Regular": r"delim-size4|delimsizing size4",
}
PRELOAD_MARK = "data-convviz-katex"
PRELOAD = re.compile(r'[ \t]*<link rel="preload"[^>]*%s[^>]*>\n?' % PRELOAD_MARK)
KATEX_LINK = re.compile(r'(<link rel="stylesheet"[^>]*href="([^"]*?)katex/katex\.min\.css[^"]*"[^>]*>\n?)')


def page_fonts(page: str) -> list[str]:
    """The KaTeX fonts (file stems) that a page's formulas use, from the classes of its KaTeX output."""
    classes = set()
    for value in re.findall(r'<span[^>]*\bclass="([^"]*)"', page):
        classes.add(value)
    joined = "\n".join(classes)
    if "katex-html" not in joined:
        return []
    return [font for font, pattern in FONT_CLASSES.items()
            if re.search(r'(?:^|\s)(?:%s)(?:\s|$)' % pattern, joined, re.M)]


class _KatexText(html.parser.HTMLParser):
    """The characters inside KaTeX output (``.katex-html``: the drawn part) of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0  # > 0 inside .katex-html: the number of open elements there
        self.chars: set[str] = set()

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif "katex-html" in (dict(attrs).get("class") or "").split():
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.chars.update(data)


class _NodeBrotli:
    """The part of the ``brotli`` module that fontTools' WOFF2 writer uses, done by Node's zlib."""

    MODE_GENERIC, MODE_TEXT, MODE_FONT = 0, 1, 2
    JS = ("const z=require('zlib');const c=[];process.stdin.on('data',d=>c.push(d));process.stdin.on('end',()=>{"
          "const b=Buffer.concat(c);const P=z.constants;process.stdout.write(%s)});")

    def __init__(self, node: str):
        self.node = node

    def _run(self, expr: str, data: bytes) -> bytes:
        return subprocess.run([self.node, "-e", self.JS % expr], input=data, capture_output=True, check=True).stdout

    def compress(self, data: bytes, mode: int = 0, quality: int = 11, lgwin: int = 22, lgblock: int = 0) -> bytes:
        return self._run("z.brotliCompressSync(b,{params:{[P.BROTLI_PARAM_MODE]:%d,[P.BROTLI_PARAM_QUALITY]:%d,"
                         "[P.BROTLI_PARAM_LGWIN]:%d,[P.BROTLI_PARAM_SIZE_HINT]:b.length}})" % (mode, quality, lgwin),
                         data)

    def decompress(self, data: bytes) -> bytes:
        return self._run("z.brotliDecompressSync(b)", data)


def _woff2_writer(node: str) -> None:
    from fontTools.ttLib import woff2

    if not woff2.haveBrotli:
        woff2.brotli = _NodeBrotli(node)
        woff2.haveBrotli = True


def subset_fonts(dist: Path, fonts_out: Path, chars: set[str], cache: Path, node: str = "node") -> tuple[int, int]:
    """Every woff2 font in ``fonts_out`` replaced by KaTeX's TrueType font of that name (in ``dist/fonts``) cut to
    ``chars``. Returns (bytes before, bytes after)."""
    from fontTools import subset

    codepoints = sorted({ord(c) for c in chars} | {0x20, 0xA0})
    key = hashlib.sha1((",".join(map(str, codepoints)) + "|" + _katex_version(dist)).encode()).hexdigest()[:16]
    cached = cache / key
    before = after = 0
    for out in sorted(fonts_out.glob("*.woff2")):
        before += out.stat().st_size
        target = cached / out.name
        if not target.is_file():
            ttf = dist / "fonts" / (out.stem + ".ttf")
            if not ttf.is_file():
                after += out.stat().st_size
                continue
            _woff2_writer(node)
            cached.mkdir(parents=True, exist_ok=True)
            options = subset.Options()
            options.flavor = "woff2"
            options.layout_features = ["*"]
            options.name_IDs = ["*"]
            options.notdef_outline = True
            options.glyph_names = False
            quiet = logging_std.getLogger("fontTools")
            level = quiet.level
            quiet.setLevel(logging_std.ERROR)  # KaTeX's fonts have 1970 timestamps: fontTools says so, harmlessly
            try:
                font = subset.load_font(str(ttf), options)
                font.recalcTimestamp = False  # the same bytes every build
                sub = subset.Subsetter(options)
                sub.populate(unicodes=codepoints)
                sub.subset(font)
                subset.save_font(font, str(target) + ".tmp", options)
            finally:
                quiet.setLevel(level)
            os.replace(str(target) + ".tmp", target)
        shutil.copyfile(target, out)
        after += out.stat().st_size
    return before, after


def _katex_version(dist: Path) -> str:
    m = re.search(r'"version":\s*"([^"]+)"', (dist.parent / "package.json").read_text(encoding="utf-8"))
    return m.group(1) if m else "?"


def _fonts_and_preloads(app) -> None:
    import sphinxcontrib.katex as sck

    outdir = Path(app.outdir)
    fonts_out = outdir / "_static" / "katex" / "fonts"
    if not fonts_out.is_dir():
        return
    chars: set[str] = set()
    pages = 0
    for page in sorted(outdir.rglob("*.html")):
        if page.relative_to(outdir).parts[0] in ("_static", "_sources"):
            continue
        text = page.read_text(encoding="utf-8")
        parser = _KatexText()
        parser.feed(text)
        chars |= parser.chars
        new = PRELOAD.sub("", text)
        fonts = page_fonts(new)
        link = KATEX_LINK.search(new)
        if fonts and link:
            tags = "".join(f'<link rel="preload" href="{link.group(2)}katex/fonts/{font}.woff2" as="font" '
                           f'type="font/woff2" crossorigin {PRELOAD_MARK}>\n' for font in fonts)
            new = new[:link.end()] + tags + new[link.end():]
        if new != text:
            page.write_text(new, encoding="utf-8")
            pages += 1
    cache = Path(app.doctreedir).parent / ".convviz-katex-fonts"
    node = getattr(sck, "NODEJS_BINARY", "node")
    before, after = subset_fonts(_katex_dist(app), fonts_out, chars, cache, node)
    logger.info("convviz_katex: fonts cut to the %d characters of the formulas: %d -> %d bytes; font preloads "
                "written into %d pages", len(chars), before, after, pages)


def _finished(app, exception) -> None:
    root = getattr(app, "_convviz_katex_static", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
    if exception is None and getattr(app.builder, "format", "") == "html":
        _fonts_and_preloads(app)
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

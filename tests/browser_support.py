"""Helpers for tests/test_browser.py: read the book as a reader would, in headless Debian Chromium.

Everything the browser tests need that is not an assertion lives here:

* ``read_toc`` lists every page of ``_toc.yml`` (so new chapters are covered as soon as they are listed there)
  and decides which pages are *chapters* (notebooks outside the appendices: they must show figures and at
  least one animation);
* ``build_book`` runs the strict Jupyter Book build that ``make book`` runs (cached execution: fast when
  nothing changed);
* ``BookServer`` serves ``_build/html`` on 127.0.0.1 on a free port;
* ``launch_context`` starts one Chromium with a fresh profile, and ``Offline`` blocks every request that
  does not go to that server, so the tests prove the book works without a network;
* ``visit`` loads one page and records console errors, page errors, responses and blocked requests;
* ``LinkCrawler`` fetches every same-origin link and checks that ``#anchors`` exist on their target page.
"""
from __future__ import annotations

import functools
import gzip
import html.parser
import http.server
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
# issue 4/5/11: every page, with every file it loads (theme CSS/JS, fonts, figures), transfers at most 1 MB
PAGE_WEIGHT_LIMIT = 1_000_000
# Pages allowed over that target, each with its own budget (a regression guard while a page is over). None since
# issue 11: the build trims the theme's CSS and JS, KaTeX's fonts, the code markup and the figures
# (_ext/convviz_pageweight.py, _ext/convviz_katex.py), and every page is under 1 MB.
PAGE_WEIGHT_OVER: dict[str, int] = {}


def page_weight_limit(docname: str) -> int:
    """Bytes a page may transfer: the 1 MB target, or its regression budget while it is over."""
    return PAGE_WEIGHT_OVER.get(docname, PAGE_WEIGHT_LIMIT)
SOURCE_SUFFIXES = (".ipynb", ".md", ".rst")

# The only external requests the book may make, each with the way it degrades offline (checked by the tests):
# * Font Awesome 4 CSS, which matplotlib's to_jshtml animations link for their button icons: the theme ships
#   its own Font Awesome, which draws the same icons (test_animations_step_and_play checks they show).
# Anything else must be served by the book itself (the math is KaTeX HTML written at build time, its CSS and fonts
# are under _static/katex/).
ALLOWED_EXTERNAL = (
    re.compile(r"^https://maxcdn\.bootstrapcdn\.com/font-awesome/4\.[0-9.]+/css/font-awesome(\.min)?\.css$"),
)
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


# --------------------------------------------------------------------------------------------- table of contents
@dataclass(frozen=True)
class BookPage:
    """One page listed in ``_toc.yml``."""

    docname: str  # "book/ch1_conv2d"
    source: Path  # repo-relative source file, e.g. book/ch1_conv2d.ipynb
    part: str  # caption of the toc part ("" when the toc has no parts)
    is_root: bool

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"

    @property
    def is_chapter(self) -> bool:
        """Notebook chapters (not the intro, not appendices) must show figures and at least one animation."""
        appendix = "appendi" in self.part.lower() or Path(self.docname).name.lower().startswith("appendix")
        return self.is_notebook and not self.is_root and not appendix

    @property
    def html(self) -> str:
        return self.docname + ".html"

    @property
    def slug(self) -> str:
        return self.docname.replace("/", "__")


def _resolve_source(root: Path, docname: str) -> Path:
    for suffix in ("",) + SOURCE_SUFFIXES:
        candidate = root / (docname + suffix)
        if candidate.is_file():
            return candidate.relative_to(root)
    raise FileNotFoundError(f"_toc.yml lists {docname!r} but no {docname}{{{','.join(SOURCE_SUFFIXES)}}} exists")


def read_toc(root: Path = REPO) -> list[BookPage]:
    """Every page of ``_toc.yml`` in reading order (root, parts, chapters, nested sections, globs)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages: list[BookPage] = []

    def add(docname: str, part: str, is_root: bool = False) -> None:
        docname = str(Path(docname).with_suffix("")) if Path(docname).suffix in SOURCE_SUFFIXES else docname
        source = _resolve_source(root, docname)
        if all(p.docname != docname for p in pages):
            pages.append(BookPage(docname, source, part, is_root))

    def walk(entries: list | None, part: str) -> None:
        for entry in entries or []:
            if "file" in entry:
                add(entry["file"], part)
            elif "glob" in entry:
                for path in sorted(root.glob(entry["glob"])):
                    if path.suffix in SOURCE_SUFFIXES:
                        add(path.relative_to(root).with_suffix("").as_posix(), part)
            # "url" entries are external links, not pages of the book
            walk(entry.get("sections"), part)
            walk(entry.get("chapters"), part)
            for sub in entry.get("parts", []):
                walk(sub.get("chapters"), sub.get("caption", part))

    add(toc["root"], "", is_root=True)
    walk(toc.get("sections"), "")
    walk(toc.get("chapters"), "")
    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption", ""))
    return pages


# --------------------------------------------------------------------------------------------- launch buttons
@dataclass(frozen=True)
class LaunchTargets:
    binder: str
    colab: str


def expected_launch_urls(page: BookPage, root: Path = REPO) -> LaunchTargets:
    """Binder and Colab URLs for a notebook page, from ``_config.yml``'s repository and launch_buttons."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    repo_cfg = config["repository"]
    launch = config.get("launch_buttons", {})
    parts = urllib.parse.urlparse(repo_cfg["url"])
    assert parts.netloc == "github.com", f"launch buttons expect a GitHub repository, got {repo_cfg['url']}"
    org, name = parts.path.strip("/").split("/")[:2]
    branch = repo_cfg.get("branch", "main")
    path = (Path(repo_cfg.get("path_to_book", ".")) / page.source).as_posix()
    ui = {"classic": "tree", "jupyterlab": "lab/tree"}[launch.get("notebook_interface", "classic")]
    binderhub = launch.get("binderhub_url", "https://mybinder.org").rstrip("/")
    colab = launch.get("colab_url", "https://colab.research.google.com").rstrip("/")
    return LaunchTargets(
        binder=f"{binderhub}/v2/gh/{org}/{name}/{branch}?urlpath={ui}/{path}",
        colab=f"{colab}/github/{org}/{name}/blob/{branch}/{path}",
    )


# --------------------------------------------------------------------------------------------- build and serve
def html_dir() -> Path:
    """The book the browser tests read: ``CONVVIZ_BROWSER_HTML`` or this checkout's ``_build/html``."""
    return Path(os.environ.get("CONVVIZ_BROWSER_HTML") or REPO / "_build" / "html").resolve()


def build_book(root: Path = REPO, timeout: float = 3000) -> subprocess.CompletedProcess:
    """The strict build of ``make book`` (scripts/build_book.sh); jupyter-cache makes it quick when
    neither a notebook nor src/convviz changed."""
    return subprocess.run(
        ["bash", str(root / "scripts/build_book.sh")], cwd=root, capture_output=True, text=True, timeout=timeout,
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output readable
        pass


class BookServer:
    """Serve a directory on 127.0.0.1 on a free port from a background thread (context manager)."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="book-server", daemon=True)

    def url(self, path: str) -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def __enter__(self) -> "BookServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------- the browser
_PLAYWRIGHT = None


def playwright():
    """The one Playwright driver of this test process (the sync API allows one running instance per thread,
    and several test modules keep a browser open for the whole session)."""
    global _PLAYWRIGHT
    if _PLAYWRIGHT is None:
        import atexit

        from playwright.sync_api import sync_playwright

        _PLAYWRIGHT = sync_playwright().start()
        atexit.register(_PLAYWRIGHT.stop)
    return _PLAYWRIGHT


def launch_context(playwright, profile_dir: Path):
    """One headless Debian Chromium with a fresh profile, 1280 px wide (Playwright's own browsers are never used)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium (apt-get install chromium)")
    return playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
        device_scale_factor=1,
        service_workers="block",
    )


class Offline:
    """Route every request of a browser context: same-origin goes through, everything else is aborted and logged."""

    def __init__(self, context, origin: str):
        self.origin = origin
        self.blocked: list[str] = []
        context.route("**/*", self._handle)

    def _handle(self, route) -> None:
        url = route.request.url
        if url.startswith(self.origin + "/") or url == self.origin:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


def is_allowed_external(url: str) -> bool:
    return any(p.match(url) for p in ALLOWED_EXTERNAL)


@dataclass
class PageVisit:
    """What happened while one page loaded."""

    page: BookPage
    url: str
    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, location url)
    page_errors: list[str] = field(default_factory=list)
    responses: list[tuple[str, int, int]] = field(default_factory=list)  # (url, status, bytes)
    blocked: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # same-origin request failures

    def own_console_errors(self, origin: str) -> list[str]:
        """Console errors from the book's own code: everything except the failures of blocked external loads."""
        own = []
        for text, location in self.console_errors:
            external = location and not location.startswith(origin)
            if external and location in self.blocked:
                continue  # "Failed to load resource" for a request we aborted: judged by the CDN allow-list
            own.append(f"{text} (at {location or 'inline'})")
        return own + [f"uncaught: {e}" for e in self.page_errors]

    def weights(self, origin: str) -> tuple[int, int]:
        """(own bytes, total bytes): own = the HTML and every same-origin file it loads outside the shared
        ``_static/`` folder (its figures, downloads, data); total adds the theme and KaTeX files it loads."""
        static = origin + "/_static/"
        own = total = 0
        for url, _, size in self.responses:
            total += size
            if not url.startswith(static):
                own += size
        return own, total

    def gzip_total(self, origin: str, site: Path) -> int:
        """Bytes of the same files gzip-compressed, as a static host such as GitHub Pages would send them."""
        total = 0
        for url, _, size in self.responses:
            path = urllib.parse.unquote(urllib.parse.urlparse(url).path).lstrip("/")
            local = site / path
            total += len(gzip.compress(local.read_bytes(), 6)) if local.is_file() else size
        return total


def wait_until_quiet(tab, pending: dict, quiet_ms: int = 500, timeout_s: float = 60.0) -> None:
    """Wait until no request of ``tab`` has been in flight for ``quiet_ms``; fail naming the pending ones."""
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while True:
        now = time.monotonic()
        if pending:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif (now - quiet_since) * 1000 >= quiet_ms:
            return
        if now > deadline:
            raise AssertionError(f"requests still pending after {timeout_s:.0f} s: {sorted(pending.values())}")
        tab.wait_for_timeout(50)  # lets Playwright deliver the request events


def visit(context, server: BookServer, page: BookPage, offline: Offline):
    """Open ``page`` in a new tab, wait for load, fonts and images, and return (playwright page, PageVisit)."""
    tab = context.new_page()
    record = PageVisit(page, server.url(page.html))
    start_blocked = len(offline.blocked)

    def on_console(msg) -> None:
        if msg.type == "error":
            record.console_errors.append((msg.text, (msg.location or {}).get("url", "")))

    def on_response(resp) -> None:
        if resp.url.startswith(server.origin):
            length = resp.headers.get("content-length")
            record.responses.append((resp.url, resp.status, int(length) if length else len(resp.body())))

    def on_failed(req) -> None:
        if req.url.startswith(server.origin):
            record.failed.append((req.url, req.failure or ""))

    # requests in flight, tracked here instead of Playwright's "networkidle" (which once hung for 30 s in CI
    # on a fully loaded page: with our own count a timeout can at least name the requests still pending)
    pending: dict = {}

    def on_request(req) -> None:
        pending[id(req)] = req.url

    def on_done(req) -> None:
        pending.pop(id(req), None)

    tab.on("console", on_console)
    tab.on("pageerror", lambda err: record.page_errors.append(str(err)))
    tab.on("request", on_request)
    tab.on("requestfinished", on_done)
    tab.on("requestfailed", on_done)
    tab.on("response", on_response)
    tab.on("requestfailed", on_failed)
    tab.goto(record.url, wait_until="load")
    # the math is prerendered (KaTeX at build time): wait for its web fonts; a MathJax page would be awaited too
    tab.evaluate(
        """async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
            await document.fonts.ready;
            await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
        }"""
    )
    wait_until_quiet(tab, pending)
    record.blocked = offline.blocked[start_blocked:]
    return tab, record


# Layout at the test window: wide things that stick out of the article column or make their box scroll
# sideways (clipped), figures the column shrinks a lot (their labels get small), code lines too long for the
# column, and sideways scrolling of the whole page.
LAYOUT_JS = r"""(sel) => {
    const art = document.querySelector(sel).getBoundingClientRect();
    const clipped = [];
    for (const el of document.querySelectorAll(
            `${sel} img, ${sel} table, ${sel} .animation, ${sel} .katex-display > .katex, ${sel} mjx-container[display="true"]`)) {
        const r = el.getBoundingClientRect();
        if (r.width === 0) continue;
        // the nearest box that scrolls sideways (cell outputs, wide-table wrappers) hides what sticks out of it
        let box = el.parentElement;
        while (box && box !== document.body && !['auto', 'scroll', 'hidden'].includes(getComputedStyle(box).overflowX))
            box = box.parentElement;
        const b = (box && box !== document.body ? box : document.querySelector(sel)).getBoundingClientRect();
        // full-width and margin cells may use the right margin (the theme folds the page contents away then)
        const wide = el.closest('.tag_full-width, .full-width, .tag_margin, .margin');
        const column = wide ? document.querySelector('.bd-content').getBoundingClientRect() : art;
        const right = Math.min(column.right, b.right), left = Math.max(column.left, b.left);
        if (r.right > right + 1 || r.left < left - 1) {
            const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
            const near = (el.closest('section') || {}).id || '';
            clipped.push(`${what} ${Math.round(r.width)}px wide, ${Math.round(right - left)}px visible`
                         + ` (section #${near})`);
        }
    }
    // printed output wraps (_static/custom.css): one that still scrolls sideways hides its end
    for (const pre of document.querySelectorAll(`${sel} .cell_output pre`))
        if (pre.scrollWidth > pre.clientWidth + 1)
            clipped.push(`printed output ${pre.scrollWidth}px wide, ${pre.clientWidth}px visible`
                         + ` (section #${(pre.closest('section') || {}).id || ''})`);
    // code lines too long for the column (reported: the reader scrolls sideways to see their end)
    const longCode = [...document.querySelectorAll(`${sel} pre`)]
        .filter(pre => !pre.closest('.cell_output') && pre.scrollWidth > pre.clientWidth + 1)
        .map(pre => `code ${pre.scrollWidth - pre.clientWidth}px too wide in section`
                    + ` #${(pre.closest('section') || {}).id || ''}: `
                    + JSON.stringify(pre.textContent.split('\n').reduce((a, b) => b.length > a.length ? b : a, '')));
    const shrunk = [...document.querySelectorAll(`${sel} .cell_output img`)]
        .filter(img => img.naturalWidth > 0 && img.width / img.naturalWidth < 0.75)
        .map(img => `${img.naturalWidth}px figure shown at ${img.width}px`
                    + ` (${Math.round(100 * img.width / img.naturalWidth)}%)`
                    + ` in section #${(img.closest('section') || {}).id || ''}`);
    return {clipped, shrunk, longCode, pageOverflow: document.documentElement.scrollWidth - window.innerWidth};
}"""


# Characters that the browser draws as the missing-glyph box ("tofu"): each character of the visible text is
# drawn on a canvas in its element's font and compared with a code point that no font has. Math output is
# left out (it draws with its own web fonts). Returns [{char, code, font, where}] for the missing ones.
MISSING_GLYPHS_JS = r"""(sel) => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    const g = canvas.getContext('2d', {willReadFrequently: true});
    const draw = (ch, family) => {
        g.clearRect(0, 0, 48, 48);
        g.font = `28px ${family}`;
        g.fillText(ch, 6, 36);
        return g.getImageData(0, 0, 48, 48).data.join(',');
    };
    const byFont = new Map();
    const walker = document.createTreeWalker(document.querySelector(sel), NodeFilter.SHOW_TEXT, {
        acceptNode: n => n.parentElement.closest('script, style, .katex, mjx-container, .MathJax, template')
            ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    });
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const family = getComputedStyle(n.parentElement).fontFamily;
        if (!byFont.has(family)) byFont.set(family, new Map());
        const chars = byFont.get(family);
        for (const ch of n.textContent)
            if (!/[\s\u200b-\u200f\ufe00-\ufe0f]/u.test(ch) && !chars.has(ch))
                chars.set(ch, [(n.parentElement.closest('[title]') || {}).title,
                               '#' + ((n.parentElement.closest('section') || {}).id || ''),
                               JSON.stringify(n.textContent.trim().slice(0, 40))].filter(Boolean).join(' '));
    }
    const missing = [];
    for (const [family, chars] of byFont) {
        const tofu = draw('\u{10FFFD}', family);
        for (const [ch, where] of chars)
            if (ch.codePointAt(0) > 0x7e && draw(ch, family) === tofu)
                missing.push({char: ch, code: 'U+' + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0'),
                              font: family.split(',')[0], where});
    }
    return missing;
}"""


# --------------------------------------------------------------------------------------------- link crawling
class _LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


@dataclass
class FetchedPage:
    status: int
    content_type: str
    ids: set[str]
    hrefs: list[str]


class LinkCrawler:
    """Fetch same-origin URLs over HTTP (cached), parse HTML pages for their links and element ids."""

    def __init__(self, origin: str):
        self.origin = origin
        self.cache: dict[str, FetchedPage] = {}

    def fetch(self, url: str) -> FetchedPage:
        url = urllib.parse.urldefrag(url)[0]
        if url not in self.cache:
            try:
                with urllib.request.urlopen(url, timeout=30) as resp:
                    ctype = resp.headers.get_content_type()
                    body = resp.read()
                    status = resp.status
            except urllib.error.HTTPError as err:
                self.cache[url] = FetchedPage(err.code, "", set(), [])
                return self.cache[url]
            parser = _LinkParser()
            if ctype == "text/html":
                parser.feed(body.decode("utf-8", errors="replace"))
            self.cache[url] = FetchedPage(status, ctype, parser.ids, parser.hrefs)
        return self.cache[url]

    def internal_targets(self, page_url: str, hrefs: list[str]) -> list[tuple[str, str]]:
        """(href as written, absolute URL) for each same-origin link (mailto:, javascript: and others skipped)."""
        out = []
        for href in hrefs:
            absolute = urllib.parse.urljoin(page_url, href)
            if absolute.startswith(self.origin + "/"):
                out.append((href, absolute))
        return out

    def problems(self, page_url: str, hrefs: list[str]) -> list[str]:
        """Broken internal links of one page: non-200 targets and ``#fragments`` with no such id on the target."""
        bad = []
        for href, absolute in self.internal_targets(page_url, hrefs):
            target, fragment = urllib.parse.urldefrag(absolute)
            fetched = self.fetch(target)
            if fetched.status != 200:
                bad.append(f"{href} -> HTTP {fetched.status}")
            elif fragment and fetched.content_type == "text/html":
                anchor = urllib.parse.unquote(fragment)
                if anchor not in fetched.ids:
                    bad.append(f"{href} -> no element id={anchor!r} on {target[len(self.origin):]}")
        return bad

    def crawl(self, start_urls: list[str]) -> dict[str, list[str]]:
        """Breadth-first over every reachable same-origin HTML page; returns {page path: [problems]}."""
        seen: set[str] = set()
        queue = [urllib.parse.urldefrag(u)[0] for u in start_urls]
        report: dict[str, list[str]] = {}
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            fetched = self.fetch(url)
            if fetched.status != 200 or fetched.content_type != "text/html":
                continue
            problems = self.problems(url, fetched.hrefs)
            if problems:
                report[url[len(self.origin):]] = problems
            for _, absolute in self.internal_targets(url, fetched.hrefs):
                target = urllib.parse.urldefrag(absolute)[0]
                if target not in seen and urllib.parse.urlparse(target).path.endswith((".html", "/")):
                    queue.append(target)
        return report

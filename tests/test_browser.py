"""Read the book as a reader would: the built HTML in headless Debian Chromium, with no network.

Every page listed in ``_toc.yml`` is checked (new chapters are picked up as soon as they are listed):
it loads with no JavaScript errors from the book's own code, its math is KaTeX HTML rendered at build time
(no formula left as TeX, no KaTeX error, KaTeX's fonts served by the book), its figures show, every matplotlib animation steps and plays, notebook pages link to Binder and
Colab with the right path, every internal link and ``#anchor`` resolves, the theme's buttons show their
(inline SVG) icons and no page loads Font Awesome, the page with every file it loads transfers at most 1 MB with
no failed request, and nothing in it is clipped at a 1280 px wide window. A full-page screenshot of each page is
saved under ``_build/screenshots/`` (look at them), the page weights under ``_build/page_weights.txt``.

All requests that do not go to the local server are aborted, so this is also the offline test: the explorers
are mounted by the book's own mount.js, with no widget manager or widget state in the page.
Set CONVVIZ_BROWSER_NO_BUILD=1 to test an existing ``_build/html`` without rebuilding it first, or
CONVVIZ_BROWSER_HTML=/path/to/_build/html to test a book built elsewhere (``scripts/build_book.sh --path-output
DIR`` builds into DIR/_build/html); screenshots and the weight report then go next to that html folder.
"""
from __future__ import annotations

import urllib.parse

import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

PAGES = bs.read_toc()
PAGE_IDS = [p.docname for p in PAGES]
HTML_DIR = bs.html_dir()
BUILD = HTML_DIR.parent
SCREENSHOTS = BUILD / "screenshots"
WEIGHTS = BUILD / "page_weights.txt"

by_page = pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def server(site):
    with bs.BookServer(site) as srv:
        yield srv


@pytest.fixture(scope="session")
def browser(server, tmp_path_factory):
    """One Chromium for the whole session: (context, offline guard); the Playwright driver is the process's one."""
    context = bs.launch_context(bs.playwright(), tmp_path_factory.mktemp("chromium-profile"))
    offline = bs.Offline(context, server.origin)
    try:
        yield context, offline
    finally:
        context.close()


@pytest.fixture(scope="session")
def open_page(browser, server):
    """Load each toc page once (lazily) and hand out (tab, PageVisit)."""
    context, offline = browser
    cache = {}

    def get(page: bs.BookPage):
        if page.docname not in cache:
            cache[page.docname] = bs.visit(context, server, page, offline)
        cache[page.docname][0].bring_to_front()  # background tabs do not run animation frames
        return cache[page.docname]

    return get


@pytest.fixture(scope="session")
def weights():
    return {}


@pytest.fixture(scope="session")
def layout_notes():
    return {}


@pytest.fixture(scope="session")
def crawler(server):
    return bs.LinkCrawler(server.origin)


ARTICLE = "article.bd-article"


# --------------------------------------------------------------------------------------------- loading
@by_page
def test_page_loads_offline_without_errors(page, open_page, server):
    tab, visit = open_page(page)
    assert tab.locator(ARTICLE).count() == 1, "no article on the page"
    assert tab.locator(f"{ARTICLE} h1").count() >= 1, "page has no title heading"

    own_errors = visit.own_console_errors(server.origin)
    assert not own_errors, "JavaScript errors from the book's own code:\n" + "\n".join(own_errors)

    missing = [f"{url} -> HTTP {status}" for url, status, _ in visit.responses if status >= 400]
    missing += [f"{url} -> {why}" for url, why in visit.failed]
    assert not missing, "the page loads files the build does not have:\n" + "\n".join(missing)

    # offline: the book's own figures, math, explorers and animations need no CDN
    forbidden = [url for url in visit.blocked if not bs.is_allowed_external(url)]
    assert not forbidden, "the page needs the network for:\n" + "\n".join(forbidden)


@by_page
def test_explorers_mount_offline_with_no_widget_state(page, open_page):
    """Every explorer output is mounted by the page's own mount.js (no kernel, no widget manager, no network)."""
    tab, _ = open_page(page)
    found = tab.evaluate(
        """(mime) => ({
            static: document.querySelectorAll('.convviz-explorer-static').length,
            mounted: document.querySelectorAll('.convviz-explorer-static .convviz-explorer').length,
            fallbacks: [...document.querySelectorAll('.convviz-explorer-static .convviz-explorer-fallback')]
                .filter(e => e.offsetParent !== null).length,
            widget_views: document.querySelectorAll(`script[type="${mime}"]`).length,
            widget_state: document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length,
        })""",
        bs.WIDGET_VIEW_MIME,
    )
    assert found["widget_views"] == 0 and found["widget_state"] == 0, f"widget manager data in the page: {found}"
    assert found["mounted"] == found["static"], f"explorers not mounted: {found}"
    assert found["fallbacks"] == 0, f"an explorer still shows its 'scripts not loaded' fallback: {found}"


# --------------------------------------------------------------------------------------------- math
@by_page
def test_math_is_rendered_by_katex_at_build_time(page, open_page, server):
    """Every formula is KaTeX HTML in the page (no math JavaScript), drawn in KaTeX's fonts from the book itself."""
    tab, visit = open_page(page)
    info = tab.evaluate(
        r"""(sel) => {
            const art = document.querySelector(sel);
            const math = [...art.querySelectorAll('.math')];
            const unrendered = math.filter(m => {
                    const k = m.querySelector('.katex');
                    const r = k && k.getBoundingClientRect();
                    return !(k && k.querySelector('.katex-html') && r.width > 0 && r.height > 0);
                }).map(m => m.textContent.trim().slice(0, 80));
            const errors = [...document.querySelectorAll('.katex-error')]
                .map(e => (e.getAttribute('title') || '') + ' ' + e.textContent.slice(0, 80));
            const clone = art.cloneNode(true);
            clone.querySelectorAll('pre, code, script, style, textarea, .katex, .math, mjx-container')
                 .forEach(e => e.remove());
            const text = clone.textContent;
            // TeX that was not turned into math: \( \[ $$ \begin{...} or $...\command...$
            const raw = text.match(/\\\(|\\\[|\$\$|\\begin\{|\$[^$\n]{0,80}\\[a-zA-Z]+[^$\n]{0,80}\$/g) || [];
            const scripts = [...document.querySelectorAll('script[src]')].map(s => s.src)
                .filter(s => /mathjax|katex|tex-(chtml|svg|mml)/i.test(s));
            const css = [...document.querySelectorAll('link[rel=stylesheet]')].map(l => l.href)
                .filter(h => /katex/i.test(h));
            const fonts = [...document.fonts].filter(f => /^"?KaTeX/.test(f.family))
                .map(f => ({family: f.family, weight: f.weight, style: f.style, status: f.status}));
            return {count: math.length, unrendered, errors, raw, scripts, css, fonts,
                    mathjax: !!window.MathJax || !!document.querySelector('mjx-container')};
        }""",
        ARTICLE,
    )
    assert not info["raw"], f"TeX left unrendered in the text: {info['raw'][:10]}"
    assert not info["scripts"] and not info["mathjax"], f"math JavaScript on the page: {info['scripts']}"
    if info["count"] == 0:
        return
    assert not info["unrendered"], (
        f"{len(info['unrendered'])}/{info['count']} formulas not rendered by KaTeX: {info['unrendered'][:5]}"
    )
    assert not info["errors"], f"KaTeX errors in the page: {info['errors'][:5]}"
    assert info["css"] and all(h.startswith(server.origin + "/_static/") for h in info["css"]), (
        f"KaTeX's stylesheet must be served by the book itself, got {info['css']}"
    )
    used = [f for f in info["fonts"] if f["status"] != "unloaded"]
    assert used, "no KaTeX font loaded although the page has math"
    broken = [f for f in used if f["status"] != "loaded"]
    assert not broken, f"KaTeX fonts that did not load: {broken}"
    font_urls = [url for url, _, _ in visit.responses if "/_static/katex/fonts/" in url]
    assert font_urls and all(u.endswith(".woff2") for u in font_urls), f"KaTeX font requests: {font_urls}"


@pytest.mark.parametrize("formula, ok", [
    (r"\begin{aligned} y_{ij} &= \sum_{m,n} x_{i+m,\,j+n}\, w_{mn} \\ \lfloor x \rfloor \star \operatorname{conv} "
     r"\end{aligned}", True),
    (r"\frac{a}{b", False),  # unbalanced brace
    (r"\notacommand{x}", False),  # unknown command
])
def test_katex_build_is_strict(tmp_path, formula, ok):
    """_ext/convviz_katex.py: a formula KaTeX cannot render fails the Sphinx build (also without -W) and the
    message names the page; a good one becomes KaTeX HTML."""
    import subprocess
    import sys

    (tmp_path / "node_modules").symlink_to(bs.REPO / "node_modules")
    (tmp_path / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(bs.REPO / '_ext')!r})\n"
        "extensions = ['sphinxcontrib.katex', 'convviz_katex']\n"
    )
    (tmp_path / "index.rst").write_text(f"Title\n=====\n\n.. math::\n\n   {formula}\n")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(tmp_path), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    if ok:
        assert run.returncode == 0, run.stderr[-2000:]
        assert 'class="katex-display"' in (tmp_path / "out" / "index.html").read_text()
    else:
        assert run.returncode != 0, "a formula KaTeX cannot render did not fail the build"
        assert "index.rst" in run.stderr and "KaTeX" in run.stderr, run.stderr[-2000:]


# --------------------------------------------------------------------------------------------- figures
@by_page
def test_figures_show(page, open_page):
    tab, _ = open_page(page)
    imgs = tab.evaluate(
        """(sel) => [...document.querySelectorAll(sel + ' img')].map(img => ({
            src: (img.getAttribute('src') || '').slice(0, 80),
            ok: img.complete && img.naturalWidth > 0,
            output: !!img.closest('.cell_output'),
            animation: !!img.closest('.animation'),
        }))""",
        ARTICLE,
    )
    broken = [i["src"] for i in imgs if not i["ok"]]
    assert not broken, f"images that do not display: {broken}"
    if page.is_chapter:
        figures = [i for i in imgs if i["output"] and not i["animation"]]
        assert figures, f"chapter {page.docname} shows no figure in its cell outputs"


@by_page
def test_animations_step_and_play(page, open_page):
    """Each matplotlib to_jshtml animation: next frame changes the picture, play advances it, controls visible."""
    tab, _ = open_page(page)
    anims = tab.locator(f"{ARTICLE} div.animation")
    count = anims.count()
    if page.is_chapter:  # motion: a frame animation or a live explorer (which has its own play button)
        explorers = tab.locator(f"{ARTICLE} .convviz-explorer").count()
        assert count + explorers >= 1, f"chapter {page.docname} has neither an animation nor an explorer"
    problems = []
    for i in range(count):
        anim = anims.nth(i)
        anim.scroll_into_view_if_needed()
        img, slider = anim.locator("img").first, anim.locator("input[type=range]").first
        frames = int(slider.evaluate("s => s.max")) + 1
        if frames < 2:
            problems.append(f"animation {i}: only {frames} frame")
            continue
        # every button shows an icon: an (svg) icon, or text (whose glyphs test_no_missing_glyphs checks)
        blank = anim.evaluate(
            """a => [...a.querySelectorAll('.anim-buttons button')].filter(b => {
                const icon = b.querySelector('svg, i');
                const r = icon ? icon.getBoundingClientRect() : {width: 0, height: 0};
                return !(r.width >= 6 && r.height >= 6) && !b.textContent.replace(/[\\s\\ufe0e\\ufe0f]/gu, '');
            }).map(b => b.title)"""
        )
        if blank:
            problems.append(f"animation {i}: control buttons without an icon: {blank}")
        first = img.get_attribute("src")
        anim.locator('button[title="Next frame"]').click()
        if img.get_attribute("src") == first or slider.evaluate("s => s.value") != "1":
            problems.append(f"animation {i}: 'Next frame' did not change the displayed frame")
        anim.locator('button[title="First frame"]').click()
        anim.locator('button[title="Play"]').click()
        try:
            img.evaluate(
                "(img, first) => new Promise((ok, fail) => { const t0 = performance.now();"
                " (function poll() { if (img.src !== first) ok(); else if (performance.now() - t0 > 5000)"
                " fail(new Error('frame never changed')); else setTimeout(poll, 50); })(); })",
                first,
            )
        except Exception as err:  # playwright re-raises the JS rejection
            problems.append(f"animation {i}: 'Play' did not advance within 5 s ({err})")
        anim.locator('button[title="Pause"]').click()
        shown = img.evaluate("img => img.complete && img.naturalWidth")
        if not shown:
            problems.append(f"animation {i}: the current frame does not display")
    assert not problems, "\n".join(problems)


@by_page
def test_no_missing_glyphs(page, open_page):
    """No character of the page (text, code, animation buttons) is drawn as the missing-glyph box.

    The browser has Debian's default fonts plus a CJK font (scripts/test.sh installs both), about what a
    Linux reader has: a symbol that needs a rarer font shows as an empty box to many readers.
    """
    tab, _ = open_page(page)
    missing = tab.evaluate(bs.MISSING_GLYPHS_JS, ARTICLE)
    assert not missing, "characters without a glyph in the reader's fonts:\n" + "\n".join(
        f"{m['char']} {m['code']} ({m['font']}) in {m['where']}" for m in missing
    )


# --------------------------------------------------------------------------------------------- launch buttons
@by_page
def test_launch_buttons_point_to_the_notebook(page, open_page):
    tab, _ = open_page(page)
    menu = tab.locator(".dropdown-launch-buttons")
    hrefs = menu.evaluate_all("ms => ms.flatMap(m => [...m.querySelectorAll('a[href]')].map(a => a.href))")
    binder = sorted({h for h in hrefs if "/v2/gh/" in h})
    colab = sorted({h for h in hrefs if "colab.research.google.com" in h})
    if not page.is_notebook:
        assert not hrefs, f"launch buttons on a page that is not a notebook: {hrefs}"
        return
    # the rocket opens the menu (the theme's own JavaScript, offline)
    toggle = menu.locator("button.dropdown-toggle")
    toggle.click()
    try:
        menu.locator("a.dropdown-item", has_text="Binder").wait_for(state="visible", timeout=5000)
    except Exception:
        pytest.fail("the rocket button does not open the launch menu")
    toggle.click()
    expected = bs.expected_launch_urls(page)
    assert (bs.REPO / page.source).is_file()
    assert binder == [expected.binder], f"Binder link {binder}, expected {expected.binder}"
    assert colab == [expected.colab], f"Colab link {colab}, expected {expected.colab}"
    urlpath = urllib.parse.parse_qs(urllib.parse.urlparse(binder[0]).query)["urlpath"][0]
    assert urlpath.endswith("/" + page.source.as_posix())


# --------------------------------------------------------------------------------------------- links
@by_page
def test_internal_links_resolve(page, open_page, crawler):
    tab, visit = open_page(page)
    hrefs = tab.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    problems = crawler.problems(visit.url, hrefs)
    assert not problems, "broken internal links:\n" + "\n".join(problems)


def test_whole_site_crawl_has_no_broken_links(server, crawler, site):
    report = crawler.crawl([server.url("index.html")] + [server.url(p.html) for p in PAGES])
    assert not report, "broken links:\n" + "\n".join(f"{page}: {p}" for page, ps in report.items() for p in ps)


# --------------------------------------------------------------------------------------------- weight and layout
@by_page
def test_page_weight(page, open_page, server, site, weights):
    """Issue 4/5: the page with every file it loads (theme, KaTeX, figures) transfers at most 1 MB, offline,
    and none of its requests fails (a blocked CDN load counts as failed)."""
    _, visit = open_page(page)
    own, total = visit.weights(server.origin)
    weights[page.docname] = (own, total, visit.gzip_total(server.origin, site), len(visit.responses))
    failed = [f"{url} -> HTTP {status}" for url, status, _ in visit.responses if status >= 400]
    failed += [f"{url} -> {why}" for url, why in visit.failed] + [f"{url} -> blocked (offline)" for url in visit.blocked]
    assert not failed, "requests that failed:\n" + "\n".join(failed)
    heaviest = sorted(visit.responses, key=lambda r: -r[2])[:5]
    limit = bs.page_weight_limit(page.docname)
    assert total <= limit, (
        f"{page.docname}: {total / 1e6:.2f} MB in {len(visit.responses)} requests (limit {limit / 1e6:.2f} MB"
        f"{'' if limit == bs.PAGE_WEIGHT_LIMIT else ': over the 1 MB target, must not grow'}); heaviest: "
        + ", ".join(f"{urllib.parse.urlparse(u).path.rsplit('/', 1)[-1][:40]} {n / 1e3:.0f} kB" for u, _, n in heaviest)
    )


# --------------------------------------------------------------------------------------------- icons
# The theme's buttons: (what, selector of the control, pages where it must exist: "all" or "notebook", window
# width at which the theme shows it: the search field and the page-contents sidebar fold into header buttons
# below 1200 px)
THEME_BUTTONS = [
    ("primary sidebar toggle", "button.primary-toggle", "all", 1280),
    ("repository", ".article-header-buttons a[href*='github.com']", "all", 1280),
    ("download", ".article-header-buttons .dropdown-download-buttons > button", "all", 1280),
    ("fullscreen", ".article-header-buttons .btn-fullscreen-button", "all", 1280),
    ("theme switch", ".article-header-buttons .theme-switch-button", "all", 1280),
    ("search field", ".bd-sidebar-primary .search-button-field", "all", 1280),
    ("launch (Binder/Colab)", ".article-header-buttons .dropdown-launch-buttons > button", "notebook", 1280),
    ("search button", ".article-header-buttons .search-button", "all", 900),
    ("secondary sidebar toggle", ".article-header-buttons button.secondary-toggle", "all", 900),
]


@by_page
def test_theme_buttons_show_their_icons(page, open_page):
    """Every theme button shows its icon (an inline SVG of non-zero size), and no Font Awesome is loaded."""
    tab, visit = open_page(page)
    problems = []
    try:
        for width in sorted({w for *_, w in THEME_BUTTONS}, reverse=True):
            tab.set_viewport_size({"width": width, "height": bs.VIEWPORT["height"]})
            for what, selector, where, w in THEME_BUTTONS:
                if w != width or (where == "notebook" and not page.is_notebook):
                    continue
                found = tab.evaluate(
                    """(sel) => [...document.querySelectorAll(sel)].map(b => {
                        const icons = [...b.querySelectorAll('svg, img')].map(i => i.getBoundingClientRect())
                            .filter(r => r.width >= 8 && r.height >= 8);
                        const r = b.getBoundingClientRect();
                        return {visible: r.width > 0 && r.height > 0, icons: icons.length};
                    })""",
                    selector,
                )
                if not found:
                    problems.append(f"{what}: no {selector} on the page")
                elif not any(b["visible"] and b["icons"] for b in found):
                    problems.append(f"{what}: {selector} shows no icon at {width} px ({found})")
    finally:
        tab.set_viewport_size(bs.VIEWPORT)
    # no Font Awesome element left for a script or webfont to draw, no fontawesome.js or webfont loaded
    leftovers = tab.evaluate(
        """() => [...document.querySelectorAll('i[class*="fa-"], span[class*="fa-"]')]
                .filter(e => !e.children.length && /\\bfa(-solid|-regular|-brands|s|r|b)?\\b/.test(e.className))
                .map(e => e.outerHTML.slice(0, 100))"""
    )
    if leftovers:
        problems.append(f"Font Awesome elements not inlined as SVG: {leftovers[:5]}")
    fontawesome = [url for url, _, _ in visit.responses if "fontawesome" in url.lower() or "/webfonts/fa-" in url]
    fontawesome += [url for url in visit.blocked if "fontawesome" in url.lower() or "font-awesome" in url.lower()]
    if fontawesome:
        problems.append(f"the page requests Font Awesome: {fontawesome}")
    scripts = tab.evaluate("() => [...document.scripts].map(s => s.src).filter(s => /fontawesome/i.test(s))")
    if scripts:
        problems.append(f"fontawesome script tags: {scripts}")
    assert not problems, "\n".join(problems)


def test_theme_buttons_work(open_page):
    """On a chapter: the theme switch cycles light/dark/auto with a visible icon each time, the search button
    opens the search dialog, and the download and launch menus open."""
    page = next(p for p in PAGES if p.is_chapter)
    tab, _ = open_page(page)
    switch = tab.locator(".article-header-buttons .theme-switch-button").first
    modes = []
    for _ in range(3):
        switch.click()
        modes.append(tab.evaluate(
            """() => { const m = document.documentElement.dataset.mode;
                const icon = [...document.querySelectorAll('.article-header-buttons .theme-switch-button svg')]
                    .find(s => s.getBoundingClientRect().width > 0);
                return [m, icon ? icon.dataset.mode : null]; }"""
        ))
    assert sorted(m for m, _ in modes) == ["auto", "dark", "light"], f"theme switch modes: {modes}"
    assert all(m == icon for m, icon in modes), f"the visible theme icon does not match the mode: {modes}"
    tab.evaluate("() => { document.documentElement.dataset.mode = 'light'; localStorage.setItem('mode', 'light'); }")
    tab.locator(".bd-sidebar-primary .search-button-field").first.click()
    tab.locator("#pst-search-dialog[open] input[name=q]").first.wait_for(state="visible", timeout=5000)
    tab.keyboard.press("Escape")
    for menu in (".dropdown-download-buttons", ".dropdown-launch-buttons"):
        toggle = tab.locator(f".article-header-buttons {menu} > button").first
        toggle.click()
        tab.locator(f".article-header-buttons {menu} .dropdown-menu a").first.wait_for(state="visible", timeout=5000)
        icons = tab.evaluate(
            """(sel) => [...document.querySelectorAll(sel + ' .dropdown-menu a')].map(a => {
                const i = a.querySelector('svg, img'); const r = i ? i.getBoundingClientRect() : {width: 0};
                return r.width > 0; })""",
            f".article-header-buttons {menu}",
        )
        toggle.click()
        assert icons and all(icons), f"{menu}: menu entries without a visible icon: {icons}"


@by_page
def test_screenshot_and_nothing_clipped(page, browser, server, layout_notes):
    """Save a full-page screenshot at 1280 px; no figure, table or animation may stick out of the text column."""
    context, offline = browser
    tab, _ = bs.visit(context, server, page, offline)  # a fresh tab: the page as a reader first sees it
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"{page.slug}.png"), full_page=True)
        layout = tab.evaluate(bs.LAYOUT_JS, ARTICLE)
    finally:
        tab.close()
    layout_notes[page.docname] = layout["shrunk"] + layout["longCode"]
    (SCREENSHOTS / "notes.txt").write_text(
        "At a 1280 px window: figures shown at under 75% of their pixel width (check their labels on the PNGs)\n"
        "and code lines that need sideways scrolling.\n"
        + "".join(f"{name}: {note}\n" for name, notes in layout_notes.items() for note in notes)
    )
    assert layout["pageOverflow"] <= 1, f"the page scrolls sideways by {layout['pageOverflow']} px at 1280 px"
    assert not layout["clipped"], "clipped at 1280 px (needs sideways scrolling):\n" + "\n".join(layout["clipped"])


def test_page_weight_report(weights, open_page, server, site, capsys):
    """Write the weights of every page (largest first) to page_weights.txt next to the html folder and print them."""
    for page in PAGES:
        if page.docname not in weights:
            visit = open_page(page)[1]
            weights[page.docname] = (*visit.weights(server.origin), visit.gzip_total(server.origin, site),
                                     len(visit.responses))
    rows = sorted(weights.items(), key=lambda kv: -kv[1][1])
    lines = [
        "Page weight = the HTML page plus every same-origin file it loads, uncompressed as served (limit: 1 MB in all;",
        "'own' leaves out the theme and KaTeX files under _static/ that every page shares and browsers cache).",
        f"{'page':36s} {'requests':>8s} {'own KB':>9s} {'all KB':>9s} {'all gzipped KB':>15s}",
    ]
    lines += [f"{name:36s} {n:8d} {own / 1024:9.1f} {total / 1024:9.1f} {gz / 1024:15.1f}"
              for name, (own, total, gz, n) in rows]
    name, (own, total, gz, n) = rows[0]
    lines.append(f"largest: {name}: {total / 1e6:.2f} MB in all ({own / 1e6:.2f} MB own, {gz / 1e6:.2f} MB gzipped)")
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    WEIGHTS.write_text("\n".join(lines) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    over = [f"{name}: {total / 1e6:.2f} MB" for name, (_, total, _, _) in rows if total > bs.page_weight_limit(name)]
    assert not over, "pages over their limit: " + ", ".join(over)
    target = [name for name, (_, total, _, _) in rows if total > bs.PAGE_WEIGHT_LIMIT]
    assert sorted(target) == sorted(n for n in bs.PAGE_WEIGHT_OVER if n in dict(rows)), (
        f"pages over the 1 MB target {sorted(target)} != the known list PAGE_WEIGHT_OVER: update it")

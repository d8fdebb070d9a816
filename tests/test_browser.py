"""Read the book as a reader would: the built HTML in headless Debian Chromium, with no network.

Every page listed in ``_toc.yml`` is checked (new chapters are picked up as soon as they are listed):
it loads with no JavaScript errors from the book's own code, its math is typeset by the locally served
MathJax, its figures show, every matplotlib animation steps and plays, notebook pages link to Binder and
Colab with the right path, every internal link and ``#anchor`` resolves, the page and its own files weigh
at most 2 MB, and nothing in it is clipped at a 1280 px wide window. A full-page screenshot of each page is
saved under ``_build/screenshots/`` (look at them), the page weights under ``_build/page_weights.txt``.

All requests that do not go to the local server are aborted, so this is also the offline test: only the
ipywidgets embed manager may come from a CDN, and then the widget output must show a readable note instead.
Set CONVVIZ_BROWSER_NO_BUILD=1 to test an existing ``_build/html`` without rebuilding it first.
"""
from __future__ import annotations

import os
import urllib.parse

import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

PAGES = bs.read_toc()
PAGE_IDS = [p.docname for p in PAGES]
BUILD = bs.REPO / "_build"
HTML_DIR = BUILD / "html"
SCREENSHOTS = BUILD / "screenshots"
WEIGHTS = BUILD / "page_weights.txt"

by_page = pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)


# --------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def site():
    """An up-to-date ``_build/html`` (the strict build of ``make book``; cached execution keeps it quick)."""
    if not os.environ.get("CONVVIZ_BROWSER_NO_BUILD"):
        result = bs.build_book()
        if result.returncode != 0:
            log = (result.stdout + result.stderr).splitlines()
            pytest.fail("jupyter-book build failed:\n" + "\n".join(log[-150:]), pytrace=False)
    assert (HTML_DIR / "index.html").is_file(), f"no book in {HTML_DIR}"
    return HTML_DIR


@pytest.fixture(scope="session")
def server(site):
    with bs.BookServer(site) as srv:
        yield srv


@pytest.fixture(scope="session")
def browser(server, tmp_path_factory):
    """One Chromium for the whole session: (context, offline guard)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = bs.launch_context(p, tmp_path_factory.mktemp("chromium-profile"))
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

    # offline: the book's own figures, math and animations need no CDN; only the widget manager may use one
    forbidden = [url for url in visit.blocked if not bs.is_allowed_external(url)]
    assert not forbidden, "the page needs the network for:\n" + "\n".join(forbidden)


@by_page
def test_widget_snapshots_degrade_to_a_readable_note(page, open_page):
    """Offline the ipywidgets manager (CDN) cannot load: each widget output must then say so in words."""
    tab, visit = open_page(page)
    notes = tab.evaluate(
        """(mime) => [...document.querySelectorAll(`script[type="${mime}"]`)].map(s => {
            const box = s.closest('.cell_output') || s.parentElement;
            const rendered = box.querySelector('.widget-subarea, .jupyter-widgets');
            const note = getComputedStyle(box, '::before').content;
            return {rendered: !!rendered, note, height: box.getBoundingClientRect().height};
        })""",
        bs.WIDGET_VIEW_MIME,
    )
    if not notes:
        return  # no widget output on this page
    manager_blocked = any("jupyter-widgets" in url for url in visit.blocked)
    for i, n in enumerate(notes):
        if n["rendered"]:
            assert not manager_blocked, f"widget {i} rendered although its manager could not load"
            continue
        assert n["note"] not in ("none", "normal", "") and "widget" in n["note"].lower(), (
            f"widget output {i} is empty offline: expected the note from _static/custom.css, got {n['note']!r}"
        )
        assert n["height"] >= 20, f"widget note {i} is not visible (height {n['height']})"


# --------------------------------------------------------------------------------------------- math
@by_page
def test_math_is_typeset_by_local_mathjax(page, open_page, server):
    tab, _ = open_page(page)
    info = tab.evaluate(
        r"""(sel) => {
            const art = document.querySelector(sel);
            const math = [...art.querySelectorAll('.math')];
            const unrendered = math.filter(m => !m.querySelector('mjx-container'))
                                   .map(m => m.textContent.trim().slice(0, 80));
            const errors = [...art.querySelectorAll('mjx-merror')]
                .map(e => e.getAttribute('data-mjx-error') || e.textContent);
            const clone = art.cloneNode(true);
            clone.querySelectorAll('pre, code, script, style, textarea, mjx-container, .math')
                 .forEach(e => e.remove());
            const text = clone.textContent;
            // TeX that MyST did not turn into math: \( \[ $$ \begin{...} or $...\command...$
            const raw = text.match(/\\\(|\\\[|\$\$|\\begin\{|\$[^$\n]{0,80}\\[a-zA-Z]+[^$\n]{0,80}\$/g) || [];
            const scripts = [...document.querySelectorAll('script[src*="mathjax" i]')].map(s => s.src);
            return {count: math.length, unrendered, errors, raw, scripts};
        }""",
        ARTICLE,
    )
    assert not info["raw"], f"TeX left untypeset in the text: {info['raw'][:10]}"
    if info["count"] == 0:
        return
    assert info["scripts"] and all(s.startswith(server.origin) for s in info["scripts"]), (
        f"MathJax must be served by the book itself (offline), got {info['scripts']}"
    )
    assert not info["unrendered"], f"{len(info['unrendered'])}/{info['count']} formulas not typeset: {info['unrendered'][:5]}"
    assert not info["errors"], f"MathJax reported TeX errors: {info['errors'][:5]}"


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
    if page.is_chapter:
        assert count >= 1, f"chapter {page.docname} has no animation"
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
    _, visit = open_page(page)
    own, total = visit.weights(server.origin)
    weights[page.docname] = (own, total, visit.gzip_total(server.origin, site))
    assert own <= bs.PAGE_WEIGHT_LIMIT, (
        f"{page.docname}: the page and its own files weigh {own / 1e6:.2f} MB (limit 2 MB)"
    )


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
    """Write the weights of every page (largest first) to _build/page_weights.txt and print them."""
    for page in PAGES:
        if page.docname not in weights:
            visit = open_page(page)[1]
            weights[page.docname] = (*visit.weights(server.origin), visit.gzip_total(server.origin, site))
    rows = sorted(weights.items(), key=lambda kv: -kv[1][0])
    lines = [
        "Page weight = the HTML page plus every same-origin file it loads (limit: 2 MB for the page's own files;",
        "'own' leaves out the theme and MathJax files under _static/ that every page shares and browsers cache).",
        f"{'page':36s} {'own KB':>9s} {'all KB':>9s} {'all gzipped KB':>15s}",
    ]
    lines += [f"{name:36s} {own / 1024:9.1f} {total / 1024:9.1f} {gz / 1024:15.1f}" for name, (own, total, gz) in rows]
    name, (own, total, gz) = rows[0]
    lines.append(f"largest: {name}: {own / 1e6:.2f} MB own, {total / 1e6:.2f} MB with shared files ({gz / 1e6:.2f} MB gzipped)")
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    WEIGHTS.write_text("\n".join(lines) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert all(own <= bs.PAGE_WEIGHT_LIMIT for own, _, _ in weights.values())

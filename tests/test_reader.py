"""Every reader (issue 3/5): the built book at a phone's 390 px and a laptop's 1280 px, light and dark.

For every page in ``_toc.yml``, offline in headless Chromium:

* the page never scrolls sideways (wide tables, formulas and figures scroll inside their own box);
* figure text renders at >= 9 px: the renderers draw their smallest labels at 9 pt for 100 dpi
  (12.5 px in the PNG), so an image may be shown no smaller than 9 / 12.5 of its natural width;
* explorers fit the column (they reflow instead of scrolling);
* every image has an alt text that says something (not empty, not its file name);
* in dark mode the check tables and captions keep a contrast of at least 4.5:1, and figures sit on a light card.

Screenshots: ``_build/screenshots/reader/<page>-<width>-<theme>.png`` (look at them).
"""
from __future__ import annotations


import pytest

import browser_support as bs

pytestmark = pytest.mark.browser

PAGES = bs.read_toc()
HTML_DIR = bs.html_dir()
SHOTS = HTML_DIR.parent / "screenshots" / "reader"
SMALLEST_LABEL_PX = 9 * 100 / 72  # 9 pt at the renderers' 100 dpi
MIN_SCALE = 9 / SMALLEST_LABEL_PX

READER_JS = r"""() => {
    const art = document.querySelector('article.bd-article');
    const lum = (rgb) => {
        const [r, g, b] = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
        const p = m[1].split(',').map(Number); return {rgb: p.slice(0, 3), a: p.length > 3 ? p[3] : 1}; };
    const background = (el) => {
        for (let e = el; e; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c && c.a > 0.5) return c.rgb;
        }
        return [255, 255, 255];
    };
    const contrast = (el) => {
        const fg = parse(getComputedStyle(el).color).rgb, bg = background(el);
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
    };
    const images = [...art.querySelectorAll('img')].filter(i => i.getBoundingClientRect().width > 0).map(i => ({
        src: i.getAttribute('src') || '', alt: i.getAttribute('alt') || '',
        natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
        animation: !!i.closest('.animation'), output: !!i.closest('.cell_output'),
        card: getComputedStyle(i).backgroundColor,
    }));
    const texts = [...art.querySelectorAll('table.convviz-check td, table.convviz-check caption, figcaption, caption')]
        .filter(e => e.textContent.trim() && e.getBoundingClientRect().width > 0)
        .map(e => ({text: e.textContent.trim().slice(0, 40), contrast: contrast(e)}));
    const explorers = [...art.querySelectorAll('.convviz-explorer')].map(e => {
        const r = e.getBoundingClientRect(); return {width: r.width, right: r.right, column: art.getBoundingClientRect().right};
    });
    return {
        scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth,
        images, texts, explorers,
    };
}"""


@pytest.fixture(scope="session")
def reader(site, tmp_path_factory):
    with bs.BookServer(site) as server:
        context = bs.launch_context(bs.playwright(), tmp_path_factory.mktemp("reader-profile"))
        offline = bs.Offline(context, server.origin)
        try:
            yield context, offline, server
        finally:
            context.close()


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("page", PAGES, ids=[p.docname for p in PAGES])
def test_every_reader(page, width, theme, reader):
    context, offline, server = reader
    tab, visit = bs.visit(context, server, page, offline)
    try:
        tab.set_viewport_size({"width": width, "height": 900})
        tab.evaluate("(t) => { document.documentElement.dataset.theme = t; document.documentElement.dataset.mode = t; }",
                     theme)
        tab.wait_for_timeout(150)
        got = tab.evaluate(READER_JS)
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS / f"{page.slug}-{width}-{theme}.png"), full_page=True)
    finally:
        tab.close()
    problems = []
    if got["scrollWidth"] > got["innerWidth"] + 1:
        problems.append(f"the page scrolls sideways: {got['scrollWidth']} px wide in a {got['innerWidth']} px window")
    for img in got["images"]:
        name = img["src"].rsplit("/", 1)[-1]
        if not img["alt"].strip() or img["alt"] in (img["src"], name) or img["alt"].endswith((".png", ".jpg", ".svg")):
            problems.append(f"image {name[:40]} has no alt text that says what it shows (alt={img['alt'][:40]!r})")
        if img["output"] and img["natural"] and img["shown"] / img["natural"] < MIN_SCALE - 1e-3:
            problems.append(f"figure {name[:40]} shown at {img['shown'] / img['natural']:.2f} of its size: "
                            f"its 9 pt labels render at {SMALLEST_LABEL_PX * img['shown'] / img['natural']:.1f} px < 9 px")
        if theme == "dark" and img["output"] and not img["animation"] and img["card"] in ("rgba(0, 0, 0, 0)", "transparent"):
            problems.append(f"figure {name[:40]} is not on a light card in dark mode")
    for e in got["explorers"]:
        if e["right"] > e["column"] + 1:
            problems.append(f"an explorer ({e['width']:.0f} px) sticks out of the column")
    for t in got["texts"]:
        if t["contrast"] < 4.5:
            problems.append(f"text {t['text']!r} has contrast {t['contrast']:.2f} < 4.5")
    assert not problems, f"{page.docname} at {width} px, {theme}:\n" + "\n".join(problems)

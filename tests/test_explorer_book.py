"""The explorers in the built book (the strict build of ``make book``, cached; or CONVVIZ_BROWSER_HTML), in
headless Chromium offline.

On every page that holds explorers: each one is mounted from its static config (no kernel), shows
convviz's numbers, responds to keyboard input (a slider) and pointer input (the step buttons) with the
numbers convviz gives for the new setting (or convviz's message when convviz rejects it), and the page
loads no widget manager or require.js and logs no console error.
"""
from __future__ import annotations


import pytest

import browser_support as bs
from browser_support import is_allowed_external
from convviz import widgets as cw
from explorer_support import READ_EXPLORER_JS, assert_shows_convviz, explorer_page

pytestmark = pytest.mark.browser

PAGES = [p for p in bs.read_toc() if p.is_notebook]


@pytest.mark.parametrize("page", PAGES, ids=[p.docname for p in PAGES])
def test_book_explorers_are_live_offline(page, site):
    path = page.html
    if "convviz-explorer-static" not in (site / path).read_text(encoding="utf-8"):
        if page.is_chapter:
            pytest.fail(f"chapter {page.docname} has no live explorer")
        return  # an appendix without explorers
    with explorer_page(site, "/" + path) as (tab, server, log):
        tab.wait_for_selector(".convviz-explorer-static .convviz-explorer canvas.cvx-grid")
        n = tab.locator(".convviz-explorer-static").count()
        assert tab.locator(".convviz-explorer").count() == n and n >= 1
        for i in range(n):
            root = tab.locator(".convviz-explorer-static").nth(i).locator(".convviz-explorer")
            root.scroll_into_view_if_needed()
            shown = tab.evaluate(READ_EXPLORER_JS, i)
            assert_shows_convviz(shown)
            # keyboard: one stride up
            before = shown["state"]
            root.locator("input[name=stride]").focus()
            tab.keyboard.press("ArrowRight")
            shown = tab.evaluate(READ_EXPLORER_JS, i)
            assert shown["state"]["stride"] == min(4, before["stride"] + 1)
            expected = cw.Explorer(**{k: v for k, v in shown["state"].items() if k in cw.PARAMS}).check()
            if expected:
                assert shown["error"] == expected
                tab.keyboard.press("ArrowLeft")
                shown = tab.evaluate(READ_EXPLORER_JS, i)
            assert_shows_convviz(shown)
            # pointer: the next-step button
            step = shown["state"]["step"]
            root.locator(".cvx-next").click()
            shown = tab.evaluate(READ_EXPLORER_JS, i)
            assert shown["state"]["step"] != step or shown["state"]["step"] == 0
            assert_shows_convviz(shown)
        tab.wait_for_timeout(200)
        widgetish = [u for u in log["blocked"] + [f for f in log["failed"]] if "jupyter-widgets" in u or "require" in u]
        assert not widgetish, widgetish
        assert not [b for b in log["blocked"] if not is_allowed_external(b)], log["blocked"]
        own = [e for e in log["console"] if "Failed to load resource" not in e]
        assert not own and not log["page"], (own, log["page"])

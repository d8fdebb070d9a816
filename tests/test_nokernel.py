"""The explorers' stand-in for JupyterLab and Notebook 7 without a kernel (convviz.widgets.nokernel_html,
explorer/nokernel.js): what it carries, and what it does next to a widget output that is live, dead or
late, in Chromium on a page laid out like JupyterLab's output area. tests/test_jupyter.py checks it in a
real JupyterLab (a saved notebook reopened without a kernel)."""
from __future__ import annotations

import base64
import html as html_lib
import json
import re

import pytest

from convviz import widgets as cw
from explorer_support import READ_EXPLORER_JS, assert_shows_convviz, explorer_page

WIDGET = "application/vnd.jupyter.widget-view+json"


def _attr(text: str, name: str) -> str:
    return re.search(rf"{name}='([^']*)'", text).group(1)


def test_display_publishes_the_widget_then_the_stand_in():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    w = cw.explore_transpose(stride=2, padding=1, output_padding=1)
    with capture_output() as out:
        w._ipython_display_()
    widget, standin = (o.data for o in out.outputs)
    assert WIDGET in widget and "class='convviz-explorer-static'" in widget["text/html"]
    assert set(standin) == {"text/html", "text/plain"} and standin["text/plain"] == ""
    assert f"class='{cw.NOKERNEL_CLASS}' hidden" in standin["text/html"]


def test_stand_in_carries_the_module_the_mount_and_the_config():
    w = cw.explore_gradient(stride=2, channels=2, delta="random")
    text = cw.nokernel_html(w.config())
    assert base64.b64decode(_attr(text, "data-esm")).decode() == cw.esm_source()
    assert base64.b64decode(_attr(text, "data-mount")).decode() == (cw.ASSET_DIR / "mount.js").read_text()
    template = re.search(r"<template>(.*)</template>", text, re.S).group(1)
    assert w.static_html() in template
    # inert until it decides: the config sits in a <template>, the only live script is nokernel.js
    assert text.count("<script>") == 1 and text.count("</script></div>") == 1
    body = re.search(r"<script>(.*)</script></div>$", text, re.S).group(1)
    assert "</" not in body and body.replace("<\\/", "</") == (cw.ASSET_DIR / "nokernel.js").read_text()
    # nothing in the stand-in can end its <style> or <script> early
    style = re.search(r"<style>(.*?)</style>", template, re.S).group(1)
    assert "</" not in style


def _lab_page(directory, kernel: str, widget_html: str, standin: str, late: str = "") -> None:
    """A page laid out like a JupyterLab notebook panel: kernel name in the toolbar, an output area with the
    widget output and, after it, the stand-in output."""
    (directory / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'></head><body>"
        "<div class='jp-NotebookPanel'><div class='jp-Toolbar'>"
        f"<div class='jp-KernelName'>{html_lib.escape(kernel)}</div></div>"
        "<div class='jp-OutputArea'>"
        f"<div class='jp-OutputArea-child' id='widget'><div class='jp-OutputArea-output'>"
        f"{widget_html}</div></div>"
        "<div class='jp-OutputArea-child'><div class='jp-OutputArea-output'>"
        f"{standin}</div></div></div></div>{late}</body></html>",
        encoding="utf-8",
    )


SHOWN_JS = """() => { const box = document.querySelector('.convviz-explorer-nokernel');
    const widget = document.getElementById('widget');
    return {exists: !!box, hidden: box ? box.hidden : null,
            explorer: !!(box && box.querySelector('.convviz-explorer')),
            widgetHidden: widget ? getComputedStyle(widget).display === 'none' : null}; }"""

EXPLORERS = {
    "conv": lambda: cw.explore_conv(input_size=6, padding="same", stride=2, channels=2, filters=2),
    "transpose": lambda: cw.explore_transpose(input_size=3, stride=2, padding=1, output_padding=1),
    "gradient": lambda: cw.explore_gradient(input_size=5, stride=2, delta="random"),
}


@pytest.mark.parametrize("mode", list(EXPLORERS))
@pytest.mark.parametrize("kernel, widget_html", [
    ("No Kernel", "Loading widget..."),                          # reopened without a kernel
    ("Python 3 (ipykernel)", "Error displaying widget: model not found"),  # kernel, but no saved model
])
def test_dead_widget_output_gets_the_static_explorer(tmp_path, mode, kernel, widget_html):
    w = EXPLORERS[mode]()
    _lab_page(tmp_path, kernel, widget_html, cw.nokernel_html(w.config()))
    with explorer_page(tmp_path, "/index.html") as (tab, server, log):
        tab.wait_for_selector(".convviz-explorer-nokernel .convviz-explorer canvas.cvx-grid", timeout=10_000)
        shown = tab.evaluate(SHOWN_JS)
        assert shown == {"exists": True, "hidden": False, "explorer": True, "widgetHidden": True}, shown
        state = tab.evaluate(READ_EXPLORER_JS, 0)
        for name in cw.PARAMS + ("step",):
            assert state["state"][name] == json.loads(json.dumps(getattr(w, name))), name
        assert_shows_convviz(state)
        # live: a key press on a slider changes the numbers, which stay convviz's
        slider = tab.locator(".convviz-explorer-nokernel input[type=range]").first
        slider.focus()
        tab.keyboard.press("ArrowRight")
        after = tab.evaluate(READ_EXPLORER_JS, 0)
        assert after["state"] != state["state"]
        assert_shows_convviz(after)
        assert not log["console"] and not log["page"] and not log["failed"] and not log["blocked"], log


def test_live_widget_output_keeps_the_stand_in_empty(tmp_path):
    w = cw.explore_conv()
    _lab_page(tmp_path, "Python 3 (ipykernel)", "<div class='convviz-explorer'>live</div>", cw.nokernel_html(w.config()))
    with explorer_page(tmp_path, "/index.html") as (tab, server, log):
        tab.wait_for_timeout(1500)
        assert tab.evaluate(SHOWN_JS) == {"exists": True, "hidden": True, "explorer": False, "widgetHidden": False}
        assert tab.locator(".convviz-explorer-static").count() == 0  # the config never left its <template>
        assert not log["console"] and not log["page"], log


def test_widget_that_turns_live_later_wins(tmp_path):
    """No kernel at first (the stand-in mounts); then a kernel runs the cell and the widget view renders:
    the stand-in removes its explorer and shows the widget output again."""
    w = cw.explore_conv()
    late = ("<script>setTimeout(() => { document.querySelector('#widget .jp-OutputArea-output').innerHTML ="
            " \"<div class='convviz-explorer'>live</div>\"; }, 1500);</script>")
    _lab_page(tmp_path, "No Kernel", "Loading widget...", cw.nokernel_html(w.config()), late)
    with explorer_page(tmp_path, "/index.html") as (tab, server, log):
        tab.wait_for_selector(".convviz-explorer-nokernel .convviz-explorer", timeout=10_000)
        tab.wait_for_function("() => document.querySelector('.convviz-explorer-nokernel').hidden", timeout=10_000)
        assert tab.evaluate(SHOWN_JS) == {"exists": True, "hidden": True, "explorer": False, "widgetHidden": False}
        assert not log["console"] and not log["page"], log


def test_slow_widget_with_a_kernel_gets_five_seconds(tmp_path):
    w = cw.explore_conv()
    _lab_page(tmp_path, "Python 3 (ipykernel)", "Loading widget...", cw.nokernel_html(w.config()))
    with explorer_page(tmp_path, "/index.html") as (tab, server, log):
        tab.wait_for_timeout(2000)
        assert tab.evaluate(SHOWN_JS)["hidden"] is True
        tab.wait_for_selector(".convviz-explorer-nokernel .convviz-explorer", timeout=10_000)


def test_outside_jupyterlab_the_stand_in_removes_itself(tmp_path):
    """Colab, VS Code or a plain HTML renderer that runs scripts: no JupyterLab output area, nothing shown."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'></head><body>"
        f"<div class='output'>{cw.nokernel_html(cw.explore_conv().config())}</div></body></html>", encoding="utf-8")
    with explorer_page(tmp_path, "/index.html") as (tab, server, log):
        tab.wait_for_timeout(500)
        assert tab.evaluate(SHOWN_JS)["exists"] is False
        assert not log["console"] and not log["page"], log

"""Explorer edge cases from a review of explorer.js: each test drives a static page as a reader (or Python,
through the model) would and checks what the explorer shows afterwards.

Editing one padding side keeps the other three; the output sizes offered are those valid on both axes;
running sums that grow longer get a smaller font; an error
set from Python is shown; a linked view's line goes with its highlights; controls that a given x or w fixes
are disabled; a step out of range is clamped; keyboard links end with the focus; an explorer taken off the
page stops listening.
"""
from __future__ import annotations

import numpy as np
import pytest

from convviz import widgets as cw
from explorer_support import (FMT_JS, FONT_STACK, assert_shows_convviz, explorer_page, hover_cell, write_static_page,
                              explorer_root as root, read_explorer as read)

pytestmark = pytest.mark.browser

PAD4, SUMS, GRAD, GIVEN_W, GIVEN_X, ASYM = range(6)


@pytest.fixture(scope="module")
def tab(tmp_path_factory):
    site = tmp_path_factory.mktemp("explorer-edges")
    write_static_page(site, [
        cw.explore_conv(input_size=5, kernel_size=3, padding=4),
        # integers in the first stamp, then sums like 2.5 and 4.13 (longer labels than the first paint's)
        cw.explore_transpose(x=[[1, 0.5], [0.25, 2]], w=[[1, 2, 3], [1, 2, 1], [3, 1, 2]], stride=1),
        cw.explore_gradient(input_size=6, stride=2),
        cw.explore_conv(w=np.ones((3, 3))),
        cw.explore_conv(x=np.arange(16.0).reshape(4, 4)),
        # padding differs by axis: the rows reach other output sizes than the columns
        cw.explore_transpose(input_size=3, stride=2, padding=[0, 1, 2, 0]),
    ])
    with explorer_page(site, "/index.html") as (page, server, log):
        page.wait_for_selector(".convviz-explorer-static .convviz-explorer canvas.cvx-grid")
        yield page, log
        assert not log["console"], log["console"]
        assert not log["page"], log["page"]


def model_set(page, i, name, value):
    page.evaluate("([i, n, v]) => document.querySelectorAll('.convviz-explorer-static')[i].convvizModel.set(n, v)",
                  [i, name, value])
    page.wait_for_timeout(60)


def test_editing_one_padding_side_keeps_the_other_three(tab):
    page, _ = tab
    r = root(page, PAD4)
    sides = r.locator(".cvx-sides input")
    assert sides.evaluate_all("els => els.map(e => e.value)") == ["4", "4", "4", "4"]
    sides.nth(0).fill("3")
    shown = read(page, PAD4)
    assert shown["state"]["padding"] == [3, 4, 4, 4]
    assert_shows_convviz(shown)
    sides.nth(3).fill("2")
    assert read(page, PAD4)["state"]["padding"] == [3, 4, 4, 2]


def test_output_sizes_offered_are_the_ones_python_accepts(tab):
    page, _ = tab
    e = cw.explore_transpose(input_size=3, stride=2, padding=[0, 1, 2, 0])
    valid = [s for s in range(1, 40) if e.check(output_size=s) is None]
    sel = root(page, ASYM).locator("select[name=output_size]")
    offered = [v for v in sel.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    assert offered == [str(s) for s in valid], (offered, valid)
    for v in offered:
        sel.select_option(v)
        shown = read(page, ASYM)
        assert shown["error"] == "" and shown["state"]["output_size"] == int(v)
        assert_shows_convviz(shown)
    # a (rows, columns) pair from Python: shown as it is, and reachable when Python says so
    for pair in ([7, 6], [6, 6], [7, 7]):
        model_set(page, ASYM, "output_size", pair)
        label = sel.evaluate("s => s.options[s.selectedIndex].textContent")
        assert label.startswith(f"{pair[0]} × {pair[1]}"), label
        assert ("not reachable" in label) == (e.check(output_size=pair) is not None), (pair, label)
        assert read(page, ASYM)["error"] == (e.check(output_size=pair) or "")
    model_set(page, ASYM, "output_size", None)


def test_running_sums_that_grow_longer_get_a_font_that_fits(tab):
    page, _ = tab
    widths = """() => {
        const c = document.querySelectorAll('.convviz-explorer-static')[1].querySelector('canvas[data-grid="f0"]');
        const g = document.createElement('canvas').getContext('2d'), cell = Number(c.dataset.cell);
        const fmt = """ + FMT_JS + """;
        g.font = `${c.dataset.font}px """ + FONT_STACK + """`;
        return [Number(c.dataset.font), cell, Math.max(...JSON.parse(c.dataset.values).flat().map((v) => g.measureText(fmt(v)).width))];
    }"""
    model_set(page, SUMS, "step", 0)
    font0, cell, _ = page.evaluate(widths)
    for step in (1, 2, 3):
        model_set(page, SUMS, "step", step)
        page.wait_for_timeout(60)
        font, cell, widest = page.evaluate(widths)
        assert widest <= cell - 4 + 0.01 or font == 7, (step, font, cell, widest)
    assert font < font0, (font0, font)  # "2.5" and "4.13" do not fit at the integers' size


def test_an_error_set_from_python_is_shown_and_cleared_by_the_next_valid_change(tab):
    page, _ = tab
    r = root(page, GRAD)
    model_set(page, GRAD, "error", "kernel_size must be at most 7, got 9")
    shown = read(page, GRAD)
    assert shown["error"] == "kernel_size must be at most 7, got 9" and shown["invalid"], shown["error"]
    r.locator("input[name=stride]").focus()
    page.keyboard.press("ArrowLeft")
    shown = read(page, GRAD)
    assert shown["error"] == "" and not shown["invalid"]
    assert_shows_convviz(shown)


def test_a_linked_line_goes_with_its_highlights(tab):
    page, _ = tab
    r = root(page, SUMS)
    hover_cell(page, r, "x0", 1, 1)
    assert "stamps" in read(page, SUMS)["linkText"]
    hover_cell(page, r, "w0_0", 0, 0)  # a kernel cell links nothing in the transposed views
    shown = read(page, SUMS)
    assert shown["linkText"] == "" and not shown["link"], (shown["linkText"], shown["link"])
    page.mouse.move(0, 0)


def test_controls_a_given_x_or_w_fixes_are_disabled(tab):
    page, _ = tab
    disabled = lambda i: root(page, i).locator(".cvx-controls input[type=range]").evaluate_all(  # noqa: E731
        "els => Object.fromEntries(els.map(e => [e.name, e.disabled]))")
    w = disabled(GIVEN_W)
    assert w["kernel_size"] and w["channels"] and w["filters"] and not w["input_size"] and not w["stride"], w
    x = disabled(GIVEN_X)
    assert x["input_size"] and x["channels"] and not x["kernel_size"] and not x["filters"], x
    free = disabled(PAD4)
    assert not any(free.values()), free


@pytest.mark.parametrize("i", [PAD4, SUMS])
def test_a_step_out_of_range_is_clamped(tab, i):
    page, log = tab
    model_set(page, i, "step", -1)
    shown = read(page, i)
    assert shown["state"]["step"] == 0 and not log["page"], log["page"]
    model_set(page, i, "step", 10_000)
    last = page.evaluate("(i) => Number(document.querySelectorAll('.convviz-explorer-static')[i]"
                         ".querySelector('input[name=step]').max)", i)
    assert read(page, i)["state"]["step"] == last
    root(page, i).locator(".cvx-prev").click()
    assert read(page, i)["state"]["step"] == last - 1


def test_keyboard_links_end_when_the_focus_leaves_the_grid(tab):
    page, _ = tab
    r = root(page, GRAD)
    r.locator("canvas[data-grid=d0]").focus()
    page.keyboard.press("ArrowRight")
    shown = read(page, GRAD)
    assert shown["link"] and shown["linkText"]
    r.locator("input[name=stride]").focus()
    shown = read(page, GRAD)
    assert not shown["link"] and shown["linkText"] == "", (shown["link"], shown["linkText"])


def test_an_unmounted_explorer_stops_listening(tab):
    page, log = tab
    out = page.evaluate("""async () => {
        const {localModel} = await import('/_static/convviz-explorer/mount.js');
        const host = document.querySelectorAll('.convviz-explorer-static')[0];
        const frames = (n) => new Promise((res) => { const f = () => (--n ? requestAnimationFrame(f) : res()); requestAnimationFrame(f); });
        const formula = () => host.querySelector('.cvx-formula').textContent;
        const before = formula();
        host.convvizUnmount();
        host.convvizModel.set('input_size', 9);
        document.documentElement.dataset.theme = 'dark';
        await frames(3);
        const after = formula();
        document.documentElement.dataset.theme = 'light';
        return [typeof localModel, before === after];
    }""")
    assert out == ["function", True], out

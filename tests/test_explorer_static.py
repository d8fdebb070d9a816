"""The explorers on a static page (no kernel), in headless Chromium with every non-loopback request blocked.

The page is laid out as the book ships it (tests/explorer_support.write_static_page: the widgets' text/html
representation, _static/convviz-explorer/{mount,explorer,core}.js and explorer.css). Pointer and keyboard
input must change the displayed numbers, which must equal convviz's for the new setting; invalid settings
show convviz's message and the explorer recovers; hover links views; arrow keys do not leak to the page;
no console errors, no failed or blocked requests.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import convviz as cv
from convviz import style
from convviz import widgets as cw
from explorer_support import (assert_shows_convviz, explorer_page, hover_cell, write_static_page,
                              explorer_root as root, read_explorer as read)

pytestmark = pytest.mark.browser

CONV, TRANSPOSE, GRADIENT = 0, 1, 2


@pytest.fixture(scope="module")
def tab(tmp_path_factory):
    site = tmp_path_factory.mktemp("explorer-page")
    write_static_page(site, [
        cw.explore_conv(input_size=6, padding=1, channels=2, filters=2),
        cw.explore_transpose(input_size=3, kernel_size=3, stride=2, padding=1, output_padding=1),
        cw.explore_gradient(input_size=5, stride=2, channels=2, delta="random"),
    ])
    with explorer_page(site, "/index.html") as (page, server, log):
        page.wait_for_selector(".convviz-explorer-static .convviz-explorer canvas.cvx-grid")
        # count key events that reach the page (the explorer must keep them)
        page.evaluate("window.leaked = 0; document.addEventListener('keydown', () => window.leaked++)")
        yield page, log
        assert not log["console"], log["console"]
        assert not log["page"], log["page"]
        assert not log["failed"] and not log["blocked"] and not log["status"], log


def test_every_explorer_mounts_with_convviz_numbers(tab):
    page, _ = tab
    assert page.locator(".convviz-explorer").count() == 3
    assert page.locator(".convviz-explorer-fallback").count() == 0
    for i in range(3):
        assert_shows_convviz(read(page, i))


def test_conv_pointer_and_keyboard_change_the_numbers(tab):
    page, _ = tab
    r = root(page, CONV)
    before = read(page, CONV)
    # pointer: click the right end of the stride slider
    slider = r.locator("input[name=stride]")
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    shown = read(page, CONV)
    assert shown["state"]["stride"] == 4
    assert shown["grids"]["y0"] != before["grids"]["y0"]
    assert_shows_convviz(shown)
    # keyboard: kernel size one up, stride back to 1
    r.locator("input[name=kernel_size]").focus()
    page.keyboard.press("ArrowRight")
    slider.focus()
    page.keyboard.press("Home")
    shown = read(page, CONV)
    assert (shown["state"]["kernel_size"], shown["state"]["stride"]) == (4, 1)
    assert_shows_convviz(shown)
    # padding: TensorFlow's SAME (asymmetric at kernel 4) and per side
    r.locator("select[name=padding]").select_option("same")
    shown = read(page, CONV)
    assert shown["state"]["padding"] == "same"
    want = assert_shows_convviz(shown)
    assert cv.same_padding(6, 4, 1) == (1, 2) and want["x0"].shape == (9, 9)
    assert "F.pad(x, (1, 2, 1, 2))" in shown["torch"]
    r.locator("select[name=padding]").select_option("custom")
    r.locator(".cvx-sides input[data-side='3']").fill("3")
    shown = read(page, CONV)
    assert shown["state"]["padding"] == [1, 2, 1, 3]
    assert_shows_convviz(shown)
    assert page.evaluate("window.leaked") == 0


def test_conv_invalid_setting_shows_convvizs_message_and_recovers(tab):
    page, _ = tab
    r = root(page, CONV)
    r.locator("select[name=padding]").select_option("0")
    r.locator("input[name=stride]").focus()
    page.keyboard.press("ArrowRight")  # stride 2
    r.locator("input[name=dilation]").focus()
    page.keyboard.press("End")  # dilation 3 with kernel 4: spans 10 > 6
    shown = read(page, CONV)
    assert shown["state"]["dilation"] == 3 and shown["invalid"]
    with pytest.raises(ValueError) as exc:
        cv.conv2d(np.zeros((6, 6)), np.zeros((4, 4)), 2, 0, 3)
    assert shown["error"] == str(exc.value)
    assert r.locator(".cvx-error").is_visible()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    shown = read(page, CONV)
    assert shown["state"]["dilation"] == 1 and not shown["invalid"] and shown["error"] == ""
    assert_shows_convviz(shown)


def test_conv_linked_views_and_grid_keyboard(tab):
    page, _ = tab
    r = root(page, CONV)
    shown = read(page, CONV)
    st = shown["state"]
    s, d, k = st["stride"], st["dilation"], st["kernel_size"]
    # hover output cell (1, 1) of filter 0: its window lights up in every input channel
    hover_cell(page, r, "y0", 1, 1)
    shown = read(page, CONV)
    window = sorted([1 * s + i * d, 1 * s + j * d] for i in range(k) for j in range(k))
    assert sorted(shown["link"]["x0"]) == window and sorted(shown["link"]["x1"]) == window
    assert len(shown["link"]["w0_0"]) == k * k
    # hover one input pixel: every output it feeds (its Jacobian column), as convviz says
    hover_cell(page, r, "x0", 4, 4)
    shown = read(page, CONV)
    x, _ = cw_data(shown["state"])
    pads = _pads(shown["state"], x)
    onehot = np.zeros((1, 1) + x.shape[1:])
    onehot[0, 0, 4 - pads[0], 4 - pads[2]] = 1
    fed = cv.conv2d(onehot, np.ones((1, 1, k, k)), s, (pads[0], pads[1], pads[2], pads[3]), d)[0, 0]
    assert sorted(shown["link"]["y0"]) == sorted(map(list, zip(*map(lambda a: a.tolist(), np.nonzero(fed)))))
    # keyboard on the output grid: arrows move the step; the products line shows that output's value
    page.mouse.move(0, 0)
    r.locator("canvas[data-grid=y0]").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    shown = read(page, CONV)
    Wo = len(shown["grids"]["y0"][0])
    assert shown["state"]["step"] == 1 * Wo + 1
    assert shown["eq"] == shown["grids"]["y0"][1][1] and shown["cur"]["y0"] == [[1, 1]]
    assert page.evaluate("window.leaked") == 0


def cw_data(state):
    from explorer_support import explorer_data

    return explorer_data(state)


def _pads(state, x):
    from convviz import geometry as cg

    tup = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
    k = state["kernel_size"]
    s, d = state["stride"], state["dilation"]
    return cg.resolve_padding(tup(state["padding"]), x.shape[1:], (k, k), (s, s), (d, d))


def test_conv_play_and_step_buttons(tab):
    page, _ = tab
    r = root(page, CONV)
    start = read(page, CONV)["state"]["step"]
    r.locator(".cvx-next").click()
    assert read(page, CONV)["state"]["step"] == start + 1
    r.locator(".cvx-play").click()
    page.wait_for_timeout(1600)
    r.locator(".cvx-play").click()
    shown = read(page, CONV)
    assert shown["state"]["step"] >= start + 2
    assert r.locator(".cvx-play").get_attribute("aria-pressed") == "false"


def test_transpose_both_views_step_together(tab):
    page, _ = tab
    r = root(page, TRANSPOSE)
    shown = read(page, TRANSPOSE)
    assert_shows_convviz(shown)
    # the direct view's output equals the scatter canvas after the crop, at the last step
    r.locator("input[name=step]").focus()
    page.keyboard.press("End")
    shown = read(page, TRANSPOSE)
    assert shown["state"]["step"] == 8
    want = assert_shows_convviz(shown)
    f = np.asarray(shown["grids"]["f0"])
    t, l = 1, 1
    H, W = want["y0"].shape
    assert np.array_equal(f[t:t + H, l:l + W], want["y0"])
    # pointer: previous step; running overlap counts follow
    r.locator(".cvx-prev").click()
    shown = read(page, TRANSPOSE)
    assert shown["state"]["step"] == 7
    assert_shows_convviz(shown)
    # an output size chosen among the valid ones (TensorFlow's output_shape)
    r.locator("select[name=output_size]").select_option("6")
    shown = read(page, TRANSPOSE)
    assert (shown["state"]["output_size"], shown["state"]["output_padding"]) == (6, 0)
    assert np.asarray(shown["grids"]["y0"]).shape == (6, 6)
    assert_shows_convviz(shown)
    # keyboard: output_padding 0 -> 1 -> 2; 2 is not < max(stride, dilation) = 2
    r.locator("input[name=output_padding]").focus()
    page.keyboard.press("ArrowRight")
    assert_shows_convviz(read(page, TRANSPOSE))
    page.keyboard.press("ArrowRight")
    shown = read(page, TRANSPOSE)
    with pytest.raises(ValueError) as exc:
        cv.conv_transpose2d(np.zeros((3, 3)), np.zeros((3, 3)), 2, 1, 2, 1)
    assert shown["error"] == str(exc.value) and shown["invalid"]
    page.keyboard.press("ArrowLeft")
    assert_shows_convviz(read(page, TRANSPOSE))
    # hover an output cell of the direct view: its stamps' sources light up in x
    hover_cell(page, r, "y0", 0, 0)
    shown = read(page, TRANSPOSE)
    assert shown["link"].get("x0") and shown["link"].get("z0")
    assert page.evaluate("window.leaked") == 0


def test_gradient_mode_numbers_follow_input(tab):
    page, _ = tab
    r = root(page, GRADIENT)
    assert_shows_convviz(read(page, GRADIENT))
    r.locator("select[name=delta]").select_option("ones")
    r.locator("input[name=kernel_size]").focus()
    page.keyboard.press("ArrowLeft")
    shown = read(page, GRADIENT)
    assert (shown["state"]["delta"], shown["state"]["kernel_size"]) == ("ones", 2)
    assert_shows_convviz(shown)
    r.locator("select[name=padding]").select_option("same")
    assert_shows_convviz(read(page, GRADIENT))
    # hover a kernel-gradient entry: the inputs it multiplies
    hover_cell(page, r, "dw0_0", 1, 1)
    shown = read(page, GRADIENT)
    assert shown["link"].get("x0") and shown["link"].get("d0")


def test_dark_mode_and_phone_width(tab):
    page, _ = tab
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    bg = page.evaluate("getComputedStyle(document.querySelector('.convviz-explorer')).backgroundColor")
    assert bg == "rgb(27, 29, 33)"
    page.evaluate("document.documentElement.dataset.theme = 'light'")
    page.set_viewport_size({"width": 390, "height": 800})
    page.wait_for_timeout(200)
    over = page.evaluate("""() => [...document.querySelectorAll('.convviz-explorer')].map(
        e => e.scrollWidth - e.clientWidth)""")
    assert max(over) <= 1, over
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})


def test_anywidget_bundle_renders_with_a_model(tab):
    """The module anywidget loads (Explorer._esm: core.js + explorer.js in one string, from a blob URL, with
    no relative imports) renders with a model; setting a trait on the model (as Python does) redraws."""
    page, _ = tab
    w = cw.explore_conv(input_size=5, stride=1, padding="same")
    cfg = w.config()
    shown = page.evaluate(
        """async ([src, state]) => {
            const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
            const mod = await import(url);
            const {localModel} = await import('/_static/convviz-explorer/mount.js');
            const host = document.createElement('div');
            host.className = 'convviz-explorer-static';
            document.body.appendChild(host);
            const model = localModel(state);
            host.convvizModel = model;
            const el = document.createElement('div');
            host.appendChild(el);
            const cleanup = mod.default.render({model, el});
            model.set('stride', 2);
            model.save_changes();
            return typeof cleanup;
        }""",
        [w._esm, cfg],
    )
    assert shown == "function"
    n = page.locator(".convviz-explorer-static").count() - 1
    state = read(page, n)
    assert state["state"]["stride"] == 2
    assert_shows_convviz(state)


@pytest.mark.parametrize("i, params", [
    (CONV, dict(input_size=17)), (CONV, dict(channels=4)), (CONV, dict(kernel_size=0)),
    (CONV, dict(padding=-1)), (CONV, dict(padding="full")), (CONV, dict(dilation=3, kernel_size=4, padding=0)),
    (TRANSPOSE, dict(output_padding=2)), (TRANSPOSE, dict(output_size=9)),
    (TRANSPOSE, dict(output_size=6, output_padding=1)), (TRANSPOSE, dict(padding="same", output_padding=1)),
    (TRANSPOSE, dict(padding=[3, 3, 0, 0], input_size=1, kernel_size=3, output_padding=0)),
    (GRADIENT, dict(kernel_size=7, padding=0)), (GRADIENT, dict(stride=5)),
    (GRADIENT, dict(delta="zeros")), (TRANSPOSE, dict(role="output")), (CONV, dict(stride=2.5)),
])
def test_rejections_in_the_page_equal_pythons(tab, i, params):
    """The explorer in the page rejects exactly what Explorer.check (convviz + the explorer's limits) rejects,
    with the same text; restoring the old values recovers."""
    page, _ = tab
    before = read(page, i)["state"]
    w = cw.Explorer(**{k: v for k, v in before.items() if k in cw.PARAMS + ("step",)})
    expected = w.check(**params)
    assert expected
    page.evaluate("([i, p]) => { const m = document.querySelectorAll('.convviz-explorer-static')[i].convvizModel;"
                  " for (const [k, v] of Object.entries(p)) m.set(k, v); }", [i, params])
    shown = read(page, i)
    assert shown["error"] == expected and shown["invalid"]
    assert shown["state"]["error"] == expected  # the model carries it too (Python reads w.error)
    page.evaluate("([i, p]) => { const m = document.querySelectorAll('.convviz-explorer-static')[i].convvizModel;"
                  " for (const [k, v] of Object.entries(p)) m.set(k, v); }", [i, {k: before[k] for k in params}])
    shown = read(page, i)
    assert shown["error"] == "" and not shown["invalid"]
    assert_shows_convviz(shown)


def test_random_interaction_keeps_convvizs_numbers(tab):
    """150 random pointer and keyboard actions (sliders, padding, hover, click, grid arrows) over the three
    explorers: after each one the explorer shows convviz's numbers, or exactly convviz's / the explorer's
    message for an invalid setting, and the page logs no error."""
    import random

    page, log = tab
    rnd = random.Random(20260901)
    roots = page.locator(".convviz-explorer")
    for _ in range(150):
        i = rnd.randrange(3)
        r = roots.nth(i)
        act = rnd.random()
        if act < 0.5:
            inputs = r.locator(".cvx-controls input[type=range]:not([disabled])")
            inputs.nth(rnd.randrange(inputs.count())).focus()
            page.keyboard.press(rnd.choice(["ArrowRight", "ArrowLeft", "End", "Home"]))
        elif act < 0.65:
            r.locator("select[name=padding]").select_option(rnd.choice(["0", "1", "2", "3", "valid", "same", "custom"]))
        elif act < 0.85:
            grids = r.locator("canvas.cvx-grid")
            g = grids.nth(rnd.randrange(grids.count()))
            g.scroll_into_view_if_needed()
            b = g.bounding_box()
            page.mouse.move(b["x"] + rnd.random() * b["width"], b["y"] + rnd.random() * b["height"])
            if rnd.random() < 0.3:
                page.mouse.down()
                page.mouse.up()
        else:
            grids = r.locator("canvas.cvx-grid")
            grids.nth(rnd.randrange(grids.count())).focus()
            for _ in range(3):
                page.keyboard.press(rnd.choice(["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp", "Enter"]))
        shown = read(page, i)
        if shown["error"]:
            st = shown["state"]
            assert shown["error"] == cw.Explorer(**{k: v for k, v in st.items() if k in cw.PARAMS}).check(), st
        else:
            assert_shows_convviz(shown)
        assert not log["page"] and not log["console"], (log["page"], log["console"])
    assert page.evaluate("window.leaked") == 0


def test_view_rendered_before_it_is_attached_draws_the_real_colours(tab):
    """JupyterLab may call render() with an element that is not in the document yet: the colours cannot be
    read from the stylesheet then. The grids must be redrawn with the real colours once the element is
    attached (a palette read while detached used to be cached: every grid stayed one flat grey)."""
    page, _ = tab
    cfg = cw.explore_conv(input_size=5, padding=1).config()
    corners = page.evaluate(
        """async ([src, state]) => {
            const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
            const mod = await import(url);
            const {localModel} = await import('/_static/convviz-explorer/mount.js');
            const frames = (n) => new Promise((res) => { const f = () => (--n ? requestAnimationFrame(f) : res()); requestAnimationFrame(f); });
            document.documentElement.dataset.theme = 'dark';  // not the light defaults a detached view falls back to
            const hosts = [];
            const mount = (attachFirst) => {
                const el = document.createElement('div');
                hosts.push(el);
                if (attachFirst) document.body.appendChild(el);
                mod.default.render({model: localModel(JSON.parse(JSON.stringify(state))), el});
                return el;
            };
            const ref = mount(true);
            const late = mount(false);
            await frames(3);
            document.body.appendChild(late);  // attached only now, as an output area does
            await frames(6);
            const corner = (el) => [...el.querySelectorAll('canvas.cvx-grid')].map((c) => {
                const cell = Number(c.dataset.cell), px = (r, q) => [...c.getContext('2d').getImageData(
                    Math.round((1 + q * cell + 3) * devicePixelRatio), Math.round((1 + r * cell + 3) * devicePixelRatio), 1, 1).data].slice(0, 3).join(',');
                const seen = new Set(), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let j = 0; j < d.length; j += 4 * 7) seen.add((d[j] << 16) | (d[j + 1] << 8) | d[j + 2]);
                return [c.dataset.grid, px(0, 0), px(1, 1), seen.size];
            });
            const out = {ref: corner(ref), late: corner(late)};
            hosts.forEach((h) => h.remove());
            document.documentElement.dataset.theme = 'light';
            return out;
        }""",
        [cw.Explorer()._esm, cfg],
    )
    assert corners["late"], corners
    assert all(n >= 4 for *_, n in corners["late"]), f"grids drawn flat: {corners['late']}"
    assert [c[:3] for c in corners["late"]] == [c[:3] for c in corners["ref"]], corners


def test_signed_grids_use_the_one_diverging_scale(tab):
    """A kernel with negative weights is coloured as convviz.style.value_scale colours it (the matplotlib
    figures' scale): diverging, centred at 0, so -2 is as strong as +2 and -1 is never lighter than 0."""
    from matplotlib.colors import to_rgb

    page, _ = tab
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], float)
    cfg = cw.explore_conv(np.arange(25.0).reshape(5, 5) % 4, sobel).config()
    cells = page.evaluate(
        """async ([src, state]) => {
            const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
            const mod = await import(url);
            const {localModel} = await import('/_static/convviz-explorer/mount.js');
            const frames = (n) => new Promise((res) => { const f = () => (--n ? requestAnimationFrame(f) : res()); requestAnimationFrame(f); });
            const el = document.createElement('div');
            document.body.appendChild(el);
            mod.default.render({model: localModel(state), el});
            await frames(4);
            const out = {};
            for (const c of el.querySelectorAll('canvas.cvx-grid')) {
                const cell = Number(c.dataset.cell), vals = JSON.parse(c.dataset.values), ctx = c.getContext('2d');
                const off = Math.max(4, Math.round(cell * 0.18));
                out[c.dataset.grid] = vals.map((row, r) => row.map((v, q) => [v, [...ctx.getImageData(
                    Math.round((1 + q * cell + off) * devicePixelRatio), Math.round((1 + r * cell + off) * devicePixelRatio), 1, 1).data].slice(0, 3)]));
            }
            el.remove();
            return out;
        }""",
        [cw.Explorer()._esm, cfg],
    )
    kernels = [g for g, rows in cells.items() if sorted(v for row in rows for v, _ in row) == sorted(sobel.ravel())]
    assert kernels, f"no grid shows the kernel: {list(cells)}"
    cmap, norm, signed = style.value_scale(sobel, "kernel")
    assert signed
    colour = {}
    for v, rgb in (cell for row in cells[kernels[0]] for cell in row):
        want = np.round(np.array(to_rgb(cmap(norm(v)))) * 255)
        assert np.abs(np.array(rgb) - want).max() <= 4, f"weight {v}: drawn {rgb}, value_scale gives {want.tolist()}"
        colour[v] = np.array(rgb, float)

    def lum(c):
        return float(c @ [0.2126, 0.7152, 0.0722])

    assert lum(colour[-1]) < lum(colour[0]) and lum(colour[1]) < lum(colour[0])
    assert lum(colour[-2]) < lum(colour[-1]) and lum(colour[2]) < lum(colour[1])


def test_css_and_js_defaults_are_the_style_legend():
    """The explorer's signed scale is convviz.style.DIVERGING_COLORS, in the stylesheet and in the JS fallback."""
    css = (cw.ASSET_DIR / "explorer.css").read_text()
    js = (cw.ASSET_DIR / "explorer.js").read_text()
    light = re.search(r"--cvx-diverging:\s*(#[^;]+);", css).group(1)  # the first (light) declaration
    assert [c.strip().upper() for c in light.split(",")] == [c.upper() for c in style.DIVERGING_COLORS]
    assert ", ".join(style.DIVERGING_COLORS) in js


def test_each_explorer_contains_its_layout_and_paint(tab):
    """explorer.css: each explorer contains its layout and paint (an update repaints that explorer only, not the
    whole page: benchmarks/bench_widgets.py --trace), and nothing it shows lies outside its box, where the
    containment would clip it."""
    page, _ = tab
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(200)
        found = page.evaluate("""() => [...document.querySelectorAll('.convviz-explorer')].map((root) => {
            const box = root.getBoundingClientRect(), out = [];
            for (const e of root.querySelectorAll('*')) {
                const r = e.getBoundingClientRect();
                if (!r.width || !r.height) continue;  // hidden (the error line of a valid setting)
                if (r.left < box.left - 0.5 || r.right > box.right + 0.5
                    || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) out.push(e.tagName + '.' + e.className);
            }
            return {contain: getComputedStyle(root).contain, outside: out};
        })""")
        for f in found:
            assert f["contain"] in ("content", "strict") or {"layout", "paint"} <= set(f["contain"].split()), f
            assert not f["outside"], (width, f["outside"])
    page.set_viewport_size({"width": 1280, "height": 900})


def test_step_line_is_rewritten_only_when_it_changes(tab):
    """The products line below the grids keeps its nodes when a parameter change leaves it as it was (no new
    style, layout and paint for it, no new announcement of its live region); a linked view's line still goes
    with a step change."""
    page, _ = tab
    r = root(page, CONV)
    page.mouse.move(0, 0)
    page.evaluate("""(i) => { const m = document.querySelectorAll('.convviz-explorer-static')[i].convvizModel;
        for (const [k, v] of Object.entries({padding: 1, dilation: 1, kernel_size: 3, stride: 1, step: 0})) m.set(k, v); }""",
                  CONV)
    eq = "(i) => document.querySelectorAll('.convviz-explorer-static')[i].querySelector('.cvx-detail .cvx-eq')"
    page.evaluate(f"(i) => {{ ({eq})(i).kept = true; }}", CONV)
    before = read(page, CONV)
    r.locator("input[name=stride]").focus()
    page.keyboard.press("ArrowRight")  # stride 2: the window of output (0, 0) is the same
    shown = read(page, CONV)
    assert shown["state"]["stride"] == 2 and shown["grids"]["y0"] != before["grids"]["y0"]
    assert_shows_convviz(shown)
    assert page.evaluate(f"(i) => ({eq})(i).kept === true", CONV)
    assert shown["eq"] == before["eq"] == shown["grids"]["y0"][0][0]
    # a linked view's line (the focused grid's cell), then the next step: the line shows the step alone
    r.locator("canvas[data-grid=x0]").focus()
    assert read(page, CONV)["linkText"]
    r.locator("input[name=step]").focus()
    page.keyboard.press("ArrowRight")
    shown = read(page, CONV)
    assert shown["state"]["step"] == 1 and not shown["linkText"]
    assert shown["eq"] == shown["grids"]["y0"][0][1]
    assert not page.evaluate(f"(i) => ({eq})(i).kept === true", CONV)
    assert page.evaluate("window.leaked") == 0

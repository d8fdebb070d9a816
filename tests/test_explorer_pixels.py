"""The explorer's grids as pixels, read back from the canvases at several device pixel ratios.

explorer.js paints each grid's fills and grid lines as device pixels (``basePixels``) instead of canvas
rects and paths. These tests read every canvas back and check what a reader sees: each cell is one colour
between edges on whole device pixels, grid lines are the half-opacity blend of the line colour over the cell
they cross, hatched cells (padding) carry the padding ink in diagonal lines over a lighter fill, nothing is
drawn outside the grid's box, and signed grids keep the one diverging scale (test_explorer_static checks its
colours at ratio 1; here the same cells must be uniform at every ratio).
"""
from __future__ import annotations

import base64

import numpy as np
import pytest

from convviz import widgets as cw
from explorer_support import FMT_JS, FONT_STACK, explorer_page, write_static_page

pytestmark = pytest.mark.browser

# per canvas: its geometry, its pixels (RGBA, device pixels of the grid's box) and the marks drawn on top
READ_PIXELS_JS = """() => [...document.querySelectorAll('.convviz-explorer canvas.cvx-grid')].map((c) => {
    const dpr = devicePixelRatio, cell = Number(c.dataset.cell), rows = Number(c.dataset.rows), cols = Number(c.dataset.cols);
    const nw = Math.round((cols * cell + 2) * dpr), nh = Math.round((rows * cell + 2) * dpr);
    const root = c.closest('.convviz-explorer'), line = getComputedStyle(root).getPropertyValue('--cvx-line').trim();
    return {key: c.dataset.grid, explorer: [...document.querySelectorAll('.convviz-explorer')].indexOf(root),
            dpr, cell, rows, cols, nw, nh, line, signed: Number(c.closest('figure').querySelector('figcaption').dataset.scale) > 0, marks: JSON.parse(c.dataset.marks || '{}'), box: c.dataset.box || null,
            px: b64(c.getContext('2d').getImageData(0, 0, nw, nh).data)};
    // the bytes as base64: millions of pixels as a JSON array of numbers take minutes to pass to Python
    function b64(bytes) {
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        return btoa(s);
    }
})"""


def hex_rgb(s):
    s = s.strip().lstrip("#")
    return np.array([int(s[i:i + 2], 16) for i in (0, 2, 4)], float)


def js_round(v):
    """Math.round, as explorer.js rounds edges to device pixels (Python's round() rounds half to even)."""
    return int(np.floor(v + 0.5))


def marked(g):
    """Cells a highlight is drawn over (marks, the cursor; the window box and the cells next to it, which its
    stroke reaches) and, in a signed grid, the outer ring under the border in its role's colour."""
    out = {tuple(rc) for cells in g["marks"].values() for rc in cells}
    if g["signed"]:
        out |= {(r, c) for r in range(g["rows"]) for c in range(g["cols"])
                if r in (0, g["rows"] - 1) or c in (0, g["cols"] - 1)}
    if g["box"]:
        r0, c0, r1, c1 = map(int, g["box"].split(","))
        out |= {(r, c) for r in range(r0 - 1, r1 + 2) for c in range(c0 - 1, c1 + 2)}
    return out


def check_grid(g, hatched=()):
    dpr, cell, rows, cols = g["dpr"], g["cell"], g["rows"], g["cols"]
    px = np.frombuffer(base64.b64decode(g["px"]), np.uint8).astype(float).reshape(g["nh"], g["nw"], 4)
    edge = [js_round((1 + k * cell) * dpr) for k in range(max(rows, cols) + 1)]
    lw = max(1, js_round(0.8 * dpr))
    line = hex_rgb(g["line"])
    where = f"{g['key']} at ratio {dpr}"
    skip = marked(g)
    # nothing above or left of the grid lines (the 1 CSS px margin of the box), but where a highlight's
    # stroke reaches into it
    for c in range(cols):
        if (0, c) not in skip:
            assert (px[:edge[0], edge[c]:edge[c + 1], 3] == 0).all(), f"{where}: drawn above column {c}"
    for r in range(rows):
        if (r, 0) not in skip:
            assert (px[edge[r]:edge[r + 1], :edge[0], 3] == 0).all(), f"{where}: drawn left of row {r}"
    checked = hatches = 0
    marks = {tuple(rc) for cells in g["marks"].values() for rc in cells}
    inset = int(np.ceil(2 * dpr))  # clear of a highlight's stroke on a neighbouring cell's edge
    for r in range(rows):
        for c in range(cols):
            y0, y1, x0, x1 = edge[r] + lw, edge[r + 1], edge[c] + lw, edge[c + 1]
            if (r, c) in hatched and (r, c) not in marks and not g["signed"]:
                # diagonal lines over a lighter fill: two colours at least, the ink a fair share of the cell
                inside = px[y0 + inset:y1 - inset, x0 + inset:x1 - inset]
                assert (inside[..., 3] == 255).all(), f"{where}: hatched cell {(r, c)} not opaque"
                colours, counts = np.unique(inside[..., :3].reshape(-1, 3), axis=0, return_counts=True)
                assert len(colours) >= 2, f"{where}: hatched cell {(r, c)} is flat"
                lum = colours @ [0.2126, 0.7152, 0.0722]
                share = counts[lum != lum.max()].sum() / counts.sum()
                assert 0.1 < share < 0.7, f"{where}: hatched cell {(r, c)}: ink covers {share:.0%}"
                hatches += 1
                continue
            if (r, c) in skip or (r, c) in hatched:
                continue
            inside = px[y0:y1, x0:x1]
            assert (inside[..., 3] == 255).all(), f"{where}: cell {(r, c)} not opaque"
            # one colour from edge to edge: the four corners inside the lines (clear of the centred number)
            k = max(1, int(dpr))
            corners = [inside[:k, :k], inside[:k, -k:], inside[-k:, :k], inside[-k:, -k:]]
            fill = inside[0, 0, :3]
            for q in corners:
                assert (q[..., :3] == fill).all(), f"{where}: cell {(r, c)} not one colour at its corners"
            # its top and left grid lines: the line colour at half opacity over the fill
            want = (fill + line) / 2
            top = px[edge[r]:edge[r] + lw, x0:x0 + k, :3].reshape(-1, 3)
            left = px[y0:y0 + k, edge[c]:edge[c] + lw, :3].reshape(-1, 3)
            for name, got in (("top", top), ("left", left)):
                assert np.abs(got - want).max() <= 2, f"{where}: cell {(r, c)} {name} line {got[0]}, want {want}"
            checked += 1
    if g["signed"]:
        return checked, hatches
    # the bottom and right lines of the last row and column lie outside the cells: the line colour, half alpha
    bottom = px[edge[rows]:edge[rows] + lw, edge[0] + lw:edge[cols]]
    right = px[edge[0] + lw:edge[rows], edge[cols]:edge[cols] + lw]
    for name, got in (("bottom", bottom), ("right", right)):
        got = got.reshape(-1, 4)
        assert np.abs(got[:, :3] - line).max() <= 2 and np.abs(got[:, 3] - 128).max() <= 1, f"{where}: {name} edge"
    return checked, hatches


@pytest.mark.parametrize("dpr", [1, 1.5, 2, 3])
def test_grid_pixels_at_each_device_pixel_ratio(tmp_path, dpr):
    write_static_page(tmp_path, [
        cw.explore_conv(input_size=5, kernel_size=3, padding=1, channels=2, filters=1),
        cw.explore_conv(np.arange(16.0).reshape(4, 4) - 7, np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]), padding=1),
        cw.explore_transpose(input_size=3, kernel_size=3, stride=2, padding=1, output_padding=1),
    ])
    with explorer_page(tmp_path, "/index.html") as (page, server, log):
        cdp = page.context.new_cdp_session(page)
        cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": dpr, "mobile": False})
        page.reload(wait_until="load")
        page.wait_for_selector(".convviz-explorer canvas.cvx-grid")
        page.wait_for_timeout(300)
        grids = page.evaluate(READ_PIXELS_JS)
        # smaller grids after larger ones: the canvases and pixel buffers are only ever enlarged, and what
        # is drawn must still be the new grid alone
        page.evaluate("""async () => {
            const m = document.querySelectorAll('.convviz-explorer-static')[0].convvizModel;
            const frame = () => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
            m.set('input_size', 8); await frame(); m.set('kernel_size', 2); await frame(); m.set('input_size', 4); await frame();
        }""")
        page.wait_for_timeout(200)
        after = [g for g in page.evaluate(READ_PIXELS_JS) if g["explorer"] == 0]
        assert not log["console"] and not log["page"], log
    assert grids and all(g["dpr"] == dpr for g in grids), {g["dpr"] for g in grids}
    assert {(g["key"], g["rows"]) for g in after} == {("x0", 6), ("x1", 6), ("w0_0", 2), ("w0_1", 2), ("y0", 5)}, \
        [(g["key"], g["rows"]) for g in after]
    grids = [g for g in grids if g["explorer"] != 0] + after
    ring = lambda g: {(r, c) for r in range(g["rows"]) for c in range(g["cols"])  # noqa: E731
                      if r in (0, g["rows"] - 1) or c in (0, g["cols"] - 1)}
    total, hatch_checked = 0, set()
    for g in grids:
        if g["explorer"] in (0, 1):
            # padding 1: the ring of each padded input is hatched
            hatched = ring(g) if g["key"].startswith("x") else set()
        elif g["key"] == "n" or g["key"][0] in "xwr":
            # transposed: the overlap counts with the cropped ring (padding 1) hatched; the input and kernels.
            # (the other grids carry dashed cells: inserted zeros, output_padding)
            hatched = ring(g) if g["key"] == "n" else set()
        else:
            continue
        plain, hatches = check_grid(g, hatched)
        total += plain
        if hatches:
            hatch_checked.add((g["explorer"], g["key"]))
    assert total >= 60, total
    assert {(0, "x0"), (0, "x1"), (2, "n")} <= hatch_checked, hatch_checked


@pytest.mark.parametrize("width", [1280, 390])
def test_numbers_fit_their_cells(tmp_path, width):
    """Every number drawn in a cell fits it with 2 px to spare each side (the font shrinks for long numbers,
    down to 7 px), at a desktop and a phone width; short numbers keep the full size."""
    x = 1000.0 + np.arange(25.0).reshape(5, 5) * 37  # four-digit inputs, outputs up to five digits
    write_static_page(tmp_path, [
        cw.explore_conv(x, np.ones((2, 2)), stride=1),
        cw.explore_conv(input_size=5, kernel_size=3, padding=1),
        cw.explore_gradient(input_size=6, stride=2, channels=2, delta="random"),
    ])
    with explorer_page(tmp_path, "/index.html", width=width) as (page, server, log):
        page.wait_for_selector(".convviz-explorer canvas.cvx-grid")
        page.wait_for_timeout(300)
        grids = page.evaluate("""() => [...document.querySelectorAll('.convviz-explorer canvas.cvx-grid')].map((c) => {
            const font = c.dataset.font;
            return {key: c.dataset.grid, cell: Number(c.dataset.cell), font: font ? Number(font) : null,
                    explorer: [...document.querySelectorAll('.convviz-explorer')].indexOf(c.closest('.convviz-explorer')),
                    values: JSON.parse(c.dataset.values).flat()};
        })""")
        widths = page.evaluate("""(grids) => {
            const g = document.createElement('canvas').getContext('2d');
            const FONT = '""" + FONT_STACK + """';
            const fmt = """ + FMT_JS + """;
            return grids.map((d) => {
                if (d.font === null) return null;
                g.font = `${d.font}px ${FONT}`;
                return Math.max(...d.values.map((v) => g.measureText(fmt(v)).width));
            });
        }""", grids)
        assert not log["console"] and not log["page"], log
    drawn = [(g, w) for g, w in zip(grids, widths) if g["font"] is not None]
    assert drawn, grids
    for g, w in drawn:
        assert g["font"] >= 7, g
        assert w <= g["cell"] - 4 + 0.01 or g["font"] == 7, (g["key"], g["cell"], g["font"], w)
    big = [g for g, _ in drawn if g["explorer"] == 0 and g["key"] in ("x0", "y0")]
    assert big and all(g["font"] < int(max(8, min(13, g["cell"] * 0.45))) for g in big), big  # shrunk
    small = [g for g, _ in drawn if g["explorer"] == 1 and g["key"].startswith("w")]
    assert small and all(g["font"] == int(max(8, min(13, g["cell"] * 0.45))) for g in small), small  # full size

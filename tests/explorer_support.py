"""Shared helpers of the explorer tests (tests/test_explorer_*.py) and benchmarks/bench_widgets.py.

* ``explorer_page`` serves a directory on 127.0.0.1 (``browser_support.BookServer``), opens one headless
  Debian Chromium tab with every non-loopback request blocked (``browser_support.Offline``) and records
  console errors, page errors and failed requests;
* ``reference`` computes, with convviz, every number the explorer core displays for one configuration
  (or convviz's ``ValueError`` text), in the core's JSON layout.
"""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np

import convviz as cv
from convviz import geometry as cg
from convviz.explorer import STATIC_FILES

from browser_support import BookServer, Offline, launch_context, playwright

EXPLORER_DIR = Path(cv.__file__).resolve().parent / "explorer"


@contextlib.contextmanager
def explorer_page(directory: Path, path: str = "/", width: int = 1280, height: int = 900):
    """Yield (tab, server, log) for ``directory`` served on 127.0.0.1, offline; log has errors/failed/blocked."""
    with BookServer(directory) as server, tempfile.TemporaryDirectory() as profile:
        context = launch_context(playwright(), Path(profile))
        try:
            offline = Offline(context, server.origin)
            tab = context.new_page()
            tab.set_viewport_size({"width": width, "height": height})
            log = {"console": [], "page": [], "failed": [], "blocked": offline.blocked, "status": []}
            tab.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: log["page"].append(str(e)))
            tab.on("requestfailed", lambda r: log["failed"].append(f"{r.url} {r.failure}"))
            tab.on("response", lambda r: log["status"].append((r.url, r.status)) if r.status >= 400 else None)
            tab.goto(server.url(path), wait_until="load")
            yield tab, server, log
        finally:
            context.close()


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _specs(padding, pads):
    """Per-axis padding spec as convviz's size helpers take it: the string, or (before, after)."""
    if isinstance(padding, str):
        return [padding, padding]
    return [tuple(pads[0:2]), tuple(pads[2:4])]


def tolist(a):
    return np.asarray(a, dtype=float).tolist()


def reference(cfg: dict) -> dict:
    """What convviz says for one core config (x (C,H,W), w, delta nested lists; parameters as the core takes
    them, tuples as lists). Returns {"error": text} when convviz raises ValueError."""
    x = np.asarray(cfg["x"], float)
    w = np.asarray(cfg["w"], float)
    tup = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
    stride, padding, dilation = tup(cfg["stride"]), tup(cfg["padding"]), tup(cfg["dilation"])
    mode = cfg["mode"]
    C, H, W = x.shape
    try:  # convviz's own validation: the only ValueError expected here
        if mode == "transpose":
            y = cv.conv_transpose2d(x[None], w, stride, padding, tup(cfg["output_padding"]), dilation,
                                    tup(cfg["output_size"]))[0]
        else:
            y = cv.conv2d(x[None], w, stride, padding, dilation)[0]
    except ValueError as exc:
        return {"error": str(exc)}
    if mode == "transpose":
        op, osz = tup(cfg["output_padding"]), tup(cfg["output_size"])
        g = cg.transpose_geometry((H, W), w.shape[2:], stride=stride, padding=padding, output_padding=op,
                                  dilation=dilation, output_size=osz)
        opp = g.output_padding
        yd = cv.conv_transpose2d_direct(x[None], w, stride, padding, op, dilation, osz)[0]
        s, d, k = _pair(stride), _pair(dilation), w.shape[2:]
        pads = g.pads
        specs = ["same", "same"] if isinstance(padding, str) and padding.lower() == "same" else _specs(padding, pads)
        if osz is not None:
            specs = _specs(padding, pads) if not isinstance(padding, str) else [padding, padding]
        valid = [cv.transpose_output_sizes((H, W)[a], k[a], s[a], specs[a], d[a]) for a in (0, 1)]
        counts = cv.conv_transpose2d(np.ones((1, 1, H, W)), np.ones((1, 1) + tuple(k)), stride, 0, opp, dilation)[0, 0]
        dpads = list(cg.direct_padding(g))
        if osz is None:
            fspec = [padding if isinstance(padding, str) else tuple(pads[2 * a:2 * a + 2]) for a in (0, 1)]
            formula = [cv.describe_transpose((H, W)[a], k[a], s[a], fspec[a], _pair(op)[a], d[a]) for a in (0, 1)]
        else:
            formula = [cv.describe_transpose((H, W)[a], k[a], s[a], tuple(pads[2 * a:2 * a + 2]), opp[a], d[a])
                       for a in (0, 1)]
        return {"outHW": list(g.in_hw), "pads": list(pads), "outputPadding": list(opp), "validSizes": valid,
                "y": tolist(y), "counts": tolist(counts), "directY": tolist(yd), "directPads": dpads,
                "z": tolist(cv.zero_insert(x[None], stride)[0]), "formula": formula}
    s, d, k = _pair(stride), _pair(dilation), w.shape[2:]
    pads = cg.resolve_padding(padding, (H, W), k, s, d)
    outHW = [cv.conv_output_size((H, W)[a], k[a], s[a], tuple(pads[2 * a:2 * a + 2]), d[a]) for a in (0, 1)]
    formula = [cv.describe_conv((H, W)[a], k[a], s[a], tuple(pads[2 * a:2 * a + 2]), d[a]) for a in (0, 1)]
    out = {"outHW": outHW, "pads": list(pads), "y": tolist(y), "formula": formula}
    # probes: the window of one output cell, the outputs one input pixel feeds, the inputs one weight multiplies
    n, (pi, pj), (ti, tj) = cfg["probe"]["step"], cfg["probe"]["pixel"], cfg["probe"]["tap"]
    cols = cv.im2col(x[None], tuple(k), stride, padding, dilation)[0]
    out["window"] = tolist(cols[:, n % cols.shape[1]])
    onehot = np.zeros((1, 1, H, W))
    onehot[0, 0, pi % H, pj % W] = 1
    fed = cv.conv2d(onehot, np.ones((1, 1) + tuple(k)), stride, padding, dilation)[0, 0]
    out["feeds"] = sorted(map(list, zip(*np.nonzero(fed))))
    tap = np.zeros((1, 1) + tuple(k))
    tap[0, 0, ti % k[0], tj % k[1]] = 1
    hit = cv.conv2d_backprop_input((1, 1, H, W), tap, np.ones((1, 1) + tuple(outHW)), stride, padding, dilation)[0, 0]
    out["multiplies"] = sorted(map(list, zip(*np.nonzero(hit))))
    if mode == "gradient":
        delta = np.asarray(cfg["delta"], float)
        out["dx"] = tolist(cv.conv2d_backprop_input((1, C, H, W), w, delta[None], stride, padding, dilation)[0])
        out["dw"] = tolist(cv.conv2d_backprop_filter(x[None], w.shape, delta[None], stride, padding, dilation))
    return out


def _partial_counts(H, W, k, stride, dilation, opp, n):
    m = np.zeros(H * W)
    m[:n] = 1
    return tolist(cv.conv_transpose2d(m.reshape(1, 1, H, W), np.ones((1, 1) + tuple(k)), stride, 0, opp, dilation)[0, 0])


# The core, run in the page over a batch of configs: every number the explorer displays, in reference()'s layout.
CORE_BATCH_JS = r"""async (cfgs) => {
    const core = await import('/core.js');
    const lex = (a, b) => a[0] - b[0] || a[1] - b[1];
    const uniq = (pairs) => [...new Map(pairs.map(p => [p.join(','), p])).values()].sort(lex);
    return cfgs.map((cfg) => {
        let r;
        try { r = core.compute(cfg); }
        catch (e) { if (e instanceof core.ConvvizError) return {error: e.message}; return {crash: String(e.stack || e)}; }
        const [C, H, W] = [cfg.x.length, cfg.x[0].length, cfg.x[0][0].length];
        if (cfg.mode === 'transpose') {
            const g = r.geom;
            const n = cfg.probe.step % (H * W + 1);
            return {outHW: r.outHW, pads: g.pads, outputPadding: r.outputPadding, validSizes: r.validSizes,
                    y: r.y, counts: r.counts, directY: r.direct.y, directPads: r.direct.pads, z: r.direct.z,
                    formula: r.formula, partialCounts: core.runningCounts(g, [H, W], r.fullHW, n),
                    finalCounts: core.runningCounts(g, [H, W], r.fullHW, H * W)};
        }
        const g = r.geom, [Ho, Wo] = g.outHW, [kh, kw] = g.kHW;
        const n = cfg.probe.step % (Ho * Wo);
        const [pi, pj] = cfg.probe.pixel, [ti, tj] = cfg.probe.tap;
        const out = {outHW: g.outHW, pads: g.pads, y: r.y, formula: r.formula,
                     window: core.windowOf(g, cfg.x, Math.floor(n / Wo), n % Wo).map(t => t.x),
                     feeds: uniq(core.inputFeeds(g, pi % H, pj % W).map(f => [f.r, f.q])),
                     multiplies: uniq(core.weightInputs(g, ti % kh, tj % kw).filter(t => t.inside).map(t => [t.ir, t.ic]))};
        if (cfg.mode === 'gradient') { out.dx = r.dx; out.dw = r.dw; out.a = r.transposeOutputPadding; }
        return out;
    });
}"""


# --------------------------------------------------------------------------------------------- static pages
def write_static_page(directory: Path, explorers, title: str = "convviz explorers", extra_head: str = "") -> Path:
    """A page laid out like the book's: the explorer files under _static/convviz-explorer/, one static config
    per explorer (their text/html representation), the stylesheet and the module mount."""
    import shutil

    static = Path(directory) / "_static" / "convviz-explorer"
    static.mkdir(parents=True, exist_ok=True)
    for name in STATIC_FILES:
        shutil.copyfile(EXPLORER_DIR / name, static / name)
    def as_html(e):  # what a notebook's output stores: the widget's mime bundle, its text/html entry
        data = e._repr_mimebundle_()
        return (data[0] if isinstance(data, tuple) else data)["text/html"]

    body = "\n".join(f"<section><h2>{e.mode}</h2>{as_html(e)}</section>" for e in explorers)
    page = Path(directory) / "index.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><link rel='icon' href='data:,'>"
        "<link rel='stylesheet' href='_static/convviz-explorer/explorer.css'>"
        "<script type='module' src='_static/convviz-explorer/mount.js'></script>"
        "<style>body{max-width:840px;margin:0 auto;padding:8px;font-family:sans-serif}"
        "html[data-theme=dark] body{background:#121212;color:#ddd}</style>"
        f"{extra_head}</head><body>{body}</body></html>",
        encoding="utf-8",
    )
    return page


# Everything one explorer displays: its model state, every grid's numbers (data-value), the messages.
READ_EXPLORER_JS = r"""(i) => {
    const host = document.querySelectorAll('.convviz-explorer-static')[i];
    const root = host.querySelector('.convviz-explorer');
    const grids = {}, marks = {};
    for (const c of root.querySelectorAll('canvas.cvx-grid')) {
        grids[c.dataset.grid] = JSON.parse(c.dataset.values);
        marks[c.dataset.grid] = JSON.parse(c.dataset.marks || '{}');
    }
    const marked = (cls) => {
        const out = {};
        for (const [k, m] of Object.entries(marks)) if (m[cls]) out[k] = m[cls];
        return out;
    };
    const err = root.querySelector('.cvx-error');
    const eq = root.querySelector('.cvx-detail .cvx-eq');
    const lt = root.querySelector('.cvx-detail .cvx-link-text');
    return {state: JSON.parse(JSON.stringify(host.convvizModel.state, (k, v) => k === 'base' ? undefined : v)),
            grids, error: err.hidden ? '' : err.textContent.replace(/^⚠ /, ''),
            formula: root.querySelector('.cvx-formula').textContent,
            eq: eq ? +eq.dataset.value : null, linkText: lt ? lt.textContent : '', linkValue: lt ? +lt.dataset.value : null,
            link: marked('link'), tap: marked('tap'), cur: marked('cur'),
            torch: (root.querySelector('pre.cvx-torch') || {}).textContent || '',
            invalid: root.classList.contains('cvx-invalid')};
}"""


def read_explorer(page, i: int) -> dict:
    """READ_EXPLORER_JS for the i-th static explorer of the page."""
    return page.evaluate(READ_EXPLORER_JS, i)


def explorer_root(page, i: int):
    """The i-th static explorer's root element (a locator)."""
    return page.locator(".convviz-explorer-static").nth(i).locator(".convviz-explorer")


# explorer.js's number format and font stack, for tests that measure the labels it draws
FMT_JS = ("(v) => Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : "
          "Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)")
FONT_STACK = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace'


def hover_cell(page, root, key: str, r: int, c: int):
    """Move the mouse over cell (r, c) of grid ``key`` (a canvas) inside the explorer ``root`` (a locator)."""
    canvas = root.locator(f"canvas[data-grid='{key}']")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cell = float(canvas.get_attribute("data-cell"))
    page.mouse.move(box["x"] + 1 + (c + 0.5) * cell, box["y"] + 1 + (r + 0.5) * cell)


def explorer_data(state: dict):
    """The data an explorer with this model state shows (as configFrom in core.js), from convviz.widgets' bases."""
    from convviz import widgets as cw

    C, O, n, k = state["channels"], state["filters"], state["input_size"], state["kernel_size"]
    if state.get("x"):
        x = np.asarray(state["x"], float)
    else:
        x = (cw.BASE_XT if state["mode"] == "transpose" else cw.BASE_X)[:C, :n, :n].astype(float)
    C = x.shape[0]
    if state.get("w"):
        w = np.asarray(state["w"], float)
    elif state["mode"] == "transpose":
        w = cw.BASE_W[:C, :O, :k, :k].astype(float)
    else:
        w = cw.BASE_W[:O, :C, :k, :k].astype(float)
    return x, w


def expected_grids(state: dict) -> dict:
    """convviz's numbers for the grids of an explorer in this state (keys as in explorer.js)."""
    from convviz import widgets as cw

    tup = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
    x, w = explorer_data(state)
    s, p, d = tup(state["stride"]), tup(state["padding"]), tup(state["dilation"])
    out = {}
    if state["mode"] == "transpose":
        y = cv.conv_transpose2d(x[None], w, s, p, tup(state["output_padding"]), d, tup(state["output_size"]))[0]
        for o in range(y.shape[0]):
            out[f"y{o}"] = y[o]
        for c in range(x.shape[0]):
            out[f"x{c}"] = x[c]
        g = cg.transpose_geometry(x.shape[1:], w.shape[2:], stride=s, padding=p,
                                  output_padding=tup(state["output_padding"]), dilation=d,
                                  output_size=tup(state["output_size"]))
        opp = g.output_padding
        H, W = x.shape[1:]
        out["n"] = np.asarray(_partial_counts(H, W, w.shape[2:], s, d, opp, state["step"] + 1))
        return out
    y = cv.conv2d(x[None], w, s, p, d)[0]
    for c in range(x.shape[0]):
        pads = cg.resolve_padding(p, x.shape[1:], w.shape[2:], _pair(s), _pair(d))
        out[f"x{c}"] = np.pad(x[c], ((pads[0], pads[1]), (pads[2], pads[3])))
    for o in range(w.shape[0]):
        for c in range(w.shape[1]):
            out[f"w{o}_{c}"] = w[o, c]
    if state["mode"] == "conv":
        for o in range(y.shape[0]):
            out[f"y{o}"] = y[o]
        return out
    O, Ho, Wo = y.shape
    if state["delta"] == "ones":
        delta = np.ones((O, Ho, Wo))
    else:
        D = cw.BASE_DELTA
        delta = np.array([[[D[o % D.shape[0], r % D.shape[1], q % D.shape[2]] for q in range(Wo)] for r in range(Ho)]
                          for o in range(O)], float)
    dx = cv.conv2d_backprop_input((1,) + x.shape, w, delta[None], s, p, d)[0]
    dw = cv.conv2d_backprop_filter(x[None], w.shape, delta[None], s, p, d)
    for o in range(O):
        out[f"d{o}"] = delta[o]
        for c in range(x.shape[0]):
            out[f"dw{o}_{c}"] = dw[o, c]
    for c in range(x.shape[0]):
        out[f"dx{c}"] = dx[c]
    return out


def assert_shows_convviz(shown: dict):
    """Every grid the explorer shows that convviz computes equals convviz (exactly: the data are integers)."""
    assert not shown["error"], shown["error"]
    want = expected_grids(shown["state"])
    for key, ref in want.items():
        assert key in shown["grids"], f"grid {key} missing; shown: {sorted(shown['grids'])}"
        got = np.asarray(shown["grids"][key], float)
        assert got.shape == ref.shape and np.array_equal(got, ref), (
            f"{key} in state {shown['state']}: shown {got.tolist()} != convviz {np.asarray(ref).tolist()}")
    return want

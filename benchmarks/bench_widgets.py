"""Benchmark the explorers in headless Chromium (issue 9): input event -> painted update, and bytes.

A static page (as the book ships it) holds one convolution explorer at 16x16 with 3 input channels and
2 filters (the one measured), one transposed and one gradient explorer. Real keyboard input (Playwright)
moves sliders; real pointer moves hover grid cells. For each event we record

* work: the main-thread time the update costs us: from the start of the event's first listener until our
  handlers, style and layout are done (layout forced in the same task), plus the time of the animation-frame
  callbacks of the frame that follows (the explorer draws its canvases there; layout forced again at the
  end). Compositing is not in it, nor the raster of canvas drawing that Chromium defers to the frame's
  commit (copying a canvas rasterises it at once: the explorer's offscreen base layers are in "work");
* frame: from the event's ``timeStamp`` until a task queued after that frame's callbacks runs, i.e. the
  frame has been produced on the main thread (rAF, then a task); includes the wait for the frame clock;
* paint (Event Timing API): the browser's own input-to-next-paint of the keydown, ``PerformanceEventTiming
  .duration`` = presentation time of the next frame after the handlers - ``timeStamp``. Chromium rounds it
  to 8 ms and reports nothing under 16 ms (the API's lowest threshold): those events count as "<16".
  Pointer moves have no Event Timing entry.

Parameter changes (kernel size, stride, input size: new grids), step changes (highlights) and hovers are
reported separately, with p50/p95/max; "bare" is a slider with no listeners on the same page, i.e. what
the frame clock alone costs. "phases" splits "frame": queue (timeStamp -> first listener), handlers, to
frame (-> the frame's first rAF callback), rAF (all callbacks), paint task (the rest of the frame: style,
layout, paint, commit). Target: frame and paint p95 <= 16 ms at 16x16 with 3 channels.

``--variant NAME=DIR`` adds a copy of the explorer files (explorer.js / explorer.css / core.js / mount.js
found in DIR replace the package's) measured in the same run; rounds alternate between the variants so
that a busy machine weighs on each alike. Also printed: the JS + CSS bytes the explorer adds to a page,
raw and gzip-compressed (target <= 60 kB gzipped), and the config bytes per explorer. Not a test: timings
depend on the machine and its load (the load average is printed).

    .venv/bin/python benchmarks/bench_widgets.py [-n 40] [--rounds 3] [--variant before=DIR]

e.g. against the last commit's view: mkdir /tmp/before && for f in explorer.js explorer.css; do
git show HEAD:src/convviz/explorer/$f > /tmp/before/$f; done
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from convviz import widgets as cw  # noqa: E402
from explorer_support import EXPLORER_DIR, explorer_page, write_static_page  # noqa: E402

INSTRUMENT_JS = r"""() => {
    window.benchTimes = [];
    window.benchPaint = [];
    // Event Timing: keydown -> next presentation (entries of 16 ms and more only)
    new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (e.name === 'keydown') window.benchPaint.push({start: e.startTime, duration: e.duration});
    }).observe({type: 'event', durationThreshold: 16, buffered: false});
    // baseline: a bare slider outside the explorer (no listeners): the cost of the frame clock alone
    const bare = document.createElement('input');
    bare.type = 'range'; bare.min = 0; bare.max = 100000; bare.id = 'bench-bare';
    const wrap = document.createElement('div');
    wrap.className = 'bench-bare';
    wrap.appendChild(bare);
    document.body.prepend(wrap);
    const layout = () => { document.body.getBoundingClientRect(); return document.body.offsetHeight; };
    // One record per event: the first rAF callback of the next frame is registered when the event reaches
    // the root (before the explorer's listeners, which register theirs), the last one once they have run.
    const track = (rec) => {
        requestAnimationFrame(() => { rec.rafStart = performance.now(); });
        return () => {
            layout();
            rec.handled = performance.now();
            requestAnimationFrame(() => {
                layout();
                rec.rafEnd = performance.now();
                setTimeout(() => { rec.done = performance.now(); rec.frame = rec.done - rec.t0; window.benchTimes.push(rec); }, 0);
            });
        };
    };
    const hosts = [...document.querySelectorAll('.convviz-explorer'), wrap];
    for (const root of hosts) {
        root.addEventListener('keydown', (e) => {  // capture: before the explorer's listeners
            const rec = {kind: root === wrap ? 'bare' : e.target.name === 'step' ? 'step' : 'param',
                         control: e.target.name || e.target.id, t0: e.timeStamp, start: performance.now()};
            const done = track(rec);
            // the slider's 'input' event follows (the keydown's default action); the explorer's 'input'
            // listener was registered first, so it has run when this one runs
            e.target.addEventListener('input', function once() { e.target.removeEventListener('input', once); done(); });
        }, true);
    }
    // hover: a pointer move onto another grid cell; the explorer listens on its panels, between this
    // capture listener on its root and the bubbling listener on the document
    let pending = null;
    hosts[0].addEventListener('pointermove', (e) => {
        if (window.benchHover) pending = track({kind: 'hover', t0: e.timeStamp, start: performance.now()});
    }, true);
    document.addEventListener('pointermove', () => { if (pending) { const done = pending; pending = null; done(); } });
}"""


def pct(a, q):
    return float(np.percentile(np.asarray(a, float), q)) if len(a) else float("nan")


def stats(values):
    a = np.asarray(values, float)
    return f"n={a.size:3d}  p50={pct(a, 50):6.2f}  p95={pct(a, 95):6.2f}  max={a.max():6.2f} ms"


def paint_stats(durations):
    """Event Timing durations (None: under the 16 ms reporting threshold)."""
    n = len(durations)
    under = sum(d is None for d in durations)
    vals = sorted(-1.0 if d is None else d for d in durations)
    q = lambda p: vals[min(n - 1, int(np.ceil(p / 100 * n)) - 1)]  # noqa: E731  (nearest-rank)
    show = lambda v: "  <16" if v < 0 else f"{v:5.0f}"  # noqa: E731
    hist = {}
    for d in durations:
        if d is not None:
            hist[int(d)] = hist.get(int(d), 0) + 1
    rest = " ".join(f"{k}:{v}" for k, v in sorted(hist.items()))
    return f"n={n:3d}  p50={show(q(50))}  p95={show(q(95))}  max={show(vals[-1])} ms   (<16: {under}; {rest})"


def site_for(explorers, assets: Path | None, directory: Path) -> Path:
    write_static_page(directory, explorers)
    if assets is not None:
        for f in Path(assets).iterdir():
            if f.suffix in (".js", ".css"):
                shutil.copyfile(f, directory / "_static" / "convviz-explorer" / f.name)
    return directory


def measure(site: Path, n: int):
    with explorer_page(site, "/index.html") as (tab, server, log):
        tab.wait_for_selector(".convviz-explorer canvas.cvx-grid")
        tab.wait_for_timeout(300)
        tab.evaluate(INSTRUMENT_JS)
        conv = tab.locator(".convviz-explorer").first
        plan = [("kernel_size", ["ArrowRight", "ArrowLeft"]), ("stride", ["ArrowRight", "ArrowLeft"]),
                ("input_size", ["ArrowLeft", "ArrowRight"]), ("step", ["ArrowRight"])]
        for name, keys in plan + [("bare", ["ArrowRight"])]:
            (tab.locator("#bench-bare") if name == "bare" else conv.locator(f"input[name={name}]")).focus()
            for i in range(n):
                tab.keyboard.press(keys[i % len(keys)])
                tab.wait_for_timeout(30)
        # hover: alternate between two output cells and two input cells (linked views)
        tab.evaluate("window.benchHover = true")
        tab.mouse.move(0, 0)
        conv.locator("canvas[data-grid='x0']").scroll_into_view_if_needed()
        spots = []
        for key, (r, c) in (("y0", (2, 3)), ("x0", (5, 5)), ("y1", (10, 7)), ("x1", (12, 2)), ("x2", (3, 9))):
            cv = conv.locator(f"canvas[data-grid='{key}']")
            b = cv.bounding_box()
            cell = float(cv.get_attribute("data-cell"))
            x, y = b["x"] + 1 + (c + 0.5) * cell, b["y"] + 1 + (r + 0.5) * cell
            if 0 < y < tab.viewport_size["height"]:
                spots.append((x, y))
        assert len(spots) >= 2, spots
        for i in range(n):
            tab.mouse.move(*spots[i % len(spots)])
            tab.wait_for_timeout(30)
        tab.evaluate("window.benchHover = false")
        tab.wait_for_timeout(300)
        times = tab.evaluate("window.benchTimes")
        paint = tab.evaluate("window.benchPaint")
        assert not log["console"] and not log["page"], log
    for t in times:
        t["work"] = (t["handled"] - t["start"]) + (t["rafEnd"] - t["rafStart"])
        m = [p["duration"] for p in paint if abs(p["start"] - t["t0"]) < 0.6]
        t["paint"] = m[0] if m else None
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=40, help="events per control and round")
    ap.add_argument("--rounds", type=int, default=3, help="page loads per variant (alternating)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                    help="also measure the explorer files in DIR (e.g. a copy of the previous version)")
    args = ap.parse_args()
    explorers = [cw.explore_conv(input_size=16, kernel_size=3, padding=1, channels=3, filters=2),
                 cw.explore_transpose(input_size=4, kernel_size=3, stride=2, padding=1),
                 cw.explore_gradient(input_size=8, stride=2, channels=3, filters=2, delta="random")]
    variants = [(v.split("=", 1)[0], Path(v.split("=", 1)[1])) for v in args.variant] + [("current", None)]
    results = {name: [] for name, _ in variants}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        sites = {name: site_for(explorers, d, Path(tmp) / name) for name, d in variants}
        for _ in range(args.rounds):
            for name, _ in variants:
                results[name] += measure(sites[name], args.n)
                loads.append(os.getloadavg()[0])
    print(f"load average during the runs {min(loads):.2f}-{max(loads):.2f} (2 cores, shared with other jobs)")
    print("conv explorer 16x16, 3 channels, 2 filters (3 input grids of 18x18, 6 kernels, 2 outputs of 16x16)")
    print("work: our main-thread time (handlers + next frame's callbacks, incl. style/layout); frame: timeStamp ->"
          " frame produced; paint: Event Timing input-to-next-paint (8 ms steps, <16 not reported)")
    for name, _ in variants:
        times = results[name]
        print(f"[{name}]")
        for kind in ("param", "step", "hover", "bare"):
            sel = [t for t in times if t["kind"] == kind]
            if not sel:
                continue
            print(f"  {kind:5s} work  {stats([t['work'] for t in sel])}")
            print(f"  {kind:5s} frame {stats([t['frame'] for t in sel])}")
            if kind != "hover":
                print(f"  {kind:5s} paint {paint_stats([t['paint'] for t in sel])}")
            if kind == "param":
                print("        by control, frame p50/p95: " + ", ".join(
                    f"{c} {pct([t['frame'] for t in sel if t['control'] == c], 50):.1f}/"
                    f"{pct([t['frame'] for t in sel if t['control'] == c], 95):.1f}"
                    for c in ("kernel_size", "stride", "input_size")))
            ph = [("queue", "t0", "start"), ("handlers", "start", "handled"), ("to frame", "handled", "rafStart"),
                  ("rAF", "rafStart", "rafEnd"), ("paint task", "rafEnd", "done")]
            print(f"  {kind:5s} phases p50 (p95): " + ", ".join(
                f"{label} {pct([t[b] - t[a] for t in sel], 50):.1f} ({pct([t[b] - t[a] for t in sel], 95):.1f})"
                for label, a, b in ph))
    total_raw = total_gz = 0
    print("bytes the explorer adds to a page (served once per page):")
    for f in sorted(EXPLORER_DIR.iterdir()):
        if f.suffix in (".js", ".css"):
            raw = f.read_bytes()
            gz = len(gzip.compress(raw, 9))
            total_raw += len(raw)
            total_gz += gz
            print(f"  {f.name:14s} {len(raw):7d} B raw  {gz:6d} B gzip")
    print(f"  {'total':14s} {total_raw:7d} B raw  {total_gz:6d} B gzip (target <= 61440)")
    for e in explorers:
        cfg = e.static_html().encode()
        print(f"  config of one {e.mode} explorer: {len(cfg)} B raw, {len(gzip.compress(cfg, 9))} B gzip")


if __name__ == "__main__":
    main()

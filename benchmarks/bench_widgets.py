"""Benchmark the explorers in headless Chromium (issue 9): input event -> painted update, and bytes.

A static page (as the book ships it) holds one convolution explorer at 16x16 with 3 input channels and
2 filters, one transposed and one gradient explorer. Real keyboard input (Playwright) moves sliders; for
each event we record

* work: from the event's timeStamp until the handlers, the SVG rebuild, style and layout are done
  (measured after forcing layout in the same task);
* painted: from the event's timeStamp until the next frame has been produced (rAF, then a task after it),
  which includes waiting for the frame clock.

Parameter changes (kernel size, stride, input size: new grids) and step changes (highlights) are
reported separately, with p50/p95/max; "bare" is a slider with no listeners on the same page, i.e. what
the frame clock alone costs in "painted". Target: painted p95 <= 16 ms at 16x16 with 3 channels. Also printed: the JS + CSS bytes the
explorer adds to a page, raw and gzip-compressed (target <= 60 kB gzipped), and the config bytes per
explorer. Not a test: timings depend on the machine and its load (the load average is printed).

    .venv/bin/python benchmarks/bench_widgets.py [-n 60]
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from convviz import widgets as cw  # noqa: E402
from explorer_support import EXPLORER_DIR, explorer_page, write_static_page  # noqa: E402

INSTRUMENT_JS = r"""() => {
    window.benchTimes = [];
    // baseline: a bare slider outside the explorer (no listeners): the cost of the frame clock alone
    const bare = document.createElement('input');
    bare.type = 'range'; bare.min = 0; bare.max = 100; bare.id = 'bench-bare';
    const wrap = document.createElement('div');
    wrap.className = 'bench-bare';
    wrap.appendChild(bare);
    document.body.prepend(wrap);
    const hosts = [...document.querySelectorAll('.convviz-explorer'), wrap];
    for (const root of hosts) {
        root.addEventListener('keydown', (e) => {
            const t0 = e.timeStamp;
            const kind = root === wrap ? 'bare' : e.target.name === 'step' ? 'step' : 'param';
            e.target.addEventListener('input', function once() {
                e.target.removeEventListener('input', once);
                // the explorer's 'input' listener ran before this one (registered first)
                document.body.getBoundingClientRect(); root.offsetHeight;
                const t1 = performance.now();
                requestAnimationFrame(() => setTimeout(() => {
                    window.benchTimes.push({kind, work: t1 - t0, painted: performance.now() - t0});
                }, 0));
            });
        }, true);
    }
}"""


def stats(values):
    a = np.asarray(values)
    return f"n={a.size:3d}  p50={np.percentile(a, 50):6.2f}  p95={np.percentile(a, 95):6.2f}  max={a.max():6.2f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=60, help="events per control")
    args = ap.parse_args()
    explorers = [cw.explore_conv(input_size=16, kernel_size=3, padding=1, channels=3, filters=2),
                 cw.explore_transpose(input_size=4, kernel_size=3, stride=2, padding=1),
                 cw.explore_gradient(input_size=8, stride=2, channels=3, filters=2, delta="random")]
    with tempfile.TemporaryDirectory() as site:
        write_static_page(Path(site), explorers)
        with explorer_page(Path(site), "/index.html") as (tab, server, log):
            tab.wait_for_selector(".convviz-explorer canvas.cvx-grid")
            tab.evaluate(INSTRUMENT_JS)
            conv = tab.locator(".convviz-explorer").first
            plan = [("kernel_size", ["ArrowRight", "ArrowLeft"]), ("stride", ["ArrowRight", "ArrowLeft"]),
                    ("input_size", ["ArrowLeft", "ArrowRight"]), ("step", ["ArrowRight"])]
            for name, keys in plan + [("bare", ["ArrowRight"])]:
                (tab.locator("#bench-bare") if name == "bare" else conv.locator(f"input[name={name}]")).focus()
                for i in range(args.n):
                    tab.keyboard.press(keys[i % len(keys)])
                    tab.wait_for_timeout(25)
            tab.wait_for_timeout(200)
            times = tab.evaluate("window.benchTimes")
            assert not log["console"] and not log["page"], log
        print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared)")
        print("conv explorer 16x16, 3 channels, 2 filters (3 input grids of 18x18, 6 kernels, 2 outputs)")
        for kind in ("param", "step", "bare"):
            sel = [t for t in times if t["kind"] == kind]
            if sel:
                print(f"  {kind:5s} work    {stats([t['work'] for t in sel])}")
                print(f"  {kind:5s} painted {stats([t['painted'] for t in sel])}")
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

"""Benchmark the widgets' update path, headless (issue 2/4).

Each update is what a slider move costs in a notebook: the observer runs, the
scene updates (or is rebuilt on the same figure for a parameter change) and a
PNG is produced for the ``ipywidgets.Image``.  Parameter changes cycle through
a few settings; their first visits (labels not yet rasterised) are reported
separately as "cold".  Targets: p95 <= 50 ms at the
book's default sizes, <= 100 ms with a 16x16 input.  Not a test: timings
depend on the machine and its load, so both wall-clock and process CPU time
are printed, with the load average.

    .venv/bin/python benchmarks/bench_widgets.py [-n 100]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np

from convviz import widgets as cw


def measure(widget, changes):
    """Wall and CPU milliseconds of each ``widget.controls[name].value = v``."""
    wall, cpu = [], []
    for name, value in changes:
        ctl = widget.controls[name]
        if ctl.value == value:
            continue
        w0, c0 = time.perf_counter(), time.process_time()
        ctl.value = value
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
        assert widget.error is None, widget.error
    return np.array(wall), np.array(cpu)


def step_changes(widget, n, rng):
    """n random step moves (each a real change)."""
    hi = widget.controls["step"].max
    out, cur = [], widget.controls["step"].value
    while len(out) < n:
        v = int(rng.integers(0, hi + 1))
        if v != cur:
            out.append(("step", v))
            cur = v
    return out


def param_changes(cycle, n):
    """n parameter changes cycling through valid settings."""
    return [cycle[i % len(cycle)] for i in range(n)]


SCENARIOS = [
    # name, factory, parameter cycle, target p95 (ms)
    ("conv 5x5, k3 (default)", lambda: cw.explore_conv(),
     [("padding", 1), ("stride", 2), ("padding", "same"), ("dilation", 2), ("stride", 1), ("padding", 0), ("dilation", 1)], 50),
    ("conv 16x16, k3, p1", lambda: cw.explore_conv(input_size=16, padding=1),
     [("stride", 2), ("padding", "same"), ("dilation", 2), ("stride", 1), ("padding", 1), ("dilation", 1)], 100),
    ("transpose 3x3, k3, s2 (default)", lambda: cw.explore_transpose(),
     [("padding", 1), ("output_padding", 1), ("stride", 3), ("padding", 0), ("output_padding", 0), ("stride", 2)], 50),
    ("transpose 16x16, k3, s2", lambda: cw.explore_transpose(input_size=16),
     [("padding", 1), ("output_padding", 1), ("padding", 0), ("output_padding", 0), ("stride", 1), ("stride", 2)], 100),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100, help="updates per measurement (default 100)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; N={args.n} updates each")
    print(f"{'scenario':34s} {'update':6s} {'wall p50':>9s} {'wall p95':>9s} {'cpu p50':>8s} {'cpu p95':>8s}  target  image")
    ok = True
    for name, make, cycle, target in SCENARIOS:
        w = make()
        for _ in range(3):  # warm caches (font sprites, numpy paths)
            measure(w, step_changes(w, 5, rng))
        cold, _ = measure(w, cycle)  # first visit of each setting: new labels to rasterise
        for kind, changes in (("step", None), ("param", param_changes(cycle, args.n))):
            if kind == "step":
                w.controls["step"].value = 0
                changes = step_changes(w, args.n, rng)
            wall, cpu = measure(w, changes)
            p50, p95 = np.percentile(wall, [50, 95])
            c50, c95 = np.percentile(cpu, [50, 95])
            size = w.figure.get_size_inches() * w.dpi
            verdict = "ok" if p95 <= target else "SLOW"
            ok &= p95 <= target
            print(f"{name:34s} {kind:6s} {p50:8.1f}  {p95:8.1f}  {c50:7.1f}  {c95:7.1f}  <={target:3d} {verdict:4s} "
                  f"{size[0]:.0f}x{size[1]:.0f}px {len(w.image.value) / 1e3:.0f}kB")
        print(f"{'':34s} cold   first visit of each parameter setting (nothing cached): max {cold.max():.1f} ms wall")
    print("all within targets" if ok else "some p95 above target (check the load average above)")


if __name__ == "__main__":
    main()

"""The benchmarks' built-in references stay in step with the code they patch (benchmarks are not run in CI)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_widgets  # noqa: E402
from explorer_support import EXPLORER_DIR  # noqa: E402


def test_floor_variant_blanks_every_grid_and_nothing_else(tmp_path):
    """bench_widgets --floor: explorer.js with drawGrid returning at once; the rest of the file as it is."""
    out = bench_widgets.blank_grids(tmp_path / "blank")
    js, ours = (out / "explorer.js").read_text(encoding="utf-8"), (EXPLORER_DIR / "explorer.js").read_text(encoding="utf-8")
    assert js.count(bench_widgets.DRAW_GRID + " return;") == 1
    assert js.replace(bench_widgets.DRAW_GRID + " return;", bench_widgets.DRAW_GRID) == ours
    assert sorted(p.name for p in out.iterdir()) == ["explorer.js"]  # the other files come from the package

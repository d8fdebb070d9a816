"""The book's single colour scheme (introduced in chapter *Introduction*, used by
every figure, animation and widget).

Hues come from Paul Tol's colour-blind-safe "vibrant"/"muted" palettes:

========== ========= ====================================================
role       colour    used for
========== ========= ====================================================
input      blue      input pixels (x)
kernel     orange    kernel weights (w), the cells a window multiplies
output     teal      output pixels (y)
padding    grey      padding cells, always hatched as well (not colour only)
gradient   purple    upstream gradients (dL/dy) and gradients
highlight  red       the window / cell / entry being computed right now
overlap    indigo    overlap counts of col2im (checkerboard picture)
========== ========= ====================================================

Cells are filled with a *light* ramp of their role's hue (:data:`CMAPS`), so
black numbers stay readable on every cell.
"""
from __future__ import annotations

from matplotlib.colors import LinearSegmentedColormap, to_hex, to_rgb
from matplotlib.patches import Patch

__all__ = ["COLORS", "FILL", "CMAPS", "PADDING_FILL", "PADDING_HATCH", "tint", "cmap", "legend_handles", "legend_figure"]

COLORS = {
    "input": "#0077BB",
    "kernel": "#EE7733",
    "output": "#009988",
    "padding": "#BBBBBB",
    "gradient": "#AA3377",
    "highlight": "#CC3311",
    "overlap": "#332288",
}

LABELS = {
    "input": "input",
    "kernel": "kernel",
    "output": "output",
    "padding": "padding",
    "gradient": "gradient",
    "highlight": "current step",
    "overlap": "overlap count",
}

PADDING_FILL = "#EBEBEB"
PADDING_HATCH = "///"
PADDING_HATCH_COLOR = "#A0A0A0"
GRID_LINE = "#6E6E6E"
TEXT = "#111111"
MUTED_TEXT = "#8C8C8C"  # numbers that come from padding, structural zeros
INDEX_TEXT = "#444444"  # row/column indices next to grids (dark enough to read at 9 pt)


def tint(role_or_color: str, amount: float) -> str:
    """Mix a role colour with white: ``amount=0`` is white, ``1`` the full hue."""
    rgb = to_rgb(COLORS.get(role_or_color, role_or_color))
    return to_hex(tuple(1 - amount * (1 - c) for c in rgb))


#: light fill for each role (legend swatches, flat cells)
FILL = {k: tint(k, 0.35) for k in COLORS}
FILL["padding"] = PADDING_FILL


def cmap(role: str, low: float = 0.06, high: float = 0.62) -> LinearSegmentedColormap:
    """A light sequential ramp of a role's hue; black text is readable on every shade."""
    return LinearSegmentedColormap.from_list(f"convviz_{role}", [tint(role, low), tint(role, high)])


#: one colormap per role, derived from :data:`COLORS`
CMAPS = {k: cmap(k) for k in COLORS}


def legend_handles(roles=("input", "kernel", "output", "padding", "highlight")):
    """Legend patches for the given roles (padding is drawn hatched, as in the grids)."""
    handles = []
    for r in roles:
        if r == "padding":
            handles.append(Patch(facecolor=PADDING_FILL, edgecolor=PADDING_HATCH_COLOR, hatch=PADDING_HATCH, label=LABELS[r]))
        elif r == "highlight":
            handles.append(Patch(facecolor="white", edgecolor=COLORS[r], linewidth=2.5, label=LABELS[r]))
        else:
            handles.append(Patch(facecolor=FILL[r], edgecolor=COLORS[r], linewidth=1.5, label=LABELS[r]))
    return handles


def legend_figure(roles=tuple(COLORS)):
    """A strip with the whole legend, for the book's introduction."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.45 * len(roles), 0.45))
    fig.legend(handles=legend_handles(roles), loc="center", ncol=len(roles), frameon=False, fontsize=10)
    return fig

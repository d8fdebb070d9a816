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

**Signed data → diverging, centred at 0.**  A grid whose values (or whose shared
colour range) go below zero is drawn with :data:`DIVERGING` -- Paul Tol's
colour-blind-safe "BuRd", blue below zero, white at zero, red above -- on a
norm symmetric around zero (``vmin == -vmax``), so that -1 is exactly as
strong as +1 and never lighter than 0.  Non-negative data keeps its role's
light ramp.  :func:`value_scale` is the one place that decides; every grid
calls it.  The ends of :data:`DIVERGING` stop before Tol's darkest shades, so
black numbers keep a contrast of at least 4.5:1 on every shade
(:func:`text_color` switches to white on anything darker, should a future map
have one).  The role of a signed grid stays visible in its border colour.

Entries of a convolution matrix (or Jacobian) that are zero *because the
output does not read that input* -- structural zeros -- are drawn white with a
dot instead of a number (:data:`STRUCTURAL_MARK`; a dotted hatch in grids too
large for numbers), unlike weights that happen to be 0, which show a "0" on
the colour of 0 of the grid's scale; the band of C shows.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_hex, to_rgb
from matplotlib.patches import Patch

__all__ = [
    "COLORS", "FILL", "CMAPS", "DIVERGING", "DIVERGING_COLORS", "WINDOW_HUES", "CHANNEL_HUES", "PADDING_FILL",
    "PADDING_HATCH", "STRUCTURAL_FILL", "STRUCTURAL_MARK", "STRUCTURAL_HATCH", "tint", "cmap", "is_signed", "value_scale", "contrast", "text_color", "legend_handles",
    "legend_figure",
]

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
    "signed": "negative · 0 · positive",  # the diverging scale of signed grids
    "structural": "structural 0 (not read)",  # entries of C / J that no window reads
    "windows": "window ↔ its column",  # im2col: one hue per window (WINDOW_HUES)
    "channels": "channel 0 · 1 · 2 of a row",  # im2col_orders: the strip right of each patch matrix (CHANNEL_HUES)
}

PADDING_FILL = "#EBEBEB"
PADDING_HATCH = "///"
PADDING_HATCH_COLOR = "#A0A0A0"
GRID_LINE = "#6E6E6E"
TEXT = "#111111"
MUTED_TEXT = "#8C8C8C"  # numbers that come from padding, structural zeros
INDEX_TEXT = "#444444"  # row/column indices next to grids (dark enough to read at 9 pt)
STRUCTURAL_FILL = "#FFFFFF"  # structural zeros of C and of Jacobians: white ...
STRUCTURAL_MARK = "·"  # ... with a dot instead of a number (a sparse matrix's print-out) ...
STRUCTURAL_HATCH = ".."  # ... or, in grids too large for numbers, a dotted hatch (not colour alone)
STRUCTURAL_HATCH_COLOR = "#BDBDBD"

#: one hue per im2col window and its column: Paul Tol's "muted" qualitative palette with its two light
#: hues (sand, cyan: invisible on light cells) replaced by near-black and Tol's dark yellow
WINDOW_HUES = ("#CC6677", "#332288", "#117733", "#882255", "#44AA99", "#999933", "#AA4499", "#222222", "#DDAA33")

#: the channels of im2col's row-order picture (Paul Tol's colour-blind-safe "bright")
CHANNEL_HUES = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377")

#: Paul Tol's diverging "BuRd" (colour-blind safe) without its two darkest ends: blue < 0, white = 0, red > 0
DIVERGING_COLORS = ("#4393C3", "#92C5DE", "#D1E5F0", "#F7F7F7", "#FDDBC7", "#F4A582", "#D6604D")


def tint(role_or_color: str, amount: float) -> str:
    """Mix a role colour with white: ``amount=0`` is white, ``1`` the full hue.

    Examples
    --------
    >>> tint("input", 0), tint("input", 1)
    ('#ffffff', '#0077bb')
    """
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

#: the one scale of signed data (use with a norm symmetric around 0: :func:`value_scale`)
DIVERGING = LinearSegmentedColormap.from_list("convviz_signed", DIVERGING_COLORS)


def is_signed(values=None, vmin=None) -> bool:
    """True when data (or the low end ``vmin`` of a shared colour range) goes below zero.

    Examples
    --------
    >>> is_signed([0, 1, 2]), is_signed([[1, -1]]), is_signed([3], vmin=-0.5)
    (False, True, True)
    """
    lo = np.inf if values is None or np.size(values) == 0 else float(np.min(values))
    if vmin is not None:
        lo = min(lo, float(vmin))
    return bool(lo < 0)


def value_scale(values, role: str, vmin=None, vmax=None):
    """The colour scale of a grid: **signed data → diverging, centred at 0**.

    ``vmin`` / ``vmax`` give a range shared by several grids (default: the
    values' own).  When that range goes below zero the result is
    :data:`DIVERGING` on a norm symmetric around 0 (``vmin == -vmax``, the
    larger magnitude); otherwise the role's light ramp :data:`CMAPS` on
    ``[vmin, vmax]``.

    Returns
    -------
    (colormap, Normalize, signed)

    Examples
    --------
    >>> cm, norm, signed = value_scale([[-1, 0], [3, 2]], "kernel")
    >>> cm.name, (norm.vmin, norm.vmax), signed
    ('convviz_signed', (-3.0, 3.0), True)
    >>> cm, norm, signed = value_scale([1, 2], "input")
    >>> cm.name, (norm.vmin, norm.vmax), signed
    ('convviz_input', (1.0, 2.0), False)
    """
    v = np.asarray(values, dtype=float)
    lo = float(vmin) if vmin is not None else (float(v.min()) if v.size else 0.0)
    hi = float(vmax) if vmax is not None else (float(v.max()) if v.size else 1.0)
    if lo < 0:
        m = max(-lo, hi)
        return DIVERGING, Normalize(-m, m), True
    if hi <= lo:
        hi = lo + 1.0
    return CMAPS.get(role, CMAPS["input"]), Normalize(lo, hi), False


def _luminance(color) -> float:
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(color)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours (1 to 21).

    Examples
    --------
    >>> round(contrast("#000000", "#FFFFFF"), 1)
    21.0
    """
    la, lb = sorted((_luminance(a), _luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def text_color(fill) -> str:
    """The number colour on a cell of colour ``fill``: :data:`TEXT`, or white where black would
    fall below 4.5:1 (no shade of the book's maps is that dark).

    Examples
    --------
    >>> text_color("#F7F7F7"), text_color("#2166AC")
    ('#111111', '#FFFFFF')
    """
    return TEXT if contrast(TEXT, fill) >= 4.5 else "#FFFFFF"


def legend_handles(roles=("input", "kernel", "output", "padding", "highlight")):
    """Legend patches for the given roles (padding is drawn hatched, as in the grids)."""
    handles = []
    for r in roles:
        if r == "padding":
            handles.append(Patch(facecolor=PADDING_FILL, edgecolor=PADDING_HATCH_COLOR, hatch=PADDING_HATCH, label=LABELS[r]))
        elif r == "highlight":
            handles.append(Patch(facecolor="white", edgecolor=COLORS[r], linewidth=2.5, label=LABELS[r]))
        elif r == "structural":
            handles.append(Patch(facecolor=STRUCTURAL_FILL, edgecolor=STRUCTURAL_HATCH_COLOR, hatch=STRUCTURAL_HATCH,
                                 label=LABELS[r]))
        elif r == "signed":
            handles.append(Patch(facecolor=DIVERGING_COLORS[1], edgecolor=DIVERGING_COLORS[-1], linewidth=1.5,
                                 label=LABELS[r]))
        else:
            handles.append(Patch(facecolor=FILL[r], edgecolor=COLORS[r], linewidth=1.5, label=LABELS[r]))
    return handles


def legend_figure(roles=tuple(COLORS)):
    """A strip with the whole legend, for the book's introduction."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.45 * len(roles), 0.45))
    fig.legend(handles=legend_handles(roles), loc="center", ncol=len(roles), frameon=False, fontsize=10)
    return fig

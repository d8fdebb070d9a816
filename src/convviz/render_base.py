"""Drawing primitives shared by every convviz figure (used by :mod:`convviz.render`).

Each figure is one full-figure axes in *cell units*: a grid cell is 1 x 1 data
units and ``CELL_IN`` inches, y grows downwards.  Panels are placed by explicit
arithmetic, so cells have the same size in every panel and the figure size
follows the content.  A *scene* computes its numbers with the core (validating
every parameter first), draws its artists once, and ``set_step`` only updates
them -- which is what makes the widgets and the animations cheap.

Layouts are made for the book's text column: a figure is laid out for the dpi
it is shown at (100 for figures, the ``dpi`` of animations and widgets) so that
it is at most :data:`TARGET_PX` wide -- panels wrap onto more rows first
(:func:`flow_best`), cells shrink only for large inputs -- and its text has the
same pixel size at every dpi (:func:`text_factor`); the browser then shows it
1:1 and the font sizes below are the sizes a reader sees.
"""
from __future__ import annotations

import base64
import io
import math
import re
from typing import Dict, Optional, Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

from . import style

__all__ = [
    "CELL_IN", "M", "TOP", "GAP", "VGAP", "REF_DPI", "TARGET_PX", "WIDE_PX", "MAX_PX",
    "Fit", "Panel", "flow", "flow_best", "pack_rows", "choose_scale", "text_factor", "label_width", "text_cells",
    "legend", "legend_rows", "footer_height", "captions", "caption_lines", "caption_width", "wrap_words",
    "ConvFigure", "Grid", "CellImage", "LabelLayer", "FastText", "Scene", "FrameRenderer", "Animation",
    "animate", "self_contained", "fmt", "figure_png",
]

CELL_IN = 0.36  # inches per grid cell
CELL_PT = CELL_IN * 72
# Font sizes (points) at REF_DPI.  The book shows figures at most TARGET_PX wide 1:1, so these
# are the sizes on screen (at another dpi text is scaled to the same pixel size: see text_factor).
VALUE_FS = 10.0  # values in cells
TITLE_FS = 11.0  # panel titles (bold)
LABEL_FS = 9.0  # row/column indices
SUB_FS = 10.0  # small titles above the many small grids of a Jacobian
MONO_FS = 10.0  # dot-product arithmetic
CAPTION_FS = 10.5  # geometry / step captions
LEGEND_FS = 10.5


def fmt(v) -> str:
    """Short, exact-looking cell label: integers without decimals, else <= 2 decimals."""
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == round(v) and abs(v) < 1e6:
        return str(int(round(v)))
    if abs(v) >= 100:
        return f"{v:.0f}"
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


_MEASURER = None
_WIDTHS: dict = {}


def text_cells(s: str, fontsize: float, mono: bool = False, bold: bool = False) -> float:
    """Width of a one-line string in cell units (for layout), measured by Agg at the
    reference dpi: text has the same pixel size at every dpi (see :func:`text_factor`),
    hinting included, so this is what will be drawn."""
    key = (s, round(fontsize, 3), mono, bold)
    w = _WIDTHS.get(key)
    if w is None:
        global _MEASURER
        if _MEASURER is None:
            _MEASURER = RendererAgg(1, 1, REF_DPI)
        if len(_WIDTHS) > 20_000:
            _WIDTHS.clear()
        prop = FontProperties(size=fontsize, weight="bold" if bold else "normal", family="monospace" if mono else None)
        w = _WIDTHS[key] = _MEASURER.get_text_width_height_descent(s, prop, ismath=False)[0] * 72.0 / REF_DPI
    return 1.02 * w / CELL_PT


class ConvFigure(Figure):
    """A matplotlib Figure that also renders itself as PNG in Jupyter without pyplot.

    ``fig.convviz`` holds the artists tests and widgets need (grids, highlight
    rectangles, texts) and the scene that drew them.
    """

    convviz: Dict

    def _repr_png_(self):
        return figure_png(self, fast=False)


# Width budgets in screen pixels (the book's text column is 688 px at a 1280 px window and shows
# images up to that width 1:1).  A figure is laid out for the dpi it will be shown at, so they hold
# at any dpi.
REF_DPI = 100.0  # text sizes above are what a figure shows at this dpi; at other dpi they scale to the same pixels
TARGET_PX = 688  # layouts wrap panels to fit the column ...
WIDE_PX = 730  # ... or may be this wide (shown at >= 94 %) when that saves a row of panels
MAX_PX = 800  # a layout that cannot wrap narrower shrinks its cells to TARGET_PX ...
MIN_TEXT_SCALE = 1.0  # ... but never its text: text keeps its size and gets relatively more room


def text_factor(scale: float, boost: float = 1.0) -> float:
    """How much larger (in cells) text is than at the reference size: ``boost``
    (= REF_DPI / dpi, so that text has the same pixel size at any dpi) divided by
    the cell shrink ``scale`` (text never shrinks below ``MIN_TEXT_SCALE``).
    Layouts reserve ``text_factor`` times the usual room around text.
    """
    return max(scale, MIN_TEXT_SCALE) * boost / scale


def choose_scale(width_cells: float, dpi: float = REF_DPI) -> float:
    """1 when a layout ``width_cells`` wide is at most :data:`MAX_PX` at ``dpi``,
    else the cell shrink factor that brings it to :data:`TARGET_PX`."""
    px = width_cells * CELL_IN * dpi
    return 1.0 if px <= MAX_PX else TARGET_PX / px


class Fit:
    """Layout context of one figure: its display ``dpi``, the cell shrink ``scale``
    and the text factor ``k`` (see :func:`text_factor`).

    Scenes lay out at ``k``, then call :meth:`settle` with the width they got:
    when cells must shrink, text gets relatively wider, so they lay out again
    until nothing changes.
    """

    def __init__(self, dpi: float = REF_DPI):
        self.dpi = float(dpi)
        self.boost = REF_DPI / self.dpi
        self.scale = 1.0
        self.k = self.boost

    def cells(self, px: float) -> float:
        """A pixel budget in cells at the current scale."""
        return px / (self.dpi * CELL_IN * self.scale)

    def settle(self, width_cells: float) -> bool:
        """Pick the scale for this width; True when the layout can be drawn as is."""
        self.scale = choose_scale(width_cells, self.dpi)
        k = text_factor(self.scale, self.boost)
        if k <= self.k + 1e-6:
            return True
        self.k = k
        return False


def new_figure(width_cells: float, height_cells: float, fig: Optional[Figure] = None, dpi: float = REF_DPI, scale: float = 1.0,
               boost: Optional[float] = None):
    """A figure of the given size in cells with one axes spanning it (y downwards).

    ``scale`` shrinks cells for wide layouts; text is scaled by ``boost``
    (default ``REF_DPI / dpi``) and not by ``scale`` (see :func:`text_factor`;
    the top margin grows to keep titles inside).  A given ``fig`` keeps its dpi.
    """
    if fig is not None:
        dpi = fig.dpi
    boost = REF_DPI / dpi if boost is None else boost
    pad_top = (text_factor(scale, boost) - 1.0) * 1.2
    height_cells = height_cells + pad_top
    if fig is None:
        fig = ConvFigure(dpi=dpi)
        FigureCanvasAgg(fig)
    ax = getattr(fig, "_convviz_ax", None)
    if ax is not None and fig.axes == [ax]:
        # reuse the axes: removing our artists is much cheaper than fig.clear() + add_axes()
        for group in (ax.artists, ax.patches, ax.collections, ax.images, ax.texts, ax.lines):
            for a in list(group):
                a.remove()
    else:
        fig.clear()
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        fig._convviz_ax = ax
    fig.set_size_inches(width_cells * CELL_IN * scale, height_cells * CELL_IN * scale)
    fig.convviz_scale = scale
    fig.convviz_boost = boost
    ax.set_xlim(0, width_cells)
    ax.set_ylim(height_cells - pad_top, -pad_top)
    fig.convviz = {}
    return fig, ax


def scale_of(ax) -> float:
    return getattr(ax.figure, "convviz_scale", 1.0)


def boost_of(ax) -> float:
    return getattr(ax.figure, "convviz_boost", 1.0)


def text_scale_of(ax) -> float:
    """Point sizes of text are multiplied by this (see :func:`text_factor`)."""
    return max(scale_of(ax), MIN_TEXT_SCALE) * boost_of(ax)


def text(ax, x, y, s, fontsize=TITLE_FS, ha="left", va="center", color=None, fontweight="normal", family=None, zorder=4):
    """A cached-bitmap text line (:class:`FastText`) in cell units, scaled with the figure."""
    return FastText(ax, x, y, s, fontsize, ha=ha, va=va, color=color, weight=fontweight, family=family, zorder=zorder)


M = 0.3  # outer margin, cells
TOP = 1.5  # room for a title and column indices above a grid
GAP = 0.9  # between panels side by side
VGAP = 1.8  # between panels stacked (room for the next title and column indices)
LINE_H = 0.72  # one caption line, cells (times the text factor)
LEGEND_ROW_H = 0.8  # one legend row, cells (times the text factor)


def label_width(labels, boost: float = 1.0) -> float:
    """Room (cells) that row labels need left of a grid (0 without labels); ``boost``
    as in :func:`text_factor` (labels scale with the cells otherwise)."""
    if not labels:
        return 0.0
    return max(text_cells(str(s), LABEL_FS) for s in labels) * boost + 0.22


def _legend_widths(roles, k, fontsize=LEGEND_FS):
    sw, gap = 0.55 * k, 0.22 * k
    return [sw + gap + text_cells(style.LABELS[r], fontsize) * k for r in roles]


def legend_rows(roles, width, k=1.0, fontsize=LEGEND_FS):
    """The legend's roles in rows no wider than ``width`` cells (wrapped, never cut)."""
    sep = 0.6 * k
    rows, cur, used = [], [], 0.0
    for r, w in zip(roles, _legend_widths(roles, k, fontsize)):
        if cur and used + sep + w > width:
            rows.append(cur)
            cur, used = [], 0.0
        used += (sep if cur else 0.0) + w
        cur.append(r)
    rows.append(cur)
    return rows


def footer_height(n_lines: int, roles, width: float, k: float = 1.0) -> float:
    """Height (cells) below the panels: ``n_lines`` caption lines, then the legend rows."""
    n_rows = len(legend_rows(roles, width - 2 * M, k))
    return (0.25 + n_lines * LINE_H + 0.3 + n_rows * LEGEND_ROW_H + 0.15) * k


def wrap_words(text_: str, width: float, fontsize: float = CAPTION_FS):
    """Split a caption into lines no wider than ``width`` cells (a word longer than that keeps its own line)."""
    lines, cur = [], ""
    for word in text_.replace(" → ", "\0→\0").split(" "):  # never break "3×3 → 5×5"
        word = word.replace("\0", " ")
        trial = word if not cur else cur + " " + word
        if cur and text_cells(trial, fontsize) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return lines + [cur]


def caption_width(width: float, caption: str, fit: "Fit") -> float:
    """``width`` widened (up to the text column) so that ``caption`` fits on one line."""
    return max(width, min(text_cells(caption, CAPTION_FS) * fit.k + 2 * M, fit.cells(TARGET_PX)))


def caption_lines(width: float, geometry: str, longest_step: str, k: float = 1.0):
    """How the captions fit a figure ``width`` cells wide: (geometry lines, split),
    ``split`` when the step caption needs a line of its own after them."""
    avail = (width - 2 * M) / k
    geo = wrap_words(geometry, avail)
    return geo, text_cells(geo[-1] + "   " + longest_step, CAPTION_FS) > avail


def captions(ax, y: float, geometry, split: bool, k: float = 1.0):
    """The fixed geometry line(s) and the step caption that changes (after the last
    geometry line, or on the next line when ``split``).

    ``y`` is the top of the footer (the bottom of the panels); returns
    (geometry, caption): the FastTexts of the last geometry line and of the step.
    """
    lines = [geometry] if isinstance(geometry, str) else list(geometry)
    y0 = y + (0.25 + 0.5 * LINE_H) * k
    for n, ln in enumerate(lines):
        geo = FastText(ax, M, y0 + n * LINE_H * k, ln, CAPTION_FS)
    y_last = y0 + (len(lines) - 1) * LINE_H * k
    if split:
        cap = FastText(ax, M, y_last + LINE_H * k, "", CAPTION_FS)
    else:
        cap = FastText(ax, M, y_last, "", CAPTION_FS, after=geo)
    return geo, cap


def legend(fig, roles, fontsize=LEGEND_FS):
    """The book's colour legend, centred along the bottom edge, wrapped into rows when
    the figure is narrow (reserve them with :func:`footer_height`).

    Drawn with plain patches and texts in cell units (a matplotlib Legend costs
    more to draw than a whole grid, and the widgets redraw often).
    """
    ax = fig.axes[0]
    x_max, y_max = ax.get_xlim()[1], ax.get_ylim()[0]
    k = text_factor(scale_of(ax), boost_of(ax))
    sw, gap, sh, sep = 0.55 * k, 0.22 * k, 0.36 * k, 0.6 * k
    rows = legend_rows(roles, x_max - 2 * M, k, fontsize)
    artists = []
    lw = max(scale_of(ax), 0.5)
    for n, row in enumerate(rows):
        widths = _legend_widths(row, k, fontsize)
        x = (x_max - (sum(widths) + sep * (len(row) - 1))) / 2
        y = y_max - (0.15 + (len(rows) - n - 0.5) * LEGEND_ROW_H) * k
        for r, wd in zip(row, widths):
            if r == "padding":
                p = Rectangle((x, y - sh / 2), sw, sh, facecolor=style.PADDING_FILL, edgecolor=style.PADDING_HATCH_COLOR,
                              hatch=style.PADDING_HATCH, linewidth=0.8 * lw)
            elif r == "highlight":
                p = Rectangle((x, y - sh / 2), sw, sh, facecolor="white", edgecolor=style.COLORS[r], linewidth=2.2 * lw)
            else:
                p = Rectangle((x, y - sh / 2), sw, sh, facecolor=style.FILL[r], edgecolor=style.COLORS[r], linewidth=1.3 * lw)
            p.set_gid(f"convviz:legend:{r}")
            ax.add_artist(p)
            artists.append(p)
            artists.append(text(ax, x + sw + gap, y, style.LABELS[r], fontsize, ha="left", va="center"))
            x += wd + sep
    return artists


def pack_rows(widths, max_width: float, gap: float = GAP):
    """Greedy left-to-right flow: indices of the panels in each row (a row wraps
    before a panel that would end past ``max_width``; a row holds at least one)."""
    rows, cur, used = [], [], 0.0
    for i, w in enumerate(widths):
        if cur and used + gap + w > max_width:
            rows.append(cur)
            cur, used = [], 0.0
        used += (gap if cur else 0.0) + w
        cur.append(i)
    if cur:
        rows.append(cur)
    return rows


class Panel:
    """A grid to place by :func:`flow`: ``w`` x ``h`` cells plus room ``left``/``right``
    of it (row labels, a title wider than the grid).  ``x``/``y``: the grid's top-left
    corner once placed."""

    __slots__ = ("key", "w", "h", "left", "right", "x", "y")

    def __init__(self, key, w, h, left=0.0, right=0.0):
        self.key, self.w, self.h, self.left, self.right = key, float(w), float(h), float(left), float(right)
        self.x = self.y = 0.0

    @property
    def span(self) -> float:
        return self.left + self.w + self.right

    @classmethod
    def titled(cls, key, w, h, title, fit: "Fit", labels=None, centred=True):
        """A grid with a bold title above it (centred, or left-aligned) and optional row labels."""
        tw = text_cells(title, TITLE_FS, bold=True) * fit.k if title else 0.0
        lw = label_width(labels, fit.boost)
        if centred:
            over = max(0.0, (tw - w) / 2)
            return cls(key, w, h, max(lw, over), over)
        return cls(key, w, h, lw, max(0.0, tw - w))


def flow(groups, max_width: float, top: float = TOP, gap: float = GAP, vgap: float = VGAP):
    """Place the panels of each group left to right, top-aligned, wrapping to a new row
    before a panel that would pass ``max_width`` cells; every group starts a new row.
    Returns (width, bottom, number of rows)."""
    y, width, n = top, 0.0, 0
    for group in groups:
        if not group:
            continue
        for row in pack_rows([p.span for p in group], max_width - 2 * M, gap):
            x = M
            for i in row:
                p = group[i]
                p.x, p.y = x + p.left, y
                x += p.span + gap
            width = max(width, x - gap + M)
            y += max(group[i].h for i in row) + vgap
            n += 1
    return width, y - vgap, n


MAX_HEIGHT_PX = 800  # a wrapped layout taller than this (as shown) shrinks its cells instead of adding rows


def flow_best(groups, fit: "Fit", **kw):
    """:func:`flow` with the row width that shows best in the text column.

    Candidates wrap rows at widths from :data:`TARGET_PX` up to no wrapping at
    all; each is shrunk to the column if wider than :data:`MAX_PX`.  Among those
    no taller than :data:`MAX_HEIGHT_PX` (as shown), the one with the largest
    cells wins, then the one with fewer rows (so rows up to :data:`WIDE_PX` wide
    are used when that saves a row), then the narrower one; when every
    candidate is too tall, the shortest.  Returns :func:`flow`'s result for it.
    """
    px_per_cell = fit.dpi * CELL_IN  # at scale 1
    kw["vgap"] = kw.get("vgap", VGAP) + 0.55 * max(fit.k - 1.0, 0.0)  # titles between rows grow with the text factor
    budgets = [TARGET_PX, WIDE_PX, 1.5 * TARGET_PX, 2 * TARGET_PX, 3 * TARGET_PX, float("inf")]
    best, best_key = None, None
    for budget in budgets:
        width, bottom, rows = flow(groups, budget / px_per_cell, **kw)
        w_px = width * px_per_cell
        scale = choose_scale(width, fit.dpi)
        shown = min(1.0, TARGET_PX / (w_px * scale))  # the browser scales anything wider than the column
        if shown < TARGET_PX / WIDE_PX - 1e-9:
            continue
        h_px = bottom * px_per_cell * scale * shown
        key = (0, -round(scale, 3), rows, width) if h_px <= MAX_HEIGHT_PX else (1, h_px)
        if best_key is None or key < best_key:
            best, best_key = budget, key
    if best is None:
        best = TARGET_PX
    return flow(groups, best / px_per_cell, **kw)


def figure_png(fig: Figure, dpi: Optional[float] = None, fast: bool = True) -> bytes:
    """PNG bytes of a figure; ``fast`` trades size for speed (widgets)."""
    buf = io.BytesIO()
    kw = {"pil_kwargs": {"compress_level": 1}} if fast else {}
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor="white", **kw)
    return buf.getvalue()


def value_fontsize(labels: Sequence[str], base: float = VALUE_FS) -> float:
    """Point size of the numbers in a grid's cells (before scaling): ``base``, or
    smaller when the longest label would not fit a cell."""
    n = max([len(s) for s in labels] + [1])
    return float(min(base, 0.9 * CELL_PT / (0.64 * n)))


def rect(ax, x, y, w, h, role="highlight", lw=3.0, ls="-", fill=None, alpha=1.0, zorder=6, gid=None):
    """Outline (or tinted fill) rectangle in cell units."""
    kw = dict(linewidth=lw * max(scale_of(ax), 0.5), linestyle=ls, zorder=zorder, alpha=alpha)
    if fill is None:
        r = Rectangle((x, y), w, h, fill=False, edgecolor=style.COLORS.get(role, role), **kw)
    else:
        r = Rectangle((x, y), w, h, facecolor=fill, edgecolor=style.COLORS.get(role, role), **kw)
    if gid:
        r.set_gid(gid)
    ax.add_artist(r)  # not add_patch: no data-limit bookkeeping, the limits are fixed
    return r


_SPRITES: dict = {}


def _render_text(s, prop, size, dpi, color):
    px = size * dpi / 72.0
    w, h = int(px * (len(s) + 2)) + 4, int(px * 3) + 4
    r = RendererAgg(w, h, dpi)
    gc = r.new_gc()
    gc.set_foreground(color)
    ox = int(px * 0.5)
    r.draw_text(gc, ox, int(h * 0.66), s, prop, 0)
    gc.restore()
    return np.asarray(r.buffer_rgba()), ox


_LINE_ROWS: dict = {}


def _line_rows(prop, size, dpi):
    """Rows spanning ascenders to descenders of a font (same for every line)."""
    key = (prop.get_family()[0] if prop.get_family() else None, prop.get_weight(), round(size, 3), round(dpi, 3))
    if key not in _LINE_ROWS:
        ref, _ = _render_text("Ag|[]()y", prop, size, dpi, "black")
        rows = np.nonzero(ref[..., 3].any(axis=1))[0]
        _LINE_ROWS[key] = (int(rows.min()), int(rows.max()) + 1)
    return _LINE_ROWS[key]


_ADVANCE: dict = {}


def _mono_advance(size, dpi, weight, family):
    """Pixel advance of one character of a monospace font (measured once)."""
    key = (round(size, 3), round(dpi, 3), weight, family)
    if key not in _ADVANCE:
        one = _sprite("0", size, dpi, "black", weight, family, True).shape[1]
        many = _sprite("0" * 21, size, dpi, "black", weight, family, True).shape[1]
        _ADVANCE[key] = (many - one) / 20.0
    return _ADVANCE[key]


def _sprite(s: str, size: float, dpi: float, color: str, weight: str, family=None, line: bool = False) -> np.ndarray:
    """The label rendered once by Agg and cached: an (h, w, 4) uint8 array.

    Cell labels are cropped to their ink (centred in the cell); ``line`` text
    keeps leading spaces and a fixed ascent/descent box, so consecutive lines
    of monospace arithmetic stay aligned.
    """
    key = (s, round(size, 3), round(dpi, 3), color, weight, family, line)
    sp = _SPRITES.get(key)
    if sp is None:
        if len(_SPRITES) > 20_000:
            _SPRITES.clear()
        prop = FontProperties(size=size, weight=weight, family=family)
        a, ox = _render_text(s, prop, size, dpi, color)
        ys, xs = np.nonzero(a[..., 3])
        if not len(ys):
            sp = np.zeros((1, 1, 4), np.uint8)
        elif line:
            r0, r1 = _line_rows(prop, size, dpi)
            sp = a[r0:r1, ox : xs.max() + 1].copy()
        else:
            sp = a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy()
        _SPRITES[key] = sp
    return sp


class _Unclipped(Artist):
    """Our artists live in one axes spanning the figure: nothing to clip.

    Skipping the clip path also skips the cost ``Axes.add_artist`` pays to
    set it (a transform computation per artist, noticeable in widget rebuilds).
    """

    def set_clip_path(self, path, transform=None):
        self._clippath = None

    def get_clip_on(self):
        return False


class LabelLayer(_Unclipped):
    """Many short centred labels drawn as one image.

    Matplotlib draws each Text artist separately (~0.2-0.5 ms each); a 7×7 grid
    of numbers then costs more than the whole rest of a frame.  Here every
    distinct label is rendered once by Agg and cached, and a frame pastes the
    cached bitmaps into one RGBA image -- same font, same pixels, ~50× faster.
    Other renderers (PDF/SVG) get ordinary text.
    """

    def __init__(self, xy, fontsize: float, weight: str = "normal", zorder: float = 4, ha: str = "center", va: str = "center",
                 family=None, line: bool = False):
        super().__init__()
        self.ha, self.va, self.family, self.line = ha, va, family, line
        self.xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        self.strings = [""] * len(self.xy)
        self.colors = [style.TEXT] * len(self.xy)
        self.fontsize = fontsize
        self.weight = weight
        self.set_zorder(zorder)
        self._text = None

    def set_labels(self, strings, colors):
        self.strings = list(strings)
        self.colors = list(colors)
        self.stale = True

    def draw(self, renderer):
        if not self.get_visible():
            return
        pts = self.axes.transData.transform(self.xy)
        after = getattr(self, "after", None)
        if after is not None and isinstance(renderer, RendererAgg):
            ax_, ay_ = after.axes.transData.transform(after.xy[0])
            w_after = _sprite(after.strings[0], after.fontsize, renderer.dpi, after.colors[0], after.weight, after.family, True)
            pts = np.array([(ax_ + w_after.shape[1] + 0.9 * self.fontsize * renderer.dpi / 72.0, pts[0][1])])
        if after is not None and not isinstance(renderer, RendererAgg):
            from matplotlib.text import Text

            t = Text(*after.xy[0], after.strings[0], fontsize=after.fontsize, fontweight=after.weight, family=after.family,
                     ha=after.ha, va=after.va, transform=after.axes.transData)
            t.set_figure(self.figure)
            bb = t.get_window_extent(renderer)
            pts = np.array([(bb.x1 + 0.9 * renderer.points_to_pixels(self.fontsize), pts[0][1])])
        if not isinstance(renderer, RendererAgg):
            self._draw_as_text(renderer, pts)
            return
        items = []
        for (x, y), s, c in zip(pts, self.strings, self.colors):
            if not s:
                continue
            if self.family == "monospace" and " " in s.strip():
                # monospace lines: one cached bitmap per word, placed on the character grid, so that
                # "3·0 + 2·1 + ..." reuses the bitmaps of its terms from step to step
                adv = _mono_advance(self.fontsize, renderer.dpi, self.weight, self.family)
                parts = [(m.start(), _sprite(m.group(), self.fontsize, renderer.dpi, c, self.weight, self.family, True))
                         for m in re.finditer(r"\S+", s)]
                w = max(off * adv + sp.shape[1] for off, sp in parts)
                h = parts[0][1].shape[0]
            else:
                sp = _sprite(s, self.fontsize, renderer.dpi, c, self.weight, self.family, self.line)
                parts = [(0, sp)]
                adv = 0.0
                h, w = sp.shape[:2]
            x0 = x - w / 2 if self.ha == "center" else (x - w if self.ha == "right" else x)
            y0 = y - h / 2 if self.va == "center" else (y if self.va == "bottom" else y - h)
            for off, sp in parts:
                items.append((int(round(x0 + off * adv)), int(round(y0 + h - sp.shape[0])), sp))
        if not items:
            return
        left = min(i[0] for i in items)
        bottom = min(i[1] for i in items)
        right = max(i[0] + i[2].shape[1] for i in items)
        top = max(i[1] + i[2].shape[0] for i in items)
        img = np.zeros((top - bottom, right - left, 4), np.uint8)  # row 0 = top
        for x0, y0, sp in items:
            h, w = sp.shape[:2]
            r0, c0 = top - (y0 + h), x0 - left
            region = img[r0 : r0 + h, c0 : c0 + w]
            np.copyto(region, sp, where=sp[..., 3:4] > region[..., 3:4])
        gc = renderer.new_gc()
        renderer.draw_image(gc, left, bottom, img[::-1])  # draw_image wants the bottom row first
        gc.restore()
        self.stale = False

    def _draw_as_text(self, renderer, pts):
        from matplotlib.text import Text

        inv = self.axes.transData.inverted()
        for (x, y), s, c in zip(pts, self.strings, self.colors):
            if not s:
                continue
            if self._text is None:
                self._text = Text(0, 0, "", ha=self.ha, va=self.va, fontsize=self.fontsize, fontweight=self.weight,
                                  family=self.family)
                self._text.set_figure(self.figure)
                self._text.set_transform(self.axes.transData)
            self._text.set_position(inv.transform((x, y)))
            self._text.set_text(s)
            self._text.set_color(c)
            self._text.draw(renderer)


class CellImage(_Unclipped):
    """The colours of a grid's cells, one flat block per cell.

    Replaces ``imshow`` (whose resampling dominated widget redraws): on Agg the
    cell colours are expanded to the exact pixel blocks and drawn as one image;
    vector backends get one rectangle per cell.  ``cmap``/``norm`` as usual.
    """

    def __init__(self, data, cmap, norm, x0, y0, zorder=1):
        super().__init__()
        self.cmap, self.norm, self.x0, self.y0 = cmap, norm, float(x0), float(y0)
        self.set_zorder(zorder)
        self.set_data(data)

    def set_data(self, data):
        self._A = np.ma.asarray(data)
        self.stale = True

    def get_array(self):
        return self._A

    def draw(self, renderer):
        if not self.get_visible():
            return
        h, w = self._A.shape
        rgba = self.cmap(self.norm(self._A), bytes=True)  # masked cells -> transparent
        gc = renderer.new_gc()
        if isinstance(renderer, RendererAgg):
            t = self.axes.transData
            xs = np.round(t.transform(np.c_[self.x0 + np.arange(w + 1), np.full(w + 1, self.y0)])[:, 0]).astype(int)
            ys = np.round(t.transform(np.c_[np.full(h + 1, self.x0), self.y0 + np.arange(h + 1)])[:, 1]).astype(int)
            cols = np.repeat(np.arange(w), np.diff(xs))
            rows = np.repeat(np.arange(h), -np.diff(ys))  # y grows downwards in data, upwards on screen
            if len(cols) and len(rows):
                img = rgba[rows][:, cols]  # row 0 = top
                renderer.draw_image(gc, int(xs[0]), int(ys[-1]), np.ascontiguousarray(img[::-1]))
        else:
            gc.set_linewidth(0)
            unit = Path.unit_rectangle()
            for (i, j), c in np.ndenumerate(rgba[..., 3]):
                if c:
                    tr = Affine2D().translate(self.x0 + j, self.y0 + i) + self.axes.transData
                    renderer.draw_path(gc, unit, tr, tuple(rgba[i, j] / 255.0))
        gc.restore()
        self.stale = False


class FastText(LabelLayer):
    """One line of text that changes often (captions, arithmetic): rendered once
    per distinct string and cached.  ``get_text``/``set_text`` like a Text."""

    def __init__(self, ax, x, y, s="", fontsize=9.0, ha="left", va="center", color=None, weight="normal", family=None,
                 zorder=4, after=None):
        super().__init__([(x, y)], fontsize * text_scale_of(ax), weight=weight, zorder=zorder, ha=ha, va=va, family=family,
                         line=True)
        self.after = after  # another FastText: start three spaces after its end
        self._color = color or style.TEXT
        self.set_text(s)
        ax.add_artist(self)

    def set_text(self, s):
        self.set_labels([str(s)], [self._color])

    def get_text(self) -> str:
        return self.strings[0]


class Grid:
    """One annotated grid of values at ``(x0, y0)`` (cell units, top-left corner).

    ``labels`` draws the numbers (``None`` when the grid is too large to
    annotate; ``label(i, j)`` / ``text_values()`` read them), ``image`` is the AxesImage, ``cell_xy(i, j)`` the
    top-left corner of a cell in data coordinates.  ``pads=(t, b, l, r)`` marks
    border cells as padding (grey, hatched, muted "0"); ``mask`` hides cells
    (white, no text) -- e.g. outputs not computed yet; ``muted`` greys numbers
    (values that came from padding, structural zeros).
    """

    def __init__(
        self,
        ax,
        values,
        x0: float,
        y0: float,
        role: str,
        *,
        title: Optional[str] = None,
        annotate: bool = True,
        pads=(0, 0, 0, 0),
        mask=None,
        row_labels: Optional[Sequence[str]] = None,
        col_labels: Optional[Sequence[str]] = None,
        vmin=None,
        vmax=None,
        fontsize: Optional[float] = None,
        size_labels: Optional[Sequence[str]] = None,
        name: str = "",
        muted_zeros: bool = False,
        muted=None,
        border: bool = True,
        cell_lines: bool = True,
    ):
        values = np.asarray(values, dtype=float)
        if values.ndim != 2:
            raise ValueError(f"a grid needs 2-D values, got shape {values.shape}")
        self.ax, self.x0, self.y0, self.role, self.name = ax, float(x0), float(y0), role, name
        self.shape = values.shape
        S = scale_of(ax)
        B = boost_of(ax)  # same pixel size of text at any dpi (labels and numbers still fit: see value_fontsize)
        self.pads = tuple(pads)
        self.muted_zeros = muted_zeros
        self.muted = None if muted is None else np.asarray(muted, bool)
        h, w = self.shape
        self.pad_mask = np.zeros(self.shape, bool)
        t, b, l, r = self.pads
        self.pad_mask[:t] = self.pad_mask[h - b :] = True
        self.pad_mask[:, :l] = self.pad_mask[:, w - r :] = True
        finite = values[~self.pad_mask] if (~self.pad_mask).any() else values
        lo = float(np.min(finite)) if vmin is None else vmin
        hi = float(np.max(finite)) if vmax is None else vmax
        if hi <= lo:
            hi = lo + 1.0
        cm = style.CMAPS.get(role, style.CMAPS["input"]).with_extremes(bad=(1, 1, 1, 0))
        self.image = CellImage(self._masked(values, mask), cm, Normalize(lo, hi), x0, y0)
        self.image.set_gid(f"convviz:{name}:image")
        ax.add_artist(self.image)
        # padding: grey + hatch, so it is not told apart by colour alone
        self.pad_patches = [
            Rectangle((x0 + px, y0 + py), pw, ph)
            for (px, py, pw, ph) in ((0, 0, w, t), (0, h - b, w, b), (0, t, l, h - t - b), (w - r, t, r, h - t - b))
            if pw > 0 and ph > 0
        ]
        self.pad_collection = None
        if self.pad_patches:
            self.pad_collection = PatchCollection(
                self.pad_patches, facecolor=style.PADDING_FILL, edgecolor=style.PADDING_HATCH_COLOR,
                hatch=style.PADDING_HATCH, linewidth=0, zorder=2,
            )
            self.pad_collection.set_gid(f"convviz:{name}:padding")
            ax.add_artist(self.pad_collection)
        # cell lines and the role-coloured border: one collection (cheap to draw and to add)
        segs, colors, widths = [], [], []
        if cell_lines:
            lw = (0.6 if max(h, w) <= 24 else 0.3) * max(S, 0.5)
            segs += [((x0, y0 + i), (x0 + w, y0 + i)) for i in range(1, h)]
            segs += [((x0 + j, y0), (x0 + j, y0 + h)) for j in range(1, w)]
            colors += [style.GRID_LINE] * len(segs)
            widths += [lw] * len(segs)
        if border:
            edge = [((x0, y0), (x0 + w, y0)), ((x0 + w, y0), (x0 + w, y0 + h)), ((x0 + w, y0 + h), (x0, y0 + h)), ((x0, y0 + h), (x0, y0))]
            segs += edge
            colors += [style.COLORS.get(role, role)] * 4
            widths += [1.4 * max(S, 0.5)] * 4
        self._static_extras = []
        if segs:
            lines = LineCollection(segs, colors=colors, linewidths=widths, zorder=3, capstyle="projecting")
            lines.set_gid(f"convviz:{name}:lines")
            ax.add_artist(lines)
            self._static_extras.append(lines)
        label_dy = 0.0
        self.index_labels = []
        if col_labels is not None:
            label_dy = 0.5
            lay = LabelLayer([(x0 + j + 0.5, y0 - 0.12) for j in range(len(col_labels))], LABEL_FS * S * B, va="bottom")
            lay.set_labels(col_labels, [style.INDEX_TEXT] * len(col_labels))
            ax.add_artist(lay)
            self.index_labels.append(lay)
        if row_labels is not None:
            lay = LabelLayer([(x0 - 0.12, y0 + i + 0.5) for i in range(len(row_labels))], LABEL_FS * S * B, ha="right")
            lay.set_labels(row_labels, [style.INDEX_TEXT] * len(row_labels))
            ax.add_artist(lay)
            self.index_labels.append(lay)
        self.title = None
        if title:
            self.title = FastText(ax, x0 + w / 2, y0 - 0.2 - label_dy, title, TITLE_FS, ha="center", va="bottom", weight="bold")
            self.title.set_gid(f"convviz:{name}:title")
        self.labels = None
        if annotate:
            labels = size_labels if size_labels is not None else [fmt(v) for v in values.ravel()]
            fs = (fontsize or value_fontsize(labels, VALUE_FS * B)) * S
            centers = [(x0 + j + 0.5, y0 + i + 0.5) for i in range(h) for j in range(w)]
            self.labels = LabelLayer(centers, fs)
            self.labels.set_gid(f"convviz:{name}:labels")
            ax.add_artist(self.labels)
        self.values = values
        self.set_values(values, mask)

    def _masked(self, values, mask):
        m = self.pad_mask if mask is None else (np.asarray(mask, bool) | self.pad_mask)
        return np.ma.array(values, mask=m)

    def set_values(self, values, mask=None):
        """Update colours and numbers (shape must not change)."""
        values = np.asarray(values, dtype=float)
        self.values = values
        self.mask = np.zeros(self.shape, bool) if mask is None else np.asarray(mask, bool)
        self.image.set_data(self._masked(values, mask))
        if self.labels is not None:
            strings, colors = [], []
            for (i, j), v in np.ndenumerate(values):
                if self.mask[i, j]:
                    strings.append("")
                    colors.append(style.TEXT)
                    continue
                strings.append(fmt(v))
                muted = self.pad_mask[i, j] or (self.muted_zeros and v == 0) or (self.muted is not None and self.muted[i, j])
                colors.append(style.MUTED_TEXT if muted else style.TEXT)
            self.labels.set_labels(strings, colors)

    def artists(self):
        """Everything drawn inside the grid (image, padding, lines, border, labels), for redraws."""
        pads = [self.pad_collection] if self.pad_collection is not None else []
        return [self.image] + pads + self._static_extras + ([self.labels] if self.labels is not None else [])

    @property
    def width(self) -> int:
        return self.shape[1]

    @property
    def height(self) -> int:
        return self.shape[0]

    def cell_xy(self, i, j):
        """Top-left corner of cell (i, j) in data coordinates."""
        return (self.x0 + j, self.y0 + i)

    def cell_of(self, x, y):
        """(row, col) of the cell whose top-left corner is (x, y)."""
        return (int(round(y - self.y0)), int(round(x - self.x0)))

    def label(self, i, j) -> str:
        """The label written in cell (i, j) ('' when blank)."""
        if self.labels is None:
            raise ValueError(f"grid {self.name!r} is not annotated")
        return self.labels.strings[i * self.shape[1] + j]

    def text_values(self):
        """The numbers currently written in the cells (NaN where blank)."""
        if self.labels is None:
            raise ValueError(f"grid {self.name!r} is not annotated")
        out = np.full(self.shape, np.nan)
        for n, s in enumerate(self.labels.strings):
            if s:
                out[divmod(n, self.shape[1])] = float(s)
        return out


class Scene:
    """Base class: compute in ``__init__`` (raising the core's ValueError), draw in
    :meth:`draw`, update in :meth:`set_step`."""

    n_steps: int = 1
    fig: Optional[Figure] = None
    step: Optional[int] = None
    dpi: float = REF_DPI  # the layout's display resolution when ``draw`` makes the figure (animations: theirs)

    def draw(self, fig: Optional[Figure] = None) -> Figure:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_step(self, step: Optional[int]):
        """Show step ``step`` (row-major, negative counts from the end); ``None``: the finished
        picture with no highlight.  Redraws nothing until the scene has a figure."""
        done = step is None
        t = self._norm_step(step)
        self.step = None if done else t
        if self.fig is not None:
            self._show(t, done)

    def _show(self, t: int, done: bool):  # pragma: no cover - abstract
        """Update the artists for step ``t`` (``done``: no highlight)."""
        raise NotImplementedError

    def _norm_step(self, step):
        if step is None:
            return self.n_steps - 1
        step = int(step)
        if not -self.n_steps <= step < self.n_steps:
            raise ValueError(f"step must be in [0, {self.n_steps - 1}], got {step}")
        return step % self.n_steps

    def frames(self, max_frames: int = 36):
        """Steps to animate: all of them, or an even subsample that keeps the first and last."""
        n = self.n_steps
        if n <= max_frames:
            return list(range(n))
        return sorted(set(int(round(v)) for v in np.linspace(0, n - 1, max_frames)))


class FrameRenderer:
    """PNG frames of one figure, redrawing only a scene's moving artists.

    The first frame after :meth:`reset` draws everything except
    ``scene.dynamic_artists()`` and keeps that background; later frames restore
    it and draw only the moving artists (classic blitting, headless on Agg).
    Used by the widgets; the result is pixel-identical to a full redraw.
    """

    def __init__(self, fig: Figure, dpi: float = 80, compress_level: int = 1):
        self.fig, self.compress_level = fig, compress_level
        fig.set_dpi(dpi)
        self._bg = None

    def reset(self):
        self._bg = None

    def render(self, scene) -> bytes:
        from PIL import Image

        fig, canvas = self.fig, self.fig.canvas
        dyn = scene.dynamic_artists() if hasattr(scene, "dynamic_artists") else None
        if dyn is None:
            canvas.draw()
        else:
            if self._bg is None:
                for a in dyn:
                    a.set_animated(True)
                try:
                    canvas.draw()
                finally:
                    for a in dyn:
                        a.set_animated(False)
                self._bg = canvas.copy_from_bbox(fig.bbox)
            else:
                canvas.restore_region(self._bg)
            renderer = canvas.get_renderer()
            for a in sorted(dyn, key=lambda a: a.get_zorder()):
                if a.get_visible():
                    a.draw(renderer)
        buf = canvas.buffer_rgba()
        w, h = canvas.get_width_height(physical=True)
        out = io.BytesIO()
        Image.frombuffer("RGBA", (w, h), buf, "raw", "RGBA", 0, 1).convert("RGB").save(
            out, format="PNG", compress_level=self.compress_level
        )
        return out.getvalue()


class Animation:
    """A self-contained JavaScript animation (matplotlib's ``to_jshtml``: frames
    embedded as base64 PNG, player controls inline, no CDN).

    Displays itself in Jupyter and in the built book; ``.html`` is the markup,
    ``.nbytes`` its size, ``.n_frames`` the number of frames.
    """

    def __init__(self, html: str, n_frames: int, dpi: float, size_px):
        self.html = html
        self.n_frames = n_frames
        self.dpi = dpi
        self.size_px = size_px

    @property
    def nbytes(self) -> int:
        return len(self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)

    def __repr__(self):
        return f"<convviz Animation: {self.n_frames} frames, {self.size_px[0]}x{self.size_px[1]} px, {self.nbytes / 1e3:.0f} kB>"


MAX_BYTES = 1_000_000
MIN_DPI = 66  # animations go below this resolution only as a last resort

# matplotlib's player loads Font Awesome from a CDN for its button icons; the
# book must work offline, so the link goes and the icons become plain symbols.
_ICONS = {
    "fa fa-minus": "&minus;",
    "fa fa-fast-backward": "&#x21E4;",
    "fa fa-step-backward": "&#x25C1;",
    "fa fa-play fa-flip-horizontal": "&#x25C0;&#xFE0E;",
    "fa fa-pause": "&#x2016;",
    "fa fa-play": "&#x25B6;&#xFE0E;",
    "fa fa-step-forward": "&#x25B7;",
    "fa fa-fast-forward": "&#x21E5;",
    "fa fa-plus": "+",
}
_FRAME_RE = re.compile(r'"data:image/png;base64,((?:[^"\\]|\\\n)+)"')


def _quantize_png(b64: str, colors: int) -> str:
    from PIL import Image

    raw = base64.b64decode(b64.replace("\\\n", "").replace("\n", ""))
    im = Image.open(io.BytesIO(raw)).convert("RGB")
    q = im.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    q.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def self_contained(html: str, colors: int = 128) -> str:
    """Make ``to_jshtml`` output offline-safe and small.

    Drops the Font Awesome CDN stylesheet (icons become Unicode symbols) and
    re-encodes every embedded frame as a ``colors``-colour palette PNG (flat
    grids: ~3× smaller, visually identical).
    """
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    for cls, sym in _ICONS.items():
        html = html.replace(f'<i class="{cls}"></i>', f'<span aria-hidden="true">{sym}</span>')
    if colors:
        html = _FRAME_RE.sub(lambda m: '"data:image/png;base64,' + _quantize_png(m.group(1), colors) + '"', html)
    return html


def animate(scene: Scene, fps: float = 2.0, dpi: float = 80, max_frames: int = 36, max_bytes: int = MAX_BYTES,
            colors: int = 128) -> Animation:
    """Render every step of ``scene`` into an :class:`Animation` of at most ``max_bytes``.

    Frames come from ``FuncAnimation.to_jshtml`` (PNG, embedded), made
    self-contained and palette-compressed by :func:`self_contained`.  Large
    scenes are subsampled to ``max_frames``; if the page would still be too
    heavy, the resolution is lowered (down to ``MIN_DPI``), then frames are
    dropped, until it fits.
    """
    import matplotlib
    from matplotlib.animation import FuncAnimation

    fig = scene.fig if scene.fig is not None else scene.draw()
    frames = scene.frames(max_frames)
    html = None
    for _ in range(6):
        fig.set_dpi(dpi)
        with matplotlib.rc_context({"animation.frame_format": "png", "savefig.facecolor": "white"}):
            anim = FuncAnimation(
                fig, scene.set_step, frames=frames, interval=1000.0 / fps, repeat=False, cache_frame_data=False
            )
            html = self_contained(anim.to_jshtml(fps=fps, default_mode="once"), colors)
        del anim
        size = len(html.encode("utf-8"))
        if size <= max_bytes:
            break
        ratio = max_bytes / size
        if dpi > MIN_DPI:  # first a little less resolution (every step stays) ...
            dpi = max(MIN_DPI, dpi * math.sqrt(ratio) * 0.97)
        elif len(frames) > 8:  # ... then fewer steps ...
            keep = max(8, int(len(frames) * ratio * 0.95))
            idx = sorted(set(int(round(v)) for v in np.linspace(0, len(frames) - 1, keep)))
            frames = [frames[i] for i in idx]
        else:  # ... and only then a blurry picture
            dpi = max(40, dpi * math.sqrt(ratio) * 0.95)
    size_px = (int(round(fig.get_figwidth() * dpi)), int(round(fig.get_figheight() * dpi)))
    n = len(frames)
    fig.clear()  # drop the artists now; nothing else holds the figure
    scene.fig = None
    if len(html.encode("utf-8")) > max_bytes:
        raise RuntimeError(f"animation is {len(html.encode('utf-8'))} bytes even at dpi {dpi:.0f}; use smaller sizes")
    return Animation(html, n, dpi, size_px)

"""Grids of numbers and the rectangles drawn on them.

:class:`Grid` is one annotated grid of values (colours from :mod:`convviz.style`,
numbers as cached bitmaps, padding grey and hatched); :class:`Window` the
kernel's footprint on a grid; :func:`rect` an outline in cell units.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import LineCollection, PatchCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

from .. import style
from ..geometry import ConvGeometry
from .layout import CAPTION_PT, CELL_PT, LABEL_PT, TITLE_PT, VALUE_PT, boost_of, label_width, scale_of, text_cells
from .text import FastText, LabelLayer, UnclippedArtist, fmt

__all__ = ["ANNOTATE_MAX", "AXIS_PT", "AXIS_H", "Grid", "CellImage", "Window", "rect", "value_fontsize", "draw_axis_titles",
           "row_title_width"]

ANNOTATE_MAX = 12  # largest grid side that gets numbers written in its cells
AXIS_PT = CAPTION_PT  # axis titles of matrices (C: "output pixel" rows, "input pixel" columns; im2col's patches)
AXIS_H = 0.55  # room (cells, times the text factor) for a column-axis title above a matrix


def value_fontsize(labels: Sequence[str], base: float = VALUE_PT) -> float:
    """Point size of the numbers in a grid's cells (before scaling): ``base``, or
    smaller when the longest label would not fit a cell.

    Examples
    --------
    >>> value_fontsize(["1", "2"]), round(value_fontsize(["-123.45"]), 2)
    (10.0, 5.21)
    """
    n = max([len(s) for s in labels] + [1])
    return float(min(base, 0.9 * CELL_PT / (0.64 * n)))


def rect(ax, x, y, w, h, role="highlight", lw=3.0, ls="-", zorder=6, gid=None):
    """An outline ``w`` x ``h`` cells with its top-left corner at ``(x, y)``, in a role's colour.

    ``lw`` is the line width at full scale (thinner when cells shrink).

    Examples
    --------
    >>> from convviz.render.scene import new_figure
    >>> fig, ax = new_figure(4, 4)
    >>> r = rect(ax, 1, 1, 2, 2, gid="convviz:demo")
    >>> r.get_xy(), r.get_gid()
    ((1, 1), 'convviz:demo')
    """
    r = Rectangle((x, y), w, h, fill=False, edgecolor=style.COLORS.get(role, role),
                  linewidth=lw * max(scale_of(ax), 0.5), linestyle=ls, zorder=zorder)
    if gid:
        r.set_gid(gid)
    ax.add_artist(r)  # not add_patch: no data-limit bookkeeping, the limits are fixed
    return r


class CellImage(UnclippedArtist):
    """The colours of a grid's cells, one flat block per cell.

    Replaces ``imshow`` (whose resampling dominated widget redraws): on Agg the
    cell colours are expanded to the exact pixel blocks and drawn as one image;
    vector backends get one rectangle per cell.  ``cmap``/``norm`` as usual;
    ``(x0, y0)`` is the top-left corner in cells.

    Examples
    --------
    >>> from matplotlib.colors import Normalize
    >>> from convviz import style
    >>> image = CellImage(np.eye(2), style.CMAPS["input"], Normalize(0, 1), 0, 0)
    >>> image.get_array().shape
    (2, 2)
    """

    def __init__(self, data, cmap, norm, x0, y0, zorder=1):
        super().__init__()
        self.cmap, self.norm, self.x0, self.y0 = cmap, norm, float(x0), float(y0)
        self.set_zorder(zorder)
        self.set_data(data)

    def set_data(self, data):
        """New cell values (a masked array hides cells), same shape."""
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


class Grid:
    """One annotated grid of values at ``(x0, y0)`` (cell units, top-left corner).

    ``labels`` draws the numbers (``None`` when the grid is too large to
    annotate; ``label(i, j)`` / ``text_values()`` read them), ``image`` is the AxesImage, ``cell_xy(i, j)`` the
    top-left corner of a cell in data coordinates.  ``pads=(t, b, l, r)`` marks
    border cells as padding (grey, hatched, muted "0"); ``mask`` hides cells
    (white, no text) -- e.g. outputs not computed yet; ``muted`` greys numbers
    (values that came from padding, structural zeros); ``structural`` marks
    structural zeros (entries no window reads: white with a "·" instead of a
    number, or dotted when the grid is not annotated), drawn unlike weights that
    happen to be 0 (a "0" on the colour of 0).

    Colours follow :func:`convviz.style.value_scale`: the role's light ramp for
    non-negative data, the diverging scale centred at 0 when the values (or the
    shared range ``vmin``) go below zero (``signed``, ``norm``).

    Examples
    --------
    >>> from convviz.render.scene import new_figure
    >>> fig, ax = new_figure(6, 5)
    >>> g = Grid(ax, np.arange(6.).reshape(2, 3), 1, 1, "input", pads=(0, 0, 1, 0), name="x")
    >>> g.label(0, 1), g.cell_xy(1, 2), g.pad_mask[:, 0].tolist()
    ('1', (3.0, 2.0), [True, True])
    >>> s = Grid(ax, [[-1., 0.], [2., 0.]], 1, 4, "kernel", structural=[[False, True], [False, False]])
    >>> s.signed, (s.norm.vmin, s.norm.vmax), int(s.structural.sum())
    (True, (-2.0, 2.0), 1)
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
        name: str = "",
        muted_zeros: bool = False,
        muted=None,
        structural=None,
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
        self.structural = (np.zeros(self.shape, bool) if structural is None
                           else np.broadcast_to(np.asarray(structural, bool), self.shape))
        h, w = self.shape
        self.pad_mask = np.zeros(self.shape, bool)
        t, b, l, r = self.pads
        self.pad_mask[:t] = self.pad_mask[h - b :] = True
        self.pad_mask[:, :l] = self.pad_mask[:, w - r :] = True
        finite = values[~self.pad_mask] if (~self.pad_mask).any() else values
        cm, self.norm, self.signed = style.value_scale(finite, role, vmin, vmax)  # signed -> diverging, centred at 0
        self.cmap = cm = cm.with_extremes(bad=(1, 1, 1, 0))
        self.image = CellImage(self._masked(values, mask), cm, self.norm, x0, y0)
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
        # structural zeros: white and dotted (the image leaves them transparent)
        self.structural_collection = None
        if self.structural.any() and not annotate:
            cells = [Rectangle((x0 + j, y0 + i), 1, 1) for i, j in zip(*np.nonzero(self.structural))]
            self.structural_collection = PatchCollection(
                cells, facecolor=style.STRUCTURAL_FILL, edgecolor=style.STRUCTURAL_HATCH_COLOR,
                hatch=style.STRUCTURAL_HATCH, linewidth=0, zorder=2,
            )
            self.structural_collection.set_gid(f"convviz:{name}:structural")
            ax.add_artist(self.structural_collection)
        # cell lines and the role-coloured border: one collection (cheap to draw and to add)
        lw = (0.6 if max(h, w) <= 24 else 0.3) * max(S, 0.5)
        segs = [((x0, y0 + i), (x0 + w, y0 + i)) for i in range(1, h)]
        segs += [((x0 + j, y0), (x0 + j, y0 + h)) for j in range(1, w)]
        colors, widths = [style.GRID_LINE] * len(segs), [lw] * len(segs)
        segs += [((x0, y0), (x0 + w, y0)), ((x0 + w, y0), (x0 + w, y0 + h)), ((x0 + w, y0 + h), (x0, y0 + h)), ((x0, y0 + h), (x0, y0))]
        colors += [style.COLORS.get(role, role)] * 4
        widths += [1.4 * max(S, 0.5)] * 4
        lines = LineCollection(segs, colors=colors, linewidths=widths, zorder=3, capstyle="projecting")
        lines.set_gid(f"convviz:{name}:lines")
        ax.add_artist(lines)
        label_dy = 0.0
        self.index_labels = []
        if col_labels is not None:
            label_dy = 0.5
            lay = LabelLayer([(x0 + j + 0.5, y0 - 0.12) for j in range(len(col_labels))], LABEL_PT * S * B, va="bottom")
            lay.set_labels(col_labels, [style.INDEX_TEXT] * len(col_labels))
            ax.add_artist(lay)
            self.index_labels.append(lay)
        if row_labels is not None:
            lay = LabelLayer([(x0 - 0.12, y0 + i + 0.5) for i in range(len(row_labels))], LABEL_PT * S * B, ha="right")
            lay.set_labels(row_labels, [style.INDEX_TEXT] * len(row_labels))
            ax.add_artist(lay)
            self.index_labels.append(lay)
        self.title = None
        if title:
            self.title = FastText(ax, x0 + w / 2, y0 - 0.2 - label_dy, title, TITLE_PT, ha="center", va="bottom", weight="bold")
            self.title.set_gid(f"convviz:{name}:title")
        self.labels = None
        if annotate:
            fs = value_fontsize([fmt(v) for v in values.ravel()], VALUE_PT * B) * S
            centers = [(x0 + j + 0.5, y0 + i + 0.5) for i in range(h) for j in range(w)]
            self.labels = LabelLayer(centers, fs)
            self.labels.set_gid(f"convviz:{name}:labels")
            ax.add_artist(self.labels)
        self.values = values
        self.set_values(values, mask)

    def _masked(self, values, mask):
        m = self.pad_mask | self.structural
        if mask is not None:
            m = m | np.asarray(mask, bool)
        return np.ma.array(values, mask=m)

    def fill_colors(self, values=None):
        """RGBA (h, w, 4) of every cell as drawn: its scale's colour, padding grey, structural zeros white."""
        values = self.values if values is None else np.asarray(values, float)
        rgba = np.array(self.cmap(self.norm(np.ma.asarray(values))))
        rgba[self.pad_mask] = to_rgba(style.PADDING_FILL)
        rgba[self.structural] = to_rgba(style.STRUCTURAL_FILL)
        return rgba

    def set_values(self, values, mask=None):
        """Update colours and numbers (shape must not change)."""
        values = np.asarray(values, dtype=float)
        self.values = values
        self.mask = np.zeros(self.shape, bool) if mask is None else np.asarray(mask, bool)
        self.image.set_data(self._masked(values, mask))
        if self.labels is not None:
            strings, colors = [], []
            dark = _too_dark_for_text(self.fill_colors(values))
            for (i, j), v in np.ndenumerate(values):
                if self.mask[i, j]:
                    strings.append("")
                    colors.append(style.TEXT)
                    continue
                strings.append(style.STRUCTURAL_MARK if self.structural[i, j] else fmt(v))
                muted = (self.pad_mask[i, j] or self.structural[i, j] or (self.muted_zeros and v == 0)
                         or (self.muted is not None and self.muted[i, j]))
                colors.append(style.MUTED_TEXT if muted else ("#FFFFFF" if dark[i, j] else style.TEXT))
            self.labels.set_labels(strings, colors)

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
        """The numbers currently written in the cells (NaN where blank, 0 for a structural zero's "·")."""
        if self.labels is None:
            raise ValueError(f"grid {self.name!r} is not annotated")
        out = np.full(self.shape, np.nan)
        for n, s in enumerate(self.labels.strings):
            if s:
                out[divmod(n, self.shape[1])] = 0.0 if s == style.STRUCTURAL_MARK else float(s)
        return out




def _too_dark_for_text(rgba):
    """True where black numbers would have less than 4.5:1 contrast (see :func:`convviz.style.text_color`)."""
    c = np.asarray(rgba, float)[..., :3]
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lum = lin @ np.array([0.2126, 0.7152, 0.0722])
    return (lum + 0.05) / (style._luminance(style.TEXT) + 0.05) < 4.5


def row_title_width(lines, k: float = 1.0) -> float:
    """Room (cells) a row-axis title stacked as ``lines`` takes left of the row indices.

    Examples
    --------
    >>> row_title_width(["output", "pixel"]) > row_title_width(["y"]) > 0
    True
    """
    return max(text_cells(s, AXIS_PT) for s in lines) * k + 0.3


def draw_axis_titles(ax, grid, rows, cols, k: float, col_labels: bool, top=None):
    """Row-axis words stacked and centred left of ``grid``'s row indices, the
    column-axis line above the column indices (``col_labels``) or the top edge of
    ``top`` (a grid above ``grid`` sharing its columns; default ``grid``).  Returns the texts.

    Examples
    --------
    >>> from convviz.render.scene import new_figure
    >>> fig, ax = new_figure(10, 6)
    >>> g = Grid(ax, np.eye(2), 4, 2, "kernel", row_labels=["0", "1"], col_labels=["0", "1"])
    >>> [t.get_text() for t in draw_axis_titles(ax, g, ["output", "y[p,q]"], "input pixel x[i,j]", 1.0, True)]
    ['output', 'y[p,q]', 'input pixel x[i,j]']
    """
    lab = max((label_width(lay.strings, boost_of(ax)) for lay in grid.index_labels if lay.ha == "right"), default=0.0)
    x = grid.x0 - lab - 0.1
    line_h = 0.5 * k
    y0 = grid.y0 + grid.height / 2 - (len(rows) - 1) * line_h / 2
    texts = [FastText(ax, x, y0 + n * line_h, s, AXIS_PT, ha="right") for n, s in enumerate(rows)]
    top = grid if top is None else top
    texts.append(FastText(ax, top.x0, top.y0 - (0.64 if col_labels else 0.12), cols, AXIS_PT, va="bottom"))
    for t in texts:
        t.set_gid(f"convviz:{grid.name}:axis")
    return texts


class Window:
    """The kernel's footprint on a grid: the bounding box of the (dilated)
    kernel, dashed when dilated, and an inset outline on every sampled cell
    (one collection, so moving it is cheap).

    ``g`` gives the kernel size and dilation; ``gid`` names the artists
    (``convviz:<gid>:window`` / ``:taps``).

    Examples
    --------
    >>> from convviz.geometry import conv_geometry
    >>> from convviz.render.scene import new_figure
    >>> fig, ax = new_figure(8, 8)
    >>> grid = Grid(ax, np.zeros((5, 5)), 1, 1, "input")
    >>> win = Window(ax, grid, conv_geometry((5, 5), (2, 2), dilation=2), "input")
    >>> win.move(1, 2); grid.cell_of(*win.box.get_xy()), win.box.get_width()
    ((1, 2), 3)
    """

    INSET = 0.08

    def __init__(self, ax, grid: Grid, g: ConvGeometry, gid: str):
        self.grid, self.kernel_hw, self.dilation = grid, g.kernel_hw, g.dilation
        eh, ew = g.span_hw
        dashed = g.dilation != (1, 1)
        self.box = rect(ax, grid.x0, grid.y0, ew, eh, role="highlight", lw=2.8, ls="--" if dashed else "-",
                        gid=f"convviz:{gid}:window")
        self.taps = PolyCollection([], facecolors="none", edgecolors=style.COLORS["kernel"],
                                   linewidths=1.7 * max(scale_of(ax), 0.5), zorder=5)
        self.taps.set_gid(f"convviz:{gid}:taps")
        ax.add_artist(self.taps)
        self.move(0, 0)

    def move(self, r0: int, c0: int):
        """Put the window's top-left corner on cell (r0, c0) of the grid."""
        (kh, kw), (dh, dw), e, grid = self.kernel_hw, self.dilation, self.INSET, self.grid
        self.box.set_xy((grid.x0 + c0, grid.y0 + r0))
        X, Y = np.meshgrid(grid.x0 + c0 + np.arange(kw) * dw, grid.y0 + r0 + np.arange(kh) * dh)
        X, Y = X.ravel() + e, Y.ravel() + e
        s = 1 - 2 * e
        verts = np.stack([np.stack([X, Y], 1), np.stack([X + s, Y], 1), np.stack([X + s, Y + s], 1), np.stack([X, Y + s], 1)], 1)
        self.taps.set_verts(verts)

    def set_visible(self, visible: bool):
        """Show or hide box and taps."""
        self.box.set_visible(visible)
        self.taps.set_visible(visible)

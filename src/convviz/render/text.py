"""Text drawn fast: cached Agg bitmaps of labels and lines (:class:`LabelLayer`,
:class:`FastText`) and the short number format of the cells (:func:`fmt`).

Matplotlib draws each ``Text`` artist separately (~0.2-0.5 ms each); a 7×7 grid
of numbers then costs more than the whole rest of a frame.  Here every distinct
string is rendered once by Agg and cached, and a frame pastes the cached
bitmaps -- same font, same pixels, ~50× faster.  Vector backends (PDF/SVG)
get ordinary text.
"""
from __future__ import annotations

import math
import re

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties

from .. import style
from .layout import TITLE_PT, text_scale_of

__all__ = ["fmt", "UnclippedArtist", "LabelLayer", "FastText", "draw_text"]


def fmt(v) -> str:
    """Short, exact-looking cell label: integers without decimals, else <= 2 decimals.

    Examples
    --------
    >>> fmt(3.0), fmt(-0.125), fmt(2.5), fmt(123.4), fmt(float("nan"))
    ('3', '-0.12', '2.5', '123', 'nan')
    """
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == round(v) and abs(v) < 1e6:
        return str(int(round(v)))
    if abs(v) >= 100:
        return f"{v:.0f}"
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


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


class UnclippedArtist(Artist):
    """Base of convviz's artists, which live in one axes spanning the figure: nothing to clip.

    Skipping the clip path also skips the cost ``Axes.add_artist`` pays to
    set it (a transform computation per artist, noticeable in widget rebuilds).

    Examples
    --------
    >>> UnclippedArtist().get_clip_on()
    False
    """

    def set_clip_path(self, path, transform=None):
        self._clippath = None

    def get_clip_on(self):
        return False


class LabelLayer(UnclippedArtist):
    """Many short centred labels drawn as one image.

    Matplotlib draws each Text artist separately (~0.2-0.5 ms each); a 7×7 grid
    of numbers then costs more than the whole rest of a frame.  Here every
    distinct label is rendered once by Agg and cached, and a frame pastes the
    cached bitmaps into one RGBA image -- same font, same pixels, ~50× faster.
    Other renderers (PDF/SVG) get ordinary text.

    ``xy``: one anchor (cells) per label; ``line`` keeps a fixed
    ascent/descent box (lines of text) instead of cropping to the ink.

    Examples
    --------
    >>> layer = LabelLayer([(0.5, 0.5), (1.5, 0.5)], 10.0)
    >>> layer.set_labels(["1", "2"], ["black", "black"]); layer.strings
    ['1', '2']
    """

    def __init__(self, xy, fontsize: float, weight: str = "normal", ha: str = "center", va: str = "center", family=None,
                 line: bool = False):
        super().__init__()
        self.ha, self.va, self.family, self.line = ha, va, family, line
        self.xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        self.strings = [""] * len(self.xy)
        self.colors = [style.TEXT] * len(self.xy)
        self.fontsize = fontsize
        self.weight = weight
        self.set_zorder(4)
        self.after = None  # FastText: the line this one follows
        self._text = None

    def set_labels(self, strings, colors):
        """One string and one colour per anchor (``""``: nothing drawn there)."""
        self.strings = list(strings)
        self.colors = list(colors)
        self.stale = True

    def draw(self, renderer):
        if not self.get_visible():
            return
        pts = self.axes.transData.transform(self.xy)
        after = self.after
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


class FastText(LabelLayer):
    """One line of text that changes often (captions, arithmetic): rendered once
    per distinct string and cached.  ``get_text``/``set_text`` like a Text.

    ``fontsize`` is in points at the reference size (scaled with the figure);
    ``after`` is another FastText: this line then starts three spaces after
    its end.

    Examples
    --------
    >>> from convviz.render.scene import new_figure
    >>> fig, ax = new_figure(6, 2)
    >>> t = FastText(ax, 0.3, 1, "step 1/9")
    >>> t.set_text("step 2/9"); t.get_text()
    'step 2/9'
    """

    def __init__(self, ax, x, y, s="", fontsize=9.0, ha="left", va="center", weight="normal", family=None, after=None):
        super().__init__([(x, y)], fontsize * text_scale_of(ax), weight=weight, ha=ha, va=va, family=family, line=True)
        self.after = after
        self.set_text(s)
        ax.add_artist(self)

    def set_text(self, s):
        """Show ``s`` (any object, as ``str``)."""
        self.set_labels([str(s)], [style.TEXT])

    def get_text(self) -> str:
        """The text shown."""
        return self.strings[0]


def draw_text(ax, x, y, s, fontsize=TITLE_PT, ha="left", va="center", fontweight="normal", family=None):
    """A cached-bitmap text line (:class:`FastText`) at ``(x, y)`` cells, scaled with the figure.

    Examples
    --------
    >>> from convviz.render.scene import new_figure
    >>> fig, ax = new_figure(4, 2)
    >>> draw_text(ax, 0.3, 1, "kernel", fontweight="bold").get_text()
    'kernel'
    """
    return FastText(ax, x, y, s, fontsize, ha=ha, va=va, weight=fontweight, family=family)

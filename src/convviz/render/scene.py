"""Figures and scenes: the figure in cell units with its captions and legend,
and the :class:`Scene` base class every picture derives from.

A *scene* computes its numbers with the core (validating every parameter
first), draws its artists once, and ``set_step`` only updates them -- which is
what makes the widgets and the animations cheap.
"""
from __future__ import annotations

import re

import io
from typing import Dict, Optional

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

from .. import style
from ..geometry import ConvGeometry
from .layout import (
    CAPTION_LINE_H,
    CAPTION_PT,
    CELL_IN,
    LEGEND_PT,
    LEGEND_ROW_H,
    LEGEND_SEP,
    MARGIN,
    REF_DPI,
    boost_of,
    legend_rows,
    swatch_width,
    legend_widths,
    scale_of,
    text_factor,
)
from .text import FastText, draw_text

__all__ = [
    "ConvFigure", "new_figure", "figure_png", "captions", "legend", "legend_roles", "geometry_caption", "resolved_params",
    "as_nchw", "Scene",
]


class ConvFigure(Figure):
    """A matplotlib Figure that also renders itself as PNG in Jupyter without pyplot.

    ``fig.convviz`` holds the artists tests and widgets need (grids, highlight
    rectangles, texts) and the scene that drew them.

    In Jupyter it displays as a PNG whose output metadata carries an ``alt``
    text (:meth:`alt_text`); the book's build (``_ext/convviz_alt.py``) writes
    it into the ``<img>``.

    Examples
    --------
    >>> fig, ax = new_figure(3, 2)
    >>> isinstance(fig, ConvFigure), fig._repr_png_()[:4]
    (True, b'\x89PNG')
    >>> data, meta = fig._repr_mimebundle_()
    >>> sorted(data), sorted(meta["image/png"])
    (['image/png', 'text/plain'], ['alt'])
    """

    convviz: Dict

    def _repr_png_(self):
        return figure_png(self, fast=False)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """PNG plus its alt text in the output metadata (IPython's (data, metadata) form)."""
        alt = self.alt_text()
        return {"image/png": self._repr_png_(), "text/plain": alt}, {"image/png": {"alt": alt}}

    def alt_text(self, limit: int = 400) -> str:
        """What the figure shows, for screen readers: its kind, then its titles and captions.

        ``fig.convviz["alt"]`` overrides it; numbers printed in cells are left out.

        Examples
        --------
        >>> from convviz.render import sliding_window
        >>> alt = sliding_window(np.ones((4, 4)), np.ones((3, 3)), step=0).alt_text()
        >>> alt.startswith("Sliding-window convolution."), "4×4 → 2×2" in alt
        (True, True)
        """
        handles = getattr(self, "convviz", None) or {}
        if handles.get("alt"):
            return handles["alt"]
        scene = handles.get("scene")
        kind = ALT_KINDS.get(type(scene).__name__, "Figure") if scene is not None else "Figure"
        seen, parts = set(), []
        texts = list(self.texts) + ([self._suptitle] if getattr(self, "_suptitle", None) else [])
        for ax in self.axes:
            texts += [ax.title, ax.xaxis.label, ax.yaxis.label] + [a for a in ax.get_children() if hasattr(a, "get_text")]
        for t in texts:
            try:
                s = " ".join(str(t.get_text()).split())
            except Exception:  # pragma: no cover - an artist whose text is not a string
                continue
            if not s or s in seen or _NUMBER.fullmatch(s):
                continue
            seen.add(s)
            parts.append(s)
        text = f"{kind}. " + "; ".join(parts)
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_NUMBER = re.compile(r"[-+−]?[\d.,·]*\d[\d.,]*|[·∑=×+−-]|")

#: the first words of each scene's alt text
ALT_KINDS = {
    "SlidingWindowScene": "Sliding-window convolution",
    "Im2colScene": "im2col: the windows of the input as the columns of a matrix, times the flattened kernel",
    "Col2imScene": "Transposed convolution as a scatter-add of kernel stamps (col2im)",
    "OverlapScene": "Overlap counts of a transposed convolution (how many stamps land on each output pixel)",
    "JacobianScene": "Jacobian of a convolution",
    "ConvMatrixScene": "Convolution matrix C",
}


def figure_png(fig: Figure, dpi: Optional[float] = None, fast: bool = True) -> bytes:
    """PNG bytes of a figure (at ``dpi``, default the figure's); ``fast`` trades size for speed (widgets).

    Examples
    --------
    >>> fig, ax = new_figure(3, 2)
    >>> figure_png(fig)[:4]
    b'\x89PNG'
    """
    buf = io.BytesIO()
    kw = {"pil_kwargs": {"compress_level": 1}} if fast else {}
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor="white", **kw)
    return buf.getvalue()


def new_figure(width_cells: float, height_cells: float, fig: Optional[Figure] = None, dpi: float = REF_DPI,
               scale: float = 1.0):
    """A figure of the given size in cells with one axes spanning it (y downwards).

    ``scale`` shrinks cells for wide layouts; text is scaled by
    ``REF_DPI / dpi`` and not by ``scale`` (see :func:`~convviz.render.layout.text_factor`;
    the top margin grows to keep titles inside).  A given ``fig`` is reused
    and keeps its dpi.

    Returns
    -------
    (figure, axes)

    Examples
    --------
    >>> fig, ax = new_figure(10, 5, dpi=100)
    >>> fig.get_size_inches().round(2).tolist(), [float(v) for v in ax.get_xlim()]
    ([3.6, 1.8], [0.0, 10.0])
    """
    if fig is not None:
        dpi = fig.dpi
    boost = REF_DPI / dpi
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


def captions(ax, y: float, geometry, split: bool, k: float = 1.0):
    """The fixed geometry line(s) and the step caption that changes.

    The step caption follows the last geometry line, or takes the next line
    when ``split`` (see :func:`~convviz.render.layout.caption_lines`).  ``y``
    is the top of the footer (the bottom of the panels).

    Returns
    -------
    (geometry, caption): the FastTexts of the last geometry line and of the step

    Examples
    --------
    >>> fig, ax = new_figure(12, 4)
    >>> geo, cap = captions(ax, 1.0, ["stride 1"], split=True)
    >>> geo.get_text(), cap.get_text()
    ('stride 1', '')
    """
    lines = [geometry] if isinstance(geometry, str) else list(geometry)
    y0 = y + (0.25 + 0.5 * CAPTION_LINE_H) * k
    for n, ln in enumerate(lines):
        geo = FastText(ax, MARGIN, y0 + n * CAPTION_LINE_H * k, ln, CAPTION_PT)
    y_last = y0 + (len(lines) - 1) * CAPTION_LINE_H * k
    if split:
        cap = FastText(ax, MARGIN, y_last + CAPTION_LINE_H * k, "", CAPTION_PT)
    else:
        cap = FastText(ax, MARGIN, y_last, "", CAPTION_PT, after=geo)
    return geo, cap


def legend_roles(grids, *, padding=False, structural=False, highlight=True):
    """The legend entries of a figure, from what it draws (nothing listed that is not drawn).

    ``grids``: ``(role, signed)`` of every grid the figure draws.  A role whose
    grids are all signed shows only its border colour (its fill is the signed
    scale): it goes into ``outlined``; any signed grid adds the ``"signed"``
    entry.  Then padding, structural zeros and the current-step outline when drawn.

    Returns
    -------
    (roles, outlined): the list for :func:`legend` / ``footer_height`` and the set of outlined roles

    Examples
    --------
    >>> legend_roles([("input", False), ("kernel", True)], highlight=False)
    (['input', 'kernel', 'signed'], {'kernel'})
    """
    roles, signed_of = [], {}
    for role, signed in grids:
        if role not in signed_of:
            roles.append(role)
            signed_of[role] = True
        signed_of[role] = signed_of[role] and bool(signed)
    any_signed = any(bool(s) for _, s in grids)
    roles += (["signed"] if any_signed else []) + (["padding"] if padding else []) + (["structural"] if structural else [])
    roles += ["highlight"] if highlight else []
    return roles, {r for r, s in signed_of.items() if s}


def legend(fig, roles, outlined=()):
    """The book's colour legend, centred along the bottom edge.

    Wrapped into rows when the figure is narrow (reserve them with
    :func:`~convviz.render.layout.footer_height`).  Drawn with plain patches
    and texts in cell units (a matplotlib Legend costs more to draw than a
    whole grid, and the widgets redraw often).

    Roles in ``outlined`` get a white swatch with the role's border (their
    grids are signed: the border is all of the role's colour they show);
    ``"signed"`` is three squares of the diverging scale (negative, 0,
    positive), ``"structural"`` the dotted white of structural zeros.  Use
    :func:`legend_roles` to list only what a figure draws.

    Returns
    -------
    list of the swatches and labels

    Examples
    --------
    >>> fig, ax = new_figure(12, 3)
    >>> [a.get_gid() for a in legend(fig, ["input", "padding"])][::2]
    ['convviz:legend:input', 'convviz:legend:padding']
    """
    ax = fig.axes[0]
    x_max, y_max = ax.get_xlim()[1], ax.get_ylim()[0]
    k = text_factor(scale_of(ax), boost_of(ax))
    gap, sh, sep = 0.22 * k, 0.36 * k, LEGEND_SEP * k
    rows = legend_rows(roles, x_max - 2 * MARGIN, k)
    artists = []
    lw = max(scale_of(ax), 0.5)
    for n, row in enumerate(rows):
        widths = legend_widths(row, k)
        x = (x_max - (sum(widths) + sep * (len(row) - 1))) / 2
        y = y_max - (0.15 + (len(rows) - n - 0.5) * LEGEND_ROW_H) * k
        for r, wd in zip(row, widths):
            sw = swatch_width(r, k)
            if r == "padding":
                p = Rectangle((x, y - sh / 2), sw, sh, facecolor=style.PADDING_FILL, edgecolor=style.PADDING_HATCH_COLOR,
                              hatch=style.PADDING_HATCH, linewidth=0.8 * lw)
            elif r == "structural":  # white with the dot the cells show
                p = Rectangle((x, y - sh / 2), sw, sh, facecolor=style.STRUCTURAL_FILL, edgecolor=style.GRID_LINE,
                              linewidth=0.8 * lw)
                dot = Circle((x + sw / 2, y), 0.05 * k, facecolor=style.MUTED_TEXT, edgecolor="none", zorder=3)
                dot.set_gid("convviz:legend:structural:dot")
                ax.add_artist(dot)
                artists.append(dot)
            elif r == "highlight" or r in outlined:
                p = Rectangle((x, y - sh / 2), sw, sh, facecolor="white", edgecolor=style.COLORS[r],
                              linewidth=(2.2 if r == "highlight" else 1.5) * lw)
            elif r == "signed":  # negative, 0, positive: three squares of the diverging scale
                third = sw / 3
                for n, c in enumerate((style.DIVERGING(0.0), style.DIVERGING(0.5), style.DIVERGING(1.0))):
                    sq = Rectangle((x + n * third, y - sh / 2), third, sh, facecolor=c, edgecolor=style.GRID_LINE,
                                   linewidth=0.6 * lw)
                    sq.set_gid(f"convviz:legend:{r}:{n}")
                    ax.add_artist(sq)
                    artists.append(sq)
                p = Rectangle((x, y - sh / 2), sw, sh, fill=False, edgecolor=style.GRID_LINE, linewidth=0.8 * lw)
            elif r == "channels":  # im2col_orders: the first channels' hues
                for n, c in enumerate(style.CHANNEL_HUES[:3]):
                    sq = Rectangle((x + n * sw / 3, y - sh / 2), sw / 3, sh, facecolor=c, edgecolor="white", linewidth=0.6 * lw)
                    sq.set_gid(f"convviz:legend:{r}:{n}")
                    ax.add_artist(sq)
                    artists.append(sq)
                p = Rectangle((x, y - sh / 2), sw, sh, fill=False, edgecolor="none", linewidth=0)
            elif r == "windows":  # im2col's links: the first hues of the windows' palette
                for n, c in enumerate(style.WINDOW_HUES[:3]):
                    bar = Rectangle((x + (n + 0.15) * sw / 3, y - sh / 2), 0.7 * sw / 3, sh, fill=False, edgecolor=c,
                                    linewidth=1.6 * lw)
                    bar.set_gid(f"convviz:legend:{r}:{n}")
                    ax.add_artist(bar)
                    artists.append(bar)
                p = Rectangle((x, y - sh / 2), sw, sh, fill=False, edgecolor="none", linewidth=0)
            else:
                p = Rectangle((x, y - sh / 2), sw, sh, facecolor=style.FILL[r], edgecolor=style.COLORS[r], linewidth=1.3 * lw)
            p.set_gid(f"convviz:legend:{r}")
            ax.add_artist(p)
            artists.append(p)
            artists.append(draw_text(ax, x + sw + gap, y, style.LABELS[r], LEGEND_PT, ha="left", va="center"))
            x += wd + sep
    return artists


def _short(pair_):
    """``3`` for ``(3, 3)``, the pair otherwise."""
    return pair_[0] if pair_[0] == pair_[1] else pair_


def geometry_caption(g: ConvGeometry, transposed: bool = False) -> str:
    """The geometry line of a caption: stride, padding, (output_padding,) dilation and the sizes.

    ``transposed``: ``g`` is a :func:`~convviz.geometry.transpose_geometry`,
    whose input is ``g.out_hw`` and output ``g.in_hw``.

    Examples
    --------
    >>> from convviz.geometry import conv_geometry, transpose_geometry
    >>> geometry_caption(conv_geometry((5, 5), (3, 3), stride=2, padding=1))
    'stride 2, padding 1, dilation 1: 5×5 → 3×3'
    >>> geometry_caption(transpose_geometry((2, 2), (3, 3), stride=2, padding=(0, 1, 0, 1)), transposed=True)
    'stride 2, padding (0, 1, 0, 1), output_padding 0, dilation 1: 2×2 → 4×4'
    """
    t, b, l, r = g.pads
    padding = t if len({t, b, l, r}) == 1 else g.pads
    extra = f", output_padding {_short(g.output_padding)}" if transposed else ""
    (src_h, src_w), (dst_h, dst_w) = (g.out_hw, g.in_hw) if transposed else (g.in_hw, g.out_hw)
    return (f"stride {_short(g.stride)}, padding {padding}{extra}, dilation {_short(g.dilation)}: "
            f"{src_h}×{src_w} → {dst_h}×{dst_w}")


def resolved_params(g: ConvGeometry, transposed: bool = False) -> dict:
    """``g``'s resolved stride, padding (top, bottom, left, right) and dilation (and
    output_padding when ``transposed``) as keywords for the core ops, so that they
    compute with the geometry a scene resolved once.

    Examples
    --------
    >>> from convviz.geometry import conv_geometry
    >>> resolved_params(conv_geometry((5, 5), (3, 3), stride=2, padding="same"))
    {'stride': (2, 2), 'padding': (1, 1, 1, 1), 'dilation': (1, 1)}
    """
    params = dict(stride=g.stride, padding=g.pads, dilation=g.dilation)
    if transposed:
        params["output_padding"] = g.output_padding
    return params


def as_nchw(a, name: str) -> np.ndarray:
    """(H, W) -> (1, 1, H, W); (C, H, W) -> (1, C, H, W); (N, C, H, W) unchanged.

    Examples
    --------
    >>> as_nchw(np.ones((2, 3, 3)), "x").shape
    (1, 2, 3, 3)
    """
    arr = np.asarray(a)
    if arr.ndim == 2:
        return arr[None, None]
    if arr.ndim == 3:
        return arr[None]
    if arr.ndim == 4:
        return arr
    raise ValueError(f"{name} must be (H, W), (C, H, W) or (N, C, H, W), got shape {arr.shape}")


class Scene:
    """Base class of every picture: compute in ``__init__`` (raising the
    core's ValueError), lay out and draw in :meth:`draw`, update in
    :meth:`set_step`.

    Subclasses implement ``draw`` (ending with :meth:`finish`) and ``_show``.

    Examples
    --------
    >>> from convviz.render import SlidingWindowScene
    >>> scene = SlidingWindowScene(np.ones((3, 3)), np.ones((2, 2)))
    >>> scene.n_steps, scene.normalise_step(-1), scene.normalise_step(None)
    (4, 3, None)
    >>> fig = scene.draw(); scene.set_step(2); scene.step
    2
    """

    n_steps: int = 1
    fig: Optional[Figure] = None
    step: Optional[int] = None
    dpi: float = REF_DPI  # the layout's display resolution when ``draw`` makes the figure (animations: theirs)

    def draw(self, fig: Optional[Figure] = None) -> Figure:  # pragma: no cover - abstract
        """Lay out and draw the scene (on ``fig``, reused, or a new figure); returns the figure."""
        raise NotImplementedError

    def layout_dpi(self, fig: Optional[Figure]) -> float:
        """The dpi to lay out for: the given figure's, else :attr:`dpi`."""
        return fig.dpi if fig is not None else self.dpi

    def finish(self, fig: Figure, handles: dict) -> Figure:
        """End of :meth:`draw`: publish ``handles`` (and the scene) as ``fig.convviz``, show the current step."""
        fig.convviz = {"scene": self, **handles}
        self.set_step(self.step)
        return fig

    def normalise_step(self, step: Optional[int]) -> Optional[int]:
        """``step`` in ``[0, n_steps)`` (negative counts from the end); ``None`` stays ``None``.

        Raises ``ValueError`` naming the allowed range for anything else.
        """
        if step is None:
            return None
        step = int(step)
        if not -self.n_steps <= step < self.n_steps:
            raise ValueError(f"step must be in [0, {self.n_steps - 1}], got {step}")
        return step % self.n_steps

    def set_step(self, step: Optional[int]):
        """Show step ``step`` (row-major, negative counts from the end); ``None``: the finished
        picture with no highlight.  Redraws nothing until the scene has a figure."""
        done = step is None
        self.step = self.normalise_step(step)
        if self.fig is not None:
            self._show(self.n_steps - 1 if done else self.step, done)

    def _show(self, t: int, done: bool):  # pragma: no cover - abstract
        """Update the artists for step ``t`` (``done``: no highlight)."""
        raise NotImplementedError

    def frames(self, max_frames: int = 36):
        """Steps to animate: all of them, or an even subsample that keeps the first and last."""
        n = self.n_steps
        if n <= max_frames:
            return list(range(n))
        return sorted(set(int(round(v)) for v in np.linspace(0, n - 1, max_frames)))

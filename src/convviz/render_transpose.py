"""Transposed convolution / input gradient as a col2im scatter-add, and the
overlap-count (checkerboard) map (chapter *Transposed convolution*).
Public entry points are re-exported by :mod:`convviz.render`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import ops
from .geometry import effective_kernel, pair
from .render_base import (
    TITLE_FS,
    FastText,
    Grid,
    Scene,
    animate,
    fit_scale,
    fmt,
    legend,
    new_figure,
    rect,
    text,
    text_cells,
    text_factor,
)
from .render_conv import ANNOTATE_MAX, GAP, M, TOP, VGAP, _WindowMixin, as_nchw

__all__ = ["Col2imScene", "OverlapScene", "col2im_scatter", "animate_transpose", "overlap_map", "animate_overlap"]

COLUMNS_MAX = 36  # the column matrix is drawn when it has at most this many columns


def _tdescribe(g, op, in_hw) -> str:
    s = g.stride if g.stride[0] != g.stride[1] else g.stride[0]
    d = g.dilation if g.dilation[0] != g.dilation[1] else g.dilation[0]
    t, b, l, r = g.pads
    p = t if len({t, b, l, r}) == 1 else g.pads
    o = op if op[0] != op[1] else op[0]
    return (
        f"stride {s}, padding {p}, output_padding {o}, dilation {d}: "
        f"{in_hw[0]}×{in_hw[1]} → {g.in_hw[0]}×{g.in_hw[1]}"
    )


class _CanvasGeometry:
    """Shared bookkeeping: the uncropped canvas and the running col2im sums."""

    def _setup_canvas(self, in_hw, kernel_hw, stride, padding, output_padding, dilation, output_size):
        self.g, self.op = ops.transpose_geometry(in_hw, kernel_hw, stride, padding, output_padding, dilation, output_size)
        (kh, kw), (sh, sw), (dh, dw) = self.g.kernel_hw, self.g.stride, self.g.dilation
        self.in_hw = tuple(in_hw)
        # canvas before output_padding: exactly what col2im with no padding produces
        self.full0 = ((in_hw[0] - 1) * sh + effective_kernel(kh, dh), (in_hw[1] - 1) * sw + effective_kernel(kw, dw))
        self.full = (self.full0[0] + self.op[0], self.full0[1] + self.op[1])
        self.L = in_hw[0] * in_hw[1]
        self.n_steps = self.L

    def _fold(self, cols, upto):
        """col2im of columns 0..upto onto the full canvas (output_padding rows appended, empty)."""
        keep = (np.arange(self.L) <= upto).astype(float)
        canvas = ops.col2im(cols * keep, self.full0, self.g.kernel_hw, self.g.stride, 0, self.g.dilation)[0]
        return np.pad(canvas, ((0, self.op[0]), (0, self.op[1])))

    def _crop(self, canvas):
        t, b, l, r = self.g.pads
        return canvas[t : self.full[0] - b, l : self.full[1] - r]

    def _decorate_canvas(self, ax, grid):
        """Dashed outline of the kept region, dotted outline of the output_padding strip."""
        t, b, l, r = self.g.pads
        fh, fw = self.full
        keep = rect(ax, grid.x0 + l, grid.y0 + t, fw - l - r, fh - t - b, role="output", lw=2.2, ls="--", zorder=5.5,
                    gid=f"convviz:{grid.name}:crop")
        keep.set_visible(any(self.g.pads))
        extra = []
        oph, opw = self.op
        if oph:
            extra.append(rect(ax, grid.x0, grid.y0 + self.full0[0], fw, oph, role="output", lw=1.6, ls=":", zorder=5.5,
                              gid=f"convviz:{grid.name}:output_padding"))
        if opw:
            extra.append(rect(ax, grid.x0 + self.full0[1], grid.y0, opw, fh, role="output", lw=1.6, ls=":", zorder=5.5,
                              gid=f"convviz:{grid.name}:output_padding"))
        return keep, extra


class Col2imScene(_CanvasGeometry, _WindowMixin, Scene):
    """Transposed convolution as scatter-add: column ``l`` of ``w^T @ x`` (the
    kernel scaled by ``x_l``) is reshaped to a k×k patch and added into the
    canvas; an overlap map counts how many patches landed on each pixel; the
    output is the canvas cropped by ``padding`` (``output_padding`` adds
    rows/columns at the bottom/right).

    Numbers: :func:`convviz.col2im` for every running canvas and count,
    :func:`convviz.conv_transpose2d` for validation and the final result.
    """

    def __init__(self, x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None, *, role="input",
                 annotate=None, columns=None):
        """``role="gradient"``: x is dL/dy and the result dL/dx (purple instead of blue/teal)."""
        if role not in ("input", "gradient"):
            raise ValueError(f"role must be 'input' or 'gradient', got {role!r}")
        X, W = as_nchw(x, "x"), as_nchw(w, "w")
        y = ops.conv_transpose2d(X, W, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation,
                                 output_size=output_size)  # validates everything
        if X.shape[:2] != (1, 1) or W.shape[:2] != (1, 1):
            raise ValueError(
                "col2im_scatter draws one channel: x must be (H, W) and w (kh, kw) (or 4-D with N = C_in = C_out = 1), "
                f"got x {X.shape} and w {W.shape}"
            )
        self.role = role
        self.sym = "x" if role == "input" else "g"
        self.x, self.w = X[0, 0].astype(float), W[0, 0].astype(float)
        self.result = y[0, 0]
        self._setup_canvas(self.x.shape, self.w.shape, stride, padding, output_padding, dilation, output_size)
        # the GEMM of the adjoint: w_flat^T (K x 1) @ x_flat (1 x L); column l = x_l * w
        self.cols = self.w.reshape(1, -1).T @ self.x.reshape(1, -1)
        self.ones = np.ones_like(self.cols)
        self.final_canvas = self._fold(self.cols, self.L)
        self.final_counts = self._fold(self.ones, self.L)
        K = self.cols.shape[0]
        self.show_columns = (self.L <= COLUMNS_MAX and K <= 25) if columns is None else bool(columns)
        self.annotate = max(self.full) <= ANNOTATE_MAX + 2 if annotate is None else bool(annotate)
        self.fig = None
        self.step = None

    def draw(self, fig=None):
        (hi, wi), (kh, kw), (fh, fw) = self.x.shape, self.w.shape, self.full
        oh, ow = self.result.shape
        K, L = self.cols.shape
        t, b, l, r = self.g.pads
        v = self.sym
        x_title = "x (input)" if self.role == "input" else "g = dL/dy (gradient)"
        patch_title = f"patch = {v}[0,0]·w"
        col_title = f"columns = wᵀ·{v}  ({K}×{L})"
        o_role = "gradient" if self.role == "gradient" else "output"  # the input gradient is a gradient too
        titles2 = ["canvas: Σ patches", "overlap count", f"output ({oh}×{ow})" if o_role == "output" else f"dL/dx ({oh}×{ow})"]
        caption = _tdescribe(self.g, self.op, self.in_hw)
        k = 1.0
        for _ in range(4):  # text grows relative to cells when cells shrink: iterate to a fixed point
            tc = lambda s_, fs=TITLE_FS: text_cells(s_, fs) * k  # noqa: E731
            widths1 = [max(wi, tc(x_title)), max(kw, tc("kernel w")), max(kw, tc(patch_title))]
            if self.show_columns:
                widths1.append(max(L, tc(col_title)) + 0.6)
            widths2 = [max(fw, tc(titles2[0])) + 0.9, max(fw, tc(titles2[1])) + 0.9, max(ow, tc(titles2[2]))]
            xs1 = np.cumsum([M + 0.5] + [w_ + GAP for w_ in widths1[:-1]])
            xs2 = np.cumsum([M + 0.9] + [w_ + GAP for w_ in widths2[:-1]])
            width = max(xs1[-1] + widths1[-1], xs2[-1] + widths2[-1], tc(caption + "   step 00/00: x[0,0] = 0.00 → rows 00..00", 9.0)) + M
            scale = fit_scale(width)
            if text_factor(scale) <= k + 1e-6:
                break
            k = text_factor(scale)
        h1 = max(hi, kh, K if self.show_columns else 0)
        y2 = TOP + h1 + VGAP * k + 0.3
        bottom = y2 + max(fh, oh)
        height = bottom + 2.1 * k
        annotate = self.annotate and scale >= 0.5
        fig, ax = new_figure(width, height, fig, scale=scale)
        self.fig, self.ax = fig, ax
        r = self.role
        self.xgrid = Grid(ax, self.x, xs1[0] + (widths1[0] - wi) / 2, TOP, r, title=x_title, annotate=annotate, name="x")
        self.kgrid = Grid(ax, self.w, xs1[1] + (widths1[1] - kw) / 2, TOP, "kernel", title="kernel w", annotate=scale >= 0.45, name="kernel")
        span = float(np.abs(self.cols).max()) or 1.0
        self.patch = Grid(ax, self.cols[:, 0].reshape(kh, kw), xs1[2] + (widths1[2] - kw) / 2, TOP, o_role,
                          annotate=annotate, vmin=-span if self.cols.min() < 0 else 0, vmax=span, name="patch")
        self.patch_title = FastText(ax, self.patch.x0 + kw / 2, TOP - 0.2, patch_title, TITLE_FS, ha="center", va="bottom",
                                    weight="bold")
        self.xcell = rect(ax, self.xgrid.x0, self.xgrid.y0, 1, 1, lw=3.0, gid="convviz:x:current")
        self.columns = self.colrect = None
        if self.show_columns:
            self.columns = Grid(
                ax, self.cols, xs1[3] + 0.6, TOP, o_role, annotate=annotate and L <= 25,
                vmin=self.patch.image.norm.vmin, vmax=span, name="columns",
                row_labels=[f"{i},{j}" for i in range(kh) for j in range(kw)] if annotate else None,
            )
            text(ax, xs1[3] + 0.6, TOP - 0.2, col_title, TITLE_FS, ha="left", va="bottom", fontweight="bold")
            self.colrect = rect(ax, self.columns.x0, TOP, 1, K, lw=2.6, gid="convviz:columns:column")
        lab_r = [str(i - t) for i in range(fh)] if annotate else None
        lab_c = [str(j - l) for j in range(fw)] if annotate else None
        cmin, cmax = float(min(self.final_canvas.min(), 0)), float(self.final_canvas.max())
        self.canvas = Grid(ax, self.final_canvas, xs2[0], y2, o_role, title=titles2[0], annotate=annotate, pads=self.g.pads,
                           row_labels=lab_r, col_labels=lab_c, vmin=cmin, vmax=cmax, name="canvas", muted_zeros=True)
        self.counts = Grid(ax, self.final_counts, xs2[1], y2, "overlap", title=titles2[1], annotate=annotate, pads=self.g.pads,
                           row_labels=lab_r, col_labels=lab_c, vmin=0, vmax=float(self.final_counts.max()), name="overlap",
                           muted_zeros=True)
        self.out = Grid(ax, self.result, xs2[2] + (widths2[2] - ow) / 2, y2, o_role, title=titles2[2], annotate=annotate,
                        vmin=cmin, vmax=cmax, name="output",
                        row_labels=[str(i) for i in range(oh)] if annotate else None,
                        col_labels=[str(j) for j in range(ow)] if annotate else None)
        self.crop_rects = [self._decorate_canvas(ax, self.canvas), self._decorate_canvas(ax, self.counts)]
        self.foot = [self._make_window(ax, self.canvas, "canvas"), self._make_window(ax, self.counts, "overlap")]
        self.geometry = FastText(ax, M, bottom + 0.55 * k, caption, 9.0)
        self.caption = FastText(ax, M, bottom + 0.55 * k, "", 9.0, after=self.geometry)
        roles = list(dict.fromkeys([r, "kernel", o_role, "overlap"])) + (["padding"] if any(self.g.pads) else []) + ["highlight"]
        legend(fig, roles)
        fig.convviz = {
            "scene": self, "x": self.xgrid, "kernel": self.kgrid, "patch": self.patch, "patch_title": self.patch_title, "columns": self.columns,
            "canvas": self.canvas, "overlap": self.counts, "output": self.out, "current": self.xcell,
            "column": self.colrect, "footprint": [f[0] for f in self.foot], "crop": [c[0] for c in self.crop_rects],
            "caption": self.caption, "geometry": self.geometry,
        }
        self.set_step(self.step)
        return fig

    def dynamic_artists(self):
        """Artists ``set_step`` changes (the widgets redraw only these)."""
        arts = [self.xcell, self.caption, self.patch_title] + self.patch.artists()
        if self.columns is not None:
            arts += self.columns.artists() + [self.colrect]
        for grid in (self.canvas, self.counts, self.out):
            arts += grid.artists()
        for keep, extra in self.crop_rects:
            arts += [keep] + extra
        for box, taps in self.foot:
            arts += [box, taps]
        return arts

    def set_step(self, step: Optional[int]):
        """Canvas after adding patches ``0..step`` (row-major over x); ``None``: all, no highlight."""
        done = step is None
        s = self._norm_step(step)
        self.step = None if done else s
        if self.fig is None:
            return
        (hi, wi), (kh, kw) = self.x.shape, self.w.shape
        (sh, sw) = self.g.stride
        i, j = divmod(s, wi)
        canvas = self._fold(self.cols, s)
        counts = self._fold(self.ones, s)
        self.canvas.set_values(canvas)
        self.counts.set_values(counts)
        self.out.set_values(self._crop(canvas))
        self.patch.set_values(self.cols[:, s].reshape(kh, kw))
        self.patch_title.set_text(f"patch = {self.sym}[{i},{j}]·w")
        self.xcell.set_xy(self.xgrid.cell_xy(i, j))
        self.xcell.set_visible(not done)
        if self.columns is not None:
            self.columns.set_values(self.cols, np.broadcast_to(np.arange(self.L) > s, self.cols.shape))
            self.colrect.set_x(self.columns.x0 + s)
            self.colrect.set_visible(not done)
        for grid, (box, taps) in zip((self.canvas, self.counts), self.foot):
            self._move_window(grid, box, taps, i * sh, j * sw)
            box.set_visible(not done)
            taps.set_visible(not done)
        dh, dw = self.g.dilation
        r0, c0 = i * sh - self.g.pads[0], j * sw - self.g.pads[2]
        r1, c1 = r0 + dh * (kh - 1), c0 + dw * (kw - 1)
        if done:
            where = "all patches added; output = canvas cropped by padding"
        else:
            where = f"step {s + 1}/{self.n_steps}: {self.sym}[{i},{j}] = {fmt(self.x[i, j])} → rows {r0}..{r1}, cols {c0}..{c1}"
        self.caption.set_text(where)


class OverlapScene(_CanvasGeometry, _WindowMixin, Scene):
    """How many k×k patches land on each output pixel of a transposed convolution:
    ``col2im(ones)``.  Uneven counts (kernel size not a multiple of the stride)
    are the checkerboard artifacts of strided transposed convolutions."""

    def __init__(self, kernel_size, stride, input_size, padding=0, output_padding=0, dilation=1, output_size=None, *, annotate=None):
        k = pair(kernel_size, "kernel_size")
        hw = pair(input_size, "input_size")
        self._setup_canvas(hw, k, stride, padding, output_padding, dilation, output_size)
        self.ones = np.ones((k[0] * k[1], self.L))
        self.final_counts = self._fold(self.ones, self.L)
        self.annotate = max(self.full) <= 2 * ANNOTATE_MAX if annotate is None else bool(annotate)
        self.fig = None
        self.step = None

    def draw(self, fig=None):
        (fh, fw) = self.full
        t, b, l, r = self.g.pads
        cropped = self._crop(self.final_counts)
        oh, ow = cropped.shape
        titles = ["overlap count (canvas)", f"inside the output ({oh}×{ow})"]
        w0 = max(fw, text_cells(titles[0], TITLE_FS)) + 0.9
        w1 = max(ow, text_cells(titles[1], TITLE_FS))
        x0, x1 = M + 0.9, M + 0.9 + w0 + GAP
        bottom = TOP + max(fh, oh)
        caption = _tdescribe(self.g, self.op, self.in_hw)
        width = max(x1 + w1, text_cells(caption, 9.0), text_cells("counts inside the output: 0..0 — uneven → checkerboard artifacts", 9.0)) + M
        scale = fit_scale(width)
        k = text_factor(scale)
        height = bottom + 2.6 * k
        annotate = self.annotate and scale >= 0.45
        fig, ax = new_figure(width, height, fig, scale=scale)
        self.fig, self.ax = fig, ax
        vmax = float(self.final_counts.max())
        lab_r = [str(i - t) for i in range(fh)] if annotate else None
        lab_c = [str(j - l) for j in range(fw)] if annotate else None
        self.counts = Grid(ax, self.final_counts, x0, TOP, "overlap", title=titles[0], annotate=annotate, pads=self.g.pads,
                           row_labels=lab_r, col_labels=lab_c, vmin=0, vmax=vmax, name="overlap", muted_zeros=True)
        self.out = Grid(ax, cropped, x1 + (w1 - ow) / 2, TOP, "overlap", title=titles[1], annotate=annotate, vmin=0, vmax=vmax,
                        name="output", muted_zeros=True)
        self.crop_rect = self._decorate_canvas(ax, self.counts)
        self.foot = self._make_window(ax, self.counts, "overlap")
        lo, hi = int(cropped.min()), int(cropped.max())
        verdict = "uniform: no checkerboard" if lo == hi else "uneven → checkerboard artifacts"
        self.stats = text(ax, M, bottom + 0.55 * k, f"counts inside the output: {lo}..{hi} — {verdict}", 9.0, ha="left", va="center")
        self.geometry = FastText(ax, M, bottom + 1.2 * k, caption, 9.0)
        self.caption = FastText(ax, M, bottom + 1.2 * k, "", 9.0, after=self.geometry)
        legend(fig, ["overlap"] + (["padding"] if any(self.g.pads) else []) + ["highlight"])
        fig.convviz = {"scene": self, "overlap": self.counts, "output": self.out, "footprint": self.foot[0],
                       "crop": self.crop_rect[0], "stats": self.stats, "caption": self.caption,
                       "geometry": self.geometry}
        self.set_step(self.step)
        return fig

    def dynamic_artists(self):
        keep, extra = self.crop_rect
        return self.counts.artists() + self.out.artists() + [keep] + extra + list(self.foot) + [self.caption]

    def set_step(self, step: Optional[int]):
        done = step is None
        s = self._norm_step(step)
        self.step = None if done else s
        if self.fig is None:
            return
        counts = self._fold(self.ones, s)
        self.counts.set_values(counts)
        self.out.set_values(self._crop(counts))
        i, j = divmod(s, self.in_hw[1])
        box, taps = self.foot
        self._move_window(self.counts, box, taps, i * self.g.stride[0], j * self.g.stride[1])
        box.set_visible(not done)
        taps.set_visible(not done)
        where = "all patches" if done else f"step {s + 1}/{self.n_steps}: patch of input pixel ({i},{j})"
        self.caption.set_text(where)


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def col2im_scatter(x, w, stride=1, padding=0, output_padding=0, dilation=1, step=None, *, output_size=None, role="input",
                   annotate=None):
    """Transposed convolution (or the input gradient, ``role="gradient"``) as
    col2im scatter-add (chapter *Transposed convolution*).

    Shows ``x``, the kernel, the current patch ``x[i,j]·w`` (column ``step`` of
    ``wᵀ·x``), the running canvas with the patch footprint, the running overlap
    count and the cropped output.  Padding to crop is hatched, the kept region
    dashed, ``output_padding`` rows/columns dotted.  ``step=None``: all patches
    added (the output then equals ``conv_transpose2d``).  ``x``: (H, W);
    ``w``: (kh, kw) (4-D with singleton channels accepted).
    """
    scene = Col2imScene(x, w, stride, padding, output_padding, dilation, output_size, role=role, annotate=annotate)
    scene.step = None if step is None else scene._norm_step(step)
    return scene.draw()


def animate_transpose(x, w, stride=1, padding=0, output_padding=0, dilation=1, *, output_size=None, role="input", fps=2,
                      dpi=80, max_frames=36):
    """Every scatter-add step of :func:`col2im_scatter` as a self-contained JS animation (<= 1 MB)."""
    scene = Col2imScene(x, w, stride, padding, output_padding, dilation, output_size, role=role)
    scene.step = 0
    scene.draw()
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)


def overlap_map(kernel_size, stride, input_size, padding=0, output_padding=0, dilation=1, step=None, *, output_size=None,
                annotate=None):
    """Overlap counts ``col2im(ones)`` of a transposed convolution: the checkerboard
    picture (chapter *Transposed convolution*).  ``input_size`` is the transposed
    convolution's input size (int or (H, W)); ``step`` shows the first ``step + 1``
    patches only."""
    scene = OverlapScene(kernel_size, stride, input_size, padding, output_padding, dilation, output_size, annotate=annotate)
    scene.step = None if step is None else scene._norm_step(step)
    return scene.draw()


def animate_overlap(kernel_size, stride, input_size, padding=0, output_padding=0, dilation=1, *, output_size=None, fps=3,
                    dpi=80, max_frames=36):
    """The overlap counts accumulating patch by patch (self-contained JS, <= 1 MB)."""
    scene = OverlapScene(kernel_size, stride, input_size, padding, output_padding, dilation, output_size)
    scene.step = 0
    scene.draw()
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)

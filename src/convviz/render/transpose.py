"""Transposed convolution / input gradient as a col2im scatter-add, and the
overlap-count (checkerboard) map (chapter *Transposed convolution*).
"""
from __future__ import annotations

import numpy as np

from .. import ops, style
from ..geometry import ConvGeometry, effective_kernel, transpose_geometry
from ..validate import operands, pair
from .animation import animate
from .grid import ANNOTATE_MAX, Grid, Window, rect
from .layout import (
    CAPTION_LINE_H,
    CAPTION_PT,
    MARGIN,
    TARGET_PX,
    TITLE_PT,
    Panel,
    caption_lines,
    caption_width,
    fit_layout,
    flow_best,
    footer_height,
    text_cells,
    wrap_words,
)
from .scene import Scene, as_nchw, captions, geometry_caption, legend, legend_roles, new_figure, resolved_params
from .text import FastText, draw_text, fmt

__all__ = ["ScatterCanvas", "Col2imScene", "OverlapScene", "col2im_scatter", "animate_transpose", "overlap_map",
           "animate_overlap", "interior_range"]

COLUMNS_MAX = 36  # the column matrix is drawn when it has at most this many columns


class ScatterCanvas:
    """The uncropped canvas of a transposed convolution and its running col2im sums.

    ``g`` comes from :func:`~convviz.geometry.transpose_geometry`; the canvas
    is what col2im with no padding produces (``uncropped_hw``) plus the
    ``output_padding`` rows/columns (``full_hw``); the output is the canvas
    cropped by the padding.

    Examples
    --------
    >>> canvas = ScatterCanvas(transpose_geometry((2, 2), (3, 3), stride=2, padding=1, output_padding=1))
    >>> canvas.uncropped_hw, canvas.full_hw, canvas.n_patches
    ((5, 5), (6, 6), 4)
    >>> canvas.crop(canvas.fold(np.ones((9, 4)), 3)).shape
    (4, 4)
    """

    def __init__(self, g: ConvGeometry):
        self.g = g
        (kh, kw), (sh, sw), (dh, dw) = g.kernel_hw, g.stride, g.dilation
        hi, wi = g.out_hw  # the transposed convolution's input
        self.uncropped_hw = ((hi - 1) * sh + effective_kernel(kh, dh), (wi - 1) * sw + effective_kernel(kw, dw))
        self.full_hw = (self.uncropped_hw[0] + g.output_padding[0], self.uncropped_hw[1] + g.output_padding[1])
        self.n_patches = hi * wi

    def fold(self, cols, upto: int) -> np.ndarray:
        """col2im of columns ``0..upto`` onto the full canvas (output_padding rows appended, empty)."""
        keep = (np.arange(self.n_patches) <= upto).astype(float)
        g = self.g
        canvas = ops.col2im(cols * keep, self.uncropped_hw, g.kernel_hw, g.stride, 0, g.dilation)[0]
        return np.pad(canvas, ((0, g.output_padding[0]), (0, g.output_padding[1])))

    def crop(self, canvas) -> np.ndarray:
        """The output: ``canvas`` without the padding."""
        t, b, l, r = self.g.pads
        return canvas[t : self.full_hw[0] - b, l : self.full_hw[1] - r]

    def decorate(self, ax, grid):
        """Dashed outline of the kept region, dotted outline of the output_padding strip.

        Returns (kept region, [output_padding outlines]).
        """
        t, b, l, r = self.g.pads
        fh, fw = self.full_hw
        keep = rect(ax, grid.x0 + l, grid.y0 + t, fw - l - r, fh - t - b, role="output", lw=2.2, ls="--", zorder=5.5,
                    gid=f"convviz:{grid.name}:crop")
        keep.set_visible(any(self.g.pads))
        extra = []
        oph, opw = self.g.output_padding
        if oph:
            extra.append(rect(ax, grid.x0, grid.y0 + self.uncropped_hw[0], fw, oph, role="output", lw=1.6, ls=":",
                              zorder=5.5, gid=f"convviz:{grid.name}:output_padding"))
        if opw:
            extra.append(rect(ax, grid.x0 + self.uncropped_hw[1], grid.y0, opw, fh, role="output", lw=1.6, ls=":",
                              zorder=5.5, gid=f"convviz:{grid.name}:output_padding"))
        return keep, extra


class Col2imScene(Scene):
    """Transposed convolution as scatter-add: column ``l`` of ``w^T @ x`` (the
    kernel scaled by ``x_l``) is reshaped to a k×k patch and added into the
    canvas; an overlap map counts how many patches landed on each pixel; the
    output is the canvas cropped by ``padding`` (``output_padding`` adds
    rows/columns at the bottom/right).

    Numbers: :func:`convviz.col2im` for every running canvas and count,
    :func:`convviz.conv_transpose2d` for validation and the final result.
    ``role="gradient"``: x is dL/dy and the result dL/dx (purple instead of
    blue/teal; titles, patch label and captions say dL/dy).

    Examples
    --------
    >>> scene = Col2imScene(np.ones((2, 2)), np.ones((3, 3)), stride=2, padding=1, output_padding=1)
    >>> scene.g.output_padding, scene.scatter.full_hw, scene.result.shape
    ((1, 1), (6, 6), (4, 4))
    """

    def __init__(self, x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None, *, role="input",
                 annotate=None, columns=None):
        if role not in ("input", "gradient"):
            raise ValueError(f"role must be 'input' or 'gradient', got {role!r}")
        X, W = as_nchw(x, "x"), as_nchw(w, "w")
        operands(X, W, transposed=True)  # the core's checks, with its messages
        self.g = transpose_geometry(X.shape[2:], W.shape[2:], stride=stride, padding=padding, output_padding=output_padding,
                                    dilation=dilation, output_size=output_size)
        y = ops.conv_transpose2d(X, W, **resolved_params(self.g, transposed=True))
        if X.shape[:2] != (1, 1) or W.shape[:2] != (1, 1):
            raise ValueError(
                "col2im_scatter draws one channel: x must be (H, W) and w (kh, kw) (or 4-D with N = C_in = C_out = 1), "
                f"got x {X.shape} and w {W.shape}"
            )
        self.role = role
        self.sym = "x" if role == "input" else "dL/dy"  # what one patch is scaled by
        self.x, self.w = X[0, 0].astype(float), W[0, 0].astype(float)
        self.result = y[0, 0]
        self.scatter = ScatterCanvas(self.g)
        self.n_steps = self.scatter.n_patches
        # the GEMM of the adjoint: w_flat^T (K x 1) @ x_flat (1 x L); column l = x_l * w
        self.cols = self.w.reshape(1, -1).T @ self.x.reshape(1, -1)
        self.ones = np.ones_like(self.cols)
        self.final_canvas = self.scatter.fold(self.cols, self.n_steps)
        self.final_counts = self.scatter.fold(self.ones, self.n_steps)
        n_taps, n_patches = self.cols.shape
        self.show_columns = (n_patches <= COLUMNS_MAX and n_taps <= 25) if columns is None else bool(columns)
        self.annotate = max(self.scatter.full_hw) <= ANNOTATE_MAX + 2 if annotate is None else bool(annotate)

    def _panels(self, fit, annotate):
        """The panels in reading order: what is scattered (x, kernel, patch, columns),
        then where it lands (canvas, overlap count, cropped output)."""
        (hi, wi), (kh, kw), (fh, fw) = self.x.shape, self.w.shape, self.scatter.full_hw
        oh, ow = self.result.shape
        n_taps, n_patches = self.cols.shape
        t = self.g.pads[0]
        v = self.sym
        lab_r = [str(i - t) for i in range(fh)] if annotate else None
        lab_o = [str(i) for i in range(oh)] if annotate else None
        first = [
            Panel.titled("x", wi, hi, self.x_title, fit),
            Panel.titled("kernel", kw, kh, "kernel w", fit),
            Panel.titled("patch", kw, kh, f"patch = {v}[{hi - 1},{wi - 1}]·w", fit),
        ]
        if self.show_columns:
            rl = [f"{i},{j}" for i in range(kh) for j in range(kw)] if annotate else None
            first.append(Panel.titled("columns", n_patches, n_taps, self.col_title, fit, labels=rl, centred=False))
        second = [
            Panel.titled("canvas", fw, fh, self.titles2[0], fit, labels=lab_r),
            Panel.titled("overlap", fw, fh, self.titles2[1], fit, labels=lab_r),
            Panel.titled("output", ow, oh, self.titles2[2], fit, labels=lab_o),
        ]
        return [first, second]

    def _flow(self, fit, annotate):
        groups = self._panels(fit, annotate)
        width, bottom, _ = flow_best(groups, fit)
        return width, (groups, bottom)

    def draw(self, fig=None):
        (hi, wi), (kh, kw), (fh, fw) = self.x.shape, self.w.shape, self.scatter.full_hw
        oh, ow = self.result.shape
        n_taps, n_patches = self.cols.shape
        t, b, l, r = self.g.pads
        v = self.sym
        self.x_title = "x (input)" if self.role == "input" else "dL/dy (gradient)"
        self.col_title = f"columns = wᵀ·{v}  ({n_taps}×{n_patches})"
        o_role = "gradient" if self.role == "gradient" else "output"  # the input gradient is a gradient too
        self.titles2 = ["canvas: Σ patches", "overlap count", f"output ({oh}×{ow})" if o_role == "output" else f"dL/dx ({oh}×{ow})"]
        dpi = self.layout_dpi(fig)
        width, (groups, bottom), fit, annotate = fit_layout(self._flow, dpi, self.annotate, min_scale=0.5)
        scale, k = fit.scale, fit.k
        P = {p.key: p for grp in groups for p in grp}
        caption = geometry_caption(self.g, transposed=True)
        width = caption_width(width, caption, fit)
        cmin = float(min(self.final_canvas.min(), 0))
        roles, outlined = legend_roles(
            [(self.role, style.is_signed(self.x)), ("kernel", style.is_signed(self.w)), (o_role, self.cols.min() < 0),
             (o_role, cmin < 0), ("overlap", False)],
            padding=any(self.g.pads), highlight=self.step is not None)
        longest = f"step {self.n_steps}/{self.n_steps}: {v}[{hi - 1},{wi - 1}] = {max((fmt(a) for a in self.x.ravel()), key=len)}" \
                  f" → rows {fh}..{fh}, cols {fw}..{fw}"
        geo, split = caption_lines(width, caption, max(longest, "all patches added; output = canvas cropped by padding", key=len), k)
        height = bottom + footer_height(len(geo) + split, roles, width, k)
        fig, ax = new_figure(width, height, fig, dpi=dpi, scale=scale)
        self.fig, self.ax = fig, ax
        r = self.role
        self.xgrid = Grid(ax, self.x, P["x"].x, P["x"].y, r, title=self.x_title, annotate=annotate, name="x")
        self.kgrid = Grid(ax, self.w, P["kernel"].x, P["kernel"].y, "kernel", title="kernel w", annotate=scale >= 0.45, name="kernel")
        span = float(np.abs(self.cols).max()) or 1.0
        pp = P["patch"]
        self.patch = Grid(ax, self.cols[:, 0].reshape(kh, kw), pp.x, pp.y, o_role,
                          annotate=annotate, vmin=-span if self.cols.min() < 0 else 0, vmax=span, name="patch")
        self.patch_title = FastText(ax, pp.x + kw / 2, pp.y - 0.2, f"patch = {v}[0,0]·w", TITLE_PT, ha="center", va="bottom",
                                    weight="bold")
        self.xcell = rect(ax, self.xgrid.x0, self.xgrid.y0, 1, 1, lw=3.0, gid="convviz:x:current")
        self.columns = self.colrect = None
        if self.show_columns:
            pc = P["columns"]
            self.columns = Grid(
                ax, self.cols, pc.x, pc.y, o_role, annotate=annotate and n_patches <= 25,
                vmin=self.patch.image.norm.vmin, vmax=span, name="columns",
                row_labels=[f"{i},{j}" for i in range(kh) for j in range(kw)] if annotate else None,
            )
            draw_text(ax, pc.x, pc.y - 0.2, self.col_title, TITLE_PT, ha="left", va="bottom", fontweight="bold")
            self.colrect = rect(ax, self.columns.x0, pc.y, 1, n_taps, lw=2.6, gid="convviz:columns:column")
        lab_r = [str(i - t) for i in range(fh)] if annotate else None
        lab_c = [str(j - l) for j in range(fw)] if annotate else None
        cmax = float(self.final_canvas.max())
        pv, po, pu = P["canvas"], P["overlap"], P["output"]
        self.canvas = Grid(ax, self.final_canvas, pv.x, pv.y, o_role, title=self.titles2[0], annotate=annotate, pads=self.g.pads,
                           row_labels=lab_r, col_labels=lab_c, vmin=cmin, vmax=cmax, name="canvas", muted_zeros=True)
        self.counts = Grid(ax, self.final_counts, po.x, po.y, "overlap", title=self.titles2[1], annotate=annotate, pads=self.g.pads,
                           row_labels=lab_r, col_labels=lab_c, vmin=0, vmax=float(self.final_counts.max()), name="overlap",
                           muted_zeros=True)
        self.out = Grid(ax, self.result, pu.x, pu.y, o_role, title=self.titles2[2], annotate=annotate,
                        vmin=cmin, vmax=cmax, name="output",
                        row_labels=[str(i) for i in range(oh)] if annotate else None,
                        col_labels=[str(j) for j in range(ow)] if annotate else None)
        self.crop_rects = [self.scatter.decorate(ax, self.canvas), self.scatter.decorate(ax, self.counts)]
        self.windows = [Window(ax, self.canvas, self.g, "canvas"), Window(ax, self.counts, self.g, "overlap")]
        self.geometry, self.caption = captions(ax, bottom, geo, split, k)
        legend(fig, roles, outlined)
        return self.finish(fig, {
            "x": self.xgrid, "kernel": self.kgrid, "patch": self.patch, "patch_title": self.patch_title,
            "columns": self.columns, "canvas": self.canvas, "overlap": self.counts, "output": self.out,
            "current": self.xcell, "column": self.colrect, "footprint": [win.box for win in self.windows],
            "crop": [c[0] for c in self.crop_rects], "caption": self.caption, "geometry": self.geometry,
        })

    def _show(self, s: int, done: bool):
        """Canvas after adding patches ``0..step`` (row-major over x); ``None``: all, no highlight."""
        wi, (kh, kw) = self.x.shape[1], self.w.shape
        (sh, sw) = self.g.stride
        i, j = divmod(s, wi)
        canvas = self.scatter.fold(self.cols, s)
        counts = self.scatter.fold(self.ones, s)
        self.canvas.set_values(canvas)
        self.counts.set_values(counts)
        self.out.set_values(self.scatter.crop(canvas))
        self.patch.set_values(self.cols[:, s].reshape(kh, kw))
        self.patch_title.set_text(f"patch = {self.sym}[{i},{j}]·w")
        self.xcell.set_xy(self.xgrid.cell_xy(i, j))
        self.xcell.set_visible(not done)
        if self.columns is not None:
            self.columns.set_values(self.cols, np.broadcast_to(np.arange(self.n_steps) > s, self.cols.shape))
            self.colrect.set_x(self.columns.x0 + s)
            self.colrect.set_visible(not done)
        for win in self.windows:
            win.move(i * sh, j * sw)
            win.set_visible(not done)
        dh, dw = self.g.dilation
        r0, c0 = i * sh - self.g.pads[0], j * sw - self.g.pads[2]
        r1, c1 = r0 + dh * (kh - 1), c0 + dw * (kw - 1)
        if done:
            where = "all patches added; output = canvas cropped by padding"
        else:
            where = f"step {s + 1}/{self.n_steps}: {self.sym}[{i},{j}] = {fmt(self.x[i, j])} → rows {r0}..{r1}, cols {c0}..{c1}"
        self.caption.set_text(where)


def interior_range(i: int, k: int, s: int, d: int = 1):
    """Canvas positions (one axis, before cropping) that every kernel position which
    could cover them does cover: from ``d(k-1)+1 - s`` (the first windows start at
    0) to ``i*s - 1`` (the last window starts at ``(i-1)*s``).  Empty (lo > hi) when
    the input is too small to have such cells.

    Examples
    --------
    >>> interior_range(4, 3, 2)
    (1, 7)
    """
    return max(0, effective_kernel(k, d) - s), i * s - 1


class OverlapScene(Scene):
    """How many k×k patches land on each output pixel of a transposed convolution:
    ``col2im(ones)``.  Uneven counts in the *interior* (kernel size not a multiple
    of the stride) are the checkerboard artifacts of strided transposed
    convolutions; the border always gets fewer patches, so it is not judged.

    Examples
    --------
    >>> scene = OverlapScene(3, 2, 4)
    >>> scene.uniform, scene.judged_on, scene.interior, scene.inner_counts[:2, :3].tolist()
    (False, 'interior', (1, 7, 1, 7), [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0]])
    """

    def __init__(self, kernel_size, stride, input_size, padding=0, output_padding=0, dilation=1, output_size=None, *, annotate=None):
        k = pair(kernel_size, "kernel_size")
        hw = pair(input_size, "input_size")
        self.g = transpose_geometry(hw, k, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation,
                                    output_size=output_size)
        self.scatter = ScatterCanvas(self.g)
        self.n_steps = self.scatter.n_patches
        self.ones = np.ones((k[0] * k[1], self.n_steps))
        self.final_counts = self.scatter.fold(self.ones, self.n_steps)
        self.annotate = max(self.scatter.full_hw) <= 2 * ANNOTATE_MAX if annotate is None else bool(annotate)
        # the interior, in canvas cells: rows r0..r1, columns c0..c1
        (kh, kw), (sh, sw), (dh, dw) = self.g.kernel_hw, self.g.stride, self.g.dilation
        (r0, r1), (c0, c1) = interior_range(hw[0], kh, sh, dh), interior_range(hw[1], kw, sw, dw)
        self.interior = (r0, r1, c0, c1)
        if r0 <= r1 and c0 <= c1:
            inner = self.final_counts[r0 : r1 + 1, c0 : c1 + 1]
            self.judged_on = "interior"
        else:  # too small to have an interior: judge a larger input with the same kernel and stride
            big = [max(n, -(-effective_kernel(kk, dd) // ss) + 2) for n, kk, ss, dd in zip(hw, (kh, kw), (sh, sw), (dh, dw))]
            larger = ScatterCanvas(transpose_geometry(big, k, stride=self.g.stride, dilation=self.g.dilation))
            counts = larger.fold(np.ones((kh * kw, larger.n_patches)), larger.n_patches)
            (a0, a1), (b0, b1) = interior_range(big[0], kh, sh, dh), interior_range(big[1], kw, sw, dw)
            inner = counts[a0 : a1 + 1, b0 : b1 + 1]
            self.judged_on = "larger input"
        self.inner_counts = inner
        self.uniform = bool(inner.min() == inner.max())

    def _stats_text(self):
        """(verdict sentence, explanation): the verdict looks at the interior only."""
        lo, hi = int(self.inner_counts.min()), int(self.inner_counts.max())
        if self.uniform:
            verdict = f"interior counts: all {lo} — uniform overlap"
        else:
            verdict = f"interior counts: {lo}..{hi} — uneven → checkerboard artifacts"
        if self.judged_on == "interior":
            t, l = self.g.pads[0], self.g.pads[2]
            r0, r1, c0, c1 = self.interior
            return (verdict,
                    f"Judged on the interior (dash-dotted: rows {r0 - t}..{r1 - t}, cols {c0 - l}..{c1 - l}), the cells away "
                    "from the border that the full set of kernel positions reaches; border cells always get fewer patches."
                    + (" Uniform overlap is not the absence of a checkerboard: unequal weights can still alternate."
                       if self.uniform else ""))
        return (verdict + " (on a larger input)",
                "This input is too small to have an interior (cells reached by the full set of kernel positions): "
                "every cell is a border cell, and border cells always get fewer patches.")

    def draw(self, fig=None):
        (fh, fw) = self.scatter.full_hw
        t, b, l, r = self.g.pads
        cropped = self.scatter.crop(self.final_counts)
        oh, ow = cropped.shape
        self.same = not any(self.g.pads) and self.g.output_padding == (0, 0)  # the output is the whole canvas: one grid
        titles = [f"overlap count = output ({oh}×{ow})" if self.same else "overlap count (canvas)", f"inside the output ({oh}×{ow})"]
        caption = geometry_caption(self.g, transposed=True)
        verdict, why = self._stats_text()

        def build(fit, annotate):
            k = fit.k
            lab_r = [str(i - t) for i in range(fh)] if annotate else None
            panels = [Panel.titled("overlap", fw, fh, titles[0], fit, labels=lab_r)]
            if not self.same:
                panels.append(Panel.titled("output", ow, oh, titles[1], fit))
            width, bottom, _ = flow_best([panels], fit)
            # captions wrap to the figure; a small grid still gets a readable text column
            width = max(width, min(text_cells(why, CAPTION_PT) * k + 2 * MARGIN, fit.cells(TARGET_PX)),
                        text_cells(caption, CAPTION_PT) * k + 2 * MARGIN,
                        text_cells(verdict, CAPTION_PT, bold=True) * k + 2 * MARGIN)
            return width, (panels, bottom)

        dpi = self.layout_dpi(fig)
        width, (panels, bottom), fit, annotate = fit_layout(build, dpi, self.annotate, min_scale=0.45)
        scale, k = fit.scale, fit.k
        P = {p.key: p for p in panels}
        stats_lines = [verdict] + wrap_words(why, (width - 2 * MARGIN) / k, CAPTION_PT)
        roles, outlined = legend_roles([("overlap", False)], padding=any(self.g.pads), highlight=self.step is not None)
        hi, wi = self.g.out_hw
        geo, split = caption_lines(width, caption, f"step {self.n_steps}/{self.n_steps}: patch of input pixel ({hi - 1},{wi - 1})", k)
        n_stats = len(stats_lines)
        height = bottom + footer_height(n_stats + len(geo) + split, roles, width, k)
        fig, ax = new_figure(width, height, fig, dpi=dpi, scale=scale)
        self.fig, self.ax = fig, ax
        vmax = float(self.final_counts.max())
        lab_r = [str(i - t) for i in range(fh)] if annotate else None
        lab_c = [str(j - l) for j in range(fw)] if annotate else None
        po = P["overlap"]
        self.counts = Grid(ax, self.final_counts, po.x, po.y, "overlap", title=titles[0], annotate=annotate, pads=self.g.pads,
                           row_labels=lab_r, col_labels=lab_c, vmin=0, vmax=vmax, name="overlap", muted_zeros=True)
        if self.same:
            self.out = self.counts
        else:
            pu = P["output"]
            self.out = Grid(ax, cropped, pu.x, pu.y, "overlap", title=titles[1], annotate=annotate, vmin=0, vmax=vmax,
                            name="output", muted_zeros=True)
        self.crop_rect = self.scatter.decorate(ax, self.counts)
        r0, r1, c0, c1 = self.interior
        self.interior_rect = rect(ax, self.counts.x0 + c0, self.counts.y0 + r0, max(c1 - c0 + 1, 0), max(r1 - r0 + 1, 0),
                                  role="overlap", lw=2.0, ls="-.", zorder=5.4, gid="convviz:overlap:interior")
        self.interior_rect.set_visible(self.judged_on == "interior")
        self.window = Window(ax, self.counts, self.g, "overlap")
        y = bottom + (0.25 + 0.5 * CAPTION_LINE_H) * k
        self.stats_lines = [draw_text(ax, MARGIN, y + n * CAPTION_LINE_H * k, ln, CAPTION_PT, ha="left", va="center",
                                      fontweight="bold" if n == 0 else "normal")
                            for n, ln in enumerate(stats_lines)]
        self.stats = self.stats_lines[0]
        self.geometry, self.caption = captions(ax, bottom + n_stats * CAPTION_LINE_H * k, geo, split, k)
        legend(fig, roles, outlined)
        return self.finish(fig, {
            "overlap": self.counts, "output": self.out, "footprint": self.window.box, "crop": self.crop_rect[0],
            "interior": self.interior_rect, "stats": self.stats,
            "stats_text": " ".join(line.get_text() for line in self.stats_lines),
            "caption": self.caption, "geometry": self.geometry,
        })

    def _show(self, s: int, done: bool):
        counts = self.scatter.fold(self.ones, s)
        self.counts.set_values(counts)
        if self.out is not self.counts:
            self.out.set_values(self.scatter.crop(counts))
        i, j = divmod(s, self.g.out_hw[1])
        self.window.move(i * self.g.stride[0], j * self.g.stride[1])
        self.window.set_visible(not done)
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
    ``wᵀ·x``; with ``role="gradient"`` x is the upstream gradient and the patch
    ``dL/dy[i,j]·w``), the running canvas with the patch footprint, the running
    overlap count and the cropped output (``dL/dx`` for the gradient).  Panels
    wrap onto rows to fit the book's text column.  Padding to crop is hatched,
    the kept region dashed, ``output_padding`` rows/columns dotted.

    Parameters
    ----------
    x : array_like, (H, W) (4-D with singleton batch and channels accepted)
    w : array_like, (kh, kw) (likewise)
    stride, padding, output_padding, dilation, output_size : as for :func:`convviz.conv_transpose2d`
    step : int or None, patches ``0..step`` added (``None``: all, the output then equals ``conv_transpose2d``)
    role : "input" or "gradient"
    annotate : bool, optional, numbers in the cells

    Returns
    -------
    ConvFigure
        ``fig.convviz`` holds ``x``, ``kernel``, ``patch``, ``columns``, ``canvas``, ``overlap``,
        ``output``, the ``current`` input cell, the ``footprint`` and ``crop`` outlines

    Examples
    --------
    >>> fig = col2im_scatter(np.ones((2, 2)), np.ones((3, 3)), stride=2, step=0)
    >>> fig.convviz["canvas"].text_values()[0].tolist()
    [1.0, 1.0, 1.0, 0.0, 0.0]
    """
    scene = Col2imScene(x, w, stride, padding, output_padding, dilation, output_size, role=role, annotate=annotate)
    scene.step = scene.normalise_step(step)
    return scene.draw()


def animate_transpose(x, w, stride=1, padding=0, output_padding=0, dilation=1, *, output_size=None, role="input", fps=2,
                      dpi=80, max_frames=36):
    """Every scatter-add step of :func:`col2im_scatter` as a self-contained JS animation (<= 1 MB).

    Parameters
    ----------
    x, w, stride, padding, output_padding, dilation, output_size, role : as for :func:`col2im_scatter`
    fps, dpi, max_frames : as for :func:`~convviz.render.animation.animate`

    Returns
    -------
    Animation
        one frame per input pixel (patch added)

    Examples
    --------
    >>> animate_transpose(np.ones((2, 2)), np.ones((2, 2)), stride=2, dpi=40).n_frames
    4
    """
    scene = Col2imScene(x, w, stride, padding, output_padding, dilation, output_size, role=role)
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)


def overlap_map(kernel_size, stride, input_size, padding=0, output_padding=0, dilation=1, step=None, *, output_size=None,
                annotate=None):
    """Overlap counts ``col2im(ones)`` of a transposed convolution: the checkerboard
    picture (chapter *Transposed convolution*).

    The caption's verdict (uniform / uneven) looks at the interior only
    (outlined dash-dotted: the cells every kernel position that could reach
    them does reach), because border cells always get fewer patches; without
    padding the output is the whole canvas and one grid is drawn.

    Parameters
    ----------
    kernel_size, stride : int or (h, w)
    input_size : int or (H, W), the transposed convolution's input size
    padding, output_padding, dilation, output_size : as for :func:`convviz.conv_transpose2d`
    step : int or None, show the first ``step + 1`` patches only
    annotate : bool, optional, numbers in the cells

    Returns
    -------
    ConvFigure
        ``fig.convviz`` holds the ``overlap`` and ``output`` grids, the ``interior`` outline and the
        ``stats`` verdict

    Examples
    --------
    >>> fig = overlap_map(3, 2, 4)
    >>> fig.convviz["stats"].get_text()
    'interior counts: 1..4 — uneven → checkerboard artifacts'
    """
    scene = OverlapScene(kernel_size, stride, input_size, padding, output_padding, dilation, output_size, annotate=annotate)
    scene.step = scene.normalise_step(step)
    return scene.draw()


def animate_overlap(kernel_size, stride, input_size, padding=0, output_padding=0, dilation=1, *, output_size=None, fps=3,
                    dpi=80, max_frames=36):
    """The overlap counts accumulating patch by patch (self-contained JS, <= 1 MB).

    Parameters
    ----------
    kernel_size, stride, input_size, padding, output_padding, dilation, output_size : as for :func:`overlap_map`
    fps, dpi, max_frames : as for :func:`~convviz.render.animation.animate`

    Returns
    -------
    Animation
        one frame per patch

    Examples
    --------
    >>> animate_overlap(2, 2, 2, dpi=40).n_frames
    4
    """
    scene = OverlapScene(kernel_size, stride, input_size, padding, output_padding, dilation, output_size)
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)

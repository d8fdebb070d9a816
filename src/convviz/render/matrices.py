"""Jacobian tensors and the matrix C of y = C x (chapters *Gradients of
convolution and transposed convolution* and *Transposed convolution*).
"""
from __future__ import annotations

import numpy as np

from .. import ops, style
from ..geometry import conv_geometry, transpose_geometry
from ..jacobian import conv_matrix, jacobian, transpose_matrix
from ..validate import shape4
from .animation import animate
from .grid import AXIS_H, AXIS_PT, Grid, draw_axis_titles, rect, row_title_width
from .layout import (
    CAPTION_LINE_H,
    CAPTION_PT,
    MARGIN,
    SUBTITLE_PT,
    TITLE_PT,
    TOP_MARGIN,
    Panel,
    fit_layout,
    flow_best,
    footer_height,
    label_width,
    text_cells,
)
from .scene import Scene, legend, legend_roles, new_figure
from .text import FastText, draw_text

__all__ = ["JacobianScene", "ConvMatrixScene", "jacobian_grids", "animate_jacobian", "conv_matrix_figure", "animate_conv_matrix"]

OPERATIONS = ("conv2d", "conv_transpose2d")


def _operation_name(op) -> str:
    """The name of a core operation given as function or name."""
    name = getattr(op, "__name__", op)
    if name not in OPERATIONS:
        raise ValueError(f"op must be conv2d or conv_transpose2d (function or name), got {op!r}")
    return name


def _labels(shape):
    """'i,j' (or 'n,c,i,j') for every element of ``shape`` in row-major order."""
    return [",".join(str(int(v)) for v in idx) for idx in np.ndindex(*shape)]


_AXES = {  # what the rows / columns of a matrix index: (words, symbol)
    "output": (("output", "pixel"), "y"),
    "input": (("input", "pixel"), "x"),
    "kernel": (("kernel", "weight"), "w"),
}


def _axis_index(kind, shape):
    """``y[p,q]`` (or ``y[n,c,p,q]``) for what a matrix axis of ``shape`` indexes."""
    sym = _AXES[kind][1]
    ij = "p,q" if kind == "output" else "i,j"
    return f"{sym}[{ij}]" if len(shape) == 2 else f"{sym}[n,c,{ij}]"


def axis_titles(row_kind, row_shape, col_kind, col_shape):
    """The titles of a matrix's axes: the words stacked left of the row indices,
    and the one line above the column indices.

    Examples
    --------
    >>> axis_titles("output", (2, 2), "input", (3, 3))
    (['output', 'pixel', 'y[p,q]'], 'input pixel x[i,j]')
    """
    rows = list(_AXES[row_kind][0]) + [_axis_index(row_kind, row_shape)]
    cols = " ".join(_AXES[col_kind][0]) + " " + _axis_index(col_kind, col_shape)
    return rows, cols


def structural_zeros(op, x_shape, w_shape, wrt="input", **params):
    """True where a Jacobian entry is zero *because the output does not read that
    input* (or weight): the Jacobian of ``op`` at all-ones ``x`` and ``w`` is zero
    there (every term is a product of ones, so nothing cancels).

    Examples
    --------
    >>> structural_zeros("conv2d", (3, 3), (2, 2))[0, 0].astype(int).tolist()
    [[0, 0, 1], [0, 0, 1], [1, 1, 1]]
    """
    return jacobian(_operation_name(op), np.ones(x_shape), np.ones(w_shape), wrt=wrt, **params) == 0


class _CaptionedScene(Scene):
    """A step caption on one line, or two when the figure is narrow (the matrix pictures)."""

    def _new_figure(self, fig, fit, width: float, bottom: float, longest: str, roles):
        """The figure for panels ``width`` x ``bottom`` cells, with room for the captions
        (two lines when ``longest`` does not fit one) and the legend.

        Returns (figure, axes, split, annotate): numbers in the cells unless they shrink below 0.45.
        """
        split = _needs_split(longest, width, fit.k)
        height = bottom + footer_height(2 if split else 1, roles, width, fit.k)
        fig, ax = new_figure(width, height, fig, dpi=fit.dpi, scale=fit.scale)
        self.fig, self.ax = fig, ax
        return fig, ax, split, self.annotate and fit.scale >= 0.45

    def _draw_captions(self, ax, bottom: float, split: bool, k: float):
        self.caption = FastText(ax, MARGIN, bottom + (0.25 + 0.5 * CAPTION_LINE_H) * k, "", CAPTION_PT)
        self.caption2 = FastText(ax, MARGIN, bottom + (0.25 + 1.5 * CAPTION_LINE_H) * k, "", CAPTION_PT) if split else None

    def _set_caption(self, msg: str, extra: str):
        """``msg``, then ``extra`` (on the second line when there is one)."""
        if self.caption2 is not None:  # narrow figure: the extra on its own line
            self.caption.set_text(msg)
            self.caption2.set_text(extra)
        else:
            self.caption.set_text(msg + (";  " + extra if extra else ""))


def _needs_split(longest: str, width: float, k: float) -> bool:
    """True when the longest caption does not fit one line of a figure ``width`` cells wide."""
    return text_cells(longest, CAPTION_PT) * k > width - 2 * MARGIN


class JacobianScene(_CaptionedScene):
    """One small grid per output element: ``J[p, q]`` = d y[p,q] / d x (or d w),
    laid out like ``tape.jacobian(y, x)`` prints it, plus the flattened matrix
    ``C = J.reshape(n_out, n_in)`` (``y = C x``) and its transpose.

    Numbers: :func:`convviz.jacobian`.  Steps walk over the output elements.

    Examples
    --------
    >>> scene = JacobianScene("conv2d", np.ones((3, 3)), np.ones((2, 2)))
    >>> scene.J.shape, scene.jacobian_matrix.shape, scene.n_steps
    ((2, 2, 3, 3), (4, 9), 4)
    """

    def __init__(self, op, x, w, wrt="input", highlight=None, *, matrix=True, transpose=True, annotate=None, **params):
        name = _operation_name(op)
        J = jacobian(name, x, w, wrt=wrt, **params)  # validates everything
        y = getattr(ops, name)(np.asarray(x, float), np.asarray(w, float), **params)
        S = structural_zeros(name, np.shape(x), np.shape(w), wrt, **params)
        if J.ndim == 8:
            n, o, ho, wo, a, b, h, w_ = J.shape
            if n != 1 or o != 1 or a != 1 or b != 1:
                raise ValueError(
                    f"jacobian_grids draws single-channel examples: got a Jacobian of shape {J.shape}; "
                    "use 2-D x and w (or 4-D with singleton batch and channels)"
                )
            J = J[0, 0, :, :, 0, 0]
            S = S[0, 0, :, :, 0, 0]
            y = y[0, 0]
        self.name, self.wrt, self.J, self.y = name, wrt, J, y
        self.structural = S  # entries the output does not read (drawn white, dotted)
        self.out_hw, self.in_hw = J.shape[:2], J.shape[2:]
        self.n_out, self.n_in = int(np.prod(self.out_hw)), int(np.prod(self.in_hw))
        self.jacobian_matrix = J.reshape(self.n_out, self.n_in)  # C, with y = C·x
        self.structural_matrix = S.reshape(self.n_out, self.n_in)
        self.sym = "x" if wrt == "input" else "w"
        self.show_matrix, self.show_transpose = bool(matrix), bool(transpose)
        self.entry = None
        self.n_steps = self.n_out
        self.step = None
        if highlight is not None:
            flat = []
            for v in highlight if isinstance(highlight, (tuple, list)) else [highlight]:
                flat.extend(v if isinstance(v, (tuple, list)) else [v])
            if len(flat) not in (2, 4) or not all(isinstance(v, (int, np.integer)) for v in flat):
                raise ValueError(f"highlight must be (p, q) or ((p, q), (i, j)), got {highlight!r}")
            p, q = flat[:2]
            if not (0 <= p < self.out_hw[0] and 0 <= q < self.out_hw[1]):
                raise ValueError(f"highlight output index ({p}, {q}) is outside the output shape {self.out_hw}")
            self.step = int(p * self.out_hw[1] + q)
            if len(flat) == 4:
                i, j = flat[2:]
                if not (0 <= i < self.in_hw[0] and 0 <= j < self.in_hw[1]):
                    raise ValueError(f"highlight {self.sym} index ({i}, {j}) is outside the shape {self.in_hw}")
                self.entry = (int(p), int(q), int(i), int(j))
        self.annotate = max(self.n_in, self.n_out) <= 49 if annotate is None else bool(annotate)

    def _panels(self, fit):
        (ho, wo), (ih, iw) = self.out_hw, self.in_hw
        k, B = fit.k, fit.boost
        sym = self.sym
        tw = lambda s_: text_cells(s_, TITLE_PT, bold=True) * k  # noqa: E731
        self.cell_w = max(iw, text_cells(f"∂y[{ho - 1},{wo - 1}]/∂{sym}", SUBTITLE_PT) * k)
        blk_w = wo * self.cell_w + (wo - 1) * self.hgap
        blk_h = ho * ih + (ho - 1) * self.vgap
        panels = [Panel("J", blk_w, blk_h, 0.0, max(0.0, tw(self.head) - blk_w))]
        col_w = lambda s_: text_cells(s_, AXIS_PT) * k  # noqa: E731
        if self.show_matrix:
            rows, cols = self.axes_C
            panels.append(Panel("C", self.n_in, self.n_out + AXIS_H * k,
                                label_width(_labels(self.out_hw), B) + row_title_width(rows, k),
                                max(0.0, tw(self.matrix_title) - self.n_in, col_w(cols) - self.n_in)))
            if self.show_transpose:
                rows, cols = self.axes_C_T
                panels.append(Panel("C_T", self.n_out, self.n_in + AXIS_H * k,
                                    label_width(_labels(self.in_hw), B) + row_title_width(rows, k),
                                    max(0.0, tw(self.transpose_title) - self.n_out, col_w(cols) - self.n_out)))
        return panels

    def _flow(self, fit, annotate):
        panels = self._panels(fit)
        width, bottom, _ = flow_best([panels], fit, top=TOP_MARGIN + 0.3, vgap=2.2)
        return width, (panels, bottom)

    def draw(self, fig=None):
        (ho, wo), (ih, iw) = self.out_hw, self.in_hw
        sym, role = self.sym, ("kernel" if self.wrt == "input" else "input")
        self.hgap, self.vgap = 0.8, 1.2
        self.head = f"J = jacobian(y, {sym}): (" + ",".join(str(n) for n in self.J.shape) + ")"
        self.matrix_title = f"C = J.reshape({self.n_out}, {self.n_in}):  y = C·{sym}"
        self.transpose_title = f"Cᵀ ({self.n_in}×{self.n_out})"
        kind = "input" if self.wrt == "input" else "kernel"
        self.axes_C = axis_titles("output", self.out_hw, kind, self.in_hw)
        self.axes_C_T = axis_titles(kind, self.in_hw, "output", self.out_hw)
        dpi = self.layout_dpi(fig)
        width, (panels, bottom), fit, _ = fit_layout(self._flow, dpi)
        k = fit.k
        P = {p.key: p for p in panels}
        lo, hi = float(min(self.J.min(), 0)), float(max(self.J.max(), 0))
        roles, outlined = legend_roles([(role, lo < 0)], structural=bool(self.structural.any()),
                                       highlight=self.step is not None)
        longest = (f"∂y[{ho - 1},{wo - 1}]/∂{sym} has {self.n_in} nonzero entries (of {self.n_in})"
                   + (f";  ∂y[0,0]/∂{sym}[0,0] = J[0,0,0,0] = C[{self.n_out - 1},{self.n_in - 1}] = -0.00" if self.entry else ""))
        fig, ax, split, annotate = self._new_figure(fig, fit, width, bottom, longest, roles)
        x_blk, y_blk = P["J"].x, P["J"].y
        cell_w, hgap, vgap = self.cell_w, self.hgap, self.vgap
        draw_text(ax, x_blk, y_blk - 0.4 - 0.45 * k, self.head, TITLE_PT, ha="left", va="bottom", fontweight="bold")  # clear of the subtitles
        self.grids = np.empty((ho, wo), dtype=object)
        for p in range(ho):
            for q in range(wo):
                gx = x_blk + q * (cell_w + hgap) + (cell_w - iw) / 2
                gy = y_blk + p * (ih + vgap)
                g = Grid(ax, self.J[p, q], gx, gy, role, annotate=annotate, vmin=lo, vmax=hi,
                         structural=self.structural[p, q], name=f"J[{p},{q}]")
                draw_text(ax, gx + iw / 2, gy - 0.18, f"∂y[{p},{q}]/∂{sym}", SUBTITLE_PT, ha="center", va="bottom")
                self.grids[p, q] = g
        self.out_box = rect(ax, 0, 0, iw + 0.24, ih + 0.24, lw=2.6, gid="convviz:jacobian:output")
        self.entry_box = rect(ax, 0, 0, 1, 1, lw=3.0, gid="convviz:jacobian:entry")
        self.matrix_grid = self.transpose_grid = None

        def matrix_panel(panel, values, structural, title, rows, cols, axes):
            """C or Cᵀ with its title and axis titles: rows labelled by ``rows``' indices, columns by ``cols``'."""
            y0 = panel.y + AXIS_H * k
            grid = Grid(ax, values, panel.x, y0, role, annotate=annotate, vmin=lo, vmax=hi, structural=structural,
                        row_labels=_labels(rows), col_labels=_labels(cols) if annotate else None, name=panel.key)
            draw_text(ax, panel.x, panel.y - (0.85 if annotate else 0.2), title, TITLE_PT, ha="left", va="bottom",
                      fontweight="bold")
            grid.axis_texts = draw_axis_titles(ax, grid, *axes, k, col_labels=annotate)
            return grid

        if self.show_matrix:
            pm = P["C"]
            self.matrix_grid = matrix_panel(pm, self.jacobian_matrix, self.structural_matrix, self.matrix_title,
                                            self.out_hw, self.in_hw, self.axes_C)
            self.matrix_row = rect(ax, pm.x, pm.y, self.n_in, 1, lw=2.4, gid="convviz:C:row")
            self.matrix_entry = rect(ax, pm.x, pm.y, 1, 1, lw=3.0, gid="convviz:C:entry")
            if self.show_transpose:
                pt = P["C_T"]
                self.transpose_grid = matrix_panel(pt, self.jacobian_matrix.T, self.structural_matrix.T, self.transpose_title,
                                                   self.in_hw, self.out_hw, self.axes_C_T)
                self.transpose_column = rect(ax, pt.x, pt.y, 1, self.n_in, lw=2.4, gid="convviz:C_T:column")
                self.transpose_entry = rect(ax, pt.x, pt.y, 1, 1, lw=3.0, gid="convviz:C_T:entry")
        self._draw_captions(ax, bottom, split, k)
        legend(fig, roles, outlined)
        handles = {"grids": self.grids, "C": self.matrix_grid, "C_T": self.transpose_grid, "output_box": self.out_box,
                   "entry": self.entry_box, "caption": self.caption, "caption2": self.caption2}
        if self.show_matrix:
            handles.update(C_row=self.matrix_row, C_entry=self.matrix_entry)
            if self.show_transpose:
                handles.update(C_T_column=self.transpose_column, C_T_entry=self.transpose_entry)
        return self.finish(fig, handles)

    def _show(self, t: int, done: bool):
        """Highlight output element ``step`` (row-major): its grid, row of C and column of Cᵀ."""
        p, q = divmod(t, self.out_hw[1])
        g = self.grids[p, q]
        self.out_box.set_xy((g.x0 - 0.12, g.y0 - 0.12))
        self.out_box.set_visible(not done)
        show_entry = (not done) and self.entry is not None and self.entry[:2] == (p, q)
        col = None
        if self.entry is not None:
            i, j = self.entry[2:]
            col = i * self.in_hw[1] + j
            self.entry_box.set_xy(g.cell_xy(i, j))
        self.entry_box.set_visible(show_entry)
        if self.show_matrix:
            # row t of C and column t of Cᵀ; entry (t, col) of C is entry (col, t) of Cᵀ
            spots = [(self.matrix_grid, self.matrix_row, self.matrix_entry, False)]
            if self.show_transpose:
                spots.append((self.transpose_grid, self.transpose_column, self.transpose_entry, True))
            for grid, line, entry, transposed in spots:
                line.set_xy((grid.x0 + t, grid.y0) if transposed else (grid.x0, grid.y0 + t))
                line.set_visible(not done)
                if col is not None:
                    entry.set_xy(grid.cell_xy(col, t) if transposed else grid.cell_xy(t, col))
                entry.set_visible(show_entry)
        extra = ""
        if done:
            msg = f"{self.n_out} output elements × {self.n_in} {'inputs' if self.sym == 'x' else 'weights'}"
        else:
            nz = int(np.count_nonzero(self.J[p, q]))
            msg = f"∂y[{p},{q}]/∂{self.sym} has {nz} nonzero entries (of {self.n_in})"
            if show_entry:
                i, j = self.entry[2:]
                extra = f"∂y[{p},{q}]/∂{self.sym}[{i},{j}] = J[{p},{q},{i},{j}] = C[{t},{col}] = {self.J[p, q, i, j]:g}"
        self._set_caption(msg, extra)


class ConvMatrixScene(_CaptionedScene):
    """The matrix C of ``y = C x`` (or ``Cᵀ``) with the flattened vector above its
    columns and the product to its right; steps walk over the rows.

    Numbers: :func:`convviz.conv_matrix` / :func:`convviz.transpose_matrix`; the
    product comes from the core op itself (``conv2d``, ``conv2d_backprop_input``,
    ``conv_transpose2d``) where one exists.

    Examples
    --------
    >>> scene = ConvMatrixScene((4, 4), np.ones((3, 3)), x=np.ones((4, 4)))
    >>> scene.matrix.shape, scene.out_shape, scene.result.tolist()
    ((4, 16), (2, 2), [9.0, 9.0, 9.0, 9.0])
    """

    def __init__(self, input_shape, w, transpose=False, *, op="conv2d", x=None, highlight=None, annotate=None, **params):
        name = _operation_name(op)
        shape = tuple(int(s) for s in input_shape)
        W = np.asarray(w, float)
        build = conv_matrix if name == "conv2d" else transpose_matrix
        matrix = build(shape, W, **params)  # validates everything
        structural = build(shape, np.ones_like(W), **params) == 0  # the output does not read that input
        self.g = (conv_geometry if name == "conv2d" else transpose_geometry)(shape[-2:], W.shape[-2:], **params)
        self.name, self.transposed = name, bool(transpose)
        self.in_shape, self.out_shape = shape, self._output_shape(shape, W)
        self.matrix = matrix.T if transpose else matrix
        self.structural = structural.T if transpose else structural
        rows, cols = (shape, self.out_shape) if transpose else (self.out_shape, shape)
        self.row_shape, self.col_shape = rows, cols
        self.vector = self.result = None
        if x is not None:
            v = np.asarray(x, float)
            if v.size != self.matrix.shape[1]:
                raise ValueError(f"x must have {self.matrix.shape[1]} elements (shape {cols}), got shape {v.shape}")
            self.vector = v.reshape(-1)
            xv = v.reshape(cols)
            if name == "conv2d" and not transpose:
                res = ops.conv2d(xv, W, **params)
            elif name == "conv2d":
                res = ops.conv2d_backprop_input(shape, W, xv, **params)
            elif not transpose:
                res = ops.conv_transpose2d(xv, W, **params)
            else:
                res = self.matrix @ self.vector  # the adjoint of a transposed conv has no separate core op with these params
            self.result = np.asarray(res, float).reshape(-1)
        self.n_steps = self.matrix.shape[0]
        self.step = None
        if highlight is not None:
            hl = (highlight,) if isinstance(highlight, (int, np.integer)) else tuple(highlight)
            if not 1 <= len(hl) <= 2 or not all(isinstance(v, (int, np.integer)) for v in hl):
                raise ValueError(f"highlight must be a row index or (row, column), got {highlight!r}")
            self.step = self.normalise_step(hl[0])
            self.entry = tuple(int(v) for v in hl)
        else:
            self.entry = None
        self.annotate = max(self.matrix.shape) <= 49 if annotate is None else bool(annotate)

    def _output_shape(self, shape, W):
        """The shape the core op returns for an input of ``shape`` (2-D when input and kernel are)."""
        hw = self.g.out_hw if self.name == "conv2d" else self.g.in_hw
        if len(shape) == 2 and W.ndim == 2:
            return hw
        (n, _, _, _), _ = shape4(shape, "input_shape", "NCHW")
        channels = W.shape[0] if self.name == "conv2d" else W.shape[1]
        return (n, channels) + tuple(hw)

    def draw(self, fig=None):
        nr, nc = self.matrix.shape
        in_sym, out_sym = "x", "y"
        rsym, csym = (in_sym, out_sym) if self.transposed else (out_sym, in_sym)
        mname = "Cᵀ" if self.transposed else "C"
        title = f"{mname} ({nr}×{nc}):  {rsym} = {mname}·{csym}"
        lo, hi = float(min(self.matrix.min(), 0)), float(max(self.matrix.max(), 0))
        rkind, ckind = ("input", "output") if self.transposed else ("output", "input")
        self.axes = axis_titles(rkind, self.row_shape, ckind, self.col_shape)
        drawn = [("kernel", lo < 0)]
        if self.vector is not None:
            drawn += [(("input" if csym == "x" else "output"), style.is_signed(self.vector)),
                      (("input" if rsym == "x" else "output"), style.is_signed(self.result))]
        roles, outlined = legend_roles(drawn, structural=bool(self.structural.any()), highlight=self.step is not None)

        def build(fit, annotate):
            x_matrix = MARGIN + label_width(_labels(self.row_shape), fit.boost) + row_title_width(self.axes[0], fit.k) + 0.1
            x_result = x_matrix + nc + 1.4
            width = x_matrix + max(nc, text_cells(title, TITLE_PT, bold=True) * fit.k, text_cells(self.axes[1], AXIS_PT) * fit.k)
            if self.vector is not None:
                width = max(width, x_result + 1 + text_cells(f"{rsym} =", TITLE_PT, bold=True) * fit.k)
            return width + MARGIN, (x_matrix, x_result)

        dpi = self.layout_dpi(fig)
        width, (x_matrix, x_result), fit, _ = fit_layout(build, dpi)
        k = fit.k
        y_vector = TOP_MARGIN + 0.4 + AXIS_H * k  # the vector (when given) under the column-axis title
        y_matrix = y_vector + (1.8 if self.vector is not None else 0.0)
        bottom = y_matrix + nr
        longest = (f"row {nr - 1} ({_labels(self.row_shape)[-1]}): {nc} nonzeros"
                   + (";  result[00] = -000.00" if self.vector is not None else ""))
        fig, ax, split, annotate = self._new_figure(fig, fit, width, bottom, longest, roles)
        self.grid = Grid(ax, self.matrix, x_matrix, y_matrix, "kernel", annotate=annotate, vmin=lo, vmax=hi,
                         structural=self.structural, row_labels=_labels(self.row_shape), name="matrix",
                         col_labels=_labels(self.col_shape) if (annotate and self.vector is None) else None)
        draw_text(ax, x_matrix, TOP_MARGIN - 0.75, title, TITLE_PT, ha="left", va="bottom", fontweight="bold")
        self.row_rect = rect(ax, x_matrix, y_matrix, nc, 1, lw=2.4, gid="convviz:matrix:row")
        self.entry_rect = rect(ax, x_matrix, y_matrix, 1, 1, lw=3.0, gid="convviz:matrix:entry")
        self.vector_grid = self.result_grid = None
        self.vector_taps = []
        if self.vector is not None:
            vrole = "input" if csym == "x" else "output"
            self.vector_grid = Grid(ax, self.vector[None, :], x_matrix, y_vector, vrole, annotate=annotate, name="vector",
                                    col_labels=_labels(self.col_shape) if annotate else None)
            draw_text(ax, x_matrix - 0.2, y_vector + 0.5, f"{csym}ᵀ", TITLE_PT, ha="right", va="center", fontweight="bold")
            rrole = "input" if rsym == "x" else "output"
            self.result_grid = Grid(ax, self.result[:, None], x_result, y_matrix, rrole, annotate=annotate, name="result")
            draw_text(ax, x_result - 0.25, y_matrix + nr / 2, "=", 14.0, ha="right", va="center")
            draw_text(ax, x_result + 0.5, y_matrix - 0.2, rsym, TITLE_PT, ha="center", va="bottom", fontweight="bold")
            self.result_rect = rect(ax, x_result, y_matrix, 1, 1, lw=3.0, gid="convviz:result:current")
            self.vector_taps = [rect(ax, x_matrix + j + 0.08, y_vector + 0.08, 0.84, 0.84, role="kernel", lw=1.7, zorder=5,
                                     gid="convviz:vector:tap")
                           for j in range(nc)]
        self.axis_texts = draw_axis_titles(ax, self.grid, *self.axes, k, col_labels=annotate,
                                           top=self.vector_grid if self.vector is not None else None)
        self.grid.axis_texts = self.axis_texts
        self._draw_captions(ax, bottom, split, k)
        legend(fig, roles, outlined)
        return self.finish(fig, {"matrix": self.grid, "vector": self.vector_grid, "result": self.result_grid, "row": self.row_rect,
                                 "entry": self.entry_rect, "caption": self.caption, "caption2": self.caption2,
                                 "axis_titles": self.axis_texts})

    def _show(self, r: int, done: bool):
        """Highlight row ``step`` of the matrix (and the vector entries it reads)."""
        self.row_rect.set_y(self.grid.y0 + r)
        self.row_rect.set_visible(not done)
        show_entry = (not done) and self.entry is not None and len(self.entry) == 2 and self.entry[0] == r
        if self.entry is not None and len(self.entry) == 2:
            self.entry_rect.set_xy(self.grid.cell_xy(r, self.entry[1]))
        self.entry_rect.set_visible(show_entry)
        nz = np.flatnonzero(self.matrix[r])
        if self.vector is not None:
            self.result_rect.set_y(self.result_grid.y0 + r)
            self.result_rect.set_visible(not done)
            for j, tap in enumerate(self.vector_taps):
                tap.set_visible((not done) and j in set(nz.tolist()))
        rl = _labels(self.row_shape)
        extra = ""
        if done:
            msg = f"{self.matrix.shape[0]}×{self.matrix.shape[1]} matrix, {int(np.count_nonzero(self.matrix))} nonzeros"
        else:
            msg = f"row {r} ({rl[r]}): {len(nz)} nonzeros"
            if self.vector is not None:
                extra = f"result[{r}] = {self.result[r]:g}"
        self._set_caption(msg, extra)


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def jacobian_grids(op, x, w, wrt="input", highlight=None, *, matrix=True, transpose=True, annotate=None, **params):
    """The Jacobian tensor as one annotated grid per output element (chapter
    *Gradients of convolution and transposed convolution*).

    Structural zeros (the output does not read that input or weight) are white
    with a "·", drawn unlike entries that are 0 because a weight is; signed
    Jacobians use the diverging scale centred at 0; ``C`` and ``Cᵀ`` get axis
    titles (output pixel rows, input pixel -- or kernel weight -- columns).

    Parameters
    ----------
    op : conv2d or conv_transpose2d (function or name)
    x, w : array_like, 2-D (or 4-D with singleton batch and channels)
    wrt : "input" or "kernel"
    highlight : ``(p, q)`` outlines output element (p, q)'s grid, its row of
        ``C`` and column of ``Cᵀ``; ``((p, q), (i, j))`` also marks the entry
        ``J[p, q, i, j]``
    matrix, transpose : bool, add ``C = J.reshape(n_out, n_in)`` and ``Cᵀ``
    annotate : bool, optional, numbers in the cells
    **params : stride, padding, dilation, output_padding, ... of ``op``

    Returns
    -------
    ConvFigure
        ``fig.convviz`` holds the ``grids`` (one per output element), ``C``, ``C_T`` and the
        highlight rectangles

    Examples
    --------
    >>> fig = jacobian_grids("conv2d", np.ones((3, 3)), np.arange(4.).reshape(2, 2), highlight=(0, 1))
    >>> fig.convviz["grids"].shape, fig.convviz["grids"][0, 1].label(0, 1)
    ((2, 2), '0')
    """
    return JacobianScene(op, x, w, wrt, highlight, matrix=matrix, transpose=transpose, annotate=annotate, **params).draw()


def animate_jacobian(op, x, w, wrt="input", *, matrix=True, transpose=True, fps=1, dpi=80, max_frames=36, **params):
    """Output element by output element through the Jacobian (self-contained JS, <= 1 MB).

    Parameters
    ----------
    op, x, w, wrt, matrix, transpose, **params : as for :func:`jacobian_grids`
    fps, dpi, max_frames : as for :func:`~convviz.render.animation.animate`

    Returns
    -------
    Animation
        one frame per output element

    Examples
    --------
    >>> animate_jacobian("conv2d", np.ones((2, 2)), np.ones((1, 1)), dpi=40).n_frames
    4
    """
    scene = JacobianScene(op, x, w, wrt, None, matrix=matrix, transpose=transpose, **params)
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)


def conv_matrix_figure(input_shape, w, transpose=False, *, op="conv2d", x=None, highlight=None, annotate=None, **params):
    """The matrix C with ``op(x).ravel() == C @ x.ravel()`` (or ``Cᵀ``) as an
    annotated grid (chapter *Transposed convolution*).

    Rows are titled "output pixel y[p,q]" and columns "input pixel x[i,j]"
    (swapped for ``Cᵀ``).  Structural zeros -- entries whose output does not
    read that input -- are white with a "·" (``fig.convviz["matrix"].structural``),
    weights that happen to be 0 show a "0" on the colour of 0, so the band shows;
    a kernel with negatives is drawn on the diverging scale centred at 0.  The
    legend lists only what is drawn (no "current step" without ``highlight``).

    Parameters
    ----------
    input_shape : tuple, (H, W) or (N, C, H, W) of ``op``'s input
    w : array_like, the kernel of ``op``
    transpose : bool, draw ``Cᵀ``
    op : conv2d or conv_transpose2d (function or name)
    x : array_like, optional, the vector C multiplies (input-shaped, or
        output-shaped when ``transpose``): drawn above the columns, the product
        to the right
    highlight : int or (row, column), optional
    annotate : bool, optional, numbers in the cells
    **params : stride, padding, dilation, ... of ``op``

    Returns
    -------
    ConvFigure
        ``fig.convviz`` holds the ``matrix`` grid, the ``vector`` and ``result`` grids (with ``x``),
        the ``row`` and ``entry`` highlights

    Examples
    --------
    >>> fig = conv_matrix_figure((3, 3), np.ones((2, 2)), highlight=1)
    >>> fig.convviz["matrix"].values.shape, fig.convviz["caption"].get_text()
    ((4, 9), 'row 1 (0,1): 4 nonzeros')
    """
    return ConvMatrixScene(input_shape, w, transpose, op=op, x=x, highlight=highlight, annotate=annotate, **params).draw()


def animate_conv_matrix(input_shape, w, transpose=False, *, op="conv2d", x=None, fps=1, dpi=80, max_frames=36, **params):
    """Row by row through C (or Cᵀ) (self-contained JS, <= 1 MB).

    Parameters
    ----------
    input_shape, w, transpose, op, x, **params : as for :func:`conv_matrix_figure`
    fps, dpi, max_frames : as for :func:`~convviz.render.animation.animate`

    Returns
    -------
    Animation
        one frame per row of the matrix

    Examples
    --------
    >>> animate_conv_matrix((2, 2), np.ones((1, 1)), dpi=40).n_frames
    4
    """
    scene = ConvMatrixScene(input_shape, w, transpose, op=op, x=x, **params)
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)

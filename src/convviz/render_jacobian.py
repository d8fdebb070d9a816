"""Jacobian tensors and the matrix C of Y = CX (chapter *Gradients of convolution
and transposed convolution*).  Public entry points are re-exported by
:mod:`convviz.render`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import ops
from .jacobian import conv_matrix, jacobian, transpose_matrix
from .render_base import (
    CAPTION_FS,
    LINE_H,
    SUB_FS,
    TITLE_FS,
    FastText,
    Fit,
    Grid,
    Panel,
    Scene,
    animate,
    flow_best,
    footer_height,
    label_width,
    legend,
    new_figure,
    rect,
    text,
    text_cells,
)
from .render_conv import M, TOP

__all__ = ["JacobianScene", "ConvMatrixScene", "jacobian_grids", "animate_jacobian", "conv_matrix_figure", "animate_conv_matrix"]

_OPS = {"conv2d": ops.conv2d, "conv_transpose2d": ops.conv_transpose2d}


def _op_name(op) -> str:
    name = getattr(op, "__name__", op)
    if name not in _OPS:
        raise ValueError(f"op must be conv2d or conv_transpose2d (function or name), got {op!r}")
    return name


def _labels(shape):
    """'i,j' (or 'n,c,i,j') for every element of ``shape`` in row-major order."""
    return [",".join(str(int(v)) for v in idx) for idx in np.ndindex(*shape)]


class JacobianScene(Scene):
    """One small grid per output element: ``J[p, q]`` = d y[p,q] / d x (or d w),
    laid out like ``tape.jacobian(y, x)`` prints it, plus the flattened matrix
    ``C = J.reshape(n_out, n_in)`` (``y = C x``) and its transpose.

    Numbers: :func:`convviz.jacobian`.  Steps walk over the output elements.
    """

    def __init__(self, op, x, w, wrt="input", highlight=None, *, matrix=True, transpose=True, annotate=None, **params):
        name = _op_name(op)
        J = jacobian(name, x, w, wrt=wrt, **params)  # validates everything
        y = _OPS[name](np.asarray(x, float), np.asarray(w, float), **params)
        if J.ndim == 8:
            n, o, ho, wo, a, b, h, w_ = J.shape
            if n != 1 or o != 1 or a != 1 or b != 1:
                raise ValueError(
                    f"jacobian_grids draws single-channel examples: got a Jacobian of shape {J.shape}; "
                    "use 2-D x and w (or 4-D with singleton batch and channels)"
                )
            J = J[0, 0, :, :, 0, 0]
            y = y[0, 0]
        self.name, self.wrt, self.J, self.y = name, wrt, J, y
        self.out_hw, self.in_hw = J.shape[:2], J.shape[2:]
        self.n_out, self.n_in = int(np.prod(self.out_hw)), int(np.prod(self.in_hw))
        self.C = J.reshape(self.n_out, self.n_in)
        self.sym = "x" if wrt == "input" else "w"
        self.matrix, self.transpose = bool(matrix), bool(transpose)
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
        self.fig = None

    def _panels(self, fit):
        (ho, wo), (ih, iw) = self.out_hw, self.in_hw
        k, B = fit.k, fit.boost
        sym = self.sym
        tw = lambda s_: text_cells(s_, TITLE_FS, bold=True) * k  # noqa: E731
        self.cell_w = max(iw, text_cells(f"∂y[{ho - 1},{wo - 1}]/∂{sym}", SUB_FS) * k)
        blk_w = wo * self.cell_w + (wo - 1) * self.hgap
        blk_h = ho * ih + (ho - 1) * self.vgap
        panels = [Panel("J", blk_w, blk_h, 0.0, max(0.0, tw(self.head) - blk_w))]
        if self.matrix:
            panels.append(Panel("C", self.n_in, self.n_out, label_width(_labels(self.out_hw), B), max(0.0, tw(self.M_title) - self.n_in)))
            if self.transpose:
                panels.append(Panel("C_T", self.n_out, self.n_in, label_width(_labels(self.in_hw), B),
                                    max(0.0, tw(self.T_title) - self.n_out)))
        return panels

    def draw(self, fig=None):
        (ho, wo), (ih, iw) = self.out_hw, self.in_hw
        sym, role = self.sym, ("kernel" if self.wrt == "input" else "input")
        self.hgap, self.vgap = 0.8, 1.2
        self.head = f"J = jacobian(y, {sym}): (" + ",".join(str(n) for n in self.J.shape) + ")"
        self.M_title = f"C = J.reshape({self.n_out}, {self.n_in}):  y = C·{sym}"
        self.T_title = f"Cᵀ ({self.n_in}×{self.n_out})"
        dpi = fig.dpi if fig is not None else self.dpi
        fit = Fit(dpi)
        for _ in range(6):
            panels = self._panels(fit)
            width, bottom, _ = flow_best([panels], fit, top=TOP + 0.3, vgap=2.2)
            if fit.settle(width):
                break
        scale, k = fit.scale, fit.k
        P = {p.key: p for p in panels}
        roles = [role, "highlight"]
        longest = (f"∂y[{ho - 1},{wo - 1}]/∂{sym} has {self.n_in} nonzero entries (of {self.n_in})"
                   + (f";  ∂y[0,0]/∂{sym}[0,0] = J[0,0,0,0] = C[{self.n_out - 1},{self.n_in - 1}] = -0.00" if self.entry else ""))
        split = text_cells(longest, CAPTION_FS) * k > width - 2 * M
        height = bottom + footer_height(2 if split else 1, roles, width, k)
        annotate = self.annotate and scale >= 0.45
        fig, ax = new_figure(width, height, fig, dpi=dpi, scale=scale)
        self.fig, self.ax = fig, ax
        lo, hi = float(min(self.J.min(), 0)), float(max(self.J.max(), 0))
        x_blk, y_blk = P["J"].x, P["J"].y
        cell_w, hgap, vgap = self.cell_w, self.hgap, self.vgap
        text(ax, x_blk, y_blk - 0.85, self.head, TITLE_FS, ha="left", va="bottom", fontweight="bold")
        self.grids = np.empty((ho, wo), dtype=object)
        for p in range(ho):
            for q in range(wo):
                gx = x_blk + q * (cell_w + hgap) + (cell_w - iw) / 2
                gy = y_blk + p * (ih + vgap)
                g = Grid(ax, self.J[p, q], gx, gy, role, annotate=annotate, vmin=lo, vmax=hi, muted_zeros=True,
                         name=f"J[{p},{q}]")
                text(ax, gx + iw / 2, gy - 0.18, f"∂y[{p},{q}]/∂{sym}", SUB_FS, ha="center", va="bottom")
                self.grids[p, q] = g
        self.out_box = rect(ax, 0, 0, iw + 0.24, ih + 0.24, lw=2.6, gid="convviz:jacobian:output")
        self.entry_box = rect(ax, 0, 0, 1, 1, lw=3.0, gid="convviz:jacobian:entry")
        self.Cgrid = self.Tgrid = None
        if self.matrix:
            x_M, y_M = P["C"].x, P["C"].y
            self.Cgrid = Grid(ax, self.C, x_M, y_M, role, annotate=annotate, vmin=lo, vmax=hi, muted_zeros=True,
                              row_labels=_labels(self.out_hw), col_labels=_labels(self.in_hw) if annotate else None, name="C")
            text(ax, x_M, y_M - (0.85 if annotate else 0.2), self.M_title, TITLE_FS, ha="left", va="bottom", fontweight="bold")
            self.C_row = rect(ax, x_M, y_M, self.n_in, 1, lw=2.4, gid="convviz:C:row")
            self.C_entry = rect(ax, x_M, y_M, 1, 1, lw=3.0, gid="convviz:C:entry")
            if self.transpose:
                x_T, y_T = P["C_T"].x, P["C_T"].y
                self.Tgrid = Grid(ax, self.C.T, x_T, y_T, role, annotate=annotate, vmin=lo, vmax=hi, muted_zeros=True,
                                  row_labels=_labels(self.in_hw), col_labels=_labels(self.out_hw) if annotate else None,
                                  name="C_T")
                text(ax, x_T, y_T - (0.85 if annotate else 0.2), self.T_title, TITLE_FS, ha="left", va="bottom", fontweight="bold")
                self.T_col = rect(ax, x_T, y_T, 1, self.n_in, lw=2.4, gid="convviz:C_T:column")
                self.T_entry = rect(ax, x_T, y_T, 1, 1, lw=3.0, gid="convviz:C_T:entry")
        self.caption = FastText(ax, M, bottom + (0.25 + 0.5 * LINE_H) * k, "", CAPTION_FS)
        self.caption2 = FastText(ax, M, bottom + (0.25 + 1.5 * LINE_H) * k, "", CAPTION_FS) if split else None
        legend(fig, roles)
        fig.convviz = {"scene": self, "grids": self.grids, "C": self.Cgrid, "C_T": self.Tgrid, "output_box": self.out_box,
                       "entry": self.entry_box, "caption": self.caption, "caption2": self.caption2}
        if self.matrix:
            fig.convviz.update(C_row=self.C_row, C_entry=self.C_entry)
            if self.transpose:
                fig.convviz.update(C_T_column=self.T_col, C_T_entry=self.T_entry)
        self.set_step(self.step)
        return fig

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
        if self.matrix:
            self.C_row.set_y(self.Cgrid.y0 + t)
            self.C_row.set_visible(not done)
            if col is not None:
                self.C_entry.set_xy((self.Cgrid.x0 + col, self.Cgrid.y0 + t))
            self.C_entry.set_visible(show_entry)
            if self.transpose:
                self.T_col.set_x(self.Tgrid.x0 + t)
                self.T_col.set_visible(not done)
                if col is not None:
                    self.T_entry.set_xy((self.Tgrid.x0 + t, self.Tgrid.y0 + col))
                self.T_entry.set_visible(show_entry)
        extra = ""
        if done:
            msg = f"{self.n_out} output elements × {self.n_in} {'inputs' if self.sym == 'x' else 'weights'}"
        else:
            nz = int(np.count_nonzero(self.J[p, q]))
            msg = f"∂y[{p},{q}]/∂{self.sym} has {nz} nonzero entries (of {self.n_in})"
            if show_entry:
                i, j = self.entry[2:]
                extra = f"∂y[{p},{q}]/∂{self.sym}[{i},{j}] = J[{p},{q},{i},{j}] = C[{t},{col}] = {self.J[p, q, i, j]:g}"
        if self.caption2 is not None:  # narrow figure: the entry on its own line
            self.caption.set_text(msg)
            self.caption2.set_text(extra)
        else:
            self.caption.set_text(msg + (";  " + extra if extra else ""))


class ConvMatrixScene(Scene):
    """The matrix C of ``y = C x`` (or ``Cᵀ``) with the flattened vector above its
    columns and the product to its right; steps walk over the rows.

    Numbers: :func:`convviz.conv_matrix` / :func:`convviz.transpose_matrix`; the
    product comes from the core op itself (``conv2d``, ``conv2d_backprop_input``,
    ``conv_transpose2d``) where one exists.
    """

    def __init__(self, input_shape, w, transpose=False, *, op="conv2d", x=None, highlight=None, annotate=None, **params):
        name = _op_name(op)
        shape = tuple(int(s) for s in input_shape)
        W = np.asarray(w, float)
        if name == "conv2d":
            C = conv_matrix(shape, W, **params)
            out_shape = ops.conv2d(np.zeros(shape), W, **params).shape
        else:
            C = transpose_matrix(shape, W, **params)
            out_shape = ops.conv_transpose2d(np.zeros(shape), W, **params).shape
        self.name, self.transposed = name, bool(transpose)
        self.in_shape, self.out_shape = shape, tuple(out_shape)
        self.C = C.T if transpose else C
        rows, cols = (shape, self.out_shape) if transpose else (self.out_shape, shape)
        self.row_shape, self.col_shape = rows, cols
        self.v = self.result = None
        if x is not None:
            v = np.asarray(x, float)
            if v.size != self.C.shape[1]:
                raise ValueError(f"x must have {self.C.shape[1]} elements (shape {cols}), got shape {v.shape}")
            self.v = v.reshape(-1)
            xv = v.reshape(cols)
            if name == "conv2d" and not transpose:
                res = ops.conv2d(xv, W, **params)
            elif name == "conv2d":
                res = ops.conv2d_backprop_input(shape, W, xv, **params)
            elif not transpose:
                res = ops.conv_transpose2d(xv, W, **params)
            else:
                res = self.C @ self.v  # the adjoint of a transposed conv has no separate core op with these params
            self.result = np.asarray(res, float).reshape(-1)
        self.n_steps = self.C.shape[0]
        self.step = None
        if highlight is not None:
            hl = (highlight,) if isinstance(highlight, (int, np.integer)) else tuple(highlight)
            if not 1 <= len(hl) <= 2 or not all(isinstance(v, (int, np.integer)) for v in hl):
                raise ValueError(f"highlight must be a row index or (row, column), got {highlight!r}")
            self.step = self._norm_step(hl[0])
            self.entry = tuple(int(v) for v in hl)
        else:
            self.entry = None
        self.annotate = max(self.C.shape) <= 49 if annotate is None else bool(annotate)
        self.fig = None

    def draw(self, fig=None):
        nr, nc = self.C.shape
        in_sym, out_sym = "x", "y"
        rsym, csym = (in_sym, out_sym) if self.transposed else (out_sym, in_sym)
        mname = "Cᵀ" if self.transposed else "C"
        title = f"{mname} ({nr}×{nc}):  {rsym} = {mname}·{csym}"
        roles = ["kernel"] + (["input", "output"] if self.v is not None else []) + ["highlight"]
        dpi = fig.dpi if fig is not None else self.dpi
        fit = Fit(dpi)
        for _ in range(6):
            k = fit.k
            rl_w = label_width(_labels(self.row_shape), fit.boost) + 0.1
            x_M = M + rl_w
            y_M = TOP + (2.2 if self.v is not None else 0.4)
            width = x_M + max(nc, text_cells(title, TITLE_FS, bold=True) * k)
            if self.v is not None:
                x_R = x_M + nc + 1.4
                width = max(width, x_R + 1 + text_cells(f"{rsym} =", TITLE_FS, bold=True) * k)
            width += M
            if fit.settle(width):
                break
        scale, k = fit.scale, fit.k
        bottom = y_M + nr
        longest = f"row {nr - 1} ({_labels(self.row_shape)[-1]}): {nc} nonzeros" + (";  result[00] = -000.00" if self.v is not None else "")
        split = text_cells(longest, CAPTION_FS) * k > width - 2 * M
        height = bottom + footer_height(2 if split else 1, roles, width, k)
        annotate = self.annotate and scale >= 0.45
        fig, ax = new_figure(width, height, fig, dpi=dpi, scale=scale)
        self.fig, self.ax = fig, ax
        lo, hi = float(min(self.C.min(), 0)), float(max(self.C.max(), 0))
        self.grid = Grid(ax, self.C, x_M, y_M, "kernel", annotate=annotate, vmin=lo, vmax=hi, muted_zeros=True,
                         row_labels=_labels(self.row_shape), name="matrix",
                         col_labels=_labels(self.col_shape) if (annotate and self.v is None) else None)
        text(ax, x_M, TOP - 0.75, title, TITLE_FS, ha="left", va="bottom", fontweight="bold")
        self.row_rect = rect(ax, x_M, y_M, nc, 1, lw=2.4, gid="convviz:matrix:row")
        self.entry_rect = rect(ax, x_M, y_M, 1, 1, lw=3.0, gid="convviz:matrix:entry")
        self.vgrid = self.rgrid = None
        self.v_taps = []
        if self.v is not None:
            vrole = "input" if csym == "x" else "output"
            self.vgrid = Grid(ax, self.v[None, :], x_M, TOP + 0.4, vrole, annotate=annotate, name="vector",
                              col_labels=_labels(self.col_shape) if annotate else None)
            text(ax, x_M - 0.2, TOP + 0.9, f"{csym}ᵀ", TITLE_FS, ha="right", va="center", fontweight="bold")
            rrole = "input" if rsym == "x" else "output"
            self.rgrid = Grid(ax, self.result[:, None], x_R, y_M, rrole, annotate=annotate, name="result")
            text(ax, x_R - 0.25, y_M + nr / 2, "=", 14.0, ha="right", va="center")
            text(ax, x_R + 0.5, y_M - 0.2, rsym, TITLE_FS, ha="center", va="bottom", fontweight="bold")
            self.res_rect = rect(ax, x_R, y_M, 1, 1, lw=3.0, gid="convviz:result:current")
            self.v_taps = [rect(ax, x_M + j + 0.08, TOP + 0.48, 0.84, 0.84, role="kernel", lw=1.7, zorder=5, gid="convviz:vector:tap")
                           for j in range(nc)]
        self.caption = FastText(ax, M, bottom + (0.25 + 0.5 * LINE_H) * k, "", CAPTION_FS)
        self.caption2 = FastText(ax, M, bottom + (0.25 + 1.5 * LINE_H) * k, "", CAPTION_FS) if split else None
        legend(fig, roles)
        fig.convviz = {"scene": self, "matrix": self.grid, "vector": self.vgrid, "result": self.rgrid, "row": self.row_rect,
                       "entry": self.entry_rect, "caption": self.caption, "caption2": self.caption2}
        self.set_step(self.step)
        return fig

    def _show(self, r: int, done: bool):
        """Highlight row ``step`` of the matrix (and the vector entries it reads)."""
        self.row_rect.set_y(self.grid.y0 + r)
        self.row_rect.set_visible(not done)
        show_entry = (not done) and self.entry is not None and len(self.entry) == 2 and self.entry[0] == r
        if self.entry is not None and len(self.entry) == 2:
            self.entry_rect.set_xy(self.grid.cell_xy(r, self.entry[1]))
        self.entry_rect.set_visible(show_entry)
        nz = np.flatnonzero(self.C[r])
        if self.v is not None:
            self.res_rect.set_y(self.rgrid.y0 + r)
            self.res_rect.set_visible(not done)
            for j, tap in enumerate(self.v_taps):
                tap.set_visible((not done) and j in set(nz.tolist()))
        rl = _labels(self.row_shape)
        extra = ""
        if done:
            msg = f"{self.C.shape[0]}×{self.C.shape[1]} matrix, {int(np.count_nonzero(self.C))} nonzeros"
        else:
            msg = f"row {r} ({rl[r]}): {len(nz)} nonzeros"
            if self.v is not None:
                extra = f"result[{r}] = {self.result[r]:g}"
        if self.caption2 is not None:
            self.caption.set_text(msg)
            self.caption2.set_text(extra)
        else:
            self.caption.set_text(msg + (";  " + extra if extra else ""))


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def jacobian_grids(op, x, w, wrt="input", highlight=None, *, matrix=True, transpose=True, annotate=None, **params):
    """The Jacobian tensor as one annotated grid per output element (chapter
    *Gradients of convolution and transposed convolution*).

    ``highlight``: ``(p, q)`` outlines output element (p, q)'s grid, its row of
    ``C`` and column of ``Cᵀ``; ``((p, q), (i, j))`` also marks the entry
    ``J[p, q, i, j]``.  ``matrix``/``transpose`` add ``C = J.reshape(n_out, n_in)``
    and ``Cᵀ``.  ``**params``: stride, padding, dilation, output_padding, ...
    """
    return JacobianScene(op, x, w, wrt, highlight, matrix=matrix, transpose=transpose, annotate=annotate, **params).draw()


def animate_jacobian(op, x, w, wrt="input", *, matrix=True, transpose=True, fps=1, dpi=80, max_frames=36, **params):
    """Output element by output element through the Jacobian (self-contained JS, <= 1 MB)."""
    scene = JacobianScene(op, x, w, wrt, None, matrix=matrix, transpose=transpose, **params)
    scene.step, scene.dpi = 0, dpi
    scene.draw()
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)


def conv_matrix_figure(input_shape, w, transpose=False, *, op="conv2d", x=None, highlight=None, annotate=None, **params):
    """The matrix C with ``op(x).ravel() == C @ x.ravel()`` (or ``Cᵀ``) as an
    annotated grid (chapter *Transposed convolution*).  With ``x`` (the vector C
    multiplies: input-shaped, or output-shaped when ``transpose``) the vector is
    drawn above the columns and the product to the right.  ``highlight``: a row,
    or ``(row, column)``."""
    return ConvMatrixScene(input_shape, w, transpose, op=op, x=x, highlight=highlight, annotate=annotate, **params).draw()


def animate_conv_matrix(input_shape, w, transpose=False, *, op="conv2d", x=None, fps=1, dpi=80, max_frames=36, **params):
    """Row by row through C (or Cᵀ) (self-contained JS, <= 1 MB)."""
    scene = ConvMatrixScene(input_shape, w, transpose, op=op, x=x, **params)
    scene.step, scene.dpi = 0, dpi
    scene.draw()
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)

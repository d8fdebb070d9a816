"""Forward convolution pictures: the sliding window and im2col (chapter *Conv2d
and its gradient*).  Public entry points are re-exported by :mod:`convviz.render`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from matplotlib.collections import PolyCollection

from . import ops, style
from .geometry import pair
from .render_base import (
    LABEL_FS,
    FastText,
    MONO_FS,
    TITLE_FS,
    Grid,
    Scene,
    animate,
    fit_scale,
    text_factor,
    fmt,
    legend,
    new_figure,
    rect,
    scale_of,
    text,
    text_cells,
)

__all__ = ["SlidingWindowScene", "Im2colScene", "sliding_window", "animate_conv", "im2col_figure", "animate_im2col"]

M = 0.4  # outer margin, cells
TOP = 1.5  # room for a title and column indices above a grid
GAP = 1.3  # between panels
VGAP = 1.7  # between stacked panels (room for the next title)
ANNOTATE_MAX = 12  # largest grid side that gets numbers written in its cells


def as_nchw(a, name: str) -> np.ndarray:
    """(H, W) -> (1, 1, H, W); (C, H, W) -> (1, C, H, W); (N, C, H, W) unchanged."""
    arr = np.asarray(a)
    if arr.ndim == 2:
        return arr[None, None]
    if arr.ndim == 3:
        return arr[None]
    if arr.ndim == 4:
        return arr
    raise ValueError(f"{name} must be (H, W), (C, H, W) or (N, C, H, W), got shape {arr.shape}")


def _index(value, n, name):
    if not isinstance(value, (int, np.integer)) or not 0 <= value < n:
        raise ValueError(f"{name} must be an integer in [0, {n - 1}], got {value!r}")
    return int(value)


def wfmt(v) -> str:
    """A weight inside a product: negative values in parentheses."""
    s = fmt(v)
    return f"({s})" if s.startswith("-") else s


def _describe(g) -> str:
    s = g.stride if g.stride[0] != g.stride[1] else g.stride[0]
    d = g.dilation if g.dilation[0] != g.dilation[1] else g.dilation[0]
    t, b, l, r = g.pads
    p = t if len({t, b, l, r}) == 1 else g.pads
    return f"stride {s}, padding {p}, dilation {d}: {g.in_hw[0]}×{g.in_hw[1]} → {g.out_hw[0]}×{g.out_hw[1]}"


def _axis_labels(n, before):
    """Indices in the unpadded input's coordinates (padding rows get -1, H, ...)."""
    return [str(i - before) for i in range(n)]


class _WindowMixin:
    """The kernel's footprint on a padded input grid: bounding box + sampled taps."""

    INSET = 0.08

    def _make_window(self, ax, grid, gid):
        """Bounding box of the (dilated) kernel (dashed when dilated) + an inset
        outline on every sampled cell (one collection, so moving it is cheap)."""
        kh, kw = self.g.kernel_hw
        dh, dw = self.g.dilation
        eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        dashed = (dh, dw) != (1, 1)
        box = rect(ax, grid.x0, grid.y0, ew, eh, role="highlight", lw=2.8, ls="--" if dashed else "-", gid=f"convviz:{gid}:window")
        taps = PolyCollection([], facecolors="none", edgecolors=style.COLORS["kernel"], linewidths=1.7 * max(scale_of(ax), 0.5),
                              zorder=5)
        taps.set_gid(f"convviz:{gid}:taps")
        ax.add_artist(taps)
        self._move_window(grid, box, taps, 0, 0)
        return box, taps

    def _move_window(self, grid, box, taps, r0, c0):
        """Put the window's top-left corner on padded cell (r0, c0)."""
        kh, kw = self.g.kernel_hw
        dh, dw = self.g.dilation
        e = self.INSET
        box.set_xy((grid.x0 + c0, grid.y0 + r0))
        ys = grid.y0 + r0 + np.arange(kh) * dh
        xs = grid.x0 + c0 + np.arange(kw) * dw
        X, Y = np.meshgrid(xs, ys)
        X, Y = X.ravel() + e, Y.ravel() + e
        s = 1 - 2 * e
        verts = np.stack([np.stack([X, Y], 1), np.stack([X + s, Y], 1), np.stack([X + s, Y + s], 1), np.stack([X, Y + s], 1)], 1)
        taps.set_verts(verts)


def tap_cells(grid, taps):
    """(row, col) of every sampled cell of a window drawn by ``_make_window`` (for tests)."""
    return [grid.cell_of(*(np.asarray(p.vertices)[:4].min(axis=0))) for p in taps.get_paths()]


class SlidingWindowScene(_WindowMixin, Scene):
    """One output cell per step: window on the padded input, kernel, products, output.

    Numbers: the output comes from :func:`convviz.conv2d`, the window contents
    from :func:`convviz.im2col` (column ``step``), so the figure shows exactly
    what the core computes.
    """

    def __init__(self, x, w, stride=1, padding=0, dilation=1, *, batch=0, out_channel=0, annotate=None, arithmetic=None):
        X, W = as_nchw(x, "x"), as_nchw(w, "w")
        Y = ops.conv2d(X, W, stride=stride, padding=padding, dilation=dilation)  # validates everything
        X, W = X.astype(float), W.astype(float)
        self.batch = _index(batch, X.shape[0], "batch")
        self.out_channel = _index(out_channel, W.shape[0], "out_channel")
        self.g = g = ops.conv_geometry(X.shape[2:], W.shape[2:], stride, padding, dilation)
        self.x, self.w = X[self.batch], W[self.out_channel]
        self.y = Y[self.batch, self.out_channel]
        self.cols = ops.im2col(X[self.batch : self.batch + 1], W.shape[2:], stride, padding, dilation)[0]
        t, b, l, r = g.pads
        self.padded = np.pad(self.x, ((0, 0), (t, b), (l, r)))  # display only: zeros around the input
        self.C = self.x.shape[0]
        self.n_steps = g.out_hw[0] * g.out_hw[1]
        hp, wp = g.padded_hw
        self.annotate = max(hp, wp, *g.out_hw) <= ANNOTATE_MAX if annotate is None else bool(annotate)
        kh, kw = g.kernel_hw
        self.arithmetic = (kh <= 5 and kw <= 5 and self.C <= 4) if arithmetic is None else bool(arithmetic)
        self.fig = None
        self.step = None

    # -- layout ---------------------------------------------------------------
    def _arith_width(self):
        kh, kw = self.g.kernel_hw
        if not self.arithmetic:
            return text_cells(f"= {fmt(np.abs(self.y).max())}  (sum of {kh * kw} products)", MONO_FS, mono=True)
        xl = max(len(fmt(v)) for v in self.padded.ravel())
        wl = max(len(wfmt(v)) for v in self.w.ravel())
        chars = 2 + kw * (xl + 1 + wl) + (kw - 1) * 3
        yl = max(len(fmt(v)) for v in self.y.ravel())
        chars = max(chars, len(f"= {'8' * yl}  → y[{self.g.out_hw[0]},{self.g.out_hw[1]}]"))
        return text_cells("x" * chars, MONO_FS, mono=True)

    def draw(self, fig=None):
        g, C = self.g, self.C
        (hp, wp), (kh, kw), (ho, wo) = g.padded_hw, g.kernel_hw, g.out_hw
        t, b, l, r = g.pads
        padded = any(g.pads)
        in_title = "input (padded)" if padded else "input"
        if C > 1:
            in_title = f"input c={{c}}" + (" (padded)" if padded else "")
        k_title = "kernel" if C == 1 else "kernel c={c}"
        k = 1.0
        for _ in range(4):  # text grows relative to cells when cells shrink: iterate to a fixed point
            in_w = max(wp, text_cells(in_title.format(c=0), TITLE_FS) * k)
            k_w = max(kw, text_cells(k_title.format(c=0), TITLE_FS) * k)
            a_w = self._arith_width() * k
            x_in = M + 0.9 + (in_w - wp) / 2
            x_k = M + 0.9 + in_w + GAP
            kx = x_k + (k_w - kw) / 2
            x_a = x_k + k_w + 0.5
            x_o = x_a + max(a_w, text_cells("products x·w", TITLE_FS) * k) + GAP
            o_title = "output" if self.w.ndim == 3 and C == 1 else f"output (o={self.out_channel})"
            o_w = max(wo, text_cells(o_title, TITLE_FS) * k)
            ys = [TOP + c * (hp + VGAP) for c in range(C)]
            stack_h = C * hp + (C - 1) * VGAP
            y_o = TOP if C == 1 else TOP + max(0.0, (stack_h - ho) / 2)
            sum_w = text_cells("y[00,00] = " + " + ".join(["-0.00"] * C) + " = -00.00", MONO_FS, mono=True) * k if C > 1 else 0
            caption_w = text_cells(_describe(g) + "   step 000/000: y[00,00]", 9.0) * k
            width = max(x_o + 0.9 + o_w + M, x_o + sum_w + M, caption_w + 2 * M)
            scale = fit_scale(width)
            if text_factor(scale) <= k + 1e-6:
                break
            k = text_factor(scale)
        bottom = max(ys[-1] + max(hp, kh + 1), y_o + ho + (1.2 if C > 1 else 0))
        height = bottom + 2.1 * k
        annotate = self.annotate and scale >= 0.55
        fig, ax = new_figure(width, height, fig, scale=scale)
        self.fig, self.ax = fig, ax
        vmin, vmax = float(min(self.x.min(), 0)), float(self.x.max())
        self.inputs, self.kernels, self.windows, self.taps, self.arith = [], [], [], [], []
        for c in range(C):
            gi = Grid(
                ax, self.padded[c], x_in, ys[c], "input", title=in_title.format(c=c), annotate=annotate, pads=g.pads,
                row_labels=_axis_labels(hp, t) if annotate else None, col_labels=_axis_labels(wp, l) if annotate else None,
                vmin=vmin, vmax=vmax, name=f"input{c}",
            )
            gk = Grid(ax, self.w[c], kx, ys[c], "kernel", title=k_title.format(c=c), annotate=scale >= 0.45, name=f"kernel{c}")
            box, taps = self._make_window(ax, gi, f"input{c}")
            self.inputs.append(gi)
            self.kernels.append(gk)
            self.windows.append(box)
            self.taps.append(taps)
            lines = []
            n_lines = kh + 1 if self.arithmetic else 1
            for i in range(n_lines):
                yy = ys[c] + (i if self.arithmetic else kh) + 0.5
                lines.append(FastText(ax, x_a, yy, "", MONO_FS, family="monospace"))
            self.arith.append(lines)
            text(ax, x_a, ys[c] - 0.2, "products x·w" if c == 0 else "", TITLE_FS, ha="left", va="bottom", fontweight="bold")
        self.output = Grid(
            ax, self.y, x_o + (o_w - wo) / 2, y_o, "output", title=o_title, annotate=annotate,
            row_labels=[str(i) for i in range(ho)] if annotate else None,
            col_labels=[str(j) for j in range(wo)] if annotate else None, name="output",
        )
        self.current = rect(ax, self.output.x0, self.output.y0, 1, 1, role="highlight", lw=3.2, gid="convviz:output:current")
        self.sum_text = None
        if C > 1:
            self.sum_text = FastText(ax, x_o, y_o + ho + 0.7, "", MONO_FS, family="monospace")
        self.geometry = FastText(ax, M, bottom + 0.55 * k, _describe(g), 9.0)
        self.caption = FastText(ax, M, bottom + 0.55 * k, "", 9.0, after=self.geometry)  # the part that changes
        roles = ["input", "kernel", "output"] + (["padding"] if padded else []) + ["highlight"]
        legend(fig, roles)
        fig.convviz = {
            "scene": self,
            "input": self.inputs,
            "kernel": self.kernels,
            "output": self.output,
            "window": self.windows,
            "taps": self.taps,
            "current": self.current,
            "arithmetic": self.arith,
            "sum": self.sum_text,
            "caption": self.caption,
            "geometry": self.geometry,
        }
        self.set_step(self.step)
        return fig

    def dynamic_artists(self):
        """Artists ``set_step`` changes (the widgets redraw only these)."""
        arts = list(self.windows) + list(self.taps) + self.output.artists() + [self.current, self.caption]
        arts += [ln for lines in self.arith for ln in lines] + ([self.sum_text] if self.sum_text is not None else [])
        return arts

    # -- update ---------------------------------------------------------------
    def set_step(self, step: Optional[int]):
        """Show output cell ``step`` (row-major); ``None``: every cell, no highlight."""
        done = step is None
        t = self._norm_step(step)
        self.step = step if done else t
        if self.fig is None:
            return
        g, C = self.g, self.C
        (kh, kw), (ho, wo), (sh, sw) = g.kernel_hw, g.out_hw, g.stride
        p, q = divmod(t, wo)
        for c in range(C):
            self._move_window(self.inputs[c], self.windows[c], self.taps[c], p * sh, q * sw)
            self.windows[c].set_visible(not done)
            self.taps[c].set_visible(not done)
        self.output.set_values(self.y, np.arange(ho * wo).reshape(ho, wo) > t)
        self.current.set_xy(self.output.cell_xy(p, q))
        self.current.set_visible(not done)
        col = self.cols[:, t].reshape(C, kh, kw)  # the window, as im2col sees it
        partial = []
        for c in range(C):
            s = float(np.dot(col[c].ravel(), self.w[c].ravel()))
            partial.append(s)
            lines = self.arith[c]
            if done:
                for ln in lines:
                    ln.set_text("")
                continue
            if self.arithmetic:
                for i in range(kh):
                    terms = " + ".join(f"{fmt(col[c, i, j])}·{wfmt(self.w[c, i, j])}" for j in range(kw))
                    lines[i].set_text(("  " if i == 0 else "+ ") + terms)
                tail = f"→ y[{p},{q}]" if C == 1 else f"(channel {c})"
                val = self.y[p, q] if C == 1 else s
                lines[kh].set_text(f"= {fmt(val)}  {tail}")
            else:
                val = self.y[p, q] if C == 1 else s
                lines[0].set_text(f"= {fmt(val)}  (sum of {kh * kw} products)")
        if self.sum_text is not None:
            self.sum_text.set_text("" if done else f"y[{p},{q}] = " + " + ".join(wfmt(s) for s in partial) + f" = {fmt(self.y[p, q])}")
        where = "all outputs" if done else f"step {t + 1}/{self.n_steps}: y[{p},{q}]"
        self.caption.set_text(where)


class Im2colScene(_WindowMixin, Scene):
    """im2col: every window becomes one column of the patch matrix; with a kernel,
    the convolution is the GEMM ``w_flat @ patches`` reshaped to the output.

    Numbers: :func:`convviz.im2col` for the patch matrix, :func:`convviz.conv2d`
    for the product.
    """

    def __init__(self, x, kernel_size, stride=1, padding=0, dilation=1, w=None, *, batch=0, annotate=None):
        X = as_nchw(x, "x")
        k = pair(kernel_size, "kernel_size")
        cols = ops.im2col(X, k, stride, padding, dilation)  # validates
        self.batch = _index(batch, X.shape[0], "batch")
        X = X.astype(float)
        self.g = g = ops.conv_geometry(X.shape[2:], k, stride, padding, dilation)
        self.x = X[self.batch]
        self.C = self.x.shape[0]
        self.cols = cols[self.batch]
        t, b, l, r = g.pads
        self.padded = np.pad(self.x, ((0, 0), (t, b), (l, r)))
        self.W = None
        if w is not None:
            W = as_nchw(w, "w")
            if tuple(W.shape[2:]) != k:
                raise ValueError(f"w has kernel shape {tuple(W.shape[2:])} but kernel_size is {k}; they must match")
            Y = ops.conv2d(X[self.batch : self.batch + 1], W, stride=stride, padding=padding, dilation=dilation)
            self.W = W.astype(float)
            self.y = Y[0]  # (O, Ho, Wo)
            self.w_flat = self.W.reshape(self.W.shape[0], -1)  # rows in im2col's (c, i, j) order
        # entries that come from padding (im2col of ones is 0 there): drawn muted
        self.from_padding = ops.im2col(np.ones((1, self.C) + X.shape[2:]), k, stride, padding, dilation)[0] == 0
        self.K, self.L = self.cols.shape
        self.n_steps = self.L
        hp, wp = g.padded_hw
        self.annotate = max(hp, wp, self.K) <= ANNOTATE_MAX * 2 and self.L <= 49 if annotate is None else bool(annotate)
        self.fig = None
        self.step = None

    def draw(self, fig=None):
        g, C, K, L = self.g, self.C, self.K, self.L
        (hp, wp), (kh, kw), (ho, wo) = g.padded_hw, g.kernel_hw, g.out_hw
        t, b, l, r = g.pads
        padded = any(g.pads)
        in_title = ("input (padded)" if padded else "input") if C == 1 else "input c={c}" + (" (padded)" if padded else "")
        in_w = max(wp, text_cells(in_title.format(c=0), TITLE_FS))
        x_in = M + 0.9 + (in_w - wp) / 2
        ys = [TOP + c * (hp + VGAP) for c in range(C)]
        B_title = f"patches = im2col(x)   ({K}×{L})"
        row_lab_w = text_cells("0,0,0" if C > 1 else "0,0", LABEL_FS) + 0.3
        O = 0 if self.W is None else self.W.shape[0]
        in_right = M + 0.9 + in_w
        x_B = in_right + GAP + row_lab_w
        if self.W is not None:
            A_title = f"w flattened ({O}×{K})"
            A_w = max(K, text_cells(A_title, TITLE_FS))
            y_C = TOP + K + VGAP
            if ys[-1] + hp + VGAP <= y_C:  # room under the input: the flat kernel goes there
                x_B = max(x_B, M + A_w + GAP)
            else:
                x_B = max(x_B, in_right + GAP + A_w + GAP)
            x_A = x_B - GAP - A_w
        B_w = max(L, text_cells(B_title, TITLE_FS))
        width = x_B + B_w + M
        bottom = max(ys[-1] + hp, TOP + K)
        if self.W is not None:
            y_R = y_C + O + VGAP
            width = max(width, x_B + O * (wo + GAP) + M, x_B + text_cells("y = w_flat · patches", TITLE_FS) + M)
            bottom = max(bottom, y_R + ho)
        caption_w = text_cells(_describe(g) + "   step 000/000: window (00,00) → column 000", 9.0) + 2 * M
        width = max(width, caption_w)
        scale = fit_scale(width)
        k = text_factor(scale)
        height = bottom + 2.1 * k
        annotate = self.annotate and scale >= 0.5
        fig, ax = new_figure(width, height, fig, scale=scale)
        self.fig, self.ax = fig, ax
        vmin, vmax = float(min(self.x.min(), 0)), float(self.x.max())
        self.inputs, self.windows, self.taps = [], [], []
        for c in range(C):
            gi = Grid(
                ax, self.padded[c], x_in, ys[c], "input", title=in_title.format(c=c), annotate=annotate and max(hp, wp) <= ANNOTATE_MAX,
                pads=g.pads, row_labels=_axis_labels(hp, t) if annotate else None,
                col_labels=_axis_labels(wp, l) if annotate else None, vmin=vmin, vmax=vmax, name=f"input{c}",
            )
            box, taps = self._make_window(ax, gi, f"input{c}")
            self.inputs.append(gi)
            self.windows.append(box)
            self.taps.append(taps)
        taps_lab = [f"{c},{i},{j}" if C > 1 else f"{i},{j}" for c in range(C) for i in range(kh) for j in range(kw)]
        self.patches = Grid(
            ax, self.cols, x_B, TOP, "input", title=None, annotate=annotate, vmin=vmin, vmax=vmax,
            row_labels=taps_lab if annotate else None, col_labels=[str(j) for j in range(L)] if annotate else None,
            name="patches", muted=self.from_padding,
        )
        text(ax, x_B, TOP - 0.2 - (0.5 if annotate else 0), B_title, TITLE_FS, ha="left", va="bottom", fontweight="bold")
        self.column = rect(ax, x_B, TOP, 1, K, role="highlight", lw=2.8, gid="convviz:patches:column")
        self.A = self.Cmat = None
        self.reshaped, self.out_cells = [], []
        if self.W is not None:
            self.A = Grid(ax, self.w_flat, x_A, y_C, "kernel", title=None, annotate=annotate, name="w_flat")
            text(ax, x_A, y_C - 0.2, A_title, TITLE_FS, ha="left", va="bottom", fontweight="bold")
            self.Cmat = Grid(ax, self.y.reshape(O, L), x_B, y_C, "output", title=None, annotate=annotate, name="gemm")
            text(ax, x_B, y_C - 0.2, "y = w_flat · patches", TITLE_FS, ha="left", va="bottom", fontweight="bold")
            self.gemm_cell = rect(ax, x_B, y_C, 1, O, role="highlight", lw=2.8, gid="convviz:gemm:column")
            for o in range(O):
                go = Grid(
                    ax, self.y[o], x_B + o * (wo + GAP), y_R, "output", title="y reshaped" if O == 1 else f"y[o={o}]",
                    annotate=annotate and max(ho, wo) <= ANNOTATE_MAX, name=f"output{o}",
                )
                self.reshaped.append(go)
                self.out_cells.append(rect(ax, go.x0, go.y0, 1, 1, role="highlight", lw=2.8, gid="convviz:output:current"))
        self.geometry = FastText(ax, M, bottom + 0.55 * k, _describe(g), 9.0)
        self.caption = FastText(ax, M, bottom + 0.55 * k, "", 9.0, after=self.geometry)
        roles = ["input"] + (["kernel", "output"] if self.W is not None else []) + (["padding"] if padded else []) + ["highlight"]
        legend(fig, roles)
        fig.convviz = {
            "scene": self,
            "input": self.inputs,
            "window": self.windows,
            "taps": self.taps,
            "patches": self.patches,
            "column": self.column,
            "w_flat": self.A,
            "gemm": self.Cmat,
            "output": self.reshaped,
            "caption": self.caption,
            "geometry": self.geometry,
        }
        self.set_step(self.step)
        return fig

    def dynamic_artists(self):
        arts = list(self.windows) + list(self.taps) + self.patches.artists() + [self.column, self.caption]
        if self.W is not None:
            arts += self.Cmat.artists() + [self.gemm_cell] + self.out_cells + [a for go in self.reshaped for a in go.artists()]
        return arts

    def set_step(self, step: Optional[int]):
        """Reveal columns ``0..step`` and highlight window/column ``step``; ``None``: all, no highlight."""
        done = step is None
        t = self._norm_step(step)
        self.step = None if done else t
        if self.fig is None:
            return
        g = self.g
        (ho, wo), (sh, sw) = g.out_hw, g.stride
        p, q = divmod(t, wo)
        for c in range(self.C):
            self._move_window(self.inputs[c], self.windows[c], self.taps[c], p * sh, q * sw)
            self.windows[c].set_visible(not done)
            self.taps[c].set_visible(not done)
        hidden = np.broadcast_to(np.arange(self.L) > t, self.cols.shape)
        self.patches.set_values(self.cols, hidden)
        self.column.set_x(self.patches.x0 + t)
        self.column.set_visible(not done)
        if self.W is not None:
            O = self.W.shape[0]
            self.Cmat.set_values(self.y.reshape(O, self.L), np.broadcast_to(np.arange(self.L) > t, (O, self.L)))
            self.gemm_cell.set_x(self.Cmat.x0 + t)
            self.gemm_cell.set_visible(not done)
            for go, cell in zip(self.reshaped, self.out_cells):
                go.set_values(go.values, np.arange(ho * wo).reshape(ho, wo) > t)
                cell.set_xy(go.cell_xy(p, q))
                cell.set_visible(not done)
        where = "all windows" if done else f"step {t + 1}/{self.n_steps}: window ({p},{q}) → column {t}"
        self.caption.set_text(where)


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def sliding_window(x, w, stride=1, padding=0, dilation=1, step=0, *, batch=0, out_channel=0, annotate=None):
    """One frame of the sliding window (chapter *Conv2d and its gradient*).

    Padded input (padding hatched grey) with the window of output ``step``
    (row-major; dilation gaps visible), the kernel, the products ``x·w`` written
    out (kernels up to 5×5) and the output with the current cell highlighted and
    later cells still empty.  ``x``: (H, W), (C, H, W) or (N, C, H, W); ``w``:
    (kh, kw), (C, kh, kw) or (O, C, kh, kw).  Several channels are stacked, one
    row per channel, and their partial sums added into the one output cell.
    ``step=None`` shows every output without highlight.  Returns a Figure whose
    ``fig.convviz`` dict holds the grids and highlight artists.
    """
    scene = SlidingWindowScene(x, w, stride, padding, dilation, batch=batch, out_channel=out_channel, annotate=annotate)
    scene.step = scene._norm_step(step) if step is not None else None
    return scene.draw()


def animate_conv(x, w, stride=1, padding=0, dilation=1, *, batch=0, out_channel=0, fps=2, dpi=80, max_frames=36):
    """Every step of :func:`sliding_window` as a self-contained JS animation (<= 1 MB)."""
    scene = SlidingWindowScene(x, w, stride, padding, dilation, batch=batch, out_channel=out_channel)
    scene.step = 0
    scene.draw()
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)


def im2col_figure(x, kernel_size, stride=1, padding=0, dilation=1, w=None, step=None, *, batch=0, annotate=None):
    """im2col as a picture (chapter *Conv2d and its gradient*).

    The padded input with window ``step``, the patch matrix ``im2col(x)`` whose
    column ``step`` is that window, and -- given ``w`` -- the GEMM
    ``w_flat @ patches`` and its reshape into the output.  ``step=None`` shows
    every column without highlight; an int reveals columns ``0..step``.
    """
    scene = Im2colScene(x, kernel_size, stride, padding, dilation, w, batch=batch, annotate=annotate)
    scene.step = None if step is None else scene._norm_step(step)
    return scene.draw()


def animate_im2col(x, kernel_size, stride=1, padding=0, dilation=1, w=None, *, batch=0, fps=2, dpi=80, max_frames=36):
    """Windows turning into columns, one per frame (self-contained JS, <= 1 MB)."""
    scene = Im2colScene(x, kernel_size, stride, padding, dilation, w, batch=batch)
    scene.step = 0
    scene.draw()
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)

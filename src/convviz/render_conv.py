"""Forward convolution pictures: the sliding window and im2col (chapter *Conv2d
and its gradient*).  Public entry points are re-exported by :mod:`convviz.render`.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from matplotlib.collections import PolyCollection

from . import ops, style
from .geometry import conv_geometry, pair
from .render_base import (
    GAP,
    M,
    MONO_FS,
    TARGET_PX,
    TITLE_FS,
    TOP,
    VGAP,
    FastText,
    Fit,
    Grid,
    Scene,
    animate,
    caption_lines,
    caption_width,
    captions,
    choose_scale,
    fmt,
    footer_height,
    label_width,
    legend,
    new_figure,
    rect,
    scale_of,
    text,
    text_cells,
)

__all__ = ["SlidingWindowScene", "Im2colScene", "sliding_window", "animate_conv", "im2col_figure", "animate_im2col"]

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
        self.g = g = conv_geometry(X.shape[2:], W.shape[2:], stride=stride, padding=padding, dilation=dilation)
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
        """Width (cells, at text factor 1) of the longest arithmetic line any step writes."""
        g, C = self.g, self.C
        (kh, kw), (ho, wo) = g.kernel_hw, g.out_hw
        if C == 1:
            sums = self.y.ravel()
        else:  # per-channel partial sums of every window: what the "= ... (channel c)" lines show
            sums = np.einsum("ckl,ck->cl", self.cols.reshape(C, kh * kw, -1), self.w.reshape(C, -1)).ravel()
        yl = max(len(fmt(v)) for v in sums)
        tail = f"  → y[{ho - 1},{wo - 1}]" if C == 1 else f"  (channel {C - 1})"
        if not self.arithmetic:
            return text_cells(f"= {'8' * yl}  (sum of {kh * kw} products)", MONO_FS, mono=True)
        xl = max(len(fmt(v)) for v in self.padded.ravel())
        # the factors of row i: every input value may appear, the weights are those of row i
        chars = max(2 + sum(xl + 1 + len(wfmt(v)) for v in self.w[c, i]) + 3 * (kw - 1) for c in range(C) for i in range(kh))
        chars = max(chars, len(f"= {'8' * yl}") + len(tail))
        return text_cells("x" * chars, MONO_FS, mono=True)

    def _layout(self, fit, annotate):
        """Both arrangements at the text factor of ``fit``: ``"right"`` (output right of the
        products, one row per channel) and ``"below"`` (output under the kernel
        column, so the figure is narrower).  Returns {name: (width, positions)}."""
        g, C = self.g, self.C
        k, B = fit.k, fit.boost
        (hp, wp), (kh, kw), (ho, wo) = g.padded_hw, g.kernel_hw, g.out_hw
        t, b, l, r = g.pads
        padded = any(g.pads)
        self.in_title = ("input (padded)" if padded else "input") if C == 1 else "input c={c}" + (" (padded)" if padded else "")
        self.k_title = "kernel" if C == 1 else "kernel c={c}"
        self.o_title = "output" if C == 1 else f"output (o={self.out_channel})"
        tw = lambda s_: text_cells(s_, TITLE_FS, bold=True) * k  # noqa: E731
        lab_in = _axis_labels(hp, t) if annotate else None
        lab_o = [str(i) for i in range(ho)] if annotate else None
        # input panel: labels (or a wide title) on the left
        ti = tw(self.in_title.format(c=C - 1))
        in_left = max(label_width(lab_in, B), (ti - wp) / 2)
        in_right = max(0.0, (ti - wp) / 2)
        x_in = M + in_left
        tk = tw(self.k_title.format(c=C - 1))
        k_left = max(0.0, (tk - kw) / 2)
        x_kpanel = x_in + wp + in_right + GAP
        kx = x_kpanel + k_left
        x_a = kx + kw + max(0.35, (tk - kw) / 2)
        a_w = max(self._arith_width() * k, tw("products x·w"))
        row_w = x_a + a_w + M
        ys = [TOP + c * (hp + VGAP) for c in range(C)]
        rows_bottom = ys[-1] + max(hp, kh + 1)
        to = tw(self.o_title)
        o_left = max(label_width(lab_o, B), (to - wo) / 2)
        o_right = max(0.0, (to - wo) / 2)
        sum_w = 0.0
        if C > 1:  # "y[p,q] = s0 + s1 + ... = total" at its longest
            parts = np.einsum("ckl,ck->cl", self.cols.reshape(C, kh * kw, -1), self.w.reshape(C, -1)).ravel()
            pl, yl = max(len(wfmt(v)) for v in parts), max(len(fmt(v)) for v in self.y.ravel())
            chars = len(f"y[{ho - 1},{wo - 1}] = ") + C * pl + 3 * (C - 1) + 3 + yl
            sum_w = text_cells("x" * chars, MONO_FS, mono=True) * k
        out = {}
        # output right of the products (vertically centred on the channel stack)
        x_o = x_a + a_w + GAP + o_left
        y_o = TOP if C == 1 else TOP + max(0.0, (rows_bottom - TOP - ho - 1.2) / 2)
        width = max(row_w, x_o + wo + o_right + M, x_o - o_left + sum_w + M)
        bottom = max(rows_bottom, y_o + ho + (1.2 if C > 1 else 0.0))
        out["right"] = (width, dict(x_in=x_in, kx=kx, x_a=x_a, ys=ys, x_o=x_o, y_o=y_o, sum_xy=(x_o - o_left, y_o + ho + 0.7),
                                    bottom=bottom))
        # output under the kernel column: below the products (one channel) or below the stack
        x_o = max(x_kpanel, M) + o_left
        y_o = (TOP + kh + 1 + VGAP) if C == 1 else rows_bottom + VGAP
        y_o = max(y_o, TOP) if C == 1 else y_o
        sum_xy = (x_o + wo + o_right + 0.6, y_o + ho / 2)
        width = max(row_w, x_o + wo + o_right + M, (sum_xy[0] + sum_w + M) if C > 1 else 0.0)
        bottom = max(rows_bottom, y_o + ho)
        out["below"] = (width, dict(x_in=x_in, kx=kx, x_a=x_a, ys=ys, x_o=x_o, y_o=y_o, sum_xy=sum_xy, bottom=bottom))
        return out

    def _choose(self, annotate, dpi):
        """The arrangement to draw: the one-row picture when it fits the text column,
        else the narrower one; cells shrink only if even that is wider than MAX_PX."""
        fit = Fit(dpi)
        for _ in range(6):  # text grows relative to cells when cells shrink: iterate to a fixed point
            opts = self._layout(fit, annotate)
            name = "right" if opts["right"][0] <= fit.cells(TARGET_PX) else min(opts, key=lambda n: opts[n][0])
            if fit.settle(opts[name][0]):
                break
        return name, opts[name], fit

    def draw(self, fig=None):
        g, C = self.g, self.C
        (hp, wp), (kh, kw), (ho, wo) = g.padded_hw, g.kernel_hw, g.out_hw
        t, b, l, r = g.pads
        padded = any(g.pads)
        annotate = self.annotate
        dpi = fig.dpi if fig is not None else self.dpi
        name, (width, pos), fit = self._choose(annotate, dpi)
        if annotate and fit.scale < 0.55:  # cells too small for numbers: lay out again without them
            annotate = False
            name, (width, pos), fit = self._choose(annotate, dpi)
        scale, k = fit.scale, fit.k
        self.arrangement = name
        roles = ["input", "kernel", "output"] + (["padding"] if padded else []) + ["highlight"]
        geometry = _describe(g)
        width = caption_width(width, geometry, fit)
        geo, split = caption_lines(width, geometry, f"step {self.n_steps}/{self.n_steps}: y[{ho - 1},{wo - 1}]", k)
        bottom = pos["bottom"]
        height = bottom + footer_height(len(geo) + split, roles, width, k)
        fig, ax = new_figure(width, height, fig, dpi=dpi, scale=scale)
        self.fig, self.ax = fig, ax
        vmin, vmax = float(min(self.x.min(), 0)), float(self.x.max())
        x_in, kx, x_a, ys = pos["x_in"], pos["kx"], pos["x_a"], pos["ys"]
        self.inputs, self.kernels, self.windows, self.taps, self.arith = [], [], [], [], []
        for c in range(C):
            gi = Grid(
                ax, self.padded[c], x_in, ys[c], "input", title=self.in_title.format(c=c), annotate=annotate, pads=g.pads,
                row_labels=_axis_labels(hp, t) if annotate else None, col_labels=_axis_labels(wp, l) if annotate else None,
                vmin=vmin, vmax=vmax, name=f"input{c}",
            )
            gk = Grid(ax, self.w[c], kx, ys[c], "kernel", title=self.k_title.format(c=c), annotate=scale >= 0.45, name=f"kernel{c}")
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
            if c == 0:
                text(ax, x_a, ys[c] - 0.2, "products x·w", TITLE_FS, ha="left", va="bottom", fontweight="bold")
        self.output = Grid(
            ax, self.y, pos["x_o"], pos["y_o"], "output", title=self.o_title, annotate=annotate,
            row_labels=[str(i) for i in range(ho)] if annotate else None,
            col_labels=[str(j) for j in range(wo)] if annotate else None, name="output",
        )
        self.current = rect(ax, self.output.x0, self.output.y0, 1, 1, role="highlight", lw=3.2, gid="convviz:output:current")
        self.sum_text = None
        if C > 1:
            sx, sy = pos["sum_xy"]
            self.sum_text = FastText(ax, sx, sy, "", MONO_FS, family="monospace")
        self.geometry, self.caption = captions(ax, bottom, geo, split, k)
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
    def _show(self, t: int, done: bool):
        """Show output cell ``step`` (row-major); ``None``: every cell, no highlight."""
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
        self.g = g = conv_geometry(X.shape[2:], k, stride=stride, padding=padding, dilation=dilation)
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

    def _layout(self, fit, annotate):
        g, C, K, L = self.g, self.C, self.K, self.L
        k, B = fit.k, fit.boost
        (hp, wp), (kh, kw), (ho, wo) = g.padded_hw, g.kernel_hw, g.out_hw
        t = g.pads[0]
        tw = lambda s_: text_cells(s_, TITLE_FS, bold=True) * k  # noqa: E731
        pos = {}
        ti = tw(self.in_title.format(c=C - 1))
        lab_in = _axis_labels(hp, t) if annotate else None
        in_left = max(label_width(lab_in, B), (ti - wp) / 2)
        pos["x_in"] = x_in = M + in_left
        in_right = x_in + wp + max(0.0, (ti - wp) / 2)
        pos["ys"] = ys = [TOP + c * (hp + VGAP) for c in range(C)]
        taps_lab = [f"{c},{i},{j}" if C > 1 else f"{i},{j}" for c in range(C) for i in range(kh) for j in range(kw)]
        x_B = in_right + GAP + label_width(taps_lab if annotate else None, B)
        O = 0 if self.W is None else self.W.shape[0]
        if self.W is not None:
            A_w = max(K, tw(self.A_title))
            y_C = TOP + K + VGAP
            if ys[-1] + hp + VGAP <= y_C:  # room under the input: the flat kernel goes there
                x_B = max(x_B, M + A_w + 0.7)
            else:
                x_B = max(x_B, in_right + GAP + A_w + 0.7)
            pos["x_A"], pos["y_C"] = x_B - 0.7 - A_w, y_C
        width = x_B + max(L, tw(self.B_title)) + M
        bottom = max(ys[-1] + hp, TOP + K)
        if self.W is not None:
            pos["y_R"] = y_R = y_C + O + VGAP
            width = max(width, x_B + O * (wo + GAP) - GAP + M, x_B + tw("y = w_flat · patches") + M)
            bottom = max(bottom, y_R + ho)
        pos["x_B"], pos["bottom"] = x_B, bottom
        return width, pos

    def draw(self, fig=None):
        g, C, K, L = self.g, self.C, self.K, self.L
        (hp, wp), (kh, kw), (ho, wo) = g.padded_hw, g.kernel_hw, g.out_hw
        t, b, l, r = g.pads
        padded = any(g.pads)
        self.in_title = ("input (padded)" if padded else "input") if C == 1 else "input c={c}" + (" (padded)" if padded else "")
        self.B_title = f"patches = im2col(x)   ({K}×{L})"
        O = 0 if self.W is None else self.W.shape[0]
        self.A_title = f"w flattened ({O}×{K})"
        annotate = self.annotate
        dpi = fig.dpi if fig is not None else self.dpi
        fit = Fit(dpi)
        for _ in range(6):
            width, pos = self._layout(fit, annotate)
            if annotate and choose_scale(width, dpi) < 0.5:
                annotate, fit = False, Fit(dpi)
                continue
            if fit.settle(width):
                break
        scale, k = fit.scale, fit.k
        roles = ["input"] + (["kernel", "output"] if self.W is not None else []) + (["padding"] if padded else []) + ["highlight"]
        geometry = _describe(g)
        width = caption_width(width, geometry, fit)
        geo, split = caption_lines(width, geometry, f"step {L}/{L}: window ({ho - 1},{wo - 1}) → column {L - 1}", k)
        bottom = pos["bottom"]
        height = bottom + footer_height(len(geo) + split, roles, width, k)
        fig, ax = new_figure(width, height, fig, dpi=dpi, scale=scale)
        self.fig, self.ax = fig, ax
        vmin, vmax = float(min(self.x.min(), 0)), float(self.x.max())
        x_in, ys, x_B = pos["x_in"], pos["ys"], pos["x_B"]
        self.inputs, self.windows, self.taps = [], [], []
        for c in range(C):
            gi = Grid(
                ax, self.padded[c], x_in, ys[c], "input", title=self.in_title.format(c=c), annotate=annotate and max(hp, wp) <= ANNOTATE_MAX,
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
        text(ax, x_B, TOP - 0.2 - (0.5 if annotate else 0), self.B_title, TITLE_FS, ha="left", va="bottom", fontweight="bold")
        self.column = rect(ax, x_B, TOP, 1, K, role="highlight", lw=2.8, gid="convviz:patches:column")
        self.A = self.Cmat = None
        self.reshaped, self.out_cells = [], []
        if self.W is not None:
            x_A, y_C, y_R = pos["x_A"], pos["y_C"], pos["y_R"]
            self.A = Grid(ax, self.w_flat, x_A, y_C, "kernel", title=None, annotate=annotate, name="w_flat")
            text(ax, x_A, y_C - 0.2, self.A_title, TITLE_FS, ha="left", va="bottom", fontweight="bold")
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
        self.geometry, self.caption = captions(ax, bottom, geo, split, k)
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

    def _show(self, t: int, done: bool):
        """Reveal columns ``0..step`` and highlight window/column ``step``; ``None``: all, no highlight."""
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
    ``step=None`` shows every output without highlight.  When one row (input,
    kernel, products, output) is wider than the book's text column, the output
    moves under the kernel column.  Returns a Figure whose ``fig.convviz`` dict
    holds the grids and highlight artists.
    """
    scene = SlidingWindowScene(x, w, stride, padding, dilation, batch=batch, out_channel=out_channel, annotate=annotate)
    scene.step = scene._norm_step(step) if step is not None else None
    return scene.draw()


def animate_conv(x, w, stride=1, padding=0, dilation=1, *, batch=0, out_channel=0, fps=2, dpi=80, max_frames=36):
    """Every step of :func:`sliding_window` as a self-contained JS animation (<= 1 MB)."""
    scene = SlidingWindowScene(x, w, stride, padding, dilation, batch=batch, out_channel=out_channel)
    scene.step, scene.dpi = 0, dpi
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
    scene.step, scene.dpi = 0, dpi
    scene.draw()
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)

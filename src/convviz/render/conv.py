"""Forward convolution pictures: the sliding window and im2col (chapter *Conv2d
and its gradient*).
"""
from __future__ import annotations

import numpy as np

from .. import ops, style
from ..geometry import conv_geometry
from ..validate import as_4d, operands, pair
from .animation import animate
from matplotlib.patches import Circle, Rectangle

from .grid import ANNOTATE_MAX, AXIS_H, AXIS_PT, Grid, Window, draw_axis_titles, rect, row_title_width
from .layout import (
    MARGIN,
    MONO_PT,
    PANEL_GAP,
    ROW_GAP,
    TARGET_PX,
    TITLE_PT,
    TOP_MARGIN,
    caption_lines,
    caption_width,
    fit_layout,
    footer_height,
    label_width,
    text_cells,
)
from .scene import Scene, as_nchw, captions, geometry_caption, legend, legend_roles, new_figure, resolved_params
from .text import FastText, draw_text, fmt

__all__ = [
    "SlidingWindowScene", "Im2colScene", "sliding_window", "animate_conv", "im2col_figure", "animate_im2col", "im2col_orders",
    "patch_row_order",
]


def _index(value, n, name):
    if not isinstance(value, (int, np.integer)) or not 0 <= value < n:
        raise ValueError(f"{name} must be an integer in [0, {n - 1}], got {value!r}")
    return int(value)


def wfmt(v) -> str:
    """A weight inside a product: negative values in parentheses.

    Examples
    --------
    >>> wfmt(2.0), wfmt(-1.5)
    ('2', '(-1.5)')
    """
    s = fmt(v)
    return f"({s})" if s.startswith("-") else s


def _padded(x, g):
    """``x`` (C, H, W) with ``g``'s padding as zeros around it (display only)."""
    t, b, l, r = g.pads
    return np.pad(x, ((0, 0), (t, b), (l, r)))


def _input_title(n_channels, g):
    """Title of the input panel(s), ``{c}`` standing for the channel."""
    padded = " (padded)" if any(g.pads) else ""
    return f"input{padded}" if n_channels == 1 else "input c={c}" + padded


def _axis_labels(n, before):
    """Indices in the unpadded input's coordinates (padding rows get -1, H, ...)."""
    return [str(i - before) for i in range(n)]


class SlidingWindowScene(Scene):
    """One output cell per step: window on the padded input, kernel, products, output.

    Numbers: the output comes from :func:`convviz.conv2d`, the window contents
    from :func:`convviz.im2col` (column ``step``), so the figure shows exactly
    what the core computes.  The geometry is resolved once (``scene.g``, a
    :class:`~convviz.geometry.ConvGeometry`).

    Examples
    --------
    >>> scene = SlidingWindowScene(np.ones((4, 4)), np.ones((3, 3)), padding=1)
    >>> scene.g.pads, scene.n_steps, scene.n_channels
    ((1, 1, 1, 1), 16, 1)
    """

    def __init__(self, x, w, stride=1, padding=0, dilation=1, *, batch=0, out_channel=0, annotate=None, arithmetic=None):
        X, W = as_nchw(x, "x"), as_nchw(w, "w")
        operands(X, W, transposed=False)  # the core's checks, with its messages
        self.g = g = conv_geometry(X.shape[2:], W.shape[2:], stride=stride, padding=padding, dilation=dilation)
        Y = ops.conv2d(X, W, **resolved_params(g))
        X, W = X.astype(float), W.astype(float)
        self.batch = _index(batch, X.shape[0], "batch")
        self.out_channel = _index(out_channel, W.shape[0], "out_channel")
        self.x, self.w = X[self.batch], W[self.out_channel]
        self.y = Y[self.batch, self.out_channel]
        self.cols = ops.im2col(X[self.batch : self.batch + 1], g.kernel_hw, **resolved_params(g))[0]
        self.padded = _padded(self.x, g)
        self.n_channels = self.x.shape[0]
        self.n_steps = g.out_hw[0] * g.out_hw[1]
        hp, wp = g.padded_hw
        self.annotate = max(hp, wp, *g.out_hw) <= ANNOTATE_MAX if annotate is None else bool(annotate)
        kh, kw = g.kernel_hw
        self.arithmetic = (kh <= 5 and kw <= 5 and self.n_channels <= 4) if arithmetic is None else bool(arithmetic)

    def _partial_sums(self):
        """Every window's per-channel dot product (channel-major, flattened)."""
        C, (kh, kw) = self.n_channels, self.g.kernel_hw
        return np.einsum("ckl,ck->cl", self.cols.reshape(C, kh * kw, -1), self.w.reshape(C, -1)).ravel()

    # -- layout ---------------------------------------------------------------
    def _arith_width(self):
        """Width (cells, at text factor 1) of the longest arithmetic line any step writes."""
        g, C = self.g, self.n_channels
        (kh, kw), (ho, wo) = g.kernel_hw, g.out_hw
        if C == 1:
            sums = self.y.ravel()
        else:  # per-channel partial sums of every window: what the "= ... (channel c)" lines show
            sums = self._partial_sums()
        yl = max(len(fmt(v)) for v in sums)
        tail = f"  → y[{ho - 1},{wo - 1}]" if C == 1 else f"  (channel {C - 1})"
        if not self.arithmetic:
            return text_cells(f"= {'8' * yl}  (sum of {kh * kw} products)", MONO_PT, mono=True)
        xl = max(len(fmt(v)) for v in self.padded.ravel())
        # the factors of row i: every input value may appear, the weights are those of row i
        chars = max(2 + sum(xl + 1 + len(wfmt(v)) for v in self.w[c, i]) + 3 * (kw - 1) for c in range(C) for i in range(kh))
        chars = max(chars, len(f"= {'8' * yl}") + len(tail))
        return text_cells("x" * chars, MONO_PT, mono=True)

    def _layout(self, fit, annotate):
        """Both arrangements at the text factor of ``fit``: ``"right"`` (output right of the
        products, one row per channel) and ``"below"`` (output under the kernel
        column, so the figure is narrower).  Returns {name: (width, positions)}."""
        g, C = self.g, self.n_channels
        k, B = fit.k, fit.boost
        (hp, wp), (kh, kw), (ho, wo) = g.padded_hw, g.kernel_hw, g.out_hw
        t = g.pads[0]
        self.in_title = _input_title(C, g)
        self.k_title = "kernel" if C == 1 else "kernel c={c}"
        self.o_title = "output" if C == 1 else f"output (o={self.out_channel})"
        tw = lambda s_: text_cells(s_, TITLE_PT, bold=True) * k  # noqa: E731
        lab_in = _axis_labels(hp, t) if annotate else None
        lab_o = [str(i) for i in range(ho)] if annotate else None
        # input panel: labels (or a wide title) on the left
        ti = tw(self.in_title.format(c=C - 1))
        in_left = max(label_width(lab_in, B), (ti - wp) / 2)
        in_right = max(0.0, (ti - wp) / 2)
        x_in = MARGIN + in_left
        tk = tw(self.k_title.format(c=C - 1))
        k_left = max(0.0, (tk - kw) / 2)
        x_kpanel = x_in + wp + in_right + PANEL_GAP
        kx = x_kpanel + k_left
        x_a = kx + kw + max(0.35, (tk - kw) / 2)
        a_w = max(self._arith_width() * k, tw("products x·w"))
        row_w = x_a + a_w + MARGIN
        ys = [TOP_MARGIN + c * (hp + ROW_GAP) for c in range(C)]
        rows_bottom = ys[-1] + max(hp, kh + 1)
        to = tw(self.o_title)
        o_left = max(label_width(lab_o, B), (to - wo) / 2)
        o_right = max(0.0, (to - wo) / 2)
        sum_w = 0.0
        if C > 1:  # "y[p,q] = s0 + s1 + ... = total" at its longest
            parts = self._partial_sums()
            pl, yl = max(len(wfmt(v)) for v in parts), max(len(fmt(v)) for v in self.y.ravel())
            chars = len(f"y[{ho - 1},{wo - 1}] = ") + C * pl + 3 * (C - 1) + 3 + yl
            sum_w = text_cells("x" * chars, MONO_PT, mono=True) * k
        out = {}
        # output right of the products (vertically centred on the channel stack)
        x_o = x_a + a_w + PANEL_GAP + o_left
        y_o = TOP_MARGIN if C == 1 else TOP_MARGIN + max(0.0, (rows_bottom - TOP_MARGIN - ho - 1.2) / 2)
        width = max(row_w, x_o + wo + o_right + MARGIN, x_o - o_left + sum_w + MARGIN)
        bottom = max(rows_bottom, y_o + ho + (1.2 if C > 1 else 0.0))
        out["right"] = (width, dict(x_in=x_in, kx=kx, x_a=x_a, ys=ys, x_o=x_o, y_o=y_o, sum_xy=(x_o - o_left, y_o + ho + 0.7),
                                    bottom=bottom))
        # output under the kernel column: below the products (one channel) or below the stack
        x_o = max(x_kpanel, MARGIN) + o_left
        y_o = (TOP_MARGIN + kh + 1 + ROW_GAP) if C == 1 else rows_bottom + ROW_GAP
        sum_xy = (x_o + wo + o_right + 0.6, y_o + ho / 2)
        width = max(row_w, x_o + wo + o_right + MARGIN, (sum_xy[0] + sum_w + MARGIN) if C > 1 else 0.0)
        bottom = max(rows_bottom, y_o + ho)
        out["below"] = (width, dict(x_in=x_in, kx=kx, x_a=x_a, ys=ys, x_o=x_o, y_o=y_o, sum_xy=sum_xy, bottom=bottom))
        return out

    def _arrange(self, fit, annotate):
        """The arrangement to draw (for :func:`~convviz.render.layout.fit_layout`): the one-row
        picture when it fits the text column, else the narrower one."""
        opts = self._layout(fit, annotate)
        name = "right" if opts["right"][0] <= fit.cells(TARGET_PX) else min(opts, key=lambda n: opts[n][0])
        width, pos = opts[name]
        return width, (name, pos)

    def draw(self, fig=None):
        g, C = self.g, self.n_channels
        (hp, wp), kh, (ho, wo) = g.padded_hw, g.kernel_hw[0], g.out_hw
        t, b, l, r = g.pads
        dpi = self.layout_dpi(fig)
        width, (name, pos), fit, annotate = fit_layout(self._arrange, dpi, self.annotate, min_scale=0.55)
        scale, k = fit.scale, fit.k
        self.arrangement = name
        roles, outlined = legend_roles(
            [("input", style.is_signed(self.x)), ("kernel", style.is_signed(self.w)), ("output", style.is_signed(self.y))],
            padding=any(g.pads), highlight=self.step is not None)
        geometry = geometry_caption(g)
        width = caption_width(width, geometry, fit)
        geo, split = caption_lines(width, geometry, f"step {self.n_steps}/{self.n_steps}: y[{ho - 1},{wo - 1}]", k)
        bottom = pos["bottom"]
        height = bottom + footer_height(len(geo) + split, roles, width, k)
        fig, ax = new_figure(width, height, fig, dpi=dpi, scale=scale)
        self.fig, self.ax = fig, ax
        vmin, vmax = float(min(self.x.min(), 0)), float(self.x.max())
        x_in, kx, x_a, ys = pos["x_in"], pos["kx"], pos["x_a"], pos["ys"]
        self.inputs, self.kernels, self.windows, self.arith = [], [], [], []
        for c in range(C):
            gi = Grid(
                ax, self.padded[c], x_in, ys[c], "input", title=self.in_title.format(c=c), annotate=annotate, pads=g.pads,
                row_labels=_axis_labels(hp, t) if annotate else None, col_labels=_axis_labels(wp, l) if annotate else None,
                vmin=vmin, vmax=vmax, name=f"input{c}",
            )
            gk = Grid(ax, self.w[c], kx, ys[c], "kernel", title=self.k_title.format(c=c), annotate=scale >= 0.45,
                      vmin=float(self.w.min()), vmax=float(self.w.max()), name=f"kernel{c}")  # one scale for all channels
            self.inputs.append(gi)
            self.kernels.append(gk)
            self.windows.append(Window(ax, gi, g, f"input{c}"))
            lines = []
            n_lines = kh + 1 if self.arithmetic else 1
            for i in range(n_lines):
                yy = ys[c] + (i if self.arithmetic else kh) + 0.5
                lines.append(FastText(ax, x_a, yy, "", MONO_PT, family="monospace"))
            self.arith.append(lines)
            if c == 0:
                draw_text(ax, x_a, ys[c] - 0.2, "products x·w", TITLE_PT, ha="left", va="bottom", fontweight="bold")
        self.output = Grid(
            ax, self.y, pos["x_o"], pos["y_o"], "output", title=self.o_title, annotate=annotate,
            row_labels=[str(i) for i in range(ho)] if annotate else None,
            col_labels=[str(j) for j in range(wo)] if annotate else None, name="output",
        )
        self.current = rect(ax, self.output.x0, self.output.y0, 1, 1, role="highlight", lw=3.2, gid="convviz:output:current")
        self.sum_text = None
        if C > 1:
            sx, sy = pos["sum_xy"]
            self.sum_text = FastText(ax, sx, sy, "", MONO_PT, family="monospace")
        self.geometry, self.caption = captions(ax, bottom, geo, split, k)
        legend(fig, roles, outlined)
        return self.finish(fig, {
            "input": self.inputs,
            "kernel": self.kernels,
            "output": self.output,
            "window": [win.box for win in self.windows],
            "taps": [win.taps for win in self.windows],
            "current": self.current,
            "arithmetic": self.arith,
            "sum": self.sum_text,
            "caption": self.caption,
            "geometry": self.geometry,
        })

    def _show(self, t: int, done: bool):
        """Show output cell ``step`` (row-major); ``None``: every cell, no highlight."""
        g, C = self.g, self.n_channels
        (kh, kw), (ho, wo), (sh, sw) = g.kernel_hw, g.out_hw, g.stride
        p, q = divmod(t, wo)
        for win in self.windows:
            win.move(p * sh, q * sw)
            win.set_visible(not done)
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
            val = self.y[p, q] if C == 1 else s
            if self.arithmetic:
                for i in range(kh):
                    terms = " + ".join(f"{fmt(col[c, i, j])}·{wfmt(self.w[c, i, j])}" for j in range(kw))
                    lines[i].set_text(("  " if i == 0 else "+ ") + terms)
                tail = f"→ y[{p},{q}]" if C == 1 else f"(channel {c})"
                lines[kh].set_text(f"= {fmt(val)}  {tail}")
            else:
                lines[0].set_text(f"= {fmt(val)}  (sum of {kh * kw} products)")
        if self.sum_text is not None:
            self.sum_text.set_text("" if done else f"y[{p},{q}] = " + " + ".join(wfmt(s) for s in partial) + f" = {fmt(self.y[p, q])}")
        where = "all outputs" if done else f"step {t + 1}/{self.n_steps}: y[{p},{q}]"
        self.caption.set_text(where)


class Im2colScene(Scene):
    """im2col: every window becomes one column of the patch matrix; with a kernel,
    the convolution is the GEMM ``w_flat @ patches`` reshaped to the output.

    Numbers: :func:`convviz.im2col` for the patch matrix, :func:`convviz.conv2d`
    for the product.

    Examples
    --------
    >>> scene = Im2colScene(np.arange(9.).reshape(3, 3), 2, w=np.ones((2, 2)))
    >>> scene.patches_shape, scene.n_steps
    ((4, 4), 4)
    """

    def __init__(self, x, kernel_size, stride=1, padding=0, dilation=1, w=None, *, batch=0, annotate=None):
        X = as_nchw(x, "x")
        as_4d(X, "x", "NCHW")  # the core's checks, with its messages
        k = pair(kernel_size, "kernel_size")
        self.g = g = conv_geometry(X.shape[2:], k, stride=stride, padding=padding, dilation=dilation)
        cols = ops.im2col(X, k, **resolved_params(g))
        self.batch = _index(batch, X.shape[0], "batch")
        X = X.astype(float)
        self.x = X[self.batch]
        self.n_channels = self.x.shape[0]
        self.cols = cols[self.batch]
        self.padded = _padded(self.x, g)
        self.weights = None
        if w is not None:
            W = as_nchw(w, "w")
            if tuple(W.shape[2:]) != k:
                raise ValueError(f"w has kernel shape {tuple(W.shape[2:])} but kernel_size is {k}; they must match")
            Y = ops.conv2d(X[self.batch : self.batch + 1], W, **resolved_params(g))
            self.weights = W.astype(float)
            self.y = Y[0]  # (O, Ho, Wo)
            self.w_flat = self.weights.reshape(self.weights.shape[0], -1)  # rows in im2col's (c, i, j) order
        # entries that come from padding (im2col of ones is 0 there): drawn muted
        self.from_padding = ops.im2col(np.ones((1, self.n_channels) + X.shape[2:]), k, **resolved_params(g))[0] == 0
        self.patches_shape = self.cols.shape  # (C*kh*kw taps, L windows)
        self.n_steps = self.patches_shape[1]
        hp, wp = g.padded_hw
        n_taps, n_windows = self.patches_shape
        self.annotate = max(hp, wp, n_taps) <= ANNOTATE_MAX * 2 and n_windows <= 49 if annotate is None else bool(annotate)

    DONE_LINKED = "all windows: a ring marks each window's centre, its column has the ring's colour"

    @property
    def n_out_channels(self) -> int:
        """Output channels of the GEMM (0 without a kernel)."""
        return 0 if self.weights is None else self.weights.shape[0]

    def _tap_labels(self):
        """Row labels of the patch matrix: (c,) i, j of every kernel tap."""
        C, (kh, kw) = self.n_channels, self.g.kernel_hw
        return [f"{c},{i},{j}" if C > 1 else f"{i},{j}" for c in range(C) for i in range(kh) for j in range(kw)]

    def axis_titles(self):
        """What the patch matrix's rows and columns are: the stacked row-axis words and the column line.

        Examples
        --------
        >>> Im2colScene(np.ones((2, 4, 4)), 3).axis_titles()
        (['rows', '(c,i,j) =', 'channel,', 'kernel', 'row, col'], 'columns: window l = 2·p + q')
        """
        wo = self.g.out_hw[1]
        rows = ["rows", "(c,i,j) =", "channel,", "kernel", "row, col"] if self.n_channels > 1 else ["rows", "(i,j) =", "kernel",
                                                                                                     "row, col"]
        return rows, f"columns: window l = {wo}·p + q"

    @property
    def linked(self) -> bool:
        """True when every window gets its own hue, shared with its column (the finished
        picture of at most ``len(style.WINDOW_HUES)`` windows, numbers in the cells)."""
        return self.step is None and self.patches_shape[1] <= len(style.WINDOW_HUES) and self.annotate

    def _layout(self, fit, annotate):
        g, C = self.g, self.n_channels
        (n_taps, n_windows), n_out = self.patches_shape, self.n_out_channels
        k, B = fit.k, fit.boost
        (hp, wp), (ho, wo) = g.padded_hw, g.out_hw
        tw = lambda s_: text_cells(s_, TITLE_PT, bold=True) * k  # noqa: E731
        pos = {}
        ti = tw(self.in_title.format(c=C - 1))
        lab_in = _axis_labels(hp, g.pads[0]) if annotate else None
        in_left = max(label_width(lab_in, B), (ti - wp) / 2)
        pos["x_in"] = x_in = MARGIN + in_left
        in_right = x_in + wp + max(0.0, (ti - wp) / 2)
        pos["y_patches"] = y0 = TOP_MARGIN + AXIS_H * k  # under the title and the column-axis line
        pos["ys"] = ys = [y0 + c * (hp + ROW_GAP) for c in range(C)]
        rows, cols = self.axis_titles()
        x_patches = in_right + PANEL_GAP + label_width(self._tap_labels() if annotate else None, B) + row_title_width(rows, k)
        if self.weights is not None:
            w_flat_w = max(n_taps, tw(self.w_flat_title))
            y_gemm = y0 + n_taps + ROW_GAP
            if ys[-1] + hp + ROW_GAP <= y_gemm:  # room under the input: the flat kernel goes there
                x_patches = max(x_patches, MARGIN + w_flat_w + 0.7)
            else:
                x_patches = max(x_patches, in_right + PANEL_GAP + w_flat_w + 0.7)
            pos["x_w_flat"], pos["y_gemm"] = x_patches - 0.7 - w_flat_w, y_gemm
        width = x_patches + max(n_windows, tw(self.patches_title), text_cells(cols, AXIS_PT) * k) + MARGIN
        bottom = max(ys[-1] + hp, y0 + n_taps)
        if self.weights is not None:
            pos["y_out"] = y_out = y_gemm + n_out + ROW_GAP
            width = max(width, x_patches + n_out * (wo + PANEL_GAP) - PANEL_GAP + MARGIN,
                        x_patches + tw("y = w_flat · patches") + MARGIN)
            bottom = max(bottom, y_out + ho)
        pos["x_patches"], pos["bottom"] = x_patches, bottom
        return width, pos

    def draw(self, fig=None):
        g, C = self.g, self.n_channels
        (n_taps, n_windows), n_out = self.patches_shape, self.n_out_channels
        (hp, wp), (ho, wo) = g.padded_hw, g.out_hw
        t, b, l, r = g.pads
        self.in_title = _input_title(C, g)
        self.patches_title = f"patches = im2col(x)   ({n_taps}×{n_windows})"
        self.w_flat_title = f"w flattened ({n_out}×{n_taps})"
        dpi = self.layout_dpi(fig)
        width, pos, fit, annotate = fit_layout(self._layout, dpi, self.annotate, min_scale=0.5)
        scale, k = fit.scale, fit.k
        drawn = [("input", style.is_signed(self.x))]
        if self.weights is not None:
            drawn += [("kernel", style.is_signed(self.w_flat)), ("output", style.is_signed(self.y))]
        roles, outlined = legend_roles(drawn, padding=any(g.pads), highlight=self.step is not None)
        if self.weights is None and self.step is not None:  # no kernel grid, but the taps' outlines
            roles.insert(1, "kernel")
            outlined.add("kernel")
        linked = self.linked
        if linked:
            roles.insert(len(roles) - (1 if self.step is not None else 0), "windows")
        geometry = geometry_caption(g)
        width = caption_width(width, geometry, fit)
        longest = max(f"step {n_windows}/{n_windows}: window ({ho - 1},{wo - 1}) → column {n_windows - 1}", self.DONE_LINKED if linked else "", key=len)
        geo, split = caption_lines(width, geometry, longest, k)
        bottom = pos["bottom"]
        height = bottom + footer_height(len(geo) + split, roles, width, k)
        fig, ax = new_figure(width, height, fig, dpi=dpi, scale=scale)
        self.fig, self.ax = fig, ax
        vmin, vmax = float(min(self.x.min(), 0)), float(self.x.max())
        x_in, ys, x_patches, y_p = pos["x_in"], pos["ys"], pos["x_patches"], pos["y_patches"]
        self.inputs, self.windows = [], []
        for c in range(C):
            gi = Grid(
                ax, self.padded[c], x_in, ys[c], "input", title=self.in_title.format(c=c),
                annotate=annotate and max(hp, wp) <= ANNOTATE_MAX, pads=g.pads,
                row_labels=_axis_labels(hp, t) if annotate else None,
                col_labels=_axis_labels(wp, l) if annotate else None, vmin=vmin, vmax=vmax, name=f"input{c}",
            )
            self.inputs.append(gi)
            self.windows.append(Window(ax, gi, g, f"input{c}"))
        self.patches = Grid(
            ax, self.cols, x_patches, y_p, "input", title=None, annotate=annotate, vmin=vmin, vmax=vmax,
            row_labels=self._tap_labels() if annotate else None,
            col_labels=[str(j) for j in range(n_windows)] if annotate else None, name="patches", muted=self.from_padding,
        )
        draw_text(ax, x_patches, y_p - AXIS_H * k - 0.2 - (0.5 if annotate else 0), self.patches_title, TITLE_PT, ha="left",
                  va="bottom", fontweight="bold")
        self.axis_texts = draw_axis_titles(ax, self.patches, *self.axis_titles(), k, col_labels=annotate)
        # the current window and its column: the same outline (colour, width, dashes when dilated)
        ls = "--" if g.dilation != (1, 1) else "-"
        self.column = rect(ax, x_patches, y_p, 1, n_taps, role="highlight", lw=2.8, ls=ls, gid="convviz:patches:column")
        # the finished picture of a few windows: one hue per window, on its centre and around its column
        self.links = []
        if linked:
            (eh, ew), (sh, sw) = g.span_hw, g.stride
            r = 0.43 if (eh % 2 and ew % 2) else 0.22  # around the centre cell's number, or on a grid corner
            for n in range(n_windows):
                p, q = divmod(n, wo)
                hue = style.WINDOW_HUES[n]
                marks = [rect(ax, x_patches + n + 0.07, y_p + 0.07, 0.86, n_taps - 0.14, role=hue, lw=2.0, zorder=5,
                              gid="convviz:patches:link")]
                for gi in self.inputs:
                    ring = Circle((gi.x0 + q * sw + ew / 2, gi.y0 + p * sh + eh / 2), r, fill=False, edgecolor=hue,
                                  linewidth=2.0 * max(fit.scale, 0.5), zorder=5)
                    ring.set_gid("convviz:input:link")
                    ax.add_artist(ring)
                    marks.append(ring)
                self.links.append(marks)
        self.w_flat_grid = self.gemm_grid = None
        self.reshaped, self.out_cells = [], []
        if self.weights is not None:
            x_w_flat, y_gemm, y_out = pos["x_w_flat"], pos["y_gemm"], pos["y_out"]
            self.w_flat_grid = Grid(ax, self.w_flat, x_w_flat, y_gemm, "kernel", title=None, annotate=annotate, name="w_flat")
            draw_text(ax, x_w_flat, y_gemm - 0.2, self.w_flat_title, TITLE_PT, ha="left", va="bottom", fontweight="bold")
            self.gemm_grid = Grid(ax, self.y.reshape(n_out, n_windows), x_patches, y_gemm, "output", title=None,
                                  annotate=annotate, name="gemm")
            draw_text(ax, x_patches, y_gemm - 0.2, "y = w_flat · patches", TITLE_PT, ha="left", va="bottom", fontweight="bold")
            self.gemm_cell = rect(ax, x_patches, y_gemm, 1, n_out, role="highlight", lw=2.8, gid="convviz:gemm:column")
            for o in range(n_out):
                go = Grid(
                    ax, self.y[o], x_patches + o * (wo + PANEL_GAP), y_out, "output",
                    title="y reshaped" if n_out == 1 else f"y[o={o}]", annotate=annotate and max(ho, wo) <= ANNOTATE_MAX,
                    name=f"output{o}",
                )
                self.reshaped.append(go)
                self.out_cells.append(rect(ax, go.x0, go.y0, 1, 1, role="highlight", lw=2.8, gid="convviz:output:current"))
        self.geometry, self.caption = captions(ax, bottom, geo, split, k)
        legend(fig, roles, outlined)
        return self.finish(fig, {
            "input": self.inputs,
            "window": [win.box for win in self.windows],
            "taps": [win.taps for win in self.windows],
            "links": self.links,
            "axis_titles": self.axis_texts,
            "patches": self.patches,
            "column": self.column,
            "w_flat": self.w_flat_grid,
            "gemm": self.gemm_grid,
            "output": self.reshaped,
            "caption": self.caption,
            "geometry": self.geometry,
        })

    def _show(self, t: int, done: bool):
        """Reveal columns ``0..step`` and highlight window/column ``step``; ``None``: all, no highlight."""
        g = self.g
        (ho, wo), (sh, sw) = g.out_hw, g.stride
        n_windows = self.patches_shape[1]
        p, q = divmod(t, wo)
        for win in self.windows:
            win.move(p * sh, q * sw)
            win.set_visible(not done)
        later = np.arange(n_windows) > t
        self.patches.set_values(self.cols, np.broadcast_to(later, self.cols.shape))
        self.column.set_x(self.patches.x0 + t)
        self.column.set_visible(not done)
        if self.weights is not None:
            n_out = self.n_out_channels
            self.gemm_grid.set_values(self.y.reshape(n_out, n_windows), np.broadcast_to(later, (n_out, n_windows)))
            self.gemm_cell.set_x(self.gemm_grid.x0 + t)
            self.gemm_cell.set_visible(not done)
            for go, cell in zip(self.reshaped, self.out_cells):
                go.set_values(go.values, np.arange(ho * wo).reshape(ho, wo) > t)
                cell.set_xy(go.cell_xy(p, q))
                cell.set_visible(not done)
        if done:
            where = self.DONE_LINKED if self.links else "all windows"
        else:
            where = f"step {t + 1}/{self.n_steps}: window ({p},{q}) → column {t}"
        for marks in self.links:
            for m in marks:
                m.set_visible(done)
        self.caption.set_text(where)


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def sliding_window(x, w, stride=1, padding=0, dilation=1, step=0, *, batch=0, out_channel=0, annotate=None):
    """One frame of the sliding window (chapter *Conv2d and its gradient*).

    Padded input (padding hatched grey) with the window of output ``step``
    (row-major; dilation gaps visible), the kernel, the products ``x·w`` written
    out (kernels up to 5×5) and the output with the current cell highlighted and
    later cells still empty.  Several channels are stacked, one row per
    channel, and their partial sums added into the one output cell.  When one
    row (input, kernel, products, output) is wider than the book's text
    column, the output moves under the kernel column.  Signed grids (a kernel
    with negatives, signed outputs) use the diverging scale centred at 0, one
    scale for all channels of the kernel.

    Parameters
    ----------
    x : array_like, (H, W), (C, H, W) or (N, C, H, W)
    w : array_like, (kh, kw), (C, kh, kw) or (O, C, kh, kw)
    stride, padding, dilation : as for :func:`convviz.conv2d`
    step : int or None, the output cell to show (``None``: every output, no highlight)
    batch, out_channel : int, which image and output channel to draw
    annotate : bool, optional, numbers in the cells (default: small grids only)

    Returns
    -------
    ConvFigure
        ``fig.convviz`` holds the grids (``input``, ``kernel``, ``output``), the ``window`` and
        ``taps`` of each channel, the ``current`` cell, the ``arithmetic`` lines and the captions

    Examples
    --------
    >>> fig = sliding_window(np.ones((3, 3)), np.ones((2, 2)), step=1)
    >>> fig.convviz["output"].label(0, 1), fig.convviz["output"].label(1, 0)
    ('4', '')
    """
    scene = SlidingWindowScene(x, w, stride, padding, dilation, batch=batch, out_channel=out_channel, annotate=annotate)
    scene.step = scene.normalise_step(step)
    return scene.draw()


def animate_conv(x, w, stride=1, padding=0, dilation=1, *, batch=0, out_channel=0, fps=2, dpi=80, max_frames=36):
    """Every step of :func:`sliding_window` as a self-contained JS animation (<= 1 MB).

    Parameters
    ----------
    x, w, stride, padding, dilation, batch, out_channel : as for :func:`sliding_window`
    fps, dpi, max_frames : as for :func:`~convviz.render.animation.animate`

    Returns
    -------
    Animation
        one frame per output cell

    Examples
    --------
    >>> animate_conv(np.ones((3, 3)), np.ones((2, 2)), dpi=40).n_frames
    4
    """
    scene = SlidingWindowScene(x, w, stride, padding, dilation, batch=batch, out_channel=out_channel)
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)


def im2col_figure(x, kernel_size, stride=1, padding=0, dilation=1, w=None, step=None, *, batch=0, annotate=None):
    """im2col as a picture (chapter *Conv2d and its gradient*).

    The padded input with window ``step``, the patch matrix ``im2col(x)`` whose
    column ``step`` is that window (both outlined alike), and -- given ``w`` --
    the GEMM ``w_flat @ patches`` and its reshape into the output.  Axis titles
    say what the patch matrix's rows ((channel,) kernel row, kernel col) and
    columns (window ``l = Wo·p + q``) are.  The finished picture (``step=None``)
    of at most nine windows links each window to its column by colour: a ring
    of the window's hue on its centre, its column outlined in the same hue
    (``fig.convviz["links"]``).  Signed inputs or kernels are drawn on the
    diverging scale centred at 0 (:func:`convviz.style.value_scale`).

    Parameters
    ----------
    x : array_like, (H, W), (C, H, W) or (N, C, H, W)
    kernel_size, stride, padding, dilation : as for :func:`convviz.im2col`
    w : array_like, optional, (O, C, kh, kw) or (kh, kw): adds the GEMM
    step : int or None, reveal columns ``0..step`` (``None``: all, no highlight)
    batch : int, which image to draw
    annotate : bool, optional, numbers in the cells

    Returns
    -------
    ConvFigure
        ``fig.convviz`` holds ``input``, ``window``, ``taps``, the ``patches`` grid and its ``column``,
        the ``links`` (one ``[column outline, ring, ...]`` per window, or empty), the ``axis_titles``,
        and with ``w`` the ``w_flat``, ``gemm`` and reshaped ``output`` grids

    Examples
    --------
    >>> fig = im2col_figure(np.arange(9.).reshape(3, 3), 2, step=1)
    >>> fig.convviz["patches"].text_values()[:, 1].tolist()
    [1.0, 2.0, 4.0, 5.0]
    """
    scene = Im2colScene(x, kernel_size, stride, padding, dilation, w, batch=batch, annotate=annotate)
    scene.step = scene.normalise_step(step)
    return scene.draw()


def animate_im2col(x, kernel_size, stride=1, padding=0, dilation=1, w=None, *, batch=0, fps=2, dpi=80, max_frames=36):
    """Windows turning into columns, one per frame (self-contained JS, <= 1 MB).

    Parameters
    ----------
    x, kernel_size, stride, padding, dilation, w, batch : as for :func:`im2col_figure`
    fps, dpi, max_frames : as for :func:`~convviz.render.animation.animate`

    Returns
    -------
    Animation
        one frame per window (column of the patch matrix)

    Examples
    --------
    >>> animate_im2col(np.ones((3, 3)), 2, dpi=40).n_frames
    4
    """
    scene = Im2colScene(x, kernel_size, stride, padding, dilation, w, batch=batch)
    return animate(scene, fps=fps, dpi=dpi, max_frames=max_frames)


# ----------------------------------------------------------------------------
# the two row orders of a multi-channel patch matrix (PyTorch vs TensorFlow)
# ----------------------------------------------------------------------------
ORDERS = {
    "torch": "(c, i, j): F.unfold's rows, channel outermost",
    "tf": "(i, j, c): tf.image.extract_patches' last axis, channel innermost",
}


def patch_row_order(n_channels, kernel_size, order="torch"):
    """``(c, i, j)`` -- channel, kernel row, kernel column -- of every row of a
    patch matrix, in a framework's order.

    ``"torch"``: ``F.unfold`` (and :func:`convviz.im2col`) put the channel
    outermost, row ``c·kh·kw + i·kw + j``.  ``"tf"``: the last axis of
    ``tf.image.extract_patches`` puts it innermost, entry ``(i·kw + j)·C + c``.

    Examples
    --------
    >>> patch_row_order(2, 2, "torch")[:3], patch_row_order(2, 2, "tf")[:3]
    ([(0, 0, 0), (0, 0, 1), (0, 1, 0)], [(0, 0, 0), (1, 0, 0), (0, 0, 1)])
    """
    kh, kw = pair(kernel_size, "kernel_size")
    C = int(n_channels)
    if order == "torch":
        return [(c, i, j) for c in range(C) for i in range(kh) for j in range(kw)]
    if order == "tf":
        return [(c, i, j) for i in range(kh) for j in range(kw) for c in range(C)]
    raise ValueError(f"order must be 'torch' or 'tf', got {order!r}")


def im2col_orders(x, kernel_size, stride=1, dilation=1, *, batch=0, annotate=None):
    """One patch matrix, two row orders (chapter *Conv2d and its gradient*):
    PyTorch's ``F.unfold`` rows (channel, kernel row, kernel col) next to
    TensorFlow's ``tf.image.extract_patches`` (kernel row, kernel col, channel),
    i.e. ``reshape(L, kh·kw·C)ᵀ`` of its output.

    Same numbers, rows permuted: a strip right of each matrix colours every row
    by its channel -- blocks in PyTorch's order, interleaved in TensorFlow's --
    and a bar under each input channel carries the same colour.  Row labels come
    from :func:`patch_row_order`, written in each framework's order (``c,i,j``
    for PyTorch, ``i,j,c`` for TensorFlow); columns are the windows, row-major
    over the output, in both.

    Parameters
    ----------
    x : array_like, (C, H, W) or (N, C, H, W) (channels first, as convviz and PyTorch)
    kernel_size, stride, dilation : as for :func:`convviz.im2col` (no padding: TF's "VALID")
    batch : int, which image to draw
    annotate : bool, optional, numbers in the cells (default: small matrices)

    Returns
    -------
    ConvFigure
        ``fig.convviz`` holds the ``input`` grids, the ``torch`` and ``tf`` matrices, their row
        orders ``torch_rows`` / ``tf_rows`` (lists of ``(c, i, j)``), and the ``caption``

    Examples
    --------
    >>> fig = im2col_orders(np.arange(18.).reshape(2, 3, 3), 2)
    >>> fig.convviz["torch"].values.shape, fig.convviz["tf_rows"][:2]
    ((8, 4), [(0, 0, 0), (1, 0, 0)])
    >>> fig.convviz["tf"].values[:, 0].tolist()    # window 0: x[0,0,0], x[1,0,0], x[0,0,1], ...
    [0.0, 9.0, 1.0, 10.0, 3.0, 12.0, 4.0, 13.0]
    """
    from .layout import CAPTION_LINE_H, CAPTION_PT, REF_DPI, Panel, flow, wrap_words

    X = as_nchw(x, "x")
    as_4d(X, "x", "NCHW")
    k = pair(kernel_size, "kernel_size")
    g = conv_geometry(X.shape[2:], k, stride=stride, dilation=dilation)
    b = _index(batch, X.shape[0], "batch")
    xb = X[b].astype(float)
    C, (kh, kw), wo = xb.shape[0], k, g.out_hw[1]
    if C > len(style.CHANNEL_HUES):
        raise ValueError(f"im2col_orders draws up to {len(style.CHANNEL_HUES)} channels, got {C}")
    P = ops.im2col(xb[None], k, **resolved_params(g))[0]  # PyTorch's order
    torch_rows, tf_rows = patch_row_order(C, k, "torch"), patch_row_order(C, k, "tf")
    where = {r: n for n, r in enumerate(torch_rows)}
    P_tf = P[[where[r] for r in tf_rows]]
    n_rows, L = P.shape
    annotate = (n_rows <= 36 and L <= 25 and max(xb.shape[1:]) <= ANNOTATE_MAX) if annotate is None else bool(annotate)
    labels = {"torch": [f"{c},{i},{j}" for c, i, j in torch_rows], "tf": [f"{i},{j},{c}" for c, i, j in tf_rows]}
    titles = {"torch": ("PyTorch: F.unfold", "rows c,i,j (channel outermost)"),
              "tf": ("TensorFlow: extract_patches", "rows i,j,c (channel innermost)")}
    caption = (f"c channel, i, j kernel row, column; columns: window l = {wo}·p + q in both.  Same numbers, rows permuted: "
               f"TF row (i·{kw} + j)·{C} + c = PyTorch row c·{kh * kw} + i·{kw} + j  (tf.image.extract_patches of x in "
               "NHWC, reshaped to (L, kh·kw·C), transposed)")
    strip = 0.45

    def build(fit, annotate):
        kf, B = fit.k, fit.boost
        tw = lambda s_, bold=False: text_cells(s_, TITLE_PT if bold else CAPTION_PT, bold=bold) * kf  # noqa: E731
        ins = [Panel.titled(f"x{c}", xb.shape[2], xb.shape[1], f"x[c={c}]", fit,
                            labels=[str(i) for i in range(xb.shape[1])] if annotate else None) for c in range(C)]
        mats = []
        for key in ("torch", "tf"):
            t1, t2 = titles[key]
            w = L + strip
            mats.append(Panel(key, w, n_rows, label_width(labels[key] if annotate else None, B),
                              max(0.0, tw(t1, True) - w, tw(t2) - w)))
        max_w = fit.cells(TARGET_PX)
        w1, b1, _ = flow([ins], max_w, top=TOP_MARGIN, vgap=ROW_GAP + 0.4)
        b1 += 0.4  # the channel bars under the inputs
        top2 = b1 + 0.9 + (0.5 if annotate else 0.0) + 1.1 * kf
        w2, b2, _ = flow([mats], max_w, top=top2, gap=PANEL_GAP + 0.6, vgap=1.3 + 1.1 * kf)
        width = max(w1, w2, min(max_w, tw(caption) + 2 * MARGIN))
        return width, (ins, mats, b2)

    width, (ins, mats, bottom), fit, annotate = fit_layout(build, REF_DPI, annotate, min_scale=0.5)
    kf = fit.k
    lines = wrap_words(caption, (width - 2 * MARGIN) / kf, CAPTION_PT)
    roles, outlined = legend_roles([("input", style.is_signed(xb))], highlight=False)
    roles.append("channels")
    height = bottom + footer_height(len(lines), roles, width, kf)
    fig, ax = new_figure(width, height, dpi=REF_DPI, scale=fit.scale)
    vmin, vmax = float(min(xb.min(), 0)), float(xb.max())
    inputs = []
    for c, p in enumerate(ins):
        gi = Grid(ax, xb[c], p.x, p.y, "input", title=f"x[c={c}]", annotate=annotate, vmin=vmin, vmax=vmax,
                  row_labels=[str(i) for i in range(xb.shape[1])] if annotate else None,
                  col_labels=[str(j) for j in range(xb.shape[2])] if annotate else None, name=f"input{c}")
        bar = Rectangle((gi.x0, gi.y0 + gi.height + 0.12), gi.width, 0.26, facecolor=style.CHANNEL_HUES[c],
                        edgecolor="none", zorder=3)  # the channel's colour, as on the matrices' rows
        bar.set_gid("convviz:orders:channel")
        ax.add_artist(bar)
        inputs.append(gi)
    grids = {}
    for p, values in zip(mats, (P, P_tf)):
        key = p.key
        grid = Grid(ax, values, p.x, p.y, "input", annotate=annotate, vmin=vmin, vmax=vmax, name=key,
                    row_labels=labels[key] if annotate else None,
                    col_labels=[str(j) for j in range(L)] if annotate else None)
        rows = torch_rows if key == "torch" else tf_rows
        for r, (c, _, _) in enumerate(rows):
            sq = Rectangle((p.x + L + 0.12, p.y + r + 0.06), strip - 0.17, 0.88, facecolor=style.CHANNEL_HUES[c],
                           edgecolor="none", zorder=3)
            sq.set_gid(f"convviz:{key}:channel")
            ax.add_artist(sq)
        t1, t2 = titles[key]
        y_sub = p.y - (0.66 if annotate else 0.16)
        draw_text(ax, p.x, y_sub, t2, CAPTION_PT, ha="left", va="bottom")
        draw_text(ax, p.x, y_sub - 0.55 * kf, t1, TITLE_PT, ha="left", va="bottom", fontweight="bold")
        grids[key] = grid
    y0 = bottom + (0.25 + 0.5 * CAPTION_LINE_H) * kf
    texts = [FastText(ax, MARGIN, y0 + n * CAPTION_LINE_H * kf, ln, CAPTION_PT) for n, ln in enumerate(lines)]
    legend(fig, roles, outlined)
    fig.convviz = {"input": inputs, "torch": grids["torch"], "tf": grids["tf"], "torch_rows": torch_rows,
                   "tf_rows": tf_rows, "caption": texts[-1], "captions": texts}
    return fig


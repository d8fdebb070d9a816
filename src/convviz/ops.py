"""Convolution, transposed convolution and their gradients in plain numpy.

Layouts follow PyTorch: activations are NCHW, convolution weights OIHW and
transposed-convolution weights ``(C_in, C_out, kh, kw)``.  Single-channel 2-D
arrays ``(H, W)`` / ``(kh, kw)`` are accepted everywhere and give 2-D results.

Everything is built from two primitives (chapter *Conv2d and its gradient*):

* ``im2col`` -- gather every receptive field into a column (``F.unfold``);
* ``col2im`` -- scatter-add columns back onto a canvas (``F.fold``).

``conv2d`` is im2col followed by a GEMM with the flattened kernel; the input
gradient and the transposed convolution are the same GEMM with the transposed
kernel followed by col2im.

For large problems the ops take a faster route to the *same sums* (section
"The fast path" below): instead of gathering every receptive field, they
copy whole image rows of the stride phases, so that every kernel tap is one
contiguous slice.  ``tests/test_fast_paths.py`` checks both routes against
each other and against PyTorch.
"""
from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import ConvGeometry, conv_geometry, direct_padding, transpose_geometry
from .validate import as_4d, as_float_array, check_bytes, operands, pair, shape4

__all__ = [
    "conv2d",
    "conv_transpose2d",
    "conv_transpose2d_direct",
    "conv2d_backprop_input",
    "conv2d_backprop_filter",
    "im2col",
    "col2im",
    "zero_insert",
]


# ----------------------------------------------------------------------------
# im2col / col2im
# ----------------------------------------------------------------------------
def _windows(X: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """The one window gather: a view (N, C, Ho, Wo, kh, kw) of every receptive field.

    Only the padding makes a copy; im2col and the GEMM path reorder this view.
    """
    t, b, l, r = g.pads
    if any(g.pads):
        X = np.pad(X, ((0, 0), (0, 0), (t, b), (l, r)))
    (sh, sw), (dh, dw), (ho, wo) = g.stride, g.dilation, g.out_hw
    win = sliding_window_view(X, g.span_hw, axis=(2, 3))
    return win[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]


def _scatter_add(taps: np.ndarray, g: ConvGeometry, canvas_hw) -> np.ndarray:
    """The one scatter-add (col2im's core): ``taps`` is (kh, kw, A, B, Ho, Wo), usually a view.

    Tap (i, j) of every window lands on a strided slice of the (A, B, *canvas_hw)
    canvas, which is in *padded* coordinates: kh*kw slice-adds, overlaps sum.
    """
    kh, kw, a, b, ho, wo = taps.shape
    (sh, sw), (dh, dw) = g.stride, g.dilation
    canvas = np.zeros((a, b) + tuple(canvas_hw), dtype=taps.dtype)
    for i in range(kh):
        for j in range(kw):
            sl = canvas[:, :, i * dh : i * dh + (ho - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw]
            np.add(sl, taps[i, j], out=sl)
    return canvas


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Unfold ``x`` into columns, exactly like ``torch.nn.functional.unfold``.

    Defined in chapter *Conv2d and its gradient*.

    Parameters
    ----------
    x : array_like, (N, C, H, W) or (H, W)
    kernel_size, stride, dilation : int or (h, w)
    padding : int, (ph, pw), (top, bottom, left, right), "valid" or "same"

    Returns
    -------
    ndarray, (N, C*kh*kw, L) or (kh*kw, L) for 2-D input
        Rows ordered channel-major, then kernel row, then kernel column;
        columns are the output positions in row-major order.  Always a new,
        writable array (never a view of ``x``).

    Examples
    --------
    >>> im2col(np.arange(9.).reshape(3, 3), 2)
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    X, squeeze = as_4d(x, "x", "NCHW")
    k = pair(kernel_size, "kernel_size")
    g = conv_geometry(X.shape[2:], k, stride=stride, padding=padding, dilation=dilation)
    n, c = X.shape[:2]
    length = g.out_hw[0] * g.out_hw[1]
    check_bytes("im2col's columns", (n, c * k[0] * k[1], length), X.itemsize)
    cols = _windows(X, g).transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], length)
    if np.shares_memory(cols, X):  # 1x1 windows at stride 1: reshape kept a read-only view
        cols = cols.copy()
    return cols[0] if squeeze else cols


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Fold columns back into an image, summing overlaps, like ``F.fold``.

    Defined in chapter *Transposed convolution*.

    Parameters
    ----------
    cols : array_like, (N, C*kh*kw, L) or (C*kh*kw, L)
    output_size : int or (H, W), the unpadded image size
    kernel_size, stride, padding, dilation : as for :func:`im2col`

    Returns
    -------
    ndarray, (N, C, H, W) or (C, H, W)

    Examples
    --------
    >>> col2im(np.ones((4, 4)), 3, 2)   # the centre is in all four 2x2 windows
    array([[[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]]])
    """
    arr = as_float_array(cols, "cols")
    if arr.ndim not in (2, 3):
        raise ValueError(f"cols must be 2-D (C*kh*kw, L) or 3-D (N, C*kh*kw, L), got shape {arr.shape}")
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[None]
    hw = pair(output_size, "output_size")
    k = pair(kernel_size, "kernel_size")
    g = conv_geometry(hw, k, stride=stride, padding=padding, dilation=dilation)
    n, ckk, length = arr.shape
    if ckk == 0 or ckk % (k[0] * k[1]):
        raise ValueError(f"cols.shape[-2] must be a positive multiple of kh*kw = {k[0] * k[1]}, got {ckk}")
    if length != g.out_hw[0] * g.out_hw[1]:
        raise ValueError(
            f"cols.shape[-1] must equal the number of sliding positions {g.out_hw[0]}x{g.out_hw[1]} = "
            f"{g.out_hw[0] * g.out_hw[1]} for output_size {hw}, got {length}"
        )
    if n == 0:
        raise ValueError(f"cols must have a batch size >= 1, got shape {arr.shape}")
    c = ckk // (k[0] * k[1])
    taps = arr.reshape(n, c, k[0], k[1], *g.out_hw).transpose(2, 3, 0, 1, 4, 5)
    canvas = _scatter_add(taps, g, g.padded_hw)
    t, _, l, _ = g.pads
    out = canvas[:, :, t : t + hw[0], l : l + hw[1]]
    return out[0] if squeeze else out


def zero_insert(x, stride) -> np.ndarray:
    """Insert ``stride - 1`` zeros between neighbouring pixels (chapter *Transposed convolution*).

    Examples
    --------
    >>> zero_insert(np.array([[1., 2.], [3., 4.]]), 2)
    array([[1., 0., 2.],
           [0., 0., 0.],
           [3., 0., 4.]])
    """
    X, squeeze = as_4d(x, "x", "NCHW")
    sh, sw = pair(stride, "stride")
    n, c, h, w = X.shape
    out = np.zeros((n, c, (h - 1) * sh + 1, (w - 1) * sw + 1), dtype=X.dtype)
    out[:, :, ::sh, ::sw] = X
    return out[0, 0] if squeeze else out


# ----------------------------------------------------------------------------
# The fast path: shifted GEMMs on stride phases
# ----------------------------------------------------------------------------
# im2col's copy is slow: k*k short runs (one output row each) per channel and image.
# The fast path copies whole rows instead.  Split the padded input into its s*s
# stride phases -- padded pixel (y, x) goes to phase (y % s, x % s), position
# (y // s, x // s) -- and store each phase image row-major, about W_pad / s values
# per row (_phase_len).  Tap (i, j) of output pixel (oy, ox) reads padded pixel
# (oy*s + i*d, ox*s + j*d): phase ((i*d) % s, (j*d) % s) at (oy + (i*d)//s, ox + (j*d)//s),
# i.e. flat position oy*wq + ox + off with off = (i*d)//s * wq + (j*d)//s.  Computed
# for ox < wq instead of ox < W_out (the wq - W_out extra outputs per row are dropped),
# every tap is ONE slice of the flattened phase, shifted by off.  The transposed
# direction adds each tap's GEMM output onto such a slice of a phase canvas.
# Same products, summed in another order; the extra columns cost wq/W_out more GEMM
# work, so the ops take this path only when that stays small (_phases_pay_off).
class _Phases(NamedTuple):
    """The phase layout of one convolution: ``rows`` x ``wq`` per phase image, and per
    kernel tap (row-major, like the kernel) its phase ``(a, b)`` and flat offset ``off``."""

    rows: int
    wq: int
    taps: list  # [(a, b, off)] for i in range(kh) for j in range(kw)

    @property
    def tail(self) -> int:
        """Room after the last image so that every shifted slice stays in the array."""
        return max(off for _, _, off in self.taps)


def _phase_len(size: int, before: int, out: int, s: int, d: int, k: int) -> int:
    """Row length (or rows per image) of the phase images along one axis.

    Long enough for the outputs and for the input pixels of every phase; a tap may
    read (or, transposed, write) past the end of a row as long as it lands in the
    next row's leading padding, which is zero (or cropped): one padding is shared.
    """
    need = out
    for a in range(s):
        first, last = max(0, -(-(before - a) // s)), (before + size - 1 - a) // s  # pixels in phase a
        reach = [i * d // s for i in range(k) if i * d % s == a]  # row offsets of the taps in phase a
        if first <= last:
            need = max(need, last + 1, out + max(reach, default=0) - first)
    return need


def _phase_plan(g: ConvGeometry) -> _Phases:
    (sh, sw), (dh, dw), (kh, kw) = g.stride, g.dilation, g.kernel_hw
    t, _, l, _ = g.pads
    rows = _phase_len(g.in_hw[0], t, g.out_hw[0], sh, dh, kh)
    wq = _phase_len(g.in_hw[1], l, g.out_hw[1], sw, dw, kw)
    taps = [((i * dh) % sh, (j * dw) % sw, (i * dh) // sh * wq + (j * dw) // sw) for i in range(kh) for j in range(kw)]
    return _Phases(rows, wq, taps)


def _phases_pay_off(g: ConvGeometry) -> bool:
    """Take the fast path when its extra columns add at most 50 % (tiny book examples: im2col)."""
    p = _phase_plan(g)
    return p.rows * p.wq <= 1.5 * g.out_hw[0] * g.out_hw[1]


def _split_phases(X: np.ndarray, g: ConvGeometry, p: _Phases) -> np.ndarray:
    """The zero-padded input cut into its stride phases, channel-first and flat:
    ``(sh, sw, C*N*rows*wq + tail)``; phases no tap reads stay zero."""
    n, c, h, w = X.shape
    (sh, sw), (t, _, l, _) = g.stride, g.pads
    size = c * n * p.rows * p.wq
    flat = np.zeros((sh, sw, size + p.tail), X.dtype)
    grid = flat[:, :, :size].reshape(sh, sw, c, n, p.rows, p.wq)
    Xc = X.transpose(1, 0, 2, 3)

    for a, b in sorted({(a, b) for a, b, _ in p.taps}):
        r0, q0 = max(0, -(-(t - a) // sh)), max(0, -(-(l - b) // sw))  # first phase row/column inside x
        src = Xc[:, :, a + r0 * sh - t :: sh, b + q0 * sw - l :: sw]
        grid[a, b, :, :, r0 : r0 + src.shape[2], q0 : q0 + src.shape[3]] = src
    return flat


def _tap_cols(flat: np.ndarray, p: _Phases, c: int, n: int, ho: int) -> np.ndarray:
    """The fast path's columns: (kh*kw, C, N, ho*wq), tap (i, j) one shifted slice per image."""
    size = c * n * p.rows * p.wq
    cols = np.empty((len(p.taps), c, n, ho * p.wq), flat.dtype)

    for col, (a, b, off) in zip(cols, p.taps):
        col[...] = flat[a, b, off : off + size].reshape(c, n, p.rows * p.wq)[:, :, : ho * p.wq]
    return cols


def _wide(G: np.ndarray, rows: int, wq: int, out: np.ndarray | None = None) -> np.ndarray:
    """``grad`` channel-first on rows x wq images, zeros outside: (C_out, N*rows*wq), in ``out`` if given."""
    n, o, ho, wo = G.shape
    if out is None:
        out = np.zeros((o, n, rows, wq), G.dtype)
    else:
        out.fill(0)
    out[:, :, :ho, :wo] = G.transpose(1, 0, 2, 3)
    return out.reshape(o, -1)


def _conv2d_phases(X: np.ndarray, W: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """conv2d by the fast path: ``W @ cols`` with the tap-major kernel, extra columns dropped."""
    n, c = X.shape[:2]
    o, _, kh, kw = W.shape
    (ho, wo), p = g.out_hw, _phase_plan(g)
    cols = _tap_cols(_split_phases(X, g, p), p, c, n, ho)
    y = W.transpose(0, 2, 3, 1).reshape(o, kh * kw * c) @ cols.reshape(kh * kw * c, -1)
    return y.reshape(o, n, ho, p.wq)[:, :, :, :wo].transpose(1, 0, 2, 3)


def _kernel_grad_phases(X: np.ndarray, G: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """The kernel gradient by the fast path: ``grad @ cols^T``; grad is 0 on the extra columns."""
    n, c = X.shape[:2]
    o = G.shape[1]
    (kh, kw), ho, p = g.kernel_hw, g.out_hw[0], _phase_plan(g)
    cols = _tap_cols(_split_phases(X, g, p), p, c, n, ho)
    dw = _wide(G, ho, p.wq) @ cols.reshape(kh * kw * c, -1).T  # (O, kh*kw*C)
    return np.ascontiguousarray(dw.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))


class _Workspace(threading.local):
    """Scratch arrays of the strided adjoint, kept per thread between calls.

    That path needs some megabytes of temporaries per call (the GEMM's output, the phase
    canvases).  Allocated afresh, glibc hands them back to the OS at every return and the next
    call page-faults them in again: measured 7-10 ms instead of 1.5 ms for the benchmark's
    stride-2 transposed convolution (benchmarks/bench_ops_alone.py).  Only scratch lives here,
    never an array a caller gets; one per (role, shape, dtype), at most :data:`WORKSPACE_BYTES`.
    """

    def __init__(self):
        self.arrays = {}

    def get(self, role: str, shape, dtype) -> np.ndarray:
        key = (role, shape, np.dtype(dtype))
        arr = self.arrays.get(key)
        if arr is None:
            arr = np.empty(shape, dtype)
            if arr.nbytes > WORKSPACE_BYTES:
                return arr
            for old in [k for k in self.arrays if k[0] == role]:  # one array per role
                del self.arrays[old]
            self.arrays[key] = arr
        return arr


#: Largest scratch array the strided adjoint keeps between calls (per role and thread).
WORKSPACE_BYTES = 64 << 20
_WORK = _Workspace()


def _adjoint_phases(G: np.ndarray, W: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """``_adjoint`` by the fast path, already cropped: (N, C, *g.in_hw).

    ``W^T @ grad`` on rows x wq images gives every tap's contribution as one flat
    array; each is added onto its phase canvas at its offset -- k*k contiguous adds.
    The extra columns of ``grad``
    are 0, so they add 0 (W must be finite: the caller checks).
    """
    n, o = G.shape[:2]
    c, kh, kw = W.shape[1:]
    (sh, sw), (t, _, l, _), (h, w) = g.stride, g.pads, g.in_hw
    p = _phase_plan(g)
    size = c * n * p.rows * p.wq
    lhs = W.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)
    if (sh, sw) == (1, 1):  # the result is a view of the canvas: fresh arrays
        taps = (lhs @ _wide(G, p.rows, p.wq)).reshape(kh * kw, size)
        canvas = np.zeros((sh, sw, size + p.tail), G.dtype)
    else:  # the result is copied out of the canvas: scratch kept between calls
        wide = _wide(G, p.rows, p.wq, out=_WORK.get("wide", (o, n, p.rows, p.wq), G.dtype))
        taps = _WORK.get("taps", (kh * kw * c, n * p.rows * p.wq), G.dtype)
        np.matmul(lhs, wide, out=taps)
        taps = taps.reshape(kh * kw, size)
        canvas = _WORK.get("canvas", (sh, sw, size + p.tail), G.dtype)
        canvas.fill(0)

    for tap, (a, b, off) in zip(taps, p.taps):
        sl = canvas[a, b, off : off + size]
        np.add(sl, tap, out=sl)
    grid = canvas[:, :, :size].reshape(sh, sw, c, n, p.rows, p.wq)
    if (sh, sw) == (1, 1):
        return grid[0, 0, :, :, t : t + h, l : l + w].transpose(1, 0, 2, 3)
    out = np.empty((n, c, h, w), G.dtype)

    for a in range(sh):
        for b in range(sw):
            y0, x0 = (a - t) % sh, (b - l) % sw  # first output row/column in phase (a, b)
            src = grid[a, b, :, :, (y0 + t) // sh :, (x0 + l) // sw :]
            dst = out[:, :, y0::sh, x0::sw]
            dst[...] = src[:, :, : dst.shape[2], : dst.shape[3]].transpose(1, 0, 2, 3)
    return out


# ----------------------------------------------------------------------------
# forward ops
# ----------------------------------------------------------------------------
def _gemm_cols(X: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """im2col in GEMM order: (C*kh*kw, N*Ho*Wo), contiguous (conv2d and the kernel gradient)."""
    c, (kh, kw) = X.shape[1], g.kernel_hw
    win = _windows(X, g)  # N C Ho Wo kh kw
    return np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3)).reshape(c * kh * kw, -1)


def _conv2d_cols(X: np.ndarray, W: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """conv2d as the book computes it: im2col, then one GEMM with the flattened kernel."""
    n, o = X.shape[0], W.shape[0]
    y = W.reshape(o, -1) @ _gemm_cols(X, g)
    return y.reshape(o, n, *g.out_hw).transpose(1, 0, 2, 3)  # (O, N, ...) -> NCHW view


def conv2d(x, w, stride=1, padding=0, dilation=1) -> np.ndarray:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (no bias).

    Defined in chapter *Conv2d and its gradient*.

    Parameters
    ----------
    x : array_like, (N, C, H, W) or (H, W)
    w : array_like, (O, C, kh, kw) or (kh, kw)
    stride, dilation : int or (h, w)
    padding : int, (ph, pw), (top, bottom, left, right), "valid" or "same"
        "same" is TensorFlow's rule at any stride (the odd row/column at the
        bottom/right).

    Returns
    -------
    ndarray, (N, O, H_out, W_out), or (H_out, W_out) when both inputs are 2-D

    Examples
    --------
    >>> conv2d(np.arange(16.).reshape(4, 4), np.ones((3, 3)))
    array([[45., 54.],
           [81., 90.]])
    >>> conv2d(np.ones((5, 5)), np.ones((3, 3)), stride=2, padding="same")
    array([[4., 6., 4.],
           [6., 9., 6.],
           [4., 6., 4.]])
    """
    X, W, squeeze = operands(x, w, transposed=False)
    g = conv_geometry(X.shape[2:], W.shape[2:], stride=stride, padding=padding, dilation=dilation)
    n = X.shape[0]
    check_bytes("conv2d's im2col columns", (W[0].size, n * g.out_hw[0] * g.out_hw[1]), X.itemsize)
    y = _conv2d_phases(X, W, g) if _phases_pay_off(g) else _conv2d_cols(X, W, g)
    return y[0, 0] if squeeze else y


def _adjoint(grad: np.ndarray, W: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """``W^T @ grad`` followed by col2im, onto the padded canvas ``g.padded_hw``.

    Shared by the input gradient and ``conv_transpose2d``; returns an
    (N, C, *g.padded_hw) view of a channel-first canvas.
    """
    n, o, ho, wo = grad.shape
    c, kh, kw = W.shape[1:]
    check_bytes("the transposed convolution's columns", (c * kh * kw, n * ho * wo), grad.itemsize)
    gt = grad.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)
    cols = (W.reshape(o, c * kh * kw).T @ gt).reshape(c, kh, kw, n, ho, wo)
    canvas = _scatter_add(cols.transpose(1, 2, 0, 3, 4, 5), g, g.padded_hw)  # (C, N, H, W)
    return canvas.transpose(1, 0, 2, 3)


def _transposed(grad: np.ndarray, W: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """The cropped adjoint, (N, C, *g.in_hw): the fast path when it pays off, else ``_adjoint``."""
    check_bytes("the transposed convolution's columns", (W[0].size, grad[:, 0].size), grad.itemsize)
    if _phases_pay_off(g) and np.isfinite(W).all():  # inf * 0 on the extra columns would be nan
        return _adjoint_phases(grad, W, g)
    t, _, l, _ = g.pads
    return _adjoint(grad, W, g)[:, :, t : t + g.in_hw[0], l : l + g.in_hw[1]]


def conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None) -> np.ndarray:
    """Transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    Defined in chapter *Transposed convolution*.

    Parameters
    ----------
    x : array_like, (N, C_in, H, W) or (H, W)
    w : array_like, (C_in, C_out, kh, kw) or (kh, kw)
    stride, dilation : int or (h, w)
    padding : int, (ph, pw), (top, bottom, left, right), "valid" or "same"
        Crops the full output; "same" is TensorFlow's SAME (output ``i * s``).
    output_padding : int or (h, w)
        Rows/columns added at the bottom/right; ``0 <= output_padding < max(stride, dilation)``.
    output_size : int or (H, W), optional
        Picks one of the valid output sizes instead (TensorFlow's ``output_shape``).

    Returns
    -------
    ndarray, (N, C_out, H_out, W_out), or 2-D when both inputs are 2-D

    Examples
    --------
    >>> conv_transpose2d(np.ones((2, 2)), np.ones((3, 3)), stride=2, padding=1, output_padding=1)
    array([[1., 2., 1., 1.],
           [2., 4., 2., 2.],
           [1., 2., 1., 1.],
           [1., 2., 1., 1.]])
    """
    X, W, squeeze = operands(x, w, transposed=True)
    g = transpose_geometry(X.shape[2:], W.shape[2:], stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, output_size=output_size)
    y = _transposed(X, W, g)
    return y[0, 0] if squeeze else y


def conv_transpose2d_direct(x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None) -> np.ndarray:
    """Transposed convolution computed the textbook way (chapter *Transposed convolution*).

    Insert ``stride - 1`` zeros between input pixels, pad each side by
    ``d(k-1) - p`` (plus ``output_padding`` at the bottom/right; negative
    padding crops), then run a stride-1 convolution with the kernel rotated by
    180 degrees and its in/out channels swapped.  Same parameters and result as
    :func:`conv_transpose2d`, different algorithm.

    Examples
    --------
    >>> x, w = np.arange(4.).reshape(2, 2), np.arange(9.).reshape(3, 3)
    >>> bool(np.array_equal(conv_transpose2d_direct(x, w, stride=2), conv_transpose2d(x, w, stride=2)))
    True
    """
    X, W, squeeze = operands(x, w, transposed=True)
    g = transpose_geometry(X.shape[2:], W.shape[2:], stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, output_size=output_size)
    pads = direct_padding(g)
    z = zero_insert(X, g.stride)
    # pad first, then crop (negative padding): a large crop can reach through z into the
    # padding on the other side (e.g. output_padding added to a fully cropped 1-pixel input)
    z = np.pad(z, ((0, 0), (0, 0), (max(0, pads[0]), max(0, pads[1])), (max(0, pads[2]), max(0, pads[3]))))
    z = z[:, :, max(0, -pads[0]) : z.shape[2] - max(0, -pads[1]), max(0, -pads[2]) : z.shape[3] - max(0, -pads[3])]
    flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    y = conv2d(z, flipped, 1, 0, g.dilation)
    return y[0, 0] if squeeze else y


# ----------------------------------------------------------------------------
# gradients of conv2d
# ----------------------------------------------------------------------------
def _check_grad(G: np.ndarray, expected, name="grad_out"):
    if G.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)} (N, C_out, H_out, W_out) for this convolution, got {G.shape}")


def conv2d_backprop_input(input_shape, w, grad_out, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Gradient of ``sum(conv2d(x, w) * grad_out)`` with respect to ``x``.

    Same contract as ``tf.compat.v1.nn.conv2d_backprop_input`` and
    ``torch.nn.grad.conv2d_input`` (NCHW/OIHW here).  Computed as
    ``w^T @ grad_out`` followed by col2im -- i.e. a transposed convolution.
    Defined in chapter *Convolution gradients in TensorFlow*.

    Parameters
    ----------
    input_shape : (N, C, H, W) or (H, W)
    w : array_like, (O, C, kh, kw) or (kh, kw)
    grad_out : array_like, the shape of ``conv2d(x, w, ...)``
    stride, padding, dilation : as for :func:`conv2d`

    Returns
    -------
    ndarray of ``input_shape``

    Examples
    --------
    >>> conv2d_backprop_input((3, 3), np.ones((2, 2)), np.ones((2, 2)))
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    shape, squeeze = shape4(input_shape, "input_shape", "NCHW")
    W, _ = as_4d(w, "w", "OIHW")
    G, _ = as_4d(grad_out, "grad_out", "NCHW")
    if W.shape[1] != shape[1]:
        raise ValueError(f"w has {W.shape[1]} input channels but input_shape has {shape[1]}; they must match")
    g = conv_geometry(shape[2:], W.shape[2:], stride=stride, padding=padding, dilation=dilation)
    _check_grad(G, (shape[0], W.shape[0]) + g.out_hw)
    dtype = np.result_type(W, G)
    dx = _transposed(G.astype(dtype, copy=False), W.astype(dtype, copy=False), g)
    return dx[0, 0] if squeeze else dx


def _kernel_grad_cols(X: np.ndarray, G: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """The kernel gradient as the book computes it: ``grad_out`` times the im2col patches."""
    o, c, (kh, kw) = G.shape[1], X.shape[1], g.kernel_hw
    cols = _gemm_cols(X, g)  # (C*kh*kw, N*Ho*Wo)
    gt = G.transpose(1, 0, 2, 3).reshape(o, -1)
    return (cols @ gt.T).T.reshape(o, c, kh, kw)  # (C*kh*kw, O) first: BLAS is faster with the long axis inside


def conv2d_backprop_filter(x, filter_shape, grad_out, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Gradient of ``sum(conv2d(x, w) * grad_out)`` with respect to ``w``.

    Each kernel entry's gradient is the sum over output positions of
    ``grad_out`` times the input pixel that entry touched: a GEMM of
    ``grad_out`` with the im2col patches.  Same contract as
    ``tf.compat.v1.nn.conv2d_backprop_filter`` / ``torch.nn.grad.conv2d_weight``.
    Defined in chapter *Convolution gradients in TensorFlow*.

    Parameters
    ----------
    x : array_like, (N, C, H, W) or (H, W)
    filter_shape : (O, C, kh, kw) or (kh, kw)
    grad_out : array_like, the shape of ``conv2d(x, w, ...)``
    stride, padding, dilation : as for :func:`conv2d`

    Returns
    -------
    ndarray of ``filter_shape``

    Examples
    --------
    >>> conv2d_backprop_filter(np.arange(9.).reshape(3, 3), (2, 2), np.ones((2, 2)))
    array([[ 8., 12.],
           [20., 24.]])
    """
    X, _ = as_4d(x, "x", "NCHW")
    fshape, squeeze = shape4(filter_shape, "filter_shape", "OIHW")
    G, _ = as_4d(grad_out, "grad_out", "NCHW")
    if fshape[1] != X.shape[1]:
        raise ValueError(f"filter_shape has {fshape[1]} input channels but x has {X.shape[1]}; they must match")
    g = conv_geometry(X.shape[2:], fshape[2:], stride=stride, padding=padding, dilation=dilation)
    _check_grad(G, (X.shape[0], fshape[0]) + g.out_hw)
    dtype = np.result_type(X, G)
    check_bytes("the kernel gradient's im2col columns", (X.shape[1] * fshape[2] * fshape[3], G[:, 0].size), dtype.itemsize)
    X, G = X.astype(dtype, copy=False), G.astype(dtype, copy=False)
    dw = _kernel_grad_phases(X, G, g) if _phases_pay_off(g) else None
    if dw is None or not np.isfinite(dw).all():  # inf/nan: im2col's sums decide (extra columns: 0 * x)
        dw = _kernel_grad_cols(X, G, g)
    return dw[0, 0] if squeeze else dw

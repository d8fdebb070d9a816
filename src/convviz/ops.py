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
"""
from __future__ import annotations

from typing import NamedTuple, Tuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import (
    check_int,
    conv_output_size,
    effective_kernel,
    output_padding_for,
    pair,
    resolve_padding,
    same_padding,
    _check_output_padding,
)

__all__ = [
    "conv2d",
    "conv_transpose2d",
    "conv_transpose2d_direct",
    "conv2d_backprop_input",
    "conv2d_backprop_filter",
    "im2col",
    "col2im",
    "zero_insert",
    "direct_padding",
    "ConvGeometry",
    "conv_geometry",
    "transpose_geometry",
]


# ----------------------------------------------------------------------------
# argument handling
# ----------------------------------------------------------------------------
def _float(a, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists etc.
        raise ValueError(f"{name} must be array-like with a numeric dtype: {exc}") from None
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise ValueError(f"{name} must have a numeric dtype, got {arr.dtype}")
    return arr


def _as4d(a, name: str, layout: str) -> Tuple[np.ndarray, bool]:
    """Return a 4-D array and whether the caller passed a 2-D one."""
    arr = _float(a, name)
    if arr.ndim == 2:
        return arr[None, None], True
    if arr.ndim == 4:
        return arr, False
    raise ValueError(f"{name} must be 2-D (H, W) or 4-D {layout}, got ndim={arr.ndim} with shape {arr.shape}")


def _operands(x, w, transposed: bool):
    """``x`` and ``w`` as 4-D arrays of one float dtype, and whether both were 2-D.

    Checks that the channels meet: ``w.shape[1]`` for a convolution (OIHW),
    ``w.shape[0]`` for a transposed one ((C_in, C_out, kh, kw)).
    """
    X, x2d = _as4d(x, "x", "NCHW")
    W, w2d = _as4d(w, "w", "(C_in, C_out, kh, kw)" if transposed else "OIHW")
    axis = 0 if transposed else 1
    if X.shape[1] != W.shape[axis]:
        raise ValueError(
            f"w has {W.shape[axis]} input channels (w.shape[{axis}]) but x has {X.shape[1]} channels "
            "(x.shape[1]); they must match"
        )
    dtype = np.result_type(X, W)
    return X.astype(dtype, copy=False), W.astype(dtype, copy=False), x2d and w2d


def _shape4(shape, name: str, layout: str) -> Tuple[Tuple[int, int, int, int], bool]:
    try:
        shape = tuple(shape)  # no int() here: it would silently truncate 2.5 to 2
    except TypeError:
        raise ValueError(f"{name} must be a shape tuple, got {shape!r}") from None
    if len(shape) == 2:
        shape, squeeze = (1, 1) + shape, True
    elif len(shape) == 4:
        squeeze = False
    else:
        raise ValueError(f"{name} must have 2 (H, W) or 4 {layout} entries, got {shape!r}")
    shape = tuple(check_int(f"{name} ({n})", s, 1) for n, s in zip(layout, shape))
    return shape, squeeze


class ConvGeometry(NamedTuple):
    """Resolved geometry of one convolution: sizes, stride, dilation, padding."""

    in_hw: Tuple[int, int]
    kernel_hw: Tuple[int, int]
    stride: Tuple[int, int]
    dilation: Tuple[int, int]
    pads: Tuple[int, int, int, int]  # (top, bottom, left, right)
    out_hw: Tuple[int, int]

    @property
    def padded_hw(self) -> Tuple[int, int]:
        t, b, l, r = self.pads
        return (self.in_hw[0] + t + b, self.in_hw[1] + l + r)


def conv_geometry(in_hw, kernel_hw, stride=1, padding=0, dilation=1) -> ConvGeometry:
    """Validate and resolve the geometry of ``conv2d`` (chapter *Conv2d*)."""
    s = pair(stride, "stride")
    d = pair(dilation, "dilation")
    pads = resolve_padding(padding, in_hw, kernel_hw, s, d)
    out = tuple(
        conv_output_size(in_hw[a], kernel_hw[a], s[a], pads[2 * a : 2 * a + 2], d[a]) for a in (0, 1)
    )
    return ConvGeometry(tuple(in_hw), tuple(kernel_hw), s, d, pads, out)


def transpose_geometry(in_hw, kernel_hw, stride=1, padding=0, output_padding=0, dilation=1, output_size=None):
    """Resolve a transposed convolution as the adjoint of a forward convolution.

    Returns ``(geometry, output_padding)`` where ``geometry`` describes the
    *forward* convolution whose input is the transposed output (``geometry.in_hw``)
    and whose output has the transposed input's size.  ``output_padding`` rows and
    columns are added at the bottom/right, as in PyTorch.
    """
    s = pair(stride, "stride")
    d = pair(dilation, "dilation")
    op = pair(output_padding, "output_padding", minimum=0)
    if output_size is not None:
        if op != (0, 0):
            raise ValueError(
                f"give either output_padding or output_size, not both: got output_padding={output_padding!r} "
                f"and output_size={output_size!r}; allowed: output_padding=0 when output_size is given"
            )
        osz = pair(output_size, "output_size")
        if isinstance(padding, str):
            specs = [padding, padding]
        else:
            full = resolve_padding(padding, in_hw, kernel_hw, s, d)  # validates, gives (t, b, l, r)
            specs = [full[0:2], full[2:4]]
        res = [output_padding_for(in_hw[a], osz[a], kernel_hw[a], s[a], specs[a], d[a]) for a in (0, 1)]
        pads = res[0][0] + res[1][0]
        op = (res[0][1], res[1][1])
    else:
        for a in (0, 1):
            _check_output_padding(op[a], s[a], d[a])
        if isinstance(padding, str) and padding.lower() == "same":
            if op != (0, 0):
                raise ValueError(
                    f"output_padding must be 0 with padding='same', got {output_padding}; "
                    "pick the size with output_size instead"
                )
            # o = i * s; when d(k-1)+1 < s SAME pads nothing and the last s - d(k-1) - 1
            # rows/cols are reached by no tap: they come from output padding
            res = [output_padding_for(in_hw[a], in_hw[a] * s[a], kernel_hw[a], s[a], "same", d[a]) for a in (0, 1)]
            pads = res[0][0] + res[1][0]
            op = (res[0][1], res[1][1])
        else:
            pads = resolve_padding(padding, in_hw, kernel_hw, s, d)
    out = []
    for a in (0, 1):
        o = (in_hw[a] - 1) * s[a] + effective_kernel(kernel_hw[a], d[a]) + op[a] - pads[2 * a] - pads[2 * a + 1]
        if o < 1:
            raise ValueError(
                f"padding {pads[2 * a:2 * a + 2]} crops the whole output along axis {a}: "
                f"(i-1)*s - p + d*(k-1) + output_padding + 1 = {o}; allowed: an output size >= 1"
            )
        out.append(o)
    geom = ConvGeometry(tuple(out), tuple(kernel_hw), s, d, tuple(pads), tuple(in_hw))
    return geom, op


# ----------------------------------------------------------------------------
# im2col / col2im
# ----------------------------------------------------------------------------
def _patches(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """View of shape (N, C, Ho, Wo, kh, kw): the receptive field of every output."""
    t, b, l, r = g.pads
    if any(g.pads):
        x = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = g.kernel_hw, g.stride, g.dilation, g.out_hw
    win = sliding_window_view(x, (effective_kernel(kh, dh), effective_kernel(kw, dw)), axis=(2, 3))
    return win[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]


def _scatter(cols: np.ndarray, g: ConvGeometry, canvas_hw) -> np.ndarray:
    """col2im core: add (N, C, kh, kw, Ho, Wo) patches onto an (N, C, *canvas_hw) canvas.

    The canvas is in *padded* coordinates; one strided slice-add per kernel tap
    keeps the loop at kh*kw iterations.
    """
    n, c, kh, kw, ho, wo = cols.shape
    (sh, sw), (dh, dw) = g.stride, g.dilation
    out = np.zeros((n, c) + tuple(canvas_hw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh : i * dh + (ho - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw] += cols[
                :, :, i, j
            ]
    return out


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Unfold ``x`` into columns, exactly like ``torch.nn.functional.unfold``.

    ``x`` is (N, C, H, W) or (H, W); the result is (N, C*kh*kw, L) (or
    (kh*kw, L) for 2-D input) with rows ordered channel-major, then kernel row,
    then kernel column, and columns the output positions in row-major order.
    Defined in chapter *Conv2d and its gradient*.
    """
    X, squeeze = _as4d(x, "x", "NCHW")
    k = pair(kernel_size, "kernel_size")
    g = conv_geometry(X.shape[2:], k, stride, padding, dilation)
    p = _patches(X, g)  # N C Ho Wo kh kw
    n, c = X.shape[:2]
    cols = p.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], g.out_hw[0] * g.out_hw[1])
    return cols[0] if squeeze else cols


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Fold columns back into an image, summing overlaps, like ``F.fold``.

    ``cols`` is (N, C*kh*kw, L) or (C*kh*kw, L); ``output_size`` is the
    unpadded (H, W).  The result is (N, C, H, W) or (C, H, W).  Defined in
    chapter *Transposed convolution*.
    """
    arr = _float(cols, "cols")
    if arr.ndim not in (2, 3):
        raise ValueError(f"cols must be 2-D (C*kh*kw, L) or 3-D (N, C*kh*kw, L), got shape {arr.shape}")
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[None]
    hw = pair(output_size, "output_size")
    k = pair(kernel_size, "kernel_size")
    g = conv_geometry(hw, k, stride, padding, dilation)
    n, ckk, L = arr.shape
    if ckk % (k[0] * k[1]):
        raise ValueError(
            f"cols.shape[-2] must be a multiple of kh*kw = {k[0] * k[1]}, got {ckk}"
        )
    if L != g.out_hw[0] * g.out_hw[1]:
        raise ValueError(
            f"cols.shape[-1] must equal the number of sliding positions {g.out_hw[0]}x{g.out_hw[1]} = "
            f"{g.out_hw[0] * g.out_hw[1]} for output_size {hw}, got {L}"
        )
    c = ckk // (k[0] * k[1])
    canvas = _scatter(arr.reshape(n, c, k[0], k[1], *g.out_hw), g, g.padded_hw)
    t, _, l, _ = g.pads
    out = canvas[:, :, t : t + hw[0], l : l + hw[1]]
    return out[0] if squeeze else out


def zero_insert(x, stride) -> np.ndarray:
    """Insert ``stride - 1`` zeros between neighbouring pixels (chapter *Transposed convolution*)."""
    X, squeeze = _as4d(x, "x", "NCHW")
    sh, sw = pair(stride, "stride")
    n, c, h, w = X.shape
    out = np.zeros((n, c, (h - 1) * sh + 1, (w - 1) * sw + 1), dtype=X.dtype)
    out[:, :, ::sh, ::sw] = X
    return out[0, 0] if squeeze else out


# ----------------------------------------------------------------------------
# forward ops
# ----------------------------------------------------------------------------
def _cols(X: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """im2col in GEMM-friendly order: (C*kh*kw, N*Ho*Wo), contiguous.

    Working channel-first (C, N, H, W) makes the innermost copied run a whole
    output row, which is what makes this copy cheap.
    """
    n, c, h, w = X.shape
    t, b, l, r = g.pads
    if any(g.pads):
        xp = np.zeros((c, n, h + t + b, w + l + r), dtype=X.dtype)
        xp[:, :, t : t + h, l : l + w] = X.transpose(1, 0, 2, 3)
    else:
        xp = X.transpose(1, 0, 2, 3)
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = g.kernel_hw, g.stride, g.dilation, g.out_hw
    win = sliding_window_view(xp, (effective_kernel(kh, dh), effective_kernel(kw, dw)), axis=(2, 3))
    win = win[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]  # C N Ho Wo kh kw
    return np.ascontiguousarray(win.transpose(0, 4, 5, 1, 2, 3)).reshape(c * kh * kw, n * ho * wo)


def conv2d(x, w, stride=1, padding=0, dilation=1) -> np.ndarray:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (no bias).

    ``x``: (N, C, H, W) or (H, W); ``w``: (O, C, kh, kw) or (kh, kw).
    ``padding``: int, (ph, pw), (top, bottom, left, right), "valid" or "same"
    (TensorFlow's rule, any stride).  Defined in chapter *Conv2d and its gradient*.
    """
    X, W, squeeze = _operands(x, w, transposed=False)
    g = conv_geometry(X.shape[2:], W.shape[2:], stride, padding, dilation)
    o = W.shape[0]
    y = W.reshape(o, -1) @ _cols(X, g)
    y = y.reshape(o, X.shape[0], *g.out_hw).transpose(1, 0, 2, 3)  # (O, N, ...) -> NCHW view
    return y[0, 0] if squeeze else y


def _adjoint(grad: np.ndarray, W: np.ndarray, g: ConvGeometry, canvas_hw) -> np.ndarray:
    """W^T @ grad followed by col2im: shared by the input gradient and conv_transpose2d.

    Returns an (N, C, *canvas_hw) view of a channel-first canvas.
    """
    n, o, ho, wo = grad.shape
    c, kh, kw = W.shape[1:]
    (sh, sw), (dh, dw) = g.stride, g.dilation
    gt = grad.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)
    cols = (W.reshape(o, c * kh * kw).T @ gt).reshape(c, kh, kw, n, ho, wo)
    canvas = np.zeros((c, n) + tuple(canvas_hw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            sl = canvas[:, :, i * dh : i * dh + (ho - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw]
            np.add(sl, cols[:, i, j], out=sl)
    return canvas.transpose(1, 0, 2, 3)


def conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None) -> np.ndarray:
    """Transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    ``x``: (N, C_in, H, W) or (H, W); ``w``: (C_in, C_out, kh, kw) or (kh, kw).
    ``padding`` crops the full output (int, pair, 4-tuple, "valid", or "same"
    = TensorFlow's SAME); ``output_padding`` adds rows/columns at the bottom/right;
    ``output_size`` picks one of the valid sizes instead (TensorFlow's
    ``output_shape``).  Defined in chapter *Transposed convolution*.
    """
    X, W, squeeze = _operands(x, w, transposed=True)
    g, op = transpose_geometry(X.shape[2:], W.shape[2:], stride, padding, output_padding, dilation, output_size)
    t, b, l, r = g.pads
    (kh, kw), (sh, sw_), (dh, dw) = g.kernel_hw, g.stride, g.dilation
    full = ((X.shape[2] - 1) * sh + effective_kernel(kh, dh) + op[0], (X.shape[3] - 1) * sw_ + effective_kernel(kw, dw) + op[1])
    canvas = _adjoint(X, W, g, full)
    y = canvas[:, :, t : full[0] - b, l : full[1] - r]
    return y[0, 0] if squeeze else y


def conv_transpose2d_direct(x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None) -> np.ndarray:
    """Transposed convolution computed the textbook way (chapter *Transposed convolution*):

    insert ``stride - 1`` zeros between input pixels, pad each side by
    ``d(k-1) - p`` (plus ``output_padding`` at the bottom/right; negative
    padding crops), then run a stride-1 convolution with the kernel rotated by
    180 degrees and its in/out channels swapped.  Same result as
    :func:`conv_transpose2d`, different algorithm.
    """
    X, W, squeeze = _operands(x, w, transposed=True)
    g, op = transpose_geometry(X.shape[2:], W.shape[2:], stride, padding, output_padding, dilation, output_size)
    pads = direct_padding(g, op)
    z = zero_insert(X, g.stride)
    # pad first, then crop (negative padding): a large crop can reach through z into the
    # padding on the other side (e.g. output_padding added to a fully cropped 1-pixel input)
    z = np.pad(z, ((0, 0), (0, 0), (max(0, pads[0]), max(0, pads[1])), (max(0, pads[2]), max(0, pads[3]))))
    z = z[:, :, max(0, -pads[0]) : z.shape[2] - max(0, -pads[1]), max(0, -pads[2]) : z.shape[3] - max(0, -pads[3])]
    flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    y = conv2d(z, flipped, 1, 0, g.dilation)
    return y[0, 0] if squeeze else y


def direct_padding(g: ConvGeometry, output_padding) -> Tuple[int, int, int, int]:
    """Padding (top, bottom, left, right) of the zero-inserted input in the
    direct-convolution view of a transposed convolution: ``d(k-1) - p``, with
    ``output_padding`` added at the bottom/right.  Negative values mean crop."""
    (kh, kw), (dh, dw) = g.kernel_hw, g.dilation
    t, b, l, r = g.pads
    eh, ew = dh * (kh - 1), dw * (kw - 1)
    return (eh - t, eh - b + output_padding[0], ew - l, ew - r + output_padding[1])


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
    """
    shape, squeeze = _shape4(input_shape, "input_shape", "NCHW")
    W, _ = _as4d(w, "w", "OIHW")
    G, _ = _as4d(grad_out, "grad_out", "NCHW")
    if W.shape[1] != shape[1]:
        raise ValueError(f"w has {W.shape[1]} input channels but input_shape has {shape[1]}; they must match")
    g = conv_geometry(shape[2:], W.shape[2:], stride, padding, dilation)
    _check_grad(G, (shape[0], W.shape[0]) + g.out_hw)
    dtype = np.result_type(W, G)
    canvas = _adjoint(G.astype(dtype, copy=False), W.astype(dtype, copy=False), g, g.padded_hw)
    t, _, l, _ = g.pads
    dx = canvas[:, :, t : t + shape[2], l : l + shape[3]]
    return dx[0, 0] if squeeze else dx


def conv2d_backprop_filter(x, filter_shape, grad_out, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Gradient of ``sum(conv2d(x, w) * grad_out)`` with respect to ``w``.

    Each kernel entry's gradient is the sum over output positions of
    ``grad_out`` times the input pixel that entry touched: a GEMM of
    ``grad_out`` with the im2col patches.  Same contract as
    ``tf.compat.v1.nn.conv2d_backprop_filter`` / ``torch.nn.grad.conv2d_weight``.
    Defined in chapter *Convolution gradients in TensorFlow*.
    """
    X, _ = _as4d(x, "x", "NCHW")
    fshape, squeeze = _shape4(filter_shape, "filter_shape", "OIHW")
    G, _ = _as4d(grad_out, "grad_out", "NCHW")
    if fshape[1] != X.shape[1]:
        raise ValueError(f"filter_shape has {fshape[1]} input channels but x has {X.shape[1]}; they must match")
    g = conv_geometry(X.shape[2:], fshape[2:], stride, padding, dilation)
    _check_grad(G, (X.shape[0], fshape[0]) + g.out_hw)
    dtype = np.result_type(X, G)
    cols = _cols(X.astype(dtype, copy=False), g)  # (C*kh*kw, N*Ho*Wo)
    gt = G.astype(dtype, copy=False).transpose(1, 0, 2, 3).reshape(fshape[0], -1)
    dw = (cols @ gt.T).T.reshape(fshape)  # (C*kh*kw, O) first: BLAS is faster with the long axis inside
    return dw[0, 0] if squeeze else dw

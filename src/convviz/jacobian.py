"""Analytic Jacobians of conv2d and conv_transpose2d, and the matrix C of Y = CX.

Both ops are bilinear, so every Jacobian entry is either zero or one kernel
weight (wrt the input) or one input pixel (wrt the kernel).  We enumerate the
(output position, kernel tap) pairs once per geometry and write the nonzeros
straight into a zero tensor: no autodiff, no per-output backward passes.  Shapes follow
``tf.GradientTape.jacobian``: ``out.shape + wrt.shape``.
Defined in chapter *Gradients of convolution and transposed convolution*.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from . import ops, validate
from .geometry import ConvGeometry, conv_geometry, transpose_geometry
from .validate import as_4d, check_bytes, operands, shape4

__all__ = ["jacobian", "conv_matrix", "transpose_matrix", "clear_cache"]


def _taps(g: ConvGeometry, bounds_hw):
    """Every (output y, output x, tap i, tap j) whose input pixel lies inside ``bounds_hw``.

    Returns flat index arrays ``(oy, ox, ki, kj, iy, ix)``: the output position,
    the kernel tap, and the input row/column it reads (taps that read padding
    are left out).  The inside test is separable, so it is done per axis.
    """
    (ho, wo), (kh, kw), (sh, sw), (dh, dw) = g.out_hw, g.kernel_hw, g.stride, g.dilation
    t, _, l, _ = g.pads
    rows = np.arange(ho)[:, None] * sh - t + np.arange(kh) * dh  # (Ho, kh): input row of tap i at output row y
    cols = np.arange(wo)[:, None] * sw - l + np.arange(kw) * dw
    inside = ((rows >= 0) & (rows < bounds_hw[0]))[:, None, :, None] & ((cols >= 0) & (cols < bounds_hw[1]))[None, :, None, :]
    oy, ox, ki, kj = np.nonzero(inside)
    return oy, ox, ki, kj, rows[oy, ki], cols[ox, kj]


class _PatternCache:
    """LRU cache of sparsity patterns bounded by the bytes of their index arrays
    (:data:`convviz.validate.JACOBIAN_CACHE_BYTES`)."""

    def __init__(self):
        self.entries: "OrderedDict[tuple, tuple]" = OrderedDict()
        self.nbytes = 0

    def get(self, key, build):
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
            return hit
        value = build(*key)
        size = value[1].nbytes + value[2].nbytes
        limit = validate.JACOBIAN_CACHE_BYTES
        if size <= limit:
            self.entries[key] = value
            self.nbytes += size
            while self.nbytes > limit:
                _, old = self.entries.popitem(last=False)
                self.nbytes -= old[1].nbytes + old[2].nbytes
        return value

    def clear(self):
        self.entries.clear()
        self.nbytes = 0


_CACHE = _PatternCache()


def clear_cache() -> None:
    """Drop every cached Jacobian sparsity pattern.

    Examples
    --------
    >>> _ = jacobian("conv2d", np.ones((4, 4)), np.ones((3, 3)))
    >>> clear_cache(); _CACHE.nbytes
    0
    """
    _CACHE.clear()


def _pattern(kind: str, x_shape, w_shape, g: ConvGeometry):
    """Where the nonzeros of a Jacobian go and where their values come from.

    Returns ``(shape, dest, src)``: the Jacobian's shape, flat positions in it,
    and flat positions in the source array (the kernel for ``*-input``, the
    input for ``*-kernel``).  It depends only on shapes and geometry, so it is
    cached (see :data:`convviz.validate.JACOBIAN_CACHE_BYTES`): notebooks ask for the same geometry again and again.
    """
    n = x_shape[0]
    n_idx = np.arange(n)[:, None, None, None]
    if kind.startswith("conv2d"):
        o, c, kh, kw = w_shape
        h, w = x_shape[2:]
        ho, wo = g.out_hw
        oy, ox, ki, kj, iy, ix = _taps(g, (h, w))
        o_idx = np.arange(o)[None, :, None, None]
        c_idx = np.arange(c)[None, None, :, None]
        row = ((n_idx * o + o_idx) * ho + oy) * wo + ox
        if kind == "conv2d-input":
            col = ((n_idx * c + c_idx) * h + iy) * w + ix
            src = ((o_idx * c + c_idx) * kh + ki) * kw + kj
        else:
            col = ((o_idx * c + c_idx) * kh + ki) * kw + kj
            src = ((n_idx * c + c_idx) * h + iy) * w + ix
    else:
        ci, co, kh, kw = w_shape
        h, w = x_shape[2:]
        out_h, out_w = g.in_hw  # the transposed output is the forward conv's input
        oy, ox, ki, kj, iy, ix = _taps(g, (out_h, out_w))
        co_idx = np.arange(co)[None, :, None, None]
        ci_idx = np.arange(ci)[None, None, :, None]
        row = ((n_idx * co + co_idx) * out_h + iy) * out_w + ix
        if kind == "conv_transpose2d-input":
            col = ((n_idx * ci + ci_idx) * h + oy) * w + ox
            src = ((ci_idx * co + co_idx) * kh + ki) * kw + kj
        else:
            col = ((ci_idx * co + co_idx) * kh + ki) * kw + kj
            src = ((n_idx * ci + ci_idx) * h + oy) * w + ox
    shape = _dense_shape(kind, x_shape, w_shape, g)
    ncols = int(np.prod(shape[4:]))
    dest, src = np.broadcast_arrays(row * ncols + col, src)
    # each (output, wrt) pair is hit by exactly one tap, so plain assignment suffices
    return shape, dest.ravel(), src.ravel()


def _dense_shape(kind: str, x_shape, w_shape, g: ConvGeometry):
    """The Jacobian's shape, known before any index is computed (for the size guard)."""
    n = x_shape[0]
    if kind.startswith("conv2d"):
        head = (n, w_shape[0]) + g.out_hw
    else:
        head = (n, w_shape[1]) + g.in_hw
    return head + (tuple(x_shape) if kind.endswith("input") else tuple(w_shape))


def _fill(kind, x_shape, w_shape, g, source: np.ndarray, what: str = "the Jacobian") -> np.ndarray:
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    shape = _dense_shape(kind, x_shape, w_shape, g)
    if what != "the Jacobian":  # a matrix: say its (rows, columns)
        shape = (int(np.prod(shape[:4])), int(np.prod(shape[4:])))
    check_bytes(what, shape, source.itemsize)
    shape, dest, src = _CACHE.get((kind, x_shape, w_shape, g), _pattern)
    J = np.zeros(int(np.prod(shape)), dtype=source.dtype)
    J[dest] = source.ravel()[src]
    return J.reshape(shape)


_OPS = ("conv2d", "conv_transpose2d")


def jacobian(op, x, w, wrt: str = "input", **params) -> np.ndarray:
    """Analytic Jacobian of ``op(x, w, **params)`` with respect to ``x`` or ``w``.

    ``op`` is :func:`convviz.conv2d`, :func:`convviz.conv_transpose2d` or their
    names.  The result has shape ``out.shape + wrt.shape`` -- what
    ``tf.GradientTape.jacobian`` returns (with NCHW/OIHW layouts here, and 2-D
    shapes when ``x`` and ``w`` are 2-D).  The dense result must fit in
    :data:`convviz.validate.MAX_BYTES`.

    Examples
    --------
    >>> J = jacobian("conv2d", np.ones((3, 3)), np.arange(4.).reshape(2, 2))
    >>> J.shape, J[0, 0]          # output (0, 0) reads the top-left 2x2 window
    ((2, 2, 3, 3), array([[0., 1., 0.],
           [2., 3., 0.],
           [0., 0., 0.]]))
    """
    name = op if isinstance(op, str) else next((n for n in _OPS if op is getattr(ops, n)), None)
    if name not in _OPS:
        raise ValueError(f"op must be conv2d or conv_transpose2d (function or name), got {op!r}")
    if wrt not in ("input", "kernel"):
        raise ValueError(f"wrt must be 'input' or 'kernel', got {wrt!r}")
    X, W, squeeze = operands(x, w, transposed=name == "conv_transpose2d")
    allowed = {"stride", "padding", "dilation"}
    if name == "conv_transpose2d":
        allowed |= {"output_padding", "output_size"}
    unknown = set(params) - allowed
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)} for {name}")
    resolve = conv_geometry if name == "conv2d" else transpose_geometry
    g = resolve(X.shape[2:], W.shape[2:], **params)
    J = _fill(f"{name}-{wrt}", X.shape, W.shape, g, W if wrt == "input" else X)
    if squeeze:
        out2 = J.shape[2:4]
        tgt = X.shape[2:] if wrt == "input" else W.shape[2:]
        return J.reshape(out2 + tgt)
    return J


def conv_matrix(input_shape, w, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The matrix C with ``conv2d(x, w).ravel() == C @ x.ravel()``.

    For a 4x4 input and 3x3 kernel this is Dumoulin & Visin's sparse 4x16
    matrix; its transpose is the transposed convolution (chapter *Transposed
    convolution*).  The dense result must fit in :data:`convviz.validate.MAX_BYTES`.

    Examples
    --------
    >>> C = conv_matrix((4, 4), np.ones((3, 3)))
    >>> C.shape, int(C.sum())
    ((4, 16), 36)
    """
    shape, _ = shape4(input_shape, "input_shape", "NCHW")
    W, _ = as_4d(w, "w", "OIHW")
    if W.shape[1] != shape[1]:
        raise ValueError(f"w has {W.shape[1]} input channels but input_shape has {shape[1]}; they must match")
    g = conv_geometry(shape[2:], W.shape[2:], stride=stride, padding=padding, dilation=dilation)
    J = _fill("conv2d-input", shape, W.shape, g, W, "the matrix C")
    n_out = int(np.prod(J.shape[:4]))
    return J.reshape(n_out, -1)


def transpose_matrix(input_shape, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None) -> np.ndarray:
    """The matrix T with ``conv_transpose2d(x, w, ...).ravel() == T @ x.ravel()``.

    Examples
    --------
    >>> w = np.arange(9.).reshape(3, 3)
    >>> bool(np.array_equal(transpose_matrix((2, 2), w), conv_matrix((4, 4), w).T))
    True
    """
    shape, _ = shape4(input_shape, "input_shape", "NCHW")
    W, _ = as_4d(w, "w", "(C_in, C_out, kh, kw)")
    if W.shape[0] != shape[1]:
        raise ValueError(f"w has {W.shape[0]} input channels but input_shape has {shape[1]}; they must match")
    g = transpose_geometry(shape[2:], W.shape[2:], stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, output_size=output_size)
    J = _fill("conv_transpose2d-input", shape, W.shape, g, W, "the matrix T")
    return J.reshape(int(np.prod(J.shape[:4])), -1)

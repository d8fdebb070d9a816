"""Analytic Jacobians of conv2d and conv_transpose2d, and the matrix C of Y = CX.

Both ops are bilinear, so every Jacobian entry is either zero or one kernel
weight (wrt the input) or one input pixel (wrt the kernel).  We enumerate the
(output position, kernel tap) pairs once and write the nonzeros straight into a
zero tensor: no autodiff, no per-output backward passes.  Shapes follow
``tf.GradientTape.jacobian``: ``out.shape + wrt.shape``.
Defined in chapter *Gradients of convolution and transposed convolution*.
"""
from __future__ import annotations

import numpy as np

from . import ops
from .ops import ConvGeometry, _as4d, _patches, _shape4, conv_geometry, transpose_geometry

__all__ = ["jacobian", "conv_matrix", "transpose_matrix"]


def _taps(g: ConvGeometry, bounds_hw):
    """For every (output y, output x, tap i, tap j): the input row/col it reads.

    Returns broadcastable index arrays shaped (Ho, Wo, kh, kw) plus a mask of the
    taps that land inside ``bounds_hw`` (the rest read padding).
    """
    (ho, wo), (kh, kw), (sh, sw), (dh, dw) = g.out_hw, g.kernel_hw, g.stride, g.dilation
    t, _, l, _ = g.pads
    oy = np.arange(ho)[:, None, None, None]
    ox = np.arange(wo)[None, :, None, None]
    ki = np.arange(kh)[None, None, :, None]
    kj = np.arange(kw)[None, None, None, :]
    iy = oy * sh - t + ki * dh
    ix = ox * sw - l + kj * dw
    iy, ix, oy, ox, ki, kj = np.broadcast_arrays(iy, ix, oy, ox, ki, kj)
    valid = (iy >= 0) & (iy < bounds_hw[0]) & (ix >= 0) & (ix < bounds_hw[1])
    return oy[valid], ox[valid], ki[valid], kj[valid], iy[valid], ix[valid]


def _conv_input_jac(in_shape, W, g: ConvGeometry) -> np.ndarray:
    """J[n,o,oy,ox, n,c,iy,ix] = W[o,c,i,j] for conv2d."""
    n, c, h, w = in_shape
    o = W.shape[0]
    ho, wo = g.out_hw
    oy, ox, ki, kj, iy, ix = _taps(g, (h, w))
    N = np.arange(n)[:, None, None, None]
    O = np.arange(o)[None, :, None, None]
    C = np.arange(c)[None, None, :, None]
    rows = ((N * o + O) * ho + oy) * wo + ox
    cols = ((N * c + C) * h + iy) * w + ix
    vals = np.broadcast_to(W[:, :, ki, kj][None], rows.shape[:1] + W.shape[:2] + ki.shape)
    rows, cols = np.broadcast_arrays(rows, cols)
    J = np.zeros((n * o * ho * wo, n * c * h * w), dtype=W.dtype)
    J[rows.ravel(), cols.ravel()] = vals.ravel()  # each (row, col) occurs once: plain assignment
    return J.reshape((n, o, ho, wo, n, c, h, w))


def _conv_kernel_jac(X, w_shape, g: ConvGeometry) -> np.ndarray:
    """J[n,o,oy,ox, o,c,i,j] = padded x[n, c, oy*s+i*d, ox*s+j*d] for conv2d."""
    p = _patches(X, g)  # N C Ho Wo kh kw
    o = w_shape[0]
    return np.einsum("nchwij,op->nohwpcij", p, np.eye(o, dtype=X.dtype))


def _transpose_input_jac(in_shape, W, g: ConvGeometry) -> np.ndarray:
    """J[n,co,p,q, n,ci,h,w] = W[ci,co,i,j] where (p,q) = (h,w)*s - pad + (i,j)*d."""
    n, ci, h, w = in_shape
    co = W.shape[1]
    P, Q = g.in_hw  # the transposed output is the forward conv's input
    oy, ox, ki, kj, iy, ix = _taps(g, (P, Q))
    N = np.arange(n)[:, None, None, None]
    CO = np.arange(co)[None, :, None, None]
    CI = np.arange(ci)[None, None, :, None]
    rows = ((N * co + CO) * P + iy) * Q + ix
    cols = ((N * ci + CI) * h + oy) * w + ox
    vals = np.broadcast_to(W[:, :, ki, kj].transpose(1, 0, 2)[None], (n, co, ci) + ki.shape)
    rows, cols = np.broadcast_arrays(rows, cols)
    J = np.zeros((n * co * P * Q, n * ci * h * w), dtype=W.dtype)
    J[rows.ravel(), cols.ravel()] = vals.ravel()
    return J.reshape((n, co, P, Q, n, ci, h, w))


def _transpose_kernel_jac(X, w_shape, g: ConvGeometry) -> np.ndarray:
    """J[n,co,p,q, ci,co,i,j] = x[n,ci,h,w] where (p,q) = (h,w)*s - pad + (i,j)*d."""
    n, ci, h, w = X.shape
    co, kh, kw = w_shape[1:]
    P, Q = g.in_hw
    oy, ox, ki, kj, iy, ix = _taps(g, (P, Q))
    N = np.arange(n)[:, None, None, None]
    CO = np.arange(co)[None, :, None, None]
    CI = np.arange(ci)[None, None, :, None]
    rows = ((N * co + CO) * P + iy) * Q + ix
    cols = ((CI * co + CO) * kh + ki) * kw + kj
    vals = np.broadcast_to(X[:, :, oy, ox][:, None], (n, co, ci) + oy.shape)
    rows, cols = np.broadcast_arrays(rows, cols)
    J = np.zeros((n * co * P * Q, ci * co * kh * kw), dtype=X.dtype)
    J[rows.ravel(), cols.ravel()] = vals.ravel()
    return J.reshape((n, co, P, Q, ci, co, kh, kw))


_OPS = {
    "conv2d": "conv2d",
    "conv_transpose2d": "conv_transpose2d",
}


def jacobian(op, x, w, wrt: str = "input", **params) -> np.ndarray:
    """Analytic Jacobian of ``op(x, w, **params)`` with respect to ``x`` or ``w``.

    ``op`` is :func:`convviz.conv2d`, :func:`convviz.conv_transpose2d` or their
    names.  The result has shape ``out.shape + wrt.shape`` -- what
    ``tf.GradientTape.jacobian`` returns (with NCHW/OIHW layouts here, and 2-D
    shapes when ``x`` and ``w`` are 2-D).
    """
    name = getattr(op, "__name__", op)
    if name not in _OPS:
        raise ValueError(f"op must be conv2d or conv_transpose2d (function or name), got {op!r}")
    if wrt not in ("input", "kernel"):
        raise ValueError(f"wrt must be 'input' or 'kernel', got {wrt!r}")
    X, sx = _as4d(x, "x", "NCHW")
    W, sw = _as4d(w, "w", "OIHW" if name == "conv2d" else "(C_in, C_out, kh, kw)")
    dtype = np.result_type(X, W)
    X, W = X.astype(dtype, copy=False), W.astype(dtype, copy=False)
    if name == "conv2d":
        y = ops.conv2d(X, W, **params)  # validates everything
        g = conv_geometry(X.shape[2:], W.shape[2:], params.get("stride", 1), params.get("padding", 0), params.get("dilation", 1))
        J = _conv_input_jac(X.shape, W, g) if wrt == "input" else _conv_kernel_jac(X, W.shape, g)
    else:
        y = ops.conv_transpose2d(X, W, **params)
        g, _ = transpose_geometry(
            X.shape[2:],
            W.shape[2:],
            params.get("stride", 1),
            params.get("padding", 0),
            params.get("output_padding", 0),
            params.get("dilation", 1),
            params.get("output_size"),
        )
        J = _transpose_input_jac(X.shape, W, g) if wrt == "input" else _transpose_kernel_jac(X, W.shape, g)
    assert J.shape[:4] == y.shape
    if sx and sw:
        out2 = J.shape[2:4]
        tgt = X.shape[2:] if wrt == "input" else W.shape[2:]
        return J.reshape(out2 + tgt)
    return J


def conv_matrix(input_shape, w, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The matrix C with ``conv2d(x, w).ravel() == C @ x.ravel()``.

    For a 4x4 input and 3x3 kernel this is Dumoulin & Visin's sparse 4x16
    matrix; its transpose is the transposed convolution (chapter *Transposed
    convolution*).
    """
    shape, _ = _shape4(input_shape, "input_shape", "NCHW")
    W, _ = _as4d(w, "w", "OIHW")
    if W.shape[1] != shape[1]:
        raise ValueError(f"w has {W.shape[1]} input channels but input_shape has {shape[1]}; they must match")
    g = conv_geometry(shape[2:], W.shape[2:], stride, padding, dilation)
    J = _conv_input_jac(shape, W, g)
    n_out = int(np.prod(J.shape[:4]))
    return J.reshape(n_out, -1)


def transpose_matrix(input_shape, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None) -> np.ndarray:
    """The matrix T with ``conv_transpose2d(x, w, ...).ravel() == T @ x.ravel()``."""
    shape, _ = _shape4(input_shape, "input_shape", "NCHW")
    W, _ = _as4d(w, "w", "(C_in, C_out, kh, kw)")
    if W.shape[0] != shape[1]:
        raise ValueError(f"w has {W.shape[0]} input channels but input_shape has {shape[1]}; they must match")
    g, _ = transpose_geometry(shape[2:], W.shape[2:], stride, padding, output_padding, dilation, output_size)
    J = _transpose_input_jac(shape, W, g)
    return J.reshape(int(np.prod(J.shape[:4])), -1)

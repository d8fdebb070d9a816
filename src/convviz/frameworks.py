"""Adapters between convviz (NCHW / OIHW) and the frameworks.

Layout converters are plain numpy.  The ``torch_*`` and ``tf_*`` helpers run
the same operation in PyTorch or TensorFlow, taking and returning convviz
layouts, so a notebook or test can compare like with like; TensorFlow and torch
are imported only when one of them is called.  Defined in chapter
*Introduction* (notation).
"""
from __future__ import annotations

import numpy as np

from .check import to_numpy
from .geometry import pair, resolve_padding
from .ops import transpose_geometry

__all__ = [
    "nchw_to_nhwc",
    "nhwc_to_nchw",
    "oihw_to_hwio",
    "hwio_to_oihw",
    "iohw_to_hwoi",
    "hwoi_to_iohw",
    "torch_conv2d",
    "torch_conv_transpose2d",
    "torch_backprop_input",
    "torch_backprop_filter",
    "torch_jacobian",
    "tf_conv2d",
    "tf_conv_transpose2d",
    "tf_backprop_input",
    "tf_backprop_filter",
    "tf_jacobian",
]


# ---------------------------------------------------------------- layouts
def nchw_to_nhwc(x):
    """(N, C, H, W) -> (N, H, W, C): torch/convviz activations to TensorFlow's."""
    return np.transpose(to_numpy(x), (0, 2, 3, 1))


def nhwc_to_nchw(x):
    """(N, H, W, C) -> (N, C, H, W)."""
    return np.transpose(to_numpy(x), (0, 3, 1, 2))


def oihw_to_hwio(w):
    """Conv weights (O, I, kh, kw) -> TensorFlow's (kh, kw, I, O)."""
    return np.transpose(to_numpy(w), (2, 3, 1, 0))


def hwio_to_oihw(w):
    """TensorFlow conv weights (kh, kw, I, O) -> (O, I, kh, kw)."""
    return np.transpose(to_numpy(w), (3, 2, 0, 1))


def iohw_to_hwoi(w):
    """Transposed-conv weights, torch (C_in, C_out, kh, kw) -> TF conv2d_transpose (kh, kw, C_out, C_in)."""
    return np.transpose(to_numpy(w), (2, 3, 1, 0))


def hwoi_to_iohw(w):
    """TF conv2d_transpose filters (kh, kw, C_out, C_in) -> torch (C_in, C_out, kh, kw)."""
    return np.transpose(to_numpy(w), (3, 2, 0, 1))


def _4d(a):
    a = to_numpy(a)
    return a[None, None] if a.ndim == 2 else a


# ---------------------------------------------------------------- torch
def _torch():
    import torch

    return torch


def _t(a):
    return _torch().from_numpy(np.ascontiguousarray(_4d(a), dtype=np.float64))


def torch_conv2d(x, w, stride=1, padding=0, dilation=1):
    """``F.conv2d`` with any convviz padding (asymmetric/SAME via an explicit ``F.pad``)."""
    torch = _torch()
    X, W = _t(x), _t(w)
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    t, b, l, r = resolve_padding(padding, X.shape[2:], W.shape[2:], s, d)
    X = torch.nn.functional.pad(X, (l, r, t, b))
    return torch.nn.functional.conv2d(X, W, stride=s, dilation=d).numpy()


def torch_conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None):
    """``F.conv_transpose2d``; asymmetric padding is cropped by hand (torch has no such argument)."""
    torch = _torch()
    X, W = _t(x), _t(w)
    g, op = transpose_geometry(X.shape[2:], W.shape[2:], stride, padding, output_padding, dilation, output_size)
    t, b, l, r = g.pads
    y = torch.nn.functional.conv_transpose2d(X, W, stride=g.stride, output_padding=op, dilation=g.dilation)
    return y[:, :, t : y.shape[2] - b, l : y.shape[3] - r].numpy()


def torch_backprop_input(input_shape, w, grad_out, stride=1, padding=0, dilation=1):
    """Input gradient by autograd: d sum(conv2d(x, w) * grad_out) / dx."""
    torch = _torch()
    shape = tuple(input_shape)
    shape4 = (1, 1) + shape if len(shape) == 2 else shape
    x = torch.zeros(shape4, dtype=torch.float64, requires_grad=True)
    W = _t(w)
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    t, b, l, r = resolve_padding(padding, shape4[2:], W.shape[2:], s, d)
    y = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (l, r, t, b)), W, stride=s, dilation=d)
    (y * _t(grad_out)).sum().backward()
    return x.grad.numpy()


def torch_backprop_filter(x, filter_shape, grad_out, stride=1, padding=0, dilation=1):
    """Kernel gradient with ``torch.nn.grad.conv2d_weight`` (explicit pad first)."""
    torch = _torch()
    X = _t(x)
    fshape = tuple(filter_shape)
    fshape4 = (1, 1) + fshape if len(fshape) == 2 else fshape
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    t, b, l, r = resolve_padding(padding, X.shape[2:], fshape4[2:], s, d)
    X = torch.nn.functional.pad(X, (l, r, t, b))
    return torch.nn.grad.conv2d_weight(X, fshape4, _t(grad_out), stride=s, dilation=d).numpy()


def torch_jacobian(op: str, x, w, wrt="input", **params):
    """``torch.autograd.functional.jacobian(vectorize=True)`` of a torch conv op (4-D layouts)."""
    torch = _torch()
    X, W = _t(x), _t(w)
    fn = {"conv2d": _torch_conv2d_t, "conv_transpose2d": _torch_conv_transpose2d_t}[op]
    if wrt == "input":
        J = torch.autograd.functional.jacobian(lambda a: fn(a, W, **params), X, vectorize=True)
    else:
        J = torch.autograd.functional.jacobian(lambda k: fn(X, k, **params), W, vectorize=True)
    return J.numpy()


def _torch_conv2d_t(X, W, stride=1, padding=0, dilation=1):
    torch = _torch()
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    t, b, l, r = resolve_padding(padding, X.shape[2:], W.shape[2:], s, d)
    return torch.nn.functional.conv2d(torch.nn.functional.pad(X, (l, r, t, b)), W, stride=s, dilation=d)


def _torch_conv_transpose2d_t(X, W, stride=1, padding=0, output_padding=0, dilation=1, output_size=None):
    torch = _torch()
    g, op = transpose_geometry(X.shape[2:], W.shape[2:], stride, padding, output_padding, dilation, output_size)
    t, b, l, r = g.pads
    y = torch.nn.functional.conv_transpose2d(X, W, stride=g.stride, output_padding=op, dilation=g.dilation)
    return y[:, :, t : y.shape[2] - b, l : y.shape[3] - r]


# ---------------------------------------------------------------- TensorFlow
def _tf():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _tf_padding(padding, in_hw, k_hw, s, d):
    """TF padding argument: "SAME"/"VALID" strings pass through, numbers become explicit."""
    if isinstance(padding, str):
        return padding.upper()
    t, b, l, r = resolve_padding(padding, in_hw, k_hw, s, d)
    return [[0, 0], [t, b], [l, r], [0, 0]]


def tf_conv2d(x, w, stride=1, padding=0, dilation=1):
    """``tf.nn.conv2d`` in NHWC/HWIO, returned as NCHW."""
    tf = _tf()
    X, W = _4d(x).astype(np.float64), _4d(w).astype(np.float64)
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    pad = _tf_padding(padding, X.shape[2:], W.shape[2:], s, d)
    y = tf.nn.conv2d(nchw_to_nhwc(X), oihw_to_hwio(W), strides=[1, *s, 1], padding=pad, dilations=[1, *d, 1])
    return nhwc_to_nchw(y)


def tf_backprop_input(input_shape, w, grad_out, stride=1, padding=0, dilation=1):
    """``tf.compat.v1.nn.conv2d_backprop_input`` (the TF1 name the articles use), NCHW in and out."""
    tf = _tf()
    shape = tuple(input_shape)
    shape4 = (1, 1) + shape if len(shape) == 2 else shape
    W, G = _4d(w).astype(np.float64), _4d(grad_out).astype(np.float64)
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    pad = _tf_padding(padding, shape4[2:], W.shape[2:], s, d)
    n, c, h, wd = shape4
    dx = tf.compat.v1.nn.conv2d_backprop_input(
        [n, h, wd, c], oihw_to_hwio(W), nchw_to_nhwc(G), strides=[1, *s, 1], padding=pad, dilations=[1, *d, 1]
    )
    return nhwc_to_nchw(dx)


def tf_backprop_filter(x, filter_shape, grad_out, stride=1, padding=0, dilation=1):
    """``tf.compat.v1.nn.conv2d_backprop_filter``, NCHW/OIHW in and out."""
    tf = _tf()
    X, G = _4d(x).astype(np.float64), _4d(grad_out).astype(np.float64)
    fshape = tuple(filter_shape)
    o, c, kh, kw = (1, 1) + fshape if len(fshape) == 2 else fshape
    s, d = pair(stride, "stride"), pair(dilation, "dilation")
    pad = _tf_padding(padding, X.shape[2:], (kh, kw), s, d)
    dw = tf.compat.v1.nn.conv2d_backprop_filter(
        nchw_to_nhwc(X), [kh, kw, c, o], nchw_to_nhwc(G), strides=[1, *s, 1], padding=pad, dilations=[1, *d, 1]
    )
    return hwio_to_oihw(dw)


def tf_conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None):
    """``tf.nn.conv2d_transpose`` with an explicit ``output_shape``, NCHW/(C_in, C_out, kh, kw) in, NCHW out.

    TF expresses padding here as that of the forward convolution whose input
    gradient this is, so it receives the same (top, bottom, left, right).
    """
    tf = _tf()
    X, W = _4d(x).astype(np.float64), _4d(w).astype(np.float64)
    g, _ = transpose_geometry(X.shape[2:], W.shape[2:], stride, padding, output_padding, dilation, output_size)
    t, b, l, r = g.pads
    if isinstance(padding, str) and padding.lower() == "same":
        pad = "SAME"
    else:
        pad = [[0, 0], [t, b], [l, r], [0, 0]]
    n, co = X.shape[0], W.shape[1]
    y = tf.nn.conv2d_transpose(
        nchw_to_nhwc(X), iohw_to_hwoi(W), [n, *g.in_hw, co], strides=[1, *g.stride, 1], padding=pad,
        dilations=[1, *g.dilation, 1],
    )
    return nhwc_to_nchw(y)


def tf_jacobian(op: str, x, w, wrt="input", **params):
    """``tf.GradientTape.jacobian`` of the TF op, converted back to NCHW/OIHW axes."""
    tf = _tf()
    X = tf.constant(nchw_to_nhwc(_4d(x).astype(np.float64)))
    W4 = _4d(w).astype(np.float64)
    Wt = tf.constant(oihw_to_hwio(W4) if op == "conv2d" else iohw_to_hwoi(W4))

    def run(X, Wt):
        if op == "conv2d":
            s, d = pair(params.get("stride", 1), "stride"), pair(params.get("dilation", 1), "dilation")
            pad = _tf_padding(params.get("padding", 0), X.shape[1:3], Wt.shape[:2], s, d)
            return tf.nn.conv2d(X, Wt, strides=[1, *s, 1], padding=pad, dilations=[1, *d, 1])
        g, _ = transpose_geometry(
            X.shape[1:3], Wt.shape[:2], params.get("stride", 1), params.get("padding", 0),
            params.get("output_padding", 0), params.get("dilation", 1), params.get("output_size"),
        )
        t, b, l, r = g.pads
        p = params.get("padding", 0)
        pad = p.upper() if isinstance(p, str) else [[0, 0], [t, b], [l, r], [0, 0]]  # strings: see pfor below
        return tf.nn.conv2d_transpose(
            X, Wt, [X.shape[0], *g.in_hw, Wt.shape[2]], strides=[1, *g.stride, 1], padding=pad,
            dilations=[1, *g.dilation, 1],
        )

    target = X if wrt == "input" else Wt
    # TF 2.21's vectorized jacobian (pfor) drops the explicit paddings of Conv2DBackpropFilter
    # ("explicit_paddings attribute must contain 8 values"): numeric padding wrt the kernel
    # takes the slower per-row loop instead.
    p = params.get("padding", 0)
    pfor = wrt == "input" or isinstance(p, str)
    with tf.GradientTape(persistent=not pfor) as tape:
        tape.watch(target)
        y = run(X, Wt) if wrt == "input" else run(X, target)
    J = tape.jacobian(y, target, experimental_use_pfor=pfor).numpy()  # NHWC + (NHWC or HWIO/HWOI)
    J = np.transpose(J, (0, 3, 1, 2, 4, 5, 6, 7))  # out -> NCHW
    if wrt == "input":
        return np.transpose(J, (0, 1, 2, 3, 4, 7, 5, 6))
    if op == "conv2d":  # HWIO -> OIHW
        return np.transpose(J, (0, 1, 2, 3, 7, 6, 4, 5))
    return np.transpose(J, (0, 1, 2, 3, 7, 6, 4, 5))  # HWOI -> IOHW


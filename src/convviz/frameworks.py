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
from .geometry import ConvGeometry, conv_geometry, transpose_geometry
from .validate import shape4

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
    """(N, C, H, W) -> (N, H, W, C): torch/convviz activations to TensorFlow's.

    Examples
    --------
    >>> nchw_to_nhwc(np.zeros((1, 3, 5, 4))).shape
    (1, 5, 4, 3)
    """
    return np.transpose(to_numpy(x), (0, 2, 3, 1))


def nhwc_to_nchw(x):
    """(N, H, W, C) -> (N, C, H, W).

    Examples
    --------
    >>> nhwc_to_nchw(np.zeros((1, 5, 4, 3))).shape
    (1, 3, 5, 4)
    """
    return np.transpose(to_numpy(x), (0, 3, 1, 2))


def oihw_to_hwio(w):
    """Conv weights (O, I, kh, kw) -> TensorFlow's (kh, kw, I, O).

    Examples
    --------
    >>> oihw_to_hwio(np.zeros((4, 3, 2, 1))).shape
    (2, 1, 3, 4)
    """
    return np.transpose(to_numpy(w), (2, 3, 1, 0))


def hwio_to_oihw(w):
    """TensorFlow conv weights (kh, kw, I, O) -> (O, I, kh, kw).

    Examples
    --------
    >>> hwio_to_oihw(np.zeros((2, 1, 3, 4))).shape
    (4, 3, 2, 1)
    """
    return np.transpose(to_numpy(w), (3, 2, 0, 1))


def iohw_to_hwoi(w):
    """Transposed-conv weights, torch (C_in, C_out, kh, kw) -> TF conv2d_transpose (kh, kw, C_out, C_in).

    Examples
    --------
    >>> iohw_to_hwoi(np.zeros((4, 3, 2, 1))).shape
    (2, 1, 3, 4)
    """
    return np.transpose(to_numpy(w), (2, 3, 1, 0))


def hwoi_to_iohw(w):
    """TF conv2d_transpose filters (kh, kw, C_out, C_in) -> torch (C_in, C_out, kh, kw).

    Examples
    --------
    >>> hwoi_to_iohw(np.zeros((2, 1, 3, 4))).shape
    (4, 3, 2, 1)
    """
    return np.transpose(to_numpy(w), (3, 2, 0, 1))


def _4d(a):
    a = to_numpy(a)
    return a[None, None] if a.ndim == 2 else a


def _shape4(shape, name="shape"):
    """A 2-entry (H, W) or 4-entry shape as 4 entries (convviz's own check)."""
    return shape4(shape, name, "NCHW")[0]


def _conv(in_hw, k_hw, stride, padding, dilation) -> ConvGeometry:
    return conv_geometry(in_hw, k_hw, stride=stride, padding=padding, dilation=dilation)


def _transpose(in_hw, k_hw, stride, padding, output_padding, dilation, output_size) -> ConvGeometry:
    return transpose_geometry(in_hw, k_hw, stride=stride, padding=padding, output_padding=output_padding,
                              dilation=dilation, output_size=output_size)


# ---------------------------------------------------------------- torch
def _torch():
    import torch

    return torch


def _t(a):
    return _torch().from_numpy(np.ascontiguousarray(_4d(a), dtype=np.float64))


def _torch_conv2d_g(X, W, g: ConvGeometry):
    """``F.conv2d`` of torch tensors for a resolved geometry (asymmetric/SAME via an explicit ``F.pad``)."""
    F = _torch().nn.functional
    t, b, l, r = g.pads
    return F.conv2d(F.pad(X, (l, r, t, b)), W, stride=g.stride, dilation=g.dilation)


def _torch_conv_transpose2d_g(X, W, g: ConvGeometry):
    """``F.conv_transpose2d`` for a resolved geometry; asymmetric padding is cropped by hand."""
    F = _torch().nn.functional
    t, b, l, r = g.pads
    y = F.conv_transpose2d(X, W, stride=g.stride, output_padding=g.output_padding, dilation=g.dilation)
    return y[:, :, t : y.shape[2] - b, l : y.shape[3] - r]


def torch_conv2d(x, w, stride=1, padding=0, dilation=1):
    """``F.conv2d`` with any convviz padding (asymmetric/SAME via an explicit ``F.pad``).

    Examples
    --------
    >>> torch_conv2d(np.ones((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), stride=2, padding="same")[0, 0]
    array([[9., 9., 6.],
           [9., 9., 6.],
           [6., 6., 4.]])
    """
    X, W = _t(x), _t(w)
    return _torch_conv2d_g(X, W, _conv(X.shape[2:], W.shape[2:], stride, padding, dilation)).numpy()


def torch_conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None):
    """``F.conv_transpose2d``; asymmetric padding is cropped by hand (torch has no such argument).

    Examples
    --------
    >>> torch_conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), stride=2, padding=(1, 0, 1, 0)).shape
    (1, 1, 4, 4)
    """
    X, W = _t(x), _t(w)
    g = _transpose(X.shape[2:], W.shape[2:], stride, padding, output_padding, dilation, output_size)
    return _torch_conv_transpose2d_g(X, W, g).numpy()


def torch_backprop_input(input_shape, w, grad_out, stride=1, padding=0, dilation=1):
    """Input gradient by autograd: d sum(conv2d(x, w) * grad_out) / dx.

    Examples
    --------
    >>> torch_backprop_input((1, 1, 3, 3), np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    torch = _torch()
    x = torch.zeros(_shape4(input_shape), dtype=torch.float64, requires_grad=True)
    W = _t(w)
    g = _conv(x.shape[2:], W.shape[2:], stride, padding, dilation)
    (_torch_conv2d_g(x, W, g) * _t(grad_out)).sum().backward()
    return x.grad.numpy()


def torch_backprop_filter(x, filter_shape, grad_out, stride=1, padding=0, dilation=1):
    """Kernel gradient with ``torch.nn.grad.conv2d_weight`` (explicit pad first).

    Examples
    --------
    >>> torch_backprop_filter(np.arange(9.).reshape(1, 1, 3, 3), (1, 1, 2, 2), np.ones((1, 1, 2, 2)))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    torch = _torch()
    X = _t(x)
    fshape = _shape4(filter_shape)
    g = _conv(X.shape[2:], fshape[2:], stride, padding, dilation)
    t, b, l, r = g.pads
    X = torch.nn.functional.pad(X, (l, r, t, b))
    return torch.nn.grad.conv2d_weight(X, fshape, _t(grad_out), stride=g.stride, dilation=g.dilation).numpy()


def torch_jacobian(op: str, x, w, wrt="input", **params):
    """``torch.autograd.functional.jacobian(vectorize=True)`` of a torch conv op (4-D layouts).

    Examples
    --------
    >>> torch_jacobian("conv2d", np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))).shape
    (1, 1, 2, 2, 1, 1, 3, 3)
    """
    torch = _torch()
    X, W = _t(x), _t(w)
    if op == "conv2d":
        g = _conv(X.shape[2:], W.shape[2:], params.get("stride", 1), params.get("padding", 0), params.get("dilation", 1))
        fn = _torch_conv2d_g
    else:
        g = _transpose(X.shape[2:], W.shape[2:], params.get("stride", 1), params.get("padding", 0),
                       params.get("output_padding", 0), params.get("dilation", 1), params.get("output_size"))
        fn = _torch_conv_transpose2d_g
    if wrt == "input":
        J = torch.autograd.functional.jacobian(lambda a: fn(a, W, g), X, vectorize=True)
    else:
        J = torch.autograd.functional.jacobian(lambda k: fn(X, k, g), W, vectorize=True)
    return J.numpy()


# ---------------------------------------------------------------- TensorFlow
def _tf():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _tf_padding(g: ConvGeometry):
    """TF padding argument: "SAME"/"VALID" pass through (TF applies its own rule), numbers become explicit."""
    if g.mode != "explicit":
        return g.mode.upper()
    t, b, l, r = g.pads
    return [[0, 0], [t, b], [l, r], [0, 0]]


def _tf_conv2d_g(X, Wt, g: ConvGeometry):
    """``tf.nn.conv2d`` of NHWC/HWIO tensors for a resolved geometry."""
    tf = _tf()
    return tf.nn.conv2d(X, Wt, strides=[1, *g.stride, 1], padding=_tf_padding(g), dilations=[1, *g.dilation, 1])


def _tf_conv_transpose2d_g(X, Wt, g: ConvGeometry):
    """``tf.nn.conv2d_transpose`` of NHWC/HWOI tensors with ``output_shape`` from the geometry.

    TF expresses padding here as that of the forward convolution whose input
    gradient this is, so it receives the same (top, bottom, left, right).
    """
    tf = _tf()
    t, b, l, r = g.pads
    pad = g.mode.upper() if g.mode != "explicit" else [[0, 0], [t, b], [l, r], [0, 0]]
    return tf.nn.conv2d_transpose(
        X, Wt, [X.shape[0], *g.in_hw, Wt.shape[2]], strides=[1, *g.stride, 1], padding=pad,
        dilations=[1, *g.dilation, 1],
    )


def tf_conv2d(x, w, stride=1, padding=0, dilation=1):
    """``tf.nn.conv2d`` in NHWC/HWIO, returned as NCHW.

    Examples
    --------
    >>> tf_conv2d(np.ones((1, 1, 6, 6)), np.ones((1, 1, 3, 3)), stride=2, padding="same")[0, 0]
    array([[9., 9., 6.],
           [9., 9., 6.],
           [6., 6., 4.]])
    """
    X, W = _4d(x).astype(np.float64), _4d(w).astype(np.float64)
    g = _conv(X.shape[2:], W.shape[2:], stride, padding, dilation)
    return nhwc_to_nchw(_tf_conv2d_g(nchw_to_nhwc(X), oihw_to_hwio(W), g))


def tf_backprop_input(input_shape, w, grad_out, stride=1, padding=0, dilation=1):
    """``tf.compat.v1.nn.conv2d_backprop_input`` (the TF1 name the articles use), NCHW in and out.

    Examples
    --------
    >>> tf_backprop_input((1, 1, 3, 3), np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    tf = _tf()
    n, c, h, wd = _shape4(input_shape)
    W, G = _4d(w).astype(np.float64), _4d(grad_out).astype(np.float64)
    g = _conv((h, wd), W.shape[2:], stride, padding, dilation)
    dx = tf.compat.v1.nn.conv2d_backprop_input(
        [n, h, wd, c], oihw_to_hwio(W), nchw_to_nhwc(G), strides=[1, *g.stride, 1], padding=_tf_padding(g),
        dilations=[1, *g.dilation, 1],
    )
    return nhwc_to_nchw(dx)


def tf_backprop_filter(x, filter_shape, grad_out, stride=1, padding=0, dilation=1):
    """``tf.compat.v1.nn.conv2d_backprop_filter``, NCHW/OIHW in and out.

    Examples
    --------
    >>> tf_backprop_filter(np.arange(9.).reshape(1, 1, 3, 3), (1, 1, 2, 2), np.ones((1, 1, 2, 2)))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    tf = _tf()
    X, G = _4d(x).astype(np.float64), _4d(grad_out).astype(np.float64)
    o, c, kh, kw = _shape4(filter_shape)
    g = _conv(X.shape[2:], (kh, kw), stride, padding, dilation)
    dw = tf.compat.v1.nn.conv2d_backprop_filter(
        nchw_to_nhwc(X), [kh, kw, c, o], nchw_to_nhwc(G), strides=[1, *g.stride, 1], padding=_tf_padding(g),
        dilations=[1, *g.dilation, 1],
    )
    return hwio_to_oihw(dw)


def tf_conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None):
    """``tf.nn.conv2d_transpose`` with an explicit ``output_shape``, NCHW/(C_in, C_out, kh, kw) in, NCHW out.

    Examples
    --------
    >>> tf_conv_transpose2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), stride=2, padding="same", output_size=5).shape
    (1, 1, 5, 5)
    """
    X, W = _4d(x).astype(np.float64), _4d(w).astype(np.float64)
    g = _transpose(X.shape[2:], W.shape[2:], stride, padding, output_padding, dilation, output_size)
    return nhwc_to_nchw(_tf_conv_transpose2d_g(nchw_to_nhwc(X), iohw_to_hwoi(W), g))


def tf_jacobian(op: str, x, w, wrt="input", **params):
    """``tf.GradientTape.jacobian`` of the TF op, converted back to NCHW/OIHW axes.

    Examples
    --------
    >>> tf_jacobian("conv2d", np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), wrt="kernel").shape
    (1, 1, 2, 2, 1, 1, 2, 2)
    """
    tf = _tf()
    X4, W4 = _4d(x).astype(np.float64), _4d(w).astype(np.float64)
    X = tf.constant(nchw_to_nhwc(X4))
    if op == "conv2d":
        g = _conv(X4.shape[2:], W4.shape[2:], params.get("stride", 1), params.get("padding", 0), params.get("dilation", 1))
        Wt, run = tf.constant(oihw_to_hwio(W4)), _tf_conv2d_g
    else:
        g = _transpose(X4.shape[2:], W4.shape[2:], params.get("stride", 1), params.get("padding", 0),
                       params.get("output_padding", 0), params.get("dilation", 1), params.get("output_size"))
        Wt, run = tf.constant(iohw_to_hwoi(W4)), _tf_conv_transpose2d_g
    target = X if wrt == "input" else Wt
    # TF 2.21's vectorized jacobian (pfor) drops the explicit paddings of Conv2DBackpropFilter
    # ("explicit_paddings attribute must contain 8 values"): numeric padding wrt the kernel
    # takes the slower per-row loop instead.
    pfor = wrt == "input" or g.mode != "explicit"
    with tf.GradientTape(persistent=not pfor) as tape:
        tape.watch(target)
        y = run(X, Wt, g) if wrt == "input" else run(X, target, g)
    J = tape.jacobian(y, target, experimental_use_pfor=pfor).numpy()  # NHWC + (NHWC or HWIO/HWOI)
    J = np.transpose(J, (0, 3, 1, 2, 4, 5, 6, 7))  # out -> NCHW
    if wrt == "input":
        return np.transpose(J, (0, 1, 2, 3, 4, 7, 5, 6))
    return np.transpose(J, (0, 1, 2, 3, 7, 6, 4, 5))  # HWIO -> OIHW, and HWOI -> IOHW alike

"""The gradient table of chapter *Gradients of convolution and transposed
convolution*: every gradient of ``conv2d`` and ``conv_transpose2d`` (input,
kernel, bias) written as *another* convolution or transposed convolution.

These functions compute the gradients from the table's formulas, with the ops
of :mod:`convviz.ops` -- not with the backprop kernels -- so that the chapter,
the formula appendix and the tests can check each formula against TensorFlow
and PyTorch.  For a forward geometry with stride ``s``, padding
``(t, b, l, r)`` and dilation ``d`` and an upstream gradient ``delta``:

=================  ==========================================================
conv2d dL/dx       ``conv_transpose2d(delta, w, s, (t, b, l, r), a, d)`` with
                   ``a = (H + t + b - d(k-1) - 1) mod s`` (the rows no window
                   reaches)
conv2d dL/dw       ``conv2d(pad(x)^T, delta^T, stride=d, dilation=s)``, first
                   ``kh x kw`` entries: stride and dilation swap roles
conv2d dL/db       ``delta`` summed over batch, rows and columns
transposed dL/dx   ``conv2d(delta, w, s, (t, b, l, r), d)``: the forward
                   convolution whose adjoint it is (first ``H x W`` entries)
transposed dL/dw   ``conv2d(pad(delta)^T, x^T, stride=d, dilation=s)``, first
                   ``kh x kw`` entries, in/out channels swapped
transposed dL/db   ``delta`` summed over batch, rows and columns
=================  ==========================================================

(``^T`` swaps the batch and channel axes.)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .geometry import conv_geometry, transpose_geometry
from .ops import conv2d, conv_transpose2d
from .validate import as_4d, operands

__all__ = ["Gradients", "conv2d_gradients", "conv_transpose2d_gradients"]


class Gradients(NamedTuple):
    """dL/dx, dL/dw and dL/db of one layer (NCHW, the weight's layout, (C_out,))."""

    dx: np.ndarray
    dw: np.ndarray
    db: np.ndarray


def _swap(a: np.ndarray) -> np.ndarray:
    return a.transpose(1, 0, 2, 3)


def _pad(a: np.ndarray, pads) -> np.ndarray:
    t, b, l, r = pads
    return np.pad(a, ((0, 0), (0, 0), (t, b), (l, r)))


def _kernel_gradient(padded, upstream, g) -> np.ndarray:
    """``conv2d(padded^T, upstream^T, stride=d, dilation=s)^T``, first ``kh x kw`` entries: the kernel
    gradient of a convolution whose (padded) input is ``padded`` and whose output gradient is ``upstream``."""
    kh, kw = g.kernel_hw
    return _swap(conv2d(_swap(padded), _swap(upstream), stride=g.dilation, dilation=g.stride)[:, :, :kh, :kw])


def _delta(delta, expected_shape):
    D, _ = as_4d(delta, "delta", "NCHW")
    if D.shape != tuple(expected_shape):
        raise ValueError(f"delta must have the output's shape {tuple(expected_shape)}, got {D.shape}")
    return D


def conv2d_gradients(x, w, delta, stride=1, padding=0, dilation=1) -> Gradients:
    """Gradients of ``sum((conv2d(x, w, ...) + bias) * delta)`` by the table's formulas.

    Parameters
    ----------
    x, w : array_like, NCHW and OIHW (4-D)
    delta : array_like, the upstream gradient dL/dy, shaped like the output
    stride, padding, dilation : as for :func:`convviz.conv2d`

    Returns
    -------
    Gradients
        ``dx`` shaped like ``x``, ``dw`` like ``w``, ``db`` of shape (O,).

    Examples
    --------
    The case chapter 4 corrects: a 5x5 input, 3x3 kernel, stride 2.  The kernel
    gradient is the input correlated with delta *dilated by the stride*:

    >>> x, w = np.arange(25.).reshape(1, 1, 5, 5), np.ones((1, 1, 3, 3))
    >>> g = conv2d_gradients(x, w, np.ones((1, 1, 2, 2)), stride=2)
    >>> g.dw[0, 0]
    array([[24., 28., 32.],
           [44., 48., 52.],
           [64., 68., 72.]])
    >>> float(g.db[0])
    4.0
    """
    X, W, _ = operands(x, w, transposed=False)
    g = conv_geometry(X.shape[2:], W.shape[2:], stride=stride, padding=padding, dilation=dilation)
    D = _delta(delta, (X.shape[0], W.shape[0]) + g.out_hw)
    # rows/columns of the padded input that no window reaches: the transposed conv must add them back
    rest = tuple((g.padded_hw[a] - g.span_hw[a]) % g.stride[a] for a in (0, 1))
    dx = conv_transpose2d(D, W, stride=g.stride, padding=g.pads, output_padding=rest, dilation=g.dilation)
    return Gradients(dx, _kernel_gradient(_pad(X, g.pads), D, g), D.sum(axis=(0, 2, 3)))


def conv_transpose2d_gradients(x, w, delta, stride=1, padding=0, output_padding=0, dilation=1,
                               output_size=None) -> Gradients:
    """Gradients of ``sum((conv_transpose2d(x, w, ...) + bias) * delta)`` by the table's formulas.

    Parameters
    ----------
    x : array_like, (N, C_in, H, W)
    w : array_like, (C_in, C_out, kh, kw)
    delta : array_like, the upstream gradient dL/dy, shaped like the output
    stride, padding, output_padding, dilation, output_size : as for :func:`convviz.conv_transpose2d`

    Returns
    -------
    Gradients
        ``dx`` shaped like ``x``, ``dw`` like ``w``, ``db`` of shape (C_out,).

    Examples
    --------
    The input gradient is a plain convolution of delta with the same kernel:

    >>> x, w = np.ones((1, 1, 2, 2)), np.arange(9.).reshape(1, 1, 3, 3)
    >>> g = conv_transpose2d_gradients(x, w, np.ones((1, 1, 5, 5)), stride=2)
    >>> g.dx[0, 0]
    array([[36., 36.],
           [36., 36.]])
    """
    X, W, _ = operands(x, w, transposed=True)
    g = transpose_geometry(X.shape[2:], W.shape[2:], stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, output_size=output_size)
    D = _delta(delta, (X.shape[0], W.shape[1]) + g.in_hw)
    # first H x W entries: with output_padding >= stride (PyTorch allows it when d > s) the rows
    # beyond the last reachable one would convolve to more than H rows
    dx = conv2d(D, W, stride=g.stride, padding=g.pads, dilation=g.dilation)[:, :, : X.shape[2], : X.shape[3]]
    # the forward convolution of this layer reads pad(delta) and writes x: its kernel gradient, whose
    # (O, C) = (C_in, C_out) layout is the transposed layer's weight layout
    return Gradients(dx, _kernel_gradient(_pad(D, g.pads), X, g), D.sum(axis=(0, 2, 3)))

"""The gradient table (chapter 4, formula appendix): each row's formula, computed by
convviz.gradients from *other* convolutions, equals autograd in PyTorch and TensorFlow
(with a bias, batch, channels, every padding form, stride and dilation)."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import torch
import torch.nn.functional as F
from hypothesis import given, settings

import convviz as cv
from convviz.gradients import conv2d_gradients, conv_transpose2d_gradients

from references import T, hwio, hwoi, nchw, nhwc
from strategies import conv_cases, examples, transpose_cases


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def torch_conv_grads(case, x, w, bias, delta):
    X, Wt, B = (T(a).requires_grad_() for a in (x, w, bias))
    t, b, l, r = case.pads
    y = F.conv2d(F.pad(X, (l, r, t, b)), Wt, B, stride=case.s_hw, dilation=case.d_hw)
    y.backward(T(delta))
    return X.grad.numpy(), Wt.grad.numpy(), B.grad.numpy()


def tf_dilated(kernel, d_hw):
    """A dilated kernel built from the HWIO/HWOI kernel by TF ops (differentiable): TF 2.21's CPU
    kernels refuse dilation > 1 in the backprop ops, so the dilation is written into the kernel."""
    kh, kw = kernel.shape[:2]
    eh = np.eye((kh - 1) * d_hw[0] + 1)[:, :: d_hw[0]]  # (keff_h, kh) selection
    ew = np.eye((kw - 1) * d_hw[1] + 1)[:, :: d_hw[1]]
    return tf.einsum("am,mnio,bn->abio", eh, kernel, ew)


def tf_conv_grads(case, x, w, bias, delta):
    X, Wv, B = tf.Variable(nhwc(x)), tf.Variable(hwio(w)), tf.Variable(bias)
    t, b, l, r = case.pads
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(X, tf_dilated(Wv, case.d_hw), strides=[1, *case.s_hw, 1],
                         padding=[[0, 0], [t, b], [l, r], [0, 0]])
        y = tf.nn.bias_add(y, B)
    dx, dw, db = tape.gradient(y, [X, Wv, B], output_gradients=nhwc(delta))
    return nchw(dx), np.transpose(dw.numpy(), (3, 2, 0, 1)), db.numpy()


@settings(max_examples=examples(120))
@given(conv_cases())
def test_conv2d_gradient_table_rows(case):
    x, w, delta = case.arrays()
    bias = np.random.default_rng(case.seed + 1).standard_normal(case.o)
    got = conv2d_gradients(x, w, delta, **case.params)
    for ref in (torch_conv_grads(case, x, w, bias, delta), tf_conv_grads(case, x, w, bias, delta)):
        for mine, theirs in zip(got, ref):
            close(mine, theirs)
    # and the library's own backprop kernels agree with the table
    close(got.dx, cv.conv2d_backprop_input(x.shape, w, delta, **case.params))
    close(got.dw, cv.conv2d_backprop_filter(x, w.shape, delta, **case.params))


def torch_transpose_grads(case, x, w, bias, delta):
    X, Wt, B = (T(a).requires_grad_() for a in (x, w, bias))
    t, b, l, r = case.pads
    y = F.conv_transpose2d(X, Wt, B, stride=case.s_hw, output_padding=case.op_hw, dilation=case.d_hw)
    y = y[:, :, t : y.shape[2] - b, l : y.shape[3] - r]  # crop the forward conv's padding
    y.backward(T(delta))
    return X.grad.numpy(), Wt.grad.numpy(), B.grad.numpy()


def tf_transpose_grads(case, x, w, bias, delta):
    X, Wv, B = tf.Variable(nhwc(x)), tf.Variable(hwoi(w)), tf.Variable(bias)
    t, b, l, r = case.pads
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d_transpose(X, tf_dilated(Wv, case.d_hw), [case.n, *case.out_hw, case.co],
                                   strides=[1, *case.s_hw, 1], padding=[[0, 0], [t, b], [l, r], [0, 0]])
        y = tf.nn.bias_add(y, B)
    dx, dw, db = tape.gradient(y, [X, Wv, B], output_gradients=nhwc(delta))
    return nchw(dx), np.transpose(dw.numpy(), (3, 2, 0, 1)), db.numpy()


@settings(max_examples=examples(120))
@given(transpose_cases())
def test_conv_transpose2d_gradient_table_rows(case):
    x, w = case.arrays()
    rng = np.random.default_rng(case.seed + 2)
    delta, bias = rng.standard_normal(case.y_shape), rng.standard_normal(case.co)
    got = conv_transpose2d_gradients(x, w, delta, **case.params)
    refs = [torch_transpose_grads(case, x, w, bias, delta)]
    if all(a < s for a, s in zip(case.op_hw, case.s_hw)):
        refs.append(tf_transpose_grads(case, x, w, bias, delta))
    else:  # s <= output_padding < d: PyTorch's bound allows it, but no TF output_shape maps back
        with pytest.raises(tf.errors.InvalidArgumentError, match="Size of out_backprop doesn't match"):
            tf_transpose_grads(case, x, w, bias, delta)
    for ref in refs:
        for mine, theirs in zip(got, ref):
            close(mine, theirs)


def test_the_naive_kernel_gradient_is_wrong_with_stride():
    """Chapter 4's correction: with stride 2, a 5x5 input and a 3x3 kernel, x correlated with
    delta is 4x4 (not even the kernel's shape); x correlated with delta dilated by 2 is right."""
    x = np.arange(25.0).reshape(5, 5)
    w = np.ones((3, 3))
    delta = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert cv.conv2d(x, delta).shape == (4, 4)
    dilated = cv.conv2d(x, delta, dilation=2)
    X, Wt = T(x)[None, None].requires_grad_(), T(w)[None, None].requires_grad_()
    F.conv2d(X, Wt, stride=2).backward(T(delta)[None, None])
    close(dilated, Wt.grad[0, 0].numpy())
    close(dilated, cv.conv2d(x, cv.zero_insert(delta, 2)))

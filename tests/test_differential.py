"""Differential property tests: every convviz op against PyTorch AND TensorFlow.

The framework references are computed here with ``torch.nn.functional`` /
``tf.nn`` calls written out in full (layouts and paddings handled in this file,
with paddings taken from tests/strategies.py's own arithmetic), so they do not
rely on convviz.  ``convviz.frameworks`` -- the runners the book's notebooks
use -- is tested against these direct references at the end of this file.

TensorFlow exclusions (TF 2.21, CPU).  The CPU kernels of Conv2DBackpropInput
and Conv2DBackpropFilter raise ``InvalidArgumentError: Current CPU
implementations do not yet support dilation rates larger than 1``.  So with
dilation > 1 along either axis TF cannot run
  * ``tf.nn.conv2d_transpose`` (it *is* Conv2DBackpropInput),
  * ``tf.compat.v1.nn.conv2d_backprop_input`` / ``conv2d_backprop_filter``,
  * ``tape.jacobian`` / ``tape.gradient`` of a dilated ``tf.nn.conv2d``
    (its gradient ops are those two kernels).
Those cases are compared with PyTorch only, and each test asserts that TF
really raises that error, so the exclusion itself is tested.  The forward
``tf.nn.conv2d`` (and ``tf.image.extract_patches``) accept every combination,
including stride > 1 together with dilation > 1, so they are never excluded.

A second TF limitation: ``tape.jacobian``'s default vectorization (pfor) loses
the explicit paddings of Conv2DBackpropFilter, so a Jacobian wrt the kernel with
numeric padding fails ("explicit_paddings attribute must contain 8 values");
the test asserts that failure and computes those Jacobians without pfor.
"""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import convviz as cv
from convviz import frameworks as fw

from references import T, hwio, hwoi, nchw, nhwc, ref_conv_out
from strategies import conv_cases, examples, transpose_cases

TF_DILATION_ERROR = "dilation rates larger than 1"

# torch's padding='same' (used on purpose, to check its SAME split against convviz's) warns that
# even kernels need an internal padded copy; harmless.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


def close(actual, expected):
    """float64 everywhere, so the tolerance can be tight."""
    expected = np.asarray(expected)
    assert np.shape(actual) == expected.shape, (np.shape(actual), expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------
# layouts (TF: NHWC activations, HWIO conv filters, HWOI transposed-conv filters)
# ----------------------------------------------------------------------------
def tf_padding(case):
    """TF's own SAME/VALID strings where the case uses them, explicit paddings otherwise."""
    if case.form in ("same", "valid"):
        return case.form.upper()
    t, b, l, r = case.pads
    return [[0, 0], [t, b], [l, r], [0, 0]]


def tf_strides(case):
    return [1, *case.s_hw, 1]


def tf_dilations(case):
    return [1, *case.d_hw, 1]


# ----------------------------------------------------------------------------
# direct references
# ----------------------------------------------------------------------------
def torch_conv2d_t(X, W, case):
    """F.conv2d, using torch's own padding modes wherever torch has them."""
    kw = dict(stride=case.s_hw, dilation=case.d_hw)
    if case.form == "valid":
        return F.conv2d(X, W, padding="valid", **kw)
    if case.form == "same" and case.s_hw == (1, 1):  # torch's 'same' exists for stride 1 only
        return F.conv2d(X, W, padding="same", **kw)
    t, b, l, r = case.pads
    if case.symmetric:
        return F.conv2d(X, W, padding=(t, l), **kw)
    return F.conv2d(F.pad(X, (l, r, t, b)), W, **kw)


def tf_conv2d_t(X, W, case):
    return tf.nn.conv2d(X, W, strides=tf_strides(case), padding=tf_padding(case), dilations=tf_dilations(case))


def torch_conv_transpose2d_t(X, W, case):
    kw = dict(stride=case.s_hw, dilation=case.d_hw, output_padding=case.op_hw)
    t, b, l, r = case.pads
    if case.symmetric:
        return F.conv_transpose2d(X, W, padding=(t, l), **kw)
    y = F.conv_transpose2d(X, W, **kw)  # full output; crop the forward conv's (t, b, l, r) by hand
    return y[:, :, t : y.shape[2] - b, l : y.shape[3] - r]


def tf_conv_transpose2d_t(X, W, case):
    return tf.nn.conv2d_transpose(
        X, W, [case.n, *case.out_hw, case.co], strides=tf_strides(case), padding=tf_padding(case),
        dilations=tf_dilations(case),
    )


def assert_tf_rejects_dilation(fn):
    """TF's CPU backprop kernels reject dilation > 1; make sure that is still so."""
    with pytest.raises(tf.errors.InvalidArgumentError, match=TF_DILATION_ERROR):
        fn()


# ----------------------------------------------------------------------------
# conv2d
# ----------------------------------------------------------------------------
@settings(max_examples=examples(600), deadline=None, derandomize=False)
@given(conv_cases())
def test_conv2d_vs_torch_and_tf(case):
    x, w, _ = case.arrays()
    got = cv.conv2d(x, w, **case.params)
    close(got, torch_conv2d_t(T(x), T(w), case).numpy())
    close(got, nchw(tf_conv2d_t(nhwc(x), hwio(w), case)))
    assert got.shape == case.y_shape
    if case.n == case.c == case.o == 1:  # 2-D in, 2-D out
        close(cv.conv2d(x[0, 0], w[0, 0], **case.params), got[0, 0])


# ----------------------------------------------------------------------------
# conv_transpose2d and its direct (zero insertion + flipped kernel) form
# ----------------------------------------------------------------------------
@settings(max_examples=examples(600), deadline=None, derandomize=False)
@given(transpose_cases())
def test_conv_transpose2d_vs_torch_and_tf(case):
    x, w = case.arrays()
    got = cv.conv_transpose2d(x, w, **case.params)
    ref = torch_conv_transpose2d_t(T(x), T(w), case).numpy()
    close(got, ref)
    close(cv.conv_transpose2d_direct(x, w, **case.params), ref)
    assert got.shape == case.y_shape
    if case.dilated:
        assert_tf_rejects_dilation(lambda: tf_conv_transpose2d_t(nhwc(x), hwoi(w), case))
    else:
        close(got, nchw(tf_conv_transpose2d_t(nhwc(x), hwoi(w), case)))
    if case.n == case.ci == case.co == 1:
        close(cv.conv_transpose2d(x[0, 0], w[0, 0], **case.params), ref[0, 0])
        close(cv.conv_transpose2d_direct(x[0, 0], w[0, 0], **case.params), ref[0, 0])


# ----------------------------------------------------------------------------
# gradients of conv2d
# ----------------------------------------------------------------------------
@settings(max_examples=examples(400), deadline=None, derandomize=False)
@given(conv_cases())
def test_conv2d_backprop_input_vs_torch_and_tf(case):
    _, w, g = case.arrays()
    got = cv.conv2d_backprop_input(case.x_shape, w, g, **case.params)
    X = torch.zeros(case.x_shape, dtype=torch.float64, requires_grad=True)
    (ref,) = torch.autograd.grad(torch_conv2d_t(X, T(w), case), X, grad_outputs=T(g))
    close(got, ref.numpy())
    if case.form != "same" and case.symmetric:  # torch's functional form of the same op
        ref2 = torch.nn.grad.conv2d_input(
            case.x_shape, T(w), T(g), stride=case.s_hw, padding=case.pads[::2], dilation=case.d_hw
        )
        close(got, ref2.numpy())

    def run_tf():
        n, c, h, wd = case.x_shape
        return tf.compat.v1.nn.conv2d_backprop_input(
            [n, h, wd, c], hwio(w), nhwc(g), strides=tf_strides(case), padding=tf_padding(case),
            dilations=tf_dilations(case),
        )

    if case.dilated:
        assert_tf_rejects_dilation(run_tf)
    else:
        close(got, nchw(run_tf()))
    if case.n == case.c == case.o == 1:
        close(cv.conv2d_backprop_input(case.in_hw, w[0, 0], g[0, 0], **case.params), got[0, 0])


@settings(max_examples=examples(400), deadline=None, derandomize=False)
@given(conv_cases())
def test_conv2d_backprop_filter_vs_torch_and_tf(case):
    x, w, g = case.arrays()
    got = cv.conv2d_backprop_filter(x, case.w_shape, g, **case.params)
    W = T(w).requires_grad_(True)
    (ref,) = torch.autograd.grad(torch_conv2d_t(T(x), W, case), W, grad_outputs=T(g))
    close(got, ref.numpy())
    if case.form != "same" and case.symmetric:
        ref2 = torch.nn.grad.conv2d_weight(
            T(x), case.w_shape, T(g), stride=case.s_hw, padding=case.pads[::2], dilation=case.d_hw
        )
        close(got, ref2.numpy())

    def run_tf():
        kh, kw = case.k_hw
        return tf.compat.v1.nn.conv2d_backprop_filter(
            nhwc(x), [kh, kw, case.c, case.o], nhwc(g), strides=tf_strides(case), padding=tf_padding(case),
            dilations=tf_dilations(case),
        )

    if case.dilated:
        assert_tf_rejects_dilation(run_tf)
    else:
        close(got, np.transpose(run_tf().numpy(), (3, 2, 0, 1)))  # HWIO -> OIHW
    if case.n == case.c == case.o == 1:
        close(cv.conv2d_backprop_filter(x[0, 0], case.k_hw, g[0, 0], **case.params), got[0, 0])


# ----------------------------------------------------------------------------
# im2col / col2im
# ----------------------------------------------------------------------------
def torch_unfold_t(X, case):
    kw = dict(kernel_size=case.k_hw, dilation=case.d_hw, stride=case.s_hw)
    t, b, l, r = case.pads
    if case.symmetric:
        return F.unfold(X, padding=(t, l), **kw)
    return F.unfold(F.pad(X, (l, r, t, b)), **kw)


def tf_extract_patches_t(X, case):
    """tf.image.extract_patches -> (N, C*kh*kw, L) in F.unfold's row order.

    TF orders each patch (kh, kw, C) and only knows SAME/VALID, so explicit
    paddings are applied with tf.pad first."""
    if case.form in ("same", "valid"):
        pad = case.form.upper()
    else:
        t, b, l, r = case.pads
        X, pad = tf.pad(X, [[0, 0], [t, b], [l, r], [0, 0]]), "VALID"
    p = tf.image.extract_patches(
        X, sizes=[1, *case.k_hw, 1], strides=tf_strides(case), rates=tf_dilations(case), padding=pad
    )
    return p


def patches_to_cols(p, case):
    n, ho, wo, _ = p.shape
    kh, kw = case.k_hw
    p = np.asarray(p).reshape(n, ho, wo, kh, kw, case.c)
    return p.transpose(0, 5, 3, 4, 1, 2).reshape(n, case.c * kh * kw, ho * wo)


def cols_to_patches(cols, case):
    kh, kw = case.k_hw
    ho, wo = case.out_hw
    c = cols.reshape(case.n, case.c, kh, kw, ho, wo).transpose(0, 4, 5, 2, 3, 1)
    return c.reshape(case.n, ho, wo, kh * kw * case.c)


@settings(max_examples=examples(300), deadline=None, derandomize=False)
@given(conv_cases())
def test_im2col_vs_unfold_and_extract_patches(case):
    x, _, _ = case.arrays()
    p = dict(stride=case.stride, padding=case.padding, dilation=case.dilation)
    got = cv.im2col(x, case.k_hw, **p)
    close(got, torch_unfold_t(T(x), case).numpy())
    close(got, patches_to_cols(tf_extract_patches_t(nhwc(x), case), case))
    if case.n == case.c == 1:
        close(cv.im2col(x[0, 0], case.k_hw, **p), got[0])
    # conv2d is im2col followed by a GEMM with the flattened kernel
    _, w, _ = case.arrays()
    y = np.einsum("ok,nkl->nol", w.reshape(case.o, -1), got).reshape(case.y_shape)
    close(cv.conv2d(x, w, **case.params), y)


@settings(max_examples=examples(250), deadline=None, derandomize=False)
@given(conv_cases())
def test_col2im_vs_fold_and_extract_patches_adjoint(case):
    kh, kw = case.k_hw
    L = case.out_hw[0] * case.out_hw[1]
    cols = np.random.default_rng(case.seed).standard_normal((case.n, case.c * kh * kw, L))
    p = dict(stride=case.stride, padding=case.padding, dilation=case.dilation)
    got = cv.col2im(cols, case.in_hw, case.k_hw, **p)
    t, b, l, r = case.pads
    fold = dict(kernel_size=case.k_hw, dilation=case.d_hw, stride=case.s_hw)
    if case.symmetric:
        ref = F.fold(T(cols), output_size=case.in_hw, padding=(t, l), **fold).numpy()
    else:  # fold onto the padded canvas, then crop the padding away
        H, W = case.in_hw
        ref = F.fold(T(cols), output_size=(H + t + b, W + l + r), **fold).numpy()[:, :, t : t + H, l : l + W]
    close(got, ref)
    # TF has no fold; col2im is the adjoint of im2col, i.e. the gradient of extract_patches
    X = tf.zeros((case.n, *case.in_hw, case.c), dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(X)
        loss = tf.reduce_sum(tf_extract_patches_t(X, case) * cols_to_patches(cols, case))
    close(got, nchw(tape.gradient(loss, X)))
    if case.n == 1:  # 2-D cols (C*kh*kw, L) -> (C, H, W), like F.fold on unbatched input
        close(cv.col2im(cols[0], case.in_hw, case.k_hw, **p), got[0])


# ----------------------------------------------------------------------------
# C of Y = CX, and the transposed-convolution matrix
# ----------------------------------------------------------------------------
def basis(shape):
    """Every one-hot tensor of ``shape`` (N, C, H, W), as one batch of prod(shape) * N images:
    images j*N .. j*N + N-1 hold the j-th one-hot tensor."""
    m = int(np.prod(shape))
    return np.eye(m).reshape((m * shape[0],) + tuple(shape[1:]))


@settings(max_examples=examples(150), deadline=None, derandomize=False)
@given(conv_cases(max_hw=6))
def test_conv_matrix_vs_conv_of_basis(case):
    x, w, _ = case.arrays()
    C = cv.conv_matrix(case.x_shape, w, **case.params)
    m = int(np.prod(case.x_shape))
    # column j of C is conv2d of the j-th one-hot input
    E = basis(case.x_shape)
    ref_t = torch_conv2d_t(T(E), T(w), case).numpy().reshape(m, -1).T
    ref_tf = nchw(tf_conv2d_t(nhwc(E), hwio(w), case)).reshape(m, -1).T
    close(C, ref_t)
    close(C, ref_tf)
    close(C @ x.ravel(), torch_conv2d_t(T(x), T(w), case).numpy().ravel())
    # ... and C is the flattened Jacobian wrt the input
    J = torch.autograd.functional.jacobian(lambda a: torch_conv2d_t(a, T(w), case), T(x), vectorize=True)
    close(C, J.numpy().reshape(C.shape))


@settings(max_examples=examples(150), deadline=None, derandomize=False)
@given(transpose_cases(max_hw=4))
def test_transpose_matrix_vs_basis_and_conv_matrix_transpose(case):
    x, w = case.arrays()
    Tm = cv.transpose_matrix(case.x_shape, w, **case.params)
    m = int(np.prod(case.x_shape))
    E = basis(case.x_shape)
    close(Tm, torch_conv_transpose2d_t(T(E), T(w), case).numpy().reshape(m, -1).T)
    close(Tm @ x.ravel(), torch_conv_transpose2d_t(T(x), T(w), case).numpy().ravel())
    # Dumoulin & Visin: the transposed convolution is C^T of the forward convolution
    # (w read as OIHW, O = C_in) whose input has the transposed output's size --
    # when that convolution maps the output size back to the input size.
    fwd = [
        ref_conv_out(case.out_hw[a], case.k_hw[a], case.s_hw[a], case.pads[2 * a], case.pads[2 * a + 1], case.d_hw[a])
        for a in (0, 1)
    ]
    if tuple(fwd) == case.in_hw:
        p = dict(stride=case.stride, padding=case.padding, dilation=case.dilation)
        close(Tm, cv.conv_matrix(case.y_shape, w, **p).T)


# ----------------------------------------------------------------------------
# Jacobians
# ----------------------------------------------------------------------------
@settings(max_examples=examples(150), deadline=None, derandomize=False)
@given(conv_cases(max_hw=5, max_c=2, max_o=2))
def test_conv2d_jacobians_vs_torch(case):
    x, w, _ = case.arrays()
    X, W = T(x), T(w)
    ji = torch.autograd.functional.jacobian(lambda a: torch_conv2d_t(a, W, case), X, vectorize=True)
    jk = torch.autograd.functional.jacobian(lambda k: torch_conv2d_t(X, k, case), W, vectorize=True)
    close(cv.jacobian("conv2d", x, w, wrt="input", **case.params), ji.numpy())
    close(cv.jacobian(cv.conv2d, x, w, wrt="kernel", **case.params), jk.numpy())
    if case.n == case.c == case.o == 1:  # 2-D: (Ho, Wo, H, W) and (Ho, Wo, kh, kw)
        close(cv.jacobian("conv2d", x[0, 0], w[0, 0], wrt="input", **case.params), ji.numpy()[0, 0, :, :, 0, 0])
        close(cv.jacobian("conv2d", x[0, 0], w[0, 0], wrt="kernel", **case.params), jk.numpy()[0, 0, :, :, 0, 0])


@settings(max_examples=examples(150), deadline=None, derandomize=False)
@given(transpose_cases(max_hw=4, max_c=2, max_o=2))
def test_conv_transpose2d_jacobians_vs_torch(case):
    x, w = case.arrays()
    X, W = T(x), T(w)
    ji = torch.autograd.functional.jacobian(lambda a: torch_conv_transpose2d_t(a, W, case), X, vectorize=True)
    jk = torch.autograd.functional.jacobian(lambda k: torch_conv_transpose2d_t(X, k, case), W, vectorize=True)
    close(cv.jacobian("conv_transpose2d", x, w, wrt="input", **case.params), ji.numpy())
    close(cv.jacobian(cv.conv_transpose2d, x, w, wrt="kernel", **case.params), jk.numpy())
    if case.n == case.ci == case.co == 1:
        close(cv.jacobian("conv_transpose2d", x[0, 0], w[0, 0], **case.params), ji.numpy()[0, 0, :, :, 0, 0])


def tf_jacobian_t(fn, X, Wt, wrt, pfor=True):
    target = X if wrt == "input" else Wt
    with tf.GradientTape(persistent=not pfor) as tape:
        tape.watch(target)
        y = fn(X, Wt)
    J = tape.jacobian(y, target, experimental_use_pfor=pfor).numpy()
    J = np.transpose(J, (0, 3, 1, 2, 4, 5, 6, 7))  # output NHWC -> NCHW
    if wrt == "input":
        return np.transpose(J, (0, 1, 2, 3, 4, 7, 5, 6))  # NHWC -> NCHW
    return np.transpose(J, (0, 1, 2, 3, 7, 6, 4, 5))  # HWIO -> OIHW, HWOI -> IOHW


# TF 2.21 bug: tape.jacobian's default vectorization (pfor) rewrites Conv2DBackpropFilter without
# its explicit paddings and fails with "explicit_paddings attribute must contain 8 values, but got: 0".
# Every Jacobian wrt the kernel with numeric (EXPLICIT) padding needs that op, for conv2d and for
# conv2d_transpose alike; those cases are asserted to fail with pfor and computed without it.
TF_PFOR_EXPLICIT_ERROR = "explicit_paddings attribute must contain 8 values"


def check_tf_jacobian(got, fn, X, Wt, case, wrt):
    if case.dilated:  # the gradient of a dilated TF conv needs the CPU backprop kernels
        assert_tf_rejects_dilation(lambda: tf_jacobian_t(fn, X, Wt, wrt, pfor=False))
    elif wrt == "kernel" and case.form not in ("same", "valid"):
        with pytest.raises(tf.errors.InvalidArgumentError, match=TF_PFOR_EXPLICIT_ERROR):
            tf_jacobian_t(fn, X, Wt, wrt, pfor=True)
        close(got, tf_jacobian_t(fn, X, Wt, wrt, pfor=False))
    else:
        close(got, tf_jacobian_t(fn, X, Wt, wrt, pfor=True))


@settings(max_examples=examples(60), deadline=None, derandomize=False)
@given(conv_cases(max_hw=4, max_c=2, max_o=2, max_n=1), st.sampled_from(["input", "kernel"]))
def test_conv2d_jacobians_vs_tf(case, wrt):
    x, w, _ = case.arrays()
    got = cv.jacobian("conv2d", x, w, wrt=wrt, **case.params)
    check_tf_jacobian(got, lambda a, k: tf_conv2d_t(a, k, case), nhwc(x), hwio(w), case, wrt)


@settings(max_examples=examples(60), deadline=None, derandomize=False)
@given(transpose_cases(max_hw=3, max_c=2, max_o=2, max_n=1), st.sampled_from(["input", "kernel"]))
def test_conv_transpose2d_jacobians_vs_tf(case, wrt):
    x, w = case.arrays()
    got = cv.jacobian("conv_transpose2d", x, w, wrt=wrt, **case.params)
    check_tf_jacobian(got, lambda a, k: tf_conv_transpose2d_t(a, k, case), nhwc(x), hwoi(w), case, wrt)


# ----------------------------------------------------------------------------
# convviz.frameworks: the runners the notebooks use, against the direct calls
# ----------------------------------------------------------------------------
@settings(max_examples=examples(150), deadline=None, derandomize=False)
@given(conv_cases())
def test_framework_runners_conv2d_and_gradients(case):
    x, w, g = case.arrays()
    p = case.params
    X, W = T(x), T(w)
    close(fw.torch_conv2d(x, w, **p), torch_conv2d_t(X, W, case).numpy())
    close(fw.tf_conv2d(x, w, **p), nchw(tf_conv2d_t(nhwc(x), hwio(w), case)))
    Xg = X.clone().requires_grad_(True)
    Wg = W.clone().requires_grad_(True)
    dx, dw = torch.autograd.grad(torch_conv2d_t(Xg, Wg, case), (Xg, Wg), grad_outputs=T(g))
    close(fw.torch_backprop_input(case.x_shape, w, g, **p), dx.numpy())
    close(fw.torch_backprop_filter(x, case.w_shape, g, **p), dw.numpy())
    if case.dilated:
        assert_tf_rejects_dilation(lambda: fw.tf_backprop_input(case.x_shape, w, g, **p))
        assert_tf_rejects_dilation(lambda: fw.tf_backprop_filter(x, case.w_shape, g, **p))
    else:
        close(fw.tf_backprop_input(case.x_shape, w, g, **p), dx.numpy())
        close(fw.tf_backprop_filter(x, case.w_shape, g, **p), dw.numpy())


@settings(max_examples=examples(150), deadline=None, derandomize=False)
@given(transpose_cases())
def test_framework_runners_conv_transpose2d(case):
    x, w = case.arrays()
    ref = torch_conv_transpose2d_t(T(x), T(w), case).numpy()
    close(fw.torch_conv_transpose2d(x, w, **case.params), ref)
    if case.dilated:
        assert_tf_rejects_dilation(lambda: fw.tf_conv_transpose2d(x, w, **case.params))
    else:
        close(fw.tf_conv_transpose2d(x, w, **case.params), ref)


@settings(max_examples=examples(40), deadline=None, derandomize=False)
@given(
    st.one_of(
        conv_cases(max_hw=4, max_c=2, max_o=2, max_n=1).map(lambda c: ("conv2d", c)),
        transpose_cases(max_hw=3, max_c=2, max_o=2, max_n=1).map(lambda c: ("conv_transpose2d", c)),
    ),
    st.sampled_from(["input", "kernel"]),
)
def test_framework_runners_jacobian(op_case, wrt):
    op, case = op_case
    x, w = case.arrays()[:2]
    got = cv.jacobian(op, x, w, wrt=wrt, **case.params)
    close(fw.torch_jacobian(op, x, w, wrt, **case.params), got)
    if case.dilated:
        assert_tf_rejects_dilation(lambda: fw.tf_jacobian(op, x, w, wrt, **case.params))
    else:
        close(fw.tf_jacobian(op, x, w, wrt, **case.params), got)

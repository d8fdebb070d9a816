"""Every number the four source articles (shared/seeds/*.txt) state, reproduced.

Each value is computed inside the test by PyTorch AND TensorFlow, compared with
convviz, and compared with what the article says (``ARTICLE_*`` constants are
copied from the article text, never from convviz).  Where the article is wrong
the test asserts the framework value, asserts that it differs from the claim,
and says why in an ``erratum:`` comment; the book's errata appendix is written
from these.

Articles:
  000  深度学习中的卷积和反卷积(四)——卷积和反卷积的梯度
  001  理解Conv2d及其梯度的计算过程
  002  Tensorflow 卷积的梯度反向传播过程
  003  机器学习19:反卷积算法
"""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import torch
import torch.nn.functional as F

import convviz as cv

from references import tf_2d, tf_image, tf_kernel, torch4, torch_conv


# ----------------------------------------------------------------------------
# 2-D helpers, written out with the frameworks directly (single channel, batch 1)
# ----------------------------------------------------------------------------
tt, tfc, tfk, tf2d = torch4, tf_image, tf_kernel, tf_2d  # short names for the 2-D cases below


def tf_conv(x, k, stride=1, padding="VALID"):
    return tf2d(tf.nn.conv2d(tfc(x), tfk(k), strides=stride, padding=padding))


def torch_conv_t(x, k, stride=1, padding=0, output_padding=0):
    return F.conv_transpose2d(tt(x), tt(k), stride=stride, padding=padding, output_padding=output_padding)[0, 0].numpy()


def tf_conv_t(x, k, out_hw, stride=1, padding="VALID"):
    return tf2d(tf.nn.conv2d_transpose(tfc(x), tfk(k), [1, *out_hw, 1], strides=stride, padding=padding))


def torch_jacobian(fn, *args, argnum=0):
    args = [tt(a) for a in args]

    def f(t):
        a = list(args)
        a[argnum] = t
        return fn(*a)[0, 0]

    return torch.autograd.functional.jacobian(f, args[argnum])[:, :, 0, 0].numpy()


def tf_jacobian(fn, x, k, wrt="input"):
    X, K = tfc(x), tfk(k)
    target = X if wrt == "input" else K
    with tf.GradientTape() as tape:
        tape.watch(target)
        y = fn(X, K)
    J = tape.jacobian(y, target).numpy()  # (1, Ho, Wo, 1) + target shape
    return J[0, :, :, 0, 0, :, :, 0] if wrt == "input" else J[0, :, :, 0, :, :, 0, 0]


def same(*arrays):
    """All arrays equal exactly (every number in the articles is an integer)."""
    first = np.asarray(arrays[0], dtype=np.float64)
    for a in arrays[1:]:
        np.testing.assert_array_equal(np.asarray(a, dtype=np.float64), first)
    return first


# ============================================================================
# 000  卷积和反卷积的梯度: a = 1..9 (3x3), k = 1..4 (2x2), VALID, stride 1
# ============================================================================
A = np.arange(1.0, 10.0).reshape(3, 3)  # x in the article: np.arange(1, 10).reshape([1, 3, 3, 1])
K = np.arange(1.0, 5.0).reshape(2, 2)  # filters: np.arange(1, 5).reshape(2, 2, 1, 1) -> k11=1 k12=2 k21=3 k22=4


def test_000_gradient_sums_jacobian_does_not():
    """1.1: y = x * [3, 4] at x = 2: tape.gradient gives 7, tape.jacobian [3, 4].

    (The second snippet's comment also says "求gradient" although it calls jacobian.)"""
    ARTICLE_GRADIENT, ARTICLE_JACOBIAN = 7.0, [3.0, 4.0]
    x = tf.Variable(2.0, dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        y = x * tf.constant([3.0, 4.0], tf.float64)
    xt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (g_torch,) = torch.autograd.grad((xt * torch.tensor([3.0, 4.0], dtype=torch.float64)).sum(), xt)
    j_torch = torch.autograd.functional.jacobian(lambda v: v * torch.tensor([3.0, 4.0], dtype=torch.float64),
                                                 torch.tensor(2.0, dtype=torch.float64))
    same(ARTICLE_GRADIENT, tape.gradient(y, x), g_torch)
    same(ARTICLE_JACOBIAN, tape.jacobian(y, x), j_torch)


def test_000_conv_jacobian_wrt_input():
    """1.2: dy/da as printed, reshape([4, 3, 3]); dy11/da = k11 k12 0 / k21 k22 0 / 0 0 0."""
    ARTICLE = np.array([
        [[1, 2, 0], [3, 4, 0], [0, 0, 0]],
        [[0, 1, 2], [0, 3, 4], [0, 0, 0]],
        [[0, 0, 0], [1, 2, 0], [3, 4, 0]],
        [[0, 0, 0], [0, 1, 2], [0, 3, 4]],
    ])
    hand = cv.jacobian(cv.conv2d, A, K, wrt="input")
    assert hand.shape == (2, 2, 3, 3)
    same(
        ARTICLE,
        hand.reshape(4, 3, 3),
        tf_jacobian(lambda x, k: tf.nn.conv2d(x, k, 1, "VALID"), A, K).reshape(4, 3, 3),
        torch_jacobian(F.conv2d, A, K).reshape(4, 3, 3),
    )


def test_000_conv_jacobian_wrt_kernel():
    """1.3: dy/dk, reshape([4, 2, 2]); every y's gradient wrt k11 is 1, 2, 4, 5."""
    ARTICLE = np.array([[[1, 2], [4, 5]], [[2, 3], [5, 6]], [[4, 5], [7, 8]], [[5, 6], [8, 9]]])
    ARTICLE_DY_DK11 = [1, 2, 4, 5]
    hand = cv.jacobian(cv.conv2d, A, K, wrt="kernel")
    same(
        ARTICLE,
        hand.reshape(4, 2, 2),
        tf_jacobian(lambda x, k: tf.nn.conv2d(x, k, 1, "VALID"), A, K, wrt="kernel").reshape(4, 2, 2),
        torch_jacobian(F.conv2d, A, K, argnum=1).reshape(4, 2, 2),
    )
    same(ARTICLE_DY_DK11, hand[:, :, 0, 0].ravel())


def _tf_convT_4x4(x, k):
    return tf.nn.conv2d_transpose(x, k, [1, 4, 4, 1], strides=1, padding="VALID")


def test_000_transposed_conv_gradients_y32():
    """2.1 / 2.2: y32 = a21 k22 + a22 k21 + a31 k12 + a32 k11, so dy32/da22 = k21 = 3, dy32/dk21 = a22 = 5."""
    ARTICLE_DY32_DA22, ARTICLE_DY32_DK21 = 3.0, 5.0
    ji = cv.jacobian(cv.conv_transpose2d, A, K, wrt="input")  # (4, 4, 3, 3)
    jk = cv.jacobian(cv.conv_transpose2d, A, K, wrt="kernel")  # (4, 4, 2, 2)
    tf_ji = tf_jacobian(_tf_convT_4x4, A, K)
    tf_jk = tf_jacobian(_tf_convT_4x4, A, K, wrt="kernel")
    t_ji = torch_jacobian(F.conv_transpose2d, A, K)
    t_jk = torch_jacobian(F.conv_transpose2d, A, K, argnum=1)
    same(ji, tf_ji, t_ji)
    same(jk, tf_jk, t_jk)
    # 0-based: y32 -> [2, 1], a22 -> [1, 1], k21 -> [1, 0] (the article's own indexing)
    same(ARTICLE_DY32_DA22, ji[2, 1, 1, 1], K[1, 0])
    same(ARTICLE_DY32_DK21, jk[2, 1, 1, 0], A[1, 1])
    # the article's expansion of y32 term by term: exactly these four inputs, with these weights
    expected = np.zeros((3, 3))
    expected[1, 0], expected[1, 1], expected[2, 0], expected[2, 1] = K[1, 1], K[1, 0], K[0, 1], K[0, 0]
    same(expected, ji[2, 1])


def test_000_input_gradient_formulas_erratum_a13():
    """3.2: dL/da_ij as sums of delta * k.  Eight are right; dL/da13 is not.

    erratum: the article writes dL/da13 = d11*k12 + d12*k12.  a13 lies only in the window of
    y12, so dL/da13 = d12*k12 (the d11*k12 term is spurious; a13 has 1 term, like a11, a31, a33).
    """
    k = {(i, j): K[i - 1, j - 1] for i in (1, 2) for j in (1, 2)}
    d_arr = np.array([[1.0, 10.0], [100.0, 1000.0]])  # each term recognisable in the sums
    d = {(i, j): d_arr[i - 1, j - 1] for i in (1, 2) for j in (1, 2)}
    ARTICLE = {
        (1, 1): d[1, 1] * k[1, 1],
        (1, 2): d[1, 1] * k[1, 2] + d[1, 2] * k[1, 1],
        (1, 3): d[1, 1] * k[1, 2] + d[1, 2] * k[1, 2],  # as printed
        (2, 1): d[1, 1] * k[2, 1] + d[2, 1] * k[1, 1],
        (2, 2): d[1, 1] * k[2, 2] + d[1, 2] * k[2, 1] + d[2, 1] * k[1, 2] + d[2, 2] * k[1, 1],
        (2, 3): d[1, 2] * k[2, 2] + d[2, 2] * k[1, 2],
        (3, 1): d[2, 1] * k[2, 1],
        (3, 2): d[2, 1] * k[2, 2] + d[2, 2] * k[2, 1],
        (3, 3): d[2, 2] * k[2, 2],
    }
    hand = cv.conv2d_backprop_input((3, 3), K, d_arr)
    Xt = tt(A).requires_grad_(True)
    (g_torch,) = torch.autograd.grad(F.conv2d(Xt, tt(K)), Xt, grad_outputs=tt(d_arr))
    g_tf = tf.compat.v1.nn.conv2d_backprop_input([1, 3, 3, 1], tfk(K), tfc(d_arr), [1, 1, 1, 1], "VALID")
    truth = same(hand, g_torch[0, 0], tf2d(g_tf))
    for (i, j), value in ARTICLE.items():
        if (i, j) == (1, 3):
            assert value != truth[0, 2]  # 22 (article) vs 20
            same(truth[0, 2], d[1, 2] * k[1, 2])
        else:
            same(value, truth[i - 1, j - 1])
    # "a22 takes part in every output, so its expression has 4 terms; the others 1 or 2"
    J = cv.jacobian(cv.conv2d, A, K)
    same([[1, 2, 1], [2, 4, 2], [1, 2, 1]], (J != 0).sum(axis=(0, 1)))


def test_000_transposed_conv_equals_padded_conv_with_flipped_kernel():
    """3.3: conv2d_transpose(a, k) == VALID conv of the zero-padded a with k rotated 180 degrees."""
    ARTICLE = [[1, 4, 7, 6], [7, 23, 33, 24], [19, 53, 63, 42], [21, 52, 59, 36]]
    ARTICLE_PADDED = np.pad(A, 1)
    ARTICLE_FLIPPED = [[4, 3], [2, 1]]
    same(ARTICLE_FLIPPED, K[::-1, ::-1])
    same(
        ARTICLE,
        cv.conv_transpose2d(A, K),
        cv.conv_transpose2d_direct(A, K),
        tf2d(_tf_convT_4x4(tfc(A), tfk(K))),
        torch_conv_t(A, K),
        tf_conv(ARTICLE_PADDED, ARTICLE_FLIPPED),
        torch_conv(ARTICLE_PADDED, ARTICLE_FLIPPED),
        cv.conv2d(ARTICLE_PADDED, np.array(ARTICLE_FLIPPED, float)),
    )
    # TF's conv2d_transpose is conv2d_backprop_input with the input as out_backprop (the quoted source)
    same(ARTICLE, tf2d(tf.compat.v1.nn.conv2d_backprop_input([1, 4, 4, 1], tfk(K), tfc(A), [1, 1, 1, 1], "VALID")))


# ============================================================================
# 001  理解Conv2d及其梯度的计算过程: the 5x5 input / 3x3 kernel of Dumoulin & Visin
# ============================================================================
X5 = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], float)
K3_ROW = [0, 1, 2, 2, 2, 0, 0, 1, 2]  # the article's flattened kernel (row vector of the GEMM)
K3 = np.array(K3_ROW, float).reshape(3, 3)
ARTICLE_PATCHES = np.array([
    [3, 3, 2, 0, 0, 1, 3, 1, 2],
    [3, 2, 1, 0, 1, 3, 1, 2, 2],
    [2, 1, 0, 1, 3, 1, 2, 2, 3],
    [0, 0, 1, 3, 1, 2, 2, 0, 0],
    [0, 1, 3, 1, 2, 2, 0, 0, 2],
    [1, 3, 1, 2, 2, 3, 0, 2, 2],
    [3, 1, 2, 2, 0, 0, 2, 0, 0],
    [1, 2, 2, 0, 0, 2, 0, 0, 0],
    [2, 2, 3, 0, 2, 2, 0, 0, 1],
])
ARTICLE_Y = [12, 12, 17, 10, 17, 19, 9, 6, 14]


def test_001_multiplications_per_output_of_a_4x4x3_kernel():
    """"即443次乘法和加法操作": the text lost its multiplication signs; it is 4*4*3 = 48."""
    J = cv.jacobian(cv.conv2d, np.ones((1, 3, 6, 6)), np.ones((1, 3, 4, 4)))
    same(4 * 4 * 3, (J[0, 0, 1, 1] != 0).sum())  # one output reads 48 input values


def test_001_conv_as_gemm_of_patches():
    """im2col matrix and GEMM result 12 12 17 10 17 19 9 6 14.

    The article prints one patch per *row* and multiplies the kernel row vector from the
    left, k^T P; that equals P k only because this P happens to be symmetric
    (P[(a,b),(i,j)] = x[a+i, b+j]).  The product of a 1x9 row and a 9x9 matrix is a row,
    printed as a column.
    """
    cols = cv.im2col(X5, 3)  # (kh*kw, L): one patch per column, like F.unfold
    t_cols = F.unfold(tt(X5), 3)[0].numpy()
    tf_p = tf.image.extract_patches(tfc(X5), [1, 3, 3, 1], [1, 1, 1, 1], [1, 1, 1, 1], "VALID").numpy()
    same(ARTICLE_PATCHES.T, cols, t_cols, tf_p.reshape(9, 9).T)
    same(ARTICLE_PATCHES, ARTICLE_PATCHES.T)  # symmetric: rows or columns, same numbers
    same(ARTICLE_Y, np.array(K3_ROW) @ ARTICLE_PATCHES, cols.T @ K3.ravel())
    same(
        np.reshape(ARTICLE_Y, (3, 3)),
        cv.conv2d(X5, K3),
        tf_conv(X5, K3),
        torch_conv(X5, K3),
        (ARTICLE_PATCHES @ K3.ravel()).reshape(3, 3),
    )


def test_001_kernel_gradient_sums_erratum_listed_patch():
    """Gradient of sum(conv) wrt the kernel: each entry is the sum of the pixels it touched.

    The article states two entries, filter_weights[0,0,0] = 15 and filter_weights[0,1,0] = 15.
    Both values are right; the full gradient is [[15,15,15],[9,11,16],[10,7,12]] (only the
    first row is all 15).
    erratum: the listed patch of entry [0, 1] is [3,1,1, 0,1,3, 1,2,2] (sums to 14); the
    pixels entry [0, 1] touches are x[0:3, 1:4] = [3,2,1, 0,1,3, 1,2,2], which sum to 15.
    """
    ARTICLE_00_PATCH, ARTICLE_00 = [3, 3, 2, 0, 0, 1, 3, 1, 2], 15
    ARTICLE_01_PATCH, ARTICLE_01 = [3, 1, 1, 0, 1, 3, 1, 2, 2], 15
    Kt = tt(K3).requires_grad_(True)
    (g_torch,) = torch.autograd.grad(F.conv2d(tt(X5), Kt).sum(), Kt)
    Kv = tf.Variable(tfk(K3))
    with tf.GradientTape() as tape:
        s = tf.reduce_sum(tf.nn.conv2d(tfc(X5), Kv, 1, "VALID"))
    grad = same(
        cv.conv2d_backprop_filter(X5, (3, 3), np.ones((3, 3))),
        g_torch[0, 0],
        tape.gradient(s, Kv).numpy()[:, :, 0, 0],
        tf.compat.v1.nn.conv2d_backprop_filter(tfc(X5), [3, 3, 1, 1], tfc(np.ones((3, 3))), [1, 1, 1, 1], "VALID")
        .numpy()[:, :, 0, 0],
    )
    same([[15, 15, 15], [9, 11, 16], [10, 7, 12]], grad)
    same(ARTICLE_00, grad[0, 0], sum(ARTICLE_00_PATCH))
    same(ARTICLE_00_PATCH, X5[0:3, 0:3].ravel())
    same(ARTICLE_01, grad[0, 1], X5[0:3, 1:4].sum())
    assert sum(ARTICLE_01_PATCH) == 14 != grad[0, 1]
    assert not np.array_equal(ARTICLE_01_PATCH, X5[0:3, 1:4].ravel())


def test_001_transposed_conv_kernel_gradient_all_116():
    """The deconvolution of the 3x3 output back to 5x5: d sum / d kernel is 116 everywhere (= sum of y)."""
    ARTICLE = 116
    y = np.reshape(ARTICLE_Y, (3, 3)).astype(float)
    Kt = tt(K3).requires_grad_(True)
    (g_torch,) = torch.autograd.grad(F.conv_transpose2d(tt(y), Kt).sum(), Kt)
    Kv = tf.Variable(tfk(K3))
    with tf.GradientTape() as tape:
        s = tf.reduce_sum(tf.nn.conv2d_transpose(tfc(y), Kv, [1, 5, 5, 1], 1, "VALID"))
    grad = same(
        cv.jacobian(cv.conv_transpose2d, y, K3, wrt="kernel").sum(axis=(0, 1)),
        g_torch[0, 0],
        tape.gradient(s, Kv).numpy()[:, :, 0, 0],
    )
    same(np.full((3, 3), ARTICLE), grad)
    assert y.sum() == ARTICLE


def test_001_outer_product_and_col2im_erratum_not_the_image():
    """The 9x9 outer product y k^T, then "patch reversal" (col2im, summing overlaps).

    erratum: the article says accumulating the patches "就得到原图了" (gives back the original
    image).  col2im of the outer product is the transposed convolution of y with k,
    [[0,12,36,41,34],[24,58,95,87,38],[20,75,132,105,62],[18,40,77,81,38],[0,9,24,26,28]],
    not X5: transposed convolution restores the shape, not the values.
    """
    ARTICLE_OUTER = np.array([
        [0, 12, 24, 24, 24, 0, 0, 12, 24],
        [0, 12, 24, 24, 24, 0, 0, 12, 24],
        [0, 17, 34, 34, 34, 0, 0, 17, 34],
        [0, 10, 20, 20, 20, 0, 0, 10, 20],
        [0, 17, 34, 34, 34, 0, 0, 17, 34],
        [0, 19, 38, 38, 38, 0, 0, 19, 38],
        [0, 9, 18, 18, 18, 0, 0, 9, 18],
        [0, 6, 12, 12, 12, 0, 0, 6, 12],
        [0, 14, 28, 28, 28, 0, 0, 14, 28],
    ])
    y = np.reshape(ARTICLE_Y, (3, 3)).astype(float)
    outer = np.outer(ARTICLE_Y, K3_ROW)  # row l = y_l * kernel
    same(ARTICLE_OUTER, outer, torch.outer(torch.tensor(ARTICLE_Y), torch.tensor(K3_ROW)),
         tf.tensordot(tf.constant(ARTICLE_Y), tf.constant(K3_ROW), axes=0))
    folded = same(
        cv.col2im(outer.T, (5, 5), 3)[0],
        F.fold(torch.tensor(outer.T, dtype=torch.float64)[None], (5, 5), 3)[0, 0],
        cv.conv_transpose2d(y, K3),
        tf_conv_t(y, K3, (5, 5)),
        torch_conv_t(y, K3),
    )
    same([[0, 12, 36, 41, 34], [24, 58, 95, 87, 38], [20, 75, 132, 105, 62], [18, 40, 77, 81, 38],
          [0, 9, 24, 26, 28]], folded)
    assert folded.shape == X5.shape and not np.array_equal(folded, X5)


# ============================================================================
# 002  Tensorflow 卷积的梯度反向传播过程: conv2d_backprop_input / _filter, VALID and SAME
# ============================================================================
K002 = np.array([[3.0, 4.0], [5.0, 6.0]])
X002 = np.arange(1.0, 10.0).reshape(3, 3)


def _torch_grads(x_shape, x, k, g, pad_lrtb):
    X = torch.tensor(np.zeros(x_shape) if x is None else x, dtype=torch.float64)[None, None].requires_grad_(True)
    Kt = tt(k).requires_grad_(True)
    y = F.conv2d(F.pad(X, pad_lrtb), Kt)
    dx, dk = torch.autograd.grad(y, (X, Kt), grad_outputs=tt(g))
    return dx[0, 0].numpy(), dk[0, 0].numpy()


def test_002_valid_backprop_input():
    ARTICLE = [[-3, -1, 4], [1, 1, -2], [10, 2, -12]]
    g = np.array([[-1.0, 1.0], [2.0, -2.0]])
    same(
        ARTICLE,
        cv.conv2d_backprop_input((3, 3), K002, g),
        tf2d(tf.compat.v1.nn.conv2d_backprop_input((1, 3, 3, 1), tfk(K002), tfc(g), [1, 1, 1, 1], "VALID")),
        _torch_grads((3, 3), None, K002, g, (0, 0, 0, 0))[0],
        torch.nn.grad.conv2d_input((1, 1, 3, 3), tt(K002), tt(g))[0, 0],
    )


def test_002_valid_backprop_filter():
    ARTICLE = [[-37, -47], [-67, -77]]
    g = np.array([[-1.0, -2.0], [-3.0, -4.0]])
    tf_dk = tf.compat.v1.nn.conv2d_backprop_filter(tfc(X002), (2, 2, 1, 1), tfc(g), [1, 1, 1, 1], "VALID")
    same(
        ARTICLE,
        cv.conv2d_backprop_filter(X002, (2, 2), g),
        tf_dk.numpy()[:, :, 0, 0],
        _torch_grads(None, X002, K002, g, (0, 0, 0, 0))[1],
        torch.nn.grad.conv2d_weight(tt(X002), (1, 1, 2, 2), tt(g))[0, 0],
    )


def test_002_same_backprop_input_erratum_prints_valid_result():
    """erratum: the SAME input gradient printed in the article is a verbatim copy of the VALID
    result [[-3,-1,4],[1,1,-2],[10,2,-12]] (its code even prints ``inputValue``, the VALID
    variable, instead of ``partial_x``).  With SAME (k=2, s=1: pad 0 before, 1 after) it is
    [[-3,-1,13],[1,1,1],[1,2,-13]].
    """
    ARTICLE = [[-3, -1, 4], [1, 1, -2], [10, 2, -12]]
    g = np.array([[-1.0, 1.0, 3.0], [2.0, -2.0, -4.0], [-3.0, 4.0, 1.0]])
    truth = same(
        cv.conv2d_backprop_input((3, 3), K002, g, padding="same"),
        tf2d(tf.compat.v1.nn.conv2d_backprop_input((1, 3, 3, 1), tfk(K002), tfc(g), [1, 1, 1, 1], "SAME")),
        _torch_grads((3, 3), None, K002, g, (0, 1, 0, 1))[0],  # TF SAME: the extra padding goes after
    )
    same([[-3, -1, 13], [1, 1, 1], [1, 2, -13]], truth)
    assert not np.array_equal(truth, ARTICLE)
    # the article's block is exactly the VALID gradient of the top-left 2x2 of this grad_out
    same(ARTICLE, cv.conv2d_backprop_input((3, 3), K002, np.array([[-1.0, 1.0], [2.0, -2.0]])))


def test_002_same_backprop_filter():
    ARTICLE = [[-1, -54], [-43, -77]]
    g = np.array([[-1.0, -2.0, 1.0], [-3.0, -4.0, 2.0], [-2.0, 1.0, 3.0]])
    tf_dk = tf.compat.v1.nn.conv2d_backprop_filter(tfc(X002), (2, 2, 1, 1), tfc(g), [1, 1, 1, 1], "SAME")
    same(
        ARTICLE,
        cv.conv2d_backprop_filter(X002, (2, 2), g, padding="same"),
        tf_dk.numpy()[:, :, 0, 0],
        _torch_grads(None, X002, K002, g, (0, 1, 0, 1))[1],
    )


# ============================================================================
# 003  机器学习19:反卷积算法
# ============================================================================
def test_003_conv_as_y_equals_cx_with_c_4x16():
    """4x4 input, 3x3 kernel, s=1, p=0: o = (4 + 0 - 3)/1 + 1 = 2, Y = CX with a sparse 4x16 C;
    X' = C^T Y restores X's shape, not its values."""
    rng = np.random.default_rng(3)
    x, k = rng.integers(-5, 6, (4, 4)).astype(float), rng.integers(-5, 6, (3, 3)).astype(float)
    assert cv.conv_output_size(4, 3, 1, 0) == (4 + 2 * 0 - 3) // 1 + 1 == 2
    C = cv.conv_matrix((4, 4), k)
    assert C.shape == (4, 16)
    # column j of C = the convolution of the j-th one-hot image, by each framework
    E = np.eye(16).reshape(16, 4, 4)
    C_torch = F.conv2d(torch.tensor(E)[:, None], tt(k)).reshape(16, 4).T.numpy()
    C_tf = tf.nn.conv2d(tf.constant(E[..., None]), tfk(k), 1, "VALID").numpy().reshape(16, 4).T
    same(C, C_torch, C_tf)
    for r, (oy, ox) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):  # each row: the kernel, shifted
        row = np.zeros((4, 4))
        row[oy : oy + 3, ox : ox + 3] = k
        same(row.ravel(), C[r])
    y = same(C @ x.ravel(), tf_conv(x, k).ravel(), torch_conv(x, k).ravel())
    back = same((C.T @ y).reshape(4, 4), cv.conv_transpose2d(y.reshape(2, 2), k), tf_conv_t(y.reshape(2, 2), k, (4, 4)),
                torch_conv_t(y.reshape(2, 2), k))
    assert back.shape == x.shape and not np.allclose(back, x)


def test_003_relationships_1_and_2_erratum_truncated_remainder():
    """i=3, k=3, s=2, p=1 -> o = 5 (Relationship 1) or o = 5 + 1 = 6 (Relationship 2).

    erratum: Relationship 2 is printed o = s(i-1) - 2p + k + (o+2p-k)% -- the modulus is
    missing; it is (o + 2p - k) % s, i.e. the output_padding a in [0, s-1].
    Both examples use the same i, k, s, p: that is correct (both 5 and 6 convolve back to
    3), but the size is then not a function of i, k, s, p -- the formula has o on both sides,
    and the extra row must be asked for (torch output_padding=1, TF output_shape=6).
    """
    i, k, s, p = 3, 3, 2, 1
    ARTICLE_O1, ARTICLE_O2 = 5, 5 + 1
    assert (ARTICLE_O1 + 2 * p - k) % s == 0 and ARTICLE_O1 == s * (i - 1) - 2 * p + k
    assert (ARTICLE_O2 + 2 * p - k) % s != 0 and ARTICLE_O2 == s * (i - 1) - 2 * p + k + (ARTICLE_O2 + 2 * p - k) % s
    assert cv.transpose_output_sizes(i, k, s, p) == [ARTICLE_O1, ARTICLE_O2]
    x, w = np.ones((3, 3)), np.ones((3, 3))
    for o, a in ((ARTICLE_O1, 0), (ARTICLE_O2, 1)):
        same(
            cv.conv_transpose2d(x, w, stride=s, padding=p, output_padding=a),
            cv.conv_transpose2d(x, w, stride=s, padding=p, output_size=o),
            torch_conv_t(x, w, s, p, a),
            tf2d(tf.nn.conv2d_transpose(tfc(x), tfk(w), [1, o, o, 1], s, [[0, 0], [p, p], [p, p], [0, 0]])),
        )
        assert cv.transpose_output_size(i, k, s, p, a) == o
        assert cv.conv_output_size(o, k, s, p) == i  # both convolve back to 3


X003 = np.arange(1.0, 10.0).reshape(3, 3)  # the article's input/kernel were images (lost): any values do
K003 = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [2.0, 0.0, 1.0]])  # asymmetric, so a missed flip shows


def test_003_tf_same_case1_output_5_erratum_strides():
    """Case 1: tf.nn.conv2d_transpose(..., output_shape=[1,5,5,1], strides=2, padding='SAME').

    erratum: the text says "步数 strides=5" while the code uses strides=2; with stride 5 TF
    rejects output 5 (SAME stride 5 maps only 11..15 to 3).
    The procedure: insert s-1 = 1 zero between pixels (3 -> 5), pad one ring (i=5, k=3, s=1,
    p=1), then a stride-1 convolution -> 5x5.  The kernel must be rotated by 180 degrees,
    which this step does not say (the article's opening paragraph does).
    """
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf_conv_t(X003, K003, (5, 5), stride=5, padding="SAME")
    assert cv.transpose_output_sizes(3, 3, 5, "same") == [11, 12, 13, 14, 15]
    ref = same(tf_conv_t(X003, K003, (5, 5), stride=2, padding="SAME"), torch_conv_t(X003, K003, 2, 1, 0),
               cv.conv_transpose2d(X003, K003, stride=2, padding="same", output_size=5))
    z = cv.zero_insert(X003, 2)
    assert z.shape == (5, 5) and np.count_nonzero(z[0]) == 3 and np.all(z[1] == 0)
    padded = np.pad(z, 1)  # one ring of zeros
    rot = K003[::-1, ::-1]
    same(ref, cv.conv2d(padded, rot), tf_conv(padded, rot), torch_conv(padded, rot))
    assert not np.allclose(ref, cv.conv2d(padded, K003))  # without the rotation: wrong


def test_003_tf_same_case2_output_6_extra_row_top_left():
    """Case 2: output_shape 6x6.  One ring of padding gives only 5x5; TF adds the extra row and
    column at the TOP and LEFT of the zero-inserted input (the article is right), because the
    forward SAME convolution of a 6x6 input pads its extra row bottom/right.

    Note: this is not torch's padding=1, output_padding=1 (also 6x6, Relationship 2 above),
    whose extra row is at the bottom/right of the zero-inserted input: the two 6x6 results
    are shifted by one pixel.
    """
    tf6 = same(tf_conv_t(X003, K003, (6, 6), stride=2, padding="SAME"),
               cv.conv_transpose2d(X003, K003, stride=2, padding="same", output_size=6))
    assert cv.same_padding(6, 3, 2) == (0, 1)  # forward SAME of a 6x6 input: extra padding after
    z, rot = cv.zero_insert(X003, 2), K003[::-1, ::-1]
    top_left = np.pad(z, ((2, 1), (2, 1)))
    bottom_right = np.pad(z, ((1, 2), (1, 2)))
    same(tf6, cv.conv2d(top_left, rot), tf_conv(top_left, rot), torch_conv(top_left, rot))
    assert not np.allclose(tf6, cv.conv2d(bottom_right, rot))
    # the same padding, as convviz's direct form reports it: d(k-1) - p = (2 - 0, 2 - 1)
    g = cv.transpose_geometry((3, 3), (3, 3), stride=2, padding="same", output_size=6)
    assert cv.direct_padding(g) == (2, 1, 2, 1)
    torch6 = same(torch_conv_t(X003, K003, 2, 1, 1), cv.conv2d(bottom_right, rot))
    assert not np.allclose(tf6, torch6)
    same(tf6, torch_conv_t(X003, K003, 2, 0, 0)[:6, :6])  # TF SAME 6 = full 7x7 output, last row/col cropped


def test_003_caffe_conv_backward_is_gemm_plus_col2im():
    """4x4 input, 3x3 kernel, stride 2: ((input + 2*pad - kernel)/stride + 1) = 2 needs pad 1.

    erratum (minor): the formula needs a floor -- (4 + 2 - 3)/2 + 1 = 2.5; the output is
    floor(1.5) + 1 = 2 (torch and TF agree).
    The backward pass: W^T (9x1) times the 2x2 output gradient (1x4) gives a 9x4 matrix; each
    column, reshaped 3x3, is added onto a 6x6 canvas at stride 2, and the middle 4x4 is cropped.
    """
    ARTICLE_FORMULA = (4 + 2 * 1 - 3) / 2 + 1
    assert ARTICLE_FORMULA == 2.5
    same(2, cv.conv_output_size(4, 3, 2, 1), torch_conv(np.ones((4, 4)), np.ones((3, 3)), 2, 1).shape[0],
         tf_conv(np.ones((4, 4)), np.ones((3, 3)), 2, [[0, 0], [1, 1], [1, 1], [0, 0]]).shape[0])
    assert cv.conv_output_size(4, 3, 2, 0) == 1  # without padding: 1x1
    cols = np.ones((9, 1)) @ np.ones((1, 4))  # W^T @ grad, 9x4
    canvas = cv.col2im(cols, (6, 6), 3, stride=2)[0]  # accumulate on the padded 6x6 canvas
    assert canvas.shape == (6, 6)
    same(canvas[1:5, 1:5], cv.col2im(cols, (4, 4), 3, stride=2, padding=1)[0],
         cv.conv2d_backprop_input((4, 4), np.ones((3, 3)), np.ones((2, 2)), stride=2, padding=1))


def test_003_mxnet_deconvolution_with_adj():
    """mx.nd.Deconvolution(ones 2x2, ones 3x3, kernel 3, pad 1, stride 2, adj 1) -> 4x4, equal to the
    backward of Convolution(kernel 3, stride 2, pad 1) on a 4x4 input with an all-ones gradient.

    MXNet's adj is torch's output_padding; in TF it is output_shape 4 with explicit padding 1.
    (TF's 'SAME' with output 4 pads (0, 1) instead and gives a different array.)
    """
    expected = [[1, 2, 1, 1], [2, 4, 2, 2], [1, 2, 1, 1], [1, 2, 1, 1]]  # the article's figure is lost
    ones2, ones3 = np.ones((2, 2)), np.ones((3, 3))
    Xt = torch.zeros(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    (conv_backward,) = torch.autograd.grad(F.conv2d(Xt, tt(ones3), stride=2, padding=1), Xt, grad_outputs=tt(ones2))
    deconv = same(
        expected,
        cv.conv_transpose2d(ones2, ones3, stride=2, padding=1, output_padding=1),
        cv.conv_transpose2d_direct(ones2, ones3, stride=2, padding=1, output_padding=1),
        torch_conv_t(ones2, ones3, 2, 1, 1),
        tf2d(tf.nn.conv2d_transpose(tfc(ones2), tfk(ones3), [1, 4, 4, 1], 2, [[0, 0], [1, 1], [1, 1], [0, 0]])),
        conv_backward[0, 0],
        tf2d(tf.compat.v1.nn.conv2d_backprop_input([1, 4, 4, 1], tfk(ones3), tfc(ones2), [1, 2, 2, 1],
                                                   [[0, 0], [1, 1], [1, 1], [0, 0]])),
        cv.conv2d_backprop_input((4, 4), ones3, ones2, stride=2, padding=1),
    )
    tf_same = same(tf_conv_t(ones2, ones3, (4, 4), 2, "SAME"), cv.conv_transpose2d(ones2, ones3, stride=2, padding="same"))
    assert not np.array_equal(tf_same, deconv)

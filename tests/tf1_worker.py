"""TensorFlow 1 graph mode for tests/test_tf1_graph.py, in a subprocess of the main .venv.

Usage: python tests/tf1_worker.py OUT.npz

Eager execution is disabled for this whole process (``tf.compat.v1.disable_eager_execution``),
so the test process keeps TF2's eager mode.  Each computation of articles 000 and 002 (and the
two ``conv2d_transpose`` calls of 003) is built as a graph and evaluated with
``tf.compat.v1.Session().run``, with the articles' inputs, dtype (float32) and NHWC/HWIO layouts.
Every result is printed the way the articles print it (``print(session.run(t))``), each block
after a line ``@@ <name>``, and saved to OUT.npz under the same name.
This is our own code making the articles' calls; none of their text is copied.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.disable_eager_execution()
v1 = tf.compat.v1
RESULTS = {}


def nhwc(rows):
    """A single-channel image as a (1, H, W, 1) float32 constant."""
    return tf.constant(np.asarray(rows, np.float32)[None, :, :, None])


def hwio(rows):
    """A single-channel 2-D kernel as a (kh, kw, 1, 1) float32 constant."""
    return tf.constant(np.asarray(rows, np.float32)[:, :, None, None])


def show(name, value):
    RESULTS[name] = np.asarray(value)
    print(f"@@ {name}")
    print(value)


def article_002():
    """Tensorflow 卷积的梯度反向传播过程: the four backprop calls, all in one graph and session, as in
    one interpreter session where the SAME section's ``print`` names the VALID section's tensor."""
    with tf.Graph().as_default():
        k = hwio([[3, 4], [5, 6]])
        x = nhwc(np.arange(1, 10).reshape(3, 3))
        valid_input = v1.nn.conv2d_backprop_input((1, 3, 3, 1), k, nhwc([[-1, 1], [2, -2]]), [1, 1, 1, 1], "VALID")
        valid_filter = v1.nn.conv2d_backprop_filter(x, (2, 2, 1, 1), nhwc([[-1, -2], [-3, -4]]), [1, 1, 1, 1], "VALID")
        same_input = v1.nn.conv2d_backprop_input((1, 3, 3, 1), k, nhwc([[-1, 1, 3], [2, -2, -4], [-3, 4, 1]]),
                                                 [1, 1, 1, 1], "SAME")
        same_filter = v1.nn.conv2d_backprop_filter(x, (2, 2, 1, 1), nhwc([[-1, -2, 1], [-3, -4, 2], [-2, 1, 3]]),
                                                   [1, 1, 1, 1], "SAME")
        with v1.Session() as session:
            show("002_valid_input", session.run(valid_input))
            show("002_valid_filter", session.run(valid_filter))
            # the article's SAME block defines the SAME tensor but prints the VALID one
            show("002_same_input_as_printed", session.run(valid_input))
            show("002_same_input", session.run(same_input))
            show("002_same_filter", session.run(same_filter))


def article_000():
    """深度学习中的卷积和反卷积(四): its GradientTape gradient / jacobian computations, in a graph."""
    with tf.Graph().as_default():
        # 1.1: gradient sums over y, jacobian does not
        v = v1.Variable(2.0)
        with tf.GradientTape(persistent=True) as tape:
            y = v * [3.0, 4.0]
        grad, jac = tape.gradient(y, v), tape.jacobian(y, v)
        # 1.2 / 1.3: Jacobians of a VALID conv2d of 1..9 (3x3) with 1..4 (2x2)
        x = tf.constant(np.arange(1, 10).reshape([1, 3, 3, 1]), dtype=tf.float32)
        f = tf.constant(np.arange(1, 5).reshape(2, 2, 1, 1), dtype=tf.float32)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([x, f])
            yc = tf.nn.conv2d(x, f, [1, 1, 1, 1], "VALID")
            yt = tf.nn.conv2d_transpose(x, f, [1, 4, 4, 1], strides=1, padding="VALID")
        conv_dx, conv_df = tape.jacobian(yc, x), tape.jacobian(yc, f)
        convt_dx, convt_df = tape.jacobian(yt, x), tape.jacobian(yt, f)
        # 3.3: the transposed conv equals a VALID conv of the zero-padded input with the flipped kernel
        padded = tf.constant(np.pad(np.arange(1, 10).reshape(3, 3), 1).reshape([1, 5, 5, 1]), dtype=tf.float32)
        flipped = tf.constant(np.array([[4, 3], [2, 1]]).reshape(2, 2, 1, 1), dtype=tf.float32)
        yc_flip = tf.nn.conv2d(padded, flipped, [1, 1, 1, 1], "VALID")
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            show("000_gradient", session.run(grad))
            show("000_jacobian", session.run(jac))
            show("000_conv_jacobian_input", session.run(conv_dx).reshape([4, 3, 3]))
            show("000_conv_jacobian_kernel", session.run(conv_df).reshape([4, 2, 2]))
            show("000_convT_dy32_da22", session.run(convt_dx).reshape([4, 4, 3, 3])[2][1][1][1])
            show("000_convT_dy32_dk21", session.run(convt_df).reshape([4, 4, 2, 2])[2][1][1][0])
            show("000_convT", session.run(yt).reshape([4, 4]))
            show("000_conv_flipped", session.run(yc_flip).reshape(4, 4))


def article_003():
    """机器学习19:反卷积算法, case 1 and 2: conv2d_transpose SAME, stride 2, outputs 5 and 6 (the
    article's input and kernel were images, lost; ours: 1..9 and an asymmetric kernel)."""
    with tf.Graph().as_default():
        x = nhwc(np.arange(1, 10).reshape(3, 3))
        k = hwio([[1, 2, 0], [0, -1, 3], [2, 0, 1]])
        case1 = tf.nn.conv2d_transpose(x, k, output_shape=[1, 5, 5, 1], strides=2, padding="SAME")
        case2 = tf.nn.conv2d_transpose(x, k, output_shape=[1, 6, 6, 1], strides=2, padding="SAME")
        stride5 = tf.nn.conv2d_transpose(x, k, output_shape=[1, 5, 5, 1], strides=5, padding="SAME")
        with v1.Session() as session:
            show("003_case1", session.run(case1)[0, :, :, 0])
            show("003_case2", session.run(case2)[0, :, :, 0])
            try:
                session.run(stride5)
                show("003_stride5_rejected", np.array(False))
            except tf.errors.InvalidArgumentError:
                show("003_stride5_rejected", np.array(True))


if __name__ == "__main__":
    assert not tf.executing_eagerly()
    article_002()
    article_000()
    article_003()
    np.savez(sys.argv[1], **RESULTS)

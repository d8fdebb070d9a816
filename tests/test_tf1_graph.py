"""The articles' TensorFlow computations in TF1 graph mode, against what the articles printed.

Articles 002 (Tensorflow 卷积的梯度反向传播过程) and 000 (深度学习中的卷积和反卷积(四)) print the
results of their TensorFlow programs.  ``tests/tf1_worker.py`` makes the same calls with the same
inputs in graph mode (``tf.compat.v1.disable_eager_execution``, ``tf.compat.v1.Session``), in a
subprocess of the main .venv so that this process stays eager, and prints each result as the
articles do.  Each test compares

  * the printed text with the article's printed text (``ARTICLE_*``, copied from the article;
    whitespace normalised, since the copy lost the indentation), and
  * the value with convviz (computed here, float64, NCHW/OIHW) -- the true result.

Article 002's SAME input gradient: its code builds ``partial_x`` (SAME) but prints ``inputValue``,
the tensor of its VALID section, which still exists in the same session; TF1 then prints the
VALID gradient, and that is the block the article shows.  Running ``partial_x`` instead gives the
SAME gradient, which is what convviz computes.
(Article 000's code is TF2 -- ``tf.GradientTape`` inside ``tf.function``, i.e. a graph; the worker
runs the same tape calls in a TF1 graph and Session.)
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convviz as cv

WORKER = Path(__file__).resolve().parent / "tf1_worker.py"

# ---- printed by the articles (text copied from shared/seeds, newlines collapsed) ----
ARTICLE_002_VALID_INPUT = "[[[[ -3.] [ -1.] [ 4.]] [[ 1.] [ 1.] [ -2.]] [[ 10.] [ 2.] [-12.]]]]"
ARTICLE_002_VALID_FILTER = "[[[[-37.]] [[-47.]]] [[[-67.]] [[-77.]]]]"
ARTICLE_002_SAME_INPUT = "[[[[ -3.] [ -1.] [ 4.]] [[ 1.] [ 1.] [ -2.]] [[ 10.] [ 2.] [-12.]]]]"
ARTICLE_002_SAME_FILTER = "[[[[ -1.]] [[-54.]]] [[[-43.]] [[-77.]]]]"
ARTICLE_000_GRADIENT, ARTICLE_000_JACOBIAN = "7", "[3. 4.]"  # in its code comments
ARTICLE_000_CONV_JAC_INPUT = ("[[[1. 2. 0.][3. 4. 0.][0. 0. 0.]][[0. 1. 2.][0. 3. 4.][0. 0. 0.]]"
                              "[[0. 0. 0.][1. 2. 0.][3. 4. 0.]][[0. 0. 0.][0. 1. 2.][0. 3. 4.]]]")
ARTICLE_000_CONV_JAC_KERNEL = "[[[1. 2.][4. 5.]][[2. 3.][5. 6.]][[4. 5.][7. 8.]][[5. 6.][8. 9.]]]"
ARTICLE_000_DY32_DA22, ARTICLE_000_DY32_DK21 = "3.0", "5.0"
ARTICLE_000_CONVT = "[[ 1.  4.  7.  6.][ 7. 23. 33. 24.][19. 53. 63. 42.][21. 52. 59. 36.]]"


def normalise(text):
    """Whitespace-insensitive form of a printed numpy array: single spaces, none next to brackets."""
    text = re.sub(r"\s+", " ", text.strip())
    return re.sub(r"\s*([\[\]])\s*", r"\1", text)


@pytest.fixture(scope="module")
def tf1(tmp_path_factory):
    """({name: printed text}, {name: value}) from one graph-mode subprocess."""
    out = tmp_path_factory.mktemp("tf1") / "tf1.npz"
    proc = subprocess.run([sys.executable, str(WORKER), str(out)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if proc.returncode != 0:
        pytest.fail(f"tests/tf1_worker.py failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    printed = dict(re.findall(r"^@@ (\S+)\n(.*?)(?=^@@ |\Z)", proc.stdout, flags=re.S | re.M))
    with np.load(out) as f:
        values = {k: f[k] for k in f.files}
    assert printed.keys() == values.keys()
    return printed, values


def test_this_process_stays_eager(tf1):
    import tensorflow as tf

    assert tf.executing_eagerly()


# ============================================================================
# 002  Tensorflow 卷积的梯度反向传播过程
# ============================================================================
K002 = np.array([[3.0, 4.0], [5.0, 6.0]])
X002 = np.arange(1.0, 10.0).reshape(3, 3)


def nhwc2d(v):
    return v[0, :, :, 0]


def test_002_valid_backprop_input_prints_the_article(tf1):
    printed, values = tf1
    assert normalise(printed["002_valid_input"]) == normalise(ARTICLE_002_VALID_INPUT)
    g = np.array([[-1.0, 1.0], [2.0, -2.0]])
    np.testing.assert_array_equal(nhwc2d(values["002_valid_input"]), cv.conv2d_backprop_input((3, 3), K002, g))


def test_002_valid_backprop_filter_prints_the_article(tf1):
    printed, values = tf1
    assert normalise(printed["002_valid_filter"]) == normalise(ARTICLE_002_VALID_FILTER)
    g = np.array([[-1.0, -2.0], [-3.0, -4.0]])
    np.testing.assert_array_equal(values["002_valid_filter"][:, :, 0, 0], cv.conv2d_backprop_filter(X002, (2, 2), g))


def test_002_same_backprop_input_article_printed_the_valid_tensor(tf1):
    """erratum 1: the SAME block printed by the article is what TF1 prints for its ``inputValue``
    (the VALID tensor); the SAME tensor prints a different array, equal to convviz's SAME gradient."""
    printed, values = tf1
    assert normalise(printed["002_same_input_as_printed"]) == normalise(ARTICLE_002_SAME_INPUT)
    np.testing.assert_array_equal(values["002_same_input_as_printed"], values["002_valid_input"])
    assert normalise(printed["002_same_input"]) != normalise(ARTICLE_002_SAME_INPUT)
    g = np.array([[-1.0, 1.0, 3.0], [2.0, -2.0, -4.0], [-3.0, 4.0, 1.0]])
    truth = cv.conv2d_backprop_input((3, 3), K002, g, padding="same")
    np.testing.assert_array_equal(nhwc2d(values["002_same_input"]), truth)
    assert not np.array_equal(truth, nhwc2d(values["002_same_input_as_printed"]))


def test_002_same_backprop_filter_prints_the_article(tf1):
    printed, values = tf1
    assert normalise(printed["002_same_filter"]) == normalise(ARTICLE_002_SAME_FILTER)
    g = np.array([[-1.0, -2.0, 1.0], [-3.0, -4.0, 2.0], [-2.0, 1.0, 3.0]])
    np.testing.assert_array_equal(values["002_same_filter"][:, :, 0, 0],
                                  cv.conv2d_backprop_filter(X002, (2, 2), g, padding="same"))


# ============================================================================
# 000  深度学习中的卷积和反卷积(四)——卷积和反卷积的梯度
# ============================================================================
X000 = np.arange(1.0, 10.0).reshape(3, 3)
K000 = np.arange(1.0, 5.0).reshape(2, 2)


def test_000_gradient_sums_jacobian_does_not(tf1):
    printed, values = tf1
    assert float(printed["000_gradient"]) == float(ARTICLE_000_GRADIENT) == values["000_gradient"]
    assert normalise(printed["000_jacobian"]) == normalise(ARTICLE_000_JACOBIAN)


def test_000_conv_jacobians_print_the_article(tf1):
    printed, values = tf1
    assert normalise(printed["000_conv_jacobian_input"]) == normalise(ARTICLE_000_CONV_JAC_INPUT)
    assert normalise(printed["000_conv_jacobian_kernel"]) == normalise(ARTICLE_000_CONV_JAC_KERNEL)
    np.testing.assert_array_equal(values["000_conv_jacobian_input"],
                                  cv.jacobian(cv.conv2d, X000, K000, wrt="input").reshape(4, 3, 3))
    np.testing.assert_array_equal(values["000_conv_jacobian_kernel"],
                                  cv.jacobian(cv.conv2d, X000, K000, wrt="kernel").reshape(4, 2, 2))


def test_000_transposed_conv_gradients_y32(tf1):
    printed, values = tf1
    assert printed["000_convT_dy32_da22"].strip() == ARTICLE_000_DY32_DA22
    assert printed["000_convT_dy32_dk21"].strip() == ARTICLE_000_DY32_DK21
    # y = conv_transpose(a, k): dy32/da22 = k21 = 3 and dy32/dk21 = a22 = 5 (1-based indices)
    J_a = cv.jacobian(cv.conv_transpose2d, X000, K000, wrt="input")  # (4, 4, 3, 3)
    J_k = cv.jacobian(cv.conv_transpose2d, X000, K000, wrt="kernel")  # (4, 4, 2, 2)
    assert J_a[2, 1, 1, 1] == values["000_convT_dy32_da22"] == K000[1, 0]
    assert J_k[2, 1, 1, 0] == values["000_convT_dy32_dk21"] == X000[1, 1]


def test_000_transposed_conv_equals_conv_of_padded_input_with_flipped_kernel(tf1):
    printed, values = tf1
    assert normalise(printed["000_convT"]) == normalise(ARTICLE_000_CONVT)
    assert normalise(printed["000_conv_flipped"]) == normalise(ARTICLE_000_CONVT)
    np.testing.assert_array_equal(values["000_convT"], cv.conv_transpose2d(X000, K000))
    np.testing.assert_array_equal(values["000_conv_flipped"], cv.conv2d(np.pad(X000, 1), K000[::-1, ::-1]))


# ============================================================================
# 003  机器学习19:反卷积算法 (its inputs were images, lost; the worker uses its own)
# ============================================================================
def test_003_conv2d_transpose_same_outputs_5_and_6_and_stride_5(tf1):
    _, values = tf1
    x = np.arange(1.0, 10.0).reshape(3, 3)
    k = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [2.0, 0.0, 1.0]])
    for o, name in ((5, "003_case1"), (6, "003_case2")):
        np.testing.assert_array_equal(values[name], cv.conv_transpose2d(x, k, stride=2, padding="same", output_size=o))
    assert values["003_stride5_rejected"]  # erratum 5: "strides=5" cannot give 5x5
    assert 5 not in cv.transpose_output_sizes(3, 3, 5, "same")

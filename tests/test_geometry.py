"""Output-size arithmetic (convviz.geometry) against the shapes PyTorch and TensorFlow actually
produce or accept, and against Dumoulin & Visin's relationships (chapter *Transposed convolution*).

Sizes are checked one axis at a time on (1, 1, n, 1) tensors: the other axis is trivial.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import convviz as cv

from references import keff, tf_same_pads
from strategies import examples

# torch's padding='same' warns that even kernels need an internal padded copy; harmless here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

sizes = st.integers(1, 12)
kernels = st.integers(1, 5)
strides = st.integers(1, 4)
dilations = st.integers(1, 3)
pads = st.integers(0, 4)


def torch_conv_len(i, k, s, before, after, d):
    x = torch.zeros(1, 1, i, 1, dtype=torch.float64)
    return F.conv2d(F.pad(x, (0, 0, before, after)), torch.zeros(1, 1, k, 1, dtype=torch.float64), stride=(s, 1),
                    dilation=(d, 1)).shape[2]


def tf_conv_len(i, k, s, padding, d):
    """``padding``: 'SAME', 'VALID' or (before, after)."""
    pad = padding if isinstance(padding, str) else [[0, 0], list(padding), [0, 0], [0, 0]]
    y = tf.nn.conv2d(tf.zeros((1, i, 1, 1), tf.float64), tf.zeros((k, 1, 1, 1), tf.float64), strides=[1, s, 1, 1],
                     padding=pad, dilations=[1, d, 1, 1])
    return y.shape[1]


def tf_transpose_accepts(i, o, k, s, padding) -> bool:
    """Does tf.nn.conv2d_transpose accept output_shape o for input size i?  (dilation 1: CPU only)"""
    pad = padding if isinstance(padding, str) else [[0, 0], list(padding), [0, 0], [0, 0]]
    try:
        tf.nn.conv2d_transpose(tf.zeros((1, i, 1, 1), tf.float64), tf.zeros((k, 1, 1, 1), tf.float64), [1, o, 1, 1],
                               strides=[1, s, 1, 1], padding=pad)
    except tf.errors.InvalidArgumentError:
        return False
    return True


def torch_transpose_accepts(i, o, k, s, p, d) -> bool:
    """Does nn.ConvTranspose2d(...)(x, output_size=o) accept o (symmetric padding p)?"""
    m = torch.nn.ConvTranspose2d(1, 1, (k, 1), stride=(s, 1), padding=(p, 0), dilation=(d, 1), bias=False)
    try:
        y = m(torch.zeros(1, 1, i, 1), output_size=[o, 1])
    except ValueError:
        return False
    return y.shape[2] == o


# ----------------------------------------------------------------------------
# forward convolution
# ----------------------------------------------------------------------------
@settings(max_examples=examples(300), deadline=None, derandomize=False)
@given(sizes, kernels, strides, pads, pads, dilations)
def test_conv_output_size_matches_torch_and_tf(i, k, s, before, after, d):
    if keff(k, d) > i + before + after:
        for p in [(before, after)] + ([before] if before == after else []):
            with pytest.raises(ValueError, match="kernel_size"):
                cv.conv_output_size(i, k, s, p, d)
        with pytest.raises(RuntimeError):  # torch refuses too: the kernel does not fit
            torch_conv_len(i, k, s, before, after, d)
        return
    o = cv.conv_output_size(i, k, s, (before, after), d)
    assert o == torch_conv_len(i, k, s, before, after, d) == tf_conv_len(i, k, s, (before, after), d)
    # Dumoulin & Visin relationship 15 (dilation), with possibly unequal padding
    assert o == (i + before + after - k - (k - 1) * (d - 1)) // s + 1
    if before == after:
        assert cv.conv_output_size(i, k, s, before, d) == o
    assert cv.describe_conv(i, k, s, (before, after), d).endswith(f"= {o}")


@settings(max_examples=examples(300), deadline=None, derandomize=False)
@given(sizes, kernels, strides, dilations)
def test_same_is_ceil_i_over_s_with_extra_padding_after(i, k, s, d):
    o = cv.conv_output_size(i, k, s, "same", d)
    assert o == math.ceil(i / s) == tf_conv_len(i, k, s, "SAME", d)
    before, after = cv.same_padding(i, k, s, d)
    assert (before, after) == tf_same_pads(i, k, s, d)
    assert after - before in (0, 1)
    assert (o - 1) * s + keff(k, d) <= i + before + after < o * s + keff(k, d)  # just enough padding
    # TF puts the odd element after (bottom/right): its SAME equals explicit (before, after)...
    x = tf.constant(np.random.default_rng(i * 1000 + k * 100 + s * 10 + d).standard_normal((1, i, 1, 1)))
    w = tf.constant(np.arange(1.0, k + 1).reshape(k, 1, 1, 1))
    conv = lambda p: tf.nn.conv2d(x, w, [1, s, 1, 1], p, dilations=[1, d, 1, 1]).numpy()  # noqa: E731
    same = conv("SAME")
    np.testing.assert_allclose(same, conv([[0, 0], [before, after], [0, 0], [0, 0]]), rtol=1e-12, atol=1e-12)
    if before != after and i > 1:  # ... and not (after, before)
        assert not np.allclose(same, conv([[0, 0], [after, before], [0, 0], [0, 0]]))
    # torch's own padding='same' (stride 1 only) splits the same way
    if s == 1:
        xt = torch.from_numpy(x.numpy()).permute(0, 3, 1, 2)
        wt = torch.from_numpy(w.numpy()).permute(3, 2, 0, 1)
        yt = F.conv2d(xt, wt, padding="same", dilation=(d, 1)).permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(yt, same, rtol=1e-12, atol=1e-12)


def test_keras_note_23_and_24_both_map_to_12_with_stride_2():
    """Why Conv2DTranspose needs a choice: SAME, stride 2 maps 23 and 24 to 12."""
    for i in (23, 24):
        assert cv.conv_output_size(i, 3, 2, "same") == 12 == tf_conv_len(i, 3, 2, "SAME", 1)
        assert keras.layers.Conv2D(1, 3, strides=2, padding="same")(np.zeros((1, i, i, 1), "float32")).shape[1] == 12
    assert cv.conv_output_size(22, 3, 2, "same") == 11 and cv.conv_output_size(25, 3, 2, "same") == 13
    assert cv.transpose_output_sizes(12, 3, 2, "same") == [23, 24]
    assert [o for o in range(20, 28) if tf_transpose_accepts(12, o, 3, 2, "SAME")] == [23, 24]
    # Keras' default for the transpose is i * s = 24, like convviz's default
    assert keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")(np.zeros((1, 12, 12, 1), "float32")).shape[1] == 24
    assert cv.transpose_output_size(12, 3, 2, "same") == 24
    assert cv.conv_transpose2d(np.ones((12, 12)), np.ones((3, 3)), stride=2, padding="same").shape == (24, 24)
    assert cv.conv_transpose2d(np.ones((12, 12)), np.ones((3, 3)), stride=2, padding="same", output_size=23).shape == (23, 23)


# ----------------------------------------------------------------------------
# transposed convolution
# ----------------------------------------------------------------------------
@settings(max_examples=examples(300), deadline=None, derandomize=False)
@given(st.integers(1, 8), kernels, strides, pads, pads, dilations, st.data())
def test_transpose_output_size_matches_torch(i, k, s, before, after, d, data):
    a = data.draw(st.integers(0, max(s, d) - 1), label="output_padding")
    full = (i - 1) * s + keff(k, d) + a
    if full - before - after < 1:
        with pytest.raises(ValueError, match="padding"):
            cv.transpose_output_size(i, k, s, (before, after), a, d)
        return
    o = cv.transpose_output_size(i, k, s, (before, after), a, d)
    y = F.conv_transpose2d(torch.zeros(1, 1, i, 1, dtype=torch.float64), torch.zeros(1, 1, k, 1, dtype=torch.float64),
                           stride=(s, 1), output_padding=(a, 0), dilation=(d, 1))
    assert o == y.shape[2] - before - after == full - before - after
    if before == after and o >= 1:
        y2 = F.conv_transpose2d(torch.zeros(1, 1, i, 1, dtype=torch.float64),
                                torch.zeros(1, 1, k, 1, dtype=torch.float64), stride=(s, 1), padding=(before, 0),
                                output_padding=(a, 0), dilation=(d, 1))
        assert o == y2.shape[2] == cv.transpose_output_size(i, k, s, before, a, d)
    assert cv.describe_transpose(i, k, s, (before, after), a, d).endswith(f"= {o}")
    assert cv.transpose_output_size(i, k, s, "same", 0, d) == i * s


@settings(max_examples=examples(300), deadline=None, derandomize=False)
@given(st.integers(1, 8), kernels, strides, pads, pads, dilations, st.sampled_from(["num", "valid", "same"]))
def test_transpose_output_sizes_is_every_o_the_conv_maps_to_i(i, k, s, before, after, d, form):
    """transpose_output_sizes(i) == {o : conv maps o -> i}, by brute force, PyTorch and TensorFlow."""
    padding = {"num": (before, after), "valid": "valid", "same": "same"}[form]
    if form == "valid":
        before = after = 0
    bound = (i + 1) * s + keff(k, d) + 2
    brute = []
    for o in range(1, bound):
        b_, a_ = tf_same_pads(o, k, s, d) if form == "same" else (before, after)
        if keff(k, d) <= o + b_ + a_ and (o + b_ + a_ - keff(k, d)) // s + 1 == i:
            brute.append(o)
    got = cv.transpose_output_sizes(i, k, s, padding, d)
    assert got == brute
    if form == "same":
        assert got == [o for o in range(1, bound) if math.ceil(o / s) == i]
    else:  # Dumoulin & Visin relationship 14: o = s(i-1) + a + d(k-1) + 1 - p, a in [0, s-1]
        assert got == [o for o in (s * (i - 1) + a + keff(k, d) - before - after for a in range(s)) if o >= 1]
    candidates = range(max(1, min(got, default=1) - 2), max(got, default=1) + 3)
    if form != "same" and before == after:
        assert [o for o in candidates if torch_transpose_accepts(i, o, k, s, before, d)] == got
    if d == 1:  # TF validates output_shape the same way (dilation > 1 is not supported on CPU)
        tf_pad = {"num": (before, after), "valid": "VALID", "same": "SAME"}[form]
        assert [o for o in candidates if tf_transpose_accepts(i, o, k, s, tf_pad)] == got


@pytest.mark.parametrize("d", [1, 2])
def test_dumoulin_visin_relationships(d):
    """Relationships 1-15 of Dumoulin & Visin, *A guide to convolution arithmetic* (dilation d)."""
    out, tout = cv.conv_output_size, cv.transpose_output_size
    for i in range(1, 12):
        for k in range(1, 6):
            ke = keff(k, d)
            for s in range(1, 4):
                for p in range(0, 4):
                    if ke <= i + 2 * p:
                        assert out(i, k, s, p, d) == (i + 2 * p - ke) // s + 1  # rel. 6 / 15
                if ke <= i:
                    assert out(i, k, s, 0, d) == (i - ke) // s + 1  # rel. 5
                    if s == 1:
                        assert out(i, k, 1, 0, d) == i - ke + 1  # rel. 1
                        assert tout(i - ke + 1, k, 1, 0, 0, d) == i  # rel. 8: transposed is i' + (k-1)
                    if (i - ke) % s == 0:  # rel. 12
                        assert tout(out(i, k, s, 0, d), k, s, 0, 0, d) == i
                for p in range(0, 4):
                    if ke > i + 2 * p:
                        continue
                    # rel. 13 (a = 0) / 14: o' = s(i'-1) + a + d(k-1) + 1 - 2p, a = (i + 2p - d(k-1) - 1) mod s
                    o, a = out(i, k, s, p, d), (i + 2 * p - ke) % s
                    assert tout(o, k, s, p, a, d) == s * (o - 1) + a + ke - 2 * p == i
                    assert i in cv.transpose_output_sizes(o, k, s, p, d)
            if k % 2 == 1 and d == 1:
                assert out(i, k, 1, k // 2) == i  # rel. 3: half padding
                assert tout(i, k, 1, k // 2) == i  # rel. 10
            if d == 1:
                assert out(i, k, 1, k - 1) == i + k - 1  # rel. 4: full padding
                if i - (k - 1) >= 1:
                    assert tout(i, k, 1, k - 1) == i - (k - 1)  # rel. 11
                for p in range(0, 4):
                    if k <= i + 2 * p:
                        assert out(i, k, 1, p) == i - k + 2 * p + 1  # rel. 2
                        assert tout(i - k + 2 * p + 1, k, 1, p) == i  # rel. 9


def test_the_two_articles_examples_5_and_6():
    """i'=3, k=3, s=2, p=1 transposes to 5 (a=0) or 6 (a=1): relationships 13 and 14."""
    assert cv.transpose_output_sizes(3, 3, 2, 1) == [5, 6]
    assert cv.transpose_output_size(3, 3, 2, 1, 0) == 5
    assert cv.transpose_output_size(3, 3, 2, 1, 1) == 6
    assert cv.conv_output_size(5, 3, 2, 1) == cv.conv_output_size(6, 3, 2, 1) == 3
    assert cv.transpose_output_sizes(3, 3, 2, "same") == [5, 6]
    assert [o for o in range(3, 9) if torch_transpose_accepts(3, o, 3, 2, 1, 1)] == [5, 6]
    assert [o for o in range(3, 9) if tf_transpose_accepts(3, o, 3, 2, "SAME")] == [5, 6]


# ----------------------------------------------------------------------------
# the plain-int fast paths of conv_geometry / transpose_geometry (and of validate.operands) give what
# the general paths give: the same object for every valid configuration, the same ValueError otherwise
# ----------------------------------------------------------------------------
def _outcome(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        return ("ValueError", str(exc))


def test_int_fast_paths_equal_the_general_path(monkeypatch):
    from convviz import geometry as geo

    rng = np.random.default_rng(11)
    configs = []
    for _ in range(3000):  # including invalid values: negative, zero, kernels larger than the input
        in_hw = tuple(int(v) for v in rng.integers(-1, 14, 2))
        k_hw = tuple(int(v) for v in rng.integers(0, 7, 2))
        s, p, d, op = (int(v) for v in (rng.integers(0, 5), rng.integers(-1, 5), rng.integers(0, 4), rng.integers(-1, 4)))
        configs.append((in_hw, k_hw, s, p, d, op))
    fast = [(_outcome(cv.conv_geometry, i, k, stride=s, padding=p, dilation=d),
             _outcome(cv.transpose_geometry, i, k, stride=s, padding=p, output_padding=op, dilation=d))
            for i, k, s, p, d, op in configs]
    monkeypatch.setattr(geo, "_conv_geometry_ints", lambda *a: None)
    monkeypatch.setattr(geo, "_transpose_geometry_ints", lambda *a: None)
    slow = [(_outcome(cv.conv_geometry, i, k, stride=s, padding=p, dilation=d),
             _outcome(cv.transpose_geometry, i, k, stride=s, padding=p, output_padding=op, dilation=d))
            for i, k, s, p, d, op in configs]
    for cfg, f, g in zip(configs, fast, slow):
        assert f == g, cfg
        for a, b in zip(f, g):  # the same field types too (ints, tuples, the mode string)
            if isinstance(a, cv.ConvGeometry):
                assert [type(v) for v in a] == [type(v) for v in b], cfg
    n_valid = sum(isinstance(f[0], cv.ConvGeometry) for f in fast)
    n_valid_t = sum(isinstance(f[1], cv.ConvGeometry) for f in fast)
    assert 300 < n_valid < 2700 and 300 < n_valid_t < 2700, (n_valid, n_valid_t)  # both outcomes represented


def test_operands_fast_path_equals_the_checks():
    from convviz import validate

    rng = np.random.default_rng(12)
    taken = 0
    for _ in range(2000):
        transposed = bool(rng.integers(2))
        shapes = rng.integers(1, 4, (2, 4))
        if rng.random() < 0.2:  # an empty axis somewhere
            shapes[rng.integers(2), rng.integers(4)] = 0
        x = rng.standard_normal(tuple(int(v) for v in shapes[0])).astype(rng.choice(["f2", "f4", "f8"]))
        w = rng.standard_normal(tuple(int(v) for v in shapes[1])).astype(rng.choice(["f4", "f8", "i4"]))
        got = _outcome(validate.operands, x, w, transposed)
        # the general path: the same checks on array subclasses that the fast path does not take
        want = _outcome(validate.operands, x.view(_Sub), w.view(_Sub), transposed)
        if isinstance(got[0], str):
            assert got == want
        else:
            assert isinstance(want[0], np.ndarray) and got[0].dtype == want[0].dtype and got[1].dtype == want[1].dtype
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
            assert got[2] is want[2] is False
            taken += got[0] is x and got[1] is w
    assert taken > 50  # the fast path ran

class _Sub(np.ndarray):
    """An ndarray subclass: validate.operands' fast path takes exact ndarrays only."""

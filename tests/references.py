"""Framework references shared by the tests, written with torch / TensorFlow directly.

Nothing here imports convviz: the arithmetic is TensorFlow's documented rule
and PyTorch's own ops, so a test that compares convviz with these compares two
independent implementations.
"""
from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# ----------------------------------------------------------------------------
# arithmetic (first principles)
# ----------------------------------------------------------------------------
def keff(k: int, d: int) -> int:
    """Extent of a dilated kernel, d (k - 1) + 1."""
    return d * (k - 1) + 1


def tf_same_pads(i: int, k: int, s: int, d: int = 1) -> Tuple[int, int]:
    """TensorFlow SAME (before, after): output ceil(i/s); total padding split, odd element after."""
    out = -(-i // s)
    total = max(0, (out - 1) * s + keff(k, d) - i)
    return total // 2, total - total // 2


def ref_conv_out(i: int, k: int, s: int, before: int, after: int, d: int) -> Optional[int]:
    """floor((i + p - d(k-1) - 1)/s) + 1, or None when the kernel does not fit."""
    padded = i + before + after
    if keff(k, d) > padded:
        return None
    return (padded - keff(k, d)) // s + 1


# ----------------------------------------------------------------------------
# PyTorch
# ----------------------------------------------------------------------------
def T(a):
    """A float64 torch tensor holding a copy of ``a`` (flipped views have negative strides)."""
    import torch

    return torch.from_numpy(np.array(a, dtype=np.float64))


def torch4(a):
    """``a`` as a float64 4-D torch tensor: a 2-D (H, W) array becomes (1, 1, H, W)."""
    t = T(a)
    return t.reshape((1,) * (4 - t.dim()) + tuple(t.shape))


def _tb_lr(padding) -> Tuple[int, int, int, int]:
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)


def torch_conv(x, w, stride=1, padding=0, dilation=1) -> np.ndarray:
    """``F.conv2d`` with padding p, (ph, pw) or (top, bottom, left, right) via an explicit ``F.pad``.

    2-D in (both ``x`` and ``w``): 2-D out; otherwise NCHW.
    """
    import torch.nn.functional as F

    t, b, l, r = _tb_lr(padding)
    y = F.conv2d(F.pad(torch4(x), (l, r, t, b)), torch4(w), stride=stride, dilation=dilation).numpy()
    return y[0, 0] if np.ndim(x) == 2 and np.ndim(w) == 2 else y


def torch_unfold(x, k, stride=1, padding=0, dilation=1) -> np.ndarray:
    """``F.unfold`` of a 2-D image with (top, bottom, left, right) padding: (k*k, L)."""
    import torch.nn.functional as F

    t, b, l, r = _tb_lr(padding)
    return F.unfold(F.pad(torch4(x), (l, r, t, b)), k, dilation=dilation, stride=stride)[0].numpy()


# ----------------------------------------------------------------------------
# TensorFlow layouts: NHWC activations, HWIO conv filters, HWOI transposed-conv filters
# ----------------------------------------------------------------------------
def nhwc(a):
    """NCHW numpy -> NHWC float64 tf tensor."""
    import tensorflow as tf

    return tf.constant(np.transpose(a, (0, 2, 3, 1)), dtype=tf.float64)


def nchw(a) -> np.ndarray:
    """NHWC -> NCHW numpy."""
    return np.transpose(np.asarray(a), (0, 3, 1, 2))


def hwio(w):
    """OIHW numpy -> HWIO float64 tf tensor."""
    import tensorflow as tf

    return tf.constant(np.transpose(w, (2, 3, 1, 0)), dtype=tf.float64)


def hwoi(w):
    """torch (C_in, C_out, kh, kw) -> TF conv2d_transpose (kh, kw, C_out, C_in) float64 tensor."""
    import tensorflow as tf

    return tf.constant(np.transpose(w, (2, 3, 1, 0)), dtype=tf.float64)


def tf_image(a):
    """A 2-D image as a (1, H, W, 1) float64 tf tensor."""
    import tensorflow as tf

    return tf.constant(np.asarray(a, dtype=np.float64)[None, :, :, None])


def tf_kernel(k):
    """A 2-D kernel as a (kh, kw, 1, 1) float64 tf tensor."""
    import tensorflow as tf

    return tf.constant(np.asarray(k, dtype=np.float64)[:, :, None, None])


def tf_2d(t) -> np.ndarray:
    """(1, H, W, 1) -> (H, W) numpy."""
    return np.asarray(t)[0, :, :, 0]

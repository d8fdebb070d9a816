"""The strided-view construction of ``convviz.jacobian`` (issue 11), differentially.

Every block kind of ``convviz.jacobian._plan`` is exercised on hundreds of random
geometries -- strides, per-side padding, SAME/VALID, dilation, channels, batch,
output_padding -- each with the small-Jacobian path (one block that also writes
the zeros) and the banded path (``_BAND_MIN`` forced to 1), and compared with

* PyTorch's autograd Jacobian of ops written here with ``F.pad`` / cropping
  (paddings from first principles, tests/references.py), and
* the op itself: the ops are linear in each operand, so ``J . v`` contracted
  over the operand's axes must equal ``op(v, w)`` (wrt the input) or ``op(x, v)``
  (wrt the kernel) for a random ``v``.

Plus the large-Jacobian paths at their natural sizes, dtypes and memory layout
of the result, and the cache with the plans it now holds.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convviz as cv
import convviz.validate

from references import T, keff, ref_conv_out, tf_same_pads
from strategies import examples

jac = importlib.import_module("convviz.jacobian")  # the module (cv.jacobian is the function)

N_GEOMETRIES = examples(300)


# ----------------------------------------------------------------------------
# random geometries with their PyTorch reference, arithmetic from first principles
# ----------------------------------------------------------------------------
def conv_case(rng):
    n, c, o = (int(v) for v in rng.integers(1, 3, 3))
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    h, w = (int(v) for v in rng.integers(1, 10, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2))
    d = tuple(int(v) for v in rng.integers(1, 4, 2))
    form = rng.choice(["int", "pair", "sides", "same", "valid"], p=[0.15, 0.15, 0.5, 0.1, 0.1])
    if form == "int":
        padding = int(rng.integers(0, 3))
        pads = (padding,) * 4
    elif form == "pair":
        padding = tuple(int(v) for v in rng.integers(0, 3, 2))
        pads = (padding[0], padding[0], padding[1], padding[1])
    elif form == "sides":
        padding = tuple(int(v) for v in rng.integers(0, 4, 4))
        pads = padding
    elif form == "same":
        padding = "same"
        pads = tf_same_pads(h, kh, s[0], d[0]) + tf_same_pads(w, kw, s[1], d[1])
    else:
        padding, pads = "valid", (0, 0, 0, 0)
    if ref_conv_out(h, kh, s[0], pads[0], pads[1], d[0]) is None or ref_conv_out(w, kw, s[1], pads[2], pads[3], d[1]) is None:
        return None
    x = rng.standard_normal((n, c, h, w))
    k = rng.standard_normal((o, c, kh, kw))
    t, b, l, r = pads

    def op(a, k_):
        return F.conv2d(F.pad(a, (l, r, t, b)), k_, stride=s, dilation=d)

    return "conv2d", x, k, dict(stride=s, padding=padding, dilation=d), op


def transpose_case(rng):
    n, ci, co = (int(v) for v in rng.integers(1, 3, 3))
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    h, w = (int(v) for v in rng.integers(1, 8, 2))
    s = tuple(int(v) for v in rng.integers(1, 4, 2))
    d = tuple(int(v) for v in rng.integers(1, 4, 2))
    pads = tuple(int(v) for v in rng.integers(0, 4, 4))
    op_pad = tuple(int(rng.integers(0, max(s[a], d[a]))) for a in (0, 1))
    # PyTorch's rule per side: o = (i - 1) s - before - after + d (k - 1) + output_padding + 1
    full = ((h - 1) * s[0] + keff(kh, d[0]) + op_pad[0], (w - 1) * s[1] + keff(kw, d[1]) + op_pad[1])
    out = (full[0] - pads[0] - pads[1], full[1] - pads[2] - pads[3])
    if min(out) < 1:
        return None
    x = rng.standard_normal((n, ci, h, w))
    k = rng.standard_normal((ci, co, kh, kw))
    t, _, l, _ = pads

    def op(a, k_):  # the uncropped transposed conv, output_padding zero rows/columns appended, then cropped
        y = F.conv_transpose2d(a, k_, stride=s, dilation=d)
        y = F.pad(y, (0, op_pad[1], 0, op_pad[0]))
        return y[:, :, t:t + out[0], l:l + out[1]]

    return "conv_transpose2d", x, k, dict(stride=s, padding=pads, dilation=d, output_padding=op_pad), op


def cases(seed, count):
    rng = np.random.default_rng(seed)
    made = []
    while len(made) < count:
        case = (conv_case if rng.random() < 0.5 else transpose_case)(rng)
        if case is not None:
            made.append(case)
    return made


def check_against_op(name, J, x, w, wrt, params, rng):
    """J . v over the operand's axes equals the op applied to v (the op is linear in each operand)."""
    fn = cv.conv2d if name == "conv2d" else cv.conv_transpose2d
    v = rng.standard_normal(x.shape if wrt == "input" else w.shape)
    axes = v.ndim
    got = np.tensordot(J, v, axes=axes)
    want = fn(v, w, **params) if wrt == "input" else fn(x, v, **params)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["default", "banded", "reordered", "phases"])
@pytest.mark.parametrize("chunk", range(3))
def test_random_geometries_vs_torch_and_the_op(monkeypatch, mode, chunk):
    if mode == "banded":  # every Jacobian wrt the input written band by band, whatever its size
        monkeypatch.setattr(jac, "_BAND_MIN", 1)
    elif mode == "reordered":  # every block wrt the kernel copied by np.positive in another loop order
        monkeypatch.setattr(jac, "_loop_order", lambda view, strides, src_strides, itemsize: (6, 0, 5, 1, 4, 2, 3))
    elif mode == "phases":  # every strided transposed conv wrt the kernel written phase by phase
        monkeypatch.setattr(jac, "_DIRECT_MAX", 0)
    jac.clear_cache()
    rng = np.random.default_rng(100 + chunk)
    for name, x, w, params, op in cases(chunk, max(1, N_GEOMETRIES // 3)):
        X, W = T(x), T(w)
        for wrt in ("input", "kernel"):
            J = cv.jacobian(name, x, w, wrt=wrt, **params)
            if wrt == "input":
                ref = torch.autograd.functional.jacobian(lambda a: op(a, W), X, vectorize=True)
            else:
                ref = torch.autograd.functional.jacobian(lambda k: op(X, k), W, vectorize=True)
            assert J.shape == tuple(ref.shape), (name, wrt, params, x.shape, w.shape)
            np.testing.assert_allclose(J, ref.numpy(), rtol=1e-12, atol=1e-12, err_msg=f"{name} {wrt} {params}")
            check_against_op(name, J, x, w, wrt, params, rng)
            # the cached plan gives the same tensor
            np.testing.assert_array_equal(cv.jacobian(name, x, w, wrt=wrt, **params), J)
    plans = jac._CACHE.entries.items()
    strided_t = [p for key, p in plans if key[0] == "conv_transpose2d-kernel" and key[3].stride != (1, 1)]
    assert strided_t
    if mode == "phases":  # one block per stride phase
        assert any(len(p.pieces) > 1 for p in strided_t)
    else:  # small ones: one block over the zero-inserted input
        assert any(len(p.pieces) == 1 for p in strided_t)
    if mode == "banded":
        assert any(len(p.pieces) > 1 and key[0].endswith("input") for key, p in plans)
    if mode == "reordered":
        assert any(piece[5] is not None for _, p in plans for piece in p.pieces)


# ----------------------------------------------------------------------------
# the large-Jacobian paths at their natural sizes
# ----------------------------------------------------------------------------
LARGE = [
    ("conv2d", (1, 2, 20, 20), (3, 2, 3, 3), dict(stride=1, padding=1)),
    ("conv2d", (2, 2, 17, 15), (2, 2, 3, 2), dict(stride=(2, 1), padding=(2, 0, 1, 3), dilation=(1, 2))),
    ("conv2d", (1, 1, 28, 28), (1, 1, 5, 5), dict(stride=2, padding="same")),
    ("conv_transpose2d", (1, 2, 9, 11), (2, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (2, 1, 10, 8), (1, 3, 4, 3), dict(stride=(3, 2), padding=(1, 2), dilation=(2, 1),
                                                         output_padding=(1, 0))),
    ("conv_transpose2d", (1, 1, 12, 12), (1, 1, 3, 3), dict(stride=2, padding="same", output_size=24)),
    ("conv_transpose2d", (1, 2, 20, 20), (2, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (1, 2, 24, 24), (2, 1, 3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("name, x_shape, w_shape, params", LARGE)
def test_large_jacobians(name, x_shape, w_shape, params):
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    fn = cv.conv2d if name == "conv2d" else cv.conv_transpose2d
    jac.clear_cache()
    for wrt in ("input", "kernel"):
        J = cv.jacobian(name, x, w, wrt=wrt, **params)
        assert J.flags.c_contiguous and J.flags.writeable and J.flags.owndata
        check_against_op(name, J, x, w, wrt, params, rng)
        # every column is the op applied to one basis vector: spot-check a few
        flat = J.reshape(int(np.prod(J.shape[:4])), -1)
        for col in rng.choice(flat.shape[1], size=5, replace=False):
            e = np.zeros(flat.shape[1])
            e[col] = 1.0
            e = e.reshape(x.shape if wrt == "input" else w.shape)
            want = fn(e, w, **params) if wrt == "input" else fn(x, e, **params)
            np.testing.assert_allclose(flat[:, col], want.ravel(), rtol=1e-12, atol=1e-12)


def test_large_jacobians_take_the_large_paths():
    rng = np.random.default_rng(8)
    jac.clear_cache()
    for name, x_shape, w_shape, params in LARGE:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        for wrt in ("input", "kernel"):
            cv.jacobian(name, x, w, wrt=wrt, **params)
    plans = jac._CACHE.entries.items()
    banded = [key for key, p in plans if key[0].endswith("input") and len(p.pieces) > 1]
    reordered = [key[0] for key, p in plans if any(piece[5] is not None for piece in p.pieces)]
    assert banded and {"conv2d-kernel", "conv_transpose2d-kernel"} <= set(reordered)


# ----------------------------------------------------------------------------
# dtypes, layouts and the memory the result owns
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtypes_are_kept_and_the_cache_keys_on_them(dtype):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 2, 9, 9)), rng.standard_normal((2, 2, 3, 3))
    for name, ww in (("conv2d", w), ("conv_transpose2d", w)):
        for wrt in ("input", "kernel"):
            p = dict(stride=2, padding=1)
            ref = cv.jacobian(name, x, ww, wrt=wrt, **p)  # float64, and a float64 plan in the cache
            J = cv.jacobian(name, x.astype(dtype), ww.astype(dtype), wrt=wrt, **p)
            assert J.dtype == dtype
            np.testing.assert_array_equal(J, cv.jacobian(name, x.astype(dtype).astype(np.float64),
                                                         ww.astype(dtype).astype(np.float64), wrt=wrt, **p).astype(dtype))
            assert ref.dtype == np.float64


def test_noncontiguous_and_readonly_operands():
    rng = np.random.default_rng(4)
    x = np.asfortranarray(rng.standard_normal((1, 2, 7, 6)))
    w = rng.standard_normal((3, 2, 3, 3))[:, :, ::-1, ::-1]  # negative strides
    x.flags.writeable = False
    for name, ww in (("conv2d", w), ("conv_transpose2d", w.transpose(1, 0, 2, 3))):
        for p in (dict(), dict(padding=1), dict(stride=2, padding=(1, 0, 0, 2))):
            for wrt in ("input", "kernel"):
                J = cv.jacobian(name, x, ww, wrt=wrt, **p)
                np.testing.assert_array_equal(J, cv.jacobian(name, np.array(x), np.array(ww), wrt=wrt, **p))
                assert not np.shares_memory(J, x) and not np.shares_memory(J, ww)


def test_special_values_stay_where_the_taps_put_them():
    """No arithmetic: -0.0, inf and nan are copied to exactly their taps' entries; the rest is +0."""
    w = np.array([[np.nan, -0.0], [np.inf, 1.0]])
    x = np.arange(9.0).reshape(3, 3)
    for p in (dict(), dict(padding=1), dict(padding=1, stride=2)):
        J = cv.jacobian("conv2d", x, w, **p)
        g = cv.conv_geometry((3, 3), (2, 2), **p)
        t, _, l, _ = g.pads
        for oy, ox, iy, ix in np.ndindex(J.shape):
            i, j = iy - oy * g.stride[0] + t, ix - ox * g.stride[1] + l
            v = J[oy, ox, iy, ix]
            if 0 <= i < 2 and 0 <= j < 2:
                assert (np.isnan(v) and np.isnan(w[i, j])) or (v == w[i, j] and np.signbit(v) == np.signbit(w[i, j]))
            else:
                assert v == 0 and not np.signbit(v)


# ----------------------------------------------------------------------------
# the cache: small plans, LRU, bounded by bytes, cleared by clear_cache
# ----------------------------------------------------------------------------
def test_plan_cache_is_bounded_by_bytes(monkeypatch):
    jac.clear_cache()
    cv.jacobian("conv2d", np.ones((6, 6)), np.ones((3, 3)))
    one = jac._CACHE.nbytes
    assert 0 < one < 16 << 10  # a plan is a few shapes and strides, not index arrays
    monkeypatch.setattr(convviz.validate, "JACOBIAN_CACHE_BYTES", 5 * one)
    for n in range(7, 19):
        cv.jacobian("conv2d", np.ones((n, n)), np.ones((3, 3)))
        assert jac._CACHE.nbytes <= convviz.validate.JACOBIAN_CACHE_BYTES
    assert 0 < len(jac._CACHE.entries) <= 5
    assert [key[1] for key in jac._CACHE.entries][-1] == (1, 1, 18, 18)
    monkeypatch.setattr(convviz.validate, "JACOBIAN_CACHE_BYTES", 0)  # 0 disables it
    jac.clear_cache()
    J = cv.jacobian("conv_transpose2d", np.ones((4, 4)), np.ones((3, 3)), stride=2)
    assert jac._CACHE.nbytes == 0 and not jac._CACHE.entries
    np.testing.assert_array_equal(J, cv.transpose_matrix((4, 4), np.ones((3, 3)), stride=2).reshape(J.shape))
    jac.clear_cache()

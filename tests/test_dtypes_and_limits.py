"""The dtype policy, writable results, and the memory bounds (size guard, pattern cache)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convviz as cv
import importlib

import convviz.validate

jac = importlib.import_module("convviz.jacobian")  # the module (cv.jacobian is the function)

from references import T

X = np.arange(2 * 5 * 5).reshape(1, 2, 5, 5)
W = np.arange(3 * 2 * 3 * 3).reshape(3, 2, 3, 3) % 5 - 2
WT = np.arange(2 * 3 * 3 * 3).reshape(2, 3, 3, 3) % 5 - 2


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_dtypes_are_kept(dtype):
    x, w, wt = X.astype(dtype), W.astype(dtype), WT.astype(dtype)
    for y in (cv.conv2d(x, w), cv.conv_transpose2d(x, wt), cv.im2col(x, 3), cv.jacobian("conv2d", x, w),
              cv.conv2d_backprop_filter(x, w.shape, cv.conv2d(x, w))):
        assert y.dtype == dtype


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, bool])
def test_int_and_bool_become_float64(dtype):
    y = cv.conv2d(X.astype(dtype), W.astype(dtype) if dtype is not np.uint8 else np.abs(W).astype(dtype))
    assert y.dtype == np.float64
    ref = F.conv2d(T(X.astype(dtype)), T(W.astype(dtype) if dtype is not np.uint8 else np.abs(W).astype(dtype))).numpy()
    np.testing.assert_array_equal(y, ref)


def test_mixed_dtypes_follow_result_type():
    assert cv.conv2d(X.astype(np.float32), W.astype(np.float64)).dtype == np.float64
    assert cv.conv2d(X.astype(np.float16), W.astype(np.float32)).dtype == np.float32
    assert cv.conv2d(X.astype(np.float32), W.astype(np.int64)).dtype == np.float64  # ints are float64 first


def test_im2col_returns_a_writable_array_never_a_view_of_x():
    x = np.arange(9.0).reshape(3, 3)
    for k in (1, 2):
        cols = cv.im2col(x, k)
        assert cols.flags.writeable and not np.shares_memory(cols, x)
        cols *= 2  # before: "output array is read-only" for k=1
    np.testing.assert_array_equal(x, np.arange(9.0).reshape(3, 3))
    np.testing.assert_array_equal(cv.im2col(x, 1), F.unfold(T(x)[None, None], 1)[0].numpy())


def test_pattern_cache_is_bounded_by_bytes_and_stays_correct(monkeypatch):
    jac.clear_cache()
    monkeypatch.setattr(convviz.validate, "JACOBIAN_CACHE_BYTES", 16 << 10)  # 16 KiB: a plan is ~2 kB
    rng = np.random.default_rng(0)
    for n in range(6, 30, 2):  # 12 distinct geometries, plans of ~2 kB (~25 kB in all)
        x, w = rng.standard_normal((1, 2, n, n)), rng.standard_normal((2, 2, 3, 3))
        J = cv.jacobian(cv.conv2d, x, w, wrt="kernel")
        assert jac._CACHE.nbytes <= convviz.validate.JACOBIAN_CACHE_BYTES
        ref = torch.autograd.functional.jacobian(lambda k: F.conv2d(T(x), k), T(w)).numpy()
        np.testing.assert_allclose(J, ref, rtol=1e-12, atol=1e-12)
    assert 0 < len(jac._CACHE.entries) < 12  # the oldest were dropped
    # a pattern larger than the whole budget is computed but not kept
    monkeypatch.setattr(convviz.validate, "JACOBIAN_CACHE_BYTES", 1000)
    jac.clear_cache()
    cv.jacobian("conv2d", np.ones((8, 8)), np.ones((3, 3)))
    assert jac._CACHE.nbytes == 0 and not jac._CACHE.entries


def test_pattern_cache_keeps_the_most_recently_used(monkeypatch):
    jac.clear_cache()
    shapes = [(6, 6), (7, 7), (8, 8)]
    sizes = []
    for s in shapes:
        cv.jacobian("conv2d", np.ones(s), np.ones((3, 3)))
        sizes.append(jac._CACHE.nbytes - sum(sizes))
    monkeypatch.setattr(convviz.validate, "JACOBIAN_CACHE_BYTES", sizes[1] + sizes[2] + sizes[0] // 2)
    cv.jacobian("conv2d", np.ones((6, 6)), np.ones((3, 3)))  # touch the oldest: now the newest
    cv.jacobian("conv2d", np.ones((9, 9)), np.ones((3, 3)))  # overflows: evicts the least recently used (7x7)
    kept = [key[1] for key in jac._CACHE.entries]
    assert (1, 1, 7, 7) not in kept and (1, 1, 6, 6) in kept
    jac.clear_cache()

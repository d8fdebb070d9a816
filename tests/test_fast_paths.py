"""The ops' fast path (shifted GEMMs on stride phases, see convviz/ops.py) against
PyTorch and against the plain im2col path the book explains.

For large problems ``conv2d``, ``conv_transpose2d``, ``conv2d_backprop_input`` and
``conv2d_backprop_filter`` skip im2col's gather: they cut the padded input into
its stride phases and read every kernel tap as one shifted slice, computing a
few extra output columns that they drop.  Same products, another summation
order.  Here every fast-path function is called directly -- also on the small
configurations where the public ops would keep im2col -- over hundreds of random
configurations (every padding form incl. per-side and 'same'/'valid', per-axis
stride and dilation, output_padding / output_size, float32 and float64) and
compared with

* PyTorch in float64 (``F.conv2d`` / ``F.conv_transpose2d`` / ``torch.autograd``),
  with a tolerance for the dtype;
* the plain im2col path (``_conv2d_cols``, ``_adjoint``, ``_kernel_grad_cols``);
* exactly, on integer-valued data (every sum is exact in float32 and float64).

Plus: the public ops pick the fast path when it pays off, keep the dtype, and
put inf/nan where the im2col sums put them.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import convviz as cv
from convviz import ops
from convviz.geometry import conv_geometry, transpose_geometry

from references import T
from strategies import conv_cases, examples, transpose_cases

DTYPES = st.sampled_from([np.float32, np.float64])
DATA = st.sampled_from(["normal", "normal", "integers"])  # integer-valued data: every path exact


def arrays(seed, dtype, kind, *shapes):
    rng = np.random.default_rng(seed)
    if kind == "integers":
        return [rng.integers(-3, 4, s).astype(dtype) for s in shapes]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def check(got, plain, ref, dtype, kind):
    """``got`` (fast path) against the im2col path and the float64 torch reference."""
    assert got.dtype == plain.dtype == dtype
    assert got.shape == plain.shape == ref.shape, (got.shape, plain.shape, ref.shape)
    if kind == "integers":
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(plain, ref)
        return
    scale = max(1.0, float(np.abs(ref).max()))
    eps = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, ref, rtol=eps, atol=eps * scale)
    np.testing.assert_allclose(got, plain, rtol=eps, atol=eps * scale)


# ----------------------------------------------------------------------------
# torch references (float64), paddings written out by hand
# ----------------------------------------------------------------------------
def torch_conv(X, W, case):
    t, b, l, r = case.pads
    return F.conv2d(F.pad(X, (l, r, t, b)), W, stride=case.s_hw, dilation=case.d_hw)


def torch_conv_transpose(X, W, case):
    y = F.conv_transpose2d(X, W, stride=case.s_hw, dilation=case.d_hw, output_padding=case.op_hw)
    t, b, l, r = case.pads  # full output, then the forward convolution's padding cropped
    return y[:, :, t : y.shape[2] - b, l : y.shape[3] - r]


def conv_references(x, w, g_out, case):
    """conv2d, its input gradient and its kernel gradient, by torch in float64."""
    X, Wt = T(x).requires_grad_(True), T(w).requires_grad_(True)
    y = torch_conv(X, Wt, case)
    dx, dw = torch.autograd.grad(y, (X, Wt), grad_outputs=T(g_out))
    return y.detach().numpy(), dx.numpy(), dw.numpy()


# ----------------------------------------------------------------------------
# conv2d, conv2d_backprop_input, conv2d_backprop_filter
# ----------------------------------------------------------------------------
def run_conv_case(case, dtype, kind):
    x, w, g_out = arrays(case.seed, dtype, kind, case.x_shape, case.w_shape, case.y_shape)
    geo = conv_geometry(case.in_hw, case.k_hw, **case.params)
    assert geo.out_hw == case.out_hw and geo.pads == case.pads
    y_ref, dx_ref, dw_ref = conv_references(x, w, g_out, case)
    fast = ops._conv2d_phases(x, w, geo)
    check(fast, ops._conv2d_cols(x, w, geo), y_ref, dtype, kind)
    t, _, l, _ = geo.pads
    h, wd = case.in_hw
    fast = ops._adjoint_phases(g_out, w, geo)
    check(fast, ops._adjoint(g_out, w, geo)[:, :, t : t + h, l : l + wd], dx_ref, dtype, kind)
    fast = ops._kernel_grad_phases(x, g_out, geo)
    check(fast, ops._kernel_grad_cols(x, g_out, geo), dw_ref, dtype, kind)
    # the public ops: whichever path they take, the same answer in the same dtype
    public = (
        cv.conv2d(x, w, **case.params),
        cv.conv2d_backprop_input(case.x_shape, w, g_out, **case.params),
        cv.conv2d_backprop_filter(x, case.w_shape, g_out, **case.params),
    )
    for got, ref in zip(public, (y_ref, dx_ref, dw_ref)):
        check(got, got, ref, dtype, kind)


@settings(max_examples=examples(300), deadline=None, derandomize=False)
@given(conv_cases(max_hw=10, max_k=5, max_n=3, max_c=4, max_o=4), DTYPES, DATA)
def test_conv_fast_paths_vs_torch_and_im2col(case, dtype, kind):
    run_conv_case(case, dtype, kind)


@settings(max_examples=examples(40), deadline=None, derandomize=False)
@given(conv_cases(max_hw=24, max_k=5, max_s=2, max_n=2, max_c=6, max_o=5), DTYPES, DATA)
def test_conv_fast_paths_on_larger_images(case, dtype, kind):
    run_conv_case(case, dtype, kind)  # here the public ops mostly take the fast path


# ----------------------------------------------------------------------------
# conv_transpose2d (output_padding, output_size)
# ----------------------------------------------------------------------------
def run_transpose_case(case, dtype, kind):
    x, w = arrays(case.seed, dtype, kind, case.x_shape, case.w_shape)
    geo = transpose_geometry(case.in_hw, case.k_hw, **case.params)
    assert geo.in_hw == case.out_hw and geo.pads == case.pads
    ref = torch_conv_transpose(T(x), T(w), case).numpy()
    t, _, l, _ = geo.pads
    h, wd = case.out_hw
    fast = ops._adjoint_phases(x, w, geo)
    check(fast, ops._adjoint(x, w, geo)[:, :, t : t + h, l : l + wd], ref, dtype, kind)
    got = cv.conv_transpose2d(x, w, **case.params)
    check(got, got, ref, dtype, kind)


@settings(max_examples=examples(300), deadline=None, derandomize=False)
@given(transpose_cases(max_hw=8, max_k=5, max_n=3, max_c=4, max_o=4), DTYPES, DATA)
def test_conv_transpose_fast_path_vs_torch_and_im2col(case, dtype, kind):
    run_transpose_case(case, dtype, kind)


@settings(max_examples=examples(40), deadline=None, derandomize=False)
@given(transpose_cases(max_hw=16, max_k=5, max_s=2, max_n=2, max_c=5, max_o=5), DTYPES, DATA)
def test_conv_transpose_fast_path_on_larger_images(case, dtype, kind):
    run_transpose_case(case, dtype, kind)


# ----------------------------------------------------------------------------
# which path, dtype, inf / nan
# ----------------------------------------------------------------------------
def test_the_benchmark_sizes_take_the_fast_path_and_book_examples_keep_im2col():
    for s in (1, 2):
        assert ops._phases_pay_off(conv_geometry((32, 32), (3, 3), stride=s, padding=1))
        assert ops._phases_pay_off(transpose_geometry((32 // s,) * 2, (3, 3), stride=s, padding=1, output_padding=s - 1))
    assert not ops._phases_pay_off(conv_geometry((4, 4), (3, 3)))  # 4x4 image, 3x3 kernel: 2x2 output
    assert not ops._phases_pay_off(conv_geometry((7, 7), (5, 5)))  # 3x3 output, 7x7 rows: 5x the work
    assert ops._phases_pay_off(conv_geometry((5, 5), (3, 3), stride=2, padding="same"))  # no extra column at all
    # and the public ops really return the fast path's result there
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 16, 16)), rng.standard_normal((4, 3, 3, 3))
    geo = conv_geometry((16, 16), (3, 3), stride=2, padding=1)
    g_out = rng.standard_normal((2, 4) + geo.out_hw)
    np.testing.assert_array_equal(cv.conv2d(x, w, stride=2, padding=1), ops._conv2d_phases(x, w, geo))
    np.testing.assert_array_equal(cv.conv2d_backprop_input(x.shape, w, g_out, stride=2, padding=1),
                                  ops._adjoint_phases(g_out, w, geo))
    np.testing.assert_array_equal(cv.conv2d_backprop_filter(x, w.shape, g_out, stride=2, padding=1),
                                  ops._kernel_grad_phases(x, g_out, geo))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_keeps_float32_and_float64(dtype):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 12, 12)).astype(dtype), rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    y = cv.conv2d(x, w, padding=1)
    assert ops._phases_pay_off(conv_geometry((12, 12), (3, 3), padding=1))
    for out in (y, cv.conv_transpose2d(y, w, padding=1), cv.conv2d_backprop_input(x.shape, w, y, padding=1),
                cv.conv2d_backprop_filter(x, w.shape, y, padding=1)):
        assert out.dtype == dtype


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@settings(max_examples=examples(60), deadline=None, derandomize=False)
@given(conv_cases(max_hw=16, max_k=4, max_s=2, max_n=2, max_c=3, max_o=3), st.sampled_from(["x", "w", "g"]),
       st.sampled_from([np.inf, -np.inf, np.nan]), st.integers(0, 2**32 - 1))
def test_inf_and_nan_land_where_im2col_puts_them(case, where, value, seed):
    """The extra columns multiply 0 by real inputs; with an inf there the fast path would make a nan
    im2col does not make, so the public ops check (W finite / result finite) and fall back."""
    x, w, g_out = arrays(case.seed, np.float64, "normal", case.x_shape, case.w_shape, case.y_shape)
    a = {"x": x, "w": w, "g": g_out}[where]
    a.flat[np.random.default_rng(seed).integers(a.size)] = value
    geo = conv_geometry(case.in_hw, case.k_hw, **case.params)
    t, _, l, _ = geo.pads
    h, wd = case.in_hw
    for got, plain in (
        (cv.conv2d(x, w, **case.params), ops._conv2d_cols(x, w, geo)),
        (ops._conv2d_phases(x, w, geo), ops._conv2d_cols(x, w, geo)),  # extra outputs are dropped: always safe
        (cv.conv2d_backprop_input(case.x_shape, w, g_out, **case.params),
         ops._adjoint(g_out, w, geo)[:, :, t : t + h, l : l + wd]),
        (cv.conv2d_backprop_filter(x, case.w_shape, g_out, **case.params), ops._kernel_grad_cols(x, g_out, geo)),
    ):
        np.testing.assert_allclose(got, plain, rtol=1e-10, atol=1e-10)  # inf/nan at the same places


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_the_fallback_is_needed():
    """Why the public ops check: unguarded, the fast path puts a nan where im2col has a number."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 2, 12, 12)), rng.standard_normal((3, 2, 3, 3))
    geo = conv_geometry((12, 12), (3, 3))  # valid: 10 outputs + 2 extra columns per row
    assert ops._phases_pay_off(geo)
    g_out = rng.standard_normal((1, 3, 10, 10))
    x[0, 0, 5, 0] = np.inf  # the extra output (row 4, column 10) reads it with tap (1, 2): 0 * inf
    plain = ops._kernel_grad_cols(x, g_out, geo)
    assert np.isfinite(plain[:, :, :, 2]).all() and np.isnan(ops._kernel_grad_phases(x, g_out, geo)[:, :, :, 2]).any()
    np.testing.assert_array_equal(cv.conv2d_backprop_filter(x, w.shape, g_out), plain)
    w[1, 0, 2, 0] = np.inf  # tap (2, 0) times the extra (zero) columns of grad_out: nan on the canvas
    plain = ops._adjoint(g_out, w, geo)
    assert np.isfinite(plain[:, :, :, -1]).all() and np.isnan(ops._adjoint_phases(g_out, w, geo)[:, :, :, -1]).any()
    np.testing.assert_array_equal(cv.conv2d_backprop_input(x.shape, w, g_out), plain)


def test_strided_adjoint_scratch_is_reused_but_never_returned():
    """The stride-2 adjoint keeps its scratch arrays between calls (no page faults per call): results of
    earlier calls stay intact, each equals torch's, scratch follows a new shape, and threads keep their own."""
    import threading

    rng = np.random.default_rng(21)
    w = rng.standard_normal((6, 4, 3, 3))
    results = []
    for hw in (9, 9, 12, 9):  # the same shape twice, a new one, and back
        g = rng.standard_normal((2, 6, hw, hw))
        y = cv.conv_transpose2d(g, w, stride=2, padding=1, output_padding=1)
        ref = F.conv_transpose2d(T(g), T(w), stride=2, padding=1, output_padding=1).numpy()
        np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)
        assert not any(np.shares_memory(y, a) for a in ops._WORK.arrays.values())
        results.append((y, y.copy()))
    for y, kept in results:  # later calls did not write into earlier results
        np.testing.assert_array_equal(y, kept)
    roles = [k[0] for k in ops._WORK.arrays]
    assert sorted(roles) == ["canvas", "taps", "wide"]  # one array per role: the last shape's

    out = {}

    def other_thread():
        out["y"] = cv.conv_transpose2d(results[0][1][:, :4], w.transpose(1, 0, 2, 3), stride=2, padding=1)
        out["own"] = {id(a) for a in ops._WORK.arrays.values()}

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert out["own"].isdisjoint(id(a) for a in ops._WORK.arrays.values())
    want = F.conv_transpose2d(T(results[0][1][:, :4]), T(w.transpose(1, 0, 2, 3)), stride=2, padding=1).numpy()
    np.testing.assert_allclose(out["y"], want, rtol=1e-10, atol=1e-10)


def test_strided_adjoint_scratch_is_bounded(monkeypatch):
    monkeypatch.setattr(ops, "WORKSPACE_BYTES", 1024)
    ops._WORK.arrays.clear()
    rng = np.random.default_rng(22)
    g, w = rng.standard_normal((2, 6, 12, 12)), rng.standard_normal((6, 4, 3, 3))
    y = cv.conv_transpose2d(g, w, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(y, F.conv_transpose2d(T(g), T(w), stride=2, padding=1, output_padding=1).numpy(),
                               rtol=1e-10, atol=1e-10)
    assert all(a.nbytes <= 1024 for a in ops._WORK.arrays.values())

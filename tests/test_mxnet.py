"""Real MXNet (article 003, 机器学习19:反卷积算法) against convviz.

MXNet 1.9.1 needs numpy<1.24, so it lives in its own environment, ``.venv-mxnet``
(``requirements-mxnet.txt``, created by ``scripts/test.sh``).  All MXNet calls of this module
are batched into ONE subprocess, ``tests/mxnet_worker.py``, which exchanges npz files with this
process; convviz (and PyTorch, for the bounds) run here, in the main ``.venv``.

What is checked:
  * 600 seeded random configurations of ``mx.nd.Deconvolution`` (kernel, stride, pad, adj,
    dilate, channels, batch, num_group=1, no_bias) == ``cv.conv_transpose2d(output_padding=adj)``,
    each run in float32 and in float64;
  * 600 of ``mx.nd.Convolution``'s backward pass under ``mx.autograd`` (input and weight
    gradients, float64) == ``cv.conv2d_backprop_input`` / ``cv.conv2d_backprop_filter``, and 40
    of them again through a bound symbol executor, the way the article does it;
  * the article's two snippets (Deconvolution with ``adj=(1, 1)``, ``simple_bind`` + backward);
  * where MXNet differs from PyTorch / convviz:
      - ``adj`` must be < ``stride`` on each axis, whatever the dilation (PyTorch and convviz:
        < max(stride, dilation)); MXNet raises "adj(y) must be samller than stride[0]" (sic);
      - ``target_shape`` ignores ``pad`` and ``adj`` (even invalid ones) and crops the full
        output ``s(i-1) + d(k-1) + 1`` by T = full - target: ceil(T/2) at the top/left,
        floor(T/2) at the bottom/right -- the opposite of TensorFlow's SAME, whose odd row is
        cropped at the bottom/right; T < 0 is "too big target shape", and with stride 1 an odd T
        is rejected by the adj check (the adj it derives, T % 2 = 1, is not < 1).  In float32
        (oneDNN kernel) it works only when the pad passed equals ceil(T/2): with another pad MXNet
        raises "could not create a descriptor for a dilated deconvolution ..." or, for a few
        shapes, returns a wrong array;
      - a bug: MXNet 1.9.1's native CPU Deconvolution kernel is wrong on every axis with
        stride > 1 AND dilation > 1 (kernel and input longer than 1; apache/mxnet issues #11203,
        #13876).  float32 goes through oneDNN (MKLDNN) and is right; float64 always takes the
        native kernel, and so does float32 with MXNET_MKLDNN_ENABLED=0.  The same geometry through
        Convolution's backward pass (the operation Deconvolution is defined as) is right.
float64 results are compared at rtol = atol = 1e-10, float32 ones at 1e-5.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convviz as cv

ROOT = Path(__file__).resolve().parents[1]
MXPY = ROOT / ".venv-mxnet" / "bin" / "python"
WORKER = ROOT / "tests" / "mxnet_worker.py"
SEED = 20261201
N_DECONV, N_CONV, N_EXECUTOR = 600, 600, 40
TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}
ADJ_MSG = "must be samller than stride"  # MXNet's own spelling


def close(mx_result, ref):
    """MXNet's array vs a float64 reference, at the tolerance of MXNet's dtype."""
    tol = TOL[mx_result.dtype]
    return mx_result.shape == ref.shape and np.allclose(mx_result, ref, rtol=tol, atol=tol)


def f32(a):
    """float32 copy of a float64 array, and the float64 array the reference must then start from."""
    a32 = a.astype(np.float32)
    return a32, a32.astype(np.float64)


def native_bug_axes(c):
    """Axes on which MXNet's native Deconvolution kernel goes wrong: stride > 1 and dilation > 1."""
    return [j for j in range(2) if c["s"][j] > 1 and c["d"][j] > 1 and c["k"][j] > 1 and c["x"].shape[2 + j] > 1]


# ----------------------------------------------------------------------------
# seeded random configurations
# ----------------------------------------------------------------------------
def deconv_configs(n, rng):
    """Valid Deconvolution configurations: 0 <= adj < stride, output >= 1 on both axes."""
    out = []
    while len(out) < n:
        k, s, d, i = (rng.integers(1, 5, 2), rng.integers(1, 4, 2), rng.integers(1, 4, 2), rng.integers(1, 6, 2))
        p = np.array([rng.integers(0, d[j] * (k[j] - 1) + 2) for j in range(2)])
        a = np.array([rng.integers(0, s[j]) for j in range(2)])
        if np.any(s * (i - 1) + d * (k - 1) + 1 - 2 * p + a < 1):
            continue  # MXNet and convviz both reject an empty output; the bounds are tested below
        nb, cin, cout = rng.integers(1, 3), rng.integers(1, 4), rng.integers(1, 4)
        out.append(dict(x=rng.standard_normal((nb, cin, *i)), w=rng.standard_normal((cin, cout, *k)),
                        k=k.tolist(), s=s.tolist(), d=d.tolist(), p=p.tolist(), a=a.tolist()))
    return out


def conv_configs(n, rng):
    """Valid Convolution configurations (input at least the dilated kernel minus the padding)."""
    out = []
    for _ in range(n):
        k, s, d = rng.integers(1, 5, 2), rng.integers(1, 4, 2), rng.integers(1, 4, 2)
        p = np.array([rng.integers(0, d[j] * (k[j] - 1) + 2) for j in range(2)])
        lo = np.maximum(1, d * (k - 1) + 1 - 2 * p)
        i = np.array([rng.integers(lo[j], lo[j] + 6) for j in range(2)])
        o = (i + 2 * p - d * (k - 1) - 1) // s + 1
        nb, cin, cout = rng.integers(1, 3), rng.integers(1, 4), rng.integers(1, 4)
        out.append(dict(x=rng.standard_normal((nb, cin, *i)), w=rng.standard_normal((cout, cin, *k)),
                        g=rng.standard_normal((nb, cout, *o)),
                        k=k.tolist(), s=s.tolist(), d=d.tolist(), p=p.tolist()))
    return out


_rng = np.random.default_rng(SEED)
DECONV = deconv_configs(N_DECONV, _rng)
CONV = conv_configs(N_CONV, _rng)

# the bounds of adj: every (stride, dilation, adj) with adj up to max(stride, dilation)
ADJ_GRID = [(s, d, a) for s in (1, 2, 3) for d in (1, 2, 3) for a in range(max(s, d) + 1)]
X_ADJ = _rng.standard_normal((1, 1, 3, 3))
W_ADJ = _rng.standard_normal((1, 1, 2, 2))

# target_shape: input 3x3, kernel 3, stride 1..3 (dilation 2 with stride 1: the native kernel's bug
# needs both > 1), every target up to full + 1, each with a junk pad and adj that it must ignore
X_T = _rng.standard_normal((1, 2, 3, 3))
W_T = _rng.standard_normal((2, 1, 3, 3))
TARGETS = [(s, d, t) for s, d in ((1, 1), (2, 1), (3, 1), (1, 2)) for t in range(1, s * 2 + d * 2 + 3)]


def full_size(i, k, s, d):
    return s * (i - 1) + d * (k - 1) + 1


def _deconv_kw(k, s, d, p, a, cout, **extra):
    return dict(kernel=k, stride=s, dilate=d, pad=p, adj=a, num_filter=cout, num_group=1, no_bias=True, **extra)


def _conv_kw(k, s, d, p, cout):
    return dict(kernel=k, stride=s, dilate=d, pad=p, num_filter=cout, num_group=1, no_bias=True)


def build_jobs():
    jobs, arrays = [], {}

    def add(name, op, kwargs, **arrs):
        i = len(jobs)
        jobs.append({"name": name, "op": op, "kwargs": kwargs})
        arrays.update({f"{i}.{k}": v for k, v in arrs.items()})

    for n, c in enumerate(DECONV):
        kw = _deconv_kw(c["k"], c["s"], c["d"], c["p"], c["a"], c["w"].shape[1])
        add(f"deconv{n}", "deconvolution", kw, x=c["x"], w=c["w"])
        add(f"deconv{n}_f32", "deconvolution", kw, x=f32(c["x"])[0], w=f32(c["w"])[0])
        if native_bug_axes(c):  # the full output (no crop can hide a wrong row)
            add(f"deconv{n}_full", "deconvolution", _deconv_kw(c["k"], c["s"], c["d"], [0, 0], [0, 0], c["w"].shape[1]),
                x=c["x"], w=c["w"])
    for n, c in enumerate(CONV):
        kw = _conv_kw(c["k"], c["s"], c["d"], c["p"], c["w"].shape[0])
        add(f"conv{n}", "convolution_backward", kw, x=c["x"], w=c["w"], g=c["g"])
        if n < N_EXECUTOR:
            add(f"exec{n}", "executor_backward", kw, x=c["x"], w=c["w"], g=c["g"])
    # article 003, section 4: its two snippets, with its own arguments (float32 ones, default no_bias)
    ones = lambda *s: np.ones(s, np.float32)  # noqa: E731
    add("article_deconv", "deconvolution", dict(kernel=[3, 3], pad=[1, 1], stride=[2, 2], adj=[1, 1], num_filter=1),
        x=ones(1, 1, 2, 2), w=ones(1, 1, 3, 3))
    add("article_executor", "executor_backward",
        dict(kernel=[3, 3], stride=[2, 2], pad=[1, 1], num_filter=1, no_bias=True),
        x=np.zeros((1, 1, 4, 4), np.float32), w=ones(1, 1, 3, 3), g=ones(1, 1, 2, 2))
    for s, d, a in ADJ_GRID:  # float32: dilation > 1 with stride > 1 needs the oneDNN kernel
        add(f"adj{s}{d}{a}", "deconvolution", _deconv_kw([2, 2], [s, s], [d, d], [0, 0], [a, a], 1),
            x=f32(X_ADJ)[0], w=f32(W_ADJ)[0])
    # the check is per axis: adj(y) against stride[0], adj(x) against stride[1]
    add("adj_x_axis", "deconvolution", _deconv_kw([2, 2], [2, 1], [1, 1], [0, 0], [1, 1], 1), x=X_ADJ, w=W_ADJ)
    add("adj_y_axis", "deconvolution", _deconv_kw([2, 2], [1, 2], [1, 1], [0, 0], [1, 1], 1), x=X_ADJ, w=W_ADJ)
    for s, d, t in TARGETS:
        add(f"target{s}{d}{t}", "deconvolution",
            _deconv_kw([3, 3], [s, s], [d, d], [5, 5], [s + 3, s + 3], 1, target_shape=[t, t]), x=X_T, w=W_T)
        # float32 (oneDNN kernel): once with the same junk pad, once with the pad target_shape implies
        T = full_size(3, 3, s, d) - t
        for tag, pad in (("junk", 5), ("implied", max(math.ceil(T / 2), 0))):
            add(f"target32_{tag}{s}{d}{t}", "deconvolution",
                _deconv_kw([3, 3], [s, s], [d, d], [pad, pad], [s + 3, s + 3], 1, target_shape=[t, t]),
                x=f32(X_T)[0], w=f32(W_T)[0])
    return jobs, arrays


def run_worker(jobs, arrays, tmp, env=None):
    """{job name: (error line or None, {result name: array})}, from one MXNet subprocess."""
    if not MXPY.exists():
        pytest.fail(f"{MXPY} is missing: scripts/test.sh (make test) creates it from requirements-mxnet.txt; "
                    f"or run: python3 -m venv .venv-mxnet && .venv-mxnet/bin/pip install -r requirements-mxnet.txt")
    src, dst = tmp / "in.npz", tmp / "out.npz"
    np.savez(src, jobs=np.array(json.dumps(jobs)), **arrays)
    proc = subprocess.run([str(MXPY), str(WORKER), str(src), str(dst)], capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        pytest.fail(f"tests/mxnet_worker.py failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    with np.load(dst) as f:
        errors = json.loads(str(f["errors"]))
        versions = json.loads(str(f["versions"]))
        res = {k: f[k] for k in f.files if k not in ("errors", "versions")}
    assert versions["mxnet"] == "1.9.1", versions
    by_job = {}
    for key, v in res.items():
        i, name = key.split(".", 1)
        by_job.setdefault(int(i), {})[name] = v
    return {job["name"]: (errors[i], by_job.get(i, {})) for i, job in enumerate(jobs)}


@pytest.fixture(scope="module")
def mx(tmp_path_factory):
    return run_worker(*build_jobs(), tmp_path_factory.mktemp("mxnet"))


def _ok(mx, name):
    err, out = mx[name]
    assert err is None, f"MXNet rejected {name}: {err}"
    return out


# ----------------------------------------------------------------------------
# differential: Deconvolution and Convolution's backward pass
# ----------------------------------------------------------------------------
def _deconv_ref(c, x=None, w=None, **geo):
    geo = {**dict(stride=tuple(c["s"]), padding=tuple(c["p"]), output_padding=tuple(c["a"]),
                  dilation=tuple(c["d"])), **geo}
    return cv.conv_transpose2d(c["x"] if x is None else x, c["w"] if w is None else w, **geo)


def test_deconvolution_float32_equals_conv_transpose2d(mx):
    """The default dtype (oneDNN kernel): every configuration agrees, dilated ones included."""
    bad = []
    for n, c in enumerate(DECONV):
        y = _ok(mx, f"deconv{n}_f32")["y"]
        assert y.dtype == np.float32
        if not close(y, _deconv_ref(c, f32(c["x"])[1], f32(c["w"])[1])):
            bad.append((n, {k: v for k, v in c.items() if k not in "xw"}))
    assert not bad, f"{len(bad)}/{len(DECONV)} configurations differ, e.g. {bad[:3]}"
    assert sum(any(a > p for a, p in zip(c["a"], c["p"])) for c in DECONV) > 50  # adj past the crop: zero rows
    assert sum(bool(native_bug_axes(c)) for c in DECONV) > 200  # stride and dilation > 1 together


def test_deconvolution_float64_equals_conv_transpose2d_except_native_dilation_bug(mx):
    """float64 (native kernel): equal to convviz at 1e-10 on every configuration without an axis
    that has stride > 1 and dilation > 1; on each of the others the full (uncropped) output is wrong,
    while convviz equals MXNet's own float32 (oneDNN) result."""
    bad, wrong = [], 0
    for n, c in enumerate(DECONV):
        y = _ok(mx, f"deconv{n}")["y"]
        assert y.dtype == np.float64
        if not native_bug_axes(c):
            if not close(y, _deconv_ref(c)):
                bad.append((n, {k: v for k, v in c.items() if k not in "xw"}))
            continue
        full = _ok(mx, f"deconv{n}_full")["y"]
        ref_full = _deconv_ref(c, padding=0, output_padding=0)
        assert full.shape == ref_full.shape and not np.allclose(full, ref_full, rtol=1e-3, atol=1e-3), n
        wrong += not close(y, _deconv_ref(c))  # the crop can hide the wrong rows; mostly it does not
    assert not bad, f"{len(bad)}/{len(DECONV)} configurations differ, e.g. {bad[:3]}"
    assert wrong > 0.8 * sum(bool(native_bug_axes(c)) for c in DECONV)


def test_native_kernel_bug_is_dtype_independent(tmp_path):
    """float32 with oneDNN disabled (MXNET_MKLDNN_ENABLED=0) reproduces float64's wrong arrays, and
    Convolution's backward pass with the same geometry (adjoint: same x, w, g roles) is right."""
    cases = [c for c in DECONV if native_bug_axes(c)][:20]
    jobs, arrays = [], {}
    for n, c in enumerate(cases):
        kw = _deconv_kw(c["k"], c["s"], c["d"], [0, 0], [0, 0], c["w"].shape[1])
        jobs += [{"name": f"f32_{n}", "op": "deconvolution", "kwargs": kw},
                 {"name": f"f64_{n}", "op": "deconvolution", "kwargs": kw},
                 {"name": f"bwd_{n}", "op": "convolution_backward",
                  "kwargs": _conv_kw(c["k"], c["s"], c["d"], [0, 0], c["w"].shape[0])}]
        i = 3 * n
        out_hw = _deconv_ref(c, padding=0, output_padding=0).shape[2:]
        arrays.update({f"{i}.x": f32(c["x"])[0], f"{i}.w": f32(c["w"])[0], f"{i + 1}.x": c["x"], f"{i + 1}.w": c["w"],
                       # the transposed conv of x with w is the input gradient of a conv with weight w,
                       # output gradient x, on an input of the transposed conv's output size
                       f"{i + 2}.x": np.zeros((c["x"].shape[0], c["w"].shape[1], *out_hw)),
                       f"{i + 2}.w": c["w"], f"{i + 2}.g": c["x"]})
    res = run_worker(jobs, arrays, tmp_path, env={"MXNET_MKLDNN_ENABLED": "0"})
    for n, c in enumerate(cases):
        ref = _deconv_ref(c, padding=0, output_padding=0)
        y32, y64 = res[f"f32_{n}"][1]["y"], res[f"f64_{n}"][1]["y"]
        assert np.allclose(y32, y64, rtol=1e-5, atol=1e-5) and not np.allclose(y64, ref, rtol=1e-3, atol=1e-3), n
        assert close(res[f"bwd_{n}"][1]["dx"], ref), n


def test_convolution_backward_equals_backprops(mx):
    bad = []
    for n, c in enumerate(CONV):
        r = _ok(mx, f"conv{n}")
        geo = dict(stride=tuple(c["s"]), padding=tuple(c["p"]), dilation=tuple(c["d"]))
        y = cv.conv2d(c["x"], c["w"], **geo)
        dx = cv.conv2d_backprop_input(c["x"].shape, c["w"], c["g"], **geo)
        dw = cv.conv2d_backprop_filter(c["x"], c["w"].shape, c["g"], **geo)
        if not (close(r["y"], y) and close(r["dx"], dx) and close(r["dw"], dw)):
            bad.append((n, {k: v for k, v in c.items() if k not in "xwg"}))
    assert not bad, f"{len(bad)}/{len(CONV)} configurations differ, e.g. {bad[:3]}"


def test_executor_backward_equals_autograd_and_backprops(mx):
    for n, c in enumerate(CONV[:N_EXECUTOR]):
        ex, ag = _ok(mx, f"exec{n}"), _ok(mx, f"conv{n}")
        geo = dict(stride=tuple(c["s"]), padding=tuple(c["p"]), dilation=tuple(c["d"]))
        assert close(ex["dx"], ag["dx"]) and close(ex["dw"], ag["dw"]), n
        assert close(ex["dx"], cv.conv2d_backprop_input(c["x"].shape, c["w"], c["g"], **geo)), n
        assert close(ex["dw"], cv.conv2d_backprop_filter(c["x"], c["w"].shape, c["g"], **geo)), n


def test_article_003_deconvolution_equals_convolution_backward(mx):
    """The article's snippets: Deconvolution(ones 2x2, ones 3x3, kernel 3, pad 1, stride 2, adj 1;
    no_bias left at MXNet's default, which is True for Deconvolution) and the backward pass of
    Convolution(kernel 3, stride 2, pad 1) bound to a 4x4 input, called without a forward pass,
    with an all-ones output gradient.  Both print the same 4x4 array (float32), which convviz gives."""
    deconv = _ok(mx, "article_deconv")["y"]
    backward = _ok(mx, "article_executor")["dx"]
    assert deconv.dtype == np.float32 and deconv.shape == (1, 1, 4, 4)
    ones2, ones3 = np.ones((2, 2)), np.ones((3, 3))
    ref = cv.conv_transpose2d(ones2, ones3, stride=2, padding=1, output_padding=1)
    np.testing.assert_array_equal(deconv[0, 0], ref)
    np.testing.assert_array_equal(backward[0, 0], ref)
    np.testing.assert_array_equal(ref, cv.conv2d_backprop_input((4, 4), ones3, ones2, stride=2, padding=1))


# ----------------------------------------------------------------------------
# where MXNet differs: the bounds on adj, and target_shape
# ----------------------------------------------------------------------------
def _accepts(fn):
    try:
        return True, fn()
    except (ValueError, RuntimeError):
        return False, None


def test_adj_must_be_below_stride_whatever_the_dilation(mx):
    """MXNet: 0 <= adj < stride.  PyTorch and convviz: 0 <= output_padding < max(stride, dilation),
    so with dilation > stride they accept adj values that MXNet rejects (the extra rows are zeros)."""
    only_torch = []
    for s, d, a in ADJ_GRID:
        err, out = mx[f"adj{s}{d}{a}"]
        assert (err is None) == (a < s), (s, d, a, err)
        if err is not None:
            assert f"Check failed: param_.stride[0]-1 >= o_adj[0] ({s - 1} vs. {a})" in err and ADJ_MSG in err
        x, w = f32(X_ADJ)[1], f32(W_ADJ)[1]
        cv_ok, y_cv = _accepts(lambda: cv.conv_transpose2d(x, w, stride=s, output_padding=a, dilation=d))
        t_ok, y_t = _accepts(lambda: F.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=s,
                                                        output_padding=a, dilation=d).numpy())
        assert cv_ok == t_ok == (a < max(s, d)), (s, d, a)
        if cv_ok:
            np.testing.assert_allclose(y_cv, y_t, rtol=1e-12, atol=1e-12)
        if err is None:
            assert close(out["y"], y_cv)
        elif cv_ok:
            only_torch.append((s, d, a))
            assert np.all(y_cv[..., -a:, :] == 0) and np.all(y_cv[..., -a:] == 0)  # rows no input reaches
    assert only_torch == [(1, 2, 1), (1, 3, 1), (1, 3, 2), (2, 3, 2)]


def test_adj_is_checked_per_axis(mx):
    err_x, err_y = mx["adj_x_axis"][0], mx["adj_y_axis"][0]
    assert "(0 vs. 1)" in err_x and "adj(x) must be samller than stride[1]" in err_x
    assert "(0 vs. 1)" in err_y and "adj(y) must be samller than stride[0]" in err_y


def test_target_shape_ignores_pad_and_adj_and_crops_the_odd_row_at_the_top(mx):
    """MXNet's target_shape t: T = full - t with full = s(i-1) + d(k-1) + 1; it sets pad = ceil(T/2)
    and adj = T % 2 (ignoring the pad and adj passed, here pad 5 and adj = stride + 3), i.e. it crops
    ceil(T/2) rows at the top and floor(T/2) at the bottom (likewise left/right).
    convviz: padding=(ceil, floor, ceil, floor), or padding=ceil(T/2) with output_padding=T % 2.
    TensorFlow's SAME (convviz padding="same", output_size=t) crops floor(T/2) at the top instead,
    so for odd T the two frameworks' arrays are shifted by one pixel."""
    seen = {"ok": 0, "too_big": 0, "odd_stride1": 0, "differs_from_same": 0}
    for s, d, t in TARGETS:
        err, out = mx[f"target{s}{d}{t}"]
        T = full_size(3, 3, s, d) - t
        top, bottom = math.ceil(T / 2), T // 2
        if T < 0:
            assert err is not None and "too big target shape" in err, (s, d, t, err)
            seen["too_big"] += 1
            continue
        if s == 1 and T % 2:
            assert err is not None and ADJ_MSG in err and "(0 vs. 1)" in err, (s, d, t, err)
            seen["odd_stride1"] += 1
            continue
        assert err is None, (s, d, t, err)
        seen["ok"] += 1
        y = out["y"]
        assert y.shape == (1, 1, t, t)
        x, w = X_T, W_T
        assert close(y, cv.conv_transpose2d(x, w, stride=s, padding=(top, bottom, top, bottom), dilation=d))
        assert close(y, cv.conv_transpose2d(x, w, stride=s, padding=top, output_padding=T % 2, dilation=d))
        full = cv.conv_transpose2d(x, w, stride=s, dilation=d)
        assert close(y, full[..., top:top + t, top:top + t])
        if math.ceil(t / s) == 3 and d == 1:  # a size TensorFlow's SAME reaches from a 3x3 input
            tf_same = cv.conv_transpose2d(x, w, stride=s, padding="same", output_size=t)
            assert close(tf_same, full[..., bottom:bottom + t, bottom:bottom + t])
            assert close(y, tf_same) == (T % 2 == 0)
            seen["differs_from_same"] += T % 2
    assert all(seen.values()), seen


def test_target_shape_in_float32_needs_the_implied_pad(mx):
    """In float32 (the oneDNN kernel) target_shape works only if the pad passed equals the pad it
    implies, ceil(T/2); with another pad MXNet raises "could not create a descriptor for a dilated
    deconvolution forward propagation primitive" (dilation or not) or returns a wrong array."""
    seen = {"implied_ok": 0, "junk_error": 0, "junk_wrong": 0}
    for s, d, t in TARGETS:
        T = full_size(3, 3, s, d) - t
        if T < 0 or (s == 1 and T % 2):
            continue  # rejected by the shape check, as in float64 (above)
        top, bottom = math.ceil(T / 2), T // 2
        ref = cv.conv_transpose2d(f32(X_T)[1], f32(W_T)[1], stride=s, padding=(top, bottom, top, bottom), dilation=d)
        y = _ok(mx, f"target32_implied{s}{d}{t}")["y"]
        assert y.dtype == np.float32 and close(y, ref), (s, d, t)
        seen["implied_ok"] += 1
        err, out = mx[f"target32_junk{s}{d}{t}"]
        if top == 5:
            assert err is None and close(out["y"], ref)
        elif err is not None:
            assert "could not create a descriptor for a dilated deconvolution forward propagation primitive" in err
            seen["junk_error"] += 1
        else:
            assert not close(out["y"], ref), (s, d, t)
            seen["junk_wrong"] += 1
    assert all(seen.values()), seen

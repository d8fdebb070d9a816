"""The explorer's JS core (src/convviz/explorer/core.js) against convviz, in headless Chromium.

Over 2,000 random configurations (conv / transposed / gradient mode; 1-3 input channels, 1-2 filters;
rectangular inputs and kernels; stride and dilation as ints or pairs; padding as int, (ph, pw),
(top, bottom, left, right), 'valid', 'same' and invalid forms; output_padding or output_size, valid and
invalid; integer and random float data), one ``page.evaluate`` computes everything the explorer displays,
and each number is compared with convviz: exactly for integer data, within 1e-12 of the largest magnitude
for floats. The core must throw exactly when convviz raises ValueError, with convviz's message verbatim.
"""
from __future__ import annotations

import numpy as np
import pytest

import convviz as cv
from explorer_support import CORE_BATCH_JS, EXPLORER_DIR, _pair, _partial_counts, explorer_page, reference

pytestmark = pytest.mark.browser

N_CONFIGS = 2000
SEED = 20260901


def _padding(rng):
    r = rng.random()
    if r < 0.2:
        return int(rng.integers(0, 4))
    if r < 0.35:
        return [int(v) for v in rng.integers(0, 4, 2)]
    if r < 0.55:
        return [int(v) for v in rng.integers(0, 4, 4)]
    if r < 0.65:
        return "valid"
    if r < 0.88:
        return "same" if rng.random() < 0.8 else "SAME"
    bad = ["full", -1, [1, -2], [0, 1, 2], [0, 0, -1, 0], 1.5]
    return bad[int(rng.integers(len(bad)))]


def _int_or_pair(rng, lo, hi, p_pair=0.25, p_bad=0.02):
    if rng.random() < p_bad:
        return int(lo - 1)
    if rng.random() < p_pair:
        return [int(v) for v in rng.integers(lo, hi + 1, 2)]
    return int(rng.integers(lo, hi + 1))


def random_config(rng) -> dict:
    mode = ["conv", "transpose", "gradient"][int(rng.integers(3))]
    C, O = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    big = rng.random() < 0.1
    H, W = (int(v) for v in rng.integers(1, 17 if big else 8, 2))
    if rng.random() < 0.5:
        W = H
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    if rng.random() < 0.5:
        kw = kh
    floats = rng.random() < 0.4
    data = (lambda *s: rng.standard_normal(s)) if floats else (lambda *s: rng.integers(-2, 4, s).astype(float))
    cfg = {"mode": mode, "stride": _int_or_pair(rng, 1, 4), "dilation": _int_or_pair(rng, 1, 3, p_pair=0.15),
           "padding": _padding(rng), "output_padding": 0, "output_size": None,
           "probe": {"step": int(rng.integers(0, 10_000)), "pixel": [int(v) for v in rng.integers(0, 99, 2)],
                     "tap": [int(v) for v in rng.integers(0, 99, 2)]}}
    cfg["x"] = data(C, H, W).tolist()
    if mode == "transpose":
        cfg["w"] = data(C, O, kh, kw).tolist()
        r = rng.random()
        if r < 0.45:
            cfg["output_padding"] = _int_or_pair(rng, 0, 3, p_pair=0.3)
        elif r < 0.9:
            # an output size near the valid ones (sometimes one that no convolution reaches)
            s, d = _pair(cfg["stride"]), _pair(cfg["dilation"])
            try:
                sizes = []
                for a, (i, k) in enumerate(((H, kh), (W, kw))):
                    spec = cfg["padding"]
                    if isinstance(spec, list):
                        spec = (spec[a], spec[a]) if len(spec) == 2 else tuple(spec[2 * a:2 * a + 2])
                    elif isinstance(spec, int):
                        spec = (spec, spec)
                    valid = cv.transpose_output_sizes(i, k, max(1, s[a]), spec, max(1, d[a]))
                    base = valid[0] if valid else i
                    sizes.append(int(rng.choice(valid)) if valid and rng.random() < 0.8 else int(base + rng.integers(-2, 3)))
                cfg["output_size"] = sizes if sizes[0] != sizes[1] or rng.random() < 0.5 else sizes[0]
            except (ValueError, TypeError):
                cfg["output_size"] = int(rng.integers(1, 12))
            if rng.random() < 0.05:
                cfg["output_padding"] = 1  # both given: rejected
    else:
        cfg["w"] = data(O, C, kh, kw).tolist()
        if mode == "gradient":
            try:
                ho = cv.conv2d(np.zeros((1, C, H, W)), np.zeros((O, C, kh, kw)), tuple(cfg["stride"]) if isinstance(
                    cfg["stride"], list) else cfg["stride"], tuple(cfg["padding"]) if isinstance(cfg["padding"], list)
                    else cfg["padding"], tuple(cfg["dilation"]) if isinstance(cfg["dilation"], list) else cfg["dilation"]).shape
                cfg["delta"] = (np.ones(ho[1:]) if rng.random() < 0.3 else data(*ho[1:])).tolist()
            except ValueError:
                cfg["delta"] = np.ones((O, 1, 1)).tolist()
    cfg["floats"] = floats
    return cfg


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(SEED)
    cfgs = [random_config(rng) for _ in range(N_CONFIGS)]
    with explorer_page(EXPLORER_DIR) as (tab, server, log):
        got = tab.evaluate(CORE_BATCH_JS, cfgs)
        assert not log["console"] and not log["page"] and not log["failed"], log
    return cfgs, got


def _same_numbers(a, b, floats, where):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape, f"{where}: shape {a.shape} != convviz {b.shape}"
    if floats:
        scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
        assert np.all(np.abs(a - b) <= 1e-12 * scale), f"{where}: max diff {np.abs(a - b).max()}"
    else:
        assert np.array_equal(a, b), f"{where}: {a.tolist()} != convviz {b.tolist()}"


NUMERIC = ("y", "counts", "directY", "z", "dx", "dw", "window")
EXACT = ("outHW", "pads", "outputPadding", "validSizes", "directPads", "formula", "feeds", "multiplies")


def test_core_equals_convviz_on_random_configurations(batch):
    cfgs, got = batch
    assert len(got) == N_CONFIGS >= 1000
    kinds = {"error": 0, "ok": 0}
    for n, (cfg, js) in enumerate(zip(cfgs, got)):
        ref = reference(cfg)
        where = f"config {n} {({k: v for k, v in cfg.items() if k not in ('x', 'w', 'delta')})}"
        assert "crash" not in js, f"{where}: JS crashed: {js['crash']}"
        if "error" in ref or "error" in js:
            assert js.get("error") == ref.get("error"), f"{where}: JS {js.get('error')!r} vs convviz {ref.get('error')!r}"
            kinds["error"] += 1
            continue
        kinds["ok"] += 1
        for key in EXACT:
            if key in ref:
                assert js[key] == [list(v) if isinstance(v, tuple) else v for v in ref[key]], (
                    f"{where}: {key} {js[key]} != convviz {ref[key]}")
        for key in NUMERIC:
            if key in ref:
                _same_numbers(js[key], ref[key], cfg["floats"], f"{where}: {key}")
        if cfg["mode"] == "transpose":
            H, W = len(cfg["x"][0]), len(cfg["x"][0][0])
            k = np.asarray(cfg["w"]).shape[2:]
            n_px = cfg["probe"]["step"] % (H * W + 1)
            _same_numbers(js["partialCounts"], _partial_counts(H, W, k, _t(cfg["stride"]), _t(cfg["dilation"]),
                                                               tuple(js["outputPadding"]), n_px), False, f"{where}: running counts")
            _same_numbers(js["finalCounts"], ref["counts"], False, f"{where}: final running counts")
        if cfg["mode"] == "gradient":
            # dL/dx is the transposed convolution of delta with the same padding and output_padding a
            dx = cv.conv_transpose2d(np.asarray(cfg["delta"])[None], np.asarray(cfg["w"]), _t(cfg["stride"]),
                                     tuple(js["pads"]), tuple(js["a"]), _t(cfg["dilation"]))[0]
            _same_numbers(js["dx"], dx, True, f"{where}: dL/dx as conv_transpose2d(delta)")
    # the batch covers both outcomes in every mode
    assert kinds["error"] >= 100 and kinds["ok"] >= 1000, kinds
    for mode in ("conv", "transpose", "gradient"):
        assert sum(1 for c, j in zip(cfgs, got) if c["mode"] == mode and "error" not in j) >= 200, mode


def _t(v):
    return tuple(v) if isinstance(v, list) else v


def test_batch_covers_every_parameter_form(batch):
    cfgs, got = batch
    ok = [(c, j) for c, j in zip(cfgs, got) if "error" not in j]
    seen = lambda pred: sum(1 for c, j in ok if pred(c))  # noqa: E731
    assert seen(lambda c: isinstance(c["padding"], list) and len(c["padding"]) == 4) >= 50
    assert seen(lambda c: isinstance(c["padding"], str) and c["padding"].lower() == "same" and c["stride"] != 1) >= 50
    assert seen(lambda c: c["mode"] == "transpose" and c["output_size"] is not None) >= 50
    assert seen(lambda c: c["mode"] == "transpose" and c["output_padding"] not in (0, [0, 0])) >= 30
    assert seen(lambda c: c["dilation"] not in (1, [1, 1])) >= 100
    assert seen(lambda c: len(c["x"]) == 3) >= 100 and seen(lambda c: len(c["w"]) == 2 or len(c["w"][0]) == 2) >= 100
    assert seen(lambda c: c["floats"]) >= 200

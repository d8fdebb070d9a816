"""Live explorers for convolution, transposed convolution and their gradients.

    import convviz.widgets as cw
    cw.explore_conv()                       # sliding window, channels, filters, padding incl. SAME
    cw.explore_transpose(stride=2)          # scatter view and direct view side by side
    cw.explore_gradient(stride=2)           # dL/dx and dL/dw for an upstream gradient

Each function returns an :class:`Explorer`, an ``anywidget.AnyWidget`` whose front-end is the plain ES
module in ``convviz/explorer/`` (``core.js`` computes, ``explorer.js`` draws). Its parameters are traits
synced with the browser: ``w.stride = 2`` redraws the view, and moving a control updates ``w.stride``.
``w.update(stride=2, padding="same")`` validates all values first with convviz and changes nothing when
they are invalid (``w.error`` and the explorer then show convviz's ValueError text).

The same module runs without a kernel: the widget's ``text/html`` representation is a JSON config that
``explorer/mount.js`` mounts with a small local model, which is what the static book shows
(``_ext/convviz_html.py`` ships the files into ``_static/convviz-explorer/``). In Jupyter each explorer
displays a second, hidden output after the widget (:func:`nokernel_html`): when JupyterLab or Notebook 7
cannot render the widget view (a saved notebook reopened without a kernel), it mounts that same static
explorer in its place.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import anywidget
import numpy as np
import traitlets as t

from . import style

__all__ = ["explore_conv", "explore_transpose", "explore_gradient", "Explorer", "ASSET_DIR",
           "LIMITS", "CHOICES", "PARAMS", "esm_source", "static_html", "nokernel_html"]

ASSET_DIR = Path(__file__).resolve().parent / "explorer"
#: explorer limits (beyond convviz's own rules), the same as LIMITS in core.js
LIMITS = {"input_size": (1, 16), "kernel_size": (1, 7), "stride": (1, 4), "dilation": (1, 3),
          "channels": (1, 3), "filters": (1, 2)}
#: the explorer's named choices, the same as CHOICES in core.js
CHOICES = {"mode": ("conv", "transpose", "gradient"), "delta": ("ones", "random"), "role": ("input", "gradient")}
#: the traits that define what is shown (the step is separate)
PARAMS = ("mode", "input_size", "kernel_size", "stride", "padding", "dilation", "channels", "filters",
          "output_padding", "output_size", "delta", "x", "w", "role")

# Default data: Dumoulin & Visin's 5x5 input and 3x3 kernel in the top-left corner of channel 0,
# deterministic small integers elsewhere, so that numbers stay put when sizes change.
_rng = np.random.default_rng(2016)
BASE_X = _rng.integers(0, 4, (3, 16, 16))
BASE_X[0, :5, :5] = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]
BASE_W = _rng.integers(0, 3, (3, 3, 7, 7))
BASE_W[0, 0, :3, :3] = [[0, 1, 2], [2, 2, 0], [0, 1, 2]]
BASE_XT = 1 + _rng.integers(0, 3, (3, 16, 16))  # transposed-conv inputs without zeros: every stamp shows
BASE_DELTA = _rng.integers(-1, 3, (2, 32, 32))


def esm_source() -> str:
    """core.js and explorer.js as one ES module (anywidget loads a single module, without relative imports)."""
    core = (ASSET_DIR / "core.js").read_text(encoding="utf-8")
    view = (ASSET_DIR / "explorer.js").read_text(encoding="utf-8")
    view, n = re.subn(r'^import \{[^}]*\} from "\./core\.js";\n', "", view, count=1, flags=re.M)
    if n != 1:
        raise RuntimeError("explorer.js must import from ./core.js in one `import { ... } from \"./core.js\";`")
    return core + "\n" + view


def _base() -> dict:
    return {"x": BASE_X.tolist(), "xt": BASE_XT.tolist(), "w": BASE_W.tolist(), "delta": BASE_DELTA.tolist()}


def _explorer_array(a, name):
    """``a`` as a float array an explorer can show: real numbers (convviz's dtype rule), no empty axis, and
    finite (the page's config is JSON, which has no NaN or inf)."""
    from .validate import as_float_array

    a = as_float_array(a, name).astype(float)
    if 0 in a.shape:
        raise ValueError(f"{name} must not have an empty axis, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite in an explorer (no NaN or inf): the page's config is JSON")
    return a


def _as_chw(a, name):
    a = _explorer_array(a, name)
    if a.ndim == 2:
        return a[None]
    if a.ndim == 3:
        return a
    if a.ndim == 4 and a.shape[0] == 1:
        return a[0]
    raise ValueError(f"{name} must be 2-D (H, W), 3-D (C, H, W) or 4-D (1, C, H, W), got shape {a.shape}")


def _as_w4(a, name):
    a = _explorer_array(a, name)
    if a.ndim == 2:
        return a[None, None]
    if a.ndim == 4:
        return a
    raise ValueError(f"{name} must be 2-D (kh, kw) or 4-D, got shape {a.shape}")


def _tup(v):
    return tuple(_tup(u) for u in v) if isinstance(v, (list, tuple)) else v


def _num(v):
    """Plain JSON-able values: ints for numpy integers and for whole-number floats (the browser's numbers
    cannot tell 2.0 from 2, so the explorer takes both alike), floats for numpy floats, lists for tuples."""
    if isinstance(v, (tuple, list)):
        return [_num(u) for u in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return int(v) if float(v).is_integer() else float(v)
    return v


def _json_default(v):
    """json.dumps' fallback for values set on traits directly (``w.stride = np.int64(2)``)."""
    if isinstance(v, (np.generic, np.ndarray)):
        return _num(v.tolist())
    raise TypeError(f"{type(v).__name__} is not JSON serializable")


_INT_TRAITS = ("input_size", "kernel_size", "channels", "filters", "step")


class Explorer(anywidget.AnyWidget):
    """One explorer (mode ``"conv"``, ``"transpose"`` or ``"gradient"``); see :func:`explore_conv`."""

    _esm = t.Unicode(esm_source()).tag(sync=True)
    _css = t.Unicode((ASSET_DIR / "explorer.css").read_text(encoding="utf-8")).tag(sync=True)

    mode = t.Unicode("conv").tag(sync=True)
    input_size = t.Int(5).tag(sync=True)
    kernel_size = t.Int(3).tag(sync=True)
    stride = t.Any(1).tag(sync=True)
    padding = t.Any(0).tag(sync=True)          # int, [ph, pw], [top, bottom, left, right], "valid", "same"
    dilation = t.Any(1).tag(sync=True)
    channels = t.Int(1).tag(sync=True)
    filters = t.Int(1).tag(sync=True)
    output_padding = t.Any(0).tag(sync=True)
    output_size = t.Any(None, allow_none=True).tag(sync=True)
    delta = t.Unicode("ones").tag(sync=True)   # gradient mode: "ones" or "random" (small integers)
    role = t.Unicode("input").tag(sync=True)   # transposed mode: colour x as an input or as a gradient
    step = t.Int(0).tag(sync=True)
    x = t.List().tag(sync=True)                # custom data (C, H, W); empty: cut from the base arrays
    w = t.List().tag(sync=True)
    base = t.Dict().tag(sync=True)
    colors = t.Dict().tag(sync=True)
    error = t.Unicode("").tag(sync=True)       # convviz's ValueError text for the current values, or ""

    def __init__(self, **kwargs):
        kwargs.setdefault("base", _base())
        kwargs.setdefault("colors", dict(style.COLORS))
        kwargs = {k: _num(v) for k, v in kwargs.items()}
        for name in _INT_TRAITS:  # a ValueError with the range, not traitlets' TraitError
            v = kwargs.get(name, 0)
            if not isinstance(v, int) or isinstance(v, bool):
                lo, hi = LIMITS.get(name, (0, None))
                rng = f"an integer in [{lo}, {hi}]" if hi is not None else "a non-negative integer"
                raise ValueError(f"{name} must be {rng}, got {v!r}")
        super().__init__(**kwargs)
        self.error = self.check() or ""
        self.observe(self._revalidate, names=list(PARAMS))

    def _revalidate(self, change=None):
        self.error = self.check() or ""

    # -- validation (the same rules as core.js: explorer limits, then convviz's own ValueError) ----------------
    def check(self, **values) -> str | None:
        """convviz's error text for the current values updated with ``values``, or None if they are valid."""
        p = {n: _num(values.get(n, getattr(self, n))) for n in PARAMS}
        for name, opts in CHOICES.items():
            if p[name] not in opts:
                return f"{name} must be one of {', '.join(map(repr, opts))} in this explorer, got {p[name]!r}"
        for name, (lo, hi) in LIMITS.items():
            v = p[name]
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not lo <= v <= hi:
                return f"{name} must be an integer in [{lo}, {hi}] in this explorer, got {v!r}"
        import convviz as cv

        C, n, k = p["channels"], p["input_size"], p["kernel_size"]
        O = p["filters"]
        transposed = p["mode"] == "transpose"
        try:
            x = _as_chw(p["x"], "x") if len(p["x"]) else np.zeros((C, n, n))
            C = x.shape[0]
            w = _as_w4(p["w"], "w") if len(p["w"]) else np.zeros((C, O, k, k) if transposed else (O, C, k, k))
        except ValueError as exc:
            return str(exc)
        try:
            if transposed:
                cv.conv_transpose2d(x[None], w, _tup(p["stride"]), _tup(p["padding"]), _tup(p["output_padding"]),
                                    _tup(p["dilation"]), _tup(p["output_size"]))
            else:
                cv.conv2d(x[None], w, _tup(p["stride"]), _tup(p["padding"]), _tup(p["dilation"]))
        except ValueError as exc:
            return str(exc)
        return None

    def update(self, **values) -> bool:
        """Set several traits at once. Validates everything first: on an invalid combination nothing
        changes, ``w.error`` (and the explorer's message) holds convviz's text, and False is returned.
        Unknown names raise KeyError."""
        for name in values:
            if name not in PARAMS and name != "step":
                raise KeyError(f"no parameter named {name!r}; parameters: {list(PARAMS) + ['step']}")
        values = {k: _num(v) for k, v in values.items()}
        try:  # data as the traits hold them: (C, H, W) and 4-D lists
            for name, shape in (("x", _as_chw), ("w", _as_w4)):
                v = values.get(name)  # ([] is "no data of its own": the default arrays)
                if v is not None and not (isinstance(v, (list, tuple)) and not len(v)):
                    values[name] = shape(v, name).tolist()
        except ValueError as exc:
            self.error = str(exc)
            return False
        problem = self.check(**values)
        if problem:
            self.error = problem
            return False
        with self.hold_trait_notifications(), self.hold_sync():
            for name, v in values.items():
                setattr(self, name, v)
        self.error = ""
        return True

    @property
    def params(self) -> dict:
        return {n: getattr(self, n) for n in PARAMS + ("step",)}

    # -- static version (no kernel): the config div that explorer/mount.js mounts ---------------------------
    def config(self) -> dict:
        return {n: getattr(self, n) for n in PARAMS + ("step", "base", "colors", "error")}

    def static_html(self) -> str:
        return static_html(self.config())

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, None)
        data = dict(data or {})
        data["text/html"] = self.static_html()
        return (data, meta) if meta is not None else data

    def _ipython_display_(self):
        # two outputs: the widget, then its stand-in for JupyterLab and Notebook 7 without a kernel (there
        # the widget view waits for a kernel forever: ipywidgets#3773); the stand-in stays empty otherwise
        from IPython.display import display

        bundle = self._repr_mimebundle_()
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        display(data, metadata=meta or {}, raw=True)
        display({"text/html": nokernel_html(self.config()), "text/plain": ""}, raw=True)


def static_html(config: dict) -> str:
    """The explorer for a page without a kernel: a JSON config that explorer/mount.js turns into a live view."""
    # no NaN/inf (not JSON); "<" escaped, so that no "</script" or "<!--" in a value can end the block early
    payload = json.dumps(config, separators=(",", ":"), allow_nan=False, default=_json_default).replace("<", "\\u003c")
    mode = html.escape(str(config.get("mode", "conv")))
    return (
        f"<div class='convviz-explorer-static' data-mode='{mode}'>"
        f"<script type='application/json'>{payload}</script>"
        "<div class='convviz-explorer-fallback'><em>Interactive convviz explorer: it runs in the browser "
        "(JavaScript) and appears here once the page's convviz-explorer scripts load.</em></div></div>"
    )


NOKERNEL_CLASS = "convviz-explorer-nokernel"


def _nokernel_script() -> str:
    return (ASSET_DIR / "nokernel.js").read_text(encoding="utf-8")


def nokernel_html(config: dict) -> str:
    """The stand-in output shown after an explorer in Jupyter: hidden and inert while the widget view
    above it is live; when that view cannot render (a saved notebook reopened without a kernel, where
    JupyterLab shows "Loading widget..." or "Error displaying widget"), it mounts the same static
    explorer the book uses, from the code and config it carries. Its script runs only in a trusted
    notebook (one the reader ran and saved); anywhere else it shows nothing. The book's build drops it."""
    import base64

    mount = (ASSET_DIR / "mount.js").read_text(encoding="utf-8")
    css = (ASSET_DIR / "explorer.css").read_text(encoding="utf-8")

    def b64(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    css, script = (text.replace("</", "<\\/") for text in (css, _nokernel_script()))  # no early </style>
    return (
        f"<div class='{NOKERNEL_CLASS}' hidden data-esm='{b64(esm_source())}' data-mount='{b64(mount)}'>"
        f"<template><style>{css}</style>{static_html(config)}</template>"
        f"<script>{script}</script></div>"
    )


def _data(x, w, transposed):
    out = {}
    if x is not None:
        X = _as_chw(x, "x")
        out.update(x=X.tolist(), channels=int(X.shape[0]), input_size=int(max(X.shape[1:])))
    if w is not None:
        W = _as_w4(w, "w")
        out.update(w=W.tolist(), kernel_size=int(max(W.shape[2:])))
        if transposed:
            out.update(channels=int(W.shape[0]), filters=int(W.shape[1]))
        else:
            out.update(filters=int(W.shape[0]), channels=int(W.shape[1]))
    return out


def explore_conv(x=None, w=None, *, input_size=5, kernel_size=3, stride=1, padding=0, dilation=1, channels=1,
                 filters=1, step=0) -> Explorer:
    """Sliding-window explorer for ``conv2d`` (chapter *Conv2d and its gradient*).

    Without ``x``/``w`` the data are cut from fixed integer arrays (Dumoulin & Visin's 5×5 example in the
    corner) and every size control is live; with them (2-D, (C, H, W) or OIHW) the sizes are fixed.
    ``padding``: int, (ph, pw), (top, bottom, left, right), "valid" or "same" (TensorFlow's rule).
    """
    return Explorer(**{**dict(mode="conv", input_size=input_size, kernel_size=kernel_size, stride=stride,
                              padding=padding, dilation=dilation, channels=channels, filters=filters, step=step),
                       **_data(x, w, False)})


def explore_transpose(x=None, w=None, *, input_size=3, kernel_size=3, stride=2, padding=0, output_padding=0,
                      output_size=None, dilation=1, channels=1, filters=1, step=0, role="input") -> Explorer:
    """Transposed-convolution explorer: the scatter view (stamps, running overlap counts, crop) and the
    direct view (zero insertion, padding d(k-1)-p, 180°-rotated kernel), stepping together.
    ``output_size`` picks one of the valid sizes instead of ``output_padding`` (TensorFlow's output_shape);
    ``role="gradient"`` colours x as an upstream gradient. ``w`` is (C_in, C_out, kh, kw) or 2-D."""
    return Explorer(**{**dict(mode="transpose", input_size=input_size, kernel_size=kernel_size, stride=stride,
                              padding=padding, output_padding=output_padding, output_size=output_size,
                              dilation=dilation, channels=channels, filters=filters, step=step, role=role),
                       **_data(x, w, True)})


def explore_gradient(x=None, w=None, *, input_size=5, kernel_size=3, stride=2, padding=0, dilation=1, channels=1,
                     filters=1, delta="ones", step=0) -> Explorer:
    """Gradient explorer for ``conv2d``: for an upstream gradient δ (``"ones"`` or ``"random"`` small
    integers), dL/dx as the transposed convolution of δ and dL/dw as the correlation of x with δ dilated
    by the stride, with the same linked hovering."""
    return Explorer(**{**dict(mode="gradient", input_size=input_size, kernel_size=kernel_size, stride=stride,
                              padding=padding, dilation=dilation, channels=channels, filters=filters, delta=delta,
                              step=step), **_data(x, w, False)})

"""Interactive explorers (ipywidgets 8) for the chapters *Conv2d and its gradient*
and *Transposed convolution*.

    import convviz.widgets as cw
    cw.explore_conv()          # sliders: input, kernel, stride, padding, dilation, step
    cw.explore_transpose()     # ... plus output_padding

The figure is one matplotlib Figure drawn to PNG into an ``ipywidgets.Image``:
moving the step slider only moves artists (``Scene.set_step``); changing a
shape redraws the scene on the same figure.  Invalid combinations show the
core's ``ValueError`` text in ``w.message`` (the last valid picture stays), and
the widget stays usable.  Controls are ``w.controls[name]``; ``w.update(...)``
sets several at once with a single redraw (tests and benchmarks use both).

This module imports ipywidgets; ``import convviz`` does not import it.
"""
from __future__ import annotations

import html
from typing import Dict, Optional

import ipywidgets as ipw
import numpy as np

from . import style
from .geometry import describe_conv, describe_transpose
from .render_base import ConvFigure, FrameRenderer
from .render_conv import SlidingWindowScene, as_nchw
from .render_transpose import Col2imScene

__all__ = ["explore_conv", "explore_transpose", "ConvExplorer", "TransposeExplorer", "PADDING_OPTIONS"]

PADDING_OPTIONS = [0, 1, 2, 3, "valid", "same"]

# Default data: the 5x5 input and 3x3 kernel of Dumoulin & Visin's figures in the
# top-left corner, deterministic small integers elsewhere, so numbers stay put
# when sizes change.
_rng = np.random.default_rng(2016)
BASE_X = _rng.integers(0, 4, (16, 16)).astype(float)
BASE_X[:5, :5] = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]
BASE_W = _rng.integers(0, 3, (7, 7)).astype(float)
BASE_W[:3, :3] = [[0, 1, 2], [2, 2, 0], [0, 1, 2]]
# transposed-conv inputs without zeros, so that every patch is visible
BASE_XT = 1 + _rng.integers(0, 3, (16, 16)).astype(float)

FORMULA_CONV = "o = floor((i + p_before + p_after - d(k-1) - 1) / s) + 1"
FORMULA_TRANSPOSE = "o = (i-1)s - p_before - p_after + d(k-1) + output_padding + 1"


def _slider(description, value, lo, hi, disabled=False):
    return ipw.IntSlider(
        value=value, min=lo, max=hi, step=1, description=description, disabled=disabled, continuous_update=True,
        style={"description_width": "110px"}, layout=ipw.Layout(width="330px"),
    )


class _Explorer(ipw.VBox):
    """Common machinery: controls -> scene -> PNG, with an error area."""

    formula_text = ""

    def __init__(self, controls: Dict[str, ipw.ValueWidget], dpi: float = 80):
        self.controls = controls
        self.dpi = dpi
        self.figure = ConvFigure(dpi=dpi)
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(self.figure)
        self.frames = FrameRenderer(self.figure, dpi)
        self.scene = None
        self.error: Optional[str] = None
        self.renders = 0
        self._busy = False
        self.formula = ipw.HTML()
        self.message = ipw.HTML()
        self.image = ipw.Image(format="png")
        names = [n for n in controls if n != "step"]
        half = (len(names) + 1) // 2
        left = ipw.VBox([controls[n] for n in names[:half]])
        right = ipw.VBox([controls[n] for n in names[half:]])
        super().__init__(children=[ipw.HBox([left, right]), controls["step"], self.formula, self.message, self.image])
        for name, c in controls.items():
            c.observe(self._on_step if name == "step" else self._on_param, names="value")
        self.refresh()

    # -- subclass hooks ---------------------------------------------------------
    def _make_scene(self, p) -> object:  # pragma: no cover - abstract
        raise NotImplementedError

    def _describe(self, p) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- state ------------------------------------------------------------------
    @property
    def params(self) -> dict:
        return {n: c.value for n, c in self.controls.items()}

    def update(self, **values):
        """Set several controls, then redraw once (unknown names raise KeyError)."""
        for n in values:
            if n not in self.controls:
                raise KeyError(f"no control named {n!r}; controls: {list(self.controls)}")
        self._busy = True
        try:
            for n, v in values.items():
                self.controls[n].value = v
        finally:
            self._busy = False
        self.refresh()

    def _on_param(self, change):
        if not self._busy:
            self.refresh()

    def _on_step(self, change):
        if self._busy or self.scene is None or self.error is not None:
            return
        self.scene.set_step(change["new"])
        self._render()

    def refresh(self):
        """Rebuild the scene for the current controls (or show the core's error)."""
        p = self.params
        try:
            scene = self._make_scene(p)
        except ValueError as exc:  # the core's message, verbatim
            self._show_error(str(exc))
            self._set_formula(p)
            return
        self.error = None
        self.message.value = ""
        self._busy = True
        try:
            step = self.controls["step"]
            step.max = max(scene.n_steps - 1, 0)
            scene.step = min(step.value, scene.n_steps - 1)
            if step.value != scene.step:
                step.value = scene.step
        finally:
            self._busy = False
        scene.draw(self.figure)
        self.figure.set_dpi(self.dpi)
        self.frames.reset()
        self.scene = scene
        self._set_formula(p)
        self._render()

    def _set_formula(self, p):
        try:
            body = self._describe(p)
        except ValueError:
            body = self.formula_text
        self.formula.value = f"<code style='font-size:12px'>{html.escape(body)}</code>"

    def _show_error(self, text: str):
        self.error = text
        self.message.value = (
            f"<div class='convviz-error' style='color:{style.COLORS['highlight']};font-weight:bold;"
            f"border-left:4px solid {style.COLORS['highlight']};padding:2px 8px'>⚠ {html.escape(text)}</div>"
        )

    def _render(self):
        self.image.value = self.frames.render(self.scene)
        self.renders += 1

    # -- static fallback ----------------------------------------------------------
    def snapshot_html(self) -> str:
        """The current picture and formula as plain HTML (no kernel, no JS)."""
        import base64

        img = base64.b64encode(self.image.value).decode("ascii")
        msg = self.message.value if self.error else ""
        return (
            "<div class='convviz-explorer-snapshot'>"
            f"<img src='data:image/png;base64,{img}' alt='convviz explorer: current picture' style='max-width:100%'>"
            f"<div>{self.formula.value}</div>{msg}"
            "<p style='font-size:0.85em;color:#666'><em>Static snapshot: run this notebook "
            "(Binder, Colab or locally) to move the sliders.</em></p></div>"
        )

    def _repr_mimebundle_(self, **kwargs):
        """The live widget view plus a ``text/html`` snapshot for renderers without a widget manager."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, None)
        data = dict(data or {})
        data["text/html"] = self.snapshot_html()
        return (data, meta) if meta is not None else data


def _size_controls(x, w, input_size, kernel_size):
    xs = as_nchw(x, "x").shape[-1] if x is not None else input_size
    ks = as_nchw(w, "w").shape[-1] if w is not None else kernel_size
    return {
        "input_size": _slider("input size" + (" (x)" if x is not None else ""), xs, 1, 16, disabled=x is not None),
        "kernel_size": _slider("kernel size" + (" (w)" if w is not None else ""), ks, 1, 7, disabled=w is not None),
    }


class ConvExplorer(_Explorer):
    """Sliding-window explorer for ``conv2d`` (see :func:`explore_conv`)."""

    formula_text = FORMULA_CONV

    def __init__(self, x=None, w=None, *, input_size=5, kernel_size=3, stride=1, padding=0, dilation=1, step=0, dpi=80):
        self.x, self.w = x, w
        controls = _size_controls(x, w, input_size, kernel_size)
        controls.update(
            stride=_slider("stride", stride, 1, 4),
            padding=ipw.Dropdown(options=PADDING_OPTIONS, value=padding, description="padding",
                                 style={"description_width": "110px"}, layout=ipw.Layout(width="330px")),
            dilation=_slider("dilation", dilation, 1, 3),
            step=_slider("step", step, 0, 10_000),
        )
        super().__init__(controls, dpi)

    def _data(self, p):
        x = self.x if self.x is not None else BASE_X[: p["input_size"], : p["input_size"]]
        w = self.w if self.w is not None else BASE_W[: p["kernel_size"], : p["kernel_size"]]
        return x, w

    def _make_scene(self, p):
        x, w = self._data(p)
        return SlidingWindowScene(x, w, p["stride"], p["padding"], p["dilation"])

    def _describe(self, p):
        x, w = self._data(p)
        X, W = as_nchw(x, "x"), as_nchw(w, "w")
        lines = []
        for a, axis in ((2, "H"), (3, "W")):
            lines.append(f"{axis}: " + describe_conv(X.shape[a], W.shape[a], p["stride"], p["padding"], p["dilation"]))
        return lines[0][3:] if X.shape[2] == X.shape[3] and W.shape[2] == W.shape[3] else "\n".join(lines)


class TransposeExplorer(_Explorer):
    """col2im scatter-add explorer for ``conv_transpose2d`` (see :func:`explore_transpose`)."""

    formula_text = FORMULA_TRANSPOSE

    def __init__(self, x=None, w=None, *, input_size=3, kernel_size=3, stride=2, padding=0, output_padding=0, dilation=1,
                 step=0, role="input", dpi=80):
        self.x, self.w, self.role = x, w, role
        controls = _size_controls(x, w, input_size, kernel_size)
        controls.update(
            stride=_slider("stride", stride, 1, 4),
            padding=ipw.Dropdown(options=PADDING_OPTIONS, value=padding, description="padding",
                                 style={"description_width": "110px"}, layout=ipw.Layout(width="330px")),
            output_padding=_slider("output_padding", output_padding, 0, 3),
            dilation=_slider("dilation", dilation, 1, 3),
            step=_slider("step", step, 0, 10_000),
        )
        super().__init__(controls, dpi)

    def _data(self, p):
        x = self.x if self.x is not None else BASE_XT[: p["input_size"], : p["input_size"]]
        w = self.w if self.w is not None else BASE_W[: p["kernel_size"], : p["kernel_size"]]
        return x, w

    def _make_scene(self, p):
        x, w = self._data(p)
        return Col2imScene(x, w, p["stride"], p["padding"], p["output_padding"], p["dilation"], role=self.role)

    def _describe(self, p):
        x, w = self._data(p)
        X, W = as_nchw(x, "x"), as_nchw(w, "w")
        args = (p["stride"], p["padding"], p["output_padding"], p["dilation"])
        if X.shape[2] == X.shape[3] and W.shape[2] == W.shape[3]:
            return describe_transpose(X.shape[2], W.shape[2], *args)
        return "\n".join(f"{ax}: " + describe_transpose(X.shape[a], W.shape[a], *args) for a, ax in ((2, "H"), (3, "W")))


def explore_conv(x=None, w=None, *, input_size=5, kernel_size=3, stride=1, padding=0, dilation=1, step=0, dpi=80) -> ConvExplorer:
    """Sliders for the sliding window of ``conv2d`` (chapter *Conv2d and its gradient*).

    Without ``x``/``w`` the input and kernel are cut from fixed integer arrays
    (Dumoulin & Visin's 5×5 example in the corner) and the size sliders are
    live; with them, the size sliders are fixed to their shapes.  Shows the
    output-size formula with the current numbers; invalid combinations show the
    core's error text instead of a traceback.
    """
    return ConvExplorer(x, w, input_size=input_size, kernel_size=kernel_size, stride=stride, padding=padding,
                        dilation=dilation, step=step, dpi=dpi)


def explore_transpose(x=None, w=None, *, input_size=3, kernel_size=3, stride=2, padding=0, output_padding=0, dilation=1,
                      step=0, role="input", dpi=80) -> TransposeExplorer:
    """Sliders for the transposed convolution as col2im scatter-add, with the
    overlap (checkerboard) map (chapter *Transposed convolution*).  ``role="gradient"``
    colours ``x`` as an upstream gradient (the input-gradient view)."""
    return TransposeExplorer(x, w, input_size=input_size, kernel_size=kernel_size, stride=stride, padding=padding,
                             output_padding=output_padding, dilation=dilation, step=step, role=role, dpi=dpi)

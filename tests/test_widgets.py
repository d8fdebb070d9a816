"""Widgets driven programmatically, headless: set controls, read the picture's
numbers, the formula and the error area (invalid combinations included)."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import html  # noqa: E402
import io  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

import convviz as cv  # noqa: E402
from convviz import widgets as cw  # noqa: E402


def t4(a):
    return torch.tensor(np.asarray(a, float))[None, None]


def png_pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def core_error(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as exc:
        fn(*args, **kwargs)
    return str(exc.value)


def test_explore_conv_defaults_show_picture_formula_and_steps():
    w = cw.explore_conv()
    assert w.error is None and w.message.value == ""
    assert w.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert html.unescape(w.formula.value).endswith(cv.describe_conv(5, 3, 1, 0, 1) + "</code>")
    assert w.controls["step"].max == 8  # 3x3 outputs
    assert set(w.controls) == {"input_size", "kernel_size", "stride", "padding", "dilation", "step"}
    assert w.controls["padding"].options == (0, 1, 2, 3, "valid", "same")
    x, k = cw.BASE_X[:5, :5], cw.BASE_W[:3, :3]
    ref = F.conv2d(t4(x), t4(k))[0, 0].numpy()
    w.controls["step"].value = 8
    np.testing.assert_array_equal(w.scene.fig.convviz["output"].text_values(), ref)


def test_step_slider_moves_window_without_rebuilding():
    w = cw.explore_conv(padding=1)
    scene, before = w.scene, w.image.value
    w.controls["step"].value = 7
    assert w.scene is scene  # same scene, same figure: only artists moved
    assert w.image.value != before
    box = scene.fig.convviz["window"][0]
    assert scene.fig.convviz["input"][0].cell_of(box.get_x(), box.get_y()) == divmod(7, 5)
    cur = scene.fig.convviz["current"]
    assert scene.fig.convviz["output"].cell_of(cur.get_x(), cur.get_y()) == divmod(7, 5)


def test_parameter_change_updates_geometry_formula_and_numbers():
    w = cw.explore_conv()
    fig = w.figure
    w.update(input_size=7, kernel_size=3, stride=2, padding="same", dilation=1)
    assert w.figure is fig  # the figure is reused
    x, k = cw.BASE_X[:7, :7], cw.BASE_W[:3, :3]
    ref = F.conv2d(F.pad(t4(x), (1, 1, 1, 1)), t4(k), stride=2)[0, 0].numpy()  # TF SAME: 7 -> 4, pads (1, 1)
    assert w.controls["step"].max == ref.size - 1
    w.controls["step"].value = ref.size - 1
    np.testing.assert_array_equal(w.scene.fig.convviz["output"].text_values(), ref)
    assert html.unescape(w.formula.value).endswith(cv.describe_conv(7, 3, 2, "same", 1) + "</code>")


def test_invalid_combination_shows_core_message_and_widget_stays_usable():
    w = cw.explore_conv()
    last_image, last_scene = w.image.value, w.scene
    w.controls["kernel_size"].value = 7
    expected = core_error(cv.conv2d, cw.BASE_X[:5, :5], cw.BASE_W[:7, :7])
    assert w.error == expected
    assert html.escape(expected) in w.message.value
    assert "Traceback" not in w.message.value
    assert w.image.value == last_image and w.scene is last_scene  # last valid picture stays
    w.controls["step"].value = 0  # moving the step while invalid is harmless
    w.controls["padding"].value = 1  # 5 + 2 >= 7: valid again
    assert w.error is None and w.message.value == ""
    assert w.scene is not last_scene and w.controls["step"].max == 0
    ref = F.conv2d(F.pad(t4(cw.BASE_X[:5, :5]), (1, 1, 1, 1)), t4(cw.BASE_W[:7, :7]))[0, 0].numpy()
    np.testing.assert_array_equal(w.scene.fig.convviz["output"].text_values(), ref)


def test_dilation_error_text_is_verbatim():
    w = cw.explore_conv(input_size=4)
    w.controls["dilation"].value = 3
    assert w.error == core_error(cv.conv2d, cw.BASE_X[:4, :4], cw.BASE_W[:3, :3], dilation=3)
    assert "dilation" in w.error


def test_step_is_clamped_when_the_output_shrinks():
    w = cw.explore_conv(padding=1)
    w.controls["step"].value = 24
    w.controls["stride"].value = 2  # 5x5 -> 3x3 outputs
    assert w.error is None
    assert w.controls["step"].max == 8 and w.controls["step"].value == 8 and w.scene.step == 8


def test_given_arrays_fix_the_size_sliders():
    x, k = np.arange(36.0).reshape(6, 6) % 4, np.ones((2, 2))
    w = cw.explore_conv(x, k, padding="same")
    assert w.controls["input_size"].disabled and w.controls["input_size"].value == 6
    assert w.controls["kernel_size"].disabled and w.controls["kernel_size"].value == 2
    ref = F.conv2d(F.pad(t4(x), (0, 1, 0, 1)), t4(k))[0, 0].numpy()  # TF SAME, k=2: pad after
    w.controls["step"].value = 35
    np.testing.assert_array_equal(w.scene.fig.convviz["output"].text_values(), ref)


def test_explore_transpose_numbers_and_overlap_match_torch():
    w = cw.explore_transpose(stride=2, padding=1, output_padding=1)
    assert w.error is None
    assert set(w.controls) == {"input_size", "kernel_size", "stride", "padding", "output_padding", "dilation", "step"}
    x, k = cw.BASE_XT[:3, :3], cw.BASE_W[:3, :3]
    w.controls["step"].value = 8
    h = w.scene.fig.convviz
    ref = F.conv_transpose2d(t4(x), t4(k), stride=2, padding=1, output_padding=1)[0, 0].numpy()
    np.testing.assert_array_equal(h["output"].text_values(), ref)
    counts = F.fold(torch.ones(1, 9, 9), (7, 7), 3, stride=2)[0, 0].numpy()
    np.testing.assert_array_equal(h["overlap"].text_values(), np.pad(counts, ((0, 1), (0, 1))))
    assert html.unescape(w.formula.value).endswith(cv.describe_transpose(3, 3, 2, 1, 1, 1) + "</code>")


@pytest.mark.parametrize(
    "params",
    [
        dict(stride=2, output_padding=2),  # output_padding >= max(stride, dilation)
        dict(stride=2, padding="same", output_padding=1),  # SAME fixes the size
        dict(input_size=1, kernel_size=1, stride=1, padding=3),  # crops everything
    ],
)
def test_explore_transpose_invalid_combinations(params):
    w = cw.explore_transpose()
    w.update(**params)
    p = w.params
    expected = core_error(
        cv.conv_transpose2d, cw.BASE_XT[: p["input_size"], : p["input_size"]], cw.BASE_W[: p["kernel_size"], : p["kernel_size"]],
        stride=p["stride"], padding=p["padding"], output_padding=p["output_padding"], dilation=p["dilation"],
    )
    assert w.error == expected and html.escape(expected) in w.message.value
    w.update(input_size=3, kernel_size=3, stride=2, padding=0, output_padding=1)  # back to valid
    assert w.error is None and w.message.value == ""
    assert w.scene.fig.convviz["output"].values.shape == (8, 8)


def test_fast_redraw_is_pixel_identical_to_a_full_draw():
    w = cw.explore_transpose(stride=2, padding=1)
    for step in (3, 7, 1):
        w.controls["step"].value = step
    fast = png_pixels(w.image.value)
    w.figure.canvas.draw()  # everything, from scratch
    full = np.asarray(w.figure.canvas.buffer_rgba())[..., :3]
    np.testing.assert_array_equal(fast, full)


def test_static_snapshot_for_renderers_without_widgets():
    w = cw.explore_conv()
    bundle = w._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "data:image/png;base64," in data["text/html"] and "o = floor" in html.unescape(data["text/html"])


def test_import_convviz_does_not_import_ipywidgets():
    import subprocess
    import sys

    code = "import sys, convviz; convviz.render; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

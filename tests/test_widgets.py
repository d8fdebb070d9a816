"""convviz.widgets in Python (no browser): traits, update(), validation against convviz, the bundled ES
module and CSS, the text/html static version. The browser side is in test_explorer_core.py and
test_explorer_static.py."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import anywidget
import numpy as np
import pytest

import convviz as cv
from convviz import style
from convviz import widgets as cw


def core_error(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as exc:
        fn(*args, **kwargs)
    return str(exc.value)


def static_config(html_text: str) -> dict:
    m = re.search(r"<script type='application/json'>(.*?)</script>", html_text, re.S)
    assert m, html_text[:200]
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_explorers_are_anywidgets_on_the_package_module():
    for w, mode in ((cw.explore_conv(), "conv"), (cw.explore_transpose(), "transpose"), (cw.explore_gradient(), "gradient")):
        assert isinstance(w, anywidget.AnyWidget) and w.mode == mode and w.error == ""
        assert w._css == (cw.ASSET_DIR / "explorer.css").read_text()
        assert w._esm == cw.esm_source()
        assert w.colors == style.COLORS
        for name in cw.PARAMS + ("step", "error", "base", "colors"):
            assert w.trait_metadata(name, "sync"), name


def test_esm_is_one_module_without_imports():
    src = cw.esm_source()
    assert not re.search(r"^\s*import\s", src, re.M), "anywidget loads one module: no relative imports"
    assert len(re.findall(r"^export default", src, re.M)) == 1 and "function render(" in src
    assert (cw.ASSET_DIR / "core.js").read_text() in src


def test_css_defaults_are_the_style_legend():
    css = (cw.ASSET_DIR / "explorer.css").read_text()
    block = css[css.index(".convviz-explorer {"):]
    block = block[: block.index("}")]
    for role, colour in style.COLORS.items():
        assert re.search(rf"--cvx-{role}:\s*{colour};", block, re.I), (role, colour)


def test_update_sets_several_traits_at_once():
    w = cw.explore_conv()
    assert w.update(input_size=7, stride=2, padding="same", dilation=1) is True
    assert (w.input_size, w.stride, w.padding, w.error) == (7, 2, "same", "")
    with pytest.raises(KeyError):
        w.update(strides=2)


@pytest.mark.parametrize(
    "params, call",
    [
        (dict(input_size=4, kernel_size=3, dilation=3),
         lambda: cv.conv2d(np.zeros((4, 4)), np.zeros((3, 3)), 1, 0, 3)),
        (dict(padding=[0, 1, -1, 0]), lambda: cv.conv2d(np.zeros((5, 5)), np.zeros((3, 3)), 1, (0, 1, -1, 0), 1)),
        (dict(padding="full"), lambda: cv.conv2d(np.zeros((5, 5)), np.zeros((3, 3)), 1, "full", 1)),
    ],
)
def test_invalid_update_changes_nothing_and_shows_convvizs_text(params, call):
    w = cw.explore_conv()
    before = w.params
    assert w.update(**params) is False
    assert w.params == before
    assert w.error == core_error(call)


def test_explorer_limits_are_named_with_their_range():
    w = cw.explore_conv()
    assert w.update(input_size=17) is False
    assert w.error == "input_size must be an integer in [1, 16] in this explorer, got 17"
    assert w.update(channels=0) is False and "channels must be an integer in [1, 3]" in w.error


@pytest.mark.parametrize(
    "params",
    [dict(stride=2, output_padding=2), dict(padding="same", output_padding=1), dict(output_size=9),
     dict(padding=3, input_size=1, kernel_size=1)],
)
def test_transpose_invalid_combinations(params):
    w = cw.explore_transpose(input_size=3, kernel_size=3, stride=2, padding=0)
    assert w.update(**params) is False
    p = {**dict(stride=2, padding=0, output_padding=0, output_size=None, input_size=3, kernel_size=3), **params}
    n, k = p["input_size"], p["kernel_size"]
    assert w.error == core_error(cv.conv_transpose2d, np.zeros((n, n)), np.zeros((k, k)), p["stride"], p["padding"],
                                 p["output_padding"], 1, p["output_size"])
    assert w.update(output_padding=1, output_size=None, padding=0, input_size=3, kernel_size=3) is True
    assert w.error == ""


def test_setting_a_trait_directly_revalidates():
    w = cw.explore_transpose(stride=2)
    w.output_padding = 2  # not < max(stride, dilation)
    assert w.error == core_error(cv.conv_transpose2d, np.zeros((3, 3)), np.zeros((3, 3)), 2, 0, 2, 1)
    w.output_padding = 1
    assert w.error == ""


def test_output_size_chosen_among_valid_sizes():
    w = cw.explore_transpose(input_size=3, kernel_size=3, stride=2, padding="same", output_size=5)
    assert w.error == ""
    assert cv.transpose_output_sizes(3, 3, 2, "same") == [5, 6]
    w.output_size = 6
    assert w.error == ""
    w.output_size = 7
    assert "output_size 7 is not reachable" in w.error


def test_given_arrays_fix_sizes_and_channels():
    x = np.arange(42.0).reshape(6, 7)
    k = np.ones((2, 3))
    w = cw.explore_conv(x, k, padding="same")
    assert np.asarray(w.x).shape == (1, 6, 7) and np.asarray(w.w).shape == (1, 1, 2, 3)
    assert (w.channels, w.filters, w.input_size, w.kernel_size, w.error) == (1, 1, 7, 3, "")
    x3 = np.ones((1, 3, 4, 4))
    w3 = np.ones((2, 3, 3, 3))
    e = cw.explore_gradient(x3, w3, stride=1)
    assert (e.channels, e.filters, e.error) == (3, 2, "")
    t = cw.explore_transpose(np.ones((2, 3, 3)), np.ones((2, 1, 3, 3)))
    assert (t.channels, t.filters, t.error) == (2, 1, "")


def test_notebook_calls_of_the_book_still_work():
    x = cw.BASE_X[0, :5, :5].astype(float)
    k = cw.BASE_W[0, 0, :3, :3].astype(float)
    assert cw.explore_conv(x, k).error == ""
    assert cw.explore_conv(x, k, padding="same").error == ""
    assert cw.explore_transpose(input_size=3, kernel_size=3, stride=2, padding=1).error == ""
    g = cw.explore_transpose(input_size=2, kernel_size=3, stride=2, role="gradient")
    assert g.error == "" and g.role == "gradient"


def test_mimebundle_carries_the_static_version():
    w = cw.explore_transpose(stride=2, padding=1, output_padding=1)
    data = w._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "application/vnd.jupyter.widget-view+json" in data
    html_text = data["text/html"]
    assert "class='convviz-explorer-static'" in html_text and "</script>" in html_text
    cfg = static_config(html_text)
    for name in cw.PARAMS + ("step",):
        assert cfg[name] == getattr(w, name), name
    assert cfg["colors"] == style.COLORS and set(cfg["base"]) == {"x", "xt", "w", "delta"}
    # a config cannot close its own <script>
    w2 = cw.explore_conv()
    w2.base = {**w2.base, "note": "</script><b>"}
    assert "</script><b>" not in w2.static_html()


def load_extension():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("convviz_html", Path(__file__).parents[1] / "_ext" / "convviz_html.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    return ext


def test_sphinx_extension_ships_the_explorer_only_where_used(tmp_path):
    from types import SimpleNamespace

    ext = load_extension()
    added = []
    app = SimpleNamespace(add_css_file=lambda f, **kw: added.append(("css", f, kw)),
                          add_js_file=lambda f, **kw: added.append(("js", f, kw)))
    state = SimpleNamespace(attributes={"type": ext.WIDGET_STATE_MIME})
    other = SimpleNamespace(attributes={})
    ctx = {"script_files": [state, other], "body": "<p>no explorer</p>"}
    ext._explorer_page(app, "page", "page.html", ctx, None)
    assert ctx["script_files"] == [other] and added == []
    ctx = {"script_files": [], "body": cw.explore_conv().static_html()}
    ext._explorer_page(app, "page", "page.html", ctx, None)
    assert ("css", "convviz-explorer/explorer.css", {}) in added
    assert ("js", "convviz-explorer/mount.js", {"type": "module"}) in added
    builder = SimpleNamespace(format="html")
    ext._copy_explorer(SimpleNamespace(builder=builder, outdir=str(tmp_path)), None)
    copied = sorted(p.name for p in (tmp_path / "_static" / "convviz-explorer").iterdir())
    assert copied == ["core.js", "explorer.css", "explorer.js", "mount.js"]


def test_the_list_of_explorer_files_is_complete():
    """convviz.explorer's lists name every front-end file once, and a static page gets all mount.js imports."""
    import convviz.explorer as ce

    ext = load_extension()
    on_disk = sorted(p.name for p in ce.DIR.iterdir() if p.suffix in (".js", ".css"))
    assert sorted(ce.STATIC_FILES + ce.JUPYTER_FILES) == on_disk
    assert set(ext._module_imports(ce.DIR / "mount.js")) <= set(ce.STATIC_FILES)
    assert ce.DIR == cw.ASSET_DIR


def test_import_convviz_does_not_import_widget_libraries():
    code = "import sys, convviz; convviz.render; print('ipywidgets' in sys.modules, 'anywidget' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


# -- data and values an explorer cannot show: a ValueError naming them, never a broken page ---------------
@pytest.mark.parametrize("x, words", [
    ([[1.0, np.nan], [0, 1]], "x must be finite"),
    ([[1.0, np.inf], [0, 1]], "x must be finite"),
    (np.zeros((0, 5)), "x must not have an empty axis"),
    ([[1, 2], [3]], "x must be array-like"),
    ([["a"]], "x must have a real numeric dtype"),
    (np.ones((2, 2)) * (1 + 1j), "x must have a real numeric dtype"),
])
def test_data_an_explorer_cannot_show_is_refused_by_name(x, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        cw.explore_conv(x)
    with pytest.raises(ValueError, match=re.escape(words.replace("x ", "w ", 1))):
        cw.explore_conv(w=x)
    e = cw.explore_conv()
    assert e.update(x=x) is False and words in e.error and e.x == []


def test_update_takes_arrays_and_2d_lists_as_the_constructor_does():
    e = cw.explore_conv()
    assert e.update(x=np.ones((1, 5, 5)), w=np.ones((3, 3))) is True, e.error
    assert np.asarray(e.x).shape == (1, 5, 5) and np.asarray(e.w).shape == (1, 1, 3, 3)
    assert e.update(x=[[1, 2, 3], [4, 5, 6], [7, 8, 9]]) is True, e.error
    assert np.asarray(e.x).shape == (1, 3, 3)


def test_numpy_scalars_and_whole_floats_are_plain_numbers_to_the_page():
    e = cw.explore_conv(input_size=np.int64(6), stride=2.0, padding=1.0)
    assert (e.input_size, e.stride, e.padding, e.error) == (6, 2, 1, "")
    assert type(e.stride) is int and type(e.padding) is int
    e.stride = np.int64(3)  # set directly: the page still gets JSON
    cfg = json.loads(re.search(r"<script type='application/json'>(.*?)</script>", e.static_html(), re.S).group(1))
    assert cfg["stride"] == 3 and e.error == ""
    assert e.check(stride=2.0, dilation=np.float64(1)) is None  # the browser takes 2.0 as 2, and so does Python
    assert "stride must be an integer" in e.check(stride=2.5)


@pytest.mark.parametrize("name", ["input_size", "kernel_size", "channels", "filters"])
def test_a_size_that_is_not_an_integer_is_a_value_error_with_the_range(name):
    lo, hi = cw.LIMITS[name]
    with pytest.raises(ValueError, match=re.escape(f"{name} must be an integer in [{lo}, {hi}], got 5.5")):
        cw.explore_conv(**{name: 5.5})


def test_static_config_cannot_end_its_script_block_early():
    e = cw.explore_conv()
    e.padding = "</script><!--<script>"
    html_text = e.static_html()
    payload = re.search(r"<script type='application/json'>(.*?)</script>", html_text, re.S).group(1)
    assert "<" not in payload
    assert json.loads(payload)["padding"] == "</script><!--<script>"


def test_limits_and_choices_are_core_js_ones():
    """Python's check() and core.js apply the same explorer limits and named choices (read from core.js by Node)."""
    core = (cw.ASSET_DIR / "core.js").as_uri()
    out = subprocess.run(["node", "--input-type=module", "-e",
                          f"import {{LIMITS, CHOICES}} from {json.dumps(core)}; console.log(JSON.stringify({{LIMITS, CHOICES}}))"],
                         capture_output=True, text=True, check=True, timeout=60)
    js = json.loads(out.stdout)
    assert {k: tuple(v) for k, v in js["LIMITS"].items()} == cw.LIMITS
    assert {k: tuple(v) for k, v in js["CHOICES"].items()} == cw.CHOICES

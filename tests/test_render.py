"""Renderers: the numbers written in the cells, the highlighted cells and the
overlap counts are checked against PyTorch (or first principles), not against
convviz itself."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import math  # noqa: E402
import re  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

import convviz as cv  # noqa: E402
from convviz import render, style  # noqa: E402
from convviz.render_conv import tap_cells  # noqa: E402

RNG = np.random.default_rng(1234)
X5 = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], float)
K3 = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], float)


def ints(*shape, lo=-2, hi=4):
    return RNG.integers(lo, hi, shape).astype(float)


def t4(a):
    a = torch.tensor(np.asarray(a, float))
    return a.reshape((1,) * (4 - a.dim()) + tuple(a.shape))


def tf_same(i, k, s, d=1):
    """TensorFlow's SAME padding (before, after), from its documented rule."""
    out = math.ceil(i / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - i, 0)
    return total // 2, total - total // 2


def pads_of(padding, hw, k, s, d):
    """(top, bottom, left, right) for a 3x3 kernel on an input of size hw."""
    if padding == "same":
        return (*tf_same(hw[0], k, s, d), *tf_same(hw[1], k, s, d))
    if isinstance(padding, int):
        return (padding,) * 4
    return tuple(padding)


def torch_conv(x, w, s, pads, d):
    t, b, l, r = pads
    return F.conv2d(F.pad(t4(x), (l, r, t, b)), t4(w), stride=s, dilation=d)[0, 0].numpy()


def torch_unfold(x, k, s, pads, d):
    t, b, l, r = pads
    return F.unfold(F.pad(t4(x), (l, r, t, b)), k, dilation=d, stride=s)[0].numpy()


CONV_CASES = [
    dict(stride=1, padding=0, dilation=1),
    dict(stride=1, padding=1, dilation=1),
    dict(stride=2, padding=1, dilation=1),
    dict(stride=2, padding="same", dilation=1),
    dict(stride=1, padding="same", dilation=2),
    dict(stride=2, padding=(0, 1, 2, 0), dilation=1),
    dict(stride=1, padding=2, dilation=2),
]


# ----------------------------------------------------------------------------- sliding window
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"s{c['stride']}-p{c['padding']}-d{c['dilation']}")
def test_sliding_window_writes_torch_outputs_and_moves_the_window(case):
    x, w = ints(5, 6), ints(3, 3)
    s, p, d = case["stride"], case["padding"], case["dilation"]
    pads = pads_of(p, (5, 6), 3, s, d)
    ref = torch_conv(x, w, s, pads, d)
    cols = torch_unfold(x, 3, s, pads, d)
    ho, wo = ref.shape
    last = ho * wo - 1
    for step in sorted({0, 1 % (last + 1), last // 2, last}):
        fig = render.sliding_window(x, w, step=step, **case)
        h = fig.convviz
        out = h["output"].text_values()
        idx = np.arange(ho * wo).reshape(ho, wo)
        np.testing.assert_array_equal(out[idx <= step], ref[idx <= step])  # computed cells: torch's numbers
        assert np.isnan(out[idx > step]).all()  # later cells are still blank
        oy, ox = divmod(step, wo)
        grid = h["input"][0]
        # the window's bounding box: top-left at (oy*s, ox*s) of the padded grid, d(k-1)+1 wide
        box = h["window"][0]
        assert grid.cell_of(box.get_x(), box.get_y()) == (oy * s, ox * s)
        assert (box.get_width(), box.get_height()) == (d * 2 + 1, d * 2 + 1)
        taps = tap_cells(grid, h["taps"][0])
        assert taps == [(oy * s + i * d, ox * s + j * d) for i in range(3) for j in range(3)]
        # the sampled cells show exactly torch's unfold column (padding included)
        under = [grid.text_values()[r, c] for r, c in taps]
        np.testing.assert_array_equal(under, cols[:, step])
        cur = h["current"]
        assert h["output"].cell_of(cur.get_x(), cur.get_y()) == (oy, ox)
        # products written out: the factors are unfold's column and the kernel, the sum torch's output
        lines = [ln.get_text() for ln in h["arithmetic"][0]]
        prods = re.findall(r"(-?[\d.]+)·\(?(-?[\d.]+)\)?", " ".join(lines[:3]))
        assert [float(a) for a, _ in prods] == list(cols[:, step])
        assert [float(b) for _, b in prods] == list(w.ravel())
        assert float(re.match(r"= (-?[\d.]+)", lines[3]).group(1)) == ref[oy, ox]
        assert f"y[{oy},{ox}]" in lines[3]


def test_padding_cells_are_grey_hatched_and_zero():
    fig = render.sliding_window(X5, K3, padding=(1, 2, 0, 1), step=0)
    grid = fig.convviz["input"][0]
    expected = np.ones((8, 6), bool)
    expected[1:6, 0:5] = False
    np.testing.assert_array_equal(grid.pad_mask, expected)
    vals = grid.text_values()
    assert (vals[expected] == 0).all()
    np.testing.assert_array_equal(vals[1:6, 0:5], X5)
    # the hatched patches cover exactly the padding cells
    hatched = grid.pad_collection
    assert hatched.get_hatch() == style.PADDING_HATCH and hatched in fig.axes[0].get_children()
    assert to_hex(hatched.get_facecolor()[0]) == style.PADDING_FILL.lower()
    covered = np.zeros_like(expected)
    for p in grid.pad_patches:
        r, c = grid.cell_of(p.get_x(), p.get_y())
        covered[r : r + int(p.get_height()), c : c + int(p.get_width())] = True
    np.testing.assert_array_equal(covered, expected)
    colors = dict(zip(grid.labels.strings, grid.labels.colors))
    assert grid.labels.colors[0] == style.MUTED_TEXT  # padding "0" muted
    assert colors["3"] == style.TEXT


def test_step_none_shows_every_output_and_no_highlight():
    fig = render.sliding_window(X5, K3, step=None)
    np.testing.assert_array_equal(fig.convviz["output"].text_values(), torch_conv(X5, K3, 1, (0,) * 4, 1))
    assert not fig.convviz["current"].get_visible()
    assert not fig.convviz["window"][0].get_visible()


def test_multichannel_input_is_stacked_and_summed_into_one_cell():
    x, w = ints(3, 4, 4), ints(2, 3, 3, 3)
    ref = F.conv2d(F.pad(torch.tensor(x)[None], (1, 1, 1, 1)), torch.tensor(w))[0].numpy()
    fig = render.sliding_window(x, w, padding=1, step=5, out_channel=1)
    h = fig.convviz
    assert len(h["input"]) == len(h["kernel"]) == 3
    for c in range(3):
        np.testing.assert_array_equal(h["kernel"][c].text_values(), w[1, c])
        np.testing.assert_array_equal(h["input"][c].text_values()[1:-1, 1:-1], x[c])
    oy, ox = divmod(5, 4)
    np.testing.assert_array_equal(h["output"].text_values().ravel()[:6], ref[1].ravel()[:6])
    partials = [float(re.match(r"= (-?[\d.]+)", lines[-1].get_text()).group(1)) for lines in h["arithmetic"]]
    expected = [float((np.pad(x[c], 1)[oy : oy + 3, ox : ox + 3] * w[1, c]).sum()) for c in range(3)]
    assert partials == expected
    total = h["sum"].get_text()
    assert total.startswith(f"y[{oy},{ox}] = ") and total.endswith(f"= {cv.render.fmt(ref[1, oy, ox])}")
    assert sum(partials) == ref[1, oy, ox]


def test_invalid_parameters_raise_the_core_error():
    with pytest.raises(ValueError) as core:
        cv.conv2d(X5, np.ones((7, 7)))
    with pytest.raises(ValueError) as fig:
        render.sliding_window(X5, np.ones((7, 7)))
    assert str(fig.value) == str(core.value)
    with pytest.raises(ValueError, match="step"):
        render.sliding_window(X5, K3, step=9)


# ----------------------------------------------------------------------------- im2col
@pytest.mark.parametrize("case", [dict(stride=1, padding=0), dict(stride=2, padding=1), dict(stride=1, padding=1, dilation=2)])
def test_im2col_figure_columns_and_gemm_match_torch(case):
    x, w = ints(5, 5), ints(3, 3)
    s, p, d = case["stride"], case["padding"], case.get("dilation", 1)
    cols = torch_unfold(x, 3, s, (p,) * 4, d)
    ref = torch_conv(x, w, s, (p,) * 4, d)
    fig = render.im2col_figure(x, 3, w=w, **case)
    h = fig.convviz
    np.testing.assert_array_equal(h["patches"].values, cols)
    if h["patches"].labels is not None:
        np.testing.assert_array_equal(h["patches"].text_values(), cols)
    np.testing.assert_array_equal(h["gemm"].values, ref.reshape(1, -1))
    np.testing.assert_array_equal(h["w_flat"].values, w.reshape(1, -1))
    np.testing.assert_array_equal(h["output"][0].values, ref)
    # one step: the window and the column light up together, later columns are hidden
    L = cols.shape[1]
    step = L // 2
    scene = h["scene"]
    scene.set_step(step)
    oy, ox = divmod(step, ref.shape[1])
    box = h["window"][0]
    assert h["input"][0].cell_of(box.get_x(), box.get_y()) == (oy * s, ox * s)
    assert h["column"].get_x() == h["patches"].x0 + step and h["column"].get_visible()
    if h["patches"].labels is not None:
        shown = h["patches"].text_values()
        np.testing.assert_array_equal(shown[:, : step + 1], cols[:, : step + 1])
        assert np.isnan(shown[:, step + 1 :]).all()


def test_im2col_marks_entries_that_come_from_padding():
    fig = render.im2col_figure(X5[:3, :3], 3, padding=1, step=None)
    grid = fig.convviz["patches"]
    ones = F.unfold(torch.ones(1, 1, 3, 3), 3, padding=1)[0].numpy()
    colors = np.array(grid.labels.colors).reshape(grid.shape)
    np.testing.assert_array_equal(colors == style.MUTED_TEXT, ones == 0)


# ----------------------------------------------------------------------------- col2im scatter
TRANSPOSE_CASES = [
    dict(stride=1, padding=0, output_padding=0, dilation=1),
    dict(stride=2, padding=0, output_padding=0, dilation=1),
    dict(stride=2, padding=1, output_padding=1, dilation=1),
    dict(stride=3, padding=1, output_padding=2, dilation=1),
    dict(stride=1, padding=1, output_padding=0, dilation=2),
    dict(stride=2, padding=0, output_padding=1, dilation=2),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=lambda c: "-".join(f"{k[0]}{v}" for k, v in c.items()))
def test_col2im_scatter_running_canvas_counts_and_output_match_torch(case):
    x, w = ints(3, 3, lo=1, hi=4), ints(3, 3)
    s, p, op, d = case["stride"], case["padding"], case["output_padding"], case["dilation"]
    final = F.conv_transpose2d(t4(x), t4(w), stride=s, padding=p, output_padding=op, dilation=d)[0, 0].numpy()
    for step in (0, 4, 8):
        fig = render.col2im_scatter(x, w, step=step, **case)
        h = fig.convviz
        keep = (np.arange(9) <= step).reshape(3, 3)
        # the uncropped canvas after `step` patches: torch's transposed conv of the first step+1 pixels
        canvas = F.conv_transpose2d(t4(x * keep), t4(w), stride=s, dilation=d, output_padding=op)[0, 0].numpy()
        np.testing.assert_array_equal(h["canvas"].values, canvas)
        np.testing.assert_array_equal(h["canvas"].text_values(), canvas)
        # overlap counts = F.fold of ones (the first step+1 columns)
        ones = torch.tensor(np.tile(keep.ravel().astype(float), (9, 1)))[None]
        full0 = ((3 - 1) * s + d * 2 + 1,) * 2
        counts = F.fold(ones, full0, 3, dilation=d, stride=s)[0, 0].numpy()
        counts = np.pad(counts, ((0, op), (0, op)))
        np.testing.assert_array_equal(h["overlap"].text_values(), counts)
        np.testing.assert_array_equal(h["output"].values, canvas[p : canvas.shape[0] - p, p : canvas.shape[1] - p])
        i, j = divmod(step, 3)
        cur = h["current"]
        assert h["x"].cell_of(cur.get_x(), cur.get_y()) == (i, j)
        for grid, box in zip((h["canvas"], h["overlap"]), h["footprint"]):
            assert grid.cell_of(box.get_x(), box.get_y()) == (i * s, j * s)
        np.testing.assert_array_equal(h["patch"].text_values(), x[i, j] * w)
        assert h["patch_title"].get_text() == f"patch = x[{i},{j}]·w"
    np.testing.assert_array_equal(h["output"].text_values(), final)  # last step: the whole transposed conv


def test_col2im_scatter_same_padding_and_gradient_role():
    g, w = ints(3, 3, lo=1, hi=4), ints(3, 3)
    fig = render.col2im_scatter(g, w, stride=2, padding="same", role="gradient")
    full = F.conv_transpose2d(t4(g), t4(w), stride=2)[0, 0].numpy()  # 7x7, SAME keeps 6 = 3*2
    before, after = tf_same(6, 3, 2)
    np.testing.assert_array_equal(fig.convviz["output"].text_values(), full[before : 7 - after, before : 7 - after])
    assert fig.convviz["x"].role == fig.convviz["output"].role == "gradient"  # dL/dy in, dL/dx out
    assert fig.convviz["x"].image.cmap(1.0) == style.CMAPS["gradient"](1.0)
    assert fig.convviz["patch_title"].get_text().startswith("patch = g[")


def test_overlap_map_is_col2im_of_ones_and_flags_checkerboards():
    fig = render.overlap_map(3, 2, 4, padding=1)
    ones = torch.ones(1, 9, 16)
    counts = F.fold(ones, (9, 9), 3, stride=2)[0, 0].numpy()
    np.testing.assert_array_equal(fig.convviz["overlap"].text_values(), counts)
    np.testing.assert_array_equal(fig.convviz["output"].text_values(), counts[1:-1, 1:-1])
    assert "uneven" in fig.convviz["stats"].get_text()
    even = render.overlap_map(4, 2, 4, padding=2)  # k a multiple of s, the ragged border cropped
    assert "uniform" in even.convviz["stats"].get_text()
    assert (even.convviz["output"].text_values() == 4).all()


# ----------------------------------------------------------------------------- Jacobians
def test_jacobian_grids_match_torch_autograd_and_highlight_the_entry():
    x, w = ints(4, 4), ints(3, 3, lo=1, hi=4)
    J = torch.autograd.functional.jacobian(lambda t: F.conv2d(t[None, None], t4(w))[0, 0], torch.tensor(x)).numpy()
    fig = render.jacobian_grids("conv2d", x, w, highlight=((0, 1), (1, 2)))
    h = fig.convviz
    for p in range(2):
        for q in range(2):
            np.testing.assert_array_equal(h["grids"][p, q].text_values(), J[p, q])
    C = J.reshape(4, 16)
    np.testing.assert_array_equal(h["C"].text_values(), C)
    np.testing.assert_array_equal(h["C_T"].text_values(), C.T)
    g = h["grids"][0, 1]
    assert g.cell_of(h["entry"].get_x(), h["entry"].get_y()) == (1, 2) and h["entry"].get_visible()
    assert h["C"].cell_of(h["C_entry"].get_x(), h["C_entry"].get_y()) == (1, 6)
    assert h["C_T"].cell_of(h["C_T_entry"].get_x(), h["C_T_entry"].get_y()) == (6, 1)
    assert h["C"].cell_of(h["C_row"].get_x(), h["C_row"].get_y()) == (1, 0)
    assert f"= {J[0, 1, 1, 2]:g}" in h["caption"].get_text()


def test_jacobian_grids_wrt_kernel_and_transposed():
    x, w = ints(2, 2, lo=1, hi=4), ints(3, 3)
    J = torch.autograd.functional.jacobian(
        lambda t: F.conv_transpose2d(t4(x), t[None, None], stride=2)[0, 0], torch.tensor(w)
    ).numpy()
    fig = render.jacobian_grids(cv.conv_transpose2d, x, w, wrt="kernel", stride=2, highlight=(2, 1))
    grids = fig.convviz["grids"]
    assert grids.shape == J.shape[:2]
    for p, q in np.ndindex(*grids.shape):
        np.testing.assert_array_equal(grids[p, q].values, J[p, q])
    np.testing.assert_array_equal(fig.convviz["C"].values, J.reshape(J.shape[0] * J.shape[1], -1))
    assert not fig.convviz["entry"].get_visible()


def test_conv_matrix_figure_is_the_matrix_of_torch_conv():
    w, x = ints(3, 3), ints(4, 4)
    basis = np.eye(16).reshape(16, 1, 4, 4)
    C = F.conv2d(torch.tensor(basis), t4(w)).reshape(16, 4).numpy().T  # column j = conv of basis vector j
    fig = render.conv_matrix_figure((4, 4), w, x=x, highlight=(1, 5))
    h = fig.convviz
    np.testing.assert_array_equal(h["matrix"].text_values(), C)
    np.testing.assert_array_equal(h["result"].text_values().ravel(), torch_conv(x, w, 1, (0,) * 4, 1).ravel())
    assert h["matrix"].cell_of(h["row"].get_x(), h["row"].get_y()) == (1, 0)
    assert h["matrix"].cell_of(h["entry"].get_x(), h["entry"].get_y()) == (1, 5)
    g = ints(2, 2)
    figt = render.conv_matrix_figure((4, 4), w, transpose=True, x=g)
    np.testing.assert_array_equal(figt.convviz["matrix"].values, C.T)
    ref = torch.nn.grad.conv2d_input((1, 1, 4, 4), t4(w), t4(g))[0, 0].numpy()
    np.testing.assert_array_equal(figt.convviz["result"].values.ravel(), ref.ravel())


# ----------------------------------------------------------------------------- animations
ANIMATIONS = {
    "conv": lambda: render.animate_conv(X5, K3, padding=1),
    "conv_multichannel": lambda: render.animate_conv(np.stack([X5, X5.T]), np.stack([K3, K3.T]), stride=2),
    "im2col": lambda: render.animate_im2col(X5[:4, :4], 3, w=K3),
    "transpose": lambda: render.animate_transpose(X5[:3, :3] + 1, K3, stride=2, padding=1, output_padding=1),
    "overlap": lambda: render.animate_overlap(3, 2, 3),
    "jacobian": lambda: render.animate_jacobian("conv2d", X5[:4, :4], K3 + 1),
    "matrix": lambda: render.animate_conv_matrix((4, 4), K3 + 1, x=X5[:4, :4]),
}


@pytest.mark.parametrize("name", list(ANIMATIONS))
def test_animations_are_self_contained_and_small(name):
    anim = ANIMATIONS[name]()
    html = anim._repr_html_()
    assert html == anim.html and anim.nbytes == len(html.encode())
    assert anim.nbytes <= 1_000_000
    # no CDN, nothing fetched: no URLs, stylesheets or external scripts
    assert not re.search(r"https?://", html) and "<link" not in html and not re.search(r"<script[^>]*\bsrc", html)
    assert len(re.findall(r"data:image/png;base64,", html)) == anim.n_frames >= 2
    assert "anim-slider" in html and "Next frame" in html  # the player controls are there


def test_large_animation_is_subsampled_under_the_budget():
    x = np.random.default_rng(0).integers(0, 4, (14, 14)).astype(float)
    anim = render.animate_conv(x, K3, padding=1, dpi=100)
    assert anim.n_frames <= 36 and anim.nbytes <= 1_000_000


# ----------------------------------------------------------------------------- style & output formats
def test_one_colour_scheme():
    assert set(style.COLORS) == {"input", "kernel", "output", "padding", "gradient", "highlight", "overlap"}
    assert all(re.fullmatch(r"#[0-9A-Fa-f]{6}", c) for c in style.COLORS.values())
    fig = render.sliding_window(X5, K3, padding=1)
    h = fig.convviz
    assert h["input"][0].image.cmap(1.0) == style.CMAPS["input"](1.0)
    assert h["kernel"][0].image.cmap(1.0) == style.CMAPS["kernel"](1.0)
    assert h["output"].image.cmap(1.0) == style.CMAPS["output"](1.0)
    assert to_hex(h["current"].get_edgecolor()) == style.COLORS["highlight"].lower()
    gids = {a.get_gid() for a in fig.axes[0].get_children()}
    assert {"convviz:legend:input", "convviz:legend:kernel", "convviz:legend:output", "convviz:legend:padding"} <= gids


def test_figures_render_to_png_and_svg_with_their_numbers():
    fig = render.sliding_window(X5, K3, step=None)
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import io

    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    for v in torch_conv(X5, K3, 1, (0,) * 4, 1).ravel():  # vector output falls back to real text
        assert f"{int(v)}" in svg

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
from convviz.render.text import FastText  # noqa: E402

RNG = np.random.default_rng(1234)
X5 = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], float)
K3 = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], float)


def tap_cells(grid, taps):
    """(row, col) of every sampled cell of a window's taps (the inset outlines drawn by ``render.grid.Window``)."""
    return [grid.cell_of(*(np.asarray(p.vertices)[:4].min(axis=0))) for p in taps.get_paths()]


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
    # the patch is an upstream-gradient entry times the kernel, and says so
    assert fig.convviz["patch_title"].get_text() == "patch = dL/dy[2,2]·w"  # step=None: the last patch added
    one = render.col2im_scatter(g, w, stride=2, padding="same", role="gradient", step=4)
    assert one.convviz["patch_title"].get_text() == "patch = dL/dy[1,1]·w"
    np.testing.assert_array_equal(one.convviz["patch"].text_values(), g[1, 1] * w)
    assert f"dL/dy[1,1] = {int(g[1, 1])}" in one.convviz["caption"].get_text()
    assert "x[" not in one.convviz["patch_title"].get_text() + one.convviz["caption"].get_text()


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


def interior_from_torch(k, s, i):
    """Canvas cells (one axis) whose count equals that of the same cell with the input extended on
    both sides: no window that could reach them is missing.  (k, s, i): kernel, stride, input size."""
    pad = k  # extend the input by k pixels on each side: enough windows for any canvas cell
    n = (i + 2 * pad - 1) * s + k
    big = F.fold(torch.ones(1, k, i + 2 * pad), (1, n), (1, k), stride=(1, s))[0, 0, 0].numpy()
    real = F.fold(torch.ones(1, k, i), (1, (i - 1) * s + k), (1, k), stride=(1, s))[0, 0, 0].numpy()
    same = real == big[pad * s : pad * s + len(real)]
    idx = np.flatnonzero(same)
    assert (np.diff(idx) == 1).all()  # one contiguous run
    return idx[0], idx[-1], real


@pytest.mark.parametrize("k,s,i,uniform", [(4, 2, 4, True), (3, 2, 4, False), (6, 3, 3, True), (5, 2, 5, False), (3, 1, 3, True)])
def test_overlap_verdict_judges_the_interior_not_the_border(k, s, i, uniform):
    lo, hi, axis = interior_from_torch(k, s, i)
    counts = F.fold(torch.ones(1, k * k, i * i), ((i - 1) * s + k,) * 2, k, stride=s)[0, 0].numpy()
    inner = counts[lo : hi + 1, lo : hi + 1]
    assert (inner.min() == inner.max()) == uniform  # the premise, from torch alone
    assert counts.min() < counts.max()  # ... while the border alone would always look uneven
    fig = render.overlap_map(k, s, i)  # no padding: the output is the whole canvas
    h = fig.convviz
    np.testing.assert_array_equal(h["overlap"].text_values(), counts)
    assert h["output"] is h["overlap"]  # one grid: the output is the canvas
    stats = h["stats"].get_text()
    assert ("uniform" in stats) == uniform and ("uneven" in stats) == (not uniform)
    assert (f"all {int(inner.min())}" if uniform else f"{int(inner.min())}..{int(inner.max())}") in stats
    box = h["interior"]  # outlined on the canvas: exactly the interior cells
    assert box.get_visible()
    assert h["overlap"].cell_of(box.get_x(), box.get_y()) == (lo, lo)
    assert (box.get_width(), box.get_height()) == (hi - lo + 1, hi - lo + 1)
    assert f"rows {lo}..{hi}, cols {lo}..{hi}" in h["stats_text"] and "interior" in h["stats_text"]


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
    captions = " ".join(c.get_text() for c in (h["caption"], h["caption2"]) if c is not None)  # 2 lines when narrow
    assert f"∂y[0,1]/∂x[1,2] = J[0,1,1,2] = C[1,6] = {J[0, 1, 1, 2]:g}" in captions
    assert f"has {np.count_nonzero(J[0, 1])} nonzero entries (of 16)" in captions


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


# ----------------------------------------------------------------------------- readability in the book
# The book's text column is 688 px wide at a 1280 px window; figures are shown at their dpi
# (100 for figures, the animation's dpi otherwise) and scaled down by the browser when wider.
COLUMN_PX = 688
RNG3 = np.random.default_rng(0)
X3, W3 = RNG3.integers(0, 4, (3, 6, 6)).astype(float), RNG3.integers(-1, 2, (3, 4, 4)).astype(float)
X9 = np.arange(1.0, 10.0).reshape(3, 3)
BOOK_FIGURES = {  # the chapters' own calls (the ones a screenshot review found scaled down, and the rest)
    "ch1 three channels": lambda: render.sliding_window(X3, W3, step=0),
    "ch1 im2col": lambda: render.im2col_figure(X5, 3, w=K3),
    "ch2 SAME padding": lambda: render.sliding_window(X9, K3[:2, :2] + 3, padding="same", step=8),
    "ch2 SAME input gradient": lambda: render.col2im_scatter(X9 - 5, K3[:2, :2] + 3, padding="same", role="gradient"),
    "ch3 SAME 5 or 6": lambda: render.sliding_window(cv.zero_insert(X9, 2), np.rot90(X9, 2), padding=(2, 1, 2, 1), step=0),
    "ch3 GEMM + col2im": lambda: render.col2im_scatter(np.ones((2, 2)), np.ones((3, 3)), stride=2, padding=1, output_padding=1),
    "ch3 checkerboard": lambda: render.overlap_map(3, 2, 4),
    "ch3 checkerboard k4": lambda: render.overlap_map(4, 2, 4, padding=2),
    "ch3 matrix": lambda: render.conv_matrix_figure((4, 4), K3),
    "ch4 jacobian": lambda: render.jacobian_grids(cv.conv2d, X9, K3[:2, :2], wrt="input", highlight=(0, 0), transpose=False),
    "ch4 transposed jacobian": lambda: render.jacobian_grids(cv.conv_transpose2d, X9, K3[:2, :2], wrt="input",
                                                             highlight=((2, 1), (1, 1)), matrix=False, transpose=False),
    "ch1 im2col orders": lambda: render.im2col_orders(X3[:, :3, :3], 2),
}


def fast_texts(fig):
    return [a for a in fig.axes[0].get_children() if isinstance(a, FastText)]


@pytest.mark.parametrize("name", list(BOOK_FIGURES))
def test_book_figures_fit_the_text_column_with_readable_text(name):
    fig = BOOK_FIGURES[name]()
    dpi = fig.dpi
    w_px, h_px = fig.get_size_inches() * dpi
    assert w_px <= 1.07 * COLUMN_PX  # shown at >= 94 % of its pixel size, most at 100 %
    shown = min(1.0, COLUMN_PX / w_px)
    pt_on_screen = lambda pt: pt * dpi / 72 * shown * 0.75  # noqa: E731  (CSS pt: 96 px per inch)
    grids = [g for v in fig.convviz.values() for g in (v if isinstance(v, (list, np.ndarray)) else [v])
             if isinstance(g, render.Grid)]
    labels = [lay for g in grids for lay in g.index_labels]
    assert labels or name == "ch4 transposed jacobian", "the grids have row/column indices"  # (its 16 grids have titles)
    for lay in labels:
        assert pt_on_screen(lay.fontsize) >= 8.0 and set(lay.colors) == {style.INDEX_TEXT}
    assert to_hex(style.INDEX_TEXT) <= "#555555"  # dark grey, not the light grey of padding zeros
    texts = fast_texts(fig)
    caption_like = [t for t in texts if t is fig.convviz["caption"] or t.get_text() in style.LABELS.values()]
    assert len(caption_like) >= 2  # the step caption and the legend
    for t in caption_like:
        assert pt_on_screen(t.fontsize) >= 10.0, (t.get_text(), t.fontsize)
    # nothing cut at the edges: the one-pixel frame of the picture is blank
    import io

    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(fig._repr_png_())).convert("L"))
    frame = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    assert (frame == 255).all()


def test_many_panels_wrap_onto_rows_instead_of_one_long_row():
    # three channels: one row per channel (input, kernel, products), the output under the kernels
    fig = render.sliding_window(X3, W3, step=0)
    h = fig.convviz
    last = h["input"][-1]
    assert h["output"].y0 >= last.y0 + last.height + 1  # a row of its own, below the channels
    assert h["output"].x0 >= h["kernel"][0].x0 - 1e-9
    # the products stay next to their kernel rows: line i is level with kernel row i
    for c in range(3):
        k = h["kernel"][c]
        ys = [ln.xy[0][1] for ln in h["arithmetic"][c][:4]]
        assert ys == [k.y0 + i + 0.5 for i in range(4)]
    # one small channel still fits one row: output right of the products
    one = render.sliding_window(X5, K3, step=0).convviz
    assert one["output"].y0 == one["input"][0].y0 and one["output"].x0 > one["kernel"][0].x0
    # col2im: what is scattered (x, kernel, patch) above where it lands (canvas, overlap, output)
    c = render.col2im_scatter(X9 - 5, K3[:2, :2] + 3, padding="same", role="gradient").convviz
    top = max(g.y0 + g.height for g in (c["x"], c["kernel"], c["patch"]))
    assert all(g.y0 > top for g in (c["canvas"], c["overlap"], c["output"]))
    assert c["canvas"].y0 == c["overlap"].y0 == c["output"].y0


def test_animation_and_widget_dpi_keep_text_size_and_fit_the_column():
    # at 80 dpi a layout gets the column's 688 px and text the same pixel size as at 100 dpi
    scene = render.Col2imScene(X9, X9, 2, 1)
    scene.dpi = 80
    fig80 = scene.draw()
    fig100 = render.col2im_scatter(X9, X9, stride=2, padding=1)
    assert fig80.dpi == 80 and fig80.get_size_inches()[0] * 80 <= 1.07 * COLUMN_PX
    cap80, cap100 = fig80.convviz["caption"], fig100.convviz["caption"]
    assert cap80.fontsize * 80 == pytest.approx(cap100.fontsize * 100)
    anim = render.animate_transpose(X9, X9, stride=2, padding=1)  # default dpi 80
    assert anim.size_px[0] <= 1.07 * COLUMN_PX and anim.size_px[1] <= 800


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


# ----------------------------------------------------------------------------- pictures that show their point
def _luminance(rgba):
    c = np.asarray(rgba, float)[:3]
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def legend_gids(fig):
    return {a.get_gid() for a in fig.axes[0].get_children() if (a.get_gid() or "").startswith("convviz:legend:")}


def test_structural_zeros_are_drawn_unlike_zero_weights():
    w = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0], [2.0, 1.0, 0.0]])  # zero-valued weights inside the band
    basis = np.eye(16).reshape(16, 1, 4, 4)
    C = F.conv2d(torch.tensor(basis), t4(w)).reshape(16, 4).numpy().T
    reads = F.conv2d(torch.tensor(basis), torch.ones(1, 1, 3, 3, dtype=torch.float64)).reshape(16, 4).numpy().T != 0
    fig = render.conv_matrix_figure((4, 4), w)
    grid = fig.convviz["matrix"]
    np.testing.assert_array_equal(grid.structural, ~reads)  # structural = the output does not read that input
    np.testing.assert_array_equal(grid.text_values(), C)  # numbers (and "·" = 0) still read back as C
    zero_weight = reads & (C == 0)
    assert zero_weight.any() and (~reads).any()
    fills = grid.fill_colors()
    colors = np.array(grid.labels.colors).reshape(grid.shape)
    strings = np.array(grid.labels.strings).reshape(grid.shape)
    for (i, j), structural in np.ndenumerate(~reads):
        if structural:
            assert to_hex(fills[i, j]) == style.STRUCTURAL_FILL.lower() and strings[i, j] == style.STRUCTURAL_MARK
            assert colors[i, j] == style.MUTED_TEXT
        elif zero_weight[i, j]:  # a weight that happens to be 0: a black "0" on the scale's colour of 0
            assert strings[i, j] == "0" and colors[i, j] == style.TEXT
            assert to_hex(fills[i, j]) == to_hex(grid.cmap(grid.norm(0.0)))
            assert to_hex(fills[i, j]) != style.STRUCTURAL_FILL.lower()
    assert "convviz:legend:structural" in legend_gids(fig)
    # Cᵀ: the same pattern transposed; Jacobian grids: structural = torch's Jacobian at all-ones is 0
    figt = render.conv_matrix_figure((4, 4), w, transpose=True)
    np.testing.assert_array_equal(figt.convviz["matrix"].structural, ~reads.T)
    x = ints(4, 4)
    ones = torch.autograd.functional.jacobian(lambda t: F.conv2d(t[None, None], torch.ones(1, 1, 3, 3, dtype=torch.float64))[0, 0],
                                              torch.ones(4, 4, dtype=torch.float64)).numpy()
    h = render.jacobian_grids("conv2d", x, w).convviz
    np.testing.assert_array_equal(h["C"].structural, ones.reshape(4, 16) == 0)
    np.testing.assert_array_equal(h["C_T"].structural, ones.reshape(4, 16).T == 0)
    for p, q in np.ndindex(2, 2):
        np.testing.assert_array_equal(h["grids"][p, q].structural, ones[p, q] == 0)
    # a grid with no structural zeros has none
    assert not render.sliding_window(X5, K3).convviz["kernel"][0].structural.any()


def test_matrix_axes_are_titled_output_and_input_pixel_and_swap_for_the_transpose():
    fig = render.conv_matrix_figure((4, 4), K3)
    texts = [t.get_text() for t in fig.convviz["axis_titles"]]
    assert texts[:-1] == ["output", "pixel", "y[p,q]"] and texts[-1] == "input pixel x[i,j]"
    figt = render.conv_matrix_figure((4, 4), K3, transpose=True)
    texts = [t.get_text() for t in figt.convviz["axis_titles"]]
    assert texts[:-1] == ["input", "pixel", "x[i,j]"] and texts[-1] == "output pixel y[p,q]"
    h = render.jacobian_grids("conv2d", X9, K3[:2, :2]).convviz
    assert [t.get_text() for t in h["C"].axis_texts][-1] == "input pixel x[i,j]"
    assert [t.get_text() for t in h["C_T"].axis_texts][-1] == "output pixel y[p,q]"
    hk = render.jacobian_grids("conv2d", X9, K3[:2, :2], wrt="kernel").convviz
    assert [t.get_text() for t in hk["C"].axis_texts][-1] == "kernel weight w[i,j]"
    # the row title sits left of the row indices, the column title above the column indices
    g, (*rows, col) = fig.convviz["matrix"], fig.convviz["axis_titles"]
    assert all(t.xy[0][0] < g.x0 - 0.5 for t in rows) and col.xy[0][1] < g.y0 - 0.5


SIGNED = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def signed_grids():
    x = X5 - 1  # has -1 and 0
    yield "sliding input", render.sliding_window(x, SIGNED, step=4).convviz["input"][0]
    yield "sliding kernel", render.sliding_window(x, SIGNED, step=4).convviz["kernel"][0]
    yield "sliding output", render.sliding_window(x, SIGNED, step=None).convviz["output"]
    h = render.im2col_figure(x, 3, w=SIGNED).convviz
    yield "im2col patches", h["patches"]
    yield "im2col w_flat", h["w_flat"]
    yield "im2col gemm", h["gemm"]
    c = render.col2im_scatter(X9 - 5, SIGNED, stride=2).convviz
    for key in ("x", "kernel", "canvas", "output"):
        yield f"col2im {key}", c[key]
    j = render.jacobian_grids("conv2d", X9, np.array([[1.0, -1.0], [0.0, 2.0]])).convviz
    yield "jacobian grid", j["grids"][0, 0]
    yield "jacobian C", j["C"]
    yield "conv matrix", render.conv_matrix_figure((4, 4), SIGNED).convviz["matrix"]


def test_signed_grids_share_one_diverging_scale_centred_at_zero():
    for name, grid in signed_grids():
        assert grid.signed and grid.cmap.name.startswith("convviz_signed"), name
        assert grid.norm.vmin == -grid.norm.vmax > -np.inf, name  # symmetric around 0
        assert grid.norm(0.0) == pytest.approx(0.5), name
        # -1 is not lighter than 0, and +1 and -1 are equally far from 0
        lum = lambda v: _luminance(grid.cmap(grid.norm(v)))  # noqa: E731
        m = grid.norm.vmax
        assert lum(-m) < lum(0.0) and lum(m) < lum(0.0), name
        assert abs(grid.norm(-m) - 0.5) == pytest.approx(abs(grid.norm(m) - 0.5)), name
    # non-negative data keeps its role's light ramp
    h = render.sliding_window(X5, K3).convviz
    assert not h["kernel"][0].signed and h["kernel"][0].image.cmap(1.0) == style.CMAPS["kernel"](1.0)
    # one place decides: style.value_scale
    cm, norm, signed = style.value_scale([[-1.0, 3.0]], "gradient")
    assert signed and cm is style.DIVERGING and (norm.vmin, norm.vmax) == (-3.0, 3.0)
    # the channels of a multi-channel kernel share one scale
    k3 = render.sliding_window(X3, W3, step=0).convviz["kernel"]
    assert len({(g.norm.vmin, g.norm.vmax) for g in k3}) == 1


def test_black_numbers_stay_readable_on_every_shade():
    for name, cm in list(style.CMAPS.items()) + [("signed", style.DIVERGING)]:
        worst = min(style.contrast(style.TEXT, cm(v)) for v in np.linspace(0, 1, 101))
        assert worst >= 4.5, (name, worst)
    # the cells' numbers are black on every signed grid (no shade needs white text)
    for name, grid in signed_grids():
        if grid.labels is not None:
            assert "#FFFFFF" not in grid.labels.colors, name
    assert style.text_color("#111111") == "#FFFFFF" and style.text_color(style.DIVERGING(0.0)) == style.TEXT


def test_legends_list_only_what_is_drawn():
    plain = legend_gids(render.conv_matrix_figure((4, 4), K3))
    assert "convviz:legend:highlight" not in plain  # no highlight drawn
    assert "convviz:legend:signed" not in plain and "convviz:legend:kernel" in plain
    assert "convviz:legend:highlight" in legend_gids(render.conv_matrix_figure((4, 4), K3, highlight=1))
    signed = legend_gids(render.conv_matrix_figure((4, 4), SIGNED))
    assert {"convviz:legend:signed", "convviz:legend:structural"} <= signed
    done = legend_gids(render.sliding_window(X5, K3, step=None))
    assert "convviz:legend:highlight" not in done and "convviz:legend:padding" not in done
    assert "convviz:legend:highlight" in legend_gids(render.sliding_window(X5, K3, padding=1, step=0))
    assert "convviz:legend:padding" in legend_gids(render.sliding_window(X5, K3, padding=1, step=0))
    assert "convviz:legend:highlight" not in legend_gids(render.overlap_map(3, 2, 4))
    # a role whose grids are all signed shows its border only (white swatch), the scale gets its own entry
    fig = render.sliding_window(X5, SIGNED, step=0)
    sw = {a.get_gid(): a for a in fig.axes[0].get_children() if a.get_gid() in ("convviz:legend:kernel", "convviz:legend:input")}
    assert to_hex(sw["convviz:legend:kernel"].get_facecolor()) == "#ffffff"
    assert to_hex(sw["convviz:legend:input"].get_facecolor()) == style.FILL["input"].lower()
    assert "convviz:legend:signed" in legend_gids(fig)


def test_im2col_links_each_window_to_its_column():
    fig = render.im2col_figure(X5, 3, w=K3)  # the finished picture: one hue per window
    h = fig.convviz
    assert len(h["links"]) == 9
    grid, patches = h["input"][0], h["patches"]
    for n, (col, ring) in enumerate(h["links"]):
        p, q = divmod(n, 3)
        assert to_hex(col.get_edgecolor()) == to_hex(ring.get_edgecolor()) == style.WINDOW_HUES[n].lower()
        assert patches.cell_of(col.get_x() - 0.07, col.get_y() - 0.07) == (0, n)  # around column n ...
        cx, cy = ring.center  # ... and on the centre of window n (top-left (p, q), 3x3)
        assert (cx - grid.x0, cy - grid.y0) == pytest.approx((q + 1.5, p + 1.5))
    assert len(set(style.WINDOW_HUES)) == len(style.WINDOW_HUES)
    assert "convviz:legend:windows" in legend_gids(fig)
    # one step: the window and its column get the same outline (colour, width, dashes), the links hide
    for d in (1, 2):
        f = render.im2col_figure(X5, 2, dilation=d, step=3)
        box, column = f.convviz["window"][0], f.convviz["column"]
        assert to_hex(box.get_edgecolor()) == to_hex(column.get_edgecolor())
        assert box.get_linewidth() == column.get_linewidth() and box.get_linestyle() == column.get_linestyle()
        assert not f.convviz["links"] or not any(m.get_visible() for ms in f.convviz["links"] for m in ms)
    # the axis titles say what rows and columns are
    titles = [t.get_text() for t in h["axis_titles"]]
    assert titles[:-1] == ["rows", "(i,j) =", "kernel", "row, col"] and titles[-1] == "columns: window l = 3·p + q"
    three = render.im2col_figure(X3[:, :4, :4], 3).convviz
    assert [t.get_text() for t in three["axis_titles"]][:3] == ["rows", "(c,i,j) =", "channel,"]


@pytest.mark.parametrize("case", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2), dict(kernel_size=2, dilation=2)])
def test_im2col_orders_rows_are_tensorflow_and_pytorch_orders(case):
    tf = pytest.importorskip("tensorflow")
    C, H, W = 3, 5, 5
    c, h, w = np.meshgrid(np.arange(C), np.arange(H), np.arange(W), indexing="ij")
    x = (100 * c + 10 * h + w).astype(float)  # every value names its (channel, row, col)
    k = case["kernel_size"]
    kh, kw = (k, k) if isinstance(k, int) else k
    s, d = case.get("stride", 1), case.get("dilation", 1)
    fig = render.im2col_orders(x, **case)
    hnd = fig.convviz
    # PyTorch: F.unfold
    P_torch = F.unfold(torch.tensor(x)[None], (kh, kw), stride=s, dilation=d)[0].numpy()
    np.testing.assert_array_equal(hnd["torch"].values, P_torch)
    # TensorFlow: extract_patches on NHWC, last axis flattened per window -> (L, kh*kw*C) -> transposed
    patches = tf.image.extract_patches(x.transpose(1, 2, 0)[None], sizes=[1, kh, kw, 1], strides=[1, s, s, 1],
                                       rates=[1, d, d, 1], padding="VALID").numpy()
    P_tf = patches.reshape(-1, patches.shape[-1]).T
    np.testing.assert_array_equal(hnd["tf"].values, P_tf)

    def decode(v):  # window 0 starts at (0, 0): its entry of tap (c, i, j) is x[c, i*d, j*d]
        v = int(v)
        return v // 100, (v // 10 % 10) // d, (v % 10) // d

    assert hnd["torch_rows"] == [decode(v) for v in P_torch[:, 0]]
    assert hnd["tf_rows"] == [decode(v) for v in P_tf[:, 0]]
    # the row labels drawn: c,i,j for PyTorch, i,j,c for TensorFlow
    labels = lambda g: next(lay.strings for lay in g.index_labels if lay.ha == "right")  # noqa: E731
    assert labels(hnd["torch"]) == [f"{a},{b},{e}" for a, b, e in map(decode, P_torch[:, 0])]
    assert labels(hnd["tf"]) == [f"{b},{e},{a}" for a, b, e in map(decode, P_tf[:, 0])]
    assert render.patch_row_order(C, (kh, kw), "tf") == hnd["tf_rows"]

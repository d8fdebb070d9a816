"""First-principles sanity checks of the core against torch (the heavy differential tests live elsewhere)."""
import numpy as np
import torch

import convviz as cv


def test_conv2d_matches_torch_on_the_5x5_example():
    x = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]], float)
    k = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], float)
    ref = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(k)[None, None])[0, 0].numpy()
    np.testing.assert_array_equal(cv.conv2d(x, k), ref)


def test_intro_colour_legend_is_the_style_legend():
    """The intro's swatches are written in HTML by hand; they must be the figures' colours."""
    import re
    from pathlib import Path

    from convviz import style

    intro = (Path(__file__).parents[1] / "book" / "intro.md").read_text()
    swatches = re.findall(r'class="swatch[^"]*" style="background:(#[0-9A-Fa-f]{6})"></span> ([a-z ]+)', intro)
    names = {"input": "input", "kernel": "kernel", "output": "output", "padding": "padding",
             "gradient": "gradient", "current step": "highlight", "overlap count": "overlap"}
    got = {names[label.strip()]: colour.upper() for colour, label in swatches}
    assert got == {k: v.upper() for k, v in style.COLORS.items()}

"""Real checkerboard artifacts of 2x upsampling (chapter *Transposed convolution*).

The overlap map says how many patches each output pixel receives; this module
shows what that does to an image.  Four ways to double the size of an image:

========================  ====================================================
``k3 random``             stride-2 transposed convolution, 3x3 random kernel:
                          uneven overlap (1, 2, 4) times uneven weights
``k4 uniform``            stride-2 transposed convolution, 4x4 constant kernel:
                          uniform overlap and equal weights, no artifact
``k4 random``             stride-2 transposed convolution, 4x4 random kernel:
                          uniform overlap, yet a checkerboard, because each
                          output phase sums a different subset of the weights
``resize + conv``         nearest-neighbour 2x resize, then a stride-1 3x3
                          convolution with the random kernel: no checkerboard
========================  ====================================================

:func:`upsampling_variants` computes the four outputs (with :mod:`convviz.ops`,
so the chapter can check them against the frameworks) and
:func:`checkerboard_strength` measures the artifact as the spread of the four
2x2 phase means over the interior; :func:`artifacts_figure` draws them.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from .. import ops, style
from .scene import ConvFigure

__all__ = ["sample_photo", "upsampling_kernels", "upsampling_variants", "checkerboard_strength", "artifacts_figure"]

VARIANTS = ("k3 random", "k4 uniform", "k4 random", "resize + conv")
TITLES = {
    "k3 random": "transposed conv, k=3, s=2\nrandom weights",
    "k4 uniform": "transposed conv, k=4, s=2\nequal weights",
    "k4 random": "transposed conv, k=4, s=2\nrandom weights",
    "resize + conv": "nearest 2x resize, then\nconv k=3 (random weights)",
}


def sample_photo(size: int = 48) -> np.ndarray:
    """A grey-scale photo shipped with matplotlib (Grace Hopper), block-averaged to ``size`` x ``size``, in [0, 1].

    Examples
    --------
    >>> p = sample_photo(32)
    >>> p.shape, bool(0 <= p.min() < p.max() <= 1)
    ((32, 32), True)
    """
    from matplotlib import cbook
    from matplotlib.image import imread

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        rgb = imread(f, format="jpg").astype(float) / 255.0
    grey = rgb[..., :3] @ np.array([0.299, 0.587, 0.114])
    side = min(grey.shape)
    grey = grey[:side, (grey.shape[1] - side) // 2 : (grey.shape[1] - side) // 2 + side]
    block = side // size
    grey = grey[: block * size, : block * size].reshape(size, block, size, block).mean(axis=(1, 3))
    return (grey - grey.min()) / (grey.max() - grey.min())


def upsampling_kernels(seed: int = 0) -> Dict[str, np.ndarray]:
    """The kernels of the four variants: random ones are positive on average (1 +- 0.5), so outputs keep the image.

    Examples
    --------
    >>> ks = upsampling_kernels()
    >>> {name: k.shape for name, k in ks.items()}
    {'k3 random': (3, 3), 'k4 uniform': (4, 4), 'k4 random': (4, 4), 'resize + conv': (3, 3)}
    """
    rng = np.random.default_rng(seed)
    k3 = 1 + 0.5 * rng.standard_normal((3, 3))
    return {
        "k3 random": k3,
        "k4 uniform": np.ones((4, 4)),
        "k4 random": 1 + 0.5 * rng.standard_normal((4, 4)),
        "resize + conv": k3,
    }


def upsampling_variants(image, kernels=None) -> Dict[str, np.ndarray]:
    """The four 2x upsamplings of a 2-D ``image`` (each output ``2H x 2W``).

    Transposed convolutions use padding 1 (and output_padding 1 for k=3) so
    that every output is exactly twice the input; the resize is
    nearest-neighbour, followed by a stride-1 convolution with padding 1.

    Examples
    --------
    >>> out = upsampling_variants(np.ones((6, 6)))
    >>> {name: y.shape for name, y in out.items()}["k4 random"]
    (12, 12)
    """
    x = np.asarray(image, dtype=float)
    ks = upsampling_kernels() if kernels is None else kernels
    resized = x.repeat(2, axis=0).repeat(2, axis=1)
    return {
        "k3 random": ops.conv_transpose2d(x, ks["k3 random"], stride=2, padding=1, output_padding=1),
        "k4 uniform": ops.conv_transpose2d(x, ks["k4 uniform"], stride=2, padding=1),
        "k4 random": ops.conv_transpose2d(x, ks["k4 random"], stride=2, padding=1),
        "resize + conv": ops.conv2d(resized, ks["resize + conv"], padding=1),
    }


def checkerboard_strength(y, border: int = 3) -> float:
    """Spread of the four (row parity, column parity) means of the interior, relative to its mean.

    0 means no 2x2-periodic pattern; border rows/columns (which receive fewer
    patches whatever the kernel) are left out.

    Examples
    --------
    >>> checkerboard_strength(np.ones((10, 10)))
    0.0
    >>> round(checkerboard_strength(np.indices((10, 10)).sum(0) % 2 + 1.0), 3)
    0.667
    """
    inner = np.asarray(y, dtype=float)[border:-border, border:-border]
    phases = [inner[r::2, c::2].mean() for r in (0, 1) for c in (0, 1)]
    return float((max(phases) - min(phases)) / abs(np.mean(inner)))


def artifacts_figure(image, title: str, kernels=None) -> ConvFigure:
    """The four upsamplings of ``image`` side by side (2 x 2 panels), each with its checkerboard strength.

    Each panel has its own grey scale (its interior's 1st to 99th percentile),
    so that a few-percent checkerboard is visible; the strength printed under it
    is the number to compare.

    Examples
    --------
    >>> fig = artifacts_figure(np.ones((8, 8)), "constant image")
    >>> sorted(fig.convviz["strength"]) == sorted(VARIANTS), fig.convviz["strength"]["k4 uniform"]
    (True, 0.0)
    """
    outputs = upsampling_variants(image, kernels)
    fig = ConvFigure(figsize=(6.4, 7.0), dpi=100, layout="constrained")
    fig.suptitle(title, fontsize=13, color=style.TEXT)
    axes = fig.subplots(2, 2)
    strength = {}
    for ax, name in zip(axes.ravel(), VARIANTS):
        y = outputs[name]
        strength[name] = s = checkerboard_strength(y)
        lo, hi = np.percentile(y[3:-3, 3:-3], [1, 99])
        ax.imshow(y, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(TITLES[name], fontsize=11, color=style.TEXT)
        ax.set_xlabel(f"checkerboard strength {100 * s:.1f} %", fontsize=11,
                      color=style.COLORS["highlight"] if s > 0.02 else style.TEXT)
        ax.set_xticks([0, y.shape[1] - 1])
        ax.set_yticks([0, y.shape[0] - 1])
        ax.tick_params(labelsize=9, colors=style.INDEX_TEXT)
    fig.convviz = {"outputs": outputs, "strength": strength, "alt": (
        f"{title}: four 2x upsamplings in grey scale, with their checkerboard strength: "
        + "; ".join(f"{TITLES[n].replace(chr(10), ' ')}: {100 * strength[n]:.1f} %" for n in VARIANTS))}
    return fig

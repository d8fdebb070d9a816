"""Matplotlib pictures of convolution, transposed convolution and their gradients.

Every figure function returns a :class:`matplotlib.figure.Figure` (not managed
by pyplot, so nothing leaks; it still displays in Jupyter) whose
``fig.convviz`` dict holds the grids and highlight artists; every ``animate_*``
returns an :class:`Animation`: self-contained JavaScript (frames embedded as
PNG, no CDN, <= 1 MB) that displays in notebooks and in the built book.

===========================  ==================================  ==========================
figure                       animation                           chapter
===========================  ==================================  ==========================
:func:`sliding_window`       :func:`animate_conv`                Conv2d and its gradient
:func:`im2col_figure`        :func:`animate_im2col`              Conv2d and its gradient
:func:`im2col_orders`        --                                  Conv2d (PyTorch vs TF rows)
:func:`col2im_scatter`       :func:`animate_transpose`           Transposed convolution
:func:`overlap_map`          :func:`animate_overlap`             Transposed convolution
:func:`jacobian_grids`       :func:`animate_jacobian`            Gradients (Jacobians)
:func:`conv_matrix_figure`   :func:`animate_conv_matrix`         Transposed convolution
===========================  ==================================  ==========================

Modules: :mod:`~convviz.render.layout` (sizes, panel flow, the fixed-point
layout loop), :mod:`~convviz.render.text` (cached text bitmaps),
:mod:`~convviz.render.grid` (grids, the kernel window),
:mod:`~convviz.render.scene` (figures, captions, legend, the Scene base),
:mod:`~convviz.render.animation`, and one module per picture
family: :mod:`~convviz.render.conv`, :mod:`~convviz.render.transpose`,
:mod:`~convviz.render.matrices`.  Colours come from :mod:`convviz.style`.

Examples
--------
>>> import numpy as np
>>> from convviz import render
>>> fig = render.sliding_window(np.ones((3, 3)), np.ones((2, 2)), step=0)
>>> fig.convviz["output"].label(0, 0)
'4'
"""
from .animation import Animation, animate
from .artifacts import artifacts_figure, checkerboard_strength, sample_photo, upsampling_variants
from .conv import (
    Im2colScene,
    SlidingWindowScene,
    animate_conv,
    animate_im2col,
    im2col_figure,
    im2col_orders,
    patch_row_order,
    sliding_window,
)
from .grid import Grid
from .matrices import ConvMatrixScene, JacobianScene, animate_conv_matrix, animate_jacobian, conv_matrix_figure, jacobian_grids
from .scene import ConvFigure, figure_png
from .text import fmt
from .transpose import Col2imScene, OverlapScene, animate_overlap, animate_transpose, col2im_scatter, overlap_map

__all__ = [
    "artifacts_figure",
    "checkerboard_strength",
    "sample_photo",
    "upsampling_variants",
    "sliding_window",
    "animate_conv",
    "im2col_figure",
    "animate_im2col",
    "im2col_orders",
    "patch_row_order",
    "col2im_scatter",
    "animate_transpose",
    "overlap_map",
    "animate_overlap",
    "jacobian_grids",
    "animate_jacobian",
    "conv_matrix_figure",
    "animate_conv_matrix",
    "Animation",
    "ConvFigure",
    "Grid",
    "animate",
    "figure_png",
    "fmt",
    "SlidingWindowScene",
    "Im2colScene",
    "Col2imScene",
    "OverlapScene",
    "JacobianScene",
    "ConvMatrixScene",
]

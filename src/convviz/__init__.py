"""convviz: convolution, transposed convolution and their gradients, computed by
hand in numpy and checked against TensorFlow and PyTorch.

The book's chapters import everything from here::

    import convviz as cv
    y = cv.conv2d(x, w, stride=2, padding="same")
"""
from .geometry import (
    ConvGeometry,
    conv_geometry,
    conv_output_size,
    direct_padding,
    describe_conv,
    describe_transpose,
    same_padding,
    transpose_geometry,
    transpose_output_size,
    transpose_output_sizes,
)
from .ops import (
    col2im,
    conv2d,
    conv2d_backprop_filter,
    conv2d_backprop_input,
    conv_transpose2d,
    conv_transpose2d_direct,
    im2col,
    zero_insert,
)
from .jacobian import conv_matrix, jacobian, transpose_matrix
from .check import CheckError, CheckSummary, check

__version__ = "0.1.0"

__all__ = [
    "ConvGeometry",
    "conv_geometry",
    "transpose_geometry",
    "direct_padding",
    "conv_output_size",
    "describe_conv",
    "describe_transpose",
    "same_padding",
    "transpose_output_size",
    "transpose_output_sizes",
    "col2im",
    "conv2d",
    "conv2d_backprop_filter",
    "conv2d_backprop_input",
    "conv_transpose2d",
    "conv_transpose2d_direct",
    "im2col",
    "zero_insert",
    "conv_matrix",
    "jacobian",
    "transpose_matrix",
    "check",
    "CheckError",
    "CheckSummary",
]


# Pictures and widgets load on first use (``cv.render``, ``cv.style``, ``cv.widgets``
# or ``from convviz import render``): ``import convviz`` stays numpy-only, and
# ipywidgets is imported only by ``convviz.widgets``.
_LAZY_SUBMODULES = ("style", "render", "widgets", "frameworks")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

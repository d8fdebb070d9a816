"""Invalid parameters raise ValueError naming the parameter, the offending value and the
allowed range -- raised by convviz itself, never a numpy / torch / TF exception leaking out
(the widgets show these messages verbatim, chapter *Transposed convolution*).

Decisions pinned here: non-integer sizes (1.5, np.float64(2.0), "2") are rejected rather
than truncated; booleans are rejected too (True == 1 would otherwise silently pass as a
stride, and a bool in that position is always a slip).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import convviz as cv

X = np.ones((1, 2, 5, 5))  # NCHW, 2 channels
W = np.ones((3, 2, 3, 3))  # OIHW: 3 out, 2 in -> output (1, 3, 3, 3)
WT = np.ones((2, 3, 3, 3))  # (C_in, C_out, kh, kw) for conv_transpose2d
G = np.ones((1, 3, 3, 3))  # grad_out of conv2d(X, W)
CORE = Path(cv.__file__).parent

# (id, call, regexes that must all occur in the message: parameter, value, allowed range)
CASES = [
    # stride / dilation
    ("stride=0", lambda: cv.conv2d(X, W, stride=0), [r"\bstride\b", r"got 0\b", r">= 1"]),
    ("stride=(2,0)", lambda: cv.conv2d(X, W, stride=(2, 0)), [r"stride\[1\]", r"got 0\b", r">= 1"]),
    ("stride=-1 transpose", lambda: cv.conv_transpose2d(X, WT, stride=-1), [r"\bstride\b", r"got -1", r">= 1"]),
    ("stride=1.5", lambda: cv.conv2d(X, W, stride=1.5), [r"\bstride\b", r"got 1\.5", r"integer >= 1"]),
    ("stride=np.float64(2)", lambda: cv.conv2d(X, W, stride=np.float64(2.0)), [r"\bstride\b", r"2\.0", r"integer >= 1"]),
    ("stride='2'", lambda: cv.conv2d(X, W, stride="2"), [r"\bstride\b", r"got '2'", r"integer >= 1"]),
    ("stride=None", lambda: cv.conv2d(X, W, stride=None), [r"\bstride\b", r"got None", r"integer >= 1"]),
    ("stride=True", lambda: cv.conv2d(X, W, stride=True), [r"\bstride\b", r"got True", r"integer >= 1"]),
    ("stride 3-tuple", lambda: cv.conv2d(X, W, stride=(1, 2, 3)), [r"\bstride\b", r"\(1, 2, 3\)", r"int or a pair"]),
    ("dilation=0", lambda: cv.conv2d(X, W, dilation=0), [r"\bdilation\b", r"got 0\b", r">= 1"]),
    ("dilation=False", lambda: cv.conv2d(X, W, dilation=False), [r"\bdilation\b", r"got False", r">= 1"]),
    ("dilation=-1 transpose", lambda: cv.conv_transpose2d(X, WT, dilation=-1), [r"\bdilation\b", r"got -1", r">= 1"]),
    ("dilation=(1,0) im2col", lambda: cv.im2col(X, 3, dilation=(1, 0)), [r"dilation\[1\]", r"got 0", r">= 1"]),
    ("zero_insert stride=0", lambda: cv.zero_insert(X, 0), [r"\bstride\b", r"got 0", r">= 1"]),
    # padding
    ("padding=-1", lambda: cv.conv2d(X, W, padding=-1), [r"\bpadding\b", r"got -1", r">= 0"]),
    ("padding=(1,-2)", lambda: cv.conv2d(X, W, padding=(1, -2)), [r"padding\[1\]", r"got -2", r">= 0"]),
    ("padding 4-tuple", lambda: cv.conv2d(X, W, padding=(1, 0, -1, 0)), [r"padding\[2\]", r"got -1", r">= 0"]),
    ("padding=-1 transpose", lambda: cv.conv_transpose2d(X, WT, padding=-1), [r"\bpadding\b", r"got -1", r">= 0"]),
    ("padding='full'", lambda: cv.conv2d(X, W, padding="full"), [r"\bpadding\b", r"'full'", r"'valid' or 'same'"]),
    ("padding='full' transpose", lambda: cv.conv_transpose2d(X, WT, padding="full"),
     [r"\bpadding\b", r"'full'", r"'valid' or 'same'"]),
    # with output_size the bad string must still be reported as such, not as an unreachable size
    ("padding='full' output_size", lambda: cv.conv_transpose2d(X, WT, stride=2, padding="full", output_size=11),
     [r"\bpadding\b", r"'full'", r"'valid' or 'same'"]),
    ("padding='full' im2col", lambda: cv.im2col(X, 3, padding="full"), [r"\bpadding\b", r"'full'", r"'same'"]),
    ("padding=1.5", lambda: cv.conv2d(X, W, padding=1.5), [r"\bpadding\b", r"got 1\.5", r"int >= 0.*'valid' or 'same'"]),
    ("padding=True", lambda: cv.conv2d(X, W, padding=True), [r"\bpadding\b", r"got True", r"int >= 0"]),
    ("padding 3-tuple", lambda: cv.conv2d(X, W, padding=(1, 2, 3)),
     [r"\bpadding\b", r"\(1, 2, 3\)", r"\(top, bottom, left, right\)"]),
    # kernel larger than the padded input
    ("kernel > input", lambda: cv.conv2d(np.ones((3, 3)), np.ones((5, 5))),
     [r"kernel_size 5", r"padded input \(3 \+ 0 \+ 0 = 3\)", r"d\*\(k-1\)\+1 <= padded input"]),
    ("dilated kernel > input", lambda: cv.conv2d(np.ones((4, 4)), np.ones((3, 3)), dilation=2),
     [r"kernel_size 3 with dilation 2 spans 5", r"= 4\)", r"d\*\(k-1\)\+1 <= padded input"]),
    ("kernel > input backprop", lambda: cv.conv2d_backprop_input((4, 4), np.ones((5, 5)), np.ones((1, 1))),
     [r"kernel_size 5", r"= 4\)", r"<= padded input"]),
    ("kernel > input im2col", lambda: cv.im2col(np.ones((3, 3)), 4), [r"kernel_size 4", r"= 3\)", r"<= padded input"]),
    ("kernel_size=0 im2col", lambda: cv.im2col(X, 0), [r"kernel_size", r"got 0", r">= 1"]),
    ("kernel_size 3-tuple col2im", lambda: cv.col2im(np.ones((9, 9)), (5, 5), (1, 2, 3)),
     [r"kernel_size", r"\(1, 2, 3\)", r"int or a pair"]),
    # output_padding / output_size
    ("output_padding=2 stride 2", lambda: cv.conv_transpose2d(X, WT, stride=2, output_padding=2),
     [r"output_padding", r"got 2", r"\[0, max\(stride, dilation\) - 1\] = \[0, 1\]"]),
    ("output_padding=2 dilation 2", lambda: cv.conv_transpose2d(X, WT, dilation=2, output_padding=(0, 2)),
     [r"output_padding", r"got 2", r"= \[0, 1\]"]),
    ("output_padding=1 stride 1", lambda: cv.conv_transpose2d(X, WT, output_padding=1),
     [r"output_padding", r"got 1", r"= \[0, 0\]"]),
    ("output_padding=-1", lambda: cv.conv_transpose2d(X, WT, stride=2, output_padding=-1),
     [r"output_padding", r"got -1", r">= 0"]),
    ("output_padding with same", lambda: cv.conv_transpose2d(X, WT, stride=2, padding="same", output_padding=1),
     [r"output_padding", r"got 1", r"must be 0 with padding='same'"]),
    ("output_size unreachable", lambda: cv.conv_transpose2d(X, WT, stride=2, padding=1, output_size=12),
     [r"output_size 12", r"not reachable", r"only sizes \[9, 10\]"]),
    ("output_size unreachable same", lambda: cv.conv_transpose2d(X, WT, stride=2, padding="same", output_size=(10, 8)),
     [r"output_size 8", r"not reachable", r"only sizes \[9, 10\]"]),
    ("output_size=0", lambda: cv.conv_transpose2d(X, WT, stride=2, output_size=0), [r"output_size", r"got 0", r">= 1"]),
    ("output_padding and output_size", lambda: cv.conv_transpose2d(X, WT, stride=2, output_padding=1, output_size=10),
     [r"output_padding=1", r"output_size=10", r"not both"]),
    ("padding crops everything", lambda: cv.conv_transpose2d(np.ones((1, 1)), np.ones((1, 1)), padding=1),
     [r"padding \(1, 1\)", r"= -1", r"output size >= 1"]),
    # channels
    ("channels conv2d", lambda: cv.conv2d(np.ones((1, 3, 5, 5)), W),
     [r"w\.shape\[1\]", r"w has 2 input channels.*x has 3 channels", r"must match"]),
    ("channels conv_transpose2d", lambda: cv.conv_transpose2d(np.ones((1, 3, 5, 5)), WT),
     [r"w\.shape\[0\]", r"w has 2 input channels.*x has 3 channels", r"must match"]),
    ("channels conv_transpose2d_direct", lambda: cv.conv_transpose2d_direct(np.ones((1, 3, 5, 5)), WT),
     [r"w\.shape\[0\]", r"w has 2 .*x has 3", r"must match"]),
    ("channels backprop_input", lambda: cv.conv2d_backprop_input((1, 3, 5, 5), W, G),
     [r"input_shape", r"w has 2 input channels but input_shape has 3", r"must match"]),
    ("channels backprop_filter", lambda: cv.conv2d_backprop_filter(np.ones((1, 3, 5, 5)), (3, 2, 3, 3), G),
     [r"filter_shape", r"filter_shape has 2 input channels but x has 3", r"must match"]),
    ("channels conv_matrix", lambda: cv.conv_matrix((1, 3, 5, 5), W), [r"input_shape", r"has 3", r"must match"]),
    ("channels transpose_matrix", lambda: cv.transpose_matrix((1, 3, 5, 5), WT), [r"input_shape", r"has 3", r"must match"]),
    ("channels jacobian", lambda: cv.jacobian("conv2d", np.ones((1, 3, 5, 5)), W), [r"x\.shape\[1\]", r"3", r"must match"]),
    # dimensions
    ("x 3-D", lambda: cv.conv2d(np.ones((2, 5, 5)), W), [r"\bx\b", r"ndim=3 with shape \(2, 5, 5\)", r"2-D \(H, W\) or 4-D NCHW"]),
    ("x 5-D", lambda: cv.conv2d(np.ones((1, 1, 2, 5, 5)), W), [r"\bx\b", r"ndim=5", r"2-D \(H, W\) or 4-D NCHW"]),
    ("x 1-D", lambda: cv.conv2d(np.ones(5), W), [r"\bx\b", r"ndim=1", r"2-D \(H, W\) or 4-D"]),
    ("w 3-D", lambda: cv.conv2d(X, np.ones((2, 3, 3))), [r"\bw\b", r"ndim=3", r"4-D OIHW"]),
    ("w 5-D transpose", lambda: cv.conv_transpose2d(X, np.ones((2, 3, 1, 3, 3))),
     [r"\bw\b", r"ndim=5", r"4-D \(C_in, C_out, kh, kw\)"]),
    ("x 3-D transpose", lambda: cv.conv_transpose2d(np.ones((2, 5, 5)), WT), [r"\bx\b", r"ndim=3", r"4-D NCHW"]),
    ("x 3-D im2col", lambda: cv.im2col(np.ones((2, 5, 5)), 3), [r"\bx\b", r"ndim=3", r"4-D NCHW"]),
    ("x 5-D jacobian", lambda: cv.jacobian("conv2d", np.ones((1, 1, 2, 5, 5)), W), [r"\bx\b", r"ndim=5", r"4-D NCHW"]),
    ("cols 4-D", lambda: cv.col2im(np.ones((1, 1, 9, 9)), (5, 5), 3),
     [r"\bcols\b", r"\(1, 1, 9, 9\)", r"2-D \(C\*kh\*kw, L\) or 3-D"]),
    ("input_shape 3 entries", lambda: cv.conv2d_backprop_input((2, 5, 5), W, G),
     [r"input_shape", r"\(2, 5, 5\)", r"2 \(H, W\) or 4 NCHW entries"]),
    ("input_shape 5.5", lambda: cv.conv2d_backprop_input((1, 2, 5.5, 5), W, G), [r"input_shape \(H\)", r"got 5\.5", r">= 1"]),
    ("input_shape 0", lambda: cv.conv2d_backprop_input((1, 2, 0, 5), W, G), [r"input_shape \(H\)", r"got 0", r">= 1"]),
    ("input_shape scalar", lambda: cv.conv2d_backprop_input(5, W, G), [r"input_shape", r"got 5", r"shape tuple"]),
    ("filter_shape 3 entries", lambda: cv.conv2d_backprop_filter(X, (2, 3, 3), G),
     [r"filter_shape", r"\(2, 3, 3\)", r"2 \(H, W\) or 4 OIHW entries"]),
    # grad_out
    ("grad_out shape backprop_input", lambda: cv.conv2d_backprop_input((1, 2, 5, 5), W, np.ones((1, 3, 2, 2))),
     [r"grad_out", r"got \(1, 3, 2, 2\)", r"must have shape \(1, 3, 3, 3\)"]),
    ("grad_out channels backprop_input", lambda: cv.conv2d_backprop_input((1, 2, 5, 5), W, np.ones((1, 2, 3, 3))),
     [r"grad_out", r"got \(1, 2, 3, 3\)", r"must have shape \(1, 3, 3, 3\)"]),
    ("grad_out shape backprop_filter", lambda: cv.conv2d_backprop_filter(X, (3, 2, 3, 3), np.ones((1, 3, 3, 4))),
     [r"grad_out", r"got \(1, 3, 3, 4\)", r"must have shape \(1, 3, 3, 3\)"]),
    ("grad_out batch backprop_filter", lambda: cv.conv2d_backprop_filter(X, (3, 2, 3, 3), np.ones((2, 3, 3, 3))),
     [r"grad_out", r"got \(2, 3, 3, 3\)", r"\(N, C_out, H_out, W_out\)"]),
    ("grad_out 3-D", lambda: cv.conv2d_backprop_input((1, 2, 5, 5), W, np.ones((3, 3, 3))),
     [r"grad_out", r"ndim=3", r"2-D \(H, W\) or 4-D NCHW"]),
    # jacobian
    ("wrt='weights'", lambda: cv.jacobian("conv2d", X, W, wrt="weights"), [r"\bwrt\b", r"'weights'", r"'input' or 'kernel'"]),
    ("wrt=None", lambda: cv.jacobian(cv.conv2d, X, W, wrt=None), [r"\bwrt\b", r"None", r"'input' or 'kernel'"]),
    ("op='conv3d'", lambda: cv.jacobian("conv3d", X, W), [r"\bop\b", r"'conv3d'", r"conv2d or conv_transpose2d"]),
    ("op=np.add", lambda: cv.jacobian(np.add, X, W), [r"\bop\b", r"ufunc 'add'", r"conv2d or conv_transpose2d"]),
    # col2im
    ("col2im wrong L", lambda: cv.col2im(np.ones((1, 9, 8)), (5, 5), 3),
     [r"cols\.shape\[-1\]", r"got 8", r"sliding positions 3x3 = 9"]),
    ("col2im wrong L 2-D", lambda: cv.col2im(np.ones((18, 4)), (5, 5), 3, stride=2, padding=1),
     [r"cols\.shape\[-1\]", r"got 4", r"3x3 = 9"]),
    ("col2im wrong C*kh*kw", lambda: cv.col2im(np.ones((1, 10, 9)), (5, 5), 3),
     [r"cols\.shape\[-2\]", r"got 10", r"multiple of kh\*kw = 9"]),
    # values
    ("x strings", lambda: cv.conv2d(np.array([["a", "b"], ["c", "d"]]), np.ones((1, 1))), [r"\bx\b", r"<U1", r"numeric dtype"]),
    ("x ragged", lambda: cv.conv2d([[1, 2], [3]], np.ones((1, 1))), [r"\bx\b", r"inhomogeneous", r"array-like"]),
    # geometry helpers
    ("conv_output_size i=0", lambda: cv.conv_output_size(0, 3), [r"input size", r"got 0", r">= 1"]),
    ("conv_output_size k=0", lambda: cv.conv_output_size(3, 0), [r"kernel_size", r"got 0", r">= 1"]),
    ("same_padding stride=0", lambda: cv.same_padding(3, 3, 0), [r"\bstride\b", r"got 0", r">= 1"]),
    ("transpose_output_size op", lambda: cv.transpose_output_size(3, 3, 2, 1, 2),
     [r"output_padding", r"got 2", r"\[0, 1\]"]),
    ("transpose_output_sizes 'full'", lambda: cv.transpose_output_sizes(3, 3, 2, "full"),
     [r"\bpadding\b", r"'full'", r"'valid' or 'same'"]),
    ("describe_conv padding=-1", lambda: cv.describe_conv(5, 3, 1, -1), [r"\bpadding\b", r"got -1", r">= 0"]),
    # empty axes (numpy would say "cannot reshape array of size 0" / "negative dimensions")
    ("w 0 output channels", lambda: cv.conv2d(X, np.ones((0, 2, 3, 3))),
     [r"\bw\b", r"w\.shape\[0\] \(O\) is 0", r"every dimension >= 1"]),
    ("w 0 output channels conv_matrix", lambda: cv.conv_matrix((1, 2, 5, 5), np.ones((0, 2, 3, 3))),
     [r"\bw\b", r"shape \(0, 2, 3, 3\)", r"every dimension >= 1"]),
    ("w 0 output channels transpose", lambda: cv.conv_transpose2d(X, np.ones((2, 0, 3, 3))),
     [r"\bw\b", r"w\.shape\[1\]", r"every dimension >= 1"]),
    ("x batch 0", lambda: cv.conv2d(np.ones((0, 2, 5, 5)), W), [r"\bx\b", r"x\.shape\[0\] \(N\) is 0", r">= 1"]),
    ("zero_insert empty", lambda: cv.zero_insert(np.ones((0, 3)), 2), [r"\bx\b", r"shape \(0, 3\)", r"every dimension >= 1"]),
    ("im2col empty", lambda: cv.im2col(np.ones((1, 1, 5, 0)), 1), [r"\bx\b", r"\(W\) is 0", r">= 1"]),
    ("col2im empty", lambda: cv.col2im(np.ones((0, 9)), (5, 5), 3), [r"cols\.shape\[-2\]", r"got 0", r"positive multiple"]),
    ("grad_out empty", lambda: cv.conv2d_backprop_input((1, 2, 5, 5), W, np.ones((1, 3, 0, 3))),
     [r"grad_out", r"\(H\) is 0", r">= 1"]),
    ("x complex", lambda: cv.conv2d(np.ones((3, 3), complex), np.ones((1, 1))), [r"\bx\b", r"complex128", r"real numeric dtype"]),
    # op given as something that is not a function or a name
    ("op list", lambda: cv.jacobian(["conv2d"], X, W), [r"\bop\b", r"\['conv2d'\]", r"conv2d or conv_transpose2d"]),
    ("op torch function", lambda: cv.jacobian(__import__("math").sqrt, X, W), [r"\bop\b", r"sqrt", r"conv2d or conv_transpose2d"]),
    ("wrt list", lambda: cv.jacobian("conv2d", X, W, wrt=["input"]), [r"\bwrt\b", r"\['input'\]", r"'input' or 'kernel'"]),
    ("jacobian unknown parameter", lambda: cv.jacobian("conv2d", X, W, output_padding=1),
     [r"output_padding", r"unknown parameter", r"for conv2d"]),
    # memory: estimate the bytes first, refuse above convviz.validate.MAX_BYTES
    ("conv_matrix 512x512", lambda: cv.conv_matrix((512, 512), np.ones((3, 3))),
     [r"the matrix C", r"\(260100, 262144\).*508\.0 GiB", r"MAX_BYTES = 1\.0 GiB"]),
    ("transpose_matrix big", lambda: cv.transpose_matrix((300, 300), np.ones((3, 3))),
     [r"the matrix T", r"\(91204, 90000\)", r"MAX_BYTES"]),
    ("jacobian kernel big", lambda: cv.jacobian(cv.conv2d, np.ones((4, 64, 64, 64)), np.ones((64, 64, 3, 3)), wrt="kernel"),
     [r"the Jacobian", r"\(4, 64, 62, 62, 64, 64, 3, 3\)", r"MAX_BYTES = 1\.0 GiB"]),
    ("jacobian input big", lambda: cv.jacobian("conv_transpose2d", np.ones((1, 1, 128, 128)), np.ones((1, 1, 3, 3)), stride=2),
     [r"the Jacobian", r"\(1, 1, 257, 257, 1, 1, 128, 128\)", r"MAX_BYTES"]),
]


@pytest.mark.parametrize("call, patterns", [pytest.param(c, p, id=i) for i, c, p in CASES])
def test_invalid_parameter_raises_value_error_naming_it(call, patterns):
    with pytest.raises(ValueError, match=patterns[0]) as info:
        call()
    # exactly ValueError (not a numpy subclass such as AxisError), raised by convviz's own code
    assert type(info.value) is ValueError
    assert Path(info.traceback[-1].path).parent == CORE, info.traceback[-1].path
    for pattern in patterns[1:]:
        assert re.search(pattern, str(info.value)), (pattern, str(info.value))


def test_every_case_checks_parameter_value_and_range():
    assert len(CASES) == len({c[0] for c in CASES}) >= 60
    assert all(len(p) == 3 for _, _, p in CASES)


@pytest.mark.parametrize(
    "call",
    [
        lambda: cv.conv2d(X, W, stride=np.int64(2), padding=np.int32(1), dilation=(np.int8(1), 1)),
        lambda: cv.conv2d_backprop_input((np.int64(1), 2, 5, 5), W, G),
        lambda: cv.conv_transpose2d(X, WT, stride=[2, 2], output_padding=[1, 0]),
        lambda: cv.conv2d(X, W, padding="SAME"),
    ],
    ids=["numpy ints", "numpy int shape", "lists", "upper-case SAME"],
)
def test_integer_like_and_case_variants_are_accepted(call):
    assert np.all(np.isfinite(call()))


def test_size_guard_is_a_setting_the_user_can_raise(monkeypatch):
    import convviz.validate

    with pytest.raises(ValueError, match=r"need 1\.1 MiB; the limit is convviz\.validate\.MAX_BYTES = 1\.0 MiB"):
        monkeypatch.setattr(convviz.validate, "MAX_BYTES", 1 << 20)
        cv.conv_matrix((1, 1, 19, 19), np.ones((1, 1, 2, 2)))  # 324 x 361 float64 = 935 kB: allowed
        cv.conv_matrix((1, 1, 20, 20), np.ones((1, 1, 2, 2)))  # 361 x 400 float64 = 1.1 MiB: refused
    monkeypatch.setattr(convviz.validate, "MAX_BYTES", 2 << 20)
    C = cv.conv_matrix((1, 1, 20, 20), np.ones((1, 1, 2, 2)))
    assert C.shape == (361, 400) and C.sum() == 361 * 4


def test_check_needs_a_reference():
    with pytest.raises(ValueError, match=r"check needs at least one reference"):
        cv.check("nothing", np.ones(2))
    with pytest.raises(cv.CheckError, match=r"max \|diff\|"):  # a mismatch is an AssertionError, not ValueError
        cv.check("mismatch", np.ones(2), torch=np.array([1.0, 1.5]))

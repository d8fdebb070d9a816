"""All geometry of convviz: output sizes, padding (incl. TensorFlow's SAME),
and the resolved 2-D :class:`ConvGeometry` that every op, picture, explorer and
framework runner takes (defined in the chapters *Conv2d* and *Transposed
convolution*, used everywhere).

Parameters are normalised once, by :func:`conv_geometry` or
:func:`transpose_geometry`; everything downstream reads the resolved object.
Every public function validates its arguments and raises ``ValueError`` naming
the parameter, the offending value and the allowed range.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence, Tuple, Union

from .validate import check_int, is_int, pair

Padding = Union[int, str, Sequence[int]]

__all__ = [
    "ConvGeometry",
    "conv_geometry",
    "transpose_geometry",
    "direct_padding",
    "conv_output_size",
    "same_padding",
    "transpose_output_size",
    "transpose_output_sizes",
    "resolve_padding",
    "effective_kernel",
    "describe_conv",
    "describe_transpose",
]


def effective_kernel(k: int, dilation: int = 1) -> int:
    """Extent of a dilated kernel: ``d (k - 1) + 1``.

    Examples
    --------
    >>> effective_kernel(3, dilation=2)
    5
    """
    return dilation * (k - 1) + 1


def same_padding(i: int, k: int, stride: int = 1, dilation: int = 1) -> Tuple[int, int]:
    """TensorFlow's SAME padding ``(before, after)`` along one axis.

    The output has ``ceil(i / stride)`` elements; the total padding needed is
    split with the odd element going *after* (bottom/right), as TensorFlow does.

    Examples
    --------
    >>> same_padding(6, 3, stride=2)   # out = 3, total = 1: the extra row goes after
    (0, 1)
    >>> same_padding(5, 3, stride=2)
    (1, 1)
    """
    i = check_int("input size", i, 1)
    k = check_int("kernel_size", k, 1)
    stride = check_int("stride", stride, 1)
    dilation = check_int("dilation", dilation, 1)
    out = -(-i // stride)
    total = max(0, (out - 1) * stride + effective_kernel(k, dilation) - i)
    return total // 2, total - total // 2


def _padding_1d(padding, i, k, stride, dilation) -> Tuple[int, int]:
    """(before, after) for one axis from an already-split padding spec."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0)
        if mode == "same":
            return same_padding(i, k, stride, dilation)
        raise ValueError(f"padding must be an int >= 0, a tuple, 'valid' or 'same', got {padding!r}")
    before, after = padding
    return (check_int("padding", before, 0), check_int("padding", after, 0))


def resolve_padding(padding: Padding, input_hw, kernel_hw, stride_hw, dilation_hw) -> Tuple[int, int, int, int]:
    """Normalise any padding spec to ``(top, bottom, left, right)``.

    Accepted: ``p``, ``(ph, pw)``, ``(top, bottom, left, right)``, ``"valid"``,
    ``"same"`` (TensorFlow's rule: any stride, extra padding bottom/right).

    Examples
    --------
    >>> resolve_padding("same", (6, 6), (3, 3), (2, 2), (1, 1))
    (0, 1, 0, 1)
    >>> resolve_padding((1, 2), (5, 5), (3, 3), (1, 1), (1, 1))
    (1, 1, 2, 2)
    """
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"padding must be an int >= 0, a tuple, 'valid' or 'same', got {padding!r}")
        specs = (padding, padding)
    elif is_int(padding):
        p = check_int("padding", padding, 0)
        specs = ((p, p), (p, p))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        ph, pw = (check_int("padding[0]", padding[0], 0), check_int("padding[1]", padding[1], 0))
        specs = ((ph, ph), (pw, pw))
    elif isinstance(padding, (tuple, list)) and len(padding) == 4:
        t, b, l, r = (check_int(f"padding[{n}]", v, 0) for n, v in enumerate(padding))
        specs = ((t, b), (l, r))
    else:
        raise ValueError(
            "padding must be an int >= 0, (ph, pw), (top, bottom, left, right), 'valid' or 'same', "
            f"got {padding!r}"
        )
    (t, b) = _padding_1d(specs[0], input_hw[0], kernel_hw[0], stride_hw[0], dilation_hw[0])
    (l, r) = _padding_1d(specs[1], input_hw[1], kernel_hw[1], stride_hw[1], dilation_hw[1])
    return (t, b, l, r)


def _pads_1d(padding, i, k, stride, dilation) -> Tuple[int, int]:
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            raise ValueError(f"padding for one axis must be an int, (before, after), 'valid' or 'same', got {padding!r}")
        return (check_int("padding[0]", padding[0], 0), check_int("padding[1]", padding[1], 0))
    if isinstance(padding, str):
        return _padding_1d(padding, i, k, stride, dilation)
    p = check_int("padding", padding, 0)
    return (p, p)


def conv_output_size(i: int, k: int, stride: int = 1, padding=0, dilation: int = 1) -> int:
    """Output length of a convolution along one axis.

    ``o = floor((i + p_before + p_after - d (k - 1) - 1) / s) + 1``, Dumoulin &
    Visin's relationship 15 with possibly unequal padding.  ``padding`` may be an
    int, ``(before, after)``, ``"valid"`` or ``"same"``.

    Examples
    --------
    >>> conv_output_size(5, 3, stride=2, padding=1)
    3
    >>> conv_output_size(7, 3, dilation=2)
    3
    """
    i = check_int("input size", i, 1)
    k = check_int("kernel_size", k, 1)
    stride = check_int("stride", stride, 1)
    dilation = check_int("dilation", dilation, 1)
    before, after = _pads_1d(padding, i, k, stride, dilation)
    padded = i + before + after
    keff = effective_kernel(k, dilation)
    if keff > padded:
        raise ValueError(
            f"kernel_size {k} with dilation {dilation} spans {keff} elements, larger than the padded "
            f"input ({i} + {before} + {after} = {padded}); allowed: d*(k-1)+1 <= padded input size"
        )
    return (padded - keff) // stride + 1


def _check_output_padding(output_padding: int, stride: int, dilation: int) -> int:
    output_padding = check_int("output_padding", output_padding, 0)
    limit = max(stride, dilation)
    if output_padding >= limit:
        raise ValueError(
            f"output_padding must be in [0, max(stride, dilation) - 1] = [0, {limit - 1}], got {output_padding}"
        )
    return output_padding


def transpose_output_size(i: int, k: int, stride: int = 1, padding=0, output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution along one axis (PyTorch's rule).

    ``o = (i - 1) s - p_before - p_after + d (k - 1) + output_padding + 1``.
    ``padding="same"`` gives ``i * s`` (Keras' default for SAME), and
    ``"valid"`` means no cropping.

    Examples
    --------
    >>> transpose_output_size(3, 3, stride=2, padding=1, output_padding=1)
    6
    """
    i = check_int("input size", i, 1)
    k = check_int("kernel_size", k, 1)
    stride = check_int("stride", stride, 1)
    dilation = check_int("dilation", dilation, 1)
    output_padding = _check_output_padding(output_padding, stride, dilation)
    if isinstance(padding, str) and padding.lower() == "same":
        if output_padding:
            raise ValueError(
                f"output_padding must be 0 with padding='same', got {output_padding}; "
                "pick the size with output_size instead"
            )
        return i * stride
    if isinstance(padding, str):
        before, after = _padding_1d(padding, i, k, stride, dilation)
    else:
        before, after = _pads_1d(padding, i, k, stride, dilation)
    o = (i - 1) * stride - before - after + effective_kernel(k, dilation) + output_padding
    if o < 1:
        raise ValueError(
            f"padding ({before}, {after}) crops the whole output: (i-1)*s - p + d*(k-1) + output_padding + 1 = {o}; "
            "allowed: padding small enough that the output size is >= 1"
        )
    return o


def transpose_output_sizes(i: int, k: int, stride: int = 1, padding=0, dilation: int = 1) -> list:
    """Every output length ``o`` whose forward convolution has length ``i``.

    A strided convolution maps several input sizes to the same output size, so
    its transpose has a choice: this is why TensorFlow's ``conv2d_transpose``
    asks for ``output_shape`` and PyTorch for ``output_padding``.  Example: SAME
    padding, stride 2, kernel 3: ``3 -> [5, 6]``.

    Examples
    --------
    >>> transpose_output_sizes(3, 3, stride=2, padding="same")
    [5, 6]
    """
    i = check_int("input size", i, 1)
    k = check_int("kernel_size", k, 1)
    stride = check_int("stride", stride, 1)
    dilation = check_int("dilation", dilation, 1)
    if isinstance(padding, str) and padding.lower() == "same":
        return list(range(stride * (i - 1) + 1, stride * i + 1))
    if isinstance(padding, str):
        before, after = _padding_1d(padding, i, k, stride, dilation)  # 'valid'; other strings raise
    else:
        before, after = _pads_1d(padding, i, k, stride, dilation)
    # the convolution maps exactly o in [base, base + s - 1] to i; sizes < 1 do not exist (the
    # padding may crop the whole of the smallest ones, yet leave o >= 1 for a larger output_padding)
    base = (i - 1) * stride - before - after + effective_kernel(k, dilation)
    return [o for o in range(max(1, base), base + stride) if conv_output_size(o, k, stride, (before, after), dilation) == i]


def output_padding_for(i: int, o: int, k: int, stride: int, padding, dilation: int) -> Tuple[Tuple[int, int], int]:
    """Resolve a requested transposed-conv output size ``o`` along one axis.

    Returns ``((before, after), output_padding)``.  For ``"same"`` the padding is
    the forward SAME padding of an input of size ``o`` (TensorFlow's rule).
    Raises if no convolution with these parameters maps ``o`` back to ``i``.
    """
    o = check_int("output_size", o, 1)
    valid = transpose_output_sizes(i, k, stride, padding, dilation)
    if o not in valid:
        raise ValueError(
            f"output_size {o} is not reachable: a convolution with kernel {k}, stride {stride}, "
            f"padding {padding!r}, dilation {dilation} maps only sizes {valid} to input size {i}"
        )
    if isinstance(padding, str) and padding.lower() == "same":
        pads = same_padding(o, k, stride, dilation)
    elif isinstance(padding, str):
        pads = (0, 0)
    else:
        pads = _pads_1d(padding, i, k, stride, dilation)
    base = (i - 1) * stride - pads[0] - pads[1] + effective_kernel(k, dilation)
    return pads, o - base


def describe_conv(i: int, k: int, stride: int = 1, padding=0, dilation: int = 1) -> str:
    """The output-size formula with the current numbers, for explorers and captions.

    Examples
    --------
    >>> describe_conv(5, 3, stride=2, padding=1)
    'o = floor((i + p_before + p_after - d(k-1) - 1) / s) + 1 = floor((5 + 1 + 1 - 1*(3-1) - 1) / 2) + 1 = 3'
    """
    before, after = _pads_1d(padding, i, k, stride, dilation)
    o = conv_output_size(i, k, stride, (before, after), dilation)
    return (
        f"o = floor((i + p_before + p_after - d(k-1) - 1) / s) + 1 = "
        f"floor(({i} + {before} + {after} - {dilation}*({k}-1) - 1) / {stride}) + 1 = {o}"
    )


def describe_transpose(i: int, k: int, stride: int = 1, padding=0, output_padding: int = 0, dilation: int = 1) -> str:
    """The transposed output-size formula with the current numbers.

    Examples
    --------
    >>> describe_transpose(2, 3, stride=2, padding="same")
    'SAME: o = i * s = 2 * 2 = 4'
    """
    if isinstance(padding, str) and padding.lower() == "same":
        o = transpose_output_size(i, k, stride, padding, output_padding, dilation)
        return f"SAME: o = i * s = {i} * {stride} = {o}"
    before, after = _pads_1d(padding, i, k, stride, dilation)
    o = transpose_output_size(i, k, stride, (before, after), output_padding, dilation)
    return (
        "o = (i-1)s - p_before - p_after + d(k-1) + output_padding + 1 = "
        f"({i}-1)*{stride} - {before} - {after} + {dilation}*({k}-1) + {output_padding} + 1 = {o}"
    )



# ----------------------------------------------------------------------------
# resolved 2-D geometry
# ----------------------------------------------------------------------------
class ConvGeometry(NamedTuple):
    """Resolved geometry of one forward convolution.

    For a transposed convolution it describes the *forward* convolution whose
    adjoint it is: ``in_hw`` is the transposed output, ``out_hw`` the
    transposed input, and ``output_padding`` the rows/columns added at the
    bottom/right (0 for a plain convolution).
    """

    in_hw: Tuple[int, int]
    kernel_hw: Tuple[int, int]
    stride: Tuple[int, int]
    dilation: Tuple[int, int]
    pads: Tuple[int, int, int, int]  # (top, bottom, left, right)
    out_hw: Tuple[int, int]
    output_padding: Tuple[int, int] = (0, 0)
    mode: str = "explicit"  # how padding was given: "same", "valid" or "explicit" (numbers)

    @property
    def padded_hw(self) -> Tuple[int, int]:
        """The input size after padding; for a transposed convolution, its uncropped output."""
        t, b, l, r = self.pads
        return (self.in_hw[0] + t + b, self.in_hw[1] + l + r)

    @property
    def span_hw(self) -> Tuple[int, int]:
        """Extent of the dilated kernel, ``d (k - 1) + 1`` per axis."""
        return tuple(effective_kernel(k, d) for k, d in zip(self.kernel_hw, self.dilation))


def conv_geometry(in_hw, kernel_hw, *, stride=1, padding=0, dilation=1) -> ConvGeometry:
    """Validate and resolve the geometry of ``conv2d`` (chapter *Conv2d*).

    Examples
    --------
    >>> g = conv_geometry((5, 5), (3, 3), stride=2, padding="same")
    >>> g.pads, g.out_hw
    ((1, 1, 1, 1), (3, 3))
    """
    in_hw, kernel_hw = tuple(in_hw), tuple(kernel_hw)
    if type(stride) is int and type(padding) is int and type(dilation) is int:
        g = _conv_geometry_ints(in_hw, kernel_hw, stride, padding, dilation)
        if g is not None:
            return g
    s = pair(stride, "stride")
    d = pair(dilation, "dilation")
    pads = resolve_padding(padding, in_hw, kernel_hw, s, d)
    out = tuple(
        conv_output_size(in_hw[a], kernel_hw[a], s[a], pads[2 * a : 2 * a + 2], d[a]) for a in (0, 1)
    )
    return ConvGeometry(in_hw, kernel_hw, s, d, pads, out, (0, 0), _mode(padding))


def _sizes_ok(in_hw, kernel_hw) -> bool:
    """Two positive Python ints each (the common case the fast paths below take)."""
    if len(in_hw) != 2 or len(kernel_hw) != 2:
        return False
    (h, w), (kh, kw) = in_hw, kernel_hw
    return type(h) is type(w) is type(kh) is type(kw) is int and h >= 1 and w >= 1 and kh >= 1 and kw >= 1


def _conv_geometry_ints(in_hw, kernel_hw, s: int, p: int, d: int):
    """:func:`conv_geometry` for plain valid ints, without the general parsing (None otherwise).

    The general path costs a few microseconds of validation; that matters to a
    cold :func:`convviz.jacobian` of a small problem.  Anything this path does not
    accept (including every invalid value) takes the general path, which raises.
    """
    if s < 1 or d < 1 or p < 0 or not _sizes_ok(in_hw, kernel_hw):
        return None
    ph, pw = in_hw[0] + 2 * p, in_hw[1] + 2 * p
    eh, ew = d * (kernel_hw[0] - 1) + 1, d * (kernel_hw[1] - 1) + 1
    if eh > ph or ew > pw:
        return None
    return ConvGeometry(in_hw, kernel_hw, (s, s), (d, d), (p, p, p, p), ((ph - eh) // s + 1, (pw - ew) // s + 1))


def _transpose_geometry_ints(in_hw, kernel_hw, s: int, p: int, op: int, d: int):
    """:func:`transpose_geometry` for plain valid ints and no ``output_size`` (None otherwise)."""
    if s < 1 or d < 1 or p < 0 or not 0 <= op < max(s, d) or not _sizes_ok(in_hw, kernel_hw):
        return None
    oh = (in_hw[0] - 1) * s + d * (kernel_hw[0] - 1) + 1 + op - 2 * p
    ow = (in_hw[1] - 1) * s + d * (kernel_hw[1] - 1) + 1 + op - 2 * p
    if oh < 1 or ow < 1:
        return None
    return ConvGeometry((oh, ow), kernel_hw, (s, s), (d, d), (p, p, p, p), in_hw, (op, op))


def _mode(padding) -> str:
    return padding.lower() if isinstance(padding, str) else "explicit"


def _output_padding_pair(output_padding, stride, dilation):
    out_pad = pair(output_padding, "output_padding", minimum=0)
    for a in (0, 1):
        _check_output_padding(out_pad[a], stride[a], dilation[a])
    return out_pad


def transpose_geometry(in_hw, kernel_hw, *, stride=1, padding=0, output_padding=0, dilation=1,
                       output_size=None) -> ConvGeometry:
    """Resolve a transposed convolution as the adjoint of a forward convolution.

    ``in_hw`` is the transposed convolution's input size.  The result describes
    the *forward* convolution whose input is the transposed output
    (``g.in_hw``) and whose output has the transposed input's size
    (``g.out_hw``); ``g.output_padding`` rows and columns are added at the
    bottom/right, as in PyTorch.  ``output_size`` picks one of the valid
    output sizes instead (TensorFlow's ``output_shape``).

    Examples
    --------
    >>> g = transpose_geometry((3, 3), (3, 3), stride=2, padding="same", output_size=6)
    >>> g.in_hw, g.pads, g.output_padding
    ((6, 6), (0, 1, 0, 1), (0, 0))
    """
    in_hw, kernel_hw = tuple(in_hw), tuple(kernel_hw)
    if (output_size is None and type(stride) is int and type(padding) is int and type(output_padding) is int
            and type(dilation) is int):
        g = _transpose_geometry_ints(in_hw, kernel_hw, stride, padding, output_padding, dilation)
        if g is not None:
            return g
    s = pair(stride, "stride")
    d = pair(dilation, "dilation")
    out_pad = pair(output_padding, "output_padding", minimum=0)
    if output_size is not None:
        if out_pad != (0, 0):
            raise ValueError(
                f"give either output_padding or output_size, not both: got output_padding={output_padding!r} "
                f"and output_size={output_size!r}; allowed: output_padding=0 when output_size is given"
            )
        osz = pair(output_size, "output_size")
        if isinstance(padding, str):
            specs = [padding, padding]
        else:
            full = resolve_padding(padding, in_hw, kernel_hw, s, d)  # validates, gives (t, b, l, r)
            specs = [full[0:2], full[2:4]]
        res = [output_padding_for(in_hw[a], osz[a], kernel_hw[a], s[a], specs[a], d[a]) for a in (0, 1)]
        pads = res[0][0] + res[1][0]
        out_pad = (res[0][1], res[1][1])
    else:
        out_pad = _output_padding_pair(output_padding, s, d)
        if isinstance(padding, str) and padding.lower() == "same":
            if out_pad != (0, 0):
                raise ValueError(
                    f"output_padding must be 0 with padding='same', got {output_padding}; "
                    "pick the size with output_size instead"
                )
            # o = i * s; when d(k-1)+1 < s SAME pads nothing and the last s - d(k-1) - 1
            # rows/cols are reached by no tap: they come from output padding
            res = [output_padding_for(in_hw[a], in_hw[a] * s[a], kernel_hw[a], s[a], "same", d[a]) for a in (0, 1)]
            pads = res[0][0] + res[1][0]
            out_pad = (res[0][1], res[1][1])
        else:
            pads = resolve_padding(padding, in_hw, kernel_hw, s, d)
    out = []
    for a in (0, 1):
        o = (in_hw[a] - 1) * s[a] + effective_kernel(kernel_hw[a], d[a]) + out_pad[a] - pads[2 * a] - pads[2 * a + 1]
        if o < 1:
            raise ValueError(
                f"padding {pads[2 * a:2 * a + 2]} crops the whole output along axis {a}: "
                f"(i-1)*s - p + d*(k-1) + output_padding + 1 = {o}; allowed: an output size >= 1"
            )
        out.append(o)
    return ConvGeometry(tuple(out), kernel_hw, s, d, tuple(pads), in_hw, out_pad, _mode(padding))


def direct_padding(g: ConvGeometry) -> Tuple[int, int, int, int]:
    """Padding (top, bottom, left, right) of the zero-inserted input in the
    direct-convolution view of a transposed convolution: ``d(k-1) - p``, with
    ``output_padding`` added at the bottom/right.  Negative values mean crop.

    Examples
    --------
    >>> direct_padding(transpose_geometry((3, 3), (3, 3), stride=2, padding=1, output_padding=1))
    (1, 2, 1, 2)
    """
    (kh, kw), (dh, dw) = g.kernel_hw, g.dilation
    t, b, l, r = g.pads
    eh, ew = dh * (kh - 1), dw * (kw - 1)
    return (eh - t, eh - b + g.output_padding[0], ew - l, ew - r + g.output_padding[1])

"""Output-size arithmetic and parameter validation (defined in the chapter
*Transposed convolution*, used everywhere).

Every public function validates its arguments and raises ``ValueError`` naming
the parameter, the offending value and the allowed range, so that notebooks and
widgets can show the message verbatim.
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

Padding = Union[int, str, Sequence[int]]

__all__ = [
    "pair",
    "conv_output_size",
    "same_padding",
    "transpose_output_size",
    "transpose_output_sizes",
    "resolve_padding",
    "effective_kernel",
]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or (
        hasattr(v, "dtype") and getattr(v, "ndim", 1) == 0 and v.dtype.kind in "iu"
    )


def check_int(name: str, value, minimum: int) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= minimum."""
    if not _is_int(value):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def pair(value, name: str, minimum: int = 1) -> Tuple[int, int]:
    """Turn ``3`` or ``(3, 2)`` into a validated ``(h, w)`` pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return (check_int(f"{name}[0]", value[0], minimum), check_int(f"{name}[1]", value[1], minimum))
    v = check_int(name, value, minimum)
    return (v, v)


def effective_kernel(k: int, dilation: int = 1) -> int:
    """Extent of a dilated kernel: ``d (k - 1) + 1``."""
    return dilation * (k - 1) + 1


def same_padding(i: int, k: int, stride: int = 1, dilation: int = 1) -> Tuple[int, int]:
    """TensorFlow's SAME padding ``(before, after)`` along one axis.

    The output has ``ceil(i / stride)`` elements; the total padding needed is
    split with the odd element going *after* (bottom/right), as TensorFlow does.
    """
    i = check_int("input size", i, 1)
    k = check_int("kernel_size", k, 1)
    stride = check_int("stride", stride, 1)
    dilation = check_int("dilation", dilation, 1)
    out = -(-i // stride)
    total = max(0, (out - 1) * stride + effective_kernel(k, dilation) - i)
    return total // 2, total - total // 2


def _padding_1d(padding, i, k, stride, dilation, axis: int) -> Tuple[int, int]:
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
    """
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"padding must be an int >= 0, a tuple, 'valid' or 'same', got {padding!r}")
        specs = (padding, padding)
    elif _is_int(padding):
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
    (t, b) = _padding_1d(specs[0], input_hw[0], kernel_hw[0], stride_hw[0], dilation_hw[0], 0)
    (l, r) = _padding_1d(specs[1], input_hw[1], kernel_hw[1], stride_hw[1], dilation_hw[1], 1)
    return (t, b, l, r)


def _pads_1d(padding, i, k, stride, dilation) -> Tuple[int, int]:
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            raise ValueError(f"padding for one axis must be an int, (before, after), 'valid' or 'same', got {padding!r}")
        return (check_int("padding[0]", padding[0], 0), check_int("padding[1]", padding[1], 0))
    if isinstance(padding, str):
        return _padding_1d(padding, i, k, stride, dilation, 0)
    p = check_int("padding", padding, 0)
    return (p, p)


def conv_output_size(i: int, k: int, stride: int = 1, padding=0, dilation: int = 1) -> int:
    """Output length of a convolution along one axis.

    ``o = floor((i + p_before + p_after - d (k - 1) - 1) / s) + 1``, Dumoulin &
    Visin's relationship 15 with possibly unequal padding.  ``padding`` may be an
    int, ``(before, after)``, ``"valid"`` or ``"same"``.
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
        before, after = _padding_1d(padding, i, k, stride, dilation, 0)
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
    """
    i = check_int("input size", i, 1)
    k = check_int("kernel_size", k, 1)
    stride = check_int("stride", stride, 1)
    dilation = check_int("dilation", dilation, 1)
    if isinstance(padding, str) and padding.lower() == "same":
        return list(range(stride * (i - 1) + 1, stride * i + 1))
    if isinstance(padding, str):
        before, after = _padding_1d(padding, i, k, stride, dilation, 0)  # 'valid'; other strings raise
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
    """The output-size formula with the current numbers, for widgets and captions."""
    before, after = _pads_1d(padding, i, k, stride, dilation)
    o = conv_output_size(i, k, stride, (before, after), dilation)
    return (
        f"o = floor((i + p_before + p_after - d(k-1) - 1) / s) + 1 = "
        f"floor(({i} + {before} + {after} - {dilation}*({k}-1) - 1) / {stride}) + 1 = {o}"
    )


def describe_transpose(i: int, k: int, stride: int = 1, padding=0, output_padding: int = 0, dilation: int = 1) -> str:
    """The transposed output-size formula with the current numbers."""
    if isinstance(padding, str) and padding.lower() == "same":
        o = transpose_output_size(i, k, stride, padding, output_padding, dilation)
        return f"SAME: o = i * s = {i} * {stride} = {o}"
    before, after = _pads_1d(padding, i, k, stride, dilation)
    o = transpose_output_size(i, k, stride, (before, after), output_padding, dilation)
    return (
        "o = (i-1)s - p_before - p_after + d(k-1) + output_padding + 1 = "
        f"({i}-1)*{stride} - {before} - {after} + {dilation}*({k}-1) + {output_padding} + 1 = {o}"
    )


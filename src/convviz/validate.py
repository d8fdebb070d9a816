"""Argument validation shared by every public function of convviz.

Each check raises ``ValueError`` (or ``TypeError`` for a wrong kind of object)
naming the parameter, the offending value and the allowed range, so that the
notebooks and the explorers can show the message verbatim.

Dtype policy (README, API appendix): float16, float32 and float64 arrays keep
their dtype; integer and boolean arrays become float64; two operands of
different float dtypes follow ``np.result_type`` (float32 with float64 gives
float64).  Complex, string and object arrays are rejected.

Size guard: functions that build a dense matrix or tensor whose size grows
with the square of the input (``conv_matrix``, ``jacobian``, ...) estimate its
bytes first and refuse anything above :data:`MAX_BYTES`.  Raise the limit when
you really want the array::

    import convviz.validate
    convviz.validate.MAX_BYTES = 8 << 30   # allow 8 GiB

The Jacobians' plans (which strided view of the kernel or input fills which block) are cached per
geometry, least recently used dropped first once they hold more than :data:`JACOBIAN_CACHE_BYTES`.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = [
    "MAX_BYTES",
    "JACOBIAN_CACHE_BYTES",
    "is_int",
    "check_int",
    "pair",
    "as_float_array",
    "as_4d",
    "operands",
    "shape4",
    "check_bytes",
]

#: Largest array (in bytes) that ``conv_matrix``, ``transpose_matrix``,
#: ``jacobian`` and ``im2col`` may allocate; raise it to allow more.
MAX_BYTES = 1 << 30  # 1 GiB

#: Most bytes the cache of Jacobian plans may keep (0 disables it).
JACOBIAN_CACHE_BYTES = 256 << 20  # 256 MiB


def is_int(v) -> bool:
    """True for Python and numpy integers (not bools, not floats).

    Examples
    --------
    >>> is_int(3), is_int(np.int8(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    if type(v) is int:  # the common case first (bool is a subclass, not this type)
        return True
    if isinstance(v, bool) or isinstance(v, np.bool_):
        return False
    if isinstance(v, (int, np.integer)):
        return True
    return isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iu"


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as an int, or ``ValueError`` if it is not an integer >= ``minimum``.

    Examples
    --------
    >>> check_int("stride", 2, 1)
    2
    >>> check_int("stride", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: stride must be an integer >= 1, got 0
    """
    if type(value) is int and value >= minimum:
        return value
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def pair(value, name: str, minimum: int = 1) -> Tuple[int, int]:
    """Turn ``3`` or ``(3, 2)`` into a validated ``(h, w)`` pair.

    Examples
    --------
    >>> pair(3, "stride"), pair((1, 2), "dilation")
    ((3, 3), (1, 2))
    """
    if type(value) is int and value >= minimum:
        return (value, value)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return (check_int(f"{name}[0]", value[0], minimum), check_int(f"{name}[1]", value[1], minimum))
    v = check_int(name, value, minimum)
    return (v, v)


def as_float_array(a, name: str) -> np.ndarray:
    """``a`` as a float ndarray following the dtype policy above.

    Examples
    --------
    >>> as_float_array([[1, 2]], "x").dtype, as_float_array(np.ones(2, np.float32), "x").dtype
    (dtype('float64'), dtype('float32'))
    """
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists etc.
        raise ValueError(f"{name} must be array-like with a numeric dtype: {exc}") from None
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise ValueError(f"{name} must have a real numeric dtype (float, int or bool), got {arr.dtype}")
    return arr


def as_4d(a, name: str, layout: str) -> Tuple[np.ndarray, bool]:
    """A 4-D float array and whether the caller passed a 2-D one; no axis may be empty.

    Examples
    --------
    >>> X, squeezed = as_4d(np.ones((3, 3)), "x", "NCHW")
    >>> X.shape, squeezed
    ((1, 1, 3, 3), True)
    """
    arr = as_float_array(a, name)
    if arr.ndim == 2:
        arr, squeeze = arr[None, None], True
    elif arr.ndim == 4:
        squeeze = False
    else:
        raise ValueError(f"{name} must be 2-D (H, W) or 4-D {layout}, got ndim={arr.ndim} with shape {arr.shape}")
    if 0 in arr.shape:
        axes = layout if len(layout) == 4 else ("dim 0", "dim 1", "dim 2", "dim 3")
        if squeeze:
            bad = [f"{name}.shape[{i}] ({axes[i + 2]})" for i, n in enumerate(arr.shape[2:]) if n == 0]
        else:
            bad = [f"{name}.shape[{i}] ({axes[i]})" for i, n in enumerate(arr.shape) if n == 0]
        raise ValueError(
            f"{name} must have every dimension >= 1, got shape {np.asarray(a).shape}: {', '.join(bad)} is 0"
        )
    return arr, squeeze


_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def operands(x, w, transposed: bool):
    """``x`` and ``w`` as 4-D arrays of one float dtype, and whether both were 2-D.

    Checks that the channels meet: ``w.shape[1]`` for a convolution (OIHW),
    ``w.shape[0]`` for a transposed one ((C_in, C_out, kh, kw)).

    Examples
    --------
    >>> X, W, both_2d = operands(np.ones((4, 4)), np.ones((3, 3), np.float32), transposed=False)
    >>> X.shape, W.dtype, both_2d
    ((1, 1, 4, 4), dtype('float64'), True)
    """
    if (type(x) is np.ndarray and type(w) is np.ndarray and x.ndim == 4 and w.ndim == 4 and x.dtype == w.dtype
            and x.dtype in _FLOATS and 0 not in x.shape and 0 not in w.shape
            and x.shape[1] == w.shape[0 if transposed else 1]):
        return x, w, False  # what the checks below return for valid 4-D arrays of one float dtype
    X, x2d = as_4d(x, "x", "NCHW")
    W, w2d = as_4d(w, "w", "(C_in, C_out, kh, kw)" if transposed else "OIHW")
    axis = 0 if transposed else 1
    if X.shape[1] != W.shape[axis]:
        raise ValueError(
            f"w has {W.shape[axis]} input channels (w.shape[{axis}]) but x has {X.shape[1]} channels "
            "(x.shape[1]); they must match"
        )
    dtype = np.result_type(X, W)
    return X.astype(dtype, copy=False), W.astype(dtype, copy=False), x2d and w2d


def shape4(shape, name: str, layout: str) -> Tuple[Tuple[int, int, int, int], bool]:
    """A validated 4-entry shape and whether the caller gave 2 entries (H, W).

    Examples
    --------
    >>> shape4((5, 5), "input_shape", "NCHW")
    ((1, 1, 5, 5), True)
    """
    try:
        shape = tuple(shape)  # no int() here: it would silently truncate 2.5 to 2
    except TypeError:
        raise ValueError(f"{name} must be a shape tuple, got {shape!r}") from None
    if len(shape) == 2:
        shape, squeeze = (1, 1) + shape, True
    elif len(shape) == 4:
        squeeze = False
    else:
        raise ValueError(f"{name} must have 2 (H, W) or 4 {layout} entries, got {shape!r}")
    shape = tuple(check_int(f"{name} ({n})", s, 1) for n, s in zip(layout, shape))
    return shape, squeeze


def _human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def check_bytes(what: str, shape, itemsize: int) -> None:
    """Refuse to allocate an array of ``shape`` above :data:`MAX_BYTES`.

    Examples
    --------
    >>> check_bytes("the matrix C", (262144, 262144), 8)
    Traceback (most recent call last):
    ...
    ValueError: the matrix C would have shape (262144, 262144) and need 512.0 GiB; the limit is convviz.validate.MAX_BYTES = 1.0 GiB (raise it to allow more)
    """
    need = float(np.prod([float(s) for s in shape])) * itemsize
    if need > MAX_BYTES:
        raise ValueError(
            f"{what} would have shape {tuple(int(s) for s in shape)} and need {_human(need)}; the limit is "
            f"convviz.validate.MAX_BYTES = {_human(MAX_BYTES)} (raise it to allow more)"
        )

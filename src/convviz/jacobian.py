"""Analytic Jacobians of conv2d and conv_transpose2d, and the matrix C of Y = CX.

Both ops are bilinear, so every Jacobian entry is either zero or one kernel
weight (wrt the input) or one input pixel (wrt the kernel).  Along each axis,
output ``o`` reads with tap ``i`` the input ``o s - pad + i d``: an affine map.  So
the Jacobian is a *strided view* of a small array -- the kernel (a Toeplitz
structure) or the zero-padded input -- and one numpy assignment per block
copies that view into a zero tensor (a few blocks when padding cuts taps off or
a stride splits the taps into phases).  No index arrays, no autodiff, no per-output backward passes.
Shapes follow ``tf.GradientTape.jacobian``: ``out.shape + wrt.shape``.
Defined in chapter *Gradients of convolution and transposed convolution*.
"""
from __future__ import annotations

import math
import sys
from collections import OrderedDict

import numpy as np

from . import ops, validate
from .geometry import ConvGeometry, conv_geometry, transpose_geometry
from .validate import as_4d, check_bytes, operands, shape4

__all__ = ["jacobian", "conv_matrix", "transpose_matrix", "clear_cache"]

#: Jacobians wrt the input with at least this many entries per batch item are written band by
#: band when padding cuts taps off (only each row's kernel footprint, in up to 3 x 3 blocks);
#: smaller ones in one block that also writes their zeros (fewer numpy calls).
_BAND_MIN = 1 << 15

#: A transposed convolution's Jacobian wrt the kernel with a stride > 1 is copied in one view of the
#: zero-inserted input when its diagonal blocks hold at most this many entries; larger ones take one
#: view per stride phase, which copies only the entries that are not zero (1 / (s_h s_w) of them) but
#: costs some 20-30 us more in plan and per-block overhead (measured: about 1 ns per entry copied).
_DIRECT_MAX = 1 << 15

#: Blocks wrt the kernel with at least this many entries are copied in the order of :func:`_loop_order`.
_ORDER_MIN = 1 << 12


class _Plan:
    """How to write one geometry's Jacobian (see :func:`_plan`).

    ``shape``: the Jacobian's; ``empty``: one block covers every entry, so the
    tensor need not be zeroed; ``big``/``place``: shape of the zero array the
    source is copied into and where (``None``: the source as it is); ``pieces``:
    per block ``(shape, offset, strides)`` in the Jacobian, ``(offset, strides)``
    in that array (all in bytes), a loop order or None (see :func:`_loop_order`)
    and the dtype to copy in, None for the arrays' own (see :func:`_piece`).
    """

    __slots__ = ("shape", "empty", "big", "place", "pieces", "nbytes")

    def __init__(self, shape, empty, big, place, pieces):
        self.shape, self.empty, self.big, self.place, self.pieces = shape, empty, big, place, pieces
        self.nbytes = _PLAN_BYTES + len(pieces) * _PIECE_BYTES


def _loop_order(view, strides, src_strides, itemsize):
    """For a large block: an axis order with the longest contiguously read axis innermost, else None.

    numpy's assignment loops innermost along the destination's smallest stride;
    wrt the kernel that is a tap or channel axis of 2 or 3 entries, so the time
    goes into loop overhead.  A ufunc keeps the order it is given where the
    operands' strides disagree, so :func:`_fill` copies such a block with
    ``np.positive`` (an exact copy) in this order instead.
    """
    if math.prod(view) < _ORDER_MIN:
        return None
    inner = best = None  # (plain loops: this runs for every cold Jacobian, min/max with keys cost 3x)
    for a in range(7):
        if view[a] > 1 and (inner is None or abs(strides[a]) < abs(strides[inner])):
            inner = a
        if abs(src_strides[a]) == itemsize and (best is None or view[a] > view[best]):
            best = a
    if inner is None or best is None or view[best] < 8 or view[best] <= 2 * view[inner]:
        return None
    return tuple(a for a in range(7) if a != best) + (best,)


def _piece(view, offset, strides, src_offset, src_strides, itemsize, reorder=False):
    """One block of a plan: its views, and how to copy them (see :class:`_Plan`).

    numpy copies a strided block with one inner loop per run of the destination's
    innermost axis, which is often a tap axis of 2 or 3 entries.  When that axis is
    contiguous in both arrays, the block is copied as one ``void`` item per run
    instead (the same bytes, an axis fewer, a third of the loops or less).  Large
    kernel blocks may take a better loop order (:func:`_loop_order`) first.
    """
    order = _loop_order(view, strides, src_strides, itemsize) if reorder else None
    if order is None and view[-1] > 1 and strides[-1] == src_strides[-1] == itemsize:
        size = view[-1] * itemsize
        unit = _VOIDS.get(size)
        if unit is None:
            unit = _VOIDS[size] = np.dtype((np.void, size))
        return (view[:-1], offset, strides[:-1], src_offset, src_strides[:-1], None, unit)
    return (view, offset, strides, src_offset, src_strides, order, None)


_VOIDS = {}  # void dtypes by size (making one costs more than a whole small plan's arithmetic)


def _phases(n_o: int, k: int, s: int, d: int, pad: int):
    """The phases of a transposed convolution along one axis, for its Jacobian wrt the kernel.

    Output ``o = y s - pad + i d`` (``y`` an input position, ``i`` a tap), so the
    outputs of phase ``rho = o mod s`` are reached only by the taps with
    ``i d = rho + pad (mod s)``: every ``step``-th tap from ``i0``.  Returns, per
    phase that some tap reaches, ``(rho, n, i0, n_taps, step, y0, q)``: output
    ``rho + s a`` (``a < n``) with tap ``i0 + step b`` reads input ``y0 + a - q b``
    (which may lie outside the input: a zero).

    Examples
    --------
    >>> _phases(6, 3, 2, 1, 1)   # stride 2: tap 1 for the even outputs, taps 0 and 2 for the odd
    [(0, 3, 1, 1, 2, 0, 1), (1, 3, 0, 2, 2, 1, 1)]
    """
    if s == 1:
        return [(0, n_o, 0, k, 1, pad, d)]
    g = math.gcd(s, d)
    step, q = s // g, d // g
    out = []
    for rho in range(min(s, n_o)):
        for i0 in range(min(step, k)):
            if (i0 * d - rho - pad) % s == 0:
                out.append((rho, (n_o - rho + s - 1) // s, i0, (k - i0 + step - 1) // step, step,
                            (rho + pad - i0 * d) // s, q))
                break
        # no break: no tap reaches this phase, whose outputs do not depend on the kernel
    return out


def _plan(kind: str, x_shape, w_shape, g: ConvGeometry, itemsize: int, shape) -> _Plan:
    """The strided views that write a Jacobian of ``shape``.

    Along one axis, output ``o`` with tap ``i`` reads input ``in = o s - pad + i d``.

    * Wrt the kernel (conv2d): entry ``(o, i)`` is the zero-padded input at
      ``o s + i d``, a view with strides ``s`` and ``d``.
    * Wrt the kernel (transposed conv, whose output is the conv's input): entry
      ``(in, i)`` is input ``(in + pad - i d) / s`` where that is a whole number:
      one view of the zero-inserted, zero-padded input (stride 1 and small blocks,
      see :data:`_DIRECT_MAX`), else one view per phase ``in mod s`` (see :func:`_phases`).
    * Wrt the input: entry ``(o, in)`` is the tap at ``q = in - o s + pad`` (when
      ``q = i d``).  Row ``o`` holds the kernel from column ``o s - pad`` on: a
      *band* view (``o`` by tap) of the kernel itself, while that footprint lies
      inside the input -- always, without padding.  Outputs whose footprint is cut
      by padding get *dense* views (``o`` by every ``in``) of the kernel
      zero-dilated inside a zero array indexed by ``q``; small Jacobians take that
      one dense view throughout (it writes their zeros too).

    The Jacobian is zero off one diagonal (batch items wrt the input, output
    channels wrt the kernel): the views are 7-axis views of that diagonal, in
    the Jacobian's memory order ``(n, channel, positions, channel, positions)``.
    The plan depends only on shapes, geometry and itemsize, so it is cached (see
    :data:`convviz.validate.JACOBIAN_CACHE_BYTES`).
    """
    # byte strides of the C-contiguous Jacobian
    E7 = itemsize
    E6 = E7 * shape[7]
    E5 = E6 * shape[6]
    E4 = E5 * shape[5]
    E3 = E4 * shape[4]
    E2 = E3 * shape[3]
    E1 = E2 * shape[2]
    E0 = E1 * shape[1]
    in_hw, (kh, kw), (sh, sw), (dh, dw), (t, b, l, r), out_hw = g[:6]
    n, (c0, c1), (h, w) = x_shape[0], w_shape[:2], x_shape[2:]
    if kind == "conv2d-kernel":  # (n, o, oy, ox, c, i, j) <- x zero-padded at (oy s + i d, ox s + j d)
        hp, wp = h + t + b, w + l + r
        big = (n, c1, hp, wp) if t or b or l or r else None
        B1, B2 = hp * wp * itemsize, wp * itemsize
        view, strides = (n, c0, out_hw[0], out_hw[1], c1, kh, kw), (E0, E1 + E4, E2, E3, E5, E6, E7)
        src_strides = (c1 * B1, 0, sh * B2, sw * itemsize, B1, dh * B2, dw * itemsize)
        piece = _piece(view, 0, strides, 0, src_strides, itemsize, reorder=True)
        return _Plan(shape, c0 == 1, big, (slice(None), slice(None), slice(t, t + h), slice(l, l + w)), (piece,))
    if kind == "conv_transpose2d-kernel" and (sh == sw == 1 or math.prod(shape) // c1 <= _DIRECT_MAX):
        # (n, co, iy, ix, ci, i, j) <- z at iy + pad - i d, z the zero-inserted x (z[m s] = x[m]) zero-
        # padded: the direct view of chapter *Transposed convolution*, one view for every tap.  z is
        # stored flipped, so that the taps run forwards in memory as in the Jacobian (a run of taps is
        # then copied as one item).
        lo_y, lo_x = min(t - (kh - 1) * dh, 0), min(l - (kw - 1) * dw, 0)
        ly = max(in_hw[0] - 1 + t, (h - 1) * sh) - lo_y + 1
        lx = max(in_hw[1] - 1 + l, (w - 1) * sw) - lo_x + 1
        B1, B2 = ly * lx * itemsize, lx * itemsize
        ry, rx = ly - 1 + lo_y, lx - 1 + lo_x  # where x[0, 0] goes in the flipped z
        place = (slice(None), slice(None), slice(ry, ry - sh * h if ry >= sh * h else None, -sh),
                 slice(rx, rx - sw * w if rx >= sw * w else None, -sw))
        view, strides = (n, c1, in_hw[0], in_hw[1], c0, kh, kw), (E0, E1 + E5, E2, E3, E4, E6, E7)
        src_strides = (c0 * B1, 0, -B2, -itemsize, B1, dh * B2, dw * itemsize)
        piece = _piece(view, 0, strides, (ry - t) * B2 + (rx - l) * itemsize, src_strides, itemsize)
        return _Plan(shape, c1 == 1, (n, c0, ly, lx), place, (piece,))
    if kind == "conv_transpose2d-kernel":
        # (n, co, iy, ix, ci, i, j) <- x at oy = (iy + pad - i d) / s when that is a whole number: one
        # block per phase (iy mod s, ix mod s) over the taps of that phase, from x zero-padded
        ys, xs = _phases(in_hw[0], kh, sh, dh, t), _phases(in_hw[1], kw, sw, dw, l)
        top, ly = 0, h  # x's zero rows above, and all its rows with those above and below
        for _, na, _, nb, _, o0, q in ys:
            top, ly = max(top, (nb - 1) * q - o0), max(ly, o0 + na)
        left, lx = 0, w
        for _, na, _, nb, _, o0, q in xs:
            left, lx = max(left, (nb - 1) * q - o0), max(lx, o0 + na)
        ly, lx = ly + top, lx + left
        big = None if ly == h and lx == w else (n, c0, ly, lx)
        B1, B2 = ly * lx * itemsize, lx * itemsize
        pieces = []
        for ry, nay, iy0, nby, ty, oy0, qy in ys:
            for rx, nax, ix0, nbx, tx, ox0, qx in xs:
                view, strides = (n, c1, nay, nax, c0, nby, nbx), (E0, E1 + E5, sh * E2, sw * E3, E4, ty * E6, tx * E7)
                src_strides = (c0 * B1, 0, B2, itemsize, B1, -qy * B2, -qx * itemsize)
                pieces.append(_piece(view, ry * E2 + rx * E3 + iy0 * E6 + ix0 * E7, strides,
                                     (oy0 + top) * B2 + (ox0 + left) * itemsize, src_strides, itemsize, reorder=True))
        place = (slice(None), slice(None), slice(top, top + h), slice(left, left + w))
        return _Plan(shape, False, big, place, tuple(pieces))  # (stride 1 took the one view above)
    # wrt the input: per axis, the outputs [first, end) whose kernel footprint lies inside
    fy, ey = -(-t // sh), min(out_hw[0], (in_hw[0] - 1 - (kh - 1) * dh + t) // sh + 1)
    fx, ex = -(-l // sw), min(out_hw[1], (in_hw[1] - 1 - (kw - 1) * dw + l) // sw + 1)
    if fy == fx == 0 and ey == out_hw[0] and ex == out_hw[1]:  # bands only: the kernel as it is
        big = place = None
        lo_y = lo_x = 0
        U, V, ty, tx, band_ok = kw * itemsize, itemsize, kw * itemsize, itemsize, True
    else:  # big[c0, c1, q_y - lo_y, q_x - lo_x] = w[c0, c1, i, j] at q = (i d_h, j d_w)
        lo_y, lo_x = min(t - (out_hw[0] - 1) * sh, 0), min(l - (out_hw[1] - 1) * sw, 0)
        ly = max(in_hw[0] - 1 + t, (kh - 1) * dh) - lo_y + 1
        lx = max(in_hw[1] - 1 + l, (kw - 1) * dw) - lo_x + 1
        big = (c0, c1, ly, lx)
        place = (slice(None), slice(None), slice(-lo_y, -lo_y + (kh - 1) * dh + 1, dh),
                 slice(-lo_x, -lo_x + (kw - 1) * dw + 1, dw))
        U, V = lx * itemsize, itemsize
        ty, tx, band_ok = dh * U, dw * V, math.prod(shape) >= _BAND_MIN * n
    B1 = (kh * kw if big is None else ly * lx) * itemsize  # the source's channel strides
    B0 = c1 * B1
    conv = kind == "conv2d-input"
    # the Jacobian's strides of the output / input positions (rows and columns swap for the transpose)
    Py, Px, Qy, Qx = (E2, E3, E6, E7) if conv else (E6, E7, E2, E3)
    ys = _input_axis(out_hw[0], in_hw[0], kh, sh, dh, t, fy, ey, Py, Qy, U, lo_y, ty, band_ok)
    xs = _input_axis(out_hw[1], in_hw[1], kw, sw, dw, l, fx, ex, Px, Qx, V, lo_x, tx, band_ok)
    if conv:  # (n, o, oy, ox, c, iy, ix); big is (o, c, ...)
        pieces = tuple(_piece((n, c0, ny, nx, c1, my, mx), jy + jx, (E0 + E4, E1, py, px, E5, qy, qx),
                              sy + sx, (0, B0, uy, ux, B1, vy, vx), itemsize)
                       for ny, my, py, qy, jy, uy, vy, sy in ys for nx, mx, px, qx, jx, ux, vx, sx in xs)
    else:  # (n, co, iy, ix, ci, oy, ox); big is (ci, co, ...)
        pieces = tuple(_piece((n, c1, my, mx, c0, ny, nx), jy + jx, (E0 + E4, E1, qy, qx, E5, py, px),
                              sy + sx, (0, B1, vy, vx, B0, uy, ux), itemsize)
                       for ny, my, py, qy, jy, uy, vy, sy in ys for nx, mx, px, qx, jx, ux, vx, sx in xs)
    # one block over every (output, input) pair of a single batch item: no zero left to write
    empty = n == 1 and len(pieces) == 1 and ys[0][:2] == (out_hw[0], in_hw[0]) and xs[0][:2] == (out_hw[1], in_hw[1])
    return _Plan(shape, empty, big, place, pieces)


def _input_axis(n_out, bound, k, s, d, pad, first, end, P, Q, U, lo, tap, band_ok):
    """One axis of the blocks of a Jacobian wrt the input (see :func:`_plan`).

    Outputs ``[first, end)`` have their kernel footprint inside ``[0, bound)``.  A band
    block covers outputs by taps, a dense block outputs by every input.  ``P``/``Q``:
    the Jacobian's byte strides of output and input position; ``U``: the source's
    along this axis, ``lo`` its first index, ``tap`` its stride from tap to tap.
    Returns ``(n_o, n_in, P', Q', offset, U_o, U_in, source offset)`` per block.
    """
    if first == 0 and end == n_out:
        return ((n_out, k, P + s * Q, d * Q, -pad * Q, 0, tap, -lo * U),)
    if not band_ok or first >= end:
        return ((n_out, bound, P, Q, 0, -s * U, U, (pad - lo) * U),)
    blocks = [(end - first, k, P + s * Q, d * Q, first * P + (first * s - pad) * Q, 0, tap, -lo * U)]
    if first > 0:
        blocks.insert(0, (first, bound, P, Q, 0, -s * U, U, (pad - lo) * U))
    if end < n_out:
        blocks.append((n_out - end, bound, P, Q, end * P, -s * U, U, (pad - lo - end * s) * U))
    return blocks


def _deep_sizeof(obj) -> int:
    if isinstance(obj, (tuple, list)):
        return sys.getsizeof(obj) + sum(_deep_sizeof(o) for o in obj)
    if isinstance(obj, slice):
        return sys.getsizeof(obj) + sum(_deep_sizeof(o) for o in (obj.start, obj.stop, obj.step) if o is not None)
    return sys.getsizeof(obj)


# What a cached plan holds (ints of typical size): the object, the Jacobian's shape, the source
# array's shape and placement; per block a 7-entry shape, two 7-entry strides and two offsets.
_PLAN_BYTES = (sys.getsizeof(_Plan.__new__(_Plan)) + _deep_sizeof((1,) * 8) + _deep_sizeof((1,) * 4)
               + _deep_sizeof((slice(None),) * 2 + (slice(1, 9, 1),) * 2) + sys.getsizeof(()))
_PIECE_BYTES = _deep_sizeof(((1,) * 7, 1 << 20, (1 << 20,) * 7, 1 << 20, (1 << 20,) * 7, (1,) * 7, None))


class _PatternCache:
    """LRU cache of Jacobian plans, bounded by the bytes they hold
    (:data:`convviz.validate.JACOBIAN_CACHE_BYTES`)."""

    def __init__(self):
        self.entries: "OrderedDict[tuple, _Plan]" = OrderedDict()
        self.nbytes = 0

    def get(self, key, build, *args):
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
            return hit
        value = build(*key, *args)
        size = value.nbytes
        limit = validate.JACOBIAN_CACHE_BYTES
        if size <= limit:
            self.entries[key] = value
            self.nbytes += size
            while self.nbytes > limit:
                _, old = self.entries.popitem(last=False)
                self.nbytes -= old.nbytes
        return value

    def clear(self):
        self.entries.clear()
        self.nbytes = 0


_CACHE = _PatternCache()


def clear_cache() -> None:
    """Drop every cached Jacobian plan.

    Examples
    --------
    >>> _ = jacobian("conv2d", np.ones((4, 4)), np.ones((3, 3)))
    >>> clear_cache(); _CACHE.nbytes
    0
    """
    _CACHE.clear()


def _dense_shape(kind: str, x_shape, w_shape, g: ConvGeometry):
    """The Jacobian's shape, known before any index is computed (for the size guard)."""
    n = x_shape[0]
    if kind.startswith("conv2d"):
        head = (n, w_shape[0]) + g.out_hw
    else:
        head = (n, w_shape[1]) + g.in_hw
    return head + (tuple(x_shape) if kind.endswith("input") else tuple(w_shape))


def _fill(kind, x_shape, w_shape, g, source: np.ndarray, what: str = "the Jacobian") -> np.ndarray:
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    itemsize, dtype = source.itemsize, source.dtype
    shape = _dense_shape(kind, x_shape, w_shape, g)
    if math.prod(shape) * itemsize > validate.MAX_BYTES:
        if what != "the Jacobian":  # a matrix: say its (rows, columns)
            shape = (math.prod(shape[:4]), math.prod(shape[4:]))
        check_bytes(what, shape, itemsize)  # raises
    plan = _CACHE.get((kind, x_shape, w_shape, g, itemsize), _plan, shape)
    if plan.big is None:
        big = np.ascontiguousarray(source)
    else:
        big = np.zeros(plan.big, dtype)
        big[plan.place] = source
    J = (np.empty if plan.empty else np.zeros)(plan.shape, dtype)
    for view, offset, strides, src_offset, src_strides, order, unit in plan.pieces:
        if order is None:
            unit = dtype if unit is None else unit  # (a void dtype without fields is falsy)
            np.ndarray(view, unit, J, offset, strides)[...] = np.ndarray(view, unit, big, src_offset, src_strides)
        else:
            np.positive(np.ndarray(view, dtype, big, src_offset, src_strides).transpose(order),
                        out=np.ndarray(view, dtype, J, offset, strides).transpose(order))
    return J


_OPS = ("conv2d", "conv_transpose2d")
_PARAMS = {"conv2d": frozenset({"stride", "padding", "dilation"}),
           "conv_transpose2d": frozenset({"stride", "padding", "dilation", "output_padding", "output_size"})}


def jacobian(op, x, w, wrt: str = "input", **params) -> np.ndarray:
    """Analytic Jacobian of ``op(x, w, **params)`` with respect to ``x`` or ``w``.

    ``op`` is :func:`convviz.conv2d`, :func:`convviz.conv_transpose2d` or their
    names.  The result has shape ``out.shape + wrt.shape`` -- what
    ``tf.GradientTape.jacobian`` returns (with NCHW/OIHW layouts here, and 2-D
    shapes when ``x`` and ``w`` are 2-D).  The dense result must fit in
    :data:`convviz.validate.MAX_BYTES`.

    Examples
    --------
    >>> J = jacobian("conv2d", np.ones((3, 3)), np.arange(4.).reshape(2, 2))
    >>> J.shape, J[0, 0]          # output (0, 0) reads the top-left 2x2 window
    ((2, 2, 3, 3), array([[0., 1., 0.],
           [2., 3., 0.],
           [0., 0., 0.]]))
    """
    name = op if isinstance(op, str) else next((n for n in _OPS if op is getattr(ops, n)), None)
    if name not in _OPS:
        raise ValueError(f"op must be conv2d or conv_transpose2d (function or name), got {op!r}")
    if wrt not in ("input", "kernel"):
        raise ValueError(f"wrt must be 'input' or 'kernel', got {wrt!r}")
    X, W, squeeze = operands(x, w, transposed=name == "conv_transpose2d")
    if params and not _PARAMS[name].issuperset(params):
        raise ValueError(f"unknown parameter(s) {sorted(set(params) - _PARAMS[name])} for {name}")
    resolve = conv_geometry if name == "conv2d" else transpose_geometry
    g = resolve(X.shape[2:], W.shape[2:], **params)
    J = _fill(f"{name}-{wrt}", X.shape, W.shape, g, W if wrt == "input" else X)
    if squeeze:
        out2 = J.shape[2:4]
        tgt = X.shape[2:] if wrt == "input" else W.shape[2:]
        return J.reshape(out2 + tgt)
    return J


def conv_matrix(input_shape, w, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The matrix C with ``conv2d(x, w).ravel() == C @ x.ravel()``.

    For a 4x4 input and 3x3 kernel this is Dumoulin & Visin's sparse 4x16
    matrix; its transpose is the transposed convolution (chapter *Transposed
    convolution*).  The dense result must fit in :data:`convviz.validate.MAX_BYTES`.

    Examples
    --------
    >>> C = conv_matrix((4, 4), np.ones((3, 3)))
    >>> C.shape, int(C.sum())
    ((4, 16), 36)
    """
    shape, _ = shape4(input_shape, "input_shape", "NCHW")
    W, _ = as_4d(w, "w", "OIHW")
    if W.shape[1] != shape[1]:
        raise ValueError(f"w has {W.shape[1]} input channels but input_shape has {shape[1]}; they must match")
    g = conv_geometry(shape[2:], W.shape[2:], stride=stride, padding=padding, dilation=dilation)
    J = _fill("conv2d-input", shape, W.shape, g, W, "the matrix C")
    n_out = int(np.prod(J.shape[:4]))
    return J.reshape(n_out, -1)


def transpose_matrix(input_shape, w, stride=1, padding=0, output_padding=0, dilation=1, output_size=None) -> np.ndarray:
    """The matrix T with ``conv_transpose2d(x, w, ...).ravel() == T @ x.ravel()``.

    Examples
    --------
    >>> w = np.arange(9.).reshape(3, 3)
    >>> bool(np.array_equal(transpose_matrix((2, 2), w), conv_matrix((4, 4), w).T))
    True
    """
    shape, _ = shape4(input_shape, "input_shape", "NCHW")
    W, _ = as_4d(w, "w", "(C_in, C_out, kh, kw)")
    if W.shape[0] != shape[1]:
        raise ValueError(f"w has {W.shape[0]} input channels but input_shape has {shape[1]}; they must match")
    g = transpose_geometry(shape[2:], W.shape[2:], stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation, output_size=output_size)
    J = _fill("conv_transpose2d-input", shape, W.shape, g, W, "the matrix T")
    return J.reshape(int(np.prod(J.shape[:4])), -1)

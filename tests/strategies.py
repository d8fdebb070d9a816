"""Shared hypothesis strategies and framework-independent reference arithmetic.

The strategies generate *valid* parameter combinations directly (no rejection
sampling): padding form first, then per-axis kernel / stride / dilation, then
sizes and paddings bounded so that every kernel fits and every transposed
output is non-empty.  The expected sizes and paddings are computed here from
the textbook formulas (Dumoulin & Visin; TensorFlow's SAME rule), not with
convviz, so the tests can compare convviz's geometry against them.

``CONVVIZ_HYPOTHESIS_SCALE=10 make test`` multiplies every example budget.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from hypothesis import strategies as st

from references import keff, ref_conv_out, tf_same_pads  # noqa: F401  (re-exported for the tests)

SCALE = float(os.environ.get("CONVVIZ_HYPOTHESIS_SCALE", "1"))


def examples(n: int) -> int:
    """Example budget of one property test, scaled by ``CONVVIZ_HYPOTHESIS_SCALE``."""
    return max(1, int(round(n * SCALE)))


# ----------------------------------------------------------------------------
# reference arithmetic (first principles, deliberately independent of convviz): references.py
# ----------------------------------------------------------------------------
def rng_array(seed: int, shape) -> np.ndarray:
    """float64 standard-normal values (the tests compare float64 throughout)."""
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------
# parameter specs
# ----------------------------------------------------------------------------
def _spec_pair(draw, h: int, w: int):
    """Pass an int when both axes agree (sometimes), else a tuple or a list."""
    if h == w and draw(st.booleans()):
        return h
    return draw(st.sampled_from([(h, w), [h, w]]))


def _padding_spec(form: str, raw, draw):
    t, b, l, r = raw
    if form == "int":
        return t
    if form == "pair":
        return draw(st.sampled_from([(t, l), [t, l]]))
    if form == "quad":
        return (t, b, l, r)
    return draw(st.sampled_from([form, form.upper()]))


PAD_FORMS = ["int", "pair", "quad", "valid", "same"]

# Dilation is drawn (per axis, 1..max_d) in 40% of the cases only: TF's CPU backprop kernels
# reject dilation > 1, so the undilated majority is where all three implementations meet.
_DILATED = st.sampled_from([False, False, False, True, True])


class _PaddingFacts:
    """What the framework comparisons branch on; shared by both case types."""

    @property
    def symmetric(self) -> bool:
        t, b, l, r = self.pads
        return t == b and l == r

    @property
    def dilated(self) -> bool:
        return max(self.d_hw) > 1


@dataclass(frozen=True)
class ConvCase(_PaddingFacts):
    """One conv2d configuration plus its reference geometry."""

    n: int
    c: int
    o: int
    in_hw: Tuple[int, int]
    k_hw: Tuple[int, int]
    s_hw: Tuple[int, int]
    d_hw: Tuple[int, int]
    form: str  # "int" | "pair" | "quad" | "valid" | "same"
    stride: object  # the spec handed to convviz
    dilation: object
    padding: object
    pads: Tuple[int, int, int, int]  # reference (top, bottom, left, right)
    out_hw: Tuple[int, int]  # reference output size
    seed: int

    @property
    def params(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation)

    @property
    def x_shape(self):
        return (self.n, self.c) + self.in_hw

    @property
    def w_shape(self):
        return (self.o, self.c) + self.k_hw

    @property
    def y_shape(self):
        return (self.n, self.o) + self.out_hw

    def arrays(self):
        """x, w and an upstream gradient, all float64."""
        rng = np.random.default_rng(self.seed)
        return (
            rng.standard_normal(self.x_shape),
            rng.standard_normal(self.w_shape),
            rng.standard_normal(self.y_shape),
        )


@st.composite
def conv_cases(draw, max_hw=9, max_k=4, max_s=3, max_d=3, max_pad=3, max_n=2, max_c=3, max_o=3, forms=PAD_FORMS):
    """Valid conv2d configurations: every padding form, per-axis stride/dilation, non-square sizes."""
    form = draw(st.sampled_from(forms))
    n, c, o = draw(st.integers(1, max_n)), draw(st.integers(1, max_c)), draw(st.integers(1, max_o))
    k_hw = (draw(st.integers(1, max_k)), draw(st.integers(1, max_k)))
    s_hw = (draw(st.integers(1, max_s)), draw(st.integers(1, max_s)))
    pv = [draw(st.integers(0, max_pad)) for _ in range(4)]
    raw = {
        "int": (pv[0],) * 4,
        "pair": (pv[0], pv[0], pv[1], pv[1]),
        "quad": tuple(pv),
        "valid": (0, 0, 0, 0),
        "same": (0, 0, 0, 0),  # replaced below once the sizes are known
    }[form]
    dilated = draw(_DILATED)
    d_hw, in_hw = [], []
    for a in (0, 1):
        k, ptot = k_hw[a], raw[2 * a] + raw[2 * a + 1]
        if form == "same" or k == 1:
            dmax = max_d
        else:  # the dilated kernel must fit into max_hw + padding
            dmax = max(1, min(max_d, (max_hw + ptot - 1) // (k - 1)))
        d = draw(st.integers(1, dmax)) if dilated else 1
        lo = 1 if form == "same" else max(1, keff(k, d) - ptot)
        d_hw.append(d)
        in_hw.append(draw(st.integers(lo, max(lo, max_hw))))
    d_hw, in_hw = tuple(d_hw), tuple(in_hw)
    if form == "same":
        raw = tf_same_pads(in_hw[0], k_hw[0], s_hw[0], d_hw[0]) + tf_same_pads(in_hw[1], k_hw[1], s_hw[1], d_hw[1])
    out_hw = tuple(ref_conv_out(in_hw[a], k_hw[a], s_hw[a], raw[2 * a], raw[2 * a + 1], d_hw[a]) for a in (0, 1))
    assert None not in out_hw  # generated valid by construction
    return ConvCase(
        n, c, o, in_hw, k_hw, s_hw, d_hw, form,
        _spec_pair(draw, *s_hw), _spec_pair(draw, *d_hw), _padding_spec(form, raw, draw),
        tuple(raw), out_hw, draw(st.integers(0, 2**32 - 1)),
    )


@dataclass(frozen=True)
class TransposeCase(_PaddingFacts):
    """One conv_transpose2d configuration plus its reference geometry.

    ``pads`` are the crop of the full output (= the padding of the forward
    convolution whose adjoint this is), ``op_hw`` the output padding actually
    applied (derived from ``output_size`` when that mode is used).
    """

    n: int
    ci: int
    co: int
    in_hw: Tuple[int, int]
    k_hw: Tuple[int, int]
    s_hw: Tuple[int, int]
    d_hw: Tuple[int, int]
    form: str
    mode: str  # "none" | "output_padding" | "output_size"
    stride: object
    dilation: object
    padding: object
    output_padding: object
    output_size: object
    pads: Tuple[int, int, int, int]
    op_hw: Tuple[int, int]
    out_hw: Tuple[int, int]
    seed: int

    @property
    def params(self) -> dict:
        p = dict(stride=self.stride, padding=self.padding, dilation=self.dilation)
        if self.mode == "output_padding":
            p["output_padding"] = self.output_padding
        elif self.mode == "output_size":
            p["output_size"] = self.output_size
        return p

    @property
    def x_shape(self):
        return (self.n, self.ci) + self.in_hw

    @property
    def w_shape(self):  # (C_in, C_out, kh, kw), torch's transposed-conv layout
        return (self.ci, self.co) + self.k_hw

    @property
    def y_shape(self):
        return (self.n, self.co) + self.out_hw

    @property
    def full_hw(self):
        """Uncropped output: (i-1)s + d(k-1) + 1 + output_padding."""
        return tuple(
            (self.in_hw[a] - 1) * self.s_hw[a] + keff(self.k_hw[a], self.d_hw[a]) + self.op_hw[a] for a in (0, 1)
        )

    def arrays(self):
        rng = np.random.default_rng(self.seed)
        return rng.standard_normal(self.x_shape), rng.standard_normal(self.w_shape)


@st.composite
def transpose_cases(draw, max_hw=9, max_k=4, max_s=3, max_d=3, max_pad=3, max_n=2, max_c=3, max_o=3,
                    forms=PAD_FORMS, modes=("none", "output_padding", "output_size")):
    """Valid conv_transpose2d configurations, with output_padding or output_size in their valid ranges."""
    form = draw(st.sampled_from(forms))
    mode = draw(st.sampled_from(modes))
    n, ci, co = draw(st.integers(1, max_n)), draw(st.integers(1, max_c)), draw(st.integers(1, max_o))
    k_hw = (draw(st.integers(1, max_k)), draw(st.integers(1, max_k)))
    s_hw = (draw(st.integers(1, max_s)), draw(st.integers(1, max_s)))
    d_hw = (draw(st.integers(1, max_d)), draw(st.integers(1, max_d))) if draw(_DILATED) else (1, 1)
    in_hw = (draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw)))
    # output_padding a must be < max(s, d) (PyTorch's rule); SAME takes none
    if mode == "output_padding" and form != "same":
        op = tuple(draw(st.integers(0, max(s_hw[a], d_hw[a]) - 1)) for a in (0, 1))
    else:
        op = (0, 0)
    op_given = op  # what is passed as output_padding (SAME may still need some, derived below)
    # largest total crop per axis that leaves an output of size >= 1
    base0 = [(in_hw[a] - 1) * s_hw[a] + keff(k_hw[a], d_hw[a]) for a in (0, 1)]
    if mode == "output_size":
        room = [base0[a] + s_hw[a] - 2 for a in (0, 1)]  # some o in [base, base + s - 1] is >= 1
    else:
        room = [base0[a] + op[a] - 1 for a in (0, 1)]
    if form == "int":
        p = draw(st.integers(0, min(max_pad, room[0] // 2, room[1] // 2)))
        raw = (p, p, p, p)
    elif form == "pair":
        ph, pw = (draw(st.integers(0, min(max_pad, room[a] // 2))) for a in (0, 1))
        raw = (ph, ph, pw, pw)
    elif form == "quad":
        vals = []
        for a in (0, 1):
            before = draw(st.integers(0, min(max_pad, room[a])))
            vals += [before, draw(st.integers(0, min(max_pad, room[a] - before)))]
        raw = tuple(vals)
    else:
        raw = (0, 0, 0, 0)
    out = []
    if mode == "output_size":
        for a in (0, 1):
            if form == "same":  # every o with ceil(o / s) == i
                cands = list(range((in_hw[a] - 1) * s_hw[a] + 1, in_hw[a] * s_hw[a] + 1))
            else:
                ptot = raw[2 * a] + raw[2 * a + 1]
                base = base0[a] - ptot
                cands = [
                    o for o in range(max(1, base), base + s_hw[a])
                    if ref_conv_out(o, k_hw[a], s_hw[a], raw[2 * a], raw[2 * a + 1], d_hw[a]) == in_hw[a]
                ]
            assert cands, (a, in_hw, k_hw, s_hw, d_hw, raw)
            out.append(draw(st.sampled_from(cands)))
        out = tuple(out)
        output_size = _spec_pair(draw, *out)
    else:
        output_size = None
    if form == "same":
        if mode != "output_size":
            out = (in_hw[0] * s_hw[0], in_hw[1] * s_hw[1])  # Keras' SAME default o = i * s
        raw = tf_same_pads(out[0], k_hw[0], s_hw[0], d_hw[0]) + tf_same_pads(out[1], k_hw[1], s_hw[1], d_hw[1])
    if mode == "output_size" or form == "same":
        op = tuple(out[a] - (base0[a] - raw[2 * a] - raw[2 * a + 1]) for a in (0, 1))
    else:
        out = tuple(base0[a] - raw[2 * a] - raw[2 * a + 1] + op[a] for a in (0, 1))
    assert min(out) >= 1 and min(op) >= 0, (out, op)
    return TransposeCase(
        n, ci, co, in_hw, k_hw, s_hw, d_hw, form, mode,
        _spec_pair(draw, *s_hw), _spec_pair(draw, *d_hw), _padding_spec(form, raw, draw),
        _spec_pair(draw, *op_given) if mode == "output_padding" else None, output_size,
        tuple(raw), op, out, draw(st.integers(0, 2**32 - 1)),
    )


seeds = st.integers(0, 2**32 - 1)

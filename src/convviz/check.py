"""Agreement checks between hand-computed values and framework results.

Every number the book states goes through :func:`check`: it converts torch /
TensorFlow tensors to numpy, compares shapes and values, renders a small pass
table in notebooks and raises :class:`CheckError` with a readable diff
otherwise -- which fails the book build (``raise_on_error``).
Defined in chapter *Introduction*.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import List

import numpy as np

__all__ = ["check", "CheckError", "CheckResult", "CheckSummary", "to_numpy"]


class CheckError(AssertionError):
    """A hand-computed value disagrees with a framework."""


def to_numpy(a) -> np.ndarray:
    """numpy view of a numpy array, list, torch tensor or TensorFlow tensor.

    Examples
    --------
    >>> to_numpy([[1, 2]]).shape
    (1, 2)
    """
    if hasattr(a, "detach"):  # torch
        a = a.detach().cpu().numpy()
    elif hasattr(a, "numpy") and not isinstance(a, np.ndarray):  # tf EagerTensor / Variable
        a = a.numpy()
    return np.asarray(a)


def _integer_valued(a: np.ndarray) -> bool:
    return a.dtype.kind in "biu" or (a.dtype.kind == "f" and bool(np.all(np.isfinite(a))) and bool(np.all(a == np.round(a))))


@dataclass
class Row:
    source: str
    shape: tuple
    mode: str  # "exact" or "tol"
    max_abs_diff: float
    ok: bool


@dataclass
class CheckResult:
    """Outcome of :func:`check`; renders as a table in Jupyter."""

    name: str
    hand_shape: tuple
    rows: List[Row] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        parts = ", ".join(f"{r.source}: {'exact' if r.mode == 'exact' else f'max|diff|={r.max_abs_diff:.1e}'}" for r in self.rows)
        return f"check {self.name!r} {'PASS' if self.ok else 'FAIL'} shape={self.hand_shape} ({parts})"

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(r.source)}</td><td>{r.shape}</td>"
            f"<td>{'exact (float64)' if r.mode == 'exact' else f'max |diff| = {r.max_abs_diff:.1e}'}</td>"
            f"<td class='{'convviz-pass' if r.ok else 'convviz-fail'}' style='color:{'#1a7f37' if r.ok else '#cf222e'};"
            f"font-weight:bold'>{'✔ pass' if r.ok else '✘ FAIL'}</td></tr>"
            for r in self.rows
        )
        return (
            "<table class='convviz-check'><caption style='text-align:left'>check: "
            f"<b>{html.escape(self.name)}</b> — convviz vs frameworks</caption>"
            "<tr><th>reference</th><th>shape</th><th>agreement</th><th></th></tr>"
            f"{cells}</table>"
        )


def _as_compared(a) -> np.ndarray:
    """float64 (or complex128 for complex input) copy of a value, as :func:`check` compares it."""
    arr = to_numpy(a)
    if arr.dtype.kind == "c":
        return arr.astype(np.complex128)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"check compares numeric values, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def check(name: str, hand, *, tf=None, torch=None, rtol: float = None, atol: float = None, **others) -> CheckResult:
    """Assert that ``hand`` equals every given reference (``tf=``, ``torch=``, ...).

    Integer-valued results are compared exactly in float64; other values with a
    tolerance suited to the references' precision (float16/32 reference: rtol
    1e-5, else 1e-9; atol = rtol * max(1, max|hand|)) unless ``rtol``/``atol`` are
    given.  Complex values are compared as complex numbers.  NaNs must sit in the
    same places on both sides.  Layouts must already agree: convert TF's
    NHWC/HWIO with :mod:`convviz.frameworks` first.

    Raises
    ------
    CheckError
        On a shape or value mismatch, listing the first mismatching entries.

    Examples
    --------
    >>> check("ones", np.ones((2, 2)), torch=[[1, 1], [1, 1]])
    check 'ones' PASS shape=(2, 2) (PyTorch: exact)
    """
    refs = {k: v for k, v in (("TensorFlow", tf), ("PyTorch", torch)) if v is not None}
    refs.update({k: v for k, v in others.items() if v is not None})
    if not refs:
        raise ValueError("check needs at least one reference: pass tf=..., torch=... or another name=value")
    h = _as_compared(hand)
    result = CheckResult(name, h.shape)
    errors = []
    for source, ref in refs.items():
        r_raw = to_numpy(ref)
        r = _as_compared(r_raw)
        if r.shape != h.shape:
            result.rows.append(Row(source, r.shape, "shape", float("nan"), False))
            errors.append(f"  {source}: shape {r.shape} != convviz shape {h.shape}")
            continue
        finite = np.isfinite(h) & np.isfinite(r)
        diff = float(np.max(np.abs(h[finite] - r[finite]))) if finite.any() else 0.0
        if h.dtype.kind == "f" and r.dtype.kind == "f" and _integer_valued(h) and _integer_valued(r):
            close, mode = (h == r), "exact"
        else:
            single = r_raw.dtype in (np.float32, np.float16, np.complex64)
            rt = rtol if rtol is not None else (1e-5 if single else 1e-9)
            scale = float(np.max(np.abs(h[np.isfinite(h)]))) if np.isfinite(h).any() else 0.0
            at = atol if atol is not None else rt * max(1.0, scale)
            close, mode = np.isclose(h, r, rtol=rt, atol=at, equal_nan=True), "tol"
        close = np.asarray(close)
        ok = bool(close.all())
        result.rows.append(Row(source, r.shape, mode, diff, ok))
        if not ok:
            # the listing uses the very predicate of the comparison, so it is never empty
            bad = np.argwhere(~close) if close.ndim else [()]
            where = ", ".join(f"{tuple(int(i) for i in idx)}: convviz {h[tuple(idx)]:.12g} vs {r[tuple(idx)]:.12g}" for idx in bad[:5])
            errors.append(f"  {source}: max |diff| = {diff:g}; {int((~close).sum())} mismatching; first: {where}")
    if errors:
        raise CheckError(f"check {name!r} failed:\n" + "\n".join(errors) + f"\nconvviz value:\n{h}")
    return result


@dataclass
class CheckSummary:
    """Several passed checks shown as one table (one row per check), for cells that check many cases.

    Examples
    --------
    >>> CheckSummary("two", [check("a", [1.0], torch=[1.0]), check("b", [2.0], tf=[2.0])])
    2 checks 'two' PASS
    """

    title: str
    results: List[CheckResult]

    def __repr__(self) -> str:
        ok = all(r.ok for r in self.results)
        return f"{len(self.results)} checks {self.title!r} {'PASS' if ok else 'FAIL'}"

    def _repr_html_(self) -> str:
        sources = list(dict.fromkeys(row.source for r in self.results for row in r.rows))
        head = "".join(f"<th>{html.escape(s)}</th>" for s in sources)
        body = []
        for r in self.results:
            by = {row.source: row for row in r.rows}
            cells = "".join(
                "<td>" + ("" if s not in by else ("exact" if by[s].mode == "exact" else f"{by[s].max_abs_diff:.1e}")
                          + (" ✔" if by[s].ok else " ✘")) + "</td>"
                for s in sources
            )
            body.append(f"<tr><td>{html.escape(r.name)}</td><td>{r.hand_shape}</td>{cells}</tr>")
        return (
            "<table class='convviz-check'><caption style='text-align:left'>check: "
            f"<b>{html.escape(self.title)}</b> — {len(self.results)} checks, convviz vs frameworks</caption>"
            f"<tr><th>check</th><th>shape</th>{head}</tr>{''.join(body)}</table>"
        )

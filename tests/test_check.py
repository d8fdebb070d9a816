"""``convviz.check`` is what the book's promise rests on: every hand-computed value
goes through it, and a failure fails the build.  Tested as hard as the ops."""
from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import convviz as cv

from strategies import examples


def fails(hand, **refs) -> str:
    with pytest.raises(cv.CheckError) as info:
        cv.check("case", hand, **refs)
    assert type(info.value) is cv.CheckError and isinstance(info.value, AssertionError)
    return str(info.value)


@pytest.mark.parametrize(
    "ref",
    [np.arange(6.0).reshape(2, 3), np.arange(6).reshape(2, 3), [[0, 1, 2], [3, 4, 5]],
     torch.arange(6.0).reshape(2, 3), tf.reshape(tf.range(6.0), (2, 3)), np.arange(6, dtype=np.float32).reshape(2, 3)],
    ids=["float64", "int", "list", "torch", "tf", "float32"],
)
def test_integer_results_pass_exactly_from_every_kind_of_reference(ref):
    res = cv.check("ints", np.arange(6.0).reshape(2, 3), torch=ref)
    assert res.ok and [r.mode for r in res.rows] == ["exact"] and res.rows[0].max_abs_diff == 0.0


def test_float64_values_differing_by_1e_7_fail_with_a_listing_not_a_numpy_error():
    # before: numpy's "can only convert an array of size 1 to a Python scalar"
    msg = fails(np.array([1.0, 2.0, 3.0 + 1e-7]), torch=np.array([1.0, 2.0, 3.0]))
    assert "1 mismatching" in msg and "(2,): convviz 3.0000001 vs 3" in msg


def test_float32_reference_gets_single_precision_tolerance_float64_does_not():
    h = np.array([1.0, 2.5, 1000.3])
    assert cv.check("f32", h, tf=(h * (1 + 3e-7)).astype(np.float32)).ok
    fails(h, tf=h * (1 + 3e-7))  # float64: 1e-9


def test_complex_values_are_compared_as_complex():
    # before: astype(float64) dropped the imaginary part and reported PASS
    msg = fails(np.array([1 + 1j, 2 + 0j]), torch=np.array([1 + 2j, 2 + 0j]))
    assert "(0,): convviz 1+1j vs 1+2j" in msg
    assert cv.check("same complex", np.array([1 + 1j]), torch=np.array([1 + 1j])).ok


@pytest.mark.parametrize(
    "hand, ref, ok",
    [
        ([np.nan, 1.0], [np.nan, 1.0], True),
        ([np.nan, 1.0], [1.0, 1.0], False),
        ([1.0, 1.0], [np.nan, 1.0], False),
        ([np.inf, 0.5], [np.inf, 0.5], True),
        ([np.inf, 0.5], [-np.inf, 0.5], False),
        ([np.inf, 0.5], [1e308, 0.5], False),
    ],
)
def test_non_finite_values_must_sit_in_the_same_places(hand, ref, ok):
    if ok:
        assert cv.check("nonfinite", np.array(hand), torch=np.array(ref)).ok
    else:
        assert "(0,)" in fails(np.array(hand), torch=np.array(ref))


def test_shape_mismatch_and_scalars_and_empty_arrays():
    assert "shape (3,) != convviz shape (2,)" in fails(np.ones(2), torch=np.ones(3))
    assert "(): convviz 2.5 vs 2.6" in fails(np.float64(2.5), torch=np.float64(2.6))
    assert cv.check("scalar", 3.0, torch=torch.tensor(3.0)).ok
    assert cv.check("empty", np.ones((0, 3)), torch=np.ones((0, 3))).ok


def test_only_the_failing_reference_is_reported_and_overrides_apply():
    msg = fails(np.ones(3) * 0.5, tf=np.ones(3) * 0.5, torch=np.array([0.5, 0.5, 0.6]))
    assert "PyTorch" in msg and "TensorFlow" not in msg.split("convviz value")[0]
    assert cv.check("loose", np.array([0.5]), torch=np.array([0.6]), atol=0.2).ok
    assert cv.check("custom name", np.ones(2), MXNet=np.ones(2)).rows[0].source == "MXNet"


def test_non_numeric_values_are_a_type_error():
    with pytest.raises(TypeError, match=r"numeric values, got dtype <U1"):
        cv.check("strings", np.array(["a"]), torch=np.array(["a"]))


@settings(max_examples=examples(150))
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
               elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)),
    st.data(),
)
def test_any_entry_moved_beyond_tolerance_fails_and_is_named(a, data):
    assert cv.check("same", a, torch=a.copy()).ok
    if a.size == 0:
        return
    idx = data.draw(st.tuples(*[st.integers(0, n - 1) for n in a.shape]))
    tol = 1e-9 * max(1.0, float(np.max(np.abs(a))))
    moved = a.copy()
    moved[idx] += data.draw(st.sampled_from([-1, 1])) * tol * data.draw(st.floats(3, 1e6))
    msg = fails(a, torch=moved)
    assert "1 mismatching" in msg and re.search(re.escape(f"{tuple(int(i) for i in idx)}: convviz"), msg)
    inside = a.copy()
    inside[idx] += tol * 0.25  # within rtol * max(1, max|hand|): passes
    assert cv.check("close", a, torch=inside).ok

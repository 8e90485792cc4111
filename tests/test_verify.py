"""Output differences on hand-computed cases."""
import math

import mxnet as mx
import pytest

from gluon_upgrade import output_difference


def test_nested_outputs_give_the_largest_absolute_and_relative_difference():
    a = (mx.nd.array([1.0, -4.0]), [mx.nd.array([[10.0, 0.0]]), mx.nd.array([0.5])])
    b = (mx.nd.array([1.0, -4.5]), [mx.nd.array([[10.0, 0.2]]), mx.nd.array([0.5])])
    diff = output_difference(a, b)
    assert diff.outputs == 3
    assert diff.max_abs == pytest.approx(0.5)
    assert diff.max_rel == pytest.approx(0.5 / 4.0)  # 0.125 beats 0.2 / 10


def test_equal_non_finite_values_count_as_equal_and_a_new_one_does_not():
    a = mx.nd.array([float("inf"), float("nan"), 2.0])
    assert output_difference(a, a.copy()).max_rel == 0
    b = mx.nd.array([float("inf"), 1.0, 2.0])
    assert output_difference(a, b).max_rel == math.inf


def test_structure_mismatch_is_an_error():
    with pytest.raises(ValueError, match="return 1 and 2 arrays"):
        output_difference(mx.nd.zeros(2), [mx.nd.zeros(2), mx.nd.zeros(2)])
    with pytest.raises(ValueError, match="shape"):
        output_difference(mx.nd.zeros(2), mx.nd.zeros(3))

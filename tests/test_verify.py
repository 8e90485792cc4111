"""Output differences, the float32 bound and detections compared as detections, on hand-computed cases."""
import math

import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade import output_difference
from gluon_upgrade.verify import accumulation_bound, detection_difference, is_detection_output


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


def test_accumulation_bound_is_gamma_n_of_float32():
    u = 2.0 ** -24
    assert accumulation_bound(1) == pytest.approx(u / (1 - u), rel=1e-15)
    assert accumulation_bound(4608) == pytest.approx(4608 / 16777216 / (1 - 4608 / 16777216), rel=1e-15)
    with pytest.raises(ValueError, match="no rounding bound"):
        accumulation_bound(2 ** 24)


def _detections(rows, n=5):
    """GluonCV's padded detector output for one image: rows of (class, score, x0, y0, x1, y1), then -1 rows."""
    table = np.full((1, n, 6), -1.0)
    table[0, :len(rows)] = rows
    return [table[:, :, :1], table[:, :, 1:2], table[:, :, 2:]]


def test_detections_match_in_any_order_within_the_bound_and_are_counted_by_hand():
    a = _detections([(0, 0.9, 10, 10, 50, 50), (1, 0.8, 20, 20, 60, 70), (2, 0.3, 0, 0, 5, 5)])
    # The same detections in another order, each moved by 1e-6 of its scale (scores 0.9, boxes 70 px).
    b = _detections([(2, 0.3 + 9e-7, 0, 0, 5, 5), (0, 0.9, 10, 10 + 7e-5, 50, 50), (1, 0.8, 20, 20, 60, 70)])
    d = detection_difference(a, b, rtol=1e-5)
    assert (d.detections, d.unmatched, d.at_cut) == (3, 0, 0)
    assert d.max_score_diff == pytest.approx(9e-7 / 0.9) and d.max_box_diff == pytest.approx(7e-5 / 70)
    assert d.within(1e-5) and not d.within(1e-7)


def test_a_changed_class_or_box_leaves_a_detection_without_partner_unless_it_sits_at_the_cut():
    a = _detections([(0, 0.9, 10, 10, 50, 50), (1, 0.8, 20, 20, 60, 70), (2, 0.3, 0, 0, 5, 5)])
    relabelled = _detections([(0, 0.9, 10, 10, 50, 50), (3, 0.8, 20, 20, 60, 70), (2, 0.3, 0, 0, 5, 5)])
    assert detection_difference(a, relabelled, 1e-5).unmatched == 1
    moved = _detections([(0, 0.9, 10, 10, 50, 51), (1, 0.8, 20, 20, 60, 70), (2, 0.3, 0, 0, 5, 5)])
    assert detection_difference(a, moved, 1e-5).unmatched == 1  # 1 px of 70: 1.4e-2
    # The lowest detection gone (pushed below the cut by rounding) is at the cut, not a mismatch.
    cut = _detections([(0, 0.9, 10, 10, 50, 50), (1, 0.8, 20, 20, 60, 70)])
    d = detection_difference(a, cut, 1e-5)
    assert (d.unmatched, d.at_cut) == (0, 1) and d.within(1e-5)


def test_centernet_ids_and_scores_without_the_last_axis_are_detections_too():
    a = _detections([(0, 0.9, 10, 10, 50, 50), (1, 0.8, 20, 20, 60, 70)])
    flat = [a[0][:, :, 0], a[1][:, :, 0], a[2]]
    assert is_detection_output(flat) and not is_detection_output([a[2], a[1], a[0]])
    assert detection_difference(flat, flat, 1e-5).detections == 2

"""Segmentation metrics against IoU worked out by hand."""
import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade.evaluation.segmentation import SegmentationScore


def one_hot(classes, rows):
    """Scores ``(1, C, H, W)`` whose highest entry per pixel is the class given."""
    indices = np.array(rows)
    return mx.nd.array(np.eye(classes)[indices].transpose(2, 0, 1)[None])


def test_pixel_accuracy_and_iou_of_two_hand_labelled_images():
    """Labels (-1 void) and predictions of two 2x3 images. Over the 10 labelled pixels 7 are right. Background:
    4 labelled, 4 predicted, 3 both: IoU 3/5; class a: 5, 4, 3: 3/6; class b: 1, 2 (the prediction on the
    void pixel does not count), 1: 1/2. mIoU (0.6 + 0.5 + 0.5) / 3."""
    score = SegmentationScore(["background", "a", "b"])
    score.update(mx.nd.array([[[0, 1, 1], [2, -1, 0]]]), one_hot(3, [[0, 1, 2], [2, 1, 1]]))
    score.update(mx.nd.array([[[1, 1, 1], [0, 0, -1]]]), one_hot(3, [[1, 0, 1], [0, 0, 2]]))
    result = score.result()
    assert result.values["pixacc"] == pytest.approx(0.7)
    assert result.values["miou"] == pytest.approx((0.6 + 0.5 + 0.5) / 3)
    assert result.per_class == pytest.approx({"background": 0.6, "a": 0.5, "b": 0.5})
    assert "IoU (%) segmentation" in result.format_table() and "53.33" in result.format_table()


def test_a_class_nobody_labelled_or_predicted_has_no_iou_but_counts_zero_in_the_mean_as_in_gluoncv():
    score = SegmentationScore(["background", "a", "b"])
    score.update(mx.nd.array([[[0, 1]]]), one_hot(3, [[0, 1]]))
    result = score.result()
    assert np.isnan(result.per_class["b"]) and result.per_class["a"] == pytest.approx(1.0)
    assert result.values["miou"] == pytest.approx(2 / 3) and result.values["pixacc"] == pytest.approx(1.0)

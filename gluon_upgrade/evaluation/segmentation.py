"""Semantic segmentation's metrics: pixel accuracy and mean IoU (GluonCV's ``SegmentationMetric``, the numbers
GluonCV's segmentation zoo reports), with the IoU of each class beside them."""
from typing import Sequence

import mxnet as mx
import numpy as np
from gluoncv.utils.metrics.segmentation import SegmentationMetric

from .metrics import MetricResult

SEGMENTATION_VALUES = ("miou", "pixacc")
"""The keys of a segmentation ``MetricResult.values``; ``miou`` is the headline."""


class SegmentationScore:
    """Pixel accuracy and IoU over a validation set; pixels labelled -1 (VOC's void, 255 in the PNGs) are neither
    right nor wrong.

    Parameters
    ----------
    classes : sequence of str
        Every class the network predicts, background first (VOC: ``background`` and the 20 object classes).
    """

    name = "segmentation"

    def __init__(self, classes: Sequence[str]):
        self.classes = list(classes)
        self._metric = SegmentationMetric(len(self.classes))

    def update(self, labels: mx.nd.NDArray, scores: mx.nd.NDArray) -> None:
        """Add one batch: ``labels`` ``(B, H, W)`` class indices or -1, ``scores`` ``(B, C, H, W)`` (the class of
        a pixel is its highest score)."""
        self._metric.update(labels, scores)

    def result(self) -> MetricResult:
        """``miou``: the mean over every class of intersection over union, summed over the images, as GluonCV
        computes it (a class absent from both the labels and the predictions counts 0); ``pixacc``: the share of
        labelled pixels predicted right. Per class, its IoU (NaN where it appears in neither)."""
        pixacc, miou = self._metric.get()
        inter, union = (np.asarray(self._metric.total_inter, dtype=np.float64),
                        np.asarray(self._metric.total_union, dtype=np.float64))
        if inter.shape != (len(self.classes),):  # nothing was added
            inter = union = np.zeros(len(self.classes))
        iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
        return MetricResult(self.name, {"miou": float(miou), "pixacc": float(pixacc)},
                            dict(zip(self.classes, (float(v) for v in iou))), per_class_name="IoU")

"""Semantic segmentation's metrics: pixel accuracy and mean IoU (GluonCV's ``SegmentationMetric``, the numbers
GluonCV's segmentation zoo reports), with the IoU of each class beside them."""
from typing import Optional, Sequence

import mxnet as mx
import numpy as np
from gluoncv.utils.metrics.segmentation import SegmentationMetric
from mxnet import gluon
from mxnet.gluon import Block

from ..data.segmentation import segmentation_loader
from ..data.transforms import interrupt_ends_workers
from ..reporting.progress import progress_bar
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


def evaluate_segmenter(net: Block, dataset, batch_size: int = 8, ctx: Optional[Sequence[mx.Context]] = None,
                       num_workers: int = 0, progress: bool = True) -> MetricResult:
    """Score a segmenter on a validation set.

    Parameters
    ----------
    net : Block
        Returns a tuple whose first element is the scores ``(B, C, H, W)`` at the input's size (GluonCV's
        segmentation networks, the demo segmenter; standard or upgraded).
    dataset : SegmentationSet
        In ``val`` (or ``testval`` with ``batch_size`` 1) mode.
    batch_size : int
        Images per batch, split across ``ctx``.

    Returns
    -------
    MetricResult
        ``values['miou']``, ``values['pixacc']`` and IoU per class, in the order of ``dataset.scored_classes``.
    """
    ctx = list(ctx or [mx.cpu()])
    score = SegmentationScore(dataset.scored_classes)
    loader = segmentation_loader(dataset, batch_size, shuffle=False, num_workers=num_workers)
    with progress_bar(len(dataset), "evaluate", "img", progress) as bar, interrupt_ends_workers(loader):
        for images, masks in loader:
            parts = gluon.utils.split_and_load(images, ctx, even_split=False)
            scores = mx.nd.concat(*[net(part)[0].as_in_context(mx.cpu()) for part in parts], dim=0)
            score.update(masks, scores)
            bar.update(len(images))
    return score.result()

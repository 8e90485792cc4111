"""One evaluation routine: a detector, a validation set and a metric in, the metric's numbers out."""
from typing import Mapping, Optional, Sequence, Union

import mxnet as mx
import numpy as np
from mxnet import gluon
from mxnet.gluon import Block

from ..config.schema import Field
from ..data.transforms import interrupt_ends_workers, val_loader
from ..reporting.progress import progress_bar
from .metrics import METRICS, MetricResult, make_metric

FIELDS = {
    "metric": Field(None, "voc07 | voc | coco | voc07_sweep (VOC data at COCO's IoU thresholds); default: voc07 "
                    "for VOC data, coco for COCO data; a segmenter's is pixel accuracy and mIoU (null)", str,
                    choices=METRICS, nullable=True),
    "batch_size": Field(8, "images per evaluation batch (split across ctx)", int, minimum=1),
    "iou_thresh": Field(0.5, "IoU a detection needs to count (VOC metrics)", float, above=0, maximum=1),
    "nms_thresh": Field(0.45, "non-maximum suppression IoU threshold", float, above=0, maximum=1),
    "nms_topk": Field(400, "boxes kept per class before NMS", int, minimum=1),
}
"""The ``eval`` section of a config."""


def default_metric(data_format: str) -> str:
    """The paper's metric for a data layout: ``voc07`` for VOC, ``coco`` for COCO."""
    return "coco" if data_format == "coco" else "voc07"


def config_metric(config: Mapping) -> str:
    """``eval.metric``, or the paper's metric for the data layout."""
    return config["eval"]["metric"] or default_metric(config["data"]["format"])


def evaluate(net: Block, dataset, metric: Union[str, object], size: int, batch_size: int = 8,
             ctx: Optional[Sequence[mx.Context]] = None, num_workers: int = 0, nms_thresh: float = 0.45,
             nms_topk: int = 400, iou_thresh: float = 0.5, progress: bool = True) -> MetricResult:
    """Run a detector over a validation set and score it.

    Parameters
    ----------
    net : Block
        A detector returning ``(class ids, scores, boxes)`` of shapes ``(B, N, 1)``, ``(B, N, 1)``, ``(B, N, 4)``
        in input pixels, like GluonCV's SSD and YOLOv3 (standard or upgraded); where it has ``set_nms``, NMS is
        set to ``nms_thresh``/``nms_topk``.
    dataset : VOCLayoutDetection or COCOLayoutDetection
        Untransformed validation set (images are resized to ``size`` x ``size`` here).
    metric : str or metric object
        ``'voc07'``, ``'voc'``, ``'coco'`` or a ``VOCMetric`` / ``COCOMetric``.
    size : int
        Network input side in pixels.
    batch_size : int
        Images per batch, split across ``ctx``.
    ctx : sequence of mxnet.Context, optional
        Default: CPU.
    progress : bool
        Show a progress bar.

    Returns
    -------
    MetricResult
        ``values['map']`` and per-class AP.
    """
    ctx = list(ctx or [mx.cpu()])
    if isinstance(metric, str):
        metric = make_metric(metric, dataset, size, iou_thresh)
    if hasattr(net, "set_nms"):
        net.set_nms(nms_thresh=nms_thresh, nms_topk=nms_topk)
    loader = val_loader(dataset, size, batch_size, num_workers)
    done = 0
    with progress_bar(len(dataset), "evaluate", "img", progress) as bar, interrupt_ends_workers(loader):
        for images, labels in loader:
            parts = gluon.utils.split_and_load(images, ctx, even_split=False)
            outputs = [net(part) for part in parts]
            ids = np.concatenate([o[0].asnumpy() for o in outputs])[..., 0]
            scores = np.concatenate([o[1].asnumpy() for o in outputs])[..., 0]
            boxes = np.clip(np.concatenate([o[2].asnumpy() for o in outputs]), 0, size)
            labels = labels.asnumpy()
            difficult = labels[:, :, 5] if labels.shape[-1] > 5 else None
            indices = range(done, done + len(images))
            metric.update(indices, boxes, ids, scores, labels[:, :, :4], labels[:, :, 4], difficult)
            done += len(images)
            bar.update(len(images))
    return metric.result()

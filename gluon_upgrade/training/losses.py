"""The training forward pass of each network family: batch in, losses to back-propagate and their parts out.

SSD uses GluonCV's ``SSDMultiBoxLoss`` on the targets its train transform made; YOLOv3 computes its own four
losses when called in training mode with the targets (as in GluonCV's ``train_yolo3.py``); a segmenter's scores
go through GluonCV's pixel-wise softmax cross-entropy (void ignored), its auxiliary head's weighted as GluonCV's
``MixSoftmaxCrossEntropyLoss`` weighs it.
"""
from typing import Dict, List, Sequence, Tuple

import mxnet as mx
from gluoncv.loss import SoftmaxCrossEntropyLoss, SSDMultiBoxLoss
from mxnet import gluon
from mxnet.gluon import Block

from ..data.transforms import family

Losses = Tuple[List[mx.nd.NDArray], Dict[str, mx.nd.NDArray]]
"""Per-device losses for ``autograd.backward`` and the loss parts of the batch (scalars, on the first device)."""


def _split(array: mx.nd.NDArray, ctx: Sequence[mx.Context]) -> List[mx.nd.NDArray]:
    return gluon.utils.split_and_load(array, ctx, even_split=False)


class SSDLosses:
    """Confidence (hard-negative-mined cross-entropy) and box (smooth L1) losses, normalised by positives."""

    parts = ("cls_loss", "box_loss")

    def __init__(self):
        self._loss = SSDMultiBoxLoss()

    def __call__(self, net: Block, batch: Sequence[mx.nd.NDArray], ctx: Sequence[mx.Context]) -> Losses:
        cls_preds, box_preds = [], []
        for images in _split(batch[0], ctx):
            cls_pred, box_pred, _ = net(images)
            cls_preds.append(cls_pred)
            box_preds.append(box_pred)
        totals, cls_losses, box_losses = self._loss(cls_preds, box_preds, _split(batch[1], ctx),
                                                    _split(batch[2], ctx))
        return totals, {"cls_loss": _total(cls_losses, ctx[0]), "box_loss": _total(box_losses, ctx[0])}

    @staticmethod
    def step_size(images: int) -> int:
        """The losses are already normalised over the whole batch (by its positive anchors)."""
        return 1


class YOLOv3Losses:
    """Objectness, box centre, box scale and class losses, summed over the images of the batch."""

    parts = ("obj_loss", "center_loss", "scale_loss", "cls_loss")

    def __call__(self, net: Block, batch: Sequence[mx.nd.NDArray], ctx: Sequence[mx.Context]) -> Losses:
        images, boxes = _split(batch[0], ctx), _split(batch[6], ctx)
        targets = [_split(t, ctx) for t in batch[1:6]]
        totals, parts = [], [[] for _ in self.parts]
        for i, x in enumerate(images):
            losses = net(x, boxes[i], *[t[i] for t in targets])
            totals.append(sum(losses))
            for part, loss in zip(parts, losses):
                part.append(loss)
        count = batch[0].shape[0]
        return totals, {name: _total(part, ctx[0]) / count for name, part in zip(self.parts, parts)}

    @staticmethod
    def step_size(images: int) -> int:
        """Gradients are of per-image losses summed over the batch: average them."""
        return images


class SegmentationLosses:
    """Per-image cross-entropy of the main scores, and of the auxiliary head's times ``aux_weight``.

    GluonCV's ``SoftmaxCrossEntropyLoss`` gives each image the mean over its pixels of ``-log p(label)``, void
    pixels (-1) counting 0; its gradient is the cross-entropy's over the labelled pixels. The parts are per image
    and add up to the total: ``aux_loss`` is the auxiliary term already weighted.
    """

    parts = ("seg_loss", "aux_loss")

    def __init__(self, aux_weight: float = 0.5):
        self.aux_weight = aux_weight
        self._loss = SoftmaxCrossEntropyLoss(ignore_label=-1)

    def __call__(self, net: Block, batch: Sequence[mx.nd.NDArray], ctx: Sequence[mx.Context]) -> Losses:
        totals, main, auxiliary = [], [], []
        for images, masks in zip(_split(batch[0], ctx), _split(batch[1], ctx)):
            outputs = net(images)
            main.append(self._loss(outputs[0], masks))
            aux = self._loss(outputs[1], masks) if len(outputs) > 1 else mx.nd.zeros_like(main[-1])
            auxiliary.append(aux)
            totals.append(main[-1] + self.aux_weight * aux)
        count = batch[0].shape[0]
        return totals, {"seg_loss": _total(main, ctx[0]) / count,
                        "aux_loss": self.aux_weight * _total(auxiliary, ctx[0]) / count}

    @staticmethod
    def step_size(images: int) -> int:
        """Gradients are of per-image losses summed over the batch: average them."""
        return images


def _total(losses: Sequence[mx.nd.NDArray], ctx: mx.Context) -> mx.nd.NDArray:
    return mx.nd.add_n(*[loss.sum().as_in_context(ctx) for loss in losses])


def detector_losses(net: Block):
    """The losses that train ``net``: ``SSDLosses`` or ``YOLOv3Losses``."""
    return SSDLosses() if family(net) == "ssd" else YOLOv3Losses()

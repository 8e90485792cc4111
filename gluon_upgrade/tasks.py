"""What a run learns: detection or semantic segmentation.

A task gives the training loop its data, losses, training batches and score; the loop itself (schedule,
checkpoints, resume, seeds, the ``baseline`` / ``dcn_scratch`` / ``upgrade`` modes and the fine-tune rule) is the
same for both. The network's name decides: a segmenter (``models.zoo.model_task``) makes a segmentation run.
"""
from typing import Mapping, Sequence

import mxnet as mx
from mxnet.gluon import Block

from .data.datasets import detection_dataset
from .data.segmentation import SegmentationSet, segmentation_dataset, segmentation_loader
from .data.transforms import train_loader
from .evaluation.evaluate import config_metric, evaluate
from .evaluation.metrics import VALUES, MetricResult
from .evaluation.segmentation import SEGMENTATION_VALUES, evaluate_segmenter
from .models.build import input_size
from .models.zoo import model_task
from .training.distributed import Worker
from .training.losses import SegmentationLosses, detector_losses

AUX_WEIGHT = 0.5
"""The auxiliary head's loss weight in GluonCV's segmentation recipe (``train.py --aux-weight``)."""


class DetectionTask:
    """GluonCV's SSD and YOLOv3 recipes: boxes, ``SSDLosses`` / ``YOLOv3Losses``, mAP."""

    name = "detection"
    headline, label = "map", "mAP"

    def dataset(self, config: Mapping, train: bool):
        """The config's training or validation split."""
        return detection_dataset(config["data"], train=train)

    def metric_keys(self, config: Mapping) -> Sequence[str]:
        """The score's columns in ``metrics.csv``."""
        return VALUES[config_metric(config)]

    def losses(self, net: Block, config: Mapping):
        """The forward pass that trains ``net``."""
        return detector_losses(net)

    def train_loader(self, dataset, net: Block, config: Mapping, batch: int, worker: Worker, mixup: bool):
        """Shuffled, augmented batches of this worker's part of ``dataset`` (mixed where ``mixup``)."""
        train = config["train"]
        return train_loader(dataset, net, input_size(config["model"]), batch, config["data"]["num_workers"],
                            worker.count, worker.rank, train["random_shape"], mixup, train["augment"])

    def evaluate(self, config: Mapping, net: Block, dataset, ctx: Sequence[mx.Context],
                 progress: bool) -> MetricResult:
        """Score ``net`` on ``dataset`` with the config's metric, input size and ``eval`` settings."""
        settings = config["eval"]
        return evaluate(net, dataset, config_metric(config), input_size(config["model"]), settings["batch_size"],
                        ctx, config["data"]["num_workers"], settings["nms_thresh"], settings["nms_topk"],
                        settings["iou_thresh"], progress)


class SegmentationTask:
    """GluonCV's segmentation recipe: class masks (VOC, VOC aug, COCO or ADE20K layouts), pixel-wise cross-entropy
    with the auxiliary head's, pixel accuracy and mIoU.

    The crop is ``model.data_shape``; training rescales around ``data.segmentation.BASE_TO_CROP`` times it,
    validation scores the centre crop of each image resized to it.
    """

    name = "segmentation"
    headline, label = "miou", "mIoU"

    def dataset(self, config: Mapping, train: bool) -> SegmentationSet:
        """The layout's training or validation masks (``data.segmentation.segmentation_dataset``)."""
        return segmentation_dataset(config["data"], input_size(config["model"]), train, config["train"]["augment"])

    def metric_keys(self, config: Mapping) -> Sequence[str]:
        """``miou`` and ``pixacc``."""
        return SEGMENTATION_VALUES

    def losses(self, net: Block, config: Mapping) -> SegmentationLosses:
        """Cross-entropy of the scores and, weighted ``AUX_WEIGHT``, of the auxiliary head's."""
        return SegmentationLosses(AUX_WEIGHT)

    def train_loader(self, dataset, net: Block, config: Mapping, batch: int, worker: Worker, mixup: bool):
        """Shuffled full batches of augmented crops of this worker's part of ``dataset`` (mixup and random shapes
        are YOLOv3's, which the config's checks keep to it; ``dataset`` holds the augmentation)."""
        return segmentation_loader(dataset, batch, shuffle=True, num_workers=config["data"]["num_workers"],
                                   num_parts=worker.count, part_index=worker.rank)

    def evaluate(self, config: Mapping, net: Block, dataset, ctx: Sequence[mx.Context],
                 progress: bool) -> MetricResult:
        """Pixel accuracy, mIoU and IoU per class on ``dataset``'s centre crops."""
        return evaluate_segmenter(net, dataset, config["eval"]["batch_size"], ctx, config["data"]["num_workers"],
                                  progress)


def task_of(config: Mapping):
    """``SegmentationTask`` for a segmenter's config, else ``DetectionTask``."""
    return SegmentationTask() if model_task(config["model"]["name"]) == "segmentation" else DetectionTask()

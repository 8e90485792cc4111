"""GluonCV's SSD and YOLOv3 transforms, batchify functions and data loaders, chosen by network family.

Training transforms are GluonCV's defaults, which also generate the training targets (SSD: anchors matched
to boxes; YOLOv3: its six target arrays plus the padded boxes).
"""
import multiprocessing
import multiprocessing.pool
import os
import random
import typing
from contextlib import contextmanager

import numpy as np
from mxnet import autograd, gluon
import mxnet as mx
from gluoncv.data import RandomTransformDataLoader
from gluoncv.data.batchify import Pad, Stack, Tuple
from gluoncv.data.transforms import bbox as tbbox, experimental, image as timage
from gluoncv.data.sampler import SplitSampler
from gluoncv.data.transforms.presets.ssd import SSDDefaultTrainTransform, SSDDefaultValTransform
from gluoncv.data.transforms.presets.yolo import YOLO3DefaultTrainTransform
from gluoncv.model_zoo.ssd import SSD
from gluoncv.model_zoo.yolo.yolo3 import YOLOV3
from mxnet.gluon import Block

from ..config.schema import Field
from ..errors import DataError, ModelError, mxnet_message
from ..runtime import net_context

FAMILIES = ("ssd", "yolo3")
AUGMENTATIONS = ("gluoncv", "crop_flip", "flip")
"""Training augmentation: GluonCV's preset of the network's family (colour jitter, zoom-out to 4x, constrained
crop, flip), its constrained crop and flip alone, which keeps objects at their size for small detectors trained
from scratch, or the flip alone (the whole image resized), for the shortest schedules."""
RANDOM_SHAPES = tuple(range(320, 609, 32))
"""GluonCV's YOLOv3 training input sides (``train_yolo3.py``: 320 to 608 px)."""

FIELDS = {
    "random_shape": Field(False, "YOLOv3: train on input sides of 320-608 px, a new one every 10 batches "
                                 "(GluonCV's recipe)", bool),
    "mixup": Field(False, "YOLOv3: mix pairs of training images (Beta(1.5, 1.5)), as GluonCV's COCO recipe", bool),
    "no_mixup_epochs": Field(20, "YOLOv3: the last epochs train without mixup", int, minimum=0),
    "augment": Field("gluoncv", "'gluoncv' (GluonCV's preset for SSD or YOLOv3), 'crop_flip' (its random crop "
                                "and horizontal flip, no zoom-out or colour jitter) or 'flip' (the flip alone)",
                     str, choices=AUGMENTATIONS),
}
"""The augmentation keys of the ``train`` section."""


def check_family_keys(config: dict) -> list:
    """Cross-key check: random shapes and mixup are YOLOv3's recipe."""
    name = config["model"]["name"]
    if "yolo3" not in name:
        return [("train." + key, "applies to YOLOv3 models only, not {}".format(name))
                for key in ("random_shape", "mixup") if config["train"][key]]
    return []


def crop_resize_flip(src: mx.nd.NDArray, label: np.ndarray, width: int, height: int, crop: bool, mean,
                     std) -> typing.Tuple[mx.nd.NDArray, np.ndarray]:
    """GluonCV's constrained random crop (unless ``crop`` is False), resize with a random interpolation and
    horizontal flip, then normalisation: the image tensor and its boxes (extra label columns kept)."""
    h, w, _ = src.shape
    if crop:
        label, (x0, y0, w, h) = experimental.bbox.random_crop_with_constraints(label, (w, h))
        src = mx.image.fixed_crop(src, x0, y0, w, h)
    img = timage.imresize(src, width, height, interp=np.random.randint(0, 5))
    bbox = tbbox.resize(label, (w, h), (width, height))
    img, flips = timage.random_flip(img, px=0.5)
    bbox = tbbox.flip(bbox, (width, height), flip_x=flips[0])
    return mx.nd.image.normalize(mx.nd.image.to_tensor(img), mean=mean, std=std), bbox


class SSDCropFlipTrainTransform(SSDDefaultTrainTransform):
    """GluonCV's SSD training transform without its colour jitter and zoom-out: ``crop_resize_flip``, then the
    anchor targets. Without ``anchors`` it returns the image and its boxes, as GluonCV's presets do."""

    def __init__(self, width: int, height: int, anchors=None, crop: bool = True, **kwargs):
        super().__init__(width, height, anchors, **kwargs)
        self._crop = crop

    def __call__(self, src, label):
        img, bbox = crop_resize_flip(src, label, self._width, self._height, self._crop, self._mean, self._std)
        if self._anchors is None:
            return img, bbox.astype(img.dtype)
        cls_targets, box_targets, _ = self._target_generator(
            self._anchors, None, mx.nd.array(bbox[np.newaxis, :, :4]), mx.nd.array(bbox[np.newaxis, :, 4:5]))
        return img, cls_targets[0], box_targets[0]


class YOLO3CropFlipTrainTransform(YOLO3DefaultTrainTransform):
    """GluonCV's YOLOv3 training transform without its colour jitter and zoom-out: ``crop_resize_flip``, then
    GluonCV's YOLOv3 targets (the last part of ``YOLO3DefaultTrainTransform``, repeated here)."""

    def __init__(self, width: int, height: int, net=None, mixup: bool = False, crop: bool = True, **kwargs):
        super().__init__(width, height, net, mixup=mixup, **kwargs)
        self._crop = crop

    def __call__(self, src, label):
        img, bbox = crop_resize_flip(src, label, self._width, self._height, self._crop, self._mean, self._std)
        if self._target_generator is None:
            return img, bbox.astype(img.dtype)
        gt_bboxes = mx.nd.array(bbox[np.newaxis, :, :4])
        gt_ids = mx.nd.array(bbox[np.newaxis, :, 4:5])
        gt_mixratio = mx.nd.array(bbox[np.newaxis, :, -1:]) if self._mixup else None
        objectness, center_targets, scale_targets, weights, class_targets = self._target_generator(
            self._fake_x, self._feat_maps, self._anchors, self._offsets, gt_bboxes, gt_ids, gt_mixratio)
        return (img, objectness[0], center_targets[0], scale_targets[0], weights[0], class_targets[0],
                gt_bboxes[0])


class SeededSamples(gluon.data.Dataset):
    """A data set read by ``(index, seed)`` pairs: Python's and NumPy's generators are seeded with ``seed`` before
    sample ``index`` is read and augmented, so a sample's augmentation depends on its pair alone, not on which
    loader worker process draws it or what that worker drew before."""

    def __init__(self, dataset):
        self._dataset = dataset

    def __len__(self) -> int:
        return len(self._dataset)

    def __getitem__(self, key):
        index, seed = key
        random.seed(seed)
        np.random.seed(seed)
        return self._dataset[index]

    def transform(self, fn, lazy: bool = True) -> "SeededSamples":
        """The transformed data set, still read by pairs (GluonCV's ``RandomTransformDataLoader`` calls this)."""
        return SeededSamples(self._dataset.transform(fn, lazy))


def seeded_batches(length: int, batch_size: int, num_parts: int = 1, part_index: int = 0) -> "SeededBatchSampler":
    """Full batches of ``(index, seed)`` pairs over part ``part_index`` of ``num_parts`` of a data set of
    ``length`` samples, in an order from Python's ``random``: read through ``SeededSamples``."""
    return SeededBatchSampler(gluon.data.BatchSampler(SplitSampler(length, num_parts, part_index), batch_size,
                                                      "discard"))


class SeededBatchSampler(gluon.data.Sampler):
    """``batches``' index lists as lists of ``(index, seed)`` pairs for ``SeededSamples``.

    The seeds come from a generator seeded, when an epoch's iteration starts, from NumPy's global one in the
    loading process (which the training loop seeds per epoch): the same run draws the same seeds.
    """

    def __init__(self, batches: gluon.data.Sampler):
        self._batches = batches

    def __iter__(self):
        rng = np.random.RandomState(np.random.randint(2 ** 31 - 1))
        for batch in self._batches:
            yield list(zip(batch, rng.randint(0, 2 ** 31 - 1, len(batch)).tolist()))

    def __len__(self) -> int:
        return len(self._batches)


def family(net: Block) -> str:
    """``'ssd'`` or ``'yolo3'``: which of GluonCV's detector recipes fits ``net``."""
    if isinstance(net, SSD):
        return "ssd"
    if isinstance(net, YOLOV3):
        return "yolo3"
    raise ModelError("{} is neither GluonCV's SSD nor YOLOv3; training and evaluation support: {}".format(
        type(net).__name__, ", ".join(FAMILIES)))


def end_workers(loader) -> None:
    """End a data loader's worker processes for good, so that its pool's clean-up cannot hang.

    A signal to the whole process group (a job scheduler's SIGTERM, a terminal's Ctrl-C) reaches the workers too,
    and an idle worker waits for its next task holding the pool's task-queue lock, so once it is dead the lock is
    held for ever: ``Pool.terminate``, which MXNet's ``DataLoader.__del__`` calls, first takes that lock and so
    waits for ever. Killing the workers and giving the queue a new lock lets it finish; ``terminate`` itself stops
    the pool from starting new workers and ends any it started meanwhile. Written against CPython's
    ``multiprocessing.pool.Pool`` (``_pool``, ``_inqueue._rlock``); a loader without worker processes is left alone.
    """
    pool = getattr(loader, "_worker_pool", None)
    if not isinstance(pool, multiprocessing.pool.Pool) or isinstance(pool, multiprocessing.pool.ThreadPool):
        return
    for process in list(pool._pool):
        process.kill()
    pool._inqueue._rlock = multiprocessing.get_context().Lock()
    pool.terminate()


@contextmanager
def interrupt_ends_workers(loader) -> typing.Iterator[None]:
    """On Ctrl-C or SIGTERM inside the block, end ``loader``'s workers (``end_workers``) before it propagates."""
    try:
        yield
    except KeyboardInterrupt:
        end_workers(loader)
        raise


def val_loader(dataset, size: int, batch_size: int, num_workers: int = 0) -> gluon.data.DataLoader:
    """Images resized to ``size`` x ``size`` and normalised, labels padded with -1, in dataset order.

    Each batch is ``(images (B, 3, size, size), labels (B, M, 5 or 6))``; label boxes are in input pixels.
    GluonCV's SSD and YOLOv3 validation presets do the same (resize, ImageNet normalisation); SSD's is used.
    """
    transform = SSDDefaultValTransform(size, size)
    return gluon.data.DataLoader(dataset.transform(transform), batch_size, shuffle=False,
                                 batchify_fn=Tuple(Stack(), Pad(pad_val=-1)), last_batch="keep",
                                 num_workers=num_workers)


def load_image(path: str, size: int) -> typing.Tuple[mx.nd.NDArray, np.ndarray]:
    """An image file as the network input ``(1, 3, size, size)``, prepared as ``val_loader`` prepares images,
    and the resized image itself (``size x size x 3``, uint8) to draw on.

    Raises
    ------
    DataError
        A missing or unreadable file.
    """
    if not os.path.isfile(path):
        raise DataError("image not found: {}".format(path))
    try:
        image = mx.image.imread(path)
    except mx.base.MXNetError as err:
        raise DataError("cannot read image {}: {}".format(path, mxnet_message(err))) from None
    tensor, _ = SSDDefaultValTransform(size, size)(image, np.zeros((0, 5)))
    return tensor.expand_dims(0), timage.imresize(image, size, size, interp=1).asnumpy()


def train_loader(dataset, net: Block, size: int, batch_size: int, num_workers: int = 0, num_parts: int = 1,
                 part_index: int = 0, random_shape: bool = False, mixup: bool = False,
                 augment: str = "gluoncv") -> gluon.data.DataLoader:
    """Shuffled batches with GluonCV's default augmentation and targets for ``net``'s family.

    SSD batches are ``(images, class targets, box targets)``; YOLOv3 batches are ``(images, objectness,
    center, scale, weight, class targets, ground-truth boxes)``. The data set is cut into ``num_parts``
    contiguous parts (one per distributed worker) and only part ``part_index`` is read. Every epoch has
    ``len(part) // batch_size`` full batches; the images left over are dropped (different ones each epoch), so
    all workers take the same number of steps.

    YOLOv3 only, as GluonCV's ``train_yolo3.py``: ``random_shape`` draws a new square input side from
    ``RANDOM_SHAPES`` every 10 batches; ``mixup`` expects ``dataset`` wrapped in GluonCV's ``MixupDetection``.
    ``augment`` is one of ``AUGMENTATIONS``.

    The order comes from Python's ``random`` and each image's augmentation from a seed drawn with NumPy's
    generator, both in this process (``SeededBatchSampler``): seeded alike, any ``num_workers`` gives the same
    batches.
    """
    sampler = seeded_batches(len(dataset), batch_size, num_parts, part_index)
    dataset = SeededSamples(dataset)
    if family(net) == "ssd":
        with autograd.train_mode():
            _, _, anchors = net(mx.nd.zeros((1, 3, size, size), ctx=net_context(net)))
        anchors = anchors.as_in_context(mx.cpu())
        transform = (SSDDefaultTrainTransform(size, size, anchors) if augment == "gluoncv"
                     else SSDCropFlipTrainTransform(size, size, anchors, crop=augment == "crop_flip"))
        batchify = Tuple(Stack(), Stack(), Stack())
    else:
        batchify = Tuple(*([Stack() for _ in range(6)] + [Pad(axis=0, pad_val=-1)]))
        def yolo_transform(side):
            if augment == "gluoncv":
                return YOLO3DefaultTrainTransform(side, side, net, mixup=mixup)
            return YOLO3CropFlipTrainTransform(side, side, net, mixup=mixup, crop=augment == "crop_flip")
        if random_shape:
            return RandomTransformDataLoader([yolo_transform(s) for s in RANDOM_SHAPES], dataset, interval=10,
                                             batch_sampler=sampler, batchify_fn=batchify, num_workers=num_workers)
        transform = yolo_transform(size)
    return gluon.data.DataLoader(dataset.transform(transform), batch_sampler=sampler, batchify_fn=batchify,
                                 num_workers=num_workers)

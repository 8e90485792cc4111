"""Segmentation data: GluonCV's ``VOCSegmentation`` for any VOC-layout root, with that root's classes, its
``VOCAugSegmentation`` (SBD's augmented training masks) for Table I's real runs, and their batches.

GluonCV's reader does the augmentation of its segmentation recipe (``segbase.py``): in training a random flip,
a random resize of the long side to 0.5-2x ``base_size``, padding and a random ``crop_size`` crop, and a blur half
the time; in validation the short side resized to ``crop_size`` and a centre crop. Void pixels (255) read as -1.
``augment: flip`` trains on the validation crop with the random flip alone, as the detectors' ``flip`` does.
"""
import os
import random
from typing import Iterator, Mapping, Tuple

import numpy as np
from gluoncv.data import VOCAugSegmentation, VOCSegmentation
from gluoncv.data.pascal_voc.detection import VOCDetection
from mxnet import gluon, nd
from mxnet.gluon.data.vision import transforms
from PIL import Image

from ..errors import ConfigError, DataError
from . import layouts
from .datasets import data_root
from .transforms import SeededSamples, seeded_batches

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
"""ImageNet's normalisation, as the detection transforms and the pretrained backbones use."""
AUGMENTATIONS = ("gluoncv", "flip")
"""``train.augment`` for a segmenter: GluonCV's segmentation augmentation, or the flip alone."""
SPLIT_LISTS = {"train": "trainval", "val": "val"}
"""GluonCV's split names and the list files its ``VOCSegmentation`` reads for them."""
BASE_TO_CROP = 520 / 480
"""GluonCV's segmentation recipe: images are rescaled around a base size 520 and cropped to 480 (``segbase``)."""


class _SegmentationSet:
    """What the training loop asks of a segmentation set beside its items: classes, fingerprint, a name; and the
    training augmentation (``AUGMENTATIONS``)."""

    augment = "gluoncv"

    def _sync_transform(self, img, mask):
        if self.augment == "flip":
            img, mask = self._val_sync_transform(img, mask)  # (H, W, 3) and (H, W) arrays
            if random.random() < 0.5:
                img, mask = nd.flip(img, axis=1), nd.flip(mask, axis=1)
            return img, mask
        return super()._sync_transform(img, mask)

    skipped: Tuple[str, ...] = ()
    """Images left out for bad files: none (every listed file must exist)."""

    def annotations(self) -> Iterator[Tuple[str, np.ndarray]]:
        """``(image name, class mask)`` of every image, in order (``datasets.dataset_fingerprint`` hashes them)."""
        for image, mask in zip(self.images, self.masks):
            yield os.path.basename(image), self._read_mask(mask)

    def _read_mask(self, path: str) -> np.ndarray:
        return np.array(Image.open(path))

    @property
    def classes(self) -> Tuple[str, ...]:
        """The object classes, without background."""
        return tuple(self._object_classes)

    @property
    def num_class(self) -> int:
        """Background and the object classes."""
        return 1 + len(self._object_classes)

    def __repr__(self) -> str:
        return "{} {} ({} images, {} classes + background)".format(self.title, self.split, len(self),
                                                                   len(self.classes))


class VOCLayoutSegmentation(_SegmentationSet, VOCSegmentation):
    """The ``VOC2012`` segmentation part of a VOC-layout root (``layouts.VOC_SEGMENTATION_LAYOUT``).

    Parameters
    ----------
    root : str
        The data set's root: the folder holding ``VOC2012``, or its parent holding ``VOCdevkit``.
    split : {'train', 'val'}
        ``train`` reads ``trainval.txt``, ``val`` reads ``val.txt``, as GluonCV does.
    mode : {'train', 'val', 'testval'}
        Training augmentation, the validation crop, or the image and mask as they are.
    crop_size, base_size : int
        GluonCV's sizes (see the module's description).

    Items are ``(image (3, H, W) float32 normalised, mask (H, W) int32)``, the mask holding class indices
    (0 background) and -1 for void. ``classes`` are the object classes (``ROOT/classes.txt``, else VOC's 20), as a
    detection set's are; ``num_class`` counts background too.

    Raises
    ------
    DataError
        No split list, or a listed image or mask missing, with the layout and how to prepare VOC.
    """

    title = "VOC segmentation"

    def __init__(self, root: str, split: str = "train", mode: str = "train", crop_size: int = 128,
                 base_size: int = 160):
        devkit = layouts.voc_root(root)
        if split not in SPLIT_LISTS:
            raise DataError("segmentation split '{}': one of {}".format(split, ", ".join(SPLIT_LISTS)))
        listing = layouts.voc_segmentation_split_file(layouts.voc_year_dir(devkit, 2012), SPLIT_LISTS[split])
        if not os.path.isfile(listing):
            raise DataError("{}: no VOC segmentation split list {}; the layout is {}. {}".format(
                root, listing, layouts.VOC_SEGMENTATION_LAYOUT, layouts.VOC_PREPARE))
        self._object_classes = layouts.read_classes(devkit) or VOCDetection.CLASSES
        normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
        try:
            super().__init__(root=devkit, split=split, mode=mode, transform=normalize, base_size=base_size,
                             crop_size=crop_size)
        except AssertionError:  # GluonCV asserts that every listed file exists
            missing = _first_missing(devkit, listing)
            raise DataError("{}: listed in {}, but missing".format(missing, listing)) from None


def _first_missing(devkit: str, listing: str) -> str:
    year_dir = layouts.voc_year_dir(devkit, 2012)
    with open(listing, encoding="utf-8") as handle:
        for image_id in handle.read().split():
            for path in (layouts.voc_image_file(year_dir, image_id), layouts.voc_mask_file(year_dir, image_id)):
                if not os.path.isfile(path):
                    return path
    return listing


class VOCAugTraining(_SegmentationSet, VOCAugSegmentation):
    """SBD's augmented VOC training set (``layouts.VOC_AUG_LAYOUT``) without the images of VOC 2012's
    segmentation ``val`` list, which Dai et al.'s DeepLab is scored on.

    GluonCV's reader trains on SBD's whole ``trainval.txt`` (11,355 images), which holds VOC 2012 val images:
    scored on that val, such a run would be scored partly on images it trained on.

    Parameters
    ----------
    root : str
        The folder holding ``VOCaug`` and ``VOC2012`` (GluonCV's ``~/.mxnet/datasets/voc``).
    crop_size, base_size : int
        GluonCV's training sizes (see the module's description).

    Raises
    ------
    DataError
        No ``VOCaug`` or no VOC 2012 val list, with the layout and how to prepare them.
    """

    title = "VOC aug segmentation (SBD, without VOC 2012 val)"

    def __init__(self, root: str, crop_size: int = 480, base_size: int = 520):
        devkit = layouts.voc_root(root)
        aug, val = layouts.voc_aug_dir(devkit), layouts.voc_segmentation_split_file(
            layouts.voc_year_dir(devkit, 2012), SPLIT_LISTS["val"])
        for listing, layout, prepare in ((os.path.join(aug, "trainval.txt"), layouts.VOC_AUG_LAYOUT,
                                          layouts.VOC_AUG_PREPARE),
                                         (val, layouts.VOC_SEGMENTATION_LAYOUT, layouts.VOC_PREPARE)):
            if not os.path.isfile(listing):
                raise DataError("{}: no {}; the layout is {}. {}".format(root, listing, layout, prepare))
        self._object_classes = layouts.read_classes(devkit) or VOCDetection.CLASSES
        normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
        try:
            super().__init__(root=devkit, split="train", mode="train", transform=normalize, base_size=base_size,
                             crop_size=crop_size)
        except AssertionError:  # GluonCV asserts that every listed file exists
            raise DataError("{}: a file listed in {} is missing ({}/img/<id>.jpg, {}/cls/<id>.mat)".format(
                root, os.path.join(aug, "trainval.txt"), aug, aug)) from None
        with open(val, encoding="utf-8") as handle:
            held_out = set(handle.read().split())
        kept = [i for i, image in enumerate(self.images)
                if os.path.splitext(os.path.basename(image))[0] not in held_out]
        self.images, self.masks = [self.images[i] for i in kept], [self.masks[i] for i in kept]

    def _read_mask(self, path: str) -> np.ndarray:
        return np.array(self._load_mat(path))


def segmentation_dataset(data: Mapping, crop: int, train: bool, augment: str = "gluoncv"):
    """The training or validation set a config's ``data`` section names for a segmenter of input side ``crop``:
    ``voc`` reads ``VOC2012``'s ``trainval`` and ``val`` lists; ``voc_aug`` trains on SBD's masks without VOC 2012
    val (``VOCAugTraining``) and validates on VOC 2012 val. ``augment`` is the training set's (``AUGMENTATIONS``).

    Raises
    ------
    ConfigError
        Split lists, which the layouts fix (the config's checks refuse a layout without class masks).
    DataError
        A missing or incomplete data set, with how to prepare it.
    """
    if data["train_splits"] or data["val_splits"]:
        raise ConfigError("data.train_splits / val_splits: a segmentation run reads the layout's own lists "
                          "(VOC2012's ImageSets/Segmentation, SBD's trainval.txt); leave them null")
    if augment not in AUGMENTATIONS:
        raise ConfigError("train.augment: a segmenter trains with {}, got {}".format(" or ".join(AUGMENTATIONS),
                                                                                     augment))
    base = round(crop * BASE_TO_CROP)
    if train and data["format"] == "voc_aug":
        dataset = VOCAugTraining(data_root(data), crop_size=crop, base_size=base)
    else:
        split = "train" if train else "val"
        dataset = VOCLayoutSegmentation(data_root(data), split, split, crop_size=crop, base_size=base)
    dataset.augment = augment
    return dataset


def segmentation_loader(dataset: VOCLayoutSegmentation, batch_size: int, shuffle: bool,
                        num_workers: int = 0) -> gluon.data.DataLoader:
    """Batches ``(images (B, 3, S, S), masks (B, S, S))``; in training (``shuffle``) full batches in a random order
    whose every image is augmented from a seed drawn in this process, as the detectors' batches are
    (``transforms.seeded_batches``): seeded alike, any ``num_workers`` gives the same batches."""
    if not shuffle:
        return gluon.data.DataLoader(dataset, batch_size, shuffle=False, last_batch="keep", num_workers=num_workers)
    return gluon.data.DataLoader(SeededSamples(dataset), batch_sampler=seeded_batches(len(dataset), batch_size),
                                 num_workers=num_workers)

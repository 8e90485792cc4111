"""Segmentation data: GluonCV's ``VOCSegmentation`` for any VOC-layout root, with that root's classes, and its
batches for training and validation.

GluonCV's reader does the augmentation of its segmentation recipe (``segbase.py``): in training a random flip,
a random resize of the long side to 0.5-2x ``base_size``, padding and a random ``crop_size`` crop, and a blur half
the time; in validation the short side resized to ``crop_size`` and a centre crop. Void pixels (255) read as -1.
"""
import os
from typing import Iterator, Tuple

import numpy as np
from gluoncv.data import VOCSegmentation
from gluoncv.data.pascal_voc.detection import VOCDetection
from mxnet import gluon
from mxnet.gluon.data.vision import transforms
from PIL import Image

from ..errors import DataError
from . import layouts

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
"""ImageNet's normalisation, as the detection transforms and the pretrained backbones use."""
SPLIT_LISTS = {"train": "trainval", "val": "val"}
"""GluonCV's split names and the list files its ``VOCSegmentation`` reads for them."""


class VOCLayoutSegmentation(VOCSegmentation):
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

    skipped: Tuple[str, ...] = ()
    """Images left out for bad files: none (every listed file must exist)."""

    def annotations(self) -> Iterator[Tuple[str, np.ndarray]]:
        """``(image name, class mask)`` of every image, in order (``datasets.dataset_fingerprint`` hashes them)."""
        for image, mask in zip(self.images, self.masks):
            yield os.path.basename(image), np.array(Image.open(mask))

    @property
    def classes(self) -> Tuple[str, ...]:
        """The object classes, without background."""
        return tuple(self._object_classes)

    @property
    def num_class(self) -> int:
        """Background and the object classes."""
        return 1 + len(self._object_classes)

    def __repr__(self) -> str:
        return "VOC segmentation {} ({} images, {} classes + background)".format(self.split, len(self),
                                                                                 len(self.classes))


def _first_missing(devkit: str, listing: str) -> str:
    year_dir = layouts.voc_year_dir(devkit, 2012)
    with open(listing, encoding="utf-8") as handle:
        for image_id in handle.read().split():
            for path in (layouts.voc_image_file(year_dir, image_id), layouts.voc_mask_file(year_dir, image_id)):
                if not os.path.isfile(path):
                    return path
    return listing


def segmentation_loader(dataset: VOCLayoutSegmentation, batch_size: int, shuffle: bool,
                        num_workers: int = 0) -> gluon.data.DataLoader:
    """Batches ``(images (B, 3, S, S), masks (B, S, S))``; in training full batches only (``shuffle``)."""
    return gluon.data.DataLoader(dataset, batch_size, shuffle=shuffle, last_batch="discard" if shuffle else "keep",
                                 num_workers=num_workers)

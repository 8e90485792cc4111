"""Segmentation data: GluonCV's ``VOCSegmentation`` for any VOC-layout root, with that root's classes, its
``VOCAugSegmentation`` (SBD's augmented training masks) for Table I's real runs, its ``COCOSegmentation`` (COCO's
instance masks of VOC's 20 classes, on which GluonCV pre-trains its VOC segmenters) and
``ADE20KSegmentation``, and their batches.

GluonCV's reader does the augmentation of its segmentation recipe (``segbase.py``): in training a random flip,
a random resize of the long side to 0.5-2x ``base_size``, padding and a random ``crop_size`` crop, and a blur half
the time; in validation the short side resized to ``crop_size`` and a centre crop. Void pixels (255) read as -1.
``augment: flip`` trains on the validation crop with the random flip alone, as the detectors' ``flip`` does.
"""
import hashlib
import json
import os
import random
from typing import Iterator, Mapping, Tuple

import numpy as np
from gluoncv.data import ADE20KSegmentation, COCOSegmentation, VOCAugSegmentation, VOCSegmentation
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


class SegmentationSet:
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

    first_class = "background"
    """The name of score channel 0, which the network scores besides ``classes``."""

    def _read_with_gluoncv(self, root: str, split: str, mode: str, crop_size: int, base_size: int,
                           object_classes: Tuple[str, ...], required: str, layout: str, prepare: str) -> None:
        """Check the split and that ``required`` (a file or folder of the layout) exists, else a ``DataError``
        with the ``layout`` and how to ``prepare`` it; then read ``root`` with GluonCV's reader (the class after
        this one in the data set's bases)."""
        if split not in SPLIT_LISTS:
            raise DataError("segmentation split '{}': one of {}".format(split, ", ".join(SPLIT_LISTS)))
        if not os.path.exists(required):
            raise DataError("{}: no {}; the layout is {}. {}".format(root, required, layout, prepare))
        self._object_classes = object_classes
        normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
        super().__init__(root=os.path.expanduser(root), split=split, mode=mode, transform=normalize,
                         base_size=base_size, crop_size=crop_size)

    @property
    def classes(self) -> Tuple[str, ...]:
        """The classes after ``first_class``: the object classes, without background."""
        return tuple(self._object_classes)

    @property
    def scored_classes(self) -> Tuple[str, ...]:
        """Every class the network scores, in the order of its score channels."""
        return (self.first_class,) + self.classes

    @property
    def num_class(self) -> int:
        """``first_class`` (background) and the object classes."""
        return 1 + len(self._object_classes)

    def __repr__(self) -> str:
        return "{} {} ({} images, {} classes + background)".format(self.title, self.split, len(self),
                                                                   len(self.classes))


class VOCLayoutSegmentation(SegmentationSet, VOCSegmentation):
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


class VOCAugTraining(SegmentationSet, VOCAugSegmentation):
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


class COCOLayoutSegmentation(SegmentationSet, COCOSegmentation):
    """COCO's instance masks of VOC's 20 classes as class masks (GluonCV's ``COCOSegmentation``: background and
    the 20, as its ``_voc`` segmenters score them; objects of COCO's 60 other classes are background).

    GluonCV keeps the images with more than 1,000 object pixels, and the first time a split is read it writes
    their ids to ``ROOT/annotations/<train|val>_ids.mx`` (a few minutes for train2017).

    Parameters
    ----------
    root : str
        The folder holding ``annotations/instances_{train,val}2017.json`` and ``{train,val}2017/``.
    split : {'train', 'val'}
        train2017 or val2017.
    mode, crop_size, base_size
        As ``VOCLayoutSegmentation``'s.

    Raises
    ------
    DataError
        No annotation file, with the layout and how to prepare COCO.
    """

    title = "COCO segmentation (VOC's 20 classes)"

    def __init__(self, root: str, split: str = "train", mode: str = "train", crop_size: int = 480,
                 base_size: int = 520):
        self._read_with_gluoncv(root, split, mode, crop_size, base_size, COCOSegmentation.CLASSES[1:],
                                layouts.coco_annotation_file(root, split + "2017"), layouts.COCO_LAYOUT,
                                layouts.COCO_PREPARE)

    def annotations(self) -> Iterator[Tuple[str, np.ndarray]]:
        """``(file name, digest)`` of every image: a SHA-256 over the classes and instance masks (polygons or run
        lengths) its class mask is drawn from (drawing every mask would take as long as GluonCV's first read)."""
        for image_id in self.ids:
            image = self.coco.loadImgs(image_id)[0]
            drawn = [(self.CAT_LIST.index(a["category_id"]), a["segmentation"])
                     for a in self.coco.loadAnns(self.coco.getAnnIds(imgIds=image_id))
                     if a["category_id"] in self.CAT_LIST]
            digest = hashlib.sha256(json.dumps(drawn, sort_keys=True).encode("utf-8")).digest()
            yield image["file_name"], np.frombuffer(digest, np.uint8)


class ADE20KLayoutSegmentation(SegmentationSet, ADE20KSegmentation):
    """ADE20K's scene parsing masks (GluonCV's ``ADE20KSegmentation``, ``layouts.ADE20K_LAYOUT``): 150 classes
    and no background; label 0 (unlabelled) is void. Score channel 0 is ADE20K's first class, ``wall``
    (``first_class``), so ``classes`` are the other 149, and a network scores 1 + 149 channels as for VOC.

    Images are sorted by name (GluonCV lists the folder in the file system's order, which differs between
    machines). Parameters as ``VOCLayoutSegmentation``'s; ``train`` reads ``training/``, ``val``
    ``validation/``.

    Raises
    ------
    DataError
        No ``ADEChallengeData2016`` folder, or an image without its mask, with the layout and how to prepare
        ADE20K.
    """

    title = "ADE20K"
    first_class = ADE20KSegmentation.CLASSES[0]

    def __init__(self, root: str, split: str = "train", mode: str = "train", crop_size: int = 480,
                 base_size: int = 520):
        part = "training" if split == "train" else "validation"
        folder = os.path.join(os.path.expanduser(root), layouts.ADE20K_DIR, "images", part)
        self._read_with_gluoncv(root, split, mode, crop_size, base_size, ADE20KSegmentation.CLASSES[1:], folder,
                                layouts.ADE20K_LAYOUT, layouts.ADE20K_PREPARE)
        masked = {os.path.basename(image) for image in self.images}
        unmasked = sorted(name for name in os.listdir(folder) if name.endswith(".jpg") and name not in masked)
        if unmasked:  # GluonCV prints the missing mask and leaves the image out
            raise DataError("{}: {} has no mask {}".format(root, os.path.join(folder, unmasked[0]), os.path.join(
                os.path.expanduser(root), layouts.ADE20K_DIR, "annotations", part, unmasked[0][:-4] + ".png")))
        pairs = sorted(zip(self.images, self.masks))
        self.images, self.masks = [image for image, _ in pairs], [mask for _, mask in pairs]


def segmentation_dataset(data: Mapping, crop: int, train: bool, augment: str = "gluoncv"):
    """The training or validation set a config's ``data`` section names for a segmenter of input side ``crop``:
    ``voc`` reads ``VOC2012``'s ``trainval`` and ``val`` lists; ``voc_aug`` trains on SBD's masks without VOC 2012
    val (``VOCAugTraining``) and validates on VOC 2012 val; ``coco`` reads train2017 and val2017
    (``COCOLayoutSegmentation``), ``ade20k`` training and validation (``ADE20KLayoutSegmentation``). ``augment`` is
    the training set's (``AUGMENTATIONS``).

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
    split = "train" if train else "val"
    if train and data["format"] == "voc_aug":
        dataset = VOCAugTraining(data_root(data), crop_size=crop, base_size=base)
    else:
        reader = {"coco": COCOLayoutSegmentation, "ade20k": ADE20KLayoutSegmentation}.get(data["format"],
                                                                                           VOCLayoutSegmentation)
        dataset = reader(data_root(data), split, split, crop_size=crop, base_size=base)
    dataset.augment = augment
    return dataset


def segmentation_loader(dataset: SegmentationSet, batch_size: int, shuffle: bool, num_workers: int = 0,
                        num_parts: int = 1, part_index: int = 0) -> gluon.data.DataLoader:
    """Batches ``(images (B, 3, S, S), masks (B, S, S))``; in training (``shuffle``) full batches of part
    ``part_index`` of ``num_parts`` (one per distributed worker, as the detectors' ``train_loader`` cuts them) in a
    random order, every image augmented from a seed drawn in this process (``transforms.seeded_batches``): seeded
    alike, any ``num_workers`` gives the same batches."""
    if not shuffle:
        return gluon.data.DataLoader(dataset, batch_size, shuffle=False, last_batch="keep", num_workers=num_workers)
    return gluon.data.DataLoader(SeededSamples(dataset), num_workers=num_workers,
                                 batch_sampler=seeded_batches(len(dataset), batch_size, num_parts, part_index))

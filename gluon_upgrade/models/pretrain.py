"""The demo's ImageNet stand-in: a demo detector's backbone pretrained to classify crops of demo objects.

The paper's three experiments start from ImageNet-trained backbones; none exists for the demo's slim ResNet and
Darknet. This trains one on the demo generator itself (its own seed, never the detection splits' images): a crop
around the object drawn on top of each scene, labelled with its class. The weights are kept in the user cache
(``paths.cache_dir``) under a fingerprint of the generator's and the network's source and of the settings, so they
are rebuilt only when one of those changes. Written by hand: GluonCV's classification training scripts expect
ImageNet on disk.
"""
import hashlib
import inspect
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Optional, Tuple

import cv2
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from ..data import scenes, shapes
from ..data.scenes import render_scene
from ..data.shapes import CLASSES
from ..errors import ModelError
from ..paths import cache_dir
from . import project
from .project import DEMO_SSD

logger = logging.getLogger("gluon_upgrade.pretrain")

CACHE = "backbone"
"""The user cache's folder (``paths.cache_dir``) of pretrained backbones, one file per fingerprint."""
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
"""ImageNet's normalisation, which the detection transforms apply too."""


@dataclass(frozen=True)
class PretrainSettings:
    """What a pretraining run does; every field enters the fingerprint."""

    crops: int = 6000
    """Training crops (a scene each)."""
    val_crops: int = 600
    """Held-out crops the accuracy is measured on."""
    crop_side: int = 64
    steps: int = 900
    """Adam steps of ``batch`` crops (about 10 passes over the crops; about a minute on 2 cores)."""
    batch: int = 64
    lr: float = 0.002
    wd: float = 0.0001
    seed: int = 12345
    """Seed of the crops' scenes (the detection splits use the demo set's seed) and of the initialisation."""


@dataclass
class Pretrained:
    """A pretrained backbone: its weights file, whether this call trained it, and its held-out accuracy."""

    path: str
    trained: bool
    val_accuracy: float
    settings: PretrainSettings


def _backbone(model: str):
    if model not in project.BACKBONES:
        raise ModelError("no demo backbone for {}; there are: {}".format(model, ", ".join(project.BACKBONES)))
    return project.BACKBONES[model]


def stand_in_weights(model: str) -> str:
    """The pretrained backbone file the demo network ``model`` starts from with ``pretrained_base`` (what the
    builder passes to its constructor as ``base_weights``).

    Raises
    ------
    ModelError
        Not a demo network, or its backbone was not pretrained yet.
    """
    if model not in project.STAND_IN:
        raise ModelError("no demo backbone for {}; there are: {}".format(model, ", ".join(project.STAND_IN)))
    source = project.STAND_IN[model]
    path = backbone_path(source)
    if not os.path.isfile(path):
        raise ModelError("no pretrained backbone for {} at {}: make it with gluon-upgrade pretrain-backbone --model "
                         "{} (make demo-data does it for {}), or set model.pretrained_base: false".format(
                             model, path, source, DEMO_SSD))
    return path


def fingerprint(settings: PretrainSettings, model: str = DEMO_SSD) -> str:
    """12 hex digits of a hash over the generator's and the network's source files and ``settings``."""
    digest = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode())
    for source in (scenes.__file__, shapes.__file__, inspect.getsourcefile(_backbone(model)), __file__):
        with open(source, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


def backbone_path(model: str = DEMO_SSD, settings: PretrainSettings = PretrainSettings()) -> str:
    """The cache file of ``model``'s backbone for ``settings`` (it may not exist yet)."""
    return os.path.join(cache_dir(CACHE), "{}-{}.params".format(model, fingerprint(settings, model)))


def pretrained_backbone(model: str = DEMO_SSD, settings: PretrainSettings = PretrainSettings(),
                        overwrite: bool = False, workers: Optional[int] = None) -> Pretrained:
    """The cached backbone of the demo network ``model`` for ``settings``, pretrained first if there is none (or
    ``overwrite``).

    Returns
    -------
    Pretrained
        The file holds the parameters of the backbone's ``features`` (what ``pretrained_base`` loads); its
        held-out crop accuracy is kept beside it in ``<file>.json``.
    """
    path = backbone_path(model, settings)
    if os.path.isfile(path) and not overwrite:
        with open(path + ".json", encoding="utf-8") as f:
            return Pretrained(path, False, json.load(f)["val_accuracy"], settings)
    x, y = _crops(settings.crops, settings.seed, settings.crop_side, workers)
    val_x, val_y = _crops(settings.val_crops, settings.seed + 1, settings.crop_side, workers)
    mx.random.seed(settings.seed)
    net = _backbone(model)(classes=len(CLASSES))
    net.initialize(mx.init.Xavier())
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": settings.lr, "wd": settings.wd})
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.RandomState(settings.seed)
    order = []
    for step in range(settings.steps):
        if len(order) < settings.batch:
            order = list(rng.permutation(len(y)))
        batch = mx.nd.array(order[:settings.batch])
        order = order[settings.batch:]
        images = x.take(batch)
        if rng.rand() < 0.5:
            images = images.flip(axis=3)
        with autograd.record():
            value = loss(net(images), y.take(batch))
        value.backward()
        trainer.step(settings.batch)
        if (step + 1) % 100 == 0:
            logger.info("pretraining step %d/%d loss %.3f", step + 1, settings.steps, value.mean().asscalar())
    accuracy = float((net(val_x).argmax(axis=1) == val_y).mean().asscalar())
    net.features.save_parameters(path + ".tmp")
    os.replace(path + ".tmp", path)
    with open(path + ".json", "w", encoding="utf-8") as f:
        json.dump({"val_accuracy": accuracy, "chance": 1 / len(CLASSES), "settings": asdict(settings)}, f, indent=2)
    return Pretrained(path, True, accuracy, settings)


def _crops(count: int, seed: int, side: int, workers: Optional[int]) -> Tuple[mx.nd.NDArray, mx.nd.NDArray]:
    """``count`` normalised crops ``(count, 3, side, side)`` around each scene's top object, and their labels."""
    jobs = [(seed, index, side) for index in range(count)]
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        crops = list(pool.map(_crop, jobs, chunksize=64))
    images = (np.stack(crops).astype(np.float32) / 255 - MEAN) / STD
    labels = np.arange(count) % len(CLASSES)
    return mx.nd.array(images.transpose(0, 3, 1, 2)), mx.nd.array(labels)


def _crop(job: Tuple[int, int, int]) -> np.ndarray:
    seed, index, side = job
    rng = np.random.default_rng([seed, index])
    scene = render_scene(rng, 160, 128, first_label=index % len(CLASSES))
    # The top object is drawn last, centred inside the image, and always visible: its box is the last one.
    x0, y0, x1, y1 = scene.objects[-1].box
    half = max(x1 - x0, y1 - y0) * 0.6 + 4
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(max(cx - half, 0)), int(max(cy - half, 0))
    right, bottom = int(min(cx + half, 159)), int(min(cy + half, 127))
    return cv2.resize(scene.image[top:bottom + 1, left:right + 1], (side, side))

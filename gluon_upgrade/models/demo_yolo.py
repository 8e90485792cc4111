"""The demo YOLOv3: GluonCV's YOLOv3 on a slim Darknet, small enough to train on a laptop CPU.

GluonCV's ``yolo3_darknet53_*`` trains at about 4.5 images/s on 2 cores at the demo's 128 px, and its anchors are
pixel sizes for 416 px inputs. This network keeps Darknet-53's structure (GluonCV's ``DarknetV3``: a stem, then
five stages of a stride-2 convolution and residual 1x1-3x3 blocks, the last stage four blocks, so that ``last3`` is
the paper's layers: the 3x3 convolutions of the last three blocks of the last stage) at a quarter of its width and
with fewer blocks in the middle stages, and takes its anchors as fractions of the input side, fitted to the demo
set's boxes. Its backbone's stand-in for ImageNet weights is made by ``models.pretrain``, as the demo SSD's is.
"""
import math
from typing import List, Optional, Sequence

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock

from .init import start_base


DEMO_YOLO = "yolo3_darknet27_demo"
"""The registered name: 26 convolutions + the classifier's dense layer, as Darknet-53 counts 52 + 1."""
BLOCKS = (1, 1, 2, 2, 4)
"""Residual blocks per stage (Darknet-53 has 1, 2, 8, 8, 4): the last stage keeps its four."""
CHANNELS = (8, 16, 32, 64, 128, 256)
"""Stem and per-stage output channels, a quarter of Darknet-53's (32, 64, 128, 256, 512, 1024)."""
FILTERS = (128, 64, 32)
"""Channels of the YOLOv3 detection blocks, deepest first: a quarter of GluonCV's (512, 256, 128)."""
STRIDES = (8, 16, 32)
ANCHORS = ((0.045, 0.04, 0.075, 0.16, 0.17, 0.075),
           (0.155, 0.23, 0.245, 0.16, 0.225, 0.225),
           (0.25, 0.33, 0.335, 0.26, 0.4, 0.395))
"""(width, height) pairs as fractions of the input side, three per output, smallest first: k-means with the IoU
distance on the demo set's 6,814 training boxes (as YOLOv3's anchors were fitted to COCO's). They cover its boxes
with a mean best IoU of 0.76; GluonCV's COCO anchors, scaled from 416 px, reach 0.68."""
OBJECT_PRIOR = 0.01
"""Probability of an object every anchor predicts at initialisation (the objectness biases)."""
PREDICTOR_INIT_SCALE = 0.007
"""Half-width of the uniform initialisation of the prediction layers, as the demo SSD's."""


def yolo3_darknet27_demo(classes: Sequence[str] = ("object",), base_size: int = 128, pretrained: bool = False,
                         base_weights: Optional[str] = None, ctx: mx.Context = mx.cpu(), **kwargs) -> HybridBlock:
    """Build the demo YOLOv3 for ``classes`` at input side ``base_size``.

    Parameters
    ----------
    classes : sequence of str
        Class names.
    base_size : int
        Input side in pixels; anchors scale with it.
    pretrained : bool
        Accepted for the zoo's signature; no trained detector is published, so True is an error.
    base_weights : str, optional
        A ``.params`` file of the backbone's ``features`` to start from: the demo's ImageNet stand-in, which the
        builder (``build.build_network`` with ``pretrained_base``) finds with ``pretrain.stand_in_weights``.
    kwargs
        GluonCV's ``YOLOV3`` arguments (``nms_thresh``, ``norm_layer``, ...).

    Raises
    ------
    ModelError
        ``pretrained`` is True.
    """
    from gluoncv.model_zoo.yolo.yolo3 import YOLOV3
    base = start_base(DEMO_YOLO, demo_darknet(), pretrained, base_weights, ctx)
    ends = _stage_ends()
    stages = [base.features[:ends[2]], base.features[ends[2]:ends[3]], base.features[ends[3]:]]
    net = YOLOV3(stages, list(FILTERS), anchors(base_size), list(STRIDES), list(classes), **kwargs)
    _set_head_prior(net, len(classes))
    return net


def _set_head_prior(net: HybridBlock, classes: int) -> None:
    """Small prediction weights and objectness biases for ``OBJECT_PRIOR`` (RetinaNet's prior, for YOLOv3's
    sigmoid objectness): without them every one of about a thousand anchors starts at p(object) = 0.5."""
    objectness = math.log(OBJECT_PRIOR / (1 - OBJECT_PRIOR))
    for output in net.yolo_outputs:
        output.prediction.weight.init = mx.init.Uniform(PREDICTOR_INIT_SCALE)
        # Channels are anchor-major: (x, y, w, h, objectness, classes...) for each anchor.
        bias = np.zeros(output.prediction.weight.shape[0])
        bias[4::5 + classes] = objectness
        output.prediction.bias.init = mx.init.Constant(mx.nd.array(bias))


def anchors(base_size: int) -> List[List[float]]:
    """``ANCHORS`` in pixels for an input side of ``base_size``."""
    return [[fraction * base_size for fraction in row] for row in ANCHORS]


def demo_darknet(classes: int = 1000) -> HybridBlock:
    """The demo YOLOv3's backbone as a classifier of ``classes`` classes (GluonCV's ``DarknetV3``); its layers
    read like GluonCV's Darknet-53 (``darknetv30_conv..``)."""
    from gluoncv.model_zoo.yolo.darknet import DarknetV3
    return DarknetV3(list(BLOCKS), list(CHANNELS), classes=classes, prefix="darknetv30_")


def _stage_ends() -> List[int]:
    """Index in ``features`` after each stage: the stem, then a stride-2 convolution and the blocks per stage."""
    ends, end = [], 1
    for blocks in BLOCKS:
        end += 1 + blocks
        ends.append(end)
    return ends

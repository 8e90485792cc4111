"""The networks this project adds to GluonCV's zoo names: the demo detectors and the demo segmenter."""
from typing import Callable, Optional

from mxnet.gluon import HybridBlock

from .demo_fcn import DEMO_FCN, fcn_128_resnet29_v1_demo
from .demo_ssd import DEMO_SSD, demo_backbone, ssd_128_resnet29_v1_demo
from .demo_ssd_os8 import DEMO_SSD_OS8, ssd_128_resnet29_v1_demo_os8
from .demo_yolo import DEMO_YOLO, demo_darknet, yolo3_darknet27_demo

PROJECT_MODELS = {DEMO_SSD: ssd_128_resnet29_v1_demo, DEMO_SSD_OS8: ssd_128_resnet29_v1_demo_os8,
                  DEMO_YOLO: yolo3_darknet27_demo, DEMO_FCN: fcn_128_resnet29_v1_demo}
"""Constructors by name."""
BACKBONES = {DEMO_SSD: demo_backbone, DEMO_YOLO: demo_darknet}
"""Each network's backbone as a classifier (``classes`` outputs), whose ``features`` ``pretrained_base`` loads."""
STAND_IN = {DEMO_SSD: DEMO_SSD, DEMO_SSD_OS8: DEMO_SSD, DEMO_YOLO: DEMO_YOLO, DEMO_FCN: DEMO_SSD}
"""Whose pretrained backbone each network starts from with ``pretrained_base`` (the stride-8 SSD's and the
segmenter's backbones have the stride-16 SSD's parameters)."""


def project_model(name: str) -> Optional[Callable[..., HybridBlock]]:
    """The constructor of a project network, or None for a GluonCV zoo name."""
    return PROJECT_MODELS.get(name.lower())

"""The demo detector: a slim SSD on a ResNet-50-shaped backbone, small enough to train on a laptop CPU.

GluonCV's SSDs are sized for 300-512 px inputs: their anchors are fixed pixel sizes (the smallest 51 px in
``ssd_512_*``), so at the demo's 128 px they miss most objects. This network keeps the structure the paper
upgrades (a ResNet V1 of bottleneck blocks whose last stage has three blocks, so ``last3`` is res5a-c as in
SSD512-ResNet-50) at a quarter of ResNet-50's width and one to three blocks per stage, and scales the anchors to
the input side. It is assembled from GluonCV's ``ResNetV1`` and ``SSD`` classes; no weights are published.
"""
from typing import Callable, List, Optional, Sequence

import mxnet as mx
from mxnet.gluon import HybridBlock

from ..errors import UpgradeError

DEMO_SSD = "ssd_128_resnet29_v1_demo"
"""The registered name; 128 is the default input side."""
BLOCKS = (1, 2, 3, 3)
"""Bottleneck blocks per stage (ResNet-50 has 3, 4, 6, 3): 9 blocks x 3 convolutions + stem + 1 = 29. Stage 3
has three blocks so that ``last6`` is res5a-c plus three of res4, as in the paper's Table I."""
CHANNELS = (16, 64, 128, 256, 512)
"""Stem and per-stage output channels, a quarter of ResNet-50's."""
FEATURES = ("stage1_activation0", "stage2_activation1", "stage3_activation2", "stage4_activation2")
"""The backbone outputs the heads read: the ends of stages 1-4 (strides 4, 8, 16, 32)."""
EXTRA_FILTERS = ()
"""Channels of layers SSD would append after the backbone: none, stride 32 already sees the largest objects."""
ANCHOR_SIZES = (0.1, 0.2, 0.35, 0.55, 0.8)
"""Anchor sizes as fractions of the input side, one more than prediction layers (GluonCV's convention).
They span the demo set's object sizes (5th-95th percentile: 5%-38% of the image side) and are 2-3 times their
layer's stride, as in GluonCV's SSDs, so an object between anchor centres still overlaps one by IoU >= 0.5."""
ANCHOR_RATIOS = (1, 2, 0.5)


def ssd_128_resnet29_v1_demo(classes: Sequence[str] = ("object",), base_size: int = 128,
                             pretrained: bool = False, pretrained_base: bool = False,
                             ctx: mx.Context = mx.cpu(), **kwargs) -> HybridBlock:
    """Build the demo SSD (random weights) for ``classes`` at input side ``base_size``.

    Parameters
    ----------
    classes : sequence of str
        Class names.
    base_size : int
        Input side in pixels; anchors scale with it.
    pretrained, pretrained_base : bool
        Accepted for the zoo's signature; no weights exist for this network, so True is an error.

    Raises
    ------
    UpgradeError
        ``pretrained`` or ``pretrained_base`` is True.
    """
    from gluoncv.model_zoo.resnet import BottleneckV1, ResNetV1
    from gluoncv.model_zoo.ssd.ssd import SSD
    if pretrained or pretrained_base:
        raise UpgradeError("{} has no published weights: train it (pretrained: false, pretrained_base: false)"
                           .format(DEMO_SSD))
    # The prefix makes the backbone's layers read like GluonCV's ResNets (resnetv10_stage4_conv..).
    base = ResNetV1(BottleneckV1, list(BLOCKS), list(CHANNELS), prefix="resnetv10_")
    layers = len(FEATURES) + len(EXTRA_FILTERS)
    return SSD(base, base_size, list(FEATURES), list(EXTRA_FILTERS), [s * base_size for s in ANCHOR_SIZES],
               [list(ANCHOR_RATIOS)] * layers, anchor_steps(base_size, layers), classes=list(classes), ctx=ctx,
               **kwargs)


def anchor_steps(base_size: int, layers: int) -> List[float]:
    """Anchor spacing of each prediction layer: the input side over the layer's side, so the anchor grid covers
    the image even where stride-2 layers round the side up (GluonCV's fixed steps assume divisible sides)."""
    side = base_size
    steps = []
    for halving in range(2 + layers - 1):
        side = -(-side // 2)
        if halving >= 1:
            steps.append(base_size / side)
    return steps


PROJECT_MODELS = {DEMO_SSD: ssd_128_resnet29_v1_demo}
"""Networks this project adds to GluonCV's zoo names, by name."""


def project_model(name: str) -> Optional[Callable[..., HybridBlock]]:
    """The constructor of a project network, or None for a GluonCV zoo name."""
    return PROJECT_MODELS.get(name.lower())

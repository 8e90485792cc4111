"""The demo detector: a slim SSD on a ResNet-50-shaped backbone, small enough to train on a laptop CPU.

GluonCV's SSDs are sized for 300-512 px inputs: their anchors are fixed pixel sizes (the smallest 51 px in
``ssd_512_*``), so at the demo's 128 px they miss most objects. This network keeps the structure the paper
upgrades (a ResNet V1 of bottleneck blocks whose last stage has three blocks, so ``last3`` is res5a-c as in
SSD512-ResNet-50) at a quarter of ResNet-50's width and one to three blocks per stage, and scales the anchors to
the input side. Its last stage keeps stride 16, as in the dilated backbones of DeepLab and Dai et al.'s DCN
experiments: at 128 px the three upgraded layers see an 8x8 map, where at stride 32 (4x4) a third of a 3x3
kernel's samples would fall on padding. It is assembled from GluonCV's ``ResNetV1`` and ``SSD`` classes; no
trained detector is published, and its backbone's stand-in for ImageNet weights is made by ``models.pretrain``.
"""
import math
from typing import List, Optional, Sequence

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock

from .init import start_base


DEMO_SSD = "ssd_128_resnet29_v1_demo"
"""The registered name; 128 is the default input side."""
BLOCKS = (1, 2, 3, 3)
"""Bottleneck blocks per stage (ResNet-50 has 3, 4, 6, 3): 9 blocks x 3 convolutions + stem + 1 = 29. Stage 3
has three blocks so that ``last6`` is res5a-c plus three of res4, as in the paper's Table I."""
CHANNELS = (16, 64, 128, 256, 512)
"""Stem and per-stage output channels, a quarter of ResNet-50's."""
FEATURES = ("stage2_activation1", "stage3_activation2", "stage4_activation2")
"""The backbone outputs the heads read: the ends of stages 2-4 (strides 8, 16, 16)."""
HALVINGS = (3, 4, 4)
"""How often each feature's map side is halved from the input (stem convolution, max-pool, stages 2 and 3)."""
ANCHOR_SIZES = (0.15, 0.3, 0.5, 0.8)
"""Anchor sizes as fractions of the input side, one more than prediction layers (GluonCV's convention).
They span the demo set's object sizes and are at least twice their layer's stride, as in GluonCV's SSDs, so an
object between anchor centres still overlaps one by IoU >= 0.5."""
ANCHOR_RATIOS = (1, 2, 0.5)
PREDICTOR_INIT_SCALE = 0.007
"""Half-width of the uniform initialisation of the class and box predictors: a tenth of MXNet's default 0.07,
so the heads start near their prior instead of at a loss of about 20 per positive anchor."""
BACKGROUND_PRIOR = 0.75
"""Probability of background every anchor predicts at initialisation (the class predictors' biases)."""


def ssd_128_resnet29_v1_demo(classes: Sequence[str] = ("object",), base_size: int = 128,
                             pretrained: bool = False, base_weights: Optional[str] = None,
                             ctx: mx.Context = mx.cpu(), **kwargs) -> HybridBlock:
    """Build the demo SSD for ``classes`` at input side ``base_size``.

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

    Raises
    ------
    ModelError
        ``pretrained`` is True.
    """
    from gluoncv.model_zoo.ssd.ssd import SSD
    base = start_base(DEMO_SSD, demo_backbone(), pretrained, base_weights, ctx)
    layers = len(FEATURES)
    net = SSD(base, base_size, list(FEATURES), [], [s * base_size for s in ANCHOR_SIZES],
              [list(ANCHOR_RATIOS)] * layers, anchor_steps(base_size), classes=list(classes), ctx=ctx, **kwargs)
    _set_head_prior(net, len(classes))
    return net


def demo_backbone(classes: int = 1000) -> HybridBlock:
    """The demo SSD's backbone as a classifier of ``classes`` classes (GluonCV's ``ResNetV1``, last stage at
    stride 16); its layers read like GluonCV's ResNets (``resnetv10_stage4_conv..``)."""
    from gluoncv.model_zoo.resnet import BottleneckV1, ResNetV1

    class ResNetV1Stride16(ResNetV1):
        """GluonCV's ResNetV1 whose last stage does not downsample."""

        def _make_layer(self, block, layers, channels, stride, stage_index, *args, **kwargs):
            return super()._make_layer(block, layers, channels, 1 if stage_index == 4 else stride, stage_index,
                                       *args, **kwargs)
    return ResNetV1Stride16(BottleneckV1, list(BLOCKS), list(CHANNELS), classes=classes, prefix="resnetv10_")


def _set_head_prior(net: HybridBlock, classes: int) -> None:
    """Small predictor weights and class biases for ``BACKGROUND_PRIOR`` (RetinaNet's prior, for softmax)."""
    background = math.log(BACKGROUND_PRIOR * classes / (1 - BACKGROUND_PRIOR))
    for head in list(net.class_predictors) + list(net.box_predictors):
        head.predictor.weight.init = mx.init.Uniform(PREDICTOR_INIT_SCALE)
    for head in net.class_predictors:
        # Channels are anchor-major, class 0 (background) first: (anchor 0: bg, c1.. cK), (anchor 1: bg, ...).
        bias = np.zeros(head.predictor.weight.shape[0])
        bias[::classes + 1] = background
        head.predictor.bias.init = mx.init.Constant(mx.nd.array(bias))


def anchor_steps(base_size: int) -> List[float]:
    """Anchor spacing of each prediction layer: the input side over the layer's side, so the anchor grid covers
    the image even where stride-2 layers round the side up (GluonCV's fixed steps assume divisible sides)."""
    steps = []
    for halvings in HALVINGS:
        side = base_size
        for _ in range(halvings):
            side = -(-side // 2)
        steps.append(base_size / side)
    return steps

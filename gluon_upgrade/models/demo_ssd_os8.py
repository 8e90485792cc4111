"""The demo SSD at output stride 8: stages 3 and 4 keep stride 8 and are dilated 2, as DeepLab's dilated ResNets
do, so at the demo's 128 px the three upgraded layers see 16x16 maps instead of 8x8.

It computes what the stride-16 demo SSD computes at twice the resolution: every 3x3 convolution of stages 3 and 4
samples the same image points it sampled there (dilation 2 at stride 8 = dilation 1 at stride 16), and the
parameters are the same ones, so it loads the demo SSD's pretrained backbone. A training step costs about 3.2x
the stride-16 network's at 128 px, against 4.3x for 256 px images (``results/bench/map_size.md``).
"""
from typing import Optional, Sequence

import mxnet as mx
from mxnet.gluon import HybridBlock, nn

from .demo_ssd import ANCHOR_RATIOS, ANCHOR_SIZES, BLOCKS, CHANNELS, FEATURES, _set_head_prior
from .init import start_base

DEMO_SSD_OS8 = "ssd_128_resnet29_v1_demo_os8"
"""The registered name; 128 is the default input side."""
DILATED_STAGES = (3, 4)
"""Stages that keep stride 8 and dilate their 3x3 convolutions by 2."""


def ssd_128_resnet29_v1_demo_os8(classes: Sequence[str] = ("object",), base_size: int = 128,
                                 pretrained: bool = False, base_weights: Optional[str] = None,
                                 ctx: mx.Context = mx.cpu(), **kwargs) -> HybridBlock:
    """Build the output-stride-8 demo SSD for ``classes`` at input side ``base_size``; arguments as
    ``ssd_128_resnet29_v1_demo``'s (its stand-in backbone is the stride-16 demo SSD's: the same parameters)."""
    from gluoncv.model_zoo.ssd.ssd import SSD
    base = start_base(DEMO_SSD_OS8, dilated_backbone(), pretrained, base_weights, ctx)
    side = -(-base_size // 8)  # every head reads a stride-8 map
    net = SSD(base, base_size, list(FEATURES), [], [s * base_size for s in ANCHOR_SIZES],
              [list(ANCHOR_RATIOS)] * len(FEATURES), [base_size / side] * len(FEATURES), classes=list(classes),
              ctx=ctx, **kwargs)
    _set_head_prior(net, len(classes))
    return net


def dilated_backbone(classes: int = 1000) -> HybridBlock:
    """The demo SSD's backbone with ``DILATED_STAGES`` at stride 8 and dilation 2; its parameters are named and
    shaped as the stride-16 backbone's."""
    from gluoncv.model_zoo.resnet import BottleneckV1, ResNetV1

    class ResNetV1Stride8(ResNetV1):
        """GluonCV's ResNetV1 whose stages 3 and 4 neither downsample nor lose their receptive field."""

        def _make_layer(self, block, layers, channels, stride, stage_index, *args, **kwargs):
            if stage_index not in DILATED_STAGES:
                return super()._make_layer(block, layers, channels, stride, stage_index, *args, **kwargs)
            layer = super()._make_layer(block, layers, channels, 1, stage_index, *args, **kwargs)
            for conv in _convs(layer):
                if conv._kwargs["kernel"] == (3, 3):
                    # GluonCV's BottleneckV1 takes no dilation; set it on the built layer, whose parameters are
                    # unchanged (a Conv2D passes its _kwargs to the operator on every call).
                    conv._kwargs["dilate"] = (2, 2)
                    conv._kwargs["pad"] = (2, 2)
            return layer
    return ResNetV1Stride8(BottleneckV1, list(BLOCKS), list(CHANNELS), classes=classes, prefix="resnetv10_")


def _convs(block: HybridBlock):
    """Every ``Conv2D`` inside ``block``, depth first."""
    for child in block._children.values():
        if isinstance(child, nn.Conv2D):
            yield child
        else:
            yield from _convs(child)

"""The demo segmenter: the demo SSD's backbone at output stride 8 (stages 3 and 4 dilated, as DeepLab keeps res5
at stride 8 or 16) under GluonCV's FCN head, with its auxiliary head on stage 3 as GluonCV's FCN has.

At the demo's 128 px the three 3x3 convolutions the paper upgrades (res5a-c) see 16x16 maps, the smallest the
references' deformable layers run on. The backbone's parameters are the demo SSD's, so it starts from the same
pretrained stand-in. Scores are resized to the input (bilinear), one channel per class, background first.
"""
from typing import Optional, Sequence

import mxnet as mx
from mxnet.gluon import HybridBlock

from .demo_ssd_os8 import dilated_backbone
from .init import start_base

DEMO_FCN = "fcn_128_resnet29_v1_demo"
"""The registered name; 128 is the default input side."""
AUX_STAGE = 3
"""The stage whose output the auxiliary head reads (GluonCV's FCN: ``layer3``)."""
HEAD_LR_MULT = 10.0
"""The heads' learning-rate multiplier, as GluonCV's FCN, PSPNet and DeepLabV3 set it."""


class DemoFCN(HybridBlock):
    """Backbone ``features`` (the classifier's, without its global pooling), ``head`` and ``auxlayer``.

    ``classes`` are the object classes, as a detector's; the network scores background and each of them.
    Returns ``(scores, aux_scores)``, each ``(B, 1 + len(classes), H, W)``, with ``aux``; else ``(scores,)``:
    GluonCV's ``MixSoftmaxCrossEntropyLoss`` takes either.
    """

    def __init__(self, base: HybridBlock, classes: Sequence[str], aux: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.classes = tuple(classes)
        from gluoncv.model_zoo.fcn import _FCNHead
        stages = list(base.features._children.values())[:-1]  # the stem's four layers, four stages, not the pool
        self.aux_index = len(stages) - (5 - AUX_STAGE)
        self.aux = aux
        with self.name_scope():
            self.features = base.features[:-1]
            self.head = _FCNHead(_channels(stages[-1]), 1 + len(classes))
            # GluonCV's segmenters train their new heads at ten times the backbone's learning rate.
            self.head.collect_params().setattr("lr_mult", HEAD_LR_MULT)
            if aux:
                self.auxlayer = _FCNHead(_channels(stages[self.aux_index]), 1 + len(classes))
                self.auxlayer.collect_params().setattr("lr_mult", HEAD_LR_MULT)

    def hybrid_forward(self, F, x):
        features, auxiliary = x, None
        for index, block in enumerate(self.features._children.values()):
            features = block(features)
            if index == self.aux_index:
                auxiliary = features
        outputs = [F.contrib.BilinearResize2D(self.head(features), like=x, mode="like")]
        if self.aux:
            outputs.append(F.contrib.BilinearResize2D(self.auxlayer(auxiliary), like=x, mode="like"))
        return tuple(outputs)


def _channels(stage: HybridBlock) -> int:
    """The output channels of a stage of GluonCV's ``BottleneckV1`` blocks (its last block's last convolution)."""
    last = list(stage._children.values())[-1]
    return last.body[-2]._channels


def fcn_128_resnet29_v1_demo(classes: Sequence[str] = ("object",), base_size: int = 128, pretrained: bool = False,
                             base_weights: Optional[str] = None, ctx: mx.Context = mx.cpu(),
                             aux: bool = True) -> HybridBlock:
    """Build the demo segmenter for ``classes`` (the object classes; it predicts background too).

    Parameters
    ----------
    classes : sequence of str
        Object class names; the network scores ``1 + len(classes)`` classes, background first, as VOC's masks
        number them.
    base_size : int
        The training crop's side; any input side works (the scores are resized to it).
    pretrained : bool
        Accepted for the zoo's signature; no trained segmenter is published, so True is an error.
    base_weights : str, optional
        The demo SSD's pretrained stand-in backbone (``pretrain.stand_in_weights``), which the builder finds.
    aux : bool
        The auxiliary head on stage 3 (GluonCV's recipe weighs its loss 0.5).

    Raises
    ------
    ModelError
        ``pretrained`` is True.
    """
    base = start_base(DEMO_FCN, dilated_backbone(), pretrained, base_weights, ctx)
    return DemoFCN(base, classes, aux=aux)


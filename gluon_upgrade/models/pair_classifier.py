"""The positive control's network: four 3x3 convolutions at stride 1 (receptive field 9 x 9 px), a global max
pool and a linear classifier. Its last three convolutions are the ones the upgrade makes deformable."""
from mxnet import gluon
from mxnet.gluon import HybridBlock

LAYERS = 4
CHANNELS = 16
RECEPTIVE_FIELD = 2 * LAYERS + 1
"""Pixels on a side that one output unit of the plain network sees: less than the positive control's gap."""


def pair_classifier(classes: int = 2) -> HybridBlock:
    """The plain network (``LAYERS`` x conv 3x3 + batch norm + ReLU, global max pool, dense)."""
    net = gluon.nn.HybridSequential(prefix="pairnet_")
    with net.name_scope():
        for _ in range(LAYERS):
            net.add(gluon.nn.Conv2D(CHANNELS, 3, padding=1, use_bias=False), gluon.nn.BatchNorm(),
                    gluon.nn.Activation("relu"))
        # The max keeps the single strongest piece of evidence anywhere in the image, so the answer cannot
        # come from counting weak local cues.
        net.add(gluon.nn.GlobalMaxPool2D(), gluon.nn.Dense(classes))
    return net

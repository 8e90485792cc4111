"""Where the backbone of a network is: the part whose last 3x3 convolutions the paper upgrades.

In a whole detector the last 3x3 convolutions belong to the heads, so ``"lastN"`` must be looked for inside
the backbone. ``find_backbone`` knows the GluonCV families; ``resolve_scope`` turns a user's ``scope`` argument
into a test on layers.
"""
import re
from dataclasses import dataclass
from typing import Callable, List, Literal, Optional, Sequence, Tuple, Union

from mxnet.gluon import Block, SymbolBlock

from ..errors import UpgradeError, list_names
from .layers import ConvLayer, walk_blocks

# GluonCV's feature expanders name the layers they add after the base network ``expand_*`` (SSD) and
# ``P<n>_*`` (FPN); those are neck, not backbone.
EXTRA_LAYER = re.compile(r"(?:^|_)(?:expand_|P\d+_)")

Scope = Union[Literal["auto", ""], str, Block, Sequence[Block], None]
"""``"auto"`` (the backbone), ``""`` (the whole network), a layer-name prefix, or the blocks themselves."""


@dataclass
class Backbone:
    """The backbone of a network: block subtrees, optionally a name prefix, minus extra (neck) layers."""

    family: str
    blocks: Tuple[Block, ...]
    prefix: str = ""
    exclude: Optional["re.Pattern"] = EXTRA_LAYER

    def contains(self, layer: ConvLayer, block_ids: set) -> bool:
        if id(layer.owner) not in block_ids or not layer.name.startswith(self.prefix):
            return False
        return not (self.exclude is not None and self.exclude.search(layer.name))


def _ssd(net) -> Tuple[Block, ...]:
    from gluoncv.model_zoo.ssd.resnet_v1b_ssd import ResNetV1bSSD
    from gluoncv.model_zoo.ssd.vgg_atrous import VGGAtrousExtractor
    # VGG and ResNet-v1b extractors keep their extra layers beside the base network's stages, in the same block.
    if isinstance(net.features, VGGAtrousExtractor):
        return (net.features.stages,)
    if isinstance(net.features, ResNetV1bSSD):
        return (net.features.stage1, net.features.stage2)
    return (net.features,)


def _rcnn(net) -> Tuple[Block, ...]:
    # C4 networks run the last stage per region (``top_features``); FPN ones have it in ``features``.
    return tuple(b for b in (net.features, getattr(net, "top_features", None)) if b is not None)


# Where CenterNet's base networks keep the classification network they extend with upsampling layers:
# DeconvResnet, DeconvDLA, DUCMobilenet.
_CENTER_NET_BASES = ("base_network", "base", "feature")


def _center_net(net) -> Tuple[Block, ...]:
    children = net.base_network._children
    return tuple(children[name] for name in _CENTER_NET_BASES if name in children)[:1]


def _children(names: Optional[Sequence[str]] = None,
              exclude: Sequence[str] = ()) -> Callable[[Block], Tuple[Block, ...]]:
    """The network's children named ``names`` (None: all of them) but those in ``exclude``."""
    def blocks(net):
        return tuple(c for k, c in net._children.items() if (names is None or k in names) and k not in exclude)
    return blocks


def _families() -> List[Tuple[str, type, Callable[[Block], Tuple[Block, ...]]]]:
    """(family, network class, its backbone's blocks) for GluonCV's detection and segmentation networks."""
    from gluoncv.model_zoo.center_net.center_net import CenterNet
    from gluoncv.model_zoo.deeplabv3b_plus import DeepLabWV3Plus
    from gluoncv.model_zoo.fastscnn import FastSCNN
    from gluoncv.model_zoo.hrnet import HighResolutionSegNet
    from gluoncv.model_zoo.rcnn.rcnn import RCNN
    from gluoncv.model_zoo.ssd.ssd import SSD
    from gluoncv.model_zoo.yolo.yolo3 import YOLOV3
    return [
        ("ssd", SSD, _ssd),
        ("yolo3", YOLOV3, lambda net: (net.stages,)),
        ("rcnn", RCNN, _rcnn),
        ("center-net", CenterNet, _center_net),
        ("deeplab-v3b-plus", DeepLabWV3Plus, _children(["mod{}".format(i) for i in range(1, 8)])),
        # The encoder: its two feature fusion / classifier stages are the decoder.
        ("fast-scnn", FastSCNN, _children(["learning_to_downsample", "global_feature_extractor"])),
        ("hrnet-segmentation", HighResolutionSegNet, _children(exclude=["last_layer"])),
    ]


_RESNET_STAGES = ("conv1", "layer1", "layer2", "layer3", "layer4")


def find_backbone(net: Block, layers: Sequence[ConvLayer]) -> Backbone:
    """Find the backbone of a GluonCV network (or of an exported graph).

    Parameters
    ----------
    net : Block
        Any detection or segmentation network of GluonCV's model zoo (SSD, YOLOv3, Faster/Mask/DoubleHead R-CNN,
        CenterNet, FCN, PSPNet, DeepLabV3(+), DANet, ICNet, Fast-SCNN, HRNet), a classification network with a
        ``features`` child or ResNet-style ``layer1..4`` children, or a ``SymbolBlock``.
    layers : sequence of ConvLayer
        The network's convolutions in forward order (``conv_layers(net)``); used for ``SymbolBlock``
        networks, whose backbone is taken to be the layers named like the first (stem) convolution.

    Raises
    ------
    UpgradeError
        When the network is of no known family.
    """
    for family, cls, blocks in _families():
        if isinstance(net, cls):
            return Backbone(family, blocks(net))
    children = net._children
    if all(name in children for name in _RESNET_STAGES[1:]):
        # FCN, PSP, DeepLab, DANet, ICNet and ResNet-v1b expose the base network's stages as their own children.
        return Backbone("resnet-stages", tuple(children[n] for n in _RESNET_STAGES if n in children))
    if "features" in children:
        return Backbone("classification", (children["features"],))
    if isinstance(net, SymbolBlock):
        traced = [l for l in layers if l.traced]
        stem = traced[0].name if traced else ""
        if "_" in stem:
            return Backbone("graph", (net,), prefix=stem[: stem.rfind("_") + 1])
    raise UpgradeError(
        "cannot find the backbone of {} (not a GluonCV detection, segmentation or classification "
        "network). Pass scope='' for the whole network or scope='<name prefix>'; its children are:\n{}".format(
            type(net).__name__, list_names("{} ({})".format(k, type(c).__name__) for k, c in children.items())))


def resolve_scope(net: Block, scope: Scope, layers: Sequence[ConvLayer]) -> Tuple[Callable[[ConvLayer], bool], str]:
    """Turn ``scope`` into a test on layers and a description for messages.

    Parameters
    ----------
    scope : str, Block, sequence of Block or None
        ``"auto"``: the backbone (``find_backbone``); ``""`` or None: the whole network; any other string:
        layers whose name starts with it; blocks: layers inside those subtrees.
    """
    if scope is None or scope == "":
        return (lambda layer: True), "the whole network"
    if isinstance(scope, str) and scope != "auto":
        return (lambda layer: layer.name.startswith(scope)), "layers named '{}*'".format(scope)
    if scope == "auto":
        backbone = find_backbone(net, layers)
        description = "the {} backbone".format(backbone.family)
    else:
        blocks = (scope,) if isinstance(scope, Block) else tuple(scope)
        backbone = Backbone("given", blocks, exclude=None)
        description = "the given blocks"
    block_ids = {id(b) for root in backbone.blocks for _, b in walk_blocks(root)}
    return (lambda layer: backbone.contains(layer, block_ids)), description


"""Build the network a config's ``model`` section describes: zoo architecture, classes, weights, mode."""
import warnings
from typing import List, Mapping, Optional, Sequence, Tuple

import mxnet as mx
from mxnet.gluon import Block

from ..config.schema import Field
from ..data.datasets import detection_dataset
from ..data.segmentation import BASE_TO_CROP, segmentation_dataset
from ..errors import ConfigError
from ..runtime import contexts
from ..surgery.deformable import IMPLEMENTATIONS
from ..surgery.inplace import upgrade
from .pretrain import stand_in_weights
from .project import project_model
from .zoo import check_model_name, default_input_shape, load_weights, model_task, signature_args, zoo_model

MODES = ("baseline", "dcn_scratch", "upgrade")

UPGRADE_FIELDS = {
    "layers": Field("last3", "lastN | NAME,NAME | re:PATTERN", str),
    "version": Field(1, "deformable convolution version (2 trains on GPU only, unless impl: sampled or fast)", int,
                     choices=(1, 2)),
    "impl": Field("mxnet", "MXNet's deformable operators; 'sampled': composed of differentiable operators; "
                           "'fast': compiled CPU sampling + a convolution (the fastest on CPU; v2 trains on CPU "
                           "with both)", str, choices=IMPLEMENTATIONS),
    "deformable_groups": Field(1, "offset groups per layer", int, minimum=1),
    "scope": Field("auto", "auto (the backbone) | '' (whole network) | a layer-name prefix", str),
}

FIELDS = {
    "name": Field("ssd_512_resnet50_v1_voc", "GluonCV model-zoo name (the architecture)", str),
    "data_shape": Field(None, "input side in pixels (default: from the name: SSD's size, YOLOv3 416)", int,
                        nullable=True, minimum=32),
    "pretrained": Field(False, "start from GluonCV's trained weights (VOC or COCO classes)", bool),
    "pretrained_base": Field(True, "an ImageNet-trained backbone for a new network", bool),
    "weights": Field(None, "a .params file of the standard-convolution network, loaded before any upgrade (a "
                           "relative path: to this file, else to the working folder or the repository)", str,
                     nullable=True),
    "mode": Field("baseline", "baseline | dcn_scratch (deformable from the start) | upgrade (of trained weights)",
                  str, choices=MODES),
    "upgrade": UPGRADE_FIELDS,
}
"""The ``model`` section of a config."""


def check_upgrade_source(config: dict) -> List[Tuple[str, str]]:
    """Cross-key check: an upgrade starts from trained weights (a file or GluonCV's zoo)."""
    model = config["model"]
    if model["mode"] == "upgrade" and not (model["weights"] or model["pretrained"]):
        return [("model.mode", "upgrade needs the trained standard network: model.weights (a .params file) or "
                               "model.pretrained: true (GluonCV's zoo)")]
    return []


def check_trainable(config: Mapping) -> None:
    """Raise ``ConfigError`` when the config's deformable layers cannot train on its devices: MXNet's DCN v2
    operator has no CPU backward (``impl: fast`` or ``sampled`` computes the same layer and trains there)."""
    model = config["model"]
    if (model["mode"] != "baseline" and model["upgrade"]["version"] == 2 and model["upgrade"]["impl"] == "mxnet"
            and any(name.startswith("cpu") for name in config["ctx"])):
        raise ConfigError("model.upgrade.impl: MXNet's DCN v2 operator has no CPU backward, so it cannot train on "
                          "ctx cpu; set model.upgrade.impl: fast (the same layer and parameters, compiled for the "
                          "CPU) or sampled")


def input_size(model: Mapping) -> int:
    """The network's square input side: ``model.data_shape`` or the one its name implies."""
    return model["data_shape"] or default_input_shape(model["name"])[-1]


def build_network(model: Mapping, classes: Optional[Sequence[str]], ctx: List[mx.Context]) -> Block:
    """Build, initialise and (for ``dcn_scratch`` and ``upgrade``) upgrade the network of a ``model`` section.

    The standard-convolution network is built from GluonCV's zoo with the data set's ``classes`` (a zoo head
    for other classes is replaced by ``reset_class``). Its weights come from ``model.weights``, else GluonCV's
    trained weights (``pretrained``), else the ImageNet backbone (``pretrained_base``) and GluonCV's default
    initialisers. Modes other than ``baseline`` then replace the ``model.upgrade.layers`` convolutions by
    deformable ones with a zero offset branch, so the network computes what it computed before.

    Parameters
    ----------
    model : mapping
        A validated ``model`` config section (``FIELDS``).
    classes : sequence of str or None
        The data set's class names; None keeps the zoo model's (VOC or COCO).
    ctx : list of mxnet.Context
        Where the parameters live.

    Raises
    ------
    ModelError
        Unknown model name, missing or unfitting weights.
    UpgradeError
        Layers that cannot be upgraded.
    """
    check_model_name(model["name"])
    accepted = signature_args(model["name"])
    zoo_segmenter = model_task(model["name"]) == "segmentation" and not project_model(model["name"])
    kwargs = {}
    if "classes" in accepted and classes is not None:
        kwargs["classes"] = list(classes)
    pretrained_base = model["pretrained_base"] and not model["pretrained"] and not model["weights"]
    if "pretrained_base" in accepted or zoo_segmenter:  # GluonCV's segmenters take it through **kwargs
        kwargs["pretrained_base"] = pretrained_base
    elif pretrained_base and "base_weights" in accepted:  # a demo network: the ImageNet stand-in
        kwargs["base_weights"] = stand_in_weights(model["name"])
    if "base_size" in accepted:
        kwargs["base_size"] = input_size(model)
    if zoo_segmenter:
        # Their scores are upsampled to a fixed crop_size (480 by default): the config's crop.
        kwargs.update(crop_size=input_size(model), base_size=round(input_size(model) * BASE_TO_CROP))
    if model["pretrained"]:
        kwargs.update(pretrained=True, ctx=ctx[0])
    net = zoo_model(model["name"], **kwargs)
    if zoo_segmenter:
        _require_class_count(net, model["name"], classes)
    with warnings.catch_warnings():
        # Parameters the backbone or the zoo file already set are left as they are; say nothing about them.
        warnings.simplefilter("ignore")
        net.initialize(ctx=ctx)
    net.collect_params().reset_ctx(ctx)
    if classes is not None and not zoo_segmenter and tuple(net.classes) != tuple(classes):
        net.reset_class(list(classes))
    if model["weights"]:
        load_weights(net, model["weights"], "{} ({} classes)".format(model["name"], class_count(net)), ctx)
    else:
        size = input_size(model)
        # One forward pass resolves the shapes deferred initialisation left open (surgery and saving need them).
        net(mx.nd.zeros((1, 3, size, size), ctx=ctx[0]))
    if model["mode"] != "baseline":
        net = upgrade(net, **model["upgrade"])
    return net


def class_count(net: Block) -> int:
    """The classes a network scores: a detector's ``classes``, a GluonCV segmenter's ``nclass`` (with
    background)."""
    return net.nclass if hasattr(net, "nclass") else len(net.classes)


def _require_class_count(net: Block, name: str, classes: Optional[Sequence[str]]) -> None:
    """GluonCV's segmenters score the classes of the data set in their name (``_voc``: background and VOC's
    20; ``_ade``: ADE20K's 150), with no ``reset_class``: data with other classes is an error."""
    if classes is not None and net.nclass != 1 + len(classes):
        raise ConfigError("{} scores {} classes; the data has {} (background or its first class, and {} more): "
                          "choose the zoo name of data like it (_voc, _ade, _coco, _citys)".format(
                              name, net.nclass, 1 + len(classes), len(classes)))


def trained_network(model: Mapping, classes: Optional[Sequence[str]], weights: Optional[str],
                    ctx: List[mx.Context]) -> Block:
    """``build_network``, then ``weights`` (a file saved from this network, after any upgrade) loaded into it.

    Raises
    ------
    ConfigError
        Nothing trained: no ``weights``, ``model.weights`` or ``model.pretrained``.
    ModelError
        Unknown model, missing or unfitting weights.
    """
    if not (weights or model["weights"] or model["pretrained"]):
        raise ConfigError("nothing trained to use: give --weights FILE, model.weights or model.pretrained: true")
    if weights:
        # Every weight comes from the file: the baseline file an upgrade starts from (model.weights), the zoo's
        # and the backbone's pretrained weights (maybe not on this machine) are moot.
        model = dict(model, weights=None, pretrained=False, pretrained_base=False)
    net = build_network(model, classes, ctx)
    if weights:
        load_weights(net, weights, "{} in mode {}".format(model["name"], model["mode"]), ctx)
    return net


def config_network(config: Mapping, weights: Optional[str], ctx: Sequence[str] = ("cpu",)) -> Block:
    """``trained_network`` for a whole config: its ``model`` section, the classes of its validation data, and
    ``weights`` loaded after any upgrade, on the contexts named ``ctx``."""
    return trained_network(config["model"], config_classes(config), weights, contexts(list(ctx)))


def config_classes(config: Mapping) -> Tuple[str, ...]:
    """The object classes of a config's validation data (a detector's boxes, a segmenter's masks), which fix
    the size of the network's heads."""
    if model_task(config["model"]["name"]) == "segmentation":
        return segmentation_dataset(config["data"], input_size(config["model"]), train=False).classes
    return detection_dataset(config["data"], train=False).classes


def config_baseline(config: Mapping, weights: str,
                    input_shape: Optional[Sequence[int]] = None) -> Tuple[Block, Tuple[int, ...]]:
    """The trained standard-convolution network of a baseline's training config (a run's ``config.yaml``), with
    ``weights`` loaded, ready to upgrade; and its input shape (``input_shape``, else one image at the config's
    training size).

    Raises
    ------
    ConfigError
        The config describes a network that is already deformable (``model.mode`` other than ``baseline``).
    """
    if config["model"]["mode"] != "baseline":
        raise ConfigError("model.mode is {}, a network that is already deformable; give a baseline's config "
                          "(model.mode: baseline)".format(config["model"]["mode"]))
    size = input_size(config["model"])
    return config_network(config, weights), tuple(input_shape or (1, 3, size, size))

"""scope="auto" on every detection and segmentation family of GluonCV 0.10.5's model zoo.

The zoo is enumerated: each of its detection and segmentation networks must belong to a family below (or be
excluded, with the reason), so that a family added to the zoo fails here until it is known. One network of each
family is upgraded with random weights; the expected layers are the last three 3x3 convolutions of its backbone,
read off the architecture by hand and written as block paths.
"""
import re

import mxnet as mx
import pytest
from conftest import build, image

import gluon_upgrade as gu
from gluon_upgrade.selection.layers import walk_blocks
from gluon_upgrade.verify import (exactness_tolerance, flatten_outputs, network_outputs, output_difference,
                                  verify_outputs)

# Run again under other instruction sets by `make test-isa` (oneDNN adds in other orders there).
pytestmark = pytest.mark.exactness

# Constructor modules of the zoo's detection and segmentation networks (HRNet's module also holds classifiers).
TASK_MODULES = re.compile(r"gluoncv\.model_zoo\.(ssd|yolo\.yolo3|rcnn|center_net|fcn|pspnet|deeplabv3|"
                          r"deeplabv3b_plus|danet|icnet|fastscnn|hrnet|quantized)\b")
EXCLUDED = {
    r".*_int8": "quantized graphs: loaded from model-zoo files only (pretrained=True), int8 operators are not Conv2D",
    r"hrnet_.*_c": "HRNet classifiers (the zoo's hrnet module also builds the segmentation networks)",
}

# family: (names, representative, input size, constructor kwargs, the expected layers[, probe]). The layers are block
# paths, or names where GluonCV cuts the backbone out of a graph. The probe gives the outputs compared (default: the
# whole network's). R-CNNs are probed before their heads: a random R-CNN scores many proposals 1.0, and float32
# rounding reorders the ties; C4 ones run their last stage on the whole feature map, not on each of 300-1000 regions.
_FEATURES = (lambda net, x: net.features(x))
_C4 = (lambda net, x: net.top_features(net.features(x)))


def _few_proposals(net):
    """16 region proposals instead of 300-1000: a C4 R-CNN runs its last stage once per proposal, and the heads
    of all R-CNNs run per proposal."""
    net.rpn._test_pre_nms, net.rpn._test_post_nms = 64, 16
    net._rpn_test_post_nms = 16
    if hasattr(net, "_rcnn_max_dets"):  # Mask R-CNN's mask head: once per detection
        net._rcnn_max_dets = 16
# ResNet bottlenecks put their 3x3 second (layers4 block 0..2 -> .conv2 of each); basic blocks have two.
_RESNET50_LAYER4 = ["layer4.0.conv2", "layer4.1.conv2", "layer4.2.conv2"]
FAMILIES = {
    "ssd-vgg": (r"ssd_\d+_vgg16_atrous_(voc|coco|custom)", "ssd_300_vgg16_atrous_voc", 300, {},
                # conv5_2, conv5_3 and fc6 (dilated): the extra layers after fc7 are not backbone.
                ["features.stages.4.2", "features.stages.4.4", "features.stages.5.0"]),
    "ssd-resnet-v1": (r"ssd_\d+_resnet\d+_v1_(voc|coco|custom)", "ssd_512_resnet18_v1_voc", 128, {},
                      # A graph cut of resnet18_v1. stage4: basic blocks (conv0, conv1), the 1x1 shortcut conv2.
                      ["stage4_conv1", "stage4_conv3", "stage4_conv4"]),
    "ssd-resnet-v2": (r"ssd_\d+_resnet\d+_v2_(voc|coco|custom)", "ssd_512_resnet101_v2_voc", 128, {},
                      # The cut ends inside stage4's first block, after its 3x3 (conv1); stage3's bottlenecks have
                      # their 3x3 at conv 3k+2 (block 0 adds its shortcut conv3).
                      ["stage3_conv65", "stage3_conv68", "stage4_conv1"]),
    "ssd-resnet-v1b": (r"ssd_\d+_resnet34_v1b_(voc|coco|custom)", "ssd_300_resnet34_v1b_voc", 300, {},
                       # stage2 holds resnet34's layer3 and layer4; layer4 has three basic blocks.
                       ["features.stage2.1.1.conv2", "features.stage2.1.2.conv1", "features.stage2.1.2.conv2"]),
    "ssd-mobilenet": (r"ssd_\d+_mobilenet[\d.]+(_lite)?_(voc|coco|custom)", "ssd_512_mobilenet1.0_voc", 128, {},
                      # MobileNet: conv0 the stem, then depthwise 3x3 conv(2i+1) and pointwise conv(2i+2).
                      ["conv21", "conv23", "conv25"]),
    "yolo3-darknet": (r"yolo3_darknet53_(voc|coco|custom)", "yolo3_darknet53_voc", 128, {},
                      # stages.2: the last downsampling conv, then four residual blocks (1x1, 3x3).
                      ["stages.2.{}.body.1.0".format(i) for i in (2, 3, 4)]),
    "yolo3-mobilenet": (r"yolo3_mobilenet[\d.]+_(voc|coco|custom)", "yolo3_mobilenet1.0_voc", 128, {},
                        # Units of six layers (dw 3x3, bn, relu, pw 1x1, bn, relu) after a 3-layer stem; the
                        # stages cut the list at 33 and 69: units 10, 11, 12.
                        ["stages.1.30", "stages.2.0", "stages.2.6"]),
    "faster-rcnn": (r"faster_rcnn_resnet\d+_v1[bd]_(voc|coco|custom)", "faster_rcnn_resnet50_v1b_voc", 128, {},
                    # C4: layer4 runs per region, in top_features.
                    ["top_features.0.{}.conv2".format(i) for i in range(3)], _C4),
    "faster-rcnn-fpn": (r"faster_rcnn_fpn_(syncbn_)?resnet\d+_v1[bd]_coco|custom_faster_rcnn_fpn",
                        "faster_rcnn_fpn_resnet50_v1b_coco", 128, {},
                        # ResNet-50-v1b bottlenecks: 3x3 second of three, shortcuts under their own prefix.
                        ["layers4_conv1", "layers4_conv4", "layers4_conv7"], _FEATURES),
    "faster-rcnn-fpn-resnest": (r"faster_rcnn_fpn_syncbn_resnest\d+_coco", "faster_rcnn_fpn_syncbn_resnest50_coco",
                                128, {},
                                # Five convs a block: 1x1, split-attention 3x3, two attention 1x1, 1x1.
                                ["layers4_conv1", "layers4_conv6", "layers4_conv11"], _FEATURES),
    "mask-rcnn": (r"mask_rcnn_resnet\d+_v1[bd]_coco", "mask_rcnn_resnet18_v1b_coco", 128, {},
                  ["top_features.0.0.conv2", "top_features.0.1.conv1", "top_features.0.1.conv2"], _C4),
    "mask-rcnn-fpn": (r"mask_rcnn_fpn_(syncbn_)?(resnet\d+_v1[bd]|mobilenet1_0)_coco|custom_mask_rcnn_fpn",
                      "mask_rcnn_fpn_resnet18_v1b_coco", 128, {},
                      ["layers4_conv1", "layers4_conv2", "layers4_conv3"], _FEATURES),
    "doublehead-rcnn": (r"doublehead_rcnn_resnet\d+_v1b_voc", "doublehead_rcnn_resnet50_v1b_voc", 128, {},
                        ["top_features.0.{}.conv2".format(i) for i in range(3)], _C4),
    "center-net-resnet": (r"center_net_resnet\d+_v1b_(dcnv2_)?(voc|coco)", "center_net_resnet18_v1b_dcnv2_voc", 128,
                          {},
                          # The ResNet is a sequence (conv1, bn1, relu, maxpool, layer1-4); the upsampling's own
                          # DCNv2 layers stay as they are.
                          ["base_network.base_network.7.0.conv2", "base_network.base_network.7.1.conv1",
                           "base_network.base_network.7.1.conv2"]),
    "center-net-dla": (r"center_net_dla34_(dcnv2_)?(voc|coco)", "center_net_dla34_voc", 128, {},
                       ["base_network.base.level5.tree1.conv2", "base_network.base.level5.tree2.conv1",
                        "base_network.base.level5.tree2.conv2"]),
    "center-net-mobilenetv3": (r"center_net_mobilenetv3_(large|small)_duc_(voc|coco)",
                               "center_net_mobilenetv3_small_duc_voc", 128, {},
                               # MobileNetV3-small's 3x3 depthwise convolutions are in its first three units.
                               ["base_network.feature.{}.conv1.conv".format(i) for i in (3, 4, 5)]),
    "fcn": (r"fcn_resnet\d+_(voc|coco|ade)", "fcn_resnet50_voc", 64, {"crop_size": 64}, _RESNET50_LAYER4),
    "psp": (r"psp_resnet\d+_(voc|coco|ade|citys)", "psp_resnet50_ade", 64, {"crop_size": 64}, _RESNET50_LAYER4),
    "deeplab": (r"deeplab_resnet\d+_(voc|coco|ade|citys)", "deeplab_resnet50_ade", 64, {"crop_size": 64},
                _RESNET50_LAYER4),
    "deeplab-resnest": (r"deeplab_resnest\d+_ade", "deeplab_resnest50_ade", 64, {"crop_size": 64},
                        # The split-attention convolution is the 3x3 (two groups, radix 2).
                        ["layer4.{}.conv2.conv".format(i) for i in range(3)]),
    "deeplab-v3b-plus": (r"deeplab_v3b_plus_wideresnet_citys", "deeplab_v3b_plus_wideresnet_citys", 64,
                         {"crop_size": 64},
                         # WideResNet-38: mod5's blocks have two 3x3, mod6 and mod7 are 1x1-3x3-1x1 bottlenecks.
                         ["mod5.2.convs.2", "mod6.0.convs.2", "mod7.0.convs.2"]),
    "danet": (r"danet_resnet\d+_citys", "danet_resnet50_citys", 64, {"crop_size": 64}, _RESNET50_LAYER4),
    "icnet": (r"icnet_resnet\d+_(citys|mhpv1)", "icnet_resnet50_citys", 64, {"crop_size": 64}, _RESNET50_LAYER4),
    "fast-scnn": (r"fastscnn_citys", "fastscnn_citys", 64, {"crop_size": 64},
                  # The last bottleneck stage of the global feature extractor: three inverted residuals.
                  ["global_feature_extractor.bottleneck3.{}.block.1.conv.0".format(i) for i in range(3)]),
    "hrnet-segmentation": (r"hrnet_.*_s", "hrnet_w18_small_v1_s", 64, {},
                           # Stage 4's last module ends with the fusion into the lowest resolution: 3x3 stride-2
                           # convolutions from branches 1 and 2.
                           ["stage4.0.fuse_layers.3.1.0", "stage4.0.fuse_layers.3.1.3",
                            "stage4.0.fuse_layers.3.2.0"]),
}


def _zoo_tasks():
    from gluoncv.model_zoo import model_zoo
    return sorted(name for name, fn in model_zoo._models.items() if TASK_MODULES.match(getattr(fn, "__module__", "")))


def test_every_detection_and_segmentation_network_of_the_zoo_has_a_family():
    names = _zoo_tasks()
    assert len(names) > 100
    not_one_family = []
    for name in names:
        if any(re.fullmatch(pattern, name) for pattern in EXCLUDED):
            continue
        families = [f for f, spec in FAMILIES.items() if re.fullmatch(spec[0], name)]
        if len(families) != 1:
            not_one_family.append((name, families))
    assert not_one_family == []
    for family, (pattern, representative, *_) in FAMILIES.items():
        assert re.fullmatch(pattern, representative) and representative in names, family


def _upgraded(net, before=()):
    """Deformable layers: block paths for blocks, names for nodes of a graph (a GluonCV feature extractor)."""
    paths = {id(block): path for path, block in walk_blocks(net)}
    return [paths[id(l.owner)] if l.node is None else l.name for l in gu.conv_layers(net)
            if l.deformable and l.name not in before]


def _same_layer(found, expected):
    # Graph names carry MXNet's per-process counters: 'ssd3_resnetv20_stage4_conv1' is 'stage4_conv1'.
    return found == expected or ("." not in expected and found.endswith("_" + expected))


def _check(before, net, x, probe):
    """The probe's outputs against the exactness bound, or (no probe) the whole network's: raw head outputs and
    detections (``verify_outputs``). Returns (passed, summary)."""
    if not probe:
        check = verify_outputs(before, net, x)
        return check.passed, check.summary()
    with mx.autograd.predict_mode():
        difference = output_difference(before, probe[0](net, x))
    bound = exactness_tolerance(net).bound
    return difference.max_rel <= bound, "probe: max rel {:.3g}, bound {:.3g}".format(difference.max_rel, bound)


def _before(net, x, probe):
    if not probe:
        return network_outputs(net, x)
    with mx.autograd.predict_mode():
        return [o.copy() for o in flatten_outputs(probe[0](net, x))]


# Families over a second here (R-CNNs 10-25 s) run in the slow tier.
_SLOW = {"faster-rcnn", "faster-rcnn-fpn", "faster-rcnn-fpn-resnest", "mask-rcnn", "mask-rcnn-fpn", "doublehead-rcnn",
         "deeplab-v3b-plus", "ssd-vgg", "ssd-resnet-v1b", "ssd-resnet-v2", "yolo3-darknet", "psp", "icnet", "danet",
         "deeplab", "deeplab-resnest", "fcn"}


@pytest.mark.parametrize("family", [pytest.param(f, marks=[pytest.mark.slow] if f in _SLOW else [])
                                    for f in sorted(FAMILIES)])
def test_auto_scope_upgrades_the_last_three_backbone_convolutions(family):
    _, name, size, kwargs, expected, *probe = FAMILIES[family]
    net = build(name, size, prepare=_few_proposals if "rcnn" in family else None, **kwargs)
    x = image(size)
    before = _before(net, x, probe)
    already = {l.name for l in gu.conv_layers(net) if l.deformable}

    net = gu.upgrade(net, layers="last3")

    upgraded = _upgraded(net, already)
    assert len(upgraded) == 3 and all(map(_same_layer, upgraded, expected)), upgraded
    passed, summary = _check(before, net, x, probe)
    assert passed, summary
    for pname, param in net.collect_params().items():
        if pname.endswith("offset_bias"):
            param.set_data(mx.nd.full(param.shape, 0.5))
    passed, summary = _check(before, net, x, probe)
    assert not passed, summary

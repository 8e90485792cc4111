"""The demo YOLOv3: registered beside GluonCV's zoo, Darknet-53-shaped where the paper upgrades, exact upgrade,
anchors in proportion to the input, and its pretrained backbone."""
import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade import upgrade
from gluon_upgrade.errors import ModelError
from gluon_upgrade.models import pretrain
from gluon_upgrade.models.build import build_network
from gluon_upgrade.models.demo_yolo import ANCHORS, DEMO_YOLO, yolo3_darknet27_demo
from gluon_upgrade.models.zoo import default_input_shape, model_names, signature_args
from gluon_upgrade.reporting.params import upgrade_report
from gluon_upgrade.verify import network_outputs, verify_outputs

CLASSES = ("ellipse", "triangle", "star")


def demo_net(size=96):
    mx.random.seed(0)
    return build_network({"name": DEMO_YOLO, "data_shape": size, "pretrained": False, "pretrained_base": False,
                          "weights": None, "mode": "baseline"}, CLASSES, [mx.cpu()])


def test_demo_yolo_is_a_known_model_name_with_its_default_size():
    assert DEMO_YOLO in model_names()
    assert default_input_shape(DEMO_YOLO) == (1, 3, 128, 128)
    assert "base_size" in signature_args(DEMO_YOLO)


def test_last3_is_the_last_stage_of_darknet_and_last6_reaches_the_stage_before():
    three = [layer.name for layer in upgrade_report(upgrade(demo_net(), layers="last3")).layers]
    six = [layer.name for layer in upgrade_report(upgrade(demo_net(), layers="last6")).layers]
    # conv0 the stem; each stage a stride-2 3x3, then blocks of a 1x1 and a 3x3. Stages of 1, 1, 2, 2, 4 blocks:
    # the last stage is conv17 (stride 2) and blocks (18, 19) (20, 21) (22, 23) (24, 25); the one before ends
    # with conv12 (stride 2), (13, 14), (15, 16).
    assert three == ["darknetv30_conv21", "darknetv30_conv23", "darknetv30_conv25"]
    assert six == ["darknetv30_conv16", "darknetv30_conv17", "darknetv30_conv19"] + three


@pytest.mark.exactness
def test_upgrade_changes_no_output_and_adds_exact_offset_parameters():
    net = demo_net()
    x = mx.nd.random.uniform(shape=(2, 3, 96, 96))
    before = network_outputs(net, x)
    count = sum(p.data().size for p in net.collect_params().values())
    upgrade(net, layers="last3")
    check = verify_outputs(before, net, x)
    assert check.passed and check.raw.outputs == 3 and check.detections is not None, check.summary()
    # The last stage's 3x3 convolutions take 256 / 2 = 128 channels: an offset conv of 18 x 128 x 3 x 3 + 18 each.
    added = sum(p.data().size for p in net.collect_params().values()) - count
    assert added == 3 * (18 * 128 * 9 + 18)


@pytest.mark.parametrize("size", [96, 160])
def test_anchors_follow_the_input_side(size):
    net = demo_net(size)
    # YOLOv3 outputs are deepest first, each with its three (width, height) anchors in pixels.
    found = [output.anchors.data().asnumpy().ravel() for output in net.yolo_outputs]
    np.testing.assert_allclose(found, [[f * size for f in row] for row in ANCHORS[::-1]], rtol=1e-6)
    assert np.isclose(found[0][-2], 0.4 * size)


def stand_in_net(size=96):
    """The demo YOLOv3 as a config with pretrained_base builds it: from the cached stand-in backbone."""
    return build_network({"name": DEMO_YOLO, "data_shape": size, "pretrained": False, "pretrained_base": True,
                          "weights": None, "mode": "baseline"}, CLASSES, [mx.cpu()])


def test_no_published_detector_or_missing_backbone_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="no published detector weights"):
        yolo3_darknet27_demo(pretrained=True)
    with pytest.raises(ModelError, match="no demo backbone for resnet18_v1; there are: ssd_128"):
        pretrain.backbone_path("resnet18_v1")
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))  # an empty user cache
    with pytest.raises(ModelError, match="gluon-upgrade pretrain-backbone --model yolo3_darknet27_demo"):
        stand_in_net()


def test_pretrained_base_loads_the_pretrained_darknet(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    small = pretrain.PretrainSettings(crops=48, val_crops=12, steps=3, batch=8)
    made = pretrain.pretrained_backbone(DEMO_YOLO, small, workers=1)
    assert made.trained and made.path.endswith(".params") and DEMO_YOLO in made.path
    assert made.path != pretrain.backbone_path(settings=small)  # the SSD's backbone has its own file
    saved = mx.nd.load(made.path)
    monkeypatch.setattr(pretrain, "backbone_path", lambda model: made.path)
    net = stand_in_net()
    last = net.stages[2][-1].body[1][0].weight.data().asnumpy()  # the last block's 3x3 convolution
    assert last.shape == (256, 128, 3, 3)
    assert any(np.array_equal(last, v.asnumpy()) for v in saved.values())

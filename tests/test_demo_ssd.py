"""The demo SSD: registered beside GluonCV's zoo, ResNet-50-shaped where the paper upgrades, exact upgrade."""
import os

import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade import upgrade
from gluon_upgrade.errors import ModelError
from gluon_upgrade.models import pretrain
from gluon_upgrade.models.build import build_network
from gluon_upgrade.models.demo_ssd import ANCHOR_SIZES, DEMO_SSD, ssd_128_resnet29_v1_demo
from gluon_upgrade.models.zoo import default_input_shape, model_names, signature_args
from gluon_upgrade.reporting.params import upgrade_report
from gluon_upgrade.verify import network_outputs, verify_outputs

CLASSES = ("ellipse", "triangle", "star")


def demo_net(size=96):
    mx.random.seed(0)
    net = build_network({"name": DEMO_SSD, "data_shape": size, "pretrained": False, "pretrained_base": False,
                         "weights": None, "mode": "baseline"}, CLASSES, [mx.cpu()])
    return net


def test_demo_ssd_is_a_known_model_name_with_its_default_size():
    assert DEMO_SSD in model_names()
    assert default_input_shape(DEMO_SSD) == (1, 3, 128, 128)
    assert "base_size" in signature_args(DEMO_SSD)


def test_last3_is_res5a_to_c_and_last6_adds_three_of_res4():
    net = demo_net()
    three = [layer.name for layer in upgrade_report(upgrade(demo_net(), layers="last3")).layers]
    six = [layer.name for layer in upgrade_report(upgrade(net, layers="last6")).layers]
    # One 3x3 convolution per bottleneck block (block 0 also has the 1x1 downsample, conv3): res5a-c are
    # stage 4's convolutions 1, 5, 8, the GluonCV names of ResNet-50's res5a-c (stage4_conv8 is the paper's).
    assert three == ["resnetv10_stage4_conv1", "resnetv10_stage4_conv5", "resnetv10_stage4_conv8"]
    assert six == ["resnetv10_stage3_conv1", "resnetv10_stage3_conv5", "resnetv10_stage3_conv8"] + three


@pytest.mark.exactness
def test_upgrade_of_the_demo_ssd_changes_no_output_and_adds_exact_offset_parameters():
    net = demo_net()
    x = mx.nd.random.uniform(shape=(2, 3, 96, 96))
    before = network_outputs(net, x)
    count = sum(p.data().size for p in net.collect_params().values())
    upgrade(net, layers="last3")
    check = verify_outputs(before, net, x)
    assert check.passed and check.raw.outputs == 6 and check.detections.detections > 0, check.summary()
    # Stage 4's 3x3 convolutions have 512 / 4 = 128 channels: an offset conv of 18 x 128 x 3 x 3 + 18 each.
    added = sum(p.data().size for p in net.collect_params().values()) - count
    assert added == 3 * (18 * 128 * 9 + 18)


def test_anchors_follow_the_input_side():
    small, large = demo_net(96), demo_net(160)
    with mx.autograd.train_mode():
        a96 = small(mx.nd.zeros((1, 3, 96, 96)))[2].asnumpy()[0]
        a160 = large(mx.nd.zeros((1, 3, 160, 160)))[2].asnumpy()[0]
    # The smallest anchor is ANCHOR_SIZES[0] of the side; the largest centre lies inside the image.
    assert np.isclose(a96[0, 2], ANCHOR_SIZES[0] * 96) and np.isclose(a160[0, 2], ANCHOR_SIZES[0] * 160)
    assert a96[:, 0].max() < 96 and a160[:, 0].max() < 160


def stand_in_net(size=96):
    """The demo SSD as a config with pretrained_base builds it: from the cached stand-in backbone."""
    return build_network({"name": DEMO_SSD, "data_shape": size, "pretrained": False, "pretrained_base": True,
                          "weights": None, "mode": "baseline"}, CLASSES, [mx.cpu()])


def test_no_published_detector_or_missing_backbone_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="no published detector weights"):
        ssd_128_resnet29_v1_demo(pretrained=True)
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))  # an empty user cache
    with pytest.raises(ModelError, match="no pretrained backbone for {} at {}.* gluon-upgrade pretrain-backbone"
                       .format(DEMO_SSD, tmp_path / "gluon-upgrade" / "backbone")):
        stand_in_net()


SMALL = pretrain.PretrainSettings(crops=48, val_crops=12, steps=3, batch=8)


def test_pretraining_writes_the_backbone_once_and_pretrained_base_loads_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    first = pretrain.pretrained_backbone(DEMO_SSD, SMALL, workers=1)
    assert os.path.dirname(first.path) == str(tmp_path / "gluon-upgrade" / "backbone")
    assert first.trained and 0 <= first.val_accuracy <= 1
    again = pretrain.pretrained_backbone(DEMO_SSD, SMALL, workers=1)
    assert not again.trained and again.path == first.path and again.val_accuracy == first.val_accuracy
    other = pretrain.backbone_path(DEMO_SSD, pretrain.PretrainSettings(crops=48, val_crops=12, steps=4, batch=8))
    assert other != first.path  # another setting, another file: never a stale backbone
    saved = mx.nd.load(first.path)
    monkeypatch.setattr(pretrain, "backbone_path", lambda model: first.path)
    net = stand_in_net()
    stem = net.features.params["resnetv10_conv0_weight"].data().asnumpy()
    np.testing.assert_array_equal(stem, saved["0.weight"].asnumpy())
    stage4 = net.features.params["resnetv10_stage4_conv8_weight"].data().asnumpy()
    assert any(np.array_equal(stage4, v.asnumpy()) for v in saved.values())


def test_the_upgraded_layers_see_an_8x8_map_at_128_px():
    net = demo_net(128)
    net(mx.nd.zeros((1, 3, 128, 128)))
    internals = net.features._cached_graph[1].get_internals()
    _, shapes, _ = internals.infer_shape(data=(1, 3, 128, 128))
    maps = dict(zip(internals.list_outputs(), shapes))
    for layer in ("resnetv10_stage4_conv1", "resnetv10_stage4_conv5", "resnetv10_stage4_conv8"):
        assert maps[layer + "_fwd_output"][2:] == (8, 8), layer


def test_heads_start_at_the_background_prior():
    net = demo_net(128)
    with mx.autograd.train_mode():
        classes, _, anchors = net(mx.nd.random.uniform(shape=(2, 3, 128, 128)))
    # 16x16 anchors of 4 shapes on stage 2, 8x8 on stages 3 and 4: 1,536; 3 classes + background.
    assert classes.shape == (2, 1536, 4) and anchors.shape == (1, 1536, 4)
    # Background logit b = log(9) on every anchor: exp(b) / (exp(b) + 3) = 0.75 before the small weights count.
    for head in net.class_predictors:
        bias = head.predictor.bias.data().asnumpy().reshape(-1, len(CLASSES) + 1)
        np.testing.assert_allclose(bias[:, 0], np.log(9), rtol=1e-6)
        assert (bias[:, 1:] == 0).all()
    for head in list(net.class_predictors) + list(net.box_predictors):
        assert np.abs(head.predictor.weight.data().asnumpy()).max() <= 0.007
    background = mx.nd.softmax(classes, axis=-1)[:, :, 0].asnumpy()
    assert abs(background.mean() - 0.75) < 0.01

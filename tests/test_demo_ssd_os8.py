"""The demo SSD at output stride 8: the stride-16 network's computation at twice the resolution, 16x16 upgraded
maps at 128 px, the same parameters, an exact upgrade."""
import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade import upgrade
from gluon_upgrade.models.build import build_network
from gluon_upgrade.models.demo_ssd import demo_backbone
from gluon_upgrade.models.demo_ssd_os8 import DEMO_SSD_OS8, dilated_backbone
from gluon_upgrade.models.zoo import default_input_shape, model_names
from gluon_upgrade.verify import network_outputs, verify_outputs

CLASSES = ("ellipse", "triangle", "star")


def network(name, size=128):
    mx.random.seed(0)
    return build_network({"name": name, "data_shape": size, "pretrained": False, "pretrained_base": False,
                          "weights": None, "mode": "baseline"}, CLASSES, [mx.cpu()])


@pytest.mark.exactness
def test_the_dilated_backbone_computes_the_stride_16_features_at_every_second_position(tmp_path):
    mx.random.seed(1)
    reference, dilated = demo_backbone(), dilated_backbone()
    reference.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(-1, 1, shape=(2, 3, 128, 128))
    reference(x)
    reference.save_parameters(str(tmp_path / "backbone.params"))
    dilated.load_parameters(str(tmp_path / "backbone.params"))  # the same names and shapes
    # The backbones without their global pooling: stem and stages 1-4.
    expected, features = reference.features[:-1](x).asnumpy(), dilated.features[:-1](x).asnumpy()
    assert expected.shape == (2, 512, 8, 8) and features.shape == (2, 512, 16, 16)
    # A 3x3 convolution at stride 16 reads rows i-1, i, i+1 of its map; at stride 8 with dilation 2 it reads rows
    # 2i-2, 2i, 2i+2, the same image points: the even positions are the stride-16 network's outputs.
    np.testing.assert_allclose(features[:, :, ::2, ::2], expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.exactness
def test_the_upgraded_layers_see_16x16_maps_at_128_px_and_the_upgrade_is_exact():
    assert DEMO_SSD_OS8 in model_names() and default_input_shape(DEMO_SSD_OS8) == (1, 3, 128, 128)
    net = network(DEMO_SSD_OS8)
    x = mx.nd.random.uniform(shape=(2, 3, 128, 128))
    with mx.autograd.train_mode():
        classes, _, anchors = net(x)
    # Every head on a 16x16 map, 4 anchor shapes each: 3 x 1,024 anchors, the same count as a 256 px input
    # gives the stride-16 network on its stages 3 and 4.
    assert classes.shape == (2, 3 * 16 * 16 * 4, 4) and anchors.shape == (1, 3 * 16 * 16 * 4, 4)
    before = network_outputs(net, x)
    upgrade(net, layers="last3")
    check = verify_outputs(before, net, x)
    assert check.passed and check.detections.detections > 0, check.summary()
    layers = [name for name in net.collect_params() if name.endswith("_offset_weight")]
    assert layers == ["resnetv10_stage4_conv{}_offset_weight".format(i) for i in (1, 5, 8)]


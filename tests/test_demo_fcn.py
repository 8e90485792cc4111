"""The demo segmenter: registered beside GluonCV's zoo, scores at the input's size, res5a-c on 16x16 maps at
128 px, an exact upgrade, and the demo SSD's pretrained backbone."""
import os

import mxnet as mx
import numpy as np
import pytest

from gluon_upgrade.models import pretrain
from gluon_upgrade.models.build import build_network
from gluon_upgrade.models.demo_fcn import DEMO_FCN
from gluon_upgrade.models.demo_ssd import DEMO_SSD
from gluon_upgrade.models.zoo import default_input_shape, model_names
from gluon_upgrade.verify import upgrade_verified

CLASSES = ("ellipse", "triangle", "star")


def network(pretrained_base=False):
    mx.random.seed(0)
    return build_network({"name": DEMO_FCN, "data_shape": 128, "pretrained": False,
                          "pretrained_base": pretrained_base, "weights": None, "mode": "baseline"},
                         CLASSES, [mx.cpu()])


def test_scores_every_pixel_of_any_input_for_background_and_each_class():
    assert DEMO_FCN in model_names() and default_input_shape(DEMO_FCN) == (1, 3, 128, 128)
    net = network()
    for height, width in ((128, 128), (96, 160)):
        scores, aux = net(mx.nd.random.uniform(shape=(2, 3, height, width)))
        assert scores.shape == aux.shape == (2, 1 + len(CLASSES), height, width)


@pytest.mark.exactness
def test_res5a_to_c_see_16x16_maps_at_128_px_and_their_upgrade_is_exact():
    net = network()
    x = mx.nd.random.uniform(shape=(2, 3, 128, 128))
    # The backbone's output is the map the last stage's convolutions read and write.
    assert net.features(x).shape == (2, 512, 16, 16)
    net, check = upgrade_verified(net, [x], layers="last3")
    assert check.passed, check.failures()
    layers = [name for name in net.collect_params() if name.endswith("_offset_weight")]
    assert layers == ["resnetv10_stage4_conv{}_offset_weight".format(i) for i in (1, 5, 8)]


def test_pretrained_base_loads_the_demo_ssds_stand_in(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    small = pretrain.PretrainSettings(crops=48, val_crops=12, steps=3, batch=8)
    made = pretrain.pretrained_backbone(DEMO_SSD, small, workers=1)
    monkeypatch.setattr(pretrain, "backbone_path", lambda model: made.path)
    saved = mx.nd.load(made.path)
    net = network(pretrained_base=True)
    stage4 = net.features.collect_params()["resnetv10_stage4_conv8_weight"].data().asnumpy()
    assert stage4.shape == (128, 128, 3, 3)
    assert any(np.array_equal(stage4, v.asnumpy()) for v in saved.values())
    assert os.path.dirname(made.path) == str(tmp_path / "gluon-upgrade" / "backbone")

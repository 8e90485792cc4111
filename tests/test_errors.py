"""Every input the upgrade cannot act on is refused with a message that names the problem and the choices."""
import re

import mxnet as mx
import pytest
from conftest import build
from mxnet.gluon import nn

import gluon_upgrade as gu
from gluon_upgrade import UpgradeError


@pytest.fixture(scope="module")
def resnet():
    return build("resnet50_v1", 32)


def _plain_net(*layers):
    net = nn.HybridSequential()
    net.add(*layers)
    net.initialize()
    return net


def test_name_matching_nothing_lists_close_names(resnet):
    with pytest.raises(UpgradeError, match=r"no convolution is named 'stage4_conv80'.*Close names: .*stage4_conv8"):
        gu.upgrade(resnet, layers="stage4_conv80")


def test_name_matching_several_layers_lists_them(resnet):
    with pytest.raises(UpgradeError, match=r"'conv8' matches 4 convolutions") as err:
        gu.upgrade(resnet, layers="conv8")
    assert "stage1_conv8" in str(err.value) and "stage4_conv8" in str(err.value)


def test_more_layers_than_the_backbone_has():
    net = build("yolo3_mobilenet1.0_voc", 64)
    with pytest.raises(UpgradeError, match=r"last 15 3x3 convolutions of the yolo3 backbone, but it has 14"):
        gu.upgrade(net, layers="last15")


def test_pattern_matching_nothing(resnet):
    with pytest.raises(UpgradeError, match="pattern 'nothing_like_this' matches no convolution"):
        gu.upgrade(resnet, layers=re.compile("nothing_like_this"))


def test_unknown_network_has_no_backbone_but_whole_network_scope_works():
    net = _plain_net(nn.Conv2D(4, 3, padding=1, in_channels=3), nn.Conv2D(4, 3, padding=1, in_channels=4))
    with pytest.raises(UpgradeError, match=r"cannot find the backbone of HybridSequential.*scope=''"):
        gu.upgrade(net, layers="last1")
    net = gu.upgrade(net, layers="last1", scope="")
    assert [l.kind for l in gu.conv_layers(net)] == ["Convolution", "DeformableConvolution"]


def test_transposed_1d_and_nhwc_convolutions_are_refused():
    cases = [(nn.Conv2DTranspose(4, 3, in_channels=3), "transposed convolution"),
             (nn.Conv1D(4, 3, in_channels=3), "1D convolution"),
             (nn.Conv2D(4, 3, in_channels=3, layout="NHWC"), "NHWC")]
    for layer, reason in cases:
        net = _plain_net(layer)
        with pytest.raises(UpgradeError, match=r"cannot upgrade:\n.*{}".format(reason)):
            gu.upgrade(net, layers=[layer.name])


def test_deferred_shapes_and_bad_arguments():
    net = _plain_net(nn.Conv2D(4, 3))
    with pytest.raises(UpgradeError, match="no shape yet"):
        gu.upgrade(net, layers="re:conv")
    net(mx.nd.zeros((1, 2, 8, 8)))
    with pytest.raises(UpgradeError, match="version must be 1"):
        gu.upgrade(net, layers="re:conv", version=3)
    with pytest.raises(UpgradeError, match="2 input channels do not split into 4 deformable groups"):
        gu.upgrade(net, layers="re:conv", deformable_groups=4)
    with pytest.raises(UpgradeError, match="4 output channels do not split into 3 deformable groups"):
        gu.upgrade(_plain_net(nn.Conv2D(4, 3, in_channels=6)), layers="re:conv", deformable_groups=3, version=2)
    with pytest.raises(UpgradeError, match="lastN needs N >= 1"):
        gu.upgrade(net, layers="last0")
    with pytest.raises(UpgradeError, match="bad regular expression"):
        gu.upgrade(net, layers="re:(")
    upgraded = gu.upgrade(net, layers="re:conv", deformable_groups=2)
    with pytest.raises(UpgradeError, match="already deformable"):
        gu.upgrade(upgraded, layers="re:conv")


@pytest.mark.exactness
def test_a_single_convolution_is_returned_upgraded():
    conv = nn.Conv2D(4, 3, in_channels=2, padding=1)
    conv.initialize()
    x = mx.nd.random.uniform(shape=(1, 2, 6, 6))
    expected = conv(x)
    dcn = gu.upgrade(conv, layers=[conv.name])
    assert isinstance(dcn, mx.gluon.contrib.cnn.DeformableConvolution)
    assert gu.output_difference(expected, dcn(x)).max_rel <= gu.exactness_tolerance(dcn).bound

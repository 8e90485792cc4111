"""The upgrade on real GluonCV architectures: the paper's layers, unchanged outputs, v1 and v2."""
import re

import mxnet as mx
import numpy as np
import pytest
from conftest import build, deformable_ops, image

import gluon_upgrade as gu
from gluon_upgrade.verify import flatten_outputs, network_outputs, output_difference, verify_outputs

# Run again under other instruction sets by `make test-isa` (oneDNN adds in other orders there).
pytestmark = pytest.mark.exactness


def _ssd_features(net, x):
    return net.features(x)


def _yolo_stages(net, x):
    outs = []
    for stage in net.stages:
        x = stage(x)
        outs.append(x)
    return outs


def _whole(net, x):
    return net(x)


# name, input size, a probe that depends on the upgraded layers (where the whole network could saturate), the
# backbone's name and the expected layers.
CASES = [
    ("ssd_512_resnet50_v1_voc", 128, _ssd_features, "resnetv1", ["stage4_conv1", "stage4_conv5", "stage4_conv8"]),
    ("ssd_300_vgg16_atrous_voc", 300, _ssd_features, "vggatrousextractor", ["conv11", "conv12", "dilated_conv0"]),
    ("ssd_512_mobilenet1.0_voc", 128, _ssd_features, "mobilenet", ["conv21", "conv23", "conv25"]),
    ("yolo3_darknet53_voc", 128, _yolo_stages, "darknetv3", ["conv47", "conv49", "conv51"]),
    ("yolo3_mobilenet1.0_voc", 128, _yolo_stages, "mobilenet", ["conv21", "conv23", "conv25"]),
    ("resnet50_v1", 64, _whole, "resnetv1", ["stage4_conv1", "stage4_conv5", "stage4_conv8"]),
]


def _is_layer(name, network, suffix):
    """Match across MXNet's per-process name counters: 'ssd3_resnetv12_stage4_conv1' is resnetv1 stage4_conv1."""
    return re.fullmatch(r"(ssd\d+_)?{}\d+_{}".format(network, suffix), name) is not None


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("name,size,probe,network,expected", CASES, ids=[c[0] for c in CASES])
def test_upgrade_keeps_outputs_and_picks_the_papers_layers(name, size, probe, network, expected, version):
    net = build(name, size)
    x = image(size)
    before, probe_before = network_outputs(net, x), [p.copy() for p in flatten_outputs(probe(net, x))]
    assert deformable_ops(net) == 0

    net = gu.upgrade(net, layers="last3", version=version)

    assert deformable_ops(net) == 3
    upgraded = [l for l in gu.conv_layers(net) if l.deformable]
    assert len(upgraded) == 3
    assert all(_is_layer(l.name, network, suffix) for l, suffix in zip(upgraded, expected)), upgraded
    assert {l.kind for l in upgraded} == {"DeformableConvolution" if version == 1 else "ModulatedDeformableConvolution"}
    check = verify_outputs(before, net, x)
    assert check.passed, check.summary()
    assert check.raw is not None and check.raw.outputs >= 1  # the heads were cut and compared
    assert (check.detections is not None) == name.startswith(("ssd", "yolo3"))
    bound = check.tolerance.bound
    with mx.autograd.predict_mode():
        probe_after = probe(net, x)
    assert output_difference(probe_before, probe_after).max_rel <= bound

    # The same comparisons fail once the offsets move: half a pixel everywhere.
    for pname, param in net.collect_params().items():
        if pname.endswith("offset_bias"):
            param.set_data(mx.nd.full(param.shape, 0.5))
    assert not verify_outputs(before, net, x).passed
    with mx.autograd.predict_mode():
        assert output_difference(probe_before, probe(net, x)).max_rel > 10 * bound


def test_dilated_and_depthwise_layers_keep_their_geometry():
    vgg = gu.upgrade(build("ssd_300_vgg16_atrous_voc", 300), layers="dilated_conv0")
    (fc6,) = [l for l in gu.conv_layers(vgg) if l.deformable]
    assert (fc6.dilation, fc6.padding, fc6.kernel) == ((6, 6), (6, 6), (3, 3))

    mobile = gu.upgrade(build("yolo3_mobilenet1.0_voc", 128), layers="last1")
    (dw,) = [l for l in gu.conv_layers(mobile) if l.deformable]
    assert dw.groups == dw.in_channels == 1024
    # The offset branch sees all input channels (groups=1), the main operator stays depthwise.
    assert dw.owner.offset_weight.shape == (18, 1024, 3, 3)
    assert dw.owner.deformable_conv_weight.shape == (1024, 1, 3, 3)


def test_upgraded_weights_are_the_trained_ones_with_context_dtype_and_multipliers():
    net = build("resnet50_v1", 64)
    conv = net.features[7][2].body[3]
    conv.weight.lr_mult = 0.5
    trained = conv.weight.data().asnumpy()
    net.cast("float64")
    net = gu.upgrade(net, layers="stage4_conv8")
    dcn = net.features[7][2].body[3]
    assert isinstance(dcn, mx.gluon.contrib.cnn.DeformableConvolution)
    assert np.dtype(dcn.deformable_conv_weight.dtype) == np.float64
    assert dcn.deformable_conv_weight.list_ctx() == [mx.cpu()]
    assert dcn.deformable_conv_weight.lr_mult == 0.5
    np.testing.assert_array_equal(dcn.deformable_conv_weight.data().asnumpy(), trained.astype(np.float64))
    assert not dcn.offset_weight.data().asnumpy().any() and not dcn.offset_bias.data().asnumpy().any()


@pytest.mark.parametrize("version", [1, 2])
def test_two_deformable_groups_keep_outputs_and_move_each_half_of_the_channels_alone(version):
    """An offset of exactly one pixel to the right for deformable group 0 samples its channels where a plain
    convolution of the zero-padded input shifted left by one column would: computed here with Convolution."""
    mx.random.seed(0)
    conv = mx.gluon.nn.Conv2D(6, 3, padding=1, in_channels=4)
    net = mx.gluon.nn.HybridSequential()
    net.add(conv)
    net.initialize(mx.init.Normal(1.0))
    x = mx.nd.random.normal(shape=(2, 4, 6, 7))
    before = net(x).asnumpy()
    weight, bias = conv.weight.data().copy(), conv.bias.data().copy()

    net = gu.upgrade(net, layers="re:conv", deformable_groups=2, version=version)

    dcn = net[0]
    assert dcn.offset_weight.shape == ((2 if version == 1 else 3) * 9 * 2, 4, 3, 3)
    np.testing.assert_allclose(net(x).asnumpy(), before, rtol=1e-5, atol=1e-5)
    # Offsets are (dy, dx) per tap, 18 per group; v2's masks follow them, at 2 * sigmoid(0) = 1.
    offset_bias = np.zeros(dcn.offset_bias.shape, np.float32)
    offset_bias[1:18:2] = 1.0
    dcn.offset_bias.set_data(mx.nd.array(offset_bias))
    padded = np.pad(x.asnumpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    shifted = padded.copy()
    shifted[:, :2, :, :-1], shifted[:, :2, :, -1] = padded[:, :2, :, 1:], 0  # group 0: channels 0-1
    expected = mx.nd.Convolution(mx.nd.array(shifted), weight, bias, kernel=(3, 3), num_filter=6).asnumpy()
    np.testing.assert_allclose(net(x).asnumpy(), expected, rtol=1e-4, atol=1e-4)

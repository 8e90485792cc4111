"""An upgraded network trains, saves, loads, exports and re-imports; hybridized networks keep working."""
import os

import mxnet as mx
import numpy as np
import pytest
from conftest import build, deformable_ops, image

import gluon_upgrade as gu
from gluon_upgrade.deploy.symbol import save_network
from gluon_upgrade.verify import network_outputs, output_difference, run_inference, verify_outputs


def _offset_grads(net):
    return {name: float(p.grad().abs().sum().asscalar()) for name, p in net.collect_params().items()
            if name.endswith("offset_weight")}


def test_offset_weights_get_gradients_on_the_first_backward_block_tree():
    net = gu.upgrade(build("resnet50_v1", 64))
    with mx.autograd.record():
        loss = net(image(64, batch=2)).square().sum()
    loss.backward()
    grads = _offset_grads(net)
    assert len(grads) == 3 and all(g > 0 for g in grads.values()), grads


def test_offset_weights_get_gradients_on_the_first_backward_symbol_graph():
    net = gu.upgrade(build("ssd_512_resnet50_v1_voc", 128))
    with mx.autograd.record():
        cls_preds, box_preds, _ = net(image(128, batch=2))
        loss = cls_preds.square().sum() + box_preds.square().sum()
    loss.backward()
    grads = _offset_grads(net)
    assert len(grads) == 3 and all(g > 0 for g in grads.values()), grads


@pytest.mark.exactness
def test_hybridized_network_keeps_working_after_the_upgrade():
    net = build("yolo3_darknet53_voc", 128)
    net.hybridize()
    x = image(128)
    before = network_outputs(net, x)
    net = gu.upgrade(net)
    check = verify_outputs(before, net, x)  # a stale cached graph would still run the standard convolutions
    assert check.passed, check.summary()
    assert "_contrib_DeformableConvolution" in net._cached_graph[1].tojson()


def _roundtrip_parameters(tmp_path, name, size):
    net = gu.upgrade(build(name, size))
    for pname, param in net.collect_params().items():  # non-zero offsets: a load that lost them would show
        if pname.endswith("offset_weight"):
            param.set_data(mx.nd.random.normal(0, 1e-3, shape=param.shape))
    x = image(size)
    expected = run_inference(net, x)
    path = os.path.join(str(tmp_path), "upgraded.params")
    net.save_parameters(path)
    again = gu.upgrade(build(name, size, seed=7))
    again.load_parameters(path)
    assert output_difference(expected, run_inference(again, x)).max_abs == 0


def test_save_and_load_into_a_network_upgraded_the_same_way_block_tree(tmp_path):
    _roundtrip_parameters(tmp_path, "resnet50_v1", 64)


def test_save_and_load_into_a_network_upgraded_the_same_way_symbol_graph(tmp_path):
    _roundtrip_parameters(tmp_path, "ssd_512_resnet50_v1_voc", 128)


def test_export_runs_the_same_through_symbolblock_imports(tmp_path):
    for name, size in [("yolo3_mobilenet1.0_voc", 128), ("ssd_512_resnet50_v1_voc", 128)]:
        net = gu.upgrade(build(name, size))
        for pname, param in net.collect_params().items():
            if pname.endswith("offset_bias"):
                param.set_data(mx.nd.full(param.shape, 0.3))
        x = image(size)
        expected = run_inference(net, x)
        prefix = os.path.join(str(tmp_path), name)
        written = save_network(net, prefix, symbolic=True, input_shape=(1, 3, size, size))
        assert written == [prefix + "-symbol.json", prefix + "-0000.params"]
        imported = mx.gluon.SymbolBlock.imports(written[0], ["data"], written[1])
        assert deformable_ops(imported) == 3
        assert output_difference(expected, run_inference(imported, x)).max_rel <= 1e-6


@pytest.mark.exactness
def test_exported_symbol_model_is_upgraded_in_place(tmp_path):
    original = build("resnet50_v1", 64)
    prefix = os.path.join(str(tmp_path), "resnet")
    save_network(original, prefix, symbolic=True, input_shape=(1, 3, 64, 64))
    net = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0000.params")
    x = image(64)
    before = network_outputs(net, x)
    upgraded = gu.upgrade(net, layers="last3")
    assert upgraded is net
    names = [l.name for l in gu.conv_layers(net) if l.deformable]
    assert [n.split("_", 1)[1] for n in names] == ["stage4_conv1", "stage4_conv5", "stage4_conv8"]
    check = verify_outputs(before, net, x)
    assert check.passed and check.raw is not None, check.summary()
    trained = original.features[7][2].body[3].weight.data().asnumpy()
    np.testing.assert_array_equal(net.collect_params()[names[-1] + "_weight"].data().asnumpy(), trained)

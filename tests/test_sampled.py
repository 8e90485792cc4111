"""The deformable convolution composed of differentiable operators against MXNet's own operators: forward
values, gradients (v1's backward, finite differences for v2), and the upgrade with ``impl="sampled"``."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from mxnet.gluon.model_zoo import vision

import gluon_upgrade as gu
from conftest import deformable_ops
from gluon_upgrade.errors import UpgradeError
from gluon_upgrade.models.build import build_network
from gluon_upgrade.deploy.onnx_export import export_onnx, load_symbol
from gluon_upgrade.deploy.symbol import save_network
from gluon_upgrade.reporting.flops import count_macs
from gluon_upgrade.reporting.offsets import layer_offsets
from gluon_upgrade.surgery.sampled import SampledModulatedDeformableConvolution, sampled_deformable_convolution

# N, C, H, W, filters, kernel, stride, pad, dilation, groups, deformable groups
SHAPES = [(2, 4, 7, 6, 5, 3, 1, 1, 1, 1, 1), (1, 4, 9, 8, 6, 3, 2, 1, 2, 2, 2), (2, 6, 5, 5, 6, 1, 1, 0, 1, 1, 3),
          (1, 3, 6, 7, 4, 3, 1, 0, 1, 1, 1)]


def operands(shape, seed=0, dtype="float32"):
    n, c, h, w, filters, k, stride, pad, dilate, groups, dgroups = shape
    rng = np.random.RandomState(seed)
    out_h, out_w = ((side + 2 * pad - dilate * (k - 1) - 1) // stride + 1 for side in (h, w))
    arrays = {"data": rng.randn(n, c, h, w), "offset": 1.7 * rng.randn(n, 2 * k * k * dgroups, out_h, out_w),
              "weight": rng.randn(filters, c // groups, k, k), "bias": rng.randn(filters),
              "mask": 2 * rng.rand(n, k * k * dgroups, out_h, out_w)}
    kwargs = dict(kernel=(k, k), stride=(stride, stride), pad=(pad, pad), dilate=(dilate, dilate),
                  num_filter=filters, num_group=groups, num_deformable_group=dgroups)
    return {key: mx.nd.array(value, dtype=dtype) for key, value in arrays.items()}, kwargs


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_equals_mxnets_operators_v1_and_v2_ndarray_and_symbol(shape):
    args, kwargs = operands(shape)
    data, offset, weight, bias, mask = (args[k] for k in ("data", "offset", "weight", "bias", "mask"))
    v1 = mx.nd.contrib.DeformableConvolution(data, offset, weight, bias, **kwargs)
    v2 = mx.nd.contrib.ModulatedDeformableConvolution(data, offset, mask, weight, bias, **kwargs)
    ours = sampled_deformable_convolution(mx.nd, data, offset, weight, bias, **kwargs)
    np.testing.assert_allclose(ours.asnumpy(), v1.asnumpy(), rtol=1e-5, atol=1e-5)
    ours2 = sampled_deformable_convolution(mx.nd, data, offset, weight, bias, mask, **kwargs)
    np.testing.assert_allclose(ours2.asnumpy(), v2.asnumpy(), rtol=1e-5, atol=1e-5)
    names = ("data", "offset", "weight", "bias")
    symbol = sampled_deformable_convolution(mx.sym, *(mx.sym.var(name) for name in names), **kwargs)
    executor = symbol.bind(mx.cpu(), {name: args[name] for name in names})
    np.testing.assert_allclose(executor.forward()[0].asnumpy(), v1.asnumpy(), rtol=1e-5, atol=1e-5)


def gradients(function, args, names, head):
    inputs = {name: args[name].copy() for name in names}
    for value in inputs.values():
        value.attach_grad()
    with autograd.record():
        out = function(*(inputs[name] for name in names))
    out.backward(head)
    return {name: value.grad.asnumpy() for name, value in inputs.items()}


@pytest.mark.parametrize("shape", SHAPES[:2], ids=str)
def test_v1_gradients_equal_mxnets_backward(shape):
    args, kwargs = operands(shape, seed=1)
    names = ("data", "offset", "weight", "bias")
    head = mx.nd.array(np.random.RandomState(2).randn(*mx.nd.contrib.DeformableConvolution(
        *(args[n] for n in names), **kwargs).shape))
    theirs = gradients(lambda *a: mx.nd.contrib.DeformableConvolution(*a, **kwargs), args, names, head)
    ours = gradients(lambda *a: sampled_deformable_convolution(mx.nd, *a, **kwargs), args, names, head)
    for name in names:
        assert np.abs(theirs[name]).max() > 0.1, name
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-4, atol=1e-4, err_msg=name)


def test_v2_gradients_match_finite_differences():
    args, kwargs = operands(SHAPES[1], seed=3, dtype="float64")
    names = ("data", "offset", "weight", "bias", "mask")
    rng = np.random.RandomState(4)

    def loss(*values):
        return sampled_deformable_convolution(mx.nd, *values, **kwargs)

    head = mx.nd.array(rng.randn(*loss(*(args[n] for n in names)).shape), dtype="float64")
    analytic = gradients(loss, args, names, head)
    eps = 1e-6
    for name in names:
        flat = args[name].asnumpy().ravel()
        for index in rng.choice(flat.size, 5, replace=False):
            values = []
            for sign in (1, -1):
                moved = flat.copy()
                moved[index] += sign * eps
                changed = dict(args, **{name: mx.nd.array(moved.reshape(args[name].shape), dtype="float64")})
                values.append(float((loss(*(changed[n] for n in names)) * head).sum().asscalar()))
            numeric = (values[0] - values[1]) / (2 * eps)
            assert analytic[name].ravel()[index] == pytest.approx(numeric, rel=1e-4, abs=1e-6), (name, index)


def test_sampled_v2_upgrade_is_exact_trains_on_cpu_and_shares_weights_with_mxnets_blocks(tmp_path):
    mx.random.seed(0)
    net = vision.resnet18_v1(classes=10)
    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(shape=(2, 3, 64, 64))
    before = net(x).asnumpy()
    net = gu.upgrade(net, layers="last3", version=2, impl="sampled")
    upgraded = [b for b in net.collect_params().values() if b.name.endswith("offset_weight")]
    assert len(upgraded) == 3
    np.testing.assert_allclose(net(x).asnumpy(), before, rtol=1e-5, atol=1e-5)
    with autograd.record():
        loss = net(x).sum()
    loss.backward()  # MXNet's own v2 operator has no CPU backward
    assert all(float(mx.nd.abs(p.grad()).sum().asscalar()) > 0 for p in upgraded)
    for param in upgraded:
        param.set_data(mx.nd.random.normal(scale=0.01, shape=param.shape))
    moved = net(x).asnumpy()
    assert np.abs(moved - before).max() > 1e-4
    path = str(tmp_path / "sampled.params")
    net.save_parameters(path)
    twin = vision.resnet18_v1(classes=10)
    twin.initialize()
    twin(x)
    twin = gu.upgrade(twin, layers="last3", version=2)  # MXNet's operator: forward runs on CPU
    twin.load_parameters(path)
    np.testing.assert_allclose(twin(x).asnumpy(), moved, rtol=1e-4, atol=1e-4)
    assert sum(isinstance(b, SampledModulatedDeformableConvolution) for b in _blocks(net)) == 3


def _blocks(net):
    yield net
    for child in net._children.values():
        yield from _blocks(child)


@pytest.mark.parametrize("version", [1, 2])
def test_sampled_impl_in_a_symbol_graph(tmp_path, version):
    """GluonCV's SSD holds its backbone as a graph: the composite is spliced into it, stays recognisable as a
    deformable layer, is exact, trains on CPU, and shares its weights with MXNet's operators."""
    model = {"name": "ssd_128_resnet29_v1_demo", "data_shape": 128, "pretrained": False, "pretrained_base": False,
             "weights": None, "mode": "dcn_scratch",
             "upgrade": {"layers": "last3", "version": version, "deformable_groups": 1, "scope": "auto",
                         "impl": "sampled"}}
    mx.random.seed(0)
    x = mx.nd.random.uniform(shape=(2, 3, 128, 128))
    standard = build_network(dict(model, mode="baseline"), ["a", "b"], [mx.cpu()])
    before = [out.asnumpy() for out in standard(x)]
    net = gu.upgrade(standard, layers="last3", version=version, impl="sampled")
    assert deformable_ops(net) == 0  # no MXNet deformable operator: the composite only
    report = gu.upgrade_report(net)
    assert [l.name.split("_", 1)[1] for l in report.layers] == ["stage4_conv1", "stage4_conv5", "stage4_conv8"]
    assert report.params_after - report.params_before == 3 * ((18 if version == 1 else 27) * 128 * 9 + (
        18 if version == 1 else 27))
    for ours, theirs in zip(net(x), before):
        np.testing.assert_allclose(ours.asnumpy(), theirs, rtol=1e-4, atol=1e-3)
    offsets = [p for name, p in net.collect_params().items() if name.endswith("offset_weight")]
    with autograd.train_mode(), autograd.record():
        loss = sum(out.sum() for out in net(x))
    loss.backward()
    assert len(offsets) == 3 and all(float(mx.nd.abs(p.grad()).sum().asscalar()) > 0 for p in offsets)
    for param in offsets:
        param.set_data(mx.nd.random.normal(scale=0.02, shape=param.shape))
    path = str(tmp_path / "sampled.params")
    net.save_parameters(path)
    twin = build_network(dict(model, upgrade=dict(model["upgrade"], impl="mxnet")), ["a", "b"], [mx.cpu()])
    twin.load_parameters(path)
    for ours, theirs in zip(net(x), twin(x)):
        np.testing.assert_allclose(ours.asnumpy(), theirs.asnumpy(), rtol=1e-4, atol=1e-3)
    with pytest.raises(UpgradeError, match="stage4_conv8"):
        gu.upgrade(net, layers="stage4_conv8", impl="sampled")  # already deformable
    layers = layer_offsets(net, x)
    assert [l.offsets.shape for l in layers] == [(18, 8, 8)] * 3  # stage 4 at stride 16: 128 / 16
    assert count_macs(net, (1, 3, 128, 128)) == count_macs(twin, (1, 3, 128, 128))
    prefix = str(tmp_path / "sampled")
    save_network(net, prefix, True, (1, 3, 128, 128))
    with pytest.raises(UpgradeError, match="impl='sampled'.*impl='mxnet'"):
        export_onnx(*load_symbol(prefix + "-symbol.json", prefix + "-0000.params"), (1, 3, 128, 128),
                    str(tmp_path / "x.onnx"))


def test_unknown_impl_is_refused():
    with pytest.raises(UpgradeError, match="impl must be one of mxnet, sampled"):
        gu.upgrade(vision.resnet18_v1(), impl="cuda")

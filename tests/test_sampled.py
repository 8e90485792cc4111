"""The deformable convolution composed of differentiable operators against MXNet's own operators: forward
values, gradients (v1's backward, finite differences for v2), and the upgrade with ``impl="sampled"``."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from mxnet.gluon.model_zoo import vision

import gluon_upgrade as gu
from gluon_upgrade.errors import UpgradeError
from gluon_upgrade.models.build import build_network
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


def test_sampled_impl_is_refused_for_graph_nodes_and_checked_in_configs():
    model = {"name": "ssd_512_resnet50_v1_voc", "data_shape": 128, "pretrained": False, "pretrained_base": False,
             "weights": None, "mode": "dcn_scratch",
             "upgrade": {"layers": "last3", "version": 2, "deformable_groups": 1, "scope": "auto",
                         "impl": "sampled"}}
    with pytest.raises(UpgradeError, match="impl='sampled' replaces Conv2D blocks, but .*stage4_conv1.* are "
                                           "nodes of a symbol graph"):
        build_network(model, None, [mx.cpu()])
    with pytest.raises(UpgradeError, match="impl must be one of mxnet, sampled"):
        gu.upgrade(vision.resnet18_v1(), impl="cuda")

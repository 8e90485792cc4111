"""The deformable convolutions composed of other operators (``impl="sampled"``: differentiable MXNet operators;
``impl="fast"``: the compiled sampling operator plus a convolution) against MXNet's own operators: forward
values, gradients (v1's backward, finite differences for v2), and the upgrade with each implementation."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from mxnet.gluon.model_zoo import vision

import gluon_upgrade as gu
from conftest import ROOT, SHAPES, deformable_ops, gradients, operands
from gluon_upgrade.errors import ExportError, UpgradeError
from gluon_upgrade.models.build import build_network
from gluon_upgrade.deploy.onnx_export import export_onnx, load_symbol
from gluon_upgrade.deploy.symbol import save_network
from gluon_upgrade.reporting.flops import count_macs
from gluon_upgrade.reporting.offsets import layer_offsets
from gluon_upgrade.surgery.deformable import BLOCKS, resolve_impl
from gluon_upgrade.surgery.fast import padded_offset_convolution
from gluon_upgrade.surgery.graph import COMPOSITES

# Run again under other instruction sets by `make test-isa` (oneDNN adds in other orders there).
pytestmark = pytest.mark.exactness

IMPLS = sorted(COMPOSITES)

@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_equals_mxnets_operators_v1_and_v2_ndarray_and_symbol(shape, impl):
    composite = COMPOSITES[impl]
    args, kwargs = operands(shape)
    data, offset, weight, bias, mask = (args[k] for k in ("data", "offset", "weight", "bias", "mask"))
    v1 = mx.nd.contrib.DeformableConvolution(data, offset, weight, bias, **kwargs)
    v2 = mx.nd.contrib.ModulatedDeformableConvolution(data, offset, mask, weight, bias, **kwargs)
    ours = composite(mx.nd, data, offset, weight, bias, **kwargs)
    np.testing.assert_allclose(ours.asnumpy(), v1.asnumpy(), rtol=1e-5, atol=1e-5)
    ours2 = composite(mx.nd, data, offset, weight, bias, mask, **kwargs)
    np.testing.assert_allclose(ours2.asnumpy(), v2.asnumpy(), rtol=1e-5, atol=1e-5)
    names = ("data", "offset", "weight", "bias")
    symbol = composite(mx.sym, *(mx.sym.var(name) for name in names), **kwargs)
    executor = symbol.bind(mx.cpu(), {name: args[name] for name in names})
    np.testing.assert_allclose(executor.forward()[0].asnumpy(), v1.asnumpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_v1_gradients_equal_mxnets_backward(shape, impl):
    composite = COMPOSITES[impl]
    args, kwargs = operands(shape, seed=1)
    names = ("data", "offset", "weight", "bias")
    head = mx.nd.array(np.random.RandomState(2).randn(*mx.nd.contrib.DeformableConvolution(
        *(args[n] for n in names), **kwargs).shape))
    theirs = gradients(lambda *a: mx.nd.contrib.DeformableConvolution(*a, **kwargs), args, names, head)
    ours = gradients(lambda *a: composite(mx.nd, *a, **kwargs), args, names, head)
    for name in names:
        assert np.abs(theirs[name]).max() > 0.1, name
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", SHAPES[:2], ids=str)
def test_v2_gradients_match_finite_differences(shape, impl):
    composite = COMPOSITES[impl]
    args, kwargs = operands(shape, seed=3, dtype="float64")
    names = ("data", "offset", "weight", "bias", "mask")
    rng = np.random.RandomState(4)

    def loss(*values):
        return composite(mx.nd, *values, **kwargs)

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


@pytest.mark.parametrize("impl", IMPLS)
def test_v2_upgrade_is_exact_trains_on_cpu_and_shares_weights_with_mxnets_blocks(tmp_path, impl):
    mx.random.seed(0)
    net = vision.resnet18_v1(classes=10)
    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(shape=(2, 3, 64, 64))
    before = net(x).asnumpy()
    net = gu.upgrade(net, layers="last3", version=2, impl=impl)
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
    assert sum(type(b) is BLOCKS[impl, 2] for b in _blocks(net)) == 3


def _blocks(net):
    yield net
    for child in net._children.values():
        yield from _blocks(child)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("version", [1, 2])
def test_composite_impl_in_a_symbol_graph(tmp_path, version, impl):
    """GluonCV's SSD holds its backbone as a graph: the composite is spliced into it, stays recognisable as a
    deformable layer, is exact, trains on CPU, and shares its weights with MXNet's operators."""
    model = {"name": "ssd_128_resnet29_v1_demo", "data_shape": 128, "pretrained": False, "pretrained_base": False,
             "weights": None, "mode": "dcn_scratch",
             "upgrade": {"layers": "last3", "version": version, "deformable_groups": 1, "scope": "auto",
                         "impl": impl}}
    mx.random.seed(0)
    x = mx.nd.random.uniform(shape=(2, 3, 128, 128))
    standard = build_network(dict(model, mode="baseline"), ["a", "b"], [mx.cpu()])
    before = [out.asnumpy() for out in standard(x)]
    net = gu.upgrade(standard, layers="last3", version=version, impl=impl)
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
        gu.upgrade(net, layers="stage4_conv8", impl=impl)  # already deformable
    layers = layer_offsets(net, x)
    assert [l.offsets.shape for l in layers] == [(18, 8, 8)] * 3  # stage 4 at stride 16: 128 / 16
    assert count_macs(net, (1, 3, 128, 128)) == count_macs(twin, (1, 3, 128, 128))
    prefix = str(tmp_path / "sampled")
    save_network(net, prefix, True, (1, 3, 128, 128))
    with pytest.raises(ExportError, match="impl='sampled'.*impl='mxnet'"):
        export_onnx(*load_symbol(prefix + "-symbol.json", prefix + "-0000.params"), (1, 3, 128, 128),
                    str(tmp_path / "x.onnx"))


def test_unknown_impl_is_refused():
    with pytest.raises(UpgradeError, match="impl must be one of mxnet, sampled, fast"):
        gu.upgrade(vision.resnet18_v1(), impl="cuda")


FALLBACK_SCRIPT = """
import warnings
import mxnet as mx
import numpy as np
from mxnet.gluon.contrib.cnn import DeformableConvolution
from mxnet.gluon.model_zoo import vision
import gluon_upgrade as gu
from gluon_upgrade.surgery.sampled import SampledModulatedDeformableConvolution

def blocks(block):
    yield block
    for child in block._children.values():
        yield from blocks(child)


warnings.simplefilter("always")
x = mx.nd.random.uniform(shape=(1, 3, 64, 64))
for version, expected in ((1, DeformableConvolution), (2, SampledModulatedDeformableConvolution)):
    net = vision.resnet18_v1(classes=4)
    net.initialize(mx.init.Xavier())
    before = net(x).asnumpy()
    net = gu.upgrade(net, layers="last3", version=version, impl="fast")
    assert sum(type(b) is expected for b in blocks(net)) == 3
    assert np.abs(net(x).asnumpy() - before).max() < 1e-4
print("fell back")
"""


@pytest.mark.slow
def test_without_a_compiler_fast_falls_back_to_exact_implementations_with_one_warning(tmp_path):
    """A machine without a compiler: impl='fast' becomes MXNet's operator (v1) or 'sampled' (v2), exact, and
    says so once per process."""
    env = dict(os.environ, GLUON_UPGRADE_CXX=str(tmp_path / "no-such-compiler"))
    result = subprocess.run([sys.executable, "-c", FALLBACK_SCRIPT], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fell back"
    warnings = [line for line in result.stderr.splitlines() if "impl='fast' is unavailable" in line]
    assert len(warnings) == 1 and "no C++ compiler" in warnings[0] and "no-such-compiler" in warnings[0], \
        result.stderr


@pytest.mark.parametrize("filters", [18, 27, 32])
def test_padded_offset_branch_equals_the_plain_convolution(filters):
    """impl='fast' runs the offset branch with zero filters added up to a multiple of 16: the values and all
    gradients must be those of the plain convolution."""
    rng = np.random.RandomState(5)
    x, weight, bias = (mx.nd.array(rng.randn(*shape)) for shape in ((2, 8, 6, 6), (filters, 8, 3, 3), (filters,)))
    args = dict(num_filter=filters, kernel=(3, 3), pad=(1, 1))
    head = mx.nd.array(rng.randn(2, filters, 6, 6))
    ours = gradients(lambda *a: padded_offset_convolution(mx.nd, *a, **args), dict(x=x, w=weight, b=bias),
                     ("x", "w", "b"), head)
    theirs = gradients(lambda *a: mx.nd.Convolution(*a, **args), dict(x=x, w=weight, b=bias), ("x", "w", "b"), head)
    for name in ("x", "w", "b"):
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(padded_offset_convolution(mx.nd, x, weight, bias, **args).asnumpy(),
                               mx.nd.Convolution(x, weight, bias, **args).asnumpy(), rtol=1e-5, atol=1e-5)


LOAD_SCRIPT = """
import sys
import mxnet as mx
import numpy as np
from gluon_upgrade.models.zoo import load_symbol_model
net = load_symbol_model(sys.argv[1] + "-symbol.json", sys.argv[1] + "-0000.params")
out = net(mx.nd.array(np.load(sys.argv[2])))
np.save(sys.argv[3], np.concatenate([o.asnumpy().ravel() for o in out]))
"""


@pytest.mark.slow
def test_a_graph_exported_with_impl_fast_loads_in_a_fresh_process(tmp_path):
    """The exported graph names the compiled operator: loading it in a new process registers the operator first,
    and the outputs are the exporting network's."""
    mx.random.seed(0)
    net = build_network({"name": "ssd_128_resnet29_v1_demo", "data_shape": 128, "pretrained": False,
                         "pretrained_base": False, "weights": None, "mode": "dcn_scratch",
                         "upgrade": {"layers": "last3", "version": 1, "deformable_groups": 1, "scope": "auto",
                                     "impl": "fast"}}, ["a", "b"], [mx.cpu()])
    for name, param in net.collect_params().items():
        if name.endswith("offset_weight"):
            param.set_data(mx.nd.random.normal(scale=0.02, shape=param.shape))
    x = np.random.RandomState(0).rand(1, 3, 128, 128).astype("float32")
    prefix = str(tmp_path / "fast")
    save_network(net, prefix, True, (1, 3, 128, 128))
    assert '"gu_deform_sample"' in open(prefix + "-symbol.json").read()
    expected = np.concatenate([o.asnumpy().ravel() for o in net(mx.nd.array(x))])
    np.save(str(tmp_path / "x.npy"), x)
    result = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, prefix, str(tmp_path / "x.npy"),
                             str(tmp_path / "y.npy")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(str(tmp_path / "y.npy")), expected, rtol=1e-4, atol=1e-4)


IDENTITY_SCRIPT = """
import mxnet as mx
from mxnet.symbol.contrib import SyncBatchNorm
from gluoncv.model_zoo import get_model
from gluon_upgrade.ops.build import load_fast_operator
dcn = mx.nd.contrib.DeformableConvolution
assert load_fast_operator() is None
assert mx.sym.contrib.SyncBatchNorm is SyncBatchNorm and mx.nd.contrib.DeformableConvolution is dcn
assert callable(mx.nd.gu_deform_sample) and callable(mx.sym.gu_deform_sample)
get_model("faster_rcnn_fpn_syncbn_resnest50_coco", pretrained=False, pretrained_base=False)
"""


def test_loading_the_compiled_operator_keeps_mxnets_operator_functions():
    """mx.library.load makes every operator function anew; GluonCV's FPN compares SyncBatchNorm by identity, and
    FPN R-CNNs with SyncBatchNorm could not be built after the compiled operator was loaded."""
    result = subprocess.run([sys.executable, "-c", IDENTITY_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("impl", IMPLS)
def test_composite_blocks_are_seen_as_deformable_layers_by_the_reports(impl):
    """A block tree (ResNet-18) upgraded with a composite: the offsets report and the MAC count see the three
    deformable layers as they see MXNet's operator in the same network with the same weights."""
    x = mx.nd.random.uniform(shape=(1, 3, 64, 64))
    nets = {}
    for kind in ("mxnet", impl):
        mx.random.seed(0)
        net = vision.resnet18_v1(classes=4)
        net.initialize(mx.init.Xavier())
        net(x)
        nets[kind] = gu.upgrade(net, layers="last3", impl=kind)
    for param in nets["mxnet"].collect_params().values():
        if "offset" in param.name:
            param.set_data(mx.nd.random.normal(scale=0.05, shape=param.shape))
    source = {name.split("_", 1)[1]: param for name, param in nets["mxnet"].collect_params().items()}
    for name, param in nets[impl].collect_params().items():  # the same layers, under another network prefix
        param.set_data(source[name.split("_", 1)[1]].data())
    ours, theirs = layer_offsets(nets[impl], x), layer_offsets(nets["mxnet"], x)
    assert len(ours) == len(theirs) == 3
    for mine, reference in zip(ours, theirs):
        assert (mine.kernel, mine.stride, mine.input_size) == (reference.kernel, reference.stride,
                                                                reference.input_size)
        np.testing.assert_allclose(mine.offsets, reference.offsets, rtol=1e-5, atol=1e-5)
    assert count_macs(nets[impl], (1, 3, 64, 64)) == count_macs(nets["mxnet"], (1, 3, 64, 64))


def test_fast_is_left_to_mxnets_cuda_operator_for_layers_on_a_gpu():
    """The compiled operator is a CPU one: layers on a GPU keep MXNet's operator (CUDA kernels, v1 and v2 train)."""
    assert resolve_impl("fast", 2, on_gpu=True) == "mxnet"
    assert resolve_impl("fast", 1, on_gpu=False) == "fast"
    assert resolve_impl("sampled", 2, on_gpu=True) == "sampled"

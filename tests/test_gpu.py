"""The GPU tier: what runs only on GPUs. Skipped, with the reason, where MXNet sees none; benchmarks/gpu_check.sh
installs the CUDA build of MXNet on a GPU machine and runs this tier and the benchmarks there."""
import math

import mxnet as mx
import numpy as np
import pytest
from conftest import SHAPES, build, gradients, image, operands, write_demo_config

import gluon_upgrade as gu
from gluon_upgrade.config.loader import load_config
from gluon_upgrade.surgery.graph import COMPOSITES
from gluon_upgrade.training.loop import train

pytestmark = pytest.mark.gpu


def _on_gpu(arrays):
    return {name: value.as_in_context(mx.gpu(0)) for name, value in arrays.items()}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_mxnet_operators_on_gpu_equal_the_sampled_composite_on_cpu(shape):
    """DCN v1 and v2 with impl="mxnet" (MXNet's CUDA kernels; v2's backward exists only there) against
    impl="sampled" on the CPU: outputs and every input's gradient."""
    sampled = COMPOSITES["sampled"]
    args, kwargs = operands(shape, seed=1)
    cases = {
        1: (("data", "offset", "weight", "bias"), mx.nd.contrib.DeformableConvolution,
            lambda d, o, w, b: sampled(mx.nd, d, o, w, b, **kwargs)),
        2: (("data", "offset", "mask", "weight", "bias"), mx.nd.contrib.ModulatedDeformableConvolution,
            lambda d, o, m, w, b: sampled(mx.nd, d, o, w, b, m, **kwargs)),
    }
    for version, (names, operator, composite) in cases.items():
        cpu_out = composite(*(args[n] for n in names))
        gpu_out = operator(*(_on_gpu(args)[n] for n in names), **kwargs)
        np.testing.assert_allclose(gpu_out.asnumpy(), cpu_out.asnumpy(), rtol=1e-4, atol=1e-4)
        head = mx.nd.array(np.random.RandomState(version).randn(*cpu_out.shape))
        ours = gradients(composite, args, names, head)
        theirs = gradients(lambda *a: operator(*a, **kwargs), _on_gpu(args), names, head.as_in_context(mx.gpu(0)))
        for name in names:
            assert np.abs(ours[name]).max() > 0.1, (version, name)
            np.testing.assert_allclose(theirs[name], ours[name], rtol=1e-3, atol=1e-3, err_msg=(version, name))


@pytest.mark.parametrize("version", [1, 2])
def test_upgrade_on_gpu_keeps_outputs(version):
    net = build("resnet50_v1", 64)
    net.collect_params().reset_ctx(mx.gpu(0))
    x = image(64).as_in_context(mx.gpu(0))
    before = gu.network_outputs(net, x)
    net = gu.upgrade(net, version=version)
    assert {p.list_ctx()[0] for p in net.collect_params().values()} == {mx.gpu(0)}
    check = gu.verify_outputs(before, net, x)
    assert check.passed, check.summary()


def _train_on(ctx, demo_voc, tmp_path, extra):
    config = load_config(write_demo_config(tmp_path, demo_voc.root), ["ctx={}".format(ctx), "train.epochs=1",
                                                                      "train.lr_decay_epoch=[]"] + extra)
    result = train(config, str(tmp_path / "run"), progress=False)
    assert result.epoch == 1
    row = result.rows[-1]
    assert math.isfinite(row["cls_loss"]) and math.isfinite(row["box_loss"]) and row["map"] is not None
    return result


def test_amp_training_step_on_a_gpu(demo_voc, tmp_path):
    _train_on("[gpu0]", demo_voc, tmp_path, ["train.amp=true"])


def test_v2_trains_with_mxnets_operator_on_a_gpu(demo_voc, tmp_path):
    _train_on("[gpu0]", demo_voc, tmp_path, ["model.mode=dcn_scratch", "model.upgrade.version=2",
                                              "model.upgrade.impl=mxnet"])


@pytest.mark.gpu(2)
def test_data_parallel_on_two_gpus(demo_voc, tmp_path):
    _train_on("[gpu0, gpu1]", demo_voc, tmp_path, [])

"""Shared builders: real GluonCV architectures with random weights of trained-network scale, small inputs."""
import csv
import json
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from gluon_upgrade.models.init import random_init  # noqa: E402
from gluon_upgrade.models.zoo import load_zoo_model  # noqa: E402


def build(name, size, seed=0, prepare=None, **kwargs):
    """A model-zoo network with calibrated random weights for a ``size`` x ``size`` input; ``kwargs`` go to
    GluonCV's constructor, and ``prepare(net)`` runs before the weights are drawn."""
    mx.random.seed(seed)
    from gluoncv.model_zoo import get_model
    if not name.startswith(("resnet", "mobilenet", "vgg", "hrnet")):
        kwargs.setdefault("pretrained_base", False)
    net = get_model(name, pretrained=False, **kwargs)
    if prepare is not None:
        prepare(net)
    return random_init(net, (1, 3, size, size), seed=seed, calibration_passes=2)


def image(size, seed=1, batch=1):
    mx.random.seed(seed)
    return mx.nd.random.uniform(shape=(batch, 3, size, size))


def traced_ops(net):
    """Operator names of a symbolic trace of ``net`` (or of a SymbolBlock's own graph)."""
    if isinstance(net, mx.gluon.SymbolBlock):
        sym = net._cached_graph[1]
    else:
        out = net(mx.sym.var("data"))
        sym = mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out
    return [n["op"] for n in json.loads(sym.tojson())["nodes"]]


def deformable_ops(net):
    return sum(op in ("_contrib_DeformableConvolution", "_contrib_ModulatedDeformableConvolution")
               for op in traced_ops(net))


def write_demo_config(tmp_path, root, size=128, extra=""):
    """A YAML config for a short run on the demo set at ``root`` (3 epochs of 4-image batches), plus ``extra``."""
    path = tmp_path / "demo.yaml"
    path.write_text("model: {{name: ssd_512_resnet18_v1_voc, data_shape: {}, pretrained_base: false}}\n"
                    "data: {{format: voc, root: {}, train_splits: [2007/trainval], val_splits: [2007/test]}}\n"
                    "eval: {{batch_size: 6}}\n"
                    "train: {{epochs: 3, lr_decay_epoch: [2], lr: 0.01, batch_size: 4}}\n{}".format(size, root, extra))
    return str(path)


def doc_commands(doc):
    """``(command, arguments)`` of each command line in a Markdown file's code blocks."""
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        return command_lines(f.read(), fenced=True)


def command_lines(text, fenced=False):
    """``(command, arguments)`` of each command line in ``text`` (inside its ```` ``` ```` blocks if ``fenced``):
    ``python scripts/X.py ...`` and ``gluon-upgrade X ...`` both give ``X`` (underscores as hyphens); comments and
    a trailing ``&`` dropped, continued lines joined."""
    import shlex
    found, block, pending = [], not fenced, ""
    for line in text.splitlines():
        if line.startswith("```"):
            block = not block
            continue
        if not block:
            continue
        line = pending + line.split("  #")[0].strip().rstrip("&").strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line.startswith("python scripts/"):
            words = shlex.split(line)
            found.append((os.path.splitext(os.path.basename(words[1]))[0].replace("_", "-"), words[2:]))
        elif line.startswith("gluon-upgrade "):
            words = shlex.split(line)
            found.append((words[1], words[2:]))
    return found


def run_script(*args, timeout=600, **kwargs):
    """``python ARGS...`` (a script's path from the repository root, or ``-c CODE``) run in the repository root,
    its output captured as text."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def read_metrics(run):
    """The rows of a run directory's ``metrics.csv``."""
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        return list(csv.DictReader(f))


# N, C, H, W, filters, kernel, stride, pad, dilation, groups, deformable groups. The last has 16 channels per
# deformable group and 72 pixels: impl="fast" works in blocks of 16 channels and 16 elements, full and partial.
SHAPES = [(2, 4, 7, 6, 5, 3, 1, 1, 1, 1, 1), (1, 4, 9, 8, 6, 3, 2, 1, 2, 2, 2), (2, 6, 5, 5, 6, 1, 1, 0, 1, 1, 3),
          (1, 3, 6, 7, 4, 3, 1, 0, 1, 1, 1), (2, 32, 9, 8, 8, 3, 1, 1, 1, 1, 2)]


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


def gradients(function, args, names, head):
    inputs = {name: args[name].copy() for name in names}
    for value in inputs.values():
        value.attach_grad()
    with autograd.record():
        out = function(*(inputs[name] for name in names))
    out.backward(head)
    return {name: value.grad.asnumpy() for name, value in inputs.items()}


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests, saying why, where MXNet sees fewer GPUs than they need."""
    seen = mx.context.num_gpus()
    for item in items:
        marker = item.get_closest_marker("gpu")
        needed = marker.args[0] if marker and marker.args else 1
        if marker and seen < needed:
            item.add_marker(pytest.mark.skip(reason="needs {} GPU(s), MXNet sees {} (mxnet {}{}); "
                                             "benchmarks/gpu_check.sh installs the CUDA build".format(
                                                 needed, seen, mx.__version__,
                                                 "" if mx.runtime.Features().is_enabled("CUDA") else ", a CPU build")))


@pytest.fixture
def zoo():
    return build


@pytest.fixture(scope="session")
def demo_voc(tmp_path_factory):
    """A small demo set in the VOC layout (12 + 12 images, 96 px): the DemoDataset."""
    from gluon_upgrade.data.demo import make_demo_dataset
    return make_demo_dataset(str(tmp_path_factory.mktemp("demo_voc")), "voc", train=12, test=12, size=96, seed=3,
                             workers=1)


@pytest.fixture(scope="session")
def demo_coco(tmp_path_factory):
    """The same images in the COCO layout."""
    from gluon_upgrade.data.demo import make_demo_dataset
    return make_demo_dataset(str(tmp_path_factory.mktemp("demo_coco")), "coco", train=12, test=12, size=96, seed=3,
                             workers=1)


__all__ = ["ROOT", "build", "image", "traced_ops", "deformable_ops", "load_zoo_model", "read_metrics",
           "write_demo_config"]

"""Starting weights: random ones that behave like trained ones (to try the upgrade without model-zoo downloads),
and the demo networks' pretrained backbones."""
from typing import Optional, Sequence

import mxnet as mx
import numpy as np
from mxnet.gluon import Block, SymbolBlock, nn

from ..errors import ModelError
from ..selection.layers import walk_blocks
from ..verify import flatten_outputs

_ONES = ("gamma", "running_var", "moving_var")
_ZEROS = ("bias", "beta", "running_mean", "moving_mean")


def random_init(net: Block, input_shape: Sequence[int], seed: int = 0, calibration_passes: int = 5,
                ctx: mx.Context = mx.cpu()) -> Block:
    """Give ``net`` random weights of trained-network scale, in place.

    MXNet's default ``Uniform(0.07)`` with untrained BatchNorm statistics lets activations grow by orders of
    magnitude through a deep network (SSD512-ResNet50 features reach 1e7 and boxes overflow), which is
    nothing like a trained model. Here weights are He-normal (fan-in), biases zero, BatchNorm the identity
    (other parameters keep their initialisers), and then the BatchNorm
    running statistics are calibrated on random images so that every layer's activations are normalised,
    as in a trained network: ``BatchNorm`` blocks exactly, in one pass, each from its own input;
    BatchNorm nodes inside ``SymbolBlock`` graphs (GluonCV's SSD feature extractor) by training-mode passes.

    Parameters
    ----------
    net : Block
        A model-zoo network built with ``pretrained=False``, not hybridized.
    input_shape : sequence of int
        ``(N, C, H, W)`` of one forward pass: resolves deferred shapes, and is the shape of the random
        calibration images.
    seed : int
        Seeds the weights and the calibration images: same seed, same network.
    calibration_passes : int
        Training-mode forward/backward passes for graph BatchNorm nodes (MXNet updates running statistics
        in the backward pass).
    """
    net.initialize(ctx=ctx, force_reinit=False)
    with mx.autograd.predict_mode():
        net(mx.nd.zeros(tuple(input_shape), ctx=ctx))
    rng = np.random.RandomState(seed)
    for name, param in net.collect_params().items():
        shape = param.shape
        if name.endswith(_ONES):
            value = np.ones(shape)
        elif name.endswith(_ZEROS):
            value = np.zeros(shape)
        elif name.endswith("weight") and len(shape) >= 2:
            value = rng.normal(0.0, np.sqrt(2.0 / np.prod(shape[1:])), size=shape)
        else:  # other parameters (SSD's L2-normalisation scale, ...) keep their own initialiser's value
            continue
        param.set_data(mx.nd.array(value, dtype=param.dtype, ctx=ctx))
    mx.random.seed(seed)
    shape = tuple(input_shape)
    _calibrate_blocks(net, mx.nd.random.uniform(shape=shape, ctx=ctx))
    _calibrate_graphs(net, shape, calibration_passes, ctx)
    return net


def _calibrate_blocks(net: Block, images: mx.nd.NDArray) -> None:
    """Set each ``BatchNorm`` block's running statistics from its input, in forward order, in one pass."""
    def set_statistics(block, inputs):
        x = inputs[0]
        axis = block._kwargs.get("axis", 1)
        axes = tuple(i for i in range(x.ndim) if i != axis)
        mean = x.mean(axis=axes)
        shape = [1] * x.ndim
        shape[axis] = -1
        block.running_mean.set_data(mean)
        block.running_var.set_data(((x - mean.reshape(shape)) ** 2).mean(axis=axes))

    handles = [b.register_forward_pre_hook(set_statistics) for _, b in walk_blocks(net)
               if isinstance(b, nn.BatchNorm)]
    try:
        with mx.autograd.predict_mode():
            net(images)
    finally:
        for handle in handles:
            handle.detach()


def _calibrate_graphs(net: Block, shape: Sequence[int], passes: int, ctx: mx.Context) -> None:
    """Update graph BatchNorm nodes' running statistics by training-mode forward/backward passes of each graph
    on its own input, so that heads which need labels in training mode (R-CNN) are not run that way."""
    graphs = [b for _, b in walk_blocks(net)
              if isinstance(b, SymbolBlock) and "BatchNorm" in b._cached_graph[1].tojson()]
    for _ in range(passes if graphs else 0):
        inputs = {}
        handles = [g.register_forward_pre_hook(lambda block, args: inputs.setdefault(id(block), args))
                   for g in graphs]
        try:
            with mx.autograd.predict_mode():
                net(mx.nd.random.uniform(shape=shape, ctx=ctx))
        finally:
            for handle in handles:
                handle.detach()
        for graph in graphs:
            with mx.autograd.record():
                total = sum(o.sum() for o in flatten_outputs(graph(*inputs[id(graph)])))
            total.backward()
    mx.nd.waitall()
    for param in net.collect_params().values():
        if param.grad_req != "null":
            param.zero_grad()


def start_base(model: str, base: Block, pretrained: bool, base_weights: Optional[str], ctx: mx.Context) -> Block:
    """The demo network ``model``'s backbone ``base``, its ``features`` loaded from ``base_weights`` if given.

    Raises
    ------
    ModelError
        ``pretrained``: no trained demo detector is published.
    """
    if pretrained:
        raise ModelError("{} has no published detector weights: train it (pretrained: false)".format(model))
    if base_weights:
        base.features.load_parameters(base_weights, ctx=ctx)
    return base

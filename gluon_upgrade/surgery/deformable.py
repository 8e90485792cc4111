"""Build the deformable replacement of a convolution block, carrying its trained weights over.

The offset branch is a standard convolution with the layer's kernel, stride, padding and dilation that
predicts ``2*k*k*deformable_groups`` offsets (v1) or ``3*k*k*deformable_groups`` offsets and masks (v2). It is
zero-initialised, so the deformable layer computes exactly what the convolution did. MXNet's v2 mask is
``2*sigmoid(.)``: 1 at zero init, which keeps v2 exact too.
"""
import warnings
from typing import Literal, Sequence, get_args

import mxnet as mx
from mxnet.gluon import HybridBlock, nn
from mxnet.gluon.contrib.cnn import DeformableConvolution, ModulatedDeformableConvolution

from ..errors import UpgradeError
from ..selection.layers import ConvLayer, param_shape
from ..ops import load_fast_operator
from .fast import FastDeformableConvolution, FastModulatedDeformableConvolution
from .sampled import SampledDeformableConvolution, SampledModulatedDeformableConvolution

Version = Literal[1, 2]
"""DCNv1 (``DeformableConvolution``) or DCNv2 (``ModulatedDeformableConvolution``)."""
Impl = Literal["mxnet", "sampled", "fast"]
"""MXNet's operators, their composition of differentiable operators, or the compiled sampling operator."""
VERSIONS = get_args(Version)
BLOCKS = {("mxnet", 1): DeformableConvolution, ("mxnet", 2): ModulatedDeformableConvolution,
          ("sampled", 1): SampledDeformableConvolution, ("sampled", 2): SampledModulatedDeformableConvolution,
          ("fast", 1): FastDeformableConvolution, ("fast", 2): FastModulatedDeformableConvolution}
"""The deformable block per implementation and version: MXNet's operators, the composition of differentiable
operators in ``sampled`` (its v2 trains on CPU), or the compiled sampling plus a convolution in ``fast`` (both
versions train on CPU). All have the same parameters."""
IMPLEMENTATIONS = get_args(Impl)
FALLBACK = {1: "mxnet", 2: "sampled"}
"""What ``impl="fast"`` becomes where its operator cannot be built: the exact implementation that trains on CPU."""
_warned = []


def check_version(version: int, deformable_groups: int, impl: str = "mxnet") -> None:
    """Raise ``UpgradeError`` for a DCN version other than 1 or 2, fewer than one deformable group, or an
    implementation other than ``IMPLEMENTATIONS``."""
    if version not in VERSIONS:
        raise UpgradeError("version must be 1 (DeformableConvolution) or 2 (ModulatedDeformableConvolution), "
                           "got {!r}".format(version))
    if int(deformable_groups) < 1:
        raise UpgradeError("deformable_groups must be >= 1, got {!r}".format(deformable_groups))
    if impl not in IMPLEMENTATIONS:
        raise UpgradeError("impl must be one of {}, got {!r}".format(", ".join(IMPLEMENTATIONS), impl))


def resolve_impl(impl: str, version: int, on_gpu: bool = False) -> str:
    """The implementation that runs: ``impl``, except that ``"fast"`` (a CPU operator) becomes MXNet's operator
    for layers on a GPU, where MXNet's CUDA kernels do the job, and ``FALLBACK[version]`` where its compiled
    operator cannot be built or loaded, with one warning per process saying why."""
    if impl != "fast":
        return impl
    if on_gpu:
        return "mxnet"
    problem = load_fast_operator()
    if problem is None:
        return impl
    if not _warned:
        _warned.append(problem)
        warnings.warn("impl='fast' is unavailable ({}); using MXNet's operator for DCN v1 and impl='sampled' for "
                      "v2 instead (exact, slower)".format(problem), RuntimeWarning, stacklevel=3)
    return FALLBACK[version]


def offset_channels(kernel: Sequence[int], version: int, deformable_groups: int) -> int:
    """Output channels of the offset branch: 2 (v1) or 3 (v2, with the mask) per kernel tap and group."""
    return (2 if version == 1 else 3) * kernel[0] * kernel[1] * deformable_groups


def check_channels(layer: ConvLayer, deformable_groups: int, version: int) -> None:
    """Raise ``UpgradeError`` when the layer's weight shape is unknown or its channels do not split: input
    channels always, output channels for DCN v2 too (MXNet's v2 operator, which the GPU and ONNX export use)."""
    if not layer.in_channels:
        raise UpgradeError("the weight of {} has no shape yet (deferred initialisation): run one forward "
                           "pass, or load trained weights, before upgrading".format(layer.name))
    if layer.in_channels % deformable_groups:
        raise UpgradeError("{}: {} input channels do not split into {} deformable groups".format(
            layer.name, layer.in_channels, deformable_groups))
    if version == 2 and layer.out_channels % deformable_groups:
        raise UpgradeError("{}: {} output channels do not split into {} deformable groups, as MXNet's DCN v2 "
                           "operator requires".format(layer.name, layer.out_channels, deformable_groups))


def deformable_block(conv: nn.conv_layers._Conv, layer: ConvLayer, version: Version,
                     deformable_groups: int, impl: Impl = "mxnet") -> HybridBlock:
    """A ``DeformableConvolution`` (v1) or ``ModulatedDeformableConvolution`` (v2) equal to ``conv``: MXNet's
    block, or (``impl="sampled"`` or ``"fast"``) the same block computed another way (``BLOCKS``).

    The main weight and bias are copies of ``conv``'s (same values, contexts, dtype, ``grad_req``,
    ``lr_mult``, ``wd_mult``); the offset branch is zero. The block keeps ``conv``'s prefix, so its
    parameters are named ``<conv prefix>deformable_conv_weight`` and ``<conv prefix>offset_weight``.
    """
    check_channels(layer, deformable_groups, version)
    cls = BLOCKS[impl, version]
    activation = conv.act._act_type if getattr(conv, "act", None) is not None else None
    # MXNet's block would group the offset branch like the main convolution; built with groups=1 the offset
    # branch sees every input channel, as in Dai et al., and depthwise layers (offset channels not divisible
    # by the groups) become possible. Only the main operator then takes the layer's groups.
    block = cls(layer.out_channels, kernel_size=layer.kernel, strides=layer.stride, padding=layer.padding,
                dilation=layer.dilation, groups=1, num_deformable_group=deformable_groups, layout=layer.layout,
                use_bias=layer.use_bias, in_channels=layer.in_channels, activation=activation,
                prefix=conv.prefix)
    block._kwargs_deformable_conv["num_group"] = layer.groups
    block.deformable_conv_weight.shape = param_shape(conv.weight)
    pairs = [(conv.weight, block.deformable_conv_weight)]
    if layer.use_bias:
        pairs.append((conv.bias, block.deformable_conv_bias))
    contexts = conv.weight.list_ctx()
    block.cast(conv.weight.dtype)
    block.initialize(init=mx.init.Zero(), ctx=contexts)
    for old, new in pairs:
        new.set_data(old.data(contexts[0]))
        new.grad_req = old.grad_req
        new.lr_mult, new.wd_mult = old.lr_mult, old.wd_mult
    if conv._active:
        block.hybridize(True, **dict(conv._flags))
    return block

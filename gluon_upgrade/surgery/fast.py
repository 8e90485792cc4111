"""Deformable convolution v1 and v2 on CPU at 1.3-1.7x the time of the convolution it replaces (MXNet's operator:
2.7-6.6x; ``benchmarks/bench_dcn_layer.py``).

The compiled operator ``gu_deform_sample`` (``gluon_upgrade/ops``) writes every input value the layer samples
into a grid of ``k_h x k_w`` cells per output position; a convolution with the layer's own weight, kernel
``k``, stride ``k`` and no padding over that grid is the deformable convolution, and runs in MXNet's oneDNN
kernels. Same parameters and names as MXNet's blocks, so weights move freely between implementations. Written
by hand: no library ships a CPU deformable convolution for MXNet that trains at the cost of a convolution.
"""
import mxnet as mx

from ..errors import UpgradeError
from ..ops import FAST_OPERATOR, load_fast_operator
from ..selection.layers import PADDED_MARK
from .sampled import SampledDeformableConvolution, SampledModulatedDeformableConvolution, offset_convolution

FILTER_BLOCK = 16
"""oneDNN's convolution kernels work on blocks of 16 filters; with 18 or 27 (an offset branch's) it takes a path
two to three times slower, so the offset branch runs padded with zero filters to a multiple of this."""


def require_fast_operator() -> None:
    """Register ``gu_deform_sample`` with MXNet, or raise ``UpgradeError`` saying why it cannot be."""
    problem = load_fast_operator()
    if problem:
        raise UpgradeError("impl='fast' is unavailable: " + problem)


def require_operators_of(symbol_file: str) -> None:
    """Register the compiled operator before MXNet reads a graph file that uses it (a network exported with
    ``impl="fast"``); raise ``UpgradeError`` where it cannot be."""
    with open(symbol_file) as handle:
        if '"{}"'.format(FAST_OPERATOR) in handle.read():
            require_fast_operator()


def fast_deformable_convolution(F, data, offset, weight, bias=None, mask=None, *, kernel, stride, dilate, pad,
                                num_filter, num_group=1, num_deformable_group=1, mark=None, **ignored):
    """``contrib.DeformableConvolution`` (``mask=None``) or ``ModulatedDeformableConvolution`` (``mask`` given),
    with the arguments, ``mark`` and border rules of ``surgery.sampled.sampled_deformable_convolution``."""
    require_fast_operator()
    masks = [] if mask is None else [mask]
    grid = getattr(F, FAST_OPERATOR)(data, offset, *masks, kernel=tuple(kernel), stride=tuple(stride),
                                     pad=tuple(pad), dilate=tuple(dilate),
                                     num_deformable_group=num_deformable_group, modulated=int(mask is not None))
    args = dict(kernel=tuple(kernel), stride=tuple(kernel), num_filter=num_filter, num_group=num_group,
                **({"attr": mark} if mark else {}))
    if bias is None:
        return F.Convolution(grid, weight, no_bias=True, **args)
    return F.Convolution(grid, weight, bias, **args)


def padded_offset_convolution(F, x, weight, bias=None, *, num_filter, name=None, no_bias=None, **kwargs):
    """The offset branch's ``Convolution`` (``num_filter`` filters) computed with zero filters added up to a
    multiple of ``FILTER_BLOCK``, and sliced back: the same values and gradients, on oneDNN's fast path.

    In a symbol graph the convolution is named ``name + "_padded"`` and carries ``PADDED_MARK``; the slice, the
    branch's output, is named ``name``. ``no_bias`` is ignored: ``bias`` decides.
    """
    extra = -num_filter % FILTER_BLOCK
    if not extra:
        return offset_convolution(F, x, weight, bias, num_filter=num_filter, no_bias=bias is None,
                                  **({"name": name} if name else {}), **kwargs)
    biases = [] if bias is None else [bias]

    def padded(value):
        zero = F.zeros_like(F.slice_axis(value, axis=0, begin=0, end=1))
        return F.concat(value, F.repeat(zero, repeats=extra, axis=0), dim=0)

    names, sliced = {}, {}
    if F is mx.sym:
        names = dict(name=None if name is None else name + "_padded", attr={PADDED_MARK: str(num_filter)})
        sliced = dict(name=name)
    out = F.Convolution(x, padded(weight), *(padded(b) for b in biases), num_filter=num_filter + extra,
                        no_bias=bias is None, **names, **kwargs)
    return F.slice_axis(out, axis=1, begin=0, end=num_filter, **sliced)


class FastDeformableConvolution(SampledDeformableConvolution):
    """MXNet's ``DeformableConvolution`` block, same parameters and names, computed by
    ``padded_offset_convolution`` and ``fast_deformable_convolution``."""

    impl = "fast"
    offsets = staticmethod(padded_offset_convolution)
    compute = staticmethod(fast_deformable_convolution)


class FastModulatedDeformableConvolution(SampledModulatedDeformableConvolution):
    """MXNet's ``ModulatedDeformableConvolution`` block (mask ``2*sigmoid``), same parameters and names, computed
    by ``padded_offset_convolution`` and ``fast_deformable_convolution``; its backward runs on CPU."""

    impl = "fast"
    offsets = staticmethod(padded_offset_convolution)
    compute = staticmethod(fast_deformable_convolution)

"""Deformable convolution v1 and v2 composed of differentiable MXNet operators, so that both train on CPU.

MXNet's ``ModulatedDeformableConvolution`` (v2) has no CPU backward. Here every kernel tap samples the input at
its shifted positions with ``BilinearSampler`` (differentiable in the input and in the positions), v2 weighs the
samples by its mask, and a 1x1 convolution over the ``C*k*k`` sampled channels applies the layer's weight and
bias. Out-of-image samples are zero, as in MXNet's operators. Written by hand: neither MXNet nor GluonCV
composes a deformable convolution from differentiable operators.
"""
import mxnet as mx
from mxnet.gluon.contrib.cnn import DeformableConvolution, ModulatedDeformableConvolution

from ..selection.layers import composite_mark


def sampled_deformable_convolution(F, data, offset, weight, bias=None, mask=None, *, kernel, stride, dilate, pad,
                                   num_filter, num_group=1, num_deformable_group=1, mark=None, **ignored):
    """``contrib.DeformableConvolution`` (``mask=None``) or ``ModulatedDeformableConvolution`` (``mask`` given).

    Parameters
    ----------
    F : mxnet.ndarray or mxnet.symbol
    data : (N, C, H, W), with H and W at least 2 (the sampler's coordinates are normalised by H-1 and W-1)
    offset : (N, 2*k*k*G, Ho, Wo)
        Per deformable group ``g`` and tap ``t`` (row-major over the kernel), channel ``2*(g*k*k + t)`` shifts
        the sampling row and the next channel the column, as in MXNet's operators.
    weight : (num_filter, C/num_group, kh, kw)
    bias : (num_filter,), optional
    mask : (N, k*k*G, Ho, Wo), optional
        v2's modulation, multiplied into each tap's samples.
    kernel, stride, dilate, pad, num_filter, num_group, num_deformable_group
        As the MXNet operators take them (``ignored`` takes their other keywords: ``no_bias``, ``layout``).
    mark : dict, optional
        Symbol attributes for the last ``Convolution`` (``selection.layers.composite_mark``), symbols only.
    """
    kh, kw = kernel
    taps, groups = kh * kw, num_deformable_group
    # Sampling positions (N, G, k*k, 1, Ho, Wo): output position * stride - pad + tap * dilation + offset.
    shifts = F.reshape(offset, shape=(0, -4, groups, -1, -2))
    shifts = F.reshape(shifts, shape=(0, 0, -4, taps, 2, -2))
    # Index ranges come from the operands (arange_like) so that they take their dtype, float32 or float64.
    tap = F.slice_axis(F.contrib.arange_like(offset, axis=1), axis=0, begin=0, end=taps)
    tap_row, tap_col = F.floor(tap / kw), tap - F.floor(tap / kw) * kw
    rows = F.broadcast_add(F.reshape(tap_row * dilate[0], shape=(1, 1, taps, 1, 1, 1)),
                           F.reshape(F.contrib.arange_like(offset, axis=2) * stride[0] - pad[0],
                                     shape=(1, 1, 1, 1, -1, 1)))
    cols = F.broadcast_add(F.reshape(tap_col * dilate[1], shape=(1, 1, taps, 1, 1, 1)),
                           F.reshape(F.contrib.arange_like(offset, axis=3) * stride[1] - pad[1],
                                     shape=(1, 1, 1, 1, 1, -1)))
    y = F.broadcast_add(F.slice_axis(shifts, axis=3, begin=0, end=1), rows)
    x = F.broadcast_add(F.slice_axis(shifts, axis=3, begin=1, end=2), cols)
    last_row = F.reshape(F.max(F.contrib.arange_like(data, axis=2)), shape=(1, 1, 1, 1, 1, 1))  # H - 1
    last_col = F.reshape(F.max(F.contrib.arange_like(data, axis=3)), shape=(1, 1, 1, 1, 1, 1))  # W - 1
    if mask is None:
        # v1 (MXNet's deformable_im2col): a sample counts only inside [0, H) x [0, W), and one in the last
        # pixel's far half reads that pixel (the position is clamped), where v2 interpolates towards zero.
        inside = (F.broadcast_greater_equal(y, F.zeros_like(last_row)) * F.broadcast_lesser(y, last_row + 1)
                  * F.broadcast_greater_equal(x, F.zeros_like(last_col)) * F.broadcast_lesser(x, last_col + 1))
        scale = F.transpose(inside, axes=(0, 1, 3, 2, 4, 5))  # (N, G, 1, k*k, Ho, Wo)
        y, x = F.broadcast_minimum(y, last_row), F.broadcast_minimum(x, last_col)
    else:
        scale = F.expand_dims(F.reshape(mask, shape=(0, -4, groups, -1, -2)), axis=2)
    # BilinearSampler reads positions in [-1, 1] over the input's extent; out of it, it reads zeros.
    y = F.broadcast_div(y * 2, last_row) - 1
    x = F.broadcast_div(x * 2, last_col) - 1
    grid = F.concat(x, y, dim=3)  # (N, G, k*k, 2 (x, y), Ho, Wo)
    grid = F.reshape(F.transpose(grid, axes=(0, 1, 3, 2, 4, 5)), shape=(-3, 0, -3, -2))
    images = F.reshape(F.reshape(data, shape=(0, -4, groups, -1, -2)), shape=(-3, -2))
    samples = F.BilinearSampler(images, grid)  # (N*G, C/G, k*k*Ho, Wo)
    samples = F.reshape(samples, shape=(-4, -1, groups, 0, -4, taps, -1, 0))  # (N, G, C/G, k*k, Ho, Wo)
    samples = F.broadcast_mul(samples, scale)
    # (N, C*k*k, Ho, Wo), channel-major and tap-minor like the weight's (C, kh, kw) flattened.
    columns = F.reshape(F.reshape(samples, shape=(0, -3, -2)), shape=(0, -3, -2))
    flat = F.reshape(weight, shape=(0, -1, 1, 1))
    args = dict(kernel=(1, 1), num_filter=num_filter, num_group=num_group, **({"attr": mark} if mark else {}))
    if bias is None:
        return F.Convolution(columns, flat, no_bias=True, **args)
    return F.Convolution(columns, flat, bias, **args)


def offset_convolution(F, x, weight, bias=None, **kwargs):
    """The offset branch: a ``Convolution`` with the block's offset arguments."""
    if bias is None:
        return F.Convolution(x, weight, **kwargs)
    return F.Convolution(x, weight, bias, **kwargs)


class _Composite:
    """What the composite blocks share: the offset branch by ``offsets``, the layer by ``compute``, and in a
    symbolic trace the layer's mark, so that reports recognise it as they do in rewritten graphs."""

    impl = "sampled"

    def _branch_name(self, F):
        return {"name": "offset"} if F is mx.sym else {}

    def _mark(self, F, version, offset):
        if F is not mx.sym:
            return None
        kwargs = self._kwargs_deformable_conv
        return composite_mark(version, self.impl, self.deformable_conv_weight.name, offset.name, kwargs["kernel"],
                              kwargs["stride"], kwargs["pad"], kwargs["dilate"], kwargs["num_group"],
                              kwargs["num_deformable_group"])


class SampledDeformableConvolution(_Composite, DeformableConvolution):
    """MXNet's ``DeformableConvolution`` block, same parameters and names: the offset branch by ``offsets``,
    the layer by ``compute`` (``sampled_deformable_convolution``)."""

    offsets = staticmethod(offset_convolution)
    compute = staticmethod(sampled_deformable_convolution)

    def hybrid_forward(self, F, x, offset_weight, deformable_conv_weight, offset_bias=None,
                       deformable_conv_bias=None):
        offset = self.offsets(F, x, offset_weight, offset_bias, **self._branch_name(F), **self._kwargs_offset)
        out = self.compute(F, x, offset, deformable_conv_weight, deformable_conv_bias,
                           mark=self._mark(F, 1, offset), **self._kwargs_deformable_conv)
        return self.act(out) if self.act else out


class SampledModulatedDeformableConvolution(_Composite, ModulatedDeformableConvolution):
    """MXNet's ``ModulatedDeformableConvolution`` block (mask ``2*sigmoid``), same parameters and names,
    computed by ``offsets`` and ``compute`` (``sampled_deformable_convolution``); its backward runs on CPU."""

    offsets = staticmethod(offset_convolution)
    compute = staticmethod(sampled_deformable_convolution)

    def hybrid_forward(self, F, x, offset_weight, deformable_conv_weight, offset_bias=None,
                       deformable_conv_bias=None):
        offset = self.offsets(F, x, offset_weight, offset_bias, **self._branch_name(F), **self._kwargs_offset)
        shifts = F.slice_axis(offset, axis=1, begin=0, end=self.offset_split_index)
        mask = F.sigmoid(F.slice_axis(offset, axis=1, begin=self.offset_split_index, end=None)) * 2
        out = self.compute(F, x, shifts, deformable_conv_weight, deformable_conv_bias, mask,
                           mark=self._mark(F, 2, offset), **self._kwargs_deformable_conv)
        return self.act(out) if self.act else out

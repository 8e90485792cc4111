"""ONNX converters for MXNet's deformable convolutions, registered with MXNet's own exporter (``mx2onnx``).

MXNet 1.9.1's ``mx2onnx`` has no converter for ``_contrib_DeformableConvolution`` or
``_contrib_ModulatedDeformableConvolution``; ONNX has had ``DeformConv`` since opset 19. Importing this module
registers both converters, and one for ``_contrib_BilinearResize2D`` in its ``like`` mode (a segmenter's scores
resized to its input), which ``mx2onnx`` refuses. Written by hand because no library provides them.

- v2 maps one to one: MXNet's modulated operator and ONNX's ``DeformConv`` sample the same way (bilinear,
  zero outside the image, a sample in ``(-1, H)`` interpolating towards zero).
- v1 does not: MXNet's ``DeformableConvolution`` counts a sample only inside ``[0, H) x [0, W)`` and clamps
  one in the last pixel's far half to that pixel. Mapped directly, the border samples would differ, so the
  converter adds the rule to the graph: a 0/1 mask (``DeformConv``'s mask input) keeps the inside samples, and
  the offsets of the clamped samples are pulled back to the last pixel.

Importing this module also gives ``onnx`` back its ``onnx.mapping`` module (removed in onnx 1.17), which
``mx2onnx`` still imports.
"""
import sys
import types
from typing import List

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from . import ONNX_OPSET

def _restore_onnx_mapping() -> None:
    if hasattr(onnx, "mapping"):
        return
    module = types.ModuleType("onnx.mapping")
    to_numpy = {}
    for value in TensorProto.DataType.values():
        try:
            to_numpy[value] = helper.tensor_dtype_to_np_dtype(value)
        except (KeyError, ValueError, TypeError):
            continue
    module.TENSOR_TYPE_TO_NP_TYPE = to_numpy
    module.NP_TYPE_TO_TENSOR_TYPE = {np.dtype(dtype): helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
                                     for dtype in ("float16", "float32", "float64", "int8", "int16", "int32",
                                                   "int64", "uint8", "bool")}
    onnx.mapping = module
    sys.modules["onnx.mapping"] = module


_restore_onnx_mapping()

from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph  # noqa: E402  (needs onnx.mapping)
from mxnet.onnx.mx2onnx._op_translations._op_translations_opset12 import (  # noqa: E402
    convert_contrib_BilinearResize2D, convert_string_to_list, get_inputs)


def _attributes(attrs: dict) -> dict:
    kernel = convert_string_to_list(attrs["kernel"])
    ones = [1] * len(kernel)
    zeros = [0] * len(kernel)
    pad = convert_string_to_list(attrs.get("pad", "()")) or zeros
    return dict(kernel_shape=kernel, strides=convert_string_to_list(attrs.get("stride", "()")) or ones,
                dilations=convert_string_to_list(attrs.get("dilate", "()")) or ones, pads=pad + pad,
                group=int(attrs.get("num_group", 1)), offset_group=int(attrs.get("num_deformable_group", 1)))


def _has_bias(attrs: dict) -> bool:
    return attrs.get("no_bias", "False") not in ("True", "1", "true")


def _constant(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def _v1_border_rule(name: str, data: str, offset: str, options: dict) -> List[onnx.NodeProto]:
    """Nodes that turn MXNet v1's ``offset`` into the offset and mask that make ONNX ``DeformConv`` sample as
    MXNet's ``DeformableConvolution`` does. Outputs ``<name>_v1_offset`` and ``<name>_v1_mask``."""
    kh, kw = options["kernel_shape"]
    groups = options["offset_group"]
    taps = np.arange(kh * kw)
    # Per offset channel pair (y, x): the tap's row and column in the kernel, repeated for every group.
    tap_rows = np.tile(taps // kw * options["dilations"][0], groups).astype(np.float32).reshape(1, -1, 1, 1)
    tap_cols = np.tile(taps % kw * options["dilations"][1], groups).astype(np.float32).reshape(1, -1, 1, 1)
    p = name + "_v1_"
    nodes = [
        _constant(p + "tap_rows", tap_rows), _constant(p + "tap_cols", tap_cols),
        _constant(p + "zero_i", np.array(0, np.int64)), _constant(p + "one_i", np.array(1, np.int64)),
        _constant(p + "one", np.array(1, np.float32)), _constant(p + "zero", np.array(0, np.float32)),
        # Offsets of the rows (even channels) and of the columns (odd channels), (N, G*k*k, Ho, Wo) each.
        _constant(p + "starts_y", np.array([0], np.int64)), _constant(p + "starts_x", np.array([1], np.int64)),
        _constant(p + "ends", np.array([np.iinfo(np.int64).max], np.int64)),
        _constant(p + "axis1", np.array([1], np.int64)), _constant(p + "step2", np.array([2], np.int64)),
        helper.make_node("Slice", [offset, p + "starts_y", p + "ends", p + "axis1", p + "step2"], [p + "dy"]),
        helper.make_node("Slice", [offset, p + "starts_x", p + "ends", p + "axis1", p + "step2"], [p + "dx"]),
        # Output grid: row i samples from i*stride - pad (+ tap row + offset); the sizes come from the tensors.
        helper.make_node("Shape", [offset], [p + "out_shape"], start=2, end=4),
        helper.make_node("Shape", [data], [p + "in_shape"], start=2, end=4),
        helper.make_node("Cast", [p + "in_shape"], [p + "in_size"], to=TensorProto.FLOAT),
        helper.make_node("Gather", [p + "out_shape", p + "zero_i"], [p + "out_h"], axis=0),
        helper.make_node("Gather", [p + "out_shape", p + "one_i"], [p + "out_w"], axis=0),
        helper.make_node("Gather", [p + "in_size", p + "zero_i"], [p + "in_h"], axis=0),
        helper.make_node("Gather", [p + "in_size", p + "one_i"], [p + "in_w"], axis=0),
        helper.make_node("Range", [p + "zero_i", p + "out_h", p + "one_i"], [p + "rows_i"]),
        helper.make_node("Range", [p + "zero_i", p + "out_w", p + "one_i"], [p + "cols_i"]),
        helper.make_node("Cast", [p + "rows_i"], [p + "rows_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", [p + "cols_i"], [p + "cols_f"], to=TensorProto.FLOAT),
    ]
    for axis, (index, length) in enumerate([("rows", "out_h"), ("cols", "out_w")]):
        stride, shift = p + "stride_{}".format(axis), p + "shift_{}".format(axis)
        nodes += [
            _constant(stride, np.array(options["strides"][axis], np.float32)),
            _constant(shift, np.array(-options["pads"][axis], np.float32)),
            helper.make_node("Mul", [p + index + "_f", stride], [p + index + "_scaled"]),
            helper.make_node("Add", [p + index + "_scaled", shift], [p + index + "_start"]),
        ]
    nodes += [
        _constant(p + "rows_shape", np.array([1, 1, -1, 1], np.int64)),
        _constant(p + "cols_shape", np.array([1, 1, 1, -1], np.int64)),
        helper.make_node("Reshape", [p + "rows_start", p + "rows_shape"], [p + "rows_grid"]),
        helper.make_node("Reshape", [p + "cols_start", p + "cols_shape"], [p + "cols_grid"]),
        helper.make_node("Add", [p + "rows_grid", p + "tap_rows"], [p + "base_y"]),
        helper.make_node("Add", [p + "cols_grid", p + "tap_cols"], [p + "base_x"]),
        helper.make_node("Add", [p + "dy", p + "base_y"], [p + "y"]),
        helper.make_node("Add", [p + "dx", p + "base_x"], [p + "x"]),
    ]
    inside: List[str] = []
    for coord, size in (("y", "in_h"), ("x", "in_w")):
        nodes += [
            helper.make_node("GreaterOrEqual", [p + coord, p + "zero"], [p + coord + "_from_0"]),
            helper.make_node("Less", [p + coord, p + size], [p + coord + "_below_end"]),
            helper.make_node("And", [p + coord + "_from_0", p + coord + "_below_end"], [p + coord + "_inside"]),
            # A sample past the last pixel (but inside) reads the last pixel: move it back by the excess.
            helper.make_node("Sub", [p + size, p + "one"], [p + coord + "_last"]),
            helper.make_node("Sub", [p + coord, p + coord + "_last"], [p + coord + "_past"]),
            helper.make_node("Relu", [p + coord + "_past"], [p + coord + "_excess"]),
            helper.make_node("Sub", [p + "d" + coord, p + coord + "_excess"], [p + "d" + coord + "_clamped"]),
            helper.make_node("Unsqueeze", [p + "d" + coord + "_clamped", p + "axes_pair"], [p + coord + "_pair"]),
        ]
        inside.append(p + coord + "_inside")
    nodes += [
        _constant(p + "axes_pair", np.array([2], np.int64)),
        helper.make_node("And", inside, [p + "inside"]),
        helper.make_node("Cast", [p + "inside"], [p + "mask"], to=TensorProto.FLOAT),
        # Interleave (dy, dx) back into MXNet's and ONNX's channel order: (N, G*k*k, 2, Ho, Wo) -> (N, 2*G*k*k, ...).
        helper.make_node("Concat", [p + "y_pair", p + "x_pair"], [p + "pairs"], axis=2),
        helper.make_node("Shape", [offset], [p + "offset_shape"]),
        helper.make_node("Reshape", [p + "pairs", p + "offset_shape"], [p + "offset"]),
    ]
    return nodes


def _deform_conv(name: str, data: str, weight: str, offset: str, bias: str, mask: str,
                 options: dict) -> onnx.NodeProto:
    inputs = [data, weight, offset, bias, mask]
    while inputs[-1] == "":
        inputs.pop()
    return helper.make_node("DeformConv", inputs, [name], name=name, **options)


@MXNetGraph.register("_contrib_DeformableConvolution", ONNX_OPSET)
def convert_deformable_convolution(node: dict, **kwargs) -> List[onnx.NodeProto]:
    """MXNet's ``DeformableConvolution`` (v1): its border rule (mask and clamped offsets), then ``DeformConv``."""
    name, inputs, attrs = get_inputs(node, kwargs)
    options = _attributes(attrs)
    data, offset, weight = inputs[:3]
    bias = inputs[3] if _has_bias(attrs) else ""
    nodes = _v1_border_rule(name, data, offset, options)
    # The constants that the rule's nodes read must come first in the node list (ONNX's topological order).
    nodes.sort(key=lambda n: n.op_type != "Constant")
    return nodes + [_deform_conv(name, data, weight, name + "_v1_offset", bias, name + "_v1_mask", options)]


@MXNetGraph.register("_contrib_ModulatedDeformableConvolution", ONNX_OPSET)
def convert_modulated_deformable_convolution(node: dict, **kwargs) -> List[onnx.NodeProto]:
    """MXNet's ``ModulatedDeformableConvolution`` (v2) as ``DeformConv`` with its mask input."""
    name, inputs, attrs = get_inputs(node, kwargs)
    data, offset, mask, weight = inputs[:4]
    bias = inputs[4] if _has_bias(attrs) else ""
    return [_deform_conv(name, data, weight, offset, bias, mask, _attributes(attrs))]


@MXNetGraph.register("_contrib_BilinearResize2D", ONNX_OPSET)
def convert_bilinear_resize(node: dict, **kwargs) -> List[onnx.NodeProto]:
    """``BilinearResize2D(x, like=y, mode='like')`` as ``Resize`` to ``y``'s height and width (MXNet's sampling:
    ``align_corners``); the other modes by ``mx2onnx``'s own converter."""
    name, inputs, attrs = get_inputs(node, kwargs)
    if attrs.get("mode", "size") != "like":
        return convert_contrib_BilinearResize2D(node, **kwargs)
    data, like = inputs[:2]
    return [_constant(name + "_start", np.array([0], np.int64)), _constant(name + "_two", np.array([2], np.int64)),
            _constant(name + "_four", np.array([4], np.int64)),
            helper.make_node("Shape", [data], [name + "_data_shape"]),
            helper.make_node("Shape", [like], [name + "_like_shape"]),
            helper.make_node("Slice", [name + "_data_shape", name + "_start", name + "_two"], [name + "_batch"]),
            helper.make_node("Slice", [name + "_like_shape", name + "_two", name + "_four"], [name + "_side"]),
            helper.make_node("Concat", [name + "_batch", name + "_side"], [name + "_sizes"], axis=0),
            helper.make_node("Resize", [data, "", "", name + "_sizes"], [name], mode="linear",
                             coordinate_transformation_mode="align_corners", name=name)]

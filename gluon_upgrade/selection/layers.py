"""Find every convolution of a Gluon network, in block trees and in symbol graphs, in forward order."""
import ast
import json
from dataclasses import dataclass, field, replace
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import mxnet as mx
from mxnet.gluon import Block, HybridBlock, SymbolBlock, nn
from mxnet.gluon.contrib.cnn import DeformableConvolution, ModulatedDeformableConvolution

CONVOLUTION = "Convolution"
DECONVOLUTION = "Deconvolution"
DEFORMABLE = "DeformableConvolution"
MODULATED = "ModulatedDeformableConvolution"

# Graph operator name -> layer kind, and where the weight sits among the operator's inputs.
GRAPH_OPS = {
    "Convolution": (CONVOLUTION, 1),
    "Deconvolution": (DECONVOLUTION, 1),
    "_contrib_DeformableConvolution": (DEFORMABLE, 2),
    "_contrib_ModulatedDeformableConvolution": (MODULATED, 3),
}
DEFORMABLE_OPS = ("_contrib_DeformableConvolution", "_contrib_ModulatedDeformableConvolution")
"""Graph operators of MXNet's deformable convolutions (v1, v2); the offsets are their second input."""
SAMPLED_MARK = "__deformable__"
"""Attribute of the last ``Convolution`` of a deformable layer composed of other operators (``impl="sampled"`` or
``"fast"``, in a graph or a traced block): the layer's description as JSON (``composite_mark``)."""
PADDED_MARK = "__offset_filters__"
"""Attribute of an offset-branch ``Convolution`` run with zero filters added (``impl="fast"``): its real filter
count, so that counts of arithmetic leave the padding out."""


@dataclass(frozen=True)
class ConvLayer:
    """One convolution of a network, either a child block or a node of a ``SymbolBlock``'s graph.

    Attributes
    ----------
    name : str
        Gluon name of the layer: its weight parameter's name without the ``_weight`` ending
        (``resnetv10_stage4_conv8``); unchanged by the upgrade.
    kind : str
        ``Convolution``, ``Deconvolution``, ``DeformableConvolution`` or ``ModulatedDeformableConvolution``.
    kernel, stride, padding, dilation : tuple of int
        One entry per spatial dimension.
    groups, in_channels, out_channels : int
        ``in_channels`` is 0 while the weight's shape is not known yet (deferred initialisation).
    use_bias : bool
    layout : str
    owner : Block
        The convolution block itself, or the ``SymbolBlock`` whose graph holds the node.
    node : str or None
        Name of the graph node; None for a block.
    weight_name : str
        Name of the main weight parameter (also the name of its variable in a traced graph).
    traced : bool
        Whether a symbolic trace of the network reached the layer (it then runs in inference).
    """

    name: str
    kind: str
    kernel: Tuple[int, ...]
    stride: Tuple[int, ...]
    padding: Tuple[int, ...]
    dilation: Tuple[int, ...]
    groups: int
    in_channels: int
    out_channels: int
    use_bias: bool
    layout: str
    owner: Block = field(compare=False, repr=False)
    node: Optional[str]
    weight_name: str
    traced: bool = False

    @property
    def deformable(self) -> bool:
        return self.kind in (DEFORMABLE, MODULATED)

    def describe(self) -> str:
        """One line for error messages: name, kernel, channels."""
        return "{} ({}, kernel {}, {}->{}{})".format(
            self.name, self.kind, "x".join(map(str, self.kernel)), self.in_channels or "?", self.out_channels,
            ", dilation {}".format(self.dilation[0]) if any(d != 1 for d in self.dilation) else "")


def walk_blocks(root: Block) -> Iterator[Tuple[str, Block]]:
    """Yield ``(structural path, block)`` for ``root`` and every descendant, each block once, depth first."""
    seen = set()
    stack = [("", root)]
    while stack:
        path, block = stack.pop()
        if id(block) in seen:
            continue
        seen.add(id(block))
        yield path, block
        children = list(block._children.items())
        for key, child in reversed(children):
            stack.append((key if not path else path + "." + key, child))


def param_shape(param) -> Tuple[int, ...]:
    """A parameter's shape; ``SymbolBlock.imports`` loads data but leaves ``Parameter.shape`` None."""
    shape = param.shape
    if (not shape or 0 in shape) and param._data is not None:
        shape = param._data[0].shape
    return tuple(shape or ())


def _strip_weight(name: str) -> str:
    for suffix in ("_weight", "weight"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _block_layer(block: Block) -> Optional[ConvLayer]:
    """Describe a convolution block, or return None for any other block."""
    if isinstance(block, (DeformableConvolution, ModulatedDeformableConvolution)):
        kwargs = block._kwargs_deformable_conv
        kind = MODULATED if isinstance(block, ModulatedDeformableConvolution) else DEFORMABLE
        weight = block.deformable_conv_weight
    elif isinstance(block, nn.conv_layers._Conv):
        kwargs = block._kwargs
        kind = DECONVOLUTION if block._op_name == "Deconvolution" else CONVOLUTION
        weight = block.weight
    else:
        return None
    groups = int(kwargs.get("num_group", 1))
    shape = param_shape(weight)
    if kind == DECONVOLUTION:
        in_channels = shape[0] if shape and shape[0] else 0
    else:
        in_channels = shape[1] * groups if len(shape) > 1 and shape[1] else 0
    return ConvLayer(
        name=block.name, kind=kind, kernel=tuple(kwargs["kernel"]), stride=tuple(kwargs["stride"]),
        padding=tuple(kwargs["pad"]), dilation=tuple(kwargs["dilate"]), groups=groups,
        in_channels=in_channels, out_channels=int(kwargs["num_filter"]), use_bias=not kwargs["no_bias"],
        layout=kwargs.get("layout") or "NCHW", owner=block, node=None, weight_name=weight.name)


def _literal(text: Optional[str], default):
    if text is None or text == "None":
        return default
    value = ast.literal_eval(text) if text not in ("True", "False", "true", "false") else text in ("True", "true")
    return tuple(value) if isinstance(value, (list, tuple)) else value


def parse_graph_node(node: dict, nodes: List[dict]) -> Optional[dict]:
    """Read a convolution node of a graph's JSON into plain values; None for any other operator.

    Returns a dict with ``kind``, ``kernel``, ``stride``, ``padding``, ``dilation``, ``groups``,
    ``out_channels``, ``use_bias``, ``layout``, ``weight_name`` and ``weight_is_variable``.
    """
    attrs = node.get("attrs", {})
    if node["op"] == "Convolution" and SAMPLED_MARK in attrs:
        return _sampled_node(attrs)
    if node["op"] not in GRAPH_OPS:
        return None
    kind, weight_pos = GRAPH_OPS[node["op"]]
    kernel = _literal(attrs.get("kernel"), ())
    ndim = len(kernel)
    inputs = node["inputs"]
    weight_node = nodes[inputs[weight_pos][0]] if len(inputs) > weight_pos else None
    no_bias = _literal(attrs.get("no_bias"), False)
    return dict(
        kind=kind, kernel=kernel, stride=_literal(attrs.get("stride"), (1,) * ndim) or (1,) * ndim,
        padding=_literal(attrs.get("pad"), (0,) * ndim) or (0,) * ndim,
        dilation=_literal(attrs.get("dilate"), (1,) * ndim) or (1,) * ndim,
        groups=int(_literal(attrs.get("num_group"), 1)), out_channels=int(attrs["num_filter"]),
        use_bias=not no_bias, layout=attrs.get("layout") if attrs.get("layout") not in (None, "None") else "NCHW",
        weight_name=weight_node["name"] if weight_node is not None else "",
        weight_is_variable=weight_node is not None and weight_node["op"] == "null")


def composite_mark(version: int, impl: str, weight: str, offset: str, kernel: Sequence[int], stride: Sequence[int],
                   pad: Sequence[int], dilate: Sequence[int], groups: int, deformable_groups: int) -> Dict[str, str]:
    """The attribute (``SAMPLED_MARK``) of a composite deformable layer's last ``Convolution``: the layer's DCN
    version, implementation, weight variable, offset-branch node and geometry, as ``_sampled_node`` reads them."""
    return {SAMPLED_MARK: json.dumps(dict(
        version=version, impl=impl, weight=weight, offset=offset, kernel=list(kernel), stride=list(stride),
        pad=list(pad), dilate=list(dilate), groups=int(groups), deformable_groups=int(deformable_groups)))}


def _sampled_node(attrs: dict) -> dict:
    layer = json.loads(attrs[SAMPLED_MARK])
    return dict(kind=MODULATED if layer["version"] == 2 else DEFORMABLE, kernel=tuple(layer["kernel"]),
                stride=tuple(layer["stride"]), padding=tuple(layer["pad"]), dilation=tuple(layer["dilate"]),
                groups=int(layer["groups"]), out_channels=int(attrs["num_filter"]),
                use_bias=not _literal(attrs.get("no_bias"), False), layout="NCHW", weight_name=layer["weight"],
                weight_is_variable=True)


def graph_json(block: SymbolBlock) -> dict:
    """The JSON graph (as a dict) of a ``SymbolBlock``."""
    return json.loads(block._cached_graph[1].tojson())


def _graph_layers(block: SymbolBlock) -> List[ConvLayer]:
    nodes = graph_json(block)["nodes"]
    params = block.collect_params()
    layers = []
    for node in nodes:
        info = parse_graph_node(node, nodes)
        if info is None or not info["weight_is_variable"]:
            continue
        shape = param_shape(params[info["weight_name"]]) if info["weight_name"] in params else ()
        if info["kind"] == DECONVOLUTION:
            in_channels = shape[0] if shape and shape[0] else 0
        else:
            in_channels = shape[1] * info["groups"] if len(shape) > 1 and shape[1] else 0
        layers.append(ConvLayer(
            name=_strip_weight(info["weight_name"]), kind=info["kind"], kernel=info["kernel"],
            stride=info["stride"], padding=info["padding"], dilation=info["dilation"], groups=info["groups"],
            in_channels=in_channels, out_channels=info["out_channels"], use_bias=info["use_bias"],
            layout=info["layout"], owner=block, node=node["name"], weight_name=info["weight_name"]))
    return layers


def traced_symbol(net: Block) -> Optional[mx.sym.Symbol]:
    """The inference graph of ``net`` on one input named ``data`` (its outputs grouped), or None when ``net``
    cannot be traced that way (a plain ``Block``, several inputs, a network that refuses symbols)."""
    if not isinstance(net, HybridBlock):
        return None
    try:
        with mx.autograd.predict_mode():
            out = net(mx.sym.var("data"))
    except Exception:  # any failure of a user network's symbolic pass means "not traceable"
        return None
    flat = []
    stack = [out]
    while stack:
        item = stack.pop(0)
        if isinstance(item, (list, tuple)):
            stack[:0] = list(item)
        else:
            flat.append(item)
    return flat[0] if len(flat) == 1 else mx.sym.Group(flat)


def trace_order(net: Block) -> Optional[List[str]]:
    """Weight names of the convolutions a symbolic inference pass runs, in the order it runs them.

    Returns None when the network cannot be traced with one symbolic input (a plain ``Block`` child, or
    several inputs).
    """
    if isinstance(net, SymbolBlock):
        graph = graph_json(net)
    else:
        sym = traced_symbol(net)
        if sym is None:
            return None
        graph = json.loads(sym.tojson())
    nodes = graph["nodes"]
    order = []
    for node in nodes:
        info = parse_graph_node(node, nodes)
        if info is not None and info["weight_is_variable"]:
            order.append(info["weight_name"])
    return order


def conv_layers(net: Block) -> List[ConvLayer]:
    """Every convolution of ``net`` (standard, transposed and deformable; blocks and graph nodes).

    Layers reached by a symbolic inference pass come first, in the order that pass runs them, marked
    ``traced=True``; the others follow in registration order.

    Parameters
    ----------
    net : Block
        Any Gluon network; ``SymbolBlock`` children (GluonCV's ``FeatureExpander``) are searched too.

    Returns
    -------
    list of ConvLayer
    """
    found: List[ConvLayer] = []
    for _, block in walk_blocks(net):
        if isinstance(block, SymbolBlock):
            found.extend(_graph_layers(block))
        else:
            layer = _block_layer(block)
            if layer is not None:
                found.append(layer)
    order = trace_order(net) or []
    rank: Dict[str, int] = {}
    for i, weight_name in enumerate(order):
        rank.setdefault(weight_name, i)
    traced = sorted((l for l in found if l.weight_name in rank), key=lambda l: rank[l.weight_name])
    rest = [l for l in found if l.weight_name not in rank]
    return [replace(l, traced=True) for l in traced] + rest

"""Rewrite a symbol graph: ``Convolution`` nodes become offset ``Convolution`` + deformable convolution
(MXNet's operator, or with ``impl="sampled"`` or ``"fast"`` the composite of ``surgery.sampled`` or
``surgery.fast``).

Works on the graph's JSON so that any graph MXNet can load can be rewritten, whatever built it (a GluonCV
``FeatureExpander``, an exported ``*-symbol.json``). Each replacement subgraph is built with MXNet's Symbol API
and spliced in place of the convolution node; every other node is copied unchanged. No library rewrites
MXNet graphs this way, hence the hand-written splice.
"""
import json
from dataclasses import dataclass
from functools import partial
from typing import Dict, List, Mapping, Tuple

import mxnet as mx

from ..errors import UpgradeError
from ..selection.layers import CONVOLUTION, composite_mark, parse_graph_node
from .deformable import Impl, Version, offset_channels
from .fast import fast_deformable_convolution, padded_offset_convolution
from .sampled import offset_convolution, sampled_deformable_convolution

COMPOSITES = {"sampled": sampled_deformable_convolution, "fast": fast_deformable_convolution}
"""Implementations that splice a subgraph of several operators in place of the convolution node."""

Entry = List[int]  # [node index, output index, version], as MXNet's graph JSON writes node inputs


@dataclass(frozen=True)
class NodeUpgrade:
    """How to upgrade one convolution node: DCN version, deformable groups and the layer's input channels."""

    version: Version
    deformable_groups: int
    in_channels: int
    impl: Impl = "mxnet"


def offset_param_names(layer_name: str) -> Tuple[str, str]:
    """Names of the offset branch's weight and bias for a layer (``<layer>_offset_weight``/``_bias``)."""
    return layer_name + "_offset_weight", layer_name + "_offset_bias"


def _replacement(node: dict, info: dict, spec: NodeUpgrade) -> Tuple[dict, Dict[str, Tuple[int, ...]]]:
    """JSON of the deformable subgraph for one node, with inputs ``data``, the weight and the bias variables."""
    layer = info["weight_name"][: -len("_weight")] if info["weight_name"].endswith("_weight") else node["name"]
    kernel = info["kernel"]
    channels = offset_channels(kernel, spec.version, spec.deformable_groups)
    offset_weight, offset_bias = offset_param_names(layer)
    common = dict(kernel=kernel, stride=info["stride"], pad=info["padding"], dilate=info["dilation"])
    data = mx.sym.var("data")
    shapes = {offset_weight: (channels, spec.in_channels) + tuple(kernel), offset_bias: (channels,)}
    branch = padded_offset_convolution if spec.impl == "fast" else offset_convolution
    # Shapes on the variables: MXNet cannot infer them backwards through the padding of impl="fast".
    offset = branch(mx.sym, data, mx.sym.var(offset_weight, shape=shapes[offset_weight]),
                    mx.sym.var(offset_bias, shape=shapes[offset_bias]), num_filter=channels, num_group=1,
                    cudnn_off=True, name=layer + "_offset", **common)
    weight = mx.sym.var(info["weight_name"])
    bias = mx.sym.var("bias") if info["use_bias"] else None
    deform = dict(num_filter=info["out_channels"], num_group=info["groups"],
                  num_deformable_group=spec.deformable_groups, **common)
    mask = None
    if spec.version == 2:
        split = 2 * kernel[0] * kernel[1] * spec.deformable_groups
        logits = mx.sym.slice_axis(offset, axis=1, begin=split, end=None, name=layer + "_offset_mask")
        offset = mx.sym.slice_axis(offset, axis=1, begin=0, end=split, name=layer + "_offset_shift")
        # MXNet's ModulatedDeformableConvolution block uses 2*sigmoid: a mask of exactly 1 at zero init.
        mask = mx.sym._internal._mul_scalar(mx.sym.sigmoid(logits, name=layer + "_mask_sigmoid"), scalar=2.0,
                                            name=layer + "_mask")
    if spec.impl in COMPOSITES:
        # Every operator of the composite is named under the layer, so that graph names stay unique.
        with mx.name.Prefix("{}_{}_".format(layer, spec.impl)):
            out = COMPOSITES[spec.impl](mx.sym, data, offset, weight, bias, mask, **deform)
        template = json.loads(out.tojson())
        head = template["nodes"][template["heads"][0][0]]
        head["name"] = node["name"]
        head.setdefault("attrs", {}).update(composite_mark(
            spec.version, spec.impl, info["weight_name"], layer + "_offset", kernel, info["stride"],
            info["padding"], info["dilation"], info["groups"], spec.deformable_groups))
    else:
        extra = {"bias": bias} if bias is not None else {}
        operator = mx.sym.contrib.DeformableConvolution if mask is None else partial(
            mx.sym.contrib.ModulatedDeformableConvolution, mask=mask)
        out = operator(data=data, offset=offset, weight=weight, no_bias=bias is None, name=node["name"], **extra,
                       **deform)
        template = json.loads(out.tojson())
    return template, shapes


def rewrite_graph(graph: dict, targets: Mapping[str, NodeUpgrade]) -> Tuple[dict, Dict[str, Tuple[int, ...]]]:
    """Replace the named ``Convolution`` nodes of a graph by deformable convolutions with a zero offset branch.

    Parameters
    ----------
    graph : dict
        A symbol's JSON as a dict (``json.loads(sym.tojson())``).
    targets : mapping of node name to NodeUpgrade
        The convolution nodes to replace. The deformable node keeps the convolution's node name and its
        weight and bias variables, so trained parameters carry over by name.

    Returns
    -------
    graph : dict
        The rewritten JSON (load with ``mx.sym.load_json(json.dumps(graph))``).
    new_params : dict of str to shape
        The offset-branch parameters the rewritten graph adds: ``<layer>_offset_weight`` of shape
        ``(C_off, in_channels, kh, kw)`` and ``<layer>_offset_bias`` of shape ``(C_off,)``, with
        ``C_off = 2*kh*kw*deformable_groups`` (v1) or ``3*kh*kw*deformable_groups`` (v2).

    Raises
    ------
    UpgradeError
        A target that is not a convolution node of the graph, or a new name that is already taken.
    """
    nodes = graph["nodes"]
    names = {n["name"] for n in nodes}
    missing = sorted(set(targets) - names)
    if missing:
        raise UpgradeError("no node named {} in the graph".format(", ".join(missing)))
    new_nodes: List[dict] = []
    moved: Dict[int, int] = {}
    new_params: Dict[str, Tuple[int, ...]] = {}

    def remap(entry: Entry) -> Entry:
        return [moved[entry[0]], entry[1], entry[2] if len(entry) > 2 else 0]

    for index, node in enumerate(nodes):
        spec = targets.get(node["name"])
        if spec is None:
            copy = dict(node, inputs=[remap(e) for e in node["inputs"]])
            new_nodes.append(copy)
            moved[index] = len(new_nodes) - 1
            continue
        info = parse_graph_node(node, nodes)
        if info is None or info["kind"] != CONVOLUTION:
            raise UpgradeError("graph node {} is a {}, not a Convolution".format(node["name"], node["op"]))
        template, shapes = _replacement(node, info, spec)
        taken = names.intersection(shapes)
        if taken:
            raise UpgradeError("cannot upgrade {}: the graph already has {}".format(node["name"], sorted(taken)))
        new_params.update(shapes)
        outer = {"data": remap(node["inputs"][0]), info["weight_name"]: remap(node["inputs"][1])}
        if info["use_bias"]:
            outer["bias"] = remap(node["inputs"][2])
        passed: Dict[int, Entry] = {}  # template variables standing for the convolution's own inputs
        placed: Dict[int, int] = {}  # template node -> its index in the new graph

        def resolve(entry: Entry) -> Entry:
            if entry[0] in passed:
                return passed[entry[0]]
            return [placed[entry[0]], entry[1], entry[2] if len(entry) > 2 else 0]

        for t_index, t_node in enumerate(template["nodes"]):
            if t_node["op"] == "null" and t_node["name"] in outer:
                passed[t_index] = outer[t_node["name"]]
                continue
            new_nodes.append(dict(t_node, inputs=[resolve(e) for e in t_node["inputs"]]))
            placed[t_index] = len(new_nodes) - 1
        moved[index] = placed[template["heads"][0][0]]
    result = {key: value for key, value in graph.items() if key not in ("nodes", "arg_nodes", "heads",
                                                                           "node_row_ptr")}
    result["nodes"] = new_nodes
    result["arg_nodes"] = [i for i, n in enumerate(new_nodes) if n["op"] == "null"]
    result["heads"] = [remap(e) for e in graph["heads"]]
    return result, new_params

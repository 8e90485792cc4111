"""Multiply-accumulate counts of a network's convolutions, from its symbolic trace.

Neither MXNet nor GluonCV counts operations, so this is written by hand. It counts the layers that dominate a
detector's cost: convolutions (the offset branches included), the deformable convolutions' main product and
their bilinear sampling, and fully connected layers. Element-wise layers, pooling and post-processing are
left out.
"""
import json
from typing import Dict, Sequence

import mxnet as mx
import numpy as np

from ..selection.layers import CONVOLUTION, DECONVOLUTION, GRAPH_OPS, MODULATED, PADDED_MARK, parse_graph_node

SAMPLING_MACS = 4
"""Multiply-accumulates per bilinearly sampled value (four neighbours, four weights)."""


def _trace(net: mx.gluon.HybridBlock) -> mx.sym.Symbol:
    out = net(mx.sym.var("data"))
    return mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out


def count_macs(net: mx.gluon.HybridBlock, input_shape: Sequence[int]) -> Dict[str, int]:
    """Multiply-accumulates per image of ``net`` on an input of ``input_shape`` (N, C, H, W), by kind.

    Returns
    -------
    dict
        ``convolution`` (standard convolutions, offset branches included), ``deformable`` (the deformable
        layers' products with their weights), ``sampling`` (their bilinear sampling, ``SAMPLING_MACS`` per
        sampled value, and v2's mask product, one per value), ``dense`` and ``total``.
    """
    sym = _trace(net)
    internals = sym.get_internals()
    arg_shapes, out_shapes, _ = internals.infer_shape(data=tuple(input_shape))
    shapes = dict(zip(internals.list_arguments(), arg_shapes))
    shapes.update(zip(internals.list_outputs(), out_shapes))
    nodes = json.loads(sym.tojson())["nodes"]

    def shape_of(entry):
        node = nodes[entry[0]]
        if node["op"] == "null":
            return shapes[node["name"]]
        name = node["name"] + "_output"
        return shapes[name] if name in shapes else shapes[name + str(entry[1])]

    counts = {"convolution": 0, "deformable": 0, "sampling": 0, "dense": 0}
    for node in nodes:
        if node["op"] == "FullyConnected":
            counts["dense"] += int(np.prod(shape_of(node["inputs"][1])))
            continue
        # Standard and deformable convolutions, MXNet's operators and the sampled and fast composites alike.
        info = parse_graph_node(node, nodes)
        if info is None or info["kind"] == DECONVOLUTION:
            continue
        weight = shapes[info["weight_name"]] if info["weight_is_variable"] else shape_of(
            node["inputs"][GRAPH_OPS[node["op"]][1]])
        positions = int(np.prod(shapes[node["name"] + "_output"][2:]))
        product = int(np.prod(weight)) * positions
        if info["kind"] == CONVOLUTION:
            # An offset branch padded with zero filters (impl="fast") counts its real filters only.
            real = int(node.get("attrs", {}).get(PADDED_MARK, weight[0]))
            counts["convolution"] += product // weight[0] * real
            continue
        counts["deformable"] += product
        samples = weight[1] * info["groups"] * int(np.prod(weight[2:])) * positions
        counts["sampling"] += samples * (SAMPLING_MACS + (1 if info["kind"] == MODULATED else 0))
    counts["total"] = sum(counts.values())
    return counts

"""Cut a network at its raw head outputs: the prediction layers, before box decoding and non-maximum suppression."""
import json
from typing import Optional

import mxnet as mx
from mxnet.gluon import Block, SymbolBlock

from .layers import DEFORMABLE_OPS, traced_symbol


def head_outputs(sym: mx.sym.Symbol) -> mx.sym.Symbol:
    """The graph cut at its raw head outputs: every convolution or fully connected layer (deformable ones and
    composites included) from which no other such layer is reached. For a detector these are its prediction
    layers, before box decoding and non-maximum suppression; for a classifier, its last layer."""
    nodes = json.loads(sym.tojson())["nodes"]
    layers = {index for index, node in enumerate(nodes)
              if node["op"] in ("Convolution", "FullyConnected") + DEFORMABLE_OPS}
    feeds_layer = [False] * len(nodes)  # a layer is reached downstream of this node
    for index in reversed(range(len(nodes))):
        for entry in nodes[index]["inputs"]:
            if index in layers or feeds_layer[index]:
                feeds_layer[entry[0]] = True
    internals = sym.get_internals()
    return mx.sym.Group([internals[nodes[index]["name"] + "_output"] for index in sorted(layers)
                         if not feeds_layer[index]])


def head_block(net: Block) -> Optional[SymbolBlock]:
    """``net`` cut at its raw head outputs (``head_outputs``), sharing its parameters; None when ``net`` cannot
    be traced on one input."""
    sym = traced_symbol(net)
    if sym is None:
        return None
    return SymbolBlock(head_outputs(sym), [mx.sym.var("data")], params=net.collect_params())

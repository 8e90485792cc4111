"""Upgrade convolutions that are nodes of a ``SymbolBlock``'s graph, rebuilding the block in place."""
import json
from typing import Iterable

import mxnet as mx
from mxnet.gluon import SymbolBlock

from ..selection.layers import ConvLayer, graph_json
from .deformable import Impl, Version, check_channels
from .graph import NodeUpgrade, rewrite_graph


def upgrade_graph_layers(block: SymbolBlock, layers: Iterable[ConvLayer], version: Version,
                         deformable_groups: int, impl: Impl = "mxnet") -> SymbolBlock:
    """Rewrite ``block``'s graph so the given layers (nodes of it) are deformable, keeping the block object.

    ``impl`` is ``"mxnet"`` (MXNet's deformable operators), ``"sampled"`` or ``"fast"`` (the same layer
    composed of other operators, ``surgery.sampled`` or ``surgery.fast``). Existing parameters are shared, not
    copied: the rebuilt block holds the same ``Parameter`` objects, so trained values, contexts, dtypes and
    ``lr_mult`` stay. The offset parameters are new, zero, on the contexts and in the dtype of the layer's weight.
    ``_reg_params`` (the names ``save_parameters`` writes) are recomputed as ``SymbolBlock`` computes them.

    Returns
    -------
    SymbolBlock
        ``block`` itself.
    """
    layers = list(layers)
    targets = {}
    for layer in layers:
        check_channels(layer, deformable_groups, version)
        targets[layer.node] = NodeUpgrade(version, deformable_groups, layer.in_channels, impl)
    graph, new_shapes = rewrite_graph(graph_json(block), targets)
    outputs = mx.sym.load_json(json.dumps(graph))
    old_params = block.collect_params()
    fresh = SymbolBlock(outputs, list(block._cached_graph[0]), params=old_params)
    new_params = fresh.collect_params()
    for layer in layers:
        weight = old_params[layer.weight_name]
        for name in (layer.name + "_offset_weight", layer.name + "_offset_bias"):
            param = new_params[name]
            param.shape = new_shapes[name]
            param.cast(weight.dtype)
            param.initialize(init=mx.init.Zero(), ctx=weight.list_ctx())
    block._cached_graph = fresh._cached_graph
    block._params = fresh._params
    block._reg_params = fresh._reg_params
    block._clear_cached_op()
    return block

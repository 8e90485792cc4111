"""Write an upgraded network to disk: Gluon parameters, or MXNet's symbol + params deployment format."""
import os
from typing import List, Sequence

import mxnet as mx
from mxnet.gluon import Block, SymbolBlock

from ..runtime import net_context
from ..verify import run_inference


def save_network(net: Block, prefix: str, symbolic: bool, input_shape: Sequence[int]) -> List[str]:
    """Save ``net`` under ``prefix`` and return the paths written.

    Parameters
    ----------
    symbolic : bool
        False: ``PREFIX.params`` (``save_parameters``; load into a network upgraded the same way).
        True: ``PREFIX-symbol.json`` + ``PREFIX-0000.params`` (``export``; load with
        ``SymbolBlock.imports``). A ``SymbolBlock`` is always exported this way.
    input_shape : sequence of int
        Shape of the forward pass that traces the graph before ``export``.
    """
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    if not symbolic and not isinstance(net, SymbolBlock):
        net.save_parameters(prefix + ".params")
        return [prefix + ".params"]
    if not isinstance(net, SymbolBlock):
        net.hybridize()
        run_inference(net, mx.nd.zeros(tuple(input_shape), ctx=net_context(net)))
    net.export(prefix, epoch=0)
    return [prefix + "-symbol.json", prefix + "-0000.params"]

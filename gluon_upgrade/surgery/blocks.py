"""Swap a child block for another everywhere a block tree refers to it."""
from mxnet.gluon import Block, HybridBlock

from ..selection.layers import walk_blocks


def replace_block(root: Block, old: Block, new: Block) -> int:
    """Put ``new`` wherever ``old`` is a child (registered child or attribute) in ``root``'s tree.

    ``Block.__setattr__`` refuses to change an attribute's type, and ``HybridSequential`` keeps its layers
    only in ``_children``, so both places are rewritten directly.

    Returns
    -------
    int
        How many references were replaced (0 when ``old`` is not in the tree).
    """
    replaced = 0
    for _, block in walk_blocks(root):
        for key, child in list(block._children.items()):
            if child is old:
                block._children[key] = new
                replaced += 1
        for attr, value in list(vars(block).items()):
            if value is old:
                object.__setattr__(block, attr, new)
    return replaced


def clear_cached_graphs(root: Block) -> None:
    """Drop every hybridized block's cached graph so the next call traces the rewritten network."""
    for _, block in walk_blocks(root):
        if isinstance(block, HybridBlock):
            block._clear_cached_op()

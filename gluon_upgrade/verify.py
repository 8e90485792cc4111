"""Prove an upgrade changed nothing: the largest difference between two networks' outputs."""
import math
from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

import mxnet as mx
import numpy as np
from mxnet.gluon import Block


@dataclass(frozen=True)
class Difference:
    """Largest differences over every output array.

    Attributes
    ----------
    max_abs : float
        ``max |upgraded - original|`` over all elements of all outputs.
    max_rel : float
        Over outputs, the largest ``max |upgraded - original| / max |original|`` (finite values of the
        original). Equal elements count as no difference, inf and nan included; an element finite in
        one output and not in the other makes both numbers inf.
    outputs : int
        Number of output arrays compared (nested tuples and lists flattened).
    """

    max_abs: float
    max_rel: float
    outputs: int

    def within(self, rtol: float) -> bool:
        """Whether the relative difference is at most ``rtol``."""
        return self.max_rel <= rtol


def flatten_outputs(outputs: Any) -> List[mx.nd.NDArray]:
    """The arrays of a network's output, depth first through nested tuples and lists."""
    if isinstance(outputs, (list, tuple)):
        return [array for item in outputs for array in flatten_outputs(item)]
    return [outputs]


def output_difference(reference: Any, outputs: Any) -> Difference:
    """Compare two outputs of the same structure (arrays or nested tuples/lists of arrays).

    Raises
    ------
    ValueError
        When the structures or shapes differ.
    """
    ref, new = flatten_outputs(reference), flatten_outputs(outputs)
    if len(ref) != len(new):
        raise ValueError("the networks return {} and {} arrays".format(len(ref), len(new)))
    max_abs = max_rel = 0.0
    for i, (a, b) in enumerate(zip(ref, new)):
        a = a.asnumpy().astype(np.float64)
        b = b.asnumpy().astype(np.float64)
        if a.shape != b.shape:
            raise ValueError("output {} has shape {} then {}".format(i, a.shape, b.shape))
        if a.size == 0:
            continue
        # Random or saturated networks can output inf or nan; the same value in both counts as equal.
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if same.all():
            continue
        finite = np.isfinite(a) & np.isfinite(b)
        if not finite[~same].all():
            return Difference(math.inf, math.inf, len(ref))
        diff = float(np.abs(a - b)[~same].max())
        scale = float(np.abs(a[np.isfinite(a)]).max())
        rel = diff / scale if scale > 0 else math.inf
        max_abs, max_rel = max(max_abs, diff), max(max_rel, rel)
    return Difference(max_abs, max_rel, len(ref))


def run_inference(net: Block, *inputs: mx.nd.NDArray) -> Any:
    """Run ``net`` in inference mode (BatchNorm with running statistics, no dropout)."""
    with mx.autograd.predict_mode():
        return net(*inputs)


def compare_networks(original: Block, upgraded: Block, *inputs: mx.nd.NDArray) -> Difference:
    """Run both networks in inference mode on the same inputs and return the largest output differences.

    Examples
    --------
    >>> before = run_inference(net, x)            # upgrade works in place: keep the original's outputs
    >>> net = upgrade(net)
    >>> output_difference(before, run_inference(net, x)).max_rel < 1e-5
    True
    """
    return output_difference(run_inference(original, *inputs), run_inference(upgraded, *inputs))


def upgrade_verified(net: Block, inputs: Sequence[mx.nd.NDArray], **upgrade_kwargs) -> Tuple[Block, Difference]:
    """Upgrade ``net`` in place and measure how much its outputs on ``inputs`` changed.

    Parameters
    ----------
    net : Block
    inputs : sequence of NDArray
        The network's inputs for one inference pass.
    **upgrade_kwargs
        Passed to ``gluon_upgrade.upgrade`` (``layers``, ``version``, ``scope``, ``deformable_groups``).

    Returns
    -------
    net : Block
        The upgraded network (as ``upgrade`` returns it).
    difference : Difference
    """
    from .surgery.inplace import upgrade
    before = run_inference(net, *inputs)
    net = upgrade(net, **upgrade_kwargs)
    return net, output_difference(before, run_inference(net, *inputs))

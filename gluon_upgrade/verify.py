"""Prove an upgrade changed nothing, whatever the processor: a network's outputs before and after, compared where
the method promises equality, against a bound that float32 arithmetic itself sets.

The upgrade is exact in real arithmetic: a deformable convolution with zero offsets computes the sums its
convolution computed. In float32 it adds the same products in another order (MXNet's im2col + GEMM, against the
kernels oneDNN picks for the convolution by instruction set), so outputs differ in their last bits, and by how
much depends on the processor. ``verify_outputs`` therefore compares

- the **raw head outputs** (the prediction layers, cut by ``selection.heads.head_outputs`` before box decoding
  and non-maximum suppression), each tensor against its own largest value, with the bound of
  ``exactness_tolerance``;
- the **decoded detections** of a detector as detections (``detection_difference``): the same classes, scores
  and boxes within the same bound of their own scale, in any order, a detection at the top-k or threshold cut
  allowed to cross it;
- any other output as a tensor against its own scale, with the same bound.

An untrained box decoder exponentiates box regressions (boxes of 1e4-1e14 pixels), which turns rounding into
large absolute differences; the raw outputs are where the method's promise is made and checked.
"""
import math
from dataclasses import asdict, dataclass, replace
from typing import Any, List, Optional, Sequence, Tuple

import mxnet as mx
import numpy as np
from mxnet.gluon import Block

from .selection.heads import head_block
from .selection.layers import ConvLayer, conv_layers

UNIT_ROUNDOFF = 2.0 ** -24
"""float32's unit roundoff u: a rounded operation's relative error is at most u."""


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


def _numpy(outputs: Any) -> List[np.ndarray]:
    return [a.asnumpy() if isinstance(a, mx.nd.NDArray) else np.asarray(a) for a in flatten_outputs(outputs)]


def output_difference(reference: Any, outputs: Any) -> Difference:
    """Compare two outputs of the same structure (arrays or nested tuples/lists of arrays).

    Raises
    ------
    ValueError
        When the structures or shapes differ.
    """
    ref, new = _numpy(reference), _numpy(outputs)
    if len(ref) != len(new):
        raise ValueError("the networks return {} and {} arrays".format(len(ref), len(new)))
    max_abs = max_rel = 0.0
    for i, (a, b) in enumerate(zip(ref, new)):
        a, b = a.astype(np.float64), b.astype(np.float64)
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


def accumulation_bound(length: int) -> float:
    """``gamma_n = n u / (1 - n u)``: the worst relative error of a float32 sum of ``n`` products.

    Summed in any order (sequentially, pairwise, in blocks, with fused multiply-adds), the computed value of
    ``sum_i w_i x_i`` is within ``gamma_n * sum_i |w_i x_i|`` of the exact one (Higham, *Accuracy and Stability
    of Numerical Algorithms*, 2nd ed., section 3.1).
    """
    nu = length * UNIT_ROUNDOFF
    if nu >= 1:
        raise ValueError("a sum of {} float32 terms has no rounding bound".format(length))
    return nu / (1 - nu)


def reduction_length(layer: ConvLayer) -> int:
    """How many products each output of ``layer`` sums: input channels per group times kernel taps."""
    return layer.in_channels // layer.groups * int(np.prod(layer.kernel))


@dataclass(frozen=True)
class Tolerance:
    """The bound an upgraded network's outputs are held to, and where it comes from.

    Attributes
    ----------
    bound : float
        ``2 * accumulation_bound(reduction_length)``: the most by which two summation orders of the longest
        sum may disagree, relative to the sum of the magnitudes of its terms.
    reduction_length : int
        The longest sum (products per output) among the deformable layers and the convolutions that run after
        the first of them.
    layer : str
        The layer with that sum.
    """

    bound: float
    reduction_length: int
    layer: str


def exactness_tolerance(net: Block) -> Tolerance:
    """The relative bound for an upgraded network's outputs, each against its own largest value.

    The upgraded layer and the convolution it replaced differ only in the order in which they add the same
    ``K`` products (``K = reduction_length``), so their outputs differ by at most ``2 * gamma_K`` (both orders
    within ``gamma_K`` of the exact sum, ``accumulation_bound``), relative to the sum of the terms' magnitudes.
    The layers after it compute the same sums in both networks, on inputs that carry that difference; a later
    layer with a longer sum spreads it over more terms, so ``K`` is the longest sum among the deformable layers
    and every convolution traced after the first of them (all convolutions when the network cannot be traced).
    For a network whose activations are normalised (trained, or ``random_init``) the difference keeps its
    relative size through those layers; the bound is a worst case per sum, not a proof for every weight, and
    measured differences sit 100-1000x below it (``README``: exactness across instruction sets). It does not
    depend on the processor: a moved offset (half a pixel) changes outputs by 1e-2 to 1e-1 of their scale, far
    above it.

    Examples
    --------
    SSD512 ResNet-50: ``stage4``'s 3x3 convolutions sum 512 x 9 products, a class predictor on stage 4's output
    2048 x 9:

    >>> from gluon_upgrade import load_zoo_model, upgrade
    >>> net = upgrade(load_zoo_model("ssd_512_resnet50_v1_voc", random=True, input_shape=(1, 3, 128, 128)))
    >>> exactness_tolerance(net)  # doctest: +ELLIPSIS
    Tolerance(bound=0.0021996..., reduction_length=18432, layer='ssd0_convpredictor2_conv0')
    """
    layers = [l for l in conv_layers(net) if l.in_channels]
    traced = [l for l in layers if l.traced]
    first = next((i for i, l in enumerate(traced) if l.deformable), None)
    candidates = [l for l in layers if l.deformable] + (traced[first:] if first is not None else layers)
    if not candidates:
        raise ValueError("the network has no convolution whose shape is known")
    longest = max(candidates, key=reduction_length)
    length = reduction_length(longest)
    return Tolerance(2 * accumulation_bound(length), length, longest.name)


@dataclass(frozen=True)
class DetectionDifference:
    """Decoded detections (ids, scores, boxes) of two networks, compared as detections.

    Attributes
    ----------
    detections : int
        Valid detections (class id >= 0) of the original network, over the batch.
    unmatched : int
        Of them, those with no partner in the other network's detections (same class, score and box within
        the tolerance of their own scale), apart from detections at the cut (``at_cut``).
    at_cut : int
        Detections without a partner whose score is within the tolerance of the lowest kept score: rounding
        may move them across the top-k or score-threshold cut.
    max_score_diff : float
        Largest score difference between partners, relative to the largest score.
    max_box_diff : float
        Largest box-coordinate difference between partners, relative to the largest coordinate of the image's
        detections.
    """

    detections: int
    unmatched: int
    at_cut: int
    max_score_diff: float
    max_box_diff: float

    def within(self, rtol: float) -> bool:
        """Whether every detection found its partner and partners agree within ``rtol``."""
        return self.unmatched == 0 and self.max_score_diff <= rtol and self.max_box_diff <= rtol


def is_detection_output(outputs: Sequence[np.ndarray]) -> bool:
    """Whether ``outputs`` are a GluonCV detector's: class ids and scores (B, N, 1) or (B, N), boxes (B, N, 4), maybe
    masks after them."""
    if len(outputs) < 3:
        return False
    ids, scores, boxes = outputs[:3]
    if boxes.ndim != 3 or boxes.shape[2] != 4:
        return False
    return all(a.shape in (boxes.shape[:2], boxes.shape[:2] + (1,)) for a in (ids, scores))


def detection_difference(reference: Sequence[np.ndarray], outputs: Sequence[np.ndarray],
                         rtol: float) -> DetectionDifference:
    """Match each valid detection of ``reference`` (ids, scores, boxes) to one of ``outputs`` of the same class
    whose score and box agree within ``rtol`` of their own scale, greedily in descending score; order does not
    matter. See ``DetectionDifference``."""
    total = unmatched = at_cut = 0
    max_score = max_box = 0.0
    for image in range(reference[0].shape[0]):
        (ids_a, scores_a, boxes_a), (ids_b, scores_b, boxes_b) = (
            [np.asarray(x[image], np.float64).reshape(len(x[image]), -1) for x in arrays[:3]]
            for arrays in (reference, outputs))
        ids_a, scores_a, ids_b, scores_b = ids_a[:, 0], scores_a[:, 0], ids_b[:, 0], scores_b[:, 0]
        valid_a, valid_b = ids_a >= 0, ids_b >= 0
        total += int(valid_a.sum())
        if not valid_a.any():
            continue
        score_scale = max(float(np.abs(scores_a[valid_a]).max()), np.finfo(np.float32).tiny)
        box_scale = max(float(np.abs(boxes_a[valid_a]).max()), np.finfo(np.float32).tiny)
        lowest = min(float(scores_a[valid_a].min()),
                     float(scores_b[valid_b].min()) if valid_b.any() else math.inf)
        free = valid_b.copy()
        for i in np.argsort(-scores_a):
            if not valid_a[i]:
                continue
            score_diff = np.abs(scores_b - scores_a[i]) / score_scale
            box_diff = np.abs(boxes_b - boxes_a[i]).max(axis=1) / box_scale
            partner = free & (ids_b == ids_a[i]) & (score_diff <= rtol) & (box_diff <= rtol)
            if partner.any():
                j = int(np.flatnonzero(partner)[np.argmin(score_diff[partner])])
                free[j] = False
                max_score, max_box = max(max_score, float(score_diff[j])), max(max_box, float(box_diff[j]))
            elif (scores_a[i] - lowest) / score_scale <= rtol:
                at_cut += 1
            else:
                unmatched += 1
    return DetectionDifference(total, unmatched, at_cut, max_score, max_box)


@dataclass(frozen=True)
class Outputs:
    """A network's outputs on fixed inputs, kept to compare with later: its raw head outputs (None when the
    network cannot be cut there) and its final outputs, as float32 numpy arrays."""

    raw: Optional[List[np.ndarray]]
    final: List[np.ndarray]


def network_outputs(net: Block, *inputs: mx.nd.NDArray) -> Outputs:
    """Run ``net`` in inference mode on ``inputs`` and keep its raw head outputs and its final outputs."""
    heads = head_block(net) if len(inputs) == 1 else None
    raw = _numpy(run_inference(heads, *inputs)) if heads is not None else None
    return Outputs(raw, _numpy(run_inference(net, *inputs)))


@dataclass(frozen=True)
class Verification:
    """An upgraded network's outputs against the original's (``verify_outputs``).

    Attributes
    ----------
    tolerance : Tolerance
    raw : Difference or None
        The raw head outputs, each against its own scale; None when the network could not be cut there.
    detections : DetectionDifference or None
        The decoded detections of a detector; None for other networks.
    other : Difference or None
        Final outputs that are not detections (a classifier's or segmenter's output, Mask R-CNN's masks).
    """

    tolerance: Tolerance
    raw: Optional[Difference]
    detections: Optional[DetectionDifference]
    other: Optional[Difference]

    def failures(self) -> List[str]:
        """What exceeds the bound, one line each; empty when the outputs are unchanged."""
        bound, found = self.tolerance.bound, []
        for what, difference in (("raw head outputs", self.raw), ("outputs", self.other)):
            if difference is not None and not difference.within(bound):
                found.append("{}: relative difference {:.3g} > {:.3g}".format(what, difference.max_rel, bound))
        d = self.detections
        if d is not None and not d.within(bound):
            found.append("detections: {} of {} without a partner, score difference {:.3g}, box difference {:.3g} "
                         "(bound {:.3g})".format(d.unmatched, d.detections, d.max_score_diff, d.max_box_diff, bound))
        return found

    @property
    def passed(self) -> bool:
        return not self.failures()

    def summary(self) -> str:
        """One line per compared part, then the bound."""
        lines = []
        if self.raw is not None:
            lines.append("raw head outputs ({}): max rel {:.3g}, max abs {:.3g}".format(
                self.raw.outputs, self.raw.max_rel, self.raw.max_abs))
        if self.detections is not None:
            d = self.detections
            lines.append("detections: {} of {} matched ({} at the cut), score {:.3g}, box {:.3g} relative".format(
                d.detections - d.unmatched - d.at_cut, d.detections, d.at_cut, d.max_score_diff, d.max_box_diff))
        if self.other is not None:
            lines.append("outputs ({}): max rel {:.3g}, max abs {:.3g}".format(
                self.other.outputs, self.other.max_rel, self.other.max_abs))
        t = self.tolerance
        derived = 2 * accumulation_bound(t.reduction_length)
        lines.append("bound {:.3g}{}: 2 gamma_K = {:.3g} for the longest sum, K = {} ({})".format(
            t.bound, "" if t.bound == derived else " (given)", derived, t.reduction_length, t.layer))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "tolerance": asdict(self.tolerance),
                "raw": asdict(self.raw) if self.raw else None,
                "detections": asdict(self.detections) if self.detections else None,
                "other": asdict(self.other) if self.other else None}


def verify_outputs(before: Outputs, net: Block, *inputs: mx.nd.NDArray, rtol: Optional[float] = None) -> Verification:
    """Compare ``net``'s outputs on ``inputs`` now with ``before`` (``network_outputs`` of the original).

    Parameters
    ----------
    before : Outputs
        The original network's outputs on the same inputs.
    net : Block
        The upgraded network.
    rtol : float, optional
        A bound to use instead of ``exactness_tolerance(net).bound``.
    """
    tolerance = exactness_tolerance(net)
    if rtol is not None:
        tolerance = replace(tolerance, bound=rtol)
    after = network_outputs(net, *inputs)
    raw = output_difference(before.raw, after.raw) if before.raw is not None and after.raw is not None else None
    detections, rest = None, (before.final, after.final)
    if is_detection_output(before.final) and is_detection_output(after.final):
        detections = detection_difference(before.final, after.final, tolerance.bound)
        rest = (before.final[3:], after.final[3:])
    other = output_difference(*rest) if rest[0] else None
    return Verification(tolerance, raw, detections, other)


def upgrade_verified(net: Block, inputs: Sequence[mx.nd.NDArray], rtol: Optional[float] = None,
                     **upgrade_kwargs) -> Tuple[Block, Verification]:
    """Upgrade ``net`` in place and verify that its outputs on ``inputs`` did not change (``verify_outputs``).

    Parameters
    ----------
    net : Block
    inputs : sequence of NDArray
        The network's inputs for one inference pass.
    rtol : float, optional
        A bound to use instead of ``exactness_tolerance`` (``verify_outputs``).
    **upgrade_kwargs
        Passed to ``gluon_upgrade.upgrade`` (``layers``, ``version``, ``scope``, ``deformable_groups``, ``impl``).

    Returns
    -------
    net : Block
        The upgraded network (as ``upgrade`` returns it).
    verification : Verification
        ``verification.passed`` says whether every output stayed within the bound.
    """
    from .surgery.inplace import upgrade
    before = network_outputs(net, *inputs)
    net = upgrade(net, **upgrade_kwargs)
    return net, verify_outputs(before, net, *inputs, rtol=rtol)

"""What an upgrade cost in parameters, per deformable layer and for the whole network."""
from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

import numpy as np
from mxnet.gluon import Block

from ..machine import machine_record
from ..selection.layers import ConvLayer, conv_layers, param_shape
from ..verify import Difference, Verification
from .files import write_json
from .tables import text_table


@dataclass(frozen=True)
class LayerCost:
    """Parameters of one deformable layer before and after the upgrade.

    ``params_before`` is the convolution's weight (and bias); ``params_after`` adds the offset branch's
    weight, which is how the paper counts (ResNet-101 ``stage4_conv8``: 2,359,296 -> 2,442,240).
    The offset branch's bias is ``offset_bias``, apart.
    """

    name: str
    kernel: List[int]
    dilation: List[int]
    in_channels: int
    out_channels: int
    params_before: int
    params_after: int
    offset_bias: int

    @property
    def increase(self) -> float:
        """``params_after / params_before - 1``."""
        return self.params_after / self.params_before - 1.0


@dataclass
class UpgradeReport:
    """Per-layer costs, network totals and (optionally) the verification of the outputs.

    ``params_before`` and ``params_after`` count every parameter of the network (offset biases included).
    """

    layers: List[LayerCost]
    params_before: int
    params_after: int
    verification: Optional[Verification] = None

    def _outputs(self) -> Optional[Difference]:
        """The raw head outputs' difference (the final outputs' for a network that cannot be cut there)."""
        return self.verification and (self.verification.raw or self.verification.other)

    def to_dict(self) -> dict:
        """``layers``, the totals, ``max_abs_diff`` / ``max_rel_diff`` of the raw head outputs, ``verification``
        and, with a verification (its rounding depends on the processor), ``machine``."""
        data = {key: value for key, value in asdict(self).items() if key != "verification"}
        outputs = self._outputs()
        data.update(max_abs_diff=outputs.max_abs if outputs else None,
                    max_rel_diff=outputs.max_rel if outputs else None,
                    verification=self.verification.to_dict() if self.verification else None)
        if self.verification is not None:
            data["machine"] = machine_record()
        return data

    def save_json(self, path: str) -> None:
        """Write ``to_dict()`` as JSON."""
        write_json(path, self.to_dict())

    def format_table(self) -> str:
        """The report as an aligned text table with a total row and the network totals."""
        rows = [[l.name, "x".join(map(str, l.kernel)), "x".join(map(str, l.dilation)), l.in_channels,
                 l.out_channels, l.params_before, l.params_after, "+{:.1%}".format(l.increase), l.offset_bias]
                for l in self.layers]
        before = sum(l.params_before for l in self.layers)
        after = sum(l.params_after for l in self.layers)
        rows.append(["total ({} layers)".format(len(self.layers)), "", "", "", "", before, after,
                     "+{:.1%}".format(after / before - 1) if before else "", sum(l.offset_bias for l in self.layers)])
        lines = [text_table(["layer", "kernel", "dilation", "in", "out", "params before", "params after",
                             "increase", "offset bias"], rows),
                 "network parameters: {:,} -> {:,} (+{:.2%}, offset biases included)".format(
                     self.params_before, self.params_after, self.params_after / self.params_before - 1)]
        if self.verification is not None:
            lines.append(self.verification.summary())
        return "\n".join(lines)


def _size(shape) -> int:
    return int(np.prod(shape)) if shape else 0


def count_parameters(net: Block) -> int:
    """All parameters of ``net`` (every shape must be known), BatchNorm statistics included."""
    return sum(_size(param_shape(p)) for p in net.collect_params().values())


def _offset_shapes(layer: ConvLayer):
    if layer.node is None:
        bias = layer.owner.offset_bias
        return param_shape(layer.owner.offset_weight), param_shape(bias) if bias is not None else ()
    params = layer.owner.collect_params()
    return param_shape(params[layer.name + "_offset_weight"]), param_shape(params[layer.name + "_offset_bias"])


def layer_cost(layer: ConvLayer) -> LayerCost:
    """Parameter cost of one deformable layer (see ``LayerCost``)."""
    main = layer.out_channels * (layer.in_channels // layer.groups) * _size(layer.kernel)
    before = main + (layer.out_channels if layer.use_bias else 0)
    offset_weight, offset_bias = _offset_shapes(layer)
    return LayerCost(name=layer.name, kernel=list(layer.kernel), dilation=list(layer.dilation),
                     in_channels=layer.in_channels, out_channels=layer.out_channels, params_before=before,
                     params_after=before + _size(offset_weight), offset_bias=_size(offset_bias))


def upgrade_report(net: Block, verification: Optional[Verification] = None,
                   names: Optional[Sequence[str]] = None) -> UpgradeReport:
    """Report the deformable layers of an upgraded network and its parameter totals.

    Parameters
    ----------
    net : Block
        The upgraded network; every parameter must have a known shape.
    verification : Verification, optional
        The outputs' verification (``upgrade_verified``), kept in the report.
    names : sequence of str, optional
        Report only these deformable layers (default: all of them, in forward order).
    """
    costs = [layer_cost(l) for l in conv_layers(net) if l.deformable and (names is None or l.name in names)]
    total = count_parameters(net)
    added = sum(c.params_after - c.params_before + c.offset_bias for c in costs)
    return UpgradeReport(layers=costs, params_before=total - added, params_after=total, verification=verification)

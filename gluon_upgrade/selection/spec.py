"""Which convolutions to upgrade: ``"lastN"``, a list of names, or a regular expression."""
import difflib
import re
from typing import Callable, List, Sequence, Union

from ..errors import UpgradeError, list_names
from .layers import CONVOLUTION, ConvLayer

LayerSpec = Union[str, Sequence[str], "re.Pattern"]

_LAST_N = re.compile(r"^last(\d+)$")


def why_not_upgradable(layer: ConvLayer) -> str:
    """Why MXNet's deformable operators cannot replace ``layer``; empty when they can."""
    if layer.deformable:
        return "already deformable"
    if layer.kind != CONVOLUTION:
        return "transposed convolution (no deformable counterpart)"
    if len(layer.kernel) != 2:
        return "{}D convolution (deformable convolution is 2D only)".format(len(layer.kernel))
    if layer.layout != "NCHW":
        return "layout {} (MXNet's deformable operators support NCHW only)".format(layer.layout)
    return ""


def _matches_name(layer: ConvLayer, name: str) -> bool:
    return layer.name == name or layer.name.endswith("_" + name)


def _by_names(layers: List[ConvLayer], names: Sequence[str]) -> List[ConvLayer]:
    chosen = []
    all_names = [l.name for l in layers]
    for name in names:
        hits = [l for l in layers if _matches_name(l, name)]
        if not hits:
            close = difflib.get_close_matches(name, all_names, n=5, cutoff=0.5)
            raise UpgradeError("no convolution is named '{}' (full name or '_'-separated suffix). {}"
                               "The network's convolutions are:\n{}".format(
                                   name, "Close names: {}. ".format(", ".join(close)) if close else "",
                                   list_names(l.describe() for l in layers)))
        if len(hits) > 1:
            raise UpgradeError("'{}' matches {} convolutions; give a longer suffix or the full name:\n{}".format(
                name, len(hits), list_names(l.name for l in hits)))
        chosen.append(hits[0])
    return chosen


def parse_spec(spec: LayerSpec):
    """Normalise a layer spec to ``("last", N)``, ``("names", [...])`` or ``("regex", pattern)``.

    Strings: ``"last3"``; ``"re:PATTERN"``; otherwise comma-separated names.
    """
    if isinstance(spec, re.Pattern):
        return "regex", spec
    if isinstance(spec, str):
        match = _LAST_N.match(spec.strip())
        if match:
            count = int(match.group(1))
            if count < 1:
                raise UpgradeError("'{}': lastN needs N >= 1".format(spec))
            return "last", count
        if spec.startswith("re:"):
            try:
                return "regex", re.compile(spec[3:])
            except re.error as err:
                raise UpgradeError("bad regular expression '{}': {}".format(spec[3:], err)) from None
        names = [n.strip() for n in spec.split(",") if n.strip()]
    else:
        names = [str(n) for n in spec]
    if not names:
        raise UpgradeError("empty layer selection; use 'lastN', 'name,name' or 're:PATTERN'")
    return "names", names


def select_layers(layers: List[ConvLayer], spec: LayerSpec, in_scope: Callable[[ConvLayer], bool],
                  scope_description: str) -> List[ConvLayer]:
    """Choose the layers to upgrade, in forward order.

    Parameters
    ----------
    layers : list of ConvLayer
        ``conv_layers(net)``: every convolution in forward order.
    spec : str, sequence of str or re.Pattern
        ``"lastN"``: the last N 3x3 convolutions in scope that an inference pass runs. Names: full Gluon
        names or unique ``_``-separated suffixes (``stage4_conv8``), searched in the whole network. A pattern
        (or ``"re:PATTERN"``): every convolution in scope whose name it ``search``-es.
    in_scope, scope_description
        From ``resolve_scope``.

    Raises
    ------
    UpgradeError
        A name matching no layer or several, fewer than N candidates, a pattern matching nothing, or a
        chosen layer that cannot be upgraded.
    """
    mode, value = parse_spec(spec)
    if mode == "last":
        candidates = [l for l in layers if l.traced and in_scope(l) and l.kind == CONVOLUTION
                      and tuple(l.kernel) == (3, 3)]
        if len(candidates) < value:
            raise UpgradeError("asked for the last {} 3x3 convolutions of {}, but it has {}:\n{}".format(
                value, scope_description, len(candidates), list_names(l.describe() for l in candidates)))
        chosen = candidates[-value:]
    elif mode == "names":
        chosen = _by_names(layers, value)
    else:
        chosen = [l for l in layers if in_scope(l) and value.search(l.name)]
        if not chosen:
            raise UpgradeError("pattern '{}' matches no convolution of {}:\n{}".format(
                value.pattern, scope_description, list_names(l.name for l in layers if in_scope(l))))
    unfit = [(l, why_not_upgradable(l)) for l in chosen if why_not_upgradable(l)]
    if unfit:
        raise UpgradeError("cannot upgrade:\n{}\nUpgradable convolutions are:\n{}".format(
            "\n".join("  {}: {}".format(l.describe(), why) for l, why in unfit),
            list_names(l.name for l in layers if not why_not_upgradable(l))))
    seen = set()
    ordered = []
    for layer in chosen:
        if layer.weight_name not in seen:
            seen.add(layer.weight_name)
            ordered.append(layer)
    return ordered

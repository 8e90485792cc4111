"""``upgrade``: replace chosen convolutions of a trained network by deformable ones, in place."""
import logging
from collections import OrderedDict
from mxnet.gluon import Block

from ..selection.backbone import Scope, resolve_scope
from ..selection.layers import conv_layers
from ..selection.spec import LayerSpec, parse_spec, select_layers
from .blocks import clear_cached_graphs, replace_block
from .deformable import Impl, Version, check_version, deformable_block, resolve_impl
from .symbol_block import upgrade_graph_layers

log = logging.getLogger(__name__)


def upgrade(net: Block, layers: LayerSpec = "last3", version: Version = 1, scope: Scope = "auto",
            deformable_groups: int = 1, impl: Impl = "mxnet") -> Block:
    """Upgrade convolutions of a trained network to deformable convolutions without changing its outputs.

    Each chosen ``Conv2D`` (or ``Convolution`` node of a ``SymbolBlock``'s graph) becomes MXNet's
    ``contrib.cnn.DeformableConvolution`` (``version=1``) or ``ModulatedDeformableConvolution``
    (``version=2``) with the trained weight and bias and a zero offset branch; kernel, stride, padding,
    dilation, groups, bias and activation are kept. The offset branch is a ``Convolution`` over all input
    channels with ``2*k*k*deformable_groups`` (v1) or ``3*k*k*deformable_groups`` (v2) outputs.

    Parameters
    ----------
    net : Block
        A network whose convolution weights have shapes (trained, loaded, or run once). Block trees and
        ``SymbolBlock`` s (GluonCV's SSD ``FeatureExpander``, ``SymbolBlock.imports`` models) both work.
    layers : str, sequence of str or re.Pattern, default "last3"
        ``"lastN"``: the last N 3x3 convolutions of ``scope`` in forward order. A list (or comma-separated
        string) of full names or unique suffixes such as ``"stage4_conv8"``. A compiled pattern or
        ``"re:PATTERN"``: every convolution in scope whose name matches.
    version : {1, 2}
        Deformable convolution v1 (trains on CPU and GPU) or v2 (modulated; MXNet's backward is GPU-only).
    scope : str, Block or sequence of Block, default "auto"
        ``"auto"``: the backbone for ``"lastN"`` (see ``find_backbone``), the whole network for names and
        patterns. ``""``: the whole network. Another string: layers whose name starts with it.
    deformable_groups : int, default 1
        Offset groups (``num_deformable_group``); must divide the layer's input channels.
    impl : {"mxnet", "sampled", "fast"}
        MXNet's deformable operators; the same computation composed of differentiable operators
        (``surgery.sampled``), whose v2 trains on CPU; or the compiled sampling operator plus a convolution
        (``surgery.fast``, the fastest on CPU, v1 and v2 train; where it cannot be built, a warning and
        ``deformable.FALLBACK``). Same parameters, so weights move between them. In a symbol graph the
        composite's last ``Convolution`` carries ``SAMPLED_MARK`` so the layer stays recognisable.

    Returns
    -------
    Block
        The network to use from then on: ``net`` itself, unless ``net`` is a single convolution block.

    Raises
    ------
    UpgradeError
        Unknown backbone, a name matching no layer or several, a layer that cannot be upgraded (transposed,
        not 2D, NHWC, weight shape unknown), or a bad version or implementation.

    Examples
    --------
    >>> import gluon_upgrade
    >>> net = gluon_upgrade.load_zoo_model("resnet18_v1", random=True)  # or pretrained=True: GluonCV's weights
    >>> net = gluon_upgrade.upgrade(net, layers="last3")
    >>> [layer.name for layer in gluon_upgrade.conv_layers(net) if layer.deformable]
    ['resnetv10_stage4_conv1', 'resnetv10_stage4_conv3', 'resnetv10_stage4_conv4']
    """
    check_version(version, deformable_groups, impl)
    inventory = conv_layers(net)
    if scope == "auto" and parse_spec(layers)[0] != "last":
        scope = ""
    in_scope, description = resolve_scope(net, scope, inventory)
    chosen = select_layers(inventory, layers, in_scope, description)
    impl = resolve_impl(impl, version, on_gpu=any(_on_gpu(layer) for layer in chosen))
    graph_layers = OrderedDict()
    for layer in chosen:
        if layer.node is None:
            new = deformable_block(layer.owner, layer, version, deformable_groups, impl)
            if layer.owner is net:
                net = new
            elif replace_block(net, layer.owner, new) == 0:
                raise AssertionError("layer {} was found in the tree but could not be replaced".format(layer.name))
        else:
            graph_layers.setdefault(id(layer.owner), (layer.owner, []))[1].append(layer)
    for block, block_layers in graph_layers.values():
        upgrade_graph_layers(block, block_layers, version, deformable_groups, impl)
    clear_cached_graphs(net)
    log.info("upgraded %d layers to DCNv%d: %s", len(chosen), version, ", ".join(l.name for l in chosen))
    return net


def _on_gpu(layer) -> bool:
    """Whether the layer's weight lives on a GPU; a weight not initialised yet is left to the later checks."""
    if layer.node is None:
        weight = layer.owner.weight
    else:
        params = layer.owner.collect_params()
        weight = params[layer.weight_name] if layer.weight_name in params.keys() else None
    try:
        contexts = weight.list_ctx() if weight is not None else []
    except RuntimeError:
        contexts = []
    return any(ctx.device_type == "gpu" for ctx in contexts)

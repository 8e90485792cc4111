"""Load the networks to upgrade: GluonCV model-zoo models and exported symbol models, with clear errors."""
import contextlib
import difflib
import inspect
import io
import json
import os
import re
from typing import Dict, Optional, Sequence, Tuple

import mxnet as mx
from mxnet.gluon import Block, SymbolBlock

from ..errors import ModelError, mxnet_message
from ..paths import existing_path
from ..surgery.fast import require_operators_of
from .project import PROJECT_MODELS, project_model
from .init import random_init


def default_input_shape(name: str) -> Tuple[int, int, int, int]:
    """The input shape a model-zoo network is trained at: SSD's size from its name, YOLOv3 416, the demo
    networks' ``base_size``, ...

    Examples
    --------
    >>> default_input_shape("ssd_512_resnet50_v1_voc")
    (1, 3, 512, 512)
    """
    size = re.match(r"ssd_(\d+)_", name)
    if project_model(name):
        side = inspect.signature(project_model(name)).parameters["base_size"].default
    elif size:
        side = int(size.group(1))
    elif name.startswith("yolo3"):
        side = 416
    elif name.startswith(("faster_rcnn", "mask_rcnn")):
        side = 600
    elif name.startswith(SEGMENTATION_PREFIXES):
        side = 480
    else:
        side = 224
    return 1, 3, side, side


SEGMENTATION_PREFIXES = ("fcn_", "psp_", "deeplab_", "danet_", "icnet_", "fastscnn_")
"""How GluonCV's segmentation model names start (their crop is 480 px)."""


def model_task(name: str) -> str:
    """``'segmentation'`` for a segmenter's name (GluonCV's, the demo segmenter), else ``'detection'``.

    Examples
    --------
    >>> model_task("deeplab_resnet101_voc"), model_task("ssd_512_resnet50_v1_voc")
    ('segmentation', 'detection')
    """
    return "segmentation" if name.lower().startswith(SEGMENTATION_PREFIXES) else "detection"


def model_names() -> Sequence[str]:
    """Every name GluonCV's model zoo knows, plus this project's networks (the demo SSD and YOLOv3)."""
    from gluoncv.model_zoo import get_model_list
    return list(get_model_list()) + list(PROJECT_MODELS)


def check_model_name(name: str) -> None:
    """Raise ``ModelError`` naming the closest known names when GluonCV's model zoo lacks ``name``."""
    known = model_names()
    if name.lower() not in known:
        close = difflib.get_close_matches(name.lower(), known, n=5, cutoff=0.6)
        raise ModelError("unknown model '{}'{}".format(
            name, "; did you mean: " + ", ".join(close) if close else " (see gluoncv.model_zoo.get_model_list())"))


def zoo_model(name: str, **kwargs) -> Block:
    """``gluoncv.model_zoo.get_model(name, **kwargs)`` (or a project network's constructor), with an
    ``ModelError`` when weights cannot be fetched.

    GluonCV downloads trained (``pretrained``) and ImageNet (``pretrained_base``) weights to ``~/.mxnet/models``
    (``$MXNET_HOME/models``) on first use; offline, the error says which switch to turn off or where to put the
    file.
    """
    from gluoncv.model_zoo import get_model
    store = os.path.join(mx.base.data_dir(), "models")
    locks = _lock_files(store)
    try:
        # A fresh name manager gives the network the names it gets in a fresh process (ssd0_...): parameters
        # of GluonCV's symbol feature extractors are saved under those names, so a file saved by one network
        # then loads into another built later in the same process.
        with mx.name.NameManager():
            if project_model(name):
                return project_model(name)(**kwargs)
            return get_model(name, **kwargs)
    except (OSError, ConnectionError) as err:
        # GluonCV's download takes a lock file beside the weights and leaves it, empty, when the fetch fails.
        for path in _lock_files(store) - locks:
            if os.path.getsize(path) == 0:
                os.remove(path)
        raise ModelError(
            "building {} needs GluonCV weights that could not be fetched ({}): copy them into {}, "
            "or build without them (pretrained: false, pretrained_base: false)".format(
                name, str(err).split("\n")[0][:200], store)) from None


def _lock_files(folder: str) -> set:
    return {os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".lock")} if os.path.isdir(
        folder) else set()


def load_zoo_model(name: str, weights: Optional[str] = None, pretrained: bool = False, random: bool = False,
                   input_shape: Optional[Sequence[int]] = None, seed: int = 0,
                   ctx: mx.Context = mx.cpu()) -> Block:
    """Build a GluonCV model-zoo network with trained or random weights.

    Parameters
    ----------
    name : str
        A GluonCV model-zoo name (``ssd_512_resnet50_v1_voc``).
    weights : str, optional
        A ``.params`` file saved with ``save_parameters`` from this architecture.
    pretrained : bool
        Download (or take from ``~/.mxnet/models``) GluonCV's trained weights.
    random : bool
        Random weights of trained-network scale (``random_init``), to try things offline.
    input_shape : sequence of int, optional
        Shape of one forward pass; default ``default_input_shape(name)``.

    Raises
    ------
    ModelError
        Unknown model name, missing or unfitting weights file, or not exactly one weight source.
    """
    if sum([weights is not None, bool(pretrained), bool(random)]) != 1:
        raise ModelError("give exactly one weight source: a weights file, pretrained, or random")
    check_model_name(name)
    kwargs = {"pretrained": bool(pretrained)}
    if pretrained:
        kwargs["ctx"] = ctx
    elif "pretrained_base" in signature_args(name):
        kwargs["pretrained_base"] = False
    net = zoo_model(name, **kwargs)
    shape = tuple(input_shape or default_input_shape(name))
    if random:
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # MXNet prints the failed shapes before raising
                random_init(net, shape, seed=seed, ctx=ctx)
        except (ValueError, mx.base.MXNetError) as err:  # Gluon's deferred initialisation raises ValueError
            raise ModelError("{} cannot take an input of shape {} ({}); its training size is {}".format(
                name, ",".join(map(str, shape)), mxnet_message(err),
                ",".join(map(str, default_input_shape(name))))) from None
    elif weights is not None:
        load_weights(net, weights, name, ctx)
    return net


def load_weights(net: Block, path: str, what: str, ctx: mx.Context = mx.cpu()) -> None:
    """``net.load_parameters(path)``, with an ``ModelError`` naming the file and ``what`` when it does not fit.

    A relative ``path`` that is not under the working folder is looked for under the repository root, where
    results keep their paths (``portable_path``)."""
    path = existing_path(path)
    if not os.path.isfile(path):
        raise ModelError("weights file not found: {}".format(path))
    try:
        net.load_parameters(path, ctx=ctx)
    except (AssertionError, mx.base.MXNetError, ValueError) as err:
        read_params(path)  # an unreadable file says so; a readable one failed to fit
        raise ModelError("{} does not fit {}: {} (a file saved after an upgrade loads only into a network "
                           "upgraded the same way)".format(path, what, mxnet_message(err))) from None


def signature_args(name: str) -> Sequence[str]:
    """Keyword names the zoo constructor of ``name`` accepts (``pretrained_base`` or not)."""
    from gluoncv.model_zoo.model_zoo import _models
    return list(inspect.signature(project_model(name) or _models[name.lower()]).parameters)


def load_symbol_model(symbol_file: str, params_file: str, input_shape: Optional[Sequence[int]] = None,
                      ctx: mx.Context = mx.cpu()) -> SymbolBlock:
    """Load an exported ``*-symbol.json`` + ``*.params`` model (one input, ``data``) as a ``SymbolBlock``.

    Parameters
    ----------
    input_shape : sequence of int, optional
        ``N, C, H, W`` of ``data``. Given, every parameter's shape is checked against the graph for that input
        (``require_params_fit``): MXNet loads arrays of any shape into a graph and fails only when it runs.

    Raises
    ------
    ModelError
        A missing file, a graph MXNet cannot read, or parameters that do not fit the graph.
    """
    for path in (symbol_file, params_file):
        if not os.path.isfile(path):
            raise ModelError("file not found: {}".format(path))
    check_symbol_file(symbol_file)
    require_operators_of(symbol_file)
    try:
        net = SymbolBlock.imports(symbol_file, ["data"], params_file, ctx=ctx)
    except (AssertionError, mx.base.MXNetError, ValueError) as err:
        read_params(params_file)  # an unreadable file says so; a readable one failed to fit
        raise ModelError("cannot load {} with {}: {}".format(symbol_file, params_file, mxnet_message(err))) from None
    if input_shape is not None:
        # The arrays the block just loaded, not a second read of the file (hundreds of MB for a detector).
        loaded = {name: param.data() for name, param in net.collect_params().items()}
        require_params_fit(mx.sym.load(symbol_file), loaded, input_shape, params_file)
    return net


def require_params_fit(sym: mx.sym.Symbol, params: Dict[str, mx.nd.NDArray], input_shape: Sequence[int],
                       where: str) -> None:
    """Check that ``params`` (name -> array, no ``arg:``/``aux:`` prefix) has every parameter of ``sym`` in the
    shape the graph needs for an input ``data`` of ``input_shape``.

    Raises
    ------
    ModelError
        The graph cannot take that input, or a parameter is missing or has another shape (the message names the
        first ones and counts the rest).
    """
    shape = tuple(int(v) for v in input_shape)
    try:
        arg_shapes, _, aux_shapes = sym.infer_shape(data=shape)
    except mx.base.MXNetError as err:
        raise ModelError("the graph cannot take an input of shape {}: {}".format(
            ",".join(map(str, shape)), mxnet_message(err))) from None
    if arg_shapes is None:
        raise ModelError("the graph's parameter shapes do not follow from an input of shape {}".format(
            ",".join(map(str, shape))))
    needed = dict(zip(sym.list_arguments(), arg_shapes))
    needed.update(zip(sym.list_auxiliary_states(), aux_shapes))
    needed.pop("data", None)
    missing = [name for name in needed if name not in params]
    wrong = ["{} is {}, the graph needs {}".format(name, tuple(params[name].shape), tuple(needed[name]))
             for name in needed if name in params and tuple(params[name].shape) != tuple(needed[name])]
    described = "{} does not fit the graph for an input of shape {}".format(where, ",".join(map(str, shape)))
    if missing:
        raise ModelError("{}: it lacks {} parameter(s): {}".format(described, len(missing), _first(missing)))
    if wrong:
        raise ModelError("{}: {} parameter(s) have other shapes: {}".format(described, len(wrong), _first(wrong)))


def _first(items: Sequence[str], shown: int = 3) -> str:
    more = len(items) - shown
    return "; ".join(items[:shown]) + ("; and {} more".format(more) if more > 0 else "")


def check_symbol_file(path: str) -> None:
    """Raise ``ModelError`` naming ``path`` unless it is a JSON graph with ``nodes``, as
    ``HybridBlock.export`` writes: MXNet's own error for a damaged file is a stack trace or undecodable bytes."""
    try:
        with open(path, encoding="utf-8") as handle:
            graph = json.load(handle)
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelError("{}: not an MXNet symbol file ({})".format(path, err)) from None
    if not (isinstance(graph, dict) and isinstance(graph.get("nodes"), list)):
        raise ModelError("{}: not an MXNet symbol file (JSON without a list of nodes)".format(path))


def read_params(path: str) -> Dict[str, mx.nd.NDArray]:
    """The arrays of a ``.params`` file, or an ``ModelError`` saying the file is not one MXNet can read
    (truncated, corrupt or another kind of file), as distinct from a file that does not fit a network."""
    try:
        return mx.nd.load(path)
    except mx.base.MXNetError:
        raise ModelError("{}: not a readable .params file (truncated or corrupt?)".format(path)) from None

"""Export an MXNet symbol graph to ONNX (opset 19, deformable layers as ``DeformConv``) and check it against MXNet.

The export itself is MXNet's ``mx2onnx``, with the converters of ``onnx_ops``. The check runs the ONNX model with
onnxruntime (which implements ``DeformConv`` on CPU) or, without it, with ONNX's reference evaluator.
"""
import json
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import mxnet as mx
import numpy as np

from ..errors import ExportError, ModelError, mxnet_message
from ..selection.layers import DEFORMABLE_OPS, SAMPLED_MARK
from ..models.zoo import check_symbol_file, read_params
from . import ONNX_OPSET
from ..surgery.fast import require_operators_of

BACKENDS = ("auto", "onnxruntime", "reference")
NMS_OP = "_contrib_box_nms"


def _onnx():
    try:
        import onnx
        from . import onnx_ops
    except ImportError as err:
        raise ExportError("ONNX export needs the onnx package ({}): pip install -c constraints.txt "
                           "-e \".[onnx]\"".format(err)) from None
    return onnx, onnx_ops


def load_symbol(symbol_file: str, params_file: str) -> Tuple[mx.sym.Symbol, Dict[str, mx.nd.NDArray]]:
    """An exported ``*-symbol.json`` and its ``*.params`` as a symbol and one dict of arg and aux parameters."""
    for path in (symbol_file, params_file):
        if not os.path.isfile(path):
            raise ModelError("exported model file not found: {}".format(path))
    check_symbol_file(symbol_file)
    require_operators_of(symbol_file)
    try:
        sym = mx.sym.load(symbol_file)
    except mx.base.MXNetError as err:
        raise ModelError("cannot load {}: {}".format(symbol_file, mxnet_message(err))) from None
    saved = read_params(params_file)
    return sym, {name.split(":", 1)[-1]: value for name, value in saved.items()}


def export_onnx(sym: mx.sym.Symbol, params: Dict[str, mx.nd.NDArray], input_shape: Sequence[int], path: str,
                opset: Optional[int] = None) -> str:
    """Write ``sym`` with ``params`` as an ONNX model for a float32 input of ``input_shape``; return ``path``.

    Parameters
    ----------
    sym : mxnet.sym.Symbol
        A graph with one input, ``data`` (what ``HybridBlock.export`` writes).
    params : dict of str to NDArray
        Its arg and aux parameters.
    opset : int, optional
        ONNX opset, at least 19 (the first with ``DeformConv``); default 19.

    Raises
    ------
    ExportError
        onnx not installed, an opset under 19, a graph input other than ``data``, or an operator
        ``mx2onnx`` cannot convert.
    """
    onnx, onnx_ops = _onnx()
    opset = opset or ONNX_OPSET
    if opset < ONNX_OPSET:
        raise ExportError("ONNX DeformConv needs opset >= {}, got {}".format(ONNX_OPSET, opset))
    inputs = [name for name in sym.list_inputs() if name not in params]
    if inputs != ["data"]:
        raise ExportError("the graph must have one input named data and parameters for the rest; "
                           "inputs without parameters: {}".format(", ".join(inputs) or "none"))
    if any(SAMPLED_MARK in node.get("attrs", {}) for node in json.loads(sym.tojson())["nodes"]):
        raise ExportError("the graph has deformable layers built with impl='sampled' or impl='fast', which ONNX "
                           "cannot express as DeformConv: build the network with impl='mxnet' (the same "
                           "parameters), load the weights into it and export that")
    converter = onnx_ops.MXNetGraph()
    try:
        graph = converter.create_onnx_graph_proto(sym, params, [tuple(input_shape)], [onnx.TensorProto.FLOAT],
                                                  opset_version=opset, dynamic=False)
    except AttributeError as err:
        raise ExportError("mx2onnx cannot convert this graph: {}".format(err)) from None
    # mx2onnx lists every parameter as a graph input too, which makes it an overridable input rather than a
    # constant to runtimes; only the data is an input.
    initialized = {tensor.name for tensor in graph.initializer}
    kept = [value for value in graph.input if value.name not in initialized]
    del graph.input[:]
    graph.input.extend(kept)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="gluon-upgrade")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        # mx2onnx writes some operators in their opset-12/13 form, which later opsets changed (Reduce*, Split).
        raise ExportError("the converted graph is not valid ONNX at opset {}: {}".format(
            opset, str(err).strip().split("\n")[0])) from None
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, path)
    return path


def before_nms(sym: mx.sym.Symbol) -> Optional[mx.sym.Symbol]:
    """The graph cut at the input of its non-maximum suppression (``box_nms``), or None if it has none.

    ``mx2onnx`` turns ``box_nms`` into ONNX ``NonMaxSuppression``, which suppresses across classes where
    GluonCV's detectors suppress per class, so detections after NMS may differ; the network up to NMS must not.
    """
    for node in sym.get_internals():
        if node.attr("op_name") == NMS_OP:
            return node.get_children()[0]
    return None


def run_mxnet(sym: mx.sym.Symbol, params: Dict[str, mx.nd.NDArray], data: np.ndarray) -> List[np.ndarray]:
    """The outputs of ``sym`` on ``data`` (inference mode, CPU)."""
    arg_names, aux_names = set(sym.list_arguments()), set(sym.list_auxiliary_states())
    args = {name: value for name, value in params.items() if name in arg_names}
    args["data"] = mx.nd.array(data)
    auxs = {name: value for name, value in params.items() if name in aux_names}
    executor = sym.bind(mx.cpu(), args=args, aux_states=auxs, grad_req="null")
    return [out.asnumpy() for out in executor.forward(is_train=False)]


def run_onnx(path: str, data: np.ndarray, backend: str = "auto") -> Tuple[Dict[str, np.ndarray], str]:
    """The outputs of the ONNX model at ``path`` on ``data`` by name, and the backend that ran it.

    ``auto`` takes onnxruntime when it is installed, else ONNX's reference evaluator (slow, pure Python).
    """
    if backend not in BACKENDS:
        raise ExportError("backend must be one of {}, got {!r}".format(", ".join(BACKENDS), backend))
    onnx, _ = _onnx()
    if backend in ("auto", "onnxruntime"):
        try:
            import onnxruntime
        except ImportError:
            if backend == "onnxruntime":
                raise ExportError("onnxruntime is not installed: pip install onnxruntime") from None
        else:
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # errors only: mx2onnx leaves unused constants it would warn about
            # onnxruntime's constant folding fails on mx2onnx's YOLOv3 graph ("Attempt to replace the existing
            # tensor"); the check needs the values, not the speed-up.
            session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"],
                                                   disabled_optimizers=["ConstantFolding"])
            names = [out.name for out in session.get_outputs()]
            values = session.run(names, {session.get_inputs()[0].name: data})
            return dict(zip(names, values)), "onnxruntime " + onnxruntime.__version__
    from onnx.reference import ReferenceEvaluator
    evaluator = ReferenceEvaluator(onnx.load(path))
    return dict(zip(evaluator.output_names, evaluator.run(None, {"data": data}))), "onnx.reference " + onnx.__version__


def onnx_output_name(mxnet_name: str) -> str:
    """The name ``mx2onnx`` gives an MXNet output: ``X_output`` -> ``X``, ``X_output1`` -> ``X1``."""
    return re.sub(r"_output(\d?)$", r"\1", mxnet_name)


@dataclass
class OutputDifference:
    """One output of the graph: what it is, its shape and the largest difference between ONNX and MXNet."""

    name: str
    role: str
    shape: Tuple[int, ...]
    max_abs: float
    max_value: float

    @property
    def max_rel(self) -> float:
        """``max_abs`` relative to the output's largest magnitude."""
        return self.max_abs / self.max_value if self.max_value else self.max_abs


@dataclass
class OnnxCheck:
    """What the ONNX model computed against MXNet on one input.

    ``outputs`` are the graph's outputs (before non-maximum suppression if it has one) followed by the output
    of every deformable layer; ``model_outputs`` the shapes the whole exported model returned.
    """

    backend: str
    compared: str
    outputs: List[OutputDifference]
    model_outputs: List[Tuple[int, ...]]

    @property
    def max_abs(self) -> float:
        """The largest absolute difference over the compared outputs."""
        return max(out.max_abs for out in self.outputs)

    @property
    def max_rel(self) -> float:
        """The largest relative difference over the compared outputs."""
        return max(out.max_rel for out in self.outputs)

    def to_dict(self) -> dict:
        """The check as JSON-ready values."""
        return {"backend": self.backend, "compared": self.compared, "max_abs": self.max_abs,
                "max_rel": self.max_rel, "model_outputs": [list(shape) for shape in self.model_outputs],
                "outputs": [{"name": o.name, "role": o.role, "shape": list(o.shape), "max_abs": o.max_abs,
                             "max_value": o.max_value, "max_rel": o.max_rel} for o in self.outputs]}

    def format_table(self) -> str:
        """A markdown table, one row per compared output: what it is, shape, largest magnitude, max abs and
        relative difference."""
        lines = ["| output | is | shape | max abs value (MXNet) | max abs difference | relative |",
                 "|---|---|---|---:|---:|---:|"]
        for o in self.outputs:
            lines.append("| {} | {} | {} | {:.4g} | {:.3g} | {:.3g} |".format(
                o.name, o.role, "x".join(map(str, o.shape)), o.max_value, o.max_abs, o.max_rel))
        return "\n".join(lines)


def compare_outputs(names: Sequence[str], roles: Sequence[str], ours: Sequence[np.ndarray],
                    theirs: Dict[str, np.ndarray]) -> List[OutputDifference]:
    """Per MXNet output (``names``, what each is in ``roles``, values ``ours``), the largest absolute difference
    of the ONNX output of the same name in ``theirs``."""
    found = []
    for name, role, a in zip(names, roles, ours):
        b = theirs.get(onnx_output_name(name))
        if b is None:
            raise ExportError("the ONNX model has no output {} (it has {})".format(
                onnx_output_name(name), ", ".join(theirs)))
        if a.shape != b.shape:
            raise ExportError("output {}: ONNX shape {} against MXNet's {}".format(name, b.shape, a.shape))
        # Equal values count as no difference even where both are infinite (an untrained box decoder overflows).
        with np.errstate(invalid="ignore"):
            difference = np.where(a == b, 0.0, np.abs(a.astype(np.float64) - b))
        finite = np.abs(a[np.isfinite(a)])
        found.append(OutputDifference(name, role, tuple(a.shape), float(difference.max()) if a.size else 0.0,
                                      float(finite.max()) if finite.size else 0.0))
    return found


def check_onnx(sym: mx.sym.Symbol, params: Dict[str, mx.nd.NDArray], path: str, data: np.ndarray,
               backend: str = "auto") -> OnnxCheck:
    """Run the ONNX model at ``path`` (exported from ``sym``) and compare it with MXNet on ``data``.

    The whole model must run. The values compared are the graph's outputs, cut before non-maximum suppression
    when it has one (``before_nms``), and the output of every deformable layer, so that a converter error shows
    where it arises rather than amplified by a box decoder. That graph is exported again to a temporary file.
    """
    model_outputs, used = run_onnx(path, data, backend)
    cut = before_nms(sym)
    heads = list(cut if cut is not None else sym)
    roles = ["graph output"] * len(heads)
    for node in sym.get_internals():
        if node.attr("op_name") in DEFORMABLE_OPS:
            heads += [node.get_children()[0], node]
            roles += ["deformable layer input", "deformable layer output"]
    compared = (("outputs before non-maximum suppression" if cut is not None else "all outputs")
                + ", input and output of {} deformable layers".format(roles.count("deformable layer output")))
    group = mx.sym.Group(heads)
    with tempfile.TemporaryDirectory() as tmp:
        theirs, _ = run_onnx(export_onnx(group, params, data.shape, os.path.join(tmp, "check.onnx")), data, backend)
    ours = run_mxnet(group, params, data)
    return OnnxCheck(used, compared, compare_outputs(group.list_outputs(), roles, ours, theirs),
                     [tuple(out.shape) for out in model_outputs.values()])

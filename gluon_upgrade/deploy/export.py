"""Export a network for deployment: MXNet's symbol + params, ONNX, and the check of one against the other."""
import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import mxnet as mx
import numpy as np

from ..models.zoo import require_params_fit
from . import ONNX_OPSET
from .onnx_export import OnnxCheck, check_onnx, export_onnx, load_symbol
from .symbol import save_network


@dataclass
class ExportResult:
    """The files an export wrote (with their sizes) and the ONNX check, if one ran."""

    files: List[str]
    input_shape: Sequence[int]
    opset: int
    check: Optional[OnnxCheck] = None
    sizes: List[int] = field(init=False)

    def __post_init__(self):
        self.sizes = [os.path.getsize(path) for path in self.files]

    def format_files(self) -> str:
        """One line per file written, with its size in MiB."""
        return "\n".join("{}  {:.1f} MiB".format(path, size / 2 ** 20) for path, size in zip(self.files, self.sizes))

    def to_markdown(self, title: str, command: str, machine: str, check_input: str) -> str:
        """The report: files, the check's table (what was compared, on which input, with which backend), the
        command and the machine."""
        lines = ["# {}".format(title), "", "| file | MiB |", "|---|---:|"]
        lines += ["| {} | {:.1f} |".format(os.path.basename(path), size / 2 ** 20)
                  for path, size in zip(self.files, self.sizes)]
        lines.append("")
        if self.check is not None:
            lines += ["ONNX (opset {}) against MXNet on {}, input {}, run by {}: {}. The whole ONNX model returned "
                      "outputs of shapes {}.".format(
                          self.opset, check_input, "x".join(map(str, self.input_shape)), self.check.backend,
                          self.check.compared, ", ".join("x".join(map(str, s)) for s in self.check.model_outputs)),
                      "", self.check.format_table(), "",
                      "Largest difference: {:.3g} absolute, {:.3g} relative to the output's largest value.".format(
                          self.check.max_abs, self.check.max_rel), ""]
        lines += ["Machine: {}  ".format(machine), "Command: `{}`".format(command), ""]
        return "\n".join(lines)


def export_symbol_files(symbol_file: str, params_file: str, out: str, input_shape: Sequence[int],
                        check_input: Optional[np.ndarray] = None, opset: Optional[int] = None,
                        backend: str = "auto") -> ExportResult:
    """Convert an exported MXNet graph to ``out`` (ONNX) and, given ``check_input``, check it on that input.

    Raises
    ------
    ModelError
        Missing or damaged files, or parameters that do not fit the graph for ``input_shape``.
    ExportError
        onnx not installed, or a graph ``mx2onnx`` cannot convert.
    """
    sym, params = load_symbol(symbol_file, params_file)
    require_params_fit(sym, params, input_shape, params_file)
    opset = opset or ONNX_OPSET
    export_onnx(sym, params, input_shape, out, opset)
    check = None if check_input is None else check_onnx(sym, params, out, check_input, backend)
    return ExportResult([out], input_shape, opset, check)


def export_network(net: mx.gluon.HybridBlock, prefix: str, input_shape: Sequence[int],
                   check_input: Optional[np.ndarray] = None, opset: Optional[int] = None,
                   backend: str = "auto") -> ExportResult:
    """Write ``net`` as ``PREFIX-symbol.json`` + ``PREFIX-0000.params`` (MXNet) and ``PREFIX.onnx``, and, given
    ``check_input`` (a float32 array of ``input_shape``), check the ONNX model against MXNet's graph on it.

    Raises
    ------
    ExportError
        onnx not installed, or a graph ``mx2onnx`` cannot convert.
    """
    symbol_file, params_file = save_network(net, prefix, True, input_shape)
    result = export_symbol_files(symbol_file, params_file, prefix + ".onnx", input_shape, check_input, opset,
                                 backend)
    return ExportResult([symbol_file, params_file] + result.files, input_shape, result.opset, result.check)

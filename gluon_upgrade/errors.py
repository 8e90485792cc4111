"""The exception types the library raises for input it cannot act on.

Every one is a ``GluonUpgradeError``, so a command-line script catches that one type and prints the message
without a traceback. Messages say what was wrong, where, and what would be right.
"""
import re
from typing import Iterable


class GluonUpgradeError(ValueError):
    """Input the library cannot act on; the message names the input and the valid choices."""


class UpgradeError(GluonUpgradeError):
    """A network, a layer selection or a layer that cannot be upgraded as asked."""


class ModelError(GluonUpgradeError):
    """A network that cannot be built or loaded as asked: an unknown model name, a weights or graph file that is
    missing, damaged or does not fit, an input the network cannot take."""


class ExportError(GluonUpgradeError):
    """A network that cannot be written or checked as ONNX (the message says which operator or package)."""


class TrainingError(GluonUpgradeError):
    """A run that cannot go on (a non-finite loss); the message says where it stopped and what was kept."""


class UsageError(GluonUpgradeError):
    """A command-line value that does not read as its option asks (``--input-shape 1,3,x``)."""


class DataError(GluonUpgradeError):
    """A data set that is missing, laid out wrongly, or holds a malformed annotation (the message names the file)."""


class ConfigError(GluonUpgradeError):
    """A configuration file with an unknown key, a wrong type or an impossible value (the message names the key)."""


def list_names(names: Iterable[str], limit: int = 30) -> str:
    """Format names for an error message, one per line, at most ``limit`` of them."""
    names = list(names)
    if not names:
        return "  (none)"
    shown = ["  " + n for n in names[:limit]]
    if len(names) > limit:
        shown.append("  ... and {} more".format(len(names) - limit))
    return "\n".join(shown)


def mxnet_message(err: Exception) -> str:
    """The line of an ``MXNetError`` that says what went wrong: its message ends with MXNet's own check, after a
    C++ stack trace whose first line is ``Traceback (most recent call last):``."""
    # Gluon's advice to pass allow_missing/ignore_extra names a Python argument, not anything a user can set.
    text = re.sub(r"\s*Set (allow_missing|ignore_extra)=True[^.]*\.", "", str(err))
    lines = [line.strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith(("[bt]", "File ", "Traceback", "Stack trace"))]
    line = lines[-1] if lines else text.strip()
    return line[len("MXNetError: "):] if line.startswith("MXNetError: ") else line

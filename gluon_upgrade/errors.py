"""The exception types the library raises for input it cannot act on.

Every one is a ``GluonUpgradeError``, so a command-line script catches that one type and prints the message
without a traceback. Messages say what was wrong, where, and what would be right.
"""
from typing import Iterable


class GluonUpgradeError(ValueError):
    """Input the library cannot act on; the message names the input and the valid choices."""


class UpgradeError(GluonUpgradeError):
    """A network, a layer selection or a layer that cannot be upgraded as asked."""


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

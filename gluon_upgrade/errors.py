"""The one exception type the library raises for input it cannot act on."""
from typing import Iterable


class UpgradeError(ValueError):
    """A network, a layer selection or a layer that cannot be upgraded as asked.

    The message says what was wrong and lists the valid choices.
    """


def list_names(names: Iterable[str], limit: int = 30) -> str:
    """Format names for an error message, one per line, at most ``limit`` of them."""
    names = list(names)
    if not names:
        return "  (none)"
    shown = ["  " + n for n in names[:limit]]
    if len(names) > limit:
        shown.append("  ... and {} more".format(len(names) - limit))
    return "\n".join(shown)

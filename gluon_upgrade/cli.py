"""What the command-line scripts share: quiet logging, one error line and exit 2 for bad input, exit 130 on
Ctrl-C, and the command line as it is written next to the results it made."""
import argparse
import logging
import os
import shlex
import sys
import warnings
from typing import Callable, Optional, Sequence, Tuple

from .errors import GluonUpgradeError, UsageError

RESUME_HINT = "interrupted; run the same command again to resume"


def command_line(script: str, argv: Optional[Sequence[str]] = None) -> str:
    """``python scripts/<script> ARGS`` with this process's arguments (or ``argv``), shell-quoted."""
    args = shlex.join(sys.argv[1:] if argv is None else argv)
    return "python scripts/{}{}".format(script, " " + args if args else "")


def input_shape(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """``--input-shape N,C,H,W`` as a tuple (None for None).

    Raises
    ------
    UsageError
        Not four positive integers.
    """
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise UsageError("--input-shape needs N,C,H,W (four positive integers), got {}".format(text))
    return shape


def file_prefix(text: str) -> str:
    """An ``argparse`` type for ``--out PREFIX``: the stem of the files written (``PREFIX.params``, ...), which a
    folder is not (``DIR/`` would write the hidden ``DIR/.params``)."""
    if text.endswith(("/", os.sep)) or os.path.isdir(text):
        raise argparse.ArgumentTypeError("{} is a folder; give the files' name inside it, e.g. {}".format(
            text, os.path.join(text, "upgraded")))
    return text


def run_main(work: Callable[[], Optional[str]], interrupted: str = RESUME_HINT) -> int:
    """Run a script's work and return its exit status.

    ``work`` returns the text to print (or None). A ``GluonUpgradeError`` or ``OSError`` prints one
    ``error:`` line on stderr and gives 2; Ctrl-C (or SIGTERM in training) prints ``interrupted`` and gives 130.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    warnings.filterwarnings("ignore", message="Cannot decide type")
    try:
        text = work()
    except (GluonUpgradeError, OSError) as err:
        print("error: {}".format(err), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    if text:
        print(text)
    return 0

"""What the command-line scripts share: quiet logging, one error line and exit 2 for bad input, exit 130 on
Ctrl-C, and the command line as it is written next to the results it made."""
import argparse
import logging
import os
import shlex
import sys
import warnings
from typing import Callable, Optional, Sequence, Tuple, Union

from .errors import GluonUpgradeError, UsageError

RESUME_HINT = "interrupted; run the same command again to resume"
PROGRAM = "gluon-upgrade"
"""The console entry point's name (``gluon_upgrade.commands.main``)."""


def program(script: str) -> str:
    """How this process's command runs ``script`` (``train.py``): ``gluon-upgrade train`` when it was started
    through the console entry point, else ``python scripts/train.py``."""
    started = os.path.basename(sys.argv[0]) if sys.argv else ""
    if started.startswith(PROGRAM + " "):
        return "{} {}".format(PROGRAM, os.path.splitext(script)[0].replace("_", "-"))
    return "python scripts/{}".format(script)


def command_line(script: str, argv: Optional[Sequence[str]] = None) -> str:
    """The command as it was run (``program(script)``) with this process's arguments (or ``argv``), shell-quoted."""
    args = shlex.join(sys.argv[1:] if argv is None else argv)
    return program(script) + (" " + args if args else "")


def command_parser(doc: str) -> argparse.ArgumentParser:
    """The parser of a command whose module docstring is ``doc``: ``--help`` prints its first paragraph before
    the options and the rest (the examples) after them, each as written.

    Parameters
    ----------
    doc : str
        The command module's ``__doc__``: a summary paragraph, then optionally a blank line and its examples.
    """
    summary, _, rest = doc.strip().partition("\n\n")
    return argparse.ArgumentParser(description=summary, epilog=rest.strip() or None,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_study_options(parser: argparse.ArgumentParser, upgrade_help: str, dcn: bool = False) -> None:
    """The options of every command that runs the demo's Table II configs (Table II, the depth, offset and
    effect studies), with their defaults: ``--baseline``, ``--dcn`` (when ``dcn``), ``--upgrade``, ``--output``,
    ``--set``, ``--no-progress``."""
    parser.add_argument("--baseline", default="configs/demo/ssd_voc.yaml", help="the baseline's config")
    if dcn:
        parser.add_argument("--dcn", default="configs/demo/ssd_voc_dcn.yaml",
                            help="the config of the network deformable from the start")
    parser.add_argument("--upgrade", default="configs/demo/ssd_voc_upgrade.yaml", help=upgrade_help)
    parser.add_argument("--output", default="results/demo", help="results folder (default: results/demo)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of every config (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


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
    """An ``argparse`` type for ``--prefix PREFIX``: the stem of the files written (``PREFIX.params``, ...), which a
    folder is not (``DIR/`` would write the hidden ``DIR/.params``)."""
    if text.endswith(("/", os.sep)) or os.path.isdir(text):
        raise argparse.ArgumentTypeError("{} is a folder; give the files' name inside it, e.g. {}".format(
            text, os.path.join(text, "upgraded")))
    return text


def run_main(work: Callable[[], Union[str, int, None]], interrupted: str = RESUME_HINT) -> int:
    """Run a command's work and return its exit status.

    ``work`` returns the text to print (the status is then 0), None, or its own exit status. A
    ``GluonUpgradeError`` or ``OSError`` prints one ``error:`` line on stderr and gives 2; Ctrl-C (or SIGTERM in
    training) prints ``interrupted`` and gives 130.
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
    if isinstance(text, int):
        return text
    if text:
        print(text)
    return 0

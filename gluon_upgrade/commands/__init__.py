"""The command lines, one module per command, each with ``parse_args(argv)`` and ``main(argv) -> int``.

They run as ``gluon-upgrade NAME ...`` (the console entry point an install makes), ``python -m gluon_upgrade
NAME ...``, or, in a checkout, ``python scripts/NAME.py ...`` (with underscores); all three are the same code.
"""
import importlib
import os
import sys
from typing import List, Optional

from ..cli import PROGRAM

COMMANDS = {
    "train": "train a detector or segmenter from a YAML config (resumable)",
    "eval": "score a detector (mAP) or segmenter (mIoU) on its config's validation split",
    "upgrade": "upgrade a trained network's convolutions in place, verify, save",
    "export": "export to MXNet's symbol format and ONNX, checked against MXNet",
    "reproduce": "the paper's Table I (depth, segmentation) and III / IV (base, upgrade, fine-tune, score)",
    "table2": "the paper's Table II and Fig. 4, with the control, over seeds",
    "depth-study": "Table I's depth study: 0-6 deformable layers",
    "effect-study": "where the upgrade pays: the four arms of Table II per cell, over seeds",
    "offset-study": "how far the offsets move during the fine-tune",
    "positive-control": "a task where deformable sampling must pay",
    "visualize-offsets": "draw a deformable network's sampling locations on an image",
    "make-demo-data": "generate the demo set (boxes; class masks in VOC's layout) in the VOC or COCO layout",
    "pretrain-backbone": "pretrain the demo backbones (the ImageNet stand-in)",
    "show-data": "draw annotated images of a config's data set",
    "plot": "draw runs' mAP and loss curves",
    "launch-dist": "run a command as an MXNet parameter-server job",
    "build-ops": "build the compiled CPU operator of impl='fast'",
    "config-reference": "write the reference of every config key (docs/config_reference.md)",
}
"""Each command and what it does; ``gluon_upgrade.commands.<name with underscores>`` holds it."""

def module_name(command: str) -> str:
    """The module of ``command`` (``depth-study`` -> ``gluon_upgrade.commands.depth_study``)."""
    return "{}.{}".format(__name__, command.replace("-", "_"))


def usage() -> str:
    """The list of commands ``gluon-upgrade`` prints without one."""
    width = max(map(len, COMMANDS))
    return "\n".join(["usage: {} COMMAND [ARGS]  ({} COMMAND --help for its arguments)".format(PROGRAM, PROGRAM),
                      "", "commands:"] + ["  {:<{}}  {}".format(name, width, text) for name, text in COMMANDS.items()])


def main(argv: Optional[List[str]] = None) -> int:
    """``gluon-upgrade COMMAND ARGS``: run one command; an unknown command is one line and exit 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        print("error: no command {!r}; the commands: {}".format(command, ", ".join(COMMANDS)), file=sys.stderr)
        return 2
    # argparse names the program after argv[0]: "gluon-upgrade train" in usage lines and in recorded commands.
    sys.argv = ["{} {}".format(PROGRAM, command)] + args
    return importlib.import_module(module_name(command)).main(args)


def run_script(path: str) -> None:
    """What ``scripts/NAME.py`` runs: the command of that name with the script's arguments, then exit."""
    command = os.path.splitext(os.path.basename(path))[0].replace("_", "-")
    sys.exit(importlib.import_module(module_name(command)).main(sys.argv[1:]))

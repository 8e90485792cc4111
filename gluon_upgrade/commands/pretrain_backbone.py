"""Pretrain a demo detector's backbone on crops of demo objects: the demo's stand-in for ImageNet weights.

The weights are cached in the user cache (~/.cache/gluon-upgrade/backbone/, or under $MXNET_HOME) by a fingerprint
of the generator, the network and the settings: a second call reuses them (unless --overwrite). A config loads them
with model.pretrained_base: true.

Examples
--------
python scripts/pretrain_backbone.py
python scripts/pretrain_backbone.py --model yolo3_darknet27_demo
python scripts/pretrain_backbone.py --overwrite --report results/demo/pretrain_backbone.md
"""
import os
import time

from ..cli import command_line, command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--model", default="ssd_128_resnet29_v1_demo",
                        help="the demo network whose backbone to pretrain: ssd_128_resnet29_v1_demo (default) or "
                             "yolo3_darknet27_demo")
    parser.add_argument("--overwrite", action="store_true", help="pretrain again even if the cache holds the weights")
    parser.add_argument("--workers", type=int, help="processes drawing the crops (default: every core)")
    parser.add_argument("--report", help="also write what was done, with this command, to a Markdown file")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..data.shapes import CLASSES
    from ..machine import describe_machine
    from ..models.pretrain import CACHE, pretrained_backbone
    from ..reporting.files import write_text

    def work():
        start = time.perf_counter()
        result = pretrained_backbone(args.model, overwrite=args.overwrite, workers=args.workers)
        what = "pretrained in {:.0f} s".format(time.perf_counter() - start) if result.trained else "reused"
        # The cache's own path is the machine's: results name the file within it.
        text = ("{} backbone {} in the user cache ({}): held-out crop accuracy {:.1%} (chance {:.1%}; {} steps of {} "
                "crops)".format(args.model, os.path.join(CACHE, os.path.basename(result.path)), what,
                                result.val_accuracy, 1 / len(CLASSES), result.settings.steps, result.settings.batch))
        if args.report:
            write_text(args.report, "# The demo's ImageNet stand-in\n\nMade by `{}`.  \nMachine: {}\n\n{}\n".format(
                command_line("pretrain_backbone.py", argv), describe_machine(), text))
        return text
    return run_main(work)

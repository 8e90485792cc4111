#!/usr/bin/env python
"""Pretrain a demo detector's backbone on crops of demo objects: the demo's stand-in for ImageNet weights.

The weights are cached under data/demo/backbone/ by a fingerprint of the generator, the network and the settings:
a second call reuses them (unless --force). A config loads them with model.pretrained_base: true.

Examples
--------
python scripts/pretrain_backbone.py
python scripts/pretrain_backbone.py --model yolo3_darknet27_demo
python scripts/pretrain_backbone.py --force --report results/demo/pretrain_backbone.md
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ssd_128_resnet29_v1_demo",
                        help="the demo network whose backbone to pretrain: ssd_128_resnet29_v1_demo (default) or "
                             "yolo3_darknet27_demo")
    parser.add_argument("--force", action="store_true", help="pretrain again even if the cache holds the weights")
    parser.add_argument("--workers", type=int, help="processes drawing the crops (default: every core)")
    parser.add_argument("--report", help="also write what was done, with this command, to a Markdown file")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from gluon_upgrade.cli import command_line, run_main
    from gluon_upgrade.data.shapes import CLASSES
    from gluon_upgrade.machine import describe_machine
    from gluon_upgrade.models.pretrain import pretrained_backbone
    from gluon_upgrade.paths import portable_path
    from gluon_upgrade.reporting.files import write_text

    def work():
        start = time.perf_counter()
        result = pretrained_backbone(args.model, force=args.force, workers=args.workers)
        what = "pretrained in {:.0f} s".format(time.perf_counter() - start) if result.trained else "reused"
        text = "{} backbone {} ({}): held-out crop accuracy {:.1%} (chance {:.1%}; {} steps of {} crops)".format(
            args.model, portable_path(result.path), what, result.val_accuracy, 1 / len(CLASSES), result.settings.steps,
            result.settings.batch)
        if args.report:
            write_text(args.report, "# The demo's ImageNet stand-in\n\nMade by `{}`.  \nMachine: {}\n\n{}\n".format(
                command_line("pretrain_backbone.py", argv), describe_machine(), text))
        return text
    return run_main(work)


if __name__ == "__main__":
    sys.exit(main())

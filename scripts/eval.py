#!/usr/bin/env python
"""Evaluate a detector on the validation split of its config: print per-class AP and mAP, write JSON.

Examples
--------
python scripts/eval.py --config configs/demo/ssd_voc.yaml --weights runs/demo_ssd/best.params
python scripts/eval.py --config configs/ssd512_voc_baseline.yaml --set model.pretrained=true --out eval.json
"""
import argparse
import logging
import os
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML config (model, data, eval sections)")
    parser.add_argument("--weights", help=".params of the network the config describes (after any upgrade)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. eval.batch_size=4 (repeatable)")
    parser.add_argument("--out", help="JSON report (default: beside --weights, else eval.json)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", message="Cannot decide type")
    from gluon_upgrade.config.loader import load_config
    from gluon_upgrade.errors import GluonUpgradeError
    from gluon_upgrade.evaluation.from_config import evaluate_config

    out = args.out or (os.path.splitext(args.weights)[0] + "_eval.json" if args.weights else "eval.json")
    try:
        config = load_config(args.config, args.set)
        report = evaluate_config(config, args.weights, progress=not args.no_progress)
        report.save_json(out)
    except (GluonUpgradeError, OSError) as err:
        print("error: {}".format(err), file=sys.stderr)
        return 2
    print(report.result.format_table())
    print("{} images in {:.1f} s{}; report: {}".format(
        report.images, report.seconds, ", {} skipped".format(len(report.skipped)) if report.skipped else "", out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

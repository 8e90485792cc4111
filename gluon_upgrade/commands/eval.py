"""Evaluate a detector (AP per class, mAP) or a segmenter (IoU per class, mIoU, pixel accuracy) on the validation
split of its config: print the table, write JSON.

Examples
--------
python scripts/eval.py --config configs/demo/ssd_voc.yaml --weights runs/demo_ssd/best.params
python scripts/eval.py --config configs/ssd512_voc_baseline.yaml --set model.pretrained=true --out eval.json
"""
import os

from ..cli import command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--config", required=True, help="YAML config (model, data, eval sections)")
    parser.add_argument("--weights", help=".params of the network the config describes (after any upgrade)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. eval.batch_size=4 (repeatable)")
    parser.add_argument("--out", help="JSON report (default: beside --weights, else eval.json)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..config.loader import load_config
    from ..evaluation.from_config import evaluate_config

    out = args.out or (os.path.splitext(args.weights)[0] + "_eval.json" if args.weights else "eval.json")

    def work():
        report = evaluate_config(load_config(args.config, args.set), args.weights, progress=not args.no_progress)
        report.save_json(out)
        return "{}\n{} images in {:.1f} s{}; report: {}".format(
            report.result.format_table(), report.images, report.seconds,
            ", {} skipped".format(len(report.skipped)) if report.skipped else "", out)
    return run_main(work)

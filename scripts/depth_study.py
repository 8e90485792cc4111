#!/usr/bin/env python
"""The depth study (Table I): upgrade 0, 1, 2, 3 and 6 of the backbone's last 3x3 convolutions of one trained
baseline, fine-tune each by the paper's rule, and tabulate mAP, parameters and speed relative to 0.

Examples
--------
python scripts/depth_study.py
python scripts/depth_study.py --depths 0 3 --baseline-run results/demo/table2/baseline
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="configs/demo/ssd_voc.yaml", help="the baseline's config")
    parser.add_argument("--upgrade", default="configs/demo/ssd_voc_upgrade.yaml",
                        help="the fine-tune config every depth uses")
    parser.add_argument("--baseline-run", default="results/demo/table2/baseline",
                        help="the baseline's run directory: reused when finished with the same config, else "
                             "trained there (default: Table II's)")
    parser.add_argument("--depths", nargs="+", type=int, default=[0, 1, 2, 3, 6], help="layer counts")
    parser.add_argument("--out", default="results/demo", help="results folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of every config (repeatable)")
    parser.add_argument("--batch", type=int, default=8, help="images per timed batch")
    parser.add_argument("--repeats", type=int, default=10, help="timed batches per network")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="fine-tune every depth with N seeds (the config's and the next ones): mean +- std")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from gluon_upgrade.cli import command_line, run_main
    from gluon_upgrade.experiments.depth import run_depth_study
    return run_main(lambda: run_depth_study(args.baseline, args.upgrade, args.out, args.depths, args.baseline_run,
                                            args.set, args.batch, args.repeats, command_line("depth_study.py", argv),
                                            not args.no_progress, args.seeds))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""The paper's Table II and Fig. 4: baseline, deformable from scratch, and upgrade-and-fine-tune, then the table.

Runs left unfinished by an earlier call are resumed, finished ones reused. With the demo configs (the default)
this is what `make demo` runs.

Examples
--------
python scripts/table2.py
python scripts/table2.py --baseline configs/ssd512_voc_baseline.yaml --dcn configs/ssd512_voc_dcn.yaml \\
    --upgrade configs/ssd512_voc_upgrade.yaml --out results/table2_voc
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="configs/demo/ssd_voc.yaml", help="experiment 1's config")
    parser.add_argument("--dcn", default="configs/demo/ssd_voc_dcn.yaml", help="experiment 2's config")
    parser.add_argument("--upgrade", default="configs/demo/ssd_voc_upgrade.yaml",
                        help="experiment 3's config (its weights and schedule are set from experiment 1)")
    parser.add_argument("--out", default="results/demo", help="results folder (default: results/demo)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of all three configs (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from gluon_upgrade.cli import command_line, run_main
    from gluon_upgrade.experiments.table2 import run_table2

    def work():
        start = time.perf_counter()
        table = run_table2(args.baseline, args.dcn, args.upgrade, args.out, args.set, command_line("table2.py", argv),
                           not args.no_progress)
        return "{}\n{:.0f} s; wrote {}".format(table.markdown(), time.perf_counter() - start,
                                              os.path.join(args.out, "table2.md"))
    return run_main(work)


if __name__ == "__main__":
    sys.exit(main())

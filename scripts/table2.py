#!/usr/bin/env python
"""The paper's Table II and Fig. 4: baseline, deformable from scratch, and upgrade-and-fine-tune, then the table.

Four experiments: the paper's three and the control (the baseline trained on as the upgrade is, without it).
Runs left unfinished by an earlier call are resumed, finished ones reused. With the demo configs (the default)
this is what `make demo` runs; --seeds N repeats it for seeds 0..N-1 and writes table2_seeds.md.

Examples
--------
python scripts/table2.py
python scripts/table2.py --seeds 5
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
                        help="experiment 3's config, and with model.mode baseline the control's (weights and "
                             "schedule are set from experiment 1)")
    parser.add_argument("--out", default="results/demo", help="results folder (default: results/demo)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of all the configs (repeatable)")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="run every experiment for seeds 0..N-1 and write table2_seeds.md (mean +- std)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from gluon_upgrade.cli import command_line, run_main
    from gluon_upgrade.experiments.table2 import run_table2
    from gluon_upgrade.experiments.table2_seeds import run_table2_seeds

    def work():
        start = time.perf_counter()
        command = command_line("table2.py", argv)
        if args.seeds:
            table = run_table2_seeds(args.baseline, args.dcn, args.upgrade, args.out, args.seeds, args.set,
                                     command, not args.no_progress)
            written = "table2_seeds.md"
        else:
            table = run_table2(args.baseline, args.dcn, args.upgrade, args.out, args.set, command,
                               not args.no_progress)
            written = "table2.md"
        return "{}\n{:.0f} s; wrote {}".format(table.markdown(), time.perf_counter() - start,
                                              os.path.join(args.out, written))
    return run_main(work)


if __name__ == "__main__":
    sys.exit(main())

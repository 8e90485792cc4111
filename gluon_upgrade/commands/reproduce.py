"""Reproduce the paper's Table III (VOC) or IV (COCO): score each base model, upgrade it, fine-tune, score again.

Rows already done are not redone; an interrupted reproduction resumes where it stopped.

Examples
--------
python scripts/reproduce.py --table 3 --dry-run
python scripts/reproduce.py --table 3 --rows ssd512_resnet50 --data-root ~/.mxnet/datasets/voc
python scripts/reproduce.py --table 4 --base own
python scripts/reproduce.py --table 3 --demo
"""
import argparse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=int, required=True, choices=(3, 4))
    parser.add_argument("--rows", nargs="+", metavar="ROW", help="row keys (default: all), e.g. ssd512_resnet50")
    parser.add_argument("--base", default="gluon", choices=("gluon", "own"),
                        help="base models: GluonCV's zoo weights, or baselines trained from the row's configs")
    parser.add_argument("--data-root", help="data set root (default: the configs', e.g. ~/.mxnet/datasets/voc)")
    parser.add_argument("--demo", action="store_true",
                        help="the demo rows on the demo data (own baselines; results in results/demo)")
    parser.add_argument("--output", help="results folder (default: results, or results/demo with --demo)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of every config (repeatable)")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="fine-tune each row with N seeds (the config's and the next ones): mean +- std")
    parser.add_argument("--control", action="store_true",
                        help="also train each base on for the fine-tune's schedule without the upgrade (--demo "
                             "always does)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands the rows need, run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..cli import command_line, run_main
    from ..experiments.reproduce import format_commands, make_plans, reproduce
    out = args.output or ("results/demo" if args.demo else "results")

    def work():
        if args.dry_run:
            return format_commands(make_plans(args.table, args.rows, args.base, out, args.data_root, args.demo,
                                              args.set, args.seeds, args.control))
        return reproduce(args.table, args.rows, args.base, out, args.data_root, args.demo, args.set,
                         command_line("reproduce.py", argv), not args.no_progress, args.seeds, args.control)
    return run_main(work)

"""Reproduce the paper's Table I (depth), III (VOC) or IV (COCO) on real data, or on the demo data.

Tables III and IV score each base model, upgrade it, fine-tune it and score it again. Table I trains, per seed,
a baseline and its control and, at 1, 2, 3 and 6 layers, the network deformable from the start and the upgrade of
the baseline (real data: DeepLab ResNet-101 on VOC 2012 aug; demo: the demo segmenter and the demo SSD).
Runs already done are not redone; an interrupted reproduction resumes where it stopped.

Examples
--------
python scripts/reproduce.py --table 1 --dry-run
python scripts/reproduce.py --table 1 --demo --seeds 3 --rows demo_fcn
python scripts/reproduce.py --table 1 --demo --report-only
python scripts/reproduce.py --table 1 --demo --jobs 2
python scripts/reproduce.py --table 3 --dry-run
python scripts/reproduce.py --table 3 --rows ssd512_resnet50 --data-root ~/.mxnet/datasets/voc
python scripts/reproduce.py --table 4 --base own
python scripts/reproduce.py --table 3 --demo
"""
from ..cli import command_line, command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--table", type=int, required=True, choices=(1, 3, 4))
    parser.add_argument("--rows", nargs="+", metavar="ROW",
                        help="row keys (default: all), e.g. ssd512_resnet50; Table 1: column keys, e.g. demo_fcn")
    parser.add_argument("--base", default="gluon", choices=("gluon", "own"),
                        help="base models: GluonCV's zoo weights, or baselines trained from the row's configs")
    parser.add_argument("--data-root", help="data set root (default: the configs', e.g. ~/.mxnet/datasets/voc)")
    parser.add_argument("--demo", action="store_true",
                        help="the demo rows on the demo data (own baselines; results in results/demo)")
    parser.add_argument("--output", help="results folder (default: results, or results/demo with --demo)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of every config (repeatable)")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="fine-tune each row with N seeds (the config's and the next ones): mean +- std "
                             "(default 1; Table 1: default 3, and seeds past the third train only the runs of the "
                             "paired differences within two standard errors of 0 over the first three)")
    parser.add_argument("--control", action="store_true",
                        help="also train each base on for the fine-tune's schedule without the upgrade (--demo "
                             "and Table 1 always do)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands the rows need, run nothing")
    parser.add_argument("--report-only", action="store_true",
                        help="Table 1: write the report from the runs finished so far, train nothing (a table "
                             "filled over several sessions)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="Table 1: train N runs at a time, each a process with its share of the cores "
                             "(default 1: one run at a time on all of them)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..errors import ConfigError
    from ..experiments.reproduce import format_commands, make_plans, reproduce
    from ..experiments.table1 import run_table1
    out = args.output or ("results/demo" if args.demo else "results")
    command = command_line("reproduce.py", argv)

    def work():
        if args.table == 1:
            if args.base != "gluon":
                raise ConfigError("--base: Table 1 always trains its own baselines")
            overrides = args.set + (["data.root=" + args.data_root] if args.data_root else [])
            return run_table1(out, args.rows, args.demo, args.seeds or 3, overrides=overrides, command=command,
                              progress=not args.no_progress, dry_run=args.dry_run, report_only=args.report_only,
                              jobs=args.jobs, log=lambda line: print(line, flush=True))
        if args.report_only:
            raise ConfigError("--report-only is for Table 1; Tables 3 and 4 report whenever they run")
        if args.jobs != 1:
            raise ConfigError("--jobs is for Table 1; Tables 3 and 4 train one run at a time")
        seeds = args.seeds or 1
        if args.dry_run:
            return format_commands(make_plans(args.table, args.rows, args.base, out, args.data_root, args.demo,
                                              args.set, seeds, args.control))
        return reproduce(args.table, args.rows, args.base, out, args.data_root, args.demo, args.set, command,
                         not args.no_progress, seeds, args.control)
    return run_main(work)

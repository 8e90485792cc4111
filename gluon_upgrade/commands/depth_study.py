"""The depth study (Table I): upgrade 0, 1, 2, 3 and 6 of the backbone's last 3x3 convolutions of one trained
baseline, fine-tune each by the paper's rule, and tabulate mAP, parameters and speed relative to 0.

Examples
--------
python scripts/depth_study.py
python scripts/depth_study.py --depths 0 3 --baseline-run results/demo/table2/baseline
"""

from ..cli import add_study_options, command_line, command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    add_study_options(parser, "the fine-tune config every depth uses")
    parser.add_argument("--baseline-run", default="results/demo/table2/baseline",
                        help="the baseline's run directory: reused when finished with the same config, else "
                             "trained there (default: Table II's)")
    parser.add_argument("--depths", nargs="+", type=int, default=[0, 1, 2, 3, 6], help="layer counts")
    parser.add_argument("--batch", type=int, default=8, help="images per timed batch")
    parser.add_argument("--repeats", type=int, default=10, help="timed batches per network")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="fine-tune every depth with N seeds (the config's and the next ones): mean +- std")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..experiments.depth import run_depth_study
    return run_main(lambda: run_depth_study(args.baseline, args.upgrade, args.output, args.depths, args.baseline_run,
                                            args.set, args.batch, args.repeats, command_line("depth_study.py", argv),
                                            not args.no_progress, args.seeds))

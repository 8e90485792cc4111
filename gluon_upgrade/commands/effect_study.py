"""Where the upgrade pays: Table II's four experiments over seeds in each cell of the effect study.

A cell (configs/demo/effect/<name>.yaml) changes one thing of the demo recipe. Each cell runs the baseline, the
network deformable from the start, the upgrade and its control for seeds 0..N-1 into
<out>/effect_study/<cell>/ (finished runs reused, interrupted ones resumed), then the report over every cell run
so far is rewritten: <out>/effect_study.md, .json and .png (paired differences, mean +- standard error, at
mAP@0.5, @0.75 and @[.5:.95]).

Examples
--------
python scripts/effect_study.py --cells configs/demo/effect/recipe.yaml --seeds 2
python scripts/effect_study.py --cells configs/demo/effect/*.yaml --seeds 5
python scripts/effect_study.py --cells configs/demo/effect/maps16_input256.yaml --seed 3   # beside --seed 4
python scripts/effect_study.py --report-only
"""
import os

from ..cli import add_study_options, command_line, command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    add_study_options(parser, "experiment 3's config (with model.mode baseline, the control's)", dcn=True)
    parser.add_argument("--cells", nargs="+", default=[], metavar="YAML", help="cell files to run")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, metavar="N",
                       help="seeds 0..N-1 per cell (default 2: a screen; 5 to confirm)")
    seeds.add_argument("--seed", type=int, metavar="K",
                       help="run only seed K of each cell and write no report (seeds side by side in separate "
                            "processes; a later --seeds N gathers them)")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing; rewrite the report from the cells already run")
    args = parser.parse_args(argv)
    if not args.cells and not args.report_only:
        parser.error("name the cells to run (--cells FILE ...) or --report-only")
    if args.seeds is None:  # no argparse default: one equal to a given --seeds would hide it from the group
        args.seeds = 2
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.seed is not None and (args.seed < 0 or args.report_only):
        parser.error("--seed is a seed of the cells to run, 0 or more")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..experiments.effect_study import run_effect_study, write_study

    def work():
        command = command_line("effect_study.py", argv)
        if args.report_only:
            study = write_study(args.output, command)
        else:
            study = run_effect_study(args.cells, args.seeds, args.output, args.baseline, args.dcn, args.upgrade,
                                     args.set, command, not args.no_progress, args.seed)
            if study is None:
                return "seed {} of {} cell(s) done under {}".format(
                    args.seed, len(args.cells), os.path.join(args.output, "effect_study"))
        return "{}\n{:.0f} s; wrote {}".format(study.markdown(), study.seconds,
                                              os.path.join(args.output, "effect_study.md"))
    return run_main(work)

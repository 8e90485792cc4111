"""The paper's Table II and Fig. 4: baseline, deformable from scratch, and upgrade-and-fine-tune, then the table.

Four experiments: the paper's three and the control (the baseline trained on as the upgrade is, without it).
Runs left unfinished by an earlier call are resumed, finished ones reused. With the demo configs (the default)
this is what `make demo` runs; --seeds N repeats it for seeds 0..N-1 and writes table2_seeds.md.

Examples
--------
python scripts/table2.py
python scripts/table2.py --seeds 5
python scripts/table2.py --baseline configs/ssd512_voc_baseline.yaml --dcn configs/ssd512_voc_dcn.yaml \\
    --upgrade configs/ssd512_voc_upgrade.yaml --output results/table2_voc
"""
import os
import time

from ..cli import add_study_options, command_line, command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    add_study_options(parser, "experiment 3's config, and with model.mode baseline the control's (weights and "
                              "schedule are set from experiment 1)", dcn=True)
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="run every experiment for seeds 0..N-1 and write table2_seeds.md (mean +- std)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..experiments.table2 import run_table2
    from ..experiments.table2_seeds import run_table2_seeds

    def work():
        start = time.perf_counter()
        command = command_line("table2.py", argv)
        if args.seeds:
            table = run_table2_seeds(args.baseline, args.dcn, args.upgrade, args.output, args.seeds, args.set,
                                     command, not args.no_progress)
            written = "table2_seeds.md"
        else:
            table = run_table2(args.baseline, args.dcn, args.upgrade, args.output, args.set, command,
                               not args.no_progress)
            written = "table2.md"
        return "{}\n{:.0f} s; wrote {}".format(table.markdown(), time.perf_counter() - start,
                                              os.path.join(args.output, written))
    return run_main(work)

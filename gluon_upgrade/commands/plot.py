"""Draw the mAP and loss curves of training runs (their metrics.csv), labelled from their configs.

Examples
--------
python scripts/plot.py runs/ssd_voc runs/ssd_voc_upgrade --out curves.png
python scripts/plot.py results/demo/table2/* --keys map cls_loss box_loss --out losses.png
"""
from ..cli import command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories (made by scripts/train.py)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--keys", nargs="+", default=["map", "train_loss"],
                        help="metrics.csv columns, one panel each (default: map train_loss)")
    parser.add_argument("--title", help="figure title")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..experiments.runs import read_run
    from ..reporting.curves import plot_runs

    def work():
        runs = [read_run(path) for path in args.runs]
        plot_runs(runs, args.out, args.keys, title=args.title)
        return "wrote {} ({} runs)".format(args.out, len(runs))
    return run_main(work)

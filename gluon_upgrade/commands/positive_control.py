"""The effect study's positive control: the four experiments of Table II where deformable sampling must pay.

Two dots up to twice as far apart as the plain network can see; the class is their orientation. Writes
results/demo/positive_control.md, .json and .png (about 12 minutes a seed on 2 cores).

Examples
--------
python scripts/positive_control.py --seeds 3
python scripts/positive_control.py --seeds 3 --fine-tune 2:0.001:1 --fine-tune 4:0.001:1 \
    --out results/demo/positive_control_fine_tunes.md
"""
from ..cli import command_line, command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--seeds", type=int, default=3, metavar="N", help="seeds 0..N-1 (default 3)")
    parser.add_argument("--offset-lr-mult", type=float, default=0.1,
                        help="learning-rate multiplier of the offset branches (default 0.1, the demo's)")
    parser.add_argument("--fine-tune", action="append", default=[], metavar="EPOCHS:LR:MULT",
                        help="also fine-tune the upgrade and its control this way (repeatable): epochs, learning "
                             "rate, offsets' multiplier")
    parser.add_argument("--out", default="results/demo/positive_control.md", help="the report (.json, .png beside)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be at least 2: the differences need a spread")
    if args.offset_lr_mult < 0:
        parser.error("--offset-lr-mult must be >= 0")
    from ..experiments.positive_control import FineTune
    try:
        args.fine_tune = [FineTune.parse(text) for text in args.fine_tune]
    except ValueError as err:
        parser.error("--fine-tune: {}".format(err))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..experiments.positive_control import ControlSettings, run_positive_control

    def work():
        control = run_positive_control(args.seeds, args.out, ControlSettings(offset_lr_mult=args.offset_lr_mult),
                                       command_line("positive_control.py", argv), not args.no_progress,
                                       args.fine_tune)
        return "{}\nwrote {}".format(control.markdown(), args.out)
    return run_main(work)

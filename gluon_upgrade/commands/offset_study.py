"""Fine-tune the upgraded demo baseline at several offset learning-rate multipliers and seeds: mAP beside what the
offsets do (their length, samples off the map, samples on the objects), and a picture per multiplier.

Examples
--------
python scripts/offset_study.py                              # x0.1 and x1, 3 seeds -> results/demo/offset_study.md
python scripts/offset_study.py --multipliers 0.1 0.3 1 --seeds 5
"""

from ..cli import add_study_options, command_line, command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    add_study_options(parser, "the upgrade config every run fine-tunes with")
    parser.add_argument("--baseline-run", default="results/demo/table2/baseline",
                        help="the baseline's run directory (reused when finished with the same config)")
    parser.add_argument("--multipliers", nargs="+", type=float, default=[0.1, 1.0], help="train.offset_lr_mult values")
    parser.add_argument("--seeds", type=int, default=3, help="fine-tunes per multiplier")
    parser.add_argument("--images", type=int, default=50, help="validation images the offsets are measured on")
    parser.add_argument("--image", default="data/demo/voc/VOCdevkit/VOC2007/JPEGImages/000600.jpg",
                        help="the image of the pictures")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..experiments.offset_study import run_offset_study
    return run_main(lambda: run_offset_study(args.baseline, args.upgrade, args.output, args.baseline_run, args.image,
                                             args.multipliers, args.seeds, args.images, args.set,
                                             command_line("offset_study.py", argv), not args.no_progress))

"""Generate the demo set "deformed shapes" in the real VOC or COCO layout: boxes, and in VOC's the class masks
(``VOC2012``) the demo segmenter reads.

Examples
--------
python scripts/make_demo_data.py --output data/demo/voc --format voc
python scripts/make_demo_data.py --output data/demo/coco --format coco --train 600 --test 200 --size 160 --seed 0
"""
import time

from ..data.demo import DEMO_DEFAULTS, make_demo_dataset
from ..data.layouts import FORMATS
from ..cli import command_line, command_parser, run_main
from ..machine import describe_machine
from ..reporting.files import write_text


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--output", required=True, help="the data set's root folder")
    parser.add_argument("--format", choices=FORMATS, default="voc")
    parser.add_argument("--train", type=int, default=DEMO_DEFAULTS["train"], help="training images")
    parser.add_argument("--test", type=int, default=DEMO_DEFAULTS["test"], help="test images")
    parser.add_argument("--size", type=int, default=DEMO_DEFAULTS["size"], help="longer image side, pixels")
    parser.add_argument("--seed", type=int, default=DEMO_DEFAULTS["seed"])
    parser.add_argument("--deformation", type=float, default=DEMO_DEFAULTS["deformation"], metavar="STRENGTH",
                        help="shear, aspect, wave and bend ranges, 0 (none) to 1 (full); default %(default)s")
    parser.add_argument("--workers", type=int, help="processes (default: every core)")
    parser.add_argument("--overwrite", action="store_true", help="replace a demo set already in --output")
    parser.add_argument("--report", help="also write the statistics table, with this command, to a Markdown file")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)

    def work() -> str:
        start = time.perf_counter()
        dataset = make_demo_dataset(args.output, args.format, train=args.train, test=args.test, size=args.size,
                                    seed=args.seed, workers=args.workers, overwrite=args.overwrite,
                                    deformation=args.deformation)
        seconds = time.perf_counter() - start
        lines = [dataset.format_table(), "wrote {} ({} layout) in {:.1f} s".format(dataset.root, dataset.format,
                                                                                 seconds)]
        if args.report:
            write_text(args.report, "# Demo data set \"deformed shapes\" ({} layout)\n\nMade by `{}` in {:.1f} s.  "
                       "\nMachine: {}\n\n```\n{}\n```\n".format(
                           dataset.format, command_line("make_demo_data.py", argv), seconds, describe_machine(),
                           dataset.format_table()))
            lines.append("report: {}".format(args.report))
        return "\n".join(lines)
    return run_main(work)

#!/usr/bin/env python
"""Generate the demo detection set "deformed shapes" in the real VOC or COCO layout.

Examples
--------
python scripts/make_demo_data.py --out data/demo/voc --format voc
python scripts/make_demo_data.py --out data/demo/coco --format coco --train 600 --test 200 --size 160 --seed 0
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from gluon_upgrade.data.demo import DEMO_DEFAULTS, make_demo_dataset  # noqa: E402
from gluon_upgrade.data.layouts import FORMATS  # noqa: E402
from gluon_upgrade.errors import GluonUpgradeError  # noqa: E402
from gluon_upgrade.machine import describe_machine  # noqa: E402
from gluon_upgrade.reporting.files import write_text  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the data set's root folder")
    parser.add_argument("--format", choices=FORMATS, default="voc")
    parser.add_argument("--train", type=int, default=DEMO_DEFAULTS["train"], help="training images")
    parser.add_argument("--test", type=int, default=DEMO_DEFAULTS["test"], help="test images")
    parser.add_argument("--size", type=int, default=DEMO_DEFAULTS["size"], help="longer image side, pixels")
    parser.add_argument("--seed", type=int, default=DEMO_DEFAULTS["seed"])
    parser.add_argument("--deformation", type=float, default=DEMO_DEFAULTS["deformation"], metavar="STRENGTH",
                        help="shear, aspect, wave and bend ranges, 0 (none) to 1 (full); default %(default)s")
    parser.add_argument("--workers", type=int, help="processes (default: every core)")
    parser.add_argument("--overwrite", action="store_true", help="replace a demo set already in --out")
    parser.add_argument("--report", help="also write the statistics table, with this command, to a Markdown file")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        dataset = make_demo_dataset(args.out, args.format, train=args.train, test=args.test, size=args.size,
                                    seed=args.seed, workers=args.workers, overwrite=args.overwrite,
                                    deformation=args.deformation)
    except (GluonUpgradeError, OSError) as err:
        print("error: {}".format(err), file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    print(dataset.format_table())
    print("wrote {} ({} layout) in {:.1f} s".format(dataset.root, dataset.format, seconds))
    if args.report:
        write_text(args.report, "# Demo data set \"deformed shapes\" ({} layout)\n\nMade by `python {}` in {:.1f} s.  "
                   "\nMachine: {}\n\n```\n{}\n```\n".format(dataset.format, " ".join(sys.argv), seconds,
                                                         describe_machine(), dataset.format_table()))
        print("report: {}".format(args.report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

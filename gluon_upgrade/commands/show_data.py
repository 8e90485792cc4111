"""Draw annotated images of a config's data set (as the loaders read them) into a PNG.

Examples
--------
python scripts/show_data.py --config configs/demo/ssd_voc.yaml --split train --num 8 \
    --out results/demo/demo_train_samples.png
"""
from ..cli import command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--config", required=True, help="YAML config whose data section names the data set")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--split", choices=["train", "val"], default="train")
    parser.add_argument("--num", type=int, default=8, help="images to draw (the first ones)")
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--out", required=True, help="PNG file")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)

    def work() -> str:
        from ..config.loader import load_config
        from ..data.datasets import detection_dataset
        from ..reporting.samples import plot_samples

        dataset = detection_dataset(load_config(args.config, args.set)["data"], train=args.split == "train")
        indices = list(range(min(args.num, len(dataset))))
        plot_samples(dataset, args.out, indices, args.columns, title="{} ({} split)".format(dataset, args.split))
        return "wrote {} ({} images)".format(args.out, len(indices))
    return run_main(work)

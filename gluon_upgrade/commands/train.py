"""Train a detector or a segmenter from a YAML config: baseline, deformable from scratch, or upgrade-and-fine-tune.

Examples
--------
python scripts/train.py --config configs/ssd512_voc_upgrade.yaml
python scripts/train.py --config configs/demo/ssd_voc.yaml --set train.epochs=3 --set "train.lr_decay_epoch=[2]" --output runs/try
python scripts/train.py --resume --output runs/try
python scripts/train.py --config configs/yolo3_416_voc_upgrade.yaml --dry-run
"""
import os

from ..cli import command_parser, program, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--config", help="YAML config (required unless --resume)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. train.lr=0.01 (repeatable)")
    parser.add_argument("--output", help="run directory (default: runs/<config name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --output after its last complete epoch")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate, build the network (no weights, no data), print the resolved config")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not args.config and not (args.resume and args.output):
        parser.error("give --config FILE (or --resume --output DIR)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..config.loader import load_config
    from ..training.dry_run import dry_run
    from ..training.loop import train
    from ..training.resume import resume_config

    output = args.output or os.path.join("runs", os.path.splitext(os.path.basename(args.config))[0])

    def work():
        config = load_config(args.config, args.set) if args.config else None
        if args.dry_run:
            return dry_run(config if config is not None else resume_config(output, None, args.set)).rstrip("\n")
        if args.resume:
            config = resume_config(output, config, args.set)
        result = train(config, output, resume=args.resume, progress=not args.no_progress)
        best = ("best {} {:.4f} at epoch {}".format(result.label, result.best_map, result.best_epoch)
                if result.best_map is not None else "no " + result.label)
        return "trained to epoch {}; {}; run directory: {}".format(result.epoch, best, result.output)
    return run_main(work, "interrupted; continue with: {} --resume --output {}".format(program("train.py"), output))

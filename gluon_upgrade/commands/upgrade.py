"""Upgrade a trained network's convolutions to deformable convolutions in place, verify, report, save.

Examples
--------
python scripts/upgrade.py --model ssd_512_resnet50_v1_voc --random-init --layers last3 --verify \
    --report upgrade.json
python scripts/upgrade.py --symbol model-symbol.json --params model-0000.params --input-shape 1,3,512,512 \
    --layers stage4_conv8 --prefix upgraded
python scripts/upgrade.py --config runs/baseline/config.yaml --weights runs/baseline/best.params --verify \
    --prefix upgraded
"""
import sys

from ..cli import command_parser, file_prefix, input_shape, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    source = parser.add_argument_group("source (a model-zoo model, a training config or an exported symbol model)")
    source.add_argument("--model", help="GluonCV model-zoo name, e.g. ssd_512_resnet50_v1_voc")
    source.add_argument("--config", help="a baseline's training config (a run's config.yaml): its network, with "
                                         "the classes of its data, and --weights")
    weights = source.add_mutually_exclusive_group()
    weights.add_argument("--weights", help="trained .params file for --model or --config")
    weights.add_argument("--pretrained", action="store_true", help="GluonCV's trained weights for --model")
    weights.add_argument("--random-init", action="store_true",
                         help="random weights of trained-network scale (offline trial)")
    source.add_argument("--symbol", help="exported X-symbol.json")
    source.add_argument("--params", help="X-0000.params beside --symbol")
    source.add_argument("--input-shape", help="N,C,H,W of the input (default: the model's training size)")
    parser.add_argument("--layers", default="last3", help="last3 | NAME,NAME | re:PATTERN (default last3)")
    parser.add_argument("--dcn-version", choices=["v1", "v2"], default="v1", help="deformable convolution version")
    parser.add_argument("--deformable-groups", type=int, default=1)
    parser.add_argument("--impl", choices=["mxnet", "sampled", "fast"], default="mxnet",
                        help="MXNet's deformable operators, composed of differentiable ones, or the compiled CPU "
                             "sampling + a convolution (fast; with sampled, v2 trains on CPU)")
    parser.add_argument("--scope", default="auto",
                        help="auto (the backbone) | '' (whole network) | a layer-name prefix")
    parser.add_argument("--prefix", type=file_prefix,
                        help="output prefix: PREFIX.params, or PREFIX-symbol.json + PREFIX-0000.params")
    parser.add_argument("--export", action="store_true", help="write the symbol format for a model-zoo model")
    parser.add_argument("--verify", action="store_true",
                        help="compare the raw head outputs and the detections before and after on a random input; "
                             "exit 1 if any differs by more than float32 rounding allows (gluon_upgrade.verify)")
    parser.add_argument("--rtol", type=float,
                        help="with --verify: this relative bound instead of the one derived from float32 rounding")
    parser.add_argument("--report", help="write the layer report as JSON here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if sum(map(bool, (args.model, args.config, args.symbol))) != 1:
        parser.error("give one of --model, --config (with --weights) or --symbol (with --params)")
    if args.model and not (args.weights or args.pretrained or args.random_init):
        parser.error("--model needs --weights FILE, --pretrained or --random-init")
    if args.config and not args.weights:
        parser.error("--config needs --weights FILE")
    if args.symbol and not (args.params and args.input_shape):
        parser.error("--symbol needs --params and --input-shape")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    def work() -> int:
        import mxnet as mx

        from .. import upgrade, upgrade_report
        from ..config.loader import load_config
        from ..deploy.symbol import save_network
        from ..models.build import config_baseline
        from ..models.zoo import default_input_shape, load_symbol_model, load_zoo_model
        from ..verify import upgrade_verified

        shape = input_shape(args.input_shape)
        if args.model:
            shape = shape or default_input_shape(args.model)
            net = load_zoo_model(args.model, weights=args.weights, pretrained=args.pretrained,
                                 random=args.random_init, input_shape=shape, seed=args.seed)
        elif args.config:
            net, shape = config_baseline(load_config(args.config), args.weights, shape)
        else:
            net = load_symbol_model(args.symbol, args.params, shape)
        options = dict(layers=args.layers, version=int(args.dcn_version[1]), scope=args.scope,
                       deformable_groups=args.deformable_groups, impl=args.impl)
        verification = None
        if args.verify:
            mx.random.seed(args.seed)
            net, verification = upgrade_verified(net, [mx.nd.random.uniform(shape=shape)], rtol=args.rtol, **options)
        else:
            net = upgrade(net, **options)
        report = upgrade_report(net, verification)
        print(report.format_table())
        if args.report:
            report.save_json(args.report)
            print("report: {}".format(args.report))
        if args.prefix:
            for path in save_network(net, args.prefix, args.export or bool(args.symbol), shape):
                print("wrote {}".format(path))
        if verification is not None and not verification.passed:
            print("FAILED: the outputs changed. " + "; ".join(verification.failures()), file=sys.stderr)
            return 1
        return 0
    return run_main(work)

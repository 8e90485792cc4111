"""Export an (upgraded) detector or segmenter to MXNet's symbol + params format and to ONNX, and check ONNX
against MXNet.

Deformable layers become ONNX DeformConv (opset 19). The check runs the ONNX model with onnxruntime (or ONNX's
reference evaluator) and compares it with MXNet on one input: the outputs before non-maximum suppression and the
input and output of every deformable layer.

Examples
--------
python scripts/export.py --config results/demo/table2/upgrade/config.yaml \
    --weights results/demo/table2/upgrade/best.params --prefix exports/demo_ssd --image IMG.jpg
python scripts/export.py --symbol det-symbol.json --params det-0000.params --input-shape 1,3,512,512 --prefix det
"""
import os

from ..cli import command_line, command_parser, file_prefix, input_shape, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    source = parser.add_argument_group("source (a config's network, or an exported symbol model)")
    source.add_argument("--config", help="YAML config of the network (a run's config.yaml); its deformable layers are "
                        "built with impl mxnet, which ONNX expresses")
    source.add_argument("--weights", help=".params of the network the config describes (after any upgrade)")
    source.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    source.add_argument("--symbol", help="exported X-symbol.json")
    source.add_argument("--params", help="X-0000.params beside --symbol")
    source.add_argument("--input-shape", help="N,C,H,W (default for --config: 1,3,S,S with the config's size)")
    parser.add_argument("--prefix", required=True, type=file_prefix,
                        help="output prefix: PREFIX-symbol.json, PREFIX-0000.params, PREFIX.onnx")
    parser.add_argument("--opset", type=int, default=19, help="ONNX opset (>= 19, the first with DeformConv)")
    parser.add_argument("--image", help="check on this image (resized and normalised as in evaluation)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random check input (without --image)")
    parser.add_argument("--backend", choices=["auto", "onnxruntime", "reference"], default="auto",
                        help="what runs the ONNX model for the check (auto: onnxruntime if installed)")
    parser.add_argument("--no-check", action="store_true", help="export only")
    parser.add_argument("--report", help="write the check as markdown here (and JSON beside it)")
    args = parser.parse_args(argv)
    if bool(args.config) == bool(args.symbol):
        parser.error("give either --config (with --weights) or --symbol (with --params and --input-shape)")
    if args.symbol and not (args.params and args.input_shape):
        parser.error("--symbol needs --params and --input-shape")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    def work():
        import numpy as np

        from ..config.loader import load_config
        from ..data.transforms import load_image
        from ..deploy.export import export_network, export_symbol_files
        from ..errors import UsageError
        from ..models.build import config_network, input_size
        from ..machine import describe_machine
        from ..reporting.files import write_json, write_text

        shape = input_shape(args.input_shape)
        if args.config:
            # ONNX's DeformConv expresses MXNet's operator, not the sampled composite; both take the same weights.
            config = load_config(args.config, list(args.set) + ["model.upgrade.impl=mxnet"])
            size = input_size(config["model"])
            shape = shape or (1, 3, size, size)
            net = config_network(config, args.weights)
        if args.no_check:
            data, described = None, "no input"
        elif args.image:
            if shape[0] != 1:
                raise UsageError("--image checks one image: give --input-shape 1,C,H,W, not {}".format(
                    args.input_shape))
            data, described = load_image(args.image, shape[-1])[0].asnumpy(), os.path.basename(args.image)
        else:
            data = np.random.RandomState(args.seed).normal(size=shape).astype(np.float32)
            described = "a random normal input (seed {})".format(args.seed)
        options = dict(check_input=data, opset=args.opset, backend=args.backend)
        if args.config:
            result = export_network(net, args.prefix, shape, **options)
        else:
            result = export_symbol_files(args.symbol, args.params, args.prefix + ".onnx", shape, **options)
        lines = ["wrote:", result.format_files()]
        if result.check is not None:
            lines += ["ONNX against MXNet ({}, {}):".format(result.check.backend, result.check.compared),
                      result.check.format_table(),
                      "max difference {:.3g} abs, {:.3g} relative".format(result.check.max_abs,
                                                                          result.check.max_rel)]
        if args.report:
            title = "ONNX export of {}".format(args.config or args.symbol)
            write_text(args.report, result.to_markdown(title, command_line("export.py", argv),
                                                       describe_machine("cpu"), described))
            write_json(os.path.splitext(args.report)[0] + ".json",
                       {"files": dict(zip(map(os.path.basename, result.files), result.sizes)),
                        "input": described, "opset": result.opset,
                        "check": result.check.to_dict() if result.check else None})
            lines.append("report: {}".format(args.report))
        return "\n".join(lines)
    return run_main(work)

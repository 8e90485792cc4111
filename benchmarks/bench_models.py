#!/usr/bin/env python
"""Whole networks before and after the upgrade of their last three 3x3 backbone convolutions (DCN v1): parameters,
multiply-accumulates, and latency the way deployers run them.

For ResNet-50 (224 px), SSD512 and YOLOv3-416, at batch 1 and 8, two cuts of each network: the network alone (up
to its raw head outputs: the prediction layers, before box decoding and non-maximum suppression) and end to end.
Runtimes: MXNet (hybridized, ``static_alloc`` and ``static_shape``) with the upgraded layers as MXNet's operator
and as ``impl="fast"``, and onnxruntime on the exported ONNX models (ONNX ``DeformConv``). The original and the
upgraded networks hold the same weights (``random_init``: trained-network scale) and are timed in alternation in
one process, so that drift of the machine hits them alike; ratios are medians of the per-round ratios, with
quartiles. Writes ``results/bench/models.{md,json}``.

    python benchmarks/bench_models.py [--repeats 5] [--ctx cpu|gpu] [--output results/bench] [--no-onnx]
"""
import os
import statistics
import tempfile
import warnings

import mxnet as mx

from gluon_upgrade import upgrade
from gluon_upgrade.deploy.onnx_export import export_onnx
from gluon_upgrade.models.zoo import load_zoo_model
from gluon_upgrade.reporting.bench import (alternate, benchmark_parser, context, format_ratio,
                                           ratio_spread, write_benchmark)
from gluon_upgrade.reporting.flops import count_macs
from gluon_upgrade.reporting.params import count_parameters
from gluon_upgrade.reporting.tables import markdown_table
from gluon_upgrade.selection.heads import head_block, head_outputs
from gluon_upgrade.selection.layers import traced_symbol

MODELS = [("ResNet-50", "resnet50_v1", 224), ("SSD512 ResNet-50", "ssd_512_resnet50_v1_voc", 512),
          ("YOLOv3-416 Darknet-53", "yolo3_darknet53_voc", 416)]
BATCHES = (1, 8)
IMPLS = ("mxnet", "fast")
CUTS = ("network alone", "end to end")


def build(name, size, ctx, impl=None):
    net = load_zoo_model(name, random=True, input_shape=(1, 3, size, size), seed=0, ctx=ctx)
    return upgrade(net, layers="last3", impl=impl) if impl else net


def cut_block(net, cut):
    """``net`` itself (end to end) or a ``SymbolBlock`` of its graph up to the raw head outputs, sharing its
    parameters; hybridized with static memory."""
    block = net if cut == "end to end" else head_block(net)
    block.hybridize(static_alloc=True, static_shape=True)
    return block


def onnx_session(net, cut, shape, folder, stem):
    import onnxruntime
    sym = traced_symbol(net) if cut == "end to end" else head_outputs(traced_symbol(net))
    params = {name: param.data() for name, param in net.collect_params().items()}
    path = export_onnx(sym, params, shape, os.path.join(folder, stem + ".onnx"))
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # onnxruntime's constant folding fails on mx2onnx's YOLOv3 graph; it is off for every model alike.
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"],
                                           disabled_optimizers=["ConstantFolding"])
    os.remove(path)
    return session


def timing_row(label, times, base, key):
    spread = ratio_spread(times[key], times[base])
    return dict(runtime=label, original_ms=1000 * statistics.median(times[base]),
                upgraded_ms=1000 * statistics.median(times[key]), ratio=spread)


def measure(name, size, ctx, repeats, with_onnx):
    nets = {"original": build(name, size, ctx)}
    nets.update({impl: build(name, size, ctx, impl) for impl in IMPLS})
    shape = (1, 3, size, size)
    found = {"parameters": [count_parameters(nets["original"]), count_parameters(nets["mxnet"])],
             "macs": [count_macs(nets["original"], shape)["total"], count_macs(nets["mxnet"], shape)["total"]],
             "latency": []}
    for batch in BATCHES:
        x = mx.nd.random.uniform(shape=(batch, 3, size, size), ctx=ctx)
        for cut in CUTS:
            blocks = {key: cut_block(net, cut) for key, net in nets.items()}
            times = alternate({key: (lambda block=block: block(x)) for key, block in blocks.items()}, repeats)
            rows = [timing_row("MXNet, DCN v1 = " + ("MXNet's operator" if impl == "mxnet" else "impl fast"),
                               times, "original", impl) for impl in IMPLS]
            if with_onnx:
                with tempfile.TemporaryDirectory() as folder:
                    sessions = {key: onnx_session(nets[key], cut, x.shape, folder, key)
                                for key in ("original", "mxnet")}
                data = {sessions["original"].get_inputs()[0].name: x.asnumpy()}
                times = alternate({key: (lambda s=session: s.run(None, data)) for key, session in sessions.items()},
                                  repeats)
                rows.append(timing_row("onnxruntime, ONNX DeformConv", times, "original", "mxnet"))
            for row in rows:
                found["latency"].append(dict(batch=batch, cut=cut, **row))
                print("  batch {} {:14} {:42} {:8.1f} -> {:8.1f} ms  x{}".format(
                    batch, cut, row["runtime"], row["original_ms"], row["upgraded_ms"],
                    format_ratio(row["ratio"])), flush=True)
    return found


def main():
    parser = benchmark_parser(__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per measurement (median)")
    parser.add_argument("--no-onnx", action="store_true", help="MXNet only (no export, no onnxruntime)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Cannot decide type")
    ctx = context(args)
    cost_rows, latency_rows, data = [], [], {}
    for label, name, size in MODELS:
        print(label, flush=True)
        row = data[label] = dict(model=name, size=size, **measure(name, size, ctx, args.repeats, not args.no_onnx))
        params, macs = row["parameters"], row["macs"]
        cost_rows.append([label, "{:,} -> {:,}".format(*params), "{:+.2f}%".format(100 * (params[1] / params[0] - 1)),
                          "{:.2f} -> {:.2f}".format(*(m / 1e9 for m in macs)),
                          "{:+.2f}%".format(100 * (macs[1] / macs[0] - 1))])
        for entry in row["latency"]:
            latency_rows.append([label, entry["batch"], entry["cut"], entry["runtime"],
                                 "{:.1f}".format(entry["original_ms"]), "{:.1f}".format(entry["upgraded_ms"]),
                                 format_ratio(entry["ratio"])])
    command = "python benchmarks/bench_models.py --repeats {} --ctx {}{}".format(
        args.repeats, args.ctx, " --no-onnx" if args.no_onnx else "")
    latency = markdown_table(["model", "batch", "cut", "runtime, upgraded layers", "original ms", "upgraded ms",
                              "x (quartiles)"], latency_rows)
    text = write_benchmark(
        args, "models", "Whole networks: original -> last three 3x3 backbone convolutions upgraded (DCN v1)",
        "Multiply-accumulates (GMAC) per image count convolutions, offset branches, the deformable products and "
        "their bilinear sampling (4 per sampled value); see `gluon_upgrade/reporting/flops.py`.",
        ["model", "parameters", "", "GMAC / image", ""], cost_rows, dict(rows=data), command,
        ["## Latency\n\nThe same weights (`random_init`, trained-network scale) in every network. Medians of {} "
         "rounds after 2 warm-up rounds; in each round the original and the upgraded networks run in turn, and x "
         "is the median (quartiles) of the per-round ratios. Network alone: up to the raw head outputs (prediction "
         "layers; ResNet-50's classifier), before box decoding and non-maximum suppression. End to end: GluonCV's "
         "outputs (decoded, suppressed boxes). MXNet: hybridized with static memory, MXNet's default threads; "
         "onnxruntime: the exported ONNX model (opset 19, DeformConv), default threads, constant folding off "
         "(it fails on mx2onnx's YOLOv3 graph).".format(args.repeats), latency])
    print(text)


if __name__ == "__main__":
    main()

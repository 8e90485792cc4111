#!/usr/bin/env python
"""Whole detectors before and after the upgrade of their last three 3x3 backbone convolutions: parameters,
multiply-accumulates, latency at batch 1 and images/s at batch 8, as ratios measured in one run.

The original and the upgraded network are two copies with the same random weights (timings do not depend on
the values), hybridized, timed in alternation so that drift of the machine hits both alike.
Writes ``results/bench/models.{md,json}``.

    python benchmarks/bench_models.py [--repeats 5] [--ctx cpu|gpu] [--out results/bench]
"""
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mxnet as mx  # noqa: E402

from gluon_upgrade import upgrade  # noqa: E402
from gluon_upgrade.models.zoo import zoo_model  # noqa: E402
from gluon_upgrade.reporting.bench import benchmark_parser, context, write_benchmark  # noqa: E402
from gluon_upgrade.reporting.flops import count_macs  # noqa: E402
from gluon_upgrade.reporting.params import count_parameters  # noqa: E402
from gluon_upgrade.verify import run_inference  # noqa: E402

MODELS = [("SSD512 ResNet-50", "ssd_512_resnet50_v1_voc", 512), ("YOLOv3-416 Darknet-53", "yolo3_darknet53_voc", 416)]
BATCHES = (1, 8)


def build(name, size, ctx, seed):
    mx.random.seed(seed)
    net = zoo_model(name, pretrained=False, pretrained_base=False)
    net.initialize(ctx=ctx)
    run_inference(net, mx.nd.zeros((1, 3, size, size), ctx=ctx))
    return net


def seconds(net, x):
    start = time.perf_counter()
    run_inference(net, x)
    mx.nd.waitall()
    return time.perf_counter() - start


def measure(name, size, ctx, repeats):
    original = build(name, size, ctx, seed=0)
    upgraded = upgrade(build(name, size, ctx, seed=0), layers="last3")
    shape = (1, 3, size, size)
    row = {"parameters": [count_parameters(original), count_parameters(upgraded)],
           "macs": [count_macs(original, shape)["total"], count_macs(upgraded, shape)["total"]]}
    for net in (original, upgraded):
        net.hybridize(static_alloc=True, static_shape=True)
    for batch in BATCHES:
        x = mx.nd.random.uniform(shape=(batch, 3, size, size), ctx=ctx)
        for net in (original, upgraded):
            for _ in range(2):
                seconds(net, x)
        times = ([], [])
        for _ in range(repeats):
            for net, found in zip((original, upgraded), times):
                found.append(seconds(net, x))
        row["batch{}_s".format(batch)] = [statistics.median(found) for found in times]
        print("  batch {}: {:.3f} s -> {:.3f} s".format(batch, *row["batch{}_s".format(batch)]), flush=True)
    return row


def ratio(pair):
    return pair[1] / pair[0]


def main():
    parser = benchmark_parser(__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement (median)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Cannot decide type")
    ctx = context(args)
    rows, data = [], {}
    for label, name, size in MODELS:
        print(label, flush=True)
        row = data[label] = dict(model=name, size=size, **measure(name, size, ctx, args.repeats))
        latency, batch8 = row["batch1_s"], row["batch8_s"]
        rows.append([label, "{:,} -> {:,}".format(*row["parameters"]),
                     "{:+.2f}%".format(100 * (ratio(row["parameters"]) - 1)),
                     "{:.2f} -> {:.2f}".format(*(m / 1e9 for m in row["macs"])),
                     "{:+.2f}%".format(100 * (ratio(row["macs"]) - 1)),
                     "{:.1f} -> {:.1f}".format(*(1000 * s for s in latency)), "{:.3f}".format(ratio(latency)),
                     "{:.2f} -> {:.2f}".format(*(8 / s for s in batch8)), "{:.3f}".format(1 / ratio(batch8))])
    command = "python benchmarks/bench_models.py --repeats {} --ctx {}".format(args.repeats, args.ctx)
    text = write_benchmark(
        args, "models", "Whole detectors: original -> last three 3x3 backbone convolutions upgraded (DCN v1, MXNet)",
        "Random weights; the same weights in both networks. Medians of {} inferences (after 2 warm-up calls) at "
        "each batch size, hybridized, the two networks timed in alternation. Multiply-accumulates (GMAC) per image "
        "count convolutions, offset branches, the deformable products and their bilinear sampling (4 per sampled "
        "value); see `gluon_upgrade/reporting/flops.py`. Latency and images/s include GluonCV's box decoding and "
        "non-maximum suppression.".format(args.repeats),
        ["model", "parameters", "", "GMAC / image", "", "latency, batch 1 (ms)", "x", "images/s, batch 8", "x"],
        rows, dict(rows=data), command)
    print(text)


if __name__ == "__main__":
    main()

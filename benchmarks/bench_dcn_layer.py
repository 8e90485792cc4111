#!/usr/bin/env python
"""One upgraded layer against the convolution it replaces: forward and forward+backward time of ``Conv2D``,
MXNet's DCN v1 and v2, and the ``sampled`` v1 and v2 (``gluon_upgrade/surgery/sampled.py``), over the paper's
layer shapes, as ratios to ``Conv2D`` measured in one run.

Writes ``results/bench/dcn_layer.{md,json}``. Weights and offsets are random (timings do not depend on them).

    python benchmarks/bench_dcn_layer.py [--batch 2] [--repeats 10] [--ctx cpu|gpu] [--out results/bench]
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mxnet as mx  # noqa: E402
from mxnet import autograd  # noqa: E402
from mxnet.gluon import nn  # noqa: E402

from gluon_upgrade.reporting.bench import benchmark_parser, context, write_benchmark  # noqa: E402
from gluon_upgrade.surgery.deformable import BLOCKS  # noqa: E402

# layer, input channels, output channels, input side (3x3, stride 1, pad 1)
SHAPES = [
    ("ResNet-50 res5 3x3, SSD512 (512 px)", 512, 512, 16),
    ("ResNet-50 res5 3x3, SSD300 (300 px)", 512, 512, 10),
    ("demo SSD res5 3x3 (128 px)", 128, 128, 4),
    ("Darknet-53 last stage 3x3, YOLOv3-608", 512, 1024, 19),
    ("Darknet-53 last stage 3x3, YOLOv3-416", 512, 1024, 13),
    ("Darknet-53 last stage 3x3, YOLOv3-320", 512, 1024, 10),
]
LAYERS = [("Conv2D", None), ("DCN v1 (MXNet)", ("mxnet", 1)), ("DCN v2 (MXNet)", ("mxnet", 2)),
          ("DCN v1 (sampled)", ("sampled", 1)), ("DCN v2 (sampled)", ("sampled", 2))]


def build(kind, cin, cout, ctx):
    if kind is None:
        layer = nn.Conv2D(cout, 3, padding=1, in_channels=cin)
    else:
        layer = BLOCKS[kind](cout, kernel_size=3, padding=1, in_channels=cin)
    layer.initialize(mx.init.Normal(0.01), ctx=ctx)
    layer.hybridize(static_alloc=True, static_shape=True)
    return layer


def median_seconds(step, repeats):
    for _ in range(2):
        step()
    mx.nd.waitall()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        mx.nd.waitall()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_layer(layer, x, repeats):
    """Median forward and forward+backward seconds; backward is None where the operator has none here."""
    forward = median_seconds(lambda: layer(x), repeats)

    def train_step():
        with autograd.record():
            out = layer(x)
        out.backward()
    try:
        backward = median_seconds(train_step, repeats)
    except mx.base.MXNetError:  # MXNet's v2 backward exists on GPU only
        backward = None
    return forward, backward


def main():
    parser = benchmark_parser(__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per measurement (median)")
    args = parser.parse_args()
    ctx = context(args)
    rows, data = [], []
    for name, cin, cout, side in SHAPES:
        x = mx.nd.random.uniform(shape=(args.batch, cin, side, side), ctx=ctx)
        x.attach_grad()
        base = None
        for label, kind in LAYERS:
            forward, backward = time_layer(build(kind, cin, cout, ctx), x, args.repeats)
            base = base or (forward, backward)
            data.append(dict(shape=name, layer=label, forward_ms=1000 * forward,
                             train_ms=None if backward is None else 1000 * backward))
            rows.append([name if kind is None else "", label, round(1000 * forward, 2),
                         "{:.2f}".format(forward / base[0]),
                         "n/a (GPU only)" if backward is None else round(1000 * backward, 2),
                         "" if backward is None else "{:.2f}".format(backward / base[1])])
        print("done: {}".format(name), flush=True)
    command = "python benchmarks/bench_dcn_layer.py --batch {} --repeats {} --ctx {}".format(
        args.batch, args.repeats, args.ctx)
    text = write_benchmark(
        args, "dcn_layer", "One layer: Conv2D against deformable convolutions (3x3, stride 1, batch {})".format(
            args.batch),
        "Medians of {} calls after 2 warm-up calls, hybridized blocks; x is the ratio to Conv2D of the same shape "
        "in this run. Forward + backward includes the input's gradient.".format(args.repeats),
        ["shape", "layer", "forward ms", "x", "forward + backward ms", "x"], rows, dict(rows=data), command)
    print(text)


if __name__ == "__main__":
    main()

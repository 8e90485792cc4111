#!/usr/bin/env python
"""One upgraded layer against the convolution it replaces: forward and forward+backward time of ``Conv2D`` and
of each deformable implementation (MXNet's DCN v1 and v2, ``sampled`` and ``fast`` v1 and v2), over the paper's
layer shapes and the demo's, as ratios to ``Conv2D`` measured in alternation in one run; then where the ``fast``
layer's time goes (offset branch, sampling, the stride-k convolution).

Writes ``results/bench/dcn_layer.{md,json}``. Weights and offsets are random (timings do not depend on them).

    python benchmarks/bench_dcn_layer.py [--batch 2] [--repeats 10] [--ctx cpu|gpu] [--output results/bench]
"""
import statistics

import mxnet as mx
from mxnet import autograd
from mxnet.gluon import nn

from gluon_upgrade.ops import FAST_OPERATOR
from gluon_upgrade.reporting.bench import (alternate, benchmark_parser, context, format_ratio,
                                           ratio_spread, write_benchmark)
from gluon_upgrade.reporting.tables import markdown_table
from gluon_upgrade.surgery.deformable import BLOCKS
from gluon_upgrade.surgery.fast import padded_offset_convolution, require_fast_operator

# layer, input channels, output channels, input side, batch (None: --batch); 3x3, stride 1, pad 1
SHAPES = [
    ("ResNet-50 res5 3x3, SSD512 (512 px)", 512, 512, 16, None),
    ("ResNet-50 res5 3x3, ResNet-50 (224 px)", 512, 512, 7, None),
    ("Darknet-53 last stage 3x3, YOLOv3-416", 512, 1024, 13, None),
    ("Darknet-53 last stage 3x3, YOLOv3-608", 512, 1024, 19, None),
    ("demo SSD stage 4 3x3 (128 px, training batch 16)", 128, 128, 8, 16),
]
LAYERS = [("Conv2D", None)] + [("DCN v{} ({})".format(version, impl), (impl, version))
                               for impl in ("mxnet", "sampled", "fast") for version in (1, 2)]


def build(kind, cin, cout, ctx):
    if kind is None:
        layer = nn.Conv2D(cout, 3, padding=1, in_channels=cin)
    else:
        layer = BLOCKS[kind](cout, kernel_size=3, padding=1, in_channels=cin)
    layer.initialize(mx.init.Normal(0.01), ctx=ctx)
    layer.hybridize(static_alloc=True, static_shape=True)
    return layer


def train_step(function, x):
    def step():
        with autograd.record():
            out = function()
        out.backward()
        return x.grad
    return step


def has_backward(layer, x):
    try:
        train_step(lambda: layer(x), x)()
        mx.nd.waitall()
        return True
    except mx.base.MXNetError:  # MXNet's v2 backward exists on GPU only
        return False


def fast_parts(x, cout):
    """The fast v1 layer's three operators as separate steps: the padded offset branch, the sampling, and the
    stride-3 convolution over the sampled grid."""
    cin = x.shape[1]
    offset_weight = mx.nd.random.normal(scale=0.01, shape=(18, cin, 3, 3), ctx=x.context)
    offset_bias = mx.nd.zeros((18,), ctx=x.context)
    weight = mx.nd.random.normal(scale=0.01, shape=(cout, cin, 3, 3), ctx=x.context)
    offset = padded_offset_convolution(mx.nd, x, offset_weight, offset_bias, num_filter=18, kernel=(3, 3),
                                       pad=(1, 1))
    offset.attach_grad()
    grid = getattr(mx.nd, FAST_OPERATOR)(x, offset, kernel=(3, 3), pad=(1, 1))
    grid.attach_grad()
    for value in (offset_weight, offset_bias, weight):
        value.attach_grad()
    return {
        "offset branch": (lambda: padded_offset_convolution(mx.nd, x, offset_weight, offset_bias, num_filter=18,
                                                            kernel=(3, 3), pad=(1, 1)), x),
        "sampling": (lambda: getattr(mx.nd, FAST_OPERATOR)(x, offset, kernel=(3, 3), pad=(1, 1)), x),
        "stride-3 convolution": (lambda: mx.nd.Convolution(grid, weight, kernel=(3, 3), stride=(3, 3),
                                                           num_filter=cout, no_bias=True), grid),
    }


def main():
    parser = benchmark_parser(__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10, help="timed rounds per measurement (median)")
    args = parser.parse_args()
    ctx = context(args)
    require_fast_operator()
    rows, parts_rows, data = [], [], []
    for name, cin, cout, side, batch in SHAPES:
        batch = batch or args.batch
        x = mx.nd.random.uniform(shape=(batch, cin, side, side), ctx=ctx)
        x.attach_grad()
        layers = {label: build(kind, cin, cout, ctx) for label, kind in LAYERS}
        forward = alternate({label: (lambda layer=layer: layer(x)) for label, layer in layers.items()},
                            args.repeats)
        trained = {label: layer for label, layer in layers.items() if has_backward(layer, x)}
        backward = alternate({label: train_step(lambda layer=layer: layer(x), x)
                              for label, layer in trained.items()}, args.repeats)
        for label, _ in LAYERS:
            fwd, fb = forward[label], backward.get(label)
            data.append(dict(shape=name, batch=batch, layer=label, forward_ms=1000 * statistics.median(fwd),
                             forward_x=ratio_spread(fwd, forward["Conv2D"]),
                             train_ms=None if fb is None else 1000 * statistics.median(fb),
                             train_x=None if fb is None else ratio_spread(fb, backward["Conv2D"])))
            rows.append([name if label == "Conv2D" else "", label,
                         "{:.2f}".format(1000 * statistics.median(fwd)),
                         format_ratio(ratio_spread(fwd, forward["Conv2D"])),
                         "n/a (GPU only)" if fb is None else "{:.2f}".format(1000 * statistics.median(fb)),
                         "" if fb is None else format_ratio(ratio_spread(fb, backward["Conv2D"]))])
        parts = fast_parts(x, cout)
        part_forward = alternate({label: function for label, (function, _) in parts.items()}, args.repeats)
        part_backward = alternate({label: train_step(function, source) for label, (function, source)
                                   in parts.items()}, args.repeats)
        for label in parts:
            parts_rows.append([name if label == "offset branch" else "", label,
                               "{:.2f}".format(1000 * statistics.median(part_forward[label])),
                               "{:.2f}".format(1000 * statistics.median(part_backward[label]))])
        data.append(dict(shape=name, batch=batch, fast_parts={
            label: dict(forward_ms=1000 * statistics.median(part_forward[label]),
                        train_ms=1000 * statistics.median(part_backward[label])) for label in parts}))
        print("done: {}".format(name), flush=True)
    command = "python benchmarks/bench_dcn_layer.py --batch {} --repeats {} --ctx {}".format(
        args.batch, args.repeats, args.ctx)
    parts_table = markdown_table(["shape", "fast v1 part", "forward ms", "forward + backward ms"], parts_rows)
    text = write_benchmark(
        args, "dcn_layer", "One layer: Conv2D against deformable convolutions (3x3, stride 1)",
        "Batch {} unless the shape says otherwise. Hybridized blocks; each round calls every layer once in turn "
        "(after 2 warm-up rounds); times are medians of {} rounds, x is the median (quartiles) of the per-round "
        "ratios to Conv2D. Forward + backward includes the input's gradient. mxnet: MXNet's operators; sampled: "
        "`BilinearSampler` composite (`gluon_upgrade/surgery/sampled.py`); fast: the compiled sampling operator "
        "plus a stride-3 convolution (`gluon_upgrade/surgery/fast.py`, `gluon_upgrade/ops/deform_sample.cc`)."
        .format(args.batch, args.repeats),
        ["shape", "layer", "forward ms", "x", "forward + backward ms", "x"], rows, dict(rows=data), command,
        ["## Where the fast layer's time goes\n\nThe fast v1 layer's operators timed apart (medians, in "
         "alternation): the offset branch (padded to 32 filters), the compiled sampling, and the stride-3 "
         "convolution over the sampled grid, whose cost against Conv2D's is most of the gap.", parts_table])
    print(text)


if __name__ == "__main__":
    main()

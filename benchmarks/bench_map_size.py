#!/usr/bin/env python
"""What larger upgraded maps cost: a training step of the demo SSD whose three deformable layers see 8x8 maps
(the recipe: 128 px, stride 16), 16x16 maps from 256 px images or at 128 px with stages 3 and 4 at stride 8,
dilated (``ssd_128_resnet29_v1_demo_os8``), and 32x32 maps the same two ways (512 px, stride 16; 256 px, stride
8); each with standard layers and deformable ones (DCN v1, ``impl: fast``).

A step is the forward pass in training mode, the backward pass of the sum of the class and box predictions (the
detector's losses without target matching, which costs the same for every variant) and an Adam update, on batch
16 of random images; the variants run in alternation in one process, and the times are medians over the rounds.
Writes ``results/bench/map_size.{md,json}``.

    python benchmarks/bench_map_size.py [--repeats 5]
"""
import statistics
import warnings

import mxnet as mx
from mxnet import autograd, gluon

from gluon_upgrade.models.build import build_network
from gluon_upgrade.models.demo_ssd import DEMO_SSD
from gluon_upgrade.models.demo_ssd_os8 import DEMO_SSD_OS8
from gluon_upgrade.reporting.bench import alternate, benchmark_parser, context, write_benchmark

VARIANTS = [("8x8: 128 px, stride 16 (the recipe)", DEMO_SSD, 128),
            ("16x16: 256 px, stride 16", DEMO_SSD, 256),
            ("16x16: 128 px, stride 8 dilated", DEMO_SSD_OS8, 128),
            ("32x32: 512 px, stride 16", DEMO_SSD, 512),
            ("32x32: 256 px, stride 8 dilated", DEMO_SSD_OS8, 256)]
MODES = ("baseline", "dcn_scratch")
BATCH = 16


def step_function(name, size, mode, ctx):
    mx.random.seed(0)
    model = {"name": name, "data_shape": size, "pretrained": False, "pretrained_base": False, "weights": None,
             "mode": mode, "upgrade": {"layers": "last3", "version": 1, "impl": "fast", "deformable_groups": 1,
                                       "scope": "auto"}}
    net = build_network(model, ["a", "b", "c", "d", "e", "f"], [ctx])
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 1e-4})
    x = mx.nd.random.uniform(shape=(BATCH, 3, size, size), ctx=ctx)

    def step():
        with autograd.record():
            classes, boxes, _ = net(x)
            total = classes.sum() + boxes.sum()
        total.backward()
        trainer.step(BATCH)
    return step


def main():
    parser = benchmark_parser(__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (median)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Cannot decide type")
    ctx = context(args)
    steps = {(label, mode): step_function(name, size, mode, ctx) for label, name, size in VARIANTS for mode in MODES}
    times = alternate(steps, args.repeats)
    recipe = statistics.median(times[VARIANTS[0][0], "baseline"])
    rows, data = [], []
    for label, name, size in VARIANTS:
        base, dcn = (statistics.median(times[label, mode]) for mode in MODES)
        rows.append([label, "{:.1f}".format(1000 * base / BATCH), "{:.2f}".format(base / recipe),
                     "{:.1f}".format(1000 * dcn / BATCH), "{:.2f}".format(dcn / recipe), "{:.2f}".format(dcn / base)])
        data.append({"variant": label, "model": name, "size": size, "baseline_s": times[label, "baseline"],
                     "dcn_s": times[label, "dcn_scratch"]})
    command = "python benchmarks/bench_map_size.py --repeats {} --ctx {}".format(args.repeats, args.ctx)
    print(write_benchmark(
        args, "map_size", "What larger upgraded maps cost: a training step of the demo SSD",
        "Batch {} of random images; forward in training mode, backward of the summed predictions, Adam step. "
        "Milliseconds per image (median of {} alternated rounds after 2 warm-up rounds); x recipe: against the "
        "recipe's standard network.".format(BATCH, args.repeats),
        ["upgraded maps", "standard ms/img", "x recipe", "deformable ms/img", "x recipe", "deformable / standard"],
        rows, {"rows": data}, command))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""How long ``upgrade()`` takes on SSD512-ResNet50 against building the model, and what it does to latency.

Writes ``results/bench/upgrade_ssd512.{md,json}``. Weights are MXNet's default random ones: timings do not
depend on the values.

    python benchmarks/bench_upgrade.py [--repeats 3] [--ctx cpu|gpu] [--output results/bench]
"""
import statistics
import time
import warnings

import mxnet as mx

from gluon_upgrade import upgrade
from gluon_upgrade.reporting.bench import benchmark_parser, context, write_benchmark
from gluon_upgrade.verify import run_inference

MODEL = "ssd_512_resnet50_v1_voc"


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    mx.nd.waitall()
    return time.perf_counter() - start, out


def _latency(net, x, runs):
    times = []
    for _ in range(runs):
        seconds, _ = _timed(lambda: run_inference(net, x))
        times.append(seconds)
    return statistics.median(times)


def one_run(ctx, runs):
    from gluoncv.model_zoo import get_model
    x = mx.nd.random.uniform(shape=(1, 3, 512, 512), ctx=ctx)
    build_s, net = _timed(lambda: get_model(MODEL, pretrained=False, pretrained_base=False))
    init_s, _ = _timed(lambda: (net.initialize(ctx=ctx), run_inference(net, x)))
    net.hybridize(static_alloc=True, static_shape=True)
    first_before, _ = _timed(lambda: run_inference(net, x))
    steady_before = _latency(net, x, runs)
    upgrade_s, net = _timed(lambda: upgrade(net, layers="last3"))
    first_after, _ = _timed(lambda: run_inference(net, x))
    steady_after = _latency(net, x, runs)
    return dict(build_s=build_s, init_and_first_forward_s=init_s, upgrade_s=upgrade_s,
                first_inference_before_s=first_before, first_inference_after_s=first_after,
                latency_before_s=steady_before, latency_after_s=steady_after)


def main():
    parser = benchmark_parser(__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh models measured (median reported)")
    parser.add_argument("--runs", type=int, default=5, help="inferences per steady-state latency")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Cannot decide type")
    ctx = context(args)
    runs = [one_run(ctx, args.runs) for _ in range(args.repeats)]
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    median["upgrade_over_build"] = median["upgrade_s"] / median["build_s"]
    median["upgrade_over_build_and_init"] = median["upgrade_s"] / (median["build_s"] +
                                                                   median["init_and_first_forward_s"])
    median["first_inference_ratio"] = median["first_inference_after_s"] / median["first_inference_before_s"]
    median["latency_ratio"] = median["latency_after_s"] / median["latency_before_s"]
    command = "python benchmarks/bench_upgrade.py --repeats {} --runs {} --ctx {}".format(
        args.repeats, args.runs, args.ctx)
    rows = [
        ["build the model (get_model)", median["build_s"], ""],
        ["initialize + first forward (deferred shapes)", median["init_and_first_forward_s"], ""],
        ["upgrade(net, 'last3')", median["upgrade_s"],
         "{:.2f}x build, {:.3f}x build+init".format(median["upgrade_over_build"],
                                                   median["upgrade_over_build_and_init"])],
        ["first hybridized inference, original", median["first_inference_before_s"], ""],
        ["first inference after the upgrade", median["first_inference_after_s"],
         "ratio {:.2f}".format(median["first_inference_ratio"])],
        ["steady inference latency, original", median["latency_before_s"], ""],
        ["steady inference latency, upgraded", median["latency_after_s"], "ratio {:.2f}".format(median["latency_ratio"])],
    ]
    text = write_benchmark(
        args, "upgrade_ssd512", "upgrade() on {} (batch 1, 512x512)".format(MODEL),
        "Median of {} fresh models; steady latency is the median of {} inferences.".format(args.repeats, args.runs),
        ["step", "seconds", "relative"], rows, dict(median=median, runs=runs), command)
    print(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""The upgrade's output differences under each instruction set oneDNN can be limited to, against the float32 bound.

For SSD512 ResNet-50, YOLOv3-416 Darknet-53, YOLOv3 MobileNet (128 px, the case whose decoded boxes broke the old
1e-5 bound) and ResNet-50, with random weights of trained-network scale (``random_init``), the last three 3x3
backbone convolutions are upgraded (DCN v1, MXNet's operator) and ``gluon_upgrade.verify`` compares the outputs
before and after on one random image: the raw head outputs (each against its own scale), the decoded detections
as detections, and, for comparison, the decoded outputs as plain tensors (the criterion used before). Then every
offset is moved by half a pixel: the negative control, which must exceed the bound. Each instruction set runs in
its own process (``DNNL_MAX_CPU_ISA`` is read when oneDNN starts). Writes ``results/bench/exactness_isa.{md,json}``.

    python benchmarks/exactness_isa.py [--isas ALL AVX512_CORE AVX2 SSE41] [--output results/bench]
"""
import argparse
import json
import os
import subprocess
import sys
import warnings


MODELS = [("SSD512 ResNet-50", "ssd_512_resnet50_v1_voc", 512), ("YOLOv3-416 Darknet-53", "yolo3_darknet53_voc", 416),
          ("YOLOv3 MobileNet, 128 px", "yolo3_mobilenet1.0_voc", 128), ("ResNet-50", "resnet50_v1", 224)]
ISAS = ("ALL", "AVX512_CORE", "AVX2", "SSE41")


def measure() -> dict:
    """This process's instruction set: every model's verification and its negative control."""
    warnings.filterwarnings("ignore")
    import mxnet as mx

    from gluon_upgrade.machine import onednn_isa
    from gluon_upgrade.models.zoo import load_zoo_model
    from gluon_upgrade.verify import network_outputs, output_difference, upgrade_verified, verify_outputs
    found = {"onednn_isa": onednn_isa(), "models": {}}
    for _, name, size in MODELS:
        net = load_zoo_model(name, random=True, input_shape=(1, 3, size, size), seed=0)
        mx.random.seed(0)
        x = mx.nd.random.uniform(shape=(1, 3, size, size))
        before = network_outputs(net, x)
        net, check = upgrade_verified(net, [x], layers="last3")
        decoded = output_difference(before.final, network_outputs(net, x).final)
        for pname, param in net.collect_params().items():
            if pname.endswith("offset_bias"):
                param.set_data(mx.nd.full(param.shape, 0.5))
        moved = verify_outputs(before, net, x)
        found["models"][name] = dict(check.to_dict(), decoded_as_tensors=decoded.max_rel,
                                     moved_raw=moved.raw.max_rel, moved_passed=moved.passed)
    return found


def main() -> None:
    from gluon_upgrade.reporting.bench import benchmark_parser, write_benchmark
    parser = benchmark_parser(__doc__.split("\n")[1])
    parser.add_argument("--isas", nargs="+", default=list(ISAS), help="values of DNNL_MAX_CPU_ISA")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure()))
        return
    results = {}
    for isa in args.isas:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker"], capture_output=True, text=True,
                              env=dict(os.environ, DNNL_MAX_CPU_ISA=isa), check=True)
        results[isa] = json.loads(done.stdout.strip().splitlines()[-1])
        print(isa, "done", flush=True)
    rows = []
    for label, name, size in MODELS:
        for isa in args.isas:
            m = results[isa]["models"][name]
            d = m["detections"]
            rows.append([label, "{} ({})".format(isa, results[isa]["onednn_isa"]), "{:.3g}".format(m["raw"]["max_rel"]),
                         "{:.3g}".format(m["decoded_as_tensors"]),
                         "-" if d is None else "{}/{}, {:.3g}, {:.3g}".format(
                             d["detections"] - d["unmatched"] - d["at_cut"], d["detections"], d["max_score_diff"],
                             d["max_box_diff"]),
                         "{:.3g} (K = {})".format(m["tolerance"]["bound"], m["tolerance"]["reduction_length"]),
                         "yes" if m["passed"] else "NO", "{:.3g} ({})".format(
                             m["moved_raw"], "fails, as it must" if not m["moved_passed"] else "PASSES")])
    note = ("Random weights of trained-network scale, one random image at the model's size, the last three 3x3 "
            "backbone convolutions upgraded (DCN v1). Raw head outputs: the largest difference relative to each "
            "output's own largest value (`verify.network_outputs` cuts before box decoding and NMS). Decoded as "
            "tensors: the old criterion (ids, scores and boxes compared as arrays, bound 1e-5). Detections: matched "
            "of valid, then the largest score and box differences relative to their scale. Bound: "
            "`2 gamma_K = 2 K u / (1 - K u)`, u = 2^-24, K the longest sum from the first deformable layer on "
            "(`verify.exactness_tolerance`). Offsets +0.5 px: the raw difference once every offset moves half a "
            "pixel (negative control). Each instruction set in its own process with `DNNL_MAX_CPU_ISA` set; what "
            "oneDNN then reports is in brackets.")
    command = "python benchmarks/exactness_isa.py" + (
        "" if args.isas == list(ISAS) else " --isas " + " ".join(args.isas))
    write_benchmark(args, "exactness_isa", "The upgrade's output differences per instruction set", note,
                    ["network", "DNNL_MAX_CPU_ISA (oneDNN's ISA)", "raw head outputs, max rel",
                     "decoded as tensors, max rel", "detections: matched, score, box", "bound", "within bound",
                     "offsets +0.5 px: raw max rel"], rows, {"results": results}, command)


if __name__ == "__main__":
    main()

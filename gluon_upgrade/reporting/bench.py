"""What the benchmarks share: the command line (``--ctx``, ``--out``), the machine's description, and one markdown
table + JSON per benchmark with the command and the machine under it."""
import argparse
import os
import statistics
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

import mxnet as mx

from ..machine import format_machine, machine_record
from .files import write_json, write_text
from .tables import markdown_table


def benchmark_parser(description: str) -> argparse.ArgumentParser:
    """A parser with ``--ctx cpu|gpu`` and ``--out`` (default ``results/bench``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--ctx", default="cpu", choices=["cpu", "gpu"], help="run on the CPU or on GPU 0")
    parser.add_argument("--output", default="results/bench", help="folder for the markdown and JSON results")
    return parser


def context(args: argparse.Namespace) -> mx.Context:
    """The ``mx.Context`` of ``--ctx``."""
    return mx.gpu() if args.ctx == "gpu" else mx.cpu()


def write_benchmark(args: argparse.Namespace, stem: str, title: str, note: str, headers: Sequence[str],
                    rows: Sequence[Sequence], data: Dict[str, Any], command: str,
                    sections: Sequence[str] = ()) -> str:
    """Write ``OUT/STEM.md`` (title, note, table, further ``sections`` of markdown, machine, command) and
    ``OUT/STEM.json`` (the entries of ``data``, plus ``machine`` and ``command``); return the markdown. With
    ``--ctx gpu`` the stem ends in ``_gpu``, beside the CPU results."""
    record = machine_record(args.ctx)
    machine = format_machine(record)
    stem += "_gpu" if args.ctx == "gpu" else ""
    text = "\n".join(["# " + title, "", note, "", markdown_table(headers, rows), ""]
                     + [part for section in sections for part in (section, "")]
                     + ["Machine: {}  ".format(machine), "Command: `{}`".format(command), ""])
    write_text(os.path.join(args.output, stem + ".md"), text)
    write_json(os.path.join(args.output, stem + ".json"), dict(data, machine=record, command=command))
    return text


def alternate(steps: Dict[str, Callable[[], Any]], repeats: int, warmup: int = 2) -> Dict[str, List[float]]:
    """Seconds of each step over ``repeats`` rounds, the steps called in turn within a round so that drift of
    the machine hits all alike; ``warmup`` untimed rounds first. Each call is followed by ``mx.nd.waitall()``
    (MXNet runs asynchronously)."""
    times = {name: [] for name in steps}
    for round_ in range(warmup + repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            mx.nd.waitall()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def ratio_spread(times: Sequence[float], base: Sequence[float]) -> Tuple[float, float, float]:
    """Median and quartiles of the per-round ratios ``times[i] / base[i]`` of two alternated steps."""
    ratios = sorted(t / b for t, b in zip(times, base))
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    low, _, high = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), low, high


def format_ratio(spread: Tuple[float, float, float]) -> str:
    """``median (quartile-quartile)``, e.g. ``1.06 (1.04-1.08)``."""
    return "{:.3f} ({:.3f}-{:.3f})".format(*spread)

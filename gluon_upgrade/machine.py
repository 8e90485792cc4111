"""The machine a result was measured on: processor, the instruction set oneDNN runs, and the library versions.

float32 results depend on the instruction set: oneDNN, MXNet's CPU kernels, picks convolution kernels by what
the processor offers (or what ``DNNL_MAX_CPU_ISA`` allows), and they add in different orders. Every run directory,
result table and benchmark records ``machine_record()`` so that a number can be traced to the arithmetic behind it.
"""
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from typing import Dict

import mxnet as mx
import numpy as np

# One oneDNN convolution, so that oneDNN's verbose mode prints the instruction set it dispatches to.
_ISA_PROBE = ("import mxnet as mx; x = mx.nd.ones((1, 8, 8, 8)); "
              "mx.nd.Convolution(x, mx.nd.ones((8, 8, 3, 3)), kernel=(3, 3), num_filter=8, no_bias=True)"
              ".wait_to_read()")
_ISA_CACHE = "GLUON_UPGRADE_ONEDNN_ISA"
"""Environment variable holding ``DNNL_MAX_CPU_ISA|answer`` once known, so that child processes (scripts run by
scripts and tests) do not ask again."""


def onednn_isa() -> str:
    """The instruction set oneDNN runs in this environment, as oneDNN names it (``Intel AVX2``,
    ``Intel AVX-512 with Intel DL Boost and bfloat16 support``), ``DNNL_MAX_CPU_ISA`` applied.

    MXNet 1.9.1 links oneDNN without exporting its query function, so a child process with ``DNNL_VERBOSE=1``
    runs one convolution and the answer is read from oneDNN's log (about 2 s, once per process tree).
    """
    limit = os.environ.get("DNNL_MAX_CPU_ISA", "") + "|"
    cached = os.environ.get(_ISA_CACHE, "")
    if cached.startswith(limit):
        return cached[len(limit):]
    env = dict(os.environ, DNNL_VERBOSE="1")
    try:
        log = subprocess.run([sys.executable, "-c", _ISA_PROBE], env=env, capture_output=True, text=True,
                             timeout=300).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    found = re.search(r"dnnl_verbose,info,cpu,isa:(.*)", log)
    if not found:
        return "unknown (no oneDNN log)"
    os.environ[_ISA_CACHE] = limit + found.group(1).strip()
    return found.group(1).strip()


def processor_name() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def omp_threads() -> int:
    """The OpenMP threads MXNet's CPU operators use: ``OMP_NUM_THREADS``, else MXNet's default of one per two
    processors (at least one). oneDNN splits its reductions (weight gradients) by thread, so the count changes
    float32 results as the instruction set does."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return max(1, (os.cpu_count() or 2) // 2)


def _distribution_version(name: str) -> str:
    # GluonCV 0.10.5.post0's module says __version__ = '0.11.0'; the installed distribution is the truth.
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_record(ctx: str = "cpu") -> Dict[str, object]:
    """Where and with what a result was computed.

    Returns
    -------
    dict
        ``processor``, ``cores``, ``os``, ``onednn_isa`` (``onednn_isa()``), ``dnnl_max_cpu_isa`` (the variable's
        value, empty when unset), ``omp_threads`` (``omp_threads()``), ``python``, ``mxnet``, ``gluoncv``,
        ``numpy``, ``ctx``, and ``gpu_memory_gib`` for a GPU context.
    """
    record: Dict[str, object] = dict(
        processor=processor_name(), cores=os.cpu_count(), os=platform.platform(), onednn_isa=onednn_isa(),
        dnnl_max_cpu_isa=os.environ.get("DNNL_MAX_CPU_ISA", ""), omp_threads=omp_threads(),
        python=platform.python_version(), mxnet=mx.__version__, gluoncv=_distribution_version("gluoncv"),
        numpy=np.__version__, ctx=ctx)
    if ctx.startswith("gpu") and mx.context.num_gpus():
        record["gpu_memory_gib"] = round(mx.context.gpu_memory_info(0)[1] / 2 ** 30)
    return record


def format_machine(record: Dict[str, object]) -> str:
    """A ``machine_record`` in one line, for the foot of a results table."""
    limit = record["dnnl_max_cpu_isa"]
    text = ("{processor} ({cores} cores, OpenMP threads: {omp_threads}), oneDNN ISA: {onednn_isa}{limit}, {os}, "
            "python {python}, mxnet {mxnet}, gluoncv {gluoncv}, numpy {numpy}, ctx {ctx}").format(
                limit=" (DNNL_MAX_CPU_ISA={})".format(limit) if limit else "", **record)
    if "gpu_memory_gib" in record:
        text += " ({} GiB GPU memory)".format(record["gpu_memory_gib"])
    return text


def describe_machine(ctx: str = "cpu") -> str:
    """This machine in one line (``format_machine(machine_record(ctx))``)."""
    return format_machine(machine_record(ctx))

"""Where a run computes: the ``ctx`` list of a config (``cpu``, ``gpu0``, ...) and its seed."""
import re
from typing import List, Sequence, Tuple

import mxnet as mx

from .config.schema import Field
from .errors import ConfigError

FIELDS = {
    "seed": Field(0, "seeds MXNet, NumPy and Python's random", int, minimum=0),
    "ctx": Field(["cpu"], "devices: [cpu] or [gpu0, gpu1, ...] ([cpu0, cpu1] splits batches on the CPU, as "
                          "GPUs would be)", list, item=str),
}
"""Top-level keys of a config."""

_DEVICE = re.compile(r"^(cpu|gpu)(\d+)?$")


def check_contexts(config: dict) -> List[Tuple[str, str]]:
    """Cross-key check: every ``ctx`` entry reads ``cpu`` or ``gpuN``, and they are not mixed."""
    names = config["ctx"]
    matches = [_DEVICE.match(n) for n in names]
    if not names or not all(matches) or any(m.group(1) == "gpu" and m.group(2) is None for m in matches):
        return [("ctx", "entries must read cpu, cpuN or gpuN (gpu0, gpu1, ...), got {!r}".format(names))]
    if len({m.group(1) for m in matches}) > 1 or len({int(m.group(2) or 0) for m in matches}) < len(names):
        return [("ctx", "is [cpu], a list of distinct GPUs or a list of distinct CPUs, got {!r}".format(names))]
    return []


def net_context(net: mx.gluon.Block) -> mx.Context:
    """The device of ``net``'s first parameter (where an input for it must live)."""
    return next(iter(net.collect_params().values())).list_ctx()[0]


def contexts(names: Sequence[str]) -> List[mx.Context]:
    """MXNet contexts for ``['cpu']``, ``['gpu0', 'gpu1']`` or ``['cpu0', 'cpu1']``.

    Raises
    ------
    ConfigError
        A GPU this machine (or this MXNet build) does not have.
    """
    devices = []
    for name in names:
        kind, number = _DEVICE.match(name).groups()
        devices.append(mx.Context(kind, int(number or 0)))
    wanted = max((d.device_id + 1 for d in devices if d.device_type == "gpu"), default=0)
    if wanted > mx.context.num_gpus():
        raise ConfigError("ctx {} needs {} GPUs; MXNet sees {} here{} (--set ctx=[cpu] to run on the CPU)".format(
            list(names), wanted, mx.context.num_gpus(),
            " (a CPU build: pip install mxnet-cu112 for GPUs)" if not mx.context.num_gpus() else ""))
    return devices

"""Where a run computes: the ``ctx`` list of a config (``cpu``, ``gpu0``, ...) and its seed."""
import re
from typing import List, Optional, Sequence, Tuple

import mxnet as mx

from .config.schema import Field
from .errors import ConfigError, mxnet_message

FIELDS = {
    "seed": Field(0, "seeds MXNet, NumPy and Python's random", int, minimum=0),
    "ctx": Field(["cpu"], "devices: [cpu] or [gpu0, gpu1, ...] ([cpu0, cpu1] splits batches on the CPU, as "
                          "GPUs would be)", list, item=str),
}
"""Top-level keys of a config."""

_DEVICE = re.compile(r"^(cpu|gpu)(\d+)?$")

WHEEL_CUDA_ARCHES = (50, 60, 70, 80, 86)
"""The compute capabilities MXNet 1.9.1's CUDA wheels carry kernels for (their ``MXNET_CUDA_ARCH``), no PTX."""


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
    for device in devices:
        if device.device_type == "gpu":
            _require_kernels(device)
    return devices


def wheel_runs_on(capability: int, arches: Sequence[int] = WHEEL_CUDA_ARCHES) -> bool:
    """Whether a build with kernels for ``arches`` (and no PTX) runs on a GPU of compute capability
    ``capability`` (``86`` for 8.6): a CUDA binary runs on its own major version at the same or a later minor."""
    return any(a // 10 == capability // 10 and a <= capability for a in arches)


def unsupported_gpu(device: str, capability: int, arches: Sequence[int] = WHEEL_CUDA_ARCHES) -> Optional[str]:
    """The message for a GPU the MXNet wheels have no kernels for, or None where they run.

    Parameters
    ----------
    device : str
        ``gpu0``, ... (and its name where known).
    capability : int
        Its compute capability, ``90`` for 9.0.
    """
    if wheel_runs_on(capability, arches):
        return None
    return ("{} has compute capability {}.{}, and MXNet {}'s CUDA wheels carry kernels for {} only (no PTX): build "
            "MXNet from source for {}.{}, run on a GPU the wheels support or on the CPU (--set ctx=[cpu]), or "
            "deploy through ONNX (scripts/export.py)".format(
                device, capability // 10, capability % 10, mx.__version__,
                ", ".join("{}.{}".format(a // 10, a % 10) for a in arches), capability // 10, capability % 10))


def _require_kernels(device: mx.Context) -> None:
    """Run one tiny kernel on ``device``: a GPU the build has no kernels for fails inside every operator, deep
    in a run; here it stops at start-up with ``unsupported_gpu``'s line. A build that runs there (one made from
    source for it) passes whatever its version."""
    try:
        (mx.nd.ones((1,), ctx=device) * 2).wait_to_read()
    except mx.base.MXNetError as err:
        capability = mx.util.get_cuda_compute_capability(device)
        message = unsupported_gpu("gpu{}".format(device.device_id), capability)
        raise ConfigError(message or "gpu{}: MXNet cannot run on it: {}".format(
            device.device_id, mxnet_message(err))) from None

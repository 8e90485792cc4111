"""Where a run computes: the ``ctx`` list of a config (``cpu``, ``gpu0``, ...) and its seed."""
import re
from typing import List, Sequence, Tuple

import mxnet as mx

from .config.schema import Field

FIELDS = {
    "seed": Field(0, "seeds MXNet, NumPy and Python's random", int, minimum=0),
    "ctx": Field(["cpu"], "devices: [cpu] or [gpu0, gpu1, ...]; batches are split across them", list, item=str),
}
"""Top-level keys of a config."""

_DEVICE = re.compile(r"^(cpu|gpu(\d+))$")


def check_contexts(config: dict) -> List[Tuple[str, str]]:
    """Cross-key check: every ``ctx`` entry reads ``cpu`` or ``gpuN``, and they are not mixed."""
    names = config["ctx"]
    bad = [n for n in names if not _DEVICE.match(n)]
    if bad or not names:
        return [("ctx", "entries must read cpu or gpuN (gpu0, gpu1, ...), got {!r}".format(names))]
    if "cpu" in names and len(names) > 1:
        return [("ctx", "is either [cpu] or a list of GPUs, got {!r}".format(names))]
    return []


def net_context(net: mx.gluon.Block) -> mx.Context:
    """The device of ``net``'s first parameter (where an input for it must live)."""
    return next(iter(net.collect_params().values())).list_ctx()[0]


def contexts(names: Sequence[str]) -> List[mx.Context]:
    """MXNet contexts for ``['cpu']`` or ``['gpu0', 'gpu1']``."""
    return [mx.cpu() if n == "cpu" else mx.gpu(int(_DEVICE.match(n).group(2))) for n in names]

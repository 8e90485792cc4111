"""Which worker this process is: one machine, MXNet's parameter server (``dist_*`` kvstores) or Horovod."""
import hashlib
import os
from dataclasses import dataclass
from typing import Any, List

import mxnet as mx
from mxnet.gluon import Block

from ..errors import ConfigError

PARAMETER_SERVER = ("dist_sync", "dist_device_sync")

LAUNCH_HINT = "python scripts/launch_dist.py -n WORKERS -s SERVERS -- python scripts/train.py --config FILE"


@dataclass
class Worker:
    """This process's place in a run: rank, number of workers, and how gradients are summed."""

    rank: int
    count: int
    kvstore: Any
    """What ``gluon.Trainer`` takes: a kvstore name for one machine, a created dist kvstore, or None."""
    horovod: Any = None
    """The ``horovod.mxnet`` module in Horovod runs."""

    @property
    def chief(self) -> bool:
        """Rank 0 evaluates and writes the run directory."""
        return self.rank == 0

    @property
    def parameter_server(self) -> bool:
        return isinstance(self.kvstore, mx.kvstore.KVStore) and self.kvstore.type.startswith("dist")

    def barrier(self) -> None:
        """Wait until every worker of a parameter-server run gets here (no-op otherwise)."""
        if self.parameter_server:
            self.kvstore._barrier()

    @property
    def gradient_sum(self) -> int:
        """How many workers' gradients the kvstore adds up (Horovod averages, so 1 there)."""
        return self.count if self.parameter_server else 1


def connect(kind: str) -> Worker:
    """Join the run as the ``train.kvstore`` setting says.

    Raises
    ------
    ConfigError
        A ``dist_*`` kvstore without the ``DMLC_*`` environment of a launcher, or ``horovod`` without Horovod.
    """
    if kind in PARAMETER_SERVER:
        if os.environ.get("DMLC_ROLE") != "worker":
            raise ConfigError("train.kvstore: {} needs the scheduler and servers that scripts/launch_dist.py "
                              "starts (DMLC_ROLE is not 'worker' here); run: {}".format(kind, LAUNCH_HINT))
        store = mx.kv.create(kind)
        return Worker(rank=store.rank, count=store.num_workers, kvstore=store)
    if kind == "horovod":
        try:
            import horovod.mxnet as hvd
        except ImportError:
            raise ConfigError("train.kvstore: horovod needs Horovod built with MXNet support "
                              "(HOROVOD_WITH_MXNET=1 pip install horovod), started by horovodrun; without it use "
                              "dist_sync: {}".format(LAUNCH_HINT)) from None
        hvd.init()
        return Worker(rank=hvd.rank(), count=hvd.size(), kvstore=None, horovod=hvd)
    return Worker(rank=0, count=1, kvstore=kind)


def worker_contexts(worker: Worker, contexts: List[mx.Context]) -> List[mx.Context]:
    """The devices this worker uses: Horovod gives each process one GPU, by its local rank."""
    if worker.horovod is not None and contexts[0].device_type == "gpu":
        return [mx.gpu(worker.horovod.local_rank())]
    return contexts


def broadcast(net: Block, worker: Worker) -> None:
    """Give every worker rank 0's initial parameters (the parameter server does it when the trainer starts)."""
    if worker.horovod is not None:
        worker.horovod.broadcast_parameters(net.collect_params(), root_rank=0)


def fingerprint(net: Block) -> str:
    """MD5 of the trained parameters' bytes, in name order: equal on all workers of a synchronous run.

    Batch-norm running statistics are left out: each worker keeps its own, from its own images.
    """
    digest = hashlib.md5()
    for name, param in sorted(net.collect_params().items()):
        if param.grad_req == "null":
            continue
        digest.update(name.encode())
        digest.update(param.data(param.list_ctx()[0]).asnumpy().tobytes())
    return digest.hexdigest()


"""The optimizer: per-parameter multipliers, and the ``gluon.Trainer`` that applies it."""
import re
from typing import Mapping

from mxnet import gluon
from mxnet.gluon import Block

from .distributed import Worker

OFFSET_PARAM = re.compile(r"_offset_(weight|bias)$")
"""Names the upgrade gives the offset branch's parameters (``<layer>_offset_weight``, ``_offset_bias``)."""
_NO_WD_PARAM = re.compile(r"_(bias|beta|gamma)$")


def set_multipliers(net: Block, train: Mapping) -> int:
    """Apply ``train.offset_lr_mult`` to the offset branches and ``train.no_wd``; return the offset params found."""
    offsets = 0
    for name, param in net.collect_params().items():
        if OFFSET_PARAM.search(name):
            param.lr_mult = train["offset_lr_mult"]
            offsets += 1
        if train["no_wd"] and _NO_WD_PARAM.search(name):
            param.wd_mult = 0.0
    return offsets


def train_only_offsets(net: Block, only: bool, multipliers: Mapping[str, float]) -> None:
    """Set every parameter but the offset branches' to learning rate x0 (``only``) or back to its own multiplier
    in ``multipliers`` (parameter name -> ``lr_mult``, as ``set_multipliers`` left them); the offsets keep
    ``train.offset_lr_mult``. MXNet's optimizers read ``lr_mult`` at each update and scale the whole step, weight
    decay included, by it, so a parameter at x0 does not move; Adam's moments still gather its gradients."""
    for name, param in net.collect_params().items():
        if not OFFSET_PARAM.search(name):
            param.lr_mult = 0.0 if only else multipliers[name]


def make_trainer(net: Block, train: Mapping, worker: Worker) -> gluon.Trainer:
    """A ``gluon.Trainer`` for ``net``'s parameters with the config's optimizer, for this worker's kvstore.

    Distributed parameter-server runs update on the workers (``update_on_kvstore=False``): every worker then
    holds the optimizer state, and rank 0's checkpoint can resume all of them.
    """
    params = net.collect_params()
    settings = {"learning_rate": train["lr"], "wd": train["wd"]}
    if train["optimizer"] != "adam":
        settings["momentum"] = train["momentum"]
    if train["clip_gradient"] is not None:
        settings["clip_gradient"] = train["clip_gradient"]
    if worker.horovod is not None:
        return worker.horovod.DistributedTrainer(params, train["optimizer"], settings)
    return gluon.Trainer(params, train["optimizer"], settings, kvstore=worker.kvstore,
                         update_on_kvstore=False if worker.parameter_server else None)

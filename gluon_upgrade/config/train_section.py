"""The ``train`` section of a config: its keys (schedule, optimizer, loop, distribution), their cross-key checks,
and the paper's fine-tune rule that fills a fine-tune's schedule from its baseline's.

Configuration, not training: loading a config imports this and nothing of ``gluon_upgrade.training``.
"""
from typing import List, Mapping, Tuple

from ..errors import ConfigError
from .schema import Field

LR_MODES = ("step", "poly")
POLY_POWER = 0.9
"""GluonCV's segmentation schedule (``scripts/segmentation/train.py``): ``lr * (1 - t / T) ** 0.9``, t counting
the iterations after the warm-up and T the last one's index (GluonCV's ``LRScheduler('poly')``)."""

SCHEDULE_FIELDS = {
    "epochs": Field(None, "epochs to train (default for a fine-tune: a quarter of its baseline's)", int,
                    nullable=True, minimum=1),
    "lr": Field(0.001, "base learning rate (per global batch of train.batch_size images)", float, above=0),
    "lr_decay": Field(0.1, "factor applied to the learning rate at each train.lr_decay_epoch", float, above=0,
                      maximum=1),
    "lr_mode": Field("step", "step: x train.lr_decay after each train.lr_decay_epoch (the paper's schedules); "
                             "poly: GluonCV's segmentation schedule, train.lr x (1 - t/T)^0.9 over the "
                             "iterations after the warm-up, 0 at the last", str, choices=LR_MODES),
    "lr_decay_epoch": Field(None, "epochs after which the rate decays (lr_mode step; default for a fine-tune: 2/3 "
                                  "and 5/6 of its epochs)", list, item=int, nullable=True, minimum=1),
    "warmup_epochs": Field(0, "epochs of linear warm-up from 0 to train.lr", int, minimum=0),
    "offsets_only_epochs": Field(0, "the first N epochs train only the deformable layers' offset branches (every "
                                    "other parameter at learning rate x0; batch-norm statistics still update); "
                                    "0: everything from the start", int, minimum=0),
    "fine_tune_of": Field(None, "the baseline config this run fine-tunes (a relative path: to this file, else to "
                                "the working folder or the repository): its epochs set this run's schedule by the "
                                "paper's rule", str, nullable=True),
}
"""The schedule keys."""

FINE_TUNE_FRACTION = 0.25
DECAY_POINTS = (2 / 3, 5 / 6)


def fine_tune_epochs(baseline_epochs: int) -> int:
    """The paper's fine-tune length after an upgrade: a quarter of the baseline's epochs (240 -> 60)."""
    return max(1, _round(baseline_epochs * FINE_TUNE_FRACTION))


def fine_tune_decays(epochs: int) -> List[int]:
    """The paper's decay epochs of a fine-tune: 2/3 and 5/6 of it, halves rounded up (60 -> [40, 50],
    50 -> [33, 42], 70 -> [47, 58]). In a fine-tune too short for two distinct decays inside it, those that
    would fall on or after its end, or coincide, are left out."""
    return sorted({_round(epochs * point) for point in DECAY_POINTS} & set(range(1, epochs)))


def _round(value: float) -> int:
    # Python's round() sends halves to even (2.5 -> 2); the paper's numbers round halves up.
    return int(value + 0.5)


def check_schedule(config: dict) -> List[Tuple[str, str]]:
    """Cross-key check: decay epochs (a step schedule's only) increasing, after the warm-up and inside the run, as
    the offsets-only phase.

    ``train.epochs`` may be unset in a config that only evaluates; ``require_epochs`` checks it before training.
    """
    train = config["train"]
    epochs = train["epochs"]
    if epochs is None:
        return []
    problems = []
    decays = train["lr_decay_epoch"] or []
    if train["lr_mode"] == "poly" and decays:
        problems.append(("train.lr_decay_epoch", "a poly schedule decays at every iteration; leave it null or [] "
                                                 "(got {}), or set train.lr_mode: step".format(decays)))
    if any(d >= epochs for d in decays):
        problems.append(("train.lr_decay_epoch", "entries must be below train.epochs ({}), got {} (a shorter run "
                                                 "needs its own, e.g. --set 'train.lr_decay_epoch={}')".format(
                                                     epochs, decays, _decay_for(epochs, train["warmup_epochs"]))))
    if sorted(set(decays)) != decays:
        problems.append(("train.lr_decay_epoch", "must be strictly increasing, got {}".format(decays)))
    warmup = train["warmup_epochs"]
    if warmup >= epochs:
        problems.append(("train.warmup_epochs", "must be below train.epochs ({}), got {}".format(epochs, warmup)))
    elif any(d <= warmup for d in decays):
        problems.append(("train.lr_decay_epoch", "entries must come after the warm-up (train.warmup_epochs: {}), "
                                                 "got {}".format(warmup, decays)))
    if train["offsets_only_epochs"] > epochs:
        problems.append(("train.offsets_only_epochs", "must be at most train.epochs ({}), got {}".format(
            epochs, train["offsets_only_epochs"])))
    return problems


def require_epochs(config: Mapping) -> None:
    """Raise ``ConfigError`` unless the config says how long to train."""
    if config["train"]["epochs"] is None:
        raise ConfigError("train.epochs is not set: set it, or name the baseline config in train.fine_tune_of so "
                          "the paper's fine-tune rule sets it")



OPTIMIZER_FIELDS = {
    "optimizer": Field("sgd", "sgd | nag (SGD with Nesterov momentum) | adam (momentum unused)", str,
                       choices=("sgd", "nag", "adam")),
    "batch_size": Field(32, "images per iteration, over all devices and workers", int, minimum=1),
    "momentum": Field(0.9, "momentum", float, minimum=0, maximum=0.999),
    "wd": Field(0.0005, "weight decay", float, minimum=0),
    "no_wd": Field(False, "no weight decay on biases and batch-norm parameters (GluonCV's --no-wd)", bool),
    "offset_lr_mult": Field(1.0, "learning-rate multiplier of the deformable layers' offset branches", float,
                            minimum=0),
    "clip_gradient": Field(None, "clip every gradient element to [-c, c] after the batch average (MXNet's "
                           "optimizer clip_gradient); none: no clipping", float, above=0, nullable=True),
}
"""The optimizer keys."""

LOOP_FIELDS = {
    "val_interval": Field(1, "evaluate every N epochs (and after the last)", int, minimum=1),
    "log_interval": Field(50, "iterations between loss lines in the log file", int, minimum=1),
    "hybridize": Field(True, "hybridize the network (static graph; faster)", bool),
    "amp": Field(False, "mixed precision with MXNet's AMP (float16; GPU only)", bool),
    "tensorboard": Field(False, "also write TensorBoard event files beside metrics.csv (needs tensorboardX)", bool),
}
"""The run loop's keys."""

KVSTORES = ("device", "local", "dist_sync", "dist_device_sync", "horovod")
"""The ``train.kvstore`` values: MXNet's kvstore types, and Horovod."""
DISTRIBUTED_FIELDS = {
    "kvstore": Field("device", "device | local (one machine) | dist_sync | dist_device_sync (parameter server, "
                               "started by scripts/launch_dist.py) | horovod (horovodrun)", str, choices=KVSTORES),
}
"""The distribution keys."""

FIELDS = {**SCHEDULE_FIELDS, **OPTIMIZER_FIELDS, **LOOP_FIELDS, **DISTRIBUTED_FIELDS}
"""Every key of the ``train`` section but the augmentation's (``data.transforms.FIELDS``)."""


def check_amp(config: dict) -> list:
    """Cross-key check: AMP only on GPUs."""
    if config["train"]["amp"] and any(name.startswith("cpu") for name in config["ctx"]):
        return [("train.amp", "needs GPUs (ctx: [gpu0, ...]); MXNet's AMP has no float16 CPU kernels")]
    return []


def _decay_for(epochs: int, warmup: int) -> List[int]:
    """A decay epoch that fits ``epochs`` after ``warmup`` (2/3 of the run, or none), for an error's advice."""
    step = max(epochs * 2 // 3, warmup + 1)
    return [step] if step < epochs else []

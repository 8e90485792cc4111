"""The learning-rate schedule: the rate at each iteration of a run."""
from typing import Mapping

from gluoncv.utils import LRScheduler, LRSequential

from ..config.train_section import POLY_POWER


class Schedule:
    """The learning rate at every iteration of a run: linear warm-up, then steps of ``lr_decay`` or GluonCV's poly
    decay (``train.lr_mode``).

    The rate is a function of the epoch and the iteration alone (GluonCV's ``LRScheduler``), so a resumed run
    continues exactly where the interrupted one was.
    """

    def __init__(self, train: Mapping, iters_per_epoch: int):
        self.iters_per_epoch = iters_per_epoch
        warmup = train["warmup_epochs"]
        if train["lr_mode"] == "poly":
            decay = LRScheduler("poly", base_lr=train["lr"], nepochs=train["epochs"] - warmup,
                                iters_per_epoch=iters_per_epoch, power=POLY_POWER)
        else:
            decay = LRScheduler("step", base_lr=train["lr"], nepochs=train["epochs"] - warmup,
                                iters_per_epoch=iters_per_epoch,
                                step_epoch=[d - warmup for d in train["lr_decay_epoch"] or []],
                                step_factor=train["lr_decay"])
        parts = [decay]
        if warmup:
            parts.insert(0, LRScheduler("linear", base_lr=0, target_lr=train["lr"], nepochs=warmup,
                                        iters_per_epoch=iters_per_epoch))
        self._scheduler = LRSequential(parts)

    def __call__(self, epoch: int, iteration: int) -> float:
        """The rate for ``iteration`` (0-based) of ``epoch`` (1-based)."""
        return self._scheduler((epoch - 1) * self.iters_per_epoch + iteration)

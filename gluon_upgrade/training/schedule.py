"""The learning-rate schedule: its config keys, the paper's fine-tune rule, and the rate at each iteration."""
from typing import List, Mapping, Tuple

from gluoncv.utils import LRScheduler, LRSequential

from ..config.schema import Field
from ..errors import ConfigError

FIELDS = {
    "epochs": Field(None, "epochs to train (default for a fine-tune: a quarter of its baseline's)", int,
                    nullable=True, minimum=1),
    "lr": Field(0.001, "base learning rate (per global batch of train.batch_size images)", float, above=0),
    "lr_decay": Field(0.1, "factor applied to the learning rate at each train.lr_decay_epoch", float, above=0,
                      maximum=1),
    "lr_decay_epoch": Field(None, "epochs after which the rate decays (default for a fine-tune: 2/3 and 5/6 of "
                                  "its epochs)", list, item=int, nullable=True, minimum=1),
    "warmup_epochs": Field(0, "epochs of linear warm-up from 0 to train.lr", int, minimum=0),
    "offsets_only_epochs": Field(0, "the first N epochs train only the deformable layers' offset branches (every "
                                    "other parameter at learning rate x0; batch-norm statistics still update); "
                                    "0: everything from the start", int, minimum=0),
    "fine_tune_of": Field(None, "the baseline config this run fine-tunes (a relative path: to this file, else to "
                                "the working folder or the repository): its epochs set this run's schedule by the "
                                "paper's rule", str, nullable=True),
}
"""The schedule keys of the ``train`` section."""

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
    """Cross-key check: decay epochs increasing, after the warm-up and inside the run, as the offsets-only
    phase.

    ``train.epochs`` may be unset in a config that only evaluates; ``require_epochs`` checks it before training.
    """
    train = config["train"]
    epochs = train["epochs"]
    if epochs is None:
        return []
    problems = []
    decays = train["lr_decay_epoch"] or []
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


class Schedule:
    """The learning rate at every iteration of a run: linear warm-up, then steps of ``lr_decay``.

    The rate is a function of the epoch and the iteration alone (GluonCV's ``LRScheduler``), so a resumed run
    continues exactly where the interrupted one was.
    """

    def __init__(self, train: Mapping, iters_per_epoch: int):
        self.iters_per_epoch = iters_per_epoch
        warmup = train["warmup_epochs"]
        steps = LRScheduler("step", base_lr=train["lr"], nepochs=train["epochs"] - warmup,
                            iters_per_epoch=iters_per_epoch,
                            step_epoch=[d - warmup for d in train["lr_decay_epoch"] or []],
                            step_factor=train["lr_decay"])
        parts = [steps]
        if warmup:
            parts.insert(0, LRScheduler("linear", base_lr=0, target_lr=train["lr"], nepochs=warmup,
                                        iters_per_epoch=iters_per_epoch))
        self._scheduler = LRSequential(parts)

    def __call__(self, epoch: int, iteration: int) -> float:
        """The rate for ``iteration`` (0-based) of ``epoch`` (1-based)."""
        return self._scheduler((epoch - 1) * self.iters_per_epoch + iteration)


def _decay_for(epochs: int, warmup: int) -> List[int]:
    """A decay epoch that fits ``epochs`` after ``warmup`` (2/3 of the run, or none), for an error's advice."""
    step = max(epochs * 2 // 3, warmup + 1)
    return [step] if step < epochs else []

"""The training run: build from a config, train epoch by epoch, evaluate, checkpoint, resume."""
import logging
import math
import os
import random
import signal
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Mapping, Optional

import mxnet as mx
import numpy as np
from mxnet import autograd
from mxnet.contrib import amp
from gluoncv.data.mixup.detection import MixupDetection

from ..config.train_section import require_epochs
from ..data.datasets import dataset_fingerprint
from ..data.transforms import end_workers
from ..errors import ConfigError, TrainingError
from ..machine import machine_record
from ..models.build import build_network, check_trainable
from ..models.zoo import load_weights
from ..reporting.progress import progress_bar
from ..runtime import contexts
from ..tasks import task_of
from . import rundir as files
from .distributed import broadcast, connect, fingerprint, worker_contexts, Worker
from .optim import make_trainer, set_multipliers, train_only_offsets
from .rundir import RunDir, metrics_writer
from .schedule import Schedule
from .signals import interrupt


logger = logging.getLogger("gluon_upgrade.train")




@dataclass
class RunResult:
    """What a run did: its folder, the epochs it has completed, its best headline score (``best_map``: mAP, or a
    segmenter's mIoU, as ``label`` names it) and its metrics rows."""

    output: str
    epoch: int
    best_map: Optional[float]
    best_epoch: Optional[int]
    rows: List[dict] = field(default_factory=list)
    label: str = "mAP"


def train(config: Mapping, output: str, resume: bool = False, progress: bool = True) -> RunResult:
    """Train the network a config describes, writing the run directory ``output``.

    The directory holds ``config.yaml``, ``metrics.csv`` (a row per epoch; a run from ``model.weights`` or an
    upgrade also has row 0, the network it starts from, before training), ``log.txt``, ``last.params`` +
    ``last.states`` (every epoch) and ``best.params`` (by the task's headline score: mAP, a segmenter's mIoU),
    all written crash-safe (see ``rundir``). Ctrl-C or SIGTERM saves ``interrupted.params`` and re-raises
    ``KeyboardInterrupt``. The network's task (``tasks.task_of``) supplies data, losses, batches and score.

    Parameters
    ----------
    config : Config
        A validated config (``load_config``).
    output : str
        The run directory.
    resume : bool
        Continue the run in ``output`` after its last complete epoch, with its schedule and optimizer state.
    progress : bool
        Show progress bars.

    Raises
    ------
    TrainingError
        A non-finite loss (the last complete epoch's checkpoint is kept).
    GluonUpgradeError
        Bad config, data or weights, or ``output`` holding a run that ``resume`` was not asked to continue.
    """
    require_epochs(config)
    check_trainable(config)
    worker = connect(config["train"]["kvstore"])
    run = RunDir(output)
    with ExitStack() as held:
        # The chief holds the run's lock from before it reads the run (resume) or writes its first file (a new
        # run) until it returns: a second process on the same run stops with one line.
        if resume:
            run.require_run()
            if worker.chief:
                held.enter_context(run.locked())
            state = _recover(run, worker)
        else:
            run.require_new()
            state = None
        # Every start-up check (devices, data, weights, batch split) runs in _Run before the folder is written, so
        # a run that cannot start leaves nothing behind and the corrected command is not refused.
        session = _Run(config, run, worker, state, progress)
        if worker.chief:
            data = {"train": dataset_fingerprint(session.train_set), "val": dataset_fingerprint(session.val_set)}
            if resume:
                run.require_same_data(data, config["data"]["root"] or "(the default)")
            else:
                held.enter_context(run.locked())
                run.create(config.to_yaml())
            run.record_data(data)
            run.record_machine(machine_record(session.ctx[0].device_type), state["epoch"] if state else 0)
        worker.barrier()
        with _log_to(run, worker), _stop_on_sigterm():
            return session.fit()


def _recover(run: RunDir, worker: Worker) -> Optional[dict]:
    state = run.recover() if worker.chief else None
    worker.barrier()
    return state if worker.chief else run.read_state()


@contextmanager
def _log_to(run: RunDir, worker: Worker) -> Iterator[None]:
    os.makedirs(run.path, exist_ok=True)
    name = files.LOG if worker.chief else "log.rank{}.txt".format(worker.rank)
    handler = logging.FileHandler(run.file(name), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """A job scheduler's SIGTERM stops the run as Ctrl-C does (weights saved) before its SIGKILL comes.

    Only the process that owns the run keeps the handler: see ``_ForkHooks``.
    """
    _install_fork_hooks()
    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _ForkHooks(threading.local):
    """Give every process forked while a run owns SIGTERM (data-loader pools) the default SIGTERM.

    A pool ends its workers with SIGTERM. A Python handler runs only when the worker's main thread returns to the
    interpreter, and a worker blocked in ``sem_wait`` while a helper thread (multiprocessing's resource sharer)
    takes the signal never does: the pool's ``join`` then waits forever. The default disposition ends the process
    whatever its threads do. SIGTERM is blocked in the forking thread across the fork, so a signal that reaches
    the child before its handler is reset waits, and then takes the default action.
    """

    blocked = False

    def before(self) -> None:
        self.blocked = (signal.getsignal(signal.SIGTERM) is interrupt
                        and signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM]))

    def in_parent(self) -> None:
        if self.blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])

    def in_child(self) -> None:
        if signal.getsignal(signal.SIGTERM) is interrupt:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self.in_parent()


_fork_hooks: List[_ForkHooks] = []


def _install_fork_hooks() -> None:
    """Register ``_ForkHooks`` with ``os.register_at_fork`` at the first run of this process, not on import.

    Python cannot unregister fork hooks; these act only while a run owns SIGTERM, and do nothing otherwise.
    """
    if not _fork_hooks:
        _fork_hooks.append(_ForkHooks())
        os.register_at_fork(before=_fork_hooks[0].before, after_in_parent=_fork_hooks[0].in_parent,
                            after_in_child=_fork_hooks[0].in_child)


def seed_epoch(seed: int, epoch: int) -> None:
    """Seed Python, NumPy and MXNet for one epoch, so a resumed run draws the same data order."""
    value = (seed * 100003 + epoch) % (2 ** 31)
    random.seed(value)
    np.random.seed(value)
    mx.random.seed(value)


class _Run:
    def __init__(self, config: Mapping, run: RunDir, worker: Worker, state: Optional[dict], progress: bool):
        self.config, self.run, self.worker, self.progress = config, run, worker, progress
        self.train_cfg = config["train"]
        self.state = state or {"epoch": 0, "best_map": None, "best_epoch": None}
        self.ctx = worker_contexts(worker, contexts(config["ctx"]))
        self.tensorboard = None
        if self.train_cfg["tensorboard"]:
            _tensorboard_writer()  # a missing tensorboardX is a start-up error, before the run folder exists
        if self.train_cfg["amp"]:
            amp.init()
        seed_epoch(config["seed"], 0)
        self.task = task_of(config)
        self.train_set = self.task.dataset(config, train=True)
        self.val_set = self.task.dataset(config, train=False) if worker.chief else None
        self.net = self._network(state)
        self.losses = self.task.losses(self.net, config)
        self.batch = self._worker_batch()
        self.mixup = MixupDetection(self.train_set) if self.train_cfg["mixup"] else None
        self.mixing, self.loader = None, None
        self.loader = self._loader(self.state["epoch"] + 1)
        if len(self.loader) == 0:
            raise ConfigError("train.batch_size: {} images per worker, but a worker's share of the training set "
                              "has {} images".format(self.batch, len(self.train_set) // worker.count))
        self.schedule = Schedule(self.train_cfg, len(self.loader))
        offsets = set_multipliers(self.net, self.train_cfg)
        self.multipliers = {name: p.lr_mult for name, p in self.net.collect_params().items()}
        self.trainer = make_trainer(self.net, self.train_cfg, worker)
        if self.train_cfg["amp"]:
            amp.init_trainer(self.trainer)
        if state:
            self.trainer.load_states(run.file(files.STATES))
        self.metric_keys = self.task.metric_keys(config)
        self.columns = (["epoch", "lr", "train_loss"] + list(self.losses.parts) + list(self.metric_keys)
                        + ["images", "seconds", "images_per_second", "eval_seconds"])
        self.rows = [dict(r) for r in run.read_metrics(self.state["epoch"])] if state else []
        self.offset_branches = offsets // 2

    def _network(self, state: Optional[dict]):
        model = self.config["model"]
        if state:
            # The checkpoint holds every weight; the baseline file or zoo download is not needed again.
            model = dict(model, weights=None, pretrained=False, pretrained_base=False)
        net = build_network(model, self.train_set.classes, self.ctx)
        if state:
            load_weights(net, self.run.file(files.LAST), "the checkpoint of epoch {}".format(state["epoch"]),
                         self.ctx)
        broadcast(net, self.worker)
        return net

    def _loader(self, epoch: int):
        """The training loader for ``epoch``: the one in use, or a new one where mixup switches.

        GluonCV's recipe mixes images with Beta(1.5, 1.5) ratios except in the last ``no_mixup_epochs`` epochs.
        Loader workers are forked with the data set as it is then, and never see a later ``set_mixup``: the
        switch builds a new loader (and so new workers) after setting it.
        """
        if self.mixup is not None:
            mixing = epoch <= self.train_cfg["epochs"] - self.train_cfg["no_mixup_epochs"]
            if mixing != self.mixing:
                self.mixup.set_mixup(*((np.random.beta, 1.5, 1.5) if mixing else (None,)))
                self.mixing = mixing
                self.loader = None
        if self.loader is not None:
            return self.loader
        # YOLOv3's target generator runs the network on one input: not through a graph cached for training.
        self.net.hybridize(active=False)
        return self.task.train_loader(self.mixup or self.train_set, self.net, self.config, self.batch, self.worker,
                                      self.mixup is not None)

    def _worker_batch(self) -> int:
        total, workers = self.train_cfg["batch_size"], self.worker.count
        if total % workers:
            raise ConfigError("train.batch_size: {} images do not split evenly over {} workers".format(total,
                                                                                                     workers))
        if total // workers < len(self.ctx):
            raise ConfigError("train.batch_size: {} images per worker cannot feed its {} devices".format(
                total // workers, len(self.ctx)))
        return total // workers

    def fit(self) -> RunResult:
        config, worker = self.config, self.worker
        logger.info("%s %s: %d training images (%d per worker x %d workers), %d iterations of %d images per epoch"
                    ", %d deformable offset branches", config["model"]["name"], config["model"]["mode"],
                    len(self.train_set), len(self.train_set) // worker.count, worker.count, len(self.loader),
                    self.batch * worker.count, self.offset_branches)
        if self.train_cfg["tensorboard"] and worker.chief:
            self.tensorboard = _tensorboard_writer()(logdir=self.run.path)
        epochs = self.train_cfg["epochs"]
        model = self.config["model"]
        if self.state["epoch"] == 0 and not self.rows and (model["mode"] == "upgrade" or model["weights"]):
            # A fine-tune's row 0: the network it starts from (after any upgrade), before training.
            self._finish_epoch(0, None, self.schedule(1, 0))
        for epoch in range(self.state["epoch"] + 1, epochs + 1):
            seed_epoch(self.config["seed"], epoch)
            train_only_offsets(self.net, epoch <= self.train_cfg["offsets_only_epochs"], self.multipliers)
            stats = self._train_epoch(epoch)
            self._finish_epoch(epoch, stats, self.schedule(epoch, len(self.loader) - 1))
        if self.tensorboard is not None:
            self.tensorboard.close()
        return RunResult(self.run.path, self.state["epoch"], self.state["best_map"], self.state["best_epoch"],
                         self.rows, self.task.label)

    def _hybridize(self) -> None:
        # GluonCV's detectors build a different graph for training and for inference, and a hybridized block
        # keeps the first it built: start a fresh one at each switch, as GluonCV's training scripts do.
        if self.train_cfg["hybridize"]:
            self.net.hybridize(static_alloc=True, static_shape=not self.train_cfg["random_shape"])

    def _train_epoch(self, epoch: int) -> Dict[str, float]:
        self.loader = self._loader(epoch)
        self._hybridize()
        iterations = len(self.loader)
        sums = dict.fromkeys(("train_loss",) + tuple(self.losses.parts), 0.0)
        bar = progress_bar(iterations, "epoch {}/{}".format(epoch, self.train_cfg["epochs"]), "it",
                           self.progress and self.worker.chief)
        start = time.perf_counter()
        waiting = None
        try:
            for i, batch in enumerate(self.loader):
                self.trainer.set_learning_rate(self.schedule(epoch, i))
                parts = self._step(batch)
                # The previous iteration's loss is read only now, so the devices always have one batch queued.
                if waiting is not None:
                    self._account(epoch, waiting, sums, bar, start)
                waiting = (i, parts)
            self._account(epoch, waiting, sums, bar, start)
        except KeyboardInterrupt:
            bar.close()
            end_workers(self.loader)
            self._saveinterrupted(epoch)
            raise
        bar.close()
        seconds = time.perf_counter() - start
        stats = {key: value / iterations for key, value in sums.items()}
        images = iterations * self.batch * self.worker.count
        stats.update(images=images, seconds=seconds, images_per_second=images / seconds)
        if self.worker.count > 1:
            logger.info("epoch %d parameters md5 %s", epoch, fingerprint(self.net))
        return stats

    def _step(self, batch) -> Dict[str, mx.nd.NDArray]:
        with autograd.record():
            totals, parts = self.losses(self.net, batch, self.ctx)
            if self.train_cfg["amp"]:
                with amp.scale_loss(totals, self.trainer) as scaled:
                    autograd.backward(scaled)
            else:
                autograd.backward(totals)
        self.trainer.step(self.losses.step_size(batch[0].shape[0]) * self.worker.gradient_sum)
        return parts

    def _account(self, epoch: int, waiting, sums: Dict[str, float], bar, start: float) -> None:
        i, parts = waiting
        values = {name: float(value.asscalar()) for name, value in parts.items()}
        total = sum(values.values())
        if not math.isfinite(total):
            last = self.state["epoch"]
            kept = ("{} (epoch {})".format(self.run.file(files.LAST), last) if last
                    else "none (no epoch completed)")
            raise TrainingError(
                "non-finite training loss at epoch {}, iteration {} of {} ({}); the run stopped. Last good "
                "checkpoint: {}. Lower train.lr or add train.warmup_epochs.".format(
                    epoch, i + 1, len(self.loader),
                    ", ".join("{} {}".format(k, v) for k, v in values.items()), kept))
        sums["train_loss"] += total
        for name, value in values.items():
            sums[name] += value
        done = i + 1
        rate = done * self.batch / max(time.perf_counter() - start, 1e-9)
        bar.set_postfix(loss="{:.3f}".format(sums["train_loss"] / done), img_s="{:.1f}".format(rate))
        bar.update(1)
        if done % self.train_cfg["log_interval"] == 0:
            logger.info("epoch %d iteration %d/%d loss %.4f (%s) %.1f img/s", epoch, done, len(self.loader),
                        total, ", ".join("{} {:.4f}".format(k, v) for k, v in values.items()), rate)

    def _finish_epoch(self, epoch: int, stats: Optional[Dict[str, float]], lr: float) -> None:
        row = dict(epoch=epoch, lr=lr, **(stats or {}))
        evaluate = epoch == 0 or epoch % self.train_cfg["val_interval"] == 0 or epoch == self.train_cfg["epochs"]
        if self.worker.chief and evaluate:
            self._hybridize()
            start = time.perf_counter()
            result = self.task.evaluate(self.config, self.net, self.val_set, self.ctx, self.progress)
            row.update({key: result.values[key] for key in self.metric_keys}, eval_seconds=time.perf_counter() - start)
        logger.info("epoch %d %s", epoch, ", ".join("{} {}".format(k, files.format_cell(v))
                                                   for k, v in row.items() if k != "epoch"))
        if not self.worker.chief:
            self.state["epoch"] = epoch
            return
        self.rows.append(row)
        state = dict(self.state, epoch=epoch)
        writers = {files.LAST: self.net.save_parameters, files.STATES: self.trainer.save_states,
                   files.METRICS: metrics_writer(self.rows, self.columns)}
        score = row.get(self.task.headline)
        if score is not None and not math.isnan(score) and (state["best_map"] is None or score > state["best_map"]):
            state.update(best_map=score, best_epoch=epoch)
            writers[files.BEST] = self.net.save_parameters
            logger.info("epoch %d: best %s so far (%.4f), saved %s", epoch, self.task.label, score, files.BEST)
        self.run.commit(state, writers)
        self.state = state
        if self.tensorboard is not None:
            for key, value in row.items():
                if key != "epoch" and value is not None:
                    self.tensorboard.add_scalar(key, value, epoch)
            self.tensorboard.flush()

    def _saveinterrupted(self, epoch: int) -> None:
        if not self.worker.chief:
            return
        files.atomic_write(self.run.file(files.INTERRUPTED), self.net.save_parameters)
        logger.warning("interrupted in epoch %d: weights so far saved to %s; --resume continues after epoch %d",
                       epoch, self.run.file(files.INTERRUPTED), self.state["epoch"])


def _tensorboard_writer():
    """tensorboardX's ``SummaryWriter`` class (a ``ConfigError`` without it)."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ConfigError("train.tensorboard: true needs tensorboardX (pip install tensorboardX)") from None
    return SummaryWriter

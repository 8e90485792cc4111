"""The effect study's positive control: Table II's four experiments on a task built so that deformable sampling
must pay (``data.pairs``: the orientation of two dots, up to twice as far apart as the plain network's 9 px
receptive field), with the toolkit's own surgery, operator, optimiser and offset learning rates.

A study that finds no effect of deformable layers on the demo detectors is only convincing if the same protocol
finds one where it certainly exists. On the far pairs the plain network (``models.pair_classifier``) can only
guess, while deformable layers whose offsets reach the other dot can read the answer; so (2) - (1) must be large,
and (3) - (4) says whether the upgrade of a trained plain network recovers that gain in a quarter of the
training; other fine-tunes (``FineTune``) say what it needs to. The classification loop is a few lines written
here: the detection loop (``training.loop``) trains detectors from configs and data sets on disk.
"""
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from ..data.pairs import FAR, SEPARATION, blob_pairs
from ..models.pair_classifier import RECEPTIVE_FIELD, pair_classifier
from ..reporting.curves import plot_against
from ..reporting.files import write_json, write_text
from ..reporting.progress import progress_bar
from ..reporting.tables import markdown_table, mean_std
from ..surgery.inplace import upgrade
from ..training.optim import set_multipliers
from ..config.train_section import fine_tune_decays, fine_tune_epochs
from .effect_study import COMPARISON_TITLES, COMPARISONS, Paired
from .table2 import EXPERIMENTS, TITLES


@dataclass(frozen=True)
class ControlSettings:
    """The positive control's recipe: the demo detectors' (Adam 2e-3, 8 epochs, x0.1 after 5 and 7, fine-tunes
    at half the rate for a quarter of the epochs) on epochs of ``steps`` batches."""

    train_images: int = 4000
    val_images: int = 1000
    epochs: int = 8
    decays: Sequence[int] = (5, 7)
    steps: int = 100
    """Batches per epoch."""
    batch: int = 32
    lr: float = 0.002
    fine_tune_lr: float = 0.001
    wd: float = 0.0001
    offset_lr_mult: float = 0.1
    impl: str = "fast"
    layers: str = "last3"


@dataclass(frozen=True)
class FineTune:
    """A fine-tune of the trained plain network besides the paper's quarter, run for the upgrade and its control:
    what the upgrade needs to recover the gain of deformable layers from the start."""

    epochs: int
    lr: float
    offset_lr_mult: float

    @classmethod
    def parse(cls, text: str) -> "FineTune":
        """``EPOCHS:LR:OFFSET_LR_MULT``, e.g. ``4:0.001:1``; ``ValueError`` naming the form otherwise."""
        parts = text.split(":")
        try:
            epochs, lr, mult = int(parts[0]), float(parts[1]), float(parts[2])
        except (ValueError, IndexError):
            raise ValueError("a fine-tune is EPOCHS:LR:OFFSET_LR_MULT (e.g. 4:0.001:1), got {!r}".format(text))
        if len(parts) != 3 or epochs < 1 or lr <= 0 or mult < 0:
            raise ValueError("a fine-tune is EPOCHS:LR:OFFSET_LR_MULT with EPOCHS >= 1, LR > 0, MULT >= 0, "
                             "got {!r}".format(text))
        return cls(epochs, lr, mult)

    @property
    def upgrade(self) -> str:
        """The upgrade's key in a seed's curves."""
        return "upgrade {}:{:g}:{:g}".format(self.epochs, self.lr, self.offset_lr_mult)

    @property
    def control(self) -> str:
        """The control's key (the offsets' rate does not reach a network without them)."""
        return "control {}:{:g}".format(self.epochs, self.lr)

    def describe(self) -> str:
        """One line for the report."""
        return "{} epochs (x0.1 after {}), lr {:g}, offsets x{:g}".format(
            self.epochs, ", ".join(map(str, fine_tune_decays(self.epochs))) or "none", self.lr,
            self.offset_lr_mult)


def _lr_at(epoch: int, lr: float, decays: Sequence[int]) -> float:
    return lr * 0.1 ** sum(epoch > d for d in decays)


def hits(net: gluon.HybridBlock, x: mx.nd.NDArray, y: mx.nd.NDArray, batch: int = 100) -> np.ndarray:
    """Per image of ``x``: whether ``net`` classifies it as ``y`` (bool), ``batch`` images at a time (a deformable
    layer's sampled columns for a whole validation set would take gigabytes)."""
    return np.concatenate([(net(x[i:i + batch]).argmax(axis=1) == y[i:i + batch].astype("float32")).asnumpy() > 0
                           for i in range(0, len(y), batch)])


def train_classifier(net: gluon.HybridBlock, data: tuple, epochs: int, decays: Sequence[int], lr: float,
                     settings: ControlSettings, seed: int, progress: bool = False, label: str = "",
                     offset_lr_mult: Optional[float] = None) -> Tuple[List[float], np.ndarray]:
    """Train ``net`` with Adam (offset branches at ``offset_lr_mult``, by default ``settings.offset_lr_mult``)
    and return the validation accuracy before training and after every epoch, and the trained network's
    ``hits`` on the validation images."""
    x, y, val_x, val_y = data[:4]
    mult = settings.offset_lr_mult if offset_lr_mult is None else offset_lr_mult
    set_multipliers(net, {"offset_lr_mult": mult, "no_wd": False})
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr, "wd": settings.wd})
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.RandomState(seed)
    last = hits(net, val_x, val_y)
    curve = [float(last.mean())]
    with progress_bar(epochs * settings.steps, label, "step", progress) as bar:
        for epoch in range(1, epochs + 1):
            trainer.set_learning_rate(_lr_at(epoch, lr, decays))
            for _ in range(settings.steps):
                batch = mx.nd.array(rng.choice(len(y), settings.batch, replace=False))
                with autograd.record():
                    value = loss(net(x.take(batch)), y.take(batch))
                value.backward()
                trainer.step(settings.batch)
                bar.update(1)
            last = hits(net, val_x, val_y)
            curve.append(float(last.mean()))
    return curve, last


def _network(seed: int, settings: ControlSettings, deformable: bool, weights: Dict[str, mx.nd.NDArray] = None):
    mx.random.seed(seed)
    net = pair_classifier()
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 1, 8, 8)))
    if weights is not None:
        for name, param in net.collect_params().items():
            param.set_data(weights[name])
    if deformable:
        net = upgrade(net, settings.layers, scope="", impl=settings.impl)
    net.hybridize(static_alloc=True, static_shape=True)
    return net


def run_seed(seed: int, settings: ControlSettings, data: tuple, progress: bool = False,
             fine_tunes: Sequence[FineTune] = ()) -> Tuple[Dict[str, List[float]], Dict[str, float]]:
    """The four experiments at one seed, and the upgrade and control of every other fine-tune in ``fine_tunes``:
    each one's validation accuracy per epoch (a fine-tune's epoch 0 is the trained plain network, upgraded or
    not), and each one's final accuracy on the far pairs (``data[4]``, a mask of the validation images)."""
    far_pairs = data[4]
    curves, far = {}, {}

    def train(name, net, epochs, decays, lr, offset_lr_mult=None):
        curves[name], last = train_classifier(net, data, epochs, decays, lr, settings, seed, progress,
                                              "seed {} {}".format(seed, name), offset_lr_mult)
        far[name] = float(last[far_pairs].mean())

    baseline = _network(seed, settings, deformable=False)
    train("baseline", baseline, settings.epochs, settings.decays, settings.lr)
    weights = {name: param.data().copy() for name, param in baseline.collect_params().items()}
    train("dcn_scratch", _network(seed, settings, deformable=True), settings.epochs, settings.decays, settings.lr)
    epochs = fine_tune_epochs(settings.epochs)
    for name, deformable in (("upgrade", True), ("control", False)):
        train(name, _network(seed, settings, deformable, weights), epochs, fine_tune_decays(epochs),
              settings.fine_tune_lr)
    for tune in fine_tunes:
        train(tune.upgrade, _network(seed, settings, True, weights), tune.epochs, fine_tune_decays(tune.epochs),
              tune.lr, tune.offset_lr_mult)
        if tune.control not in curves:  # fine-tunes that differ only in the offsets' rate share it
            train(tune.control, _network(seed, settings, False, weights), tune.epochs,
                  fine_tune_decays(tune.epochs), tune.lr)
    return curves, far


@dataclass
class PositiveControl:
    """The four experiments' accuracy curves and final accuracy on the far pairs by seed, the settings and the
    command."""

    curves: Dict[int, Dict[str, List[float]]]
    far: Dict[int, Dict[str, float]]
    settings: ControlSettings
    command: str
    seconds: float
    fine_tunes: Sequence[FineTune] = ()

    def finals(self, name: str, far: bool = False) -> List[float]:
        """Experiment ``name``'s final validation accuracy (``far``: on the far pairs only), seed by seed."""
        if far:
            return [finals[name] for finals in self.far.values()]
        return [curves[name][-1] for curves in self.curves.values()]

    def paired(self, first: str, second: str, far: bool = False) -> Paired:
        """Per-seed differences of final accuracy (``far``: on the far pairs only), in points."""
        return Paired.between(self.finals(first, far), self.finals(second, far))

    def steps_to_match(self) -> List[float]:
        """Per seed: the upgrade's training steps to first reach the deformable-from-the-start network's final
        accuracy, over that network's steps (None: it did not)."""
        fractions = []
        for curves in self.curves.values():
            target = curves["dcn_scratch"][-1]
            epoch = next((e for e, acc in enumerate(curves["upgrade"]) if acc >= target), None)
            fractions.append(None if epoch is None else epoch / self.settings.epochs)
        return fractions

    def to_dict(self) -> dict:
        """``positive_control.json``."""
        settings = asdict(self.settings)
        settings["decays"] = list(settings["decays"])
        return {"command": self.command, "seconds": round(self.seconds), "settings": settings,
                "receptive_field": RECEPTIVE_FIELD, "separation": list(SEPARATION), "far_from": FAR,
                "curves": {str(s): c for s, c in self.curves.items()},
                "far": {str(s): f for s, f in self.far.items()},
                "paired": {"{} - {}".format(a, b): self.paired(a, b).to_dict() for a, b in COMPARISONS},
                "paired_far": {"{} - {}".format(a, b): self.paired(a, b, far=True).to_dict()
                               for a, b in COMPARISONS},
                "steps_to_match": self.steps_to_match(),
                "fine_tunes": [dict(asdict(tune), **{pair: self.paired(*names, far=far).to_dict()
                                                    for pair, names, far in self._tune_pairs(tune)})
                               for tune in self.fine_tunes]}

    @staticmethod
    def _tune_pairs(tune: FineTune):
        yield "upgrade - control", (tune.upgrade, tune.control), False
        yield "far: upgrade - control", (tune.upgrade, tune.control), True
        yield "upgrade - dcn_scratch", (tune.upgrade, "dcn_scratch"), False

    def _tunes_table(self) -> List[str]:
        if not self.fine_tunes:
            return []
        s = self.settings
        quarter = FineTune(fine_tune_epochs(s.epochs), s.fine_tune_lr, s.offset_lr_mult)
        rows = []
        for tune, upgraded, control in [(quarter, "upgrade", "control")] + [
                (t, t.upgrade, t.control) for t in self.fine_tunes]:
            rows.append([tune.describe(), "{:.2f}".format(tune.epochs / s.epochs), mean_std(self.finals(upgraded)),
                         mean_std(self.finals(control)), self.paired(upgraded, control).text(),
                         self.paired(upgraded, control, far=True).text(),
                         self.paired(upgraded, "dcn_scratch").text()])
        return ["## What the upgrade needs", "",
                "The upgrade and its control after other fine-tunes of the same trained plain network (the first "
                "row is the paper's quarter above). Steps: the fine-tune's over the deformable network's.", "",
                markdown_table(["fine-tune", "steps", "upgrade (%)", "control (%)", "upgrade - control",
                                "far pairs: upgrade - control", "upgrade - deformable from the start"], rows), ""]

    def markdown(self) -> str:
        """``positive_control.md``: final accuracy per experiment, the paired differences, compute to match."""
        rows = [[TITLES[name], mean_std(self.finals(name)),
                 ", ".join("{:.1f}".format(100 * v) for v in self.finals(name)), mean_std(self.finals(name, True)),
                 ", ".join("{:.1f}".format(100 * v) for v in self.finals(name, True))] for name in EXPERIMENTS]
        pairs = [[COMPARISON_TITLES[c]] + self.paired(*c).columns() + self.paired(*c, far=True).columns()
                 for c in COMPARISONS]
        match = ", ".join("never" if f is None else "{:.3f}".format(f) for f in self.steps_to_match())
        s = self.settings
        return "\n".join([
            "# The effect study's positive control: where deformable sampling must pay", "",
            "Made by `{}` in {:.0f} s on 2 CPU cores.".format(self.command, self.seconds), "",
            "Classify the orientation of two dots {:.0f}-{:.0f} px apart (`gluon_upgrade/data/pairs.py`; on the far "
            "pairs, {:.0f} px and more, no 9 px window sees both) with four "
            "3x3 convolutions (receptive field {} px) and a global max pool; the last three are made deformable "
            "by the toolkit's `upgrade` (impl `{}`, offsets x{}). Adam {} with wd {}, {} epochs of {} batches of "
            "{}, x0.1 after {}; fine-tunes: the paper's quarter ({} epochs, x0.1 after {}) at lr {}. Validation "
            "accuracy on {:,} images (chance 50%), seeds {}.".format(
                *SEPARATION, FAR, RECEPTIVE_FIELD,
                s.impl, s.offset_lr_mult, s.lr, s.wd, s.epochs, s.steps, s.batch,
                ", ".join(map(str, s.decays)) or "none", fine_tune_epochs(s.epochs),
                ", ".join(map(str, fine_tune_decays(fine_tune_epochs(s.epochs)))) or "none", s.fine_tune_lr,
                s.val_images, ", ".join(map(str, self.curves))), "",
            markdown_table(["experiment", "final accuracy (%), mean +- std", "per seed", "far pairs (%)",
                            "per seed"], rows), "",
            markdown_table(["difference (points)", "mean +- SE (seeds positive / seeds)", "standard errors",
                            "far pairs: mean +- SE", "standard errors"], pairs), "",
            "Compute to match: the upgrade's training steps to first reach the final accuracy of the network "
            "deformable from the start, over that network's steps (the paper: 0.25): {}.".format(match), ""]
            + self._tunes_table())


def run_positive_control(seeds: int, out_md: str, settings: ControlSettings = ControlSettings(), command: str = "",
                         progress: bool = True, fine_tunes: Sequence[FineTune] = ()) -> PositiveControl:
    """Run the four experiments (and the upgrade and control of each of ``fine_tunes``) for seeds 0..``seeds``-1
    and write ``out_md``, its ``.json`` and a ``.png`` of the mean accuracy per epoch."""
    start = time.perf_counter()
    x, y, _ = blob_pairs(settings.train_images, seed=1)
    val_x, val_y, val_gaps = blob_pairs(settings.val_images, seed=2)
    data = (mx.nd.array(x), mx.nd.array(y), mx.nd.array(val_x), mx.nd.array(val_y), val_gaps >= FAR)
    stem = out_md[:-3] if out_md.endswith(".md") else out_md
    curves, far = {}, {}
    for seed in range(seeds):  # the report is rewritten after every seed, so an interruption keeps the others
        curves[seed], far[seed] = run_seed(seed, settings, data, progress, fine_tunes)
        control = PositiveControl(dict(curves), dict(far), settings, command, time.perf_counter() - start,
                                  fine_tunes)
        write_text(stem + ".md", control.markdown())
        write_json(stem + ".json", control.to_dict())
        plot_control(control, stem + ".png")
    return control


def plot_control(control: PositiveControl, out: str) -> str:
    """Each experiment's validation accuracy per epoch, the mean over seeds; the fine-tunes drawn from where the
    baseline ended."""
    end = control.settings.epochs
    xs = list(range(end + fine_tune_epochs(end) + 1))
    series = {}
    for name in EXPERIMENTS:
        values = 100 * np.mean([curves[name] for curves in control.curves.values()], axis=0)
        first = end if name in ("upgrade", "control") else 0
        series[TITLES[name]] = [values[e - first] if first <= e < first + len(values) else np.nan for e in xs]
    return plot_against(xs, {"validation accuracy (%)": series}, out, "epoch",
                        "Positive control: mean over {} seeds (fine-tunes start from the baseline's end)".format(
                            len(control.curves)))

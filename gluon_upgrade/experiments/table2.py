"""The paper's Table II and Fig. 4 on any data: baseline, deformable from scratch, and upgrade of the baseline.

(1) the baseline trains for E epochs; (2) the same network with the chosen layers deformable from the start
trains with the same schedule; (3) the baseline's best weights are upgraded in place and fine-tuned for the
paper's rule (E/4 epochs, decays at 2/3 and 5/6). The three configs share seeds, data and evaluation; the
upgrade's weights and schedule are set here from run (1), whatever its config file says.
"""
import os
from dataclasses import dataclass
from typing import Dict, Sequence

from ..config.loader import load_config
from ..config.schema import differences
from ..errors import ConfigError
from ..evaluation.from_config import config_metric
from ..reporting.curves import plot_runs
from ..reporting.files import write_text
from ..reporting.tables import markdown_table, percent
from ..training import rundir as files
from .paper import TABLE2
from .runs import RunRecord, ensure_run, fine_tune_overrides

EXPERIMENTS = ("baseline", "dcn_scratch", "upgrade")
"""The three experiments, by the ``model.mode`` each config must have; also their run folders' names."""
RUNS = "table2"
"""The subfolder of the results folder that holds the three run directories."""
FINE_TUNE_KEYS = ("model.mode", "model.weights", "model.pretrained", "train.epochs", "train.lr_decay_epoch",
                  "train.warmup_epochs", "train.fine_tune_of", "train.lr", "train.val_interval")
"""What the upgrade's config may set otherwise than the baseline's: where it starts and its schedule."""
TITLES = {"baseline": "1. baseline (standard convolutions)",
          "dcn_scratch": "2. deformable from the start",
          "upgrade": "3. upgrade of 1, fine-tuned"}


@dataclass
class Table2:
    """The three finished runs and the command that made them."""

    runs: Dict[str, RunRecord]
    command: str

    def rows(self) -> list:
        """A row per experiment: epochs, decays, final and best mAP, training images, wall time, paper's mAP."""
        rows = []
        for name, paper in zip(EXPERIMENTS, TABLE2):
            run = self.runs[name]
            best = run.best("map")
            best_epoch = run.column("map").index(best) if best is not None else None
            rows.append([TITLES[name], run.epochs, ", ".join(map(str, run.config["train"]["lr_decay_epoch"])),
                         percent(run.final("map")), "{} (epoch {})".format(percent(best), best_epoch),
                         int(run.total("images")), round(run.wall_seconds),
                         "{:.1f}".format(paper["map"])])
        return rows

    def markdown(self) -> str:
        """``table2.md``: the measured table, the paper's values beside it, and the command."""
        headers = ["experiment", "epochs", "lr x0.1 at", "final mAP (%)", "best mAP (%)", "training images",
                   "train + eval seconds", "paper mAP (%)"]
        start = self.runs["upgrade"].rows[0]
        return "\n".join([
            "# Table II on {}".format(self.runs["baseline"].config["data"]["root"]), "",
            "Made by `{}`.".format(self.command), "",
            markdown_table(headers, self.rows()), "",
            "mAP is the validation metric of the configs ({}), measured after every epoch; the upgrade's epoch 0 "
            "is the upgraded baseline before fine-tuning ({} %). Seconds are training plus evaluation, without "
            "start-up. The paper's column is SSD512-ResNet-50 on VOC07 test (Table II), not this data."
            .format(config_metric(self.runs["baseline"].config), percent(start.get("map"))), ""])


def run_table2(baseline: str, dcn: str, upgrade: str, out: str, overrides: Sequence[str] = (),
               command: str = "", progress: bool = True) -> Table2:
    """Run (or finish, or reuse) the three experiments into ``out/<experiment>`` and write the report.

    Parameters
    ----------
    baseline, dcn, upgrade : str
        Config files whose ``model.mode`` is ``baseline``, ``dcn_scratch`` and ``upgrade``.
    out : str
        Results folder: gets ``table2.md``, ``map_curves.png``, ``loss_curves.png`` and, in ``table2/``, a run
        directory per experiment.
    overrides : sequence of str
        ``--set`` entries applied to all three configs.
    command : str
        The command line, written into ``table2.md``.

    Raises
    ------
    ConfigError
        A config of the wrong mode; a deformable config that differs from the baseline's in more than its mode
        (and, for the upgrade, than ``FINE_TUNE_KEYS``).
    """
    configs = {"baseline": load_config(baseline, overrides), "dcn_scratch": load_config(dcn, overrides)}
    for name, config in configs.items():
        _check_mode(config, name)
    _check_same(configs["baseline"], configs["dcn_scratch"], ("model.mode",))
    folder = os.path.join(out, RUNS)
    runs = {"baseline": ensure_run(configs["baseline"], os.path.join(folder, "baseline"), progress)}
    runs["dcn_scratch"] = ensure_run(configs["dcn_scratch"], os.path.join(folder, "dcn_scratch"), progress)
    fine_tune = load_config(upgrade, list(overrides) + fine_tune_overrides(
        runs["baseline"].epochs, os.path.join(folder, "baseline", files.BEST)))
    _check_mode(fine_tune, "upgrade")
    _check_same(configs["baseline"], fine_tune, FINE_TUNE_KEYS)
    runs["upgrade"] = ensure_run(fine_tune, os.path.join(folder, "upgrade"), progress)
    table = Table2(runs, command)
    write_text(os.path.join(out, "table2.md"), table.markdown())
    plot_table2(runs, out)
    return table


def _check_same(config, other, allowed: Sequence[str]) -> None:
    changed = [key for key in differences(config, other) if not key.startswith(allowed)]
    if changed:
        raise ConfigError("Table II compares networks trained alike, but the {} config differs from the baseline's "
                          "in: {}".format(other["model"]["mode"], ", ".join(changed)))


def _check_mode(config, mode: str) -> None:
    if config["model"]["mode"] != mode:
        raise ConfigError("Table II experiment '{}' needs a config with model.mode: {}, not {}".format(
            mode, mode, config["model"]["mode"]))


def plot_table2(runs: Dict[str, RunRecord], out: str) -> None:
    """Fig. 4 (``map_curves.png``) and ``loss_curves.png``; the upgrade continues from the baseline's end."""
    ordered = [runs[name] for name in EXPERIMENTS]
    labels = [TITLES[name] for name in EXPERIMENTS]
    starts = [0, 0, runs["baseline"].epochs]
    plot_runs(ordered, os.path.join(out, "map_curves.png"), ["map"], labels, starts,
              title="validation mAP per epoch (paper's Fig. 4)")
    plot_runs(ordered, os.path.join(out, "loss_curves.png"), ["train_loss", "cls_loss", "box_loss"], labels,
              starts, title="training losses per epoch")

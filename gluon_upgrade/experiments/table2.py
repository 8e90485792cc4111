"""The paper's Table II and Fig. 4 on any data: baseline, deformable from scratch, upgrade of the baseline, and
the control the paper lacks.

(1) the baseline trains for E epochs; (2) the same network with the chosen layers deformable from the start
trains with the same schedule; (3) the baseline's best weights are upgraded in place and fine-tuned for the
paper's rule (E/4 epochs, decays at 2/3 and 5/6); (4) the control: the same weights trained on for exactly (3)'s
schedule without the upgrade, so (3) - (4) is the deformable layers' effect and not that of more epochs. The
configs share seeds, data and evaluation; the weights and schedule of (3) and (4) are set here from run (1),
whatever the upgrade's config file says.
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from ..config.loader import load_config
from ..config.schema import differences
from ..errors import ConfigError
from ..evaluation.evaluate import config_metric
from ..evaluation.from_config import evaluate_config
from ..reporting.curves import plot_runs
from ..reporting.files import write_text
from ..reporting.tables import markdown_table, percent
from ..training import rundir as files
from .paper import TABLE2
from .runs import RunRecord, ensure_run, fine_tune_overrides, machines_line

EXPERIMENTS = ("baseline", "dcn_scratch", "upgrade", "control")
"""The four experiments; also their run folders' names."""
RUNS = "table2"
"""The subfolder of the results folder that holds the four run directories."""
FINE_TUNE_KEYS = ("model.mode", "model.weights", "model.pretrained", "train.epochs", "train.lr_decay_epoch",
                  "train.warmup_epochs", "train.fine_tune_of", "train.lr", "train.val_interval")
"""What the upgrade's config may set otherwise than the baseline's: where it starts and its schedule."""
TITLES = {"baseline": "1. baseline (standard convolutions)",
          "dcn_scratch": "2. deformable from the start",
          "upgrade": "3. upgrade of 1, fine-tuned",
          "control": "4. control: 1 trained on as 3, no upgrade"}
PAPER_MAP = {row["experiment"]: row["map"] for row in TABLE2}
"""The paper's Table II mAP per experiment (it has no control)."""


@dataclass
class Table2:
    """The four finished runs and the command that made them."""

    runs: Dict[str, RunRecord]
    command: str
    per_class: Optional[Dict[str, Dict[str, float]]] = None
    """Per experiment, the AP of each class of its final network (when measured)."""

    def rows(self) -> list:
        """A row per experiment: epochs, decays, final and best mAP, training images, wall time, paper's mAP."""
        rows = []
        for name in EXPERIMENTS:
            run = self.runs[name]
            best = "{} (epoch {})".format(percent(run.best("map", first_epoch=1)),
                                          run.best_epoch("map", first_epoch=1))
            rows.append([TITLES[name], run.epochs, ", ".join(map(str, run.config["train"]["lr_decay_epoch"])),
                         percent(run.final("map")), best,
                         int(run.total("images")), round(run.wall_seconds),
                         "{:.1f}".format(PAPER_MAP[name]) if name in PAPER_MAP else "-"])
        return rows

    def markdown(self) -> str:
        """``table2.md``: the measured table, the paper's values beside it, and the command."""
        headers = ["experiment", "epochs", "lr x0.1 at", "final mAP (%)", "best mAP (%)", "training images",
                   "train + eval seconds", "paper mAP (%)"]
        start = self.runs["upgrade"].rows[0]
        effect = self.runs["upgrade"].final("map") - self.runs["control"].final("map")
        return "\n".join([
            "# Table II on {}".format(self.runs["baseline"].config["data"]["root"]), "",
            "Made by `{}`.  ".format(self.command), machines_line(self.runs.values()), "",
            markdown_table(headers, self.rows()), "",
            "mAP is the validation metric of the configs ({}), measured after every epoch; best is over the trained "
            "epochs. The upgrade's epoch 0 is the upgraded baseline before fine-tuning ({} %). Upgrade minus "
            "control, final mAP: {:+.2f} points (one seed: see `table2_seeds.md` for the spread). Seconds are "
            "training plus evaluation, without start-up. The paper's column is SSD512-ResNet-50 on VOC07 test "
            "(Table II), not this data.".format(config_metric(self.runs["baseline"].config),
                                                  percent(start.get("map")), 100 * effect), ""]
            + self._per_class_lines())

    def _per_class_lines(self) -> List[str]:
        if not self.per_class:
            return []
        classes = list(self.per_class["baseline"])
        rows = [[name] + [percent(self.per_class[e][name]) for e in EXPERIMENTS] for name in classes]
        return ["## AP per class of each final network (%)", "",
                markdown_table(["class"] + [TITLES[e].split(" ")[0] + " " + e for e in EXPERIMENTS], rows), ""]


def run_table2(baseline: str, dcn: str, upgrade: str, out: str, overrides: Sequence[str] = (),
               command: str = "", progress: bool = True, runs_folder: Optional[str] = None,
               fine_tune: Sequence[str] = ()) -> Table2:
    """Run (or finish, or reuse) the four experiments into ``out/table2/<experiment>`` and write the report.

    Parameters
    ----------
    baseline, dcn, upgrade : str
        Config files whose ``model.mode`` is ``baseline``, ``dcn_scratch`` and ``upgrade``; the control is the
        upgrade's config with ``model.mode: baseline``.
    out : str
        Results folder: gets ``table2.md``, ``map_curves.png``, ``loss_curves.png`` and, in ``table2/``, a run
        directory per experiment.
    overrides : sequence of str
        ``--set`` entries applied to all configs.
    command : str
        The command line, written into ``table2.md``.
    runs_folder : str, optional
        Where the run directories go instead of ``out/table2`` (``run_table2_seeds``); no report is written then.
    fine_tune : sequence of str
        ``--set`` entries for the upgrade and the control only, applied last (a longer fine-tune, another
        optimiser or data for them); the keys they name may differ from the baseline's.

    Raises
    ------
    ConfigError
        A config of the wrong mode; a deformable config that differs from the baseline's in more than its mode
        (and, for the upgrade, than ``FINE_TUNE_KEYS``).
    """
    configs = {"baseline": load_config(baseline, overrides), "dcn_scratch": load_config(dcn, overrides)}
    for name, config in configs.items():
        _check_mode(config, name, name)
    _check_same(configs["baseline"], configs["dcn_scratch"], ("model.mode",))
    folder = runs_folder or os.path.join(out, RUNS)
    runs = {"baseline": ensure_run(configs["baseline"], os.path.join(folder, "baseline"), progress)}
    runs["dcn_scratch"] = ensure_run(configs["dcn_scratch"], os.path.join(folder, "dcn_scratch"), progress)
    entries = list(overrides) + fine_tune_overrides(runs["baseline"].epochs,
                                                    os.path.join(folder, "baseline", files.BEST)) + list(fine_tune)
    allowed = FINE_TUNE_KEYS + tuple(entry.partition("=")[0].strip() for entry in fine_tune)
    for name, extra in (("upgrade", []), ("control", ["model.mode=baseline"])):
        config = load_config(upgrade, entries + extra)
        _check_mode(config, name, "upgrade" if name == "upgrade" else "baseline")
        _check_same(configs["baseline"], config, allowed)
        runs[name] = ensure_run(config, os.path.join(folder, name), progress)
    if runs_folder is not None:
        return Table2(runs, command)
    table = Table2(runs, command, {name: _final_per_class(record) for name, record in runs.items()})
    write_text(os.path.join(out, "table2.md"), table.markdown())
    plot_table2(runs, out)
    return table


def _final_per_class(run: RunRecord) -> Dict[str, float]:
    """AP per class of a run's final network (``last.params`` loaded into a network built afresh)."""
    config = load_config(os.path.join(run.path, files.CONFIG))
    return evaluate_config(config, os.path.join(run.path, files.LAST), progress=False).result.per_class


def _check_same(config, other, allowed: Sequence[str]) -> None:
    changed = [key for key in differences(config, other) if not key.startswith(allowed)]
    if changed:
        raise ConfigError("Table II compares networks trained alike, but the {} config differs from the baseline's "
                          "in: {}".format(other["model"]["mode"], ", ".join(changed)))


def _check_mode(config, experiment: str, mode: str) -> None:
    if config["model"]["mode"] != mode:
        raise ConfigError("Table II experiment '{}' needs a config with model.mode: {}, not {}".format(
            experiment, mode, config["model"]["mode"]))


def plot_table2(runs: Dict[str, RunRecord], out: str) -> None:
    """Fig. 4 (``map_curves.png``) and ``loss_curves.png``; the fine-tunes continue from the baseline's end."""
    ordered = [runs[name] for name in EXPERIMENTS]
    labels = [TITLES[name] for name in EXPERIMENTS]
    end = runs["baseline"].epochs
    starts = [0, 0, end, end]
    plot_runs(ordered, os.path.join(out, "map_curves.png"), ["map"], labels, starts,
              title="validation mAP per epoch (paper's Fig. 4, with the control)")
    plot_runs(ordered, os.path.join(out, "loss_curves.png"), ["train_loss", "cls_loss", "box_loss"], labels,
              starts, title="training losses per epoch")

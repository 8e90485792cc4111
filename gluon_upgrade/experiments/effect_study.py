"""Where the upgrade pays: Table II's four experiments over seeds, in cells that each change one thing of a
recipe, compared seed by seed.

A cell is a config fragment (``configs/demo/effect/<cell>.yaml``) laid over the baseline, deformable-from-the-
start and upgrade configs, exactly as ``--set`` entries would be; its optional ``fine_tune:`` mapping is laid over
the upgrade and its control only. Per cell, ``run_table2_seeds`` trains (or reuses) the four experiments for each
seed, taking a finished baseline or deformable-from-the-start run of the same config from another cell (a cell
that changes only the fine-tune shares the recipe's); each final network is scored again at COCO's IoU thresholds
(``voc07_sweep`` on VOC data, pycocotools on COCO data), where Dai et al. report deformable layers gaining most;
and the study reports, per cell and metric, the paired differences deformable-from-the-start minus baseline,
upgrade minus control and upgrade minus deformable-from-the-start: their mean, standard error, the seeds on
which they are positive, and the one-sided 95% bounds the seeds allow. Each cell's numbers are kept in
``<out>/effect_study/<cell>/cell.json``, so cells screened with 2 seeds and confirmed with 5 in separate calls all
enter one report.
"""
import glob
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..config.loader import load_config, read_mapping
from ..config.schema import differences
from ..errors import ConfigError
from ..evaluation.from_config import evaluate_config
from ..paths import existing_path, portable_path
from ..reporting.curves import plot_effects
from ..reporting.files import write_json, write_text
from ..reporting.tables import markdown_table, mean_std
from ..training import rundir as files
from ..training.rundir import RunDir
from .runs import RunRecord, machines_line, read_run
from .table2 import EXPERIMENTS, TITLES
from .table2_seeds import run_table2_seed, run_table2_seeds, seed_folder

STUDY_FOLDER = "effect_study"
POSITIVE_CONTROL = "positive_control"
"""The stem of the positive control's report in the results folder (``experiments.positive_control``)."""
"""The subfolder of the results folder that holds a folder per cell."""
CELL_FILE = "cell.json"
FINE_TUNE_KEY = "fine_tune"
"""The section of a cell file that only the upgrade and its control get."""
BORROWED_FILE = "borrowed_from.txt"
SHARED = ("baseline", "dcn_scratch")
"""Experiments a cell may take from another cell's finished run of the same config."""
SCORES_FILE = "final_scores.json"
"""Beside a run's checkpoints: its final network's scores at every IoU threshold (recomputed when the run's
``last.params`` is newer)."""
FINE_TUNES = ("upgrade", "control")
"""The experiments a cell's ``fine_tune:`` reaches."""
NOT_COMPARABLE = "n/a: two test sets"
COMPARISONS = (("dcn_scratch", "baseline"), ("upgrade", "control"), ("upgrade", "dcn_scratch"))
"""(experiment, experiment) pairs whose per-seed differences the study reports."""
COMPARISON_TITLES = {("dcn_scratch", "baseline"): "deformable from the start - baseline",
                     ("upgrade", "control"): "upgrade - control",
                     ("upgrade", "dcn_scratch"): "upgrade - deformable from the start"}
METRIC_KEYS = ("map50", "map75", "map")
METRIC_TITLES = {"map50": "mAP@0.5", "map75": "mAP@0.75", "map": "mAP@[.5:.95]"}
SIGNIFICANT = 3.0
"""Standard errors an effect must clear, with ``CONFIRM_SEEDS`` seeds or more, to count as found."""
CONFIRM_SEEDS = 5
SCREEN = 1.0
"""A screened cell (fewer seeds) whose effect exceeds this many standard errors is worth confirming."""
CONFIDENCE = 0.95
"""Of the one-sided bounds on an effect."""


@dataclass
class Cell:
    """One condition of the study: a config fragment applied to all of Table II's configs."""

    name: str
    path: str
    overrides: List[str]
    description: str
    fine_tune: List[str] = field(default_factory=list)
    """Entries for the upgrade and the control only."""


def read_cell(path: str) -> Cell:
    """Read a cell file: a YAML mapping of config keys (any of the schema's) whose leading comment says what it
    changes; under ``fine_tune:``, keys for the upgrade and its control alone.

    Raises
    ------
    ConfigError
        A missing or unreadable file, or one that is not a mapping.
    """
    path = existing_path(path)
    raw = read_mapping(path)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    comment = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    fine_tune = raw.pop(FINE_TUNE_KEY, None) or {}
    if not isinstance(fine_tune, dict):
        raise ConfigError("{}: {} is a mapping of config keys, got {!r}".format(path, FINE_TUNE_KEY, fine_tune))
    name = os.path.splitext(os.path.basename(path))[0]
    return Cell(name, portable_path(os.path.abspath(path)), _flatten(raw), " ".join(comment), _flatten(fine_tune))


def _flatten(raw: Mapping, prefix: str = "") -> List[str]:
    """``key.path=value`` entries of a nested mapping; values as JSON, which YAML reads back unchanged."""
    entries = []
    for key, value in raw.items():
        if isinstance(value, Mapping) and value:
            entries += _flatten(value, prefix + str(key) + ".")
        else:
            entries.append("{}{}={}".format(prefix, key, json.dumps(value)))
    return entries


@dataclass
class Paired:
    """Per-seed differences of one metric between two experiments, in points."""

    differences: List[float]

    @classmethod
    def between(cls, first: Sequence[float], second: Sequence[float]) -> "Paired":
        """``first - second`` seed by seed, from scores as fractions, in points."""
        return cls([round(100 * (a - b), 4) for a, b in zip(first, second)])

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return float(np.mean(self.differences))

    @property
    def se(self) -> float:
        """Standard error of the mean (NaN for one seed)."""
        return float(np.std(self.differences, ddof=1) / math.sqrt(self.n)) if self.n > 1 else float("nan")

    @property
    def positive(self) -> int:
        """Seeds on which the first experiment scored higher."""
        return sum(d > 0 for d in self.differences)

    @property
    def standard_errors(self) -> float:
        """The mean in standard errors (the effect's t statistic)."""
        return self.mean / self.se if self.se > 0 else float("nan")

    def bounds(self) -> tuple:
        """One-sided ``CONFIDENCE`` bounds on the true mean difference (Student's t with n - 1 degrees of
        freedom): the seeds rule out an effect above the upper one, and below the lower one."""
        from scipy.stats import t
        if self.n < 2:
            return float("nan"), float("nan")
        margin = float(t.ppf(CONFIDENCE, self.n - 1)) * self.se
        return self.mean - margin, self.mean + margin

    def to_dict(self) -> dict:
        lower, upper = self.bounds()
        return {"differences": self.differences, "mean": self.mean, "se": self.se, "positive": self.positive,
                "lower_bound": lower, "upper_bound": upper}

    def text(self) -> str:
        """``+1.23 +- 0.45 (3/5)``: mean +- standard error (seeds positive / seeds)."""
        if self.n < 2:
            return "{:+.2f} (1 seed)".format(self.mean)
        return "{:+.2f} +- {:.2f} ({}/{})".format(self.mean, self.se, self.positive, self.n)

    def columns(self) -> List[str]:
        """Two table cells: ``text()`` and the mean in standard errors (``2.7``)."""
        return [self.text(), "{:.1f}".format(self.standard_errors)]


@dataclass
class CellResult:
    """A cell's four experiments over seeds: final scores, time and compute to match."""

    cell: Cell
    seeds: List[int]
    scores: Dict[str, Dict[str, List[float]]]
    """Experiment -> metric key -> final score per seed (fractions)."""
    epoch_seconds: Dict[str, float]
    """Experiment -> training seconds per epoch, the mean over seeds and epochs."""
    wall_seconds: float
    """Training plus evaluation seconds of the cell's runs (not those borrowed from another cell)."""
    match_fraction: List[Optional[float]]
    """Per seed: the upgrade's training images to reach the deformable-from-the-start network's final mAP, over
    that network's (``SeedTable.match_fractions``)."""
    command: str
    machines: str = ""
    data_metric: str = ""

    def paired(self, first: str, second: str, key: str) -> Paired:
        """Per-seed differences ``first - second`` of metric ``key``, in points."""
        return Paired.between(self.scores[first][key], self.scores[second][key])

    def comparable(self, first: str, second: str) -> bool:
        """False where the cell fine-tunes on other data (its ``fine_tune:`` sets ``data`` keys) and only one of
        the two experiments is a fine-tune: their scores come from two test sets."""
        other_data = any(entry.startswith("data.") for entry in self.cell.fine_tune)
        return not other_data or (first in FINE_TUNES) == (second in FINE_TUNES)

    def cell_text(self, first: str, second: str, key: str) -> str:
        """``paired(...).text()``, or why the two experiments are not compared."""
        return self.paired(first, second, key).text() if self.comparable(first, second) else NOT_COMPARABLE

    def to_dict(self) -> dict:
        """``cell.json``."""
        return {"cell": self.cell.__dict__, "seeds": self.seeds, "scores": self.scores,
                "epoch_seconds": self.epoch_seconds, "wall_seconds": round(self.wall_seconds),
                "match_fraction": self.match_fraction, "command": self.command, "machines": self.machines,
                "data_metric": self.data_metric,
                "paired": {"{} - {}".format(a, b): {key: self.paired(a, b, key).to_dict() for key in METRIC_KEYS}
                           for a, b in COMPARISONS if self.comparable(a, b)}}

    @classmethod
    def from_dict(cls, data: Mapping) -> "CellResult":
        """Read back ``to_dict``'s output."""
        return cls(Cell(**data["cell"]), list(data["seeds"]), data["scores"], data["epoch_seconds"],
                   data["wall_seconds"], data["match_fraction"], data["command"], data.get("machines", ""),
                   data.get("data_metric", ""))


def final_scores(run: RunRecord, progress: bool = True) -> Dict[str, float]:
    """A finished run's final network (``last.params``) scored at COCO's IoU thresholds: ``map50``, ``map75`` and
    ``map`` (mAP@[.5:.95]); cached in the run directory, and read from there when the checkpoint is gone (runs
    committed without it).

    Raises
    ------
    ConfigError
        Neither the checkpoint nor a cached score of the run's last epoch.
    """
    cache = os.path.join(run.path, SCORES_FILE)
    weights = os.path.join(run.path, files.LAST)
    epoch = run.state["epoch"] if run.state else None
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as f:
            cached = json.load(f)
        fresh = not os.path.exists(weights) or os.path.getmtime(weights) <= os.path.getmtime(cache)
        if cached.get("epoch") == epoch and fresh:
            return cached["values"]
    if not os.path.exists(weights):
        raise ConfigError("{}: no {} to score and no {} of epoch {}".format(run.path, files.LAST, SCORES_FILE, epoch))
    config = load_config(os.path.join(run.path, files.CONFIG))
    metric = "coco" if config["data"]["format"] == "coco" else "voc07_sweep"
    config = load_config(os.path.join(run.path, files.CONFIG), ["eval.metric=" + metric])
    result = evaluate_config(config, weights, progress=progress).result
    values = {key: result.values[key] for key in METRIC_KEYS}
    write_json(cache, {"epoch": epoch, "metric": metric, "values": values})
    return values


def run_cell(cell: Cell, baseline: str, dcn: str, upgrade: str, out: str, seeds: int, overrides: Sequence[str] = (),
             command: str = "", progress: bool = True) -> CellResult:
    """Run (or reuse) the four experiments of ``cell`` for seeds 0..``seeds``-1 in ``<out>/effect_study/<cell>``,
    score their final networks, and write ``cell.json`` there (with ``run_table2_seeds``' reports)."""
    folder, entries, own = _cell_setup(cell, baseline, upgrade, out, overrides)
    for seed in range(seeds):
        _borrow_runs(folder, baseline, dcn, entries, own, seed)
    table = run_table2_seeds(baseline, dcn, upgrade, folder, seeds, entries, command, progress, cell.fine_tune)
    runs = [run for seed_table in table.tables.values() for run in seed_table.runs.values()]
    scores = {name: {key: [] for key in METRIC_KEYS} for name in EXPERIMENTS}
    seconds = {name: [] for name in EXPERIMENTS}
    for seed_table in table.tables.values():
        for name in EXPERIMENTS:
            run = seed_table.runs[name]
            for key, value in final_scores(run, progress).items():
                scores[name][key].append(value)
            seconds[name] += [row["seconds"] for row in run.rows if row.get("images")]  # trained epochs
    metric = "COCO's (pycocotools)" if runs[0].config["data"]["format"] == "coco" else "voc07_sweep"
    result = CellResult(cell, list(table.tables), scores,
                        {name: float(np.mean(values)) for name, values in seconds.items()},
                        sum(run.wall_seconds for run in runs
                            if not os.path.exists(os.path.join(run.path, BORROWED_FILE))),
                        table.match_fractions(), command,
                        machines_line(runs), metric)
    write_json(os.path.join(folder, CELL_FILE), result.to_dict())
    return result


def run_cell_seed(cell: Cell, baseline: str, dcn: str, upgrade: str, out: str, seed: int,
                  overrides: Sequence[str] = (), command: str = "", progress: bool = True) -> None:
    """Run (or reuse) only seed ``seed``'s four experiments of ``cell``, where ``run_cell`` keeps them, and write
    no report: seeds run side by side in separate processes, and a later ``run_cell`` gathers them."""
    folder, entries, own = _cell_setup(cell, baseline, upgrade, out, overrides)
    _borrow_runs(folder, baseline, dcn, entries, own, seed)
    run_table2_seed(baseline, dcn, upgrade, folder, seed, entries, command, progress, cell.fine_tune)


def _cell_setup(cell: Cell, baseline: str, upgrade: str, out: str, overrides: Sequence[str]) -> tuple:
    """The cell's folder, its entries for every config, and the configs' own seed; every config checked first."""
    entries = list(cell.overrides) + list(overrides)
    try:
        own = load_config(baseline, entries)["seed"]
        load_config(upgrade, entries + cell.fine_tune)
    except ConfigError as err:
        raise ConfigError("{}: {}".format(cell.path, err)) from None
    return os.path.join(out, STUDY_FOLDER, cell.name), entries, own


def _borrow_runs(folder: str, baseline: str, dcn: str, entries: Sequence[str], own: int, seed: int) -> None:
    """``_borrow_run`` for the baseline and the network deformable from the start of one seed."""
    for name, path in zip(SHARED, (baseline, dcn)):
        _borrow_run(load_config(path, list(entries) + ["seed={}".format(seed)]), folder, seed == own, seed, name)


def _borrow_run(config: Mapping, cell_folder: str, own: bool, seed: int, name: str) -> None:
    """Copy another cell's finished run of ``config`` (checkpoints included) to where this cell runs it, unless a
    run is there already; the copy's ``borrowed_from.txt`` names the source. ``own``: ``seed`` is the configs'
    own."""
    target = os.path.join(seed_folder(cell_folder, own, seed), name)
    if RunDir(target).holds_run():
        return
    for other in sorted(glob.glob(os.path.join(os.path.dirname(cell_folder), "*"))):
        source = os.path.join(seed_folder(other, own, seed), name)
        if other == cell_folder or not os.path.exists(os.path.join(source, files.LAST)):
            continue
        record = read_run(source)
        if record.finished and not differences(load_config(os.path.join(source, files.CONFIG)), config):
            shutil.copytree(source, target, dirs_exist_ok=True)
            write_text(os.path.join(target, BORROWED_FILE), portable_path(os.path.abspath(source)) + "\n")
            return


def read_cells(out: str) -> List[CellResult]:
    """Every cell result under ``<out>/effect_study``, the recipe first, then by name."""
    paths = glob.glob(os.path.join(out, STUDY_FOLDER, "*", CELL_FILE))
    results = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            results.append(CellResult.from_dict(json.load(f)))
    return sorted(results, key=lambda r: (r.cell.name != "recipe", r.cell.name))


@dataclass
class EffectStudy:
    """The study's cells and the command of the call that wrote the report."""

    cells: List[CellResult]
    command: str
    seconds: float = 0.0

    def verdict(self, result: CellResult, first: str, second: str) -> str:
        """``first - second`` at mAP@0.5 judged by the study's rule: with ``CONFIRM_SEEDS`` seeds or more, found
        at ``SIGNIFICANT`` standard errors; with fewer, a screen (confirm it above ``SCREEN`` standard errors).
        Always with the one-sided ``CONFIDENCE`` bounds the seeds allow."""
        if not result.comparable(first, second):
            return NOT_COMPARABLE
        paired = result.paired(first, second, "map50")
        if paired.n < 2:
            return "1 seed: no error estimate"
        z = paired.standard_errors
        lower, upper = paired.bounds()
        if paired.n < CONFIRM_SEEDS:
            label = "screen: confirm" if abs(z) >= SCREEN else "screen: < {:.0f} SE".format(SCREEN)
        elif z >= SIGNIFICANT:
            label = "**pays**"
        elif z <= -SIGNIFICANT:
            label = "**hurts**"
        else:
            label = "no effect found"
        return "{} ({:+.1f} SE; 95%: > {:+.2f}, < {:+.2f})".format(label, z, lower, upper)

    def markdown(self) -> str:
        """``effect_study.md``: the summary, one table per metric, and each cell's command and description."""
        summary = []
        for result in self.cells:
            match = ", ".join("never" if f is None else "{:.2f}".format(f) for f in result.match_fraction)
            if not result.comparable("upgrade", "dcn_scratch"):
                match = NOT_COMPARABLE
            summary.append([result.cell.name, len(result.seeds)]
                           + [result.cell_text(a, b, "map50") for a, b in COMPARISONS]
                           + [self.verdict(result, "dcn_scratch", "baseline"),
                              self.verdict(result, "upgrade", "control"), match,
                              round(result.epoch_seconds["baseline"], 1),
                              round(result.epoch_seconds["dcn_scratch"], 1), round(result.wall_seconds / 60)])
        lines = [
            "# Where the upgrade pays: the effect study", "",
            "Made by `{}`; the cells' own commands are listed below.  ".format(self.command),
            "Each cell changes one thing of the demo's Table II recipe and runs its four experiments (1 baseline, "
            "2 deformable from the start, 3 upgrade of 1 fine-tuned for a quarter of 1's epochs, 4 control: 1 "
            "trained on as 3 without the upgrade) for every seed. Differences are paired by seed, in mAP points, "
            "as mean +- standard error (seeds on which it is positive / seeds). Cells are screened with 2 seeds; "
            "one whose effect exceeds {:.0f} standard error is confirmed with {} or more, where an effect counts "
            "as found at {:.0f} standard errors. The one-sided {:.0f}% bounds (Student's t, n - 1 degrees of "
            "freedom) say which effects the seeds rule out: none above the upper one, none below the lower "
            "one.".format(SCREEN, CONFIRM_SEEDS, SIGNIFICANT, 100 * CONFIDENCE),
            "", "## mAP@0.5 (the paper's VOC metric)", "",
            markdown_table(["cell", "seeds"] + [COMPARISON_TITLES[c] for c in COMPARISONS]
                           + ["2 - 1", "3 - 4", "compute to match (3 vs 2)", "s/epoch 1", "s/epoch 2",
                              "wall min"], summary), "",
            "Compute to match: per seed, the training images the upgrade needed to first reach the final mAP@0.5 "
            "of the network deformable from the start, as a fraction of that network's (the paper: 60/240 = "
            "0.25; never: it did not within its fine-tune). s/epoch: training seconds per epoch, 2 CPU cores (shared "
            "by two studies at a time). Wall minutes: training and evaluation of the cell's own runs, without "
            "those borrowed from another cell.", ""]
        for key in ("map75", "map"):
            rows = [[r.cell.name, len(r.seeds)] + [r.cell_text(a, b, key) for a, b in COMPARISONS]
                    for r in self.cells]
            lines += ["## {}".format(METRIC_TITLES[key]), "",
                      markdown_table(["cell", "seeds"] + [COMPARISON_TITLES[c] for c in COMPARISONS], rows), ""]
        lines += ["## Each experiment's final scores (mean +- std over seeds, %)", "",
                  markdown_table(["cell", "metric"] + [TITLES[name] for name in EXPERIMENTS],
                                 [[r.cell.name, METRIC_TITLES[key]] + [mean_std(r.scores[name][key])
                                                                      for name in EXPERIMENTS]
                                  for r in self.cells for key in METRIC_KEYS]), "",
                  "## The cells", ""]
        for result in self.cells:
            lines += ["- **{}** (`{}`, seeds {}): {}  ".format(result.cell.name, result.cell.path,
                                                               ", ".join(map(str, result.seeds)),
                                                               result.cell.description),
                      "  overrides: {}; fine-tune only: {}; final networks scored with {}; made by `{}`.  ".format(
                          ", ".join("`{}`".format(o) for o in result.cell.overrides) or "none",
                          ", ".join("`{}`".format(o) for o in result.cell.fine_tune) or "none",
                          result.data_metric, result.command),
                      "  {}".format(result.machines)]
        return "\n".join(lines + [""])

    def to_dict(self) -> dict:
        """``effect_study.json``."""
        return {"command": self.command, "significant_se": SIGNIFICANT, "confidence": CONFIDENCE,
                "cells": [result.to_dict() for result in self.cells]}


def positive_control_lines(out: str) -> List[str]:
    """The summary of ``<out>/positive_control.json`` (``experiments.positive_control``), if it has run."""
    path = os.path.join(out, POSITIVE_CONTROL + ".json")
    if not os.path.exists(path):
        return ["## Positive control", "", "Not run yet: `python scripts/positive_control.py`.", ""]
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = []
    for c in COMPARISONS:
        row = [COMPARISON_TITLES[c]]
        for key in ("paired", "paired_far"):
            row += Paired(data[key]["{} - {}".format(*c)]["differences"]).columns()
        rows.append(row)
    for tune in data.get("fine_tunes", []):  # what the upgrade needs: its other fine-tunes
        row = ["upgrade - control after {} epochs, lr {:g}, offsets x{:g}".format(
            tune["epochs"], tune["lr"], tune["offset_lr_mult"])]
        for key in ("upgrade - control", "far: upgrade - control"):
            row += Paired(tune[key]["differences"]).columns()
        rows.append(row)
    return ["## Positive control: where deformable sampling must pay", "",
            "Validation accuracy, not mAP: the orientation of two dots up to twice as far apart as the plain "
            "network sees; on the far pairs ({2:.0f} px and more) it can only guess ([`{0}.md`]({0}.md), made by "
            "`{1}`).".format(POSITIVE_CONTROL, data["command"], data["far_from"]), "",
            markdown_table(["difference (accuracy points)", "mean +- SE (seeds positive / seeds)",
                            "standard errors", "far pairs: mean +- SE", "standard errors"], rows), ""]


def write_study(out: str, command: str) -> EffectStudy:
    """Gather every cell under ``<out>/effect_study`` and the positive control into ``effect_study.md``, ``.json``
    and ``.png`` in ``out``."""
    study = EffectStudy(read_cells(out), command)
    if not study.cells:
        raise ConfigError("no effect-study cell has run under {}".format(os.path.join(out, STUDY_FOLDER)))
    write_text(os.path.join(out, "effect_study.md"),
               "\n".join([study.markdown()] + positive_control_lines(out)))
    write_json(os.path.join(out, "effect_study.json"), study.to_dict())
    nothing = Paired([float("nan")])  # not drawn: the two experiments were scored on two test sets
    panels = {METRIC_TITLES[key]: {r.cell.name: {COMPARISON_TITLES[c]: r.paired(*c, key) if r.comparable(*c)
                                                 else nothing for c in COMPARISONS}
                                   for r in study.cells} for key in METRIC_KEYS}
    plot_effects(panels, os.path.join(out, "effect_study.png"),
                 "Paired differences by cell (mean +- standard error over seeds, mAP points)")
    return study


def run_effect_study(cells: Sequence[str], seeds: int, out: str, baseline: str, dcn: str, upgrade: str,
                     overrides: Sequence[str] = (), command: str = "", progress: bool = True,
                     only_seed: Optional[int] = None) -> Optional[EffectStudy]:
    """Run each cell file of ``cells`` for ``seeds`` seeds (finished runs reused), then write the report over
    every cell run so far under ``out``. With ``only_seed``, run just that seed of each cell (``run_cell_seed``)
    and return None: no report."""
    start = time.perf_counter()
    parsed = [read_cell(path) for path in cells]  # every cell file read before the first run starts
    names = [cell.name for cell in parsed]
    if len(set(names)) != len(names):
        raise ConfigError("two cells share a name: {}".format(", ".join(sorted(n for n in names
                                                                                  if names.count(n) > 1))))
    for cell in parsed:
        if only_seed is None:
            run_cell(cell, baseline, dcn, upgrade, out, seeds, overrides, command, progress)
        else:
            run_cell_seed(cell, baseline, dcn, upgrade, out, only_seed, overrides, command, progress)
    if only_seed is not None:
        return None
    study = write_study(out, command)
    study.seconds = time.perf_counter() - start
    return study

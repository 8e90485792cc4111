"""The Table III/IV harness: for each row, score the base model (F), upgrade and fine-tune it, score it again (T).

A row names its upgrade config; the base model is GluonCV's zoo weights (``base="gluon"``, what the upgrade
configs load with ``pretrained: true``) or the user's own baseline, trained from the row's baseline config
(``base="own"``, the paper's "authors' base" columns). Rows sharing a baseline config share its run. Every step
writes a file the next call finds, so finished rows are not redone and an interrupted reproduction resumes.
"""
import os
import shlex
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..cli import program
from ..config.loader import load_config
from ..data.datasets import detection_dataset
from ..errors import ConfigError, list_names
from ..evaluation.from_config import evaluate_config
from ..evaluation.metrics import VALUES
from ..paths import existing_path, portable_path
from ..reporting.files import write_json, write_text
from ..reporting.tables import markdown_table, mean_std
from ..training import rundir as files
from .paper import TABLE3, TABLE4
from .runs import RunRecord, ensure_run, fine_tune_overrides, machines_line, read_run, seeded_runs

BASES = ("gluon", "own")
"""Where a row's base model comes from: GluonCV's zoo, or a baseline trained from the row's config."""


@dataclass(frozen=True)
class Row:
    """One table row: the paper's model key, its label, and the configs that reproduce it."""

    key: str
    label: str
    baseline: str
    upgrade: str


def _rows(specs: Sequence[Tuple[str, str, str]]) -> Tuple[Row, ...]:
    return tuple(Row(key, label, "configs/{}_baseline.yaml".format(stem), "configs/{}_upgrade.yaml".format(stem))
                 for key, label, stem in specs)


TABLES: Dict[int, Tuple[Row, ...]] = {
    3: _rows([("ssd512_resnet50", "SSD512 ResNet-50", "ssd512_voc"),
                   ("yolo3_320_darknet53", "YOLOv3 320 Darknet-53", "yolo3_320_voc"),
                   ("yolo3_416_darknet53", "YOLOv3 416 Darknet-53", "yolo3_416_voc")]),
    4: _rows([("ssd512_resnet50", "SSD512 ResNet-50", "ssd512_coco"),
                   ("yolo3_320_darknet53", "YOLOv3 320 Darknet-53", "yolo3_320_coco"),
                   ("yolo3_416_darknet53", "YOLOv3 416 Darknet-53", "yolo3_416_coco"),
                   ("yolo3_608_darknet53", "YOLOv3 608 Darknet-53", "yolo3_608_coco")]),
}
"""The paper's rows, with the configs that reproduce them on VOC (Table III) and COCO (Table IV)."""

def _demo_rows(data: str) -> Tuple[Row, ...]:
    demo = "configs/demo/{}.yaml".format
    return (Row("ssd512_resnet50", "demo SSD 128 ResNet-29", demo("ssd_" + data), demo("ssd_{}_upgrade".format(data))),
            Row("yolo3_320_darknet53", "demo YOLOv3 128 Darknet-27", demo("yolo3_" + data),
                demo("yolo3_128_{}_upgrade".format(data))),
            Row("yolo3_416_darknet53", "demo YOLOv3 160 Darknet-27", demo("yolo3_" + data),
                demo("yolo3_160_{}_upgrade".format(data))))


DEMO_TABLES: Dict[int, Tuple[Row, ...]] = {3: _demo_rows("voc"), 4: _demo_rows("coco")}
"""The same rows on the demo data: the demo SSD and the demo YOLOv3, always from their own baselines.
Each demo row stands for the paper row whose numbers it is printed beside."""

PAPER = {3: TABLE3, 4: TABLE4}
BASE_EVAL = "base_eval.json"


def select_rows(table: int, keys: Optional[Sequence[str]], demo: bool = False) -> Tuple[Row, ...]:
    """The rows of ``table`` (3 or 4), all or those named in ``keys``.

    Raises
    ------
    ConfigError
        An unknown table or row key (the valid ones are listed).
    """
    rows = (DEMO_TABLES if demo else TABLES).get(table)
    if rows is None:
        raise ConfigError("--table {}: the paper's harness has tables 3 and 4".format(table))
    if not keys:
        return rows
    known = {row.key: row for row in rows}
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise ConfigError("unknown row(s) {} of Table {}; the rows are:\n{}".format(
            ", ".join(unknown), table, list_names(known)))
    return tuple(known[key] for key in keys)


@dataclass
class Step:
    """One step of a row: what it runs (as a command line), where its result lands, whether that exists."""

    what: str
    command: List[str]
    result: str
    done: bool


class RowPlan:
    """The steps of one row, resolved against a results folder, a base, overrides, the number of seeds of its
    fine-tune and whether it has a control (the base trained on for the fine-tune's schedule, no upgrade)."""

    def __init__(self, row: Row, out: str, base: str, overrides: Sequence[str], seeds: int = 1,
                 control: bool = False):
        if base not in BASES:
            raise ConfigError("base must be one of {}, not {}".format(", ".join(BASES), base))
        if seeds < 1:
            raise ConfigError("seeds must be 1 or more, not {}".format(seeds))
        self.row, self.base, self.overrides, self.seeds, self.control = row, base, list(overrides), seeds, control
        self.folder = os.path.join(out, row.key + ("" if base == "gluon" else "_own"))
        self.baseline_run = os.path.join(out, "baselines", os.path.splitext(os.path.basename(row.baseline))[0])

    def base_weights(self) -> Optional[str]:
        return portable_path(os.path.join(self.baseline_run, files.BEST)) if self.base == "own" else None

    def baseline_config(self):
        return load_config(self.row.baseline, self.overrides)

    def upgrade_overrides(self) -> List[str]:
        """The upgrade config's overrides: the user's, then (own base) the baseline's weights and the
        paper's fine-tune rule applied to the baseline as configured."""
        if self.base == "gluon":
            return self.overrides
        baseline = portable_path(existing_path(self.row.baseline))  # a configs/... name, from any folder
        return self.overrides + ["model.pretrained=false", "train.fine_tune_of=" + baseline
                                 ] + fine_tune_overrides(self.baseline_config()["train"]["epochs"],
                                                         self.base_weights())

    def base_overrides(self) -> List[str]:
        """The upgrade config turned back into its base network: no upgrade, the base's weights."""
        return self.upgrade_overrides() + ["model.mode=baseline"]

    def runs(self) -> List[Tuple[str, str, List[str]]]:
        """(kind, folder, overrides) of the row's training runs: the fine-tune (T) for each seed, then the
        control for each seed (``seeded_runs``: ``fine_tune``, ``fine_tune_seed<N>``, ``control``, ...)."""
        first = load_config(self.row.upgrade, self.upgrade_overrides())["seed"]
        kinds = [("fine_tune", self.upgrade_overrides())] + ([("control", self.base_overrides())] if self.control
                                                              else [])
        return [(kind, path, overrides + extra) for kind, overrides in kinds
                for path, extra in seeded_runs(os.path.join(self.folder, kind), first, self.seeds)]

    def steps(self) -> List[Step]:
        steps = []
        if self.base == "own":
            steps.append(Step("train the baseline", _command("train.py", self.row.baseline, self.overrides,
                                                             ["--output", self.baseline_run]),
                              self.baseline_run, _finished(self.baseline_run)))
        base_eval = os.path.join(self.folder, BASE_EVAL)
        steps.append(Step("score the base model (F)", _command("eval.py", self.row.upgrade, self.base_overrides(),
                                                               ["--out", base_eval]),
                          base_eval, os.path.exists(base_eval)))
        what = {"fine_tune": "upgrade and fine-tune (T)", "control": "control: fine-tune without the upgrade"}
        for kind, folder, overrides in self.runs():
            steps.append(Step(what[kind], _command("train.py", self.row.upgrade, overrides, ["--output", folder]),
                              folder, _finished(folder)))
        return steps

    def run(self, progress: bool = True) -> None:
        """Run the steps not done yet (each resumes or reuses what an earlier call left)."""
        check_data(load_config(self.row.upgrade, self.upgrade_overrides()))
        if self.base == "own":
            ensure_run(self.baseline_config(), self.baseline_run, progress)
        base_eval = os.path.join(self.folder, BASE_EVAL)
        if not os.path.exists(base_eval):
            report = evaluate_config(load_config(self.row.upgrade, self.base_overrides()), progress=progress)
            report.save_json(base_eval)
        for _, folder, overrides in self.runs():
            ensure_run(load_config(self.row.upgrade, overrides), folder, progress)

    def measured(self) -> Optional[Dict[str, object]]:
        """F (the base model), F after the upgrade (each fine-tune's epoch 0), T and the control (their last
        epochs), seed by seed, and the minutes of training and evaluation (``row``: F and the row's runs;
        ``baseline``: the own baseline's run, shared by rows of the same baseline), or None if not done."""
        base_eval = os.path.join(self.folder, BASE_EVAL)
        runs = self.runs()
        if not (os.path.exists(base_eval) and all(_finished(folder) for _, folder, _ in runs)):
            return None
        import json
        with open(base_eval, encoding="utf-8") as f:
            base = json.load(f)
        keys = VALUES[base["metric"]][:3]  # the paper's columns: mAP (VOC), or COCO's mAP@[.5:.95], @.5, @.75
        records = [(kind, read_run(folder)) for kind, folder, _ in runs]
        minutes = {"row": (base["seconds"] + sum(run.wall_seconds for _, run in records)) / 60}
        if self.base == "own":
            minutes["baseline"] = read_run(self.baseline_run).wall_seconds / 60

        def per_seed(kind: str, row: int) -> Dict[str, List[float]]:
            return {key: [run.rows[row][key] for k, run in records if k == kind] for key in keys}
        measured = {"F": {key: base["values"][key] for key in keys}, "upgraded": per_seed("fine_tune", 0),
                    "T": per_seed("fine_tune", -1), "minutes": minutes}
        if self.control:
            measured["control"] = per_seed("control", -1)
        return measured


def _finished(path: str) -> bool:
    return os.path.exists(os.path.join(path, files.STATE)) and read_run(path).finished \
        and os.path.exists(os.path.join(path, files.LAST))


def _command(script: str, config: str, overrides: Sequence[str], extra: Sequence[str]) -> List[str]:
    command = shlex.split(program(script)) + ["--config", config]
    for entry in overrides:
        command += ["--set", entry]
    return command + list(extra)


def check_data(config) -> None:
    """Open the config's validation set: a missing data set stops here, with how to prepare it."""
    detection_dataset(config["data"], train=False)


def format_commands(plans: Sequence[RowPlan]) -> str:
    """What ``--dry-run`` prints: each row's steps as shell commands, done ones marked."""
    lines = []
    for plan in plans:
        lines.append("# {} ({} base)".format(plan.row.label, plan.base))
        for step in plan.steps():
            lines.append("{}{}  # {}".format("# done: " if step.done else "", shlex.join(step.command), step.what))
    return "\n".join(lines)


def table_markdown(table: int, plans: Sequence[RowPlan], command: str, demo: bool = False) -> str:
    """``results/table<N>.md``: measured F, upgraded-before-fine-tune and T (mean +- std over seeds), T - F, the
    control and T - control where the rows have one, with the paper's F and T."""
    paper = PAPER[table]
    control = any(plan.control for plan in plans)
    headers = (["model", "base", "F measured", "upgraded, epoch 0", "T measured", "T - F"]
               + (["control", "T - control"] if control else []) + ["seeds", "paper F", "paper T", "minutes"])
    rows = []
    for plan in plans:
        measured = plan.measured()
        reported = paper[plan.row.key].get("authors" if plan.base == "own" else "gluon")
        cells = [plan.row.label, "own" if plan.base == "own" else "GluonCV"]
        if measured is None:
            cells += ["not run"] * (6 if control else 4)
        else:
            f, t = measured["F"], measured["T"]
            cells += [_values(f), _spread(measured["upgraded"]), _spread(t),
                      _spread({k: np.subtract(t[k], f[k]) for k in t}, signed=True)]
            if control:
                c = measured.get("control")
                cells += ["-", "-"] if c is None else [
                    _spread(c), _spread({k: np.subtract(t[k], c[k]) for k in t}, signed=True)]
        cells.append(plan.seeds)
        cells += [_values(v, scale=1) if reported else "" for v in (reported or (None, None))]
        cells.append(_minutes(measured["minutes"]) if measured else "")
        rows.append(cells)
    what = {3: "VOC07 test mAP@0.5 (%)", 4: "COCO val2017 mAP@[.5:.95] / @.5 / @.75 (%)"}[table]
    lines = ["# Table {}{}: {}".format(table, " on the demo data" if demo else "", what), "",
             "Made by `{}`.  ".format(command), machines_line(_finished_runs(plans)), "",
             markdown_table(headers, rows), "",
             "F is the base model, T the upgraded model after the paper's fine-tune (its last epoch); "
             "\"upgraded, epoch 0\" is the upgraded model before fine-tuning, which must equal F. With several "
             "seeds, the fine-tunes' values are mean +- std (sample standard deviation) over the seeds, which seed "
             "the data order, the augmentation and the offset branches; F is one network. The control trains F on "
             "for the same schedule without the upgrade: T - control is the upgrade's effect, T - F includes the "
             "extra training. Minutes are training and evaluation of the row (F, its fine-tunes and controls), "
             "plus its own baseline's run where it has one (rows with the same baseline config share that run)."]
    if demo:
        lines.append("Demo rows run small networks on the demo data; the paper's columns are its real-data rows "
                     "they stand for, not targets for these numbers.")
    return "\n".join(lines) + "\n"


def _spread(values: Dict[str, Sequence[float]], signed: bool = False) -> str:
    """Per key, the value of one seed, or mean +- std over several; keys joined by " / "."""
    return " / ".join(mean_std(v, signed=signed) if len(v) > 1 else ("{:+.2f}" if signed else "{:.2f}").format(
        100 * v[0]) for v in values.values())


def _minutes(minutes: Dict[str, float]) -> str:
    row = "{:.1f}".format(minutes["row"])
    return row if "baseline" not in minutes else "{:.1f} + baseline {:.1f}".format(minutes["row"], minutes["baseline"])


def _values(values, signed: bool = False, scale: float = 100) -> str:
    numbers = list(values.values()) if isinstance(values, dict) else (
        list(values) if isinstance(values, (tuple, list)) else [values])
    fmt = "{:+.2f}" if signed else "{:.2f}"
    return " / ".join(fmt.format(scale * v) for v in numbers)


def reproduce(table: int, rows: Optional[Sequence[str]] = None, base: str = "gluon", out: str = "results",
              data_root: Optional[str] = None, demo: bool = False, overrides: Sequence[str] = (),
              command: str = "", progress: bool = True, seeds: int = 1, control: bool = False) -> str:
    """Run the rows of Table ``table`` not done yet and write ``<out>/table<N>.md``; return its text.

    ``seeds`` fine-tunes (and, with ``control``, as many controls) per row; ``demo`` always has the control.

    Raises
    ------
    GluonUpgradeError
        Unknown table or row, a missing data set (the message says how to prepare it), bad configs.
    """
    every = make_plans(table, None, base, out, data_root, demo, overrides, seeds, control)
    text = ""
    for plan in make_plans(table, rows, base, out, data_root, demo, overrides, seeds, control):
        plan.run(progress)
        text = write_table(table, every, out, command, demo)
    return text


def make_plans(table: int, rows: Optional[Sequence[str]], base: str, out: str, data_root: Optional[str],
               demo: bool, overrides: Sequence[str], seeds: int = 1, control: bool = False) -> List[RowPlan]:
    """The plans of the selected rows (``--demo``: always from own baselines, always with the control)."""
    extra = list(overrides) + (["data.root=" + data_root] if data_root else [])
    return [RowPlan(row, os.path.join(out, "table{}".format(table)), "own" if demo else base, extra, seeds,
                    control or demo) for row in select_rows(table, rows, demo)]


def _finished_runs(plans: Sequence[RowPlan]) -> List[RunRecord]:
    """The finished training runs of ``plans`` (own baselines and fine-tunes), each once."""
    folders = dict.fromkeys([plan.baseline_run for plan in plans if plan.base == "own"]
                            + [folder for plan in plans for _, folder, _ in plan.runs()])
    return [read_run(folder) for folder in folders if _finished(folder)]


def write_table(table: int, plans: Sequence[RowPlan], out: str, command: str, demo: bool) -> str:
    """Write ``<out>/table<N>.md`` from every row's results on disk; return its text."""
    text = table_markdown(table, plans, command, demo)
    write_text(os.path.join(out, "table{}.md".format(table)), text)
    write_json(os.path.join(out, "table{}.json".format(table)),
                {plan.row.key: plan.measured() for plan in plans})
    return text

"""Table I: deformable layers against accuracy at 0, 1, 2, 3 and 6 layers, each depth reached both ways.

A column is a network with three configs: its baseline, the same network deformable from the start and its
upgrade (the paper's fine-tune rule). For every seed it trains the baseline (0 layers) and the control (the
baseline trained on for the fine-tune's schedule, no upgrade); for every depth N, the network with N deformable
layers from the start (the baseline's schedule) and the upgrade of that seed's baseline at N layers. Per depth
the report gives each route's accuracy (mean +- std over seeds), the paired differences seed by seed (from the
start - baseline, upgrade - control) with their standard error, and the cost of N layers (parameters, inference
and training time against 0, ``depth.measure_speeds``). Every run is a run directory the next call finds: finished
ones are reused, interrupted ones resumed, so a long table can be run a seed or a column at a time. Seeds past the
third train only what the seeds rule asks (``more_seeds``): the runs of the differences still unsure over the
first three.
"""
import functools
import os
import shlex
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..cli import program
from ..config.loader import load_config
from ..errors import ConfigError, TrainingError, list_names
from ..machine import describe_machine
from ..models.build import config_classes
from ..reporting.curves import plot_against, plot_effects
from ..reporting.files import write_json, write_text
from ..reporting.tables import markdown_table, mean_std
from ..tasks import task_of
from ..training import rundir as files
from .depth import DEPTHS, PAPER_NAMES, measure_speeds
from .effect_study import Paired
from .paper import TABLE1
from .parallel import Job, run_jobs
from .runs import RunRecord, ensure_run, fine_tune_overrides, machines_line, prepare_run, read_run
from .table2_seeds import match_fraction


@dataclass(frozen=True)
class Column:
    """One network of the table: its key, label, configs, and the paper's column it stands beside."""

    key: str
    label: str
    baseline: str
    dcn: str
    upgrade: str
    paper: str
    """``deeplab_miou`` or ``faster_rcnn_map`` (``paper.TABLE1``)."""


COLUMNS = (Column("deeplab_resnet101", "DeepLab ResNet-101, VOC 2012 val mIoU",
                  "configs/deeplab_resnet101_voc_baseline.yaml", "configs/deeplab_resnet101_voc_dcn.yaml",
                  "configs/deeplab_resnet101_voc_upgrade.yaml", "deeplab_miou"),)
"""Table I's DeepLab column on real data (its Faster R-CNN column needs a two-stage detector, which the toolkit
does not train)."""
DEMO_COLUMNS = (Column("demo_fcn", "demo FCN 128 ResNet-29, demo val mIoU", "configs/demo/fcn_voc.yaml",
                       "configs/demo/fcn_voc_dcn.yaml", "configs/demo/fcn_voc_upgrade.yaml", "deeplab_miou"),
                Column("demo_ssd", "demo SSD 128 ResNet-29, demo test mAP@0.5", "configs/demo/ssd_voc.yaml",
                       "configs/demo/ssd_voc_dcn.yaml", "configs/demo/ssd_voc_upgrade.yaml", "faster_rcnn_map"))
"""Both columns on the demo data: the demo segmenter beside DeepLab, the demo SSD beside Faster R-CNN."""
PAPER_TITLES = {"deeplab_miou": "paper: DeepLab mIoU", "faster_rcnn_map": "paper: Faster R-CNN mAP"}

MIN_SEEDS, UNSURE_SEEDS = 3, 5
"""The seeds a paired difference needs: at least 3, and 5 where its mean over the first 3 is within two standard
errors of 0 (``more_seeds``)."""


class Difference(NamedTuple):
    """A paired difference of each depth: the route to the depth, the run at 0 layers it is paired with, its key
    in ``table1.json`` and its title."""

    route: str
    reference: str
    key: str
    title: str


DIFFERENCES = (Difference("from_start", "baseline", "from_start_minus_baseline", "from the start - baseline"),
               Difference("upgrade", "control", "upgrade_minus_control", "upgrade - control"))


def more_seeds(first: Sequence[Optional[float]], second: Sequence[Optional[float]]) -> Optional[bool]:
    """The seeds rule for the paired difference ``first - second`` of seed-aligned scores (None: not finished):
    None until both runs have finished at each of the first ``MIN_SEEDS`` seeds, then whether its mean over
    those seeds is within two standard errors of 0, i.e. whether it wants ``UNSURE_SEEDS`` seeds. Decided on the
    first seeds alone, so the seeds it adds cannot undo the decision."""
    head = list(zip(first, second))[:MIN_SEEDS]
    if len(head) < MIN_SEEDS or any(a is None or b is None for a, b in head):
        return None
    paired = Paired.between([a for a, _ in head], [b for _, b in head])
    return paired.mean == 0 or abs(paired.mean) < 2 * paired.se


def _pairs(records: Dict[Tuple[str, int], Dict[int, RunRecord]], seeds: Sequence[int], key: str,
           depths: Sequence[int]) -> Tuple[Dict[Tuple[str, int], Tuple[List, List]], List[str]]:
    """(route, depth) -> the seed-aligned final ``key`` scores of its paired difference's two runs, from the
    finished runs by (kind, depth) and seed; and the pairs left out, named. A seed's pair is None where either run
    has not finished, or where the two trained on different processors or oneDNN instruction sets: float32
    results differ between those, and so does the demo backbone pretrained on each machine (held-out accuracy
    88.7% with AVX2 against 92.0% with AVX-512 on one Xeon), by as much as some depths differ."""
    pairs, unpaired = {}, []
    for d, diff in [(d, diff) for d in depths if d for diff in DIFFERENCES]:
        first, second = [], []
        for seed in seeds:
            run, reference = records[diff.route, d].get(seed), records[diff.reference, 0].get(seed)
            if run is not None and reference is not None and run.hardware != reference.hardware:
                unpaired.append("seed {}: {} at {} ({}) and {} ({})".format(
                    seed, diff.route.replace("_", " "), d, _hardware_text(run), diff.reference,
                    _hardware_text(reference)))
                run = reference = None
            first.append(None if run is None else run.final(key))
            second.append(None if reference is None else reference.final(key))
        pairs[diff.route, d] = first, second
    return pairs, unpaired


def _hardware_text(run: RunRecord) -> str:
    return "; ".join("{}, {}".format(*kind) for kind in sorted(run.hardware)) if run.hardware else "not recorded"


def _decisions(pairs: Dict[Tuple[str, int], Tuple[List, List]]) -> Dict[Tuple[str, int], Optional[bool]]:
    """(route, depth) -> ``more_seeds`` of its paired difference, from ``_pairs``."""
    return {route_depth: more_seeds(first, second) for route_depth, (first, second) in pairs.items()}


def select_columns(keys: Optional[Sequence[str]], demo: bool) -> Tuple[Column, ...]:
    """The columns named by ``keys`` (all when None).

    Raises
    ------
    ConfigError
        An unknown key (the valid ones are listed).
    """
    columns = DEMO_COLUMNS if demo else COLUMNS
    known = {column.key: column for column in columns}
    unknown = [key for key in keys or () if key not in known]
    if unknown:
        raise ConfigError("unknown column(s) {} of Table 1; the columns are:\n{}".format(
            ", ".join(unknown), list_names(known)))
    return tuple(known[key] for key in keys) if keys else columns


@dataclass
class Run:
    """One training run of the table: its kind, depth, seed, config, overrides and folder."""

    kind: str
    """``baseline``, ``control``, ``from_start`` or ``upgrade``."""
    depth: int
    seed: int
    config: str
    overrides: List[str]
    folder: str


WHAT = {"baseline": "the baseline (0 layers)", "control": "control: the baseline trained on, no upgrade",
        "from_start": "deformable from the start", "upgrade": "upgrade of the baseline and fine-tune"}


class ColumnPlan:
    """The runs of one column for ``depths`` and ``seeds`` seeds from the configs' own, under
    ``<out>/table1/<column>``: ``baseline``, ``control`` and ``<N>/{from_start,upgrade}``, each seed's in
    ``seed<S>/`` of those."""

    def __init__(self, column: Column, out: str, depths: Sequence[int] = DEPTHS, seeds: int = 3,
                 overrides: Sequence[str] = ()):
        if seeds < 1:
            raise ConfigError("seeds must be 1 or more, not {}".format(seeds))
        if 0 not in depths or any(d < 0 for d in depths):
            raise ConfigError("depths are layer counts including 0 (the baseline), got {}".format(list(depths)))
        self.column, self.depths, self.overrides = column, sorted(set(depths)), list(overrides)
        self.folder = os.path.join(out, "table1", column.key)
        baseline = load_config(column.baseline, self.overrides)
        self.seeds = list(range(baseline["seed"], baseline["seed"] + seeds))
        self.epochs = baseline["train"]["epochs"]
        self.task = task_of(baseline)

    def _seed_folder(self, seed: int, *parts: str) -> str:
        return os.path.join(self.folder, "seed{}".format(seed), *parts)

    def grid(self) -> List[Run]:
        """Every run for every seed, seed by seed: the baseline, then the control and the upgrades, which start
        from its weights, then the runs from the start, which need nothing (a session that ends early strands no
        baseline whose fine-tunes still wait for its checkpoint)."""
        runs = []
        for seed in self.seeds:
            # The seed's own entry replaces any the user gave (``--set seed=S --seeds 1`` runs seed S alone).
            common = [entry for entry in self.overrides if not entry.startswith("seed=")] + ["seed={}".format(seed)]
            baseline = self._seed_folder(seed, "baseline")
            fine_tune = common + fine_tune_overrides(self.epochs, os.path.join(baseline, files.BEST))
            runs += [Run("baseline", 0, seed, self.column.baseline, common, baseline),
                     Run("control", 0, seed, self.column.upgrade, fine_tune + ["model.mode=baseline"],
                         self._seed_folder(seed, "control"))]
            layers = {depth: ["model.upgrade.layers=last{}".format(depth)] for depth in self.depths[1:]}
            runs += [Run("upgrade", depth, seed, self.column.upgrade, fine_tune + layers[depth],
                         self._seed_folder(seed, str(depth), "upgrade")) for depth in layers]
            runs += [Run("from_start", depth, seed, self.column.dcn, common + layers[depth],
                         self._seed_folder(seed, str(depth), "from_start")) for depth in layers]
        return runs

    def decisions(self) -> Dict[Tuple[str, int], Optional[bool]]:
        """(route, depth) -> whether the rule wants more seeds of that paired difference (``more_seeds``; route
        ``from_start`` or ``upgrade``), from the runs finished so far."""
        return _decisions(_pairs(self.records(), self.seeds, self.task.headline, self.depths)[0])

    def runs(self, decisions: Optional[Dict[Tuple[str, int], Optional[bool]]] = None) -> List[Run]:
        """The runs the seeds rule asks for, in ``grid`` order: all of the first ``MIN_SEEDS`` seeds; of the
        others, those of the paired differences still within two standard errors of 0 over the first seeds (their
        two routes, the seed's baseline, and its control for an upgrade's), once those seeds have finished.
        ``decisions``: the rule's, where the caller has them already (else read from the run folders)."""
        reference = {diff.route: diff.reference for diff in DIFFERENCES}
        unsure = [key for key, more in (self.decisions() if decisions is None else decisions).items() if more]
        wanted = set(unsure) | {(reference[route], 0) for route, _ in unsure}
        if unsure:
            wanted.add(("baseline", 0))  # every later route needs its seed's baseline
        first = self.seeds[:MIN_SEEDS]
        return [run for run in self.grid() if run.seed in first or (run.kind, run.depth) in wanted]

    def commands(self) -> List[str]:
        """What ``--dry-run`` prints: each run as a command line, finished ones marked done."""
        lines = ["# {} (seed{} {})".format(self.column.label, "s" if len(self.seeds) > 1 else "",
                                            ", ".join(map(str, self.seeds)))]
        decisions = self.decisions()
        for run in self.runs(decisions):
            command = shlex.split(program("train.py")) + ["--config", run.config]
            for entry in run.overrides:
                command += ["--set", entry]
            command += ["--output", run.folder]
            layers = " ({} layer{})".format(run.depth, "s" if run.depth > 1 else "") if run.depth else ""
            lines.append("{}{}  # {}{}".format("# done: " if _finished_record(run.folder) else "", shlex.join(command),
                                               WHAT[run.kind], layers))
        later = self.seeds[MIN_SEEDS:]
        if later:
            titles = {diff.route: diff.title for diff in DIFFERENCES}

            def named(value):
                return ", ".join("{} at {}".format(titles[route], d) for (route, d), more in decisions.items()
                                 if more is value) or "none"
            lines.append("# seed{} {}: only the runs of the paired differences within two standard errors of 0 over "
                         "seeds {} (the seeds rule): {}; undecided until those finish: {}".format(
                             "s" if len(later) > 1 else "", ", ".join(map(str, later)),
                             ", ".join(map(str, self.seeds[:MIN_SEEDS])), named(True), named(None)))
        return lines

    def run(self, progress: bool = True) -> None:
        """Train every run not finished yet (each resumes what an earlier call left), then those the seeds rule
        adds once the first seeds have finished; finished ones stay as they are, with or without their
        checkpoints.

        Raises
        ------
        ConfigError
            A fine-tune still to train whose seed's finished baseline has no ``best.params`` left.
        """
        pending = self._pending()
        while pending:
            for run in pending:
                ensure_run(load_config(run.config, run.overrides), run.folder, progress)
            pending = self._pending()

    def jobs(self) -> List[Job]:
        """The runs not finished yet as jobs for ``parallel.run_jobs`` (``python -m gluon_upgrade train``), named
        by their folder under the column's; a fine-tune needs its seed's baseline when that is still to train.

        Raises
        ------
        ConfigError
            As ``run``.
        """
        pending = self._pending()
        names = {run.folder: "{}/{}".format(self.column.key, os.path.relpath(run.folder, self.folder))
                 for run in pending}
        jobs = []
        for run in pending:
            baseline = self._seed_folder(run.seed, "baseline")
            needs = names.get(baseline) if run.kind in ("control", "upgrade") else None
            jobs.append(Job(names[run.folder], functools.partial(_train_command, run), needs))
        return jobs

    def _pending(self) -> List[Run]:
        """The runs not finished, in ``runs`` order, after checking that each fine-tune's baseline is there to
        train or still has its weights."""
        pending = [run for run in self.runs() if not _finished_record(run.folder)]
        for run in pending:
            baseline = self._seed_folder(run.seed, "baseline")
            if run.kind in ("control", "upgrade") and _finished_record(baseline) and not os.path.exists(
                    os.path.join(baseline, files.BEST)):
                raise ConfigError("{} needs {}, which is gone (results kept without checkpoints?); delete {} and "
                                  "the fine-tunes of seed {} to train them again".format(
                                      run.folder, os.path.join(baseline, files.BEST), baseline, run.seed))
        return pending

    def records(self) -> Dict[Tuple[str, int], Dict[int, RunRecord]]:
        """(kind, depth) -> {seed: run} of the runs finished so far (a table filled over several sessions is
        reported as far as it goes)."""
        found: Dict[Tuple[str, int], Dict[int, RunRecord]] = {}
        for run in self.grid():
            found.setdefault((run.kind, run.depth), {})
            record = _finished_record(run.folder)
            if record is not None:
                found[run.kind, run.depth][run.seed] = record
        return found


def _train_command(run: Run) -> List[str]:
    """The command line that trains ``run`` into its folder, resuming it if it was interrupted (what is left
    there of anything else is deleted first, as ``ensure_run`` does)."""
    command = [sys.executable, "-m", "gluon_upgrade", "train", "--config", run.config, "--output", run.folder,
               "--no-progress"]
    for entry in run.overrides:
        command += ["--set", entry]
    return command + (["--resume"] if prepare_run(load_config(run.config, run.overrides), run.folder) == "resume"
                      else [])


def _finished_record(folder: str) -> Optional[RunRecord]:
    """The run in ``folder`` if it is finished, whether or not its checkpoints are still there (committed results
    have none); else None."""
    if not os.path.exists(os.path.join(folder, files.STATE)):
        return None
    record = read_run(folder)
    return record if record.finished else None


def _by_seed(runs: Dict[int, RunRecord], seeds: Sequence[int], value) -> List:
    """``value(run)`` for each of ``seeds`` in order, None where that seed's run is not finished."""
    return [value(runs[seed]) if seed in runs else None for seed in seeds]


def _both(first: Sequence, second: Sequence) -> Tuple[List, List]:
    """The entries of two seed-aligned lists where both are present."""
    pairs = [(a, b) for a, b in zip(first, second) if a is not None and b is not None]
    return [a for a, _ in pairs], [b for _, b in pairs]


def _paired(first: Sequence[Optional[float]], second: Sequence[Optional[float]]) -> Optional[dict]:
    """``first - second`` (seed-aligned scores) over the seeds where both are present, or None if there are none."""
    first, second = _both(first, second)
    return Paired.between(first, second).to_dict() if first else None


def column_result(plan: ColumnPlan, batch: int = 8, repeats: int = 10) -> Optional[dict]:
    """The column's numbers (fractions; differences in points) and each depth's cost, or None if no run has
    finished. Scores are lists aligned with the seeds, None for a run not finished yet; paired differences and
    compute to match take the seeds where both runs finished."""
    records = plan.records()
    runs = [run for group in records.values() for run in group.values()]
    if not runs:
        return None
    key, seeds = plan.task.headline, plan.seeds
    finals = {kind_depth: _by_seed(group, seeds, lambda run: run.final(key)) for kind_depth, group in records.items()}
    config = load_config(plan.column.dcn, plan.overrides)
    classes = config_classes(config)
    speeds = measure_speeds({d: load_config(plan.column.dcn, plan.overrides + (
        ["model.upgrade.layers=last{}".format(d)] if d else ["model.mode=baseline"])) for d in plan.depths},
        classes, batch, repeats)
    baseline_best = _by_seed(records["baseline", 0], seeds, lambda run: run.best(key))
    pairs, unpaired = _pairs(records, seeds, key, plan.depths)
    decisions = _decisions(pairs)
    planned = plan.runs(decisions)
    counts: Dict[Tuple[str, int], int] = {}
    for run in planned:
        counts[run.kind, run.depth] = counts.get((run.kind, run.depth), 0) + 1
    depths, checked = {}, []
    for d in plan.depths:
        row = {"layers": PAPER_NAMES.get(d, "last{}".format(d)), "params": speeds[d].params,
               "infer_ratio": speeds[d].infer_ratio, "train_ratio": speeds[d].train_ratio,
               "infer_ms": speeds[d].infer_ms, "train_ms": speeds[d].train_ms}
        kinds = ("baseline", "control") if d == 0 else ("from_start", "upgrade")
        row["planned_seeds"] = {kind: counts.get((kind, d), 0) for kind in kinds}
        if d == 0:
            row.update(baseline=finals["baseline", 0], control=finals["control", 0])
        else:
            upgrades, starts = records["upgrade", d], records["from_start", d]
            epoch0 = _by_seed(upgrades, seeds, lambda run: run.rows[0].get(key))
            # An upgrade starts from its seed's best baseline epoch and must score it exactly before fine-tuning.
            checked += [a == b for a, b in zip(*_both(epoch0, baseline_best))]
            row.update(match_fraction={str(s): match_fraction(upgrades[s], starts[s], key)
                                       for s in seeds if s in upgrades and s in starts},
                       from_start=finals["from_start", d], upgrade=finals["upgrade", d], upgrade_epoch0=epoch0,
                       more_seeds={diff.key: decisions[diff.route, d] for diff in DIFFERENCES})
            row.update({diff.key: _paired(*pairs[diff.route, d]) for diff in DIFFERENCES})
        depths[str(d)] = row
    missing = [run for run in planned if run.seed not in records[run.kind, run.depth]]
    return {"metric": key, "seeds": seeds, "depths": depths, "baseline_best": baseline_best,
            "upgrade_epoch0_equals_baseline": all(checked) if checked else None, "unpaired": unpaired,
            "finished": len(planned) - len(missing), "runs": len(planned),
            "missing": [os.path.relpath(run.folder, plan.folder) for run in missing],
            "minutes": sum(run.wall_seconds for run in runs) / 60, "machines": machines_line(runs),
            "timed_on": describe_machine(),
            "network": config["model"]["name"]}


def _scores_cell(values: Sequence[Optional[float]], planned: int) -> str:
    """Seed-aligned scores as mean +- std over the finished ones (one alone has no std), with their count when
    some of the ``planned`` are missing, or when the seeds rule planned fewer than the column's seeds."""
    present = [v for v in values if v is not None]
    if not present:
        return "not run yet"
    text = mean_std(present) if len(present) > 1 else "{:.2f}".format(100 * present[0])
    if len(present) < planned:
        return "{} ({} of {} seeds)".format(text, len(present), planned)
    return text if len(present) == len(values) else "{} ({} seeds)".format(text, len(present))


def _seeds_line(result: dict) -> str:
    """The seeds the rule asks of the column, and which differences ask for more than ``MIN_SEEDS``."""
    unsure = ["{} at {}".format(title, d) for d, row in result["depths"].items() if d != "0"
              for _, _, key, title in DIFFERENCES if row["more_seeds"][key]]
    undecided = ["{} at {}".format(title, d) for d, row in result["depths"].items() if d != "0"
                 for _, _, key, title in DIFFERENCES if row["more_seeds"][key] is None]
    return ("Seeds wanted: {} (at least {}, and {} where a paired difference over the first {} is within two "
            "standard errors of 0{}; `--seeds {}` adds the runs those need){}.".format(
                UNSURE_SEEDS if unsure else MIN_SEEDS, MIN_SEEDS, UNSURE_SEEDS, MIN_SEEDS,
                ": " + ", ".join(unsure) if unsure else "", UNSURE_SEEDS,
                "; undecided until their first {} seeds finish: {}".format(MIN_SEEDS, ", ".join(undecided))
                if undecided else ""))


def _paired_cells(paired: Optional[dict]) -> Tuple[str, str]:
    """A paired difference from ``table1.json`` as its text (``Paired.text``) and its mean in standard errors
    (empty below two seeds, which have no standard error, or with none of spread); empty while no seed has both
    runs."""
    if paired is None:
        return "", ""
    paired = Paired(paired["differences"])
    return paired.text(), "{:.1f}".format(paired.standard_errors) if paired.n > 1 and paired.se > 0 else ""


def column_markdown(column: Column, result: Optional[dict], label: str) -> List[str]:
    """One column's section of ``table1.md``."""
    lines = ["## {}".format(column.label), ""]
    if result is None:
        return lines + ["Not run yet (`--dry-run` lists its runs).", ""]
    paper = {row["layers"]: row[column.paper] for row in TABLE1}
    rows = []
    for d, row in result["depths"].items():
        cost = [row["params"], "{:.2f}".format(row["infer_ratio"]), "{:.2f}".format(row["train_ratio"])]
        if d == "0":
            baseline, control = [_scores_cell(row[kind], row["planned_seeds"][kind])
                                 for kind in ("baseline", "control")]
            cells = [baseline, "", control, "", "", "", ""]
        else:
            (start, start_se), (upgrade, upgrade_se) = [_paired_cells(row[diff.key]) for diff in DIFFERENCES]
            cells = [_scores_cell(row["from_start"], row["planned_seeds"]["from_start"]), start,
                     _scores_cell(row["upgrade"], row["planned_seeds"]["upgrade"]), upgrade, start_se,
                     upgrade_se, ", ".join("never" if f is None else "{:.2f}".format(f)
                                           for f in row["match_fraction"].values())]
        rows.append([int(d), row["layers"]] + cells + cost + [paper.get(row["layers"], "")])
    headers = ["layers", "which (paper's names)", "from the start (0: baseline) {} (%)".format(label),
               "from the start - baseline", "upgrade (0: control) {} (%)".format(label), "upgrade - control",
               "in SEs (start)", "in SEs (upgrade)", "compute to match", "parameters", "inference x", "training x",
               PAPER_TITLES[column.paper]]
    partial = [] if not result["missing"] else [
        "**Partial: {} of {} runs finished.** Not run yet (under `{}`): {}.".format(
            result["finished"], result["runs"], "table1/" + column.key,
            ", ".join("`{}`".format(folder) for folder in result["missing"])), ""]
    exact = {True: "each upgraded network scored its baseline's exactly before fine-tuning",
             False: "**an upgraded network's epoch 0 differs from its baseline's score**",
             None: "no upgrade has finished yet"}[result["upgrade_epoch0_equals_baseline"]]
    return lines + partial + [
        "`{}`, seeds {}; {:.1f} minutes of training and evaluation.  ".format(
            result["network"], ", ".join(map(str, result["seeds"])), result["minutes"]),
        result["machines"], "", markdown_table(headers, rows), "", _seeds_line(result), ""] + ([
        "Not paired (trained on different processors or oneDNN instruction sets, whose float32 results and "
        "pretrained demo backbones differ; train both runs of a seed on one): {}.".format(
            "; ".join(result["unpaired"])), ""] if result["unpaired"] else []) + [
        "Accuracy is the last epoch's, mean +- std over seeds. Differences are paired by seed (the seeds where both "
        "runs finished, on one kind of processor), in points, as mean +- standard error (seeds positive / seeds), "
        "and that mean in standard errors. Every upgrade starts from its seed's baseline (best epoch); {}. Compute "
        "to match: per seed, the training images the upgrade needed to first reach the final score of the network "
        "deformable from the start, over that network's (the paper: 60/240 = 0.25; never: not within its fine-tune). "
        "Cost: parameters, and inference and training time per image against 0 layers (each network timed in turn "
        "with 0 layers' on the CPU of the machine that made this report, {}; the median of the per-batch "
        "ratios).".format(exact, result["timed_on"]), ""]


def _percents(values: Sequence[Optional[float]]) -> List[Optional[float]]:
    """Seed-aligned fractions in percent, None kept."""
    return [None if v is None else 100 * v for v in values]


def write_table1(plans: Sequence[ColumnPlan], out: str, command: str, demo: bool) -> str:
    """Write ``<out>/table1.md``, ``.json``, ``.png`` (scores by depth) and ``_differences.png`` (the paired
    differences) from the columns' runs on disk; return the text."""
    results = {plan.column.key: column_result(plan) for plan in plans}
    lines = ["# Table I{}: deformable layers, from the start and by the upgrade".format(
        " on the demo data" if demo else ""), "", "Made by `{}`.".format(command), ""]
    for plan in plans:
        lines += column_markdown(plan.column, results[plan.column.key], plan.task.label)
    text = "\n".join(lines)
    write_text(os.path.join(out, "table1.md"), text)
    write_json(os.path.join(out, "table1.json"), {"command": command, "columns": results})
    draw_table1(plans, results, out)
    return text


def draw_table1(plans: Sequence[ColumnPlan], results: Dict[str, Optional[dict]], out: str) -> None:
    """``<out>/table1.png``, each route's scores by depth (the mean of the seeds and a dot per seed), and
    ``table1_differences.png``, the paired differences by depth with their standard errors; nothing while no
    run has finished."""
    finished = {plan.column.key: (plan, results[plan.column.key]) for plan in plans if results[plan.column.key]}
    if not finished:
        return
    depths = [int(d) for d in next(iter(finished.values()))[1]["depths"]]
    scores, differences = {}, {}
    for column, (plan, result) in finished.items():
        rows = result["depths"]
        scores["{} ({}, %)".format(column, plan.task.label)] = {
            "from the start (0: baseline)": [_percents(rows[d]["baseline" if d == "0" else "from_start"])
                                             for d in rows],
            "upgrade (0: control)": [_percents(rows[d]["control" if d == "0" else "upgrade"]) for d in rows]}
        differences["{} {}".format(column, plan.task.label)] = {
            "{} ({})".format(d, rows[d]["layers"]): {
                title: Paired(rows[d][key]["differences"]) if rows[d][key] else Paired([float("nan")])
                for _, _, key, title in DIFFERENCES}
            for d in rows if d != "0"}
    plot_against(depths, scores, os.path.join(out, "table1.png"),
                 "deformable 3x3 layers (last N of the backbone)",
                 title="Table I: deformable layers, two routes (line: mean over seeds; dots: seeds; "
                       "hollow: a mean over fewer seeds)")
    plot_effects(differences, os.path.join(out, "table1_differences.png"),
                 "Table I: paired differences by depth (mean +- standard error over seeds)")


def run_table1(out: str, columns: Optional[Sequence[str]] = None, demo: bool = False, seeds: int = 3,
               depths: Sequence[int] = DEPTHS, overrides: Sequence[str] = (), command: str = "",
               progress: bool = True, dry_run: bool = False, report_only: bool = False, jobs: int = 1,
               log: Callable[[str], None] = print) -> str:
    """Run (or, with ``dry_run``, list) Table I's runs and write its report; return the text or the list. With
    ``report_only``, train nothing: report the runs finished so far (those of a table filled over sessions).
    With ``jobs`` above 1, train that many runs at a time, each in its own process (``parallel.run_jobs``; a line
    to ``log`` as each starts and ends).

    Raises
    ------
    TrainingError
        Some of the ``jobs`` runs failed (the report covers the others).
    """
    if jobs < 1:
        raise ConfigError("jobs must be 1 or more, not {}".format(jobs))
    plans = [ColumnPlan(column, out, depths, seeds, overrides) for column in select_columns(columns, demo)]
    if dry_run:
        return "\n".join(line for plan in plans for line in plan.commands())
    failed = []
    if jobs > 1 and not report_only:
        # Rounds: the seeds rule adds later seeds' runs once the first seeds' have finished.
        batch = [job for plan in plans for job in plan.jobs()]
        while batch and not failed:
            failed = run_jobs(batch, jobs, log)
            batch = [job for plan in plans for job in plan.jobs()]
    elif not report_only:
        for plan in plans:
            plan.run(progress)
    text = write_table1(plans, out, command, demo)
    if failed:
        raise TrainingError("{} of Table I's runs failed or could not start: {} (the lines above and each run's "
                            "log.txt say why); the report covers the others".format(len(failed), ", ".join(failed)))
    return text

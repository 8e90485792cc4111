"""Table II over seeds: each experiment's mAP as mean +- std, the paper's ordering checked seed by seed, and the
compute the upgrade needs to match the network deformable from the start."""
import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..config.loader import load_config
from ..reporting.curves import plot_spread
from ..reporting.files import write_json, write_text
from ..reporting.tables import markdown_table, mean_std, percent
from .runs import RunRecord, machines_line
from .table2 import EXPERIMENTS, RUNS, TITLES, Table2, run_table2

SEEDS_FOLDER = "table2_seeds"
"""The subfolder of the results folder that holds the runs of seeds other than the configs' own."""
ORDERINGS = (("upgrade", "dcn_scratch", ">="), ("dcn_scratch", "baseline", ">"), ("upgrade", "baseline", ">"),
             ("upgrade", "control", ">"))
"""The paper's claims as (experiment, experiment, comparison) of final mAP, plus upgrade > control."""


def images_to_match(upgrade: RunRecord, target: Optional[float], key: str = "map") -> Optional[int]:
    """Training images the fine-tune ``upgrade`` had seen when its ``key`` (mAP, mIoU) first reached ``target``
    (0 when its epoch 0 already did); None if it never did."""
    seen = 0
    for row in upgrade.rows:
        seen += int(row.get("images") or 0)
        if row.get(key) is not None and target is not None and row[key] >= target:
            return seen
    return None


def match_fraction(upgrade: RunRecord, start: RunRecord, key: str = "map") -> Optional[float]:
    """The training images ``upgrade`` needed to reach ``start``'s final ``key`` (``images_to_match``), over
    ``start``'s training images (the paper's 60/240 = 0.25); None if it never did."""
    images = images_to_match(upgrade, start.final(key), key)
    return None if images is None else images / start.total("images")


def _holds(a: float, b: float, comparison: str) -> bool:
    return a >= b if comparison == ">=" else a > b


@dataclass
class SeedTable:
    """Table II for several seeds: the finished runs by seed, and the command."""

    tables: Dict[int, Table2]
    command: str
    seconds: float

    def finals(self, name: str) -> List[float]:
        """Experiment ``name``'s final mAP, seed by seed."""
        return [table.runs[name].final("map") for table in self.tables.values()]

    def bests(self, name: str) -> List[float]:
        """Experiment ``name``'s best mAP over its trained epochs, seed by seed."""
        return [table.runs[name].best("map", first_epoch=1) for table in self.tables.values()]

    def match_fractions(self) -> List[Optional[float]]:
        """Per seed: the upgrade's training images to reach the deformable-from-the-start run's final mAP, over
        that run's training images (the paper's 60/240 = 0.25)."""
        return [match_fraction(table.runs["upgrade"], table.runs["dcn_scratch"]) for table in self.tables.values()]

    def orderings(self) -> List[List[bool]]:
        """Per claim of ``ORDERINGS``, whether it holds, seed by seed (final mAP)."""
        return [[_holds(a, b, comparison) for a, b in zip(self.finals(first), self.finals(second))]
                for first, second, comparison in ORDERINGS]

    def to_dict(self) -> dict:
        """``table2_seeds.json``: the command, the seconds, and every seed's values."""
        return {"command": self.command, "seconds": round(self.seconds), "seeds": list(self.tables),
                "final_map": {name: self.finals(name) for name in EXPERIMENTS},
                "best_map": {name: self.bests(name) for name in EXPERIMENTS},
                "match_fraction": self.match_fractions(),
                "orderings": {"{0} {2} {1}".format(*claim): held for claim, held in zip(ORDERINGS, self.orderings())}}

    def markdown(self) -> str:
        """``table2_seeds.md``: mean +- std per experiment, the orderings seed by seed, the compute to match."""
        seeds = list(self.tables)
        rows = [[TITLES[name], mean_std(self.finals(name)), mean_std(self.bests(name)),
                 ", ".join("{:.2f}".format(percent(v)) for v in self.finals(name))] for name in EXPERIMENTS]
        claims = [["{} {} {}".format(TITLES[a], comparison, TITLES[b]), "{} of {}".format(sum(held), len(held)),
                   ", ".join("yes" if h else "no" for h in held)]
                  for (a, b, comparison), held in zip(ORDERINGS, self.orderings())]
        effect = np.subtract(self.finals("upgrade"), self.finals("control"))
        fractions = self.match_fractions()
        match = ", ".join("never" if f is None else "{:.3f}".format(f) for f in fractions)
        return "\n".join([
            "# Table II over {} seeds".format(len(seeds)), "",
            "Made by `{}` in {:.0f} s (every run, 2 CPU cores; runs reused from earlier calls count as 0).".format(
                self.command, self.seconds) + "  ",
            machines_line(run for table in self.tables.values() for run in table.runs.values()), "",
            "Seeds {} (each seeds the weights, the data order and the augmentation). mAP in %, final = after the "
            "last epoch, best = the best trained epoch.".format(", ".join(map(str, seeds))), "",
            markdown_table(["experiment", "final mAP, mean +- std", "best mAP, mean +- std", "final mAP per seed"],
                           rows), "",
            "Upgrade minus control, final mAP: {} points (per seed: {}).".format(
                mean_std(effect), ", ".join("{:+.2f}".format(100 * v) for v in effect)), "",
            "## The paper's ordering, seed by seed (final mAP)", "",
            markdown_table(["claim", "holds", "per seed"], claims), "",
            "## Compute to match", "",
            "Training images the upgrade's fine-tune needed to first reach the final mAP of the network deformable "
            "from the start, as a fraction of that network's training images (the paper: 60 / 240 epochs = "
            "0.25): {}.".format(match), ""])


def seed_folder(out: str, own: bool, seed: int) -> str:
    """Where ``run_table2_seeds`` keeps seed ``seed``'s four run directories: ``out/table2`` for the configs'
    ``own`` seed, ``out/table2_seeds/seed<k>`` for the others."""
    return os.path.join(out, RUNS if own else os.path.join(SEEDS_FOLDER, "seed{}".format(seed)))


def run_table2_seed(baseline: str, dcn: str, upgrade: str, out: str, seed: int, overrides: Sequence[str] = (),
                    command: str = "", progress: bool = True, fine_tune: Sequence[str] = ()) -> Table2:
    """Run (or reuse) seed ``seed``'s four experiments where ``run_table2_seeds`` keeps them; no report."""
    own = load_config(baseline, overrides)["seed"]
    return run_table2(baseline, dcn, upgrade, out, list(overrides) + ["seed={}".format(seed)], command, progress,
                      runs_folder=seed_folder(out, seed == own, seed), fine_tune=fine_tune)


def run_table2_seeds(baseline: str, dcn: str, upgrade: str, out: str, seeds: int, overrides: Sequence[str] = (),
                     command: str = "", progress: bool = True, fine_tune: Sequence[str] = ()) -> SeedTable:
    """Run Table II's four experiments for ``seeds`` seeds (0, 1, ...) and write ``table2_seeds.md``, ``.json``
    and ``table2_seeds.png`` into ``out``.

    The configs' own seed reuses ``out/table2`` (the runs ``run_table2`` makes); every other seed ``k`` runs in
    ``out/table2_seeds/seed<k>``. Finished runs are reused, interrupted ones resumed. ``fine_tune``: entries for
    the upgrade and the control only (``run_table2``).
    """
    start = time.perf_counter()
    tables = {seed: run_table2_seed(baseline, dcn, upgrade, out, seed, overrides, command, progress, fine_tune)
              for seed in range(seeds)}
    table = SeedTable(tables, command, time.perf_counter() - start)
    write_text(os.path.join(out, "table2_seeds.md"), table.markdown())
    write_json(os.path.join(out, "table2_seeds.json"), table.to_dict())
    plot_seeds(table, os.path.join(out, "table2_seeds.png"))
    return table


def plot_seeds(table: SeedTable, out: str) -> str:
    """Final and best mAP of each experiment: a dot per seed, the mean +- std as a bar."""
    short = {name: TITLES[name].split(":")[0].replace(" (standard convolutions)", "") for name in EXPERIMENTS}
    panels = {label: {short[name]: [100 * v for v in values(name)] for name in EXPERIMENTS}
              for label, values in (("final mAP (%)", table.finals), ("best mAP (%)", table.bests))}
    return plot_spread(panels, out, "Table II over {} seeds: each seed, and mean +- std".format(len(table.tables)))

"""Run a config to completion, once: a finished run directory is reused, an interrupted one resumed."""
import os
import json
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

from ..config.loader import load_config
from ..config.schema import differences
from ..errors import ConfigError
from ..machine import format_machine
from ..paths import portable_path
from ..training import rundir as files
from ..training.loop import train
from ..training.rundir import RunDir
from ..config.train_section import fine_tune_decays, fine_tune_epochs


@dataclass
class RunRecord:
    """A run directory read back: its resolved config text, its metrics rows (numbers) and its state."""

    path: str
    config: dict
    rows: List[Dict[str, Optional[float]]]
    state: Optional[dict]
    machines: List[dict] = field(default_factory=list)
    """``machine.json``: the machine of each start of the run (empty for runs made before it was recorded)."""

    @property
    def epochs(self) -> int:
        """Epochs the run's config asks for."""
        return int(self.config["train"]["epochs"])

    @property
    def finished(self) -> bool:
        """Whether every epoch the config asks for is committed."""
        return self.state is not None and self.state["epoch"] >= self.epochs

    def column(self, key: str) -> List[Optional[float]]:
        """One metrics column, epoch by epoch (None where the epoch has no value)."""
        return [row.get(key) for row in self.rows]

    def total(self, key: str) -> float:
        """The sum of a column over the run's epochs (training images, seconds)."""
        return sum(value for value in self.column(key) if value is not None)

    @property
    def hardware(self) -> Optional[FrozenSet[Tuple[str, str]]]:
        """The processors and oneDNN instruction sets the run trained on (one per start; None where not recorded).
        Float32 results depend on them, and so does the demo backbone pretrained on the machine."""
        return frozenset((start["processor"], start["onednn_isa"]) for start in self.machines) or None

    @property
    def wall_seconds(self) -> float:
        """Training plus evaluation seconds over all epochs (start-up excluded)."""
        return self.total("seconds") + self.total("eval_seconds")

    def final(self, key: str) -> Optional[float]:
        """The column's value at the last epoch."""
        return self.rows[-1].get(key) if self.rows else None

    def best(self, key: str = "map", first_epoch: int = 0) -> Optional[float]:
        """The column's highest value from ``first_epoch`` on (0 includes a fine-tune's epoch 0, the network
        before fine-tuning)."""
        row = self._best_row(key, first_epoch)
        return None if row is None else row[key]

    def best_epoch(self, key: str = "map", first_epoch: int = 0) -> Optional[int]:
        """The epoch of ``best`` (the first, on a tie)."""
        row = self._best_row(key, first_epoch)
        return None if row is None else int(row["epoch"])

    def _best_row(self, key: str, first_epoch: int) -> Optional[dict]:
        rows = [row for row in self.rows if row.get(key) is not None and row["epoch"] >= first_epoch]
        return max(rows, key=lambda row: row[key]) if rows else None


def read_run(path: str) -> RunRecord:
    """Read the config, metrics and state of a run directory.

    Raises
    ------
    ConfigError
        ``path`` holds no run.
    """
    import yaml
    run = RunDir(path)
    if not run.holds_run():
        raise ConfigError("{} holds no training run (no {})".format(path, files.CONFIG))
    with open(run.file(files.CONFIG), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    state = run.read_state()
    rows = [{key: _number(value) for key, value in row.items()}
            for row in run.read_metrics(state["epoch"] if state else -1)]
    machines = []
    if os.path.exists(run.file(files.MACHINE)):
        with open(run.file(files.MACHINE), encoding="utf-8") as f:
            machines = json.load(f)
    return RunRecord(path, config, rows, state, machines)


def machines_line(records: Iterable[RunRecord]) -> str:
    """The foot line of a table made from ``records``: every distinct machine their runs were trained on."""
    seen: List[str] = []
    for record in records:
        for start in record.machines or [None]:
            text = format_machine(start) if start else "not recorded (a run made before runs recorded it)"
            if text not in seen:
                seen.append(text)
    return "Machine{}: {}".format("s" if len(seen) > 1 else "", "; ".join(seen))


def _number(text: str) -> Optional[float]:
    if text in ("", None):
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def prepare_run(config: Mapping, output: str) -> str:
    """What training ``config`` into ``output`` still needs: ``"done"`` (a finished run of the same config),
    ``"resume"`` (an interrupted one with its checkpoints) or ``"train"`` (nothing there yet; anything else there,
    such as another config or a copy without checkpoints like committed results, is deleted first).

    Configs are compared through the schema: a key added since the run was made counts at its default.
    """
    run = RunDir(output)
    if run.holds_run():
        same = _same_config(run, config)
        state = run.recover() if same else None
        if same and state is not None and os.path.exists(run.file(files.LAST)):
            return "done" if read_run(output).finished else "resume"
        _clear(run)
    return "train"


def ensure_run(config: Mapping, output: str, progress: bool = True) -> RunRecord:
    """Train ``config`` into ``output`` unless that is already done; return the finished run.

    A run directory with the same config and its checkpoints is reused when finished and resumed when not;
    anything else there is replaced by a new run (``prepare_run``).
    """
    action = prepare_run(config, output)
    if action != "done":
        train(config, output, resume=action == "resume", progress=progress)
    return read_run(output)


def _same_config(run: RunDir, config: Mapping) -> bool:
    try:
        saved = load_config(run.file(files.CONFIG))
    except ConfigError:  # a key this version no longer has, or a value it refuses
        return False
    return not differences(saved, config)


def seeded_runs(folder: str, first: int, seeds: int) -> List[Tuple[str, List[str]]]:
    """(run folder, overrides) of ``seeds`` seeds from ``first``: the first seed is the config's own, in
    ``folder``; the next ones go to ``<folder>_seed<S>`` with ``seed=<S>``."""
    return [(folder, []) if seed == first else ("{}_seed{}".format(folder, seed), ["seed={}".format(seed)])
            for seed in range(first, first + seeds)]


def fine_tune_overrides(baseline_epochs: int, weights: str) -> List[str]:
    """``--set`` entries that make an upgrade config fine-tune ``weights`` by the paper's rule, from a baseline
    of ``baseline_epochs`` epochs (they override what the config file says)."""
    epochs = fine_tune_epochs(baseline_epochs)
    return ["model.weights=" + portable_path(weights), "train.epochs={}".format(epochs),
            "train.lr_decay_epoch=[{}]".format(", ".join(map(str, fine_tune_decays(epochs))))]


def _clear(run: RunDir) -> None:
    """Delete what a run writes (and nothing else) from its folder."""
    names = (files.CONFIG, files.METRICS, files.LOG, files.LAST, files.STATES, files.BEST, files.INTERRUPTED,
             files.STATE, files.MACHINE)
    for name in os.listdir(run.path):
        if name in names or name.startswith("log.rank"):
            os.remove(run.file(name))


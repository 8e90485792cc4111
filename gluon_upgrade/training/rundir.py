"""A run directory and its crash-safe checkpoints.

Each epoch's files (``last.params``, ``last.states``, ``metrics.csv``, maybe ``best.params``) are written under
temporary names first. Then ``state.json``, which names them, replaces the old one: that rename is the commit.
Then the temporary files replace the real ones. A process killed at any point leaves either the previous epoch
(uncommitted temporary files are deleted on resume) or the new one (the renames are finished on resume).
"""
import csv
import io
import json
import os
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import portalocker
from portalocker.portalocker import LockfLocker

from ..errors import ConfigError

CONFIG = "config.yaml"
METRICS = "metrics.csv"
LOG = "log.txt"
LAST = "last.params"
STATES = "last.states"
BEST = "best.params"
INTERRUPTED = "interrupted.params"
STATE = "state.json"
MACHINE = "machine.json"
DATA = "data.json"
LOCK = ".lock"

Writer = Callable[[str], None]
"""Writes one file to the path it is given."""


class RunDir:
    """The files of one training run, in the folder ``path``."""

    def __init__(self, path: str):
        self.path = path

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def holds_run(self) -> bool:
        """Whether a run has started here (its config is saved)."""
        return os.path.exists(self.file(CONFIG))

    def require_run(self) -> None:
        """Raise ``ConfigError`` unless a run has started here (what ``--resume`` needs)."""
        if not self.holds_run():
            raise ConfigError("--resume: {} holds no run (no {})".format(self.path, CONFIG))

    def require_new(self) -> None:
        """Raise ``ConfigError`` if a run has started here (resume it, or choose another output), or if the
        folder holds anything else: a run writes ``log.txt``, ``metrics.csv``, ... and would replace files of
        the same names."""
        if self.holds_run():
            raise ConfigError("{} already holds a run; continue it with --resume, or give another --output".format(
                self.path))
        others = sorted(set(os.listdir(self.path)) - {LOCK}) if os.path.isdir(self.path) else []
        if others:
            raise ConfigError("{} holds files that are not a run ({}); give a new or empty folder as --output".format(
                self.path, ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")))

    def create(self, config_text: str) -> None:
        """Start a new run here: save its resolved config (call it holding ``locked``, so that of two processes
        starting the same run one is refused).

        Raises
        ------
        ConfigError
            The folder already holds a run (resume it, or choose another output).
        """
        self.require_new()
        os.makedirs(self.path, exist_ok=True)
        atomic_write(self.file(CONFIG), lambda p: _write_text(p, config_text))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run's lock (``.lock``, the holder's process id inside) while training or resuming it.

        The operating system releases the lock when its process ends, however it ends, so a killed run never
        blocks its resume. It is a POSIX record lock (``lockf``), not portalocker's default ``flock``: data-loader
        workers forked during the run do not inherit it and cannot hold it past their parent. Record locks belong
        to the process, so one process must not hold the same run twice (closing either handle would release
        it). The file stays: deleting a lock file races with a process about to take it.

        Raises
        ------
        ConfigError
            Another process holds the lock: two processes would write every epoch twice.
        """
        os.makedirs(self.path, exist_ok=True)
        handle = open(self.file(LOCK), "a+", encoding="utf-8")
        try:
            try:
                LockfLocker().lock(handle, portalocker.LOCK_EX | portalocker.LOCK_NB)
            except portalocker.LockException:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise ConfigError("{} is in use by another training process (pid {}); wait for it to end, or give "
                                  "another --output".format(self.path, holder)) from None
            handle.seek(0)
            handle.truncate()
            handle.write("{}\n".format(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()  # closing the file releases the lock

    def record_machine(self, record: Mapping, epoch: int) -> None:
        """Add ``record`` (``machine.machine_record()``) to ``machine.json``, a list with one entry per start of
        the run: float32 results depend on the processor, and a resumed run may continue on another."""
        path = self.file(MACHINE)
        starts = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                starts = json.load(f)
        starts.append(dict(record, from_epoch=epoch))
        atomic_write(path, lambda p: _write_text(p, json.dumps(starts, indent=2) + "\n"))

    def record_data(self, fingerprints: Mapping[str, Mapping]) -> None:
        """Save what the run trains and validates on (``datasets.dataset_fingerprint`` per split) in ``data.json``."""
        atomic_write(self.file(DATA), lambda p: _write_text(p, json.dumps(fingerprints, indent=2) + "\n"))

    def require_same_data(self, fingerprints: Mapping[str, Mapping], root: str) -> None:
        """Refuse to resume this run on other data than it started with.

        ``data.root`` may change (a data set moved to another disk), but the images and boxes must be the same:
        ``fingerprints`` maps ``train``/``val`` to ``datasets.dataset_fingerprint`` of the data at ``root``. A run
        without ``data.json`` (started before it was recorded) passes.

        Raises
        ------
        ConfigError
            A split whose images, boxes or classes differ; the message gives both image counts.
        """
        if not os.path.exists(self.file(DATA)):
            return
        with open(self.file(DATA), encoding="utf-8") as f:
            saved = json.load(f)
        changed = ["{} split ({} images now, {} when the run started)".format(
            split, fingerprints[split]["images"], saved[split]["images"])
            for split in ("train", "val") if saved.get(split) != fingerprints.get(split)]
        if changed:
            raise ConfigError("--resume: data.root {} holds another data set than the run in {} started with: the "
                              "{} differ; resume on that data set, or start a new run".format(
                                  root, self.path, " and the ".join(changed)))

    def commit(self, state: Mapping, writers: Mapping[str, Writer]) -> None:
        """Write the files of ``writers`` (name -> writer) and ``state`` as one all-or-nothing step."""
        tag = ".epoch{}.tmp".format(state["epoch"])
        for name, write in writers.items():
            write(self.file(name + tag))
        pending = {name: name + tag for name in writers}
        atomic_write(self.file(STATE), lambda p: _write_text(p, json.dumps(dict(state, pending=pending), indent=2)))
        self._finish(pending)

    def read_state(self) -> Optional[dict]:
        """The last committed state as it is on disk, or None if no epoch was committed."""
        if not os.path.exists(self.file(STATE)):
            return None
        with open(self.file(STATE), encoding="utf-8") as f:
            return json.load(f)

    def recover(self) -> Optional[dict]:
        """The last committed state (finishing its renames), or None if no epoch was committed.

        Temporary files of an epoch that never committed are deleted.
        """
        state = self.read_state()
        if state is not None:
            self._finish(state["pending"])
        for name in os.listdir(self.path):
            if name.endswith(".tmp"):
                os.remove(self.file(name))
        return state

    def _finish(self, pending: Mapping[str, str]) -> None:
        for name, temporary in pending.items():
            if os.path.exists(self.file(temporary)):
                os.replace(self.file(temporary), self.file(name))

    def read_metrics(self, last_epoch: int) -> List[Dict[str, str]]:
        """Rows of ``metrics.csv`` up to and including ``last_epoch``."""
        if not os.path.exists(self.file(METRICS)):
            return []
        with open(self.file(METRICS), newline="", encoding="utf-8") as f:
            return [row for row in csv.DictReader(f) if int(row["epoch"]) <= last_epoch]


def metrics_writer(rows: Sequence[Mapping], columns: Sequence[str]) -> Writer:
    """A writer of ``metrics.csv``: one row per epoch, empty cells where a value was not measured."""
    buffer = io.StringIO()
    table = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    table.writeheader()
    for row in rows:
        table.writerow({key: format_cell(value) for key, value in row.items()})
    text = buffer.getvalue()
    return lambda path: _write_text(path, text)


def format_cell(value) -> str:
    """A number as ``metrics.csv`` and the log show it (six significant digits); None as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "{:.6g}".format(value)
    return str(value)


def atomic_write(path: str, write: Writer) -> None:
    """Write a file through ``write`` under a temporary name, then rename it into place."""
    temporary = path + ".tmp"
    write(temporary)
    os.replace(temporary, path)


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())

"""Run independent training runs side by side: each in a process of its own with its share of the cores, a run
that needs another's weights starting once that one has finished.

A table of many small runs (the demo's Table I: 60 runs of up to an hour of a core each) keeps every core busy
this way; one run at a time leaves cores idle wherever the network or the data loading does not scale.
"""
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from ..errors import GluonUpgradeError
from ..training.launch import stop_processes
from ..training.signals import interrupt


@dataclass
class Job:
    """One run to train: its name in the log lines, its command line, and the job it needs first."""

    name: str
    command: Callable[[], List[str]]
    """Called when the job starts (the job it needs has finished by then): the command line to run."""
    needs: Optional[str] = None
    """The name of a job of the same batch that must succeed first, or None."""


def run_jobs(jobs: Sequence[Job], slots: int, log: Callable[[str], None] = print,
             stop_grace: float = 60.0) -> List[str]:
    """Run ``jobs`` at most ``slots`` at a time, in their order as far as their needs allow; return the names of
    those that failed (a command that could not be made or started counts), or did not start because the job
    they need failed, in the order of ``jobs`` (side by side, the order they end in is chance).

    Each job runs with ``OMP_NUM_THREADS`` set to the machine's cores over ``slots`` (at least 1) unless the
    environment sets it. Its output goes to a temporary file, whose last line (a command's one ``error:`` line)
    is logged if it fails. Ctrl-C or SIGTERM ends every running job with SIGTERM (a training run saves its last
    complete epoch and exits; SIGKILL after ``stop_grace`` seconds) and raises ``KeyboardInterrupt``.
    """
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // slots)))
    waiting, failed = list(jobs), []
    running: Dict[str, tuple] = {}
    done = {job.name: False for job in jobs}
    previous = signal.signal(signal.SIGTERM, interrupt)

    def say(text: str) -> None:
        log("{} {}".format(time.strftime("%H:%M:%S"), text))

    try:
        while waiting or running:
            for name, (process, output, start) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[name]
                minutes = (time.monotonic() - start) / 60
                if process.returncode == 0:
                    done[name] = True
                    say("done {} ({:.1f} min)".format(name, minutes))
                else:
                    failed.append(name)
                    say("FAILED {} (exit {} after {:.1f} min): {}".format(name, process.returncode, minutes,
                                                                         _last_line(output)))
                output.close()
            for job in list(waiting):
                if job.needs in failed:
                    waiting.remove(job)
                    failed.append(job.name)
                    say("skipped {}: it needs {}, which failed".format(job.name, job.needs))
                elif len(running) < slots and (job.needs is None or done.get(job.needs, True)):
                    waiting.remove(job)
                    output = tempfile.TemporaryFile()
                    try:
                        process = subprocess.Popen(job.command(), env=env, stdout=output, stderr=subprocess.STDOUT)
                    except (GluonUpgradeError, OSError) as err:  # a config that no longer loads, say
                        output.close()
                        failed.append(job.name)
                        say("FAILED {} (not started): {}".format(job.name, err))
                        continue
                    running[job.name] = (process, output, time.monotonic())
                    say("start {} ({} running, {} waiting)".format(job.name, len(running), len(waiting)))
            time.sleep(0.5)
    except BaseException as err:
        # Ctrl-C, SIGTERM or a bug here: no job is left running without the process that watches it.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        stop_processes([process for process, _, _ in running.values()], stop_grace)
        say("{}: stopped {}".format("interrupted" if isinstance(err, KeyboardInterrupt) else "error",
                                    ", ".join(running) or "nothing"))
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return [job.name for job in jobs if job.name in failed]


def _last_line(output) -> str:
    """The last non-empty line a job wrote."""
    output.seek(0)
    lines = [line.strip() for line in output.read().decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"

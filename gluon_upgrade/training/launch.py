"""Start an MXNet parameter-server job: a scheduler, servers and workers, with the ``DMLC_*`` environment.

MXNet's wheel ships ``mxnet/tools/launch.py`` and ``dmlc_tracker`` (local, ssh, mpi, sge, slurm, yarn), but they
do not run on Python 3.9 or later: ``dmlc_tracker/tracker.py`` waits on its scheduler thread with
``Thread.isAlive()``, which Python 3.9 removed, so every launch that starts servers ends in ``AttributeError``.
This does their ``local`` and ``ssh`` modes.
"""
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from ..errors import ConfigError
from .signals import interrupt

LOCAL = ("localhost", "127.0.0.1")


@dataclass
class Process:
    """One process of the job: its role and the command line that runs it."""

    role: str
    host: str
    argv: List[str]
    env: Dict[str, str]


def free_port() -> int:
    """A TCP port nobody listens on now (for the scheduler)."""
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def read_hosts(path: str) -> List[str]:
    """Host names of a host file: one a line, ``#`` comments and blank lines ignored."""
    try:
        with open(path, encoding="utf-8") as f:
            hosts = [line.split("#")[0].strip() for line in f]
    except OSError as err:
        raise ConfigError("host file {}: {}".format(path, err)) from None
    hosts = [h for h in hosts if h]
    if not hosts:
        raise ConfigError("host file {} names no host".format(path))
    return hosts


def plan(workers: int, servers: int, command: Sequence[str], hosts: Optional[Sequence[str]] = None,
         port: Optional[int] = None) -> List[Process]:
    """The job's processes: the scheduler here, then servers and workers spread over ``hosts`` in turn.

    Without ``hosts`` everything runs on this machine over the loopback interface.
    """
    if workers < 1 or servers < 1:
        raise ConfigError("a parameter-server job needs at least one worker and one server, got -n {} -s {}".format(
            workers, servers))
    if not command:
        raise ConfigError("no worker command given (after --)")
    hosts = list(hosts or ["127.0.0.1"])
    loopback = all(h in LOCAL for h in hosts)
    root = "127.0.0.1" if loopback else socket.gethostbyname(socket.gethostname())
    common = {"DMLC_PS_ROOT_URI": root, "DMLC_PS_ROOT_PORT": str(port or free_port()),
              "DMLC_NUM_SERVER": str(servers), "DMLC_NUM_WORKER": str(workers)}
    python = command[0] if os.path.basename(command[0]).startswith("python") else sys.executable
    # A scheduler or server is any process that imports mxnet with its DMLC_ROLE set; importing is all it needs.
    serve = [python, "-c", "import mxnet"]
    processes = [Process("scheduler", root, serve, dict(common, DMLC_ROLE="scheduler"))]
    for index in range(servers):
        processes.append(Process("server", hosts[index % len(hosts)], serve, dict(common, DMLC_ROLE="server")))
    for index in range(workers):
        processes.append(Process("worker", hosts[index % len(hosts)], list(command), dict(common, DMLC_ROLE="worker")))
    for process in processes:
        if loopback:
            process.env["DMLC_NODE_HOST"] = "127.0.0.1"
    return processes


def _popen(process: Process) -> subprocess.Popen:
    if process.host in LOCAL or process.role == "scheduler":
        return subprocess.Popen(process.argv, env=dict(os.environ, **process.env))
    remote = "cd {} && env {} {}".format(shlex.quote(os.getcwd()),
                                         " ".join("{}={}".format(k, shlex.quote(v)) for k, v in process.env.items()),
                                         " ".join(shlex.quote(a) for a in process.argv))
    return subprocess.Popen(["ssh", "-o", "StrictHostKeyChecking=no", process.host, remote])


def run(processes: Sequence[Process], grace: float = 30.0, stop_grace: float = 10.0) -> int:
    """Start every process and wait for the workers.

    Returns the first non-zero worker exit status (every other process is then stopped), else 0; 130 after
    Ctrl-C or SIGTERM (every process is then stopped). Servers and the scheduler exit once the workers have; any
    still running ``grace`` seconds later are stopped. Stopping is SIGTERM, then SIGKILL for a process still
    running ``stop_grace`` seconds later.
    """
    started = [(p, _popen(p)) for p in processes]
    workers = [(p, h) for p, h in started if p.role == "worker"]
    status = 0
    # A job scheduler's SIGTERM to the launcher stops it as Ctrl-C does: every process it started is ended
    # below (workers save their weights on SIGTERM), instead of left running without it.
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        while any(h.poll() is None for _, h in workers):
            failed = [h.returncode for _, h in workers if h.poll() not in (None, 0)]
            if failed:
                status = failed[0]
                break
            time.sleep(0.2)
        else:
            status = next((h.returncode for _, h in workers if h.returncode), 0)
    except KeyboardInterrupt:
        status = 130
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    try:
        handles = [handle for _, handle in started]
        _wait_all(handles, grace if status == 0 else 0)
        # A worker blocked inside a kvstore call never runs its SIGTERM handler: SIGKILL ends what is left.
        stop_processes(handles, stop_grace)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return status


def stop_processes(handles: Sequence[subprocess.Popen], grace: float) -> None:
    """SIGTERM to each process still running, then SIGKILL to those still running ``grace`` seconds later."""
    for handle in handles:
        if handle.poll() is None:
            handle.terminate()
    _wait_all(handles, grace)
    for handle in handles:
        if handle.poll() is None:
            handle.kill()
            handle.wait()


def _wait_all(handles: Sequence[subprocess.Popen], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(h.poll() is None for h in handles) and time.monotonic() < deadline:
        time.sleep(0.1)

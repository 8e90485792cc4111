"""Runs side by side (experiments.parallel): slots, needs, failures, threads and stopping, with small Python
commands in place of training runs."""
import os
import signal
import sys
import threading
import time

import pytest

from gluon_upgrade.experiments.parallel import Job, run_jobs


def job(name, folder, code="", seconds=0.0, needs=None):
    """A job that writes ``<name>.start``/``.end`` stamps (and whatever ``code`` does) in ``folder``."""
    script = ("import os, sys, time\n"
              "open(os.path.join({folder!r}, {name!r} + '.start'), 'w').write(repr(time.time()))\n"
              "time.sleep({seconds})\n{code}\n"
              "open(os.path.join({folder!r}, {name!r} + '.end'), 'w').write(repr(time.time()))\n").format(
        folder=str(folder), name=name, seconds=seconds, code=code)
    return Job(name, lambda: [sys.executable, "-c", script], needs)


def stamps(folder, name):
    return [float((folder / "{}.{}".format(name, end)).read_text()) for end in ("start", "end")]


def test_at_most_slots_jobs_run_at_once_and_a_job_starts_after_the_one_it_needs(tmp_path):
    lines = []
    jobs = [job("base", tmp_path, seconds=0.6), job("tune", tmp_path, needs="base"),
            job("other1", tmp_path, seconds=0.6), job("other2", tmp_path, seconds=0.6)]
    assert run_jobs(jobs, slots=2, log=lines.append) == []
    spans = {j.name: stamps(tmp_path, j.name) for j in jobs}
    assert spans["tune"][0] >= spans["base"][1]
    for moment in [start for start, _ in spans.values()]:
        assert sum(start <= moment < end for start, end in spans.values()) <= 2
    # The job that waits does not hold up the ones behind it: other1 starts beside base.
    assert spans["other1"][0] < spans["base"][1]
    words = [line.split()[1:3] for line in lines]
    assert words.index(["done", "base"]) < words.index(["start", "tune"])
    assert sorted(w[1] for w in words if w[0] == "done") == ["base", "other1", "other2", "tune"]


def test_a_failed_job_is_reported_with_its_last_line_and_the_jobs_that_need_it_do_not_start(tmp_path):
    lines = []
    jobs = [job("base", tmp_path, code="print('epoch 1'); print('error: no data'); sys.exit(3)"),
            job("tune", tmp_path, needs="base"), job("other", tmp_path)]
    assert run_jobs(jobs, slots=1, log=lines.append) == ["base", "tune"]
    assert any(line.endswith(": error: no data") and " FAILED base (exit 3 " in line for line in lines)
    assert any(" skipped tune: it needs base, which failed" in line for line in lines)
    assert not (tmp_path / "tune.start").exists() and (tmp_path / "other.end").exists()


def test_the_failed_jobs_are_named_in_the_order_given_not_the_order_they_end(tmp_path):
    jobs = [job("slow", tmp_path, seconds=1.0, code="sys.exit(1)"), job("quick", tmp_path, code="sys.exit(1)")]
    assert run_jobs(jobs, slots=2, log=lambda line: None) == ["slow", "quick"]


def test_a_job_whose_command_cannot_be_made_fails_alone(tmp_path):
    from gluon_upgrade.errors import ConfigError

    def refuse():
        raise ConfigError("config.yaml: unknown key train.foo")

    lines = []
    jobs = [Job("broken", refuse), job("tune", tmp_path, needs="broken"), job("other", tmp_path)]
    assert run_jobs(jobs, slots=2, log=lines.append) == ["broken", "tune"]
    assert lines[0].endswith(" FAILED broken (not started): config.yaml: unknown key train.foo")
    assert (tmp_path / "other.end").exists() and not (tmp_path / "tune.start").exists()


def test_each_job_gets_its_share_of_the_cores_unless_the_environment_says(tmp_path, monkeypatch):
    write = "open(os.path.join({!r}, 'threads'), 'w').write(os.environ['OMP_NUM_THREADS'])".format(str(tmp_path))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    run_jobs([job("a", tmp_path, code=write)], slots=4, log=lambda line: None)
    assert (tmp_path / "threads").read_text() == "4"
    run_jobs([job("a", tmp_path, code=write)], slots=32, log=lambda line: None)
    assert (tmp_path / "threads").read_text() == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    run_jobs([job("a", tmp_path, code=write)], slots=4, log=lambda line: None)
    assert (tmp_path / "threads").read_text() == "3"


def test_sigterm_stops_the_running_jobs_with_sigterm_and_starts_no_more(tmp_path):
    # The job saves on SIGTERM, as a training run does, and would otherwise sleep a minute.
    saves = ("import signal\n"
             "def save(*_):\n"
             "    open(os.path.join({!r}, 'saved'), 'w').write('yes'); sys.exit(143)\n"
             "signal.signal(signal.SIGTERM, save)\n"
             "time.sleep(60)").format(str(tmp_path))
    jobs = [job("long", tmp_path, code=saves), job("next", tmp_path)]
    lines, handler = [], signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_jobs(jobs, slots=1, log=lines.append)
    assert time.monotonic() - started < 20
    assert (tmp_path / "saved").read_text() == "yes" and not (tmp_path / "next.start").exists()
    assert lines[-1].endswith("interrupted: stopped long")
    assert signal.getsignal(signal.SIGTERM) is handler  # put back


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace():
    import subprocess
    from gluon_upgrade.training.launch import stop_processes
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                                 "signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True)\n"
                                 "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    polite = subprocess.Popen([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout.readline() == polite.stdout.readline() == "ready\n"
    started = time.monotonic()
    stop_processes([stubborn, polite], grace=1.0)
    assert (stubborn.returncode, polite.returncode) == (-signal.SIGKILL, -signal.SIGTERM)
    assert 1.0 <= time.monotonic() - started < 10

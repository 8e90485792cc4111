"""SIGTERM: it stops a run as Ctrl-C does, and never hangs one through the data-loader workers it forks."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, read_metrics, write_demo_config
from gluon_upgrade.training.loop import _stop_on_sigterm

# Two loader workers, 2-image batches (6 iterations an epoch), a log line per iteration to wait for.
SETS = ["--set", "data.num_workers=2", "--set", "train.batch_size=2", "--set", "train.log_interval=1",
        "--set", "train.epochs=4", "--set", "train.lr_decay_epoch=[3]"]


def wait_for(process, condition, what, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "training exited before " + what
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def ended(pid):
    """Whether process ``pid`` has ended (gone, or a zombie its parent has not reaped yet)."""
    try:
        with open("/proc/{}/stat".format(pid)) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def children(pid):
    """The processes ``pid`` forked, from any of its threads."""
    pids = []
    for task in os.listdir("/proc/{}/task".format(pid)):
        with open("/proc/{}/task/{}/children".format(pid, task)) as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def start_python(args, out_path):
    """``python ARGS`` in a process group of its own (its forked workers with it), its output to a file: a hung
    worker that outlives it would hold a pipe open."""
    out = open(out_path, "w+")
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    return process, out


def start_training(config, run):
    return start_python(["scripts/train.py", "--config", config, "--output", run, "--no-progress", *SETS],
                        os.path.join(os.path.dirname(run), "train.out"))


def kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def finish(process, out, timeout):
    """Wait for ``process`` (then kill what is left of its group); its exit status and output."""
    try:
        code = process.wait(timeout=timeout)
    finally:
        kill_group(process)
    out.seek(0)
    return code, out.read()


def log_has(run, text):
    path = os.path.join(run, "log.txt")
    return os.path.exists(path) and text in open(path).read()


def test_sigterm_raises_keyboard_interrupt_in_the_run_and_kills_forked_children_whatever_they_do():
    with _stop_on_sigterm():
        pid = os.fork()
        if pid == 0:
            # A loader worker as in the hang: a helper thread takes the signal while the main thread is blocked
            # where Python cannot run a handler. Only the default disposition ends such a process.
            try:
                threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
                signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
                time.sleep(30)
            finally:
                os._exit(3)
        time.sleep(0.2)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 1
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("a forked child did not end within 1 s of SIGTERM")
            time.sleep(0.01)
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_children_forked_outside_a_run_keep_their_handlers():
    def mine(signum, frame):
        pass
    previous = signal.signal(signal.SIGTERM, mine)
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0 if signal.getsignal(signal.SIGTERM) is mine else 4)
        _, status = os.waitpid(pid, 0)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.slow
def test_many_train_and_evaluate_cycles_with_loader_workers_never_hang(demo_voc, tmp_path):
    # Before the fix, 5 of 5 runs of this stress hung (in a train run or a loader cycle); see fork_stress.py.
    process, out = start_python([os.path.join("tests", "fork_stress.py"), demo_voc.root, str(tmp_path / "runs"),
                                 "3", "100"], str(tmp_path / "stress.out"))
    code, text = finish(process, out, 400)
    assert code == 0, text[-3000:]
    assert "finished 3 train runs and 100 loader cycles" in text


@pytest.mark.slow
def test_a_loader_worker_of_a_running_training_ends_within_a_second_on_sigterm(demo_voc, tmp_path):
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    process, _ = start_training(config, run)
    try:
        wait_for(process, lambda: log_has(run, "epoch 1 iteration 2/"), "training started")
        workers = children(process.pid)
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGTERM)
        start = time.monotonic()
        while not ended(workers[0]):
            assert time.monotonic() - start < 1.0, "the loader worker outlived SIGTERM by 1 s"
            time.sleep(0.01)
        assert process.poll() is None  # the run itself goes on
    finally:
        kill_group(process)


@pytest.mark.slow
def test_sigterm_to_the_whole_process_group_saves_and_ends_the_run(demo_voc, tmp_path):
    """A job scheduler (and a terminal's Ctrl-C) signals every process of the job: the loader workers die with
    the chief. One that dies holding the worker pool's queue lock used to leave the chief, its weights saved and
    "interrupted" printed, waiting for that lock for ever in the pool's clean-up."""
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    process, out = start_training(config, run)
    try:
        wait_for(process, lambda: log_has(run, "epoch 2 iteration 2/"), "epoch 2")
        os.killpg(process.pid, signal.SIGTERM)
    finally:
        code, text = finish(process, out, 60)
    assert code == 130, text[-3000:]
    assert os.path.exists(os.path.join(run, "interrupted.params"))
    assert "interrupted; continue with: python scripts/train.py --resume" in text


@pytest.mark.slow
def test_sigterm_to_train_script_with_loader_workers_saves_and_resume_repeats_no_epoch(demo_voc, tmp_path):
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    process, out = start_training(config, run)
    try:
        wait_for(process, lambda: log_has(run, "epoch 2 iteration 2/"), "epoch 2")
        assert len(children(process.pid)) == 2
        os.kill(process.pid, signal.SIGTERM)
    finally:
        code, text = finish(process, out, 60)
    assert code == 130, text[-3000:]
    assert "interrupted; continue with: python scripts/train.py --resume" in text
    assert os.path.exists(os.path.join(run, "interrupted.params"))
    assert [r["epoch"] for r in read_metrics(run)] == ["1"]
    result = subprocess.run([sys.executable, "scripts/train.py", "--resume", "--output", run, "--no-progress"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["epoch"] for r in read_metrics(run)] == ["1", "2", "3", "4"]
    assert "trained to epoch 4" in result.stdout


def test_ending_a_loaders_workers_does_not_wait_for_the_lock_a_killed_worker_held():
    """An idle pool worker waits for a task holding the task queue's lock, so killing the workers (as a signal to
    the process group does) leaves the lock held for ever; end_workers still returns, every worker gone."""
    code = ("import os, signal, time\n"
            "import mxnet as mx\n"
            "from gluon_upgrade.data.transforms import end_workers\n"
            "loader = mx.gluon.data.DataLoader(mx.gluon.data.ArrayDataset(mx.nd.zeros((8, 2))), 2, num_workers=2)\n"
            "next(iter(loader))\n"
            "time.sleep(0.5)\n"
            "workers = list(loader._worker_pool._pool)\n"
            "for worker in workers:\n"
            "    os.kill(worker.pid, signal.SIGKILL)\n"
            "time.sleep(0.5)\n"
            "end_workers(loader)\n"
            "print('ended', [w.is_alive() for w in workers])\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ended [False, False]"

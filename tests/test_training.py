"""The training loop on the demo data: losses fall, checkpoints survive crashes, resumes continue exactly."""
import json
import os
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest
from gluoncv.data.mixup.detection import MixupDetection
from mxnet import autograd

from conftest import ROOT, doc_commands, read_metrics, run_script, write_demo_config

import gluon_upgrade as gu
from gluon_upgrade.config.loader import config_from_dict, load_config
from gluon_upgrade.data.datasets import detection_dataset
from gluon_upgrade.data.transforms import RANDOM_SHAPES, train_loader
from gluon_upgrade.errors import ConfigError
from gluon_upgrade.models.build import build_network
from gluon_upgrade.training import losses as losses_module
from gluon_upgrade.training.distributed import Worker, connect
from gluon_upgrade.errors import TrainingError
from gluon_upgrade.training.loop import train
from gluon_upgrade.training.losses import detector_losses
from gluon_upgrade.training.optim import make_trainer, set_multipliers, train_only_offsets
from gluon_upgrade.training.resume import resume_config
from gluon_upgrade.training.rundir import RunDir

SIZE = 128


def demo_config(root, name="ssd_512_resnet18_v1_voc", model=None, data=None, **train):
    """A small run on the 12-image demo set: 3 iterations of 4 images an epoch."""
    return config_from_dict({
        "model": {"name": name, "data_shape": SIZE, "pretrained_base": False, **(model or {})},
        "data": {"format": "voc", "root": root, "train_splits": ["2007/trainval"], "val_splits": ["2007/test"],
                 **(data or {})},
        "eval": {"batch_size": 6},
        "train": {"epochs": 3, "lr_decay_epoch": [2], "lr": 0.01, "batch_size": 4, **train}})


def params(path):
    return {k: v.asnumpy() for k, v in mx.nd.load(path).items()}


def training_parts(config, ctx):
    """The training set, network, losses and trainer a config describes, as the loop builds them."""
    dataset = detection_dataset(config.data, train=True)
    net = build_network(config.model, dataset.classes, ctx)
    return dataset, net, detector_losses(net), make_trainer(net, config.train, connect("device"))


def step(net, losses, trainer, batch, ctx):
    """One plain forward/backward/update on ``batch``; the per-device losses and the loss parts."""
    with autograd.record():
        totals, parts = losses(net, batch, ctx)
        autograd.backward(totals)
    trainer.step(losses.step_size(batch[0].shape[0]))
    return totals, parts


@pytest.mark.slow
@pytest.mark.parametrize("name, lr, steps", [("ssd_512_resnet18_v1_voc", 0.01, 25), ("yolo3_darknet53_voc", 0.001, 15)])
def test_detector_overfits_one_fixed_batch(demo_voc, name, lr, steps):
    config = demo_config(demo_voc.root, name, lr=lr)
    dataset, net, losses, trainer = training_parts(config, [mx.cpu()])
    mx.random.seed(0)
    batch = next(iter(train_loader(dataset, net, SIZE, 4)))
    net.hybridize(static_alloc=True, static_shape=True)
    history = []
    for _ in range(steps):
        _, parts = step(net, losses, trainer, batch, [mx.cpu()])
        history.append(sum(float(p.asscalar()) for p in parts.values()))
    assert set(parts) == set(losses.parts)
    assert np.isfinite(history).all()
    assert np.mean(history[-3:]) < 0.5 * np.mean(history[:3]), history


def test_yolo_random_shapes_and_mixup_follow_gluoncv_recipe(demo_voc):
    config = demo_config(demo_voc.root, "yolo3_mobilenet0.25_voc")
    dataset = detection_dataset(config.data, train=True)
    net = build_network(config.model, dataset.classes, [mx.cpu()])
    mixed = MixupDetection(dataset)
    mixed.set_mixup(np.random.beta, 1.5, 1.5)
    np.random.seed(1)
    loader = train_loader(mixed, net, SIZE, 1, random_shape=True, mixup=True)
    sides = [batch[0].shape[-1] for batch in loader]
    assert len(sides) == 12 and set(sides) <= set(RANDOM_SHAPES)
    assert len(set(sides[:10])) == 1  # a new side every 10 batches
    boxes = [len(mixed[i][1]) for i in range(12)]
    assert sum(boxes) > sum(len(dataset[i][1]) for i in range(12))  # mixed images carry both images' boxes


@pytest.mark.parametrize("workers", [0, 2])
def test_mixup_reaches_the_loader_workers_until_the_last_no_mixup_epochs(demo_voc, tmp_path, monkeypatch, workers):
    """GluonCV's YOLOv3 recipe mixes images except in the last no_mixup_epochs epochs. The batches the loop trains
    on show it: a mixed image's objects carry their mixing ratio, below 1, as YOLOv3's objectness target, an
    unmixed one's exactly 1 (0 for anchors without an object). Loader workers are forked processes: they must see it too."""
    import gluon_upgrade.tasks as tasks
    weights = []  # per epoch: every value of the batches' objectness targets

    class Recorded:
        def __init__(self, loader):
            self.loader = loader

        def __len__(self):
            return len(self.loader)

        def __iter__(self):
            weights.append([])
            for batch in self.loader:
                weights[-1].extend(np.unique(batch[1].asnumpy()).tolist())
                yield batch

    monkeypatch.setattr(tasks, "train_loader", lambda *args, **kwargs: Recorded(train_loader(*args, **kwargs)))
    config = demo_config(demo_voc.root, "yolo3_mobilenet0.25_voc", data={"num_workers": workers}, epochs=3,
                         lr_decay_epoch=[], lr=0.001, mixup=True, no_mixup_epochs=1, val_interval=3)
    train(config, str(tmp_path / "run"), progress=False)
    assert len(weights) == 3
    for epoch in (0, 1):
        assert any(0 < w < 1 for w in weights[epoch]), weights[epoch]
    assert set(weights[2]) == {0.0, 1.0}
    assert [r["epoch"] for r in read_metrics(str(tmp_path / "run"))] == ["1", "2", "3"]


def test_batches_split_over_two_devices_keep_the_replicas_equal(demo_voc):
    ctx = [mx.cpu(0), mx.cpu(1)]
    dataset, net, losses, trainer = training_parts(demo_config(demo_voc.root), ctx)
    for batch in train_loader(dataset, net, SIZE, 4):
        totals, parts = step(net, losses, trainer, batch, ctx)
    assert len(totals) == 2 and np.isfinite(sum(float(p.asscalar()) for p in parts.values()))
    for name, param in net.collect_params().items():
        if param.grad_req != "null":
            np.testing.assert_array_equal(param.data(ctx[0]).asnumpy(), param.data(ctx[1]).asnumpy(), name)


@pytest.mark.slow
def test_run_directory_holds_config_metrics_log_and_checkpoints(demo_voc, tmp_path):
    run = str(tmp_path / "run")
    result = train(demo_config(demo_voc.root, val_interval=2, tensorboard=True), run, progress=False)
    names = set(os.listdir(run))
    assert {"config.yaml", "metrics.csv", "log.txt", "last.params", "last.states", "best.params",
            "state.json"} <= names
    assert any(n.startswith("events.out.tfevents") for n in names)
    assert not [n for n in names if n.endswith(".tmp")]
    (start,) = json.load(open(os.path.join(run, "machine.json")))
    assert start["from_epoch"] == 0 and start["mxnet"] == mx.__version__ and start["numpy"] == np.__version__
    assert start["gluoncv"] == "0.10.5.post0" and start["cores"] == os.cpu_count() and start["omp_threads"] >= 1
    assert start["dnnl_max_cpu_isa"] == os.environ.get("DNNL_MAX_CPU_ISA", "")
    rows = read_metrics(run)
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "cls_loss", "box_loss", "map", "images", "seconds",
                             "images_per_second", "eval_seconds"]
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.01, 0.01, 0.001])  # decay after epoch 2
    assert [r["map"] != "" for r in rows] == [False, True, True]  # every 2nd epoch and the last
    for row in rows:
        parts = float(row["cls_loss"]) + float(row["box_loss"])
        assert float(row["train_loss"]) == pytest.approx(parts, rel=1e-4)
        assert float(row["images_per_second"]) > 0
    assert result.epoch == 3 and result.best_epoch in (2, 3)
    with open(os.path.join(run, "log.txt")) as f:
        assert "epoch 3 lr 0.001" in f.read()
    with pytest.raises(Exception, match="already holds a run; continue it with --resume"):
        train(demo_config(demo_voc.root), run, progress=False)


def test_dcn_v2_with_mxnets_operator_is_refused_on_cpu_before_the_run_folder_exists(demo_voc, tmp_path):
    """MXNet's v2 operator has no CPU backward: the run stops at start-up, names the implementations that train,
    and writes nothing; impl fast trains the same v2 layers."""
    run = str(tmp_path / "run")
    v2 = {"mode": "dcn_scratch", "upgrade": {"version": 2, "impl": "mxnet"}}
    with pytest.raises(ConfigError, match="no CPU backward.*impl: fast"):
        train(demo_config(demo_voc.root, model=v2, epochs=1, lr_decay_epoch=[]), run, progress=False)
    assert not os.path.exists(run)
    v2["upgrade"]["impl"] = "fast"
    result = train(demo_config(demo_voc.root, model=v2, epochs=1, lr_decay_epoch=[]), run, progress=False)
    assert result.epoch == 1 and np.isfinite(float(read_metrics(run)[0]["train_loss"]))


@pytest.mark.slow
def test_upgrade_run_scores_epoch_0_exactly_as_its_baseline(demo_voc, tmp_path):
    # The baseline overfits the validation images so that its mAP is well above zero and the comparison means
    # something; the upgrade run then must reproduce that mAP before it trains.
    overfit = {"data": {"train_splits": ["2007/test"]}}
    baseline_cfg = demo_config(demo_voc.root, epochs=12, lr_decay_epoch=[10], lr=0.02, val_interval=12)
    baseline_cfg["data"].update(overfit["data"])
    baseline = train(baseline_cfg, str(tmp_path / "baseline"), progress=False)
    weights = str(tmp_path / "baseline" / "best.params")
    upgrade_cfg = demo_config(demo_voc.root, model={"mode": "upgrade", "weights": weights}, epochs=1,
                              lr_decay_epoch=[])
    train(upgrade_cfg, str(tmp_path / "upgrade"), progress=False)
    rows = read_metrics(str(tmp_path / "upgrade"))
    assert [r["epoch"] for r in rows] == ["0", "1"] and rows[0]["train_loss"] == ""
    assert baseline.best_map > 0
    assert float(rows[0]["map"]) == pytest.approx(baseline.best_map, rel=1e-5, abs=0)


@pytest.mark.slow
def test_interrupted_run_saves_and_resumes_to_the_same_weights(demo_voc, tmp_path, monkeypatch):
    config = demo_config(demo_voc.root)
    train(config, str(tmp_path / "straight"), progress=False)

    calls = {"n": 0}
    original = losses_module.SSDLosses.__call__

    def interrupt_in_epoch_2(self, *args):
        calls["n"] += 1
        if calls["n"] == 5:  # epoch 2, iteration 2
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(losses_module.SSDLosses, "__call__", interrupt_in_epoch_2)
    run = str(tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        train(config, run, progress=False)
    assert os.path.exists(os.path.join(run, "interrupted.params"))
    assert [r["epoch"] for r in read_metrics(run)] == ["1"]
    monkeypatch.setattr(losses_module.SSDLosses, "__call__", original)
    train(config, run, resume=True, progress=False)
    straight, resumed = read_metrics(str(tmp_path / "straight")), read_metrics(run)
    assert [r["epoch"] for r in resumed] == ["1", "2", "3"]
    assert [r["lr"] for r in resumed] == [r["lr"] for r in straight]
    expected, got = params(str(tmp_path / "straight" / "last.params")), params(os.path.join(run, "last.params"))
    assert expected.keys() == got.keys()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_resume_accepts_the_same_config_and_names_what_changed(demo_voc, tmp_path):
    path = write_demo_config(tmp_path, demo_voc.root)
    run = str(tmp_path / "run")
    RunDir(run).create(load_config(path).to_yaml())
    assert resume_config(run, load_config(path)) == load_config(path)
    assert resume_config(run, None, ["ctx=[cpu0, cpu1]"]).ctx == ["cpu0", "cpu1"]
    with pytest.raises(ConfigError, match="other values of: model.data_shape, train.lr; a resumed run may change "
                                          "only ctx"):
        resume_config(run, load_config(path, ["train.lr=0.5", "model.data_shape=64"]))


@pytest.mark.slow
def test_non_finite_loss_stops_naming_epoch_and_iteration_and_keeps_the_last_checkpoint(demo_voc, tmp_path,
                                                                                          monkeypatch):
    calls = {"n": 0}
    original = losses_module.SSDLosses.__call__

    def nan_in_epoch_2(self, *args):
        totals, parts = original(self, *args)
        calls["n"] += 1
        if calls["n"] == 5:
            parts["cls_loss"] = parts["cls_loss"] * float("nan")
        return totals, parts

    monkeypatch.setattr(losses_module.SSDLosses, "__call__", nan_in_epoch_2)
    run = str(tmp_path / "run")
    with pytest.raises(TrainingError, match=r"non-finite training loss at epoch 2, iteration 2 of 3 .*cls_loss nan"
                                            r".*last\.params \(epoch 1\)"):
        train(demo_config(demo_voc.root), run, progress=False)
    assert RunDir(run).read_state()["epoch"] == 1
    assert [r["epoch"] for r in read_metrics(run)] == ["1"]


def test_commit_is_all_or_nothing_across_a_crash(tmp_path):
    run = RunDir(str(tmp_path))

    def text(value):
        return lambda path: open(path, "w").write(value)

    run.commit({"epoch": 1}, {"a.txt": text("one"), "b.txt": text("one")})
    # A crash after epoch 2's files were written but before its state was committed: epoch 1 stays.
    for name in ("a.txt", "b.txt"):
        text("two")(run.file(name + ".epoch2.tmp"))
    assert run.recover()["epoch"] == 1
    assert [open(run.file(n)).read() for n in ("a.txt", "b.txt")] == ["one", "one"]
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".tmp")]
    # A crash after the commit, with one rename done: the other is finished on recovery.
    run.commit({"epoch": 2}, {"a.txt": text("two"), "b.txt": text("two")})
    os.replace(run.file("b.txt"), run.file("b.txt.epoch3.tmp"))
    text("one")(run.file("b.txt"))
    state = dict(run.read_state(), epoch=3, pending={"a.txt": "a.txt.epoch3.tmp", "b.txt": "b.txt.epoch3.tmp"})
    text(__import__("json").dumps(state))(run.file("state.json"))
    assert run.recover()["epoch"] == 3 and open(run.file("b.txt")).read() == "two"


@pytest.mark.slow
def test_sigkill_mid_epoch_loses_at_most_that_epoch(demo_voc, tmp_path):
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    process = subprocess.Popen([sys.executable, "scripts/train.py", "--config", config, "--output", run,
                                "--no-progress", "--set", "train.epochs=4", "--set", "train.lr_decay_epoch=[3]"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = RunDir(run)
    deadline = time.monotonic() + 240
    while (state.read_state() or {}).get("epoch", 0) < 1 and time.monotonic() < deadline:
        assert process.poll() is None, "training exited early"
        time.sleep(0.05)
    time.sleep(0.3)  # into epoch 2
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = state.read_state()["epoch"]
    assert 1 <= done < 4
    result = run_script("scripts/train.py", "--resume", "--output", run, "--no-progress", timeout=300)
    assert result.returncode == 0, result.stderr
    assert [r["epoch"] for r in read_metrics(run)] == ["1", "2", "3", "4"]
    assert not [n for n in os.listdir(run) if n.endswith(".tmp")]
    assert "trained to epoch 4" in result.stdout
    # Each start records its machine: the resumed run may have continued on another processor.
    starts = json.load(open(os.path.join(run, "machine.json")))
    assert [s["from_epoch"] for s in starts] == [0, done]


@pytest.mark.slow
def test_piped_output_has_no_progress_bars_but_a_line_per_epoch(demo_voc, tmp_path):
    """Progress bars are for terminals: a run whose output goes to a pipe (as `make demo > log`) writes the epoch
    lines and no carriage-return refreshes, though --no-progress is not given."""
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    # Bytes, not text: text mode would turn the bar's carriage returns into newlines.
    result = subprocess.run([sys.executable, "scripts/train.py", "--config", config, "--output", run, "--set",
                             "train.epochs=2", "--set", "train.lr_decay_epoch=[1]"], cwd=ROOT, capture_output=True,
                            timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output.decode()
    assert b"\r" not in output and b"it/s]" not in output
    assert b"epoch 1 lr" in output and b"epoch 2 lr" in output


@pytest.mark.slow
def test_cli_dry_run_prints_the_resolved_config_and_errors_exit_2(demo_voc, tmp_path):
    result = run_script("scripts/train.py", "--config", "configs/ssd512_voc_upgrade.yaml", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "epochs: 60" in result.stdout and "lr_decay_epoch: [40, 50]" in result.stdout
    bad = write_demo_config(tmp_path, demo_voc.root, extra="optimiser: {lr: 1}\n")
    result = run_script("scripts/train.py", "--config", bad, "--dry-run")
    assert result.returncode == 2 and "unknown key 'optimiser'" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_script("scripts/train.py", "--resume", "--output", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "holds no run" in result.stderr
    # A config for a GPU machine checks on this one too, and says what training here would meet.
    result = run_script("scripts/train.py", "--config", write_demo_config(tmp_path, demo_voc.root), "--set",
                        "ctx=[gpu0]", "--dry-run")
    assert result.returncode == 0 and result.stdout.splitlines()[1].startswith(
        "# not on this machine: ctx ['gpu0'] needs 1 GPUs; MXNet sees 0 here")


def test_a_new_run_does_not_take_a_folder_holding_other_files(demo_voc, tmp_path):
    """A run writes log.txt, metrics.csv, ...: started in an ordinary folder it used to replace files of those
    names without a word."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "log.txt").write_text("my notes")
    result = run_script("scripts/train.py", "--config", write_demo_config(tmp_path, demo_voc.root), "--output",
                        str(folder), "--no-progress")
    assert (result.returncode, result.stderr.strip()) == (
        2, "error: {} holds files that are not a run (log.txt); give a new or empty folder as --output".format(folder))
    assert os.listdir(folder) == ["log.txt"] and (folder / "log.txt").read_text() == "my notes"


@pytest.mark.slow
def test_two_workers_on_loopback_end_with_the_same_parameters(demo_voc, tmp_path):
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    result = run_script("scripts/launch_dist.py", "-n", "2", "-s", "1", "--", sys.executable, "scripts/train.py",
                        "--config", config, "--output", run, "--no-progress", "--set", "train.kvstore=dist_sync",
                        "--set", "train.epochs=2", "--set", "train.lr_decay_epoch=[1]", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    def fingerprints(name):
        with open(os.path.join(run, name)) as f:
            return [line.split("md5 ")[1].strip() for line in f if "parameters md5" in line]

    chief, other = fingerprints("log.txt"), fingerprints("log.rank1.txt")
    assert len(chief) == 2 and chief == other
    assert chief[0] != chief[1]  # the parameters moved between the epochs
    assert "6 per worker x 2 workers" in open(os.path.join(run, "log.txt")).read()


@pytest.mark.slow
def test_the_same_config_twice_gives_the_same_metrics_apart_from_timing(demo_voc, tmp_path):
    # Two loader workers draw the batches in an order that varies from run to run; the augmentation still
    # follows each image's seed, so losses and mAP agree to the last printed digit.
    config = demo_config(demo_voc.root, data={"num_workers": 2}, epochs=2, lr_decay_epoch=[1])
    timing = ("seconds", "images_per_second", "eval_seconds")
    rows = []
    for name in ("first", "second"):
        train(config, str(tmp_path / name), progress=False)
        rows.append([{k: v for k, v in row.items() if k not in timing} for row in read_metrics(str(tmp_path / name))])
    assert len(rows[0]) == 2 and rows[0] == rows[1]


def test_batches_do_not_depend_on_the_number_of_loader_workers(demo_voc):
    config = demo_config(demo_voc.root)
    dataset, net, _, _ = training_parts(config, [mx.cpu()])
    batches = {}
    for workers in (0, 2):
        np.random.seed(5)
        __import__("random").seed(5)
        batches[workers] = [[part.asnumpy() for part in batch]
                            for batch in train_loader(dataset, net, SIZE, 4, workers, augment="crop_flip")]
    assert len(batches[0]) == 3
    for alone, pooled in zip(batches[0], batches[2]):
        for a, b in zip(alone, pooled):
            np.testing.assert_array_equal(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("setting, message", [("ctx=[gpu0]", "gpu"), ("data.root=/nonexistent/voc", "no voc split")])
def test_a_run_that_cannot_start_leaves_no_run_directory(demo_voc, tmp_path, setting, message):
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    result = run_script("scripts/train.py", "--config", config, "--output", run, "--no-progress", "--set", setting)
    assert result.returncode == 2 and message in result.stderr.lower(), result.stderr
    assert not os.path.exists(run)
    result = run_script("scripts/train.py", "--config", config, "--output", run, "--no-progress",
                        "--set", "train.epochs=1", "--set", "train.lr_decay_epoch=[]", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["epoch"] for r in read_metrics(run)] == ["1"]


@pytest.mark.parametrize("offset_lr_mult,no_wd,clip", [(0.1, True, None), (1.0, False, 0.01)])
def test_offset_lr_mult_no_wd_and_clipping_reach_the_optimizer_step(offset_lr_mult, no_wd, clip):
    """One SGD step (no momentum) against its formula by hand:
    w -= lr * mult * (clip(grad / batch) + wd * wd_mult * w)."""
    mx.random.seed(0)
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Conv2D(4, 3, padding=1, in_channels=3), mx.gluon.nn.BatchNorm(in_channels=4),
            mx.gluon.nn.Conv2D(2, 3, padding=1, in_channels=4))
    net.initialize(mx.init.Normal(0.5))
    net = gu.upgrade(net, layers=[net[2].name], scope="")
    for name, param in net.collect_params().items():  # offsets and biases away from zero: decay must show
        if "offset" in name or name.endswith(("_bias", "_beta")):
            param.set_data(mx.nd.random.normal(0, 0.1, shape=param.shape))
    train = {"optimizer": "sgd", "lr": 0.5, "momentum": 0.0, "wd": 0.1, "no_wd": no_wd,
             "offset_lr_mult": offset_lr_mult, "clip_gradient": clip}
    assert set_multipliers(net, train) == 2
    trainer = make_trainer(net, train, Worker(rank=0, count=1, kvstore="device"))
    params = {name: p for name, p in net.collect_params().items() if p.grad_req != "null"}
    before = {name: p.data().asnumpy().copy() for name, p in params.items()}
    x = mx.nd.random.uniform(shape=(2, 3, 6, 6))
    with mx.autograd.record():
        loss = (net(x) ** 2).sum()
    loss.backward()
    grads = {name: p.grad().asnumpy().copy() for name, p in params.items()}
    if clip is not None:  # the clip must bite somewhere for the case to test it
        assert max(np.abs(g / 2).max() for g in grads.values()) > clip
    trainer.step(2)
    for name, param in params.items():
        lr = 0.5 * (offset_lr_mult if "offset" in name else 1.0)
        wd = 0.0 if no_wd and name.endswith(("_bias", "_beta", "_gamma")) else 0.1
        grad = grads[name] / 2 if clip is None else np.clip(grads[name] / 2, -clip, clip)
        expected = before[name] - lr * (grad + wd * before[name])
        np.testing.assert_allclose(param.data().asnumpy(), expected, rtol=1e-5, atol=1e-6, err_msg=name)


def test_offsets_only_phase_moves_the_offsets_alone_then_everything_with_its_own_multipliers():
    """Two SGD steps (no momentum, no decay) by hand: in the offsets-only phase every other parameter keeps its
    value exactly; after it each parameter moves by lr * its own multiplier * grad."""
    mx.random.seed(1)
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Conv2D(4, 3, padding=1, in_channels=3), mx.gluon.nn.Conv2D(2, 3, padding=1, in_channels=4))
    net.initialize(mx.init.Normal(0.5))
    net = gu.upgrade(net, layers=[net[1].name], scope="")
    first = net[0].weight
    first.lr_mult = 0.5  # a multiplier of the model's own must come back after the phase
    # A small rate: offsets moved far off the map would sample nothing and leave the first layer no gradient.
    train = {"optimizer": "sgd", "lr": 1e-4, "momentum": 0.0, "wd": 0.0, "no_wd": False, "offset_lr_mult": 2.0,
             "clip_gradient": None}
    set_multipliers(net, train)
    multipliers = {name: p.lr_mult for name, p in net.collect_params().items()}
    trainer = make_trainer(net, train, Worker(rank=0, count=1, kvstore="device"))
    params = net.collect_params()
    x = mx.nd.random.uniform(shape=(2, 3, 6, 6))
    for only in (True, False):
        train_only_offsets(net, only, multipliers)
        before = {name: p.data().asnumpy().copy() for name, p in params.items()}
        with mx.autograd.record():
            loss = (net(x) ** 2).sum()
        loss.backward()
        grads = {name: p.grad().asnumpy().copy() for name, p in params.items()}
        trainer.step(1)
        for name, param in params.items():
            offset = "offset" in name
            mult = 2.0 if offset else (0.0 if only else (0.5 if param is first else 1.0))
            assert np.abs(grads[name]).max() > 0, name
            np.testing.assert_allclose(param.data().asnumpy(), before[name] - 1e-4 * mult * grads[name],
                                       rtol=1e-5, atol=1e-7, err_msg=name)
            if only and not offset:
                assert np.array_equal(param.data().asnumpy(), before[name]), name
    assert first.lr_mult == 0.5


def test_offsets_only_epochs_beyond_the_run_is_a_config_error(demo_voc):
    with pytest.raises(ConfigError, match="train.offsets_only_epochs.*at most train.epochs \\(3\\), got 4"):
        demo_config(demo_voc.root, offsets_only_epochs=4)
    assert demo_config(demo_voc.root, offsets_only_epochs=3)["train"]["offsets_only_epochs"] == 3


@pytest.mark.slow
def test_an_offsets_only_epoch_leaves_every_other_weight_of_the_baseline_as_it_was(demo_voc, tmp_path):
    # No weight decay in the baseline: it would move the gammas of the SSD head's fix_gamma batch norms, which
    # MXNet's operator sets back to 1 at every forward, so those alone would differ.
    train(demo_config(demo_voc.root, epochs=1, lr_decay_epoch=[], wd=0.0), str(tmp_path / "baseline"),
          progress=False)
    weights = str(tmp_path / "baseline" / "last.params")
    upgrade = demo_config(demo_voc.root, model={"mode": "upgrade", "weights": weights}, epochs=1, lr_decay_epoch=[],
                          offsets_only_epochs=1)
    train(upgrade, str(tmp_path / "upgrade"), progress=False)
    before = params(weights)
    after = params(str(tmp_path / "upgrade" / "last.params"))
    offsets = [name for name in after if "_offset_" in name]
    assert len(offsets) == 6 and all(np.abs(after[name]).max() > 0 for name in offsets)  # three layers trained
    statistics = 0
    for name, value in before.items():
        # An upgraded layer's weight and bias live on in its deformable convolution (conv -> conv_deformable_conv).
        kept = name if name in after else name.replace("_weight", "_deformable_conv_weight").replace(
            "_bias", "_deformable_conv_bias")
        if name.endswith(("running_mean", "running_var", "moving_mean", "moving_var")):
            statistics += not np.array_equal(after[kept], value)  # batch-norm statistics follow the data
            continue
        np.testing.assert_array_equal(after[kept], value, err_msg=name)
    assert statistics > 0 and len(after) == len(before) + len(offsets)


def test_a_run_in_use_is_refused_with_one_line_and_left_as_it_was(demo_voc, tmp_path):
    """Two processes on one run would write every epoch twice: while a process holds the run (here this test), a
    --resume of it exits 2 naming the holder's pid and writes nothing; the lock ends with its holder."""
    path = write_demo_config(tmp_path, demo_voc.root)
    run = RunDir(str(tmp_path / "run"))
    run.create(load_config(path).to_yaml())
    before = sorted(os.listdir(run.path))
    with run.locked():
        result = run_script("scripts/train.py", "--resume", "--output", run.path, "--no-progress")
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            "error: {} is in use by another training process (pid {}); wait for it to end, or give another "
            "--output".format(run.path, os.getpid())]
        assert sorted(os.listdir(run.path)) == sorted(before + [".lock"])
    # Released: another process takes it.
    probe = run_script("-c", "from gluon_upgrade.training.rundir import RunDir\n"
                             "with RunDir({!r}).locked(): print('locked')".format(run.path))
    assert probe.stdout.strip() == "locked", probe.stderr


@pytest.mark.slow
def test_resume_follows_a_moved_data_set_and_refuses_another(demo_voc, tmp_path):
    """data.root may change on resume (the set moved), but not what it holds: the same names with fewer images, or
    with one box moved, stop the resume with one line, and the run is left as it was."""
    import shutil
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    result = run_script("scripts/train.py", "--config", config, "--output", run, "--no-progress",
                        "--set", "train.epochs=1", "--set", "train.lr_decay_epoch=[]", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    moved = str(tmp_path / "moved")
    shutil.copytree(demo_voc.root, moved)
    fewer, one_box = str(tmp_path / "fewer"), str(tmp_path / "one_box")
    shutil.copytree(demo_voc.root, fewer)
    split = os.path.join(fewer, "VOCdevkit", "VOC2007", "ImageSets", "Main", "trainval.txt")
    ids = open(split).read().split()
    with open(split, "w") as f:
        f.write("\n".join(ids[:8]) + "\n")
    shutil.copytree(demo_voc.root, one_box)
    annotation = os.path.join(one_box, "VOCdevkit", "VOC2007", "Annotations", ids[0] + ".xml")
    text = open(annotation).read()
    start = text.index("<xmin>") + len("<xmin>")
    end = text.index("</xmin>")
    with open(annotation, "w") as f:
        f.write(text[:start] + str(int(float(text[start:end])) + 1) + text[end:])

    files = sorted(os.listdir(run))
    metrics = open(os.path.join(run, "metrics.csv")).read()
    for root, message in ((fewer, "the train split (8 images now, 12 when the run started) differ"),
                          (one_box, "the train split (12 images now, 12 when the run started) differ")):
        result = run_script("scripts/train.py", "--resume", "--output", run, "--no-progress",
                            "--set", "data.root=" + root, timeout=300)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines()[-1] == (
            "error: --resume: data.root {} holds another data set than the run in {} started with: {}; resume on "
            "that data set, or start a new run".format(root, run, message))
        assert sorted(os.listdir(run)) == files and open(os.path.join(run, "metrics.csv")).read() == metrics
    result = run_script("scripts/train.py", "--resume", "--output", run, "--no-progress",
                        "--set", "data.root=" + moved, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "trained to epoch 1" in result.stdout


@pytest.mark.slow
def test_the_readmes_training_commands_pass_their_dry_run():
    """Each README command that starts a run is checked as written, with --dry-run added (config, schedule and
    network, no data or weights): a command a user copies must not fail on its own arguments."""
    commands = [args for name, args in doc_commands("README.md") if name == "train" and "--resume" not in args]
    assert any("configs/demo/ssd_voc.yaml" in args for args in commands)
    for args in commands:
        result = run_script("scripts/train.py", *args, "--dry-run", timeout=300)
        assert result.returncode == 0, (args, result.stderr[-1000:])


@pytest.mark.slow
def test_a_damaged_image_is_named_in_one_line_or_skipped_and_counted(demo_voc, tmp_path):
    """A training JPEG of random bytes stopped training deep in a loader worker, without its name, and left a run
    folder that refused the retry; an empty test JPEG did the same to evaluation."""
    import shutil
    root = str(tmp_path / "voc")
    shutil.copytree(demo_voc.root, root)
    images = os.path.join(root, "VOCdevkit", "VOC2007", "JPEGImages")
    split = os.path.join(root, "VOCdevkit", "VOC2007", "ImageSets", "Main")
    train_id, test_id = (open(os.path.join(split, name)).read().split()[0] for name in ("trainval.txt", "test.txt"))
    damaged = os.path.join(images, train_id + ".jpg")
    with open(damaged, "wb") as f:
        f.write(np.random.RandomState(0).bytes(2000))
    config, run = write_demo_config(tmp_path, root), str(tmp_path / "run")
    short = ["--set", "train.epochs=1", "--set", "train.lr_decay_epoch=[]", "--set", "data.num_workers=2"]
    result = run_script("scripts/train.py", "--config", config, "--output", run, "--no-progress", *short)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: {}: not an image file (starts with bytes {}; expected BMP, "
                                                  "GIF, JPEG, PNG, TIFF, WebP)".format(
                                                      damaged, open(damaged, "rb").read(4).hex(" "))]
    assert not os.path.exists(run)
    result = run_script("scripts/train.py", "--config", config, "--output", run, "--no-progress", *short,
                        "--set", "data.on_bad_annotation=skip", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipped 1 image(s) with bad annotations or image files" in result.stderr
    assert read_metrics(run)[0]["images"] == "8"  # 11 images left, 2 batches of 4
    empty = os.path.join(images, test_id + ".jpg")
    open(empty, "wb").close()
    result = run_script("scripts/eval.py", "--config", config, "--weights", os.path.join(run, "best.params"),
                        "--no-progress")
    assert (result.returncode, result.stderr.strip().splitlines()[-1]) == (
        2, "error: {}: not an image file (0 bytes; expected BMP, GIF, JPEG, PNG, TIFF, WebP)".format(empty))


@pytest.mark.slow
def test_relative_paths_follow_the_config_file_and_the_run_resumes_from_anywhere(demo_voc, tmp_path):
    """A config's relative data.root is found beside the config file, not in the working folder (which used to
    give "no VOC split"); the run's config.yaml keeps where it was found, so --resume works from elsewhere."""
    import shutil
    shutil.copytree(demo_voc.root, str(tmp_path / "voc"))
    (tmp_path / "exp").mkdir()
    elsewhere = tmp_path / "elsewhere" / "deeper"  # where ../voc is not
    elsewhere.mkdir(parents=True)
    config = tmp_path / "exp" / "demo.yaml"
    config.write_text(open(write_demo_config(tmp_path, "../voc")).read())
    script = os.path.join(ROOT, "scripts", "train.py")
    run = str(tmp_path / "exp" / "run")
    command = [sys.executable, script, "--config", str(config), "--output", run, "--no-progress",
               "--set", "train.epochs=2", "--set", "train.lr_decay_epoch=[]"]
    process = subprocess.Popen(command, cwd=str(elsewhere), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while (RunDir(run).read_state() or {}).get("epoch", 0) < 1 and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    assert RunDir(run).read_state()["epoch"] == 1, stderr
    assert load_config(os.path.join(run, "config.yaml")).data.root == str(tmp_path / "voc")
    result = subprocess.run([sys.executable, script, "--resume", "--output", run, "--no-progress"],
                            cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["epoch"] for r in read_metrics(run)] == ["1", "2"]


@pytest.mark.slow
def test_sigterm_to_the_launcher_ends_every_process_it_started(demo_voc, tmp_path):
    """A scheduler ending a distributed job signals the launcher: it used to die alone and leave the scheduler,
    the server and both workers running."""
    config, run = write_demo_config(tmp_path, demo_voc.root), str(tmp_path / "run")
    launcher = subprocess.Popen(
        [sys.executable, "scripts/launch_dist.py", "-n", "2", "-s", "1", "--", sys.executable, "scripts/train.py",
         "--config", config, "--output", run, "--no-progress", "--set", "train.kvstore=dist_sync",
         "--set", "train.epochs=50", "--set", "train.lr_decay_epoch=[40]"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def children():  # the launcher's: the scheduler, the server and the workers
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/{}/stat".format(pid)) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == launcher.pid:
                        found.append(int(pid))
            except (OSError, IndexError, ValueError):
                pass
        return found

    def running(pids):
        alive = []
        for pid in pids:
            try:
                with open("/proc/{}/stat".format(pid)) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        alive.append(pid)
            except OSError:
                pass
        return alive

    deadline = time.monotonic() + 240
    while (RunDir(run).read_state() or {}).get("epoch", 0) < 1 and time.monotonic() < deadline:
        assert launcher.poll() is None, "the launcher exited early"
        time.sleep(0.1)
    pids = children()
    assert len(pids) == 4
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=120) == 130
    deadline = time.monotonic() + 30
    while running(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert running(pids) == []

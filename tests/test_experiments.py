"""The paper's experiments end to end on a tiny demo set: Table II, the Table III/IV harness, the depth study."""
import glob
import json
import os
import shutil
import subprocess
import sys

import matplotlib.image
import pytest
import yaml

from gluon_upgrade.config.loader import load_config
from gluon_upgrade.errors import ConfigError, DataError
from gluon_upgrade.experiments import reproduce as harness
from gluon_upgrade.experiments import runs as runs_module
from gluon_upgrade.experiments.depth import run_depth_study
from gluon_upgrade.experiments.reproduce import Row, format_commands, make_plans, select_rows
from gluon_upgrade.experiments.runs import ensure_run, fine_tune_overrides, read_run
from gluon_upgrade.experiments.table2 import run_table2
from gluon_upgrade.paths import REPO_ROOT, portable_path
from gluon_upgrade.reporting.curves import plot_runs

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SIZE = 96


def write_configs(folder, data_root, epochs=2, **train):
    """Baseline, DCN and upgrade configs of the demo SSD on the tiny set, as Table II's demo configs are built."""
    base = {"model": {"name": "ssd_128_resnet29_v1_demo", "data_shape": SIZE, "pretrained_base": False},
            # Scored on the training images, so that a few epochs reach a mAP above 0 to compare.
            "data": {"format": "voc", "root": data_root, "train_splits": ["2007/trainval"],
                     "val_splits": ["2007/trainval"]},
            "eval": {"batch_size": 12},
            "train": {"epochs": epochs, "lr_decay_epoch": [epochs - 1], "optimizer": "adam", "lr": 0.002,
                      "batch_size": 4, "augment": "crop_flip", **train}}
    paths = {}
    for name, extra in (("baseline", {}), ("dcn", {"_base_": "baseline.yaml", "model": {"mode": "dcn_scratch"}}),
                        ("upgrade", {"_base_": "baseline.yaml",
                                     "model": {"mode": "upgrade", "weights": "missing.params"},
                                     "train": {"fine_tune_of": "baseline.yaml", "epochs": None,
                                               "lr_decay_epoch": None}})):
        paths[name] = os.path.join(folder, name + ".yaml")
        with open(paths[name], "w") as f:
            yaml.safe_dump(base if name == "baseline" else extra, f)
    return paths


@pytest.fixture(scope="module")
def table2(demo_voc, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("table2"))
    paths = write_configs(folder, demo_voc.root, epochs=4)
    out = os.path.join(folder, "results")
    table = run_table2(paths["baseline"], paths["dcn"], paths["upgrade"], out, command="make it", progress=False)
    return table, out, paths


@pytest.mark.slow
def test_table2_runs_the_four_experiments_with_the_papers_schedules(table2):
    table, out, _ = table2
    baseline, dcn, up, control = (table.runs[name] for name in ("baseline", "dcn_scratch", "upgrade", "control"))
    assert (baseline.epochs, dcn.epochs, up.epochs, control.epochs) == (4, 4, 1, 1)  # a quarter of 4
    assert up.config["model"]["weights"] == os.path.abspath(os.path.join(out, "table2", "baseline", "best.params"))
    # 12 images in batches of 4: 12 images an epoch, every epoch evaluated; the upgrade's epoch 0 too.
    assert [row["images"] for row in baseline.rows] == [12] * 4
    assert [row["epoch"] for row in up.rows] == [0, 1] and all(row["map"] is not None for row in up.rows)
    assert up.best("map") == max(up.rows[0]["map"], up.rows[1]["map"])
    assert up.best("map", first_epoch=1) == up.rows[1]["map"]  # the fine-tune alone
    # The control is the upgrade's run without the upgrade: same weights, schedule and data, standard layers.
    assert control.config["model"]["mode"] == "baseline"
    assert {k: v for k, v in control.config["model"].items() if k != "mode"} == \
        {k: v for k, v in up.config["model"].items() if k != "mode"}
    assert control.config["train"] == up.config["train"]
    assert [row["epoch"] for row in control.rows] == [0, 1] and control.rows[1]["images"] == 12


@pytest.mark.slow
def test_the_upgraded_baseline_scores_what_the_baseline_scored(table2):
    table, _, _ = table2
    # The upgrade is exact: before fine-tuning, the deformable network is the baseline's best network. A mAP
    # above 0 means some detections are ranked and matched, which any change in the outputs would disturb.
    assert table.runs["baseline"].best("map") > 0
    assert table.runs["upgrade"].rows[0]["map"] == pytest.approx(table.runs["baseline"].best("map"), abs=1e-6)
    assert table.runs["control"].rows[0]["map"] == pytest.approx(table.runs["baseline"].best("map"), abs=1e-6)


@pytest.mark.slow
def test_table2_report_and_curves_are_written(table2):
    table, out, _ = table2
    text = open(os.path.join(out, "table2.md")).read()
    assert "Made by `make it`." in text and text == table.markdown()
    rows = [line for line in text.splitlines() if line.startswith(("| 1.", "| 2.", "| 3.", "| 4."))]
    assert len(rows) == 4
    assert rows[0].split("|")[2].strip() == "4" and rows[2].split("|")[2].strip() == "1"
    assert rows[3].split("|")[2].strip() == "1" and rows[3].split("|")[8].strip() == "-"  # no paper value
    effect = 100 * (table.runs["upgrade"].final("map") - table.runs["control"].final("map"))
    assert "Upgrade minus control, final mAP: {:+.2f} points".format(effect) in text
    # Per-class AP comes from a fresh network loading each run's last.params: its mean is the loop's final mAP.
    for name, run in table.runs.items():
        values = [v for v in table.per_class[name].values() if v == v]
        assert sum(values) / len(values) == pytest.approx(run.final("map"), abs=1e-5), name
    assert "## AP per class of each final network (%)" in text
    assert rows[0].split("|")[6].strip() == "48"  # training images: 4 epochs x 12
    for name in ("map_curves.png", "loss_curves.png"):
        image = matplotlib.image.imread(os.path.join(out, name))
        assert image.shape[0] > 100 and image.std() > 0


@pytest.mark.slow
def test_table2_reuses_finished_runs(table2, monkeypatch):
    table, out, paths = table2
    monkeypatch.setattr(runs_module, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    again = run_table2(paths["baseline"], paths["dcn"], paths["upgrade"], out, command="make it", progress=False)
    assert again.rows() == table.rows()


@pytest.mark.slow
def test_table2_refuses_a_dcn_config_trained_otherwise(table2, tmp_path):
    _, _, paths = table2
    other = tmp_path / "dcn.yaml"
    other.write_text("_base_: {}\nmodel: {{mode: dcn_scratch}}\ntrain: {{lr: 0.5}}\n".format(paths["baseline"]))
    with pytest.raises(ConfigError, match="train.lr"):
        run_table2(paths["baseline"], str(other), paths["upgrade"], str(tmp_path / "out"), progress=False)
    with pytest.raises(ConfigError, match="model.mode: dcn_scratch"):
        run_table2(paths["baseline"], paths["baseline"], paths["upgrade"], str(tmp_path / "out"), progress=False)


@pytest.mark.slow
def test_ensure_run_resumes_an_unfinished_run_and_restarts_a_copy_without_checkpoints(table2, tmp_path,
                                                                                     monkeypatch):
    _, out, paths = table2
    config = load_config(paths["baseline"])
    source = os.path.join(out, "table2", "baseline")
    calls = []
    monkeypatch.setattr(runs_module, "train", lambda c, o, resume=False, progress=True: calls.append(resume))
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    for name in ("config.yaml", "metrics.csv", "last.params", "last.states"):
        (unfinished / name).write_bytes(open(os.path.join(source, name), "rb").read())
    state = json.load(open(os.path.join(source, "state.json")))
    (unfinished / "state.json").write_text(json.dumps(dict(state, epoch=2, pending={})))
    ensure_run(config, str(unfinished), progress=False)
    assert calls == [True]
    os.remove(unfinished / "last.params")  # like committed results: metrics but no checkpoints
    calls.clear()
    with pytest.raises(ConfigError, match="holds no training run"):  # the stub started nothing
        ensure_run(config, str(unfinished), progress=False)
    assert calls == [False] and not (unfinished / "metrics.csv").exists()


@pytest.mark.slow
def test_ensure_run_compares_configs_through_the_schema(table2, tmp_path, monkeypatch):
    _, out, paths = table2
    source = os.path.join(out, "table2", "baseline")
    copy = tmp_path / "older"
    shutil.copytree(source, str(copy))
    # A run made before a key existed: its saved config lacks the key, which then counts at its default.
    saved = (copy / "config.yaml").read_text()
    assert "  tensorboard: false\n" in saved
    (copy / "config.yaml").write_text(saved.replace("  tensorboard: false\n", ""))
    monkeypatch.setattr(runs_module, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    assert ensure_run(load_config(paths["baseline"]), str(copy), progress=False).finished
    calls = []
    monkeypatch.setattr(runs_module, "train", lambda c, o, resume=False, progress=True: calls.append(resume))
    with pytest.raises(ConfigError, match="holds no training run"):  # another value: a new run (the stub's)
        ensure_run(load_config(paths["baseline"], ["train.lr=0.5"]), str(copy), progress=False)
    assert calls == [False]


def test_paths_inside_the_repository_are_kept_relative_to_it(tmp_path, monkeypatch):
    inside = os.path.join(REPO_ROOT, "configs", "demo", "ssd_voc.yaml")
    assert portable_path(inside) == os.path.join("configs", "demo", "ssd_voc.yaml")
    assert portable_path(str(tmp_path / "x.params")) == str(tmp_path / "x.params")
    assert fine_tune_overrides(12, os.path.join(REPO_ROOT, "runs", "b", "best.params"))[0] == \
        "model.weights=" + os.path.join("runs", "b", "best.params")
    monkeypatch.chdir(str(tmp_path))  # from anywhere, the fine-tune's baseline reads the same
    config = load_config(os.path.join(REPO_ROOT, "configs", "demo", "ssd_voc_upgrade.yaml"))
    assert config["train"]["fine_tune_of"] == os.path.join("configs", "demo", "ssd_voc.yaml")
    (tmp_path / "config.yaml").write_text(config.to_yaml())  # a saved run config loads back unchanged
    assert load_config(str(tmp_path / "config.yaml")) == config


def test_committed_table2_runs_hold_no_absolute_paths():
    configs = glob.glob(os.path.join(ROOT, "results", "demo", "table2*", "**", "config.yaml"), recursive=True)
    assert len(configs) >= 4
    for path in configs:
        with open(path) as f:
            config = yaml.safe_load(f)
        for value in (config["model"]["weights"], config["train"]["fine_tune_of"]):
            assert value is None or not os.path.isabs(value), (path, value)


@pytest.mark.slow
def test_read_run_and_plot_errors(table2, tmp_path):
    _, out, _ = table2
    run = read_run(os.path.join(out, "table2", "baseline"))
    assert run.finished and isinstance(run.rows[0]["epoch"], int) and run.total("images") == 48
    with pytest.raises(ConfigError, match="holds no training run"):
        read_run(str(tmp_path))
    with pytest.raises(ConfigError, match="no metrics column mapp; the runs have:\n  box_loss"):
        plot_runs([run], str(tmp_path / "x.png"), ["mapp"])


@pytest.mark.slow
def test_plot_script_draws_runs(table2, tmp_path):
    _, out, _ = table2
    png = tmp_path / "curves.png"
    runs = [os.path.join(out, "table2", name) for name in ("baseline", "upgrade")]
    done = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "plot.py"), *runs, "--out", str(png)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert matplotlib.image.imread(str(png)).shape[1] > 1000  # two panels
    missing = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "plot.py"), str(tmp_path),
                              "--out", str(png)], capture_output=True, text=True)
    assert missing.returncode == 2 and "holds no training run" in missing.stderr


@pytest.mark.slow
def test_depth_study_counts_offset_parameters_exactly(table2, tmp_path):
    _, out, paths = table2
    text = run_depth_study(paths["baseline"], paths["upgrade"], str(tmp_path), depths=[0, 1, 3],
                           baseline_run=os.path.join(out, "table2", "baseline"), batch=2, repeats=2,
                           command="depth it", progress=False)
    data = json.load(open(tmp_path / "table1_depth.json"))["depths"]
    offset = 18 * 128 * 9 + 18  # one offset conv on a 128-channel 3x3 layer of stage 4
    assert data["1"]["params"] - data["0"]["params"] == offset
    assert data["3"]["params"] - data["0"]["params"] == 3 * offset
    assert data["0"]["infer_ratio"] == 1 and data["3"]["train_ratio"] > 0
    assert data["3"]["layers"] == "res5a,b,c" and "depth it" in text
    fine_tunes = [read_run(str(tmp_path / "depth" / str(d))) for d in (0, 1, 3)]
    assert [run.config["model"]["mode"] for run in fine_tunes] == ["baseline", "upgrade", "upgrade"]
    assert {run.epochs for run in fine_tunes} == {1}
    # Accuracy is the fine-tune's (epoch 1), not the upgraded baseline's epoch 0, at every depth alike.
    assert [data[str(d)]["best_map"] for d in (0, 1, 3)] == [run.rows[-1]["map"] for run in fine_tunes]
    assert (tmp_path / "table1_depth.png").exists()


def test_harness_rows_and_dry_run_commands():
    with pytest.raises(ConfigError, match="unknown row\\(s\\) ssd300 of Table 3; the rows are:\n  ssd512_resnet50"):
        select_rows(3, ["ssd300"])
    assert [row.key for row in select_rows(4, None)][-1] == "yolo3_608_darknet53"
    text = format_commands(make_plans(3, ["ssd512_resnet50"], "gluon", "results", None, False, []))
    assert "scripts/eval.py --config configs/ssd512_voc_upgrade.yaml --set model.mode=baseline" in text
    assert "scripts/train.py --config configs/ssd512_voc_upgrade.yaml --output results/table3/ssd512_resnet50/" \
           "fine_tune" in text
    own = format_commands(make_plans(3, ["yolo3_416_darknet53"], "own", "r", "/data/voc", False, []))
    assert "scripts/train.py --config configs/yolo3_416_voc_baseline.yaml --set data.root=/data/voc" in own
    assert "model.weights=" in own and "train.epochs=50" in own and "train.lr_decay_epoch=[33, 42]" in own


def test_harness_without_data_says_how_to_prepare_it(tmp_path):
    with pytest.raises(DataError, match="pascal_voc.py"):
        harness.reproduce(3, ["ssd512_resnet50"], out=str(tmp_path), data_root=str(tmp_path / "none"),
                          progress=False)


@pytest.mark.slow
def test_harness_row_on_own_baseline_fills_the_table_and_is_not_redone(table2, tmp_path, monkeypatch):
    _, _, paths = table2
    row = Row("ssd512_resnet50", "tiny SSD", paths["baseline"], paths["upgrade"])
    monkeypatch.setitem(harness.DEMO_TABLES, 3, (row,))
    text = harness.reproduce(3, out=str(tmp_path), demo=True, command="repro", progress=False)
    measured = json.load(open(tmp_path / "table3.json"))["ssd512_resnet50"]
    # F (the base network, scored on its own) equals the upgraded network before fine-tuning.
    assert measured["F"]["map"] > 0
    assert measured["upgraded"]["map"] == pytest.approx(measured["F"]["map"], abs=1e-6)
    line = next(line for line in text.splitlines() if line.startswith("| tiny SSD"))
    assert "| own |" in line and "| 79.90 | 80.80 |" in line  # the paper's authors'-base values
    fine_tune, baseline = (read_run(str(tmp_path / "table3" / sub)) for sub in (
        "ssd512_resnet50_own/fine_tune", "baselines/" + os.path.splitext(os.path.basename(paths["baseline"]))[0]))
    seconds = json.load(open(tmp_path / "table3" / "ssd512_resnet50_own" / "base_eval.json"))["seconds"]
    assert measured["minutes"]["row"] == pytest.approx((seconds + fine_tune.total("seconds")
                                                        + fine_tune.total("eval_seconds")) / 60)
    assert measured["minutes"]["baseline"] == pytest.approx(
        (baseline.total("seconds") + baseline.total("eval_seconds")) / 60)
    assert line.endswith("| {:.1f} + baseline {:.1f} |".format(measured["minutes"]["row"],
                                                                measured["minutes"]["baseline"]))
    monkeypatch.setattr(runs_module, "train", lambda *a, **k: pytest.fail("a finished row was trained again"))
    monkeypatch.setattr(harness, "evaluate_config", lambda *a, **k: pytest.fail("a finished row was scored again"))
    assert harness.reproduce(3, out=str(tmp_path), demo=True, command="repro", progress=False) == text
    dry = format_commands(make_plans(3, None, "own", str(tmp_path), None, True, []))
    assert dry.count("# done: ") == 3

"""The paper's experiments end to end on a tiny demo set: Table II, the Table III/IV harness, the depth study."""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import matplotlib.image
import pytest
import yaml
from conftest import read_metrics, run_script

from gluon_upgrade.config.loader import load_config
from gluon_upgrade.errors import ConfigError, DataError
from gluon_upgrade.experiments import reproduce as harness
from gluon_upgrade.experiments import depth as depth_module
from gluon_upgrade.experiments import runs as runs_module
from gluon_upgrade.experiments.depth import run_depth_study
from gluon_upgrade.experiments.offset_study import run_offset_study
from gluon_upgrade.experiments.reproduce import Row, format_commands, make_plans, select_rows, table_markdown
from gluon_upgrade.experiments.runs import RunRecord, ensure_run, fine_tune_overrides, read_run
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
    assert "Made by `make it`." in text
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith(("| 1.", "| 2.", "| 3.", "| 4."))]
    assert len(rows) == 4
    # Every cell against the runs' metrics.csv, read here with the csv module.
    finals = {}
    for cells, name in zip(rows, ("baseline", "dcn_scratch", "upgrade", "control")):
        metrics = read_metrics(os.path.join(out, "table2", name))
        maps = [(float(m["map"]), int(m["epoch"])) for m in metrics if int(m["epoch"]) >= 1]
        finals[name] = maps[-1][0]
        best = max(maps, key=lambda pair: (pair[0], -pair[1]))
        assert cells[1].strip() == str(len(maps))
        assert float(cells[3]) == pytest.approx(100 * maps[-1][0], abs=0.005)
        value, epoch = cells[4].strip().rstrip(")").split(" (epoch ")
        assert (float(value), int(epoch)) == (pytest.approx(100 * best[0], abs=0.005), best[1])
        assert int(cells[5].replace(",", "")) == sum(int(m["images"]) for m in metrics if m["images"])
    assert [cells[1].strip() for cells in rows] == ["4", "4", "1", "1"] and rows[3][7].strip() == "-"
    effect = 100 * (finals["upgrade"] - finals["control"])
    assert "Upgrade minus control, final mAP: {:+.2f} points".format(effect) in text
    # Per-class AP comes from a fresh network loading each run's last.params: its mean is the loop's final mAP.
    for name, run in table.runs.items():
        values = [v for v in table.per_class[name].values() if v == v]
        assert sum(values) / len(values) == pytest.approx(run.final("map"), abs=1e-5), name
    assert "## AP per class of each final network (%)" in text
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


def test_committed_demo_runs_hold_no_absolute_paths():
    configs = glob.glob(os.path.join(ROOT, "results", "demo", "**", "config.yaml"), recursive=True)
    assert len(configs) >= 4 + 2 * 20 + 15 + 6  # Table II; Tables III and IV (2 baselines, 18 runs); depth; offsets
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
    # x is 1 at depth 0 and measured (measure_speeds, tested below) elsewhere.
    table = {int(cells[0]): [float(c) for c in cells[6:10]] for cells in (
        line.split("|")[1:-1] for line in text.splitlines() if line.startswith(("| 0 ", "| 1 ", "| 3 ")))}
    assert table[0][1] == table[0][3] == 1.0 and all(x > 0 for d in (1, 3) for x in table[d])
    assert data["3"]["layers"] == "res5a,b,c" and "depth it" in text
    fine_tunes = [read_run(str(tmp_path / "depth" / str(d))) for d in (0, 1, 3)]
    assert [run.config["model"]["mode"] for run in fine_tunes] == ["baseline", "upgrade", "upgrade"]
    assert {run.epochs for run in fine_tunes} == {1}
    # Accuracy is the fine-tune's (epoch 1), not the upgraded baseline's epoch 0, at every depth alike.
    assert [data[str(d)]["best_map"] for d in (0, 1, 3)] == [run.rows[-1]["map"] for run in fine_tunes]
    assert (tmp_path / "table1_depth.png").exists()


def test_speeds_are_timed_against_depth_0_in_alternation_and_reported_as_medians(demo_voc, tmp_path, monkeypatch):
    dcn = write_configs(str(tmp_path), demo_voc.root)["dcn"]
    configs = {0: load_config(dcn, ["model.mode=baseline"]), 2: load_config(dcn, ["model.upgrade.layers=last2"])}
    # Seconds per batch of 4 for each round, as alternate would measure them; every step still runs once.
    scripted = [{"infer": [0.4, 0.2, 0.3], "train": [0.8, 0.8, 1.6]},
                {"infer": [0.6, 0.4, 0.9], "train": [1.0, 2.0, 3.0],
                 "reference infer": [0.2, 0.2, 0.3], "reference train": [1.0, 1.0, 1.0]}]
    calls = []

    def alternate(steps, repeats):
        calls.append(list(steps))
        for step in steps.values():
            step()
        return scripted[len(calls) - 1]

    monkeypatch.setattr(depth_module, "alternate", alternate)
    speeds = depth_module.measure_speeds(configs, ["a", "b"], batch=4, repeats=3)
    assert calls == [["infer", "train"], ["infer", "train", "reference infer", "reference train"]]
    base, two = speeds[0], speeds[2]
    assert (base.infer_ms, base.train_ms, base.infer_ratio, base.train_ratio) == pytest.approx((75, 200, 1, 1))
    # Medians 0.6 s and 2 s per 4 images; per-round ratios 3, 2, 3 and 1, 2, 3.
    assert (two.infer_ms, two.train_ms, two.infer_ratio, two.train_ratio) == pytest.approx((150, 500, 3, 2))
    assert two.params - base.params == 2 * (18 * 128 * 9 + 18)  # two offset convs on 128-channel 3x3 layers


def test_best_and_final_of_a_run_record():
    rows = [{"epoch": 0, "map": 0.30}, {"epoch": 1, "map": 0.25}, {"epoch": 2, "map": 0.40},
            {"epoch": 3, "map": None}, {"epoch": 4, "map": 0.40}, {"epoch": 5, "map": 0.35}]
    run = RunRecord("run", {}, rows, None)
    assert run.final("map") == 0.35
    assert (run.best("map"), run.best_epoch("map")) == (0.40, 2)  # the first of a tie
    assert (run.best("map", first_epoch=3), run.best_epoch("map", first_epoch=3)) == (0.40, 4)
    assert run.best("map", first_epoch=5) == 0.35 and run.best("map", first_epoch=6) is None
    assert RunRecord("run", {}, [{"epoch": 0, "map": 0.5}], None).best("map", first_epoch=1) is None


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


def test_harness_with_seeds_and_control_plans_each_run_and_reports_mean_and_std(monkeypatch):
    (plan,) = make_plans(3, ["ssd512_resnet50"], "own", "r", None, False, [], seeds=2, control=True)
    commands = format_commands([plan])
    assert "--output r/table3/ssd512_resnet50_own/fine_tune  #" in commands
    assert "--set seed=1 --output r/table3/ssd512_resnet50_own/fine_tune_seed1" in commands
    assert "--set model.mode=baseline --output r/table3/ssd512_resnet50_own/control  #" in commands
    assert "--set model.mode=baseline --set seed=1 --output r/table3/ssd512_resnet50_own/control_seed1" in commands
    measured = {"F": {"map": 0.50}, "upgraded": {"map": [0.50, 0.50]}, "T": {"map": [0.52, 0.54]},
                "control": {"map": [0.51, 0.51]}, "minutes": {"row": 3.0, "baseline": 2.0}}
    monkeypatch.setattr(harness.RowPlan, "measured", lambda self: measured)
    line = next(l for l in table_markdown(3, [plan], "cmd").splitlines() if l.startswith("| SSD512"))
    # T: mean 53, sample std sqrt(2) = 1.41; T - F: +3 +- 1.41; control 51 +- 0; T - control +2 +- 1.41.
    assert "| 50.00 | 50.00 +- 0.00 | 53.00 +- 1.41 | +3.00 +- 1.41 | 51.00 +- 0.00 | +2.00 +- 1.41 | 2 |" in line


def test_harness_without_data_says_how_to_prepare_it(tmp_path):
    with pytest.raises(DataError, match="pascal_voc.py"):
        harness.reproduce(3, ["ssd512_resnet50"], out=str(tmp_path), data_root=str(tmp_path / "none"),
                          progress=False)


@pytest.mark.slow
def test_harness_row_on_own_baseline_fills_the_table_and_is_not_redone(table2, tmp_path, monkeypatch):
    _, _, paths = table2
    row = Row("ssd512_resnet50", "tiny SSD", paths["baseline"], paths["upgrade"])
    monkeypatch.setitem(harness.DEMO_TABLES, 3, (row,))
    started = time.monotonic()
    text = harness.reproduce(3, out=str(tmp_path), demo=True, command="repro", progress=False)
    elapsed_minutes = (time.monotonic() - started) / 60
    measured = json.load(open(tmp_path / "table3.json"))["ssd512_resnet50"]
    # F (the base network, scored on its own) equals the upgraded network before fine-tuning.
    assert measured["F"]["map"] > 0
    assert measured["upgraded"]["map"] == [pytest.approx(measured["F"]["map"], abs=1e-6)]
    assert len(measured["T"]["map"]) == len(measured["control"]["map"]) == 1  # one seed; demo rows have a control
    line = next(line for line in text.splitlines() if line.startswith("| tiny SSD"))
    assert "| own |" in line and "| 79.90 | 80.80 |" in line  # the paper's authors'-base values
    # The row's and its baseline's minutes were both spent inside this call, one after the other: together at
    # most its wall time, and most of it (the rest is building networks and writing reports).
    spent = measured["minutes"]["row"] + measured["minutes"]["baseline"]
    assert 0.5 * elapsed_minutes < spent <= elapsed_minutes, (spent, elapsed_minutes)
    assert line.endswith("| {:.1f} + baseline {:.1f} |".format(measured["minutes"]["row"],
                                                                measured["minutes"]["baseline"]))
    monkeypatch.setattr(runs_module, "train", lambda *a, **k: pytest.fail("a finished row was trained again"))
    monkeypatch.setattr(harness, "evaluate_config", lambda *a, **k: pytest.fail("a finished row was scored again"))
    assert harness.reproduce(3, out=str(tmp_path), demo=True, command="repro", progress=False) == text
    dry = format_commands(make_plans(3, None, "own", str(tmp_path), None, True, []))
    assert dry.count("# done: ") == 4  # the baseline, F, the fine-tune and the control


@pytest.mark.slow
def test_table2_command_reuses_the_runs_and_rewrites_the_report(table2):
    _, out, paths = table2
    report = os.path.join(out, "table2.md")
    kept = open(report).read()
    try:
        result = run_script("scripts/table2.py", "--baseline", paths["baseline"], "--dcn", paths["dcn"], "--upgrade",
                            paths["upgrade"], "--output", out, "--no-progress")
        assert result.returncode == 0, result.stderr[-2000:]
        written = open(report).read()
    finally:
        with open(report, "w") as f:
            f.write(kept)
    assert "wrote {}".format(report) in result.stdout
    assert "Made by `python scripts/table2.py --baseline {}".format(paths["baseline"]) in written
    # The same four finished runs: the rows are those of the report the library wrote.
    assert [l for l in written.splitlines() if l.startswith("| 1.")] == \
        [l for l in kept.splitlines() if l.startswith("| 1.")]
    bad = run_script("scripts/table2.py", "--baseline", paths["baseline"], "--output", out, "--set", "train.epochz=2")
    assert bad.returncode == 2 and "unknown key 'train.epochz'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_depth_study_command_fine_tunes_each_depth_and_writes_the_table(table2, tmp_path):
    _, out, paths = table2
    result = run_script("scripts/depth_study.py", "--baseline", paths["baseline"], "--upgrade", paths["upgrade"],
                        "--baseline-run", os.path.join(out, "table2", "baseline"), "--depths", "0", "2",
                        "--output", tmp_path, "--batch", "1", "--repeats", "1", "--seeds", "2", "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.load(open(tmp_path / "table1_depth.json"))
    assert sorted(data["depths"]) == ["0", "2"]
    assert data["depths"]["2"]["params"] - data["depths"]["0"]["params"] == 2 * (18 * 128 * 9 + 18)
    assert data["command"].startswith("python scripts/depth_study.py --baseline")
    # Two seeds a depth: the config's in depth/<N>, seed 1 in depth/<N>_seed1; the mAP is their mean.
    for depth in ("0", "2"):
        finals = [float(read_metrics(str(tmp_path / "depth" / run))[-1]["map"]) for run in (depth, depth + "_seed1")]
        assert data["depths"][depth]["final_maps"] == pytest.approx(finals)
        assert data["depths"][depth]["final_map"] == pytest.approx(sum(finals) / 2)
        assert read_run(str(tmp_path / "depth" / (depth + "_seed1"))).config["seed"] == 1
    assert " +- " in open(tmp_path / "table1_depth.md").read()


def test_reproduce_dry_run_prints_commands_with_the_overrides():
    result = run_script("scripts/reproduce.py", "--table", "4", "--rows", "yolo3_416_darknet53", "--dry-run", "--set",
                        "train.lr=0.0005")
    assert result.returncode == 0, result.stderr
    commands = [l for l in result.stdout.splitlines() if l.startswith("python scripts/")]
    assert commands and all("--set train.lr=0.0005" in l for l in commands if "train.py" in l), commands
    assert any("configs/yolo3_416_coco_upgrade.yaml" in l for l in commands), commands
    demo = run_script("scripts/reproduce.py", "--table", "3", "--demo", "--dry-run")
    assert demo.returncode == 0 and "configs/demo/" in demo.stdout
    unknown = run_script("scripts/reproduce.py", "--table", "3", "--rows", "ssd300", "--dry-run")
    assert unknown.returncode == 2 and "unknown row(s) ssd300 of Table 3" in unknown.stderr


@pytest.mark.slow
def test_show_data_command_draws_the_chosen_split(demo_voc, tmp_path):
    config = tmp_path / "data.yaml"
    config.write_text("model: {name: ssd_128_resnet29_v1_demo, data_shape: 96, pretrained_base: false}\n"
                      "data: {format: voc, root: /nowhere, train_splits: [2007/trainval], val_splits: [2007/test]}\n")
    png = tmp_path / "val.png"
    result = run_script("scripts/show_data.py", "--config", config, "--set", "data.root=" + demo_voc.root, "--split",
                        "val", "--num", "3", "--columns", "2", "--out", png)
    assert result.returncode == 0, result.stderr
    assert "wrote {} (3 images)".format(png) in result.stdout
    drawn = matplotlib.image.imread(str(png))
    assert drawn.shape[0] > 100 and drawn.std() > 0
    missing = run_script("scripts/show_data.py", "--config", config, "--out", png)
    assert missing.returncode == 2 and "/nowhere" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_offset_study_measures_each_multiplier_and_zero_offsets_sample_as_the_standard_layers(table2, demo_voc,
                                                                                               tmp_path):
    _, out, paths = table2
    image = sorted(glob.glob(os.path.join(demo_voc.root, "**", "*.jpg"), recursive=True))[0]
    text = run_offset_study(paths["baseline"], paths["upgrade"], str(tmp_path), os.path.join(out, "table2", "baseline"),
                            image, multipliers=[0.0, 1.0], seeds=1, images=3, command="study it", progress=False)
    data = json.load(open(tmp_path / "offset_study.json"))["runs"]
    zero, one = data["0.0"][0], data["1.0"][0]
    # At x0 the offset branches never move from their zero start: the layers sample where standard ones do.
    assert zero["mean_length"] == 0 and zero["on_object"] == zero["on_object_standard"]
    assert one["mean_length"] > 0
    # Zero-offset geometry does not depend on the weights: the same in both runs.
    assert one["on_object_standard"] == zero["on_object_standard"]
    for mult, run in (("0.0", zero), ("1.0", one)):
        metrics = read_metrics(str(tmp_path / "offset_study" / "x{}".format(mult)))
        assert run["map"] == pytest.approx(float(metrics[-1]["map"]))
        assert (tmp_path / "offsets_x{}.png".format(mult)).exists()
    assert "study it" in text and "| x0.0 |" in text and "| x1.0 |" in text

"""Table I's harness (both routes to each depth, over seeds), its real configs, and what they need: GluonCV's
segmenters built for a config's data, and SBD's augmented VOC training set."""
import os
import shlex

import numpy as np
import pytest
import scipy.io
from PIL import Image

from conftest import read_metrics
from gluon_upgrade.config.loader import load_config
from gluon_upgrade.data.segmentation import VOCAugTraining, segmentation_dataset
from gluon_upgrade.errors import ConfigError, DataError
from gluon_upgrade.experiments.table1 import run_table1
from gluon_upgrade.machine import describe_machine
from gluon_upgrade.models.build import build_network
from conftest import run_script

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
               "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")


def _zoo_segmenter(name="fcn_resnet50_voc", size=64):
    return {"name": name, "data_shape": size, "pretrained": False, "pretrained_base": False, "weights": None,
            "mode": "baseline", "upgrade": {}}


def test_a_gluoncv_segmenter_is_built_for_the_configs_crop_and_refuses_other_classes():
    import mxnet as mx
    net = build_network(_zoo_segmenter(), VOC_CLASSES, [mx.cpu()])
    scores = net(mx.nd.random.uniform(shape=(1, 3, 64, 64)))
    assert net.nclass == 21 and scores[0].shape == (1, 21, 64, 64)  # upsampled to the crop, not GluonCV's 480
    with pytest.raises(ConfigError, match=r"fcn_resnet50_voc scores 21 classes; the data has 7 \(background or its "
                                          r"first class, and 6 more\)"):
        build_network(_zoo_segmenter(), VOC_CLASSES[:6], [mx.cpu()])


def test_a_detector_refuses_the_sbd_layout(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model: {name: ssd_128_resnet29_v1_demo}\ndata: {format: voc_aug}\n")
    with pytest.raises(ConfigError, match="ssd_128_resnet29_v1_demo is a detector: it reads boxes, voc or coco "
                                          r"\(got voc_aug"):
        load_config(str(config))


def _write_voc_aug(root, masks, val_ids):
    """SBD's layout as GluonCV's preparation script leaves it: ``VOCaug/dataset/{img, cls, trainval.txt}``, and
    VOC 2012's segmentation val list beside it."""
    aug = root / "VOCaug" / "dataset"
    (aug / "img").mkdir(parents=True)
    (aug / "cls").mkdir()
    for image_id, mask in masks.items():
        Image.fromarray(np.full(mask.shape + (3,), 128, np.uint8)).save(aug / "img" / (image_id + ".jpg"))
        scipy.io.savemat(aug / "cls" / (image_id + ".mat"), {"GTcls": {"Segmentation": mask}})
    (aug / "trainval.txt").write_text("".join(i + "\n" for i in masks))
    lists = root / "VOC2012" / "ImageSets" / "Segmentation"
    lists.mkdir(parents=True)
    (lists / "val.txt").write_text("".join(i + "\n" for i in val_ids))


def test_sbd_training_masks_leave_out_the_voc2012_val_images(tmp_path):
    rng = np.random.RandomState(0)
    masks = {i: rng.randint(0, 21, size=(20, 24)).astype(np.uint8) for i in ("2008_000001", "2008_000002",
                                                                               "2008_000003")}
    _write_voc_aug(tmp_path, masks, ["2008_000002", "2011_000009"])
    data = VOCAugTraining(str(tmp_path), crop_size=16, base_size=20)
    read = dict(data.annotations())
    assert sorted(read) == ["2008_000001.jpg", "2008_000003.jpg"] and len(data) == 2
    for name, mask in read.items():
        np.testing.assert_array_equal(mask, masks[name[:-4]])
    image, target = data[0]
    assert image.shape == (3, 16, 16) and target.shape == (16, 16) and data.num_class == 21
    config = {"format": "voc_aug", "root": str(tmp_path), "train_splits": None, "val_splits": None}
    assert isinstance(segmentation_dataset(config, 16, train=True), VOCAugTraining)


def test_a_missing_sbd_folder_says_how_to_prepare_it(tmp_path):
    with pytest.raises(DataError, match=r"VOCaug/dataset/trainval.txt; the layout is ROOT/VOCaug/dataset/.*"
                                        r"pascal_voc.py"):
        VOCAugTraining(str(tmp_path))


def test_table1_dry_run_lists_every_route_to_every_depth_for_each_seed():
    result = run_script("scripts/reproduce.py", "--table", "1", "--dry-run", "--set", "train.lr=0.002")
    assert result.returncode == 0, result.stderr
    runs = [shlex.split(line.split("  # ")[0]) for line in result.stdout.splitlines()
            if line.startswith("python scripts/train.py")]
    assert len(runs) == 3 * (2 + 2 * 4), result.stdout  # per seed: baseline, control, 4 depths x 2 routes

    def option(command, key):
        return [command[i + 1] for i, word in enumerate(command) if word == key]

    for command in runs:
        sets = option(command, "--set")
        seed = next(s for s in sets if s.startswith("seed="))[5:]
        output = option(command, "--output")[0]
        assert output.startswith("results/table1/deeplab_resnet101/seed{}/".format(seed)) and "train.lr=0.002" in sets
        config = option(command, "--config")[0]
        if config.endswith("_upgrade.yaml"):  # upgrades and controls start from their own seed's baseline
            assert "model.weights=results/table1/deeplab_resnet101/seed{}/baseline/best.params".format(seed) in sets
            assert ("model.mode=baseline" in sets) == output.endswith("/control")
    layers = sorted({s for c in runs for s in option(c, "--set") if s.startswith("model.upgrade.layers=")})
    assert layers == ["model.upgrade.layers=last{}".format(n) for n in (1, 2, 3, 6)]
    # Each seed trains its baseline, then what starts from its weights, then the runs from the start.
    kinds = [option(c, "--output")[0].split("/", 4)[-1] for c in runs[:10]]
    assert kinds == ["baseline", "control"] + ["{}/upgrade".format(n) for n in (1, 2, 3, 6)] + [
        "{}/from_start".format(n) for n in (1, 2, 3, 6)]
    one = run_script("scripts/reproduce.py", "--table", "1", "--dry-run", "--set", "seed=1", "--seeds", "1")
    lines = [line for line in one.stdout.splitlines() if line.startswith("python")]
    assert len(lines) == 10 and all(line.count("--set seed=1 ") == 1 and "/seed1/" in line for line in lines)
    unknown = run_script("scripts/reproduce.py", "--table", "1", "--rows", "fcn", "--dry-run")
    assert unknown.returncode == 2 and "unknown column(s) fcn of Table 1" in unknown.stderr
    other = run_script("scripts/reproduce.py", "--table", "3", "--report-only")
    assert other.returncode == 2 and "--report-only is for Table 1" in other.stderr
    jobs = run_script("scripts/reproduce.py", "--table", "3", "--jobs", "2", "--dry-run")
    assert jobs.returncode == 2 and "--jobs is for Table 1" in jobs.stderr
    none = run_script("scripts/reproduce.py", "--table", "1", "--jobs", "0")
    assert (none.returncode, none.stderr.strip()) == (2, "error: jobs must be 1 or more, not 0")


@pytest.mark.slow
def test_table1_on_the_demo_segmenter_reports_what_its_runs_wrote(demo_voc, tmp_path):
    """Two seeds at 0 and 1 layers on a tiny set: the table's numbers are the runs' metrics.csv, read back; every
    upgrade scores its seed's baseline exactly before fine-tuning."""
    import json
    small = ["data.root=" + demo_voc.root, "model.data_shape=64", "model.pretrained_base=false", "train.epochs=2",
             "train.lr_decay_epoch=[]", "train.warmup_epochs=0", "train.batch_size=4", "eval.batch_size=6",
             "data.num_workers=0"]
    text = run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=2, depths=(0, 1), overrides=small,
                      command="table1", progress=False)
    data = json.load(open(tmp_path / "table1.json"))["columns"]["demo_fcn"]
    folder = tmp_path / "table1" / "demo_fcn"

    def final(*parts):
        return float(read_metrics(str(folder.joinpath(*parts)))[-1]["miou"])

    row = data["depths"]["1"]
    for index, seed in enumerate((0, 1)):
        seed_dir = "seed{}".format(seed)
        baseline_rows = read_metrics(str(folder / seed_dir / "baseline"))
        assert row["from_start"][index] == final(seed_dir, "1", "from_start")
        assert data["depths"]["0"]["control"][index] == final(seed_dir, "control")
        assert row["from_start_minus_baseline"]["differences"][index] == pytest.approx(
            100 * (final(seed_dir, "1", "from_start") - final(seed_dir, "baseline")), abs=1e-4)
        upgrade_rows = read_metrics(str(folder / seed_dir / "1" / "upgrade"))
        assert upgrade_rows[0]["epoch"] == "0"
        assert upgrade_rows[0]["miou"] == max(baseline_rows, key=lambda r: float(r["miou"]))["miou"]
    assert data["upgrade_epoch0_equals_baseline"] and data["depths"]["1"]["params"] > data["depths"]["0"]["params"]
    assert "scored its baseline's exactly" in text and os.path.exists(tmp_path / "table1.png")
    assert "made this report, {};".format(describe_machine()) in text  # the cost ratios' machine
    assert os.path.exists(tmp_path / "table1_differences.png")
    assert run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=2, depths=(0, 1), overrides=small,
                      dry_run=True).count("# done: ") == 8
    # Results kept without checkpoints are reused; a fine-tune to train again needs its seed's baseline weights.
    for path in folder.rglob("*.params"):
        path.unlink()
    metrics = folder / "seed1" / "1" / "from_start" / "metrics.csv"
    before = metrics.stat().st_mtime_ns
    run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=2, depths=(0, 1), overrides=small, command="table1",
               progress=False)
    again = json.load(open(tmp_path / "table1.json"))["columns"]["demo_fcn"]["depths"]
    assert [again[d][k] for d, k in (("0", "baseline"), ("0", "control"), ("1", "from_start"), ("1", "upgrade"))] \
        == [data["depths"][d][k] for d, k in (("0", "baseline"), ("0", "control"), ("1", "from_start"),
                                              ("1", "upgrade"))]
    assert metrics.stat().st_mtime_ns == before
    (folder / "seed0" / "1" / "upgrade" / "state.json").unlink()
    with pytest.raises(ConfigError, match=r"seed0/1/upgrade needs .*seed0/baseline/best.params, which is gone"):
        run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=2, depths=(0, 1), overrides=small,
                   progress=False)
    # A table filled over sessions: the report covers the finished runs and trains nothing.
    text = run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=2, depths=(0, 1), overrides=small,
                      command="table1", report_only=True)
    partial = json.load(open(tmp_path / "table1.json"))["columns"]["demo_fcn"]
    row = partial["depths"]["1"]
    assert row["upgrade"] == [None, final("seed1", "1", "upgrade")] and row["upgrade_epoch0"][0] is None
    assert row["upgrade_minus_control"]["differences"] == [pytest.approx(
        100 * (final("seed1", "1", "upgrade") - final("seed1", "control")), abs=1e-4)]
    assert row["from_start_minus_baseline"] == data["depths"]["1"]["from_start_minus_baseline"]
    assert list(row["match_fraction"]) == ["1"] and partial["missing"] == ["seed0/1/upgrade"]
    assert "Partial: 7 of 8 runs finished" in text and "nan" not in text and "Seeds wanted: 3 (" in text
    assert "| {:.2f} (1 of 2 seeds) |".format(100 * final("seed1", "1", "upgrade")) in text  # one seed: no std
    assert not (folder / "seed0" / "1" / "upgrade" / "state.json").exists()
    # Seed 1's run from the start as if trained on another processor: it is no longer paired with its baseline.
    machine = folder / "seed1" / "1" / "from_start" / "machine.json"
    starts = json.load(open(machine))
    starts[0].update(processor="Other CPU", onednn_isa="Intel AVX2")
    json.dump(starts, open(machine, "w"))
    text = run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=2, depths=(0, 1), overrides=small,
                      command="table1", report_only=True)
    row = json.load(open(tmp_path / "table1.json"))["columns"]["demo_fcn"]["depths"]["1"]
    assert row["from_start_minus_baseline"]["differences"] == data["depths"]["1"]["from_start_minus_baseline"][
        "differences"][:1]
    assert row["from_start"] == data["depths"]["1"]["from_start"]  # the score itself is still reported
    assert "Not paired (trained on different processors" in text and "seed 1: from start at 1 (Other CPU, " in text


@pytest.mark.slow
def test_table1_runs_side_by_side_each_fine_tune_after_its_baseline(demo_voc, tmp_path):
    """Two jobs at a time at 0 and 1 layers, one seed: every run finishes, the fine-tunes start once the
    baseline has finished and from its weights, and a run cut short is resumed."""
    import json
    small = ["data.root=" + demo_voc.root, "model.data_shape=64", "model.pretrained_base=false", "train.epochs=2",
             "train.lr_decay_epoch=[]", "train.warmup_epochs=0", "train.batch_size=4", "eval.batch_size=6",
             "data.num_workers=0"]
    lines = []
    run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=1, depths=(0, 1), overrides=small, command="t",
               jobs=2, log=lines.append)
    events = [line.split()[1:3] for line in lines]
    names = ["demo_fcn/seed0/" + name for name in ("baseline", "control", "1/upgrade", "1/from_start")]
    assert sorted(name for word, name in events if word == "done") == sorted(names)
    for tune in names[1:3]:
        assert events.index(["done", names[0]]) < events.index(["start", tune])
    # The baseline and the run from the start, which needs nothing, trained side by side.
    assert events[:2] == [["start", names[0]], ["start", names[3]]]
    folder = tmp_path / "table1" / "demo_fcn" / "seed0"
    baseline = read_metrics(str(folder / "baseline"))
    assert read_metrics(str(folder / "1" / "upgrade"))[0]["miou"] == max(
        baseline, key=lambda r: float(r["miou"]))["miou"]
    assert json.load(open(tmp_path / "table1.json"))["columns"]["demo_fcn"]["finished"] == 4
    # An interrupted run (its last epoch undone) is resumed by the next call, not trained anew.
    state = json.load(open(folder / "1" / "from_start" / "state.json"))
    state["epoch"] = 1
    json.dump(state, open(folder / "1" / "from_start" / "state.json", "w"))
    lines.clear()
    run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=1, depths=(0, 1), overrides=small, command="t",
               jobs=2, log=lines.append)
    assert [line.split()[1:3] for line in lines] == [["start", names[3]], ["done", names[3]]]
    starts = json.load(open(folder / "1" / "from_start" / "machine.json"))
    assert [start["from_epoch"] for start in starts] == [0, 1]
    assert [row["epoch"] for row in read_metrics(str(folder / "1" / "from_start"))] == ["1", "2"]


def test_the_seeds_rule_decides_on_the_first_three_seeds():
    from gluon_upgrade.experiments.table1 import more_seeds
    base = [0.5, 0.6, 0.7, 0.5, 0.6]
    assert more_seeds([0.51, 0.61, None], base) is None and more_seeds([0.51, 0.61], base[:2]) is None
    # +1.0, +1.1, +0.9 points: mean 1.0, SE 0.1 / sqrt(3) = 0.058, 17 SEs from 0
    assert more_seeds([0.51, 0.611, 0.709], base) is False
    # +0.1, -0.2, +0.3 points: mean 0.067, SE 0.145, within two
    assert more_seeds([0.501, 0.598, 0.703], base) is True
    assert more_seeds(base, base) is True  # no spread and no difference
    # Decided on the first three: a fourth and fifth seed that would move it do not undo it.
    assert more_seeds([0.501, 0.598, 0.703, 0.6, 0.7], base) is True
    assert more_seeds([0.51, 0.611, 0.709, 0.4, 0.5], base) is False


class _Finished:
    """A finished run as the plan reads it: its final score (machine not recorded)."""

    hardware = None

    def __init__(self, score):
        self.score = score

    def final(self, key):
        return self.score


def _score(folder):
    """Hand-set finals for a demo SSD column: from the start at 1 layer and the upgrade at 2 differ from their
    references by +0.1, -0.2, +0.3 points over seeds 0-2 (within two standard errors), every other route by about
    +1 point (17 standard errors); seeds 3 and 4 score like seed 0."""
    parts = folder.replace(os.sep, "/").split("/")
    seed = min(int(parts[parts.index("demo_ssd") + 1][4:]), 3) % 3
    run = "/".join(parts[parts.index("demo_ssd") + 2:])
    base = [0.60, 0.62, 0.58][seed] + (0.01 if run != "baseline" and not run.endswith("from_start") else 0)
    if run in ("1/from_start", "2/upgrade"):
        return base + [0.001, -0.002, 0.003][seed]
    return base + ([0.010, 0.011, 0.009][seed] if "/" in run else 0)


def _fake_runs(monkeypatch, finished):
    """Route the plan's reads of run folders to ``finished`` (folder -> score)."""
    from gluon_upgrade.experiments import table1
    monkeypatch.setattr(table1, "_finished_record",
                        lambda folder: _Finished(finished[folder]) if folder in finished else None)


def test_seeds_past_the_third_run_only_what_the_unsure_differences_need(tmp_path, monkeypatch):
    from gluon_upgrade.experiments.table1 import ColumnPlan, DEMO_COLUMNS
    plan = ColumnPlan(DEMO_COLUMNS[1], str(tmp_path), seeds=5)
    folder = tmp_path / "table1" / "demo_ssd"
    first = [run.folder for run in plan.grid() if run.seed < 3]
    assert len(first) == 30 and len(plan.grid()) == 50
    finished = {path: _score(path) for path in first if not path.endswith("seed2/3/from_start")}
    _fake_runs(monkeypatch, finished)
    later = ["baseline", "control", "1/from_start", "2/upgrade"]

    def planned():
        return [os.path.relpath(run.folder, str(folder)) for run in plan.runs() if run.seed >= 3]
    assert planned() == ["seed{}/{}".format(s, run) for s in (3, 4) for run in ("baseline", "control", "2/upgrade",
                                                                               "1/from_start")]
    listing = "\n".join(plan.commands())
    assert ("seeds 3, 4: only the runs of the paired differences within two standard errors of 0 over seeds 0, 1, 2 "
            "(the seeds rule): from the start - baseline at 1, upgrade - control at 2; undecided until those finish: "
            "from the start - baseline at 3") in listing
    # Seed 2 at 3 layers from the start finishes 1 point under its baseline: now -1, -1.1, +1 points, unsure.
    finished[str(folder / "seed2" / "3" / "from_start")] = 0.58 - 0.01
    assert sorted(planned()) == sorted("seed{}/{}".format(s, run) for s in (3, 4) for run in later + ["3/from_start"])
    assert "undecided until those finish: none" in "\n".join(plan.commands())


def test_the_table_trains_the_later_seeds_the_rule_adds_after_the_first_three(tmp_path, monkeypatch):
    from gluon_upgrade.experiments import table1
    finished, trained = {}, []

    def train(config, folder, progress):
        trained.append(os.path.relpath(folder, str(tmp_path / "table1" / "demo_ssd")))
        finished[folder] = _score(folder)
    _fake_runs(monkeypatch, finished)
    monkeypatch.setattr(table1, "ensure_run", train)
    table1.ColumnPlan(table1.DEMO_COLUMNS[1], str(tmp_path), seeds=5).run(progress=False)
    assert len(trained) == 30 + 2 * 4 and all(run.startswith(("seed0/", "seed1/", "seed2/")) for run in trained[:30])
    assert trained[30:] == ["seed{}/{}".format(s, run) for s in (3, 4)
                            for run in ("baseline", "control", "2/upgrade", "1/from_start")]
    # Side by side, in rounds: the later seeds' runs start once the first seeds' have all finished.
    finished.clear()
    rounds = []

    def run_jobs(jobs, slots, log):
        rounds.append([job.name for job in jobs])
        for job in jobs:
            finished[str(tmp_path / "table1" / job.name)] = _score(job.name)
        return []
    monkeypatch.setattr(table1, "run_jobs", run_jobs)
    monkeypatch.setattr(table1, "write_table1", lambda *args: "")
    table1.run_table1(str(tmp_path), ["demo_ssd"], demo=True, seeds=5, jobs=2)
    assert [len(names) for names in rounds] == [30, 8] and rounds[1] == ["demo_ssd/" + run for run in trained[30:]]


def _record(score, *machines):
    """A finished one-epoch run scoring ``score`` mIoU, started on each of ``machines`` (processor, ISA)."""
    from gluon_upgrade.experiments.runs import RunRecord
    return RunRecord("run", {"train": {"epochs": 1}}, [{"epoch": 1, "miou": score}], {"epoch": 1},
                     [{"processor": processor, "onednn_isa": isa} for processor, isa in machines])


def test_a_difference_pairs_a_seed_only_where_both_runs_trained_on_one_kind_of_processor():
    from gluon_upgrade.experiments.table1 import _pairs
    amd, xeon = ("AMD EPYC", "Intel AVX2"), ("Intel Xeon", "Intel AVX-512")
    records = {("baseline", 0): {0: _record(0.60, amd), 1: _record(0.62, xeon), 2: _record(0.64, amd),
                                 3: _record(0.66)},
               ("control", 0): {0: _record(0.61, amd), 1: _record(0.63, xeon)},
               ("from_start", 1): {0: _record(0.65, amd), 1: _record(0.64, amd), 2: _record(0.67, amd, xeon),
                                   3: _record(0.68)},
               ("upgrade", 1): {1: _record(0.66, xeon)}}
    pairs, unpaired = _pairs(records, [0, 1, 2, 3], "miou", [0, 1])
    # Seed 1 from the start ran on the AMD machine, its baseline on the Xeon; seed 2's was resumed on the Xeon.
    # Seed 3 recorded no machine on either side (runs made before machine.json): paired as before.
    assert pairs["from_start", 1] == ([0.65, None, None, 0.68], [0.60, None, None, 0.66])
    assert pairs["upgrade", 1] == ([None, 0.66, None, None], [0.61, 0.63, None, None])
    assert unpaired == ["seed 1: from start at 1 (AMD EPYC, Intel AVX2) and baseline (Intel Xeon, Intel AVX-512)",
                        "seed 2: from start at 1 (AMD EPYC, Intel AVX2; Intel Xeon, Intel AVX-512) and baseline "
                        "(AMD EPYC, Intel AVX2)"]


def test_a_score_cell_counts_its_seeds_against_those_the_rule_planned():
    from gluon_upgrade.experiments.table1 import _scores_cell
    # 60, 62, 64: mean 62.00, sample std 2.00
    assert _scores_cell([0.60, 0.62, 0.64], 3) == "62.00 +- 2.00"
    assert _scores_cell([0.60, 0.62, 0.64, None, None], 5) == "62.00 +- 2.00 (3 of 5 seeds)"
    # Seeds 3 and 4 not planned for this route (its difference was clear at three): no seed is missing.
    assert _scores_cell([0.60, 0.62, 0.64, None, None], 3) == "62.00 +- 2.00 (3 seeds)"
    assert _scores_cell([0.60, None, None], 3) == "60.00 (1 of 3 seeds)"
    assert _scores_cell([None, None, None], 3) == "not run yet"


def test_side_by_side_runs_that_fail_are_named_and_the_report_still_written(tmp_path):
    from gluon_upgrade.errors import TrainingError
    lines = []
    # Named in the table's order, whichever of the two side-by-side runs failed first.
    named = ", ".join("demo_fcn/seed0/" + run for run in ("baseline", "control", "1/upgrade", "1/from_start"))
    with pytest.raises(TrainingError, match="^4 of Table I's runs failed or could not start: {} ".format(named)):
        run_table1(str(tmp_path), ["demo_fcn"], demo=True, seeds=1, depths=(0, 1), jobs=2, log=lines.append,
                   overrides=["data.root=" + str(tmp_path / "nowhere")])
    failed = [line for line in lines if " FAILED demo_fcn/seed0/" in line]
    assert len(failed) == 2 and all("(exit 2 after" in line and "nowhere" in line for line in failed)
    assert sum(" skipped demo_fcn/seed0/" in line and "it needs demo_fcn/seed0/baseline" in line
               for line in lines) == 2
    assert "Not run yet" in (tmp_path / "table1.md").read_text()

"""The effect study: cells read into overrides, paired statistics and the IoU sweep against hand-computed values,
and one tiny cell end to end, its scores checked against the training loop's own evaluations."""
import glob
import json
import math
import os

import matplotlib.image
import numpy as np
import pytest
from conftest import read_metrics, run_script

from gluon_upgrade.config.loader import load_config
from gluon_upgrade.config.schema import differences
from gluon_upgrade.errors import ConfigError
from gluon_upgrade.evaluation.metrics import VOCSweepMetric
from gluon_upgrade.experiments import effect_study as study_module
from gluon_upgrade.experiments import runs as runs_module
from gluon_upgrade.experiments.effect_study import (CellResult, EffectStudy, Paired, read_cell, read_cells,
                                                    run_cell, run_effect_study)
from gluon_upgrade.experiments.table2 import EXPERIMENTS

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DEMO = {name: os.path.join(ROOT, "configs", "demo", file) for name, file in
        (("baseline", "ssd_voc.yaml"), ("dcn", "ssd_voc_dcn.yaml"), ("upgrade", "ssd_voc_upgrade.yaml"))}


def test_a_cell_file_becomes_set_entries_and_its_comment_its_description(tmp_path):
    path = tmp_path / "sgd_maps16.yaml"
    path.write_text("# SGD at 16x16 maps.\n# Second line.\nmodel:\n  data_shape: 256\n"
                    "train:\n  optimizer: sgd\n  lr_decay_epoch: [5, 7]\n  weights: null\n")
    cell = read_cell(str(path))
    assert cell.name == "sgd_maps16" and cell.description == "SGD at 16x16 maps. Second line."
    assert cell.overrides == ["model.data_shape=256", 'train.optimizer="sgd"', "train.lr_decay_epoch=[5, 7]",
                              "train.weights=null"]
    assert cell.fine_tune == []
    longer = tmp_path / "half.yaml"
    longer.write_text("model:\n  data_shape: 256\nfine_tune:\n  train:\n    epochs: 4\n    lr_decay_epoch: [3]\n")
    cell = read_cell(str(longer))
    assert cell.overrides == ["model.data_shape=256"]
    assert cell.fine_tune == ["train.epochs=4", "train.lr_decay_epoch=[3]"]
    empty = tmp_path / "recipe.yaml"
    empty.write_text("# The recipe.\n{}\n")
    assert read_cell(str(empty)).overrides == []
    longer.write_text("fine_tune: 4\n")
    with pytest.raises(ConfigError, match="fine_tune is a mapping of config keys"):
        read_cell(str(longer))
    for text, match in (("- a list\n", "a config is a mapping"), ("model: [\n", "not valid YAML")):
        path.write_text(text)
        with pytest.raises(ConfigError, match=match):
            read_cell(str(path))
    with pytest.raises(ConfigError, match="config file not found"):
        read_cell(str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "configs", "demo", "effect", "*.yaml"))),
                         ids=os.path.basename)
def test_every_bundled_cell_makes_valid_configs_that_change_what_it_says(path):
    cell = read_cell(path)
    assert cell.description and (cell.overrides or cell.fine_tune or cell.name == "recipe")
    recipe = {name: load_config(DEMO[name]) for name in DEMO}
    for name in DEMO:
        config = load_config(DEMO[name], cell.overrides + (cell.fine_tune if name == "upgrade" else []))
        changed = set(differences(recipe[name], config))
        expected = {e.partition("=")[0] for e in cell.overrides + (cell.fine_tune if name == "upgrade" else [])}
        assert changed == expected, (name, changed)


def test_a_cell_with_an_unknown_key_is_refused_before_anything_runs(tmp_path, monkeypatch):
    path = tmp_path / "typo.yaml"
    path.write_text("train:\n  offset_lr_mul: 1.0\n")
    monkeypatch.setattr(runs_module, "train", lambda *a, **k: pytest.fail("a run started"))
    with pytest.raises(ConfigError, match=r"typo.yaml: .*offset_lr_mul.*offset_lr_mult"):
        run_cell(read_cell(str(path)), DEMO["baseline"], DEMO["dcn"], DEMO["upgrade"], str(tmp_path), 2)


def test_paired_differences_against_hand_computed_statistics():
    paired = Paired([1.0, 2.0, 3.0])
    assert (paired.n, paired.mean, paired.positive) == (3, 2.0, 3)
    assert paired.se == pytest.approx(1 / math.sqrt(3))  # sample sd 1 over sqrt(3)
    assert paired.standard_errors == pytest.approx(2 * math.sqrt(3))
    # Student's t, 2 degrees of freedom, one-sided 95%: 2.919986 (a printed table's value).
    lower, upper = paired.bounds()
    assert (lower, upper) == (pytest.approx(2 - 2.919986 / math.sqrt(3), abs=1e-5),
                              pytest.approx(2 + 2.919986 / math.sqrt(3), abs=1e-5))
    assert paired.text() == "+2.00 +- 0.58 (3/3)"
    assert paired.columns() == ["+2.00 +- 0.58 (3/3)", "3.5"]  # 2 * sqrt(3) = 3.46
    one = Paired([-0.5])
    assert math.isnan(one.se) and all(math.isnan(b) for b in one.bounds()) and one.text() == "-0.50 (1 seed)"


def cell_result(name, deltas, seeds=5):
    """A cell whose deformable-from-the-start run beats the baseline by ``deltas`` (points) seed by seed; the
    other experiments score the baseline's values."""
    base = [0.5 + 0.01 * s for s in range(seeds)]
    scores = {e: {k: list(base) for k in ("map50", "map75", "map")} for e in EXPERIMENTS}
    scores["dcn_scratch"]["map50"] = [b + d / 100 for b, d in zip(base, deltas)]
    return CellResult(study_module.Cell(name, "configs/demo/effect/{}.yaml".format(name), [], "what"),
                      list(range(seeds)), scores, {e: 1.0 for e in EXPERIMENTS}, 60.0, [None] * seeds, "cmd")


def test_verdicts_follow_the_seed_count_and_the_three_standard_error_bar():
    study = EffectStudy([], "cmd")
    # Five seeds at +1, +2, +3, +2, +2: mean 2, sd sqrt(0.5), SE 0.316: 6.3 standard errors.
    assert study.verdict(cell_result("a", [1, 2, 3, 2, 2]), "dcn_scratch", "baseline").startswith("**pays** (+6.3 SE")
    # Five seeds, mean 0.4, SE 0.51: no effect found, and the bound says which effects are ruled out.
    verdict = study.verdict(cell_result("b", [1, -1, 2, 0, 0]), "dcn_scratch", "baseline")
    assert verdict.startswith("no effect found (+0.8 SE") and "< +1.49)" in verdict  # 0.4 + 2.1318 * 0.5099
    # Two seeds are a screen, whatever the ratio.
    assert study.verdict(cell_result("c", [3, 4], seeds=2), "dcn_scratch", "baseline").startswith(
        "screen: confirm (+7.0 SE")
    assert study.verdict(cell_result("d", [1, -1], seeds=2), "dcn_scratch", "baseline").startswith(
        "screen: < 1 SE (+0.0 SE")


def test_a_fine_tune_on_other_data_is_compared_only_with_its_control(tmp_path):
    shift = cell_result("shift", [1, 2, 3, 2, 2])
    shift.cell.fine_tune = ['data.root="data/demo/voc_deform1.0"']
    shift.scores["upgrade"]["map50"] = [s + 0.02 for s in shift.scores["control"]["map50"]]
    assert shift.comparable("upgrade", "control") and shift.comparable("dcn_scratch", "baseline")
    assert not shift.comparable("upgrade", "dcn_scratch")
    text = EffectStudy([shift], "cmd").markdown()
    row = next(line for line in text.splitlines() if line.startswith("| shift | 5 |"))
    # dcn - baseline, upgrade - control (+2.00 at every seed: no spread), upgrade - dcn, verdicts, compute to match
    cells = [c.strip() for c in row.split("|")[3:9]]
    assert cells[0] == "+2.00 +- 0.32 (5/5)" and cells[1].startswith("+2.00 +- 0.00 (5/5)")
    assert cells[2] == "n/a: two test sets" and cells[5] == "n/a: two test sets"
    assert set(shift.to_dict()["paired"]) == {"dcn_scratch - baseline", "upgrade - control"}
    assert cell_result("same_data", [1, 2], seeds=2).comparable("upgrade", "dcn_scratch")


def test_the_iou_sweep_scores_a_box_at_iou_072_as_hit_up_to_070():
    metric = VOCSweepMetric(["a", "b"])
    # Inclusive pixel boxes (VOC): the ground truth is 100 x 100, the detection 100 x 72: IoU 0.72.
    gt = np.array([[[0, 0, 99, 99]]], dtype=float)
    metric.update([0], np.array([[[0, 0, 99, 71]]], dtype=float), np.array([[0]]), np.array([[0.9]]), gt,
                  np.array([[0]]), None)
    result = metric.result()
    # A hit at 0.50, 0.55, 0.60, 0.65, 0.70 (AP 1), a miss at the five thresholds above (AP 0).
    assert result.values == pytest.approx({"map": 0.5, "map50": 1.0, "map75": 0.0}, abs=1e-12)
    assert result.per_class["a"] == pytest.approx(0.5) and math.isnan(result.per_class["b"])


@pytest.fixture(scope="module")
def tiny_study(demo_voc, tmp_path_factory):
    from test_experiments import write_configs
    folder = tmp_path_factory.mktemp("effect")
    paths = write_configs(str(folder), demo_voc.root, epochs=2)
    cell = folder / "slow_lr.yaml"
    cell.write_text("# A smaller rate.\ntrain:\n  lr: 0.001\n")
    out = str(folder / "results")
    study = run_effect_study([str(cell)], 2, out, paths["baseline"], paths["dcn"], paths["upgrade"],
                             command="study it", progress=False)
    return study, out, paths, str(cell)


@pytest.mark.slow
def test_a_cell_runs_four_experiments_per_seed_and_scores_their_final_networks(tiny_study):
    study, out, _, _ = tiny_study
    (result,) = study.cells
    assert result.seeds == [0, 1] and result.cell.overrides == ["train.lr=0.001"]
    folder = os.path.join(out, "effect_study", "slow_lr")
    finals = {}
    for seed, runs in ((0, "table2"), (1, os.path.join("table2_seeds", "seed1"))):
        for name in EXPERIMENTS:
            run = os.path.join(folder, runs, name)
            assert "  lr: 0.001\n" in open(os.path.join(run, "config.yaml")).read()
            # The fresh network's mAP@0.5 from last.params is the loop's own evaluation after its last epoch.
            finals[name, seed] = float(read_metrics(run)[-1]["map"])
            assert result.scores[name]["map50"][seed] == pytest.approx(finals[name, seed], abs=1e-6)
            scores = json.load(open(os.path.join(run, "final_scores.json")))["values"]
            assert scores["map75"] <= scores["map50"] and scores["map"] <= scores["map50"]
    paired = result.paired("upgrade", "control", "map50")
    assert paired.differences == [pytest.approx(100 * (finals["upgrade", s] - finals["control", s]), abs=1e-3)
                                  for s in (0, 1)]
    # Read back from disk: the report gathers the cell from its cell.json.
    (again,) = read_cells(out)
    assert again.scores == result.scores and again.command == "study it"
    text = open(os.path.join(out, "effect_study.md")).read()
    assert "| slow_lr | 2 | " in text and paired.text() in text and "`train.lr=0.001`" in text
    data = json.load(open(os.path.join(out, "effect_study.json")))
    assert data["cells"][0]["paired"]["upgrade - control"]["map50"]["differences"] == paired.differences
    image = matplotlib.image.imread(os.path.join(out, "effect_study.png"))
    assert image.shape[0] > 100 and image.std() > 0


@pytest.mark.slow
def test_a_cell_that_changes_only_the_fine_tune_borrows_the_first_cells_baselines(tiny_study, tmp_path):
    study, out, paths, _ = tiny_study
    cell = tmp_path / "longer.yaml"
    cell.write_text("train:\n  lr: 0.001\nfine_tune:\n  train:\n    epochs: 2\n    lr_decay_epoch: [1]\n")
    result = run_effect_study([str(cell)], 1, out, paths["baseline"], paths["dcn"], paths["upgrade"],
                              command="longer", progress=False).cells[0]
    runs = os.path.join(out, "effect_study", "longer", "table2")
    for name in ("baseline", "dcn_scratch"):
        # The same config as slow_lr's seed-0 run: copied with its checkpoints, not trained again.
        source = os.path.join(out, "effect_study", "slow_lr", "table2", name)
        assert open(os.path.join(runs, name, "borrowed_from.txt")).read().strip() == source
        assert read_metrics(os.path.join(runs, name)) == read_metrics(source)
        assert result.scores[name]["map50"] == study.cells[0].scores[name]["map50"][:1]
    for name in ("upgrade", "control"):
        assert [row["epoch"] for row in read_metrics(os.path.join(runs, name))] == ["0", "1", "2"]
        assert "  lr_decay_epoch: [1]\n" in open(os.path.join(runs, name, "config.yaml")).read()


@pytest.mark.slow
def test_a_cell_run_again_reuses_runs_and_scores(tiny_study, monkeypatch):
    study, out, paths, cell = tiny_study
    monkeypatch.setattr(runs_module, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    monkeypatch.setattr(study_module, "evaluate_config", lambda *a, **k: pytest.fail("a run was scored again"))
    again = run_effect_study([cell], 2, out, paths["baseline"], paths["dcn"], paths["upgrade"], command="again",
                             progress=False)
    assert [c.scores for c in again.cells if c.cell.name == "slow_lr"] == [study.cells[0].scores]


def run_study(*args):
    return run_script("scripts/effect_study.py", *args)


@pytest.mark.slow
def test_the_script_rewrites_the_report_and_refuses_bad_input_in_one_line(tiny_study, tmp_path):
    _, out, _, _ = tiny_study
    result = run_study("--report-only", "--output", out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Made by `python scripts/effect_study.py --report-only --output {}`".format(out) in \
        open(os.path.join(out, "effect_study.md")).read()
    empty = run_study("--report-only", "--output", tmp_path)
    assert empty.returncode == 2 and "no effect-study cell has run under" in empty.stderr
    assert "Traceback" not in empty.stderr
    missing = run_study("--cells", tmp_path / "nope.yaml", "--output", tmp_path)
    assert missing.returncode == 2 and "config file not found" in missing.stderr and "Traceback" not in missing.stderr
    usage = run_study("--output", tmp_path)
    assert usage.returncode == 2 and "--report-only" in usage.stderr
    for args in (("--report-only", "--seed", "1"), ("--cells", "x.yaml", "--seed", "-1"),
                 ("--cells", "x.yaml", "--seed", "1", "--seeds", "2")):
        refused = run_study(*args, "--output", tmp_path)
        assert refused.returncode == 2 and "--seed" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.slow
def test_seeds_run_one_at_a_time_are_gathered_by_the_next_full_call(tiny_study, tmp_path):
    _, out, paths, _ = tiny_study
    cell = tmp_path / "seed_by_seed.yaml"
    cell.write_text("train:\n  lr: 0.001\nfine_tune:\n  train:\n    epochs: 2\n    lr_decay_epoch: [1]\n")
    folder = os.path.join(out, "effect_study", "seed_by_seed")
    assert run_effect_study([str(cell)], 2, out, paths["baseline"], paths["dcn"], paths["upgrade"],
                            progress=False, only_seed=1) is None
    assert os.listdir(folder) == ["table2_seeds"]  # no seed 0, no cell.json, no report
    seed1 = os.path.join(folder, "table2_seeds", "seed1")
    metrics = {name: read_metrics(os.path.join(seed1, name)) for name in EXPERIMENTS}
    assert [row["epoch"] for row in metrics["upgrade"]] == ["0", "1", "2"]
    result = run_effect_study([str(cell)], 2, out, paths["baseline"], paths["dcn"], paths["upgrade"],
                              progress=False).cells
    (gathered,) = [r for r in result if r.cell.name == "seed_by_seed"]
    assert gathered.seeds == [0, 1]
    for name in EXPERIMENTS:  # seed 1 was not trained again: its metrics are those of the first call
        assert read_metrics(os.path.join(seed1, name)) == metrics[name]
        assert gathered.scores[name]["map50"][1] == pytest.approx(float(metrics[name][-1]["map"]), abs=1e-6)

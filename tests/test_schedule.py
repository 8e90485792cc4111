"""The paper's fine-tune rule, computed from each baseline config, and the learning rate at every iteration."""
import os

import pytest

from gluon_upgrade.config.loader import config_from_dict, load_config
from gluon_upgrade.errors import ConfigError
from gluon_upgrade.config.train_section import fine_tune_decays, fine_tune_epochs
from gluon_upgrade.training.schedule import Schedule

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# The paper's rows: baseline epochs (decays) -> fine-tune epochs (decays), from PAPER_FACTS.md.
PAPER_ROWS = [
    ("ssd512_voc", 240, [160, 200], 60, [40, 50]),
    ("ssd512_coco", 240, [160, 200], 60, [40, 50]),
    ("yolo3_320_voc", 200, [160, 180], 50, [33, 42]),
    ("yolo3_416_voc", 200, [160, 180], 50, [33, 42]),
    ("yolo3_320_coco", 280, [220, 250], 70, [47, 58]),
    ("yolo3_416_coco", 280, [220, 250], 70, [47, 58]),
    ("yolo3_608_coco", 280, [220, 250], 70, [47, 58]),
]


@pytest.mark.parametrize("name, epochs, decays, tuned, tuned_decays", PAPER_ROWS, ids=[r[0] for r in PAPER_ROWS])
def test_upgrade_config_schedule_is_computed_from_its_baseline(name, epochs, decays, tuned, tuned_decays):
    baseline = load_config(os.path.join(ROOT, "configs", name + "_baseline.yaml"))
    upgrade = load_config(os.path.join(ROOT, "configs", name + "_upgrade.yaml"))
    assert (baseline.train.epochs, baseline.train.lr_decay_epoch) == (epochs, decays)
    assert (upgrade.train.epochs, upgrade.train.lr_decay_epoch) == (tuned, tuned_decays)
    assert upgrade.model.mode == "upgrade" and upgrade.model.name == baseline.model.name


def test_rule_rounds_halves_up_and_drops_decays_a_short_fine_tune_cannot_hold():
    assert [fine_tune_epochs(e) for e in (240, 200, 280, 24, 2)] == [60, 50, 70, 6, 1]
    assert fine_tune_decays(6) == [4, 5]
    assert fine_tune_decays(3) == [2]  # 2/3*3 = 2; 5/6*3 = 2.5 rounds to 3, the end of the run
    assert fine_tune_decays(1) == []


def test_explicit_values_override_the_rule_and_an_override_follows_a_changed_baseline(tmp_path):
    (tmp_path / "base.yaml").write_text("train: {epochs: 120, lr_decay_epoch: [80, 100]}\n")
    (tmp_path / "tune.yaml").write_text("_base_: base.yaml\nmodel: {mode: upgrade, pretrained: true}\n"
                                        "train: {fine_tune_of: base.yaml, epochs: null, lr_decay_epoch: null}\n")
    tune = str(tmp_path / "tune.yaml")
    assert (load_config(tune).train.epochs, load_config(tune).train.lr_decay_epoch) == (30, [20, 25])
    assert load_config(tune, ["train.epochs=12"]).train.lr_decay_epoch == [8, 10]
    assert load_config(tune, ["train.lr_decay_epoch=[5]"]).train.lr_decay_epoch == [5]
    (tmp_path / "base.yaml").write_text("train: {epochs: 100, lr_decay_epoch: [80, 90]}\n")
    assert load_config(tune).train.epochs == 25
    resolved = load_config(tune)
    assert os.path.isabs(resolved.train.fine_tune_of) and config_from_dict(dict(resolved)) == resolved


def test_fine_tune_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("train: {fine_tune_of: b.yaml}\n")
    (tmp_path / "b.yaml").write_text("train: {fine_tune_of: a.yaml}\n")
    with pytest.raises(ConfigError, match="fine-tune cycle"):
        load_config(str(tmp_path / "a.yaml"))


def test_learning_rate_warms_up_linearly_then_steps_down_at_each_decay_epoch():
    train = {"lr": 0.1, "epochs": 6, "lr_mode": "step", "lr_decay_epoch": [3, 5], "lr_decay": 0.1,
             "warmup_epochs": 1}
    schedule = Schedule(train, iters_per_epoch=4)
    warmup = [schedule(1, i) for i in range(4)]
    assert warmup == pytest.approx([0.0, 0.1 / 3, 0.2 / 3, 0.1])
    per_epoch = [schedule(epoch, i) for epoch in range(2, 7) for i in (0, 3)]
    assert per_epoch == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001])
    no_warmup = Schedule(dict(train, warmup_epochs=0), iters_per_epoch=4)
    assert [no_warmup(e, 0) for e in range(1, 7)] == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01, 0.001])


def test_poly_schedule_is_gluoncvs_after_the_warm_up_and_refuses_step_epochs(tmp_path):
    train = {"lr": 0.01, "epochs": 5, "lr_mode": "poly", "lr_decay_epoch": None, "lr_decay": 0.1,
             "warmup_epochs": 1}
    schedule = Schedule(train, iters_per_epoch=2)
    assert [schedule(1, i) for i in range(2)] == pytest.approx([0.0, 0.01])  # linear warm-up over 2 iterations
    # Then 0.01 * (1 - t / 7) ** 0.9 over the 8 iterations t = 0..7 of epochs 2-5, 0 at the last (GluonCV's
    # LRScheduler divides by the iterations minus one; its segmentation recipe's power is 0.9).
    after = [schedule(epoch, i) for epoch in range(2, 6) for i in range(2)]
    assert after == pytest.approx([0.01 * (1 - t / 7) ** 0.9 for t in range(8)]) and after[-1] == 0
    (tmp_path / "base.yaml").write_text("train: {epochs: 40, lr_mode: poly}\n")
    (tmp_path / "tune.yaml").write_text("train: {fine_tune_of: base.yaml, lr_mode: poly}\n")
    tune = load_config(str(tmp_path / "tune.yaml"))
    assert (tune.train.epochs, tune.train.lr_decay_epoch) == (10, None)  # a quarter; no steps to fill
    with pytest.raises(ConfigError, match=r"train.lr_decay_epoch a poly schedule decays at every iteration; leave "
                                          r"it null or \[\] \(got \[6\]\)"):
        load_config(str(tmp_path / "tune.yaml"), ["train.lr_decay_epoch=[6]"])

"""Config loading: schema defaults, _base_ inheritance, overrides, and errors that name file, key and choices."""
import glob
import os

import pytest
import yaml

from gluon_upgrade.config.loader import config_from_dict, load_config
from gluon_upgrade.errors import ConfigError
from gluon_upgrade.training.dry_run import dry_run

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def write(path, text):
    path.write_text(text)
    return str(path)


CELLS = os.path.join(ROOT, "configs", "demo", "effect")
"""The effect study's cells: config fragments laid over the demo configs (tests/test_effect_study.py)."""
CONFIGS = sorted(path for path in glob.glob(os.path.join(ROOT, "configs", "**", "*.yaml"), recursive=True)
                 if not path.startswith(CELLS + os.sep))


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.relpath(p, os.path.join(ROOT, "configs")))
def test_every_bundled_config_passes_the_dry_run(path):
    config = load_config(path)
    text = dry_run(config)
    header, body = text.split("\n", 1)
    assert yaml.safe_load(body) == config
    assert isinstance(config.train.epochs, int) and all(isinstance(d, int) for d in config.train.lr_decay_epoch or [])
    assert config.train.lr_decay_epoch or config.train.lr_mode == "poly" or config.train.epochs < 3
    deformable = int(header.split(" parameters, ")[1].split()[0])
    assert deformable == (0 if config.model.mode == "baseline" else 3), header


def test_base_is_merged_section_by_section():
    config = load_config(os.path.join(ROOT, "configs", "demo", "ssd_coco.yaml"))
    assert config.model.name == "ssd_128_resnet29_v1_demo" and config.model.data_shape == 128  # from the base
    assert config.data.format == "coco" and config.data.val_splits == ["val2017"]  # its own
    assert config.eval.batch_size == 32 and config.eval.nms_thresh == 0.45  # base, then schema default


def test_overrides_are_read_as_yaml_and_validated(tmp_path):
    path = write(tmp_path / "c.yaml", "model: {name: yolo3_darknet53_voc}\n")
    config = load_config(path, ["eval.batch_size=3", "ctx=[gpu0, gpu1]", "model.weights=null"])
    assert config.eval.batch_size == 3 and config.ctx == ["gpu0", "gpu1"] and config.model.weights is None
    with pytest.raises(ConfigError, match="--set eval.batch_size=0: eval.batch_size must be >= 1"):
        load_config(path, ["eval.batch_size=0"])
    with pytest.raises(ConfigError, match="expected key.path=value"):
        load_config(path, ["eval.batch_size"])


def test_unknown_key_names_file_key_suggestion_and_valid_keys(tmp_path):
    path = write(tmp_path / "typo.yaml", "model:\n  nmae: ssd\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(path) and "unknown key 'model.nmae'" in message
    assert "did you mean 'model.name'?" in message and "valid keys in 'model': name, data_shape" in message


def test_error_in_a_base_file_names_the_base(tmp_path):
    write(tmp_path / "base.yaml", "eval: {metric: map}\n")
    child = write(tmp_path / "child.yaml", "_base_: base.yaml\nseed: 1\n")
    with pytest.raises(ConfigError,
                       match="base.yaml: eval.metric must be one of voc07, voc, coco, voc07_sweep, got 'map'"):
        load_config(child)


@pytest.mark.parametrize("text, message", [
    ("model: {pretrained: 'yes'}", "model.pretrained must be true or false, got 'yes'"),
    ("eval: {nms_thresh: 0}", "eval.nms_thresh must be > 0"),
    ("eval: {batch_size: 2.5}", "eval.batch_size must be an integer"),
    ("data: {val_splits: 2007/test}", "data.val_splits must be a list"),
    ("model: {mode: upgraded}", "model.mode must be one of baseline, dcn_scratch, upgrade"),
    ("model: [a, b]", "model must be a mapping of keys"),
    ("ctx: [cpu, gpu0]", "ctx is \\[cpu\\], a list of distinct GPUs or a list of distinct CPUs"),
    ("ctx: [gpu1, gpu1]", "ctx is \\[cpu\\], a list of distinct GPUs"),
    ("ctx: [tpu0]", "ctx entries must read cpu, cpuN or gpuN"),
    ("train: {lr: -0.1}", "bad.yaml: train.lr must be > 0, got -0.1"),
    ("train: {epochs: 10, lr_decay_epoch: [8, 12]}", "train.lr_decay_epoch entries must be below train.epochs \\(10\\)"),
    ("train: {epochs: 10, lr_decay_epoch: [8, 4]}", "train.lr_decay_epoch must be strictly increasing"),
    ("train: {epochs: 10, warmup_epochs: 10}", "train.warmup_epochs must be below train.epochs"),
    ("train: {epochs: 10, warmup_epochs: 3, lr_decay_epoch: [2]}", "entries must come after the warm-up"),
    ("train: {amp: true}", "train.amp needs GPUs"),
    ("train: {kvstore: dist}", "train.kvstore must be one of device, local, dist_sync, dist_device_sync, horovod"),
    ("train: {lr_decay_epochs: [2]}", "unknown key 'train.lr_decay_epochs'; did you mean 'train.lr_decay_epoch'\\?"),
    ("train: {mixup: true}", "train.mixup applies to YOLOv3 models only"),
    ("train: {augment: light}", "train.augment must be one of gluoncv, crop_flip"),
    ("model: {mode: upgrade}", "model.mode upgrade needs the trained standard network"),
    ("train: {fine_tune_of: nowhere.yaml}", "train.fine_tune_of: baseline config .*nowhere.yaml not found"),
    ("eval: {metric: coco}", "coco needs COCO-layout data"),
    ("- a list", "a config is a mapping"),
    ("model: {name: [unclosed", "not valid YAML"),
])
def test_bad_values_are_rejected_with_the_reason(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path / "bad.yaml", text + "\n"))


def test_base_cycle_and_missing_files(tmp_path):
    write(tmp_path / "a.yaml", "_base_: b.yaml\n")
    write(tmp_path / "b.yaml", "_base_: a.yaml\n")
    with pytest.raises(ConfigError, match="_base_ cycle"):
        load_config(str(tmp_path / "a.yaml"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(str(tmp_path / "none.yaml"))
    with pytest.raises(ConfigError, match="_base_ file .*gone.yaml not found"):
        load_config(write(tmp_path / "c.yaml", "_base_: gone.yaml\n"))


def test_resolved_config_round_trips_through_yaml(tmp_path):
    config = load_config(os.path.join(ROOT, "configs", "demo", "ssd_coco.yaml"))
    again = load_config(write(tmp_path / "resolved.yaml", config.to_yaml()))
    assert again == config
    assert config_from_dict(dict(config)) == config

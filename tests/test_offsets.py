"""What the offsets learned: sampling grids and composition against hand-computed cases, offsets read out of a
network, multiply-accumulate counts, and scripts/visualize_offsets.py and scripts/export.py from a config."""
import glob
import json
import os

import mxnet as mx
import numpy as np
import pytest
from conftest import run_script
from mxnet.gluon import nn

import gluon_upgrade as gu
from gluon_upgrade.config.loader import load_config
from gluon_upgrade.errors import UpgradeError
from gluon_upgrade.models.build import build_network
from gluon_upgrade.reporting.flops import count_macs
from gluon_upgrade.reporting.offsets import (LayerOffsets, compose_sampling, layer_offsets, offset_statistics,
                                             plot_sampling)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def layer(offsets, size=(5, 5), kernel=(3, 3), stride=(1, 1), pad=(1, 1), dilate=(1, 1)):
    return LayerOffsets("l", kernel, stride, pad, dilate, size, np.asarray(offsets, dtype=np.float64))


def test_sample_grid_of_a_standard_and_a_shifted_tap():
    offsets = np.zeros((18, 5, 5))
    offsets[8, 1, 1], offsets[9, 1, 1] = 0.5, -2.0  # tap 4 (the centre): row +0.5, column -2
    grid = layer(offsets)
    standard = grid.sample_grid(deformed=False)[0, :, 1, 1]
    assert standard.tolist() == [[y, x] for y in (0, 1, 2) for x in (0, 1, 2)]
    shifted = grid.sample_grid()[0, :, 1, 1]
    assert shifted[4].tolist() == [1.5, -1.0]
    assert np.array_equal(np.delete(shifted, 4, axis=0), np.delete(standard, 4, axis=0))
    strided = layer(np.zeros((18, 2, 2)), stride=(2, 2), dilate=(2, 2), pad=(2, 2))
    assert strided.sample_grid(deformed=False)[0, 0, 1, 0].tolist() == [0.0, -2.0]


def test_outside_fraction_and_statistics_by_hand():
    offsets = np.zeros((2, 2, 2))  # 1x1 kernel on a 2x2 map: four samples
    offsets[0, 0, 1] = 5.0  # one sample moves 5 rows down, out of the map
    grid = layer(offsets, size=(2, 2), kernel=(1, 1), pad=(0, 0))
    assert grid.outside_fraction() == 0.25
    stats = offset_statistics([grid], (8, 8))[0]  # the map's pixel is 4 image pixels
    assert stats["mean"] == pytest.approx(5 / 4) and stats["max"] == 5.0
    assert stats["max_image_px"] == 20.0 and stats["outside"] == 0.25 and stats["outside_standard"] == 0.0
    # A 3x3 kernel with padding 1 on a 4x4 map reads padding in 1 - (10/12)**2 of its samples.
    assert layer(np.zeros((18, 4, 4)), size=(4, 4)).outside_fraction() == pytest.approx(1 - (10 / 12) ** 2)


def test_zero_offsets_compose_to_the_receptive_field():
    """Two stacked 3x3 layers on a 5x5 map: the centre unit sees the 5x5 block, 81 samples in all."""
    layers = [layer(np.zeros((18, 5, 5))), layer(np.zeros((18, 5, 5)))]
    points, unit = compose_sampling(layers, (2.0, 2.0), (5, 5))
    assert unit == (2, 2) and len(points) == 81
    assert {tuple(p) for p in points.tolist()} == {(float(y), float(x)) for y in range(5) for x in range(5)}
    corner, unit = compose_sampling(layers, (0.0, 0.0), (5, 5))
    # The corner unit's samples outside the map (padding) are not traced through the first layer.
    assert unit == (0, 0) and len(corner) == 4 * 9
    # In a 10 px image each map pixel is 2 image pixels: positions scale about the cells' centres.
    scaled, _ = compose_sampling(layers, (4.0, 4.0), (10, 10))
    assert sorted({p[0] for p in scaled.tolist()}) == [0.5, 2.5, 4.5, 6.5, 8.5]


def upgraded_sequential():
    net = nn.HybridSequential(prefix="seq_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, padding=1, in_channels=3), nn.Conv2D(4, 3, padding=1, in_channels=4),
                nn.Conv2D(4, 3, strides=2, padding=1, in_channels=4))
    net.initialize()
    net(mx.nd.zeros((1, 3, 8, 8)))
    return gu.upgrade(net, layers="last2", scope="")


def test_layer_offsets_reads_what_the_offset_branches_predict():
    net = upgraded_sequential()
    biases = [p for name, p in sorted(net.collect_params().items()) if name.endswith("offset_bias")]
    for factor, param in enumerate(biases, start=1):
        param.set_data(mx.nd.arange(18) * factor)
    layers = layer_offsets(net, mx.nd.random.uniform(shape=(1, 3, 8, 8)))
    assert [l.input_size for l in layers] == [(8, 8), (8, 8)] and [l.output_size for l in layers] == [(8, 8), (4, 4)]
    assert layers[1].stride == (2, 2) and layers[1].pad == (1, 1) and layers[1].kernel == (3, 3)
    for found in layers:
        per_channel = found.offsets.reshape(18, -1)
        assert np.all(per_channel == per_channel[:, :1]) and per_channel[1, 0] > 0
    assert layers[1].offsets[17, 0, 0] == 2 * layers[0].offsets[17, 0, 0]
    with pytest.raises(UpgradeError, match="no deformable layer"):
        layer_offsets(nn.Conv2D(2, 3, in_channels=3, prefix="plain_"), mx.nd.zeros((1, 3, 8, 8)))


def test_plot_sampling_writes_a_picture(tmp_path):
    layers = [layer(np.random.RandomState(0).normal(size=(18, 5, 5)))]
    out = plot_sampling(np.zeros((5, 5, 3), dtype=np.uint8), layers, [(1.0, 1.0), (3.0, 3.0)], str(tmp_path / "p.png"))
    assert os.path.getsize(out) > 1000


def test_count_macs_by_hand():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 3, padding=1, in_channels=3), nn.Conv2D(4, 3, strides=2, padding=1, groups=2, in_channels=8),
            nn.Dense(5, in_units=64))
    net.initialize()
    net(mx.nd.zeros((1, 3, 8, 8)))
    assert count_macs(net, (1, 3, 8, 8)) == {"convolution": 8 * 3 * 9 * 64 + 4 * 4 * 9 * 16, "deformable": 0,
                                             "sampling": 0, "dense": 64 * 5, "total": 16448}
    net = gu.upgrade(net, layers="last1", scope="")
    macs = count_macs(net, (1, 3, 8, 8))
    assert macs["convolution"] == 8 * 3 * 9 * 64 + 18 * 8 * 9 * 16  # the offset branch sees all 8 channels
    assert macs["deformable"] == 4 * 4 * 9 * 16 and macs["sampling"] == 8 * 9 * 16 * 4


@pytest.fixture(scope="module")
def deformable_weights(demo_voc, tmp_path_factory):
    """Weights of the demo SSD in mode dcn_scratch, with non-zero offset branches, and the config overrides."""
    # Random weights: the demo's pretrained backbone (made by make demo-data, absent on a bare machine) is moot.
    overrides = ["data.root=" + demo_voc.root, "model.mode=dcn_scratch", "model.pretrained_base=false"]
    config = load_config(os.path.join(ROOT, "configs", "demo", "ssd_voc.yaml"), overrides)
    net = build_network(config.model, tuple(demo_voc.classes), [mx.cpu()])
    mx.random.seed(0)
    for name, param in net.collect_params().items():
        if "offset_weight" in name:
            param.set_data(mx.nd.random.normal(0, 0.05, shape=param.shape))
    path = str(tmp_path_factory.mktemp("weights") / "dcn.params")
    net.save_parameters(path)
    return path, overrides


@pytest.mark.slow
def test_visualize_offsets_script(deformable_weights, demo_voc, tmp_path):
    weights, overrides = deformable_weights
    image = sorted(glob.glob(os.path.join(demo_voc.root, "**", "*.jpg"), recursive=True))[0]
    out = tmp_path / "offsets.png"
    result = run_script("scripts/visualize_offsets.py", "--config", "configs/demo/ssd_voc.yaml",
                        "--weights", weights, "--image", image, "--out", out,
                        *[a for o in overrides for a in ("--set", o)])
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "offsets.json").read_text())["layers"]
    assert [s["layer"].split("_")[1] for s in stats] == ["stage4", "stage4", "stage4"]
    assert all(s["max"] > 0 for s in stats) and os.path.getsize(str(out)) > 10000
    assert "samples outside the map" in (tmp_path / "offsets.md").read_text()
    bad = run_script("scripts/visualize_offsets.py", "--config", "configs/demo/ssd_voc.yaml",
                     "--weights", weights, "--image", image, "--points", "2,0.5")
    assert bad.returncode == 2 and "--points" in bad.stderr


@pytest.mark.slow
def test_visualize_offsets_averages_over_validation_images(deformable_weights, demo_voc, tmp_path):
    """Zero offset branches sample where the convolutions did: length 0, and the same shares outside the map and
    on the objects as the standard grid; random offset branches move the samples, not the standard grid."""
    weights, overrides = deformable_weights
    config = load_config(os.path.join(ROOT, "configs", "demo", "ssd_voc.yaml"), overrides)
    zero = str(tmp_path / "zero.params")
    build_network(config.model, tuple(demo_voc.classes), [mx.cpu()]).save_parameters(zero)  # offsets start at 0
    image = sorted(glob.glob(os.path.join(demo_voc.root, "**", "*.jpg"), recursive=True))[0]
    found = {}
    for name, path in (("zero", zero), ("random", weights)):
        result = run_script("scripts/visualize_offsets.py", "--config", "configs/demo/ssd_voc.yaml",
                            "--weights", path, "--image", image, "--out", tmp_path / (name + ".png"), "--images", 3,
                            *[a for o in overrides for a in ("--set", o)])
        assert result.returncode == 0, result.stderr
        found[name] = json.loads((tmp_path / (name + ".json")).read_text())["validation"]
    zero_offsets, random = found["zero"], found["random"]
    assert zero_offsets["mean_length"] == 0.0
    assert zero_offsets["outside"] == zero_offsets["outside_standard"] > 0  # the 3x3 windows read the padding
    assert zero_offsets["on_object"] == zero_offsets["on_object_standard"] > 0
    assert random["mean_length"] > 0 and random["outside_standard"] == zero_offsets["outside_standard"]
    assert "first 3 validation images" in (tmp_path / "random.md").read_text()
    bad = run_script("scripts/visualize_offsets.py", "--config", "configs/demo/ssd_voc.yaml",
                     "--weights", weights, "--image", image, "--images", "-1")
    assert bad.returncode == 2 and "--images" in bad.stderr


@pytest.mark.slow
def test_export_script_from_a_config(deformable_weights, tmp_path):
    weights, overrides = deformable_weights
    result = run_script("scripts/export.py", "--config", "configs/demo/ssd_voc.yaml",
                        "--weights", weights, "--prefix", tmp_path / "ssd",
                        *[a for o in overrides for a in ("--set", o)])
    assert result.returncode == 0, result.stderr
    assert "deformable layer output" in result.stdout and os.path.isfile(str(tmp_path / "ssd.onnx"))
    assert os.path.isfile(str(tmp_path / "ssd-symbol.json"))


@pytest.mark.slow
def test_both_scripts_take_a_segmenters_config(demo_voc, tmp_path):
    """The demo segmenter, deformable with random offset branches: the offsets drawn for its three res5 layers
    on 16x16 maps, and its export checked against MXNet, from its config."""
    config_file = os.path.join(ROOT, "configs", "demo", "fcn_voc_dcn.yaml")
    overrides = ["data.root=" + demo_voc.root, "model.pretrained_base=false"]
    net = build_network(load_config(config_file, overrides).model, tuple(demo_voc.classes), [mx.cpu()])
    mx.random.seed(0)
    for name, param in net.collect_params().items():
        if "offset_weight" in name:
            param.set_data(mx.nd.random.normal(0, 0.05, shape=param.shape))
    weights = str(tmp_path / "fcn.params")
    net.save_parameters(weights)
    sets = [a for o in overrides for a in ("--set", o)]
    image = sorted(glob.glob(os.path.join(demo_voc.root, "**", "*.jpg"), recursive=True))[0]
    drawn = run_script("scripts/visualize_offsets.py", "--config", config_file, "--weights", weights, "--image", image,
                       "--out", tmp_path / "offsets.png", *sets)
    assert drawn.returncode == 0, drawn.stderr
    stats = json.loads((tmp_path / "offsets.json").read_text())["layers"]
    assert [(s["layer"].split("_")[1], s["input_map"]) for s in stats] == [("stage4", "16x16")] * 3
    assert all(s["max"] > 0 for s in stats)
    exported = run_script("scripts/export.py", "--config", config_file, "--weights", weights, "--prefix",
                          tmp_path / "fcn", *sets)
    assert exported.returncode == 0, exported.stderr
    assert "deformable layer output" in exported.stdout and os.path.isfile(str(tmp_path / "fcn.onnx"))

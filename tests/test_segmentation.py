"""Segmentation's data, loss and evaluation paths on the demo set: GluonCV's reader with the set's own classes,
the loss against a hand computation, training steps that reach the offsets, and an upgraded segmenter scoring
what its baseline scored."""
import os
import shutil

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon
from PIL import Image

from gluon_upgrade import exactness_tolerance, upgrade
from gluon_upgrade.data.segmentation import VOCLayoutSegmentation, segmentation_loader
from gluon_upgrade.data.shapes import CLASSES
from gluon_upgrade.errors import ConfigError, DataError
from gluon_upgrade.evaluation.segmentation import evaluate_segmenter
from gluon_upgrade.models.build import build_network
from gluon_upgrade.models.demo_fcn import DEMO_FCN
from gluon_upgrade.models.init import random_init
from gluon_upgrade.training.losses import SegmentationLosses


def segmenter(size=64):
    mx.random.seed(0)
    net = build_network({"name": DEMO_FCN, "data_shape": size, "pretrained": False, "pretrained_base": False,
                         "weights": None, "mode": "baseline"}, CLASSES, [mx.cpu()])
    return random_init(net, (2, 3, size, size))


def test_the_demo_masks_read_with_the_sets_classes_and_gluoncvs_augmentation(demo_voc):
    train = VOCLayoutSegmentation(demo_voc.root, "train", "train", crop_size=64, base_size=96)
    assert len(train) == 12 and train.classes == CLASSES and train.num_class == 1 + len(CLASSES)
    image, mask = train[0]
    assert image.shape == (3, 64, 64) and image.dtype == np.float32 and mask.shape == (64, 64)
    assert set(np.unique(mask.asnumpy())) <= set(range(-1, len(CLASSES) + 1))
    val = VOCLayoutSegmentation(demo_voc.root, "val", "val", crop_size=64)
    first, again = val[3], val[3]
    assert (first[1].asnumpy() == again[1].asnumpy()).all() and first[0].shape == (3, 64, 64)
    raw = VOCLayoutSegmentation(demo_voc.root, "val", "testval")
    png = np.array(Image.open(raw.masks[0])).astype(np.int32)
    png[png == 255] = -1
    np.testing.assert_array_equal(raw[0][1].asnumpy(), png)


def test_flip_augmentation_is_the_validation_crop_or_its_mirror(demo_voc):
    from gluon_upgrade.data.segmentation import segmentation_dataset
    data = {"format": "voc", "root": demo_voc.root, "train_splits": None, "val_splits": None}
    flipped = segmentation_dataset(data, 64, train=True, augment="flip")
    plain = VOCLayoutSegmentation(demo_voc.root, "train", "val", crop_size=64)  # the same images, validation crop
    mirrored = 0
    for index in range(len(plain)):
        (image, mask), (want_image, want_mask) = flipped[index], plain[index]
        same = (mask.asnumpy() == want_mask.asnumpy()).all()
        if not same:
            np.testing.assert_array_equal(mask.asnumpy(), want_mask.asnumpy()[:, ::-1])
            want_image = want_image[:, :, ::-1]
            mirrored += 1
        np.testing.assert_allclose(image.asnumpy(), want_image.asnumpy(), atol=1e-6)
    assert 0 < mirrored < len(plain)


@pytest.mark.parametrize("augment", ["gluoncv", "flip"])
def test_training_batches_depend_on_the_seed_not_on_the_loader_workers(demo_voc, augment):
    """Each image's augmentation is seeded in the training process, as the detectors' is: with the NumPy and
    Python generators seeded alike, 0 or 2 worker processes give the same batches, another seed others."""
    import random
    from gluon_upgrade.data.segmentation import segmentation_dataset
    data = {"format": "voc", "root": demo_voc.root, "train_splits": None, "val_splits": None}
    dataset = segmentation_dataset(data, 64, train=True, augment=augment)

    def batches(workers, seed):
        random.seed(seed)
        np.random.seed(seed)
        return [(x.asnumpy(), y.asnumpy()) for x, y in segmentation_loader(dataset, 4, True, workers)]

    first, again, other = batches(0, 1), batches(2, 1), batches(0, 2)
    assert len(first) == 3
    for (x, y), (x2, y2) in zip(first, again):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    assert any((x != x2).any() for (x, _), (x2, _) in zip(first, other))


def test_a_missing_split_or_mask_names_the_layout_or_the_file(demo_voc, tmp_path):
    with pytest.raises(DataError, match=r"no VOC segmentation split list .*VOC2012/\{SegmentationClass.*pascal_voc"):
        VOCLayoutSegmentation(str(tmp_path), "train")
    root = str(tmp_path / "copy")
    shutil.copytree(demo_voc.root, root)
    mask = os.path.join(root, "VOCdevkit", "VOC2012", "SegmentationClass", "000013.png")
    os.remove(mask)
    with pytest.raises(DataError, match="{}: listed in .*val.txt, but missing".format(mask)):
        VOCLayoutSegmentation(root, "val")


def test_the_loss_is_the_per_image_mean_of_minus_log_p_with_void_pixels_zero():
    rng = np.random.RandomState(0)
    scores, aux = rng.randn(2, 3, 2, 3), rng.randn(2, 3, 2, 3)
    labels = np.array([[[0, 1, 2], [-1, 1, 0]], [[2, 2, -1], [-1, 0, 1]]])

    def expected(values):
        log_p = values - np.log(np.exp(values).sum(axis=1, keepdims=True))
        picked = np.take_along_axis(log_p, np.maximum(labels, 0)[:, None], axis=1)[:, 0]
        return np.where(labels >= 0, -picked, 0).mean(axis=(1, 2))

    def net(images):
        return mx.nd.array(scores), mx.nd.array(aux)
    totals, parts = SegmentationLosses(aux_weight=0.5)(net, [mx.nd.zeros((2, 3, 2, 3)), mx.nd.array(labels)],
                                                       [mx.cpu()])
    np.testing.assert_allclose(totals[0].asnumpy(), expected(scores) + 0.5 * expected(aux), rtol=1e-5)
    assert parts["seg_loss"].asscalar() == pytest.approx(expected(scores).mean(), rel=1e-5)
    assert parts["aux_loss"].asscalar() == pytest.approx(0.5 * expected(aux).mean(), rel=1e-5)


def test_training_steps_lower_the_loss_and_reach_the_upgraded_layers_offsets(demo_voc):
    net = upgrade(segmenter(), layers="last3")
    data = VOCLayoutSegmentation(demo_voc.root, "train", "val", crop_size=64)  # fixed crops: the same batch
    images, masks = next(iter(segmentation_loader(data, 4, shuffle=False)))
    losses = SegmentationLosses()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01, "momentum": 0.9})
    offsets = [p for name, p in net.collect_params().items() if name.endswith("_offset_weight")]
    history = []
    for _ in range(8):
        with autograd.record():
            totals, parts = losses(net, [images, masks], [mx.cpu()])
        autograd.backward(totals)
        assert all(np.abs(p.grad().asnumpy()).max() > 0 for p in offsets)
        trainer.step(losses.step_size(len(images)))
        history.append(sum(v.asscalar() for v in parts.values()))
    assert len(offsets) == 3 and history[-1] < 0.8 * history[0], history


@pytest.mark.exactness
def test_an_upgraded_segmenter_predicts_what_its_baseline_predicted(demo_voc):
    """Every pixel whose two best scores the baseline separates by more than the float32 bound gets the same
    class after the upgrade; where every pixel does, pixel accuracy, mIoU and each IoU are equal to the last bit."""
    net = segmenter()
    val = VOCLayoutSegmentation(demo_voc.root, "val", "val", crop_size=64)
    images = mx.nd.stack(*[val[i][0] for i in range(len(val))])
    before = evaluate_segmenter(net, val, batch_size=4, progress=False)
    scores = net(images)[0].asnumpy()
    net = upgrade(net, layers="last3")
    after = evaluate_segmenter(net, val, batch_size=4, progress=False)
    upgraded = net(images)[0].asnumpy()
    top2 = np.sort(scores, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > exactness_tolerance(net).bound * np.abs(scores).max()
    assert clear.mean() > 0.99 and 0 < before.values["miou"] < 1
    np.testing.assert_array_equal(upgraded.argmax(axis=1)[clear], scores.argmax(axis=1)[clear])
    if (upgraded.argmax(axis=1) == scores.argmax(axis=1)).all():
        assert after.values == before.values and after.per_class == before.per_class


def write_segmentation_config(tmp_path, root, extra=""):
    path = tmp_path / "fcn.yaml"
    path.write_text("model: {{name: {}, data_shape: 64, pretrained_base: false}}\n"
                    "data: {{format: voc, root: {}}}\n"
                    "eval: {{batch_size: 6}}\n"
                    "train: {{epochs: 2, lr_decay_epoch: [], warmup_epochs: 0, optimizer: adam, lr: 0.002, "
                    "batch_size: 4, log_interval: 1}}\n{}".format(DEMO_FCN, root, extra))
    return str(path)


@pytest.mark.slow
def test_the_training_loop_trains_a_segmenter_and_its_upgrade_starts_where_it_ended(demo_voc, tmp_path):
    """The same loop, run directory and fine-tune rule as detection: metrics.csv gets the segmentation losses and
    pixacc / miou; the upgrade's row 0 scores the upgraded baseline, which predicts what the baseline did."""
    from conftest import read_metrics
    from gluon_upgrade.config.loader import load_config
    from gluon_upgrade.training.loop import train
    baseline = train(load_config(write_segmentation_config(tmp_path, demo_voc.root)), str(tmp_path / "base"),
                     progress=False)
    rows = read_metrics(baseline.output)
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"seg_loss", "aux_loss", "miou", "pixacc"} <= set(rows[0]) and "map" not in rows[0]
    assert baseline.best_map == pytest.approx(max(float(r["miou"]) for r in rows), rel=1e-5)
    assert 0 < baseline.best_map < 1 and baseline.label == "mIoU"
    weights = os.path.join(baseline.output, "last.params")
    upgraded = load_config(write_segmentation_config(tmp_path, demo_voc.root),
                           ["model.mode=upgrade", "model.weights=" + weights, "train.epochs=1",
                            "model.upgrade.impl=mxnet"])
    result = train(upgraded, str(tmp_path / "upgrade"), progress=False)
    start = read_metrics(result.output)[0]
    assert start["epoch"] == "0"
    assert (start["miou"], start["pixacc"]) == (rows[-1]["miou"], rows[-1]["pixacc"])  # as metrics.csv writes them
    from gluon_upgrade.evaluation.from_config import evaluate_config
    report = evaluate_config(load_config(write_segmentation_config(tmp_path, demo_voc.root)), weights, progress=False)
    assert report.images == 12 and report.result.values["miou"] == pytest.approx(float(rows[-1]["miou"]), rel=1e-5)
    assert list(report.result.per_class) == ["background", *CLASSES]


@pytest.mark.slow
def test_two_segmentation_workers_on_loopback_train_their_halves_to_the_same_parameters(demo_voc, tmp_path):
    import sys
    from conftest import run_script
    run = str(tmp_path / "run")
    result = run_script("scripts/launch_dist.py", "-n", "2", "-s", "1", "--", sys.executable, "scripts/train.py",
                        "--config", write_segmentation_config(tmp_path, demo_voc.root), "--output", run,
                        "--no-progress", "--set", "train.kvstore=dist_sync",
                        timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    def fingerprints(name):
        with open(os.path.join(run, name)) as f:
            return [line.split("md5 ")[1].strip() for line in f if "parameters md5" in line]

    chief, other = fingerprints("log.txt"), fingerprints("log.rank1.txt")
    assert len(chief) == 2 and chief == other and chief[0] != chief[1]
    assert "12 training images (6 per worker x 2 workers)" in open(os.path.join(run, "log.txt")).read()


def test_a_segmentation_run_refuses_what_only_detection_does(demo_voc, tmp_path):
    from gluon_upgrade.config.loader import load_config
    from gluon_upgrade.training.loop import train
    config = load_config(write_segmentation_config(tmp_path, demo_voc.root), ["train.augment=crop_flip"])
    with pytest.raises(ConfigError, match="train.augment: a segmenter trains with gluoncv or flip, got crop_flip"):
        train(config, str(tmp_path / "run"), progress=False)
    assert not os.path.exists(tmp_path / "run")
    splits = load_config(write_segmentation_config(tmp_path, demo_voc.root), ["data.val_splits=[2007/test]"])
    with pytest.raises(ConfigError, match="leave them null"):
        train(splits, str(tmp_path / "run"), progress=False)


def test_a_segmenters_config_takes_no_detection_metric(demo_voc, tmp_path):
    from gluon_upgrade.config.loader import load_config
    with pytest.raises(ConfigError, match="eval.metric=voc07: eval.metric fcn_128_resnet29_v1_demo is a segmenter"):
        load_config(write_segmentation_config(tmp_path, demo_voc.root), ["eval.metric=voc07"])

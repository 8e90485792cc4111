"""Loaders and the evaluation routine on the demo data: batches from GluonCV's transforms, the whole loop
scored against the metric fed directly, and scripts/eval.py from a config."""
import json
import os

import mxnet as mx
import numpy as np
import pytest
from conftest import run_script
from mxnet import autograd
from gluoncv.utils.metrics.voc_detection import VOC07MApMetric

from gluon_upgrade.config.loader import config_from_dict
from gluon_upgrade.data.datasets import COCOLayoutDetection, VOCLayoutDetection
from gluon_upgrade.data.transforms import (SSDCropFlipTrainTransform, YOLO3CropFlipTrainTransform, train_loader,
                                          val_loader)
from gluon_upgrade.evaluation import evaluate
from gluon_upgrade.evaluation.from_config import evaluate_config
from gluon_upgrade.errors import ConfigError, ModelError
from gluon_upgrade.models.build import build_network, trained_network

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SIZE = 128


def demo_config(data_root, data_format="voc", **model):
    splits = {"voc": (["2007/trainval"], ["2007/test"]), "coco": (["train2017"], ["val2017"])}[data_format]
    return config_from_dict({
        "model": {"name": "ssd_512_resnet18_v1_voc", "data_shape": SIZE, "pretrained_base": False, **model},
        "data": {"format": data_format, "root": data_root, "train_splits": splits[0], "val_splits": splits[1]},
        "eval": {"batch_size": 5}})


def ground_truth_in_input_frame(dataset):
    """Per image: (boxes scaled to SIZE x SIZE, labels)."""
    out = []
    for index in range(len(dataset)):
        image, label = dataset[index]
        height, width = image.shape[:2]
        label = np.asarray(label, dtype=np.float64)
        out.append((label[:, :4] * np.array([SIZE / width, SIZE / height] * 2), label[:, 4]))
    return out


class Oracle(mx.gluon.Block):
    """Returns given detections batch after batch, in dataset order, as GluonCV detectors do."""

    def __init__(self, detections):
        super().__init__()
        self.detections, self.position = detections, 0

    def forward(self, x):
        batch = self.detections[self.position:self.position + x.shape[0]]
        self.position += x.shape[0]
        most = max(len(labels) for _, labels, _ in batch)
        ids, scores, boxes = (-np.ones((len(batch), most, k)) for k in (1, 1, 4))
        for row, (box, labels, score) in enumerate(batch):
            ids[row, :len(labels), 0], scores[row, :len(labels), 0], boxes[row, :len(labels)] = labels, score, box
        return mx.nd.array(ids), mx.nd.array(scores), mx.nd.array(boxes)


def test_perfect_detections_score_one_through_the_whole_loop(demo_voc, demo_coco):
    voc = VOCLayoutDetection(demo_voc.root, ["2007/test"])
    perfect = [(b, l, np.ones(len(l))) for b, l in ground_truth_in_input_frame(voc)]
    assert evaluate(Oracle(perfect), voc, "voc07", SIZE, batch_size=5, progress=False).map == pytest.approx(1.0)
    coco = COCOLayoutDetection(demo_coco.root, "val2017", skip_empty=False)
    perfect = [(b, l, np.ones(len(l))) for b, l in ground_truth_in_input_frame(coco)]
    result = evaluate(Oracle(perfect), coco, "coco", SIZE, batch_size=5, progress=False)
    assert result.map == pytest.approx(1.0) and result.values["map75"] == pytest.approx(1.0)


def test_noisy_detections_score_what_the_metric_gives_when_fed_directly(demo_voc):
    dataset = VOCLayoutDetection(demo_voc.root, ["2007/test"])
    rng = np.random.default_rng(0)
    truth = ground_truth_in_input_frame(dataset)
    noisy = []
    for boxes, labels in truth:
        boxes = np.vstack([boxes + rng.normal(0, 3, boxes.shape), rng.uniform(0, 100, (2, 4)).cumsum(1) % SIZE])
        labels = np.concatenate([np.where(rng.random(len(labels)) < 0.2, (labels + 1) % 6, labels), [0, 1]])
        noisy.append((boxes, labels, rng.random(len(labels))))
    result = evaluate(Oracle(noisy), dataset, "voc07", SIZE, batch_size=5, progress=False)

    reference = VOC07MApMetric(iou_thresh=0.5, class_names=list(dataset.classes))
    for (boxes, labels, scores), (gt_boxes, gt_labels), index in zip(noisy, truth, range(len(dataset))):
        difficult = dataset._label_cache[index][:, 5]
        reference.update(np.clip(boxes, 0, SIZE)[None], labels[None], scores[None], gt_boxes[None],
                         gt_labels[None], difficult[None])
    names, values = reference.get()
    assert 0.05 < result.map < 0.95
    assert result.map == pytest.approx(values[-1], abs=1e-6)
    assert list(result.per_class.values()) == pytest.approx(values[:-1], abs=1e-6, nan_ok=True)


@pytest.mark.parametrize("name", ["ssd_512_resnet18_v1_voc", "yolo3_mobilenet0.25_voc"])
def test_train_and_val_batches_from_gluoncv_transforms(demo_voc, name):
    dataset = VOCLayoutDetection(demo_voc.root, ["2007/trainval"])
    config = demo_config(demo_voc.root, name=name)
    net = build_network(config.model, dataset.classes, [mx.cpu()])
    assert tuple(net.classes) == dataset.classes
    images, labels = next(iter(val_loader(dataset, SIZE, 4)))
    assert images.shape == (4, 3, SIZE, SIZE) and labels.shape[0] == 4 and labels.shape[2] == 6
    assert float(labels[:, :, :4].max().asscalar()) <= SIZE
    batch = next(iter(train_loader(dataset, net, SIZE, 4)))
    assert batch[0].shape == (4, 3, SIZE, SIZE)
    if name.startswith("ssd"):
        assert len(batch) == 3 and batch[1].shape[0] == 4 and batch[2].shape[2] == 4
        assert float((batch[1] > 0).sum().asscalar()) > 0, "no anchor matched a ground-truth box"
    else:
        assert len(batch) == 7 and batch[6].shape[0] == 4 and batch[6].shape[2] == 4


def test_crop_flip_keeps_every_box_inside_the_input_and_its_objects_unshrunk(demo_voc):
    dataset = VOCLayoutDetection(demo_voc.root, ["2007/trainval"])
    net = build_network(demo_config(demo_voc.root).model, dataset.classes, [mx.cpu()])
    with autograd.train_mode():
        _, _, anchors = net(mx.nd.zeros((1, 3, SIZE, SIZE)))
    transform = SSDCropFlipTrainTransform(SIZE, SIZE, anchors)
    plain = SSDCropFlipTrainTransform(SIZE, SIZE)  # no anchors: GluonCV's transforms then return the boxes
    image, label = dataset[0]
    height, width = image.shape[:2]
    whole = np.array([[0, 0, width - 1, height - 1, 0]], dtype=np.float32)  # one object filling the image
    mx.random.seed(0)
    np.random.seed(0)
    for _ in range(8):
        out, boxes = plain(image, label)
        assert out.shape == (3, SIZE, SIZE) and abs(float(out.mean().asscalar())) < 3  # normalised
        assert boxes.shape[1] == label.shape[1] and (boxes[:, :4] >= 0).all() and (boxes[:, :4] <= SIZE).all()
        # Any crop of the image is filled by that object; GluonCV's zoom-out (p=0.5) would shrink it up to 4x.
        _, filled = plain(image, whole)
        assert filled[0, 2] - filled[0, 0] >= SIZE - 2 and filled[0, 3] - filled[0, 1] >= SIZE - 2
    _, cls_targets, box_targets = transform(image, label)
    assert cls_targets.shape == (anchors.shape[1],) and box_targets.shape == (anchors.shape[1], 4)
    assert float((cls_targets > 0).sum().asscalar()) > 0


def test_evaluate_config_loads_weights_saved_after_an_upgrade(demo_voc, tmp_path):
    dataset = VOCLayoutDetection(demo_voc.root, ["2007/test"])
    upgraded = build_network(demo_config(demo_voc.root, mode="dcn_scratch").model, dataset.classes, [mx.cpu()])
    weights = str(tmp_path / "upgraded.params")
    upgraded.save_parameters(weights)
    report = evaluate_config(demo_config(demo_voc.root, mode="dcn_scratch"), weights, progress=False)
    assert report.images == 12 and set(report.result.per_class) == set(dataset.classes)
    with pytest.raises(ModelError, match="does not fit"):
        evaluate_config(demo_config(demo_voc.root, mode="baseline"), weights, progress=False)
    with pytest.raises(ConfigError, match="nothing trained"):
        evaluate_config(demo_config(demo_voc.root), None)


def test_an_upgrade_runs_weights_evaluate_without_its_baselines_file(demo_voc, tmp_path):
    """The weights saved after an upgrade hold every parameter: rebuilding and evaluating them needs the config,
    not the baseline file its model.weights named (moved or deleted since)."""
    dataset = VOCLayoutDetection(demo_voc.root, ["2007/test"])
    baseline = str(tmp_path / "baseline.params")
    build_network(demo_config(demo_voc.root).model, dataset.classes, [mx.cpu()]).save_parameters(baseline)
    config = demo_config(demo_voc.root, mode="upgrade", weights=baseline)
    trained = str(tmp_path / "upgraded.params")
    net = build_network(config.model, dataset.classes, [mx.cpu()])
    for param in net.collect_params(".*offset.*weight").values():  # as if fine-tuned: offsets not zero
        param.set_data(mx.nd.random.normal(scale=0.05, shape=param.shape))
    net.save_parameters(trained)
    x = mx.nd.random.uniform(shape=(1, 3, SIZE, SIZE))
    there = [out.asnumpy() for out in trained_network(config.model, dataset.classes, trained, [mx.cpu()])(x)]
    config_file = tmp_path / "upgrade.yaml"
    config_file.write_text(config.to_yaml())
    os.remove(baseline)
    gone = [out.asnumpy() for out in trained_network(config.model, dataset.classes, trained, [mx.cpu()])(x)]
    for a, b in zip(there, gone):
        np.testing.assert_array_equal(a, b)
    result = run_eval("--config", config_file, "--weights", trained, "--no-progress")
    assert result.returncode == 0 and "12 images" in result.stdout, result.stderr


def run_eval(*args):
    return run_script("scripts/eval.py", *args)


@pytest.mark.slow
def test_eval_script_prints_table_and_writes_json(demo_coco, tmp_path):
    config = demo_config(demo_coco.root, "coco")
    net = build_network(config.model, tuple(demo_coco.classes), [mx.cpu()])
    weights = str(tmp_path / "net.params")
    net.save_parameters(weights)
    result = run_eval("--config", os.path.join(ROOT, "configs", "demo", "ssd_coco.yaml"), "--weights", weights,
                      "--set", "data.root=" + demo_coco.root, "--set", "model.name=" + config.model.name,
                      "--set", "model.data_shape=%d" % SIZE, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "map75" in result.stdout and "12 images" in result.stdout
    report = json.load(open(str(tmp_path / "net_eval.json")))
    assert report["metric"] == "coco" and report["images"] == 12 and len(report["per_class"]) == 6


@pytest.mark.slow
def test_eval_script_errors_are_one_message_and_exit_2(tmp_path):
    result = run_eval("--config", os.path.join(ROOT, "configs", "demo", "ssd_voc.yaml"), "--weights", "x.params",
                      "--set", "eval.metrc=voc")
    assert result.returncode == 2 and "did you mean 'eval.metric'" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_eval("--config", os.path.join(ROOT, "configs", "demo", "ssd_voc.yaml"), "--weights", "x.params",
                      "--set", "data.root=" + str(tmp_path))
    assert result.returncode == 2 and "no VOC split" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("transform", [SSDCropFlipTrainTransform, YOLO3CropFlipTrainTransform])
def test_flip_only_resizes_the_whole_image_and_mirrors_boxes_half_the_time(demo_voc, transform):
    dataset = VOCLayoutDetection(demo_voc.root, ["2007/trainval"])
    flip = transform(SIZE, SIZE, crop=False)
    image, label = dataset[0]
    height, width = image.shape[:2]
    resized = label[:, :4] * np.array([SIZE / width, SIZE / height] * 2)
    mirrored = resized.copy()
    mirrored[:, 0], mirrored[:, 2] = SIZE - resized[:, 2], SIZE - resized[:, 0]
    np.random.seed(0)
    seen = set()
    for _ in range(12):
        out, boxes = flip(image, label)
        assert out.shape == (3, SIZE, SIZE)
        if np.allclose(boxes[:, :4], resized, atol=1e-3):
            seen.add("kept")
        else:
            np.testing.assert_allclose(boxes[:, :4], mirrored, atol=1e-3)
            seen.add("mirrored")
        np.testing.assert_array_equal(boxes[:, 4], label[:, 4])
    assert seen == {"kept", "mirrored"}


def test_yolo3_crop_flip_makes_gluoncvs_seven_targets(demo_voc):
    dataset = VOCLayoutDetection(demo_voc.root, ["2007/trainval"])
    net = build_network(demo_config(demo_voc.root, name="yolo3_darknet27_demo").model, dataset.classes, [mx.cpu()])
    image, label = dataset[0]
    np.random.seed(0)
    out = YOLO3CropFlipTrainTransform(SIZE, SIZE, net, crop=False)(image, label)
    assert len(out) == 7 and out[0].shape == (3, SIZE, SIZE)
    # Each ground-truth box is assigned to one anchor of one output: as many positives as boxes (or fewer, where
    # two boxes share a cell and an anchor).
    positives = float(out[1].sum().asscalar())
    assert 1 <= positives <= len(label)
    # The last target is the boxes themselves, resized to the input (and mirrored, or not).
    height, width = image.shape[:2]
    resized = label[:, :4] * np.array([SIZE / width, SIZE / height] * 2)
    mirrored = resized.copy()
    mirrored[:, 0], mirrored[:, 2] = SIZE - resized[:, 2], SIZE - resized[:, 0]
    boxes = out[6].asnumpy()
    assert np.allclose(boxes, resized, atol=1e-3) or np.allclose(boxes, mirrored, atol=1e-3)

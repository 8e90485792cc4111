"""VOC07 / VOC / COCO metrics against hand-computed cases and against pycocotools called directly."""
import contextlib
import io

import numpy as np
import pytest
from pycocotools.cocoeval import COCOeval

from gluon_upgrade.data.datasets import COCOLayoutDetection
from gluon_upgrade.evaluation.metrics import COCOMetric, VOCMetric, make_metric


def voc_ap(gt, preds, use_07=True, difficult=None):
    """AP of class 0 for one image: ``gt`` boxes, ``preds`` as (box, score) pairs."""
    metric = VOCMetric(["thing"], use_07=use_07)
    boxes = np.array([[p[0] for p in preds]], dtype=np.float32).reshape(1, -1, 4)
    scores = np.array([[p[1] for p in preds]], dtype=np.float32)
    gt = np.array([gt], dtype=np.float32)
    diff = None if difficult is None else np.array([difficult], dtype=np.float32)
    metric.update([0], boxes, np.zeros(scores.shape), scores, gt, np.zeros(gt.shape[:2]), diff)
    return metric.result()


A, B = [10, 10, 50, 50], [60, 60, 90, 90]
MISS = [100, 0, 120, 20]


@pytest.mark.parametrize("use_07", [True, False])
def test_all_boxes_found_gives_one(use_07):
    assert voc_ap([A, B], [(A, 0.9), (B, 0.8)], use_07).map == pytest.approx(1.0)


def test_false_positive_ranked_first_matches_hand_computation():
    # Ranked: hit A (p=1, r=.5), miss (p=.5, r=.5), hit B (p=2/3, r=1).
    preds = [(A, 0.9), (MISS, 0.8), (B, 0.7)]
    # VOC07: recall points 0..0.5 (6 of 11) see precision 1, points 0.6..1.0 (5 of 11) see 2/3.
    assert voc_ap([A, B], preds, True).map == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)
    # Area: 0.5 of recall at precision 1, 0.5 at 2/3.
    assert voc_ap([A, B], preds, False).map == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_difficult_objects_neither_rewarded_nor_penalised():
    # A detection of a difficult object is not a hit; a missed difficult object is not a miss.
    found_difficult = voc_ap([A, B], [(B, 0.95), (A, 0.9)], True, difficult=[0, 1])
    missed_difficult = voc_ap([A, B], [(A, 0.9)], True, difficult=[0, 1])
    assert found_difficult.map == pytest.approx(1.0) and missed_difficult.map == pytest.approx(1.0)
    # The same miss without the flag halves recall: 6 of 11 recall points at precision 1.
    assert voc_ap([A, B], [(A, 0.9)], True).map == pytest.approx(6 / 11)


def test_duplicate_detection_counts_as_false_positive():
    assert voc_ap([A], [(A, 0.9), (A, 0.8)], False).map == pytest.approx(1.0)
    assert voc_ap([A], [(A, 0.8), ([10, 10, 80, 80], 0.9)], False).map == pytest.approx(0.5)


def test_per_class_ap_and_nan_for_class_without_ground_truth():
    metric = VOCMetric(["a", "b", "c"])
    boxes = np.array([[A, B]], dtype=np.float32)
    metric.update([0], boxes, np.array([[0, 1]]), np.array([[0.9, 0.9]]), boxes, np.array([[0, 0]]), None)
    result = metric.result()
    # b has a detection but no ground truth, c neither: both undefined, and left out of the mean.
    assert result.per_class["a"] == pytest.approx(6 / 11)
    assert np.isnan(result.per_class["b"]) and np.isnan(result.per_class["c"])
    assert result.map == pytest.approx(6 / 11)


def coco_predictions(dataset, seed=0):
    """GT boxes jittered, some dropped, plus false positives and wrong classes, in image pixels."""
    rng = np.random.default_rng(seed)
    per_image = []
    for index in range(len(dataset)):
        label = np.array(dataset._labels[index], dtype=np.float64)
        keep = rng.random(len(label)) < 0.8
        boxes = label[keep, :4] + rng.normal(0, 1, (keep.sum(), 4))
        labels = label[keep, 4].copy()
        labels[rng.random(len(labels)) < 0.15] = (labels[0] + 1) % len(dataset.classes) if len(labels) else 0
        extra = rng.uniform(0, 60, (2, 2))
        boxes = np.vstack([boxes, np.hstack([extra, extra + 20])])
        labels = np.concatenate([labels, rng.integers(0, len(dataset.classes), 2)])
        per_image.append((boxes, labels, rng.random(len(labels))))
    return per_image


def test_coco_metric_equals_pycocotools_called_directly(demo_coco):
    dataset = COCOLayoutDetection(demo_coco.root, "val2017", skip_empty=False)
    predictions = coco_predictions(dataset)
    metric = COCOMetric(dataset)
    for index, (boxes, labels, scores) in enumerate(predictions):
        metric.update([index], boxes[None], labels[None], scores[None])
    ours = metric.result()

    results = []
    for index, (boxes, labels, scores) in enumerate(predictions):
        for box, label, score in zip(boxes, labels, scores):
            results.append({"image_id": dataset.image_ids[index], "category_id": int(label) + 1, "score": score,
                            "bbox": [box[0], box[1], box[2] - box[0] + 1, box[3] - box[1] + 1]})
    with contextlib.redirect_stdout(io.StringIO()):
        reference = COCOeval(dataset.coco, dataset.coco.loadRes(results), "bbox")
        reference.evaluate()
        reference.accumulate()
        reference.summarize()
    assert 0.1 < ours.map < 0.95
    assert [ours.values[k] for k in ("map", "map50", "map75")] == pytest.approx(list(reference.stats[:3]))
    first = reference.eval["precision"][:, :, 0, 0, -1]
    assert ours.per_class[dataset.classes[0]] == pytest.approx(first[first > -1].mean())


def test_coco_metric_scales_input_frame_back_to_each_image(demo_coco):
    """Ground truth given in a 64x64 input frame scores 1.0 only if each image's own width/height undo it."""
    dataset = COCOLayoutDetection(demo_coco.root, "val2017", skip_empty=False)
    assert len({(e["width"], e["height"]) for e in dataset.coco.imgs.values()}) > 1
    metric = make_metric("coco", dataset, 64)
    for index in range(len(dataset)):
        label = np.array(dataset._labels[index], dtype=np.float64)
        entry = dataset.coco.imgs[dataset.image_ids[index]]
        boxes = label[:, :4] * np.array([64 / entry["width"], 64 / entry["height"]] * 2)
        metric.update([index], boxes[None], label[None, :, 4], np.ones((1, len(label))))
    assert metric.result().map == pytest.approx(1.0)


def test_coco_metric_without_detections_scores_zero(demo_coco):
    dataset = COCOLayoutDetection(demo_coco.root, "val2017", skip_empty=False)
    metric = COCOMetric(dataset)
    metric.update([0], np.zeros((1, 1, 4)), -np.ones((1, 1)), np.zeros((1, 1)))
    result = metric.result()
    assert result.map == 0.0 and result.values["map50"] == 0.0

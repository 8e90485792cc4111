"""The paper's detection metrics behind one interface: VOC07 11-point mAP@0.5, VOC 2010+ area mAP, COCO mAP.

VOC metrics are GluonCV's ``VOC07MApMetric`` / ``VOCMApMetric``. COCO numbers come from pycocotools'
``COCOeval``; GluonCV's ``COCODetectionMetric`` is not used because it returns formatted strings only (no
AP@.5 / AP@.75 numbers) and maps predictions to images by counting, which breaks when a split skips images.
"""
import contextlib
import io
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
from gluoncv.utils.metrics.voc_detection import VOC07MApMetric, VOCMApMetric

from ..errors import ConfigError, DataError

METRICS = ("voc07", "voc", "coco", "voc07_sweep")
"""``voc07``: VOC2007 11-point mAP (the paper's VOC metric); ``voc``: VOC2010+ area under the PR curve;
``coco``: mAP@[.5:.95], @.5, @.75 (and by object size); ``voc07_sweep``: VOC data summarised as COCO does,
VOC2007 11-point mAP at IoU 0.50, 0.55, ..., 0.95 and their mean."""
SWEEP_THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.5, 0.951, 0.05), 2))
"""COCO's ten IoU thresholds."""


@dataclass
class MetricResult:
    """Numbers of one evaluation: ``values['map']`` is a detector's headline number (a segmenter's ``miou``);
    ``per_class`` is AP (a segmenter's IoU) by class."""

    metric: str
    values: Dict[str, float]
    per_class: Dict[str, float] = field(default_factory=dict)
    per_class_name: str = "AP"

    @property
    def map(self) -> float:
        """The headline mAP (VOC: at IoU 0.5; COCO: averaged over IoU 0.5:0.95)."""
        return self.values["map"]

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {"metric": self.metric, "values": self.values, "per_class": self.per_class}

    def format_table(self) -> str:
        """Per-class AP and the summary values, in percent."""
        from ..reporting.tables import text_table
        rows = [[name, _percent(ap)] for name, ap in self.per_class.items()]
        rows += [[key, _percent(value)] for key, value in self.values.items()]
        return text_table(["class" if self.per_class else "value", "{} (%) {}".format(self.per_class_name, self.metric)],
                          rows)


def _percent(value: float) -> str:
    return "n/a" if value is None or np.isnan(value) else "{:.2f}".format(100 * value)


class VOCMetric:
    """VOC mAP at one IoU threshold; objects flagged ``difficult`` neither count as hits nor as misses.

    Parameters
    ----------
    classes : sequence of str
        Class names in label order.
    use_07 : bool
        VOC2007's 11-point interpolated AP (the paper's) or VOC2010+'s area under the curve.
    iou_thresh : float
        Overlap a detection needs with a ground-truth box.
    """

    def __init__(self, classes: Sequence[str], use_07: bool = True, iou_thresh: float = 0.5):
        self.name = "voc07" if use_07 else "voc"
        self.classes = list(classes)
        self._metric = (VOC07MApMetric if use_07 else VOCMApMetric)(iou_thresh=iou_thresh,
                                                                    class_names=self.classes)

    def update(self, indices: Sequence[int], boxes: np.ndarray, labels: np.ndarray, scores: np.ndarray,
               gt_boxes: np.ndarray, gt_labels: np.ndarray, gt_difficult: Optional[np.ndarray]) -> None:
        """Add one batch: predictions ``(B, N, 4)``, ``(B, N)``, ``(B, N)`` (label -1 pads); ground truth
        ``(B, M, 4)``, ``(B, M)``, ``(B, M)`` or None (label -1 pads). Boxes in one frame per image."""
        self._metric.update(boxes, labels, scores, gt_boxes, gt_labels, gt_difficult)

    def result(self) -> MetricResult:
        """AP per class (NaN for a class without ground truth) and their mean over classes that have some."""
        names, values = self._metric.get()
        per_class = dict(zip(names[:-1], (float(v) for v in values[:-1])))
        return MetricResult(self.name, {"map": float(values[-1])}, per_class)


class VOCSweepMetric:
    """VOC data scored at COCO's ten IoU thresholds: ``map`` is the mean of VOC2007 11-point mAP at IoU 0.50,
    0.55, ..., 0.95 (as COCO's mAP@[.5:.95] averages), ``map50`` and ``map75`` two of its terms.

    Strict-IoU localisation is where Dai et al. report deformable layers gaining most, and VOC-layout data has no
    pycocotools ground truth; unlike pycocotools this keeps VOC's rules (11-point AP, ``difficult`` objects
    ignored, no limit of 100 detections per image).

    Parameters
    ----------
    classes : sequence of str
        Class names in label order.
    """

    name = "voc07_sweep"

    def __init__(self, classes: Sequence[str]):
        self.classes = list(classes)
        self._metrics = [VOCMetric(classes, use_07=True, iou_thresh=t) for t in SWEEP_THRESHOLDS]

    def update(self, indices: Sequence[int], boxes: np.ndarray, labels: np.ndarray, scores: np.ndarray,
               gt_boxes: np.ndarray, gt_labels: np.ndarray, gt_difficult: Optional[np.ndarray]) -> None:
        """Add one batch, as ``VOCMetric.update``."""
        for metric in self._metrics:
            metric.update(indices, boxes, labels, scores, gt_boxes, gt_labels, gt_difficult)

    def result(self) -> MetricResult:
        """``map`` (the mean over the thresholds), ``map50``, ``map75``; per class, the mean over thresholds."""
        results = dict(zip(SWEEP_THRESHOLDS, (metric.result() for metric in self._metrics)))
        values = {"map": float(np.mean([r.map for r in results.values()])), "map50": results[0.5].map,
                  "map75": results[0.75].map}
        per_class = {name: float(np.mean([r.per_class[name] for r in results.values()])) for name in self.classes}
        return MetricResult(self.name, values, per_class)


class COCOMetric:
    """COCO box mAP through pycocotools, for a ``COCOLayoutDetection`` validation set.

    Parameters
    ----------
    dataset : COCOLayoutDetection
        Its ``coco`` ground truth, ``image_ids`` (dataset index -> COCO image id) and
        ``contiguous_id_to_json`` are used.
    input_size : int or None
        Predictions come in a ``input_size`` x ``input_size`` frame and are scaled to each image's size; None:
        they are already in image pixels.
    """

    name = "coco"

    def __init__(self, dataset, input_size: Optional[int] = None):
        self.dataset = dataset
        self.input_size = input_size
        self._detections: List[dict] = []
        self._seen: set = set()

    def update(self, indices: Sequence[int], boxes: np.ndarray, labels: np.ndarray, scores: np.ndarray,
               gt_boxes=None, gt_labels=None, gt_difficult=None) -> None:
        """Add one batch of predictions (ground truth comes from the annotation file); arguments as
        ``VOCMetric.update``."""
        for index, image_boxes, image_labels, image_scores in zip(indices, boxes, labels, scores):
            image_id = self.dataset.image_ids[index]
            self._seen.add(image_id)
            keep = image_labels >= 0
            frame = np.array(image_boxes[keep], dtype=np.float64)
            if self.input_size is not None:
                entry = self.dataset.coco.imgs[image_id]
                frame[:, [0, 2]] *= entry["width"] / self.input_size
                frame[:, [1, 3]] *= entry["height"] / self.input_size
            for (xmin, ymin, xmax, ymax), label, score in zip(frame, image_labels[keep], image_scores[keep]):
                # Inclusive pixel boxes, as GluonCV reads COCO's [x, y, w, h]: w = xmax - xmin + 1.
                self._detections.append({
                    "image_id": int(image_id), "category_id": int(self.dataset.contiguous_id_to_json[int(label)]),
                    "bbox": [float(xmin), float(ymin), float(xmax - xmin + 1), float(ymax - ymin + 1)],
                    "score": float(score)})

    def result(self) -> MetricResult:
        """mAP@[.5:.95] (``map``), ``map50``, ``map75``, ``map_small/medium/large`` and AP per class, over the
        images that were updated (pycocotools' ``COCOeval.summarize`` numbers)."""
        from pycocotools.cocoeval import COCOeval
        coco = self.dataset.coco
        if not self._seen:
            raise DataError("COCO metric: no image was evaluated")
        with contextlib.redirect_stdout(io.StringIO()):
            evaluator = COCOeval(coco, _results(coco, self._detections), "bbox")
            evaluator.params.imgIds = sorted(self._seen)
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        # pycocotools writes -1 where a number is undefined (no ground truth in that area range).
        values = {key: float(evaluator.stats[i]) if evaluator.stats[i] >= 0 else float("nan")
                  for i, key in enumerate(COCO_VALUES)}
        # precision: (IoU thresholds, recall points, classes, area ranges, max detections); area 'all', 100 dets.
        precision = evaluator.eval["precision"][:, :, :, 0, -1]
        per_class = {}
        for index, name in enumerate(self.dataset.classes):
            valid = precision[:, :, index][precision[:, :, index] > -1]
            per_class[name] = float(valid.mean()) if valid.size else float("nan")
        return MetricResult(self.name, values, per_class)


def _results(coco, detections: List[dict]):
    """pycocotools' result object; ``loadRes`` cannot take an empty list, so no detection gets an empty one."""
    if detections:
        return coco.loadRes(detections)
    from pycocotools.coco import COCO
    empty = COCO()
    empty.dataset = {"images": list(coco.dataset["images"]), "categories": list(coco.dataset["categories"]),
                     "annotations": []}
    empty.createIndex()
    return empty


COCO_VALUES = ("map", "map50", "map75", "map_small", "map_medium", "map_large")
"""The first six of ``COCOeval.stats``, in its order."""

VALUES = {"voc07": ("map",), "voc": ("map",), "coco": COCO_VALUES, "voc07_sweep": ("map", "map50", "map75")}
"""The keys of ``MetricResult.values`` for each metric."""


def make_metric(name: str, dataset, input_size: Optional[int], iou_thresh: float = 0.5):
    """``VOCMetric``, ``VOCSweepMetric`` or ``COCOMetric`` for a metric name of ``METRICS`` and a validation set."""
    if name in ("voc07", "voc"):
        return VOCMetric(dataset.classes, use_07=name == "voc07", iou_thresh=iou_thresh)
    if name == "voc07_sweep":
        return VOCSweepMetric(dataset.classes)
    if name == "coco":
        if not hasattr(dataset, "coco"):
            raise DataError("the coco metric needs a COCO-layout data set, got {}".format(type(dataset).__name__))
        return COCOMetric(dataset, input_size)
    raise ConfigError("unknown metric '{}'; valid: {}".format(name, ", ".join(METRICS)))

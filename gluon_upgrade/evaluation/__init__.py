"""Evaluation: VOC07 / VOC / COCO metrics and the one routine that scores a detector on a data set."""
from .evaluate import evaluate
from .metrics import COCOMetric, MetricResult, VOCMetric, make_metric

__all__ = ["COCOMetric", "MetricResult", "VOCMetric", "evaluate", "make_metric"]

"""The whole config schema, assembled from the fields each component keeps beside its own code."""
from typing import List, Tuple

from .. import runtime
from ..data import transforms
from ..data.datasets import FIELDS as DATA_FIELDS
from ..data.layouts import FORMATS
from ..evaluation.evaluate import FIELDS as EVAL_FIELDS
from ..models.build import FIELDS as MODEL_FIELDS, check_upgrade_source
from ..models.zoo import model_task
from . import train_section
from .schema import CrossCheck

SCHEMA = {
    **runtime.FIELDS,
    "model": MODEL_FIELDS,
    "data": DATA_FIELDS,
    "eval": EVAL_FIELDS,
    "train": {**train_section.FIELDS, **transforms.FIELDS},
}
"""Top-level keys and sections of every config."""


def _check_metric(config: dict) -> List[Tuple[str, str]]:
    if config["eval"]["metric"] is not None and model_task(config["model"]["name"]) == "segmentation":
        return [("eval.metric", "{} is a segmenter, scored by pixel accuracy and mIoU; leave eval.metric "
                                "null".format(config["model"]["name"]))]
    if config["eval"]["metric"] == "coco" and config["data"]["format"] != "coco":
        return [("eval.metric", "coco needs COCO-layout data (data.format: coco); VOC data takes voc07, voc or "
                                "voc07_sweep")]
    return []


def _check_layout(config: dict) -> List[Tuple[str, str]]:
    # A segmenter reads every layout; a detector needs boxes.
    if model_task(config["model"]["name"]) != "segmentation" and config["data"]["format"] not in FORMATS:
        return [("data.format", "{} is a detector: it reads boxes, {} (got {}, a segmentation layout)".format(
            config["model"]["name"], " or ".join(FORMATS), config["data"]["format"]))]
    return []


CHECKS: Tuple[CrossCheck, ...] = (runtime.check_contexts, _check_metric, _check_layout, check_upgrade_source,
                                   train_section.check_schedule, train_section.check_amp,
                                   transforms.check_family_keys)

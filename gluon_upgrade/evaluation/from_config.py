"""Evaluate the network a config describes on its validation split (what ``scripts/eval.py`` runs)."""
import time
from dataclasses import dataclass
from typing import List, Mapping, Optional

import mxnet as mx

from ..data.datasets import detection_dataset
from ..models.build import input_size, trained_network
from ..reporting.files import write_json
from ..runtime import contexts
from .evaluate import default_metric, evaluate
from .metrics import MetricResult


@dataclass
class EvalReport:
    """An evaluation's numbers and what produced them."""

    result: MetricResult
    model: str
    mode: str
    weights: Optional[str]
    images: int
    skipped: List[str]
    seconds: float

    def save_json(self, path: str) -> None:
        """Write the report as JSON (the folder is created)."""
        write_json(path, {"model": self.model, "mode": self.mode, "weights": self.weights, "images": self.images,
                          "skipped": self.skipped, "seconds": round(self.seconds, 3), **self.result.to_dict()})


def config_metric(config: Mapping) -> str:
    """``eval.metric``, or the paper's metric for the data layout."""
    return config["eval"]["metric"] or default_metric(config["data"]["format"])


def evaluate_with(config: Mapping, net, dataset, ctx: List[mx.Context], progress: bool = True) -> MetricResult:
    """Score ``net`` on ``dataset`` with the config's ``eval`` settings, input size and loader workers."""
    settings = config["eval"]
    return evaluate(net, dataset, config_metric(config), input_size(config["model"]), settings["batch_size"], ctx,
                    config["data"]["num_workers"], settings["nms_thresh"], settings["nms_topk"],
                    settings["iou_thresh"], progress)


def evaluate_config(config: Mapping, weights: Optional[str] = None, progress: bool = True) -> EvalReport:
    """Build the config's network, load ``weights`` into it (after any upgrade), and score it on
    ``data.val_splits`` with ``eval.metric``.

    Raises
    ------
    ConfigError
        Nothing trained to evaluate: no ``weights``, ``model.weights`` or ``model.pretrained``.
    GluonUpgradeError
        Missing data, bad annotations, unknown model, unfitting weights.
    """
    model = config["model"]
    start = time.perf_counter()
    ctx = contexts(config["ctx"])
    dataset = detection_dataset(config["data"], train=False)
    net = trained_network(model, dataset.classes, weights, ctx)
    net.hybridize(static_alloc=True, static_shape=True)
    result = evaluate_with(config, net, dataset, ctx, progress)
    return EvalReport(result=result, model=model["name"], mode=model["mode"], weights=weights or model["weights"],
                      images=len(dataset), skipped=list(dataset.skipped), seconds=time.perf_counter() - start)

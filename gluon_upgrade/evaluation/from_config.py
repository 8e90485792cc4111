"""Evaluate the network a config describes on its validation split (what ``gluon-upgrade eval`` runs)."""
import time
from dataclasses import dataclass
from typing import List, Mapping, Optional


from ..models.build import trained_network
from ..reporting.files import write_json
from ..runtime import contexts
from ..tasks import task_of
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


def evaluate_config(config: Mapping, weights: Optional[str] = None, progress: bool = True) -> EvalReport:
    """Build the config's network, load ``weights`` into it (after any upgrade), and score it on its task's
    validation split (``data.val_splits`` with ``eval.metric``; a segmenter's ``val`` masks).

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
    task = task_of(config)
    dataset = task.dataset(config, train=False)
    net = trained_network(model, dataset.classes, weights, ctx)
    net.hybridize(static_alloc=True, static_shape=True)
    result = task.evaluate(config, net, dataset, ctx, progress)
    return EvalReport(result=result, model=model["name"], mode=model["mode"], weights=weights or model["weights"],
                      images=len(dataset), skipped=list(dataset.skipped), seconds=time.perf_counter() - start)

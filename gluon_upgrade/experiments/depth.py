"""The depth study (the paper's Table I and its speed/accuracy remark): how many of the backbone's last 3x3
convolutions to upgrade.

One trained baseline is upgraded at each depth and fine-tuned by the same rule; depth 0 fine-tunes the baseline
unchanged, the control. Accuracy comes from those runs; parameters and inference/training speed are measured
for every depth in one process, each network in alternation with depth 0's, so their ratios compare like with
like.
"""
import os
import statistics
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import mxnet as mx
import numpy as np
from mxnet import autograd

from ..config.loader import load_config
from ..errors import ConfigError
from ..models.build import build_network, config_classes, input_size
from ..reporting.bench import alternate, ratio_spread
from ..reporting.curves import plot_against
from ..reporting.files import write_json, write_text
from ..reporting.params import count_parameters
from ..reporting.tables import markdown_table, mean_std, percent
from ..training import rundir as files
from .paper import TABLE1
from .runs import RunRecord, ensure_run, fine_tune_overrides, machines_line, seeded_runs

DEPTHS = (0, 1, 2, 3, 6)
"""Upgraded layers per experiment: none, res5c, res5b-c, res5a-c, res5a-c plus three of res4."""
PAPER_NAMES = {0: "none", 1: "res5c", 2: "res5b,c", 3: "res5a,b,c", 6: "res5a,b,c + res4b20,21,22"}


def depth_overrides(depth: int) -> List[str]:
    """How an upgrade config becomes the experiment of ``depth`` layers (0: the baseline, fine-tuned as is)."""
    if depth == 0:
        return ["model.mode=baseline"]
    return ["model.upgrade.layers=last{}".format(depth)]


@dataclass
class Speed:
    """Milliseconds per image of one network, inference (hybridized forward) and a training step, and their
    ratios to the reference network's (the first depth timed)."""

    params: int
    infer_ms: float
    train_ms: float
    infer_ratio: float
    train_ratio: float


def _timed_steps(config: Mapping, classes: Sequence[str], batch: int) -> Tuple[int, Callable, Callable]:
    """The config's network for ``classes`` (random weights; speed does not depend on them) with its parameter
    count, a hybridized forward pass on a random batch, and a training step: forward and backward of the sum of
    the training-mode outputs plus an SGD update."""
    model = dict(config["model"], weights=None, pretrained=False)
    net = build_network(model, classes, [mx.cpu()])
    size = input_size(model)
    data = mx.nd.random.uniform(shape=(batch, 3, size, size))
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.0})

    def step():
        with autograd.record():
            outputs = net(data)
            total = mx.nd.add_n(*[out.sum() for out in outputs if out.dtype == np.float32])
        total.backward()
        trainer.step(batch)

    return count_parameters(net), lambda: net(data), step


def measure_speeds(configs: Mapping[int, Mapping], classes: Sequence[str], batch: int,
                   repeats: int) -> Dict[int, Speed]:
    """Parameters and time per image of each depth's network on this machine's CPU, with ratios to the first
    depth's.

    Each network is timed in alternation with the first one (``reporting.bench.alternate``: a round runs both
    networks' inference and training step in turn), so load on the machine that comes and goes during the
    measurement hits both alike; a ratio is the median of the per-round ratios and a time the median over
    ``repeats`` rounds, after two warm-up rounds. Two networks are held at a time, so big ones fit in memory.
    """
    depths = list(configs)
    reference = _timed_steps(configs[depths[0]], classes, batch)
    alone = alternate({"infer": reference[1], "train": reference[2]}, repeats)
    speeds = {depths[0]: Speed(reference[0], _per_image(alone["infer"], batch), _per_image(alone["train"], batch),
                               1.0, 1.0)}
    for depth in depths[1:]:
        speeds[depth] = _timed_against(reference, configs[depth], classes, batch, repeats)
    return speeds


def _timed_against(reference: Tuple[int, Callable, Callable], config: Mapping, classes: Sequence[str], batch: int,
                   repeats: int) -> Speed:
    """The config's network timed in alternation with the reference's steps; it is freed on return."""
    params, infer, train = _timed_steps(config, classes, batch)
    times = alternate({"infer": infer, "train": train, "reference infer": reference[1],
                       "reference train": reference[2]}, repeats)
    return Speed(params, _per_image(times["infer"], batch), _per_image(times["train"], batch),
                 ratio_spread(times["infer"], times["reference infer"])[0],
                 ratio_spread(times["train"], times["reference train"])[0])


def _per_image(seconds: Sequence[float], batch: int) -> float:
    """Milliseconds per image of the median batch."""
    return 1000 * statistics.median(seconds) / batch


def _accuracy(values: Sequence[float]):
    """One seed's mAP in percent, or mean +- std over several."""
    return percent(values[0]) if len(values) == 1 else mean_std(values)


def run_depth_study(baseline: str, upgrade: str, out: str, depths: Sequence[int] = DEPTHS,
                    baseline_run: str = "", overrides: Sequence[str] = (), batch: int = 8, repeats: int = 10,
                    command: str = "", progress: bool = True, seeds: int = 1) -> str:
    """Fine-tune the baseline at every depth, measure speed, write ``table1_depth.md``/``.json``/``.png``.

    Parameters
    ----------
    baseline, upgrade : str
        The baseline config (trained into ``baseline_run`` unless finished there) and the upgrade config each
        depth fine-tunes with.
    out : str
        Results folder: ``table1_depth.md``, ``table1_depth.json``, ``table1_depth.png``, and ``depth/<N>/`` runs.
    baseline_run : str
        The baseline's run directory (default ``out/depth/baseline``); a finished one with the same config is
        reused, e.g. Table II's.
    seeds : int
        Fine-tunes per depth: the config's seed in ``depth/<N>``, the next ones in ``depth/<N>_seed<S>``;
        accuracy is then their mean +- std.

    Returns
    -------
    str
        The Markdown table.
    """
    bad = [d for d in depths if d < 0]
    if bad or not depths:
        raise ConfigError("depths must be one or more non-negative layer counts, got {}".format(list(depths)))
    if seeds < 1:
        raise ConfigError("seeds must be 1 or more, not {}".format(seeds))
    folder = os.path.join(out, "depth")
    baseline_run = baseline_run or os.path.join(folder, "baseline")
    base = ensure_run(load_config(baseline, overrides), baseline_run, progress)
    common = list(overrides) + fine_tune_overrides(base.epochs, os.path.join(baseline_run, files.BEST))
    configs = {d: load_config(upgrade, common + depth_overrides(d)) for d in depths}
    runs: Dict[int, List[RunRecord]] = {d: [
        ensure_run(load_config(upgrade, common + depth_overrides(d) + extra), path, progress)
        for path, extra in seeded_runs(os.path.join(folder, str(d)), configs[d]["seed"], seeds)] for d in depths}
    # The class names (one read of the validation set) fix the heads' size, the same at every depth.
    classes = config_classes(configs[depths[0]])
    speeds = measure_speeds(configs, classes, batch, repeats)
    reference = speeds[depths[0]]
    rows, data = [], {}
    for d in depths:
        speed = speeds[d]
        # Best over the fine-tune's epochs: an upgrade run's epoch 0 is the baseline itself.
        finals = [run.final("map") for run in runs[d]]
        bests = [run.best("map", first_epoch=1) for run in runs[d]]
        data[d] = {"layers": PAPER_NAMES.get(d, "last{}".format(d)), "final_map": float(np.mean(finals)),
                   "best_map": float(np.mean(bests)), "final_maps": finals, "best_maps": bests,
                   "params": speed.params, "infer_ms": speed.infer_ms, "train_ms": speed.train_ms,
                   "infer_ratio": speed.infer_ratio, "train_ratio": speed.train_ratio}
        paper = next((row for row in TABLE1 if row["layers"] == data[d]["layers"]), None)
        rows.append([d, data[d]["layers"], _accuracy(finals), _accuracy(bests), speed.params,
                     "{:+.2f}".format(100 * (speed.params / reference.params - 1)),
                     round(speed.infer_ms, 2), round(data[d]["infer_ratio"], 2), round(speed.train_ms, 2),
                     round(data[d]["train_ratio"], 2), paper["faster_rcnn_map"] if paper else ""])
    headers = ["layers", "which (paper's names)", "final mAP (%)", "best mAP (%)", "parameters", "params vs {} (%)"
               .format(depths[0]), "inference ms/img", "x", "training ms/img", "x", "paper: Faster R-CNN mAP"]
    text = "\n".join([
        "# Depth study: upgraded layers against accuracy and speed", "",
        "Made by `{}`.  ".format(command), machines_line([base] + [r for d in depths for r in runs[d]]), "",
        markdown_table(headers, rows), "",
        "Each depth upgrades the last N 3x3 convolutions of the baseline's backbone ({}) and fine-tunes {} epochs "
        "by the paper's rule; 0 fine-tunes the baseline unchanged. Best is over the fine-tune's epochs (1 on). "
        "mAP is over {} seed(s) of the fine-tune (mean +- sample std with more than one). "
        "Times are medians over {} batches of {} images on this machine's CPU; x is the median ratio to {} "
        "layers over the batches, each network timed in turn with that one. "
        "The paper's column is Table I (ResNet-101 Faster R-CNN on VOC, from Dai et al.), for the trend only."
        .format(configs[depths[-1]]["model"]["name"], runs[depths[0]][0].epochs, seeds, repeats, batch, depths[0]),
        ""])
    write_text(os.path.join(out, "table1_depth.md"), text)
    write_json(os.path.join(out, "table1_depth.json"), {"command": command, "depths": data})
    plot_against(list(depths), {
        "mAP (%)": {"final": [percent(data[d]["final_map"]) for d in depths],
                    "best": [percent(data[d]["best_map"]) for d in depths]},
        "time per image vs {} layers".format(depths[0]): {"inference": [data[d]["infer_ratio"] for d in depths],
                                                            "training": [data[d]["train_ratio"] for d in depths]}},
        os.path.join(out, "table1_depth.png"), "upgraded 3x3 layers (last N of the backbone)",
        title="depth study: accuracy and speed")
    return text

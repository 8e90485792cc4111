"""The offsets' learning rate: fine-tune the upgraded baseline at several ``train.offset_lr_mult`` and seeds, and
put each one's accuracy beside what its offsets do.

Per run: the final mAP; over validation images, the offsets' mean length and the fraction of samples outside the
map (per deformable layer, then averaged); and whether the sampling points follow the objects: for the unit at
each ground-truth box's centre, the fraction of the composed sampling points (every deformable layer's, traced
back to image pixels) that fall inside that box, with the learned offsets and with zero offsets (the standard
convolutions). Written by hand: no library measures this.
"""
import os
from typing import Dict, List, Sequence, Tuple

import numpy as np
from gluoncv.data.transforms.presets.ssd import SSDDefaultValTransform

from ..config.loader import load_config
from ..data.datasets import detection_dataset
from ..data.transforms import load_image
from ..errors import ConfigError
from ..models.build import config_network, input_size
from ..reporting.files import write_json, write_text
from ..reporting.offsets import compose_sampling, layer_offsets, offset_statistics, plot_sampling
from ..reporting.tables import markdown_table, mean_std
from ..training import rundir as files
from .runs import RunRecord, ensure_run, fine_tune_overrides, machines_line, seeded_runs

MULTIPLIERS = (0.1, 1.0)


def on_object(layers, boxes: np.ndarray, size: int) -> Tuple[float, float]:
    """Mean over ``boxes`` (x0, y0, x1, y1 in input pixels) of the share of the unit at the box's centre's
    ``(k*k)**L`` sampling points, composed through the L layers, that fall inside the box: learned offsets, zero
    offsets. Samples that leave a map read zero and count as off the object."""
    possible = np.prod([layer.kernel[0] * layer.kernel[1] for layer in layers])
    fractions = []
    for x0, y0, x1, y1 in boxes:
        centre = ((y0 + y1) / 2, (x0 + x1) / 2)
        found = []
        for deformed in (True, False):
            points, _ = compose_sampling(layers, centre, (size, size), deformed=deformed)
            inside = (points[:, 0] >= y0) & (points[:, 0] <= y1) & (points[:, 1] >= x0) & (points[:, 1] <= x1)
            found.append(float(inside.sum()) / possible)
        fractions.append(found)
    return tuple(np.mean(fractions, axis=0)) if fractions else (float("nan"), float("nan"))


def measure_offsets(config, net, images: int) -> Dict[str, float]:
    """Offset statistics of ``net``, the upgraded network ``config`` describes (``config_network``), over the
    first ``images`` validation images of its data (averaged over its deformable layers and the images)."""
    size = input_size(config["model"])
    dataset = detection_dataset(config["data"], train=False)
    transform = SSDDefaultValTransform(size, size)
    lengths, outside, padding, learned, standard = [], [], [], [], []
    for index in range(min(images, len(dataset))):
        image, label = dataset[index]
        x, boxes = transform(image, label)
        layers = layer_offsets(net, x.expand_dims(0))
        stats = offset_statistics(layers, (size, size))
        lengths.append(np.mean([row["mean"] for row in stats]))
        outside.append(np.mean([row["outside"] for row in stats]))
        padding.append(np.mean([row["outside_standard"] for row in stats]))
        on, off = on_object(layers, boxes[:, :4], size)
        learned.append(on)
        standard.append(off)
    return {"mean_length": float(np.mean(lengths)), "outside": float(np.mean(outside)),
            "outside_standard": float(np.mean(padding)),
            "on_object": float(np.nanmean(learned)), "on_object_standard": float(np.nanmean(standard))}


def run_offset_study(baseline: str, upgrade: str, out: str, baseline_run: str, image: str,
                     multipliers: Sequence[float] = MULTIPLIERS, seeds: int = 3, images: int = 50,
                     overrides: Sequence[str] = (), command: str = "", progress: bool = True) -> str:
    """Fine-tune the upgraded baseline at each offset learning-rate multiplier and seed, measure, and write
    ``offset_study.md`` / ``.json`` and one ``offsets_x<M>.png`` per multiplier (its first seed on ``image``).

    Raises
    ------
    ConfigError
        No multipliers, a negative one, or fewer than one seed.
    """
    if not multipliers or min(multipliers) < 0 or seeds < 1:
        raise ConfigError("offset study: give non-negative multipliers and 1 or more seeds, got {} and {}".format(
            list(multipliers), seeds))
    base = ensure_run(load_config(baseline, overrides), baseline_run, progress)
    common = list(overrides) + fine_tune_overrides(base.epochs, os.path.join(baseline_run, files.BEST))
    results: Dict[float, List[dict]] = {}
    records, pictures = [base], []
    for mult in multipliers:
        extra = common + ["train.offset_lr_mult={}".format(mult)]
        folder = os.path.join(out, "offset_study", "x{}".format(mult))
        results[mult] = []
        for path, seed_extra in seeded_runs(folder, load_config(upgrade, extra)["seed"], seeds):
            config = load_config(upgrade, extra + seed_extra)
            run: RunRecord = ensure_run(config, path, progress)
            records.append(run)
            net = config_network(config, os.path.join(path, files.LAST))
            results[mult].append(dict(measure_offsets(config, net, images), map=run.final("map"),
                                      seed=config["seed"]))
        first = load_config(upgrade, extra)
        size = input_size(first["model"])
        x, picture = load_image(image, size)
        points = [(0.25 * (size - 1), 0.25 * (size - 1)), (0.5 * (size - 1), 0.5 * (size - 1)),
                  (0.75 * (size - 1), 0.75 * (size - 1))]
        name = "offsets_x{}.png".format(mult)
        plot_sampling(picture, layer_offsets(config_network(first, os.path.join(folder, files.LAST)), x), points,
                      os.path.join(out, name), "offset lr x{}: sampling locations on {}".format(
                          mult, os.path.basename(image)))
        pictures.append((mult, name))
    rows = [["x{}".format(mult), mean_std([r["map"] for r in runs]),
             ", ".join("{:.2f}".format(100 * r["map"]) for r in runs),
             mean_std([r["mean_length"] for r in runs], scale=1), mean_std([r["outside"] for r in runs]),
             mean_std([r["outside_standard"] for r in runs]),
             mean_std([r["on_object"] for r in runs]), mean_std([r["on_object_standard"] for r in runs])]
            for mult, runs in results.items()]
    text = "\n".join([
        "# The offsets' learning rate on the demo data", "", "Made by `{}`.  ".format(command),
        machines_line(records), "",
        markdown_table(["offset lr multiplier", "final mAP (%)", "per seed", "mean offset length (map px)",
                        "samples outside the map (%)", "with zero offsets (%)", "samples on the object (%)",
                        "with zero offsets (%)"], rows), "",
        "{} seeds per multiplier, each fine-tuning the baseline's best weights upgraded ({} epochs by the paper's "
        "rule); mean +- sample std. Offsets over the first {} validation images, averaged over the deformable "
        "layers. \"On the object\": for the unit at each ground-truth box's centre, the share of the (k*k)^L sampling "
        "points of the deformable layers, composed back to image pixels, inside that box (samples that leave a "
        "map count as off it).".format(
            seeds, load_config(upgrade, common)["train"]["epochs"], images), ""]
        + ["![x{}]({})".format(mult, name) for mult, name in pictures] + [""])
    write_text(os.path.join(out, "offset_study.md"), text)
    write_json(os.path.join(out, "offset_study.json"), {"command": command, "runs": {
        str(mult): runs for mult, runs in results.items()}})
    return text

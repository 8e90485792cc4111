"""A grid of annotated images from a detection data set, drawn with GluonCV's ``plot_bbox``."""
import math
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from gluoncv.utils.viz import plot_bbox  # noqa: E402

from .curves import save_figure  # noqa: E402


def plot_samples(dataset, out: str, indices: Sequence[int], columns: int = 4, title: Optional[str] = None) -> str:
    """Draw ``dataset[i]`` for each index with its boxes and class names; returns ``out`` (a PNG).

    Difficult objects (VOC) are drawn in grey without a name, so what the VOC metric ignores is visible.
    """
    rows = math.ceil(len(indices) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.2 * rows), squeeze=False)
    names = list(dataset.classes)
    for ax, index in zip(axes.flat, indices):
        image, label = dataset[index]
        label = np.asarray(label)
        hard = label[:, 5] > 0 if label.shape[1] > 5 else np.zeros(len(label), dtype=bool)
        plot_bbox(image.asnumpy(), label[~hard, :4], labels=label[~hard, 4], class_names=names, ax=ax,
                  linewidth=1.5, fontsize=7,
                  colors={i: plt.get_cmap("tab10")(i % 10) for i in range(len(names))})
        for xmin, ymin, xmax, ymax in label[hard, :4]:
            ax.add_patch(plt.Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, fill=False, edgecolor="0.6",
                                       linewidth=1, linestyle="--"))
        ax.set_title("#{}: {} objects{}".format(index, len(label), ", {} difficult".format(hard.sum())
                                                 if hard.any() else ""), fontsize=8)
        ax.axis("off")
    for ax in axes.flat[len(indices):]:
        ax.axis("off")
    return save_figure(figure, out, title, dpi=80)

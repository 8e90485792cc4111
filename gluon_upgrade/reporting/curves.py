"""mAP and loss curves of training runs, drawn with matplotlib (Agg) from their ``metrics.csv``."""
import os
from typing import Mapping, Optional, Sequence

import matplotlib
import numpy as np

from ..errors import ConfigError, list_names

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"map": "validation mAP", "train_loss": "training loss"}
LINE_STYLES = ("-", "--", "-.", ":")


def run_label(config: Mapping) -> str:
    """A curve's label from its run's config: model, mode, and the layers a deformable run changed."""
    model = config["model"]
    label = "{} {}".format(model["name"], model["mode"])
    if model["mode"] != "baseline":
        label += " ({})".format(model["upgrade"]["layers"])
    return label


def plot_runs(runs: Sequence, out: str, keys: Sequence[str] = ("map", "train_loss"),
              labels: Optional[Sequence[str]] = None, starts: Optional[Sequence[int]] = None,
              title: Optional[str] = None) -> str:
    """Draw one panel per metrics column, a curve per run, against epoch; return ``out`` (a PNG).

    Parameters
    ----------
    runs : sequence of RunRecord
        Runs read with ``experiments.runs.read_run``.
    keys : sequence of str
        Metrics columns, one panel each (``map``, ``train_loss``, ``cls_loss``, ...).
    labels : sequence of str, optional
        Curve labels; default ``run_label`` of each run's config.
    starts : sequence of int, optional
        The epoch each run's epoch 0 is drawn at, so a fine-tune continues its baseline's curve.

    Raises
    ------
    ConfigError
        A key no run's ``metrics.csv`` has (the columns are listed).
    """
    columns = {key for run in runs for row in run.rows for key in row}
    unknown = [key for key in keys if key not in columns]
    if unknown:
        raise ConfigError("no metrics column {}; the runs have:\n{}".format(", ".join(unknown),
                                                                           list_names(sorted(columns))))
    labels = list(labels or [run_label(run.config) for run in runs])
    starts = list(starts or [0] * len(runs))
    figure, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for index, (run, label, start) in enumerate(zip(runs, labels, starts)):
            points = [(row["epoch"] + start, row[key]) for row in run.rows if row.get(key) is not None]
            if points:
                # Line styles differ too, so that runs drawing the same curve stay visible under one another.
                ax.plot(*zip(*points), marker="o", markersize=3, label=label, linestyle=LINE_STYLES[index % 4])
        ax.set_xlabel("epoch")
        ax.set_ylabel(LABELS.get(key, key))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(figure, out, title)


def save_figure(figure, out: str, title: Optional[str] = None, dpi: int = 110) -> str:
    """Title, lay out and write a matplotlib figure to ``out`` (folders made), then free it; returns ``out``."""
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    if title:
        # tight_layout ignores the suptitle: lower the panels by its line (0.3 inch) so their titles clear it.
        figure.subplots_adjust(top=figure.subplotpars.top - 0.3 / figure.get_figheight())
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    figure.savefig(out, dpi=dpi)
    plt.close(figure)
    return out


def plot_against(xs: Sequence, panels: Mapping[str, Mapping[str, Sequence]], out: str, xlabel: str,
                 title: Optional[str] = None) -> str:
    """One panel per entry of ``panels`` (y label -> {series label: values at ``xs``}); return ``out``.

    A value is a number, or a list of one per seed (None for a seed not run): the line then joins the means of
    the seeds present and each seed is a faint dot of the line's colour, so the spread shows beside the mean. A
    mean over fewer seeds than the series' fullest point is drawn hollow and labelled "k of N": a table filled a
    seed at a time otherwise shows a jump that is only a missing seed.
    """
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (ylabel, series) in zip(axes[0], panels.items()):
        for label, values in series.items():
            seeds = [[v for v in value if v is not None] if isinstance(value, (list, tuple)) else [value]
                     for value in values]
            means = [float(np.mean(present)) if present else float("nan") for present in seeds]
            line, = ax.plot(xs, means, marker="o", label=label)
            if any(len(present) > 1 for present in seeds):
                dots = [(x, v) for x, present in zip(xs, seeds) for v in present]
                ax.scatter(*zip(*dots), color=line.get_color(), alpha=0.35, s=14)
            most = max(len(present) for present in seeds)
            partial = [(x, mean, len(present)) for x, mean, present in zip(xs, means, seeds) if 0 < len(present) < most]
            if partial:
                ax.scatter([x for x, _, _ in partial], [mean for _, mean, _ in partial], s=40, zorder=3,
                           facecolor="white", edgecolor=line.get_color())
                for x, mean, count in partial:
                    ax.annotate("{} of {}".format(count, most), (x, mean), xytext=(6, -10), textcoords="offset points",
                                fontsize=7, color=line.get_color())
        ax.set_xticks(list(xs))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(figure, out, title)


def plot_spread(panels: Mapping[str, Mapping[str, Sequence[float]]], out: str, title: Optional[str] = None) -> str:
    """One panel per entry of ``panels`` (y label -> {group label: values}): a dot per value and the group's mean
    +- standard deviation as a bar; return ``out``."""
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (ylabel, groups) in zip(axes[0], panels.items()):
        for x, values in enumerate(groups.values()):
            values = np.asarray(values, dtype=float)
            spread = values.std(ddof=1) if len(values) > 1 else 0.0
            ax.errorbar(x, values.mean(), yerr=spread, fmt="s", color="black", capsize=6, zorder=3)
            ax.scatter(x + np.linspace(-0.12, 0.12, len(values)), values, alpha=0.7)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(list(groups), rotation=12, fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
    return save_figure(figure, out, title)


def plot_effects(panels: Mapping[str, Mapping[str, Mapping[str, object]]], out: str,
                 title: Optional[str] = None) -> str:
    """One panel per entry of ``panels`` (metric -> {row label: {series label: an object with ``mean`` and
    ``se``}}): each row's series as a mean with a standard-error bar, beside a line at zero; return ``out``."""
    rows = list(next(iter(panels.values())))
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 2.2 + 0.6 * len(rows)), squeeze=False,
                                sharey=True)
    for ax, (xlabel, by_row) in zip(axes[0], panels.items()):
        series = list(next(iter(by_row.values())))
        for index, label in enumerate(series):
            shift = 0.22 * (index - (len(series) - 1) / 2)
            means = [by_row[row][label].mean for row in rows]
            errors = [0 if np.isnan(by_row[row][label].se) else by_row[row][label].se for row in rows]
            ax.errorbar(means, np.arange(len(rows)) + shift, xerr=errors, fmt="o", capsize=3, label=label)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(rows, fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)  # the first row on top
        ax.set_xlabel(xlabel + " difference (points)")
        ax.grid(alpha=0.3, axis="x")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    return save_figure(figure, out, title)

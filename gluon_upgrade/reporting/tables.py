"""Render rows as aligned text tables for terminals and as Markdown tables for results files."""
from typing import Optional, Sequence

import numpy as np


def percent(fraction: Optional[float]) -> Optional[float]:
    """A fraction (an mAP) as a percentage rounded to 2 decimals, as the paper prints it; None stays None."""
    return None if fraction is None else round(100 * fraction, 2)


def mean_std(values: Sequence[float], scale: float = 100, signed: bool = False) -> str:
    """``values`` (fractions) as "mean +- std" in percent, the sample standard deviation (0 for one value)."""
    values = scale * np.asarray(values, dtype=float)
    return ("{:+.2f} +- {:.2f}" if signed else "{:.2f} +- {:.2f}").format(
        values.mean(), values.std(ddof=1) if len(values) > 1 else 0.0)


def _cell(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return "{:,}".format(value)
    if isinstance(value, float):
        return "{:.4g}".format(value)
    return str(value)


def _numeric_columns(count: int, rows: Sequence[Sequence]) -> list:
    """Which columns hold only numbers (blank cells aside): those are right-aligned."""
    return [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool)
                for row in rows if row[i] != "") for i in range(count)]


def text_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """An aligned plain-text table: text left-aligned, numbers right-aligned, thousands separated."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = _numeric_columns(len(headers), rows)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A GitHub-flavoured Markdown table, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = _numeric_columns(len(headers), rows)
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(out)

"""What every report page shares: figures, number formatting, Markdown tables, and atomic writes.

Every page and figure is written through :mod:`memdev.atomic` by :func:`write`
or :func:`save`, which record the path in the caller's ``written`` list and
log one line ``<stage>: wrote <path>``; :func:`remove_stale` deletes the
figures a run did not draw. The pages call these as ``plots.save(...)`` (not
imported by name), so a test can wrap :func:`save` to inspect each figure.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from memdev import atomic

log = logging.getLogger(__name__)

COLORS = {"normal": "tab:blue", "anomalous": "tab:red", "threshold": "black", "chance": "tab:gray"}
DPI = 110


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (reports run headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure(title: str, xlabel: str, ylabel: str, size=(7.5, 4.6)):
    """One titled, labelled, gridded axes; returns ``(figure, axes)``."""
    drawn, axes = pyplot().subplots(figsize=size, layout="constrained")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return drawn, axes


def legend(axes, columns: int = 2, **kwargs) -> None:
    """The legend below the axes, outside them, where it hides no data."""
    handles, labels = axes.get_legend_handles_labels()
    axes.get_figure().legend(handles, labels, loc="outside lower center", ncol=columns, fontsize="small",
                             frameon=False, **kwargs)


def view(values: np.ndarray, *marks: float) -> tuple[float, float, int]:
    """An x range that shows the bulk of ``values`` and every mark.

    Scores such as DevNet's deviations can have a few values thousands of
    times beyond the rest; those are clipped to the 0.5-99.5% range (and the
    count of clipped values returned) so the bulk stays readable.

    Returns
    -------
    low, high : float
        the range, padded by 2% on either side
    clipped : int
        how many of ``values`` lie outside it
    """
    values = np.asarray(values, dtype=float)
    low, high = float(values.min()), float(values.max())
    q_low, q_high = (float(q) for q in np.quantile(values, [0.005, 0.995]))
    if q_high > q_low and high - low > 4 * (q_high - q_low):
        low, high = q_low, q_high
    low, high = min([low, *marks]), max([high, *marks])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    clipped = int(np.sum((values < low) | (values > high)))
    pad = 0.02 * (high - low)
    return low - pad, high + pad, clipped


def skewed(values: np.ndarray) -> bool:
    """True when a few large positive values (reconstruction errors) would flatten the rest on a linear axis."""
    positive = values[values > 0]
    return bool(len(positive) and np.quantile(positive, 0.999) / np.median(positive) > 20)


def number(value, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals; empty for None and NaN (a blank table cell)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}"


def markdown_table(frame: pd.DataFrame, right: tuple[str, ...] = ()) -> list[str]:
    """The lines of a Markdown table of ``frame``; the ``right`` columns right-aligned (numbers)."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    align = "|" + "|".join("---:" if c in right else "---" for c in frame.columns) + "|"
    cells = frame.astype(object).where(frame.notna(), "")
    return [header, align] + ["| " + " | ".join(map(str, row)) + " |" for row in cells.itertuples(index=False)]


def figure_section(name: str, title: str, caption: str, level: str = "###") -> list[str]:
    """A figure's heading, image link and caption, as page lines."""
    return [f"{level} {title}", "", f"![{title}]({name})", "", caption, ""]


def write(stage: str, path: Path, content: str | pd.DataFrame, written: list[Path]) -> None:
    """Write a page (Markdown text) or a table (CSV) atomically; record and announce it."""
    with atomic.atomic_path(path) as tmp:
        if isinstance(content, str):
            tmp.write_text(content, encoding="utf-8")
        else:
            content.to_csv(tmp, index=False, lineterminator="\n")
    written.append(path)
    log.info(f"{stage}: wrote {path}")


def save(stage: str, path: Path, figure, written: list[Path]) -> None:
    """Save ``figure`` atomically as PNG and close it; record and announce it."""
    try:
        with atomic.atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=DPI)
    finally:
        pyplot().close(figure)
    written.append(path)
    log.info(f"{stage}: wrote {path}")


def remove_stale(stage: str, folder: Path, names, written: list[Path]) -> None:
    """Delete the files ``names`` in ``folder`` this run did not write: they would describe older data."""
    for name in names:
        stale = folder / name
        if stale.exists() and stale not in written:
            stale.unlink()
            log.info(f"{stage}: removed stale {stale}")

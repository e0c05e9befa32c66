"""Study 4, per-group detection: ``groups.md``, ``groups.csv`` and ``groups.png``.

Reads a column of train.csv that names each row's group (a class, a source,
a segment) and the out-of-fold MemAE scores of ``make train``; flags rows at
the ``max_normal`` + margin threshold and measures, per group, the share
flagged, precision and recall; writes the table, the page and a figure of
both the shares and every row's score per group.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from memdev.config import Config
from memdev.errors import MemdevError
from memdev.evaluation import threshold
from memdev.evaluation.threshold import Threshold
from memdev.ingest.tables import read_table
from memdev.paths import Paths
from memdev.reporting import plots
from memdev.reporting.plots import COLORS
from memdev.reporting.studies import common

PAGE = "groups.md"
TITLE = "Per-group detection with the max-normal + margin threshold"
FIGURES = {"groups.png": "Share of each group's rows flagged anomalous, and every row's score per group"}
OUTPUTS = (PAGE, "groups.csv", *FIGURES)
MAX_GROUPS = 50
MISSING = "(missing)"
STRIP_ROWS = 2000  # rows drawn per group and class in the score strip


def run(config: Config, paths: Paths, column: str | None = None) -> list[Path]:
    """Detection per value of ``column`` of train.csv (default: the config's ``group_column``),
    at the ``max_normal`` + margin threshold.

    The threshold is ``threshold.choose`` with strategy ``max_normal`` (the
    config's ``threshold.margin``) on the out-of-fold MemAE scores of
    ``make train``. Per group: rows, labeled anomalies, share flagged,
    precision and recall. Writes ``groups.csv``, ``groups.md`` and
    ``groups.png``; returns the paths written.
    """
    column = column or config.group_column
    if not column:
        raise MemdevError(f"{paths.config}: no group_column to group by; set one there or pass --column")
    trained = common.load(config, paths)
    keys = group_keys(config, paths, column, len(trained.y))
    scores = trained.oof["memae"].to_numpy(dtype=float)
    chooser = dataclasses.replace(config, threshold=dataclasses.replace(config.threshold, strategy="max_normal"))
    cut = threshold.choose(chooser, scores, trained.y)
    frame = measure(keys, cut.apply(scores).astype(bool), trained.y, trained.labeled)
    written: list[Path] = []
    out = paths.reports
    plots.write("groups", out / "groups.csv", frame, written)
    _figure(frame.iloc[:-1], keys.astype(str), scores, trained.y, column, cut, config, trained.labeled,
            out / "groups.png", written)
    _, inputs = common.feature_names(paths, trained.X.shape[1])
    plots.write("groups", out / PAGE, page(config, paths, column, frame, cut, column in inputs, trained.labeled),
                written)
    return written


def group_keys(config: Config, paths: Paths, column: str, rows: int) -> pd.Series:
    """Each training row's value of ``column`` (``(missing)`` where empty); one error when it cannot group."""
    train = read_table(paths.train_file, config.id_column)
    if column not in train.columns:
        shown = ", ".join(map(str, train.columns[:12])) + (", ..." if len(train.columns) > 12 else "")
        raise MemdevError(f"{paths.train_file}: has no column {column!r} to group by (columns: {shown})")
    if len(train) != rows:
        raise MemdevError(f"{paths.train_file}: has {len(train)} rows but the features have {rows}; "
                          f"run `make preprocess COMP={paths.slug}` again")
    values = train[column]
    distinct = values.nunique(dropna=True)
    if distinct > MAX_GROUPS:
        raise MemdevError(f"{paths.train_file}: column {column!r} has {distinct} distinct values; a group report "
                          f"needs a column with at most {MAX_GROUPS} (a class, a source, a segment)")
    return values.astype(object).where(values.notna(), MISSING)


# ---------------------------------------------------------------- the measurement


def measure(keys: pd.Series, flagged: np.ndarray, y: np.ndarray, labeled: bool) -> pd.DataFrame:
    """One row per group (numbers in order, then text, then missing) and a last row for all rows."""
    order = sorted(keys.unique(), key=lambda v: (v == MISSING, not isinstance(v, (int, float, np.number)),
                                                 v if isinstance(v, (int, float, np.number)) else str(v)))
    records = []
    for value in order + ["all rows"]:
        mask = np.ones(len(y), bool) if value == "all rows" else (keys == value).to_numpy()
        anomalies = int(y[mask].sum())
        hit = int((flagged & mask & (y == 1)).sum())
        count_flagged = int((flagged & mask).sum())
        normals = int(mask.sum()) - anomalies
        records.append({
            "group": str(value), "rows": int(mask.sum()), "labeled anomalies": anomalies,
            "flagged": count_flagged, "share flagged": count_flagged / max(int(mask.sum()), 1),
            "precision": hit / count_flagged if labeled and count_flagged else float("nan"),
            "recall": hit / anomalies if labeled and anomalies else float("nan"),
            "normals flagged": (count_flagged - hit) / normals if normals else float("nan"),
        })
    return pd.DataFrame(records)


# ---------------------------------------------------------------- the page


def page(config: Config, paths: Paths, column: str, frame: pd.DataFrame, cut: Threshold, is_feature: bool,
         labeled: bool) -> str:
    """``groups.md``: the threshold, the table per group, and the figure."""
    margin = config.threshold.margin
    lines = [
        f"# Per-group detection: {paths.slug}, by `{column}`", "",
        "Rows are flagged anomalous when their score reaches the `max_normal` threshold: the highest score of "
        + ("a row labeled normal" if labeled else "any training row") + f" plus a {margin:.0%} "
        f"margin = {cut.value:.4g}, on the out-of-fold MemAE reconstruction errors of `make train`. "
        f"It flags {cut.rate:.2%} of all training rows.", "",
    ]
    if is_feature:
        lines += [f"Note: `{column}` is also an input feature of the models. If it encodes the label (a class "
                  "that is the anomaly), the scores leak it; a grouping column is best kept out of the features.", ""]
    if not labeled:
        lines += ["No labeled anomalies: precision and recall are blank; with every row counted as normal, the "
                  "threshold sits above every training score, so nothing in train.csv is flagged by construction. "
                  "The test rows it flags are the ones scoring beyond anything seen in training.", ""]
    shown = frame.copy()
    for key in ("share flagged", "precision", "recall", "normals flagged"):
        shown[key] = shown[key].map(lambda v: "" if isinstance(v, float) and math.isnan(v) else f"{v:.1%}")
    shown["group"] = [f"**{g}**" if g == "all rows" else g for g in shown["group"]]
    lines += plots.markdown_table(shown, right=tuple(shown.columns[1:])) + [""]
    lines += ["The table is also in [groups.csv](groups.csv). `precision`: labeled anomalies among the group's "
              "flagged rows; `recall`: flagged among its labeled anomalies; `normals flagged`: flagged among its "
              "rows labeled normal (false alarms).", "",
              f"![{FIGURES['groups.png']}](groups.png)", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the figure


def _figure(frame: pd.DataFrame, keys: pd.Series, scores: np.ndarray, y: np.ndarray, column: str, cut: Threshold,
            config: Config, labeled: bool, path: Path, written: list[Path]) -> None:
    """Top: share of each group flagged (and the share a perfect detector would flag). Bottom: every
    group's scores with the threshold, so a group far below it is visible even when nothing is flagged."""
    count = len(frame)
    figure, (bars, strip) = plots.pyplot().subplots(2, 1, figsize=(max(7.5, 0.6 * count + 3), 8.2),
                                                    layout="constrained", sharex=True, height_ratios=(1, 1.15))
    figure.suptitle(f"Detection per `{column}` group at the max normal + margin threshold ({cut.value:.4g})")
    _bars(bars, frame, cut, labeled)
    _strip(strip, frame, keys, scores, y, cut, config, labeled)
    strip.set_xlabel(f"{column} (group)")
    handles, labels = bars.get_legend_handles_labels()
    more = strip.get_legend_handles_labels()
    figure.legend(handles + more[0], labels + more[1], loc="outside lower center", ncol=2, fontsize="small",
                  frameon=False)
    x = np.arange(count)
    strip.set_xticks(x, frame["group"], rotation=45 if count > 12 else 0, ha="right" if count > 12 else "center")
    plots.save("groups", path, figure, written)


def _bars(axes, frame: pd.DataFrame, cut: Threshold, labeled: bool) -> None:
    """The share of each group's rows flagged, split by label when there are labels."""
    x = np.arange(len(frame))
    rows = frame["rows"].to_numpy(float)
    if labeled:
        hits = (frame["recall"].fillna(0) * frame["labeled anomalies"]).to_numpy(float)
        false = frame["flagged"].to_numpy(float) - hits
        axes.bar(x, hits / rows, color=COLORS["anomalous"], label="flagged, labeled anomalous")
        axes.bar(x, false / rows, bottom=hits / rows, color=COLORS["normal"], label="flagged, labeled normal")
        axes.scatter(x, frame["labeled anomalies"] / rows, marker="_", s=700, lw=2.5, color="black", zorder=3,
                     label="labeled anomaly share of the group (a perfect detector's bar)")
    else:
        axes.bar(x, frame["share flagged"], color=COLORS["normal"], label="flagged (no labels)")
    axes.axhline(cut.rate, color=COLORS["chance"], ls="--", lw=1.2, label=f"all rows: {cut.rate:.1%} flagged")
    for i, (n, share) in enumerate(zip(frame["rows"], frame["share flagged"])):
        axes.annotate(f"{share:.0%} of {n}", (i, share), textcoords="offset points", xytext=(0, 3), ha="center",
                      fontsize="x-small")
    tallest = max(float(frame["share flagged"].max()), float((frame["labeled anomalies"] / rows).max()), cut.rate)
    axes.set_ylim(0, min(1.0, tallest) * 1.12 + 0.03)
    axes.set_ylabel("share of the group's rows flagged")
    axes.set_title("rows flagged anomalous, per group", fontsize="medium")
    axes.grid(alpha=0.3, axis="y")


def _strip(axes, frame: pd.DataFrame, keys: pd.Series, scores: np.ndarray, y: np.ndarray, cut: Threshold,
           config: Config, labeled: bool) -> None:
    """Every row's score per group (a sample of large groups), jittered, with the threshold."""
    rng = np.random.default_rng(config.seed)
    groups = keys.to_numpy()
    for value, color, name in ((0, COLORS["normal"], "labeled normal" if labeled else "unlabeled"),
                               (1, COLORS["anomalous"], "labeled anomalous")):
        if value == 1 and not labeled:
            continue
        xs, ys = [], []
        for i, group in enumerate(frame["group"]):
            members = np.flatnonzero((groups.astype(str) == group) & (y == value))
            if len(members) > STRIP_ROWS:  # a readable strip, not every row of a large group
                members = rng.choice(members, STRIP_ROWS, replace=False)
            xs.append(i + rng.uniform(-0.3, 0.3, len(members)))
            ys.append(scores[members])
        if xs:
            axes.scatter(np.concatenate(xs), np.concatenate(ys), s=6, alpha=0.5, lw=0, color=color, rasterized=True)
            axes.plot([], [], "o", ms=6, alpha=0.7, color=color, label=f"score of a row {name}")  # legend proxy
    axes.axhline(cut.value, color=COLORS["threshold"], ls="--", lw=1.5,
                 label=f"threshold: max normal + {config.threshold.margin:.0%} = {cut.value:.4g}")
    if plots.skewed(scores):
        axes.set_yscale("log")
    axes.set_ylabel("out-of-fold MemAE score (reconstruction error)" + (", log scale" if axes.get_yscale() == "log"
                                                                         else ""))
    axes.set_title("every row's score, per group", fontsize="medium")
    axes.grid(alpha=0.3, axis="y")

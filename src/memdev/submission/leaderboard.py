"""A local leaderboard: score a submission against a solution file, Kaggle style.

The solution's ``Usage`` column splits its rows into the Public and Private
halves of the leaderboard; each half is scored on its own. The pipeline
itself never reads a solution file: only this command and benchmarks do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from memdev import config as config_io
from memdev.errors import MemdevError
from memdev.evaluation import metrics
from memdev.ingest import schema
from memdev.ingest.tables import read_csv
from memdev.paths import Paths


def competition_metric(paths: Paths) -> str:
    """The metric in the competition's config: the one its leaderboard ranks by."""
    if not paths.config.exists():
        raise MemdevError(f"{paths.config}: no config, so {paths.slug}'s metric is unknown; run "
                          f"`make data COMP={paths.slug}` or name the metric (--metric, make: METRIC=)")
    return config_io.load(paths.config).metric


def score(submission: Path, solution: Path, metric: str | None = None) -> dict[str, dict[str, float]]:
    """Metrics of ``submission`` on each leaderboard half of ``solution``.

    Without a ``metric``: f1 for 0/1 labels, average precision for scores.
    """
    id_column, target = read_csv(submission).columns[:2]
    # ids are matched as exact text on both sides ("007" is not "7")
    sub = read_csv(submission, id_column)
    sol = read_csv(solution, id_column)
    if id_column not in sol.columns:
        raise MemdevError(f"{solution}: has no id column {id_column!r} (the submission's first column)")
    sol = sol.rename(columns={sol.columns[1]: "__truth"})
    merged = sol.merge(sub[[id_column, target]], on=id_column, how="left")
    if merged[target].isna().any():
        missing = merged.loc[merged[target].isna(), id_column].iloc[0]
        raise MemdevError(f"{submission}: no prediction for id {missing!r}")
    truth, values = as_zero_one(merged["__truth"], merged[target], submission, solution)
    is_label = bool(np.isin(values, [0, 1]).all())
    metric = metric or ("f1" if is_label else "average_precision")
    if metric in config_io.LABEL_METRICS and not is_label:
        raise MemdevError(f"{submission}: holds scores, not 0/1 labels, and {metric} counts labels; "
                          "is the config's submission kind right?")
    usage = merged["Usage"] if "Usage" in merged.columns else pd.Series("Public", index=merged.index)
    out = {}
    for half in ("Public", "Private"):
        rows = (usage == half).to_numpy()
        if rows.any():
            result = metrics.evaluate(truth[rows], values[rows], values[rows].astype(int) if is_label else None)
            result["score"] = metrics.primary(metric, truth[rows], values[rows], values[rows].astype(int) if is_label else None)
            out[half] = result
    out["metric"] = metric
    return out


def as_zero_one(truth: pd.Series, values: pd.Series, submission: Path, solution: Path) -> tuple[np.ndarray, np.ndarray]:
    """The solution's labels as 0/1 and the submission's values as numbers; a target of two other levels
    (fraud/legit, -1/1) is mapped on both sides as ``make data`` maps it (:func:`~memdev.ingest.schema.label_levels`)."""
    levels = schema.label_levels(truth)
    numbers = pd.to_numeric(values, errors="coerce")
    if levels is None:
        known = pd.to_numeric(truth, errors="coerce")
        if not known.isin([0, 1]).all():
            raise MemdevError(f"{solution}: {truth[~known.isin([0, 1])].iloc[0]} is not a label: a solution holds "
                              "0/1 or two levels (is it the submission? `memdev score SUBMISSION SOLUTION`)")
        labels = known.to_numpy(dtype=int)
    else:
        labels = schema.as_levels(truth).map(levels).to_numpy(dtype=int)
        words = schema.as_levels(values)
        if words.isin(list(levels)).all():
            return labels, words.map(levels).to_numpy(dtype=float)
    if numbers.isna().any():
        raise MemdevError(f"{submission}: value {values[numbers.isna()].iloc[0]!r} is neither a number nor one of "
                          f"the solution's labels {sorted(levels or [0, 1])}")
    return labels, numbers.to_numpy(dtype=float)


def show(results: dict, source: str = "") -> str:
    """The metric (and ``source``, where it came from), the metrics table, and a verdict per half."""
    metric = results.pop("metric")
    lines = [f"metric: {metric}" + (f" ({source})" if source else ""), metrics.table(results)]
    for half, values in results.items():
        lines.append(f"{half:<8} {metric} = {values['score']:.4f}: {metrics.verdict(values, metric)}")
    return "\n".join(lines)

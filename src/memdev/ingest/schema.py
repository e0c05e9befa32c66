"""Detect a competition's schema from its files, and check its files agree.

The id and target columns come from the sample submission (first column
id, second target), as on Kaggle. Each table may be CSV or Parquet.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from memdev.config import Config
from memdev.errors import MemdevError
from memdev.ingest.tables import header, read_table
from memdev.paths import Paths

log = logging.getLogger(__name__)

# A target column with at most this many positives is "a few labeled
# anomalies" (the DevNet protocol), not a fully labeled competition.
WEAK_MAX_POSITIVES = 50


def detect(paths: Paths) -> Config:
    """Build the config ``make data`` writes, from the raw files alone."""
    sample = read_table(paths.sample_file)
    if sample.shape[1] < 2:
        raise MemdevError(f"{paths.sample_file}: needs two columns (id, target); found {list(sample.columns)}")
    id_column, target = map(str, sample.columns[:2])
    # only the target column (or the first): the train table may be bigger than memory
    columns = header(paths.train_file)
    train = read_table(paths.train_file, id_column, [target] if target in columns else columns[:1])
    if train.empty:
        raise MemdevError(f"{paths.train_file}: has a header but no rows")
    header(paths.test_file)  # an empty or missing test table is named now, not after training
    values = pd.to_numeric(sample[target], errors="coerce")
    integer = values.notna().all() and bool((values == values.round()).all())
    label_map = label_levels(train[target]) if target in train.columns else None
    submission = "label" if integer or (label_words(label_map, sample[target]) is not None) else "score"
    if target in train.columns:
        labels = as_levels(train[target].dropna())
        numbers = pd.to_numeric(labels, errors="coerce")
        if numbers.isin([0, 1]).all():  # 0/1, also written as 0.0/1.0
            positives = int((numbers == 1).sum())
        elif label_map:
            positives = int((labels.map(label_map) == 1).sum())
        else:
            # levels no label_map is made of (three, or two equally common) are still
            # labels: count the rarer one, so preprocess names the values instead of
            # the labels being silently dropped as "unsupervised"
            counts = labels.value_counts()
            positives = int(counts.iloc[-1]) if len(counts) > 1 else 0
        if positives == 0:
            regime = "unsupervised"
        elif positives <= WEAK_MAX_POSITIVES:
            regime = "weak"
        else:
            regime = "full"
    else:
        regime = "novelty"
    metric = "f1" if submission == "label" else "average_precision"
    return Config(
        slug=paths.slug,
        id_column=id_column,
        target_column=target if target in train.columns else None,
        submission=submission,
        regime=regime,
        metric=metric,
        label_map=label_map,
    )


def label_levels(target: pd.Series) -> dict[str, int] | None:
    """A target written as two levels other than 0 and 1 (yes/no, fraud/legit, -1/1) as 0/1: the rarer level 1.

    An anomaly is the rarer class. A target of one level beside empty cells
    marks the anomalies and leaves the rest unlabeled: that level is 1. None
    where the target is 0/1 already, has another number of levels, two equally
    common ones, or fractions, which are no labels (preprocess then names the
    values and asks for a ``label_map``).
    """
    levels = as_levels(target.dropna())
    numbers = pd.to_numeric(levels, errors="coerce")
    if numbers.isin([0, 1]).all() or (numbers.notna().all() and not (numbers == numbers.round()).all()):
        return None
    counts = levels.value_counts()
    if len(counts) == 1 and target.isna().any():
        return {str(counts.index[0]): 1}
    if len(counts) != 2 or counts.iloc[0] == counts.iloc[1]:
        return None
    return {str(counts.index[1]): 1, str(counts.index[0]): 0}


def as_levels(values: pd.Series) -> pd.Series:
    """A target's values as the text a ``label_map`` names them by (" yes" and 1.0 as "yes" and "1.0")."""
    return values.astype(str).str.strip()


def label_words(label_map: dict | None, placeholders: pd.Series) -> dict[int, object] | None:
    """0/1 back to the target's own two levels where the sample submission's ``placeholders`` are written in
    them (numbers where the levels are integers, as -1/1); None: the submission holds 0/1."""
    levels = {value: str(level) for level, value in (label_map or {}).items()}
    if len(levels) < 2 or not as_levels(placeholders).isin(list(levels.values())).all():
        return None
    numbers = pd.to_numeric(pd.Series(list(levels.values())), errors="coerce")
    if numbers.notna().all() and bool((numbers == numbers.round()).all()):
        return {value: int(float(level)) for value, level in levels.items()}
    return levels


def target_vector(train: pd.DataFrame, config: Config, path) -> np.ndarray:
    """The 0/1 target of the training rows, or an error naming the bad values.

    A row with no label (an empty cell) is an unlabeled row, 0, as the weak
    regime's unlabeled rows are; the stage says how many.
    """
    column = config.target_column
    if not config.labeled:
        return np.zeros(len(train), dtype=np.int8)
    if column not in train.columns:
        raise MemdevError(f"{path}: target column {column!r} (named in the config) is missing")
    raw = train[column]
    if raw.isna().any():
        log.info(f"preprocess: {int(raw.isna().sum()):,} rows of {Path(path).name} have no {column!r}: taken as unlabeled (0)")
    if config.label_map:
        mapped = as_levels(raw).map({str(k): v for k, v in config.label_map.items()})
        unmapped = raw[mapped.isna() & raw.notna()]
        if len(unmapped):
            raise MemdevError(
                f"{path}: column {column!r} has value {unmapped.iloc[0]!r} (row {unmapped.index[0] + 2}) "
                f"that label_map does not name"
            )
        return mapped.fillna(0).to_numpy(dtype=np.int8)
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = raw[~numeric.isin([0, 1]) & raw.notna()]
    if len(bad):
        values = sorted(map(str, bad.unique()))[:5]
        hint = ""
        if raw.nunique() == 2:
            levels = sorted(map(str, raw.dropna().unique()))
            hint = (
                f"; if {levels[-1]!r} marks an anomaly, add to the config: "
                f"label_map: {{{levels[-1]!r}: 1, {levels[0]!r}: 0}}"
            )
        raise MemdevError(
            f"{path}: target column {column!r} must hold 0/1; found {', '.join(values)} "
            f"(first at row {bad.index[0] + 2}){hint}"
        )
    y = numeric.fillna(0).to_numpy(dtype=np.int8)
    if y.all():
        raise MemdevError(f"{path}: every row of target column {column!r} is 1; there are no normal rows to learn from")
    return y

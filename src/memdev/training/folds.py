"""The cross-validation folds every stage shares: assigned once, saved, read back.

Every candidate, every tuning trial and every report uses the same folds, so
their out-of-fold scores are comparable row by row.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from memdev import atomic
from memdev.config import Config
from memdev.paths import Paths


def assign(y: np.ndarray, config: Config) -> np.ndarray:
    """The fold of every training row: stratified when there are labels."""
    n, k = len(y), config.folds
    folds = np.zeros(n, dtype=np.int8)
    positives = int(np.sum(y))
    if config.labeled and positives >= k:
        splitter = StratifiedKFold(k, shuffle=True, random_state=config.seed).split(np.zeros(n), y)
    else:
        splitter = KFold(k, shuffle=True, random_state=config.seed).split(np.zeros(n))
    for fold, (_, held_out) in enumerate(splitter):
        folds[held_out] = fold
    return folds


def count(folds: np.ndarray) -> int:
    """How many folds ``folds`` numbers (0 .. count - 1)."""
    return int(folds.max()) + 1


def save(paths: Paths, folds: np.ndarray) -> None:
    with atomic.atomic_path(paths.folds) as tmp:
        np.save(tmp, folds)


def load(paths: Paths) -> np.ndarray:
    return np.load(paths.folds)

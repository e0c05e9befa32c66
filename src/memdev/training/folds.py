"""The cross-validation folds every stage shares: assigned once, saved, read back.

Every candidate, every tuning trial and every report uses the same folds, so
their out-of-fold scores are comparable row by row.

With fewer labeled anomalies than folds, plain K folds would leave some
training folds without one (the oversampler then raises, the booster fits a
constant): 2 <= P < K labeled anomalies get P stratified folds, one held out
in each; P <= 1 cannot cross-validate a supervised model at all, so the
label-free candidates take over (:func:`supervised`).
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from memdev import atomic
from memdev.config import Config
from memdev.paths import Paths

log = logging.getLogger(__name__)


def supervised(config: Config, y: np.ndarray) -> bool:
    """Whether a supervised model can be cross-validated: a labeled regime with at least 2 labeled anomalies."""
    return config.labeled and int(np.sum(y)) >= 2


def plan(config: Config, y: np.ndarray) -> tuple[int, str]:
    """How many folds, and a one-line message when that is not the configured ``folds`` ('' otherwise)."""
    positives, k = int(np.sum(y)), config.folds
    if not config.labeled or positives >= k:
        return k, ""
    if positives >= 2:
        return positives, (f"only {positives} labeled anomalies: cross-validating with {positives} stratified folds "
                           f"instead of {k} (each fold holds out one)")
    return k, (f"{positives} labeled anomal{'y' if positives == 1 else 'ies'}: too few to cross-validate a supervised "
               "model; using the label-free candidates (memae, iforest, lof) as in regime unsupervised")


def assign(y: np.ndarray, config: Config) -> np.ndarray:
    """The fold of every training row: stratified when there are at least 2 labeled anomalies."""
    n = len(y)
    k, message = plan(config, y)
    if message:
        log.info(message)
    folds = np.zeros(n, dtype=np.int8)
    if supervised(config, y):
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

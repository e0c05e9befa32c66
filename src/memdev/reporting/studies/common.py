"""What every study reads: the trained pipeline's outputs, the feature names, and their image layout.

The studies read only what ``make train`` wrote (features, folds, fold
MemAEs, out-of-fold scores; never a solution file) and refuse to run on
models trained on other features than the current ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd

from memdev import manifest
from memdev.config import Config
from memdev.errors import MemdevError
from memdev.evaluation import metrics
from memdev.features import preprocess
from memdev.models.candidates import FoldModels
from memdev.models.memae import MemAEDetector
from memdev.paths import Paths
from memdev.training import folds, stamps
from memdev.training.summary import load_oof


@dataclass
class Trained:
    """What ``make train`` left for the studies: features, labels, folds and out-of-fold scores."""

    X: np.ndarray
    y: np.ndarray
    fold_of: np.ndarray  # each row's cross-validation fold
    oof: pd.DataFrame  # fold, y, and each candidate's out-of-fold score

    @property
    def labeled(self) -> bool:
        return len(np.unique(self.y)) == 2

    @property
    def fold_count(self) -> int:
        return folds.count(self.fold_of)

    def memaes(self, config: Config, paths: Paths) -> Iterator[tuple[np.ndarray, MemAEDetector]]:
        """Each fold's MemAE with the rows it held out: together they score every row once, out of fold."""
        for fold in range(self.fold_count):
            yield np.flatnonzero(self.fold_of == fold), FoldModels.load(paths, fold, config, []).memae


def load(config: Config, paths: Paths) -> Trained:
    """The trained pipeline's outputs; one error naming the fix when they are missing or were built from another
    config or other features."""
    stamps.check(config, paths, "studies")
    X, y, _ = preprocess.load_features(paths)
    again = f"run `make train COMP={paths.slug}`"
    oof = load_oof(paths, needed=("memae",))
    if not paths.folds.exists():
        raise MemdevError(f"{paths.models}: no trained models; {again} first")
    return Trained(np.asarray(X, dtype=np.float32), np.asarray(y).astype(int), folds.load(paths).astype(int), oof)


def feature_names(paths: Paths, count: int) -> tuple[list[str], list[str]]:
    """Names of the ``count`` features and of the transformer's input columns.

    From the fitted transformer (loaded only if its sha256 is the recorded
    one); ``feature0``... when it is missing or does not match.
    """
    try:
        transformer = manifest.load_pickle(paths, paths.transformer)
        names = [str(n) for n in transformer.get_feature_names_out()]
        inputs = [str(n) for n in getattr(transformer, "feature_names_in_", [])]
    except (MemdevError, AttributeError, ValueError):
        names, inputs = [], []
    if len(names) != count:
        return [f"feature{i}" for i in range(count)], []
    return names, inputs


def image_layout(names: list[str], inputs: list[str]) -> tuple[int, np.ndarray, list[str]] | None:
    """``(side, pixel, columns)`` when the features are the pixels of a square image, else None.

    The image is the transformer's input columns when they are a square
    number of columns and every feature is one of them (preprocessing drops
    constant pixels, so the demo's 8x8 digits keep 61 of 64); otherwise the
    features themselves when their count is a square of at least 4x4.
    ``pixel[i]`` is feature i's position in the row-major ``side`` x ``side``
    image; ``columns`` names every pixel (train.csv's columns, for raw images).
    """
    side = math.isqrt(len(inputs)) if inputs else 0
    position = {name: i for i, name in enumerate(inputs)}
    if side >= 4 and side * side == len(inputs) and all(name in position for name in names):
        return side, np.array([position[name] for name in names]), list(inputs)
    side = math.isqrt(len(names))
    if side >= 4 and side * side == len(names):
        return side, np.arange(len(names)), list(names)
    return None


def auc(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """``(AUC-ROC, AUC-PR)`` of ``scores`` against the labels ``y``."""
    values = metrics.evaluate(y, scores)
    return values["auc_roc"], values["auc_pr"]

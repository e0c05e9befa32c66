"""The pretrain stage: one MemAE per cross-validation fold, on normal rows.

Reads the features; assigns the folds; fits each fold's MemAE on that fold's
training rows not labeled anomalous, so every out-of-fold score downstream is
honest (all folds' MemAEs are trained together, :mod:`memdev.models.stacked`);
writes the folds, the MemAEs and ``pretrain.json`` (the stage's stamp).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Callable

import numpy as np

from memdev import atomic, manifest, progress
from memdev.config import Config
from memdev.features import preprocess
from memdev.models.memae import MemAEDetector, fit_detectors
from memdev.models.stacked import StackedMemAE
from memdev.paths import Paths
from memdev.training import folds as folds_io
from memdev.training import stamps

log = logging.getLogger(__name__)


def run(config: Config, paths: Paths, features: tuple | None = None,
        folds: np.ndarray | None = None) -> list[MemAEDetector]:
    """Fit and write the fold MemAEs; they are returned for a finetune in the same process.

    ``features``: what :func:`~memdev.features.preprocess.load_features` returned,
    and ``folds`` what :func:`memdev.training.folds.assign` did, if called already.
    """
    stamps.check(config, paths, "pretrain")
    X, y, _ = features or preprocess.load_features(paths)
    folds = folds_io.assign(y, config) if folds is None else folds
    count = folds_io.count(folds)
    started = time.perf_counter()
    with progress.stage("pretrain", 1, f"{count} fold MemAEs") as bar:  # trained together: one step
        detectors, _ = fit_memaes(config, X, y, folds)
        stamp = save(config, paths, folds, y, detectors, time.perf_counter() - started)
        bar.advance(1, f"{max(fold['epochs'] for fold in stamp['folds'])} epochs")
    log.info(f"pretrain: {count} MemAEs in {stamp['seconds']:.1f}s ({stamp['rows_per_second']:,.0f} rows/s)")
    return detectors


def save(config: Config, paths: Paths, folds: np.ndarray, y: np.ndarray, detectors: list[MemAEDetector],
         seconds: float) -> dict:
    """Write the folds, the fold MemAEs and ``pretrain.json``, the stamp, which is returned.

    ``make train`` writes them; so does ``make tune`` for its best trial.
    """
    folds_io.save(paths, folds)
    summary = []
    for fold, detector in enumerate(detectors):
        detector.save(paths.memae(fold))
        manifest.record(paths, [paths.memae(fold)])
        summary.append({"fold": fold, "rows": int(np.sum((folds != fold) & (y == 0))),
                        "epochs": len(detector.history_["loss"]), "loss": float(detector.history_["loss"][-1])})
    rows_seen = sum(s["rows"] * s["epochs"] for s in summary)
    stamp = {"config": config.digest(), "features": manifest.digest(paths, paths.x_train),
             "folds": summary, "seconds": seconds, "rows_per_second": rows_seen / max(seconds, 1e-9)}
    atomic.write_text(paths.pretrained, json.dumps(stamp, indent=1))
    return stamp


def fit_memaes(config: Config, X: np.ndarray, y: np.ndarray, folds: np.ndarray,
               on_epoch: Callable | None = None) -> tuple[list[MemAEDetector], StackedMemAE]:
    """Every fold's MemAE, fitted on that fold's training rows not labeled anomalous, all folds together.

    Fold k's MemAE has seed ``config.seed + k``. Returns the MemAEs in fold
    order and the same models stacked (for their views in one pass).
    ``on_epoch(epoch, logs)`` after each epoch; by default each epoch moves
    the open progress bar.
    """
    count = folds_io.count(folds)
    rows = [np.flatnonzero((folds != fold) & (y == 0)) for fold in range(count)]
    log.debug(f"pretrain: {count} MemAEs, trained together on {', '.join(str(len(r)) for r in rows)} rows")
    hook = on_epoch or (lambda epoch, logs: progress.epoch_done(epoch + 1, logs["epochs"], logs.get("loss")))
    return fit_detectors(X, rows, config.memae, [config.seed + fold for fold in range(count)], hook)

"""The pretrain stage: one MemAE per cross-validation fold, on normal rows.

Reads the features; assigns the folds; fits each fold's MemAE on that fold's
training rows not labeled anomalous, so every out-of-fold score downstream is
honest; writes the folds, the MemAEs and ``pretrain.json`` (the stage's stamp).
"""

from __future__ import annotations

import json
import logging
import time

import keras
import numpy as np

from memdev import atomic, manifest, progress
from memdev.config import Config
from memdev.features import preprocess
from memdev.models.memae import MemAEDetector
from memdev.paths import Paths
from memdev.training import folds as folds_io

log = logging.getLogger(__name__)


def run(config: Config, paths: Paths, verbose: int | None = None) -> None:
    """``verbose``: Keras's own per-epoch lines (default: only with ``--verbose``)."""
    X, y, _ = preprocess.load_features(paths)
    folds = folds_io.assign(y, config)
    folds_io.save(paths, folds)
    started = time.perf_counter()
    summary = []
    with progress.stage("pretrain", folds_io.count(folds)) as bar:
        for fold, rows, detector in fit_memaes(config, X, y, folds, verbose):
            detector.save(paths.memae(fold), paths.encoder(fold))
            epochs = len(detector.history_["loss"])
            summary.append({"fold": fold, "rows": int(len(rows)), "epochs": epochs,
                            "loss": float(detector.history_["loss"][-1])})
            bar.advance(1, f"{epochs} epochs, loss {summary[-1]['loss']:.4g}")
    seconds = time.perf_counter() - started
    rows_seen = sum(s["rows"] * s["epochs"] for s in summary)
    stamp = {"config": config.digest(), "features": manifest.digest(paths, paths.x_train),
             "folds": summary, "seconds": seconds, "rows_per_second": rows_seen / max(seconds, 1e-9)}
    atomic.write_text(paths.pretrained, json.dumps(stamp, indent=1))
    log.info(f"pretrain: {len(summary)} MemAEs in {seconds:.1f}s ({stamp['rows_per_second']:,.0f} rows/s)")


def fit_memaes(config: Config, X: np.ndarray, y: np.ndarray, folds: np.ndarray, verbose: int | None = None):
    """Yield (fold, rows, MemAE) for every fold, each fitted on that fold's
    training rows not labeled anomalous; each epoch moves the open progress bar."""
    count = folds_io.count(folds)
    verbose = progress.keras_verbosity() if verbose is None else verbose
    epochs = config.memae.epochs
    hook = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: progress.epoch_done(epoch + 1, epochs, (logs or {}).get("loss")))
    for fold in range(count):
        if verbose:  # a header above Keras's own lines
            log.info(f"pretrain: MemAE for fold {fold + 1}/{count}")
        rows = np.flatnonzero((folds != fold) & (y == 0))
        detector = MemAEDetector(config.memae, seed=config.seed + fold, verbose=verbose)
        yield fold, rows, detector.fit(X, rows, callbacks=[hook])

"""The pretrain stage: one MemAE per cross-validation fold, on normal rows.

Each fold's MemAE sees only that fold's training rows, and of those only the
ones not labeled anomalous, so every out-of-fold score downstream is honest.
"""

from __future__ import annotations

import json
import time

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from . import atomic, manifest, preprocess
from .config import Config
from .memae import MemAEDetector
from .paths import Paths


def assign_folds(y: np.ndarray, config: Config) -> np.ndarray:
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


def fit_memaes(config: Config, X: np.ndarray, y: np.ndarray, folds: np.ndarray, verbose: int = 0):
    """Yield (fold, rows, MemAE) for every fold, each fitted on that fold's
    training rows not labeled anomalous."""
    count = int(folds.max()) + 1
    for fold in range(count):
        if verbose:
            print(f"pretrain: MemAE for fold {fold + 1}/{count}", flush=True)
        rows = np.flatnonzero((folds != fold) & (y == 0))
        detector = MemAEDetector(config.memae, seed=config.seed + fold, verbose=verbose)
        yield fold, rows, detector.fit(X, rows)


def run(config: Config, paths: Paths, verbose: int = 2) -> None:
    X, y, _ = preprocess.load_features(paths)
    folds = assign_folds(y, config)
    with atomic.atomic_path(paths.folds) as tmp:
        np.save(tmp, folds)
    started = time.perf_counter()
    summary = []
    for fold, rows, detector in fit_memaes(config, X, y, folds, verbose):
        detector.save(paths.memae(fold), paths.encoder(fold))
        epochs = len(detector.history_["loss"])
        summary.append({"fold": fold, "rows": int(len(rows)), "epochs": epochs,
                        "loss": float(detector.history_["loss"][-1])})
    seconds = time.perf_counter() - started
    rows_seen = sum(s["rows"] * s["epochs"] for s in summary)
    stamp = {"config": config.digest(), "features": manifest.digest(paths, paths.x_train),
             "folds": summary, "seconds": seconds, "rows_per_second": rows_seen / max(seconds, 1e-9)}
    atomic.write_text(paths.pretrained, json.dumps(stamp, indent=1))
    print(f"pretrain: {len(summary)} MemAEs in {seconds:.1f}s ({stamp['rows_per_second']:,.0f} rows/s)")

"""Pretraining: honest folds, and each fold's MemAE sees only its own normal training rows."""

import numpy as np

from conftest import fast_config, gaussian_rows, memdev
from memdev import atomic, manifest
from memdev.training import folds as folds_io
from memdev.training import pretrain


def test_each_fold_memae_is_fitted_on_its_training_rows_not_labeled_anomalous(monkeypatch):
    X = gaussian_rows(60, features=3)
    y = (np.arange(60) % 6 == 0).astype(int)
    config = fast_config(folds=3)
    config.memae.epochs = 1
    folds = folds_io.assign(y, config)
    seen = {}
    real = pretrain.fit_detectors

    def spy(X, row_sets, memae_config, seeds, on_epoch=None):
        seen.update(row_sets=row_sets, seeds=seeds)
        return real(X, row_sets, memae_config, seeds, on_epoch)

    monkeypatch.setattr(pretrain, "fit_detectors", spy)
    detectors, stacked = pretrain.fit_memaes(config, X, y, folds)
    assert len(detectors) == stacked.members == 3
    for fold, (rows, detector) in enumerate(zip(seen["row_sets"], detectors)):
        assert (folds[rows] != fold).all() and (y[rows] == 0).all()
        assert len(rows) == int(((folds != fold) & (y == 0)).sum())
        assert detector.seed == config.seed + fold == seen["seeds"][fold]


def test_memdev_pretrain_writes_one_recorded_memae_per_fold_and_nothing_unread(tiny):
    """memae.keras holds the frozen encoder the heads use; its sha256 is in the manifest, checked before loading."""
    result = memdev(tiny.root, "pretrain", "--comp", "tiny")
    assert result.returncode == 0, result.stderr
    for fold in range(2):
        assert sorted(p.name for p in tiny.fold_dir(fold).iterdir()) == ["memae.keras"]
        assert manifest.digest(tiny, tiny.memae(fold)) == atomic.sha256(tiny.memae(fold))

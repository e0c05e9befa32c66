"""Pretraining: honest folds, and each fold's MemAE sees only its own normal training rows."""

import numpy as np

from memdev import pretrain

from conftest import fast_config, gaussian_rows


def test_folds_are_stratified_when_there_are_labels():
    y = np.r_[np.ones(10), np.zeros(90)].astype(int)
    folds = pretrain.assign_folds(y, fast_config(folds=5))
    assert sorted(set(folds)) == [0, 1, 2, 3, 4]
    assert [int(y[folds == k].sum()) for k in range(5)] == [2] * 5
    np.testing.assert_array_equal(folds, pretrain.assign_folds(y, fast_config(folds=5)))  # seeded


def test_folds_without_enough_labels_are_plain_kfold():
    y = np.zeros(20, dtype=int)
    folds = pretrain.assign_folds(y, fast_config(folds=4, regime="novelty", target_column=None))
    assert np.bincount(folds).tolist() == [5, 5, 5, 5]


def test_each_fold_memae_is_fitted_on_its_training_rows_not_labeled_anomalous():
    X = gaussian_rows(60, features=3)
    y = (np.arange(60) % 6 == 0).astype(int)
    config = fast_config(folds=3)
    config.memae.epochs = 1
    folds = pretrain.assign_folds(y, config)
    seen = []
    for fold, rows, detector in pretrain.fit_memaes(config, X, y, folds):
        assert (folds[rows] != fold).all() and (y[rows] == 0).all()
        assert len(rows) == int(((folds != fold) & (y == 0)).sum())
        assert detector.seed == config.seed + fold
        seen.append(fold)
    assert seen == [0, 1, 2]

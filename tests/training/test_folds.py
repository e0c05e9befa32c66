"""Folds: assigned once per competition, stratified where there are labels, the same for every candidate."""

import numpy as np

from conftest import fast_config
from memdev.training import folds as folds_io


def test_folds_are_stratified_when_there_are_labels():
    y = np.r_[np.ones(10), np.zeros(90)].astype(int)
    folds = folds_io.assign(y, fast_config(folds=5))
    assert sorted(set(folds)) == [0, 1, 2, 3, 4]
    assert [int(y[folds == k].sum()) for k in range(5)] == [2] * 5
    np.testing.assert_array_equal(folds, folds_io.assign(y, fast_config(folds=5)))  # seeded


def test_fewer_labeled_anomalies_than_folds_get_one_stratified_fold_per_anomaly(caplog):
    y = np.r_[np.ones(3), np.zeros(97)].astype(int)
    folds = folds_io.assign(y, fast_config(folds=5))
    assert folds_io.count(folds) == 3
    assert [int(y[folds == k].sum()) for k in range(3)] == [1, 1, 1]  # every training fold keeps two
    assert "only 3 labeled anomalies: cross-validating with 3 stratified folds instead of 5" in caplog.text
    assert folds_io.supervised(fast_config(), y)


def test_one_labeled_anomaly_is_too_few_for_a_supervised_model(caplog):
    y = np.r_[np.ones(1), np.zeros(99)].astype(int)
    folds = folds_io.assign(y, fast_config(folds=5))
    assert folds_io.count(folds) == 5 and not folds_io.supervised(fast_config(), y)
    assert "1 labeled anomaly: too few to cross-validate a supervised model" in caplog.text


def test_folds_without_labels_are_plain_kfold():
    y = np.zeros(20, dtype=int)
    folds = folds_io.assign(y, fast_config(folds=4, regime="novelty", target_column=None))
    assert np.bincount(folds).tolist() == [5, 5, 5, 5]


def test_folds_are_saved_and_read_back_with_their_count(tmp_path):
    from memdev.paths import Paths

    paths = Paths("toy", tmp_path)
    folds = folds_io.assign(np.zeros(30, dtype=int), fast_config(folds=3, regime="novelty", target_column=None))
    folds_io.save(paths, folds)
    np.testing.assert_array_equal(folds_io.load(paths), folds)
    assert folds_io.count(folds_io.load(paths)) == 3

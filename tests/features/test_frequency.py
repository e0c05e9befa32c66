"""How common a row's level is: kept for the categorical columns one-hot encoding cannot keep whole."""

import pickle

import numpy as np
import pandas as pd

from memdev.features.frequency import LevelFrequency


def test_only_columns_with_more_levels_than_one_hot_keeps_get_a_frequency():
    train = pd.DataFrame({"merchant": [f"m{i % 8}" for i in range(40)], "colour": ["red", "blue"] * 20})
    encoder = LevelFrequency(levels=5).fit(train)
    assert list(encoder.get_feature_names_out()) == ["merchant_frequency"]
    assert encoder.transform(train).shape == (40, 1)
    assert LevelFrequency(levels=50).fit(train).transform(train).shape == (40, 0)
    ids = pd.DataFrame({"transaction": [f"t{i}" for i in range(40)]})  # every level once: no frequency to tell
    assert LevelFrequency(levels=5).fit(ids).counts_ == {}


def test_a_level_scores_log_count_over_log_rows_and_an_unseen_one_counts_as_seen_once():
    train = pd.DataFrame({"merchant": ["a"] * 16 + ["b"] * 3 + ["c"] + [None] * 4})  # 24 rows, 4 levels
    encoder = LevelFrequency(levels=3).fit(train)
    fresh = pd.DataFrame({"merchant": ["a", "b", "c", "never seen", None]})
    np.testing.assert_allclose(encoder.transform(fresh)[:, 0], np.log([16, 3, 1, 1, 4]) / np.log(24))
    again = pickle.loads(pickle.dumps(encoder))  # saved inside the feature transformer
    np.testing.assert_array_equal(again.transform(fresh), encoder.transform(fresh))

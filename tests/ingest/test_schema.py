"""Schema detection from the raw files, and the 0/1 target with its clear errors."""

import numpy as np
import pandas as pd
import pytest

from conftest import fast_config, labeled_frames
from memdev.errors import MemdevError
from memdev.ingest import schema


def frames_with_target(values, target="target"):
    """A competition whose train target column holds ``values`` (None: no target column)."""
    train, test, sample = labeled_frames(n_train=len(values) if values is not None else 60)
    train = train.drop(columns="target")
    if values is not None:
        train[target] = values
    return train, test, sample.rename(columns={"target": target})


def test_id_and_target_come_from_the_sample_submission(competition):
    train, test, sample = labeled_frames()
    train = train.rename(columns={"id": "RowKey", "target": "Outcome"})
    test = test.rename(columns={"id": "RowKey"})
    sample = sample.rename(columns={"id": "RowKey", "target": "Outcome"})
    config = schema.detect(competition(train, test, sample, slug="odd-names"))
    assert (config.slug, config.id_column, config.target_column) == ("odd-names", "RowKey", "Outcome")


def test_integer_sample_values_mean_a_label_submission_judged_by_f1(competition):
    config = schema.detect(competition())
    assert (config.submission, config.metric) == ("label", "f1")


def test_real_sample_values_mean_a_score_submission_judged_by_average_precision(competition):
    train, test, sample = labeled_frames()
    config = schema.detect(competition(sample=sample.assign(target=0.5)))
    assert (config.submission, config.metric) == ("score", "average_precision")


@pytest.mark.parametrize("values, regime", [
    ([1] * 60 + [0] * 140, "full"),  # more than 50 labeled anomalies
    ([1] * 30 + [0] * 170, "weak"),  # a few labeled anomalies, the rest unlabeled
    ([0] * 200, "unsupervised"),  # a target column without a single anomaly
    (None, "novelty"),  # no target column: normal rows only
    ([1.0] * 60 + [0.0] * 139 + [np.nan], "full"),  # 0/1 written as floats
])
def test_regime_is_detected_from_the_labeled_anomalies(competition, values, regime):
    config = schema.detect(competition(*frames_with_target(values)))
    assert config.regime == regime
    assert config.labeled == (regime in ("full", "weak"))
    assert (config.target_column is None) == (values is None)


def test_weak_means_at_most_fifty_labeled_anomalies(competition):
    assert schema.detect(competition(*frames_with_target([1] * 50 + [0] * 150))).regime == "weak"
    assert schema.detect(competition(*frames_with_target([1] * 51 + [0] * 149))).regime == "full"


def test_a_target_of_two_words_gets_a_label_map_with_the_rarer_word_the_anomaly(competition):
    train, test, sample = frames_with_target(["fraud"] * 60 + ["legit"] * 140)
    config = schema.detect(competition(train, test, sample.assign(target="legit")))
    assert config.label_map == {"fraud": 1, "legit": 0}
    assert (config.regime, config.submission, config.metric) == ("full", "label", "f1")  # words to write back
    assert schema.detect(competition(train, test, sample.assign(target=0.5))).submission == "score"


@pytest.mark.parametrize("values, expected", [
    (["no", "yes", "no", "no"], {"yes": 1, "no": 0}),
    ([1, -1, 1, 1], {"-1": 1, "1": 0}),  # scikit-learn's outlier labels
    ([True, False, False], {"True": 1, "False": 0}),
    ([0, 1, 0, 0], None),  # 0/1 already
    (["no", "yes", "no", "yes"], None),  # equally common: no rarer class to call the anomaly
    (["no", "yes", "maybe", "no"], None),  # not two levels
    (["fraud", None, None, "fraud", None], {"fraud": 1}),  # the anomalies marked, the other rows left empty
    (["fraud", "fraud"], None),  # one level and nothing else: no normal row
    ([0.2, 0.9, 0.2], None),  # fractions are no labels
])
def test_label_levels_call_the_rarer_of_two_levels_one(values, expected):
    assert schema.label_levels(pd.Series(values)) == expected


def test_a_target_marking_only_the_anomalies_is_a_labeled_one_with_the_other_rows_unlabeled(competition):
    values = np.where(np.arange(300) < 30, "fraud", None)  # 30 marked, 270 left empty
    paths = competition(*frames_with_target(values))
    config = schema.detect(paths)
    assert (config.regime, config.label_map) == ("weak", {"fraud": 1})
    assert schema.target_vector(pd.read_csv(paths.train_csv), config, paths.train_csv).sum() == 30


def test_labels_go_back_to_the_targets_words_only_where_the_sample_is_written_in_them():
    words = {"fraud": 1, "legit": 0}
    assert schema.label_words(words, pd.Series(["legit", "legit"])) == {1: "fraud", 0: "legit"}
    assert schema.label_words(words, pd.Series([0, 0])) is None  # the sample asks for 0/1
    assert schema.label_words({"-1": 1, "1": 0}, pd.Series([1])) == {1: -1, 0: 1}
    assert schema.label_words(None, pd.Series([0])) is None
    assert schema.label_words({"fraud": 1}, pd.Series(["fraud"])) is None  # no word for a normal row


def test_a_sample_with_one_column_is_refused(competition):
    train, test, sample = labeled_frames()
    with pytest.raises(MemdevError, match="sample_submission.csv: needs two columns"):
        schema.detect(competition(sample=sample[["id"]]))


# --- the target vector -----------------------------------------------------------


def target_of(values, **config):
    train = pd.DataFrame({"id": range(len(values)), "target": values})
    return schema.target_vector(train, fast_config(**config), "train.csv")


def test_a_zero_one_target_is_returned_as_int8():
    y = target_of([0, 1, 0, 0])
    assert y.dtype == np.int8 and y.tolist() == [0, 1, 0, 0]


def test_a_yes_no_target_is_an_error_that_suggests_a_label_map():
    with pytest.raises(MemdevError) as info:
        target_of(["no", "yes", "no", "no"])
    message = str(info.value)
    assert "train.csv" in message and "'target'" in message and "yes" in message
    assert "label_map: {'yes': 1, 'no': 0}" in message


def test_a_label_map_turns_words_into_zero_one():
    y = target_of(["no", "yes", " no", "yes"], label_map={"yes": 1, "no": 0})
    assert y.tolist() == [0, 1, 0, 1]


def test_a_value_the_label_map_does_not_name_is_an_error_naming_value_and_row():
    with pytest.raises(MemdevError, match="value 'maybe' \\(row 4\\) that label_map does not name"):
        target_of(["no", "yes", "maybe"], label_map={"yes": 1, "no": 0})


def test_a_row_without_a_label_is_an_unlabeled_row(caplog):
    assert target_of([0, 1, None, 0]).tolist() == [0, 1, 0, 0]
    assert target_of(["no", None, "yes"], label_map={"yes": 1, "no": 0}).tolist() == [0, 0, 1]
    assert "1 rows of train.csv have no 'target': taken as unlabeled (0)" in caplog.text


@pytest.mark.parametrize("values, bad, row", [([0, 1, 2, 0], "2", 4), ([-1, 1, 1, -1], "-1", 2), ([0, 1, None, 7], "7.0", 5)])
def test_values_other_than_zero_and_one_are_named_in_the_error(values, bad, row):
    with pytest.raises(MemdevError, match=f"must hold 0/1; found {bad} \\(first at row {row}\\)"):
        target_of(values)


def test_an_all_one_target_is_an_error_saying_there_are_no_normal_rows():
    with pytest.raises(MemdevError, match="every row of target column 'target' is 1; there are no normal rows"):
        target_of([1, 1, 1])


def test_without_labels_the_target_is_all_zero_whatever_the_column_holds():
    y = target_of(["whatever", "x"], regime="novelty", target_column=None)
    assert y.tolist() == [0, 0]


def test_a_yes_no_competition_is_detected_as_labeled_with_a_label_map(competition):
    """Detection must not silently drop word labels by calling the competition unsupervised."""
    values = np.where(np.arange(300) % 5 == 0, "yes", "no")  # 60 anomalies
    paths = competition(*frames_with_target(values))
    config = schema.detect(paths)
    assert config.labeled and config.regime == "full" and config.label_map == {"yes": 1, "no": 0}
    assert schema.target_vector(pd.read_csv(paths.train_csv), config, paths.train_csv).sum() == 60

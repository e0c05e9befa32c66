"""Submission validation: Kaggle's format rules, checked before anything is written."""

import numpy as np
import pandas as pd
import pytest

from conftest import fast_config
from memdev.errors import MemdevError
from memdev.submission import submit

LABEL = fast_config()
SCORE = fast_config(submission="score", metric="average_precision")


@pytest.fixture
def sample():
    return pd.DataFrame({"id": ["7", "3", "5", "9"], "target": [0, 0, 0, 0]})


def frame(ids, values, columns=("id", "target")):
    return pd.DataFrame({columns[0]: ids, columns[1]: values})


def test_a_well_formed_label_submission_passes(sample):
    submit.validate(frame(["7", "3", "5", "9"], [0, 1, 0, 0]), sample, LABEL)
    submit.validate(frame(["9", "5", "3", "7"], [1, 1, 0, 0]), sample, LABEL)  # any row order


def test_a_score_submission_may_hold_any_finite_number(sample):
    submit.validate(frame(["7", "3", "5", "9"], [0.2, -3.5, 1e6, 0.0]), sample, SCORE)


@pytest.mark.parametrize("columns", [("Id", "target"), ("id", "anomaly"), ("target", "id")])
def test_wrong_column_names_are_refused(sample, columns):
    with pytest.raises(MemdevError, match="columns .* differ from the sample's \\['id', 'target'\\]"):
        submit.validate(frame(["7", "3", "5", "9"], [0, 1, 0, 0], columns), sample, LABEL)


def test_an_extra_column_is_refused(sample):
    bad = frame(["7", "3", "5", "9"], [0, 1, 0, 0]).assign(extra=1)
    with pytest.raises(MemdevError, match="columns"):
        submit.validate(bad, sample, LABEL)


@pytest.mark.parametrize("ids", [
    ["7", "3", "5", "5"],  # a duplicate (and 9 missing)
    ["7", "3", "5", "9", "9"],  # a duplicate on top of all ids
    ["7", "3", "5"],  # one missing
    ["7", "3", "5", "10"],  # one unknown
    [7, 3, 5, 9],  # numbers, not the sample's exact id text
])
def test_ids_must_be_exactly_the_samples_each_once(sample, ids):
    with pytest.raises(MemdevError, match="ids are not exactly the sample's ids, each once"):
        submit.validate(frame(ids, [0] * len(ids)), sample, LABEL)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_values_are_refused(sample, bad):
    for config in (LABEL, SCORE):
        with pytest.raises(MemdevError, match="NaN or infinite"):
            submit.validate(frame(["7", "3", "5", "9"], [0.0, 1.0, bad, 0.0]), sample, config)


@pytest.mark.parametrize("values", [[0, 1, 2, 0], [0, 1, -1, 0], [0, 1, 0.5, 0], [0.0, 0.3, 0.7, 1.0]])
def test_a_label_submission_must_hold_only_zero_and_one(sample, values):
    with pytest.raises(MemdevError, match="only 0 and 1"):
        submit.validate(frame(["7", "3", "5", "9"], values), sample, LABEL)


def test_text_values_are_a_clear_error_not_a_crash(sample):
    with pytest.raises(MemdevError, match="value 'yes' \\(id '7'\\) is not a number"):
        submit.validate(frame(["7", "3", "5", "9"], ["yes", "no", "no", "no"]), sample, LABEL)


def test_a_label_submission_in_the_targets_words_holds_only_those_words():
    words = pd.DataFrame({"id": ["7", "3"], "target": ["legit", "legit"]})
    config = fast_config(label_map={"fraud": 1, "legit": 0})
    submit.validate(frame(["7", "3"], ["fraud", "legit"]), words, config)
    with pytest.raises(MemdevError, match="only \\['fraud', 'legit'\\]"):
        submit.validate(frame(["7", "3"], [1, 0]), words, config)


def test_submitting_without_features_or_models_says_what_to_run_first(tmp_path):
    from memdev.paths import Paths

    with pytest.raises(MemdevError, match="run `make preprocess COMP=toy`"):
        submit.run(LABEL, Paths("toy", tmp_path))

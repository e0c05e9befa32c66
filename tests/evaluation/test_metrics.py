"""Metrics always beside the base rate: '89.3% accurate' on 89.2%-normal data is no result; usefulness is
judged by what chance gets on the competition's own metric."""

import numpy as np
import pytest
from sklearn import metrics as sk

from memdev.evaluation import metrics


def predictions(flagged: int, caught: int, rows: int = 1000, anomalies: int = 108):
    """y with ``anomalies`` of ``rows`` anomalous (89.2% normal), labels flagging ``flagged`` rows of which ``caught`` are anomalies."""
    y = np.zeros(rows, dtype=int)
    y[:anomalies] = 1
    labels = np.zeros(rows, dtype=int)
    labels[:caught] = 1  # true positives
    labels[anomalies:anomalies + flagged - caught] = 1  # false positives
    scores = labels + np.random.default_rng(0).uniform(0, 0.5, rows)
    return y, scores, labels


def test_the_all_normal_predictor_is_no_better_than_the_base_rate():
    y, scores, labels = predictions(flagged=0, caught=0)
    values = metrics.evaluate(y, scores, labels)
    assert values["accuracy"] == pytest.approx(0.892) == values["base_rate_accuracy"]
    assert values["precision"] == values["recall"] == values["f1"] == 0.0
    text = metrics.verdict(values)
    assert text.startswith("NO BETTER THAN CHANCE on f1: 0.000 vs 0.195 for calling every row anomalous; ")
    assert "accuracy 0.892 vs 0.892 for calling every row normal (+0.000): no better than the base rate;" in text


def test_a_model_893_accurate_on_892_normal_data_is_called_no_better_than_the_base_rate():
    """The founding example: a 0.1-point lift on 1000 rows is noise, whatever its precision."""
    y, scores, labels = predictions(flagged=5, caught=3)
    values = metrics.evaluate(y, scores, labels)
    assert values["accuracy"] == pytest.approx(0.893) and values["accuracy_lift"] == pytest.approx(0.001)
    assert values["f1"] == pytest.approx(0.0531, abs=1e-3)
    text = metrics.verdict(values)
    assert text.startswith("NO BETTER THAN CHANCE on f1: 0.053 vs 0.195")
    assert "accuracy 0.893 vs 0.892 for calling every row normal (+0.001): no better than the base rate: " in text
    assert "the lift is within the noise (±0.010) of 1000 rows" in text


def test_a_model_with_precision_006_is_no_better_than_the_base_rate():
    y, scores, labels = predictions(flagged=100, caught=6)
    values = metrics.evaluate(y, scores, labels)
    assert values["precision"] == pytest.approx(0.06)
    assert values["accuracy"] < values["base_rate_accuracy"]
    text = metrics.verdict(values)
    assert text.startswith("NO BETTER THAN CHANCE on f1: 0.058 vs 0.195") and "no better than the base rate" in text


def test_a_model_that_catches_most_anomalies_beats_the_base_rate():
    y, scores, labels = predictions(flagged=100, caught=95)
    values = metrics.evaluate(y, scores, labels)
    text = metrics.verdict(values)
    assert text.startswith("beats chance on f1: 0.913 vs 0.195 for calling every row anomalous (4.7x); ")
    assert "accuracy 0.982 vs 0.892 for calling every row normal (+0.090): beats the base rate;" in text
    assert "precision 0.950" in text and "recall 0.880" in text


def test_a_useful_model_below_the_base_rate_accuracy_is_still_called_useful():
    """Issue 16's case: 1% prevalence, precision 0.45, recall 0.90: F1 0.60 against the 0.02 of calling
    every row anomalous. Its accuracy (0.988) is below the base rate's (0.990): the founders' line says so."""
    y, scores, labels = predictions(flagged=20, caught=9, rows=1000, anomalies=10)
    values = metrics.evaluate(y, scores, labels)
    assert (values["precision"], values["recall"]) == (pytest.approx(0.45), pytest.approx(0.90))
    text = metrics.verdict(values, "f1")
    assert text.startswith("beats chance on f1: 0.600 vs 0.020 for calling every row anomalous (30.3x); ")
    assert "accuracy 0.988 vs 0.990 for calling every row normal (-0.002): no better than the base rate" in text


@pytest.mark.parametrize("metric, level", [
    ("f1", 2 * 0.1 / 1.1), ("average_precision", 0.1), ("roc_auc", 0.5), ("mcc", 0.0), ("balanced_accuracy", 0.5),
    ("accuracy", 0.9),
])
def test_chance_is_what_no_skill_gets_on_each_metric(metric, level):
    assert metrics.chance(metric, {"prevalence": 0.1, "rows": 1000.0})[0] == pytest.approx(level)


def test_every_competition_metric_is_judged_against_its_own_chance_level():
    rng = np.random.default_rng(1)
    y = (rng.random(2000) < 0.05).astype(int)
    good_scores = y + rng.random(2000)
    good = metrics.evaluate(y, good_scores, (good_scores > 1).astype(int))
    noise_scores = rng.random(2000)
    noise = metrics.evaluate(y, noise_scores, (noise_scores > 0.95).astype(int))
    for metric in ("f1", "average_precision", "roc_auc", "mcc", "balanced_accuracy"):
        assert metrics.verdict(good, metric).startswith(f"beats chance on {metric}: "), metric
        assert metrics.verdict(noise, metric).startswith(f"NO BETTER THAN CHANCE on {metric}: "), metric


def test_the_table_shows_precision_recall_f1_beside_the_base_rate_row():
    y, scores, labels = predictions(flagged=5, caught=3)
    text = metrics.table({"out-of-fold": metrics.evaluate(y, scores, labels)})
    lines = text.splitlines()
    assert "out-of-fold" in lines[0]
    rows = {line[:31].strip(): line[31:].split() for line in lines[1:]}
    assert rows["base-rate accuracy (all normal)"] == ["0.8920"]
    assert rows["accuracy"] == ["0.8930"]
    assert rows["accuracy - base rate"] == ["0.0010"]
    for label in ("precision", "recall", "F1", "AUC-PR", "AUC-ROC", "prevalence (AUC-PR of chance)"):
        assert label in rows
    assert rows["rows"] == ["1000"]


def test_without_labels_the_table_has_only_ranking_metrics():
    y, scores, _ = predictions(flagged=100, caught=95)
    values = metrics.evaluate(y, scores)
    assert "accuracy" not in values and "base_rate_accuracy" not in values
    assert "base-rate" not in metrics.table({"a": values})


def test_scores_no_better_than_chance_are_called_so():
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(int)
    text = metrics.verdict(metrics.evaluate(y, rng.random(2000)))
    assert text.startswith("NO BETTER THAN CHANCE on average_precision: ")
    good = metrics.verdict(metrics.evaluate(y, y + rng.random(2000) * 0.5))
    assert good.startswith("beats chance on average_precision: 1.000 vs ")


def test_a_ranking_competition_is_judged_on_its_ranking_not_on_a_threshold():
    # a good ranking whose comparator threshold flags nothing: the labels look
    # useless, but an average-precision leaderboard only sees the ranking
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(int)
    values = metrics.evaluate(y, y + rng.random(2000) * 0.5, np.zeros(2000))
    assert metrics.verdict(values, "f1").startswith("NO BETTER THAN CHANCE on f1: 0.000")
    assert metrics.verdict(values, "average_precision").startswith("beats chance on average_precision: 1.000")


def test_primary_maps_the_competition_metric_to_its_value():
    y, scores, labels = predictions(flagged=100, caught=95)
    values = metrics.evaluate(y, scores, labels)
    assert metrics.primary("f1", y, scores, labels) == values["f1"]
    assert metrics.primary("average_precision", y, scores) == values["auc_pr"]
    assert metrics.primary("roc_auc", y, scores) == values["auc_roc"]
    assert metrics.primary("mcc", y, scores, labels) == values["mcc"]
    assert metrics.primary("balanced_accuracy", y, scores, labels) == values["balanced_accuracy"]
    with pytest.raises(ValueError, match="needs 0/1 labels"):
        metrics.primary("f1", y, scores)


def test_a_single_class_gives_nan_ranking_metrics_not_an_exception():
    values = metrics.evaluate(np.zeros(10), np.arange(10.0), np.zeros(10))
    assert np.isnan(values["auc_pr"]) and np.isnan(values["auc_roc"])
    assert values["accuracy"] == 1.0 == values["base_rate_accuracy"]


@pytest.mark.parametrize("case", ["random", "none called", "all called", "one class", "all right", "all wrong"])
def test_label_metrics_are_scikit_learns(case):
    rng = np.random.default_rng(len(case))
    y = (rng.random(500) < 0.1).astype(int)
    labels = {"random": (rng.random(500) < 0.15).astype(int), "none called": np.zeros(500, int),
              "all called": np.ones(500, int), "one class": (rng.random(500) < 0.2).astype(int),
              "all right": y, "all wrong": 1 - y}[case]
    if case == "one class":
        y = np.zeros(500, int)
    expected = {
        "precision": sk.precision_score(y, labels, zero_division=0),
        "recall": sk.recall_score(y, labels, zero_division=0),
        "f1": sk.f1_score(y, labels, zero_division=0),
        "accuracy": sk.accuracy_score(y, labels),
        "balanced_accuracy": sk.balanced_accuracy_score(y, labels) if case != "one class" else np.nan,
        "mcc": sk.matthews_corrcoef(y, labels) if case != "one class" else 0.0,
    }
    assert metrics.label_metrics(y, labels) == pytest.approx(expected, rel=1e-12, abs=1e-15, nan_ok=True)

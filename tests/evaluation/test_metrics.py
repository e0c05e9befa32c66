"""Metrics always beside the base rate: '89.3% accurate' on 89.2%-normal data is no result."""

import numpy as np
import pytest

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
    assert metrics.verdict(values).startswith("NO BETTER THAN THE BASE RATE: accuracy 0.892 vs 0.892")


def test_a_model_893_accurate_on_892_normal_data_is_called_no_better_than_the_base_rate():
    """The founding example: a 0.1-point lift on 1000 rows is noise, whatever its precision."""
    y, scores, labels = predictions(flagged=5, caught=3)
    values = metrics.evaluate(y, scores, labels)
    assert values["accuracy"] == pytest.approx(0.893) and values["accuracy_lift"] == pytest.approx(0.001)
    assert values["f1"] == pytest.approx(0.0531, abs=1e-3)
    text = metrics.verdict(values)
    assert text.startswith("NO BETTER THAN THE BASE RATE: accuracy 0.893 vs 0.892")
    assert "within the noise" in text and "1000 rows" in text


def test_a_model_with_precision_006_is_no_better_than_the_base_rate():
    y, scores, labels = predictions(flagged=100, caught=6)
    values = metrics.evaluate(y, scores, labels)
    assert values["precision"] == pytest.approx(0.06)
    assert values["accuracy"] < values["base_rate_accuracy"]
    text = metrics.verdict(values)
    assert text.startswith("NO BETTER THAN THE BASE RATE") and "F1 0.058" in text


def test_a_model_that_catches_most_anomalies_beats_the_base_rate():
    y, scores, labels = predictions(flagged=100, caught=95)
    values = metrics.evaluate(y, scores, labels)
    text = metrics.verdict(values)
    assert text.startswith("beats the base rate: accuracy 0.982 vs 0.892 (+0.090)")
    assert "precision 0.950" in text and "recall 0.880" in text


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
    assert text.startswith("NO BETTER THAN CHANCE: AUC-PR")
    good = metrics.verdict(metrics.evaluate(y, y + rng.random(2000) * 0.5))
    assert good.startswith("beats chance: AUC-PR 1.000")


def test_a_ranking_competition_is_judged_on_its_ranking_not_on_a_threshold():
    # a good ranking whose comparator threshold flags nothing: the labels look
    # useless, but an average-precision leaderboard only sees the ranking
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(int)
    values = metrics.evaluate(y, y + rng.random(2000) * 0.5, np.zeros(2000))
    assert metrics.verdict(values, "f1").startswith("NO BETTER THAN THE BASE RATE")
    assert metrics.verdict(values, "average_precision").startswith("beats chance: AUC-PR 1.000")


def test_primary_maps_the_competition_metric_to_its_value():
    y, scores, labels = predictions(flagged=100, caught=95)
    values = metrics.evaluate(y, scores, labels)
    assert metrics.primary("f1", y, scores, labels) == values["f1"]
    assert metrics.primary("average_precision", y, scores) == values["auc_pr"]
    assert metrics.primary("roc_auc", y, scores) == values["auc_roc"]
    assert metrics.primary("mcc", y, scores, labels) == values["mcc"]
    with pytest.raises(ValueError, match="needs 0/1 labels"):
        metrics.primary("f1", y, scores)


def test_a_single_class_gives_nan_ranking_metrics_not_an_exception():
    values = metrics.evaluate(np.zeros(10), np.arange(10.0), np.zeros(10))
    assert np.isnan(values["auc_pr"]) and np.isnan(values["auc_roc"])
    assert values["accuracy"] == 1.0 == values["base_rate_accuracy"]

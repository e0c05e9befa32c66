"""Comparator thresholds: each strategy's meaning, and how a threshold transfers to test rows."""

import numpy as np
import pytest
from sklearn import metrics as sk

from conftest import fast_config
from memdev.config import LABEL_METRICS
from memdev.errors import MemdevError
from memdev.evaluation import threshold
from memdev.evaluation.threshold import Threshold

SCIKIT_LEARN = {"f1": sk.f1_score, "accuracy": sk.accuracy_score, "mcc": sk.matthews_corrcoef,
                "balanced_accuracy": sk.balanced_accuracy_score}


def config(strategy="", labeled=True, **threshold_fields):
    cfg = fast_config() if labeled else fast_config(regime="novelty", target_column=None)
    cfg.threshold.strategy = strategy
    for key, value in threshold_fields.items():
        setattr(cfg.threshold, key, value)
    return cfg


@pytest.fixture
def separable():
    """90 normal rows scored in [0, 0.4], 10 anomalies in [0.6, 1], shuffled."""
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(90), np.ones(10)].astype(int)
    scores = np.where(y == 1, rng.uniform(0.6, 1.0, 100), rng.uniform(0.0, 0.4, 100))
    order = rng.permutation(100)
    return scores[order], y[order]


def test_f1_on_separable_scores_finds_the_gap_and_labels_every_row_right(separable):
    scores, y = separable
    cut = threshold.choose(config("f1"), scores, y)
    assert cut.strategy == "f1" and cut.by == "rate"
    assert scores[y == 0].max() < cut.value <= scores[y == 1].min()
    assert cut.rate == pytest.approx(0.10)
    np.testing.assert_array_equal(cut.apply(scores), y)


@pytest.mark.parametrize("metric", LABEL_METRICS)
def test_metric_cuts_score_every_distinct_score_as_a_cut_as_scikit_learn_would(metric):
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 12, 200).astype(float)  # many ties
    y = (rng.random(200) < 0.2).astype(int)
    cuts, values, called = threshold.metric_cuts(scores, y, metric)
    np.testing.assert_array_equal(cuts, np.unique(scores)[::-1])
    for cut, value, count in zip(cuts, values, called):
        assert count == (scores >= cut).sum()
        assert value == pytest.approx(SCIKIT_LEARN[metric](y, (scores >= cut).astype(int)), abs=1e-12)
    chosen = threshold.choose(config(metric), scores, y)
    assert SCIKIT_LEARN[metric](y, chosen.apply(scores)) == pytest.approx(values.max(), abs=1e-12)


def test_each_metric_of_labels_gets_its_own_cut_where_the_classes_overlap():
    """Balanced accuracy weighs a missed anomaly as much as all the normal rows wrongly called together, so its
    cut calls far more rows than F1's; accuracy's calls fewer (only rows more likely anomalous than not)."""
    rng = np.random.default_rng(2)
    y = (rng.random(20_000) < 0.1).astype(int)
    scores = rng.normal(size=20_000) + 1.5 * y
    cuts = {metric: threshold.choose(config(metric), scores, y) for metric in LABEL_METRICS}
    assert cuts["accuracy"].rate < cuts["f1"].rate < cuts["balanced_accuracy"].rate
    for metric, cut in cuts.items():
        best = SCIKIT_LEARN[metric](y, cut.apply(scores))
        assert all(best >= SCIKIT_LEARN[metric](y, other.apply(scores)) for other in cuts.values()), metric
    assert SCIKIT_LEARN["balanced_accuracy"](y, cuts["f1"].apply(scores)) < \
        SCIKIT_LEARN["balanced_accuracy"](y, cuts["balanced_accuracy"].apply(scores)) - 0.03


def test_f1_is_the_default_with_labels_and_needs_a_labeled_anomaly():
    assert threshold.choose(config(), np.r_[0.1, 0.9], np.r_[0, 1]).strategy == "f1"
    with pytest.raises(MemdevError, match="needs labeled anomalies"):
        threshold.choose(config("f1"), np.r_[0.1, 0.9], np.r_[0, 0])


def weak_labels(rows=5_000, rate=0.1, labels=30, seed=0):
    """Anomalies at ``rate`` scored above every normal row but for a tenth of them, only ``labels`` labeled."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(rows) < rate).astype(int)
    scores = rng.normal(0, 1, rows) + 4 * truth * (rng.random(rows) > 0.1)
    y = np.zeros(rows, int)
    y[rng.choice(np.flatnonzero(truth), labels, replace=False)] = 1
    return scores, y, truth


def test_with_a_few_labels_pu_calls_about_as_many_rows_as_hold_anomalies_where_f1_calls_the_labeled_few():
    shares, gains = [], []
    for seed in range(5):
        scores, y, truth = weak_labels(seed=seed)
        pu, f1 = (threshold.choose(config(strategy), scores, y) for strategy in ("pu", "f1"))
        shares.append([pu.rate / truth.mean(), f1.rate / truth.mean()])
        gains.append(sk.f1_score(truth, pu.apply(scores)) - sk.f1_score(truth, f1.apply(scores)))
    (pu_share, f1_share), gains = np.mean(shares, axis=0), np.array(gains)
    assert 0.8 < pu_share < 1.1 and f1_share < 0.5
    assert gains.min() > 0 and gains.mean() > 0.2


def test_pu_is_the_weak_regimes_default_and_one_labeled_anomaly_on_top_does_not_make_it_call_one_row():
    scores, y, truth = weak_labels(rows=50_000, rate=0.05)
    y[np.argmax(scores)] = 1  # a labeled anomaly first of all: recall² / share called is huge at that one row
    weak = config()
    weak.regime = "weak"
    cut = threshold.choose(weak, scores, y)
    assert cut.strategy == "pu" and cut.by == "rate" and cut.rate > 0.5 * truth.mean()
    assert config().threshold_strategy == "f1" and config(labeled=False).threshold_strategy == "quantile"


def test_quantile_is_the_given_quantile_of_normal_scores_and_transfers_by_value():
    scores = np.arange(101, dtype=float)  # 0..100
    y = np.zeros(101, dtype=int)
    cut = threshold.choose(config(labeled=False), scores, y)  # default without labels: quantile 0.95
    assert (cut.strategy, cut.by, cut.value) == ("quantile", "value", 95.0)
    assert cut.rate == pytest.approx(6 / 101)
    new = np.array([94.9, 95.0, 500.0, -3.0])
    assert cut.apply(new).tolist() == [0, 1, 1, 0]


def test_quantile_uses_only_the_normal_rows():
    scores = np.r_[np.arange(100.0), [1000.0] * 50]
    y = np.r_[np.zeros(100), np.ones(50)].astype(int)
    cut = threshold.choose(config("quantile", quantile=0.5), scores, y)
    assert cut.value == pytest.approx(49.5)


def test_max_normal_sits_a_relative_margin_above_the_largest_normal_score():
    scores = np.array([1.0, 2.0, 4.0, 10.0])
    y = np.array([0, 0, 0, 1])
    cut = threshold.choose(config("max_normal", margin=0.25), scores, y)
    assert (cut.strategy, cut.by, cut.value) == ("max_normal", "value", 5.0)
    assert cut.apply(scores).tolist() == [0, 0, 0, 1]  # no normal training row is called anomalous
    assert cut.rate == pytest.approx(0.25)


def test_contamination_calls_that_share_of_any_set_anomalous():
    scores = np.linspace(0, 1, 200)
    cut = threshold.choose(config("contamination", contamination=0.05, labeled=False), scores, np.zeros(200))
    assert (cut.strategy, cut.by, cut.rate) == ("contamination", "rate", 0.05)
    assert cut.value == pytest.approx(np.quantile(scores, 0.95))
    test = np.random.default_rng(1).normal(100, 5, 60)  # another scale entirely
    labels = cut.apply(test)
    assert labels.sum() == 3
    assert set(np.flatnonzero(labels)) == set(np.argsort(-test)[:3])


def test_a_threshold_roundtrips_through_its_dict():
    cut = Threshold("quantile", value=1.5, rate=0.1, by="value")
    assert Threshold(**cut.to_dict()) == cut


def test_apply_by_rate_flags_the_top_share_and_breaks_ties_by_position():
    cut = Threshold("f1", value=0.5, rate=0.25, by="rate")
    assert cut.apply([0.2, 0.9, 0.1, 0.3, 0.8, 0.0, 0.4, 0.7]).tolist() == [0, 1, 0, 0, 1, 0, 0, 0]
    assert cut.apply([1.0, 1.0, 1.0, 1.0]).tolist() == [1, 0, 0, 0]
    assert cut.apply(np.zeros(100)).sum() == 25
    assert cut.apply(np.array([])).tolist() == []


def test_the_f1_cut_carries_its_share_over_where_the_test_rows_hold_about_that_share():
    rng = np.random.default_rng(0)
    cut = Threshold("f1", value=0.5, rate=0.1, by="rate")
    per_fold = (np.arange(1000) < 95) + rng.normal(0, 0.2, (5, 1000))  # 9.5%: within the share's spread
    mean = per_fold.mean(axis=0)
    np.testing.assert_array_equal(cut.apply_folds(mean, per_fold), cut.apply(mean))
    assert cut.apply_folds(mean, per_fold).sum() == 100


def test_the_f1_cut_calls_the_fold_models_share_where_the_test_rows_clearly_hold_another():
    rng = np.random.default_rng(0)
    y = (np.arange(1000) < 100).astype(int)  # 10% anomalies out of fold
    cut = threshold.choose(config("f1"), y * 2 + rng.normal(0, 0.3, 1000), y)
    truth = (np.arange(2000) < 40).astype(int)  # 2% in the test rows
    per_fold = truth * 2 + rng.normal(0, 0.3, (5, 2000))
    assert abs(cut.apply_folds(per_fold.mean(axis=0), per_fold).mean() - 0.02) < 0.005
    assert cut.apply(per_fold.mean(axis=0)).mean() == pytest.approx(cut.rate, abs=0.001)  # the share carried over
    # the calls are the highest test scores: the models' ranking, the models' share
    labels = cut.apply_folds(per_fold.mean(axis=0), per_fold)
    assert set(np.flatnonzero(labels)) == set(np.argsort(-per_fold.mean(axis=0))[:labels.sum()])


def test_a_cut_by_value_calls_the_share_of_test_rows_each_fold_model_reaches_not_the_fewer_their_mean_reaches():
    rng = np.random.default_rng(0)
    cut = Threshold("quantile", value=1.645, rate=0.05, by="value")  # the 95th percentile of N(0, 1) out of fold
    per_fold = rng.normal(size=(5, 4000))  # five models, each scoring fresh rows as it scored its held-out ones
    mean = per_fold.mean(axis=0)  # spread 1/sqrt(5): hardly any row reaches the value
    assert cut.apply(mean).mean() < 0.005
    labels = cut.apply_folds(mean, per_fold)
    assert labels.sum() == round(np.mean(per_fold >= 1.645) * 4000) and abs(labels.mean() - 0.05) < 0.005
    assert set(np.flatnonzero(labels)) == set(np.argsort(-mean)[:labels.sum()])  # the highest mean scores


def test_contamination_cuts_the_test_scores_alone():
    cut = Threshold("contamination", value=0.5, rate=0.5, by="rate")
    assert cut.apply_folds(np.array([0.6, 0.2]), np.array([[0.1, 0.1], [0.1, 0.1]])).tolist() == [1, 0]

"""What a run submits: the candidate with the best CV, measured by nested CV beside the optimistic figure,
and a CV table that says why where a rule, not the CV, chose."""

import numpy as np

from conftest import fast_config
from memdev.training import decision
from memdev.training import folds as folds_io


def test_select_picks_the_candidate_with_the_best_cv_metric():
    rng = np.random.default_rng(0)
    y = (np.arange(200) % 10 == 0).astype(int)
    oof = {"memae": rng.random(200), "devnet": y + rng.random(200) * 0.5, "stack": y * 0.3 + rng.random(200)}
    chosen, values = decision.select(fast_config(stacking="auto"), y, oof)
    assert chosen == "devnet" and values["devnet"] == 1.0 and set(values) == set(oof)
    assert decision.select(fast_config(stacking="on"), y, oof)[0] == "stack"
    assert decision.select(fast_config(regime="novelty", target_column=None), y, oof) == ("iforest", {})


def summarised(config, y, oof):
    return decision.summarise(config, y, folds_io.assign(y, config), oof)[0]


def test_the_reported_cv_is_the_nested_one_with_the_optimistic_one_beside_it():
    rng = np.random.default_rng(1)
    y = (np.arange(500) % 10 == 0).astype(int)
    oof = {"gbm": y + rng.normal(0, 0.7, 500), "memae": rng.random(500), "devnet": y * 0.5 + rng.random(500)}
    summary = summarised(fast_config(folds=5, stacking="auto"), y, oof)
    assert summary.value <= summary.optimistic and len(summary.per_fold) == len(summary.chosen_per_fold) == 5
    assert summary.metrics["f1"] == summary.value  # the table and the verdict are the nested predictions'
    text = decision.describe(fast_config(folds=5), summary)
    assert f"nested CV f1 = {summary.value:.4f}" in text and f"optimistic CV f1 = {summary.optimistic:.4f}" in text
    assert "verdict (nested CV): " in text and "WARNING" not in text and "weak regime" not in text
    clash = decision.describe(fast_config(folds=5, metric="roc_auc"), summary).splitlines()
    assert clash[1].startswith("  WARNING: submission is label but metric roc_auc ranks scores")


def test_the_optimistic_cv_of_a_ranking_metric_is_not_below_the_nested_one_where_fold_models_score_on_other_scales():
    rng = np.random.default_rng(2)
    y = (np.arange(500) % 10 == 0).astype(int)
    config = fast_config(folds=5, stacking="on", metric="average_precision", submission="score")
    folds = folds_io.assign(y, config)
    # each fold model's scores on a scale of its own: pooled as they are, they would mix five scales
    oof = {name: y + rng.normal(0, noise, 500) * (1 + folds) + 3 * folds
           for name, noise in (("stack", 0.7), ("devnet", 1.0))}
    summary = decision.summarise(config, y, folds, oof)[0]
    assert summary.model == "stack" and summary.value <= summary.optimistic


def test_the_cv_table_says_why_a_weak_competition_submits_a_detector_that_needs_no_labels():
    rng = np.random.default_rng(3)
    y = (np.arange(500) % 10 == 0).astype(int)
    oof = {"blend": y + rng.normal(0, 1, 500), "gbm": y + rng.normal(0, 1, 500), "lof": 3 * y + rng.normal(0, 1, 500)}
    weak = fast_config(folds=5, stacking="auto", regime="weak", metric="average_precision", submission="score")
    summary = summarised(weak, y, oof)
    assert summary.model == "lof" and "replaces the blend" in decision.describe(weak, summary)
    del oof["blend"]  # stacking off: no blend to replace, the best CV wins as in the full regime
    assert summarised(weak, y, oof).model == "lof" and summarised(weak, y, oof).reason == ""
    oof["blend"], oof["lof"] = y + rng.normal(0, 1, 500), rng.random(500)
    assert summarised(weak, y, oof).reason == ""


def test_the_cv_table_says_which_part_the_weak_regimes_blend_left_out():
    rng = np.random.default_rng(4)
    y = (np.arange(500) % 10 == 0).astype(int)
    oof = {name: 2 * y + rng.normal(0, 1, 500) for name in ("stack", "gbm", "catboost")}
    oof["devnet"] = rng.normal(0, 1, 500)
    oof["blend"] = oof["stack"]  # never chosen here: only its presence matters
    weak = fast_config(folds=5, stacking="auto", regime="weak", metric="average_precision", submission="score")
    summary = summarised(weak, y, oof)
    assert summary.model == "ensemble" and set(summary.weights) == {"stack", "gbm", "catboost"}
    text = decision.describe(weak, summary)
    assert "the blend without devnet, behind the best part on ROC-AUC" in text
    assert "weak regime: this CV counts the labeled anomalies only" in text


def test_one_labeled_anomaly_submits_the_label_free_choice_with_a_threshold_that_needs_no_labels():
    rng = np.random.default_rng(2)
    y = np.r_[1, np.zeros(99)].astype(int)
    oof = {name: rng.random(100) for name in ("memae", "iforest", "lof")}
    summary = summarised(fast_config(), y, oof)
    assert (summary.model, summary.value, summary.threshold.strategy) == ("iforest", None, "quantile")
    assert "IsolationForest" in decision.describe(fast_config(), summary)

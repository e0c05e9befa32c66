"""Fine-tuning: which candidates compete in each regime, and how the winner is chosen."""

import numpy as np

from conftest import fast_config
from memdev.training import finetune
from memdev.training import folds as folds_io


def test_candidates_depend_on_the_labels_and_the_stacking_switch():
    y = np.r_[0, 0, 1, 1]
    assert finetune.candidates(fast_config(stacking="auto"), y) == [
        "memae", "devnet", "gbm", "stack", "blend", "iforest", "lof"]
    assert finetune.candidates(fast_config(stacking="off"), y) == ["memae", "devnet", "iforest", "lof"]
    label_free = ["memae", "iforest", "lof"]
    assert finetune.candidates(fast_config(regime="novelty", target_column=None), np.zeros(3)) == label_free
    assert finetune.candidates(fast_config(), np.r_[0, 0, 1]) == label_free  # labeled, but one anomaly


def test_select_picks_the_candidate_with_the_best_cv_metric():
    rng = np.random.default_rng(0)
    y = (np.arange(200) % 10 == 0).astype(int)
    oof = {"memae": rng.random(200), "devnet": y + rng.random(200) * 0.5, "stack": y * 0.3 + rng.random(200)}
    chosen, values = finetune.select(fast_config(stacking="auto"), y, oof)
    assert chosen == "devnet" and values["devnet"] == 1.0 and set(values) == set(oof)
    assert finetune.select(fast_config(stacking="on"), y, oof)[0] == "stack"
    assert finetune.select(fast_config(regime="novelty", target_column=None), y, oof) == ("iforest", {})


def summarised(config, y, oof):
    return finetune.summarise(config, y, folds_io.assign(y, config), oof)[0]


def test_the_reported_cv_is_the_nested_one_with_the_optimistic_one_beside_it():
    rng = np.random.default_rng(1)
    y = (np.arange(500) % 10 == 0).astype(int)
    oof = {"gbm": y + rng.normal(0, 0.7, 500), "memae": rng.random(500), "devnet": y * 0.5 + rng.random(500)}
    summary = summarised(fast_config(folds=5, stacking="auto"), y, oof)
    assert summary.value <= summary.optimistic and len(summary.per_fold) == len(summary.chosen_per_fold) == 5
    assert summary.metrics["f1"] == summary.value  # the table and the verdict are the nested predictions'
    text = finetune.describe(fast_config(folds=5), summary)
    assert f"nested CV f1 = {summary.value:.4f}" in text and f"optimistic CV f1 = {summary.optimistic:.4f}" in text
    assert "verdict (nested CV): " in text


def test_one_labeled_anomaly_submits_the_label_free_choice_with_a_threshold_that_needs_no_labels():
    rng = np.random.default_rng(2)
    y = np.r_[1, np.zeros(99)].astype(int)
    oof = {name: rng.random(100) for name in ("memae", "iforest", "lof")}
    summary = summarised(fast_config(), y, oof)
    assert (summary.model, summary.value, summary.threshold.strategy) == ("iforest", None, "quantile")
    assert "IsolationForest" in finetune.describe(fast_config(), summary)

"""Selection: the candidate, the ensemble and the cut are chosen out of sample, and the reported CV is nested."""

import numpy as np

from conftest import fast_config
from memdev.models.ranks import BLEND_PARTS, blend
from memdev.training import selection

AP = fast_config(metric="average_precision", submission="score", stacking="auto", folds=5)
F1 = fast_config(metric="f1", stacking="auto", folds=5)


def data(n=1000, rate=0.1, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    folds = np.zeros(n, dtype=np.int8)
    for label in (0, 1):
        rows = np.flatnonzero(y == label)
        folds[rng.permutation(rows)] = np.arange(len(rows)) % 5
    return rng, y, folds


def test_fold_ranks_rank_each_fold_on_its_own():
    folds = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(selection.fold_ranks(np.array([5.0, 1.0, 100.0, 200.0]), folds), [1.0, 0.5, 0.5, 1.0])


def test_nested_cv_does_not_reward_the_luckiest_of_many_noise_candidates():
    rng, y, folds = data()
    oof = {f"noise{i}": rng.random(len(y)) for i in range(30)}
    config = fast_config(metric="roc_auc", submission="score", stacking="off", folds=5)
    optimistic = max(selection.value(config, y, s) for s in oof.values())
    nested = selection.nested(config, y, folds, oof)
    assert optimistic > 0.53  # the best of 30 coins looks like a model ...
    assert abs(nested.value - 0.5) < optimistic - 0.5  # ... and the nested CV sees through it
    assert len(nested.chosen) == 5 and len(nested.per_fold) == 5


def test_the_ensemble_is_chosen_where_it_beats_the_best_single_candidate_out_of_sample():
    rng, y, folds = data()
    # two candidates of equal skill whose errors are independent: their mean ranks better than either
    oof = {"devnet": y + rng.normal(0, 1, len(y)), "gbm": y + rng.normal(0, 1, len(y)), "memae": rng.random(len(y))}
    choice, values, scores = selection.select(AP, y, folds, oof)
    assert choice.model == "ensemble" and values["ensemble"] > max(values[n] for n in oof)
    assert set(choice.weights) == {"devnet", "gbm"} and abs(sum(choice.weights.values()) - 1) < 1e-9
    assert scores.shape == y.shape


def test_a_single_candidate_that_is_best_on_its_own_is_not_replaced_by_an_ensemble():
    rng, y, folds = data()
    oof = {"gbm": y * 3 + rng.random(len(y)), "memae": rng.random(len(y)), "devnet": y * 0.5 + rng.random(len(y))}
    choice, values, _ = selection.select(AP, y, folds, oof)
    assert choice.model == "gbm" and values["gbm"] >= values["ensemble"]
    assert selection.nested(AP, y, folds, oof).chosen == ["gbm"] * 5


def test_with_labels_every_fold_is_labeled_by_a_cut_chosen_on_the_other_folds():
    rng, y, folds = data()
    oof = {"gbm": y + rng.normal(0, 0.6, len(y)), "memae": rng.random(len(y))}
    nested = selection.nested(F1, y, folds, oof)
    assert all(0.2 < v < 0.8 for v in nested.per_fold) and 0.3 < nested.value < 0.7
    assert {"precision", "recall", "f1", "base_rate_accuracy"} <= set(nested.metrics)
    assert abs(nested.metrics["predicted_rate"] - y.mean()) < 0.05  # the best-F1 share of rows, carried over


def test_stacking_on_always_submits_the_stack():
    rng, y, folds = data()
    oof = {"gbm": y + rng.random(len(y)), "stack": rng.random(len(y))}
    assert selection.select(fast_config(metric="average_precision", stacking="on"), y, folds, oof)[0].model == "stack"


def test_the_blend_stays_unless_another_candidate_beats_it_clearly_fold_by_fold():
    rng, y, folds = data()
    oof = {name: y + rng.normal(0, 1, len(y)) for name in ("blend", "gbm")}  # equal skill
    choice, values, _ = selection.select(AP, y, folds, oof)
    assert values["gbm"] > values["blend"] and choice.model == "blend"  # ahead by luck, not by evidence
    oof["gbm"] = 3 * y + rng.normal(0, 1, len(y))  # better on every fold
    assert selection.select(AP, y, folds, oof)[0].model == "gbm"
    assert selection.nested(AP, y, folds, oof).chosen == ["gbm"] * 5


WEAK = AP.with_params({"regime": "weak"})


def test_with_a_few_labels_the_blend_is_submitted_however_clearly_a_supervised_candidate_leads_on_cv():
    rng, y, folds = data()
    oof = {"blend": y + rng.normal(0, 1, len(y)), "gbm": 3 * y + rng.normal(0, 1, len(y))}  # gbm better on every fold
    choice, values, _ = selection.select(WEAK, y, folds, oof)
    assert values["gbm"] > values["blend"] and choice.model == "blend"
    assert selection.nested(WEAK, y, folds, oof).chosen == ["blend"] * 5


def test_with_a_few_labels_a_detector_that_needs_none_replaces_the_blend_only_where_clearly_better():
    rng, y, folds = data()
    oof = {"blend": y + rng.normal(0, 1, len(y)), "gbm": y + rng.normal(0, 1, len(y)),
           "lof": 3 * y + rng.normal(0, 1, len(y))}  # LOF better on every fold
    assert selection.select(WEAK, y, folds, oof)[0].model == "lof"
    assert selection.nested(WEAK, y, folds, oof).chosen == ["lof"] * 5
    kept = 0
    for _ in range(20):  # LOF as good as the blend: ahead now and then, by luck
        oof = {name: y + rng.normal(0, 1, len(y)) for name in ("blend", "gbm", "lof")}
        kept += selection.select(WEAK, y, folds, oof)[0].model == "blend"
    assert kept >= 17


def test_with_a_few_labels_the_blend_leaves_out_a_part_far_behind_the_others_on_roc_auc_fold_by_fold():
    rng, y, folds = data()

    def signal(strength):
        return strength * y + rng.normal(0, 1, len(y))

    oof = {"devnet": signal(0), "stack": signal(2), "gbm": signal(2), "catboost": signal(2)}
    oof["blend"] = blend(*(oof[name] for name in BLEND_PARTS))
    choice = selection.select(WEAK, y, folds, oof)[0]
    assert choice.model == "ensemble" and choice.weights == dict.fromkeys(["stack", "gbm", "catboost"], 1 / 3)
    assert selection.nested(WEAK, y, folds, oof).chosen == ["ensemble"] * 5
    oof["devnet"] = signal(1.8)  # ROC-AUC about 0.02 behind: within the floor, so the blend stays whole
    oof["blend"] = blend(*(oof[name] for name in BLEND_PARTS))
    assert selection.select(WEAK, y, folds, oof)[0].model == "blend"
    oof = {"devnet": signal(0), "stack": signal(2), "gbm": signal(0), "catboost": signal(0)}
    oof["blend"] = blend(*(oof[name] for name in BLEND_PARTS))
    weights = selection.select(WEAK, y, folds, oof)[0].weights  # never fewer than two parts
    assert len(weights) == 2 and "stack" in weights
    del oof["gbm"], oof["catboost"]
    assert selection.select(WEAK, y, folds, oof)[0].model == "blend"  # two parts: both stay
    assert selection.select(WEAK, y, folds, {"blend": oof["blend"]})[0].model == "blend"


def test_a_contamination_threshold_caps_the_nested_cv_at_what_a_perfect_ranking_gets():
    rng, y, folds = data()
    for metric in ("f1", "mcc", "accuracy", "balanced_accuracy"):
        for rate in (0.05, 0.1, 0.2):  # prevalence about 0.1
            config = F1.with_params({"metric": metric, "threshold.strategy": "contamination",
                                     "threshold.contamination": rate})
            top = selection.ceiling(config, y, folds)
            assert top == selection.nested(config, y, folds, {"gbm": y + 0.1 * rng.random(len(y))}).value
            for _ in range(5):  # noisier rankings, each scored as the tuning objective scores a trial
                noisy = {"gbm": y + rng.random(len(y)), "devnet": rng.random(len(y))}
                assert selection.nested(config, y, folds, noisy).value <= top
    half = F1.with_params({"threshold.strategy": "contamination", "threshold.contamination": y.mean() / 2})
    assert abs(selection.ceiling(half, y, folds) - 2 / 3) < 0.01  # half the anomalies called at most
    assert selection.ceiling(F1, y, folds) is None  # the F1 cut follows the scores
    assert selection.ceiling(AP, y, folds) is None

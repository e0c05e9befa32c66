"""Fine-tuning: which candidates compete in each regime, and how the winner is chosen."""

import numpy as np

from conftest import fast_config
from memdev.training import finetune


def test_candidates_depend_on_the_labels_and_the_stacking_switch():
    y = np.r_[0, 0, 1]
    assert finetune.candidates(fast_config(stacking="auto"), y) == ["memae", "devnet", "gbm", "stack", "blend"]
    assert finetune.candidates(fast_config(stacking="off"), y) == ["memae", "devnet"]
    assert finetune.candidates(fast_config(regime="novelty", target_column=None), np.zeros(3)) == ["memae"]
    assert finetune.candidates(fast_config(), np.zeros(3)) == ["memae"]  # labeled regime, but no 1 in these rows


def test_select_picks_the_candidate_with_the_best_cv_metric():
    rng = np.random.default_rng(0)
    y = (np.arange(200) % 10 == 0).astype(int)
    oof = {"memae": rng.random(200), "devnet": y + rng.random(200) * 0.5, "stack": y * 0.3 + rng.random(200)}
    chosen, values = finetune.select(fast_config(stacking="auto"), y, oof)
    assert chosen == "devnet" and values["devnet"] == 1.0 and set(values) == set(oof)
    assert finetune.select(fast_config(stacking="on"), y, oof)[0] == "stack"
    assert finetune.select(fast_config(regime="novelty", target_column=None), y, oof) == ("memae", {})


def test_cross_validation_fits_gbm_once_per_fold_across_calls_sharing_a_cache(monkeypatch):
    from conftest import gaussian_rows
    from memdev.training import folds as folds_io
    from memdev.training import pretrain

    X = gaussian_rows(120, features=4)
    y = (np.arange(120) % 8 == 0).astype(int)
    X[y == 1] += 2.0
    config = fast_config(stacking="auto", folds=2)
    folds = folds_io.assign(y, config)
    memaes, stacked = pretrain.fit_memaes(config, X, y, folds)
    fitted = []
    real = finetune.boosted
    monkeypatch.setattr(finetune, "boosted", lambda seed: fitted.append(seed) or real(seed))
    cache, reported = {}, []
    first = finetune.cross_validate(config, X, y, folds, memaes, lambda *args: reported.append(args[0]), stacked, cache)
    assert len(fitted) == 4 and reported == [0, 1]  # gbm and stack per fold; on_fold after each fold
    again = finetune.cross_validate(config.with_params({"head.units": 4}), X, y, folds, memaes, cache=cache)
    assert len(fitted) == 6  # only the stack again: gbm came from the cache
    np.testing.assert_array_equal(first.oof["gbm"], again.oof["gbm"])
    assert set(first.oof) == {"memae", "devnet", "gbm", "stack", "blend"}
    assert all(models.gbm is not None and models.stack is not None for models in again.folds)

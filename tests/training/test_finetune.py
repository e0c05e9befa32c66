"""Fine-tuning: which candidates compete in each regime, how the winner is chosen, and that no fold's models
see the rows it holds out."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from conftest import fast_config, gaussian_rows
from memdev.training import finetune, pretrain
from memdev.training import folds as folds_io


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


class Memoriser(ClassifierMixin, BaseEstimator):
    """Recalls the label of every row it was trained on, and says 0.5 for a row it never saw."""

    def fit(self, X, y):
        self.seen_ = {row.tobytes(): float(label) for row, label in zip(np.asarray(X, np.float32), y)}
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        recalled = np.array([self.seen_.get(row.tobytes(), 0.5) for row in np.asarray(X, np.float32)])
        return np.c_[1 - recalled, recalled]


def test_cross_validate_never_shows_a_fold_its_held_out_rows(monkeypatch):
    """Every fold's candidates are fitted on the other folds' rows only: a memorising model scores every
    held-out row as unseen, and the DevNet heads are given exactly their folds' training rows."""
    X = gaussian_rows(90, features=4)
    y = (np.arange(90) % 6 == 0).astype(int)
    config = fast_config(folds=3, stacking="auto")
    config.memae.epochs = 1
    folds = folds_io.assign(y, config)
    heads = {}
    real_heads = finetune.fit_heads

    def recording_heads(memaes, X, rows, labels, *args):
        heads["rows"] = rows
        return real_heads(memaes, X, rows, labels, *args)

    monkeypatch.setattr(finetune, "boosted", lambda seed: Memoriser())
    monkeypatch.setattr(finetune, "fit_heads", recording_heads)
    memaes, stacked = pretrain.fit_memaes(config, X, y, folds)
    seen = []
    result = finetune.cross_validate(config, X, y, folds, memaes, lambda fold, held, oof: seen.append((fold, held)),
                                     stacked)
    assert [fold for fold, _ in seen] == [0, 1, 2]
    for (fold, held), models, rows in zip(seen, result.folds, heads["rows"]):
        np.testing.assert_array_equal(held, np.flatnonzero(folds == fold))
        np.testing.assert_array_equal(rows, np.flatnonzero(folds != fold))  # the head's training rows
        assert (models.gbm.predict_proba(X[held])[:, 1] == 0.5).all()  # never seen
        train = np.flatnonzero(folds != fold)
        np.testing.assert_array_equal(models.gbm.predict_proba(X[train])[:, 1], y[train])  # it does memorise
    assert (result.oof["gbm"] == 0.5).all() and set(result.oof) == {"memae", "devnet", "gbm", "stack", "blend"}


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

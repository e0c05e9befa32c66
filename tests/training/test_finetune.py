"""Fine-tuning: which candidates compete in each regime, and that no fold's models see the rows it holds out."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from conftest import fast_config, gaussian_rows
from memdev.models import candidates
from memdev.training import finetune, pretrain
from memdev.training import folds as folds_io


def test_candidates_depend_on_the_labels_and_the_stacking_switch():
    y = np.r_[0, 0, 1, 1]
    for regime in ("full", "weak"):
        assert finetune.candidates(fast_config(stacking="auto", regime=regime), y) == [
            "memae", "devnet", "gbm", "catboost", "stack", "blend", "iforest", "lof"]
    assert finetune.candidates(fast_config(stacking="off"), y) == ["memae", "devnet", "iforest", "lof"]
    label_free = ["memae", "iforest", "lof"]
    assert finetune.candidates(fast_config(regime="novelty", target_column=None), np.zeros(3)) == label_free
    assert finetune.candidates(fast_config(), np.r_[0, 0, 1]) == label_free  # labeled, but one anomaly


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

    monkeypatch.setattr(finetune, "boosted", lambda seed, columns: Memoriser())  # the stack
    monkeypatch.setattr(candidates, "boosted", lambda seed, columns: Memoriser())  # gbm
    monkeypatch.setattr(candidates, "symmetric", lambda *size: Memoriser())  # catboost
    monkeypatch.setattr(finetune, "fit_heads", recording_heads)
    memaes, stacked = pretrain.fit_memaes(config, X, y, folds)
    seen = []
    result = finetune.cross_validate(config, X, y, folds, memaes, lambda fold, held, oof: seen.append((fold, held)),
                                     stacked)
    assert [fold for fold, _ in seen] == [0, 1, 2]
    for (fold, held), models, rows in zip(seen, result.folds, heads["rows"]):
        np.testing.assert_array_equal(held, np.flatnonzero(folds == fold))
        np.testing.assert_array_equal(rows, np.flatnonzero(folds != fold))  # the head's training rows
        train = np.flatnonzero(folds != fold)
        for model in (models.gbm, models.catboost):
            assert (model.predict_proba(X[held])[:, 1] == 0.5).all()  # never seen
            np.testing.assert_array_equal(model.predict_proba(X[train])[:, 1], y[train])  # it does memorise
    assert (result.oof["gbm"] == 0.5).all() and (result.oof["catboost"] == 0.5).all()
    assert (result.oof["stack"] == 0.5).all()
    assert set(result.oof) == {"memae", "devnet", "gbm", "catboost", "stack", "blend", "iforest", "lof"}


def test_with_a_few_labels_the_supervised_candidates_never_see_the_unlabeled_rows_they_doubt(monkeypatch):
    """Weak regime: the DevNet heads, both boosters and the stack fit every training row but those
    :func:`candidates.trusted` leaves out."""
    X = gaussian_rows(90, features=4)
    y = (np.arange(90) % 6 == 0).astype(int)
    X[:8] += 6.0  # far out, and only rows 0 and 6 labeled: the other six are doubted (7 of the 75 unlabeled are)
    config = fast_config(folds=3, stacking="auto", regime="weak")
    config.memae.epochs = 1
    folds = folds_io.assign(y, config)
    heads, real_heads = {}, finetune.fit_heads

    def recording_heads(memaes, X, rows, *args):
        heads["rows"] = rows
        return real_heads(memaes, X, rows, *args)

    monkeypatch.setattr(finetune, "fit_heads", recording_heads)
    monkeypatch.setattr(finetune, "boosted", lambda seed, columns: Memoriser())
    monkeypatch.setattr(candidates, "boosted", lambda seed, columns: Memoriser())
    monkeypatch.setattr(candidates, "symmetric", lambda *size: Memoriser())
    memaes, stacked = pretrain.fit_memaes(config, X, y, folds)
    result = finetune.cross_validate(config, X, y, folds, memaes, stacked=stacked)
    kept = candidates.trusted(config, X, y)
    assert not kept[[1, 2, 3, 4, 5, 7]].any() and kept[[0, 6]].all()
    for fold, models in enumerate(result.folds):
        train = np.flatnonzero(folds != fold)
        np.testing.assert_array_equal(heads["rows"][fold], train[kept[train]])
        expected = {row.tobytes() for row in X[train[kept[train]]].astype(np.float32)}
        for model in (models.gbm, models.catboost, models.stack):  # the stack's first columns are the features
            assert {key[:16] for key in model.seen_} == expected


def shifted_anomalies_with_fold_memaes(folds: int):
    """120 rows, every 8th an anomaly shifted by 2, a stacking config with ``folds`` folds, and its fold MemAEs."""
    X = gaussian_rows(120, features=4)
    y = (np.arange(120) % 8 == 0).astype(int)
    X[y == 1] += 2.0
    config = fast_config(stacking="auto", folds=folds)
    assigned = folds_io.assign(y, config)
    memaes, stacked = pretrain.fit_memaes(config, X, y, assigned)
    return X, y, config, assigned, memaes, stacked


def test_cross_validation_fits_what_no_tuned_parameter_changes_once_per_fold_across_calls_sharing_a_cache(monkeypatch):
    X, y, config, folds, memaes, stacked = shifted_anomalies_with_fold_memaes(folds=2)
    fitted, detectors = [], []
    real, real_detectors = finetune.boosted, candidates.detectors
    monkeypatch.setattr(finetune, "boosted", lambda seed, columns: fitted.append("stack") or real(seed, columns))
    monkeypatch.setattr(candidates, "boosted", lambda seed, columns: fitted.append("gbm") or real(seed, columns))
    real_symmetric = candidates.symmetric
    monkeypatch.setattr(candidates, "symmetric", lambda seed, threads, *size: fitted.append("catboost") or real_symmetric(seed, 1, *size))
    monkeypatch.setattr(candidates, "detectors", lambda seed: detectors.append(seed) or real_detectors(seed))
    drawn, real_draws = [], finetune.member_draws
    monkeypatch.setattr(finetune, "member_draws", lambda *args: drawn.append(1) or real_draws(*args))
    cache, reported = {}, []
    first = finetune.cross_validate(config, X, y, folds, memaes, lambda *args: reported.append(args[0]), stacked, cache)
    assert sorted(fitted) == ["catboost", "catboost", "gbm", "gbm", "stack", "stack"]  # per fold
    assert reported == [0, 1]  # on_fold after each fold
    assert len(detectors) == 4  # iforest and lof per fold
    again = finetune.cross_validate(config.with_params({"head.units": 4}), X, y, folds, memaes, cache=cache)
    assert fitted.count("stack") == 4 and len(detectors) == 4  # the rest: from the cache
    assert fitted.count("gbm") == fitted.count("catboost") == 2
    assert len(drawn) == 1  # the heads' balanced batches too
    for name in ("gbm", "catboost", "iforest", "lof"):
        np.testing.assert_array_equal(first.oof[name], again.oof[name])
    assert set(first.oof) == {"memae", "devnet", "gbm", "catboost", "stack", "blend", "iforest", "lof"}
    assert all(m.gbm is not None and m.stack is not None and m.lof is not None for m in again.folds)


def test_the_blend_is_the_rank_mean_of_its_regimes_parts_out_of_fold_and_on_the_test_rows():
    from memdev.models.ranks import blend

    X, y, config, folds, memaes, stacked = shifted_anomalies_with_fold_memaes(folds=2)
    parts = ["devnet", "stack", "gbm", "catboost"]
    for regime in ("full", "weak"):
        chosen = config.with_params({"regime": regime})
        result = finetune.cross_validate(chosen, X, y, folds, memaes, stacked=stacked)
        np.testing.assert_allclose(result.oof["blend"], blend(*(result.oof[name] for name in parts)))
        test, per_fold = finetune.test_scores(chosen, result.folds, X[:30], finetune.candidates(chosen, y), result.oof)
        np.testing.assert_allclose(test["blend"], blend(*(test[name] for name in parts)))
        np.testing.assert_allclose(per_fold["gbm"].mean(axis=0), test["gbm"], rtol=1e-6)  # each fold model's own
        # a fold model's blend: its parts ranked among their out-of-fold scores, the blend's out-of-fold scale
        shares = [np.searchsorted(np.sort(result.oof[name]), per_fold[name][1], side="right") / len(y) for name in parts]
        np.testing.assert_allclose(per_fold["blend"][1], np.mean(shares, axis=0), rtol=1e-6)


def test_folds_fitted_at_once_give_the_scores_of_folds_fitted_one_at_a_time():
    X, y, config, folds, memaes, stacked = shifted_anomalies_with_fold_memaes(folds=3)
    one = finetune.cross_validate(config.with_params({"threads.folds": 1}), X, y, folds, memaes, stacked=stacked)
    many = finetune.cross_validate(config.with_params({"threads.folds": 3}), X, y, folds, memaes, stacked=stacked)
    assert set(one.oof) == set(many.oof)
    for name in one.oof:
        np.testing.assert_array_equal(one.oof[name], many.oof[name])

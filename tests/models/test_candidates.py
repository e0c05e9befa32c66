"""The candidates a fold fits: which it fits itself, and the label-free detectors."""

import numpy as np

from conftest import fast_config, gaussian_rows
from memdev.models import candidates
from memdev.models.candidates import fitted_by, normal_rows


def test_a_blend_is_fitted_through_the_candidates_it_averages():
    assert fitted_by(["memae", "devnet", "gbm", "stack", "blend"]) == ["memae", "devnet", "gbm", "stack", "catboost"]
    assert fitted_by(["blend"]) == ["devnet", "stack", "gbm", "catboost"]
    assert fitted_by(["gbm"]) == ["gbm"]


def test_catboost_keeps_300_trees_at_0_1_unless_many_rows_hold_many_labeled_anomalies_or_few_are_labeled():
    def size(rows, anomalies=candidates.MANY_ANOMALIES):
        params = candidates.symmetric(0, 1, rows, anomalies, 10).get_params()
        return params["iterations"], params.get("learning_rate")

    assert size(1_000) == size(candidates.SMALL_ROWS) == (300, 0.1)
    assert size(candidates.SMALL_ROWS + 1) == size(300_000) == (1000, None)  # None: CatBoost sets it from the rows
    assert size(600_000) == (500, None) and size(5_000_000) == (300, None)  # trees x rows bounded past 300,000 rows
    assert size(300_000, anomalies=candidates.MANY_ANOMALIES - 1) == (300, 0.1)  # a few labels: no more trees
    assert size(30_000, anomalies=candidates.FEW_ANOMALIES) == (300, 0.03)  # the weak regime's: it fits them less
    assert size(30_000, anomalies=candidates.FEW_ANOMALIES + 1) == (300, 0.1)


def test_past_wide_columns_the_boosters_cut_each_column_into_fewer_bins():
    def bins(columns):
        return (candidates.boosted(0, columns).get_params()["max_bin"],
                candidates.symmetric(0, 1, 1_000, 50, columns).get_params()["border_count"])

    assert bins(10) == bins(candidates.WIDE) == (256, 254)  # the libraries' defaults
    assert bins(candidates.WIDE + 1) == bins(5_000) == (candidates.WIDE_BINS, candidates.WIDE_BINS)


def test_label_free_detectors_learn_the_rows_not_labeled_anomalous_and_lof_holds_at_most_its_cap(monkeypatch):
    from memdev.models import candidates

    normal, odd = gaussian_rows(300, 4), gaussian_rows(30, 4, shift=6.0, seed=1)
    X = np.concatenate([normal, odd])
    y = np.r_[np.zeros(300), np.ones(30)].astype(int)
    monkeypatch.setattr(candidates, "LOF_ROWS", 100)
    models = candidates.FoldModels(memae=None)
    models.fit_detectors(0, X, candidates.normal_rows(y, None, len(X)), ["iforest", "lof"])
    assert models.iforest.n_features_in_ == 4 and models.lof.n_samples_fit_ == 100  # a random 100 of the 300
    monkeypatch.setattr(candidates, "LOF_PAIRS", 50 * len(X))  # as if X had so many rows that 50 held cost as much
    few = candidates.FoldModels(memae=None)
    few.fit_detectors(0, X, candidates.normal_rows(y, None, len(X)), ["lof"])
    assert few.lof.n_samples_fit_ == 50
    fresh = np.concatenate([gaussian_rows(50, 4, seed=2), gaussian_rows(50, 4, shift=6.0, seed=3)])
    for name, model in (("iforest", models.iforest), ("lof", models.lof)):
        scores = -model.score_samples(fresh)  # as FoldModels.score turns them: higher = more anomalous
        assert scores[50:].min() > np.median(scores[:50]), name


def test_normal_rows_are_the_rows_not_labeled_anomalous():
    np.testing.assert_array_equal(normal_rows(np.array([0, 1, 0]), np.array([7, 8, 9]), 10), [7, 9])
    np.testing.assert_array_equal(normal_rows(np.array([1, 0, 0]), None, 3), [1, 2])


def test_with_a_few_labels_the_supervised_candidates_leave_out_the_unlabeled_rows_isolation_forest_ranks_highest():
    from memdev.models import candidates

    # 280 normal rows, 20 unlabeled far-out rows (anomalies nobody labeled), 10 labeled anomalies
    X = np.concatenate([gaussian_rows(280, 4), gaussian_rows(20, 4, shift=8.0, seed=1),
                        gaussian_rows(10, 4, shift=8.0, seed=2)])
    y = np.r_[np.zeros(300), np.ones(10)].astype(int)
    assert candidates.trusted(fast_config(regime="full"), X, y) is None
    kept = candidates.trusted(fast_config(regime="weak"), X, y)
    assert (~kept).sum() == int(candidates.DOUBTED * 300)  # a share of the 300 unlabeled rows
    assert not kept[280:300].any() and kept[300:].all()  # the far-out unlabeled ones; never a labeled anomaly
    first = int(np.flatnonzero(kept)[0])
    np.testing.assert_array_equal(candidates.trusted_rows(np.array([first, 290, 305]), kept), [first, 305])
    np.testing.assert_array_equal(candidates.trusted_rows(np.array([5, 280]), None), [5, 280])

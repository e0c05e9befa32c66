"""The candidates a fold fits: which it fits itself, and the blend made from their scores."""

import numpy as np

from conftest import gaussian_rows
from memdev.models.candidates import blend, fitted_by, normal_rows, rank_mix


def test_blend_is_the_mean_rank_in_zero_one():
    blended = blend(np.array([3.0, 1.0, 2.0]), np.array([30.0, 20.0, 10.0]))
    np.testing.assert_allclose(blended, [1.0, 0.5, 0.5])


def test_a_blend_is_fitted_through_the_candidates_it_averages():
    assert fitted_by(["memae", "devnet", "gbm", "stack", "blend"]) == ["memae", "devnet", "gbm", "stack"]
    assert fitted_by(["blend"]) == ["devnet", "stack"]
    assert fitted_by(["gbm"]) == ["gbm"]



def test_label_free_detectors_learn_the_rows_not_labeled_anomalous_and_lof_holds_at_most_its_cap(monkeypatch):
    from memdev.models import candidates

    normal, odd = gaussian_rows(300, 4), gaussian_rows(30, 4, shift=6.0, seed=1)
    X = np.concatenate([normal, odd])
    y = np.r_[np.zeros(300), np.ones(30)].astype(int)
    monkeypatch.setattr(candidates, "LOF_ROWS", 100)
    models = candidates.FoldModels(memae=None)
    models.fit_detectors(0, X, candidates.normal_rows(y, None, len(X)), ["iforest", "lof"])
    assert models.iforest.n_features_in_ == 4 and models.lof.n_samples_fit_ == 100  # a random 100 of the 300
    fresh = np.concatenate([gaussian_rows(50, 4, seed=2), gaussian_rows(50, 4, shift=6.0, seed=3)])
    for name, model in (("iforest", models.iforest), ("lof", models.lof)):
        scores = -model.score_samples(fresh)  # as FoldModels.score turns them: higher = more anomalous
        assert scores[50:].min() > np.median(scores[:50]), name


def test_normal_rows_are_the_rows_not_labeled_anomalous():
    np.testing.assert_array_equal(normal_rows(np.array([0, 1, 0]), np.array([7, 8, 9]), 10), [7, 9])
    np.testing.assert_array_equal(normal_rows(np.array([1, 0, 0]), None, 3), [1, 2])


def test_rank_mix_weights_each_candidates_ranks():
    mixed = rank_mix({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([3.0, 2.0, 1.0])}, {"a": 0.75, "b": 0.25})
    np.testing.assert_allclose(mixed, [0.75 / 3 + 0.25, 0.5 + 0.25 * 2 / 3, 0.75 + 0.25 / 3])


def test_rank_mix_ranks_against_reference_scores_so_a_share_of_anomalous_rows_is_kept():
    reference = {"a": np.arange(100.0), "b": np.arange(100.0)}
    normal, anomalous = np.full(9, 50.0), np.full(1, 500.0)  # 10% anomalous, as the test rows of a novelty set
    mixed = rank_mix({"a": np.r_[normal, anomalous], "b": np.r_[normal, anomalous]}, {"a": 0.5, "b": 0.5}, reference)
    np.testing.assert_allclose(mixed, np.r_[np.full(9, 0.51), 1.0])  # the outlier ranks above every reference score
